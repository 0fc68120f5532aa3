"""Fig. S4 of Li, Bai & Huang (arXiv:2408.02288): correlated tokens.

The tokens of every prompt (query included) are correlated with strength c, and the Fig. 4(b)
protocol is repeated at N = 200 for c ∈ linspace(0.05, 0.95, 19): D = 20, P_train = 10⁴,
P_test = 10³ fresh-task prompts with the same correlation, 20 repeats; the merged
linear-attention transformer trained by full-batch Adam (lr 1e-3, 5000 steps, weight decay 0.01)
beside the authors' AMP (``solve_tap(variant="li2024")``, β = 100, λ0 = 0.01, at most 200
iterations, NaN when the final error exceeds 5e-6) and the exact minimiser A⁻¹h
(:func:`spinicl.experiments.correlated_tokens.correlated_tokens_sweep`).

(a) Test error against c; (b) the same divided by the test set's mean squared target (the error
of W = 0); (c) the variance of each token position under the construction used.

The default construction copies the authors' code, X ← X L with L the Cholesky factor of the
equicorrelation matrix R; its token covariance is LᵀL, **not** R (notes §7, quirk 7): the first
token has variance 1 + N c², the query ≈ 1 − c, and the correlations are not c. Panel (c) shows
it and the caption says so. ``correlation_construction="equicorrelated"`` runs the experiment
with covariance exactly R.
"""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np

from .. import register_figure
from .._style import panel_label, plt, save_figure, style
from ..._io import run_record, save_json_atomic, save_npz_atomic
from ...prompts import token_covariance
from .._common import add_caption

__all__ = ["make", "plot_correlated_tokens", "summary_numbers", "QUICK_OPTIONS"]

#: The --quick version: D = 5, N = 20, P = 1000, 5 values of c, 2 repeats, 400 Adam steps.
QUICK_OPTIONS = dict(dim=5, correlations=np.linspace(0.05, 0.95, 5), context_length=20,
                     n_prompts=1000, steps=400, lr=1e-2, n_test=500, repeats=2)


def _nanmean(x, axis=-1):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN AMP columns
        return np.nanmean(x, axis=axis)


def summary_numbers(result) -> dict:
    """Per-c means and the shape of the curve (peak position, rise and fall beyond noise)."""
    cs = np.asarray(result.coords["token_correlation"])
    sgd = result["sgd_test_error"]
    mean, std = sgd.mean(axis=1), result.std("sgd_test_error")
    se = result.stderr("sgd_test_error")
    peak = int(np.argmax(mean))
    numbers = {
        "token_correlation": cs,
        "sgd_mean": mean, "sgd_std": std,
        "exact_mean": result["exact_test_error"].mean(axis=1),
        "null_mean": result["null_test_error"].mean(axis=1),
        "sgd_relative_to_null": mean / result["null_test_error"].mean(axis=1),
        "sgd_exact_distance_max": float(np.nanmax(result["sgd_exact_distance"])),
        "peak_c": float(cs[peak]),
        # non-monotone: the peak lies inside the grid and both ends sit below it by more than
        # three combined standard errors
        "rises_then_falls": bool(0 < peak < cs.size - 1
                                 and mean[peak] - mean[0] > 3 * np.hypot(se[peak], se[0])
                                 and mean[peak] - mean[-1] > 3 * np.hypot(se[peak], se[-1])),
    }
    if "amp_test_error" in result.data:
        amp = result["amp_test_error"]
        ok = np.isfinite(amp)
        numbers.update(
            amp_mean=_nanmean(amp), amp_converged=ok.sum(axis=1),
            amp_converged_fraction=float(ok.mean()),
            exact_amp_l2_mean=result["exact_amp_l2_test_error"].mean(axis=1),
            amp_bias_mean=_nanmean(result["amp_exact_distance"]))
        if ok.any():
            diff = np.abs(amp - sgd)[ok]
            numbers.update(amp_sgd_max_abs_difference=float(diff.max()),
                           amp_sgd_max_relative_difference=float((diff / sgd[ok]).max()),
                           amp_sgd_mean_relative_difference=float((diff / sgd[ok]).mean()))
    return numbers


