"""The dual model of softmax attention (Ren & Liu, NeurIPS 2024).

ICL inference of a softmax attention layer equals the test prediction of a linear model on
positive random features after one gradient step on a training set made of the context's key and
value views. See docs/dual.md.
"""
from .attention import AttentionOutput, linearized_attention, softmax_attention
from .bridge import (bridge_predictions, dual_spin_features, linear_dual_model,
                     softmax_first_order)
from .extensions import (LayerOutput, StackDual, TransformerLayerDual, attention_stack,
                         transformer_layer)
from .features import LinearFeatures, PositiveRandomFeatures, draw_projection, prf_features
from .model import DualModel, DualSequence, DualTrajectory, MultiHeadDual, build_dual
from .modified import (DEFAULT_SETTINGS, ModificationStudy, ModifiedAttention,
                       compare_modifications, glue_table)
from .studies import (ApproximationStudy, EquivalenceCurve, GeneralizationStudy,
                      approximation_study, equivalence_curve, generalization_study,
                      rademacher_bound, random_problem)

__all__ = [
    "PositiveRandomFeatures", "LinearFeatures", "draw_projection", "prf_features",
    "softmax_attention", "linearized_attention", "AttentionOutput",
    "DualModel", "MultiHeadDual", "DualSequence", "DualTrajectory", "build_dual",
    "transformer_layer", "TransformerLayerDual", "LayerOutput", "attention_stack", "StackDual",
    "random_problem", "equivalence_curve", "EquivalenceCurve", "approximation_study",
    "ApproximationStudy", "generalization_study", "GeneralizationStudy", "rademacher_bound",
    "ModifiedAttention", "compare_modifications", "ModificationStudy", "DEFAULT_SETTINGS",
    "glue_table", "linear_dual_model", "bridge_predictions", "dual_spin_features",
    "softmax_first_order",
]
