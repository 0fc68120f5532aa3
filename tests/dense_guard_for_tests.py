"""A spin glass from prompts that refuses every dense n×n array (shared by the scale tests).

A solver, sampler or observable that reaches for the dense couplings, the Gram matrix or the
Hessian fails loudly with :class:`DenseAccess` instead of silently using 832 MB at D = 100.
"""
from spinicl import SpinGlass


class DenseAccess(AssertionError):
    """Raised by NoDenseSpinGlass when something asks for an n×n array."""


class NoDenseSpinGlass(SpinGlass):
    """A model from prompts whose dense J, Gram matrix and Hessian cannot be built.

    ``feature_matrix`` (P×n, not n×n) is allowed but counted, to check which samplers need it.
    """

    feature_matrix_calls = 0

    @property
    def couplings(self):
        raise DenseAccess("the dense couplings J were accessed")

    def gram(self, *args, **kwargs):
        raise DenseAccess("the dense Gram matrix was built")

    def hessian(self):
        raise DenseAccess("the dense Hessian was built")

    def feature_matrix(self):
        self.feature_matrix_calls += 1
        return super().feature_matrix()
