"""Attention layers modified through the dual (representation-learning) reading, trained on ICL.

Ren & Liu (NeurIPS 2024, §7 of our notes) read one softmax layer as contrastive-style learning
without negatives and propose three modifications. Their exact formulas are not available; these
are our reconstructions, one knob each:

``"regularized"`` — a norm penalty (λ/2)‖W‖_F² on the dual model gives W_1 = α W_0 + ΔW with
    α = 1 − ηλ, i.e. the query's self term of the attention is scaled by α (``reg_mode=
    "self_term"``, the attention matrix A − (1 − α) diag(A), not renormalised), or the whole
    output by α (``reg_mode="global"``).
``"augmented"`` — nonlinear views: keys g_K(W_K h) and/or values g_V(W_V h) with small residual
    ReLU MLPs g(u) = u + U_2 relu(U_1 u + b_1) + b_2 trained with the layer (``augment`` =
    "keys", "values" or "both"; ``hidden`` units).
``"negative"`` — each value is repelled from the mean value of its negatives,
    h' = Σ_i a_i (ṽ_i − β v̄_{𝒩_i}); 𝒩 = the ``n_negatives`` context tokens with the lowest
    attention (``selection="lowest"``, the same set for every i, treated as constant in the
    gradient), random context tokens (``"random"``, a deterministic function of the batch), or
    all other context tokens (``"all"``).

``"plain"`` is unmodified softmax attention, identical to
:class:`spinicl.training.SoftmaxAttention`; the softmax, its backward and the augmentation MLPs
are those of :mod:`spinicl.nn`. The layers are
:class:`spinicl.training.AttentionModel` subclasses with analytic gradients, so
:func:`spinicl.training.train` (Adam, online batches, checkpoints) trains them.
:func:`compare_modifications` trains every family under several settings against the plain layer
over seeds (common random numbers: a seed fixes the data, the test set and the shared weights).
"""
from __future__ import annotations

import zlib

import numpy as np

from .. import nn
from .._grid import GridResult
from .._validation import as_seed_sequence, check_choice, check_int, check_real
from ..training.models import AttentionModel

__all__ = ["ModifiedAttention", "VARIANTS", "DEFAULT_SETTINGS", "ModificationStudy",
           "compare_modifications", "glue_table", "GLUE_TASKS"]

VARIANTS = ("plain", "regularized", "augmented", "negative")
REG_MODES = ("self_term", "global")
AUGMENTS = ("keys", "values", "both")
SELECTIONS = ("lowest", "random", "all")

DEFAULT_SETTINGS = {
    "regularized": [{"alpha": 0.0}, {"alpha": 0.5}, {"alpha": 0.9, "reg_mode": "global"}],
    "augmented": [{"augment": "keys", "hidden": 16}, {"augment": "values", "hidden": 16},
                  {"augment": "both", "hidden": 16}],
    "negative": [{"beta": 0.05, "n_negatives": 3}, {"beta": 0.2, "n_negatives": 3},
                 {"beta": 0.1, "selection": "all"}],
}


