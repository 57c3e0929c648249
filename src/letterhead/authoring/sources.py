"""Reading ``templates_src/``: one folder per email, plus the brand file.

A template folder holds ``template.mjml``, ``subject.txt``, an optional
``text.txt``, ``samples/*.json`` and an optional ``template.toml`` with a
description, declared variable types, a category and message headers.  Folders starting with ``_`` hold
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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ..config import Config
from ..errors import ConfigError, Location, SourceError
from .confine import check_inside

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
VARIABLE_TYPES = ("string", "integer", "number", "boolean", "url", "email", "color", "list", "object")


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
    # samples/<locale>/*.json: samples of one locale only (names in its
    # script), replacing a shared sample of the same name in that locale.
    locale_samples: Mapping[str, tuple[Sample, ...]] = field(default_factory=dict)
    # template.toml's ``category`` ("transactional" or "bulk") and ``[headers]``
    # (name → value template; letterhead.authoring.headers), and the lines
    # that set them (``category``, ``headers``, ``headers.<name>`` → line).
    category: str = "transactional"
    headers: Mapping[str, str] = field(default_factory=dict)
    meta_lines: Mapping[str, int] = field(default_factory=dict)
    # template.toml's ``[lint]``: rule code → "error" / "warning" / "off",
    # checked; over the project's [tool.letterhead.lint] (authoring.lint).
    lint: Mapping[str, str] = field(default_factory=dict)

    def samples_for(self, locale: str | None) -> tuple[Sample, ...]:
        """The samples a variant in ``locale`` is checked with."""
        own = self.locale_samples.get(locale or "", ())
        if not own:
            return self.samples
        names = {s.name for s in own}
        return tuple(sorted((*own, *(s for s in self.samples if s.name not in names)), key=lambda s: s.name))

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


# C0 control characters but tab, line feed and carriage return (in UTF-8 these
# bytes only ever stand for themselves): MRML stops at NUL without a line, no
# mail client shows any of them, JSON and TOML refuse them raw, and \x02 /
# \x03 would be taken for linemarks.LineMarks' own marks.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))


def read_text(path: Path, *, root: Path | None = None) -> str:
    """A source file's text; a clear error when it is not UTF-8 or holds a
    control character.  ``root``: the project root the file must lie inside
    (:mod:`letterhead.authoring.confine`); every read of a project's sources passes it
    (a ``--data`` file a user names on the command line does not)."""
    if root is not None:
        check_inside(path, root)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SourceError("file not found", location=Location.of(path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceError(
            f"file is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            location=Location.of(path, line),
            hint="re-save the file as UTF-8 (most editors: File > Save with Encoding)",
        ) from None
    if len(raw.translate(None, _CONTROL_BYTES)) != len(raw):  # on bytes: ~4x faster than a regex on the text
        offset = next(i for i, b in enumerate(raw) if b in _CONTROL_BYTES)
        raise SourceError(
            f"control character U+{raw[offset]:04X} (invisible in most editors; MRML, SES and mail "
            "clients do not take it)",
            location=Location.of(path, raw.count(b"\n", 0, offset) + 1),
            hint="delete it (it often comes with text pasted from a PDF or a word processor; "
            "a file saved as UTF-16 is full of U+0000: re-save it as UTF-8)",
        )
    return text


class _StrictJsonError(ValueError):
    """JSON that Python accepts and SES's parser does not (NaN, Infinity, a
    repeated key): raised from json's hooks, located afterwards."""


def _no_constant(name: str) -> Any:
    raise _StrictJsonError(name)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _StrictJsonError("duplicate")
    return obj


