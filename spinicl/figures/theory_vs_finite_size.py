"""The replica-symmetric theory (D → ∞) against the exact finite-size measure at D = 10, 20, 40.

For a sweep in τ = P/D² at fixed α, λ = Dλ0 and β̂ = β/D², every (D, τ) cell draws ``repeats``
disorder samples and evaluates the exact Boltzmann measure's observables
(:func:`spinicl.theory.finite_size.exact_observables`); the theory is solved on a dense τ grid.
Panels: (a) e_ICL of the mean, (b) the Gibbs error, (c) the free energy per spin, (d) the gap
|finite − theory| against D (averaged over τ) with a 1/D guide, (e) the overlap with the identity
and the norm, (f) the ridgeless double descent for several task diversities κ with Lu et al.'s
closed forms as markers. Long runs keep a checkpoint (one cell at a time; every cell has its own
child seed, so a resumed run is bitwise identical).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import register_figure
from ._style import panel_label, plt, save_figure, style

__all__ = ["compute", "plot", "make", "OBSERVED"]

OBSERVED = ("icl_error", "gibbs_error", "free_energy", "identity_overlap", "norm", "idg_error")


def compute(*, dims=(10, 20, 40), alpha=2.0, taus=(0.3, 0.6, 0.9, 1.2, 1.6, 2.2, 3.0), l2=0.1,
            beta=2.0, repeats=4, kappas=(0.5, 1.0, 2.0, np.inf), rng=0, progress=True,
            checkpoint=None) -> dict:
    """Theory curves and finite-size cells; returns a dict of arrays (see module docstring)."""
    from .. import theory
    from .._checkpoint import config_fingerprint, load_checkpoint, save_checkpoint
    from .._progress import progress_bar
    from .._validation import as_seed_sequence
    from ..theory.finite_size import exact_observables

    dims = np.asarray(dims, dtype=int)
    taus = np.asarray(taus, dtype=float)
    seed = as_seed_sequence(rng)
    config = dict(dims=dims, alpha=alpha, taus=taus, l2=l2, beta=beta, repeats=repeats,
                  entropy=seed.entropy, spawn_key=list(seed.spawn_key))
    fingerprint = config_fingerprint(config)
    children = seed.spawn(dims.size * taus.size)
    shape = (dims.size, taus.size, repeats)
    cells = {k: np.full(shape, np.nan) for k in OBSERVED}
    done = np.zeros(dims.size * taus.size, dtype=bool)
    if checkpoint is not None:
        loaded = load_checkpoint(checkpoint, fingerprint=fingerprint)
        if loaded is not None:
            arrays, _ = loaded
            done = arrays["done"].astype(bool)
            cells = {k: arrays[k] for k in OBSERVED}
    with progress_bar(total=done.size, desc="theory vs finite size", enabled=progress) as bar:
        bar.update(int(done.sum()))
        for flat in range(done.size):
            if done[flat]:
                continue
            i, j = divmod(flat, taus.size)
            out = exact_observables(int(dims[i]), alpha, float(taus[j]), l2=l2, beta=beta,
                                    repeats=repeats, rng=children[flat])
            for k in OBSERVED:
                cells[k][i, j] = out[k]
            done[flat] = True
            if checkpoint is not None:
                save_checkpoint(checkpoint, {"done": done, **cells}, {"fingerprint": fingerprint})
            bar.update(1)

    dense = np.linspace(min(0.05, taus.min()), max(3.2, taus.max() * 1.05), 400)
    curve = theory.sweep(alpha, dense, l2=l2, beta=beta)
    at_cells = theory.sweep(alpha, taus, l2=l2, beta=beta)
    ridgeless_taus = np.concatenate([np.linspace(0.05, 0.985, 150), np.linspace(1.015, 4.0, 150)])
    kappas = np.asarray(kappas, dtype=float)
    family = theory.sweep(alpha, ridgeless_taus[None, :], kappa=kappas[:, None])
    marker_taus = np.array([0.3, 0.6, 0.8, 1.3, 2.0, 3.0])
    lu_markers = np.array([[theory.lu_icl_error(alpha, t, k) for t in marker_taus]
                           for k in kappas])
    data = dict(dims=dims, taus=taus, alpha=np.array(alpha), l2=np.array(l2),
                beta=np.array(beta), repeats=np.array(repeats), dense_taus=dense,
                ridgeless_taus=ridgeless_taus, kappas=kappas, marker_taus=marker_taus,
                lu_markers=lu_markers, family_icl=family.icl_error,
                family_converged=family.converged)
    for k in OBSERVED:
        data[f"finite_{k}"] = cells[k]
        data[f"theory_{k}"] = getattr(curve, k)
        data[f"theory_at_cells_{k}"] = getattr(at_cells, k)
    data["theory_converged"] = curve.converged & at_cells.converged.all()
    return data


def _mean_se(values):
    mean = values.mean(axis=-1)
    se = values.std(axis=-1, ddof=1) / np.sqrt(values.shape[-1]) if values.shape[-1] > 1 \
        else np.zeros_like(mean)
    return mean, se


def plot(data, path=None):
    """Draw the six panels from :func:`compute`'s data."""
    dims, taus = data["dims"], data["taus"]
    colours = plt.cm.viridis(np.linspace(0.15, 0.8, dims.size))
    with style():
        fig, axes = plt.subplots(2, 3, figsize=(10.4, 6.2), constrained_layout=True)
        panels = [("icl_error", r"$e_{\mathrm{ICL}}$ of the Gibbs mean", axes[0, 0]),
                  ("gibbs_error", r"Gibbs error $\langle e_{\mathrm{ICL}}\rangle_\beta$",
                   axes[0, 1]),
                  ("free_energy", r"free energy per spin $f$", axes[0, 2])]
        for key, label, ax in panels:
            ax.plot(data["dense_taus"], data[f"theory_{key}"], color="k", lw=1.4,
                    label=r"RS theory, $D\to\infty$")
            for c, D, i in zip(colours, dims, range(dims.size)):
                mean, se = _mean_se(data[f"finite_{key}"][i])
                ax.errorbar(taus * (1 + 0.012 * (i - 1)), mean, yerr=se, color=c, marker="o",
                            ms=3, lw=0, elinewidth=1, capsize=1.5, label=rf"exact, $D={D}$")
            ax.set_xlabel(r"task diversity $\tau = P/D^2$")
            ax.set_ylabel(label)
            ax.axvline(1.0, color="0.6", ls=":", lw=0.8)
        axes[0, 0].set_yscale("log")
        axes[0, 1].set_yscale("log")
        axes[0, 0].legend(frameon=False, loc="upper right")
        ax = axes[1, 0]
        markers = {"icl_error": "o", "gibbs_error": "s", "free_energy": "^"}
        for key, marker in markers.items():
            gap = np.abs(data[f"finite_{key}"].mean(axis=-1)
                         - data[f"theory_at_cells_{key}"][None, :])
            ax.loglog(dims, gap.mean(axis=1), marker=marker, ms=4, lw=1.0,
                      label={"icl_error": r"$e_{\mathrm{ICL}}$", "gibbs_error": "Gibbs error",
                             "free_energy": r"$f$"}[key])
        guide = gap.mean(axis=1)[0] * dims[0] / dims
        ax.loglog(dims, guide, color="0.5", ls="--", lw=0.8, label=r"$\propto 1/D$")
        ax.set_xlabel(r"dimension $D$")
        ax.set_ylabel(r"$|$exact $-$ theory$|$ (mean over $\tau$)")
        ax.set_xticks(dims)
        ax.set_xticklabels([str(d) for d in dims])
        ax.minorticks_off()
        ax.legend(frameon=False)
        ax = axes[1, 1]
        for key, ls, label in (("identity_overlap", "-", r"$q_I=\mathrm{tr}\,W/D$"),
                               ("norm", "--", r"$Q=\|W\|_F^2/D$")):
            ax.plot(data["dense_taus"], data[f"theory_{key}"], color="k", ls=ls, lw=1.3,
                    label=label)
            for c, i in zip(colours, range(dims.size)):
                mean, se = _mean_se(data[f"finite_{key}"][i])
                ax.errorbar(taus, mean, yerr=se, color=c, marker="o" if ls == "-" else "s",
                            ms=3, lw=0, elinewidth=1, capsize=1.5)
        ax.set_xlabel(r"task diversity $\tau = P/D^2$")
        ax.set_ylabel("order parameters of the mean")
        ax.legend(frameon=False)
        ax = axes[1, 2]
        fam_colours = plt.cm.plasma(np.linspace(0.1, 0.8, data["kappas"].size))
        for c, kappa, icl, lu in zip(fam_colours, data["kappas"], data["family_icl"],
                                     data["lu_markers"]):
            name = r"\infty" if np.isinf(kappa) else f"{kappa:g}"
            ax.plot(data["ridgeless_taus"], icl, color=c, lw=1.2, label=rf"$\kappa={name}$")
            ax.plot(data["marker_taus"], lu, ls="", marker="x", color=c, ms=5)
        ax.plot([], [], ls="", marker="x", color="0.3", label="Lu et al. closed form")
        ax.axhline(1 / (1 + float(data["alpha"])), color="0.5", ls="--", lw=0.8)
        ax.set_yscale("log")
        ax.set_ylim(0.1, 30)
        ax.set_xlabel(r"task diversity $\tau = P/D^2$")
        ax.set_ylabel(r"ridgeless $e_{\mathrm{ICL}}$ ($\lambda=0$, $\beta=\infty$)")
        ax.legend(frameon=False, loc="upper right", ncol=1)
        for letter, a in zip("abcdef", axes.ravel()):
            panel_label(a, letter)
        fig.suptitle(rf"Replica-symmetric theory vs exact measure: "
                     rf"$\alpha=N/D={float(data['alpha']):g}$,"
                     rf" $\lambda=D\lambda_0={float(data['l2']):g}$, $\hat\beta=\beta/D^2="
                     rf"{float(data['beta']):g}$, fresh task per prompt; "
                     rf"{int(data['repeats'])} disorder draws per point (mean $\pm$ s.e.)",
                     fontsize=9)
        if path is None:
            return fig
        return save_figure(fig, path)


