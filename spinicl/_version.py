"""The package version, in a module of its own so that infrastructure can read it.

``spinicl/__init__.py`` re-exports the public API across every layer; a module low in the
layers (``_io``, ``sweep.store``) importing the package root would therefore depend on the whole
package. They import this module instead.
"""
__version__ = "0.1.0"
