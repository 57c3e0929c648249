"""Compiled regular expressions kept between runs of the ``letterhead`` command.

Every command starts by importing modules that compile ~250 regular
expressions (letterhead's own, Jinja's, html2text's, the standard library's).
Python compiles a pattern in pure Python (``re._parser`` then
``re._compiler``), ~0.3 ms each: ~70 ms of every command's start, a fifth of a
200-variant build's serial start.  What the compiler produces is a list of
integers, which ``_sre.compile`` turns into a pattern in microseconds; this
module keeps those lists in the user's cache folder, like Python keeps
bytecode in ``.pyc`` files, and hands them to ``_sre.compile`` on the next
run.  Measured: ~2 ms to load the ~250 patterns against ~70 ms to compile them.

Safe by construction:

- The key is the pattern and its flags, exactly; the file's name carries the
  Python version and the regex engine's magic number and code size, so
  another interpreter never reads it.  The value is what this interpreter's own
  compiler made, and ``_sre.compile`` checks the code it is given.
- :func:`install` compares one pattern compiled both ways (patterns compare
  equal only when their code does) and stays out of the way when they differ:
  a Python whose ``re`` internals changed just compiles as usual.
- A cache file that cannot be read (missing, truncated, another format) is
  ignored and written again; writes are atomic (a temporary file, renamed).
- Only the ``letterhead`` command installs it (:mod:`letterhead.cli`), never
  ``import letterhead``: a library must not change ``re`` for its host.
  ``LETTERHEAD_REGEX_CACHE=0`` turns it off.

The file is trusted as much as the rest of the user's cache folder (the Jinja
bytecode signing key lives beside it).
"""

from __future__ import annotations

import array
import contextlib
import marshal
import os
import sys
import zlib
from typing import Any

_FORMAT = b"letterhead-regex-cache 1\n"
_LIMIT = 4096  # patterns kept; past it, only those this run used
_Entry = tuple[int, bytes, int, dict[str, int], tuple[str | None, ...]]


class _State:
    def __init__(self) -> None:
        self.path: str | None = None  # None: not installed
        self.known: dict[tuple[str | bytes, int], _Entry] = {}
        self.used: set[tuple[str | bytes, int]] = set()
        self.new = 0  # compiled this run, not in the file
        self.original: Any = None  # re._compiler.compile


_state = _State()


def cache_path() -> str:
    """Where this interpreter's cache lives (one file per Python build)."""
    import _sre  # type: ignore[import-not-found]

    # zlib, not hashlib: importing OpenSSL would cost more than this saves for a short command.
    tag = zlib.crc32(f"{sys.version}|{sys.implementation.cache_tag}|{_sre.MAGIC}|{_sre.CODESIZE}".encode())
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "letterhead", f"regex-{sys.implementation.cache_tag}-{tag:08x}.bin")


def install() -> bool:
    """Serve pattern compiles from the cache from now on; False when it is
    off or this Python's ``re`` is not the one this module knows."""
    if _state.original is not None:
        return True
    if os.environ.get("LETTERHEAD_REGEX_CACHE", "1") == "0":
        return False
    try:
        import _sre
        from re import _compiler, _parser  # type: ignore[attr-defined]

        _compiler._code, _parser.parse  # noqa: B018 - the internals entry() uses
        code_type = "I" if array.array("I").itemsize >= _sre.CODESIZE else "L"
    except (ImportError, AttributeError):  # pragma: no cover - another Python
        return False
    original = _compiler.compile

    def entry(pattern: str | bytes, flags: int) -> _Entry:
        """What ``re._compiler.compile`` hands ``_sre.compile`` (Python 3.11-3.13)."""
        parsed = _parser.parse(pattern, flags)
        code = _compiler._code(parsed, flags)
        groupindex = dict(parsed.state.groupdict)
        indexgroup: list[str | None] = [None] * parsed.state.groups
        for name, index in groupindex.items():
            indexgroup[index] = name
        return (int(flags | parsed.state.flags), array.array(code_type, code).tobytes(),
                parsed.state.groups - 1, groupindex, tuple(indexgroup))

    def build(pattern: str | bytes, found: _Entry) -> Any:
        flags, code, groups, groupindex, indexgroup = found
        return _sre.compile(pattern, flags, array.array(code_type, code).tolist(), groups,
                            groupindex, indexgroup)

    def compile(p: Any, flags: int = 0) -> Any:  # the name re calls
        if type(p) not in (str, bytes) or flags & _compiler.SRE_FLAG_DEBUG:  # marshal keeps exact types
            return original(p, flags)
        key = (p, int(flags))
        found = _state.known.get(key)
        if found is None:
            found = _state.known[key] = entry(p, int(flags))
            _state.new += 1
        _state.used.add(key)
        return build(p, found)

    # This Python's compiler must make exactly what the mirror above makes.
    probe = r"(?P<word>[A-Za-z_]\w*)\s*=\s*(?:'[^']*'|\"[^\"]*\")(?=[,;])|\d+(?i:x)"
    try:
        if build(probe, entry(probe, 0)) != original(probe, 0):
            return False  # pragma: no cover - another Python's internals
    except Exception:  # pragma: no cover - another Python's internals
        return False
    _state.path = cache_path()
    _state.known = _read(_state.path)
    _state.original = original
    _compiler.compile = compile
    return True


def _read(path: str) -> dict[tuple[str | bytes, int], _Entry]:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        if not data.startswith(_FORMAT):
            return {}
        known = marshal.loads(data[len(_FORMAT):])
        return known if isinstance(known, dict) else {}
    except (OSError, EOFError, ValueError, TypeError):
        return {}


def save() -> None:
    """Write the cache when this run compiled a good share of its patterns
    itself (a new letterhead, or the first run); a forked worker's are not
    kept.  A few new ones are not worth a write: some modules build a
    pattern from a set, in another order every run (Babel's plural rules),
    and would make every command rewrite the file.  Never fails the command."""
    if _state.path is None or not _state.new or _state.new * 20 < len(_state.used):
        return
    known = _state.known
    if len(known) > _LIMIT:  # patterns built from data pile up: keep this run's
        known = {key: known[key] for key in _state.used}
    tmp = f"{_state.path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(_state.path), mode=0o700, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(_FORMAT + marshal.dumps(known))
        os.replace(tmp, _state.path)
        _state.new = 0
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def uninstall() -> None:
    """Compile as Python does again (for tests)."""
    global _state
    if _state.original is not None:
        from re import _compiler  # type: ignore[attr-defined]

        _compiler.compile = _state.original
    _state = _State()
