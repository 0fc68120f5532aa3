"""Modified attention layers: gradients against finite differences, limits, and training."""
import numpy as np
import pytest

import spinicl
from spinicl.dual.modified import ModifiedAttention, compare_modifications
from spinicl.training.models import SoftmaxAttention

CASES = [("plain", {}), ("regularized", {"alpha": 0.3}),
         ("regularized", {"alpha": 0.7, "reg_mode": "global"}),
         ("augmented", {"augment": "keys", "mlp_init": 1.0}),
         ("augmented", {"augment": "values", "mlp_init": 1.0}),
         ("augmented", {"augment": "both", "mlp_init": 1.0}),
         ("negative", {"beta": 0.3, "n_negatives": 2}),
         ("negative", {"beta": 0.3, "selection": "random"}),
         ("negative", {"beta": 0.3, "selection": "all"})]


@pytest.mark.parametrize("variant,options", CASES)
def test_gradient_matches_finite_differences(variant, options):
    prompts = spinicl.sample_prompts(3, 6, 5, rng=0)
    model = ModifiedAttention(3, variant=variant, rng=2, **options)
    _, grads = model.loss_and_grad(prompts)
    rng = np.random.default_rng(0)
    eps = 1e-6
    for key, param in model.params.items():
        direction = rng.standard_normal(param.shape)
        param += eps * direction
        plus = model.loss(prompts)
        param -= 2 * eps * direction
        minus = model.loss(prompts)
        param += eps * direction
        fd = (plus - minus) / (2 * eps)
        analytic = np.sum(grads[key] * direction)
        assert abs(fd - analytic) <= 1e-6 * (abs(analytic) + 1e-3), (key, fd, analytic)


def test_plain_layer_is_the_package_softmax_attention_and_knobs_reduce_to_it():
    prompts = spinicl.sample_prompts(4, 9, 20, rng=1)
    reference = SoftmaxAttention(4, rng=3).predict(prompts)
    np.testing.assert_allclose(ModifiedAttention(4, rng=3).predict(prompts), reference,
                               rtol=1e-12)
    for variant, opt in (("regularized", {"alpha": 1.0}), ("negative", {"beta": 0.0}),
                         ("augmented", {"mlp_init": 0.0})):
        m = ModifiedAttention(4, variant=variant, rng=3, **opt)
        np.testing.assert_allclose(m.predict(prompts), reference, rtol=1e-12, atol=1e-14)


def test_regularized_self_term_and_negative_formulas():
    prompts = spinicl.sample_prompts(3, 7, 4, rng=2)
    plain = ModifiedAttention(3, rng=5)
    H = prompts.tokens
    p = plain.params
    scores = np.einsum("pot,po->pt", p["W_K"] @ H, H[:, :, -1] @ p["W_Q"].T) / 2.0
    a = np.exp(scores - scores.max(1, keepdims=True))
    a /= a.sum(1, keepdims=True)
    v = (p["W_V"] @ H)[:, -1, :]
    reg = ModifiedAttention(3, variant="regularized", alpha=0.25, rng=5)
    np.testing.assert_allclose(reg.predict(prompts),
                               np.sum(a * v, 1) - 0.75 * a[:, -1] * v[:, -1], rtol=1e-12)
    neg = ModifiedAttention(3, variant="negative", beta=0.2, n_negatives=2, rng=5)
    low = np.argsort(a[:, :-1], axis=1)[:, :2]
    vbar = np.take_along_axis(v, low, axis=1).mean(1)
    np.testing.assert_allclose(neg.predict(prompts), np.sum(a * v, 1) - 0.2 * vbar, rtol=1e-12)


def test_every_modified_layer_trains_and_the_study_is_paired():
    settings = {"regularized": [{"alpha": 0.5}], "augmented": [{"augment": "both"}],
                "negative": [{"beta": 0.1}]}
    study = compare_modifications(settings, dim=3, context_length=8, steps=300, batch_size=32,
                                  lr=1e-2, n_seeds=2, n_test=300, progress=False, rng=0)
    assert study.test_loss.shape[:2] == (4, 2)
    assert np.all(np.isfinite(study.test_loss))
    # all runs of one seed share the attention weights at initialisation
    a = ModifiedAttention(3, rng=np.random.SeedSequence(9))
    b = ModifiedAttention(3, variant="augmented", rng=np.random.SeedSequence(9))
    for key in ("W_K", "W_Q", "W_V"):
        np.testing.assert_array_equal(a.params[key], b.params[key])
    assert np.all(study.final < 0.9 * study.test_loss[:, :, 0])       # each layer learns
    np.testing.assert_allclose(study.relative_to_plain()[0], 1.0)
    assert "plain" in study.summary()


def test_study_resumes_from_checkpoints_bitwise(tmp_path):
    kw = dict(settings={"negative": [{"beta": 0.1}]}, dim=2, context_length=5, steps=30,
              batch_size=8, n_seeds=1, n_test=50, progress=False, rng=4)
    first = compare_modifications(checkpoint_dir=tmp_path, **kw)
    assert len(list(tmp_path.glob("*.npz"))) == 2
    again = compare_modifications(checkpoint_dir=tmp_path, **kw)
    np.testing.assert_array_equal(first.test_loss, again.test_loss)
    np.testing.assert_array_equal(first.test_loss, compare_modifications(**kw).test_loss)


def test_modified_bad_inputs():
    with pytest.raises(ValueError, match="variant"):
        ModifiedAttention(3, variant="contrastive")
    with pytest.raises(ValueError, match="reg_mode"):
        ModifiedAttention(3, variant="regularized", reg_mode="update")
    with pytest.raises(ValueError, match="selection"):
        ModifiedAttention(3, variant="negative", selection="hardest")
    with pytest.raises(ValueError, match="beta"):
        ModifiedAttention(3, variant="negative", beta=-0.1)
    with pytest.raises(ValueError, match="hidden"):
        ModifiedAttention(3, variant="augmented", hidden=0)
    with pytest.raises(ValueError, match="settings family"):
        compare_modifications({"dropout": [{}]}, steps=2, progress=False)
    with pytest.raises(TypeError, match="settings"):
        compare_modifications([("negative", {})], steps=2, progress=False)


def test_glue_table_writer_formats_user_results_with_best_rows():
    from spinicl.dual import glue_table

    table = glue_table([("original", "-", {"CoLA": 55.1, "MRPC": (88.0, 84.1)}),
                        ("regularized", "α=0.5", {"CoLA": 56.0, "MRPC": (87.0, 85.0)}),
                        ("regularized", "α=0.8", {"CoLA": 54.0, "MRPC": (89.0, 83.0)}),
                        ("negative", "β=0.1", {"RTE": 66.0})])
    lines = table.splitlines()
    assert lines[0].startswith("| model | setting | CoLA (MCC)")
    assert "| regularized | **Local Best** | 56.0 | 89.0/85.0 | – | – |" in lines
    assert lines[-1] == "| all modified | **Global Best** | 56.0 | 89.0/85.0 | – | 66.0 |"
    with pytest.raises(ValueError, match="family"):
        glue_table([("pretrained", "-", {})])
    with pytest.raises(ValueError, match="unknown tasks"):
        glue_table([("original", "-", {"SST-2": 90.0})])
