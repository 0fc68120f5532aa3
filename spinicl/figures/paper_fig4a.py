"""Fig. 4(a) of Li, Bai & Huang: contrast ratio of the AMP mean over (P, N) at D = 20.

Settings (spin_glass_icl.md §5): D = 20, P ∈ linspace(20, 1000, 50), N ∈ linspace(2, 100, 50),
10 repeats, λ0 = 1, β = 100, the authors' AMP variant (damping 0.9 on the old value, 100
iterations, N(0,1) start, 1/(N+1) features), mean over converged repeats only (their convergence
masking: cells with no converged repeat are white). Runs as a resumable sweep: rerunning after an
interruption reuses every finished (N, repeat) unit.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import register_figure
from ._style import panel_label, plt, save_figure, style

__all__ = ["fig4a_spec", "plot_fig4a", "make"]


def fig4a_spec(*, quick: bool = False, seed: int = 0, dim: int = 20, repeats: int | None = None,
               variant_kind: str = "amp-li2024"):
    """The sweep behind the figure (the full grid, or a coarse one with ``quick``)."""
    from ..sweep import SweepSpec

    n_points = 10 if quick else 50
    prompts = np.unique(np.linspace(20, 1000, n_points).astype(int))
    contexts = np.unique(np.linspace(2, 100, n_points).astype(int))
    params = {"dim": dim, "l2": 1.0, "beta": 100.0, "normalization": "li2024"}
    return SweepSpec(kind=variant_kind, name="fig4a" if variant_kind == "amp-li2024" else
                     f"fig4a-{variant_kind}", parameters=params, seed=seed,
                     repeats=repeats or (2 if quick else 10),
                     axes={"context_length": contexts, "n_prompts": prompts})


def plot_fig4a(result, path=None):
    """Heat map of the repeat-averaged contrast ratio; white where no repeat converged."""
    import warnings

    spec = result.spec
    D = spec.parameters["dim"]
    Ns = spec.axes["context_length"]
    Ps = spec.axes["n_prompts"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells stay NaN (white)
        cr = np.nanmean(result.data["contrast_ratio"], axis=-1)
    conv = np.mean(result.data["converged"], axis=-1) if "converged" in result.data else None
    with style():
        ncols = 2 if conv is not None else 1
        fig, axes = plt.subplots(1, ncols, figsize=(3.6 * ncols + 0.6, 3.0),
                                 constrained_layout=True, squeeze=False)
        ax = axes[0, 0]
        cmap = plt.get_cmap("magma").with_extremes(bad="white")
        mesh = ax.pcolormesh(Ps, Ns, np.ma.masked_invalid(cr), cmap=cmap, shading="nearest",
                             vmin=0, vmax=np.sqrt(D / (D + 1)), rasterized=True)
        fig.colorbar(mesh, ax=ax, pad=0.02).set_label(r"contrast ratio $\cos\angle(m, I)$")
        ax.axvline(D * (D + 1), color="w", ls="--", lw=0.9)
        ax.set_xlabel(r"number of prompts $P$ (task diversity)")
        ax.set_ylabel(r"context length $N$")
        ax.set_title(f"{'AMP (li2024)' if spec.kind == 'amp-li2024' else spec.kind} mean")
        panel_label(ax, "a")
        if conv is not None:
            ax2 = axes[0, 1]
            mesh2 = ax2.pcolormesh(Ps, Ns, conv, cmap="Greys_r", vmin=0, vmax=1,
                                   shading="nearest", rasterized=True)
            fig.colorbar(mesh2, ax=ax2, pad=0.02).set_label("fraction of repeats converged")
            ax2.set_xlabel(r"number of prompts $P$")
            ax2.set_ylabel(r"context length $N$")
            ax2.set_title("AMP convergence (error < 1e-6 in 100 it.)")
            panel_label(ax2, "b")
        fig.suptitle(rf"Fig. 4(a): $D={D}$, $\lambda_0=1$, $\beta=100$, damping 0.9, "
                     rf"{spec.repeats} repeats; dashed: $P=D(D+1)$", fontsize=8.5)
        return fig if path is None else save_figure(fig, path)


@register_figure("fig4a", "Li et al. Fig. 4(a): AMP contrast ratio over (P, N), D = 20")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, executor="process",
         workers=None, **options):
    from ..sweep import run_sweep

    seed = rng if isinstance(rng, int) else 0
    spec = fig4a_spec(quick=quick, seed=seed, **options)
    out_dir = Path(out_dir)
    result = run_sweep(spec, out_dir / f"{spec.name}-sweep", executor=executor, workers=workers,
                       progress=progress)
    png = plot_fig4a(result, out_dir / f"{spec.name}.png")
    return [*sweep_outputs_beside(result, out_dir), png]


def sweep_outputs_beside(result, out_dir) -> list:
    """Copy a sweep's aggregate NAME.npz and NAME.json into ``out_dir``, beside its figure.

    The sweep itself runs in a subfolder (its units/ must not mix with another sweep's), but the
    outputs a user opens live where every other job puts them: ``out_dir/NAME.{npz,json,png}``.
    """
    from .._io import atomic_write_bytes

    copies = []
    for key in ("npz", "json"):
        source = Path(result.files[key])
        copies.append(atomic_write_bytes(Path(out_dir) / source.name,
                                         lambda fh, s=source: fh.write(s.read_bytes())))
    return copies
