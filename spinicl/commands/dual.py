"""The dual model of softmax attention (Ren & Liu, NeurIPS 2024): ICL inference of one softmax
attention layer as one gradient step of a linear model on positive random features.

actions:
  check           verify "one dual step = random-feature attention" for every variant and print
                  the residuals and the distance to exact softmax attention
  equivalence     distance to softmax attention along the dual model's GD steps
  approximation   MSE/MAE of random-feature attention against d_r, with fitted slopes
  generalization  generalisation gap of the alignment loss against N, with the Rademacher bound
  modifications   train regularised / augmented / negative-sample layers against the plain one

Every action writes dual_ACTION.npz and dual_ACTION.json into --out (check: the residual table;
it exits 1 when an identity fails to hold to 1e-10). Options left unset take the library
function's defaults (spinicl.dual.equivalence_curve, approximation_study, generalization_study,
compare_modifications).

examples:
  spinicl dual check --n-features 4096
  spinicl dual approximation --dim 8 --n-seeds 10 --out results/dual
  spinicl dual modifications --steps 3000 --n-seeds 5 --out results/dual
"""
from __future__ import annotations

import numpy as np

from ._args import CommandFailed, add_common, python_default

COMMAND = "dual"
HELP = "the dual model of softmax attention (Ren & Liu 2024): checks and studies"
ORDER = 40

ACTIONS = ("check", "equivalence", "approximation", "generalization", "modifications")


def add_arguments(p):
    p.add_argument("action", choices=ACTIONS, help="what to run (see above)")
    p.add_argument("--dim", type=int, default=None,
                   help="token dimension d_i = d_o (default: 8; 4 for generalization, "
                        "D = 5 for modifications)")
    p.add_argument("--context-length", type=int, default=None,
                   help="N demonstration tokens (default: 32; 20 for modifications)")
    p.add_argument("--n-features", type=int, default=None,
                   help="d_r random features (default: 4096 check, 20000 equivalence, "
                        "32 generalization)")
    p.add_argument("--orthogonal", action="store_true", help="block-orthogonal random features")
    p.add_argument("--n-seeds", type=int, default=None,
                   help="seeds / draws (default: the library's, per action)")
    from ..dual import compare_modifications

    steps, lr = (python_default(compare_modifications, k) for k in ("steps", "lr"))
    p.add_argument("--steps", type=int, default=steps,
                   help=f"modifications: Adam steps (default: {steps})")
    p.add_argument("--lr", type=float, default=lr,
                   help=f"modifications: learning rate (default: {lr:g})")
    add_common(p, out_default="spinicl-dual")


def _pick(value, default):
    """The user's value, even when falsy (so 0 reaches the library's checks), else the default."""
    return default if value is None else value


def _given(options, **values):
    """Add the options the user set; the others keep the library function's defaults."""
    options.update({k: v for k, v in values.items() if v is not None})


