"""Lexing: template text into tags and text pieces, as handlebars.js 4.7 lexes it.

:func:`scan` lists every :class:`~.nodes.Tag`; :func:`lex` gives the parser
the text pieces (:class:`Content`) and tags with their grouped arguments
(:class:`Mustache`).  :class:`Source` points an offset at a
:class:`~letterhead.errors.Location` and builds the located
:class:`~letterhead.errors.TemplateSyntaxError` every stage raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from letterhead.errors import Location, TemplateSyntaxError

from .nodes import Path, Tag, TagKind

# JavaScript's `\s`, which every handlebars.js regex uses; Python's `\s` differs
# on a few characters (\x1c-\x1f, \x85, \ufeff).
JS_WHITESPACE = (
    "\t\n\x0b\x0c\r \u00a0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
WS_CHARS = re.escape(JS_WHITESPACE)  # for use inside a regex character class
WS_CLASS = "[" + WS_CHARS + "]"


class Source:
    """The text being read, and how to point at a place in it."""

    def __init__(self, text: str, origin: str, locate: Callable[[int], Location] | None) -> None:
        self.text = text
        self.origin = origin
        self.locate = locate or self._line_location

    def _line_location(self, offset: int) -> Location:
        return Location(self.origin, self.text.count("\n", 0, offset) + 1)

    def error(self, offset: int, message: str, hint: str) -> TemplateSyntaxError:
        return TemplateSyntaxError(
            message, location=self.locate(offset), hint=hint, source_line=line_at(self.text, offset)
        )


def line_at(text: str, offset: int) -> str:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return text[start : end if end >= 0 else len(text)]


class _Token(NamedTuple):
    type: str
    text: str
    start: int
    end: int
    value: str
    literal: bool = False  # an ID written as a [segment literal]


class Arg(NamedTuple):
    """One argument of a tag, as the handlebars grammar groups tokens."""

    kind: Literal["path", "literal", "subexpression", "hash", "block_params", "invalid"]
    raw: str
    start: int  # where the argument starts in its tag's text (so a tag lexes the same wherever it stands)
    path: Path | None = None
    value: str = ""  # a literal's value (strings unquoted)
    literal_type: str = ""  # STRING, NUMBER, BOOLEAN, NULL, UNDEFINED
    problem: str = ""  # why an "invalid" argument is invalid


class Mustache(NamedTuple):
    tag: Tag
    args: tuple[Arg, ...]  # all arguments, the helper or partial name included


# Mutable, and trimmed in place by the whitespace pass: a plain class with
# __slots__ like the parser's tree (see tree.py).


class Content:
    """A piece of literal text (handlebars.js's ContentStatement)."""

    __slots__ = ("left_stripped", "original", "right_stripped", "start", "value")

    def __init__(self, original: str, start: int) -> None:
        self.original = original
        self.start = start
        self.value = original
        self.left_stripped = False
        self.right_stripped = False


# The openers of handlebars.js's lexer ("mu" state), in its order: the first that matches wins.
_OPENERS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (r"\{\{\{\{", "raw_block"),
        (r"\{\{(~)?>", "partial"),
        (r"\{\{(~)?#>", "partial_block"),
        (r"\{\{(~)?#(\*)?", "open"),
        (r"\{\{(~)?/", "close"),
        (r"\{\{(~)?\^" + WS_CLASS + r"*(~)?\}\}", "else_alone"),
        (r"\{\{(~)?" + WS_CLASS + r"*else" + WS_CLASS + r"*(~)?\}\}", "else_alone"),
        (r"\{\{(~)?\^", "inverse_open"),
        (r"\{\{(~)?" + WS_CLASS + r"*else(?![A-Za-z0-9_])", "else_chain"),
        (r"\{\{(~)?\{", "triple"),
        (r"\{\{(~)?&", "ampersand"),
        (r"\{\{(~)?!--", "long_comment"),
        (r"\{\{(~)?![\s\S]*?\}\}", "comment"),
        (r"\{\{(~)?(\*)?", "output"),
    )
)
_TAG_KINDS: dict[str, TagKind] = {
    "partial": "partial",
    "close": "close",
    "inverse_open": "inverse_open",
    "else_chain": "else",
    "triple": "raw_output",
    "ampersand": "raw_output",
    "output": "output",
}
_LONG_COMMENT_END = re.compile(r"--(~)?\}\}")

