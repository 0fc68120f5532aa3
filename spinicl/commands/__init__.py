"""CLI subcommands, one module each (see :mod:`spinicl.cli`)."""