class ModifiedAttention(AttentionModel):
    """One softmax-attention head on in-context regression with a dual-inspired modification.

    ŷ is the last coordinate of h'_{N+1}; the query attends to all N+1 tokens (itself included).

    Parameters
    ----------
    dim : int
        D (tokens have D+1 rows).
    variant : {"plain", "regularized", "augmented", "negative"}
    head_dim : int, optional
        Rows d_o of W_K and W_Q (default D+1).
    alpha : float
        Regularised: the factor α = 1 − ηλ (>= 0).
    reg_mode : {"self_term", "global"}
    augment : {"keys", "values", "both"}
    hidden : int
        Width of the augmentation MLPs.
    mlp_init : float
        Scale of U_2 at initialisation (0 starts exactly at the plain layer).
    beta : float
        Negative-sample strength β (>= 0).
    n_negatives : int
        |𝒩| for ``"lowest"`` and ``"random"`` selection.
    selection : {"lowest", "random", "all"}
    rng : seed-like
        Initialisation (W_Q, W_K, W_V first, so every variant shares them for a given seed).
    """

    name = "modified_attention"

    def __init__(self, dim: int, *, variant: str = "plain", head_dim: int | None = None,
                 alpha: float = 1.0, reg_mode: str = "self_term", augment: str = "both",
                 hidden: int = 16, mlp_init: float = 0.1, beta: float = 0.1,
                 n_negatives: int = 3, selection: str = "lowest", rng=None):
        super().__init__(dim, rng=rng)
        self.variant = check_choice("variant", variant, VARIANTS)
        n = self.width
        self.head_dim = check_int("head_dim", head_dim if head_dim is not None else n, minimum=1)
        self.alpha = check_real("alpha", alpha, minimum=0.0)
        self.reg_mode = check_choice("reg_mode", reg_mode, REG_MODES)
        self.augment = check_choice("augment", augment, AUGMENTS)
        self.hidden = check_int("hidden", hidden, minimum=1)
        self.mlp_init = check_real("mlp_init", mlp_init, minimum=0.0)
        self.beta = check_real("beta", beta, minimum=0.0)
        self.n_negatives = check_int("n_negatives", n_negatives, minimum=1)
        self.selection = check_choice("selection", selection, SELECTIONS)
        self.params["W_Q"] = self._init((self.head_dim, n))
        self.params["W_K"] = self._init((self.head_dim, n))
        self.params["W_V"] = self._init((n, n))
        if variant == "augmented":
            for tag, width in self._mlps():
                self.params[f"{tag}_W1"] = self._init((self.hidden, width), 1.0 / np.sqrt(width))
                self.params[f"{tag}_b1"] = np.zeros(self.hidden)
                self.params[f"{tag}_W2"] = self._init((width, self.hidden),
                                                      self.mlp_init / np.sqrt(self.hidden))
                self.params[f"{tag}_b2"] = np.zeros(width)

    def _mlps(self):
        out = []
        if self.variant == "augmented" and self.augment in ("keys", "both"):
            out.append(("gK", self.head_dim))
        if self.variant == "augmented" and self.augment in ("values", "both"):
            out.append(("gV", self.width))
        return out

    def settings(self) -> dict:
        """The variant's knobs (only those that matter for it)."""
        s = {"variant": self.variant}
        if self.variant == "regularized":
            s.update(alpha=self.alpha, reg_mode=self.reg_mode)
        elif self.variant == "augmented":
            s.update(augment=self.augment, hidden=self.hidden, mlp_init=self.mlp_init)
        elif self.variant == "negative":
            s.update(beta=self.beta, selection=self.selection)
            if self.selection != "all":
                s["n_negatives"] = self.n_negatives
        return s

    def config(self):
        return super().config() | {"head_dim": self.head_dim} | self.settings()

    def __repr__(self) -> str:
        knobs = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"ModifiedAttention(D={self.dim}, {knobs}, {self.n_parameters()} parameters)"

    # ------------------------------------------------------------------ pieces
    def _view(self, tag, U):
        """g(U) = U + MLP(U) column-wise, or U itself without that MLP."""
        if f"{tag}_W1" not in self.params:
            return U, None
        p = self.params
        out, cache = nn.relu_mlp_forward(U, p[f"{tag}_W1"], p[f"{tag}_b1"], p[f"{tag}_W2"],
                                         p[f"{tag}_b2"])
        return U + out, cache

    def _negative_mixing(self, tokens, weights):
        """M (P, T, T): column i averages the values of i's negatives (context tokens only)."""
        P, _, T = tokens.shape
        N = T - 1
        M = np.zeros((P, T, T))
        if self.selection == "all":
            if N < 2:
                raise ValueError("selection='all' needs at least 2 context tokens")
            M[:, :N, :] = 1.0 / (N - 1)
            idx = np.arange(N)
            M[:, idx, idx] = 0.0
            M[:, :N, N] = 1.0 / N          # the query's negatives: every context token
            return M
        k = min(self.n_negatives, N)
        if self.selection == "lowest":
            chosen = np.argsort(weights[:, :N], axis=1, kind="stable")[:, :k]
        else:
            g = np.random.default_rng([zlib.crc32(tokens.tobytes()), P, T])
            chosen = np.argsort(g.random((P, N)), axis=1)[:, :k]
        M[np.arange(P)[:, None], chosen, :] = 1.0 / k
        return M

    def _forward_full(self, batch):
        p = self.params
        H = batch.tokens
        P, n, T = H.shape
        scale = 1.0 / np.sqrt(self.head_dim)
        K0 = p["W_K"] @ H                                             # (P, d_o, T)
        q = H[:, :, -1] @ p["W_Q"].T                                  # (P, d_o)
        V0 = p["W_V"] @ H
        K, k_cache = self._view("gK", K0)
        V, v_cache = self._view("gV", V0)
        scores = scale * np.matmul(q[:, None, :], K)[:, 0, :]
        weights = nn.softmax(scores, axis=1)
        mult = np.ones(T)
        if self.variant == "regularized":
            if self.reg_mode == "self_term":
                mult[-1] = self.alpha
            else:
                mult[:] = self.alpha
        a = weights * mult
        M = None
        if self.variant == "negative" and self.beta > 0:
            M = self._negative_mixing(H, weights)
            coef = a - self.beta * np.einsum("pji,pi->pj", M, a)
        else:
            coef = a
        pred = np.einsum("pt,pt->p", V[:, -1, :], coef)
        cache = dict(H=H, q=q, K=K, V=V, weights=weights, mult=mult, M=M, coef=coef,
                     k_cache=k_cache, v_cache=v_cache, scale=scale)
        return pred, cache

    def _backward_full(self, d_pred, c):
        p = self.params
        H = c["H"]
        d_V = np.zeros_like(c["V"])
        d_V[:, -1, :] = d_pred[:, None] * c["coef"]
        d_coef = d_pred[:, None] * c["V"][:, -1, :]
        if c["M"] is not None:
            d_a = d_coef - self.beta * np.einsum("pji,pj->pi", c["M"], d_coef)
        else:
            d_a = d_coef
        d_w = d_a * c["mult"]
        d_s = nn.softmax_backward(d_w, c["weights"], axis=1)
        d_K = c["scale"] * c["q"][:, :, None] * d_s[:, None, :]
        d_q = c["scale"] * np.matmul(c["K"], d_s[:, :, None])[:, :, 0]
        grads = {}
        for tag, d_view, cache in (("gK", d_K, c["k_cache"]), ("gV", d_V, c["v_cache"])):
            if cache is None:
                continue
            d_in, g = nn.relu_mlp_backward(d_view, cache)
            for key, value in g.items():
                grads[f"{tag}_{key}"] = value
            if tag == "gK":
                d_K = d_K + d_in
            else:
                d_V = d_V + d_in
        Ht = np.swapaxes(H, 1, 2)
        grads["W_K"] = np.matmul(d_K, Ht).sum(axis=0)
        grads["W_Q"] = d_q.T @ H[:, :, -1]
        grads["W_V"] = np.matmul(d_V, Ht).sum(axis=0)
        return {k: grads[k] for k in p}


