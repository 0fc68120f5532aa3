"""Do the samplers draw from the right measure? Their moments against the exact Gaussian.

The Boltzmann measure of the linear-attention spin glass is Gaussian, N(A⁻¹h, (βA)⁻¹), so every
sampler can be checked exactly. The honest test of an MCMC estimate is not "close" but "close
within its own Monte-Carlo standard error": z = (sampled mean − exact mean)/MCSE should be
standard normal across spins (about 95% within ±2), and the sampled variances should scatter
around the exact ones.

    python analysis/samplers_vs_exact.py [--quick] [--out DIR] [--seed S]
"""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import spinicl  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="D = 3 and short chains (seconds)")
    parser.add_argument("--out", default="analysis-out/samplers_vs_exact")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    dim, n_draws = (3, 800) if args.quick else (6, 4000)
    methods = ("hmc", "nuts") if args.quick else ("hmc", "nuts", "langevin", "gibbs")
    seed_model, seed_chains = np.random.SeedSequence(args.seed).spawn(2)
    # beyond the threshold (P > D(D+1)) the measure is well conditioned; β sets its width
    prompts = spinicl.sample_prompts(dim, 4 * dim, 3 * dim * (dim + 1), rng=seed_model)
    model = spinicl.SpinGlass.from_prompts(prompts, l2=1e-2)
    beta = 20.0
    exact = model.boltzmann(beta)
    live = ~model.dead_spins      # dead spins carry no data: their marginal is the prior's

    summary, z_scores, variances = {"dim": dim, "beta": beta, "n_draws": n_draws}, {}, {}
    for method in methods:
        s = spinicl.sample(model, beta, method=method, n_chains=4, n_draws=n_draws,
                           rng=seed_chains, progress=False)
        mcse = s.spin_diagnostics()["mcse"]
        z = ((s.mean - exact.mean) / mcse)[live]
        z_scores[method], variances[method] = z, s.variance[live]
        summary[method] = {"converged": bool(s.converged), "message": s.message,
                           "fraction_within_2_mcse": float(np.mean(np.abs(z) < 2)),
                           "z_rms": float(np.sqrt(np.mean(z ** 2))),
                           "variance_ratio_median": float(np.median(
                               s.variance[live] / exact.variance[live])),
                           "seconds": float(s.seconds)}

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8.5, 3.2), constrained_layout=True)
    bins = np.linspace(-4, 4, 25)
    for method, z in z_scores.items():
        ax.hist(z, bins=bins, density=True, histtype="step", lw=1.3, label=method)
    x = np.linspace(-4, 4, 200)
    ax.plot(x, np.exp(-x ** 2 / 2) / np.sqrt(2 * np.pi), "k--", lw=1, label="N(0, 1)")
    ax.set_xlabel("(sampled − exact mean) / MCSE, per live spin")
    ax.legend(frameon=False, fontsize=8)
    v = exact.variance[live]
    for method, var in variances.items():
        ax2.loglog(v, var, "o", ms=2.5, alpha=0.7, label=method)
    ax2.plot([v.min(), v.max()], [v.min(), v.max()], "k--", lw=1)
    ax2.set_xlabel("exact variance (βA)⁻¹ᵢᵢ")
    ax2.set_ylabel("sampled variance")
    ax2.legend(frameon=False, fontsize=8)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "samplers_vs_exact.png", dpi=150)
    (out / "samplers_vs_exact.json").write_text(json.dumps(summary, indent=2))
    for method in methods:
        r = summary[method]
        print(f"{method:8s} within 2 MCSE: {100 * r['fraction_within_2_mcse']:.0f}% of spins, "
              f"rms z {r['z_rms']:.2f}, variance ratio {r['variance_ratio_median']:.3f}, "
              f"{r['seconds']:.1f} s; {r['message']}")
    return summary


if __name__ == "__main__":
    main()
