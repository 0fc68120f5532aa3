"""Correlated tokens: the paper's Fig. S4 (test error against the token correlation c).

:func:`correlated_tokens_sweep` repeats the Fig. 4(b) protocol at fixed N while the N+1 tokens
of every prompt (query included) are correlated with strength c
(``sample_prompts(token_correlation=c)``): the merged linear-attention transformer trained by
full-batch Adam (lr 1e-3, 5000 steps, coupled weight decay 0.01) beside the authors' AMP
(``solve_tap(variant="li2024")``, β = 100, λ0 = 0.01, at most 200 iterations, recorded as NaN
when its final error exceeds 5e-6, as in their script) and the exact minimiser A⁻¹h. Test
prompts carry fresh tasks and the same correlation.

By default the tokens are correlated as in the authors' code, X ← X L with L the Cholesky factor
of the equicorrelation matrix R. That construction does **not** give correlation c (notes §7,
quirk 7): the token covariance is LᵀL, the first token's variance is 1 + N c² and the query's
≈ 1 − c, so the target's variance falls as c grows. ``correlation_construction="equicorrelated"``
(X ← X Lᵀ, covariance exactly R) is the experiment the figure's axis label suggests.

Each (c, repeat) is one unit of the sweep cell ``"train-correlated-tokens"``: resumable through
``store`` and the same bits on the serial, process and dask executors.
"""
from __future__ import annotations

import numpy as np

from .._validation import (as_seed_sequence, check_choice, check_finite_array, check_int,
                           check_real)
from ..prompts import CORRELATION_CONSTRUCTIONS
from ..training import make_model
from ._runs import (ExperimentResult, check_training_options, resolve_store, run_training_grid,
                    seed_record)

__all__ = ["correlated_tokens_sweep", "FIGS4_CORRELATIONS", "CORRELATED_TOKENS_CELL"]

#: The sweep cell kind of one (c, repeat) unit
#: (:func:`spinicl.experiments.training_cells.correlated_tokens_cell`).
CORRELATED_TOKENS_CELL = "train-correlated-tokens"

#: The paper's grid of c (Fig. S4): linspace(0.05, 0.95, 19).
FIGS4_CORRELATIONS = np.linspace(0.05, 0.95, 19)


def _li2024_amp(glass, beta, max_iter, rng):
    try:
        from ..solvers import solve_tap
    except ImportError:
        return None
    return solve_tap(glass, beta, variant="li2024", max_iter=max_iter, rng=rng)


def _relative_distance(W, ref) -> float:
    """‖W − ref‖_F / ‖ref‖_F over the live spins (the dead last column excluded)."""
    diff = (W - ref)[:, :-1]
    return float(np.linalg.norm(diff) / max(np.linalg.norm(ref[:, :-1]), 1e-300))