_LOOKAHEAD = "(?=[=~}" + WS_CHARS + "/.)|])"
_LITERAL_LOOKAHEAD = "(?=[~}" + WS_CHARS + ")])"
_ID = "[^" + WS_CHARS + '!"#%-,./;->@\\[-\\^`{-~]+'
_TOKEN = re.compile(
    "|".join(
        f"(?P<{name}>{pattern})"
        for name, pattern in (
            ("OPEN_SEXPR", r"\("),
            ("CLOSE_SEXPR", r"\)"),
            ("RAW_BLOCK", r"\{\{\{\{|\}\}\}\}"),
            ("OPEN", r"\{\{"),
            ("EQUALS", "="),
            ("DOTS", r"\.\.|\." + _LOOKAHEAD),
            ("SEP", r"[/.]"),
            ("WS", WS_CLASS + "+"),
            ("CLOSE_UNESCAPED", r"\}~?\}\}"),
            ("CLOSE", r"~?\}\}"),
            ("STRING", r'"(?:\\"|[^"])*"|' + r"'(?:\\'|[^'])*'"),
            ("DATA", "@"),
            ("BOOLEAN", "(?:true|false)" + _LITERAL_LOOKAHEAD),
            ("UNDEFINED", "undefined" + _LITERAL_LOOKAHEAD),
            ("NULL", "null" + _LITERAL_LOOKAHEAD),
            ("NUMBER", r"-?[0-9]+(?:\.[0-9]+)?" + _LITERAL_LOOKAHEAD),
            ("OPEN_BLOCK_PARAMS", "as" + WS_CLASS + r"+\|"),
            ("CLOSE_BLOCK_PARAMS", r"\|"),
            ("ID", _ID + _LOOKAHEAD),
            ("SEGMENT", r"\[(?:\\\]|[^\]])*\]"),
            ("INVALID", r"[\s\S]"),
        )
    )
)
ID_CHAR = re.compile("^" + _ID + "$")
_ID_START = re.compile(_ID)


def scan(
    text: str, *, origin: str = "<template>", locate: Callable[[int], Location] | None = None
) -> list[Tag]:
    """Every mustache of ``text``, in order.  Only ``{{`` starts a tag, so lone
    braces in CSS or HTML are text; an escaped ``\\{{`` is text too."""
    return [item.tag for item in lex(Source(text, origin, locate)) if isinstance(item, Mustache)]


def lex(src: Source) -> list[Content | Mustache]:
    text, pos = src.text, 0
    items: list[Content | Mustache] = []
    while pos < len(text):
        start = text.find("{{", pos)
        if start < 0:
            items.append(Content(text[pos:], pos))
            break
        content = text[pos:start]
        if content.endswith("\\\\"):
            content = content[:-1]  # `\\{{`: one literal backslash, then a real tag
        elif content.endswith("\\"):
            # `\{{`: the tag is literal text, up to the next `{{` (handlebars.js's "emu" state)
            if content[:-1]:
                items.append(Content(content[:-1], pos))
            pos = escaped_end(text, start)
            items.append(Content(text[start:pos], start))
            continue
        if content:
            items.append(Content(content, pos))
        mustache = _lex_tag(src, start)
        items.append(mustache)
        pos = mustache.tag.end
    return items


def escaped_end(text: str, start: int) -> int:
    """Where the literal text of an escaped `\\{{` ends: at least two characters
    on, before the next `{{`, `\\{{` or `\\\\{{` (handlebars.js's "emu" rule)."""
    following = text.find("{{", start + 2)
    if following < 0:
        return len(text)
    for end in (following - 2, following - 1):
        if end >= start + 2 and text[end:following] == "\\" * (following - end):
            return end
    return following


