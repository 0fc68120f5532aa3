"""Softmax attention's Boltzmann measure: ICL errors against task diversity, beside training.

(a) The fresh-task error of the posterior-mean predictor ⟨ŷ⟩_β and the Gibbs error
⟨e(θ)⟩_β of one softmax head (W_Q, W_K, W_V) against P/D², with the same model trained by Adam
(weight decay 2λ0), the lowest L-BFGS minimum of H (β → ∞) and the merged linear model's exact
Gaussian on the same prompts. (b) The worst R̂ between chains started at different minima and the
number of distinct minima (by their test predictions). Data:
:func:`spinicl.experiments.separate_measure.softmax_measure_sweep`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._common import sweep_outputs_beside
from .._style import panel_label, plt, save_figure, style
from ...experiments.separate_measure import ICL_LEVEL, softmax_measure_sweep

__all__ = ["make"]

_CURVES = (("Boltzmann mean predictor", "icl_error", dict(color="C3", marker="s")),
           ("Gibbs average", "gibbs_error", dict(color="C1", marker="o")),
           ("Adam", "trained_icl_error", dict(color="C3", ls=":", marker="x")),
           (r"lowest minimum ($\beta\to\infty$)", "minimum_icl_error",
            dict(color="C4", ls="-.", marker="")),
           ("merged linear, exact mean", "exact_icl_error", dict(color="0.15", ls="--",
                                                                 marker="")))


@register_figure("softmax-measure",
                 "Softmax attention's Boltzmann measure: ICL error of the posterior mean and the "
                 "Gibbs average vs P/D², beside training")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, dim: int | None = None,
         l2: float = 1e-2, beta: float = 100.0, method: str = "hmc",
         repeats: int | None = None, train_steps: int | None = None,
         executor: str = "process", workers=None):
    """Data: :func:`spinicl.experiments.separate_measure.softmax_measure_sweep`."""
    out_dir = Path(out_dir)
    result = softmax_measure_sweep(out_dir, quick=quick, rng=rng, progress=progress, dim=dim,
                                   l2=l2, beta=beta, method=method, repeats=repeats,
                                   train_steps=train_steps, executor=executor, workers=workers)
    p = result.spec.parameters
    dim = p["dim"]
    tau = np.asarray(result.coords["n_prompts"]) / dim**2
    with style():
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8.4, 3.4), constrained_layout=True)
        for label, key, st in _CURVES:
            ax.errorbar(tau, result.mean(key), yerr=result.stderr(key), ms=3.5, lw=1.1,
                        capsize=1.5, label=label, **st)
        ax.set_yscale("log")
        ax.axhline(ICL_LEVEL, color="0.6", lw=0.7, ls=":")
        ax.set_xlabel(r"task diversity $P/D^2$")
        ax.set_ylabel("fresh-task test error")
        ax.legend(fontsize=6.5)
        ax2.plot(tau, np.nanmax(result.data["r_hat"], axis=-1), color="C3", marker="s",
                 label=r"worst $\hat R$")
        ax2.axhline(1.01, color="0.6", lw=0.7, ls="--")
        ax2.set_xlabel(r"task diversity $P/D^2$")
        ax2.set_ylabel(r"$\hat R$ between chains at different minima")
        twin = ax2.twinx()
        twin.plot(tau, np.nanmax(result.data["n_minima"], axis=-1), color="C0", ls=":",
                  marker="o")
        twin.set_ylabel("distinct minima (dotted)", color="C0")
        panel_label(ax, "a")
        panel_label(ax2, "b")
        fig.suptitle(rf"softmax head, D={dim}, N={2 * dim}, $\beta={p['beta']:g}$, "
                     rf"$\lambda_0={p['l2']:g}$, {result.spec.repeats} repeats, "
                     f"{p['method'].upper()}", fontsize=8.5)
        png = save_figure(fig, out_dir / "softmax-measure.png")
    return [*sweep_outputs_beside(result, out_dir), png]
