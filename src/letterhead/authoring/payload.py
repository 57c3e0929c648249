"""The SES side of a build: ``ses_templates/<name>.json`` and ``manifest.json``.

Each payload file is exactly the input of SES v1 CreateTemplate, so
``aws ses create-template --cli-input-json file://ses_templates/<name>.json``
accepts it unchanged.  The manifest carries what syncing and sending need
without the MJML toolchain: content hashes, the variable contract, declared
types, the paths printed raw, and (later) deployed names.

Formatting is fixed (sorted keys, two-space indent, UTF-8, final newline) so
the same sources always give byte-identical files and reviews show real
changes only.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..errors import DataError, Location

MAX_TEMPLATE_BYTES = 500 * 1024  # SES: all parts of a template together
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1


def dumps(obj: Any) -> str:
    """``json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False)`` and a
    newline, byte for byte.  orjson writes it ~12x faster (the standard
    library drops to pure Python as soon as ``indent`` is set: ~7 ms for the
    manifest of 50 templates); the standard library takes what orjson
    refuses (integers over 64 bits, lone surrogates)."""
    try:
        return orjson.dumps(obj, option=_ORJSON_OPTIONS).decode("utf-8")
    except (orjson.JSONEncodeError, UnicodeDecodeError):
        return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


_ORJSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE


def utf8_length(text: str) -> int:
    """``len(text.encode("utf-8"))`` (raising as it raises), without the
    copy when the text is ASCII (``isascii`` is a flag on the string)."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


@dataclass(frozen=True)
class SesTemplate:
    """A template as SES stores it (parts already made injection-safe)."""

    name: str
    subject: str
    html: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "Template": {
                "TemplateName": self.name,
                "SubjectPart": self.subject,
                "HtmlPart": self.html,
                "TextPart": self.text,
            }
        }

    def dumps(self) -> str:
        return dumps(self.to_json())

    # Cached (the parts never change; a build asks for the size three times):
    # cached_property writes the instance's __dict__, which a frozen dataclass allows.
    @functools.cached_property
    def size_bytes(self) -> int:
        parts = (self.subject, self.html, self.text)
        if all(p.isascii() for p in parts):
            return sum(map(len, parts))
        return self._measured[0]  # encoded once for the size and the hash (a build asks for both)

    @property
    def content_hash(self) -> str:
        """Hash of the parts alone (not the name): equal content, equal hash,
        whatever name it is deployed under."""
        return self._measured[1]

    @functools.cached_property
    def _measured(self) -> tuple[int, str]:
        """The parts' UTF-8 size and content hash, from one encoding of each."""
        h = hashlib.sha256()
        size = 0
        for part in (self.subject, self.html, self.text):
            data = part.encode("utf-8")
            size += len(data)
            h.update(data)
            h.update(b"\0")
        return size, h.hexdigest()

    def renamed(self, name: str) -> SesTemplate:
        return SesTemplate(name, self.subject, self.html, self.text)

    @classmethod
    def from_json(cls, data: Any, *, where: str = "<payload>") -> SesTemplate:
        try:
            t = data["Template"]
            parts = (t["TemplateName"], t["SubjectPart"], t["HtmlPart"], t.get("TextPart", ""))
        except (KeyError, TypeError) as exc:
            raise DataError(
                f"not an SES CreateTemplate payload: missing {exc}",
                location=Location(where),
                hint='expected {"Template": {"TemplateName", "SubjectPart", "HtmlPart", "TextPart"}}; '
                "rebuild with `letterhead build`",
            ) from None
        if not all(isinstance(p, str) for p in parts):
            raise DataError("template parts must be strings", location=Location(where),
                            hint="rebuild with `letterhead build`")
        return cls(*parts)

    @classmethod
    def load(cls, path: Path) -> SesTemplate:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"not valid JSON: {exc.msg}", location=Location(str(path), exc.lineno),
                            hint="rebuild with `letterhead build`") from None
        return cls.from_json(data, where=str(path))


