"""Sample the Boltzmann measure exp(−βH) over the weights of linear attention with MCMC.

Draws P single-instance prompts, builds the spin glass and runs the chosen sampler. Prints the
diagnostics summary (R-hat, bulk/tail ESS, acceptance, warnings that say what to do) and, unless
--no-exact, the largest per-spin error of the sample mean in units of its MCSE against the exact
mean A⁻¹h. Writes sample.npz (observables per chain and draw, per-spin means and MCSEs, and the
draws unless --observables-only) and sample.json (every parameter, the seed, package versions
and the summary) into --out. --checkpoint FILE makes the run resumable: rerun the same command
after an interruption and it continues where it stopped (--checkpoint-interval sets how often
it is written); --timeout SECONDS stops the run cleanly after that long (with --checkpoint,
rerunning the command finishes it; a stopped run writes no files and exits with status 3).

example:
  spinicl sample --dim 5 --context-length 20 --prompts 200 --beta 100 --method nuts
"""
from __future__ import annotations

from ._args import (add_common, finite_size_l2, non_negative_float, positive_float,
                    positive_int, python_default)

COMMAND = "sample"
HELP = "sample exp(-beta H) over the weights with ULA/MALA/Gibbs/HMC/NUTS/PT/... and diagnose"
ORDER = 25


def add_arguments(p):
    from ..samplers import BASE_METHODS, METHODS, sample

    def default(name):
        return python_default(sample, name)

    l2 = finite_size_l2()
    p.add_argument("--dim", type=positive_int, default=5, help="input dimension D (default: 5)")
    p.add_argument("--context-length", type=positive_int, default=20,
                   help="context length N (default: 20)")
    p.add_argument("--prompts", type=positive_int, default=200,
                   help="number of training prompts P (default: 200)")
    p.add_argument("--l2", type=non_negative_float, default=l2,
                   help=f"weight decay lambda0 >= 0 (default: {l2:g})")
    p.add_argument("--beta", type=positive_float, default=100.0,
                   help="inverse temperature > 0 (default: 100)")
    p.add_argument("--method", choices=METHODS, default=default("method"),
                   help=f"sampler (default: {default('method')})")
    p.add_argument("--base", choices=BASE_METHODS, default=None,
                   help="base kernel of pt/anneal (default: gibbs); only with those methods")
    p.add_argument("--chains", type=positive_int, default=default("n_chains"),
                   help=f"number of chains (default: {default('n_chains')})")
    p.add_argument("--draws", type=positive_int, default=default("n_draws"),
                   help=f"draws kept per chain (default: {default('n_draws')})")
    p.add_argument("--warmup", type=int, default=default("n_warmup"),
                   help="warm-up iterations per chain (default: 500)")
    p.add_argument("--thin", type=positive_int, default=default("thin"),
                   help=f"keep every k-th iteration (default: {default('thin')})")
    p.add_argument("--observables-only", action="store_true",
                   help="store energy, contrast ratio, overlap and norm, not every spin")
    p.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="resumable checkpoint (.npz), written atomically every "
                        "--checkpoint-interval seconds")
    p.add_argument("--checkpoint-interval", type=positive_float, metavar="SECONDS",
                   default=default("checkpoint_interval"),
                   help=f"seconds between checkpoint writes (default: "
                        f"{default('checkpoint_interval'):g})")
    p.add_argument("--timeout", type=positive_float, default=None, metavar="SECONDS",
                   help="stop after this many seconds (a spinicl.callbacks.Timeout); the "
                        "checkpoint, when given, then resumes the run")
    p.add_argument("--no-exact", action="store_true",
                   help="skip the comparison with the exact measure (large D)")
    add_common(p, out_default="spinicl-sample")


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from .._io import run_record, save_json_atomic, save_npz_atomic
    from .._validation import as_seed_sequence
    from ..hamiltonian import SpinGlass
    from ..prompts import sample_prompts
    from ..callbacks import Timeout
    from ..samplers import sample

    if args.base is not None and args.method not in ("pt", "anneal"):
        raise SystemExit(f"spinicl sample: --base is an option of pt and anneal, not of "
                         f"{args.method}")
    if args.method == "exact" and args.warmup:
        raise SystemExit("spinicl sample: --warmup is not an option of exact (i.i.d. draws); "
                         "pass --warmup 0")
    data_seed, sampler_seed = as_seed_sequence(args.seed).spawn(2)
    prompts = sample_prompts(args.dim, args.context_length, args.prompts, rng=data_seed)
    model = SpinGlass.from_prompts(prompts, l2=args.l2)
    observables = ["contrast_ratio", "overlap", "norm"]
    kernel_options = {"base": args.base} if args.base is not None else {}
    samples = sample(model, args.beta, method=args.method, **kernel_options,
                     callbacks=None if args.timeout is None else Timeout(args.timeout),
                     n_chains=args.chains, n_draws=args.draws, n_warmup=args.warmup,
                     thin=args.thin, rng=sampler_seed, progress=not args.quiet,
                     checkpoint=args.checkpoint, checkpoint_interval=args.checkpoint_interval,
                     observables=observables,
                     keep_draws=not args.observables_only)
    if samples.stop_reason is not None:
        print(samples.message)
        return 3
    summary = samples.summary()
    print(summary)
    record = {"summary": summary, "warnings": samples.warnings(),
              "stats": {k: samples.stats(k).to_dict() for k in samples.observables}
              if samples.good_chains.size else {}}
    arrays = {f"obs_{k}": v for k, v in samples.observables.items()}
    if samples.draws is not None and samples.good_chains.size:
        spin = samples.spin_diagnostics()
        arrays.update(mean=spin["mean"], mcse=spin["mcse"], ess_bulk=spin["ess_bulk"],
                      rhat=spin["rhat"], draws=samples.draws)
        if not args.no_exact:
            exact = model.boltzmann(args.beta).mean
            z = np.abs(spin["mean"] - exact) / spin["mcse"]
            worst = float(np.nanmax(z))
            record["max_mean_error_in_mcse"] = worst
            arrays["exact_mean"] = exact
            print(f"mean vs exact A^-1 h: largest |error| = {worst:.2f} MCSE "
                  f"({'consistent' if worst < 5 else 'INCONSISTENT'} at 5 MCSE)")
    out = Path(args.out)
    npz = save_npz_atomic(out / "sample.npz", **arrays)
    params = {k: v for k, v in vars(args).items() if not k.startswith("_")}
    js = save_json_atomic(out / "sample.json", run_record("sample", params, **record))
    print(f"wrote {npz}\nwrote {js}")
    return 0
