"""ICL error against task diversity: merged exact, separate and rank-r Boltzmann, and training.

(a) The ICL error e(⟨W⟩) of the Boltzmann mean against P/D² at one β for the merged model
(sampled, and the exact Gaussian), the separate model (W = W_Qᵀ W_K) and the rank-r model, with
Adam-trained models of the same architectures (weight decay 2λ0: Fig. S1's curves) and the
separate model's β → ∞ limit, the nuclear-norm minimiser. (b) The Gibbs error ⟨e(W)⟩_β.
(c) Multimodality: the worst R̂ between chains started at different minima of H, and the
number of distinct effective W among those minima. Error bars: standard error over repeats.
The legend gives each curve's ICL threshold (where e falls below 1). Data:
:func:`spinicl.experiments.separate_measure.separate_vs_merged`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._common import sweep_outputs_beside
from .._style import panel_label, plt, save_figure, style
from ...experiments.separate_measure import ICL_LEVEL, icl_threshold, separate_vs_merged

__all__ = ["make", "thresholds"]


def _curves(results, rank):
    m, s, r = "merged", "separate", f"rank-{rank}"
    return [("merged, exact Gaussian", "exact_icl_error", "exact_gibbs_error", m,
             dict(color="0.15", ls="--", marker="")),
            ("merged, sampled", "icl_error", "gibbs_error", m, dict(color="C0", marker="o")),
            ("separate, Boltzmann", "icl_error", "gibbs_error", s, dict(color="C3", marker="s")),
            (f"rank {rank}, Boltzmann", "icl_error", "gibbs_error", r,
             dict(color="C2", marker="^")),
            ("separate, Adam", "trained_icl_error", None, s,
             dict(color="C3", ls=":", marker="x")),
            ("merged, Adam", "trained_icl_error", None, m, dict(color="C0", ls=":", marker="x")),
            (r"separate, $\beta\to\infty$ (nuclear norm)", "nuclear_icl_error", None, s,
             dict(color="C1", ls="-.", marker=""))]


def thresholds(results, rank) -> dict:
    """{curve label: (mean, standard error, repeats with a threshold)} of the ICL threshold.

    ``results`` is :func:`~spinicl.experiments.separate_measure.separate_vs_merged`'s dict.
    """
    first = results["merged"]
    tau = np.asarray(first.coords["n_prompts"]) / first.spec.parameters["dim"] ** 2
    out = {}
    for label, icl, _, k, _ in _curves(results, rank):
        t = icl_threshold(tau, results[k].data[icl], level=ICL_LEVEL)
        ok = np.isfinite(t)
        se = float(np.std(t[ok], ddof=1) / np.sqrt(ok.sum())) if ok.sum() > 1 else np.nan
        out[label] = (float(np.mean(t[ok])) if ok.any() else np.nan, se, int(ok.sum()))
    return out


@register_figure("separate-vs-merged",
                 "ICL error vs P/D²: merged exact, separate and rank-r Boltzmann measures, "
                 "Adam-trained models (Fig. S1's separate curve), with thresholds")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, dim: int | None = None,
         rank: int | None = None, l2: float = 1e-2, beta: float = 100.0, method: str = "hmc",
         repeats: int | None = None, train_steps: int | None = None,
         executor: str = "process", workers=None):
    """Data: :func:`spinicl.experiments.separate_measure.separate_vs_merged`."""
    out_dir = Path(out_dir)
    results = separate_vs_merged(out_dir, quick=quick, rng=rng, progress=progress, dim=dim,
                                 rank=rank, l2=l2, beta=beta, method=method, repeats=repeats,
                                 train_steps=train_steps, executor=executor, workers=workers)
    first = results["merged"]
    p = first.spec.parameters
    dim = p["dim"]
    rank = int(next(m for m in results if m.startswith("rank-")).split("-")[1])
    tau = np.asarray(first.coords["n_prompts"]) / dim**2
    found = thresholds(results, rank)
    with style():
        fig, axes = plt.subplots(1, 3, figsize=(12.0, 3.6), constrained_layout=True)
        for label, icl, gibbs, k, st in _curves(results, rank):
            result = results[k]
            t, se, n = found[label]
            tag = f" ($\\tau_c$={t:.2f}±{se:.2f})" if np.isfinite(se) else ""
            axes[0].errorbar(tau, result.mean(icl), yerr=result.stderr(icl), ms=3.5,
                             lw=1.1, capsize=1.5, label=label + tag, **st)
            if gibbs is not None:
                axes[1].errorbar(tau, result.mean(gibbs), yerr=result.stderr(gibbs),
                                 ms=3.5, lw=1.1, capsize=1.5, label=label, **st)
        for ax, name in ((axes[0], r"ICL error $e(\langle W\rangle_\beta)$"),
                         (axes[1], r"Gibbs error $\langle e(W)\rangle_\beta$")):
            ax.set_yscale("log")
            ax.axhline(ICL_LEVEL, color="0.6", lw=0.7, ls=":")
            ax.axvline((dim + 1) / dim, color="0.6", lw=0.8)
            ax.set_xlabel(r"task diversity $P/D^2$")
            ax.set_ylabel(name)
        axes[0].legend(fontsize=6, loc="upper right")
        for name, st in (("merged", dict(color="C0", marker="o")),
                         ("separate", dict(color="C3", marker="s")),
                         (f"rank-{rank}", dict(color="C2", marker="^"))):
            data = results[name].data
            axes[2].plot(tau, np.nanmax(data["r_hat"], axis=-1), label=f"{name}: R̂", **st)
            axes[2].plot(tau, 1 + 0.1 * (np.nanmax(data["n_minima"], axis=-1) - 1),
                         ls=":", **st)
        axes[2].axhline(1.01, color="0.6", lw=0.7, ls="--")
        axes[2].set_xlabel(r"task diversity $P/D^2$")
        axes[2].set_ylabel(r"worst $\hat R$ over repeats (solid)")
        axes[2].set_title("dotted: 1 + 0.1 (distinct minima − 1)", fontsize=7.5)
        axes[2].legend(fontsize=6.5)
        for j, ax in enumerate(axes):
            panel_label(ax, "abc"[j])
        fig.suptitle(rf"D={dim}, N={2 * dim}, $\beta={p['beta']:g}$, $\lambda_0={p['l2']:g}$, "
                     f"{first.spec.repeats} repeats, sampler {p['method'].upper()}",
                     fontsize=8.5)
        png = save_figure(fig, out_dir / "separate-vs-merged.png")
    copies = [path for result in results.values() for path in sweep_outputs_beside(result, out_dir)]
    return [*copies, png]
