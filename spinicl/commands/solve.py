"""Solve one spin-glass instance with a finite-size solver and compare with the exact measure.

Draws P single-instance prompts, builds the spin glass and runs the chosen solver (cavity/TAP,
the authors' li2024 AMP, Gaussian BP, Cholesky or CG). Prints how the run ended, the error of
the means and variances against the exact measure N(A⁻¹h, (βA)⁻¹), and writes solve.npz
(mean, variance, residuals, exact mean and variance) and solve.json (every parameter, the seed,
package versions and how the run ended) into --out. A solver that does not converge still writes
both files, then exits with code 1 and its message on one error line.

examples:
  spinicl solve --dim 10 --context-length 50 --prompts 1000 --method tap
  spinicl solve --dim 10 --context-length 50 --prompts 1000 --l2 1 --method li2024 \
      --normalization li2024
"""
from __future__ import annotations

from ._args import (CommandFailed, add_common, finite_size_l2, non_negative_float,
                    positive_float, positive_int, python_default)

COMMAND = "solve"
HELP = "solve one instance with TAP / li2024 AMP / BP / Cholesky / CG and compare to exact"
ORDER = 20


def add_arguments(p):
    from ..hamiltonian import SpinGlass
    from ..solvers import METHODS, solve

    l2 = finite_size_l2()

    p.add_argument("--dim", type=positive_int, default=10, help="input dimension D (default: 10)")
    p.add_argument("--context-length", type=positive_int, default=50,
                   help="context length N (default: 50)")
    p.add_argument("--prompts", type=positive_int, default=1000,
                   help="number of training prompts P (default: 1000)")
    p.add_argument("--l2", type=non_negative_float, default=l2,
                   help=f"weight decay lambda0 >= 0 (default: {l2:g})")
    p.add_argument("--beta", type=positive_float, default=100.0,
                   help="inverse temperature > 0 (default: 100)")
    method = python_default(solve, "method")
    p.add_argument("--method", choices=sorted(METHODS), default=method,
                   help=f"solver (default: {method}); "
                        + "; ".join(f"{k}: {v}" for k, v in METHODS.items()))
    p.add_argument("--damping", type=float, default=None,
                   help="weight on the old value (tap, li2024, bp; default per method)")
    p.add_argument("--max-iter", type=positive_int, default=None,
                   help="iteration cap (default per method)")
    p.add_argument("--schedule", choices=("parallel", "sequential"), default="parallel",
                   help="update schedule of tap/li2024 (default: parallel)")
    normalization = python_default(SpinGlass.from_prompts, "normalization")
    p.add_argument("--normalization", choices=("model", "li2024"), default=normalization,
                   help=f"feature prefactor 1/N (model) or 1/(N+1) (authors' code) "
                        f"(default: {normalization})")
    p.add_argument("--no-exact", action="store_true",
                   help="skip the comparison with the exact measure (large D)")
    add_common(p, out_default="spinicl-solve")


def run(args) -> int:
    import numpy as np

    from .._io import run_record, save_json_atomic, save_npz_atomic
    from .._validation import as_seed_sequence
    from ..hamiltonian import SpinGlass
    from ..prompts import sample_prompts
    from ..solvers import solve

    data_seed, solver_seed = as_seed_sequence(args.seed).spawn(2)
    prompts = sample_prompts(args.dim, args.context_length, args.prompts, rng=data_seed)
    model = SpinGlass.from_prompts(prompts, l2=args.l2, normalization=args.normalization)
    options = {}
    if args.method in ("tap", "li2024", "bp"):
        if args.damping is not None:
            options["damping"] = args.damping
    if args.max_iter is not None:
        options["max_iter"] = args.max_iter
    if args.method in ("tap", "li2024"):
        options.update(schedule=args.schedule, rng=solver_seed)
    result = solve(model, args.beta, method=args.method, **options)
    print(repr(result))
    arrays = dict(mean=result.mean, residuals=result.residuals)
    if result.variance is not None:
        arrays["variance"] = result.variance
    summary = {}
    if not args.no_exact:
        exact = model.boltzmann(args.beta, pseudo_inverse=True)
        mean_err = float(np.max(np.abs(result.mean - exact.mean)))
        bias = float(np.linalg.norm(result.mean - exact.mean) / np.linalg.norm(exact.mean))
        summary.update(max_abs_mean_error=mean_err, relative_mean_error=bias)
        print(f"  mean vs exact A^-1 h: max |dm| = {mean_err:.3g}, relative {bias:.3g}")
        arrays.update(exact_mean=exact.mean, exact_variance=exact.variance)
        if result.variance is not None:
            rel = float(np.sqrt(np.mean((result.variance / exact.variance - 1) ** 2)))
            summary["variance_rms_relative_error"] = rel
            print(f"  variance vs exact diag((beta A)^-1): RMS relative error {rel:.3g}")
    from pathlib import Path

    out = Path(args.out)
    print(f"wrote {save_npz_atomic(out / 'solve.npz', **arrays)}")
    record = run_record("solve", {k: v for k, v in vars(args).items() if k != "_run"},
                        converged=result.converged, n_iter=result.n_iter,
                        message=result.message, **summary)
    print(f"wrote {save_json_atomic(out / 'solve.json', record)}")
    if not result.converged:
        raise CommandFailed(f"{args.method} did not converge: {result.message}")
    return 0
