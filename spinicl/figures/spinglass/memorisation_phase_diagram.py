"""Memorisation → ICL phase diagram over (task-pool size k, training prompts P), from training.

Heat maps of the trained linear-attention model's fresh-task error e_ICL and task-generalisation
gap g = e_ICL − e_IDG over (log₂ k, P/D²), with k = ∞ (a fresh task per prompt) as a separate
last column, the replica theory's level lines (D → ∞, :mod:`spinicl.theory` at α = N/D,
τ = P/D², κ = k/D, ρ = σ², λ = D·λ0) drawn on top, a cut at the largest P with the exact
spin-glass minimiser A⁻¹h and the theory, and a check panel: how far the trained errors are
from the minimiser's. Data: :func:`spinicl.experiments.memorisation.memorisation_phase_diagram`.
"""
from __future__ import annotations

import json
import textwrap
import warnings
from pathlib import Path

import numpy as np
from matplotlib import colors

from ..._io import save_json_atomic
from .. import register_figure
from .._style import panel_label, plt, save_figure, style
from ...experiments.memorisation_theory import memorisation_theory

__all__ = ["plot_memorisation_phase", "make", "QUICK_OPTIONS", "STEM", "phase_caption",
           "phase_numbers"]

STEM = "memorisation_phase_diagram"

#: --quick: D = 4, N = 8, 5 k columns (1, 2, 4, 16, ∞) × 4 P rows (P/D² = 0.5, 1, 4, 16).
QUICK_OPTIONS = dict(dim=4, context_length=8, task_counts=(1, 2, 4, 16),
                     prompt_ratios=(0.5, 1.0, 4.0, 16.0), repeats=2, steps=3000, n_test=500)

_ICL_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0)
_GAP_LEVELS = (0.05, 0.1, 0.2, 0.5, 1.0)


def _log_edges(centres):
    """Cell edges in log₂ (or any monotone) coordinates: midpoints, extended at both ends."""
    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


class _KAxis:
    """x positions: log₂ k for finite pools, and a separate column for k = ∞."""

    def __init__(self, n_tasks):
        k = np.asarray(n_tasks, dtype=float)
        self.finite = k > 0
        self.has_fresh = bool((~self.finite).any())
        lk = np.log2(k[self.finite])
        self.edges_finite = _log_edges(lk) if lk.size else np.array([0.0, 1.0])
        width = (self.edges_finite[-1] - self.edges_finite[-2]) if lk.size else 1.0
        gap = 0.25 * width
        self.inf_edges = np.array([self.edges_finite[-1] + gap,
                                   self.edges_finite[-1] + gap + width])
        self.x = np.empty(k.size)
        self.x[self.finite] = lk
        self.x[~self.finite] = self.inf_edges.mean()
        self.log_k = lk

    def decorate(self, ax, dim):
        ticks = list(self.log_k)
        labels = [f"{int(round(2**t))}" if 2**t < 1000 else rf"$2^{{{int(round(t))}}}$"
                  for t in self.log_k]
        if len(ticks) > 8:     # thin the labels, keep every tick
            labels = [lab if i % 2 == 0 else "" for i, lab in enumerate(labels)]
        if self.has_fresh:
            ticks.append(self.inf_edges.mean())
            labels.append(r"$\infty$")
        ax.set_xticks(ticks)
        ax.set_xticklabels(labels)
        ax.set_xlim(self.edges_finite[0], self.inf_edges[1] if self.has_fresh
                    else self.edges_finite[-1])
        if self.has_fresh:
            ax.axvspan(self.edges_finite[-1], self.inf_edges[0], color="w", zorder=3, lw=0)
        ax.axvline(np.log2(dim), color="0.15", ls="--", lw=0.8, zorder=4)
        ax.set_xlabel(r"task-pool size $k$ ($\infty$: a fresh task per prompt)")


def _levels(candidates, values):
    v = np.asarray(values)[np.isfinite(values)]
    if v.size == 0:
        return []
    return [c for c in candidates if v.min() < c < v.max()]


