"""Compile one template source into subject, HTML and text with placeholders.

The steps, in order (each owned by its module):

1. Load sources through Jinja; the loader swaps every SES mustache for a token
   that remembers its file and line (:mod:`letterhead.protect`).
2. Render Jinja (layouts, partials, ``[[ brand.* ]]``) — one Environment per
   build, StrictUndefined, autoescape for ``.mjml``.
3. Lift ``mj-style inline="inline"`` CSS out (:mod:`letterhead.inline`), set
   ``lang``, place tokens by where they stand in the MJML.
4. MJML → HTML with MRML (:mod:`letterhead.mjml`), then inline the CSS.
5. Verify no placeholder was lost or moved.
6. Text part: ``text.txt`` through Jinja, or generated from the HTML
   (:mod:`letterhead.text`).
7. Restore the mustaches; parse all three parts with the SES template
   language (:mod:`letterhead.handlebars`) for lint and the variable contract.
"""

from __future__ import annotations

import bisect
import re
import zlib
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import jinja2

from . import handlebars, mjml
from .config import Config
from .errors import JinjaError, LetterheadError, Location, SourceError
from .inline import extract_inline_css, inline_css
from .protect import PlaceholderTable, hoist_from_conditionals, place_in_mjml, tokens_in, verify
from .sources import TemplateSource, read_text
from .text import html_to_text

PARTS = ("subject", "html", "text")


@dataclass(frozen=True)
class CompiledTemplate:
    """One email, compiled: each part with SES placeholders written verbatim."""

    name: str
    subject: str
    html: str
    text: str
    text_generated: bool
    contract: handlebars.Contract
    # Parsed parts, for the local renderer; and where each placeholder came from.
    parsed: Mapping[str, handlebars.Template]
    placeholder_locations: Mapping[str, tuple[tuple[int, Location], ...]]

    def part(self, name: str) -> str:
        return {"subject": self.subject, "html": self.html, "text": self.text}[name]


class _ProtectingLoader(jinja2.FileSystemLoader):
    """A FileSystemLoader that tokenizes SES mustaches and insists on UTF-8."""

    def __init__(self, root: Path, table: PlaceholderTable, config: Config) -> None:
        super().__init__(str(root), encoding="utf-8")
        self.table = table
        self.config = config
        self.lines = LineMarks()

    def get_source(self, environment, template):  # type: ignore[override]
        for searchpath in self.searchpath:
            path = Path(searchpath) / template
            if path.is_file():
                break
        else:
            raise jinja2.TemplateNotFound(template)
        text = read_text(path)
        protected = self.table.protect(text, self.config.rel(path))
        if template.endswith(".mjml"):
            protected = self.lines.mark(protected, self.config.rel(path))
        mtime = path.stat().st_mtime
        return protected, str(path), lambda: path.is_file() and path.stat().st_mtime == mtime


def _bytecode_cache(config: Config) -> jinja2.BytecodeCache | None:
    """Compiled Jinja templates, kept between runs (Jinja spends ~6 ms
    compiling each file; loading its bytecode costs ~0.2 ms)."""
    directory = config.root / ".letterhead-cache" / "jinja"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory.parent / ".gitignore").write_text("*\n")
    except OSError:
        return None  # read-only checkout: compile every time
    return jinja2.FileSystemBytecodeCache(str(directory))