def _opener(text: str, start: int) -> tuple[re.Match[str], str]:
    for pattern, kind in _OPENERS:
        match = pattern.match(text, start)
        if match:
            return match, kind
    raise AssertionError("the last opener matches any `{{`")


# The same tags recur across parts and templates (`{{/if}}`, `{{name}}`): lexing
# one is ~10 µs of Python, so a tag read without error is remembered.  A
# remembered tag must be exactly what lexing would give here, whatever was
# read before, so the key is all the text that decides the tag: from its `{{`
# to two characters past the first `}}` after it.  Lexing a tag that ends at
# that `}}` (or `}}}`) reads no further: `}}` is told from `}}}` and `}}}}` by
# the two characters after it (`{{{a}}}` is a tag, `{{{a}}}}` an error).  The
# exceptions are string and segment literals (`"…"`, `'…'`, `[…]`), which read
# ahead for their closing quote or bracket, past any `}}`: `{{[a}}x` is an
# error but `{{[a}}x]}}` the path `a}}x`.  Tags holding one are not remembered
# (one before the first `}}`: from there on, a quote or bracket starts no token,
# so `href="{{url}}"` is remembered).
# An entry holds the tag's extent relative to its start; arguments are
# located within their tag anyway (``Arg.start``).
_CacheEntry = tuple[int, TagKind, str, tuple[str, ...], bool, bool, tuple[Arg, ...]]
_TAG_CACHE: dict[str, _CacheEntry] = {}
_TAG_CACHE_MAX = 4096
_READS_AHEAD = frozenset("\"'[")
# What later stages derive from a tag alone (the parser's per-tag lint), under
# the same keys as the tags: :func:`read_tag` says when a key decides its tag.
# Cleared with the tags.
DERIVED: dict[str, Any] = {}


def clear_tag_cache() -> None:
    """Forget every remembered tag (tests compare a cold parse with a warm one)."""
    _TAG_CACHE.clear()
    DERIVED.clear()


def read_tag(src: Source, start: int) -> tuple[Mustache, str | None]:
    """The tag at ``start``, and its key when that text alone decides it
    (anything derived from the tag may be remembered under the key), else None.
    The key is the text from the ``{{`` to two characters past the first ``}}``
    (``parser._read`` slices it alike to look a tag up)."""
    text = src.text
    close = text.find("}}", start + 2)
    if close == -1:
        return _lex_tag_uncached(src, start), None
    key = text[start : close + 4]
    hit = _TAG_CACHE.get(key)
    if hit is not None:
        length, kind, name, args_raw, left, right, args = hit
        return Mustache(Tag(start, start + length, key[:length], kind, name, args_raw, left, right), args), key
    mustache = _lex_tag_uncached(src, start)
    tag = mustache.tag
    if tag.end <= close + 3 and _READS_AHEAD.isdisjoint(key[: close - start]):
        if len(_TAG_CACHE) < _TAG_CACHE_MAX:
            _TAG_CACHE[key] = (tag.end - start, tag.kind, tag.name, tag.args, tag.strip_left, tag.strip_right,
                               mustache.args)
        return mustache, key
    return mustache, None


def _lex_tag(src: Source, start: int) -> Mustache:
    return read_tag(src, start)[0]


