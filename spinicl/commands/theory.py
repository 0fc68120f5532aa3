"""Replica-symmetric theory of the spin glass (D → ∞): print or save a sweep.

Every parameter takes one value or a list ('0.5,1,2' or 'start:stop:num'); the sweep is the
grid of all combinations. Units are the theory's: --l2 is λ = D·λ0 and --beta is β̂ = β/D²,
unless --dim D is given, in which case --l2 and --beta are the paper's λ0 and β at that D.
The table is also written into --out as theory.csv, theory.npz (every observable on the grid,
coordinates as coord_<axis>) and theory.json (parameters and versions). Points that do not
converge are written too; the command then exits with code 1.
A list that starts with a minus sign must be attached to its option (--noise=-1,2 would be
read as an option otherwise; the ranges are checked either way).

examples:
  spinicl theory --alpha 5 --tau 0.05:4:100
  spinicl theory --alpha 5 --tau 2 --kappa 0.5,1,2,inf --l2 0.1 --beta 1 --out results/
  spinicl theory --dim 20 --alpha 5 --tau 25 --l2 0.01 --beta 100
"""
from __future__ import annotations

import numpy as np

from ._args import CommandFailed, number_list, positive_int, python_default

COMMAND = "theory"
HELP = "replica-symmetric theory (D -> infinity): errors, overlaps, free energy over a sweep"
ORDER = 40

DEFAULT_COLUMNS = "icl_error,gibbs_error,idg_error,identity_overlap,norm,free_energy"


def add_arguments(p):
    from ..theory import solve_grid

    def default(name):
        return np.array([python_default(solve_grid, name)], dtype=float)

    positive = number_list(minimum=0, strict=True)
    p.add_argument("--alpha", type=positive, default=np.array([5.0]), metavar="LIST",
                   help="alpha = N/D > 0 (default: 5)")
    p.add_argument("--tau", type=positive, default=np.linspace(0.1, 4.0, 40), metavar="LIST",
                   help="tau = P/D^2 > 0 (default: 0.1:4:40)")
    p.add_argument("--kappa", type=number_list(minimum=0, strict=True, allow_inf=True),
                   default=default("kappa"), metavar="LIST",
                   help="kappa = n_tasks/D > 0, 'inf' = fresh task per prompt (default: inf)")
    p.add_argument("--noise", type=number_list(minimum=0), default=default("noise"),
                   metavar="LIST", help="label-noise variance rho >= 0 (default: 0)")
    p.add_argument("--l2", type=number_list(minimum=0), default=default("l2"), metavar="LIST",
                   help="ridge lambda = D*lambda0 >= 0 (or lambda0 with --dim) (default: 0)")
    p.add_argument("--beta", type=number_list(minimum=0, strict=True, allow_inf=True),
                   default=default("beta"), metavar="LIST",
                   help="beta/D^2 > 0 (or beta with --dim), 'inf' = ground state "
                        "(default: inf)")
    p.add_argument("--dim", type=positive_int, default=None,
                   help="read --l2 and --beta in the paper's units at this D")
    p.add_argument("--columns", default=DEFAULT_COLUMNS,
                   help=f"observables to print (default: {DEFAULT_COLUMNS}); 'all' for every one")
    p.add_argument("--continuation", action="store_true",
                   help="solve point by point, warm-starting each from the previous root")
    p.add_argument("--out", default="spinicl-theory", metavar="DIR",
                   help="output folder for theory.csv/npz/json (default: spinicl-theory)")


def _table(sweep, columns, grid_names):
    flat = {k: np.ravel(getattr(sweep, k)) for k in grid_names + columns + ["converged"]}
    header = grid_names + columns + ["converged"]
    rows = []
    for i in range(len(sweep)):
        rows.append([f"{flat[k][i]:.6g}" if k != "converged" else str(bool(flat[k][i]))
                     for k in header])
    return header, rows


def run(args) -> int:
    from .. import theory
    from .._io import atomic_write_bytes, run_record, save_json_atomic, save_npz_atomic
    from ..theory.result import OBSERVABLES

    l2, beta = np.asarray(args.l2, float), np.asarray(args.beta, float)
    if args.dim is not None:
        if args.dim < 1:
            raise ValueError(f"dim must be >= 1, got {args.dim}")
        l2, beta = args.dim * l2, beta / args.dim**2
    axes = dict(alpha=args.alpha, tau=args.tau, kappa=args.kappa, noise=args.noise, l2=l2,
                beta=beta)
    columns = list(OBSERVABLES) if args.columns == "all" else [
        c.strip() for c in args.columns.split(",") if c.strip()]
    unknown = [c for c in columns if c not in OBSERVABLES]
    if unknown or not columns:
        raise ValueError(f"columns must be among {', '.join(OBSERVABLES)}; got "
                         f"{unknown or args.columns!r}")
    grids = np.meshgrid(*axes.values(), indexing="ij")
    sweep = theory.solve_grid(*grids[:2], kappa=grids[2], noise=grids[3], l2=grids[4],
                              beta=grids[5], continuation=args.continuation)
    varied = [k for k, v in axes.items() if np.size(v) > 1] or ["tau"]
    header, rows = _table(sweep, columns, varied)
    fixed = ", ".join(f"{k}={np.ravel(v)[0]:g}" for k, v in axes.items() if k not in varied)
    print(f"# replica-symmetric theory (D -> inf); {fixed}")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
    n_bad = len(sweep) - int(np.sum(sweep.converged))
    if n_bad:
        print(f"# {n_bad} point(s) did not converge; see their messages in theory.npz")
    from pathlib import Path

    out = Path(args.out)
    text = ",".join(header) + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
    atomic_write_bytes(out / "theory.csv", lambda fh: fh.write(text.encode()))
    data = {k: v for k, v in sweep.as_dict().items() if k != "message"}
    data["message"] = np.asarray(sweep.message, dtype=str)
    data.update({f"coord_{k}": np.asarray(v, float) for k, v in axes.items()})
    save_npz_atomic(out / "theory.npz", **data)
    record = run_record("theory", {k: np.asarray(v) for k, v in axes.items()},
                        dim=args.dim, continuation=args.continuation,
                        grid_shape=list(sweep.shape), grid_axes=list(axes), n_unconverged=n_bad)
    save_json_atomic(out / "theory.json", record)
    for name in ("theory.csv", "theory.npz", "theory.json"):
        print(f"wrote {out / name}")
    if n_bad:
        raise CommandFailed(f"{n_bad} of {len(sweep)} point(s) did not converge; their messages "
                            f"are in {out / 'theory.npz'}")
    return 0
