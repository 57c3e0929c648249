"""Compile one template source into subject, HTML and text with placeholders.

The steps, in order (each owned by its module):

1. Load sources through Jinja; the loader swaps every SES mustache for a token
   that remembers its file and line (:mod:`letterhead.authoring.protect`).
2. Render Jinja (layouts, partials, ``[[ brand.* ]]``) — one Environment per
   build, StrictUndefined, autoescape for ``.mjml``.
3. Lift ``mj-style inline="inline"`` CSS out (:mod:`letterhead.authoring.inline`), set
   ``lang``, place tokens by where they stand in the MJML.
4. MJML → HTML with MRML (:mod:`letterhead.authoring.mjml`), then inline the CSS.
5. Verify no placeholder was lost or moved.
6. Text part: ``text.txt`` through Jinja, or generated from the HTML
   (:mod:`letterhead.authoring.text`).
7. Restore the mustaches; parse all three parts with the SES template
   language (:mod:`letterhead.sestemplate`) for lint and the variable contract.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import jinja2
import jinja2.bccache
import jinja2.runtime
import jinja2.sandbox

from .. import sestemplate
from ..config import Config
from ..errors import JinjaError, LetterheadError, Location, SourceError, TemplateSyntaxError
from ..locales import bcp47, is_rtl
from . import mjml
from .inline import extract_inline_css, inline_css
from .jinja_cache import (
    Escapes,
    Messages,
    MessageState,
    ProtectingLoader,
    SandboxEnvironment,
    TextPlan,
    TooComplex,
    bytecode_cache,
    text_plan,
)
from .linemarks import LineMarks, offset_locator
from .protect import (
    PlaceholderTable,
    check_source,
    designer_excerpt,
    hoist_from_conditionals,
    place_in_mjml,
    tokens_in,
    verify,
)
from .sources import TemplateSource, explain_jinja_syntax, one_line_subject
from .text import html_to_text

if TYPE_CHECKING:  # pragma: no cover
    from .contexts import Analysis

PARTS = ("subject", "html", "text")


class Translations(Protocol):
    """What the compiler asks of a locale's catalogue
    (:class:`letterhead.authoring.i18n.Catalog` is one): a translation with its
    SES placeholders verbatim, or None when the message is untranslated."""

    @property
    def path(self) -> str: ...  # the catalogue's file, relative to the project

    def gettext(self, msgid: str) -> str | None: ...
    def ngettext(self, singular: str, plural: str, n: int) -> str | None: ...
    def pgettext(self, context: str, msgid: str) -> str | None: ...
    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str | None: ...
    def line_of(self, msgid: str, context: str | None = None) -> int | None: ...


# LineMarks' marks in a trimmed {% trans %} body, with the whitespace that
# stood around the line breaks they followed.
_MARKS_IN_TRIMMED_RE = re.compile("(?:\\s*\x02\\d+:\\d+\x03)+\\s*")


@dataclass(frozen=True)
class CompiledTemplate:
    """One email, compiled: each part with SES placeholders written verbatim."""

    name: str
    subject: str
    html: str
    text: str
    text_generated: bool
    contract: sestemplate.Contract
    # Parsed parts, for the local renderer; and where each placeholder came from.
    parsed: Mapping[str, sestemplate.Template]
    placeholder_locations: Mapping[str, tuple[tuple[int, Location], ...]]
    # Locales (issue 13): the locale this variant was compiled in (None: a
    # project without locales) and the messages its catalogue left untranslated.
    locale: str | None = None
    untranslated: tuple[str, ...] = ()

    def part(self, name: str) -> str:
        return {"subject": self.subject, "html": self.html, "text": self.text}[name]

    @functools.cached_property
    def contexts(self) -> Analysis:
        """Where each placeholder prints (:mod:`letterhead.authoring.contexts`), worked
        out once: the payload, every sample's render and the lint read it."""
        from .contexts import analyze

        return analyze(self)