def read_json(path: Path, *, root: Path | None = None) -> Any:
    """A JSON file as SES's parser reads it: no NaN or Infinity (Python's
    json accepts them, SES refuses the data), no key twice in one object
    (Python keeps the last silently); ``root`` as for :func:`read_text`."""
    text = read_text(path, root=root)
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"not valid JSON: {exc.msg} (column {exc.colno})",
            location=Location.of(path, exc.lineno),
            source_line=text.splitlines()[exc.lineno - 1] if text.splitlines() else "",
            hint="check for a trailing comma, single quotes or a missing brace",
        ) from None
    except (_StrictJsonError, RecursionError) as exc:
        problem, offset = _json_problem(text, deep=isinstance(exc, RecursionError))
        line = text.count("\n", 0, offset) + 1
        raise SourceError(
            problem[0],
            location=Location.of(path, line),
            source_line=text.splitlines()[line - 1][:200] if text.splitlines() else "",
            hint=problem[1],
        ) from None


_JSON_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:,]|-?Infinity|NaN')


def _json_problem(text: str, *, deep: bool) -> tuple[tuple[str, str], int]:
    """(message, fix) and the offset of what Python's json refused through
    the hooks of :func:`read_json` (``deep``: its recursion limit).  Only
    called on that error: one linear scan of tokens, strings skipped whole."""
    keys: list[set[str] | None] = []  # per open bracket: keys seen ({) or None ([)
    deepest = (0, 0)  # (depth, offset where first reached)
    last_string: str | None = None
    for m in _JSON_TOKEN_RE.finditer(text):
        tok = m.group(0)
        if tok in ("NaN", "Infinity", "-Infinity"):
            return ((f"{tok} is not JSON: SES's parser refuses the whole TemplateData",
                     "write the value as a string or a number, or null for 'no value'"), m.start())
        if tok in "{[":
            keys.append(set() if tok == "{" else None)
            if len(keys) > deepest[0]:
                deepest = (len(keys), m.start())
        elif tok in "}]":
            if keys:
                keys.pop()
        elif tok == ":":
            seen = keys[-1] if keys else None
            if seen is not None and last_string is not None and not deep:
                key = json.loads(last_string)
                if key in seen:
                    start = text.rfind(last_string, 0, m.start())
                    return ((f"key {last_string} appears twice in one object "
                             "(Python keeps the last, other parsers the first)",
                             "remove one of the two, or rename it"), max(start, 0))
                seen.add(key)
        last_string = tok if tok.startswith('"') else None
    if deep:
        return ((f"nested {deepest[0]:,} levels deep: too deep for a JSON reader to follow",
                 "flatten the data: what a template prints is a few levels deep"), deepest[1])
    return (("not valid JSON", "check the file with a JSON validator"), 0)  # the hooks raised: not reached


def read_toml(path: Path, *, root: Path | None = None) -> dict[str, Any]:
    text = read_text(path, root=root)
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
    return read_toml(config.brand_file, root=config.root)


def template_names(config: Config) -> list[str]:
    """The template folders of the project, sorted.

    Folders starting with ``_`` (layouts, partials) and hidden folders
    (``.git``, ``.idea``) are not templates; but a hidden folder holding a
    ``template.mjml`` was meant to be one, and two names that differ only by
    case collide on macOS and Windows disks (``build/Welcome`` is
    ``build/welcome`` there): both are errors rather than silent skips."""
    if not config.source_dir.is_dir():
        raise ConfigError(
            "source folder not found",
            location=Location.of(config.rel(config.source_dir)),
            hint="run letterhead from your project root, or set source_dir in [tool.letterhead]",
        )
    names: list[str] = []
    for entry in os.scandir(config.source_dir):
        if not entry.is_dir():
            continue
        if entry.name.startswith("."):
            if os.path.isfile(os.path.join(entry.path, "template.mjml")):
                raise SourceError(
                    f"folder {entry.name!r} holds a template.mjml but its name starts with '.', "
                    "so it would be skipped as hidden (and SES names allow only letters, digits, '_' and '-')",
                    location=Location.of(config.rel(entry.path)),
                    hint=f"rename it, e.g. to {entry.name.lstrip('.') or 'template'!r}; "
                    "to park a draft, move it out of the source folder or start its name with '_'",
                )
            continue
        if not entry.name.startswith("_"):
            names.append(entry.name)
    names.sort()
    by_case: dict[str, str] = {}
    for name in names:
        other = by_case.setdefault(name.casefold(), name)
        if other != name:
            raise SourceError(
                f"template folders {other!r} and {name!r} differ only by case: on macOS and Windows "
                "disks their build outputs are one folder, and a checkout there keeps only one of them",
                location=Location.of(config.rel(os.path.join(config.source_dir, name))),
                hint=f"rename one of {config.rel(os.path.join(config.source_dir, other))} and "
                f"{config.rel(os.path.join(config.source_dir, name))}",
            )
    return names


