"""Concept dictionary, prompt sampler, transformer gradients, training and resume."""
import numpy as np
import pytest

from spinicl.concepts import (ConceptDictionary, ConceptPrompts, ConceptPromptSampler,
                              ConceptTransformer, default_setup, evaluate, key_coefficients,
                              retrieval_floor, train_concepts, wilson_interval)
from spinicl.training import layers


def mcse(p, n):
    return np.sqrt(p * (1 - p) / n)


# ------------------------------------------------------------------------------ dictionary
def test_dictionary_geometry_orthogonal():
    dic = ConceptDictionary(32, 3, n_irrelevant=2, alpha=1.0, beta=0.6, alpha_label=0.9,
                            beta_label=0.5, rng=4)
    geo = dic.geometry
    np.testing.assert_allclose(geo.word_within, 1.0 - 0.36, atol=1e-12)
    np.testing.assert_allclose(geo.label_within, 0.81 - 0.25, atol=1e-12)
    np.testing.assert_allclose(geo.word_norms, np.sqrt(1.36), atol=1e-12)
    assert geo.max_cross_word < 1e-12 and geo.max_cross_label < 1e-12
    assert geo.max_word_label < 1e-12 and geo.max_coherence < 1e-12
    B = dic.basis_vectors
    np.testing.assert_allclose(B @ B.T, np.eye(4 * 3 + 2 * 2), atol=1e-12)
    # μ^± = α a ± β b
    np.testing.assert_allclose(dic.word_features[1, 1],
                               dic.shared_word[1] - 0.6 * dic.semantic_word[1])
    assert dic.irrelevant_features.shape == (2, 2, 32)
    assert "max_cross_word" in repr(dic)


def test_dictionary_near_orthogonal_is_checked_and_reported():
    dic = ConceptDictionary(256, 4, basis="near", rng=0)
    geo = dic.geometry
    assert 0 < geo.max_cross_word < 0.5 and np.all(geo.word_within > 0)
    # the coherence of random unit vectors in d = 256 is O(sqrt(log n / d)), far below 0.5
    assert geo.max_coherence < 0.35
    with pytest.raises(ValueError, match="coherence"):
        ConceptDictionary(16, 4, basis="near", max_coherence=0.05, rng=0)