@dataclass(frozen=True)
class _Front:
    """A variant up to the MJML MRML reads: the placed document, its inline
    CSS, the locator of its offsets, its direction, the messages left
    untranslated so far; ``html``: its HTML before mirroring when it was
    made from a compile shared with its siblings (None: compile it)."""

    placed: str
    css: str
    locate: Callable[[int], Location]
    rtl: bool
    untranslated: tuple[str, ...]
    html: str | None = None


def _share_structure(fronts: dict[str | None, _Front | LetterheadError], inliner: str) -> None:
    """Compile the variants' MJML once when they differ only in their words
    (:func:`letterhead.authoring.share.skeleton`), and give each variant its
    HTML from it; a variant whose words :func:`~letterhead.authoring.share.fill`
    cannot place for sure is left to compile alone, as is everything after
    an error.  Exact: the same HTML as each variant's own compile."""
    from .share import fill, places, skeleton

    ready = {loc: f for loc, f in fronts.items() if isinstance(f, _Front)}
    if len(ready) < 2 or len({f.css for f in ready.values()}) != 1:
        return
    css = next(iter(ready.values())).css
    sk = skeleton([f.placed for f in ready.values()], serialised=bool(css.strip()))
    if sk is None:
        return
    try:
        html = inline_css(hoist_from_conditionals(mjml.compile_mjml(sk.marked, validate=False)), css,
                          inliner)  # type: ignore[arg-type]
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # MRML's panics too: each variant's own compile says what and where
        return
    where = places(html)
    for (loc, front), words in zip(ready.items(), sk.fills, strict=True):
        filled = fill(html, words, where)
        if filled is not None:
            fronts[loc] = dataclasses.replace(front, html=filled)