def _check(args) -> int:
    from ..dual import (PositiveRandomFeatures, StackDual, TransformerLayerDual, attention_stack,
                        build_dual, linearized_attention, random_problem, softmax_attention,
                        transformer_layer)

    dim = _pick(args.dim, python_default(random_problem, "dim"))
    N = _pick(args.context_length, python_default(random_problem, "context_length"))
    dr = _pick(args.n_features, 4096)
    H, W_K, W_Q, W_V = random_problem(dim, N, rng=args.seed)
    phi = PositiveRandomFeatures.draw(dim, dr, orthogonal=args.orthogonal, rng=args.seed + 1)
    rows = []
    for mode, inside in (("query_only", True), ("query_only", False), ("full", True),
                         ("full", False), ("causal", True)):
        lin = linearized_attention(H, W_K, W_Q, W_V, phi, mode=mode, query_in_softmax=inside)
        dual = build_dual(H, W_K, W_Q, W_V, phi, mode=mode, query_in_softmax=inside)
        exact = softmax_attention(H, W_K, W_Q, W_V, mode=mode, query_in_softmax=inside)
        rows.append((f"{mode}, query {'in' if inside else 'out of'} softmax",
                     np.abs(dual.one_step_prediction() - lin.output).max(),
                     np.abs(lin.output - exact.output).max()))
    rng = np.random.default_rng(args.seed + 2)
    heads = [rng.standard_normal((3, dim, dim)) / np.sqrt(dim) for _ in range(3)]
    W_O = rng.standard_normal((dim, 3 * dim)) / np.sqrt(3 * dim)
    maps = [PositiveRandomFeatures.draw(dim, dr, rng=args.seed + 10 + h) for h in range(3)]
    lin = linearized_attention(H, *heads, maps, W_O=W_O)
    dual_heads = build_dual(H, *heads, maps, W_O=W_O)
    rows.append(("3 heads with W_O",
                 np.abs(dual_heads.one_step_prediction() - lin.output).max(),
                 np.abs(lin.output - softmax_attention(H, *heads, W_O=W_O).output).max()))
    W_1 = rng.standard_normal((4 * dim, dim)) / np.sqrt(dim)
    W_2 = rng.standard_normal((dim, 4 * dim)) / np.sqrt(4 * dim)
    ffn = TransformerLayerDual(H, W_K, W_Q, W_V, W_1, W_2, phi, attention_residual=True,
                               ffn_residual=True)
    out = transformer_layer(H, W_K, W_Q, W_V, W_1, W_2, features=phi, attention_residual=True,
                            ffn_residual=True).output
    exact = transformer_layer(H, W_K, W_Q, W_V, W_1, W_2, attention_residual=True,
                              ffn_residual=True).output
    rows.append((f"attention + ReLU FFN (pattern agreement {ffn.pattern_agreement():.2f})",
                 np.abs(ffn.one_step_prediction() - out).max(), np.abs(out - exact).max()))
    layers = [tuple(random_problem(dim, N, rng=args.seed + 20 + layer)[1:])
              for layer in range(3)]
    stack = attention_stack(H, layers, features=phi, residual=True)
    dual = StackDual(H, layers, phi, residual=True).layer_outputs()
    exact = attention_stack(H, layers, residual=True)
    rows.append(("3-layer stack, residual (all tokens)",
                 max(np.abs(a - b).max() for a, b in zip(dual, stack)),
                 np.abs(stack[-1] - exact[-1]).max()))
    print(f"d_i = d_o = {dim}, N = {N}, d_r = {dr} "
          f"({'block-orthogonal' if args.orthogonal else 'i.i.d.'} features), seed {args.seed}")
    print(f"{'variant':58s} {'|dual - RF attn|':>17s} {'|RF - softmax|':>15s}")
    for name, identity, approx in rows:
        print(f"{name:58s} {identity:17.2e} {approx:15.2e}")
    from pathlib import Path

    from .._io import run_record, save_json_atomic, save_npz_atomic

    out = Path(args.out)
    names = np.array([r[0] for r in rows])
    identity = np.array([r[1] for r in rows])
    npz = save_npz_atomic(out / "dual_check.npz", coord_variant=names,
                          identity_residual=identity,
                          softmax_distance=np.array([r[2] for r in rows]))
    params = dict(dim=dim, context_length=N, n_features=dr, orthogonal=args.orthogonal,
                  seed=args.seed)
    js = save_json_atomic(out / "dual_check.json", run_record(
        "dual_check", params, rows=[dict(variant=n, identity_residual=i, softmax_distance=a)
                                    for n, i, a in rows]))
    print(f"wrote {npz}\nwrote {js}")
    if identity.max() >= 1e-10:
        raise CommandFailed(f"the dual identity fails: residual {identity.max():.2e} >= 1e-10 "
                            f"for {names[identity.argmax()]}")
    return 0


def run(args) -> int:
    if args.action == "check":
        return _check(args)
    from pathlib import Path

    from .. import dual

    out = Path(args.out)
    progress = not args.quiet
    opts = {}
    if args.dim is not None:
        opts["dim"] = args.dim
    if args.action == "equivalence":
        if args.context_length is not None:
            opts["context_length"] = args.context_length
        _given(opts, n_features=args.n_features, n_draws=args.n_seeds)
        result = dual.equivalence_curve(orthogonal=args.orthogonal,
                                        rng=args.seed, progress=progress, **opts)
        for s in result.distances:
            print(f"{s:12s} " + " ".join(f"{v:.4f}" for v in result.mean(s)))
    elif args.action == "approximation":
        if args.context_length is not None:
            opts["context_length"] = args.context_length
        _given(opts, n_seeds=args.n_seeds)
        result = dual.approximation_study(orthogonal=args.orthogonal,
                                          rng=args.seed, progress=progress, **opts)
        for name, s in result.slopes.items():
            print(f"{name:16s} slope {s['mean']:+.3f} ± {s['stderr']:.3f} (fit of the mean "
                  f"{s['of_mean']:+.3f})")
    elif args.action == "generalization":
        _given(opts, n_features=args.n_features, n_seeds=args.n_seeds)
        result = dual.generalization_study(rng=args.seed,
                                           progress=progress, **opts)
        print(result)
        for N, g, b in zip(result.context_lengths, result.uniform_gap.mean(1), result.bound):
            print(f"N = {int(N):6d}  gap {g:.4f}  bound {b:.3f}")
    else:
        if args.context_length is not None:
            opts["context_length"] = args.context_length
        _given(opts, n_seeds=args.n_seeds)
        result = dual.compare_modifications(steps=args.steps, lr=args.lr, rng=args.seed,
                                            progress=progress,
                                            checkpoint_dir=out / "checkpoints", **opts)
        print(result.summary())
    files = result.save(out, f"dual_{args.action}")
    for path in files.values():
        print(f"wrote {path}")
    return 0