def _contours(ax, kaxis, x_f, t_f, fin_values, inf_values, levels, *, colour, style_):
    if not levels:
        return
    cs = ax.contour(x_f, t_f, fin_values, levels=levels, colors=colour, linewidths=0.9,
                    linestyles=style_, zorder=5)
    ax.clabel(cs, fmt="%.3g", fontsize=6, inline_spacing=2)
    if kaxis.has_fresh:          # κ = ∞: the same levels as short lines across the last column
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)      # "no contour levels were found"
            ax.contour(kaxis.inf_edges, t_f, np.repeat(inf_values[:, None], 2, axis=1),
                       levels=levels, colors=colour, linewidths=0.9, linestyles=style_,
                       zorder=5)


def phase_numbers(result) -> dict:
    """Headline numbers of a phase diagram (means over repeats), for the record and the docs."""
    p = result.parameters
    k = np.asarray(result.coords["n_tasks"])
    P = np.asarray(result.coords["n_prompts"])
    conv = result["relative_distance"] < 1e-6
    dev = np.maximum(np.abs(result["icl_error"] / result["exact_icl_error"] - 1),
                     np.abs(result["idg_error"] / result["exact_idg_error"] - 1))

    def row(name, j=-1):
        return {("inf" if kk == 0 else str(int(kk))): float(v)
                for kk, v in zip(k, result.mean(name)[:, j])}

    out = {"largest_n_prompts": int(P[-1]),
           "icl_error_at_largest_P": row("icl_error"), "idg_error_at_largest_P": row("idg_error"),
           "task_gap_at_largest_P": row("task_gap"),
           "exact_task_gap_at_largest_P": row("exact_task_gap"),
           "converged_fraction": float(conv.mean()),
           "max_relative_error_deviation_converged": float(dev[conv].max()) if conv.any()
           else None,
           "max_relative_error_deviation": float(np.nanmax(dev)),
           "dim": p["dim"]}
    if "theory_task_gap" in result.data:
        out["theory_task_gap_at_largest_P"] = row("theory_task_gap")
        out["theory_icl_error_at_largest_P"] = row("theory_icl_error")
    return out


def phase_caption(result) -> str:
    """A caption that states every setting of the run behind the figure."""
    p = result.parameters
    D, N = p["dim"], p["context_length"]
    k = [("∞" if kk == 0 else str(int(kk))) for kk in result.coords["n_tasks"]]
    P = [int(v) for v in result.coords["n_prompts"]]
    lam0 = p["equivalent_l2"]
    conv = result["relative_distance"] < 1e-6
    return (
        f"Memorisation → ICL over (k, P) for the {p['model']} linear-attention model trained by "
        f"full-batch Adam (coupled weight decay {p['weight_decay']:g}, lr {p['lr']:g}, cosine "
        f"schedule, {p['steps']} steps, init N(0, 1/(D+1))) at D = {D}, N = {N} (α = N/D = "
        f"{N / D:g}), label noise σ = {p['label_noise']:g}, Gaussian tasks; "
        f"k ∈ {{{', '.join(k)}}}, "
        f"P ∈ {{{', '.join(map(str, P))}}}; {p['repeats']} repeats per cell (pools nest in k, "
        f"prompts nest in P, same initial W per repeat), seed {p['seed'][0]}. Errors are exact "
        "expectations over tokens and noise for the trained W (e_IDG over the pool tasks, for "
        "k = ∞ over the P training tasks; e_ICL over fresh tasks); colour = mean over repeats. "
        f"Contours: replica-symmetric theory (D → ∞, ground state) at κ = k/D, τ = P/D², "
        f"ρ = σ², λ = Dλ0 = {D * lam0:g} (λ0 = wd/2 = {lam0:g}); short lines in the k = ∞ column "
        "are its κ = ∞ levels. Dashed vertical: k = D (κ = 1); dotted horizontal: P = D(D+1). "
        f"(c) cut at P = {P[-1]}: trained (mean ± std), exact minimiser A⁻¹h of the same prompts "
        "at λ0 = wd/2 (crosses), theory (lines). (d) largest relative deviation of the trained "
        "e_ICL, e_IDG from the minimiser's over repeats; "
        f"{int(conv.sum())} of {conv.size} runs reached ‖W − A⁻¹h‖ ≤ 10⁻⁶‖A⁻¹h‖. "
        + (f"The npz also holds Monte Carlo errors of the network on {p['n_test']} test prompts "
           "per cell (a check of the closed forms)." if p.get("n_test") else "")
    )


