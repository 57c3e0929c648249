"""Replace ``ses_templates/`` and ``build/`` together: a small commit protocol.

A build's two output folders must change together: payloads that SES will
receive next to previews of an older build (or the reverse) are exactly what
``letterhead build --check`` exists to refuse.  Two folder renames cannot be
one atomic step, so a build that writes goes through three phases:

1. **stage**: each folder that changes is written, complete, as a sibling
   ``.NAME.new`` (files and folders fsynced: a power cut after step 2 must
   not expose empty files);
2. **commit**: the *intent record* ``.letterhead-swap.json`` is written next
   to ``ses_templates/`` atomically (temporary file, fsync, ``os.replace``,
   fsync of its folder).  It lists the folders to swap.  From this instant
   the new outputs are the build's result;
3. **swap**: for each listed folder, ``NAME`` → ``.NAME.old`` and
   ``.NAME.new`` → ``NAME`` (the parents fsynced); then the record is
   deleted, then the ``.NAME.old`` folders.

Recovery decides by the record alone.  A build runs :func:`recover` before it
reads anything; a command that reads ``ses_templates/`` runs :func:`settle`
(which only finishes a committed swap: a reader never deletes staging).

- **Record present**: the staging was complete, so roll *forward*.  A listed
  folder whose ``.NAME.new`` still exists has not been swapped yet: swap it
  (a ``NAME`` beside it is the old one).  Then delete the record and the
  ``.NAME.old`` folders.  Every step is idempotent, so a recovery that is
  itself killed is recovered the same way.
- **No record**: nothing was committed.  A ``.NAME.new`` is staging (perhaps
  incomplete): delete it.  A ``.NAME.old`` next to ``NAME`` is what a kill
  during the final clean-up leaves: delete it.  (A ``.NAME.old`` without
  ``NAME`` comes from letterhead before this protocol, killed between its
  renames: put it back.)  The ``.NAME.XXXXXXXX`` staging folders of those
  versions and a left ``.letterhead-swap.json.tmp`` are deleted too.

Every kill point, and what the next command sees:

=====================================  =============================  =========
killed while                           left on disk                   next run
=====================================  =============================  =========
staging                                ``.NAME.new`` (partial)        both old
writing the record                     ``.letterhead-swap.json.tmp``  both old
renaming (any of the four renames)     record, some folders swapped   both new
deleting the record                    record or not, ``.NAME.old``   both new
deleting ``.NAME.old``                 ``.NAME.old`` (partial)        both new
=====================================  =============================  =========

Writers and recoveries hold an exclusive ``flock`` on the folder that holds
the record, so two builds (or a build and a reader's recovery) take turns
instead of deleting each other's staging.  A build that changes nothing
takes the lock, finds nothing to do and never copies a folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import LetterheadError, Location

RECORD_NAME = ".letterhead-swap.json"
_FORMAT = 1


class InterruptedSwapError(LetterheadError):
    """A build was killed while replacing its outputs and its swap cannot be
    finished here (a read-only checkout, a damaged record)."""


def record_path(ses_dir: Path) -> Path:
    """The intent record sits next to ``ses_templates/``: every command that
    reads the payloads knows that folder, not always the project."""
    return ses_dir.parent / RECORD_NAME


def staging_for(target: Path) -> Path:
    return target.with_name(f".{target.name}.new")


def old_for(target: Path) -> Path:
    return target.with_name(f".{target.name}.old")


def _leftover_pattern(target: Path) -> re.Pattern[str]:
    # ``.new`` / ``.old`` of this protocol, and the ``tempfile.mkdtemp``
    # suffix (8 characters of [a-z0-9_]) that earlier versions staged into.
    return re.compile(rf"\.{re.escape(target.name)}\.(new|old|[a-z0-9_]{{8}})")


# -- the lock --------------------------------------------------------------
_held = threading.local()


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``folder`` (re-entrant within a thread).
    Where locking is unavailable (no ``fcntl``, a file system that refuses
    it) the protocol still holds for one build at a time."""
    key = os.path.abspath(folder)
    held: set[str] = getattr(_held, "paths", None) or set()
    _held.paths = held
    if key in held:
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        fcntl = None  # type: ignore[assignment]
    fd = -1
    if fcntl is not None:
        try:
            fd = os.open(key, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            if fd >= 0:
                os.close(fd)
            fd = -1
    held.add(key)
    try:
        yield
    finally:
        held.discard(key)
        if fd >= 0:
            os.close(fd)  # closing releases the flock


# -- durable steps ---------------------------------------------------------
def fsync_dir(folder: Path | str) -> None:
    """Make a folder's entries (new files, renames) durable.  Some file
    systems refuse fsync on a folder; the rename order still holds there."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_record(record: Path, targets: Sequence[Path]) -> None:
    anchor = record.parent
    body = json.dumps({"letterhead_swap": _FORMAT,
                       "folders": [os.path.relpath(t, anchor) for t in targets]})
    tmp = record.with_name(record.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(body)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, record)  # the commit point
    fsync_dir(anchor)


def _read_record(record: Path) -> list[Path]:
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        folders = data["folders"]
        if data.get("letterhead_swap") != _FORMAT or not isinstance(folders, list) \
                or not all(isinstance(f, str) and f for f in folders):
            raise ValueError("unexpected content")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InterruptedSwapError(
            f"the record of an interrupted build cannot be read ({exc})",
            location=Location(str(record)),
            hint=f"check `git status` of the output folders, delete {record.name} and run `letterhead build --force`",
        ) from None
    return [record.parent / f for f in folders]


def _remove(folder: Path) -> None:
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)


# -- the protocol ------------------------------------------------------------
def commit(record: Path, targets: Sequence[Path]) -> None:
    """Steps 2 and 3 for ``targets``, whose ``.NAME.new`` staging is complete
    (and durable).  The caller holds :func:`locked` on ``record.parent``.
    An exception after the commit point leaves the record: the next command
    finishes the swap."""
    if not targets:
        return
    _write_record(record, targets)
    _roll_forward(record, list(targets))


def _roll_forward(record: Path, targets: list[Path]) -> None:
    for target in targets:
        new = staging_for(target)
        if not new.is_dir():
            continue  # swapped already
        if target.exists() or target.is_symlink():
            old = old_for(target)
            if old.exists():
                _remove(old)  # not ours to keep: the record says the old one is `target`
            os.replace(target, old)
        os.replace(new, target)
    for parent in {t.parent for t in targets}:
        fsync_dir(parent)
    record.unlink()
    for target in targets:
        _remove(old_for(target))


def recover(ses_dir: Path, targets: Sequence[Path]) -> bool:
    """Bring the output folders back to one consistent state after a kill
    (see the module docstring) and delete every leftover.  The caller holds
    :func:`locked` on ``ses_dir.parent``.  True when anything was done."""
    record = record_path(ses_dir)
    did = False
    if record.exists():
        _roll_forward(record, _read_record(record))
        did = True
    tmp = record.with_name(record.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
        did = True
    for target in targets:
        pattern = _leftover_pattern(target)
        try:
            entries = [e for e in os.scandir(target.parent) if pattern.fullmatch(e.name)]
        except FileNotFoundError:
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.name.endswith(".old") and entry.is_dir(follow_symlinks=False) \
                    and not (target.exists() or target.is_symlink()):
                os.replace(path, target)  # an earlier version's crash between its renames
            elif entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                continue  # a file of that name is not ours
            did = True
    return did


def needs_recovery(ses_dir: Path, targets: Sequence[Path]) -> bool:
    """Whether :func:`recover` has anything to do (without the lock: cheap)."""
    record = record_path(ses_dir)
    if record.exists() or record.with_name(record.name + ".tmp").exists():
        return True
    for target in targets:
        pattern = _leftover_pattern(target)
        try:
            with os.scandir(target.parent) as entries:
                if any(pattern.fullmatch(e.name) for e in entries):
                    return True
        except FileNotFoundError:
            continue
    return False


def settle(ses_dir: Path | str) -> None:
    """For commands that read ``ses_templates/``: finish a swap that a killed
    build committed, so they never see one folder new and the other old (or
    ``ses_templates/`` missing between two renames).  A live build's swap is
    waited for.  Costs one ``stat`` when nothing is pending."""
    ses_dir = Path(ses_dir)
    record = record_path(ses_dir)
    if not record.exists():
        return
    try:
        with locked(record.parent):
            if record.exists():
                _roll_forward(record, _read_record(record))
    except OSError as exc:
        raise InterruptedSwapError(
            f"a build was interrupted while replacing {ses_dir.name}/ and its swap cannot be finished here "
            f"({exc.strerror or exc})",
            location=Location(str(record)),
            hint="run `letterhead build` in the project with write access: it completes the swap",
        ) from None


def refuse_if_pending(ses_dir: Path, display: str) -> None:
    """For ``build --check``, which must never write: a pending swap means the
    folders on disk are not the last build's result yet."""
    if record_path(ses_dir).exists():
        raise InterruptedSwapError(
            "a build was interrupted while replacing the output folders: they are not comparable yet",
            location=Location(display),
            hint="run `letterhead build` (it completes the interrupted swap), then check again",
        )
