"""The main job: an exact-measure phase diagram over context length and task diversity.

For each cell (N, P) and repeat, draw P single-instance prompts (one fresh task per prompt) at
dimension D, build the spin glass, and read off the exact Boltzmann measure N(A⁻¹h, (βA)⁻¹):
the contrast ratio cos∠(m, I) and the fresh-task (ICL) error of the mean m, the thermal Gibbs
error ⟨e⟩_β and the identity overlap. No sampling noise enters beyond the disorder: the errors are
exact population averages over test prompts (:func:`spinicl.observables.population_test_error`).
"""
from __future__ import annotations

import numpy as np

from .._grid import GridResult
from .._progress import progress_bar
from .._validation import (as_seed_sequence, check_finite_array, check_int, check_real,
                           child_seed)
from ..hamiltonian import SpinGlass
from ..observables import (contrast_ratio, gibbs_test_error, identity_overlap,
                           interpolation_threshold, population_error, population_gain,
                           population_test_error)
from ..prompts import sample_prompts

__all__ = ["PhaseDiagram", "exact_phase_diagram", "measure_observables", "DEFAULT_CONTEXT_RATIOS",
           "DEFAULT_PROMPT_RATIOS"]

DEFAULT_CONTEXT_RATIOS = tuple(np.round(np.linspace(0.5, 6.0, 12), 3))
DEFAULT_PROMPT_RATIOS = tuple(np.round(np.linspace(0.125, 3.0, 24), 4))

OBSERVABLES = ("contrast_ratio", "icl_error", "gibbs_error", "identity_overlap")


class PhaseDiagram(GridResult):
    """Observables on the (N, P) grid: a :class:`~spinicl.GridResult` with the phase physics.

    Dims ``("context_length", "n_prompts", "repeat")``; each observable has shape
    (n_context, n_prompts, repeats). ``mean``, ``stderr``, ``sel``, ``save``/``load`` and
    ``to_xarray`` are the grid result's; this class adds the dimension ``dim`` = D and the
    phase-diagram quantities (ratios, the interpolation threshold, the P → ∞ error). Draw it with
    :func:`spinicl.figures.plot_phase_diagram` (figures sit a layer above the experiments, so the
    result does not plot itself).

    Parameters
    ----------
    dim : int
        D.
    context_lengths, prompt_counts : array_like
        The grid's N and P values.
    data : dict[str, ndarray]
        Observables of shape (n_context, n_prompts, repeats).
    parameters : dict, optional
        The run's settings.
    """

    def __init__(self, dim: int, context_lengths, prompt_counts, data: dict, *,
                 parameters: dict | None = None):
        data = dict(data)
        repeats = np.shape(next(iter(data.values())))[-1] if data else 1
        coords = {"context_length": np.asarray(context_lengths),
                  "n_prompts": np.asarray(prompt_counts), "repeat": np.arange(repeats)}
        super().__init__("phase-diagram", coords, data, parameters)
        self.dim = check_int("dim", dim, minimum=1)

    @property
    def context_lengths(self) -> np.ndarray:
        """The N values (the ``context_length`` coordinate)."""
        return self.coords["context_length"]

    @property
    def prompt_counts(self) -> np.ndarray:
        """The P values (the ``n_prompts`` coordinate)."""
        return self.coords["n_prompts"]

    @property
    def context_ratios(self) -> np.ndarray:
        """N/D."""
        return self.context_lengths / self.dim

    @property
    def prompt_ratios(self) -> np.ndarray:
        """P/D² (τ in Lu et al.)."""
        return self.prompt_counts / self.dim**2

    @property
    def threshold_ratio(self) -> float:
        """P_c/D² = (D+1)/D, the interpolation threshold."""
        return interpolation_threshold(self.dim) / self.dim**2

    def population_error(self) -> np.ndarray:
        """e(g) of the P → ∞ ground state for each N (the large-P limit of ``icl_error``)."""
        g = population_gain(self.dim, self.context_lengths, l2=self.parameters.get("l2", 0.0))
        return population_error(g, self.dim, self.context_lengths)

    def save(self, out_dir, stem: str = "phase_diagram") -> dict:
        """Write ``stem.npz`` and ``stem.json`` (see :meth:`spinicl.GridResult.save`)."""
        return super().save(out_dir, stem)

    def _extra_arrays(self) -> dict:
        # the ratios beside the coordinates, for readers of the npz without the package
        return {"context_lengths": self.context_lengths, "prompt_counts": self.prompt_counts,
                "context_ratios": self.context_ratios, "prompt_ratios": self.prompt_ratios}

    @classmethod
    def _from_saved(cls, *, coords, data, var_dims, extra_coords, record) -> "PhaseDiagram":
        params = record["parameters"]
        return cls(int(params["dim"]), coords["context_length"], coords["n_prompts"], data,
                   parameters=params)


