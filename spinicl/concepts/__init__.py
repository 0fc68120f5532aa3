"""Multi-concept word semantics: a softmax-attention + ReLU-MLP transformer that learns ICL.

A reconstruction of Bu, Huang, Han, Nitanda, Suzuki, Zhang & Wong, "Provably transformers harness
multi-concept word semantics for efficient in-context learning" (NeurIPS 2024,
arXiv:2411.02199); the paper's definitions and settings were unavailable, so every guessed
choice is a parameter (see docs/concepts.md).

>>> from spinicl.concepts import default_setup, train_concepts
>>> dic, sampler, model = default_setup(dim=32, n_concepts=2)
>>> result = train_concepts(model, sampler, steps=20, n_test=200, progress=False)
>>> result.n_iter
20
"""
from __future__ import annotations

from .dictionary import BASES, ConceptDictionary, DictionaryGeometry
from .metrics import (Evaluation, KeyCoefficients, attention_products, evaluate,
                      key_coefficients, mlp_alignment, projected_forward, snapshot,
                      wilson_interval)
from .model import ATTENTIONS, INITS, LOSSES, ConceptTransformer, ForwardPass
from .ood import (SCENARIOS, OODReport, OODStudy, OODVariant, evaluate_ood, ood_study,
                  ood_variants, run_ood)
from .prompts import (FEATURE_SWAPS, LAYOUTS, ConceptPrompts, ConceptPromptSampler,
                      PromptStructure, check_distribution, retrieval_floor)
from .theory_checks import (ConvergenceSweep, ExponentialFit, RateSweep, SignSymmetry,
                            convergence_sweep, convergence_time, fit_exponential_rate,
                            fit_training_rate, rate_sweep, sign_symmetry)
from .train import DEFAULTS, TrainingResult, default_setup, train_concepts

__all__ = [
    "ConceptDictionary", "DictionaryGeometry", "BASES",
    "ConceptPrompts", "ConceptPromptSampler", "PromptStructure", "retrieval_floor",
    "check_distribution",
    "LAYOUTS", "FEATURE_SWAPS",
    "ConceptTransformer", "ForwardPass", "ATTENTIONS", "INITS", "LOSSES",
    "Evaluation", "evaluate", "wilson_interval", "attention_products", "mlp_alignment",
    "KeyCoefficients", "key_coefficients", "snapshot", "projected_forward",
    "TrainingResult", "train_concepts", "default_setup", "DEFAULTS",
    "OODVariant", "OODReport", "ood_variants", "evaluate_ood", "run_ood", "SCENARIOS",
    "OODStudy", "ood_study",
    "ExponentialFit", "fit_exponential_rate", "fit_training_rate", "convergence_time",
    "ConvergenceSweep", "convergence_sweep", "RateSweep", "rate_sweep",
    "SignSymmetry", "sign_symmetry",
]