@dataclass(frozen=True)
class ManifestEntry:
    name: str
    content_hash: str
    description: str = ""
    contract: Mapping[str, Any] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)  # declared types
    raw_paths: tuple[str, ...] = ()
    # Printed inside a URL: prepare_data adds their percent-encoded copies (`_url`).
    url_paths: tuple[str, ...] = ()
    # Printed where they decide a link's target: path → checks ("link",
    # "resource", "mailto", "tel"; letterhead.authoring.contexts), made on the data.
    url_checks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    samples: tuple[str, ...] = ()
    size_bytes: int = 0
    deployed_name: str | None = None
    # Locales (issue 13), all empty in a project without ``locales``:
    # ``template``: the template folder a locale variant was built from
    # (``coparent_invitation`` for ``coparent_invitation__es``);
    # ``locale``: the variant's locale (``es``; the default locale's on the
    # plain-named entry); ``variants``: on the plain-named entry only,
    # locale → entry name for every locale of the template (the default's
    # maps to the plain name); ``untranslated``: msgids the variant's
    # catalogue did not translate (they read in the source language).
    template: str = ""
    locale: str = ""
    variants: Mapping[str, str] = field(default_factory=dict)
    untranslated: tuple[str, ...] = ()
    # Headers (issue 15): ``category`` is "bulk" for a bulk template, "" for
    # a transactional one (template.toml's default); ``headers``: name →
    # value template, rendered per recipient by
    # letterhead.authoring.headers.render_headers (SES v2 sends them).
    category: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def logical_name(self) -> str:
        """The template folder's name (``name`` for a project without locales)."""
        return self.template or self.name

    def to_json(self) -> dict[str, Any]:
        d = self._common_json()
        # Written only when set: a project without locales keeps the manifest
        # it had (an upgrade must not make ses_templates/ stale).
        if self.template:
            d["template"] = self.template
        if self.locale:
            d["locale"] = self.locale
        if self.variants:
            d["variants"] = dict(sorted(self.variants.items()))
        if self.untranslated:
            d["untranslated"] = list(self.untranslated)
        # Likewise: a project without headers keeps its manifest byte for byte.
        if self.category == "bulk":
            d["category"] = self.category
        if self.headers:
            d["headers"] = dict(self.headers)
        return d

    def _common_json(self) -> dict[str, Any]:
        return {
            "content_hash": self.content_hash,
            "description": self.description,
            "contract": dict(self.contract),
            "variables": dict(self.variables),
            "raw_paths": list(self.raw_paths),
            "url_paths": list(self.url_paths),
            "url_checks": {path: list(kinds) for path, kinds in sorted(self.url_checks.items())},
            "samples": list(self.samples),
            "size_bytes": self.size_bytes,
            "deployed_name": self.deployed_name,
        }

    @classmethod
    def from_json(cls, name: str, d: Mapping[str, Any]) -> ManifestEntry:
        return cls(
            name=name,
            content_hash=str(d.get("content_hash", "")),
            description=str(d.get("description", "")),
            contract=d.get("contract", {}) or {},
            variables=d.get("variables", {}) or {},
            raw_paths=tuple(d.get("raw_paths", ())),
            url_paths=tuple(d.get("url_paths", ())),
            url_checks={str(p): tuple(k) for p, k in (d.get("url_checks") or {}).items()},
            samples=tuple(d.get("samples", ())),
            size_bytes=int(d.get("size_bytes", 0)),
            deployed_name=d.get("deployed_name"),
            template=str(d.get("template") or ""),
            locale=str(d.get("locale") or ""),
            variants={str(k): str(v) for k, v in (d.get("variants") or {}).items()},
            untranslated=tuple(str(m) for m in d.get("untranslated") or ()),
            category="bulk" if d.get("category") == "bulk" else "",
            headers={str(k): str(v) for k, v in (d.get("headers") or {}).items()},
        )


@dataclass(frozen=True)
class Manifest:
    templates: Mapping[str, ManifestEntry]
    html_data_key: str = "_html"
    default_locale: str = ""  # set when the project has locales

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "generator": "letterhead",
            "html_data_key": self.html_data_key,
            "templates": {n: e.to_json() for n, e in sorted(self.templates.items())},
        }
        if self.default_locale:
            d["default_locale"] = self.default_locale
        return d

    def logical_names(self) -> list[str]:
        """The templates as the application names them: one per folder, locale variants not listed."""
        return sorted(n for n, e in self.templates.items() if not e.template or e.template == n)

    def dumps(self) -> str:
        return dumps(self.to_json())

    @classmethod
    def load(cls, ses_dir: Path) -> Manifest:
        from .swap import settle

        settle(ses_dir)  # a build killed mid-swap: finish it before reading
        path = ses_dir / MANIFEST_NAME
        if not path.is_file():
            return cls({})
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"manifest is not valid JSON: {exc.msg}",
                            location=Location(str(path), exc.lineno),
                            hint="rebuild with `letterhead build`") from None
        return cls(
            {n: ManifestEntry.from_json(n, e) for n, e in (d.get("templates") or {}).items()},
            html_data_key=d.get("html_data_key", "_html"),
            default_locale=str(d.get("default_locale") or ""),
        )

