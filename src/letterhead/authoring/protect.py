"""Keep SES placeholders intact and in place through Jinja, MRML, the CSS
inliners and the text converter.

The toolchain is hostile to Handlebars: lxml percent-encodes ``{{ url }}`` in
``href``, HTML5 parsers foster-parent ``{{#each}}`` out of ``<table>``, MRML
moves text that sits between sections, premailer drops declarations holding
``{{…}}``.  Rather than patch each, every mustache is swapped for an opaque
token *when its source file is loaded* (so it remembers its file and line) and
swapped back at the very end:

* output placeholders (``{{name}}``) become ``xlh000123x``: letters and digits
  only, which no parser, encoder or inliner changes;
* block tags (``{{#if}}``, ``{{/each}}``, ``{{else}}`` …) in HTML text become the
  comment ``<!--xlh000124x-->``: HTML5 parsers keep comments where they are,
  even between ``<tr>``s; between MJML components the comment is wrapped in
  ``<mj-raw>`` so MRML emits it in place.

Afterwards :func:`verify` proves that every token survived, that block tags
kept their order and that every placeholder sits in the same block as in the
source; anything else is a :class:`PlaceholderLostError` naming file and line.

Before any of that, :func:`check_source` reads each file the designer wrote
with the SES lexer, so that a ``{{`` left open (``href="{{url"``), a comment
that runs on or a triple brace closed with two is reported at its own line of
that file, before MJML and the HTML tools have moved it.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .. import sestemplate
from ..errors import (
    EXCERPT_WIDTH,
    LetterheadError,
    Location,
    PlaceholderLostError,
    RenderError,
    SourceError,
    TemplateSyntaxError,
    excerpt,
)
from .mjml import Context, MjmlMap

TOKEN_RE = re.compile(r"xlh(\d{6,})x")
COMMENT_TOKEN_RE = re.compile(r"<!--\s*xlh(\d{6,})x\s*-->")
MUSTACHE_RE = re.compile(r"\{\{!--.*?--\}\}|\{\{\{.*?\}\}\}|\{\{.*?\}\}", re.DOTALL)

# Kinds of mustache that are positional (structure) rather than printed values.
BLOCK_KINDS = frozenset({"open", "else", "close", "comment", "inline_open", "partial"})


def mustache_kind(raw: str) -> str:
    """Classify a mustache lexically (the full grammar lives in letterhead.sestemplate)."""
    if raw.startswith("{{{"):
        return "raw_output"
    inner = raw[2:-2].strip().lstrip("~").lstrip()
    if inner.startswith("!"):
        return "comment"
    if inner.startswith("#*"):
        return "inline_open"
    if inner.startswith(("#", "^")) and inner.strip("^~ ") != "":
        return "open"
    if inner.startswith("^") or inner == "else" or inner.startswith("else "):
        return "else"
    if inner.startswith("/"):
        return "close"
    if inner.startswith(">"):
        return "partial"
    return "output"


def check_source(text: str, path: str, *, locate: Callable[[int], Location] | None = None) -> None:
    """Refuse SES syntax that is broken where the designer wrote it, located
    at the opening ``{{`` in ``path`` with that line (cut around the tag) as
    the excerpt: what the SES lexer refuses (an unterminated tag or
    ``{{!--``, ``{{{x}}``, raw blocks…), and tags it reads on past their
    intended end: a ``{{`` whose ``}}`` comes only after markup
    (``href="{{url">Open</a> … }}``) or a ``{{!`` comment that runs over the
    next ``{{``.  ``locate``: offsets of ``text`` to locations, when ``text``
    is not the file itself (Jinja's output); the excerpt is then left to
    the caller."""
    if plainly_valid(text):
        return
    asked: list[int] = []

    def where(offset: int) -> Location:
        asked.append(offset)
        return locate(offset) if locate is not None else Location(path, text.count("\n", 0, offset) + 1)

    try:
        tags = sestemplate.scan(text, origin=path, locate=where)
    except TemplateSyntaxError as exc:
        if asked:
            exc.source_line = None if locate is not None else source_excerpt(text, asked[-1])
        raise
    for tag in tags:
        problem = _runs_on(tag.raw, tag.kind)
        if problem is not None:
            line = where(tag.start)
            end_line = text.count("\n", 0, tag.end) - text.count("\n", 0, tag.start) + (line.line or 1)
            head = tag.raw.split("\n")[0]
            shown = head if len(head) <= 30 else head[:30] + "…"
            raise TemplateSyntaxError(
                f"unterminated {problem[0]} `{shown}`: {problem[1]} on line {end_line}",
                location=line,
                source_line=None if locate is not None else source_excerpt(text, tag.start),
                hint=problem[2],
            )


# A tag that the SES lexer reads as one whole tag, ending where it seems to:
# one line, no quotes, braces, [segment literals] or markup inside (or a
# comment).  Most tags are; the lexer (~20 µs a tag) reads the rest.
_PLAIN_TAG_RE = re.compile(
    r"\{\{~?(?:!--.*?--~?\}\}|!(?!--)[^{}]*\}\}|\{[^{}<>\"'\n~[]*\}~?\}\}(?!\})|(?![~*!])[#/^>&]?[^{}<>\"'\n[]*\}\}(?!\}))",
    re.DOTALL,
)


def plainly_valid(text: str) -> bool:
    """True when every ``{{`` of ``text`` opens a plain tag (:data:`_PLAIN_TAG_RE`):
    what :func:`check_source` would accept, at the cost of a regex match a tag."""
    pos = 0
    while True:
        k = text.find("{{", pos)
        if k < 0:
            return True
        m = _PLAIN_TAG_RE.match(text, k)
        if m is None or (k and text[k - 1] == "\\"):
            return False
        pos = m.end()


_ONE_LINE_STRING_RE = re.compile(r'"[^"\n]*"|\'[^\'\n]*\'')
_OPENER_RE = re.compile(r"\{\{~?[>{&#^/]?")
_MARKUP_RE = re.compile(r"[<>]|\{\{")


def _runs_on(raw: str, kind: str) -> tuple[str, str, str] | None:
    """(what, where it ends, fix) when the lexer's tag ``raw`` holds what no
    tag holds: markup or a ``{{`` outside a one-line string (handlebars reads
    on to the next ``}}``, swallowing the HTML in between)."""
    if kind == "comment":
        if raw.lstrip("{~").startswith("!--") or "{{" not in raw[2:]:
            return None  # {{!-- … --}} may hold anything; {{! … }} anything but braces
        return ("comment", "it runs over the next `{{` and ends only",
                "close the comment with `}}`; a comment that holds braces is written `{{!-- … --}}`")
    opener = _OPENER_RE.match(raw)
    body = _ONE_LINE_STRING_RE.sub("", raw[opener.end() if opener else 2 : -2])
    if _MARKUP_RE.search(body) is None:
        return None
    return ("tag", "its `}}` comes only after markup,",
            "close the tag with `}}` right after its name (`{{url}}`), or write `\\{{` for literal braces")


def source_excerpt(text: str, offset: int, width: int = 120) -> str:
    """The line of ``text`` holding ``offset``, cut to ``width`` characters
    around it when longer (``…`` marks a cut)."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return cut_line(text[start : end if end >= 0 else len(text)], offset - start, width)


def cut_line(line: str, column: int, width: int = EXCERPT_WIDTH) -> str:
    """``line``, or ``width`` characters of it around ``column``
    (:func:`letterhead.errors.excerpt`, the one cutter of every error's line)."""
    return excerpt(line.rstrip("\r"), column, width=width)


def designer_excerpt(line: str, shown: str | None, message: str) -> str:
    """What to show under an error located at ``line`` of a designer's file:
    ``shown`` (the error's own excerpt) when it is that line or a cut of it;
    otherwise the line (an error found in compiled output carries a line of
    that output), cut when long around the first `quoted` piece of
    ``message`` it holds."""
    core = (shown or "").strip().strip("…").strip()
    if core and core in line and (core == line.strip() or "…" in (shown or "")):
        return shown or line
    for piece in re.findall(r"`([^`\n]+)`", message):
        k = line.find(piece.rstrip("…")[:40])
        if k >= 0:
            return cut_line(line, k)
    return cut_line(line, 0)


def show_designer_lines(exc: LetterheadError, root: Path | None) -> LetterheadError:
    """Errors found in compiled output carry the designer's location but a
    line of the compiled part: show the designer's line instead (cut around
    the place), for every variable a :class:`RenderError` lists.  The build
    and the preview both show errors through this."""
    if isinstance(exc, RenderError):
        exc.read_source_lines(root)
    elif exc.location is not None and exc.location.line:
        line = exc.location.read_line(root)
        if line is not None:
            exc.source_line = designer_excerpt(line, exc.source_line, exc.message)
    return exc


class Placeholder(NamedTuple):  # NamedTuple: cheaper than a dataclass, made once per mustache
    id: int
    raw: str
    kind: str
    location: Location

    @property
    def is_block(self) -> bool:
        return self.kind in BLOCK_KINDS

    @property
    def token(self) -> str:
        return f"xlh{self.id:06d}x"


@dataclass
class PlaceholderTable:
    """All mustaches met during one template's compilation, by token id."""

    items: dict[int, Placeholder] = field(default_factory=dict)

    def add(self, raw: str, location: Location, ident: int | None = None) -> Placeholder:
        if ident is None:  # mustaches met after Jinja: a plain counter, out of the file range
            ident = 10**15 + len(self.items)
            while ident in self.items:
                ident += 1
        ph = Placeholder(ident, raw, mustache_kind(raw), location)
        self.items[ph.id] = ph
        return ph

    def __getitem__(self, ident: int) -> Placeholder:
        return self.items[ident]

    def protect(self, text: str, path: str, *, first_line: int = 1, key: str | None = None) -> str:
        """Swap each mustache of ``text`` (the content of ``path``) for a token.

        A mustache that spans lines keeps the line count with a Jinja comment,
        so Jinja's own error line numbers stay right.  ``first_line``: where
        ``text`` starts in ``path`` (a translation in a ``.po`` file);
        ``key``: what the token ids derive from when ``path`` holds several
        texts (``path`` by default).
        """
        if TOKEN_RE.search(text):
            line = text.count("\n", 0, TOKEN_RE.search(text).start()) + 1  # type: ignore[union-attr]
            raise SourceError(
                "text looks like a letterhead placeholder token (xlh000000x)",
                location=Location(path, line),
                hint="rename it: letterhead reserves xlh + six digits + x",
            )
        out: list[str] = []
        pos = 0
        # Ids depend only on the file and the mustache's rank in it, so the
        # protected source is the same in every run: Jinja's bytecode cache
        # then hits, and the order templates load in does not matter.
        base = zlib.crc32((key or path).encode("utf-8")) * 100_000
        line = first_line
        for i, m in enumerate(MUSTACHE_RE.finditer(text)):
            start = m.start()
            piece = text[pos:start]
            line += piece.count("\n")  # counted piece by piece: linear in the file
            raw = m.group(0)
            ph = self.add(raw, Location(path, line), ident=base + i)
            out.append(piece)
            out.append(ph.token)
            newlines = raw.count("\n")
            if newlines:
                out.append("[#" + "\n" * newlines + "#]")
                line += newlines
            pos = m.end()
        out.append(text[pos:])
        return "".join(out)

    def restore(self, text: str) -> str:
        """Tokens (bare or in comments) back to the mustaches they stand for."""
        return self.restore_located(text)[0]

    def restore_located(self, text: str) -> tuple[str, list[tuple[int, Location]]]:
        """:meth:`restore`, plus (offset in the restored text, source location)
        for each placeholder, so errors found in compiled output point back at
        the source line."""
        if "xlh" not in text:  # no token (the usual message of a catalogue)
            return text, []
        # split() leaves [text, id, text, id, ..., text]: the ids become their
        # mustaches in place, and the offsets are the running lengths.
        parts = TOKEN_RE.split(text)
        if len(parts) == 1:
            return text, []
        items = self.items
        found = [items[int(ident)] for ident in parts[1::2]]
        parts[1::2] = [ph.raw for ph in found]
        if "<!--" in text:
            _unwrap_comments(parts)
        # the offset of a token: the running length up to the text before it
        offsets = itertools.islice(itertools.accumulate(map(len, parts)), 0, len(parts) - 1, 2)
        return "".join(parts), list(zip(offsets, [ph.location for ph in found], strict=True))


def _unwrap_comments(parts: list[str]) -> None:
    """In ``parts`` (the texts around tokens, the tokens already restored),
    drop the ``<!--`` and ``-->`` of each comment token (``<!-- xlh…x -->``):
    the matches of ``<!--\\s*xlh(\\d{6,})x\\s*-->`` that :func:`_token_spans` finds.
    The text before a token starts after the comment of the token before."""
    tail_at = _COMMENT_TAIL_RE.match
    for i in range(2, len(parts), 2):
        before = parts[i - 2]
        # In a comment, "<!--" and only whitespace stand before the token: it
        # ends in "-" or a space (most tokens need no search).
        if before and (before[-1] == "-" or before[-1].isspace()):
            k = before.rfind("<!--")
            if k != -1 and (k + 4 == len(before) or before[k + 4 :].isspace()):
                tail = tail_at(parts[i])
                if tail is not None:
                    parts[i - 2] = before[:k]
                    parts[i] = parts[i][tail.end() :]


_COMMENT_TAIL_RE = re.compile(r"\s*-->")


def _token_spans(text: str) -> Iterable[tuple[int, int, int]]:
    """(start, end, id) of each token, a comment token (``<!-- xlh…x -->``)
    spanning its comment: the matches of ``<!--\\s*xlh(\\d{6,})x\\s*-->|xlh(\\d{6,})x``, but led by
    the literal "xlh" (an alternation makes the regex engine try every
    position: ~4x slower on a 20 KB email)."""
    pos = 0
    tail_at = _COMMENT_TAIL_RE.match
    for m in TOKEN_RE.finditer(text):
        start, end = m.span()
        # In a comment, "<!--" and only whitespace stand before the token: the
        # character before it is "-" or a space (most tokens need no search).
        if start and (text[start - 1] == "-" or text[start - 1].isspace()):
            k = text.rfind("<!--", pos, start)
            if k != -1 and (k + 4 == start or text[k + 4 : start].isspace()):
                tail = tail_at(text, end)
                if tail is not None:
                    start, end = k, tail.end()
        yield start, end, int(m.group(1))
        pos = end


def place_in_mjml(text: str, table: PlaceholderTable, mjml_map: MjmlMap) -> str:
    """Rewrite tokens in Jinja's MJML output according to where they stand."""
    matches = list(TOKEN_RE.finditer(text))
    if not matches:
        return text
    items = table.items
    structure, html_text = Context.STRUCTURE, Context.HTML_TEXT
    out: list[str] = []
    pos = 0
    # only the block tags change the text (most tokens are left where they are)
    for m, (ctx, tag) in zip(matches, mjml_map.places([m.start() for m in matches]), strict=True):
        ph = items[int(m.group(1))]
        if ctx is structure:
            if ph.kind not in BLOCK_KINDS:
                if tag != "mj-head":
                    raise PlaceholderLostError(
                        f"placeholder {ph.raw} stands between MJML components, where MJML drops text",
                        location=ph.location,
                        hint="put it inside an <mj-text> (or <mj-raw> for raw HTML)",
                    )
                raise PlaceholderLostError(
                    f"placeholder {ph.raw} stands in <mj-head> outside any component",
                    location=ph.location,
                    hint="use it inside <mj-title>, <mj-preview> or an attribute",
                )
            if tag in ("mj-head", "mj-attributes", "mjml", ""):
                raise PlaceholderLostError(
                    f"SES block tag {ph.raw} cannot stand in <{tag or 'top level'}>",
                    location=ph.location,
                    hint="move it inside <mj-body>, around sections or components",
                )
            replacement = f"<mj-raw><!--{m.group(0)}--></mj-raw>"
        elif ctx is html_text and ph.kind in BLOCK_KINDS:
            replacement = f"<!--{m.group(0)}-->"
        else:
            continue
        out += (text[pos : m.start()], replacement)
        pos = m.end()
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


_MSO_RE = re.compile(r"<!--\[if [^\]]*\]>(.*?)<!\[endif\]-->", re.DOTALL)


def hoist_from_conditionals(html: str) -> str:
    """Move block-tag comments out of Outlook conditional comments.

    MRML (unlike MJML) emits a component's ``mj-raw`` between the ``</td></tr>``
    and ``<tr><td>`` of an ``<!--[if mso | IE]>…<![endif]-->`` inside
    ``mj-wrapper``; the token's own ``-->`` would then end the conditional
    early.  Splitting the conditional around the token keeps the Outlook
    markup identical and puts the block tag where MJML puts it.
    """

    def split(m: re.Match[str]) -> str:
        whole = m.group(0)
        if not COMMENT_TOKEN_RE.search(m.group(1)):
            return whole
        opener = whole[: whole.index("]>") + 2]
        pieces = COMMENT_TOKEN_RE.split(m.group(1))
        out: list[str] = []
        for i, piece in enumerate(pieces):
            if i % 2 == 0:
                if piece.strip():
                    out.append(f"{opener}{piece}<![endif]-->")
            else:
                out.append(f"<!--xlh{piece}x-->")
        return "".join(out)

    if not _token_inside_conditional(html):
        return html  # the usual case: nothing to split, skip the rewrite
    # A token comment's "-->" ends the regex match early, so match up to the
    # real "<![endif]-->" by scanning with the token comments masked.
    masked = COMMENT_TOKEN_RE.sub(lambda t: "\x01" + t.group(1) + "\x01", html)
    fixed = re.sub(r"<!--\[if [^\]]*\]>(.*?)<!\[endif\]-->", _unmask_then(split), masked, flags=re.DOTALL)
    return re.sub("\x01(\\d+)\x01", lambda t: f"<!--xlh{t.group(1)}x-->", fixed)


def _token_inside_conditional(html: str) -> bool:
    pos = html.find("<!--[if ")
    while pos != -1:
        end = html.find("<![endif]-->", pos)
        if end == -1:
            return False
        if html.find("<!--xlh", pos + 8, end) != -1:
            return True
        pos = html.find("<!--[if ", end)
    return False


def _unmask_then(fn: Callable[[re.Match[str]], str]) -> Callable[[re.Match[str]], str]:
    def inner(m: re.Match[str]) -> str:
        whole = re.sub("\x01(\\d+)\x01", lambda t: f"<!--xlh{t.group(1)}x-->", m.group(0))
        return fn(_MSO_RE.fullmatch(whole) or m)
    return inner


def _occurrences(idents: Iterable[int], table: PlaceholderTable) -> list[tuple[int, tuple[int, ...]]]:
    """Token occurrences, (id, the ids of the block tags enclosing it)."""
    result: list[tuple[int, tuple[int, ...]]] = []
    append = result.append
    items = table.items
    stack: tuple[int, ...] = ()  # a new tuple only when a block opens or closes
    for ident in idents:
        kind = items[ident].kind
        if kind == "open" or kind == "inline_open":
            append((ident, stack))
            stack = (*stack, ident)
        elif kind == "close":
            if stack:
                stack = stack[:-1]
            append((ident, stack))
        else:
            append((ident, stack))
    return result


def _body_start(text: str, marker: str) -> int:
    i = text.find(marker)
    return 0 if i == -1 else i


def verify(
    before: str,
    after: str,
    table: PlaceholderTable,
    *,
    before_body: str = "<mj-body",
    after_body: str = "<body",
    stage: str = "the MJML compiler or CSS inliner",
) -> None:
    """Every placeholder of ``before`` is in ``after``, block tags in the same
    order, each placeholder inside the same blocks.  Head content (title,
    preview) may be duplicated by MRML; that is harmless and allowed."""
    # One findall a text, cut where its body starts (a token holds no '<').
    before_start, after_start = _body_start(before, before_body), _body_start(after, after_body)
    before_body_ids = TOKEN_RE.findall(before, before_start)
    after_body_ids = TOKEN_RE.findall(after, after_start)
    before_ids = set(map(int, TOKEN_RE.findall(before, 0, before_start)))
    before_ids.update(map(int, before_body_ids))
    after_ids = set(map(int, TOKEN_RE.findall(after, 0, after_start)))
    after_ids.update(map(int, after_body_ids))
    for ident in sorted(before_ids - after_ids):
        ph = table[ident]
        raise PlaceholderLostError(
            f"{stage} dropped placeholder {ph.raw}",
            location=ph.location,
            hint="move it into text or an attribute of a component that renders it",
        )
    if before_body_ids == after_body_ids and table.items.keys() >= before_ids:
        return  # the same (known) tokens in the same order: the same blocks, nothing moved
    src = _occurrences(map(int, before_body_ids), table)
    out = _occurrences(map(int, after_body_ids), table)
    if src == out:  # the same placeholders, in the same order and blocks: nothing moved
        return
    src_blocks = [ident for ident, _ in src if table[ident].is_block]
    out_blocks = [ident for ident, _ in out if table[ident].is_block]
    if src_blocks != out_blocks:
        bad = _first_difference(src_blocks, out_blocks)
        ph = table[bad]
        raise PlaceholderLostError(
            f"{stage} moved block tag {ph.raw} out of place",
            location=ph.location,
            hint="wrap block tags between components in <mj-raw>…</mj-raw>, "
            "or keep them inside one mj-text",
        )
    allowed: dict[int, set[tuple[int, ...]]] = {}
    for ident, stack in src:
        allowed.setdefault(ident, set()).add(stack)
    for ident, stack in out:
        if ident in allowed and stack not in allowed[ident]:
            ph = table[ident]
            raise PlaceholderLostError(
                f"{stage} moved placeholder {ph.raw} out of its block",
                location=ph.location,
                hint="keep placeholders in text or attributes; between table rows "
                "only block tags may stand",
            )


def _first_difference(a: list[int], b: list[int]) -> int:
    for x, y in zip(a, b, strict=False):  # the lengths may differ
        if x != y:
            return x
    return (a[len(b)] if len(a) > len(b) else b[len(a)]) if a != b else a[0]


def tokens_in(text: str) -> Iterable[int]:
    return (int(m.group(1)) for m in TOKEN_RE.finditer(text))

