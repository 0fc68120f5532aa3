"""Fig. S3 of Li, Bai & Huang (arXiv:2408.02288): the solver on synthetic disorder.

Fields and couplings are drawn from the block Gaussians of Fig. 1 for an 11×11 weight matrix
(:meth:`spinicl.SpinGlass.random`: top-block diagonal fields N(0.2, 0.02²), off-diagonal
N(0, 0.02²), last row N(0, 0.06²); couplings with the stds of blocks 𝒞, 𝒟, ℰ; all
self-couplings 1), and the authors' AMP (``variant="li2024"``: β = 100, damping 0.9, at most 100
iterations, random start) is run. Its mean and variance are set next to the exact Boltzmann
marginals N(A⁻¹h, (βA)⁻¹) and to the TAP fixed point. The field alone makes the solution
identity-like.

Differences from the authors' script, on purpose: our couplings are symmetric (theirs draw the
two triangles independently, so their J is not a Hamiltonian's) and the dead last column carries
no couplings; and their 𝒞 sampler inverts an unnormalised density (three times a Gaussian), which
biases those couplings negative. Their numbers (diagonal of m 0.32–0.54, v 0.0216–0.0247) are
therefore not expected to match ours.
"""
from __future__ import annotations

import numpy as np

from .. import register_figure
from .._common import add_caption, write_outputs
from .._style import panel_label, plt, style
from ..._validation import check_int, check_real
from ...experiments.synthetic_disorder import solve_synthetic_disorder

__all__ = ["make"]

PAPER = {"m_diag_range": [0.32, 0.54], "m_off_max_abs": 0.17, "v_range": [0.0216, 0.0247]}