def plot_correlated_tokens(result, path=None, *, caption: str | None = None, shown=None):
    """Draw the three panels; returns the figure, or the written path when ``path`` is given."""
    p = result.parameters
    cs = np.asarray(result.coords["token_correlation"])
    N, D = p["context_length"], p["dim"]
    construction = p["correlation_construction"]
    null = result["null_test_error"].mean(axis=1)
    has_amp = "amp_test_error" in result.data and np.isfinite(result["amp_test_error"]).any()
    with style():
        fig, axes = plt.subplots(1, 3, figsize=(10.2, 3.2), layout="constrained")
        ax = axes[0]
        ax.errorbar(cs, result.mean("sgd_test_error"), yerr=result.std("sgd_test_error"),
                    color="C0", marker="o", ms=3.5, capsize=2, lw=1.2,
                    label=f"trained {p['model']} (Adam), mean ± std")
        if has_amp:
            ok = np.isfinite(result["amp_test_error"]).sum(axis=1)
            ax.plot(cs, _nanmean(result["amp_test_error"]), color="C1", marker="x", ls="",
                    ms=6, label=rf"li2024 AMP, $\lambda_0={p['amp_l2']:g}$ "
                                rf"({int(ok.sum())}/{ok.size * result['amp_test_error'].shape[1]}"
                                " runs kept)")
        ax.plot(cs, result["exact_test_error"].mean(axis=1), color="0.2", ls="--", lw=1.0,
                label=r"exact $A^{-1}h$, $\lambda_0=\mathrm{wd}/2$")
        ax.plot(cs, null, color="0.55", ls=":", lw=1.2,
                label=r"$W=0$: mean squared target")
        ax.set_xlabel("token correlation parameter $c$")
        ax.set_ylabel("test error on fresh tasks")
        ax.legend(frameon=False, fontsize=6.3, loc="best")
        ax.set_title(rf"$D={D}$, $N={N}$, $P={p['n_prompts']}$, {p['repeats']} repeats",
                     fontsize=8)
        panel_label(ax, "a")

        ax = axes[1]
        rel = result["sgd_test_error"] / result["null_test_error"]
        ax.errorbar(cs, rel.mean(axis=1), yerr=rel.std(axis=1, ddof=1) if rel.shape[1] > 1
                    else None, color="C0", marker="o", ms=3.5, capsize=2, lw=1.2,
                    label="trained")
        if has_amp:
            ax.plot(cs, _nanmean(result["amp_test_error"] / result["null_test_error"]),
                    color="C1", marker="x", ls="", ms=6, label="li2024 AMP")
        ax.axhline(1.0, color="0.55", ls=":", lw=1.0)
        ax.set_xlabel("token correlation parameter $c$")
        ax.set_ylabel(r"test error / $\langle y^2\rangle_{\rm test}$")
        ax.set_title("error relative to predicting 0", fontsize=8)
        ax.legend(frameon=False, fontsize=6.5)
        panel_label(ax, "b")

        ax = axes[2]
        shown = _shown_correlations(cs) if shown is None else shown
        colours = plt.cm.viridis(np.linspace(0.05, 0.85, len(shown)))
        low, high = 1.0, 1.0
        for c, colour in zip(shown, colours):
            var = np.diag(token_covariance(N + 1, c, correlation_construction=construction))
            low, high = min(low, var.min()), max(high, var.max())
            ax.plot(np.arange(1, N + 2), var, color=colour, lw=1.1, label=rf"$c={c:.2f}$")
        ax.axhline(1.0, color="0.4", ls="--", lw=0.8)
        ax.set_yscale("log")
        # equicorrelated variances are 1 up to rounding: keep the axis from zooming into it
        ax.set_ylim(min(0.5, 0.7 * low), max(2.0, 1.4 * high))
        ax.set_xlabel(r"token position $j$ (query $= N+1$)")
        ax.set_ylabel(r"Var$(x_{d,j})$")
        ax.set_title(f"token variances, {construction!r} construction", fontsize=8)
        ax.legend(frameon=False, fontsize=6.5)
        panel_label(ax, "c")
        if caption:
            add_caption(fig, caption)
        return fig if path is None else save_figure(fig, path)


