"""Training dynamics against the spin-glass solution: the paper's Fig. 2 and Fig. 4(b).

* :func:`training_dynamics` (Fig. 2): merged linear attention, D = 10, N = 100, full-batch Adam
  lr 0.01 for 300 steps, no weight decay, at P = 10 (no ICL: the loss plateaus high and W stays
  unstructured) and P = 1000 (W → identity-like, test loss → the ICL level); plus the AMP
  marginals (m, v) at P = 5000, λ0 = 0.01, β = 100 (panels d, e) next to the exact ones.
* :func:`context_length_sweep` (Fig. 4b): test error against N at P = 10⁴, D = 20, Adam lr 1e-3
  for 5000 steps with weight decay 0.01, beside the li2024 AMP at λ0 = 0.01 (the authors'
  choice λ0 = wd), the exact minimiser at λ0 = wd/2 (where coupled-decay training converges,
  see :func:`spinicl.training.equivalent_l2`) and the population error e(g) of §3.

The reference values of Fig. 4(b) (read from the authors' saved results; our notes §5) are in
:data:`FIG4B_REFERENCE`. Both grids run as sweeps of pure cells (``"train-dynamics"``,
``"train-context-length"``; :mod:`spinicl.experiments.training_cells`): resumable through
``store`` and the same bits on the serial, process and dask executors.
"""
from __future__ import annotations

import numpy as np

from .._validation import as_seed_sequence, check_finite_array, check_int, check_real
from ..hamiltonian import SpinGlass
from ..observables import population_error, population_gain
from ..prompts import sample_prompts
from ..training import make_model
from ._runs import (ExperimentResult, cell_generator, check_training_options, resolve_store,
                    run_training_grid, seed_record)

__all__ = ["training_dynamics", "context_length_sweep", "FIG4B_REFERENCE", "DYNAMICS_CELL",
           "CONTEXT_LENGTH_CELL"]

#: The sweep cell kinds of :func:`training_dynamics` (one unit: the nested P axis) and of one
#: (N, repeat) unit of :func:`context_length_sweep` (:mod:`spinicl.experiments.training_cells`).
DYNAMICS_CELL = "train-dynamics"
CONTEXT_LENGTH_CELL = "train-context-length"

#: Fig. 4(b) of Li, Bai & Huang (D = 20, P = 10⁴): N, AMP and SGD test errors (our notes §5);
#: the SGD error bars there are std ≈ 0.005–0.027.
FIG4B_REFERENCE = {
    "context_length": np.array([20, 40, 60, 80, 100, 120, 140, 160, 180, 200]),
    "amp": np.array([.534, .362, .277, .224, .192, .166, .148, .135, .124, .113]),
    "sgd": np.array([.536, .358, .275, .220, .189, .161, .142, .129, .116, .106]),
}


def _amp(glass, beta, rng):
    try:
        from ..solvers import solve_tap
    except ImportError:
        return None
    return solve_tap(glass, beta, variant="li2024", rng=rng)


def training_dynamics(dim: int = 10, context_length: int = 100, *, prompt_counts=(10, 1000),
                      model: str = "merged", lr: float = 0.01, steps: int = 300,
                      weight_decay: float = 0.0, n_test: int = 200, amp_prompts: int = 5000,
                      amp_l2: float = 0.01, beta: float = 100.0, rng=482,
                      progress: bool = True, store=None, executor: str = "serial",
                      workers=None) -> ExperimentResult:
    """Loss curves and trained W at small and large task diversity (Fig. 2).

    The training runs are one unit of the sweep cell ``"train-dynamics"`` (its nested axis is P,
    so every P is tested on the same test prompts); ``store``, ``executor`` and ``workers`` are
    those of :func:`~spinicl.experiments.emergence.task_diversity_emergence`. The AMP/exact
    marginals are computed here from children 4 and 5 of the master seed.

    Returns
    -------
    ExperimentResult
        Grid (n_prompts,); observables ``test_loss`` and ``train_loss`` (shape (P, steps+1),
        evaluated at every step), ``contrast_ratio`` (P, steps+1), ``weights`` (P, D+1, D+1),
        ``initial_weights`` and, as extra grid-free arrays stored with a leading axis of length
        1 per P, the AMP/exact marginals ``amp_mean``, ``amp_variance``, ``exact_mean``,
        ``exact_variance`` ((D+1, D+1) each, at ``amp_prompts`` prompts, λ0 = ``amp_l2``).
    """
    dim = check_int("dim", dim, minimum=1)
    context_length = check_int("context_length", context_length, minimum=1)
    counts = np.asarray([check_int("prompt_counts", p, minimum=1) for p in prompt_counts])
    steps = check_int("steps", steps, minimum=1)
    lr = check_real("lr", lr, minimum=0.0, strict_min=True)
    n_test = check_int("n_test", n_test, minimum=1)
    amp_prompts = check_int("amp_prompts", amp_prompts, minimum=1)
    amp_l2 = check_real("amp_l2", amp_l2, minimum=0.0, strict_min=True)
    make_model(model, 1)
    weight_decay = check_real("weight_decay", weight_decay, minimum=0.0)
    store = resolve_store(store=store, checkpoint=None, rng=rng)
    root = as_seed_sequence(rng)
    sweep = run_training_grid(DYNAMICS_CELL, name="dynamics", axes={"n_prompts": counts},
                              parameters=dict(dim=dim, context_length=context_length,
                                              model=model, lr=lr, steps=steps,
                                              weight_decay=weight_decay, n_test=n_test),
                              repeats=1, root=root, store=store, executor=executor,
                              workers=workers, progress=progress)
    data = {name: value[:, 0] for name, value in sweep.data.items()}
    big = sample_prompts(dim, context_length, amp_prompts, rng=cell_generator(root, 4))
    glass = SpinGlass.from_prompts(big, l2=amp_l2)
    measure = glass.boltzmann(beta)
    amp = _amp(glass, beta, cell_generator(root, 5))
    shape = (dim + 1, dim + 1)
    extra = {"exact_mean": measure.mean.reshape(shape),
             "exact_variance": measure.variance.reshape(shape)}
    if amp is not None:
        extra["amp_mean"] = amp.mean.reshape(shape)
        extra["amp_variance"] = amp.variance.reshape(shape)
        extra["amp_converged"] = np.array(float(amp.converged))
    for key, value in extra.items():
        data[key] = np.broadcast_to(value, (counts.size,) + np.shape(value)).copy()
    data["ideal_test_loss"] = np.full(counts.size, population_error(
        population_gain(dim, context_length), dim, context_length))
    parameters = dict(dim=dim, context_length=context_length, prompt_counts=counts.tolist(),
                      model=model, lr=lr, steps=steps, weight_decay=weight_decay,
                      n_test=n_test, amp_prompts=amp_prompts, amp_l2=amp_l2, beta=beta,
                      optimizer="adam", **seed_record(root))
    return ExperimentResult("dynamics", {"n_prompts": counts}, data, parameters)


