"""Fig. 3 of Li, Bai & Huang (arXiv:2408.02288), drawn honestly: flat directions versus one minimum.

The paper shows the energy of random weights W ~ N(0, I) embedded in 2-D with t-SNE and
interpolated onto a surface (D=10, N=50, λ0=0.01, P=10 and P=1000); at P=10 several valleys appear.
H is quadratic with Hessian A = SᵀS/P + λ0 I ⪰ λ0 I, so it is convex for every P and has exactly
one minimum A⁻¹h: the valleys are a projection artefact (and the authors' energy formula counts
the diagonal of J twice; §4.4 of our notes). The real difference between P=10 and P=1000 is the
number of flat directions, which needs no projection to see:

(a) the spectrum of A restricted to the D(D+1) live spins (the D+1 dead spins of the last column
    carry no data and sit at λ0 for every P);
(b, c) the exact energy H(m + t·u) − H(m) along random unit directions u of the live subspace
    through the minimum m = A⁻¹h, and along the flattest and stiffest eigen-directions;
(d, e) the energy in the plane spanned by the flattest and the stiffest live eigen-directions:
    a trough (P=10) versus a closed bowl (P=1000);
(f) the distribution of the curvature uᵀAu over random directions.

A t-SNE picture is not drawn: scikit-learn is not a dependency, and the projection says nothing
the spectrum does not.
"""
from __future__ import annotations

import numpy as np

from .. import register_figure
from .._common import add_caption, write_outputs
from .._style import panel_label, plt, style
from ..._validation import check_int, check_real
from ...experiments.energy_landscape import landscapes_over_prompts

__all__ = ["make"]


