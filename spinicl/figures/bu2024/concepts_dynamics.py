"""Learning dynamics of the multi-concept ICL transformer (Bu et al. NeurIPS 2024, p. 8).

Six panels over SGD steps: (a) train/test cross-entropy; (b) train/test 0-1 error on a log
scale with the 2^{−L} retrieval floor and the fitted exponential approach to it; (c) the correct
attention weight; (d) the concept-specific, complement and noise products of the attention
bilinear form; (e) MLP alignment with the label features; (f) the key coefficients γ (projections
of W_Kᵀ W_Q on the dictionary's idempotents). The settings are a reconstruction: the paper's
were unavailable.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._style import panel_label, plt, save_figure, style
from ...experiments.bu2024_studies import run_dynamics

__all__ = ["plot_dynamics", "make"]

BANNER = "reconstruction: the paper's settings were unavailable (all choices are parameters)"


def plot_dynamics(result, fit, path=None):
    """Draw the six-panel dynamics figure of a :class:`~spinicl.concepts.TrainingResult`."""
    t = result.steps
    h = result.history
    floor = result.floors["test"]
    s = result.settings
    L = s["sampler"]["context_length"]
    with style():
        fig, axes = plt.subplots(2, 3, figsize=(10.2, 5.6), constrained_layout=True)
        ax = axes[0, 0]
        ax.plot(t, h["train.loss"], color="C0", lw=1.0, alpha=0.8, label="train (batches)")
        ax.plot(t, h["test.loss"], color="C3", label="test")
        ax.axhline(np.log(2), color="0.6", ls=":", lw=0.8)
        ax.text(t[-1], np.log(2), r"$\log 2$", ha="right", va="bottom", fontsize=7, color="0.4")
        ax.set_ylabel("cross-entropy loss")
        ax.set_title("loss")
        ax.legend(frameon=False)

        ax = axes[0, 1]
        lo, hi = h["test.error_lo"], h["test.error_hi"]
        ax.fill_between(t, np.maximum(lo, 1e-5), hi, color="C3", alpha=0.2, lw=0)
        train_err = np.where(h["train.error"] > 0, h["train.error"], np.nan)
        ax.plot(t, train_err, color="C0", lw=0.8, alpha=0.7, label="train (batches)")
        ax.plot(t, np.where(h["test.error"] > 0, h["test.error"], np.nan), color="C3",
                label=f"test ({s['n_test']} prompts)")
        ax.axhline(floor, color="k", ls="--", lw=0.8, label=rf"floor $2^{{-{L}}}$")
        if "test.no_match" in h:
            ax.axhline(h["test.no_match"][-1], color="0.4", ls=":", lw=0.9,
                       label="test set's no-match fraction")
        if fit.converged:
            tt = np.linspace(max(fit.window[0] - 60, 0), fit.window[1] + 150, 200)
            ax.plot(tt, floor + fit.predict(tt), color="C2", ls="-.", lw=1.0,
                    label=rf"$E^*+Ce^{{-ct}}$, $c={fit.rate:.3g}$")
            ax.axvspan(*fit.window, color="C2", alpha=0.07, lw=0)
        ax.set_yscale("log")
        ax.set_ylim(max(floor / 4, 1e-4), 1.0)
        ax.set_ylabel("0-1 error")
        ax.set_title("0-1 error (95% Wilson band)")
        ax.legend(frameon=False, loc="upper right", fontsize=6.8)

        ax = axes[0, 2]
        ax.plot(t, h["train.attention"], color="C0", lw=1.0, label="train")
        ax.plot(t, h["test.attention"], color="C3", label="test")
        ax.axhline(1.0, color="0.6", ls=":", lw=0.8)
        ax.set_ylabel("correct attention weight")
        ax.set_title(r"attention on demonstrations with $s_l = s_q$")
        ax.set_ylim(0.4, 1.02)
        ax.legend(frameon=False, loc="lower right")

        ax = axes[1, 0]
        ax.plot(t, h["concept_specific"], color="C1",
                label=r"concept-specific $\mu^s_k\cdot\mu^s_k$")
        ax.plot(t, h["complement"], color="C4", label=r"complement $\mu^{-s}_k\cdot\mu^s_k$")
        ax.plot(t, h["noise_product"], color="0.4", label=r"noise $|\xi\cdot\mu|$")
        ax.axhline(0, color="0.7", lw=0.6)
        ax.set_ylabel(r"$\max\,\langle W_K u, W_Q u'\rangle$")
        ax.set_title("attention products")
        ax.legend(frameon=False, fontsize=6.8, loc="upper left")

        ax = axes[1, 1]
        ax.plot(t, h["mlp_positive_max"], color="C0",
                label=r"$\max_{r:v_r>0}\langle w_r, q^+_k\rangle$")
        ax.plot(t, h["mlp_negative_max"], color="C3",
                label=r"$\max_{r:v_r<0}\langle w_r, q^-_k\rangle$")
        ax.plot(t, h["mlp_positive_mean"], color="C0", ls="--", lw=0.9, label="mean, positive")
        ax.plot(t, h["mlp_negative_mean"], color="C3", ls="--", lw=0.9, label="mean, negative")
        ax.set_ylabel("alignment")
        ax.set_title("MLP neurons vs label features")
        ax.legend(frameon=False, fontsize=6.5)

        ax = axes[1, 2]
        gs = h["gamma_semantic"]
        colours = plt.cm.viridis(np.linspace(0.1, 0.8, gs.shape[1]))
        for k in range(gs.shape[1]):
            ax.plot(t, gs[:, k], color=colours[k], label=rf"$\gamma^b_{k + 1}$" if k < 4 else None)
        ax.plot(t, h["gamma_shared"].mean(axis=1), color="0.3", ls="--",
                label=r"$\bar\gamma^a$ (shared)")
        ax2 = ax.twinx()
        ax2.plot(t, h["key_residual"], color="C3", ls=":", lw=1.0)
        ax2.set_ylabel("unexplained fraction", color="C3", fontsize=7.5)
        ax2.tick_params(axis="y", colors="C3", labelsize=7)
        ax2.set_ylim(0, 1.05)
        ax.set_ylabel(r"$u^\top W_K^\top W_Q u$")
        ax.set_title("key coefficients (idempotent projections)")
        ax.legend(frameon=False, fontsize=6.5, ncol=2, loc="upper left")
        for a, letter in zip(axes.ravel(), "abcdef"):
            a.set_xlabel("SGD step")
            panel_label(a, letter)
        d, m, o = s["dictionary"], s["model"], s["optimizer"]
        rate = (f"fitted 0-1 rate c = {fit.rate:.3g} [{fit.rate_ci[0]:.3g}, {fit.rate_ci[1]:.3g}]"
                f"/step vs CE {fit.reference_rate:.2g}/step" if fit.converged
                else "no exponential fit")
        fig.suptitle(
            f"Multi-concept ICL transformer: d={d['dim']}, K={d['n_concepts']}, L={L}, "
            f"α={d['alpha']:g}, β={d['beta']:g}, σ={s['sampler']['noise']:g}, "
            f"p_poly={s['sampler']['p_poly']:g}, m={m['width']}, init={m['init']}, "
            f"B={s['batch_size']}, η={o['lr']:g}, λ={m['l2']:g}; {rate}\n{BANNER}",
            fontsize=8)
        if path is None:
            return fig
        return save_figure(fig, path)


@register_figure("concepts-dynamics",
                 "Multi-concept ICL: loss, 0-1 error (exponential fit), attention, products, MLP")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Train, fit the exponential rate, and write npz, JSON and PNG into ``out_dir``."""
    result, fit = run_dynamics(quick=quick, rng=rng, progress=progress, **options)
    out_dir = Path(out_dir)
    fit_record = {"rate": fit.rate, "rate_ci": list(fit.rate_ci), "amplitude": fit.amplitude,
                  "window": list(fit.window), "n_points": fit.n_points,
                  "ce_rate": fit.reference_rate, "converged": fit.converged,
                  "message": fit.message}
    files = result.save(out_dir, "concepts_dynamics",
                        extra={"exponential_fit": fit_record, "quick": quick,
                               "figure": "concepts-dynamics"})
    png = plot_dynamics(result, fit, out_dir / "concepts_dynamics.png")
    return [files["npz"], files["json"], png]