def load_source(config: Config, name: str) -> TemplateSource:
    folder = config.source_dir / name
    rel = config.rel(folder)
    check_inside(folder, config.root, location=Location.of(rel))
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
        meta = read_toml(meta_path, root=config.root)
    variables = _variables(meta, Location.of(config.rel(meta_path)))
    category, headers, meta_lines = "transactional", dict[str, str](), dict[str, int]()
    if "category" in meta or "headers" in meta:
        from .headers import parse_headers, toml_lines

        meta_lines = toml_lines(read_text(meta_path, root=config.root))
        category, headers = parse_headers(meta, Location.of(config.rel(meta_path)), lines=meta_lines)
    lint = _lint_table(meta, meta_path, config.rel(meta_path)) if "lint" in meta else {}
    sample_dir = folder / "samples"
    samples = _read_samples(config, sample_dir)
    locale_samples: dict[str, tuple[Sample, ...]] = {}
    for locale in config.locales:
        for spelling in dict.fromkeys((locale, locale.replace("_", "-"))):
            if (sample_dir / spelling).is_dir():
                locale_samples[locale] = _read_samples(config, sample_dir / spelling)
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
        samples=samples,
        has_text=(folder / "text.txt").is_file(),
        locale_samples=locale_samples,
        category=category,
        headers=headers,
        meta_lines=meta_lines,
        lint=lint,
    )


def _lint_table(meta: Mapping[str, Any], path: Path, rel: str) -> dict[str, str]:
    """template.toml's ``[lint]``, checked against the rules (SourceError at the line of a mistake)."""
    from ..config import toml_key_lines
    from .lint import check_severities

    table = meta["lint"]
    lines = toml_key_lines(path, "lint")
    if not isinstance(table, Mapping):
        raise SourceError("[lint] must be a table of rule code = severity", location=Location.of(rel),
                          hint='[lint]\nimg-alt = "warning"')
    return check_severities(table, where=f"{rel} [lint]", file=rel, lines=lines, error=SourceError)


def _read_samples(config: Config, sample_dir: Path) -> tuple[Sample, ...]:
    try:
        sample_paths = sorted(sample_dir / e.name for e in os.scandir(sample_dir)
                              if e.name.endswith(".json") and not e.name.startswith(".") and e.is_file())
    except (FileNotFoundError, NotADirectoryError):
        sample_paths = []
    samples = []
    for path in sample_paths:
        data = read_json(path, root=config.root)
        if not isinstance(data, dict):
            raise SourceError(
                "a sample must be a JSON object (what the application passes as TemplateData)",
                location=Location.of(config.rel(path), 1),
                hint='wrap the values in {"name": value, ...}',
            )
        samples.append(Sample(path.stem, path, data))
    return tuple(samples)


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
    """Layouts, partials and the brand: inputs of every template.  The
    catalogues (``_locales/``) are not: each is an input of its locale's
    variants only (editing ``es`` rebuilds the ``es`` variants)."""
    files = [config.brand_file] if config.brand_file.is_file() else []
    for d in sorted(config.source_dir.iterdir()):
        if d.is_dir() and d.name.startswith("_") and d != config.locales_dir:
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
            h.update(name.encode("utf-8", "surrogateescape") + b"\0" + fh.read() + b"\0")
    return h.hexdigest()


