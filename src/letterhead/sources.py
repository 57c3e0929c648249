"""Reading ``templates_src/``: one folder per email, plus the brand file.

A template folder holds ``template.mjml``, ``subject.txt``, an optional
``text.txt``, ``samples/*.json`` and an optional ``template.toml`` with a
description and declared variable types.  Folders starting with ``_`` hold
Jinja layouts and partials and are not templates.  Everything read here is
checked for UTF-8, JSON and TOML, with errors naming file and line.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, NamedTuple

from .config import Config
from .errors import ConfigError, Location, SourceError

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
VARIABLE_TYPES = ("string", "integer", "number", "boolean", "url", "email", "list", "object")


class VariableSpec(NamedTuple):  # NamedTuple: cheaper to define than a dataclass at import
    """A declared variable from template.toml."""

    name: str
    type: str = "string"
    pattern: str | None = None
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.type}
        if self.pattern:
            d["pattern"] = self.pattern
        if self.description:
            d["description"] = self.description
        return d


class Sample(NamedTuple):
    name: str
    path: Path
    data: Mapping[str, Any]


@dataclass(frozen=True)
class TemplateSource:
    name: str
    folder: Path
    description: str
    variables: Mapping[str, VariableSpec]
    samples: tuple[Sample, ...]
    has_text: bool

    @functools.cached_property
    def files(self) -> tuple[Path, ...]:
        """Every file of the template's folder, sorted."""
        return tuple(Path(p) for p in sorted(_files_under(str(self.folder))))

    # Cached: a build asks for each several times, and a Path costs ~4 µs to make.
    @functools.cached_property
    def mjml_path(self) -> Path:
        return self.folder / "template.mjml"

    @functools.cached_property
    def subject_path(self) -> Path:
        return self.folder / "subject.txt"

    @functools.cached_property
    def text_path(self) -> Path:
        return self.folder / "text.txt"