def correlated_tokens_sweep(dim: int = 20, *, correlations=FIGS4_CORRELATIONS,
                            context_length: int = 200, n_prompts: int = 10_000,
                            correlation_construction: str = "li2024", model: str = "merged",
                            lr: float = 1e-3, steps: int = 5000, weight_decay: float = 0.01,
                            n_test: int = 1000, repeats: int = 20, amp_l2: float = 0.01,
                            beta: float = 100.0, amp_max_iter: int = 200,
                            amp_max_error: float = 5e-6, solver: bool = True, rng=0,
                            progress: bool = True, store=None, executor: str = "serial",
                            workers=None, checkpoint=None) -> ExperimentResult:
    """Test error on fresh tasks against the token correlation c (Fig. S4; resumable).

    Parameters
    ----------
    dim : int
        D (paper: 20).
    correlations : sequence of float in [0, 1)
        The values of c (paper: linspace(0.05, 0.95, 19)).
    context_length : int
        N (paper: 200).
    n_prompts : int
        P_train, one fresh task per prompt (paper: 10⁴).
    correlation_construction : {"li2024", "equicorrelated"}
        "li2024" (default, the authors' X L: token covariance LᵀL) or "equicorrelated" (X Lᵀ:
        token covariance exactly the equicorrelation matrix); see :mod:`spinicl.prompts`.
    model : str
        The trained architecture (:func:`spinicl.training.make_model`; paper: "merged").
    lr, steps, weight_decay : float, int, float
        Full-batch Adam with coupled weight decay (paper: 1e-3, 5000, 0.01).
    n_test : int
        P_test, fresh-task test prompts with the same correlation (paper: 10³).
    repeats : int
        Independent repeats per c (paper: 20).
    amp_l2 : float
        λ0 of the li2024 AMP (the authors pass λ0 = wd = 0.01).
    beta : float
        Inverse temperature of AMP and of the exact measure (paper: 100).
    amp_max_iter : int
        AMP iteration budget (paper: 200 in Fig. S4).
    amp_max_error : float
        AMP runs whose final error MSE(m) + MSE(v) exceeds this are recorded as NaN (paper:
        5e-6; the iteration itself stops below 1e-6).
    solver : bool
        Run the AMP (False skips it, e.g. when :mod:`spinicl.solvers` is unavailable).
    rng : None, int, SeedSequence or Generator
        Master seed; unit u of the sweep draws from its child u alone.
    progress : bool
        Show a progress bar.
    store : path, optional
        Folder of the sweep's unit files; a rerun with the same folder computes only the missing
        units (bitwise identical to an uninterrupted run). None: a temporary folder.
    executor : {"serial", "process", "dask"}
        Where the units run (the same bits on each).
    workers : int, optional
        Worker processes of "process"/"dask" (default: the CPU count).
    checkpoint : path, optional
        Deprecated alias of ``store`` (DeprecationWarning).

    Returns
    -------
    ExperimentResult
        Grid (token_correlation, repeat); observables ``sgd_test_error`` (the trained model),
        ``sgd_contrast_ratio``, ``train_loss``, ``sgd_exact_distance`` (‖W − A⁻¹h‖/‖A⁻¹h‖ on
        the live spins at λ0 = wd/2, where coupled-decay Adam converges),
        ``exact_test_error`` (A⁻¹h at λ0 = wd/2), ``amp_test_error`` (li2024 AMP at λ0 =
        ``amp_l2``; NaN when its final error exceeds ``amp_max_error``), ``amp_converged``
        (1 when it does not), ``amp_error`` (final error), ``amp_n_iter``,
        ``exact_amp_l2_test_error`` (A⁻¹h at λ0 = ``amp_l2``, the AMP's exact counterpart),
        ``amp_exact_distance`` (‖m − A⁻¹h‖/‖A⁻¹h‖ at λ0 = ``amp_l2``: the li2024 bias) and
        ``null_test_error`` (mean squared target of the test set, the error of W = 0).
    """
    dim = check_int("dim", dim, minimum=1)
    cs = check_finite_array("correlations", correlations, ndim=1)
    if cs.size == 0 or np.any(cs < 0) or np.any(cs >= 1):
        raise ValueError(f"correlations must lie in [0, 1), got {cs.tolist()}")
    context_length = check_int("context_length", context_length, minimum=1)
    n_prompts = check_int("n_prompts", n_prompts, minimum=1)
    check_choice("correlation_construction", correlation_construction, CORRELATION_CONSTRUCTIONS)
    make_model(model, 1)
    lr, steps, weight_decay, n_test, repeats = check_training_options(
        lr=lr, steps=steps, weight_decay=weight_decay, n_test=n_test, repeats=repeats)
    amp_l2 = check_real("amp_l2", amp_l2, minimum=0.0, strict_min=True)
    beta = check_real("beta", beta, minimum=0.0, strict_min=True)
    amp_max_iter = check_int("amp_max_iter", amp_max_iter, minimum=1)
    amp_max_error = check_real("amp_max_error", amp_max_error, minimum=0.0)
    store = resolve_store(store=store, checkpoint=checkpoint, rng=rng)
    root = as_seed_sequence(rng)
    parameters = dict(dim=dim, correlations=cs.tolist(), context_length=context_length,
                      n_prompts=n_prompts, correlation_construction=correlation_construction,
                      model=model, lr=lr, steps=steps, weight_decay=weight_decay, n_test=n_test,
                      repeats=repeats, amp_l2=amp_l2, beta=beta, amp_max_iter=amp_max_iter,
                      amp_max_error=amp_max_error, solver=bool(solver), optimizer="adam",
                      **seed_record(root))
    cell = dict(dim=dim, context_length=context_length, n_prompts=n_prompts,
                correlation_construction=correlation_construction, model=model, lr=lr,
                steps=steps, weight_decay=weight_decay, n_test=n_test, amp_l2=amp_l2, beta=beta,
                amp_max_iter=amp_max_iter, amp_max_error=amp_max_error, solver=bool(solver))
    sweep = run_training_grid(CORRELATED_TOKENS_CELL, name="correlated-tokens",
                              axes={"token_correlation": cs}, parameters=cell, repeats=repeats,
                              root=root, store=store, executor=executor, workers=workers,
                              progress=progress)
    return ExperimentResult("correlated_tokens",
                            {"token_correlation": cs, "repeat": np.arange(repeats)}, sweep.data,
                            parameters)
