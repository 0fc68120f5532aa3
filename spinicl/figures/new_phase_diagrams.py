"""Phase diagrams none of the existing tools draws.

* ``icl-theory-phase-diagram``: the ICL error of the exact Boltzmann mean over (N/D, P/D²) at
  finite D, with the replica-symmetric theory's contours (D → ∞) drawn on top.
* ``thermal-phase-diagram``: the thermal contrast ratio ⟨cos∠(W, I)⟩_β over (P/D², β) from an
  MCMC sampler (HMC with mass-matrix adaptation), checked cell by cell against exact draws.
* ``memorisation-phase-diagram``: lives with the training experiments
  (:mod:`spinicl.figures.training_memorisation_phase`).

Each runs as a resumable sweep under ``<out>/<name>-sweep``.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from . import register_figure
from ._style import panel_label, plt, save_figure, style
from .paper_fig4a import sweep_outputs_beside

__all__ = ["make_icl_theory", "make_thermal"]


def _edges(c):
    c = np.asarray(c, dtype=float)
    if c.size == 1:
        return np.array([c[0] * 0.9, c[0] * 1.1])
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


@register_figure("icl-theory-phase-diagram",
                 "ICL error over (N/D, P/D²): finite-D exact measure with replica-theory contours")
def make_icl_theory(out_dir, *, quick: bool = False, rng=0, progress: bool = True,
                    dim: int | None = None, l2: float = 1e-2, repeats: int | None = None,
                    executor: str = "process", workers=None):
    from .. import theory
    from ..sweep import SweepSpec, run_sweep

    dim = dim or (6 if quick else 12)
    alphas = np.array([0.5, 1.0, 2.0, 4.0] if quick else [0.5, 1, 1.5, 2, 3, 4, 6, 8])
    taus = np.linspace(0.2, 3.0, 8 if quick else 22)
    spec = SweepSpec(kind="exact", name="icl-theory", seed=rng if isinstance(rng, int) else 0,
                     repeats=repeats or (2 if quick else 6),
                     parameters={"dim": dim, "l2": l2, "beta": 100.0},
                     axes={"context_length": np.unique(np.maximum(1, np.rint(alphas * dim)))
                           .astype(int),
                           "n_prompts": np.unique(np.rint(taus * dim**2)).astype(int)})
    out_dir = Path(out_dir)
    result = run_sweep(spec, out_dir / "icl-theory-sweep", executor=executor, workers=workers,
                       progress=progress)
    a = spec.axes["context_length"] / dim
    t = spec.axes["n_prompts"] / dim**2
    finite = result.mean("icl_error")
    a_fine = np.linspace(a.min(), a.max(), 60)
    t_fine = np.linspace(t.min(), t.max(), 120)
    th = theory.sweep(alpha=a_fine[:, None], tau=t_fine[None, :], l2=dim * l2)
    with style():
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8.4, 3.2), constrained_layout=True)
        levels = np.round(np.geomspace(0.25, 2.0, 7), 2)
        mesh = ax.pcolormesh(_edges(t), _edges(a), np.log10(finite), cmap="viridis_r",
                             vmin=np.log10(levels[0]), vmax=np.log10(levels[-1]),
                             shading="flat", rasterized=True)
        cs = ax.contour(t_fine, a_fine, th.icl_error, levels=levels, colors="w", linewidths=0.8)
        ax.clabel(cs, fmt="%.2g", fontsize=6.5)
        fig.colorbar(mesh, ax=ax, pad=0.02).set_label(
            rf"$\log_{{10}} e_{{\mathrm{{ICL}}}}$, exact measure, $D={dim}$")
        ax.axvline(1.0, color="w", ls=":", lw=0.8)
        ax.set_xlabel(r"task diversity $\tau = P/D^2$")
        ax.set_ylabel(r"context length $\alpha = N/D$")
        ax.set_title("finite size (colour) vs replica theory (contours)")
        panel_label(ax, "a")
        rows = sorted(set(np.linspace(0, a.size - 1, min(3, a.size)).round().astype(int)))
        colours = plt.cm.viridis(np.linspace(0.1, 0.8, len(rows)))
        for colour, i in zip(colours, rows):
            ax2.errorbar(t, finite[i], yerr=np.std(result.data["icl_error"][i], -1, ddof=1)
                         / np.sqrt(spec.repeats), fmt="o", ms=2.5, color=colour, capsize=1.5,
                         label=rf"$\alpha={a[i]:.2g}$, $D={dim}$")
            line = theory.sweep(alpha=a[i], tau=t_fine, l2=dim * l2)
            ax2.plot(t_fine, line.icl_error, color=colour, lw=1.1)
        ax2.plot([], [], color="0.3", label=r"replica theory, $D\to\infty$")
        ax2.set_yscale("log")
        ax2.set_xlabel(r"$\tau = P/D^2$")
        ax2.set_ylabel(r"$e_{\mathrm{ICL}}$ of the Boltzmann mean")
        ax2.legend(frameon=False, fontsize=7)
        panel_label(ax2, "b")
        fig.suptitle(rf"ICL phase diagram: $\lambda_0={l2:g}$ ($\lambda=D\lambda_0$ in the "
                     rf"theory), fresh tasks, {spec.repeats} disorder draws", fontsize=8.5)
        png = save_figure(fig, out_dir / "icl-theory-phase-diagram.png")
    return [*sweep_outputs_beside(result, out_dir), png]


@register_figure("thermal-phase-diagram",
                 "Thermal contrast ratio over (P/D², β) from HMC, checked against exact draws")
def make_thermal(out_dir, *, quick: bool = False, rng=0, progress: bool = True,
                 dim: int | None = None, l2: float = 1e-2, method: str = "hmc",
                 executor: str = "process", workers=None):
    from ..sweep import SweepSpec, run_sweep

    dim = dim or (3 if quick else 5)
    taus = np.linspace(0.25, 3.0, 4 if quick else 12)
    betas = np.geomspace(1.0, 1e4, 4 if quick else 13)
    spec = SweepSpec(kind="sampled", name="thermal", seed=rng if isinstance(rng, int) else 0,
                     repeats=1,
                     parameters={"dim": dim, "context_length": 4 * dim, "l2": l2,
                                 "method": method, "n_draws": 300 if quick else 600,
                                 "n_warmup": 200 if quick else 400},
                     axes={"n_prompts": np.unique(np.rint(taus * dim**2)).astype(int),
                           "beta": betas})
    out_dir = Path(out_dir)
    result = run_sweep(spec, out_dir / "thermal-sweep", executor=executor, workers=workers,
                       progress=progress)
    t = spec.axes["n_prompts"] / dim**2
    b = spec.axes["beta"]
    cr = result.data["contrast_ratio"][..., 0]
    exact = result.data["exact_contrast_ratio"][..., 0]
    z = (cr - exact) / np.hypot(result.data["contrast_ratio_mcse"][..., 0],
                                result.data["exact_contrast_ratio_se"][..., 0])
    with style():
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8.2, 3.1), constrained_layout=True)
        mesh = ax.pcolormesh(_edges(t), _edges(np.log10(b)), cr.T, cmap="magma", vmin=0,
                             vmax=np.sqrt(dim / (dim + 1)), shading="flat", rasterized=True)
        fig.colorbar(mesh, ax=ax, pad=0.02).set_label(
            r"$\langle\cos\angle(W, I)\rangle_\beta$ (HMC)")
        ax.axvline((dim + 1) / dim, color="w", ls="--", lw=0.9)
        ax.set_xlabel(r"task diversity $P/D^2$")
        ax.set_ylabel(r"$\log_{10}\beta$")
        ax.set_title(f"thermal ICL order parameter, D={dim}")
        panel_label(ax, "a")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mesh2 = ax2.pcolormesh(_edges(t), _edges(np.log10(b)), z.T, cmap="RdBu_r", vmin=-4,
                                   vmax=4, shading="flat", rasterized=True)
        fig.colorbar(mesh2, ax=ax2, pad=0.02).set_label("(sampler − exact) / combined s.e.")
        ax2.set_xlabel(r"task diversity $P/D^2$")
        ax2.set_ylabel(r"$\log_{10}\beta$")
        ax2.set_title(f"check against exact draws ({method.upper()})")
        panel_label(ax2, "b")
        fig.suptitle(rf"$N={4 * dim}$, $\lambda_0={l2:g}$; dashed: $P=D(D+1)$", fontsize=8.5)
        png = save_figure(fig, out_dir / "thermal-phase-diagram.png")
    return [*sweep_outputs_beside(result, out_dir), png]