# ---------------------------------------------------------------------------- comparison
def _label(family: str, setting: dict) -> str:
    short = {"alpha": "α", "beta": "β", "reg_mode": "", "augment": "", "hidden": "h",
             "n_negatives": "k", "selection": ""}
    parts = []
    for key, value in setting.items():
        name = short.get(key, key)
        parts.append(f"{name}={value:g}" if isinstance(value, float) and name else
                     (str(value) if not name else f"{name}={value}"))
    return f"{family}: " + ", ".join(parts) if parts else family


class ModificationStudy(GridResult):
    """Test-loss curves of modified layers and the plain layer over seeds: a grid result.

    Dims ``("run", "repeat", "eval_step")``: the ``run`` coordinate is the runs' labels (run 0
    the plain layer, the others ``families[r]`` with ``settings[r]``), ``repeat`` the seeds and
    ``eval_step`` the evaluation steps (``eval_steps``). ``test_loss`` has shape
    (n_runs, n_seeds, n_evals); ``mean("test_loss")`` averages the seeds.
    """

    def __init__(self, labels, families, settings, eval_steps, test_loss, *,
                 parameters: dict | None = None):
        self.labels = list(labels)
        self.families = list(families)
        self.settings = list(settings)
        coords = {"run": np.array(self.labels, dtype=str),
                  "repeat": np.arange(np.shape(test_loss)[1]),
                  "eval_step": np.asarray(eval_steps)}
        super().__init__("dual-modifications", coords, {"test_loss": test_loss}, parameters)

    @property
    def eval_steps(self) -> np.ndarray:
        return self.coords["eval_step"]

    @property
    def test_loss(self) -> np.ndarray:
        return self.data["test_loss"]

    @property
    def final(self) -> np.ndarray:
        """Final test loss, (n_runs, n_seeds)."""
        return self.test_loss[:, :, -1]

    def relative_to_plain(self) -> np.ndarray:
        """Final test loss divided by the plain layer's on the same seed, (n_runs, n_seeds)."""
        return self.final / self.final[:1]

    def summary(self) -> str:
        """One line per run: final test loss mean ± standard error, ratio to the plain layer."""
        lines = []
        rel = self.relative_to_plain()
        n = self.final.shape[1]
        for r, label in enumerate(self.labels):
            f = self.final[r]
            se = f.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
            lines.append(f"{label:38s} {f.mean():.4f} ± {se:.4f}   ratio {rel[r].mean():.3f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"ModificationStudy({len(self.labels)} runs x {self.test_loss.shape[1]} seeds, "
                f"{self.eval_steps[-1]} steps)")

    def save(self, out_dir, stem: str = "dual_modifications") -> dict:
        """Write ``stem.npz`` and ``stem.json`` (see :meth:`spinicl.GridResult.save`)."""
        return super().save(out_dir, stem)

    def _extra_arrays(self) -> dict:
        return {"eval_steps": self.eval_steps}

    def _record_extra(self) -> dict:
        return {"labels": self.labels, "families": self.families, "settings": self.settings}

    @classmethod
    def _from_saved(cls, *, coords, data, var_dims, extra_coords, record):
        return cls(record["labels"], record["families"], record["settings"],
                   coords["eval_step"], data["test_loss"], parameters=record["parameters"])


def compare_modifications(settings: dict | None = None, *, dim: int = 5,
                          context_length: int = 20, steps: int = 1500, batch_size: int = 64,
                          lr: float = 3e-3, n_seeds: int = 3, n_test: int = 2000,
                          eval_every: int | None = None, label_noise: float = 0.0,
                          rng=0, progress: bool = True, checkpoint_dir=None, store=None,
                          executor: str = "serial",
                          workers: int | None = None) -> ModificationStudy:
    """Train the plain layer and every (family, setting) on in-context linear regression.

    Parameters
    ----------
    settings : dict family → list of option dicts, optional
        Families among "regularized", "augmented", "negative" (default
        :data:`DEFAULT_SETTINGS`).
    dim, context_length : int
        D and N of the prompts (li2024 convention, fresh task per prompt).
    steps, batch_size, lr : Adam steps on fresh online batches.
    n_seeds : int
        Seed s fixes the test prompts, the training stream and the shared attention weights for
        every run (common random numbers), so ratios to the plain layer are paired.
    checkpoint_dir : path, optional
        Each (run, seed) checkpoints there (:func:`spinicl.training.train`) and resumes.
    store : path, optional
        Folder of the sweep's unit files. The seeds run as a sweep of ``"dual-modifications"``
        cells (one unit per seed, the runs its nested axis; unit s draws from child s of the
        master seed), so a rerun with the same folder and settings reuses every finished seed.
        ``None``: a temporary folder.
    executor : {"serial", "process", "dask"}
        Where the units run; every executor gives the same bits.
    workers : int, optional
        Worker processes of the ``"process"`` and ``"dask"`` executors.
    """
    from ..sweep.runner import master_seed, run_cells

    settings = DEFAULT_SETTINGS if settings is None else settings
    if not isinstance(settings, dict):
        raise TypeError(f"settings must be a dict family -> list of option dicts, got "
                        f"{type(settings).__name__}")
    runs = [("plain", {})]
    for family, options in settings.items():
        check_choice("settings family", family, VARIANTS[1:])
        for opt in options:
            if not isinstance(opt, dict):
                raise TypeError(f"settings[{family!r}] must hold dicts, got {opt!r}")
            runs.append((family, dict(opt)))
    n_seeds = check_int("n_seeds", n_seeds, minimum=1)
    steps = check_int("steps", steps, minimum=1)
    n_test = check_int("n_test", n_test, minimum=1)
    eval_every = check_int("eval_every", eval_every if eval_every is not None
                           else max(1, steps // 30), minimum=1)
    root = as_seed_sequence(rng)
    for family, opt in runs:           # fail on bad options before any training
        ModifiedAttention(dim, variant=family, rng=0, **opt)
    sweep = run_cells(kind="dual-modifications",
                      axes={"seed_index": np.arange(n_seeds), "run": np.arange(len(runs))},
                      parameters=dict(runs=[[f, o] for f, o in runs], dim=dim,
                                      context_length=context_length, steps=steps,
                                      batch_size=batch_size, lr=lr, n_test=n_test,
                                      eval_every=eval_every, label_noise=label_noise,
                                      checkpoint_dir=None if checkpoint_dir is None
                                      else str(checkpoint_dir)),
                      rng=master_seed(root), name="dual_modifications", store=store,
                      executor=executor, workers=workers, progress=progress)
    # the sweep's (seed, run, repeat = 1, eval) -> (run, seed, eval)
    curves = np.swapaxes(sweep["test_loss"][:, :, 0], 0, 1).copy()
    eval_steps = sweep["eval_steps"][0, 0, 0].astype(int)
    params = dict(dim=dim, context_length=context_length, steps=steps, batch_size=batch_size,
                  lr=lr, n_seeds=n_seeds, n_test=n_test, eval_every=eval_every,
                  label_noise=label_noise, optimizer="adam",
                  seed_entropy=str(root.entropy), seed_spawn_key=list(root.spawn_key))
    return ModificationStudy([_label(f, o) if f != "plain" else "plain (unmodified)"
                              for f, o in runs], [f for f, _ in runs], [o for _, o in runs],
                             eval_steps, curves, parameters=params)


# ---------------------------------------------------------------------------- GLUE table writer
GLUE_TASKS = (("CoLA", "MCC"), ("MRPC", "F1/Acc"), ("STS-B", "Pearson/Spearman"), ("RTE", "Acc"))


def glue_table(rows) -> str:
    """Markdown table in the layout of the paper's GLUE table (p. 31) for results you bring.

    The package cannot produce these numbers (they need a pretrained language model fine-tuned
    with modified attention); this only formats them. ``rows`` is a sequence of
    ``(family, setting, scores)`` with family "original", "regularized", "augmented" or
    "negative", a setting label, and ``scores`` a dict task → number or tuple of numbers (e.g.
    MRPC (F1, Acc)). Per family a "Local Best" row takes the best value of each column, and a
    final "Global Best" row the best over every modified model.
    """
    rows = list(rows)
    if not rows:
        raise ValueError("rows must hold at least one (family, setting, scores) entry")
    families = ("original",) + VARIANTS[1:]
    for family, _, scores in rows:
        check_choice("family", family, families)
        unknown = set(scores) - {t for t, _ in GLUE_TASKS}
        if unknown:
            raise ValueError(f"scores has unknown tasks {sorted(unknown)}; use "
                             f"{[t for t, _ in GLUE_TASKS]}")

    def cells(scores):
        out = []
        for task, _ in GLUE_TASKS:
            v = scores.get(task)
            out.append(tuple(np.atleast_1d(np.asarray(v, dtype=float))) if v is not None else None)
        return out

    def fmt(cell):
        return "–" if cell is None else "/".join(f"{x:.1f}" for x in cell)

    def best(cell_rows):
        out = []
        for column in zip(*cell_rows):
            present = [c for c in column if c is not None]
            out.append(tuple(np.max(np.array(present), axis=0)) if present else None)
        return out

    header = "| model | setting | " + " | ".join(f"{t} ({m})" for t, m in GLUE_TASKS) + " |"
    lines = [header, "|" + "---|" * (len(GLUE_TASKS) + 2)]
    modified = []
    for family in families:
        fam = [(s, cells(sc)) for f, s, sc in rows if f == family]
        for setting, c in fam:
            lines.append(f"| {family} | {setting} | " + " | ".join(map(fmt, c)) + " |")
        if family != "original" and fam:
            local = best([c for _, c in fam])
            modified.extend(c for _, c in fam)
            lines.append(f"| {family} | **Local Best** | " + " | ".join(map(fmt, local)) + " |")
    if modified:
        lines.append("| all modified | **Global Best** | " + " | ".join(map(fmt, best(modified)))
                     + " |")
    return "\n".join(lines)