def context_length_sweep(dim: int = 20, *, context_lengths=tuple(range(20, 201, 20)),
                         n_prompts: int = 10_000, model: str = "merged", lr: float = 1e-3,
                         steps: int = 5000, weight_decay: float = 0.01, n_test: int = 1000,
                         repeats: int = 3, amp_l2: float = 0.01, beta: float = 100.0,
                         solver: bool = True, rng=0, progress: bool = True, store=None,
                         executor: str = "serial", workers=None,
                         checkpoint=None) -> ExperimentResult:
    """Test error of the trained transformer against N beside the spin-glass solutions (Fig. 4b).

    One unit of the sweep cell ``"train-context-length"`` per (N, repeat); ``store`` (the folder
    of the units: a rerun computes only the missing ones), ``executor``, ``workers`` and the
    deprecated ``checkpoint`` (an alias of ``store``) are those of
    :func:`~spinicl.experiments.emergence.task_diversity_emergence`.

    Returns
    -------
    ExperimentResult
        Grid (context_length, repeat); observables ``sgd_test_error`` (the trained model),
        ``sgd_contrast_ratio``, ``amp_test_error`` (li2024 AMP at λ0 = ``amp_l2``, NaN if not
        converged), ``exact_test_error`` (A⁻¹h at λ0 = wd/2), ``exact_population_error`` (the
        same W's exact fresh-task error, no test-set noise), ``population_error`` (e(g) with
        λ0 = wd/2), ``train_loss``.
    """
    dim = check_int("dim", dim, minimum=1)
    Ns = check_finite_array("context_lengths", context_lengths, ndim=1)
    if Ns.size == 0 or np.any(Ns < 1) or np.any(Ns != np.round(Ns)):
        raise ValueError("context_lengths must be positive integers")
    Ns = Ns.astype(np.int64)
    n_prompts = check_int("n_prompts", n_prompts, minimum=1)
    make_model(model, 1)
    lr, steps, weight_decay, n_test, repeats = check_training_options(
        lr=lr, steps=steps, weight_decay=weight_decay, n_test=n_test, repeats=repeats)
    amp_l2 = check_real("amp_l2", amp_l2, minimum=0.0, strict_min=True)
    beta = check_real("beta", beta, minimum=0.0, strict_min=True)
    store = resolve_store(store=store, checkpoint=checkpoint, rng=rng)
    root = as_seed_sequence(rng)
    parameters = dict(dim=dim, context_lengths=Ns.tolist(), n_prompts=n_prompts, model=model,
                      lr=lr, steps=steps, weight_decay=weight_decay, n_test=n_test,
                      repeats=repeats, amp_l2=amp_l2, beta=beta, solver=bool(solver),
                      optimizer="adam", **seed_record(root))
    cell = dict(dim=dim, n_prompts=n_prompts, model=model, lr=lr, steps=steps,
                weight_decay=weight_decay, n_test=n_test, amp_l2=amp_l2, beta=beta,
                solver=bool(solver))
    sweep = run_training_grid(CONTEXT_LENGTH_CELL, name="context-length",
                              axes={"context_length": Ns}, parameters=cell, repeats=repeats,
                              root=root, store=store, executor=executor, workers=workers,
                              progress=progress)
    return ExperimentResult("context_length_sweep",
                            {"context_length": Ns, "repeat": np.arange(repeats)}, sweep.data,
                            parameters)
