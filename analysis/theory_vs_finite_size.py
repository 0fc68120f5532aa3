"""How fast does the finite system approach the replica theory? A finite-size scaling fit.

The replica-symmetric theory is exact as D → ∞ at fixed α = N/D, τ = P/D², λ = Dλ0 and
β̂ = β/D². At finite D the exact measure differs from it by corrections that should vanish as a
power of 1/D. We measure the gap |exact − theory| of the Gibbs error and the free energy per spin
at several D (averaged over τ and over disorder draws) and fit its exponent, gap ∝ D^(−a):
a ≈ 1 is the usual 1/D correction of a mean-field theory.

    python analysis/theory_vs_finite_size.py [--quick] [--out DIR] [--seed S]
"""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from spinicl.experiments.finite_size_gap import theory_vs_finite_size  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="D = 4, 6, 8, 10 (seconds)")
    parser.add_argument("--out", default="analysis-out/theory_vs_finite_size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    dims = (4, 6, 8, 10) if args.quick else (8, 12, 16, 24, 32)
    # the cells run as a sweep: rerunning into the same --out reuses every finished cell
    data = theory_vs_finite_size(dims=dims, taus=(0.5, 1.5, 3.0), repeats=4 if args.quick else 8,
                                 kappas=(np.inf,), rng=args.seed, progress=False,
                                 checkpoint=Path(args.out) / "sweep")
    summary = {"dims": list(dims), "alpha": float(data["alpha"]), "l2": float(data["l2"]),
               "beta": float(data["beta"])}
    fig, ax = plt.subplots(figsize=(4.2, 3.2), constrained_layout=True)
    for key, marker in (("gibbs_error", "o"), ("free_energy", "s")):
        finite = data[f"finite_{key}"]                      # (D, τ, draw)
        gap = np.abs(finite.mean(-1) - data[f"theory_at_cells_{key}"][None, :]).mean(1)
        # a straight line in log-log: the slope is −a
        slope, intercept = np.polyfit(np.log(dims), np.log(gap), 1)
        summary[key] = {"gap": gap.tolist(), "exponent": float(-slope)}
        ax.loglog(dims, gap, marker, label=f"{key.replace('_', ' ')}: a = {-slope:.2f}")
        ax.loglog(dims, np.exp(intercept) * np.asarray(dims, float) ** slope, "k:", lw=0.8)
    ax.set_xlabel("dimension D")
    ax.set_ylabel("|exact − theory| (mean over τ)")
    ax.legend(frameon=False, fontsize=8)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "theory_vs_finite_size.png", dpi=150)
    (out / "theory_vs_finite_size.json").write_text(json.dumps(summary, indent=2))
    for key in ("gibbs_error", "free_energy"):
        print(f"{key}: gap ~ D^-{summary[key]['exponent']:.2f} over D = {list(dims)}")
    return summary


if __name__ == "__main__":
    main()