def read_text(path: Path) -> str:
    """A source file's text; a clear error when it is not UTF-8."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SourceError("file not found", location=Location.of(path)) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceError(
            f"file is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            location=Location.of(path, line),
            hint="re-save the file as UTF-8 (most editors: File > Save with Encoding)",
        ) from None


def read_json(path: Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"not valid JSON: {exc.msg} (column {exc.colno})",
            location=Location.of(path, exc.lineno),
            source_line=text.splitlines()[exc.lineno - 1] if text.splitlines() else "",
            hint="check for a trailing comma, single quotes or a missing brace",
        ) from None


def read_toml(path: Path) -> dict[str, Any]:
    text = read_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise SourceError(
            f"not valid TOML: {exc}",
            location=Location.of(path, int(m.group(1)) if m else None),
            hint="see https://toml.io for the syntax",
        ) from None


def load_brand(config: Config) -> dict[str, Any]:
    if not config.brand_file.is_file():
        raise ConfigError(
            "brand file not found",
            location=Location.of(config.rel(config.brand_file)),
            hint="create it (name, colors, logo_url, postal_address, support_email), "
            "or set brand_file in [tool.letterhead]",
        )
    return read_toml(config.brand_file)


def template_names(config: Config) -> list[str]:
    if not config.source_dir.is_dir():
        raise ConfigError(
            "source folder not found",
            location=Location.of(config.rel(config.source_dir)),
            hint="run letterhead from your project root, or set source_dir in [tool.letterhead]",
        )
    return sorted(
        p.name
        for p in config.source_dir.iterdir()
        if p.is_dir() and not p.name.startswith(("_", "."))
    )


def load_source(config: Config, name: str) -> TemplateSource:
    folder = config.source_dir / name
    rel = config.rel(folder)
    if not NAME_RE.match(name):
        bad = sorted(set(re.sub(r"[A-Za-z0-9_-]", "", name))) or ["(length)"]
        raise SourceError(
            f"invalid template name {name!r}: SES allows letters, digits, '_' and '-', "
            f"1 to 64 characters (found {' '.join(repr(c) for c in bad)})",
            location=Location.of(rel),
            hint=f"rename the folder, e.g. to {re.sub(r'[^A-Za-z0-9_-]', '_', name)[:64]!r}",
        )
    for required in ("template.mjml", "subject.txt"):
        if not (folder / required).is_file():
            raise SourceError(
                f"{required} is missing",
                location=Location.of(f"{rel}/{required}"),
                hint="every template folder needs template.mjml and subject.txt",
            )
    meta: dict[str, Any] = {}
    meta_path = folder / "template.toml"
    if meta_path.is_file():
        meta = read_toml(meta_path)
    variables = _variables(meta, Location.of(config.rel(meta_path)))
    samples = []
    sample_dir = folder / "samples"
    try:
        sample_paths = sorted(sample_dir / e.name for e in os.scandir(sample_dir)
                              if e.name.endswith(".json") and not e.name.startswith(".") and e.is_file())
    except (FileNotFoundError, NotADirectoryError):
        sample_paths = []
    for path in sample_paths:
        data = read_json(path)
        if not isinstance(data, dict):
            raise SourceError(
                "a sample must be a JSON object (what the application passes as TemplateData)",
                location=Location.of(config.rel(path), 1),
                hint='wrap the values in {"name": value, ...}',
            )
        samples.append(Sample(path.stem, path, data))
    if not samples:
        raise SourceError(
            "no sample data",
            location=Location.of(f"{rel}/samples/"),
            hint="add samples/default.json with the data the application sends",
        )
    return TemplateSource(
        name=name,
        folder=folder,
        description=str(meta.get("description", "")),
        variables=variables,
        samples=tuple(samples),
        has_text=(folder / "text.txt").is_file(),
    )


def _variables(meta: Mapping[str, Any], where: Location) -> dict[str, VariableSpec]:
    result: dict[str, VariableSpec] = {}
    for name, spec in (meta.get("variables") or {}).items():
        if isinstance(spec, str):
            spec = {"type": spec}
        vtype = spec.get("type", "string")
        if vtype not in VARIABLE_TYPES:
            raise SourceError(
                f"variable {name!r} has unknown type {vtype!r}",
                location=where,
                hint=f"use one of: {', '.join(VARIABLE_TYPES)}",
            )
        pattern = spec.get("pattern")
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise SourceError(
                    f"variable {name!r}: bad pattern: {exc}", location=where,
                    hint="write a Python regular expression, e.g. '^[0-9]{6}$'",
                ) from None
        result[name] = VariableSpec(name, vtype, pattern, str(spec.get("description", "")))
    return result


def template_files(config: Config, name: str) -> tuple[str, ...]:
    """Every file of one template's folder (paths as text), sorted: what its
    build depends on, with the shared files.  Cheap: no file is read."""
    return tuple(sorted(_files_under(os.path.join(config.source_dir, name))))


def _files_under(folder: str) -> list[str]:
    """Every file below ``folder``, symbolic links to files included (as
    os.walk and isfile would find them; scandir knows most types without a
    stat: a fraction of rglob's cost)."""
    found: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return found
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            found.extend(_files_under(entry.path))
        elif entry.is_file():
            found.append(entry.path)
    return found


def shared_files(config: Config) -> tuple[Path, ...]:
    """Layouts, partials and the brand: inputs of every template."""
    files = [config.brand_file] if config.brand_file.is_file() else []
    for d in sorted(config.source_dir.iterdir()):
        if d.is_dir() and d.name.startswith("_"):
            files.extend(Path(f) for f in sorted(_files_under(str(d))))
    return tuple(files)


def digest(paths: tuple[Path | str, ...], root: Path, *extra: str) -> str:
    """A hash of files' names (relative to ``root``) and contents."""
    h = hashlib.sha256()
    for e in extra:
        h.update(e.encode() + b"\0")
    prefix = str(root).rstrip("/") + "/"
    for p in paths:
        name = str(p)  # paths come from the project's folders: plain string prefixes
        if name.startswith(prefix):
            name = name[len(prefix):]
        with open(p, "rb") as fh:
            h.update(name.encode() + b"\0" + fh.read() + b"\0")
    return h.hexdigest()
