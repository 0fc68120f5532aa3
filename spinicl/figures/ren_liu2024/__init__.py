"""Figures of Ren & Liu (2024), the dual model of softmax attention (spinicl.dual)."""
