"""Figures of Li, Bai & Huang (2024), arXiv:2408.02288: one file per figure, fig1 ... figS8."""
