"""Jinja's bytecode cache, signed: compiled templates kept between runs.

The cache is Python code that runs with the build's rights, outside the
sandbox, and it lives in the checkout (``.letterhead-cache/jinja``, which a
pull request can fill): every file is signed with a key kept in the user's
cache folder, and a file without a valid signature is ignored (and compiled
again).
"""

from __future__ import annotations

import hmac
import io
import os
import secrets
from typing import Any, NamedTuple

import jinja2
import jinja2.bccache

from ..config import Config


class SignedBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's bytecode cache is Python code that runs with the build's rights,
    outside the sandbox, and it lives in the checkout (.letterhead-cache/,
    which a pull request can fill).  Each file is signed with a key kept in
    the user's cache folder; a file without a valid signature is ignored
    (and compiled again)."""

    def __init__(self, directory: str, key: bytes) -> None:
        super().__init__(directory, "sandboxed-%s.cache")
        self.key = key

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            with open(self._get_cache_filename(bucket), "rb") as fh:
                data = fh.read()
        except OSError:
            return
        mac, body = data[:32], data[32:]
        if hmac.compare_digest(mac, hmac.new(self.key, body, "sha256").digest()):
            bucket.load_bytecode(io.BytesIO(body))

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        buf = io.BytesIO()
        bucket.write_bytecode(buf)
        body = buf.getvalue()
        super().dump_bytecode(SignedBucket(bucket.key, hmac.new(self.key, body, "sha256").digest() + body))  # type: ignore[arg-type]


class SignedBucket(NamedTuple):
    """What FileSystemBytecodeCache.dump_bytecode needs of a bucket."""

    key: str
    data: bytes

    def write_bytecode(self, f: Any) -> None:
        f.write(self.data)


def signing_key() -> bytes | None:
    """The user's bytecode signing key (made on first use), outside any
    checkout; None when it cannot be read or made."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "letterhead", "bytecode.key")
    try:
        with open(path, "rb") as fh:
            key = fh.read()
        if len(key) >= 32:
            return key
    except OSError:
        pass
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        os.replace(tmp, path)
        return key
    except OSError:
        return None


def bytecode_cache(config: Config) -> jinja2.BytecodeCache | None:
    """Compiled Jinja templates, kept between runs (Jinja spends ~6 ms
    compiling each file; loading its bytecode costs ~0.2 ms)."""
    key = signing_key()
    if key is None:
        return None  # no home to keep a key in: compile every time
    directory = config.root / ".letterhead-cache" / "jinja"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory.parent / ".gitignore").write_text("*\n")
    except OSError:
        return None  # read-only checkout: compile every time
    return SignedBytecodeCache(str(directory), key)
