"""Benchmark of the training step: fast paths against a plain batched forward/backward pass.

One Adam step of the merged linear-attention model at D = 20, N = 100, P = 10⁴ (the paper's
Fig. 4(b) size), timed side by side in one run (best of k, the machine is shared):

* ``full``      — the plain batched numpy forward/backward pass through the whole
                  (D+1)×(N+1) output F = (1/N) X Xᵀ W X, as an autograd framework would run it;
* ``features``  — the bilinear fast path ŷ = cᵀWq with c, q precomputed (full batch): O(P·n);
* ``features+`` — the same including the computation of c, q (online training: fresh prompts);
* ``moments``   — the O(n²) full-batch path from SᵀS/P and Sᵀy/P (set-up time reported apart);
* ``torch``     — a PyTorch CPU implementation of ``full`` with autograd, if torch imports.

The separate (W_Q, W_K) model is timed the same way. The loop table times :func:`train` itself
per step against a bare loop of the same Adam steps, on the cheapest step there is (the moments
path at D = 5), so that what the loop adds per step (bookkeeping, callbacks, progress bar)
shows: without callbacks, with ``callbacks=History()``, and with the progress bar.
``--fig4b`` also runs the whole Fig. 4(b) curve at the paper's settings (10 N values ×
``--repeats``) and reports its wall time.

    python benchmarks/bench_training.py [--quick] [--fig4b] [--repeats R]
"""
from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import time

import numpy as np

import spinicl
from spinicl.training import Adam, make_model, train


def best_of(fn, k):
    best = np.inf
    for _ in range(k):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def adam_step(model, batch, opt, method="fast"):
    _, grads = model.loss_and_grad(batch, method=method)
    opt.step(model.params, grads)


def torch_step(tokens, targets, W, k):
    try:
        import torch
    except ImportError:
        return None
    X = torch.as_tensor(tokens)
    y = torch.as_tensor(targets)
    Wt = torch.nn.Parameter(torch.as_tensor(W.copy()))
    opt = torch.optim.Adam([Wt], lr=1e-3)
    N = tokens.shape[2] - 1

    def step():
        opt.zero_grad()
        out = X @ X.transpose(1, 2) @ Wt @ X / N
        loss = torch.nn.functional.mse_loss(out[:, -1, -1], y)
        loss.backward()
        opt.step()

    return best_of(step, k)


def bench_model(name, prompts, k):
    model = make_model(name, prompts.dim, rng=0)
    opt = Adam(1e-3)
    rows = {}
    rows["full"] = best_of(lambda: adam_step(model, prompts, opt, "full"), max(1, k // 3))
    batch = model.prepare(prompts)
    rows["features"] = best_of(lambda: adam_step(model, batch, opt), k)
    rows["features+"] = best_of(lambda: adam_step(model, model.prepare(prompts), opt), k)
    setup = best_of(lambda: model.prepare(prompts, quadratic=True), 1)
    quad = model.prepare(prompts, quadratic=True)
    rows["moments"] = best_of(lambda: adam_step(model, quad, opt), k)
    if name == "merged":
        t = torch_step(prompts.tokens, prompts.targets, model.params["W"], max(1, k // 3))
        if t is not None:
            rows["torch"] = t
    return rows, setup


def bench_loop(steps, k):
    """Seconds per step of a bare Adam loop and of train() (its variants) on the moments path.

    Per step = (time of ``steps`` steps − time of ``steps // 4``) / (the difference in steps),
    so that train()'s set-up (moments, fingerprint) and final evaluation cancel. CPU time of
    this process (``time.process_time``): on a shared machine it is far steadier than wall
    time, and the loop is single-threaded at this size.
    """
    prompts = spinicl.sample_prompts(5, 20, 2000, rng=0)
    model = make_model("merged", 5, rng=0)
    quad = model.prepare(prompts, quadratic=True)

    def bare(n):
        m, opt = make_model("merged", 5, rng=0), Adam(1e-3)
        for _ in range(n):
            adam_step(m, quad, opt)

    def run(**options):
        # one evaluation at the end only: the evaluations are the loop's work, not overhead
        return lambda n: train(make_model("merged", 5, rng=0), prompts, steps=n, lr=1e-3,
                               eval_every=n, **options)

    rows = {"bare Adam loop": bare, "train()": run(progress=False)}
    if "callbacks" in inspect.signature(train).parameters:
        from spinicl.callbacks import History

        rows["train(callbacks=History())"] = run(progress=False, callbacks=History())
    rows["train(progress=True)"] = run(progress=True)
    best = {(name, n): np.inf for name in rows for n in (steps // 4, steps)}
    # interleaved repeats: the machine is shared, so each variant gets the same conditions;
    # the best of each length, then their difference
    for _ in range(k):
        for name, fn in rows.items():
            for n in (steps // 4, steps):
                with contextlib.redirect_stderr(io.StringIO()):
                    t0 = time.process_time()
                    fn(n)
                    best[name, n] = min(best[name, n], time.process_time() - t0)
    return {name: (best[name, steps] - best[name, steps // 4]) / (steps - steps // 4)
            for name in rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="P = 2000 and fewer repeats")
    parser.add_argument("--fig4b", action="store_true", help="also time the full Fig. 4(b) curve")
    parser.add_argument("--repeats", type=int, default=1, help="repeats per N for --fig4b")
    args = parser.parse_args()
    P = 2000 if args.quick else 10_000
    k = 3 if args.quick else 7
    prompts = spinicl.sample_prompts(20, 100, P, rng=0)
    print(f"One Adam step, D = 20, N = 100, P = {P} (best of {k}; n = 441 spins)\n")
    print(f"{'model':10s} {'path':10s} {'time/step':>12s} {'speed-up vs full':>17s}")
    for name in ("merged", "separate"):
        rows, setup = bench_model(name, prompts, k)
        for path, t in rows.items():
            print(f"{name:10s} {path:10s} {t * 1e3:10.3f} ms {rows['full'] / t:16.1f}x")
        print(f"{name:10s} {'(moments set-up, once)':22s} {setup * 1e3:.1f} ms")
    if "torch" not in rows:
        print("(torch not importable: no PyTorch column)")
    loop_steps = 8000 if args.quick else 20_000
    times = bench_loop(loop_steps, 2 * k)
    print(f"\ntrain() per step vs a bare loop of the same Adam steps (merged, D = 5, "
          f"moments path, {loop_steps} steps, best of {k})\n")
    print(f"{'loop':30s} {'time/step':>12s} {'ratio to bare':>14s}")
    for name, t in times.items():
        print(f"{name:30s} {t * 1e6:9.2f} us {t / times['bare Adam loop']:13.2f}x")
    if args.fig4b:
        from spinicl.experiments.dynamics import FIG4B_REFERENCE, context_length_sweep

        t0 = time.perf_counter()
        result = context_length_sweep(repeats=args.repeats, progress=True)
        wall = time.perf_counter() - t0
        print(f"\nFig. 4(b) curve (10 N values × {args.repeats} repeat(s), 5000 Adam steps each, "
              f"with AMP and exact solutions): {wall:.0f} s wall")
        for N, ours, ref in zip(result.coords["context_length"], result.mean("sgd_test_error"),
                                FIG4B_REFERENCE["sgd"]):
            print(f"  N = {N:3d}: ours {ours:.3f}   paper SGD {ref:.3f}")


if __name__ == "__main__":
    main()