def _lex_tag_uncached(src: Source, start: int) -> Mustache:
    text = src.text
    match, kind = _opener(text, start)
    strip_left = kind != "raw_block" and match.group(1) == "~"

    def tag(
        end: int, tag_kind: TagKind, strip_right: bool, name: str = "", args: tuple[str, ...] = ()
    ) -> Tag:
        return Tag(start, end, text[start:end], tag_kind, name, args, strip_left, strip_right)

    if kind == "raw_block":
        raise src.error(
            start,
            "raw blocks `{{{{…}}}}` are not supported",
            "write the text without a raw block, escaping a literal `{{` as `\\{{`",
        )
    if kind == "partial_block":
        raise src.error(
            start,
            f"partial blocks `{_excerpt(text, start)}` are not supported",
            'define the partial with `{{#*inline "name"}}…{{/inline}}` and call it with `{{> name}}`',
        )
    if kind == "else_alone":
        return Mustache(tag(match.end(), "else", match.group(2) == "~"), ())
    if kind == "comment":
        return Mustache(tag(match.end(), "comment", text[match.end() - 3] == "~"), ())
    if kind == "long_comment":
        closing = _LONG_COMMENT_END.search(text, start)
        if closing is None:
            raise src.error(start, "unterminated comment `{{!--`", "close the comment with `--}}`")
        return Mustache(tag(closing.end(), "comment", closing.group(1) == "~"), ())
    if kind == "output" and match.group(2):
        raise src.error(
            start,
            f"decorators such as `{_excerpt(text, start)}` are not supported",
            'only the inline partial decorator exists in SES: `{{#*inline "name"}}…{{/inline}}`',
        )

    tokens, end, closer = _tokenize(src, start, match.end())
    if kind == "triple" and closer != "CLOSE_UNESCAPED":
        raise src.error(
            start,
            f"`{text[start:end]}` opens with three braces but closes with two",
            "close a triple-stash tag with `}}}`; with whitespace control it is `{{~{name}~}}`",
        )
    if kind != "triple" and closer == "CLOSE_UNESCAPED":
        raise src.error(
            start,
            f"`{text[start:end]}` opens with two braces but closes with three",
            "if the last `}` belongs to the CSS or HTML after the tag, put a space before it",
        )
    strip_right = text[end - 3] == "~"
    args = tuple(arg._replace(start=arg.start - start) for arg in _parse_args(tokens, text))
    raw_args = tuple(arg.raw for arg in args)
    tag_kind: TagKind = ("inline_open" if match.group(2) else "open") if kind == "open" else _TAG_KINDS[kind]
    if tag_kind == "output" or tag_kind == "raw_output":
        return Mustache(tag(end, tag_kind, strip_right, "", raw_args), args)
    name = ""
    if args:
        name = args[0].value if (tag_kind == "partial" and args[0].literal_type == "STRING") else args[0].raw
    return Mustache(tag(end, tag_kind, strip_right, name, raw_args[1:]), args)


def _tokenize(src: Source, tag_start: int, pos: int) -> tuple[list[_Token], int, str]:
    """Tokens of a tag's inside, up to its closing braces (handlebars.js's rules)."""
    text, tokens = src.text, list[_Token]()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        assert match is not None  # INVALID matches any character
        kind, raw, end = match.lastgroup or "", match.group(), match.end()
        if kind in ("CLOSE", "CLOSE_UNESCAPED"):
            return tokens, end, kind
        if kind == "OPEN":
            break
        if kind == "RAW_BLOCK":
            raise src.error(
                tag_start,
                f"`{text[tag_start:end]}` closes with four braces",
                "put a space between the tag and the braces that follow it",
            )
        name = _ID_START.match(text, pos) if kind == "INVALID" else None
        if name is not None:
            # a name followed by a character no name may touch (`a;b`): blame that character
            end = min(name.end() + 1, len(text))
            raw = text[pos:end]
        if kind != "WS":
            value, literal = raw, False
            if kind == "DOTS":
                kind = "ID"
            elif kind == "SEGMENT":
                kind, value, literal = "ID", re.sub(r"\\([\\\]])", r"\1", raw[1:-1]), True
            elif kind == "STRING":
                value = raw[1:-1].replace("\\" + raw[0], raw[0])
            tokens.append(_Token(kind, raw, pos, end, value, literal))
        pos = end
    raise src.error(
        tag_start,
        f"unterminated tag `{_excerpt(text, tag_start)}`: no closing `}}}}`",
        "close the tag with `}}`, or write `\\{{` for literal braces",
    )


