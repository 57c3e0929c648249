"""The build reads only files inside the project.

A template is data a contributor can change in a pull request, and CI runs
``letterhead build`` next to AWS credentials: an ``{% include %}``, a
symbolic link or a template folder must not pull ``/etc/passwd``, ``~/.aws``
or the project's own ``.env`` into an email that sync uploads.  Every source
read (:func:`letterhead.authoring.sources.read_text` and the Jinja loader) calls
:func:`check_inside`, so one rule holds everywhere:

* the file, once every symbolic link is resolved, lies inside the project
  root (the folder of ``pyproject.toml``): links are fine while they point
  inside;
* no part of its path below the root is hidden (``.env``, ``.git/``,
  ``.aws/``): those hold secrets and tool state, never email sources.
"""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path

from ..errors import Location, SourceError

HINT = (
    "letterhead reads only files inside the project (the folder of pyproject.toml) "
    "and never hidden ones (.env, .git/...): copy the file into the project, "
    "or make the symbolic link point inside it"
)


@functools.lru_cache(maxsize=16)
def _real_root(root: str) -> str:
    # Cached: the root does not move while letterhead runs (a few lstat calls saved per read).
    return os.path.realpath(root)


def _realpath_below(path: str, root: str, base: str) -> str:
    """``os.path.realpath(path)``, given ``base`` = the realpath of ``root``.
    Every source path is the root's text plus a few parts: the root is
    resolved once, and only the parts below it are looked at (one lstat
    each, no link among them being the common case), instead of realpath's
    walk from ``/`` in Python on every read.  Anything unusual (a link, a
    missing file, ``.`` or ``..``, a path not under ``root``) takes the full
    ``realpath``."""
    prefix = root.rstrip(os.sep) + os.sep
    if not path.startswith(prefix):
        return os.path.realpath(path)
    parts = path[len(prefix):].split(os.sep)
    current = base.rstrip(os.sep)
    for part in parts:
        if part in ("", ".", ".."):
            return os.path.realpath(path)
        current = f"{current}{os.sep}{part}"
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                return os.path.realpath(path)
        except OSError:
            return os.path.realpath(path)
    return current


def outside_reason(path: Path | str, root: Path | str) -> str | None:
    """Why ``path`` may not be read as a source of the project at ``root``,
    or None when it may.  Costs an lstat per path part below the root."""
    base = _real_root(str(root))
    real = _realpath_below(os.fspath(path), str(root), base)
    if real != base and not real.startswith(base.rstrip(os.sep) + os.sep):
        if real != os.path.abspath(path):
            return "leads through a symbolic link to outside the project"
        return "is outside the project"
    tail = real[len(base):].lstrip(os.sep)
    if any(part.startswith(".") for part in tail.split(os.sep) if part):
        return "resolves to a hidden file or folder of the project (a name starting with '.')"
    return None


def check_inside(path: Path | str, root: Path | str, *, location: Location | None = None) -> None:
    """Refuse to read ``path`` unless it lies inside the project (see the
    module's rule).  ``location``: where the error points (defaults to the
    file itself; the CLI shows it relative to the root)."""
    reason = outside_reason(path, root)
    if reason is not None:
        raise SourceError(f"this path {reason}: letterhead will not read it",
                          location=location or Location.of(path), hint=HINT)
