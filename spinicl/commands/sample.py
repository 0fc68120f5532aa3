"""Sample the Boltzmann measure exp(−βH) over the weights of linear attention with MCMC.

Draws P single-instance prompts, builds the spin glass and runs the chosen sampler. Prints the
diagnostics summary (R-hat, bulk/tail ESS, acceptance, warnings that say what to do) and, unless
--no-exact, the largest per-spin error of the sample mean in units of its MCSE against the exact
mean A⁻¹h. With --out, writes sample.npz (observables per chain and draw, per-spin means and
MCSEs, and the draws unless --observables-only) and sample.json (every parameter, the seed,
package versions and the summary). --checkpoint FILE makes the run resumable: rerun the same
command after an interruption and it continues where it stopped.

example:
  spinicl sample --dim 5 --context-length 20 --prompts 200 --beta 100 --method nuts
"""
from __future__ import annotations

from ._args import add_common

COMMAND = "sample"
HELP = "sample exp(-beta H) over the weights with ULA/MALA/Gibbs/HMC/NUTS/PT/... and diagnose"
ORDER = 25


def add_arguments(p):
    from ..samplers import BASE_METHODS, METHODS

    p.add_argument("--dim", type=int, default=5, help="input dimension D (default: 5)")
    p.add_argument("--context-length", type=int, default=20,
                   help="context length N (default: 20)")
    p.add_argument("--prompts", type=int, default=200,
                   help="number of training prompts P (default: 200)")
    p.add_argument("--l2", type=float, default=0.01, help="weight decay lambda0 (default: 0.01)")
    p.add_argument("--beta", type=float, default=100.0, help="inverse temperature (default: 100)")
    p.add_argument("--method", choices=METHODS, default="nuts", help="sampler (default: nuts)")
    p.add_argument("--base", choices=BASE_METHODS, default=None,
                   help="base kernel of pt/anneal (default: gibbs)")
    p.add_argument("--chains", type=int, default=4, help="number of chains (default: 4)")
    p.add_argument("--draws", type=int, default=1000, help="draws kept per chain (default: 1000)")
    p.add_argument("--warmup", type=int, default=None,
                   help="warm-up iterations per chain (default: 500)")
    p.add_argument("--thin", type=int, default=1, help="keep every k-th iteration (default: 1)")
    p.add_argument("--observables-only", action="store_true",
                   help="store energy, contrast ratio, overlap and norm, not every spin")
    p.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="resumable checkpoint (.npz), written atomically every minute")
    p.add_argument("--no-exact", action="store_true",
                   help="skip the comparison with the exact measure (large D)")
    add_common(p, out_default="")


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from .._io import run_record, save_json_atomic, save_npz_atomic
    from .._validation import as_seed_sequence
    from ..hamiltonian import SpinGlass
    from ..prompts import sample_prompts
    from ..samplers import sample

    data_seed, sampler_seed = as_seed_sequence(args.seed).spawn(2)
    prompts = sample_prompts(args.dim, args.context_length, args.prompts, rng=data_seed)
    model = SpinGlass.from_prompts(prompts, l2=args.l2)
    observables = ["contrast_ratio", "overlap", "norm"]
    samples = sample(model, args.beta, method=args.method, base=args.base,
                     n_chains=args.chains, n_draws=args.draws, n_warmup=args.warmup,
                     thin=args.thin, rng=sampler_seed, progress=not args.quiet,
                     checkpoint=args.checkpoint, observables=observables,
                     keep_draws=not args.observables_only)
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
    if args.out:
        out = Path(args.out)
        npz = save_npz_atomic(out / "sample.npz", **arrays)
        params = {k: v for k, v in vars(args).items() if not k.startswith("_")}
        js = save_json_atomic(out / "sample.json", run_record("sample", params, **record))
        print(f"wrote {npz}\nwrote {js}")
    return 0