def measure_observables(measure, context_length: int) -> dict:
    """The phase diagram's observables of one exact measure (shared with the sweep cells)."""
    W = measure.mean_weights
    normalization = measure.model.normalization or "model"
    return {
        "contrast_ratio": contrast_ratio(W),
        "icl_error": population_test_error(W, context_length, normalization=normalization),
        "gibbs_error": gibbs_test_error(measure, context_length=context_length),
        "identity_overlap": identity_overlap(W),
    }


def _ratios_to_counts(name, ratios, scale, minimum=1) -> np.ndarray:
    ratios = check_finite_array(name, ratios, ndim=1)
    if ratios.size == 0:
        raise ValueError(f"{name} must hold at least one value")
    if np.any(ratios <= 0):
        raise ValueError(f"{name} must be > 0, got min {ratios.min()}")
    counts = np.maximum(np.rint(ratios * scale).astype(int), minimum)
    return np.unique(counts)


def exact_phase_diagram(dim: int = 8, *, context_ratios=DEFAULT_CONTEXT_RATIOS,
                        prompt_ratios=DEFAULT_PROMPT_RATIOS, l2: float = 1e-3,
                        beta: float = 100.0, repeats: int = 3, rng=0,
                        normalization: str = "model", progress: bool = True) -> PhaseDiagram:
    """Exact-measure contrast ratio and ICL error over an (N/D, P/D²) grid.

    Parameters
    ----------
    dim : int
        D (>= 1); the spin count is (D+1)².
    context_ratios : sequence of float
        N/D values (> 0); N = round(ratio·D), at least 1, duplicates dropped.
    prompt_ratios : sequence of float
        P/D² values (> 0); P = round(ratio·D²), at least 1, duplicates dropped.
    l2 : float
        λ0 >= 0. At λ0 = 0 the measure below P = D(D+1) is taken on the range of A
        (``pseudo_inverse=True``: the minimum-norm mean).
    beta : float
        β > 0, for the thermal (Gibbs) error; the mean does not depend on β.
    repeats : int
        Independent disorder draws per cell (>= 1).
    rng : int, SeedSequence or Generator
        Master seed; cell (i, j, r) uses child ``(i·n_P + j)·repeats + r`` of its SeedSequence,
        so each cell is reproducible on its own.
    """
    dim = check_int("dim", dim, minimum=1)
    l2 = check_real("l2", l2, minimum=0.0)
    beta = check_real("beta", beta, minimum=0.0, strict_min=True)
    repeats = check_int("repeats", repeats, minimum=1)
    Ns = _ratios_to_counts("context_ratios", context_ratios, dim)
    Ps = _ratios_to_counts("prompt_ratios", prompt_ratios, dim**2)
    root = as_seed_sequence(rng)
    shape = (Ns.size, Ps.size, repeats)
    data = {k: np.empty(shape) for k in OBSERVABLES}
    with progress_bar(total=int(np.prod(shape)), desc="phase diagram", enabled=progress) as bar:
        for i, N in enumerate(Ns):
            for j, P in enumerate(Ps):
                for r in range(repeats):
                    index = (i * Ps.size + j) * repeats + r
                    prompts = sample_prompts(dim, int(N), int(P), rng=child_seed(root, index))
                    model = SpinGlass.from_prompts(prompts, l2=l2, normalization=normalization)
                    measure = model.boltzmann(beta, pseudo_inverse=(l2 == 0))
                    for name, value in measure_observables(measure, int(N)).items():
                        data[name][i, j, r] = value
                    bar.update(1)
    parameters = dict(dim=dim, context_lengths=Ns, prompt_counts=Ps, l2=l2, beta=beta,
                      repeats=repeats, normalization=normalization,
                      seed_entropy=str(root.entropy), seed_spawn_key=list(root.spawn_key))
    return PhaseDiagram(dim=dim, context_lengths=Ns.astype(float), prompt_counts=Ps.astype(float),
                        data=data, parameters=parameters)