@register_figure("figS3", "Li et al. Fig. S3: li2024 AMP and exact Boltzmann mean/variance on "
                          "synthetic disorder")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Fig. S3 (11×11 weights, β=100); the same size with or without ``quick`` (it is cheap).

    Options: ``dim``, ``beta``.
    """
    dim = check_int("dim", options.pop("dim", 10), minimum=1)
    beta = check_real("beta", options.pop("beta", 100.0), minimum=0.0, strict_min=True)
    if options:
        raise TypeError(f"unknown option(s) for figS3: {', '.join(sorted(options))}")
    solved = solve_synthetic_disorder(dim, beta=beta, rng=rng)
    model, exact, amp, tap = solved["model"], solved["exact"], solved["amp"], solved["tap"]
    m = dim + 1
    shape = (m, m)
    arrays = {"fields": model.fields.reshape(shape), "couplings": model.couplings,
              "exact_mean": exact.mean.reshape(shape),
              "exact_variance": exact.variance.reshape(shape)}
    rows, cols = np.divmod(np.arange(m * m), m)
    diag = (rows == cols) & (rows < dim)
    off = (rows != cols) & (rows < dim) & (cols < dim)
    numbers = {"paper_li2024": PAPER,
               "exact": {"m_diag_range": [exact.mean[diag].min(), exact.mean[diag].max()],
                         "m_off_max_abs": np.abs(exact.mean[off]).max(),
                         "v_range": [exact.variance.min(), exact.variance.max()]}}
    have_amp = amp is not None
    if have_amp:
        arrays.update(amp_mean=amp.mean.reshape(shape), amp_variance=amp.variance.reshape(shape),
                      tap_mean=tap.mean.reshape(shape), tap_variance=tap.variance.reshape(shape))
        numbers["li2024"] = {
            "converged": amp.converged, "n_iter": amp.n_iter, "message": amp.message,
            "m_diag_range": [amp.mean[diag].min(), amp.mean[diag].max()],
            "m_off_max_abs": np.abs(amp.mean[off]).max(),
            "v_range": [amp.variance.min(), amp.variance.max()],
            "mean_max_abs_error": np.abs(amp.mean - exact.mean).max(),
            "diag_mean_relative_bias": float(np.mean(amp.mean[diag] / exact.mean[diag] - 1)),
            "variance_max_rel_error": np.abs(amp.variance / exact.variance - 1).max()}
        numbers["tap"] = {"converged": tap.converged,
                          "mean_max_abs_error": np.abs(tap.mean - exact.mean).max(),
                          "variance_max_rel_error": np.abs(tap.variance / exact.variance - 1).max()}
    parameters = dict(dim=dim, beta=beta, model="SpinGlass.random defaults (Fig. 1 guide stds, "
                      "self-couplings 1)", amp=dict(variant="li2024", damping=0.9, max_iter=100,
                                                    init="normal"),
                      solver_available=have_amp, rng=str(rng), quick=quick)

    with style():
        fig = plt.figure(figsize=(7.4, 4.6 if have_amp else 2.2), constrained_layout=True)
        n_rows = 2 if have_amp else 1
        gs = fig.add_gridspec(n_rows, 4, height_ratios=[1.0, 1.25][:n_rows])
        panels = []
        if have_amp:
            panels += [("amp_mean", "li2024 AMP $m$", "mean"),
                       ("exact_mean", r"exact $A^{-1}h$", "mean"),
                       ("amp_variance", r"li2024 $v$ ($\times 10^2$)", "variance"),
                       ("exact_variance", r"exact var. ($\times 10^2$)", "variance")]
        else:
            panels += [("fields", "fields $h$", "mean"),
                       ("exact_mean", r"exact $A^{-1}h$", "mean"),
                       ("exact_variance", r"exact var. ($\times 10^2$)", "variance")]
        mean_lim = max(np.abs(arrays[k]).max() for k, _, kind in panels if kind == "mean")
        var_keys = [k for k, _, kind in panels if kind == "variance"]
        var_lo = min(arrays[k].min() for k in var_keys)
        var_hi = max(arrays[k].max() for k in var_keys)
        letters = iter("abcdefgh")
        for col, (key, title, kind) in enumerate(panels):
            ax = fig.add_subplot(gs[0, col])
            if kind == "mean":
                im = ax.imshow(arrays[key], cmap="RdBu_r", vmin=-mean_lim, vmax=mean_lim)
            else:
                im = ax.imshow(100 * arrays[key], cmap="viridis", vmin=100 * var_lo,
                               vmax=100 * var_hi)
            cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
            cb.ax.tick_params(labelsize=6.5)
            ax.set_title(title, fontsize=8)
            ax.set_xticks([0, dim], ["1", str(m)])
            ax.set_yticks([0, dim], ["1", str(m)])
            panel_label(ax, next(letters))
        if have_amp:
            ax = fig.add_subplot(gs[1, :2])
            groups = ((diag, "top diagonal", "C3"), (off, "top off-diagonal", "C0"),
                      ((rows == dim) | (cols == dim), "last row, dead column", "C2"))
            for mask, label, colour in groups:
                ax.plot(exact.mean[mask], arrays["amp_mean"].ravel()[mask], "o", ms=2.5,
                        color=colour, label=f"li2024, {label}")
            ax.plot(exact.mean, arrays["tap_mean"].ravel(), "k+", ms=4, mew=0.6,
                    label="TAP (full Onsager term)")
            lim = [exact.mean.min() - 0.03, exact.mean.max() + 0.03]
            ax.plot(lim, lim, color="0.5", lw=0.6)
            ax.set_xlabel(r"exact mean $A^{-1}h$")
            ax.set_ylabel("solver mean")
            ax.legend(frameon=False, fontsize=6.5, loc="upper left")
            ax.set_title("means: li2024 is biased, TAP is exact")
            panel_label(ax, next(letters))
            ax = fig.add_subplot(gs[1, 2:])
            for mask, label, colour in groups:
                ax.plot(100 * exact.variance[mask], 100 * arrays["amp_variance"].ravel()[mask],
                        "o", ms=2.5, color=colour)
            vlim = [100 * var_lo * 0.98, 100 * var_hi * 1.02]
            ax.plot(vlim, vlim, color="0.5", lw=0.6)
            ax.set_xlabel(r"exact variance $[(\beta A)^{-1}]_{ii}$ ($\times 10^2$)")
            ax.set_ylabel(r"li2024 variance $v$ ($\times 10^2$)")
            ax.set_title("variances")
            panel_label(ax, next(letters))
            li = numbers["li2024"]
            solver_text = (
                f"li2024 AMP ({li['message']}): diagonal of m {li['m_diag_range'][0]:.3f} to "
                f"{li['m_diag_range'][1]:.3f} (exact {numbers['exact']['m_diag_range'][0]:.3f} to "
                f"{numbers['exact']['m_diag_range'][1]:.3f}; mean relative bias "
                f"{li['diag_mean_relative_bias']:+.1%}), off-diagonal |m| <= "
                f"{li['m_off_max_abs']:.3f}, v {li['v_range'][0]:.4f} to {li['v_range'][1]:.4f}; "
                f"TAP matches the exact mean to {numbers['tap']['mean_max_abs_error']:.0e}. ")
        else:
            solver_text = "spinicl.solvers is not available: only the exact measure is drawn. "
        caption = (
            f"Li et al. Fig. S3 regenerated: synthetic disorder SpinGlass.random({dim}) (Fig. 1 "
            f"guide Gaussians, symmetric J, self-couplings 1), beta={beta:g}, AMP damping 0.9, "
            f"at most 100 iterations from a random start. " + solver_text
            + "Paper (asymmetric J, no dead spins): diagonal 0.32-0.54, off-diagonal <= 0.17, "
              "v 0.0216-0.0247.")
        add_caption(fig, caption, y=-0.01)
        return write_outputs(out_dir, "figS3", arrays=arrays, parameters=parameters,
                             caption=caption, fig=fig, numbers=numbers)