class Compiler:
    """Compiles templates of one project; reuse it across templates (one Jinja
    Environment per build is ~13 ms saved per template)."""

    def __init__(self, config: Config, brand: Mapping[str, Any], *, watch: bool = True) -> None:
        """``watch=False``: the sources do not change while this compiler
        lives (one build), so Jinja need not stat every layout and partial
        again for each template."""
        self.config = config
        self.brand = brand
        self.table = PlaceholderTable()
        self.loader = _ProtectingLoader(config.source_dir, self.table, config)
        self.env = jinja2.Environment(
            loader=self.loader,
            variable_start_string="[[",
            variable_end_string="]]",
            comment_start_string="[#",
            comment_end_string="#]",
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("mjml", "html"), default_for_string=False, default=False
            ),
            keep_trailing_newline=True,
            auto_reload=watch,
            bytecode_cache=_bytecode_cache(config),
        )

    # -- Jinja -------------------------------------------------------------
    def _render_jinja(self, name: str) -> str:
        try:
            return self.env.get_template(name).render(brand=self.brand)
        except LetterheadError:
            raise
        except jinja2.TemplateSyntaxError as exc:
            path = self.config.rel(Path(exc.filename)) if exc.filename else name
            raise JinjaError(
                f"Jinja syntax error: {exc.message}",
                location=Location(path, exc.lineno),
                source_line=exc.source.splitlines()[exc.lineno - 1] if exc.source and exc.lineno else None,
                hint="Jinja here uses [[ expr ]], [# comment #] and {% statement %}; "
                "SES placeholders {{ }} are written as they are",
            ) from None
        except jinja2.TemplateNotFound as exc:
            raise JinjaError(
                f"template not found: {exc.name}",
                location=self._jinja_location(exc, name),
                hint=f"paths are relative to {self.config.rel(self.config.source_dir)}/, "
                'e.g. {% extends "_layouts/base.mjml" %}',
            ) from None
        except jinja2.UndefinedError as exc:
            raise JinjaError(
                f"undefined value: {exc.message}",
                location=self._jinja_location(exc, name),
                hint=self._undefined_hint(str(exc.message)),
            ) from None
        except jinja2.TemplateError as exc:
            raise JinjaError(f"Jinja error: {exc}", location=self._jinja_location(exc, name)) from None

    def _render_text(self, name: str) -> str:
        """``subject.txt`` / ``text.txt``: most are plain text with a few
        ``[[ brand.x ]]``; those are filled in directly (Jinja would load,
        check and run a compiled template for each: ~0.25 ms).  Anything else
        (a statement, a filter, a comment, an unknown key) goes to Jinja, which
        gives the same output or the error."""
        try:
            protected, _, _ = self.loader.get_source(self.env, name)
        except jinja2.TemplateNotFound:
            return self._render_jinja(name)  # which words the error
        plain = _fill_brand(protected, self.brand)
        return plain if plain is not None else self._render_jinja(name)

    def _jinja_location(self, exc: BaseException, name: str) -> Location:
        src = str(self.config.source_dir.resolve())
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename.startswith(src) or Path(frame.filename).resolve().as_posix().startswith(src):
                return Location(self.config.rel(Path(frame.filename)), frame.lineno)
        return Location(f"{self.config.rel(self.config.source_dir)}/{name}")

    def _undefined_hint(self, message: str) -> str:
        import difflib

        m = re.search(r"has no attribute '([^']+)'|'([^']+)' is undefined", message)
        missing = (m.group(1) or m.group(2)) if m else None
        keys: list[str] = []

        def walk(d: Mapping[str, Any], prefix: str) -> None:
            for k, v in d.items():
                keys.append(k)
                if isinstance(v, Mapping):
                    walk(v, f"{prefix}{k}.")

        walk(self.brand, "")
        near = difflib.get_close_matches(missing, keys, n=1) if missing else []
        where = self.config.rel(self.config.brand_file)
        if near:
            return f"did you mean '{near[0]}'? brand values are defined in {where}"
        return f"define it in {where} or fix the name; only [[ brand.* ]] is available"

    # -- pipeline ----------------------------------------------------------
    def compile(self, source: TemplateSource) -> CompiledTemplate:
        name = source.name
        rel_mjml = self.config.rel(source.mjml_path)
        mjml_text = self._render_jinja(f"{name}/template.mjml")
        mjml_text = self._protect_rendered(mjml_text, rel_mjml)
        mjml_text, locate = self.loader.lines.strip(mjml_text, rel_mjml)
        mjml_text, css = extract_inline_css(mjml_text)  # keeps offsets: blanks the block
        mjml_text = _ensure_lang(mjml_text, self.config.lang)
        mjml_map = mjml.scan(mjml_text, locate=locate)
        placed = place_in_mjml(mjml_text, self.table, mjml_map)
        html_tokens = hoist_from_conditionals(mjml.compile_mjml(placed, locate=locate, validate=False))
        html_tokens = inline_css(html_tokens, css, self.config.inliner)  # type: ignore[arg-type]
        verify(placed, html_tokens, self.table)

        subject_tokens = self._render_text(f"{name}/subject.txt")
        subject_tokens = self._protect_rendered(subject_tokens, self.config.rel(source.subject_path))
        subject_tokens = " ".join(subject_tokens.split())
        if not subject_tokens:
            raise SourceError(
                "the subject is empty",
                location=Location(self.config.rel(source.subject_path), 1),
                hint="write the subject line in subject.txt",
            )
        if source.has_text:
            text_tokens = self._render_text(f"{name}/text.txt")
            text_tokens = self._protect_rendered(text_tokens, self.config.rel(source.text_path))
            text_tokens = text_tokens.strip("\n") + "\n"
        else:
            blocks = frozenset(self.table[i].token for i in tokens_in(html_tokens) if self.table[i].is_block)
            text_tokens = html_to_text(html_tokens, blocks, self.table.restore)

        parts_tokens = {"subject": subject_tokens, "html": html_tokens, "text": text_tokens}
        parts: dict[str, str] = {}
        parsed: dict[str, handlebars.Template] = {}
        locations: dict[str, tuple[tuple[int, Location], ...]] = {}
        for part, tokens in parts_tokens.items():
            restored, located = self.table.restore_located(tokens)
            locs = tuple(located)
            parts[part] = restored
            locations[part] = locs
            fallback = {
                "subject": self.config.rel(source.subject_path),
                "html": rel_mjml,
                "text": self.config.rel(source.text_path) if source.has_text else rel_mjml,
            }[part]
            parsed[part] = handlebars.parse(
                restored, origin=fallback, locate=_offset_locator(locs, fallback)
            )
        contract = handlebars.contract(parsed["subject"], parsed["html"], parsed["text"])
        return CompiledTemplate(
            name=name,
            subject=parts["subject"],
            html=parts["html"],
            text=parts["text"],
            text_generated=not source.has_text,
            contract=contract,
            parsed=parsed,
            placeholder_locations=locations,
        )

    def _protect_rendered(self, text: str, path: str) -> str:
        """Mustaches that appear only after Jinja ran (from a brand value or a
        ``[[ ]]`` expression) are tokenized too, located at the template."""
        if "{{" not in text:
            return text
        from .protect import _MUSTACHE_RE

        return _MUSTACHE_RE.sub(lambda m: self.table.add(m.group(0), Location(path)).token, text)