def one_line_subject(rendered: str, path: Path, rel: str) -> str:
    """The subject line: the one non-blank line of the rendered subject.txt
    (``path``, ``rel`` to the project), its ends trimmed (Jinja statements on
    lines of their own leave blank lines; a trailing newline is normal).  A
    second line of text is an error: joining it silently would change the
    subject."""
    lines = [line for line in rendered.split("\n") if line.strip()]
    if len(lines) <= 1:
        return lines[0].strip() if lines else ""
    raise SourceError(
        f"the subject has {len(lines)} lines of text; an email subject is one line",
        location=Location(rel, _second_text_line(read_text(path))),
        hint="write the subject on one line (Jinja statements may stand on lines of their own); "
        "letterhead does not join lines, so the subject is sent as you wrote it",
    )


_JINJA_TAG_RE = re.compile(r"\{%.*?%\}|\[#.*?#\]", re.DOTALL)


def _second_text_line(source: str) -> int | None:
    """The line of the second line of text in a subject.txt source, not
    counting Jinja statements and comments (which render to nothing); None
    when the extra line comes from a value rather than the source."""
    blanked = _JINJA_TAG_RE.sub(lambda m: "\n" * m.group(0).count("\n"), source)
    text_lines = [n for n, line in enumerate(blanked.split("\n"), start=1) if line.strip()]
    return text_lines[1] if len(text_lines) > 1 else None


# -- Jinja syntax errors, at the tag the designer must fix -----------------------
# Jinja reports a syntax error where it noticed it: an unclosed {% if %} at the
# {% endblock %} after it or at the end of the file, a tag missing its %} at a
# later line.  Re-reading the file's Jinja tokens finds the tag that is open.

_BLOCK_TAGS = frozenset({"if", "for", "macro", "call", "filter", "block", "with", "autoescape", "set"})
JinjaToken = tuple[int, str, str]  # (line, token type, text), as Environment.lex yields them


class JinjaSyntax(NamedTuple):
    """Where a Jinja syntax error is to be fixed, and how to say it."""

    line: int
    message: str
    hint: str


class _JinjaTag(NamedTuple):
    line: int
    name: str  # the statement ("if", "endfor"); "" for [[ expressions ]]
    text: str  # as written, whitespace runs made one space, cut when long
    raw: str
    tokens: tuple[JinjaToken, ...]


def _jinja_tag(tokens: list[JinjaToken]) -> _JinjaTag:
    raw = "".join(value for _, _, value in tokens)
    text = " ".join(raw.split())
    names = [value for _, kind, value in tokens if kind == "name"]
    name = names[0] if names and tokens[0][1] == "block_begin" else ""
    return _JinjaTag(tokens[0][0], name, text if len(text) <= 60 else text[:59] + "…", raw, tuple(tokens))


_JINJA_HINT = ("Jinja here uses [[ expr ]], [# comment #] and {% statement %}; "
               "SES placeholders {{ }} are written as they are")
_LEXER_FAILURES = {
    "Missing end of comment tag": ("the comment [# is not closed", "close it with #]"),
    "Missing end of raw directive": ("{% raw %} is never closed", "close it with {% endraw %}"),
}


def explain_jinja_syntax(tokens: Iterable[JinjaToken], lineno: int | None, message: str) -> JinjaSyntax:
    """The line to fix for Jinja's syntax error ``message`` at ``lineno``,
    and how to say it, given the template's tokens (up to where its lexer
    stopped): the opening tag of the innermost block left open, an end tag
    that closes nothing, the start of a tag or string that runs on; else
    Jinja's own line and words (less its offsets into the protected text)."""
    message = re.sub(r" at \d+$", "", message)
    if message in _LEXER_FAILURES or not lineno:
        said, hint = _LEXER_FAILURES.get(message, (message, _JINJA_HINT))
        return JinjaSyntax(lineno or 0, said, hint)
    return _explain(tokens, lineno, message) or JinjaSyntax(lineno, message, _JINJA_HINT)