class Compiler:
    """Compiles templates of one project; reuse it across templates (one Jinja
    Environment per build is ~13 ms saved per template)."""

    def __init__(self, config: Config, brand: Mapping[str, Any], *, watch: bool = True) -> None:
        """``watch=False``: the sources do not change while this compiler
        lives (one build), so Jinja need not stat every layout and partial
        again for each template."""
        self.config = config
        self.brand = brand
        # A build's compiler compiles a template's locale variants from one
        # MRML run (_share_structure); LETTERHEAD_SHARE=0 compiles each alone.
        self._share = not watch and config.inliner == "css-inline" and os.environ.get("LETTERHEAD_SHARE") != "0"
        self._groups: dict[str, tuple[TemplateSource, dict[str | None, _Front | LetterheadError]]] = {}
        # subject.txt / text.txt filled in without Jinja, by name (see _render_text).
        self._filled: dict[str, TextPlan | None] | None = None if watch else {}
        self.table = PlaceholderTable()
        self.loader = ProtectingLoader(config.source_dir, self.table, config, keep=not watch)
        self.env = SandboxEnvironment(
            loader=self.loader,
            variable_start_string="[[",
            variable_end_string="]]",
            comment_start_string="[#",
            comment_end_string="#]",
            undefined=jinja2.StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("mjml", "html"), default_for_string=False, default=False
            ),
            keep_trailing_newline=True,
            auto_reload=watch,
            # A build's compiler keeps every template it loaded in a dict:
            # Jinja's LRU cache (400) scans its queue on each hit.
            cache_size=400 if watch else -1,
            bytecode_cache=bytecode_cache(config),
        )
        # {% trans %} bodies are whitespace-normalised: the msgid does not
        # change with the template's indentation, and extraction agrees.
        self.env.policies["ext.i18n.trimmed"] = True
        # One set of callables for the Environment's life, dispatching to the
        # catalogue of the variant being compiled: Jinja snapshots globals into
        # imported templates (macros), so the functions themselves never change.
        self._catalog: Translations | None = None
        self._messages = MessageState()
        # A translation's protected text by all that protect() reads, for a
        # build's compiler: every template that has the message asks again
        # (each with its own line marks, so _translate_once's memo misses).
        # protect() is a function of these; the placeholders it put in the
        # table stay there (ids derive from the catalogue and message).
        self._protected: dict[tuple[str, str, int, str], str] | None = None if watch else {}
        # A message's clean text and catalogue id by its text in the template (see _cleaned).
        self._cleaned_memo: dict[str, tuple[str, str]] | None = None if watch else {}
        # Each message's result per catalogue, for a build's compiler (see
        # _translate_once; a watching one lives on while catalogues are edited).
        self._translated: dict[int, tuple[Translations | None, dict[tuple[Any, ...], tuple[str, str | None]]]] | None \
            = None if watch else {}
        self._gettext = Messages(self._messages, "g", lambda m: self._translate_once(
            ("g", m), lambda: self._translate(m, lambda c, k: c.gettext(k))))
        self.env.install_gettext_callables(  # type: ignore[attr-defined]
            gettext=self._gettext,
            ngettext=Messages(self._messages, "n", lambda s, p, n: self._translate_once(
                ("n", s, p, n), lambda: self._translate(
                    s if n == 1 else p, lambda c, k: c.ngettext(*self._plural_keys(s, p), n), plural=(s, p)))),
            pgettext=Messages(self._messages, "p", lambda ctx, m: self._translate_once(
                ("p", ctx, m), lambda: self._translate(m, lambda c, k: c.pgettext(ctx, k), context=ctx))),
            npgettext=Messages(self._messages, "np", lambda ctx, s, p, n: self._translate_once(
                ("np", ctx, s, p, n), lambda: self._translate(
                    s if n == 1 else p, lambda c, k: c.npgettext(ctx, *self._plural_keys(s, p), n), plural=(s, p),
                    context=ctx))),
            newstyle=False,
        )

    # -- translations ------------------------------------------------------
    def _clean(self, msgid: str) -> str:
        """Jinja's text of a message without the loader's line marks, as
        extraction sees it: a trimmed body (no line break left) loses each
        mark with the whitespace around it (where a line break stood); an
        untrimmed one (``{% trans notrimmed %}``) only the marks."""
        if "\x02" not in msgid:
            return msgid
        if "\n" in msgid:
            return LineMarks.MARK_RE.sub("", msgid)
        return _MARKS_IN_TRIMMED_RE.sub(" ", msgid).strip()

    def _cleaned(self, msgid: str) -> tuple[str, str]:
        """(:meth:`_clean` of ``msgid``, that with its tokens restored: the
        catalogue's message id), kept by ``msgid`` for a build's compiler:
        every locale's variant of a template asks again (its tokens and line
        marks are that template's, so no other template shares the key).
        Safe to keep: the tokens a message holds come from a source file
        read once for the build, and the table never changes what a token
        stands for meanwhile (see :meth:`_translate_once`)."""
        memo = self._cleaned_memo
        if memo is not None:
            found = memo.get(msgid)
            if found is not None:
                return found
        clean = self._clean(msgid)
        pair = (clean, self.table.restore(clean))
        if memo is not None:
            memo[msgid] = pair
        return pair

    def _plural_keys(self, singular: str, plural: str) -> tuple[str, str]:
        return self._cleaned(singular)[1], self._cleaned(plural)[1]

    def _translate_once(self, key: tuple[Any, ...], translate: Callable[[], str]) -> str:
        """``translate()``, worked out once per message and catalogue for the
        compiler's life: a layout's messages are met again in every template,
        and every locale's variant asks for the same messages.  Safe to keep:
        the result depends only on the message (``key``: the gettext call's
        arguments, line marks included) and the catalogue, which does not
        change while this compiler holds it (a catalogue object is never
        edited; a reloaded one is a new object and gets its own entry), and
        the placeholders its translation was protected into stay in the table
        (their ids derive from the catalogue and message, so the table holds
        exactly what a second protect would put there).  Errors are not kept:
        they are raised again."""
        memo = self._messages.memo
        if memo is None:
            return translate()
        found = memo.get(key)
        if found is None:
            untranslated = self._messages.untranslated
            before = len(untranslated)
            text = translate()
            found = memo[key] = (text, untranslated[before] if len(untranslated) > before else None)
        elif found[1] is not None:
            self._messages.untranslated.append(found[1])
        return found[0]

    def _use_catalog(self, catalog: Translations | None) -> None:
        """Compile in ``catalog``'s language from now on (None: the source language)."""
        self._catalog, self._messages.untranslated, self._messages.memo = catalog, [], None
        if self._translated is not None:
            slot = self._translated.get(id(catalog))
            if slot is None or slot[0] is not catalog:  # held in the slot: its id cannot be reused meanwhile
                slot = self._translated[id(catalog)] = (catalog, {})
            self._messages.memo = slot[1]

    def _translate(self, msgid: str, lookup: Callable[[Translations, str], str | None],
                   plural: tuple[str, str] | None = None, context: str | None = None) -> str:
        """A message of the template in the variant's language, its SES
        placeholders swapped for tokens located at the catalogue's line; the
        message itself (in the source language) when untranslated."""
        catalog = self._catalog
        if catalog is None:
            return self._clean(msgid)
        if plural:
            key, clean = self._cleaned(plural[0])[1], self._clean(msgid)
        else:
            clean, key = self._cleaned(msgid)
        found = lookup(catalog, key)
        if found is None:
            self._messages.untranslated.append(key)
            return clean
        where = (found, catalog.path, catalog.line_of(key, context) or 1, f"{catalog.path}\0{key}")
        protected = self._protected.get(where) if self._protected is not None else None
        if protected is None:
            protected = self.table.protect(found, where[1], first_line=where[2], key=where[3])
            if self._protected is not None:
                self._protected[where] = protected
        return protected

    # -- Jinja -------------------------------------------------------------
    def _render_jinja(self, name: str) -> str:
        try:
            return self.env.get_template(name).render(brand=self.brand)
        except LetterheadError:
            raise
        except jinja2.TemplateSyntaxError as exc:
            raise self._syntax_error(exc, name) from None
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
        except Escapes as exc:
            raise JinjaError(
                f"{exc.message}",
                location=self._jinja_location(exc, name),
                hint=f"include, extends and import read files inside {self.config.rel(self.config.source_dir)}/ "
                'by their path there, e.g. {% include "_partials/footer.mjml" %}; '
                "a symbolic link may point anywhere inside the project, never out of it",
            ) from None
        except jinja2.exceptions.SecurityError as exc:
            raise JinjaError(
                f"blocked by the template sandbox: {exc}",
                location=self._jinja_location(exc, name),
                hint="templates may only read brand values ([[ brand.* ]]) and use Jinja's filters, "
                "tests and statements; attributes starting with '_' and methods that change data are off limits",
            ) from None
        except TooComplex as exc:
            raise JinjaError(
                str(exc),
                location=Location(self.config.rel(Path(exc.filename)), exc.lineno) if exc.filename
                else self._jinja_location(exc, name),
                hint="nest fewer {% if %} / {% for %} blocks (at most a few dozen) or split the template "
                "into partials",
            ) from None
        except jinja2.TemplateError as exc:
            raise JinjaError(f"Jinja error: {exc}", location=self._jinja_location(exc, name)) from None
        except Exception as exc:
            # Python raised inside template code ([[ 1/0 ]], a macro that
            # calls itself): the template's fault when a frame of the
            # traceback is a template line; anything else is a letterhead bug.
            where = self._template_frame(exc)
            if where is None:
                raise
            what = "a macro or include calls itself without end" if isinstance(exc, RecursionError) \
                else f"{type(exc).__name__}: {exc}"
            raise JinjaError(
                f"the template failed while rendering: {what}",
                location=where,
                hint="fix the expression on this line; templates run at build time and may only "
                "compute with brand values",
            ) from None

    def _syntax_error(self, exc: jinja2.TemplateSyntaxError, name: str) -> JinjaError:
        """Jinja's syntax error at the tag to fix in the designer's file (the
        ``{% if %}`` left open, not the ``{% endblock %}`` where Jinja noticed
        it), in the designer's words: no tokens, no offsets into the protected
        source (:func:`~letterhead.authoring.sources.explain_jinja_syntax`)."""
        # Jinja's lexer failures pass the file name as the template name.
        filename = exc.filename or (exc.name if exc.name and os.path.isabs(exc.name) else None)
        path = Path(filename) if filename else self.config.source_dir / name
        protected = LineMarks.MARK_RE.sub("", exc.source or "")  # the text Jinja read, line for line
        found = explain_jinja_syntax(self._jinja_tokens(protected), exc.lineno, exc.message or str(exc))
        message, restore = f"Jinja syntax error: {self.table.restore(found.message)}", self.table.restore
        line = Location(str(path), found.line).read_line()
        return JinjaError(message, location=Location(self.config.rel(path), found.line), hint=restore(found.hint),
                          source_line=designer_excerpt(line, None, message) if line is not None else None)

    def _jinja_tokens(self, source: str) -> Iterator[tuple[int, str, str]]:
        """Jinja's tokens of ``source``, up to where its lexer gives up."""
        try:
            yield from self.env.lex(source)
        except jinja2.TemplateSyntaxError:
            return

    def _render_text(self, name: str) -> str:
        """``subject.txt`` / ``text.txt``: most are plain text with a few
        ``[[ brand.x ]]`` and ``{% trans %}`` blocks; those are rendered
        directly (Jinja would load, check and run a compiled template for
        each: ~0.25 ms), the blocks through the same gettext as Jinja's
        (:func:`~letterhead.authoring.jinja_cache.text_plan`).  Anything
        else (a statement, a filter, an unknown key) goes to Jinja, which
        gives the same output or the error; so does a translation that does
        not format.

        Without ``watch`` the plan is kept by name for the compiler's life
        (every locale's variant reads the same file): the file does not change
        meanwhile, nor does the brand, and the placeholders its reading put in
        the table stay there.  None is kept too: the file needs Jinja."""
        filled = self._filled
        if filled is not None and name in filled:
            plan = filled[name]
        else:
            try:
                protected, _, _ = self.loader.get_source(self.env, name)
            except (jinja2.TemplateNotFound, Escapes):
                return self._render_jinja(name)  # which words the error
            plan = text_plan(protected, self.brand)
            if filled is not None:
                filled[name] = plan
        if plan is None:
            return self._render_jinja(name)
        if len(plan) == 1:
            return plan[0]  # type: ignore[return-value]
        gettext = self._gettext  # what Jinja's {% trans %} calls
        out: list[str] = []
        for piece in plan:
            if isinstance(piece, str):
                out.append(piece)
                continue
            msgid, values = piece
            text = gettext(msgid)
            if values is not None:
                try:
                    text = text % values
                except Exception:
                    return self._render_jinja(name)
            out.append(text)
        return "".join(out)

    def _jinja_location(self, exc: BaseException, name: str) -> Location:
        return self._template_frame(exc) or Location(f"{self.config.rel(self.config.source_dir)}/{name}")

    def _template_frame(self, exc: BaseException) -> Location | None:
        """The innermost template line in ``exc``'s traceback (Jinja rewrites
        tracebacks so that template code shows as the template's lines)."""
        src = str(self.config.source_dir.resolve())
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename.startswith(src) or Path(frame.filename).resolve().as_posix().startswith(src):
                return Location(self.config.rel(Path(frame.filename)), frame.lineno)
        return None

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
    def compile(self, source: TemplateSource, *, locale: str | None = None,
                catalog: Translations | None = None,
                siblings: Sequence[tuple[str | None, Translations | None]] = ()) -> CompiledTemplate:
        """``locale``: compile the variant in that locale (its ``lang`` and
        ``dir``; right-to-left mirrored by :mod:`letterhead.authoring.rtl`),
        reading messages from ``catalog`` (None: the source language).
        ``siblings``: every variant of the template this compiler will be
        asked for (this one included), each locale with its catalogue: their
        MJML compiles once for all (:mod:`letterhead.authoring.share`)."""
        front = self._shared_front(source, locale, siblings) if len(siblings) > 1 and self._share else None
        self._use_catalog(catalog)
        try:
            if front is not None:
                if isinstance(front, LetterheadError):
                    raise front
                self._messages.untranslated.extend(front.untranslated)
            return self._compile(source, locale, front)
        finally:
            self._catalog = self._messages.memo = None

    def _shared_front(self, source: TemplateSource, locale: str | None,
                      siblings: Sequence[tuple[str | None, Translations | None]]) -> _Front | LetterheadError | None:
        """This variant's MJML, read with all its siblings' the first time one
        is asked for, and their HTML made from one compile where the
        documents differ only in their words; None: compile it alone."""
        group = self._groups.get(source.name)
        if group is None or group[0] is not source:
            fronts: dict[str | None, _Front | LetterheadError] = {}
            for loc, cat in siblings:
                self._use_catalog(cat)
                try:
                    fronts[loc] = self._front(source, loc)
                except LetterheadError as exc:
                    fronts[loc] = exc
                finally:
                    self._catalog = self._messages.memo = None
            _share_structure(fronts, self.config.inliner)
            group = self._groups[source.name] = (source, fronts)
        found = group[1].pop(locale, None)
        if not group[1]:
            del self._groups[source.name]
        return found

    def _front(self, source: TemplateSource, locale: str | None) -> _Front:
        """Jinja to the MJML MRML reads, with placeholders placed."""
        rel_mjml = self.config.rel(source.mjml_path)
        mjml_text = self._render_jinja(f"{source.name}/template.mjml")
        mjml_text = self._protect_rendered(mjml_text, rel_mjml)
        mjml_text, locate = self.loader.lines.strip(mjml_text, rel_mjml)
        mjml_text, css = extract_inline_css(mjml_text)  # keeps offsets: blanks the block
        rtl = locale is not None and is_rtl(locale)
        if locale is None:
            mjml_text = _ensure_lang(mjml_text, self.config.lang)
        else:
            from .rtl import mjml_dir

            mjml_text = mjml_dir(mjml_text, bcp47(locale), rtl)
        mjml_map = mjml.scan(mjml_text, locate=locate)
        placed = place_in_mjml(mjml_text, self.table, mjml_map)
        return _Front(placed, css, locate, rtl, tuple(self._messages.untranslated))

    def designer_mjml(self, source: TemplateSource, *, locale: str | None = None,
                      catalog: Translations | None = None) -> tuple[str, Callable[[int], Location]]:
        """The MJML the designer wrote, after Jinja (layouts, partials and
        brand values in place; placeholders as their protected tokens) and
        before MRML, with a locator from its offsets to the layout, partial
        or template line that wrote them: what ``letterhead check`` judges
        for client support, MJML's own output aside."""
        self._use_catalog(catalog)
        try:
            mjml_text = self._render_jinja(f"{source.name}/template.mjml")
            mjml_text = self._protect_rendered(mjml_text, self.config.rel(source.mjml_path))
            return self.loader.lines.strip(mjml_text, self.config.rel(source.mjml_path))
        finally:
            self._catalog = self._messages.memo = None

    def _compile(self, source: TemplateSource, locale: str | None, front: _Front | None = None) -> CompiledTemplate:
        name = source.name
        rel_mjml = self.config.rel(source.mjml_path)
        if front is None:
            front = self._front(source, locale)
        placed = front.placed
        html_tokens = front.html
        if html_tokens is None:
            html_tokens = hoist_from_conditionals(mjml.compile_mjml(placed, locate=front.locate, validate=False))
            html_tokens = inline_css(html_tokens, front.css, self.config.inliner)  # type: ignore[arg-type]
        if front.rtl:
            from .rtl import mirror

            html_tokens = mirror(html_tokens)
        verify(placed, html_tokens, self.table)

        subject_tokens = self._render_text(f"{name}/subject.txt")
        rel_subject = self.config.rel(source.subject_path)
        rel_text = self.config.rel(source.text_path) if source.has_text else rel_mjml
        subject_tokens = self._protect_rendered(subject_tokens, rel_subject)
        subject_tokens = one_line_subject(subject_tokens, source.subject_path, rel_subject)
        if not subject_tokens:
            raise SourceError(
                "the subject is empty",
                location=Location(rel_subject, 1),
                hint="write the subject line in subject.txt",
            )
        if source.has_text:
            text_tokens = self._render_text(f"{name}/text.txt")
            text_tokens = self._protect_rendered(text_tokens, rel_text)
            text_tokens = text_tokens.strip("\n") + "\n"
        else:
            blocks = frozenset(self.table[i].token for i in tokens_in(html_tokens) if self.table[i].is_block)
            text_tokens = html_to_text(html_tokens, blocks, self.table.restore)

        parts_tokens = {"subject": subject_tokens, "html": html_tokens, "text": text_tokens}
        parts: dict[str, str] = {}
        parsed: dict[str, sestemplate.Template] = {}
        locations: dict[str, tuple[tuple[int, Location], ...]] = {}
        for part, tokens in parts_tokens.items():
            restored, located = self.table.restore_located(tokens)
            locs = tuple(located)
            parts[part] = restored
            locations[part] = locs
            fallback = {"subject": rel_subject, "html": rel_mjml, "text": rel_text}[part]
            parsed[part] = sestemplate.parse(
                restored, origin=fallback, locate=offset_locator(locs, fallback)
            )
        contract = sestemplate.contract(parsed["subject"], parsed["html"], parsed["text"])
        return CompiledTemplate(
            name=name,
            subject=parts["subject"],
            html=parts["html"],
            text=parts["text"],
            text_generated=not source.has_text,
            contract=contract,
            parsed=parsed,
            placeholder_locations=locations,
            locale=locale,
            untranslated=tuple(dict.fromkeys(self._messages.untranslated)),
        )

    def _protect_rendered(self, text: str, path: str) -> str:
        """Mustaches that appear only after Jinja ran (from a brand value or a
        ``[[ ]]`` expression) are checked and tokenized too, located at the
        line that printed them (the line marks of ``.mjml`` sources) or at
        ``path``."""
        if "{{" not in text:
            return text
        from .protect import MUSTACHE_RE

        def locate(offset: int) -> Location:
            return self.loader.lines.at(text, offset) or Location(path)

        try:
            check_source(text, path, locate=locate)
        except TemplateSyntaxError as exc:
            exc.message += " (printed by Jinja on this line: a brand value or a [[ ]] expression holds it)"
            exc.hint = "fix the value in the brand file or the expression, or write its braces as `\\{{`"
            raise
        return MUSTACHE_RE.sub(lambda m: self.table.add(m.group(0), locate(m.start())).token, text)