_BRAND_EXPR_RE = re.compile(r"\[\[[ \t]*brand((?:\.[A-Za-z_][A-Za-z0-9_]*)+)[ \t]*\]\]")


def _fill_brand(text: str, brand: Mapping[str, Any]) -> str | None:
    """``text`` rendered as Jinja would when its only Jinja syntax is
    ``[[ brand.a.b ]]`` with string or integer values; None otherwise."""
    if "{%" in text or "[#" in text or "\r" in text:
        return None
    out: list[str] = []
    pos = 0
    for m in _BRAND_EXPR_RE.finditer(text):
        value: Any = brand
        for key in m.group(1)[1:].split("."):
            # Jinja looks up attributes before keys (brand.items is dict.items).
            if not isinstance(value, dict) or key not in value or hasattr(value, key):
                return None
            value = value[key]
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            return None
        out.append(text[pos : m.start()])
        out.append(str(value))
        pos = m.end()
    out.append(text[pos:])
    if "[[" in "".join(out[0::2]):  # an expression this does not handle
        return None
    return "".join(out)


def _ensure_lang(mjml_text: str, lang: str) -> str:
    """MRML defaults to lang="und"; screen readers need a real language."""
    m = re.search(r"<mjml\b([^>]*)>", mjml_text)
    if m and not re.search(r"\blang\s*=", m.group(1)):
        return mjml_text[: m.end() - 1] + f' lang="{lang}"' + mjml_text[m.end() - 1 :]
    return mjml_text


