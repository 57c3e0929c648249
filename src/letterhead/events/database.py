"""The one way :mod:`letterhead.events` opens its SQLite file (the journal
and the local suppression list share it, each with its own tables).

A read never creates the file (``mode=rw``); the first write makes the folder
and the file, and the caller switches it to WAL as it creates its tables.
WAL with ``synchronous = NORMAL``: a commit survives the process crashing,
not the machine losing power (the last commits may then roll back).  FULL
would sync the disk on every event: 185 events/s instead of ~1,200
(bench/events.py).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote


def connect(path: Path, *, create: bool, timeout: float = 10) -> sqlite3.Connection | None:
    """A connection to ``path`` in autocommit mode, usable from any thread
    (the caller holds a lock); None when ``create`` is false and the file does
    not exist."""
    if not create and not path.exists():
        return None
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    uri = f"file:{quote(str(path.resolve()))}?mode={'rwc' if create else 'rw'}"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False, isolation_level=None)
    except sqlite3.OperationalError:
        if not create and not path.exists():  # removed between the check and the open
            return None
        raise
    try:
        db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        db.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error:
        db.close()
        raise
    return db