@register_figure("theory-vs-finite-size",
                 "Replica-symmetric theory against the exact measure at D = 10, 20, 40")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Compute and draw the figure; writes theory_vs_finite_size.{npz,json,png}."""
    from .._io import run_record, save_json_atomic, save_npz_atomic

    if quick:
        options = {"dims": (4, 6, 8), "taus": (0.5, 1.5, 3.0), "repeats": 3, **options}
    out_dir = Path(out_dir)
    options.setdefault("checkpoint", None if quick else out_dir / "theory_vs_finite_size.ckpt.npz")
    data = compute(rng=rng, progress=progress, **options)
    npz = save_npz_atomic(out_dir / "theory_vs_finite_size.npz", **data)
    params = {k: v for k, v in options.items() if k != "checkpoint"}
    caption = ("RS theory (lines) against exact finite-size measures (markers, mean ± s.e. over "
               f"disorder) at D = {', '.join(map(str, data['dims']))}; alpha = {data['alpha']}, "
               f"lambda = D*lambda0 = {data['l2']}, beta/D^2 = {data['beta']}, fresh tasks; "
               "panel f: ridgeless theory vs Lu et al.'s closed forms for several kappa.")
    record = run_record("figure:theory-vs-finite-size", params, seed=rng, quick=quick,
                        caption=caption)
    js = save_json_atomic(out_dir / "theory_vs_finite_size.json", record)
    png = plot(data, out_dir / "theory_vs_finite_size.png")
    return [npz, js, png]
