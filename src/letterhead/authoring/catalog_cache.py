"""Checked catalogues kept between builds (``.letterhead-cache/catalogs.json``).

Reading a locale's ``.po`` means importing Babel, parsing the file and
checking every translation against its msgid (:mod:`letterhead.authoring.i18n`):
~12 ms a catalogue, before any worker can start, in every build, ``--force``
included.  What comes out depends only on the file's bytes, its locale and
path, and the code that reads it, so a build keeps each catalogue it read
under a hash of all of those, like Jinja's bytecode cache keeps compiled
templates, and the next build takes it from there when nothing changed.

Only catalogues that passed every check are kept: a broken one is read (and
reported) every time.  The file is signed with the user's key
(:func:`~letterhead.authoring.jinja_cache.signing_key`), like the bytecode
cache: it lives in the checkout, and an unsigned or tampered one (a pull
request could add it) is ignored, so the build never uses translations
that are not in the ``.po`` a reviewer read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import Config
from .i18n import Catalog, Translation, catalog_path
from .jinja_cache import signing_key

_NAME = "catalogs.json"


@cache
def _code_fingerprint() -> str:
    """What else decides a catalogue's reading: letterhead's reader and
    checker, and Babel (found, not imported: its files' sizes and times)."""
    import importlib.util

    h = hashlib.sha256(__version__.encode())
    here = Path(__file__).parent
    for name in ("i18n.py", "i18n_check.py", "catalog_cache.py", "../locales.py"):
        h.update((here / name).read_bytes())
    spec = importlib.util.find_spec("babel")
    if spec is not None and spec.origin:
        for path in (spec.origin, os.path.join(os.path.dirname(spec.origin), "messages", "pofile.py")):
            try:
                st = os.stat(path)
                h.update(f"{path}|{st.st_size}|{st.st_mtime_ns}".encode())
            except OSError:
                h.update(path.encode())
    return h.hexdigest()


class CatalogCache:
    """The kept catalogues of one project, read once per build."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.path = config.root / ".letterhead-cache" / _NAME
        self.key = signing_key()
        self.entries: dict[str, dict[str, Any]] = self._read() if self.key is not None else {}
        self.changed = False

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            raw = self.path.read_bytes()
        except OSError:
            return {}
        signature, _, body = raw.partition(b"\n")
        assert self.key is not None
        if not hmac.compare_digest(signature, hmac.new(self.key, body, "sha256").hexdigest().encode()):
            return {}
        try:
            entries = json.loads(body)
        except ValueError:
            return {}
        return entries if isinstance(entries, dict) else {}

    def _digest(self, locale: str, data: bytes) -> str:
        rel = self.config.rel(catalog_path(self.config, locale))
        h = hashlib.sha256(f"{_code_fingerprint()}|{locale}|{rel}|".encode())
        h.update(data)
        return h.hexdigest()

    def get(self, locale: str) -> tuple[Catalog | None, str | None]:
        """The kept catalogue of ``locale`` when its ``.po`` is as it was read
        (None otherwise), and the digest to :meth:`put` it under."""
        if self.key is None:
            return None, None
        try:
            data = catalog_path(self.config, locale).read_bytes()
        except OSError:
            return None, None  # no file (or unreadable): the reader says which
        digest = self._digest(locale, data)
        found = self.entries.get(locale)
        if not isinstance(found, dict) or found.get("digest") != digest:
            return None, digest
        try:
            return _catalog_from_json(found["catalog"]), digest
        except (KeyError, TypeError, ValueError):
            return None, digest

    def put(self, locale: str, digest: str | None, catalog: Catalog) -> None:
        if digest is None or self.key is None:
            return
        self.entries[locale] = {"digest": digest, "catalog": _catalog_to_json(catalog)}
        self.changed = True

    def save(self) -> None:
        """Write the file when a catalogue was read this build; never fails the build."""
        if not self.changed or self.key is None:
            return
        body = json.dumps(self.entries, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        signature = hmac.new(self.key, body, "sha256").hexdigest().encode()
        tmp = self.path.with_name(f"{_NAME}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(exist_ok=True)
            (self.path.parent / ".gitignore").write_text("*\n")
            tmp.write_bytes(signature + b"\n" + body)
            os.replace(tmp, self.path)
            self.changed = False
        except OSError:
            tmp.unlink(missing_ok=True)


def _catalog_to_json(catalog: Catalog) -> dict[str, Any]:
    return {
        "locale": catalog.locale,
        "path": catalog.path,
        "plural_expr": catalog.plural_expr,
        "num_plurals": catalog.num_plurals,
        "messages": [[context, list(t.ids), list(t.strings), t.fuzzy, list(t.lines)]
                     for (context, _), t in catalog.messages.items()],
    }


def _catalog_from_json(data: dict[str, Any]) -> Catalog:
    messages: dict[tuple[str | None, str], Translation] = {}
    for context, ids, strings, fuzzy, lines in data["messages"]:
        if not (context is None or isinstance(context, str)) or not ids:
            raise ValueError("not a kept catalogue")
        messages[(context, ids[0])] = Translation(tuple(ids), tuple(strings), bool(fuzzy), tuple(lines))
    return Catalog(str(data["locale"]), str(data["path"]), messages, str(data["plural_expr"]),
                   int(data["num_plurals"]))