def _shown_correlations(cs):
    cs = np.asarray(cs, dtype=float)
    return sorted({float(cs[0]), float(cs[cs.size // 2]), float(cs[-1])})


def _caption(result, numbers) -> str:
    p = result.parameters
    cs = np.asarray(result.coords["token_correlation"])
    N = p["context_length"]
    grid = (f"c = linspace({cs[0]:g}, {cs[-1]:g}, {cs.size})" if cs.size > 2
            and np.allclose(np.diff(cs), cs[1] - cs[0]) else f"c in {cs.tolist()}")
    amp = ""
    if "amp_converged" in numbers:
        amp = (f" li2024 AMP (beta={p['beta']:g}, lambda0={p['amp_l2']:g}, at most "
               f"{p['amp_max_iter']} iterations, NaN if the final error exceeds "
               f"{p['amp_max_error']:g}: {int(np.sum(numbers['amp_converged']))} of "
               f"{cs.size * p['repeats']} runs kept).")
    if p["correlation_construction"] == "li2024":
        target = "which shrinks with the query variance (about 1 - c)"
        c_mid = float(cs[cs.size // 2])
        var = np.diag(token_covariance(N + 1, c_mid))
        tokens = (f"Tokens correlated with the authors' construction X <- X L (L the Cholesky "
                  f"factor of the equicorrelation matrix R, 1 on the diagonal, c off it). Quirk 7 "
                  f"of our notes: its token covariance is L^T L, not R, so c is NOT the tokens' "
                  f"correlation; at c={c_mid:.2f} the token variances run from {var[0]:.3g} (first"
                  f" token, 1 + N c^2) to {var[-1]:.3g} (the query, about 1 - c), panel (c).")
    else:
        target = "which stays about 1 here (every token has variance 1)"
        tokens = ("Tokens exactly equicorrelated, X <- X L^T (covariance R: variance 1, "
                  "correlation c). The authors' figure used X <- X L instead, whose covariance "
                  "L^T L is not R (quirk 7 of our notes), so this is a new experiment.")
    shape = ("rises, peaks at c = {:.2f} and falls".format(numbers["peak_c"])
             if numbers["rises_then_falls"] else
             "is not resolved as rise-then-fall beyond 3 standard errors "
             f"(largest mean at c = {numbers['peak_c']:.2f})")
    return (f"Li et al. Fig. S4 regenerated: correlated tokens. D={p['dim']}, N={N}, "
            f"P_train={p['n_prompts']}, P_test={p['n_test']} fresh-task prompts with the same "
            f"c, {grid}, {p['repeats']} repeats (paper: D=20, N=200, 10^4/10^3, 19 values, 20 "
            f"repeats). Merged linear attention, full-batch Adam lr {p['lr']:g}, {p['steps']} "
            f"steps, weight decay {p['weight_decay']:g}; exact A^-1 h at lambda0 = wd/2.{amp} "
            f"{tokens} The trained model's test error {shape}; (b) divides by the test set's "
            f"mean squared target, {target}.")


@register_figure("figS4", "Li et al. Fig. S4: correlated tokens, test error vs c for the trained "
                          "transformer, li2024 AMP and the exact minimiser")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Fig. S4 (D=20, N=200, P=10⁴, 19 values of c, 20 repeats); ``quick``: :data:`QUICK_OPTIONS`.

    Options are passed to :func:`spinicl.experiments.correlated_tokens.correlated_tokens_sweep`
    (``dim``, ``correlations``, ``context_length``, ``n_prompts``,
    ``correlation_construction``, ``repeats``, ``steps``, ``lr``, ``n_test``, ...), plus
    ``checkpoint`` (the sweep's folder, or None; full runs default to ``out_dir/.figS4-sweep``,
    resumed when present and removed when the figure is written).
    """
    from ...experiments.correlated_tokens import correlated_tokens_sweep

    out_dir = Path(out_dir)
    if quick:
        options = {**QUICK_OPTIONS, **options}
    default_checkpoint = None if quick else out_dir / ".figS4-sweep"
    checkpoint = options.pop("checkpoint", default_checkpoint)
    result = correlated_tokens_sweep(rng=rng, progress=progress, store=checkpoint,
                                     **options)
    numbers = summary_numbers(result)
    caption = _caption(result, numbers)
    cs = np.asarray(result.coords["token_correlation"])
    shown = _shown_correlations(cs)
    N = result.parameters["context_length"]
    construction = result.parameters["correlation_construction"]
    # the grid result's layout (coord_<dim>, variables by name): GridResult.load reads it
    arrays = {f"coord_{k}": np.asarray(v) for k, v in result.coords.items()}
    arrays.update({k: np.asarray(v) for k, v in result.data.items()})
    arrays["shown_correlations"] = np.asarray(shown)
    arrays["token_variance"] = np.array([np.diag(token_covariance(
        N + 1, c, correlation_construction=construction)) for c in shown])
    parameters = {**result.parameters, "quick": bool(quick)}
    npz = save_npz_atomic(out_dir / "figS4.npz", **arrays)
    record = run_record(result.kind, parameters, dims=list(result.coords),
                        observables=sorted(result.data), caption=caption, numbers=numbers,
                        files={"npz": npz.name, "png": "figS4.png"})
    js = save_json_atomic(out_dir / "figS4.json", record)
    png = plot_correlated_tokens(result, out_dir / "figS4.png", caption=caption, shown=shown)
    if checkpoint is not None and Path(checkpoint).is_dir():
        shutil.rmtree(checkpoint)
    return [npz, js, png]