def _excerpt(text: str, start: int, limit: int = 30) -> str:
    end = text.find("}}", start)
    snippet = text[start : end + 2] if 0 <= end < start + limit else text[start : start + limit] + "…"
    return snippet.split("\n")[0]


def _parse_args(tokens: list[_Token], text: str) -> tuple[Arg, ...]:
    """Group tokens into arguments as the handlebars grammar does:
    ``param* hash? blockParams?`` where a param is a path, a literal or ``(sexpr)``."""
    args: list[Arg] = []
    i = 0

    def span(first: int, last: int) -> str:
        return text[tokens[first].start : tokens[last].end]

    def param(i: int) -> tuple[Arg, int]:
        tok = tokens[i]
        if tok.type == "OPEN_SEXPR":
            depth, j = 0, i
            while j < len(tokens):
                depth += {"OPEN_SEXPR": 1, "CLOSE_SEXPR": -1}.get(tokens[j].type, 0)
                if depth == 0:
                    return Arg("subexpression", span(i, j), tok.start), j + 1
                j += 1
            return Arg("invalid", span(i, j - 1), tok.start, problem="unbalanced `(`"), j
        if tok.type in ("STRING", "NUMBER", "BOOLEAN", "NULL", "UNDEFINED"):
            return Arg("literal", tok.text, tok.start, value=tok.value, literal_type=tok.type), i + 1
        if tok.type in ("ID", "DATA"):
            return _path_arg(tokens, i, text)
        return Arg("invalid", tok.text, tok.start, problem=f"unexpected `{tok.text[-1]}`"), i + 1

    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "ID" and i + 1 < len(tokens) and tokens[i + 1].type == "EQUALS":
            if i + 2 < len(tokens):
                _value, j = param(i + 2)
                args.append(Arg("hash", span(i, j - 1), tok.start))
                i = j
            else:
                args.append(Arg("invalid", span(i, i + 1), tok.start, problem="`=` without a value"))
                i += 2
        elif tok.type == "OPEN_BLOCK_PARAMS":
            j = i
            while j < len(tokens) - 1 and tokens[j].type != "CLOSE_BLOCK_PARAMS":
                j += 1
            args.append(Arg("block_params", span(i, j), tok.start))
            i = j + 1
        else:
            arg, i = param(i)
            args.append(arg)
    return tuple(args)


def _path_arg(tokens: list[_Token], i: int, text: str) -> tuple[Arg, int]:
    """``@``? ID (SEP ID)*, then handlebars.js's preparePath checks."""
    first, data = i, tokens[i].type == "DATA"
    if data:
        i += 1
    segments: list[_Token] = []
    while i < len(tokens) and tokens[i].type == "ID":
        segments.append(tokens[i])
        i += 1
        if i + 1 < len(tokens) and tokens[i].type == "SEP" and tokens[i + 1].type == "ID":
            i += 1
        else:
            break
    raw = text[tokens[first].start : tokens[i - 1].end]
    if not segments:
        return Arg("invalid", raw, tokens[first].start, problem=f"`{raw}` is not followed by a name"), i
    if i + 1 < len(tokens) and tokens[i].type == "SEP" and tokens[i + 1].type == "NUMBER":
        number = tokens[i + 1].text
        problem = f"write a number after `.` as a segment literal: `{raw}.[{number}]`"
        return Arg("invalid", raw + "." + number, tokens[first].start, problem=problem), i + 2
    if i < len(tokens) and tokens[i].type == "SEP":
        bad = text[tokens[first].start : tokens[i].end]
        return Arg("invalid", bad, tokens[first].start, problem=f"`{bad}` ends with a separator"), i + 1
    parts: list[str] = []
    depth = 0
    for seg in segments:
        if not seg.literal and seg.value in ("..", ".", "this"):
            if parts:
                problem = "`this`, `.` and `..` may only start a path"
                return Arg("invalid", raw, tokens[first].start, problem=problem), i
            depth += seg.value == ".."
        else:
            parts.append(seg.value)
    path = Path(raw, tuple(parts), depth, data)
    return Arg("path", raw, tokens[first].start, path=path), i