class LineMarks:
    """Source line numbers that survive Jinja.

    Jinja's output has no map back to the layout, partial or template line
    that produced it, yet MJML errors must name one.  The loader puts an
    invisible mark at the start of every source line that is not inside a
    Jinja tag; after rendering, :meth:`strip` removes the marks and returns a
    locator from output offsets to ``Location(file, line)``.
    """

    MARK_RE = re.compile("\x02(\\d+):(\\d+)\x03")

    def __init__(self) -> None:
        self.paths: dict[int, str] = {}

    def mark(self, text: str, path: str) -> str:
        # File id + line: the same marks in every run (see PlaceholderTable.protect).
        fid = zlib.crc32(path.encode("utf-8"))
        self.paths[fid] = path
        out: list[str] = []
        inside: str | None = None  # the closing delimiter of the Jinja tag we are in
        delims = _JINJA_DELIM_RE.finditer(text)  # one pass over the file, not one per line
        m = next(delims, None)
        end = -1
        for lineno, line in enumerate(text.split("\n"), start=1):
            out.append(f"\x02{fid}:{lineno}\x03{line}" if inside is None else line)
            end += len(line) + 1  # the offset of this line's newline
            while m is not None and m.start() < end:
                tok = m.group(0)
                if inside is None and tok in _JINJA_OPEN:
                    inside = _JINJA_OPEN[tok]
                elif inside is not None and tok == inside:
                    inside = None
                m = next(delims, None)
        return "\n".join(out)

    def strip(self, text: str, fallback: str):
        # split() leaves [text, file id, line, text, file id, line, ..., text].
        pieces = self.MARK_RE.split(text)
        texts = pieces[0::3]
        offsets: list[int] = []
        marks: list[tuple[str, str]] = []  # (file id, line), made into Locations only when asked
        length = len(texts[0])
        for k in range(1, len(pieces), 3):
            offsets.append(length)
            marks.append((pieces[k], pieces[k + 1]))
            length += len(pieces[k + 2])
        clean = "".join(texts)

        def locate(offset: int) -> Location:
            i = bisect.bisect_right(offsets, offset) - 1
            if i >= 0:
                fid, line = marks[i]
                return Location(self.paths[int(fid)], int(line) + clean.count("\n", offsets[i], offset))
            return Location(fallback, clean.count("\n", 0, offset) + 1)

        return clean, locate


_JINJA_OPEN = {"{%": "%}", "[[": "]]", "[#": "#]"}
_JINJA_DELIM_RE = re.compile(r"\{%|%\}|\[\[|\]\]|\[#|#\]")


def _offset_locator(locs: tuple[tuple[int, Location], ...], fallback: str):
    offsets = [o for o, _ in locs]

    def locate(offset: int) -> Location:
        i = bisect.bisect_right(offsets, offset) - 1
        if i >= 0:
            return locs[i][1]
        return Location(fallback)

    return locate


def render_plain_mjml(mjml_text: str, *, inliner: str = "css-inline", lang: str = "en") -> str:
    """Plain MJML (no Jinja, placeholders left as text) → final HTML through
    the same MRML + fixes + inlining steps as a build.  For benchmarks and
    fidelity checks against the official compiler."""
    mjml_text, css = extract_inline_css(mjml_text)
    mjml_text = _ensure_lang(mjml_text, lang)
    return inline_css(mjml.compile_mjml(mjml_text), css, inliner)  # type: ignore[arg-type]
