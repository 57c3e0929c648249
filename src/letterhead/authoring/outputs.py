"""A build's outputs: held in memory, compared with the disk, written at once.

:class:`Outputs` is everything one build produces, by path.  :func:`stale`
compares it with ``build/`` and ``ses_templates/`` (``build --check``);
:func:`write_all` stages each folder that changes and swaps both in together
through :mod:`letterhead.authoring.swap`, so a build killed at any moment
leaves them both old or both new.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config
from ..errors import LetterheadError, Location
from . import swap
from .schema import SCHEMA_DIR  # ses_templates/schemas/<name>.json


@dataclass
class Outputs:
    """Everything a build produces, in memory, keyed by path relative to root."""

    files: dict[str, str] = field(default_factory=dict)
    # Outputs already on disk exactly as a build would write them (found so
    # by the worker that made them, or carried over unchanged): known by
    # path only, so their content is neither sent back from a worker nor
    # read again.  A path is in ``files`` or in ``same``, never both.
    same: set[str] = field(default_factory=set)

    def paths(self) -> set[str]:
        return set(self.files) | self.same

    def add(self, path: str, content: str) -> None:
        self.files[path] = content


def same_on_disk(path: Path | str, content: str) -> bool:
    """Whether the generated file at ``path`` holds ``content`` already (a
    missing or unreadable file does not).  Line ends are compared as text
    mode reads them, so a checkout that turned LF into CRLF (git's autocrlf)
    is not taken for a change.  Read as bytes, without a text layer: a build
    compares every output it makes (~2,000 files for 200 variants)."""
    try:
        with open(path, "rb", buffering=0) as fh:
            data = fh.read()
    except OSError:
        return False
    try:
        if data == content.encode("utf-8"):
            return True
    except UnicodeEncodeError:  # cannot be on disk: writing it will say why
        return False
    if b"\r" not in data:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text.replace("\r\n", "\n").replace("\r", "\n") == content


def generated(config: Config, ses_rel: str, build_rel: str) -> dict[str, str]:
    """Files on disk that a build owns: their project-relative path → their
    path on disk (strings: ~2,000 of them for 200 variants, a Path each cost
    more than the listing).  In ``ses_templates/`` and its schemas, every
    ``*.json`` entry, as ``Path.glob`` finds them (hidden ones too)."""
    found: dict[str, str] = {}
    for folder, prefix in ((config.ses_dir, ses_rel), (config.ses_dir / SCHEMA_DIR, f"{ses_rel}/{SCHEMA_DIR}")):
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.endswith(".json"):
                        found[f"{prefix}/{entry.name}"] = entry.path
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            pass  # no folder: nothing generated (Path.glob lists nothing either)
    if config.build_dir.is_dir():
        files_below(str(config.build_dir), build_rel, found)
    return found


def files_below(folder: str, prefix: str, found: dict[str, str]) -> None:
    # os.scandir knows each entry's type without a stat per file.
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                files_below(entry.path, f"{prefix}/{entry.name}", found)
            elif entry.is_file():
                found[f"{prefix}/{entry.name}"] = entry.path


def stale_paths(config: Config, outputs: Outputs, ses_rel: str, build_rel: str) -> list[str]:
    on_disk = generated(config, ses_rel, build_rel)
    stale = [p for p, content in sorted(outputs.files.items())
             if p not in on_disk or not same_on_disk(on_disk[p], content)]
    stale += sorted(p for p in outputs.same if p not in on_disk)  # deleted since the worker looked
    ours = outputs.paths()
    stale += sorted(p for p in on_disk if p not in ours)
    return stale


def recover_interrupted_write(config: Config) -> None:
    """Bring ``ses_templates/`` and ``build/`` back to one consistent state
    after a killed build (finish its swap, or delete its staging), and delete
    the leftovers of any earlier one (:mod:`letterhead.authoring.swap`)."""
    targets = (config.ses_dir, config.build_dir)
    if swap.needs_recovery(config.ses_dir, targets):
        with swap.locked(config.ses_dir.parent):
            swap.recover(config.ses_dir, targets)


def carry(src: Path | str, dest: Path) -> None:
    """An unchanged file into the staging folder: a hard link (no copy, and
    already durable), a copy where links are refused."""
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def stage(target: Path, prefix: str, staging: Path, outputs: Outputs, on_disk: Mapping[str, str],
           fresh: Mapping[str, str]) -> list[str]:
    """Write the whole new ``target`` folder into ``staging``; new content is
    fsynced (the swap's record must not commit files a power cut could
    empty).  Returns the files whose content changed."""
    written: list[str] = []
    made: set[Path] = set()

    def place(sub: str) -> Path:
        dest = staging / sub
        if dest.parent not in made:
            dest.parent.mkdir(parents=True, exist_ok=True)
            made.add(dest.parent)
        return dest

    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(mode=0o755)
    made.add(staging)
    if target.is_dir():  # keep files in the folder that a build does not own (a README, say)
        for p in target.rglob("*"):
            sub = p.relative_to(target).as_posix()
            if p.is_file() and f"{prefix}/{sub}" not in on_disk:
                carry(p, place(sub))
    start = len(prefix) + 1
    for rel, content in outputs.files.items():
        if not rel.startswith(prefix + "/"):
            continue
        dest = place(rel[start:])
        if rel not in fresh:
            carry(on_disk[rel], dest)
            continue
        with open(dest, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        written.append(rel)
    for rel in outputs.same:  # unchanged: the file as it is
        if rel.startswith(prefix + "/"):
            carry(on_disk[rel], place(rel[start:]))
    for folder in made:
        swap.fsync_dir(folder)
    return written


def write_all(config: Config, outputs: Outputs, ses_rel: str, build_rel: str) -> tuple[list[str], list[str]]:
    """Stage each output folder that changes and swap them in together
    (:mod:`letterhead.authoring.swap`): after a kill at any moment the two folders are
    both old or both new.  A folder with nothing to change is left alone
    (not copied, mtimes kept)."""
    targets = ((config.ses_dir, ses_rel), (config.build_dir, build_rel))
    record = swap.record_path(config.ses_dir)
    record.parent.mkdir(parents=True, exist_ok=True)
    with swap.locked(record.parent):
        swap.recover(config.ses_dir, [t for t, _ in targets])  # under the lock: another build's leftovers
        on_disk = generated(config, ses_rel, build_rel)
        ours = outputs.paths()
        removed = sorted(p for p in on_disk if p not in ours)
        gone = sorted(p for p in outputs.same if p not in on_disk)
        if gone:
            raise LetterheadError(
                f"{gone[0]} was deleted while letterhead was building",
                hint="run `letterhead build` again; nothing was changed",
            )
        fresh = {r: c for r, c in outputs.files.items() if r not in on_disk or not same_on_disk(on_disk[r], c)}
        written: list[str] = []
        staged: list[Path] = []
        try:
            for target, prefix in targets:
                if not any(r.startswith(prefix + "/") for r in (*fresh, *removed)):
                    continue  # nothing to do: leave the folder (and its mtimes) alone
                target.parent.mkdir(parents=True, exist_ok=True)
                written += stage(target, prefix, swap.staging_for(target), outputs, on_disk, fresh)
                staged.append(target)
            swap.commit(record, staged)
        except BaseException as exc:
            committed = record.exists()
            if not committed:  # roll back: the folders were not touched
                for target, _ in targets:
                    shutil.rmtree(swap.staging_for(target), ignore_errors=True)
            if isinstance(exc, OSError):
                where = config.rel(exc.filename) if exc.filename else None
                raise LetterheadError(
                    f"could not write the build's outputs: {exc.strerror or exc}",
                    location=Location(where) if where else None,
                    hint="the next `letterhead build` (or any command reading them) finishes replacing them"
                    if committed else "free disk space or fix the folder's permissions; nothing was changed",
                ) from exc
            raise
    return sorted(written), removed
