"""Figures of Bu et al. (2024), the multi-concept softmax transformer (spinicl.concepts)."""