@pytest.mark.parametrize("kwargs, name", [
    (dict(alpha=0.8, beta=0.8), "alpha"),
    (dict(alpha=0.5, beta=0.8), "alpha"),
    (dict(alpha_label=0.3, beta_label=0.5), "alpha_label"),
    (dict(beta=0.0), "beta"),
    (dict(basis="random"), "basis"),
])
def test_dictionary_bad_inputs(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ConceptDictionary(16, 2, **kwargs)


def test_too_many_concepts_for_the_dimension():
    with pytest.raises(ValueError, match="n_concepts=5.*more than dim=16"):
        ConceptDictionary(16, 5)
    with pytest.raises(ValueError, match="n_irrelevant"):
        ConceptDictionary(16, 3, n_irrelevant=3)
    with pytest.raises(ValueError, match="n_concepts"):
        ConceptDictionary(16, 0)


# ------------------------------------------------------------------------------ sampler
@pytest.fixture(scope="module")
def dic():
    return ConceptDictionary(24, 4, n_irrelevant=1, rng=2)


def test_sampler_statistics(dic):
    L, n = 3, 40000
    batch = ConceptPromptSampler(dic, context_length=L, p_poly=0.3).sample(n, rng=5)
    # polysemous words (demonstrations and queries)
    frac = batch.polysemous.mean()
    assert abs(frac - 0.3) < 5 * mcse(0.3, batch.polysemous.size)
    # label balance
    assert abs((batch.targets > 0).mean() - 0.5) < 5 * mcse(0.5, n)
    assert abs((batch.demo_labels > 0).mean() - 0.5) < 5 * mcse(0.5, n * L)
    # the probability that no demonstration shares the query's semantic is 2^-L
    p0 = 2.0**-L
    assert abs(batch.no_match.mean() - p0) < 5 * mcse(p0, n)
    assert retrieval_floor(L) == pytest.approx(p0)
    # uniform concepts
    counts = np.bincount(batch.task_concept, minlength=4) / n
    assert np.all(np.abs(counts - 0.25) < 5 * mcse(0.25, n))


def test_sampler_skewed_concepts_label_noise_and_tau(dic):
    n = 30000
    pi = (0.7, 0.1, 0.1, 0.1)
    s = ConceptPromptSampler(dic, context_length=2, concept_probs=pi, label_noise=0.2, tau=-1)
    b = s.sample(n, rng=1)
    freq = np.bincount(b.task_concept, minlength=4) / n
    assert np.all(np.abs(freq - pi) < 5 * mcse(np.array(pi), n))
    flipped = b.targets != -b.query_semantic
    assert abs(flipped.mean() - 0.2) < 5 * mcse(0.2, n)
    assert s.bayes_error == 0.2 and s.floor() > 0.2


def test_sampler_features_are_the_dictionary_features(dic):
    s = ConceptPromptSampler(dic, context_length=5, p_poly=0.0, noise=0.0)
    b = s.sample(50, rng=3)
    sidx = (1 - b.semantics) // 2
    np.testing.assert_allclose(b.words, dic.word_features[b.task_concept[:, None], sidx])
    lidx = (1 - b.demo_labels) // 2
    np.testing.assert_allclose(b.labels, dic.label_features[b.task_concept[:, None], lidx])
    np.testing.assert_array_equal(b.demo_labels, b.semantics)
    # polysemous words: the remainder is ± the feature of exactly one other concept
    s2 = ConceptPromptSampler(dic, context_length=5, p_poly=1.0, noise=0.0)
    b2 = s2.sample(50, rng=3)
    rest = b2.query - dic.word_features[b2.task_concept, (1 - b2.query_semantic) // 2]
    allw = dic.all_word_features.reshape(-1, dic.dim)
    overlap = rest @ allw.T                                   # (B, 2(K+K'))
    hits = np.isclose(np.abs(overlap), 1.0 + 0.8**2)
    assert np.all(hits.sum(axis=1) == 1)
    concept_hit = np.argmax(hits, axis=1) // 2
    assert np.all(concept_hit != b2.task_concept)


def test_cross_concept_and_feature_swaps(dic):
    b = ConceptPromptSampler(dic, context_length=4, cross_concept=True).sample(500, rng=0)
    assert np.all(b.label_concept != b.task_concept)
    sw = ConceptPromptSampler(dic, context_length=4, feature_swap="semantic", p_poly=0,
                              noise=0).sample(20, rng=0)
    np.testing.assert_allclose(sw.query, dic.word_features[sw.task_concept,
                                                           (1 + sw.query_semantic) // 2])
    cs = ConceptPromptSampler(dic, context_length=4, feature_swap="concept", p_poly=0,
                              noise=0).sample(20, rng=0)
    np.testing.assert_allclose(cs.query, dic.word_features[(cs.task_concept + 1) % 4,
                                                           (1 - cs.query_semantic) // 2])


def test_layouts_round_trip(dic):
    for layout in ("stacked", "separate"):
        b = ConceptPromptSampler(dic, context_length=3, layout=layout).sample(6, rng=1)
        t = b.tokens
        assert t.shape == ((6, 4, 48) if layout == "stacked" else (6, 7, 24))
        back = ConceptPrompts.from_tokens(t, b.targets, layout=layout)
        np.testing.assert_array_equal(back.words, b.words)
        np.testing.assert_array_equal(back.labels, b.labels)
        np.testing.assert_array_equal(back.query, b.query)
    assert np.all(ConceptPromptSampler(dic, context_length=3).sample(4, rng=0).tokens[:, -1, 24:]
                  == 0)


def test_sampler_is_reproducible(dic):
    s = ConceptPromptSampler(dic, context_length=4)
    np.testing.assert_array_equal(s.sample(8, rng=9).words, s.sample(8, rng=9).words)


@pytest.mark.parametrize("kwargs, name", [
    (dict(context_length=0), "context_length"),
    (dict(concept_probs=(0.5, 0.5, 0.5, -0.5)), "concept_probs"),
    (dict(concept_probs=(0.5, 0.2, 0.2, 0.2)), "concept_probs"),
    (dict(concept_probs=(0.5, 0.5)), "concept_probs"),
    (dict(p_poly=1.5), "p_poly"),
    (dict(tau=0), "tau"),
    (dict(label_noise=0.5), "label_noise"),
    (dict(n_extra=5), "n_extra"),
    (dict(noise=-1.0), "noise"),
    (dict(layout="interleaved"), "layout"),
    (dict(feature_swap="both"), "feature_swap"),
])
def test_sampler_bad_inputs(dic, kwargs, name):
    with pytest.raises(ValueError, match=name):
        ConceptPromptSampler(dic, **kwargs)


def test_sample_size_must_be_positive(dic):
    with pytest.raises(ValueError, match="n_prompts"):
        ConceptPromptSampler(dic).sample(0)


def test_retrieval_floor_with_label_noise():
    # L = 1: the single demonstration matches w.p. 1/2; copying it errs w.p. 2ρ(1−ρ) then, and
    # w.p. (1−ρ)² + ρ² when it does not match: 1/2 in total, whatever ρ
    rho = 0.1
    assert retrieval_floor(1, label_noise=rho) == pytest.approx(0.5)
    # L = 2 by hand: majority of two labels is right w.p. (1−ρ)² + ρ(1−ρ) = 0.9
    c = 0.9
    match_err = c * rho + (1 - c) * (1 - rho)
    nomatch_err = c * (1 - rho) + (1 - c) * rho
    assert retrieval_floor(2, label_noise=rho) == pytest.approx(0.25 * nomatch_err
                                                                + 0.75 * match_err)
    assert retrieval_floor(30, label_noise=0.1) == pytest.approx(0.1, abs=1e-3)
    with pytest.raises(ValueError, match="context_length"):
        retrieval_floor(0)


def test_wilson_interval():
    lo, hi = wilson_interval(0, 100)
    assert lo == 0 and 0.03 < hi < 0.04
    lo, hi = wilson_interval(50, 100)
    assert lo < 0.5 < hi and hi - lo == pytest.approx(2 * 1.96 * 0.05, rel=0.05)


# ------------------------------------------------------------------------------ model
CONFIGS = [
    dict(),
    dict(attention="merged", init="gaussian"),
    dict(attention="merged", init="zero"),
    dict(key_reads_label=True, query_self_attention=True, loss="hinge"),
    dict(init="gaussian", key_dim=3),
]


def _numerical_gradient(model, batch, name, eps=1e-6):
    P = model.params[name]
    num = np.zeros_like(P)
    for i in np.ndindex(P.shape):
        old = P[i]
        P[i] = old + eps
        up = model.objective(batch)
        P[i] = old - eps
        down = model.objective(batch)
        P[i] = old
        num[i] = (up - down) / (2 * eps)
    return num


@pytest.mark.parametrize("config", CONFIGS)
def test_gradients_match_finite_differences(config):
    dic = ConceptDictionary(8, 2, rng=0)
    batch = ConceptPromptSampler(dic, context_length=3, noise=0.3).sample(6, rng=1)
    merged = config.get("attention") == "merged"
    names = ("W_KQ", "W_V", "W_O", "v") if merged else ("W_Q", "W_K", "W_V", "W_O", "v")
    model = ConceptTransformer(8, width=4, init_scale=0.8, trainable=names, l2=0.05, rng=3,
                               **{"key_dim": 5, **config})
    if config.get("init") == "zero":  # move off the all-zero point so every path is exercised
        model.params["W_KQ"] += 0.5 * np.random.default_rng(0).standard_normal((8, 8))
    _, grads, _ = model.loss_and_gradients(batch)
    assert set(grads) == set(names)
    for name in names:
        num = _numerical_gradient(model, batch, name)
        np.testing.assert_allclose(grads[name], num, atol=1e-7, rtol=1e-5, err_msg=name)


def test_fused_pass_equals_generic_layers():
    """The fused forward/backward agree with spinicl.training.layers on stacked tokens."""
    d = 6
    dic = ConceptDictionary(d, 1, rng=0)
    batch = ConceptPromptSampler(dic, context_length=4, noise=0.2, p_poly=0).sample(5, rng=2)
    model = ConceptTransformer(d, key_dim=4, width=6, init="gaussian", init_scale=0.7, l2=0.0,
                               trainable=("W_Q", "W_K", "W_V", "W_O"), rng=1)
    p = model.params
    X = np.swapaxes(batch.tokens, 1, 2)                       # (B, 2d, L+1), columns are tokens
    Z = np.zeros((4, d))
    WQ, WK = np.hstack([p["W_Q"], Z]), np.hstack([p["W_K"], Z])
    WV = np.hstack([np.zeros((d, d)), p["W_V"]])
    key_mask = np.r_[np.ones(4, bool), False]                  # the query is not a key
    o, acache = layers.attention_forward(X, WQ, WK, WV, scale=1.0, key_mask=key_mask,
                                         queries="last")
    F, mcache = layers.relu_mlp_forward(o, p["W_O"], np.zeros(6), p["v"][None, :], np.zeros(1))
    value, dF = layers.logistic_loss(F[:, 0], batch.targets)
    _, grads, fp = model.loss_and_gradients(batch)
    np.testing.assert_allclose(fp.output, F[:, 0], atol=1e-12)
    assert value == pytest.approx(fp.losses.mean(), abs=1e-12)
    d_o, mg = layers.relu_mlp_backward(dF[:, None], mcache)
    _, ag = layers.attention_backward(d_o, acache)
    np.testing.assert_allclose(grads["W_O"], mg["W1"], atol=1e-12)
    np.testing.assert_allclose(grads["W_Q"], ag["W_Q"][:, :d], atol=1e-12)
    np.testing.assert_allclose(grads["W_K"], ag["W_K"][:, :d], atol=1e-12)
    np.testing.assert_allclose(grads["W_V"], ag["W_V"][:, d:], atol=1e-12)


def test_model_init_options_and_bad_inputs():
    m = ConceptTransformer(6, width=4, rng=0)
    np.testing.assert_array_equal(m.params["W_Q"], m.params["W_K"])
    assert np.all(np.linalg.eigvalsh(m.key_query_matrix() + m.key_query_matrix().T) > -1e-12)
    mm = ConceptTransformer(6, width=4, attention="merged", rng=0)
    np.testing.assert_allclose(mm.params["W_KQ"], m.key_query_matrix())
    assert m.params["v"].tolist() == [0.25, 0.25, -0.25, -0.25]
    with pytest.raises(ValueError, match="init"):
        ConceptTransformer(6, init="zero")
    with pytest.raises(ValueError, match="trainable"):
        ConceptTransformer(6, trainable=("W_KQ",))
    with pytest.raises(ValueError, match="width"):
        ConceptTransformer(6, width=1)
    with pytest.raises(ValueError, match="l2"):
        ConceptTransformer(6, l2=-1)


def test_key_coefficients_of_a_known_matrix():
    dic = ConceptDictionary(16, 2, rng=0)
    m = ConceptTransformer(16, attention="merged", init="zero", rng=0)
    M = 2.0 * np.outer(dic.semantic_word[0], dic.semantic_word[0]) \
        + 0.5 * np.outer(dic.shared_word[1], dic.shared_word[1])
    m.params["W_KQ"][:] = M
    coef = key_coefficients(m, dic)
    np.testing.assert_allclose(coef.gamma_semantic, [2.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(coef.gamma_shared, [0.0, 0.5], atol=1e-12)
    assert coef.residual < 1e-12


# ------------------------------------------------------------------------------ training
def test_quick_training_reaches_the_floor():
    dic, sampler, model = default_setup(dim=32, n_concepts=3, context_length=8)
    res = train_concepts(model, sampler, steps=600, log_every=150, n_test=6000, rng=0,
                         progress=False)
    err = res.series("test.error")
    floor = 2.0**-8
    assert err[0] > 0.35                       # chance level at initialisation
    # within the tolerance 0.01 of the 2^-L floor, and the CI is compatible with the floor
    assert res.converged and err[-1] - floor < 0.01
    assert res.series("test.error_lo")[-1] <= floor + 0.003
    assert res.series("test.attention")[-1] > 0.9
    assert res.series("concept_specific")[-1] > res.series("concept_specific")[0]
    assert res.series("complement")[-1] < 0 < res.series("concept_specific")[-1]
    assert res.series("mlp_positive_max")[-1] > res.series("mlp_positive_max")[0]
    ev = evaluate(model, sampler, 4000, rng=1)
    assert ev.error_with_match < 0.01 and abs(ev.no_match_rate - floor) < 5 * mcse(floor, 4000)


def test_resume_after_a_kill_is_bitwise_identical(tmp_path):
    def run(callback=None, checkpoint=None):
        _, sampler, model = default_setup(dim=16, n_concepts=2, context_length=4)
        return train_concepts(model, sampler, steps=60, log_every=10, n_test=300, rng=5,
                              checkpoint=checkpoint, checkpoint_every=20, callback=callback,
                              progress=False)

    reference = run()

    def kill(step, model):
        if step == 47:
            raise KeyboardInterrupt("simulated kill")

    ckpt = tmp_path / "run.npz"
    with pytest.raises(KeyboardInterrupt):
        run(callback=kill, checkpoint=ckpt)
    resumed = run(checkpoint=ckpt)
    assert resumed.resumed_from == 40
    for k, v in reference.model.params.items():
        np.testing.assert_array_equal(resumed.model.params[k], v)
    np.testing.assert_array_equal(resumed.steps, reference.steps)
    for k, v in reference.history.items():
        np.testing.assert_array_equal(resumed.history[k], v, err_msg=k)
    # a checkpoint of other settings is refused
    _, sampler, model = default_setup(dim=16, n_concepts=2, context_length=4)
    with pytest.raises(ValueError, match="different settings"):
        train_concepts(model, sampler, steps=60, batch_size=8, rng=5, checkpoint=ckpt,
                       progress=False)


def test_training_result_save_and_load(tmp_path):
    _, sampler, model = default_setup(dim=16, n_concepts=2, context_length=4)
    res = train_concepts(model, sampler, steps=10, log_every=5, n_test=100, progress=False)
    files = res.save(tmp_path)
    back = type(res).load(files["npz"])
    np.testing.assert_array_equal(back.series("test.error"), res.series("test.error"))
    np.testing.assert_array_equal(back.model.params["W_Q"], res.model.params["W_Q"])
    assert "n_iter=10" in repr(back)


@pytest.mark.parametrize("kwargs, name", [
    (dict(batch_size=0), "batch_size"),
    (dict(lr=0.0), "lr"),
    (dict(lr=-1.0), "lr"),
    (dict(steps=0), "steps"),
    (dict(log_every=0), "log_every"),
])
def test_training_bad_inputs(kwargs, name):
    _, sampler, model = default_setup(dim=16, n_concepts=2)
    with pytest.raises(ValueError, match=name):
        train_concepts(model, sampler, progress=False, **kwargs)


def test_resume_after_a_real_sigkill(tmp_path):
    """A training process killed with SIGKILL resumes from its checkpoint to the same result."""
    import os
    import signal
    import subprocess
    import sys
    import time

    ckpt = tmp_path / "killed.npz"
    script = (
        "import time\n"
        "from spinicl.concepts import default_setup, train_concepts\n"
        "_, s, m = default_setup(dim=16, n_concepts=2, context_length=4)\n"
        f"train_concepts(m, s, steps=400, log_every=25, n_test=200, rng=3, "
        f"checkpoint={str(ckpt)!r}, checkpoint_every=10, progress=False, "
        "callback=lambda step, model: time.sleep(0.02))\n")
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not ckpt.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.3)
        assert proc.poll() is None, "the training process ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL

    def run(checkpoint=None):
        _, s, m = default_setup(dim=16, n_concepts=2, context_length=4)
        return train_concepts(m, s, steps=400, log_every=25, n_test=200, rng=3,
                              checkpoint=checkpoint, checkpoint_every=10, progress=False)

    resumed = run(ckpt)
    assert 0 < resumed.resumed_from < 400
    reference = run()
    for k, v in reference.model.params.items():
        np.testing.assert_array_equal(resumed.model.params[k], v)
    for k, v in reference.history.items():
        np.testing.assert_array_equal(resumed.history[k], v, err_msg=k)