def _explain(tokens: Iterable[JinjaToken], lineno: int, message: str) -> JinjaSyntax | None:
    stack: list[_JinjaTag] = []
    current: list[JinjaToken] | None = None  # the tokens of the tag being read
    stray: _JinjaTag | None = None
    for token in tokens:
        line, kind, _ = token
        if line > lineno:
            break
        if kind in ("block_begin", "variable_begin"):
            current = [token]
        elif current is not None:
            current.append(token)
            if kind in ("block_end", "variable_end"):
                tag, current = _jinja_tag(current), None
                ends = tag.name[3:] if tag.name.startswith("end") else ""
                if tag.name in _BLOCK_TAGS and not (tag.name == "set" and ("operator", "=") in
                                                    {(k, v) for _, k, v in tag.tokens}):
                    stack.append(tag)
                elif ends in _BLOCK_TAGS:
                    if stack and stack[-1].name == ends:
                        stack.pop()
                    else:
                        stray = tag
                        break
    if stray is not None:
        wanted = stray.name[3:]
        top = stack[-1] if stack else None
        if top is not None and any(t.name == wanted for t in stack):
            return JinjaSyntax(top.line, f"`{top.text}` is never closed: `{stray.text}` on line {stray.line} "
                               f"ends the {{% {wanted} %}} around it",
                               f"close it with {{% end{top.name} %}} where it should end, before line {stray.line}")
        inner = f"; the innermost open block is `{top.text}` from line {top.line}" if top else ""
        closer = f"; to close `{top.text}` write {{% end{top.name} %}}" if top else ""
        return JinjaSyntax(stray.line, f"`{stray.text}` closes no {{% {wanted} %}}{inner}",
                           f"remove it, or add the {{% {wanted} … %}} it should close{closer}")
    if current is None and stack and message.startswith("Unexpected end of template"):
        top = stack[-1]
        return JinjaSyntax(top.line, f"`{top.text}` is never closed: Jinja reached the end of the file inside it",
                           f"close it with {{% end{top.name} %}} where the block ends")
    if current is not None:
        return _open_tag(_jinja_tag(current), lineno, message)
    return None


def _open_tag(tag: _JinjaTag, lineno: int, message: str) -> JinjaSyntax | None:
    """A tag still open at Jinja's error: a string that runs on, a ``%}`` or
    ``]]`` missing (reported at the tag when it starts on an earlier line)."""
    opener = tag.tokens[0][2].rstrip("-+")
    closer = "%}" if opener == "{%" else "]]"
    for line, kind, value in tag.tokens:
        if kind == "string" and "\n" in value:
            return JinjaSyntax(line, f"the string `{value.splitlines()[0]}` in `{tag.raw.splitlines()[0].strip()}` "
                               f"is not closed: its quote runs on to line {line + value.count(chr(10))}",
                               f"close the string with {value[0]}")
    quote = re.match(r"unexpected char '(['\"])'", message)
    if quote:
        return JinjaSyntax(lineno, f"a quote {quote.group(1)} in `{tag.text}` opens a string that is never closed",
                           f"close the string with {quote.group(1)}, or remove the quote")
    if tag.line < lineno:
        return JinjaSyntax(tag.line, f"`{opener}` on this line is not closed where it should be: Jinja read on "
                           f"to line {lineno} and stopped ({message.rstrip('.')})",
                           f"close it with `{closer}`; look for a missing `{closer}`, quote or bracket")
    if message.startswith(("expected token 'end of", "unexpected end of template")):
        return JinjaSyntax(lineno, message, f"close `{opener}` with `{closer}`; look for a missing quote or bracket")
    return None