def _fill_brand(text: str, brand: Mapping[str, Any]) -> str | None:
    """``text`` rendered as Jinja would when it has no ``{% trans %}`` block
    (see :func:`~letterhead.authoring.jinja_cache.text_plan`); None otherwise."""
    plan = text_plan(text, brand)
    return plan[0] if plan is not None and len(plan) == 1 else None  # type: ignore[return-value]


def _ensure_lang(mjml_text: str, lang: str) -> str:
    """MRML defaults to lang="und"; screen readers need a real language."""
    m = re.search(r"<mjml\b([^>]*)>", mjml_text)
    if m and not re.search(r"\blang\s*=", m.group(1)):
        return mjml_text[: m.end() - 1] + f' lang="{lang}"' + mjml_text[m.end() - 1 :]
    return mjml_text


def render_plain_mjml(mjml_text: str, *, inliner: str = "css-inline", lang: str = "en") -> str:
    """Plain MJML (no Jinja, placeholders left as text) → final HTML through
    the same MRML + fixes + inlining steps as a build.  For benchmarks and
    fidelity checks against the official compiler."""
    mjml_text, css = extract_inline_css(mjml_text)
    mjml_text = _ensure_lang(mjml_text, lang)
    return inline_css(mjml.compile_mjml(mjml_text), css, inliner)  # type: ignore[arg-type]
