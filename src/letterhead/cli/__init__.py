"""The command line: ``letterhead`` (see :mod:`letterhead.cli.main`)."""

from .main import cli, main

__all__ = ["cli", "main"]
