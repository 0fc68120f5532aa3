"""Benchmarks of the multi-concept ICL transformer (spinicl.concepts).

Ratios measured side by side in one run, best of k repeats:

1. one SGD step (forward, backward, update) at B = 64, d = 64, L = 8, h = d, m = 20 on the same
   batch: our fused pass against (a) the package's generic layers
   (spinicl.training.layers: attention on stacked token columns with block matrices, ReLU MLP,
   logistic loss; plain layer-by-layer backprop) and (b) a direct numpy implementation in the
   (B, L, ·) layout that forms the key tensor and per-token gradients (no fused contractions);
2. test-set evaluation: the projected-noise evaluator against full prompts;
3. the wall time of the dynamics figure (--quick: the quick version; otherwise the full one).

    python benchmarks/bench_concepts.py [--quick] [--repeats K]

BLAS threads are pinned to 1 (both sides alike) unless OPENBLAS_NUM_THREADS is set: on a shared
2-core machine OpenBLAS threads make a (4096 × 64)·(64 × 64) product 20× slower.
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from spinicl.concepts import default_setup, evaluate  # noqa: E402
from spinicl.training import layers  # noqa: E402
from spinicl.training.optimizers import SGD  # noqa: E402


def best_of(fn, repeats: int, number: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def generic_layers_step(model, batch, opt, params):
    """Forward/backward through spinicl.training.layers on stacked token columns."""
    p = params
    d = model.dim
    h = p["W_Q"].shape[0]
    X = np.swapaxes(batch.tokens, 1, 2)                     # (B, 2d, L+1)
    Z = np.zeros((h, d))
    WQ, WK = np.hstack([p["W_Q"], Z]), np.hstack([p["W_K"], Z])
    WV = np.hstack([np.zeros((d, d)), np.eye(d)])
    key_mask = np.r_[np.ones(X.shape[2] - 1, bool), False]
    o, ac = layers.attention_forward(X, WQ, WK, WV, scale=1.0, key_mask=key_mask,
                                     queries="last")
    F, mc = layers.relu_mlp_forward(o, p["W_O"], np.zeros(p["W_O"].shape[0]),
                                    p["v"][None, :], np.zeros(1))
    _, dF = layers.logistic_loss(F[:, 0], batch.targets)
    d_o, mg = layers.relu_mlp_backward(dF[:, None], mc)
    _, ag = layers.attention_backward(d_o, ac)
    lam = model.l2
    grads = {"W_Q": ag["W_Q"][:, :d] + lam * p["W_Q"], "W_K": ag["W_K"][:, :d] + lam * p["W_K"],
             "W_O": mg["W1"] + lam * p["W_O"]}
    opt.step({k: p[k] for k in grads}, grads)


def direct_unfused_step(model, batch, opt, params):
    """Plain numpy in the (B, L, ·) layout: forms the keys (B, L, h) and per-token gradients."""
    p = params
    X, Y, xq, y = batch.words, batch.labels, batch.query, batch.targets
    B = X.shape[0]
    q = xq @ p["W_Q"].T                                     # (B, h)
    K = np.einsum("bld,hd->blh", X, p["W_K"])               # (B, L, h)
    s = np.einsum("blh,bh->bl", K, q)
    s = s - s.max(axis=1, keepdims=True)
    a = np.exp(s)
    a /= a.sum(axis=1, keepdims=True)
    o = np.einsum("bl,bld->bd", a, Y)
    pre = o @ p["W_O"].T
    hid = np.maximum(pre, 0)
    F = hid @ p["v"]
    gF = -y / (1 + np.exp(y * F)) / B
    g_pre = gF[:, None] * p["v"][None, :] * (pre > 0)
    gWO = g_pre.T @ o
    g_o = g_pre @ p["W_O"]
    g_a = np.einsum("bld,bd->bl", Y, g_o)
    g_s = a * (g_a - (a * g_a).sum(axis=1, keepdims=True))
    dK = g_s[:, :, None] * q[:, None, :]                    # (B, L, h)
    gWK = np.einsum("blh,bld->hd", dK, X)
    dq = np.einsum("bl,blh->bh", g_s, K)
    gWQ = dq.T @ xq
    lam = model.l2
    grads = {"W_Q": gWQ + lam * p["W_Q"], "W_K": gWK + lam * p["W_K"],
             "W_O": gWO + lam * p["W_O"]}
    opt.step({k: p[k] for k in grads}, grads)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, quick figure")
    parser.add_argument("--repeats", type=int, default=None, help="best-of-k repeats")
    args = parser.parse_args()
    k = args.repeats or (5 if args.quick else 9)
    _, sampler, model = default_setup(dim=64, context_length=8)
    batch = sampler.sample(64, rng=0)
    print(f"BLAS threads: OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}; "
          f"best of {k}")

    # --- correctness first: the three steps produce the same update
    results = {}
    for name, step in (("fused", None), ("layers", generic_layers_step),
                       ("direct", direct_unfused_step)):
        _, _, m = default_setup(dim=64, context_length=8)
        opt = SGD(1.0)
        if step is None:
            _, g, _ = m.loss_and_gradients(batch)
            opt.step(m.trainable_params(), g)
        else:
            step(m, batch, opt, m.params)
        results[name] = m.params["W_K"].copy()
    dev = max(np.abs(results["fused"] - results[n]).max() for n in ("layers", "direct"))
    print(f"max |ΔW_K| after one step, fused vs baselines: {dev:.2e}")

    opt = SGD(1e-12)  # a negligible step keeps the parameters (and the timings) stationary

    def fused():
        _, g, _ = model.loss_and_gradients(batch)
        opt.step(model.trainable_params(), g)

    number = 50 if args.quick else 200
    t_fused = best_of(fused, k, number)
    t_layers = best_of(lambda: generic_layers_step(model, batch, opt, model.params), k, number)
    t_direct = best_of(lambda: direct_unfused_step(model, batch, opt, model.params), k, number)
    t_sample = best_of(lambda: sampler.sample(64, rng=1), k, number)

    n_eval = 8192 if args.quick else 32768
    t_full = best_of(lambda: evaluate(model, sampler, n_eval, rng=1, method="full"), 3, 1)
    t_proj = best_of(lambda: evaluate(model, sampler, n_eval, rng=1, method="projected"), 3, 1)

    rows = [
        ("SGD step B=64 d=64 L=8: generic layers / fused", t_layers, t_fused),
        ("SGD step B=64 d=64 L=8: direct unfused / fused", t_direct, t_fused),
        (f"evaluation {n_eval} prompts: full / projected", t_full, t_proj),
    ]
    print(f"\n{'comparison':<50s}{'baseline':>12s}{'ours':>12s}{'ratio':>8s}")
    for name, base, ours in rows:
        print(f"{name:<50s}{base * 1e3:>10.3f}ms{ours * 1e3:>10.3f}ms{base / ours:>7.1f}x")
    print(f"{'(sampling 64 fresh prompts, per step)':<50s}{'':>12s}{t_sample * 1e3:>10.3f}ms")

    from spinicl.figures import make_figure

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        make_figure("concepts-dynamics", tmp, quick=args.quick, progress=False)
        wall = time.perf_counter() - t0
    kind = "quick" if args.quick else "full"
    print(f"\nconcepts-dynamics figure ({kind}) wall time: {wall:.1f} s")


if __name__ == "__main__":
    main()