def _heat(ax, fig, kaxis, tau_edges, values, *, cmap, norm, label):
    kk = kaxis.finite
    meshes = []
    if kk.any():
        meshes.append(ax.pcolormesh(kaxis.edges_finite, tau_edges, values[kk].T, cmap=cmap,
                                    norm=norm, shading="flat", rasterized=True))
    if kaxis.has_fresh:
        meshes.append(ax.pcolormesh(kaxis.inf_edges, tau_edges, values[~kk].T, cmap=cmap,
                                    norm=norm, shading="flat", rasterized=True))
    cbar = fig.colorbar(meshes[0], ax=ax, pad=0.02)
    cbar.set_label(label)
    return cbar


def plot_memorisation_phase(result, path=None):
    """Draw the four panels of the phase diagram; returns the figure or the saved path."""
    p = result.parameters
    D, N = p["dim"], p["context_length"]
    k = np.asarray(result.coords["n_tasks"])
    P = np.asarray(result.coords["n_prompts"], dtype=float)
    tau = P / D**2
    tau_edges = 2.0 ** _log_edges(np.log2(tau))
    kaxis = _KAxis(k)
    icl = result.mean("icl_error")
    gap = result.mean("task_gap")
    th = memorisation_theory(p, log2_k_range=(kaxis.edges_finite[0], kaxis.edges_finite[-1]),
                             tau_range=(tau_edges[0], tau_edges[-1]), cut_tau=tau[-1])
    x_f, t_f, fin, inf = th["log2_k"], th["tau"], th["grid"], th["fresh"]
    with style():
        fig, axes = plt.subplots(2, 2, figsize=(7.8, 6.3), layout="constrained")
        fig.get_layout_engine().set(wspace=0.06, hspace=0.04)
        (ax_a, ax_b), (ax_c, ax_d) = axes

        lo = max(np.nanmin(icl), 1e-3)
        _heat(ax_a, fig, kaxis, tau_edges, icl, cmap="viridis",
              norm=colors.LogNorm(vmin=lo, vmax=max(np.nanmax(icl), 1.01 * lo)),
              label=r"$e_\mathrm{ICL}$ (trained)")
        _contours(ax_a, kaxis, x_f, t_f, fin.icl_error, inf.icl_error,
                  _levels(_ICL_LEVELS, np.concatenate([fin.icl_error.ravel(), inf.icl_error])),
                  colour="w", style_="-")
        ax_a.set_title(r"$e_\mathrm{ICL}$: colour trained, white lines theory")

        # symmetric colour scale (white = 0), the bar cut to the range of the data
        span = max(np.nanmax(np.abs(gap)), 1e-6)
        cbar = _heat(ax_b, fig, kaxis, tau_edges, gap, cmap="RdBu_r",
                     norm=colors.Normalize(vmin=-span, vmax=span),
                     label=r"$g=e_\mathrm{ICL}-e_\mathrm{IDG}$")
        cbar.ax.set_ylim(min(np.nanmin(gap), 0.0), span)
        _contours(ax_b, kaxis, x_f, t_f, fin.task_gap, inf.task_gap,
                  _levels(_GAP_LEVELS, fin.task_gap.ravel()), colour="k", style_="-")
        ax_b.set_title(r"gap $g$: colour trained, black lines theory")

        for ax, letter in ((ax_a, "a"), (ax_b, "b")):
            ax.set_yscale("log", base=2)
            ax.set_ylim(tau_edges[0], tau_edges[-1])
            ax.set_yticks(tau)
            ax.set_yticklabels([f"{t:g}" for t in tau])
            ax.minorticks_off()
            ax.axhline((D + 1) / D, color="0.15", ls=":", lw=0.8, zorder=4)
            ax.set_ylabel(r"training prompts $P/D^2$")
            kaxis.decorate(ax, D)
            panel_label(ax, letter)

        # (c) cut at the largest P, theory at exactly this τ
        j = -1
        line, line_inf = th["cut"], th["cut_fresh"]
        for name, colour, marker, lab in (("icl", "C3", "o", r"$e_\mathrm{ICL}$"),
                                          ("idg", "C0", "s", r"$e_\mathrm{IDG}$")):
            ax_c.errorbar(kaxis.x, result.mean(f"{name}_error")[:, j],
                          yerr=result.std(f"{name}_error")[:, j], color=colour, marker=marker,
                          ms=3.5, lw=0, elinewidth=0.9, capsize=1.5, label=f"trained: {lab}")
            ax_c.plot(kaxis.x, result.mean(f"exact_{name}_error")[:, j], color="k", marker="x",
                      ms=6, lw=0, mew=0.9, zorder=6)
            ax_c.plot(x_f, getattr(line, f"{name}_error"), color=colour, lw=1.0, ls="--")
            if kaxis.has_fresh:
                ax_c.plot(kaxis.inf_edges, [getattr(line_inf, f"{name}_error")] * 2,
                          color=colour, lw=1.0, ls="--")
        ax_c.plot([], [], color="k", marker="x", lw=0, ms=6, mew=0.9,
                  label=r"exact minimiser $A^{-1}h$")
        ax_c.plot([], [], color="0.3", ls="--", lw=1.0, label=r"theory, $D\to\infty$")
        ax_c.set_yscale("log")
        ax_c.set_ylabel("test error")
        ax_c.set_title(rf"cut at $P={int(P[j])}$ ($P/D^2={tau[j]:g}$)")
        kaxis.decorate(ax_c, D)
        ax_c.legend(frameon=False, fontsize=6.5, loc="upper right")
        panel_label(ax_c, "c")

        # (d) trained vs exact minimiser
        with np.errstate(invalid="ignore", divide="ignore"):
            dev = np.maximum(np.abs(result["icl_error"] / result["exact_icl_error"] - 1),
                             np.abs(result["idg_error"] / result["exact_idg_error"] - 1))
        worst = np.nanmax(dev, axis=-1)
        _heat(ax_d, fig, kaxis, tau_edges, np.maximum(worst, 1e-16), cmap="cividis",
              norm=colors.LogNorm(vmin=1e-16, vmax=1.0),
              label=r"max $|e_\mathrm{trained}/e_{A^{-1}h}-1|$")
        ax_d.set_yscale("log", base=2)
        ax_d.set_ylim(tau_edges[0], tau_edges[-1])
        ax_d.set_yticks(tau)
        ax_d.set_yticklabels([f"{t:g}" for t in tau])
        ax_d.minorticks_off()
        ax_d.set_ylabel(r"training prompts $P/D^2$")
        kaxis.decorate(ax_d, D)
        ax_d.set_title(r"check: trained vs minimiser $A^{-1}h$")
        panel_label(ax_d, "d")

        fig.suptitle(rf"Memorisation $\to$ ICL phase diagram: $D={D}$, $N={N}$, "
                     rf"$\sigma={p['label_noise']:g}$, Adam lr {p['lr']:g}, {p['steps']} steps, "
                     rf"wd {p['weight_decay']:g}, {p['repeats']} repeats", fontsize=8.5)
        wrapped = "\n".join(textwrap.wrap(phase_caption(result), width=150))
        fig.text(0.0, -0.005, wrapped, ha="left", va="top", fontsize=5.6, color="0.25")
        return fig if path is None else save_figure(fig, path)


@register_figure("memorisation-phase-diagram",
                 "Memorisation → ICL over (task-pool size k, prompts P) from training: e_ICL and "
                 "the task gap, with replica-theory contours and the exact minimiser as a check")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Run :func:`~spinicl.experiments.memorisation.memorisation_phase_diagram` and plot it.

    Writes ``memorisation_phase_diagram.{npz,json,png}`` in ``out_dir``; the json holds the
    run record, the caption and the headline numbers (:func:`phase_numbers`).
    """
    from ...experiments.memorisation import memorisation_phase_diagram

    if quick:
        options = {**QUICK_OPTIONS, **options}
    out_dir = Path(out_dir)
    result = memorisation_phase_diagram(rng=rng, progress=progress, **options)
    files = result.save(out_dir, STEM)
    record = json.loads(Path(files["json"]).read_text())
    record.update(caption=phase_caption(result), numbers=phase_numbers(result))
    save_json_atomic(files["json"], record)
    png = plot_memorisation_phase(result, out_dir / f"{STEM}.png")
    return [files["npz"], files["json"], png]