@register_figure("fig3", "Li et al. Fig. 3, honest version: Hessian spectrum and energy along "
                         "directions through the minimum (P=10 vs P=1000)")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Fig. 3 (D=10, N=50, λ0=0.01, P ∈ {10, 1000}); ``quick`` uses fewer random directions.

    Options: ``dim``, ``context_length``, ``l2``, ``prompt_counts``, ``span``.
    """
    dim = check_int("dim", options.pop("dim", 10), minimum=1)
    N = check_int("context_length", options.pop("context_length", 50), minimum=1)
    l2 = check_real("l2", options.pop("l2", 0.01), minimum=0.0, strict_min=True)
    prompt_counts = tuple(check_int("prompt_counts", p, minimum=1)
                          for p in options.pop("prompt_counts", (10, 1000)))
    span = check_real("span", options.pop("span", 3.0), minimum=0.0, strict_min=True)
    if len(prompt_counts) != 2:
        raise ValueError(f"prompt_counts must hold two values (few, many), got {prompt_counts}")
    if options:
        raise TypeError(f"unknown option(s) for fig3: {', '.join(sorted(options))}")
    n_dirs, n_curv = (8, 500) if quick else (30, 5000)
    live_count = dim * (dim + 1)
    data, numbers = {}, {}
    lands = landscapes_over_prompts(dim, N, prompt_counts, l2=l2, n_directions=n_dirs,
                                    n_curvature=n_curv, span=span, rng=rng)
    for P, (model, land) in lands.items():
        ev = land["live_eigenvalues"]
        # a null direction of SᵀS has eigenvalue exactly λ0 in A; allow rounding only
        flat = int(np.sum(ev <= l2 * (1 + 1e-8) + 1e-12 * ev.max()))
        numbers[f"P={P}"] = {
            "flat_live_directions": flat, "flat_expected": max(live_count - P, 0),
            "live_spins": live_count, "min_live_eigenvalue": ev.min(),
            "max_eigenvalue": ev.max(), "min_excess_over_l2": ev.min() - l2,
            "median_random_curvature": float(np.median(land["curvature"])),
            "dead_spins_at_l2": dim + 1,
            "dead_spin_eigenvalues_equal_l2": bool(np.allclose(
                np.diag(model.hessian())[model.dead_spins], l2)),
        }
        for key, value in land.items():
            data[f"P{P}_{key}"] = value

    parameters = dict(dim=dim, context_length=N, l2=l2, prompt_counts=list(prompt_counts),
                      span=span, n_directions=n_dirs, n_curvature=n_curv, normalization="model",
                      rng=str(rng), quick=quick)
    colours = {prompt_counts[0]: "C3", prompt_counts[1]: "C0"}
    with style():
        fig, axes = plt.subplots(2, 3, figsize=(7.4, 5.2), constrained_layout=True)
        ax = axes[0, 0]
        for P in prompt_counts:
            ev = data[f"P{P}_live_eigenvalues"]
            ax.semilogy(np.arange(1, ev.size + 1), ev, ".", ms=3, color=colours[P],
                        label=rf"$P={P}$ ({numbers[f'P={P}']['flat_live_directions']} flat)")
        ax.axhline(l2, color="0.3", ls="--", lw=0.8)
        ax.text(2, l2 * 1.25, rf"$\lambda_0={l2:g}$", fontsize=7, va="bottom")
        ax.axvline(live_count - prompt_counts[0] + 0.5, color=colours[prompt_counts[0]], ls=":",
                   lw=0.8)
        ax.set_xlabel("index (ascending)")
        ax.set_ylabel(rf"eigenvalue ({live_count} live spins)")
        ax.set_title(r"spectrum of $A$")
        ax.legend(frameon=False, loc="upper left", fontsize=7)
        panel_label(ax, "a")

        top = max(np.max(data[f"P{P}_random_profiles"]) for P in prompt_counts)
        for ax, P, letter in ((axes[0, 1], prompt_counts[0], "b"),
                              (axes[0, 2], prompt_counts[1], "c")):
            t = data[f"P{P}_t"]
            for prof in data[f"P{P}_random_profiles"]:
                ax.plot(t, prof, color=colours[P], lw=0.5, alpha=0.45)
            ax.plot([], [], color=colours[P], lw=0.6, label="random directions")
            ax.plot(t, data[f"P{P}_flat_profile"], color="k", ls="--", lw=1.1,
                    label="flattest eigen-direction")
            ax.plot(t, data[f"P{P}_stiff_profile"], color="k", ls=":", lw=1.1,
                    label="stiffest eigen-direction")
            ax.set_ylim(-0.02 * top, 1.05 * top)
            ax.set_xlim(t[0], t[-1])
            ax.set_xlabel(r"distance $t$ from the minimum $A^{-1}h$")
            ax.set_ylabel(r"$H(m + t\,u) - H(m)$")
            ax.set_title(rf"$P={P}$: energy along lines")
            panel_label(ax, letter)
        axes[0, 1].legend(frameon=False, loc="upper center", fontsize=6.5)

        vmax = max(np.max(data[f"P{P}_plane_energy"]) for P in prompt_counts)
        levels = np.geomspace(1e-4 * vmax, vmax, 17)
        from matplotlib.colors import LogNorm

        for ax, P, letter in ((axes[1, 0], prompt_counts[0], "d"),
                              (axes[1, 1], prompt_counts[1], "e")):
            s = data[f"P{P}_plane_axis"]
            E = np.maximum(data[f"P{P}_plane_energy"], levels[0])
            cs = ax.contourf(s, s, E, levels=levels, norm=LogNorm(), cmap="viridis",
                             extend="both")
            ax.contour(s, s, E, levels=levels[::2], colors="w", linewidths=0.4)
            ax.plot(0, 0, "w+", ms=7, mew=1.2)
            ax.set_aspect("equal")
            ax.set_xlabel("flattest live eigen-direction")
            ax.set_ylabel("stiffest live eigen-direction")
            ax.set_title(rf"$P={P}$: energy on a plane")
            panel_label(ax, letter)
        cb = fig.colorbar(cs, ax=axes[1, :2], shrink=0.9, pad=0.02)
        cb.set_label(r"$H - H_{\min}$")
        cb.set_ticks([10.0 ** k for k in range(int(np.ceil(np.log10(levels[0]))),
                                               int(np.floor(np.log10(vmax))) + 1)])

        ax = axes[1, 2]
        curv_all = np.concatenate([data[f"P{P}_curvature"] for P in prompt_counts])
        bins = np.geomspace(curv_all.min() * 0.8, curv_all.max() * 1.25, 50)
        for P in prompt_counts:
            ax.hist(data[f"P{P}_curvature"], bins=bins, color=colours[P], alpha=0.65,
                    label=rf"$P={P}$")
        ax.set_xscale("log")
        ax.set_xlabel(r"curvature $u^\top A u$ of a random direction")
        ax.set_ylabel("count")
        ax.set_title("directional curvature")
        ax.legend(frameon=False, fontsize=7)
        panel_label(ax, "f")

        few, many = (numbers[f"P={P}"] for P in prompt_counts)
        caption = (
            f"Li et al. Fig. 3, projection-free. D={dim}, N={N}, lambda0={l2:g}, 1/N prefactor, "
            f"P={prompt_counts[0]} (red) vs P={prompt_counts[1]} (blue). H is convex for every P "
            f"(all eigenvalues >= lambda0), with a single minimum A^-1 h. P={prompt_counts[0]}: "
            f"{few['flat_live_directions']} of {live_count} live directions are flat (eigenvalue "
            f"= lambda0; expected D(D+1)-P = {few['flat_expected']}); P={prompt_counts[1]}: "
            f"{many['flat_live_directions']} flat, smallest live eigenvalue "
            f"{many['min_live_eigenvalue']:.3f}. The D+1 dead spins sit at lambda0 for both P "
            f"and are left out. The paper's several valleys at P=10 come from its t-SNE "
            f"projection of random W ~ N(0,I) (not redrawn: scikit-learn is not a dependency).")
        add_caption(fig, caption)
        return write_outputs(out_dir, "fig3", arrays=data, parameters=parameters,
                             caption=caption, fig=fig, numbers=numbers)
