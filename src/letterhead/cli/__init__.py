"""The command line: ``letterhead``, the only layer that prints and picks exit codes.

In: arguments and the project's configuration. Out: text or ``--json`` on
stdout, errors on stderr, exit codes (0 ok, 1 bad input, 2 a gate failed,
3 a bug).

Modules: ``common`` (the context object, JSON output, errors to exit codes),
``main`` (the group, ``build``, ``lint``, ``render``; the other commands load
lazily), ``sync``, ``send``, ``dev`` (``dev`` and ``preview``), ``account``
(``doctor``, ``setup``, ``stats``).
"""

from . import regex_cache

regex_cache.install()  # before the imports that compile patterns: ~70 ms of every start

from .main import cli, main  # noqa: E402 - after the cache is in place

__all__ = ["cli", "main"]
