"""The SES template language: one parser for three jobs.

SES renders stored templates with Handlebars, restricted to the built-in block
helpers ``if``, ``unless``, ``each`` and ``with`` plus inline partials.  This
module reads that language once and serves three jobs from the same tree:

1. **lint**: :func:`parse` raises :class:`TemplateSyntaxError` for anything SES
   would reject or mis-render (unbalanced blocks, Pinpoint-only helpers such as
   ``eq``, ``@index`` outside ``#each``...), each with a location, the source
   line and a one-sentence fix;
2. **contract**: :func:`contract` lists the variables the application must send;
3. **local rendering**: :func:`render` renders as handlebars.js does, with one
   deliberate difference: a missing or null variable in an output position
   raises :class:`RenderError`, because SES accepts such a send and then
   silently drops the message.

How a template flows through the module::

    text ── scan / _lex ──> tags and text pieces
         ── _build ───────> a mutable tree shaped like handlebars.js's own AST
         ── _control_whitespace (standalone lines, ``~``: a port of handlebars.js)
         ── _freeze ──────> frozen nodes: Text, Output, Block, PartialCall, InlinePartial
         ── _Walker ──────> scope checks (parse) or variable uses (contract)

The lexer rules and the whitespace pass are ported rule for rule from
handlebars.js 4.7 on purpose: the text part of an email is whitespace-sensitive,
and a template that handlebars.js cannot parse is one SES refuses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Union

from letterhead.errors import Location, RenderError, TemplateSyntaxError

__all__ = [
    "BLOCK_HELPERS",
    "Block",
    "Contract",
    "InlinePartial",
    "Node",
    "Output",
    "PartialCall",
    "Path",
    "Tag",
    "TagKind",
    "Template",
    "Text",
    "Variable",
    "contract",
    "escape_expression",
    "parse",
    "render",
    "scan",
]

BLOCK_HELPERS = ("if", "unless", "each", "with")

# How deep blocks (each `{{else if}}` of a chain counting as one more) and
# inline partial calls may nest.  handlebars.js has no limit of its own: its
# compiler and runtime recurse, so some depth overflows the JavaScript stack
# inside SES, which publishes no figure.  Every stage here recurses too (the
# whitespace pass, the scope walk, the renderer); a bound far above what an
# email needs (a handful of levels) keeps them all inside Python's stack and
# turns a runaway template into a located error.
MAX_NESTING = 64
# How many nodes the walk may visit inside partial calls: a partial that calls
# another twice, which calls another twice… doubles the work at each level
# (a "billion laughs"); no real email comes near this.
MAX_PARTIAL_EXPANSION = 100_000
DATA_VARIABLES = ("root", "index", "key", "first", "last")

# In `{{name}}` handlebars.js calls these helpers instead of reading a variable.
_HELPER_NAMES = frozenset(BLOCK_HELPERS) | {"lookup", "log", "helperMissing", "blockHelperMissing"}

_HELPER_HINT = (
    "SES has only if, unless, each and with (helpers such as `eq` are Amazon Pinpoint's): "
    "compute a boolean in the application, e.g. `is_admin`, and test it with `{{#if is_admin}}`"
)

# JavaScript's `\s`, which every handlebars.js regex uses; Python's `\s` differs
# on a few characters (\x1c-\x1f, \x85, \ufeff).
_JS_WHITESPACE = (
    "\t\n\x0b\x0c\r \u00a0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_WS_CHARS = re.escape(_JS_WHITESPACE)  # for use inside a regex character class
_S = "[" + _WS_CHARS + "]"


# ---------------------------------------------------------------------------
# The public data: tags, paths, nodes, templates, contracts
# ---------------------------------------------------------------------------

TagKind = Literal[
    "output", "raw_output", "open", "inverse_open", "else", "close", "comment", "partial", "inline_open"
]


# Records are NamedTuples: immutable and compared by value like frozen
# dataclasses, but defining one costs ~0.1 ms at import against ~0.7 ms (a
# dataclass compiles its methods at every start; this module has 13).
class Tag(NamedTuple):
    """One mustache as written.

    ``name`` is the block helper of open / inverse_open / close / ``{{else if}}``
    tags (``"inline"`` for ``{{#*inline "p"}}``) and the partial's name of
    ``{{> p}}``; it is ``""`` for output tags, whose whole expression is in
    ``args``.  ``args`` are the raw argument strings after the name.
    ``strip_left``/``strip_right`` are the ``~`` whitespace controls.
    """

    start: int
    end: int
    raw: str
    kind: TagKind
    name: str = ""
    args: tuple[str, ...] = ()
    strip_left: bool = False
    strip_right: bool = False


class Path(NamedTuple):
    """A variable reference: ``../user.name`` is ``Path("../user.name", ("user", "name"), depth=1)``.

    ``this``, ``.`` and ``./`` add nothing to ``parts``; ``depth`` counts ``../``;
    ``data`` marks ``@`` variables, whose first part is ``root``, ``index``,
    ``key``, ``first`` or ``last``.
    """

    original: str
    parts: tuple[str, ...]
    depth: int = 0
    data: bool = False


class Text(NamedTuple):
    value: str
    location: Location
    offset: int


class Output(NamedTuple):
    """``{{path}}`` (escaped) or ``{{{path}}}`` / ``{{&path}}`` (``raw``)."""

    path: Path
    raw: bool
    location: Location
    offset: int


class Block(NamedTuple):
    """``{{#helper path}}body{{else}}inverse{{/helper}}``.

    ``{{else if x}}`` chains nest as a Block alone in ``inverse``, as in
    handlebars.js; ``{{^if x}}`` is a Block whose body and inverse are swapped.
    """

    helper: str
    path: Path
    body: tuple[Node, ...]
    inverse: tuple[Node, ...]
    location: Location
    offset: int


class PartialCall(NamedTuple):
    """``{{> name}}``; ``indent`` is set when the tag stands alone on an indented line."""

    name: str
    location: Location
    offset: int
    indent: str = ""


class InlinePartial(NamedTuple):
    """``{{#*inline "name"}}body{{/inline}}``: prints nothing where it stands."""

    name: str
    body: tuple[Node, ...]
    location: Location
    offset: int


Node = Union[Text, Output, Block, PartialCall, InlinePartial]


@dataclass(frozen=True)
class Template:
    """One parsed part (subject, html or text); ``text`` is kept for error lines."""

    body: tuple[Node, ...]
    origin: str
    text: str = field(repr=False)
    # What the part does with each variable, found by parse()'s own walk, so
    # that contract() need not walk it again; None: walk when asked.
    uses: tuple[_Use, ...] | None = field(default=None, repr=False, compare=False)
    # Every tag as written, in order, for rewriting the part (safety.py).
    tags: tuple[Tag, ...] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Variable:
    """What a template does with one variable.

    ``required``: printed where it always renders (relative to its parent: a
    field of ``#each`` items is required when every item prints it), so it must
    be present and non-null.  ``fields`` holds both ``a.b`` fields and the fields
    of the items of an ``#each`` / the context of a ``#with``.  ``item_*`` are
    about the items themselves (``{{this}}`` inside ``#each``).
    """

    name: str
    required: bool = False
    output: bool = False
    raw: bool = False
    tested: bool = False
    iterated: bool = False
    scoped: bool = False
    item_output: bool = False
    item_required: bool = False
    item_raw: bool = False
    fields: Mapping[str, Variable] = field(default_factory=dict)
    locations: tuple[Location, ...] = ()


_FLAGS = (
    "required",
    "output",
    "raw",
    "tested",
    "iterated",
    "scoped",
    "item_output",
    "item_required",
    "item_raw",
)


@dataclass(frozen=True)
class Contract:
    """The variables the application must pass, merged over a template's parts."""

    variables: Mapping[str, Variable]

    def __getitem__(self, name: str) -> Variable:
        return self.variables[name]

    def __contains__(self, name: object) -> bool:
        return name in self.variables

    def __iter__(self) -> Iterator[str]:
        return iter(self.variables)

    def to_json(self) -> dict[str, Any]:
        """A sorted, stable, JSON-ready form for a committed manifest."""
        return {name: _variable_to_json(var) for name, var in sorted(self.variables.items())}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Contract:
        return cls({name: _variable_from_json(name, value) for name, value in sorted(data.items())})

    def required_paths(self) -> list[str]:
        """Paths that must be present and non-null, e.g. ``events[].title``."""
        return sorted(_paths(self.variables, "", lambda v: (v.required, v.item_required)))

    def raw_paths(self) -> list[str]:
        """Paths printed with triple-stash, which Handlebars never escapes: the
        application must make these safe for HTML itself."""
        return sorted(_paths(self.variables, "", lambda v: (v.raw, v.item_raw)))


# ---------------------------------------------------------------------------
# Lexing
# ---------------------------------------------------------------------------


class _Source:
    """The text being read, and how to point at a place in it."""

    def __init__(self, text: str, origin: str, locate: Callable[[int], Location] | None) -> None:
        self.text = text
        self.origin = origin
        self.locate = locate or self._line_location

    def _line_location(self, offset: int) -> Location:
        return Location(self.origin, self.text.count("\n", 0, offset) + 1)

    def error(self, offset: int, message: str, hint: str) -> TemplateSyntaxError:
        return TemplateSyntaxError(
            message, location=self.locate(offset), hint=hint, source_line=_line_at(self.text, offset)
        )


def _line_at(text: str, offset: int) -> str:
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


class _Arg(NamedTuple):
    """One argument of a tag, as the handlebars grammar groups tokens."""

    kind: Literal["path", "literal", "subexpression", "hash", "block_params", "invalid"]
    raw: str
    start: int
    path: Path | None = None
    value: str = ""  # a literal's value (strings unquoted)
    literal_type: str = ""  # STRING, NUMBER, BOOLEAN, NULL, UNDEFINED
    problem: str = ""  # why an "invalid" argument is invalid


class _Mustache(NamedTuple):
    tag: Tag
    args: tuple[_Arg, ...]  # all arguments, the helper or partial name included


# The parser's mutable working objects are plain classes with __slots__: a
# dataclass costs ~0.5 ms at import (it compiles its methods each time), and
# these need no generated __eq__ or __repr__.


class _Content:
    """A piece of literal text (handlebars.js's ContentStatement)."""

    __slots__ = ("original", "start", "value", "left_stripped", "right_stripped")

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
        (r"\{\{(~)?\^" + _S + r"*(~)?\}\}", "else_alone"),
        (r"\{\{(~)?" + _S + r"*else" + _S + r"*(~)?\}\}", "else_alone"),
        (r"\{\{(~)?\^", "inverse_open"),
        (r"\{\{(~)?" + _S + r"*else(?![A-Za-z0-9_])", "else_chain"),
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

_LOOKAHEAD = "(?=[=~}" + _WS_CHARS + "/.)|])"
_LITERAL_LOOKAHEAD = "(?=[~}" + _WS_CHARS + ")])"
_ID = "[^" + _WS_CHARS + '!"#%-,./;->@\\[-\\^`{-~]+'
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
            ("WS", _S + "+"),
            ("CLOSE_UNESCAPED", r"\}~?\}\}"),
            ("CLOSE", r"~?\}\}"),
            ("STRING", r'"(?:\\"|[^"])*"|' + r"'(?:\\'|[^'])*'"),
            ("DATA", "@"),
            ("BOOLEAN", "(?:true|false)" + _LITERAL_LOOKAHEAD),
            ("UNDEFINED", "undefined" + _LITERAL_LOOKAHEAD),
            ("NULL", "null" + _LITERAL_LOOKAHEAD),
            ("NUMBER", r"-?[0-9]+(?:\.[0-9]+)?" + _LITERAL_LOOKAHEAD),
            ("OPEN_BLOCK_PARAMS", "as" + _S + r"+\|"),
            ("CLOSE_BLOCK_PARAMS", r"\|"),
            ("ID", _ID + _LOOKAHEAD),
            ("SEGMENT", r"\[(?:\\\]|[^\]])*\]"),
            ("INVALID", r"[\s\S]"),
        )
    )
)
_ID_CHAR = re.compile("^" + _ID + "$")
_ID_START = re.compile(_ID)


def scan(
    text: str, *, origin: str = "<template>", locate: Callable[[int], Location] | None = None
) -> list[Tag]:
    """Every mustache of ``text``, in order.  Only ``{{`` starts a tag, so lone
    braces in CSS or HTML are text; an escaped ``\\{{`` is text too."""
    return [item.tag for item in _lex(_Source(text, origin, locate)) if isinstance(item, _Mustache)]


def _lex(src: _Source) -> list[_Content | _Mustache]:
    text, pos = src.text, 0
    items: list[_Content | _Mustache] = []
    while pos < len(text):
        start = text.find("{{", pos)
        if start < 0:
            items.append(_Content(text[pos:], pos))
            break
        content = text[pos:start]
        if content.endswith("\\\\"):
            content = content[:-1]  # `\\{{`: one literal backslash, then a real tag
        elif content.endswith("\\"):
            # `\{{`: the tag is literal text, up to the next `{{` (handlebars.js's "emu" state)
            if content[:-1]:
                items.append(_Content(content[:-1], pos))
            pos = _escaped_end(text, start)
            items.append(_Content(text[start:pos], start))
            continue
        if content:
            items.append(_Content(content, pos))
        mustache = _lex_tag(src, start)
        items.append(mustache)
        pos = mustache.tag.end
    return items


def _escaped_end(text: str, start: int) -> int:
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
# one is ~10 µs of Python, so a valid tag's result is remembered by its text.
# A tag depends only on its own characters (and the one after `}}`, which
# tells `}}` from `}}}`); `_Arg.start` of a remembered tag is stale, which is
# harmless: errors point at the tag's start, never an argument's.
_TAG_CACHE: dict[str, tuple[int, TagKind, str, tuple[str, ...], bool, bool, tuple["_Arg", ...]]] = {}
_TAG_CACHE_MAX = 4096


def _lex_tag(src: _Source, start: int) -> _Mustache:
    text = src.text
    close = text.find("}}", start + 2)
    key = text[start : close + 3] if close != -1 else ""
    hit = _TAG_CACHE.get(key) if key else None
    if hit is not None:
        length, kind, name, args_raw, left, right, args = hit
        return _Mustache(Tag(start, start + length, text[start : start + length], kind, name, args_raw, left, right),
                         args)
    mustache = _lex_tag_uncached(src, start)
    tag = mustache.tag
    if key and tag.end <= close + 3 and len(_TAG_CACHE) < _TAG_CACHE_MAX:
        _TAG_CACHE[key] = (tag.end - start, tag.kind, tag.name, tag.args, tag.strip_left, tag.strip_right,
                           mustache.args)
    return mustache


def _lex_tag_uncached(src: _Source, start: int) -> _Mustache:
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
        return _Mustache(tag(match.end(), "else", match.group(2) == "~"), ())
    if kind == "comment":
        return _Mustache(tag(match.end(), "comment", text[match.end() - 3] == "~"), ())
    if kind == "long_comment":
        closing = _LONG_COMMENT_END.search(text, start)
        if closing is None:
            raise src.error(start, "unterminated comment `{{!--`", "close the comment with `--}}`")
        return _Mustache(tag(closing.end(), "comment", closing.group(1) == "~"), ())
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
    args = _parse_args(tokens, text)
    raw_args = tuple(arg.raw for arg in args)
    tag_kind: TagKind
    if kind == "open":
        tag_kind = "inline_open" if match.group(2) else "open"
    else:
        tag_kind = _TAG_KINDS[kind]
    if tag_kind == "output" or tag_kind == "raw_output":
        return _Mustache(tag(end, tag_kind, strip_right, "", raw_args), args)
    name = ""
    if args:
        name = args[0].value if (tag_kind == "partial" and args[0].literal_type == "STRING") else args[0].raw
    return _Mustache(tag(end, tag_kind, strip_right, name, raw_args[1:]), args)


def _tokenize(src: _Source, tag_start: int, pos: int) -> tuple[list[_Token], int, str]:
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


def _parse_args(tokens: list[_Token], text: str) -> tuple[_Arg, ...]:
    """Group tokens into arguments as the handlebars grammar does:
    ``param* hash? blockParams?`` where a param is a path, a literal or ``(sexpr)``."""
    args: list[_Arg] = []
    i = 0

    def span(first: int, last: int) -> str:
        return text[tokens[first].start : tokens[last].end]

    def param(i: int) -> tuple[_Arg, int]:
        tok = tokens[i]
        if tok.type == "OPEN_SEXPR":
            depth, j = 0, i
            while j < len(tokens):
                depth += {"OPEN_SEXPR": 1, "CLOSE_SEXPR": -1}.get(tokens[j].type, 0)
                if depth == 0:
                    return _Arg("subexpression", span(i, j), tok.start), j + 1
                j += 1
            return _Arg("invalid", span(i, j - 1), tok.start, problem="unbalanced `(`"), j
        if tok.type in ("STRING", "NUMBER", "BOOLEAN", "NULL", "UNDEFINED"):
            return _Arg("literal", tok.text, tok.start, value=tok.value, literal_type=tok.type), i + 1
        if tok.type in ("ID", "DATA"):
            return _path_arg(tokens, i, text)
        return _Arg("invalid", tok.text, tok.start, problem=f"unexpected `{tok.text[-1]}`"), i + 1

    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "ID" and i + 1 < len(tokens) and tokens[i + 1].type == "EQUALS":
            if i + 2 < len(tokens):
                value, j = param(i + 2)
                args.append(_Arg("hash", span(i, j - 1), tok.start))
                i = j
            else:
                args.append(_Arg("invalid", span(i, i + 1), tok.start, problem="`=` without a value"))
                i += 2
        elif tok.type == "OPEN_BLOCK_PARAMS":
            j = i
            while j < len(tokens) - 1 and tokens[j].type != "CLOSE_BLOCK_PARAMS":
                j += 1
            args.append(_Arg("block_params", span(i, j), tok.start))
            i = j + 1
        else:
            arg, i = param(i)
            args.append(arg)
    return tuple(args)


def _path_arg(tokens: list[_Token], i: int, text: str) -> tuple[_Arg, int]:
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
        return _Arg("invalid", raw, tokens[first].start, problem=f"`{raw}` is not followed by a name"), i
    if i + 1 < len(tokens) and tokens[i].type == "SEP" and tokens[i + 1].type == "NUMBER":
        number = tokens[i + 1].text
        problem = f"write a number after `.` as a segment literal: `{raw}.[{number}]`"
        return _Arg("invalid", raw + "." + number, tokens[first].start, problem=problem), i + 2
    if i < len(tokens) and tokens[i].type == "SEP":
        bad = text[tokens[first].start : tokens[i].end]
        return _Arg("invalid", bad, tokens[first].start, problem=f"`{bad}` ends with a separator"), i + 1
    parts: list[str] = []
    depth = 0
    for seg in segments:
        if not seg.literal and seg.value in ("..", ".", "this"):
            if parts:
                problem = "`this`, `.` and `..` may only start a path"
                return _Arg("invalid", raw, tokens[first].start, problem=problem), i
            depth += seg.value == ".."
        else:
            parts.append(seg.value)
    path = Path(raw, tuple(parts), depth, data)
    return _Arg("path", raw, tokens[first].start, path=path), i


# ---------------------------------------------------------------------------
# Parsing: tags into a tree, with the per-tag lint
# ---------------------------------------------------------------------------

_Strip = tuple[bool, bool]  # (`{{~`, `~}}`)


class _Program:
    __slots__ = ("body", "chained")

    def __init__(self, body: list[_Content | _Statement | _BlockStatement], chained: bool = False) -> None:
        self.body = body
        self.chained = chained  # holds the Block of an `{{else if}}`


class _Statement:
    """A one-tag statement: output, partial call or comment."""

    __slots__ = ("mustache", "path", "name", "indent")

    def __init__(self, mustache: _Mustache, path: Path | None = None, name: str = "", indent: str = "") -> None:
        self.mustache = mustache
        self.path = path
        self.name = name
        self.indent = indent

    @property
    def strip(self) -> _Strip:
        return (self.mustache.tag.strip_left, self.mustache.tag.strip_right)


class _BlockStatement:
    __slots__ = ("mustache", "helper", "path", "program", "inverse", "inline_name", "inverse_strip", "close_strip")

    def __init__(self, mustache: _Mustache, helper: str, path: Path | None, program: _Program | None,
                 inverse: _Program | None = None, inline_name: str = "",
                 inverse_strip: _Strip = (False, False), close_strip: _Strip = (False, False)) -> None:
        self.mustache = mustache  # the opening tag (`{{else if x}}` for a chained block)
        self.helper = helper
        self.path = path
        self.program = program
        self.inverse = inverse
        self.inline_name = inline_name  # set for `{{#*inline "name"}}`
        self.inverse_strip = inverse_strip
        self.close_strip = close_strip

    @property
    def open_strip(self) -> _Strip:
        return (self.mustache.tag.strip_left, self.mustache.tag.strip_right)


class _Frame:
    __slots__ = ("block", "filling", "inverted", "chained")

    def __init__(self, block: _BlockStatement, filling: _Program, inverted: bool, chained: bool) -> None:
        self.block = block
        self.filling = filling
        self.inverted = inverted  # opened with `{{^…}}`
        self.chained = chained  # opened by `{{else if}}`: closed by its opener's close tag


def parse(
    text: str, *, origin: str = "<template>", locate: Callable[[int], Location] | None = None
) -> Template:
    """Parse and lint one template part.  ``locate(offset)`` maps an offset in
    ``text`` to the Location reported in errors (default: ``origin`` and line)."""
    src = _Source(text, origin, locate)
    items = _lex(src)
    root = _build(items, src)
    _control_whitespace(root, is_root=True)
    template = Template(_freeze(root.body, src), origin, text)
    uses: list[_Use] = []
    _Walker(template, uses.append).walk()
    tags = tuple(item.tag for item in items if isinstance(item, _Mustache))
    return Template(template.body, origin, text, tuple(uses), tags)


def _build(items: list[_Content | _Mustache], src: _Source) -> _Program:
    root = _Program([])
    frames: list[_Frame] = []
    for item in items:
        filling = frames[-1].filling if frames else root
        if isinstance(item, _Content):
            filling.body.append(item)
            continue
        tag = item.tag
        invalid = next((arg for arg in item.args if arg.kind == "invalid"), None)
        if invalid is not None:
            raise _argument_error(item, invalid, src)
        if tag.kind in ("output", "raw_output"):
            filling.body.append(_Statement(item, path=_output_path(item, src)))
        elif tag.kind == "comment":
            filling.body.append(_Statement(item))
        elif tag.kind == "partial":
            filling.body.append(_Statement(item, name=_partial_name(item, src)))
        elif tag.kind in ("open", "inverse_open", "inline_open"):
            if tag.kind == "inline_open":
                block = _BlockStatement(
                    item, "inline", None, _Program([]), inline_name=_inline_name(item, src)
                )
            else:
                block = _BlockStatement(item, *_block_head(item, src), _Program([]))
            filling.body.append(block)
            assert block.program is not None
            _push_frame(frames, _Frame(block, block.program, tag.kind == "inverse_open", chained=False), src)
        elif tag.kind == "else":
            _open_else(item, frames, src)
        else:
            _close(item, frames, src)
    unclosed = [frame for frame in frames if not frame.chained]
    if unclosed:
        opener = unclosed[-1].block.mustache.tag
        raise src.error(
            opener.start,
            f"`{opener.raw}` is never closed",
            f"add `{{{{/{opener.name}}}}}` where the block ends",
        )
    return root


def _open_else(item: _Mustache, frames: list[_Frame], src: _Source) -> None:
    tag = item.tag
    if not frames:
        raise src.error(
            tag.start,
            f"`{tag.raw}` outside a block",
            "an `{{else}}` belongs between `{{#if …}}` (or unless, each, with) and its closing tag",
        )
    frame = frames[-1]
    block, opener = frame.block, _opener_of(frames).block.mustache.tag
    if block.inline_name:
        raise src.error(
            tag.start,
            f"`{tag.raw}` inside inline partial `{block.inline_name}`",
            "an inline partial has no else branch: put an `{{#if …}}…{{else}}…{{/if}}` inside it",
        )
    if block.inverse is not None:
        raise src.error(
            tag.start,
            f"a second `{tag.raw}` in `{opener.raw}` (line {_line(src, opener.start)})",
            "a block has one plain `{{else}}`, after any `{{else if …}}`",
        )
    strip = (tag.strip_left, tag.strip_right)
    if not tag.name:
        block.inverse = _Program([])
        block.inverse_strip = strip
        frame.filling = block.inverse
        return
    if frame.inverted:
        raise src.error(
            tag.start,
            f"`{tag.raw}` cannot follow `{opener.raw}`",
            "write the block as `{{#unless …}}…{{else if …}}…{{/unless}}`",
        )
    nested = _BlockStatement(item, *_block_head(item, src), _Program([]))
    block.inverse = _Program([nested], chained=True)
    block.inverse_strip = strip
    frame.filling = block.inverse
    assert nested.program is not None
    _push_frame(frames, _Frame(nested, nested.program, inverted=False, chained=True), src)


def _push_frame(frames: list[_Frame], frame: _Frame, src: _Source) -> None:
    """Open a block, refusing nesting deeper than :data:`MAX_NESTING`: every
    later stage recurses once per level."""
    if len(frames) >= MAX_NESTING:
        tag = frame.block.mustache.tag
        raise src.error(
            tag.start,
            f"`{tag.raw}` opens block level {len(frames) + 1}: blocks nest at most {MAX_NESTING} levels deep "
            "(each `{{else if}}` of a chain counts as one)",
            f"nest at most {MAX_NESTING} levels: compute a flag in the application instead of testing each "
            "condition in its own block, or replace a long `{{else if}}` chain by one variable",
        )
    frames.append(frame)


def _opener_of(frames: list[_Frame]) -> _Frame:
    """The frame whose tag a close tag must match: the innermost not opened by `{{else if}}`."""
    return next(frame for frame in reversed(frames) if not frame.chained)


def _close(item: _Mustache, frames: list[_Frame], src: _Source) -> None:
    tag = item.tag
    name = _close_name(item, src)
    if not frames:
        raise src.error(
            tag.start,
            f"`{tag.raw}` closes nothing",
            f"remove it, or add the `{{{{#{name} …}}}}` it should close",
        )
    opener = _opener_of(frames)
    open_tag = opener.block.mustache.tag
    if open_tag.name != name:
        outer = [f for f in frames if not f.chained and f.block.mustache.tag.name == name]
        if outer:
            raise src.error(
                open_tag.start,
                f"`{open_tag.raw}` is not closed before `{tag.raw}` (line {_line(src, tag.start)})",
                f"add `{{{{/{open_tag.name}}}}}` before `{tag.raw}`",
            )
        raise src.error(
            tag.start,
            f"`{tag.raw}` does not match `{open_tag.raw}` (line {_line(src, open_tag.start)})",
            f"close `{open_tag.raw}` with `{{{{/{open_tag.name}}}}}`",
        )
    chain: list[_BlockStatement] = []
    while True:
        frame = frames.pop()
        chain.append(frame.block)
        if frame is opener:
            break
    chain.reverse()
    # handlebars.js gives the real close tag's `~` to the first two blocks of an
    # `{{else if}}` chain and each later one its own else-if tag's: copied, quirk included.
    close_strip = (tag.strip_left, tag.strip_right)
    for i, block in enumerate(chain):
        block.close_strip = close_strip if i <= 1 else block.open_strip
    if opener.inverted:
        first = chain[0]
        first.program, first.inverse = first.inverse, first.program


def _line(src: _Source, offset: int) -> int | str:
    return src.locate(offset).line or "?"


# --- the per-tag lint -------------------------------------------------------


def _unsupported_helper(item: _Mustache, src: _Source, name: str) -> TemplateSyntaxError:
    if name == "lookup":
        hint = "write the path instead, e.g. `{{items.[0]}}` or `{{user.name}}`; " + _HELPER_HINT
    elif name == "log":
        hint = "remove it: SES has no log helper"
    else:
        import difflib  # only on this error path: ~1.5 ms an import
        guess = difflib.get_close_matches(name, BLOCK_HELPERS, n=1, cutoff=0.6)
        if guess and item.tag.kind != "output":
            return src.error(
                item.tag.start,
                f"unsupported helper `{name}` in `{item.tag.raw}`: did you mean `{guess[0]}`?",
                f"write `{{{{#{guess[0]} …}}}}`; SES has only if, unless, each and with",
            )
        hint = _HELPER_HINT
    return src.error(item.tag.start, f"unsupported helper `{name}` in `{item.tag.raw}`", hint)


def _argument_error(item: _Mustache, arg: _Arg, src: _Source) -> TemplateSyntaxError:
    raw = item.tag.raw
    if arg.kind == "subexpression":
        return src.error(
            item.tag.start, f"subexpression `{arg.raw}` in `{raw}` is not supported", _HELPER_HINT
        )
    if arg.kind == "hash":
        if arg.raw.replace(" ", "").startswith("includeZero="):
            hint = "`{{#if}}` treats 0 as false: test a boolean the application computes, e.g. `has_items`"
        else:
            hint = _HELPER_HINT
        return src.error(item.tag.start, f"hash argument `{arg.raw}` in `{raw}` is not supported", hint)
    if arg.kind == "block_params":
        return src.error(
            item.tag.start,
            f"block parameters `{arg.raw}` in `{raw}` are not supported",
            "inside `{{#each}}` use `{{this}}`, the item's fields such as `{{title}}`, and `{{@index}}`",
        )
    if arg.kind == "literal":
        return src.error(
            item.tag.start,
            f"`{raw}` uses the constant `{arg.raw}` where a variable belongs",
            "use a variable the application sets, e.g. `{{#if show_banner}}`",
        )
    return src.error(
        item.tag.start,
        f"`{raw}` is not a valid tag: {arg.problem}",
        "a tag holds a variable such as `{{first_name}}` or `{{user.email}}`, or a block such as `{{#if note}}`",
    )


def _checked_path(item: _Mustache, arg: _Arg, src: _Source) -> Path:
    if arg.kind != "path":
        raise _argument_error(item, arg, src)
    assert arg.path is not None
    path = arg.path
    if path.data:
        head = path.parts[0] if path.parts else path.original[1:]
        if path.depth:
            raise src.error(
                item.tag.start,
                f"`{arg.raw}` in `{item.tag.raw}` is not supported",
                "use `@index`, `@key`, `@first` or `@last` of the innermost `{{#each}}` only",
            )
        if head not in DATA_VARIABLES or not path.parts:
            import difflib  # only on this error path: ~1.5 ms an import
            guess = difflib.get_close_matches(head, DATA_VARIABLES, n=1, cutoff=0.6)
            return_hint = f"did you mean `@{guess[0]}`? " if guess else ""
            raise src.error(
                item.tag.start,
                f"unknown data variable `@{head}` in `{item.tag.raw}`",
                return_hint
                + "SES sets `@index`, `@key`, `@first` and `@last` inside `{{#each}}`, and `@root`",
            )
        if head != "root" and len(path.parts) > 1:
            raise src.error(
                item.tag.start,
                f"`@{head}` has no fields (`{arg.raw}` in `{item.tag.raw}`)",
                f"print `{{{{@{head}}}}}` itself",
            )
    return path


def _output_path(item: _Mustache, src: _Source) -> Path:
    tag, args = item.tag, item.args
    if not args:
        raise src.error(
            tag.start, f"empty tag `{tag.raw}`", "put a variable name inside, e.g. `{{first_name}}`"
        )
    head = args[0]
    if len(args) > 1:
        if head.kind == "path" and head.path and not head.path.data:
            name = head.raw
            if name in BLOCK_HELPERS:
                raise src.error(
                    tag.start,
                    f"`{name}` is a block helper: `{tag.raw}` prints nothing useful",
                    f"write `{{{{#{name} {' '.join(a.raw for a in args[1:])}}}}}…{{{{/{name}}}}}`",
                )
            raise _unsupported_helper(item, src, name)
        raise _argument_error(item, args[1] if head.kind == "path" else head, src)
    path = _checked_path(item, head, src)
    if (
        not path.data
        and path.depth == 0
        and len(path.parts) == 1
        and path.parts[0] in _HELPER_NAMES
        and path.original == path.parts[0]
    ):
        name = path.parts[0]
        if name in ("lookup", "log"):
            raise _unsupported_helper(item, src, name)
        raise src.error(
            tag.start,
            f"`{tag.raw}` calls Handlebars' `{name}` helper instead of printing a variable",
            f"to print a variable named `{name}`, write `{{{{this.{name}}}}}`",
        )
    return path


def _block_head(item: _Mustache, src: _Source) -> tuple[str, Path]:
    """The helper and the one path argument of `{{#if x}}`, `{{^each x}}`, `{{else with x}}`..."""
    tag, args = item.tag, item.args
    name = tag.name
    if not args:
        raise src.error(
            tag.start, f"`{tag.raw}` names no block helper", "write `{{#if note}}` or `{{#each items}}`"
        )
    if args[0].kind != "path":
        raise _argument_error(item, args[0], src)
    if name not in BLOCK_HELPERS:
        import difflib  # only on this error path: ~1.5 ms an import
        if len(args) == 1 and not difflib.get_close_matches(name, BLOCK_HELPERS, n=1, cutoff=0.6):
            raise src.error(
                tag.start,
                f"unsupported block `{tag.raw}` (a Handlebars section)",
                f"write `{{{{#each {name}}}}}` to loop over a list or `{{{{#if {name}}}}}` to test it",
            )
        raise _unsupported_helper(item, src, name)
    if len(args) == 1:
        raise src.error(
            tag.start,
            f"`{tag.raw}` has no argument",
            f"give it the variable to {'loop over' if name == 'each' else 'use'}, e.g. `{{{{#{name} items}}}}`",
        )
    for arg in args[1:]:
        if arg.kind != "path":
            raise _argument_error(item, arg, src)
    if len(args) > 2:
        raise src.error(
            tag.start,
            f"unsupported helper call `{tag.raw}`: `{name}` takes one argument, not {len(args) - 1}",
            _HELPER_HINT,
        )
    path = _checked_path(item, args[1], src)
    if path.data and path.parts[0] != "root" and name in ("each", "with"):
        raise src.error(
            tag.start,
            f"`{tag.raw}`: `{path.original}` is a number or a boolean and cannot be "
            + ("looped over" if name == "each" else "used as a context"),
            "use a variable the application sends",
        )
    return name, path


def _inline_name(item: _Mustache, src: _Source) -> str:
    tag, args = item.tag, item.args
    if tag.name != "inline":
        raise src.error(
            tag.start,
            f"decorator `{tag.raw}` is not supported",
            'only inline partials exist in SES: `{{#*inline "name"}}…{{/inline}}`',
        )
    if len(args) != 2 or args[1].literal_type != "STRING":
        raise src.error(
            tag.start,
            f"`{tag.raw}` must name its partial with one quoted string",
            'write `{{#*inline "footer"}}…{{/inline}}`',
        )
    return args[1].value


def _partial_name(item: _Mustache, src: _Source) -> str:
    tag, args = item.tag, item.args
    if not args:
        raise src.error(tag.start, f"`{tag.raw}` names no partial", "write `{{> footer}}`")
    head = args[0]
    if head.kind == "subexpression":
        raise src.error(
            tag.start,
            f"dynamic partial `{tag.raw}` is not supported",
            "call an inline partial by name: `{{> footer}}`",
        )
    if head.literal_type == "STRING":
        name = head.value
    elif head.kind == "path" and head.path is not None and not head.path.data and not head.path.depth:
        name = head.raw
    else:
        raise _argument_error(item, head, src)
    if len(args) > 1:
        raise src.error(
            tag.start,
            f"arguments to a partial (`{tag.raw}`) are not supported",
            f"call it inside a block instead: `{{{{#with {args[1].raw}}}}}{{{{> {name}}}}}{{{{/with}}}}`",
        )
    return name


def _close_name(item: _Mustache, src: _Source) -> str:
    tag, args = item.tag, item.args
    if len(args) != 1 or args[0].kind != "path":
        raise src.error(
            tag.start,
            f"`{tag.raw}` is not a valid closing tag",
            "a closing tag holds only the block's helper, e.g. `{{/if}}`",
        )
    return tag.name


# ---------------------------------------------------------------------------
# Whitespace control: a line-by-line port of handlebars.js's WhitespaceControl
# (compiler/whitespace-control.js), so standalone lines and `~` come out as SES
# renders them.  Names and quirks are kept to make the two easy to compare.
# ---------------------------------------------------------------------------


class _StripInfo(NamedTuple):
    open: bool
    close: bool
    open_standalone: bool = False
    close_standalone: bool = False
    inline_standalone: bool = False


_NEXT_WS = re.compile(r"\A" + _S + r"*?\r?\n")
_NEXT_WS_ROOT = re.compile(r"\A" + _S + r"*?(?:\r?\n|\Z)")
_LEADING_LINE = re.compile(r"\A[ \t]*\r?\n?")

_Body = list[Union[_Content, _Statement, _BlockStatement]]


def _control_whitespace(program: _Program, is_root: bool = False) -> None:
    body = program.body
    for i, current in enumerate(body):
        strip = _accept(current)
        if strip is None:
            continue
        prev_ws = _is_prev_whitespace(body, i, is_root)
        next_ws = _is_next_whitespace(body, i, is_root)
        open_standalone = strip.open_standalone and prev_ws
        close_standalone = strip.close_standalone and next_ws
        inline_standalone = strip.inline_standalone and prev_ws and next_ws
        if strip.close:
            _omit_right(body, i, True)
        if strip.open:
            _omit_left(body, i, True)
        if inline_standalone:
            _omit_right(body, i)
            if (
                _omit_left(body, i)
                and isinstance(current, _Statement)
                and current.mustache.tag.kind == "partial"
            ):
                previous = body[i - 1]
                assert isinstance(previous, _Content)
                current.indent = previous.original[len(previous.original.rstrip(" \t")) :]
        if open_standalone and isinstance(current, _BlockStatement):
            _omit_right(_first_program(current).body)
            _omit_left(body, i)
        if close_standalone and isinstance(current, _BlockStatement):
            _omit_right(body, i)
            last = current.inverse or current.program
            assert last is not None
            _omit_left(last.body)


def _first_program(block: _BlockStatement) -> _Program:
    program = block.program or block.inverse
    assert program is not None
    return program


def _accept(node: _Content | _Statement | _BlockStatement) -> _StripInfo | None:
    if isinstance(node, _Content):
        return None
    if isinstance(node, _BlockStatement):
        return _block_whitespace(node)
    open_, close = node.strip
    if node.mustache.tag.kind in ("partial", "comment"):
        return _StripInfo(open_, close, inline_standalone=True)
    return _StripInfo(open_, close)


def _block_whitespace(block: _BlockStatement) -> _StripInfo:
    if block.program:
        _control_whitespace(block.program)
    if block.inverse:
        _control_whitespace(block.inverse)
    program = _first_program(block)
    inverse = block.inverse if block.program else None
    first_inverse = last_inverse = inverse
    if inverse is not None and inverse.chained:
        chained = inverse.body[0]
        assert isinstance(chained, _BlockStatement) and chained.program is not None
        first_inverse = chained.program
        while last_inverse is not None and last_inverse.chained:
            tail = last_inverse.body[-1]
            assert isinstance(tail, _BlockStatement)
            last_inverse = tail.program
    strip = _StripInfo(
        open=block.open_strip[0],
        close=block.close_strip[1],
        open_standalone=_is_next_whitespace(program.body),
        close_standalone=_is_prev_whitespace((first_inverse or program).body),
    )
    if block.open_strip[1]:
        _omit_right(program.body, None, True)
    if inverse is not None:
        assert first_inverse is not None and last_inverse is not None
        if block.inverse_strip[0]:
            _omit_left(program.body, None, True)
        if block.inverse_strip[1]:
            _omit_right(first_inverse.body, None, True)
        if block.close_strip[0]:
            _omit_left(last_inverse.body, None, True)
        if _is_prev_whitespace(program.body) and _is_next_whitespace(first_inverse.body):
            _omit_left(program.body)
            _omit_right(first_inverse.body)
    elif block.close_strip[0]:
        _omit_left(program.body, None, True)
    return strip


def _is_prev_whitespace(body: _Body, i: int | None = None, is_root: bool = False) -> bool:
    if i is None:
        i = len(body)
    prev = body[i - 1] if i >= 1 else None
    sibling = body[i - 2] if i >= 2 else None
    if prev is None:
        return is_root
    if isinstance(prev, _Content):
        # handlebars.js: /\r?\n\s*?$/, or /(^|\r?\n)\s*?$/ for the first node of the template;
        # a regex search from every offset is slow on long HTML, hence rstrip
        body_text = prev.original.rstrip(_JS_WHITESPACE)
        if "\n" in prev.original[len(body_text) :]:
            return True
        return not body_text and sibling is None and is_root
    return False


def _is_next_whitespace(body: _Body, i: int | None = None, is_root: bool = False) -> bool:
    if i is None:
        i = -1
    following = body[i + 1] if i + 1 < len(body) else None
    sibling = body[i + 2] if i + 2 < len(body) else None
    if following is None:
        return is_root
    if isinstance(following, _Content):
        pattern = _NEXT_WS if (sibling is not None or not is_root) else _NEXT_WS_ROOT
        return pattern.match(following.original) is not None
    return False


def _omit_right(body: _Body, i: int | None = None, multiple: bool = False) -> None:
    index = 0 if i is None else i + 1
    current = body[index] if index < len(body) else None
    if not isinstance(current, _Content) or (not multiple and current.right_stripped):
        return
    original = current.value
    if multiple:
        current.value = current.value.lstrip(_JS_WHITESPACE)
    else:
        current.value = _LEADING_LINE.sub("", current.value, count=1)
    current.right_stripped = current.value != original


def _omit_left(body: _Body, i: int | None = None, multiple: bool = False) -> bool:
    index = len(body) - 1 if i is None else i - 1
    current = body[index] if 0 <= index < len(body) else None
    if not isinstance(current, _Content) or (not multiple and current.left_stripped):
        return False
    original = current.value
    current.value = current.value.rstrip(_JS_WHITESPACE if multiple else " \t")
    current.left_stripped = current.value != original
    return current.left_stripped


def _freeze(body: _Body, src: _Source) -> tuple[Node, ...]:
    nodes: list[Node] = []
    for item in body:
        if isinstance(item, _Content):
            if not item.value:
                continue
            if nodes and isinstance(nodes[-1], Text):
                nodes[-1] = nodes[-1]._replace(value=nodes[-1].value + item.value)
            else:
                nodes.append(Text(item.value, src.locate(item.start), item.start))
            continue
        offset = item.mustache.tag.start
        location = src.locate(offset)
        if isinstance(item, _BlockStatement):
            program = _freeze(item.program.body, src) if item.program else ()
            if item.inline_name:
                nodes.append(InlinePartial(item.inline_name, program, location, offset))
            else:
                assert item.path is not None
                inverse = _freeze(item.inverse.body, src) if item.inverse else ()
                nodes.append(Block(item.helper, item.path, program, inverse, location, offset))
        elif item.mustache.tag.kind == "partial":
            nodes.append(PartialCall(item.name, location, offset, item.indent))
        elif item.path is not None:
            nodes.append(Output(item.path, item.mustache.tag.kind == "raw_output", location, offset))
    return tuple(nodes)


# ---------------------------------------------------------------------------
# Scopes: which variable each path reaches.  One walk serves the lint (parse)
# and the contract; inline partials are expanded where they are called, since
# they see the caller's context, `@index` and partials (handlebars.js binds
# them at call time).
# ---------------------------------------------------------------------------

_Guard = Union[
    tuple[str, ...], None
]  # a path known truthy in this branch; None: a condition implying nothing


class _Use(NamedTuple):
    path: tuple[str, ...]  # absolute, "[]" standing for the items of an #each
    named_from: int  # path[named_from:] is what the tag wrote; the rest came from the scope
    role: Literal["output", "raw", "tested", "iterated", "scoped"]
    guards: tuple[_Guard, ...]
    location: Location


class _Env(NamedTuple):
    contexts: tuple[tuple[str, ...], ...] = ((),)  # innermost last; `../` walks back
    barrier: int = 0  # `../` may not reach below this context (the top of an inline partial)
    in_each: bool = False
    guards: tuple[_Guard, ...] = ()
    partials: tuple[Mapping[str, InlinePartial], ...] = ()
    calls: tuple[tuple[PartialCall, InlinePartial], ...] = ()
    depth: int = 0  # blocks and partial calls around this point, those inside called partials included


class _Walker:
    def __init__(self, template: Template, on_use: Callable[[_Use], None] | None = None) -> None:
        self.template = template
        self.on_use = on_use
        self.expanded = 0  # nodes visited inside partial calls (MAX_PARTIAL_EXPANSION)

    def walk(self) -> None:
        self._program(self.template.body, _Env())

    def _error(self, node: Node, message: str, hint: str, env: _Env) -> TemplateSyntaxError:
        if env.calls:
            call, definition = env.calls[-1]
            message += f" (in partial `{definition.name}` used on line {call.location.line or '?'})"
        return TemplateSyntaxError(
            message, location=node.location, hint=hint, source_line=_line_at(self.template.text, node.offset)
        )

    def _program(self, nodes: tuple[Node, ...], env: _Env) -> None:
        if env.calls:
            self.expanded += len(nodes)
            if self.expanded > MAX_PARTIAL_EXPANSION:
                call, definition = env.calls[0]
                raise self._error(
                    call,
                    f'partial "{definition.name}" expands to more than {MAX_PARTIAL_EXPANSION:,} '
                    "nodes through the partials it calls",
                    "each call copies the partial's whole body: call fewer partials from inside partials",
                    env._replace(calls=()),
                )
        defined: dict[str, InlinePartial] = {}
        for node in nodes:
            if isinstance(node, InlinePartial):
                if node.name in defined:
                    first = defined[node.name]
                    raise self._error(
                        node,
                        f'inline partial "{node.name}" is defined twice (first on line {first.location.line or "?"})',
                        "rename or remove one of them",
                        env,
                    )
                defined[node.name] = node
        if defined:
            env = env._replace(partials=env.partials + (defined,))
        for node in nodes:
            if isinstance(node, Output):
                self._output(node, env)
            elif isinstance(node, Block):
                self._block(node, env)
            elif isinstance(node, PartialCall):
                self._partial(node, env)

    def _resolve(self, path: Path, node: Node, env: _Env) -> tuple[tuple[str, ...], int] | None:
        """The absolute path a Path reaches, or None for `@index`-like data."""
        if path.data:
            head = path.parts[0]
            if head == "root":
                return path.parts[1:], 0
            if not env.in_each:
                raise self._error(
                    node,
                    f"`@{head}` is only set inside `{{{{#each}}}}`",
                    "move it inside an `{{#each …}}` block, or send the value as a variable",
                    env,
                )
            return None
        index = len(env.contexts) - 1 - path.depth
        if index < env.barrier:
            if env.barrier:
                message = f"`{path.original}` reaches outside the inline partial"
            else:
                message = f"`{path.original}` goes above the top of the data"
            hint = (
                f"write `@root.{'.'.join(path.parts)}`, or drop a `../`: only `{{{{#each}}}}` and "
                "`{{#with}}` open a level, `{{#if}}` and `{{#unless}}` do not"
            )
            raise self._error(node, message, hint, env)
        base = env.contexts[index]
        return base + path.parts, len(base)

    def _use(self, found: tuple[tuple[str, ...], int] | None, role: str, node: Node, env: _Env) -> None:
        if self.on_use is not None and found is not None and found[0]:
            self.on_use(_Use(found[0], found[1], role, env.guards, node.location))  # type: ignore[arg-type]

    def _output(self, node: Output, env: _Env) -> None:
        self._use(self._resolve(node.path, node, env), "raw" if node.raw else "output", node, env)

    def _deeper(self, node: Block | PartialCall, env: _Env) -> _Env:
        """``env`` one level down, refusing to go past :data:`MAX_NESTING`.
        The parser bounds the blocks of one part; partial calls add the
        levels of the partials they run, and the renderer recurses through
        both."""
        if env.depth >= MAX_NESTING:
            raise self._error(
                node,
                f"blocks and partial calls nest more than {MAX_NESTING} levels deep here "
                "(the levels inside each called partial count)",
                f"nest at most {MAX_NESTING} levels: call fewer partials from inside partials and blocks",
                env,
            )
        return env._replace(depth=env.depth + 1)

    def _block(self, node: Block, env: _Env) -> None:
        env = self._deeper(node, env)
        found = self._resolve(node.path, node, env)
        target = found[0] if found is not None else None
        other = env._replace(guards=env.guards + (None,))
        if node.helper in ("if", "unless"):
            self._use(found, "tested", node, env)
            truthy = env._replace(guards=env.guards + (target,))
            body_env, inverse_env = (truthy, other) if node.helper == "if" else (other, truthy)
            self._program(node.body, body_env)
            self._program(node.inverse, inverse_env)
            return
        assert target is not None  # the per-tag lint allows only @root data here
        guards = env.guards + (target,)
        if node.helper == "each":
            self._use(found, "iterated", node, env)
            inner = env._replace(contexts=env.contexts + (target + ("[]",),), in_each=True, guards=guards)
        else:
            self._use(found, "scoped", node, env)
            # handlebars.js opens no level when the new context is the current one (`{{#with this}}`)
            contexts = env.contexts if target == env.contexts[-1] else env.contexts + (target,)
            inner = env._replace(contexts=contexts, guards=guards)
        self._program(node.body, inner)
        self._program(node.inverse, other)

    def _partial(self, node: PartialCall, env: _Env) -> None:
        definition = next((scope[node.name] for scope in reversed(env.partials) if node.name in scope), None)
        if definition is None:
            elsewhere = None  # the last definition anywhere in the part
            for other in _all_nodes(self.template.body):
                if isinstance(other, InlinePartial) and other.name == node.name:
                    elsewhere = other
            if elsewhere is not None:
                message = (
                    f'partial "{node.name}" is used outside the block that defines it '
                    f"(line {elsewhere.location.line or '?'})"
                )
                hint = 'move `{{#*inline "' + node.name + '"}}` to the top level of this part'
            else:
                visible = sorted({name for scope in env.partials for name in scope})
                import difflib  # only on this error path: ~1.5 ms an import
                guess = difflib.get_close_matches(node.name, visible, n=1)
                message = f'partial "{node.name}" is not defined in this template'
                hint = (f"did you mean `{{{{> {guess[0]}}}}}`? " if guess else "") + (
                    "SES has no registered partials: define it in each part (subject, html, text) with "
                    '`{{#*inline "' + node.name + '"}}…{{/inline}}`'
                )
            raise self._error(node, message, hint, env)
        if any(definition is seen for _, seen in env.calls):
            raise self._error(
                node,
                f'partial "{node.name}" calls itself',
                "recursive partials are not supported: unroll the nesting the email needs",
                env,
            )
        inner = self._deeper(node, env)._replace(
            barrier=len(env.contexts) - 1, calls=env.calls + ((node, definition),)
        )
        self._program(definition.body, inner)


def _all_nodes(nodes: Iterable[Node]) -> Iterator[Node]:
    for node in nodes:
        yield node
        if isinstance(node, Block):
            yield from _all_nodes(node.body)
            yield from _all_nodes(node.inverse)
        elif isinstance(node, InlinePartial):
            yield from _all_nodes(node.body)


# ---------------------------------------------------------------------------
# Contract
# ---------------------------------------------------------------------------


class _VarNode:
    """A mutable Variable being collected; "[]" children stand for list items."""

    __slots__ = ("required", "output", "raw", "tested", "iterated", "scoped", "locations", "children")

    def __init__(self) -> None:
        self.required = False
        self.output = False
        self.raw = False
        self.tested = False
        self.iterated = False
        self.scoped = False
        self.locations: set[Location] = set()
        self.children: dict[str, _VarNode] = {}


def contract(*templates: Template) -> Contract:
    """The variables the application must pass for all these parts together."""
    root = _VarNode()

    def collect(use: _Use) -> None:
        node = root
        for i, segment in enumerate(use.path):
            node = node.children.setdefault(segment, _VarNode())
            if i >= min(use.named_from, len(use.path) - 1):
                node.locations.add(use.location)
            if use.role in ("output", "raw") and _always_reached(use.guards, use.path[: i + 1]):
                node.required = True
        if use.role in ("output", "raw"):
            node.output = True
            node.raw = node.raw or use.role == "raw"
        else:
            setattr(node, use.role, True)

    for template in templates:
        if template.uses is not None:
            for use in template.uses:
                collect(use)
        else:
            _Walker(template, collect).walk()
    return Contract({name: _to_variable(name, node) for name, node in sorted(root.children.items())})


def _always_reached(guards: tuple[_Guard, ...], path: tuple[str, ...]) -> bool:
    """Whether every condition on the way is implied by the path's parents being
    there: `{{#if user}}{{user.name}}` needs `name` whenever `user` is sent, but
    `{{#if note}}{{note}}` and `{{#if a}}{{b}}` need nothing."""
    return all(g is not None and len(g) < len(path) and path[: len(g)] == g for g in guards)


def _to_variable(name: str, node: _VarNode) -> Variable:
    items = node.children.get("[]")
    fields: dict[str, Variable] = {}
    for source in (node, items):
        if source is None:
            continue
        for key, child in source.children.items():
            if key == "[]":
                if source is items:  # a list of lists: the inner lists are a variable of their own
                    fields["[]"] = _to_variable("[]", items)
                continue
            var = _to_variable(key, child)
            fields[key] = _merge(fields[key], var) if key in fields else var
    locations = node.locations | (items.locations if items else set())
    return Variable(
        name,
        required=node.required,
        output=node.output,
        raw=node.raw,
        tested=node.tested,
        iterated=node.iterated,
        scoped=node.scoped,
        item_output=bool(items and items.output),
        item_required=bool(items and items.required),
        item_raw=bool(items and items.raw),
        fields=dict(sorted(fields.items())),
        locations=_sorted_locations(locations),
    )


def _merge(a: Variable, b: Variable) -> Variable:
    fields = dict(a.fields)
    for key, var in b.fields.items():
        fields[key] = _merge(fields[key], var) if key in fields else var
    flags = {flag: getattr(a, flag) or getattr(b, flag) for flag in _FLAGS}
    return Variable(
        a.name,
        **flags,
        fields=dict(sorted(fields.items())),
        locations=_sorted_locations({*a.locations, *b.locations}),
    )


def _sorted_locations(locations: Iterable[Location]) -> tuple[Location, ...]:
    return tuple(sorted(set(locations), key=lambda loc: (loc.path, loc.line or 0)))


def _variable_to_json(var: Variable) -> dict[str, Any]:
    # item_* can only be true for an iterated variable: leave them out elsewhere
    flags = _FLAGS if var.iterated else _FLAGS[:6]
    data: dict[str, Any] = {flag: getattr(var, flag) for flag in flags}
    data["locations"] = [str(location) for location in var.locations]
    if var.fields:
        data["fields"] = {name: _variable_to_json(field_) for name, field_ in sorted(var.fields.items())}
    return data


def _variable_from_json(name: str, data: Mapping[str, Any]) -> Variable:
    fields = {key: _variable_from_json(key, value) for key, value in sorted(data.get("fields", {}).items())}
    return Variable(
        name,
        **{flag: bool(data.get(flag, False)) for flag in _FLAGS},
        fields=fields,
        locations=tuple(_parse_location(text) for text in data.get("locations", ())),
    )


def _parse_location(text: str) -> Location:
    path, sep, line = text.rpartition(":")
    return Location(path, int(line)) if sep and line.isdigit() else Location(text)


def _paths(
    variables: Mapping[str, Variable], prefix: str, pick: Callable[[Variable], tuple[bool, bool]]
) -> Iterator[str]:
    for name, var in variables.items():
        if name == "[]":
            path = prefix if prefix.endswith("[]") else prefix + "[]"
        else:
            segment = name if _ID_CHAR.match(name) else f"[{name}]"
            path = f"{prefix}.{segment}" if prefix else segment
        own, items = pick(var)
        if own:
            yield path
        if items:
            yield path + "[]"
        yield from _paths(var.fields, path + "[]" if var.iterated else path, pick)


# ---------------------------------------------------------------------------
# Rendering, with handlebars.js semantics
# ---------------------------------------------------------------------------

_MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>"})()

_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#x27;",
    "`": "&#x60;",
    "=": "&#x3D;",
}
_BAD_CHARS = re.compile("[&<>\"'`=]")


def escape_expression(text: str) -> str:
    """HTML-escape exactly as handlebars.js's ``escapeExpression`` does."""
    if not _BAD_CHARS.search(text):
        return text
    return _BAD_CHARS.sub(lambda match: _ESCAPES[match.group()], text)


def render(template: Template, data: Mapping[str, Any], *, escape: bool = True) -> str:
    """Render as handlebars.js does, but refuse a missing or null printed variable.

    ``escape=False`` prints ``{{x}}`` unescaped, as the SES guide says SES does.
    """
    out: list[str] = []
    _Renderer(template, escape).run(template.body, ((data, ""),), {"root": data}, (), out)
    return "".join(out)


_Stack = tuple[tuple[Any, str], ...]  # (context, its path for messages), innermost first
_Programs = tuple[tuple[Node, ...], ...]  # the bodies being run, where inline partials are looked up


class _Renderer:
    def __init__(self, template: Template, escape: bool) -> None:
        self.template = template
        self.escape = escape

    def run(
        self,
        nodes: tuple[Node, ...],
        stack: _Stack,
        frame: dict[str, Any],
        programs: _Programs,
        out: list[str],
    ) -> None:
        programs = programs + (nodes,)
        for node in nodes:
            kind = type(node)
            if kind is Text:
                out.append(node.value)  # type: ignore[union-attr]
            elif kind is Output:
                out.append(self._print(node, stack, frame))  # type: ignore[arg-type]
            elif kind is Block:
                self._block(node, stack, frame, programs, out)  # type: ignore[arg-type]
            elif kind is PartialCall:
                self._partial(node, stack, frame, programs, out)  # type: ignore[arg-type]

    def _print(self, node: Output, stack: _Stack, frame: dict[str, Any]) -> str:
        value, label = _lookup(node.path, stack, frame)
        if value is None or value is _MISSING:
            raise self._missing(node, value, label)
        text = value if type(value) is str else _js_string(value)
        return escape_expression(text) if self.escape and not node.raw else text

    def _block(
        self, node: Block, stack: _Stack, frame: dict[str, Any], programs: _Programs, out: list[str]
    ) -> None:
        value, label = _lookup(node.path, stack, frame)
        helper = node.helper
        if helper == "if" or helper == "unless":
            branch = node.body if _is_falsy(value) == (helper == "unless") else node.inverse
            self.run(branch, stack, frame, programs, out)
        elif helper == "with":
            if _is_empty(value):
                self.run(node.inverse, stack, frame, programs, out)
            else:
                self.run(node.body, _push(stack, value, label), frame, programs, out)
        else:
            items = _iteration(value, label)
            if not items:
                self.run(node.inverse, stack, frame, programs, out)
            last = len(items) - 1
            for index, (key, item, item_label) in enumerate(items):
                item_frame = {**frame, "key": key, "index": index, "first": index == 0, "last": index == last}
                self.run(node.body, _push(stack, item, item_label), item_frame, programs, out)

    def _partial(
        self, node: PartialCall, stack: _Stack, frame: dict[str, Any], programs: _Programs, out: list[str]
    ) -> None:
        definition = _find_partial(node.name, programs)
        if definition is None:
            raise RenderError(
                f'partial "{node.name}" is not defined',
                location=node.location,
                hint='define it in this part with `{{#*inline "' + node.name + '"}}…{{/inline}}`',
                source_line=_line_at(self.template.text, node.offset),
            )
        if not node.indent:
            self.run(definition.body, stack, frame, programs, out)
            return
        buffer: list[str] = []
        self.run(definition.body, stack, frame, programs, buffer)
        lines = "".join(buffer).split("\n")
        for i, line in enumerate(lines):
            if not line and i + 1 == len(lines):
                break
            lines[i] = node.indent + line
        out.append("\n".join(lines))

    def _missing(self, node: Output, value: Any, label: str) -> RenderError:
        name = label or "this"
        tag = ("{{{%s}}}" if node.raw else "{{%s}}") % node.path.original
        state = f"missing variable `{name}`" if value is _MISSING else f"variable `{name}` is null"
        where = "" if name == node.path.original else f" for `{tag}`"
        hint = f"send `{name}` in the template data (an empty string prints nothing)"
        if not node.path.data:
            hint += f", or print it only inside `{{{{#if {node.path.original}}}}}…{{{{/if}}}}`"
        return RenderError(
            f"{state}{where} (SES would silently drop this message)",
            variable=name,
            location=node.location,
            hint=hint,
            source_line=_line_at(self.template.text, node.offset),
        )


def _find_partial(name: str, programs: _Programs) -> InlinePartial | None:
    for nodes in reversed(programs):
        for node in reversed(nodes):  # a later definition replaces an earlier one
            if isinstance(node, InlinePartial) and node.name == name:
                return node
    return None


def _lookup(path: Path, stack: _Stack, frame: dict[str, Any]) -> tuple[Any, str]:
    """The value a path reaches, and the label of the last step taken: the
    variable to blame when the value is missing or null."""
    if path.data:
        head = path.parts[0]
        if head != "root":
            return frame.get(head, _MISSING), "@" + head
        value, label, rest = frame["root"], "", path.parts[1:]
    elif path.depth < len(stack):
        (value, label), rest = stack[path.depth], path.parts
    else:
        return _MISSING, path.original
    for part in rest:
        if value is None or value is _MISSING:
            break
        value = _property(value, part)
        label = f"{label}.{part}" if label else part
    return value, label


def _property(value: Any, key: str) -> Any:
    """JavaScript's own-property lookup: object keys, and an array's or a string's
    indexes and `length`."""
    if isinstance(value, Mapping):
        return value[key] if key in value else _MISSING
    if isinstance(value, (list, tuple, str)):
        if key == "length":
            return len(value)
        if _is_array_index(key) and int(key) < len(value):
            return value[int(key)]
    return _MISSING


def _is_array_index(key: str) -> bool:
    return key.isascii() and key.isdigit() and str(int(key)) == key and int(key) < 2**32 - 1


def _push(stack: _Stack, value: Any, label: str) -> _Stack:
    # handlebars.js opens a `../` level only when the context changes (`context != depths[0]`)
    top = stack[0][0]
    if value is top or (type(value) is type(top) and _is_scalar(value) and value == top):
        return stack
    return ((value, label),) + stack


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float))


def _iteration(value: Any, label: str) -> list[tuple[Any, Any, str]]:
    """(@key, item, label) for `#each`: array items, or object values in
    JavaScript's key order (integer-like keys first, ascending)."""
    if isinstance(value, Mapping):
        keys = [k for k in value if isinstance(k, str) and _is_array_index(k)]
        keys.sort(key=int)
        keys += [k for k in value if not (isinstance(k, str) and _is_array_index(k))]
        return [(key, value[key], f"{label}.{key}") for key in keys]
    if isinstance(value, (list, tuple)):
        return [(i, item, f"{label}[{i}]") for i, item in enumerate(value)]
    return []


def _is_falsy(value: Any) -> bool:
    """The `#if` test: JavaScript falsiness, plus the empty array."""
    if value is None or value is _MISSING or value is False or value is True:
        return value is not True
    if isinstance(value, (int, float)):
        return value == 0 or value != value
    if isinstance(value, (str, list, tuple)):
        return len(value) == 0
    return False


def _is_empty(value: Any) -> bool:
    """handlebars.js's isEmpty, which `#with` uses: like `#if`, except 0 is not empty."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return False
    return _is_falsy(value)


def _js_string(value: Any) -> str:
    """JavaScript's String(value), as handlebars.js prints a value."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < 2**53 else _js_number(float(value))
    if isinstance(value, float):
        return _js_number(value)
    if isinstance(value, Mapping):
        return "[object Object]"
    if isinstance(value, (list, tuple)):
        return _js_join(value)
    return str(value)


def _js_join(value: list[Any] | tuple[Any, ...]) -> str:
    """Array.prototype.join(","), which String(array) is: nested arrays are
    joined the same way, in place, and null items print nothing.  A loop, not
    recursion: data may nest arrays hundreds of levels deep."""
    out: list[str] = []
    end = object()
    stack: list[Iterator[Any]] = [iter(value)]
    first = [True]
    while stack:
        item = next(stack[-1], end)
        if item is end:
            stack.pop()
            first.pop()
            continue
        if first[-1]:
            first[-1] = False
        else:
            out.append(",")
        if isinstance(item, (list, tuple)):
            stack.append(iter(item))
            first.append(True)
        elif item is not None and item is not _MISSING:
            out.append(_js_string(item))
    return "".join(out)


def _js_number(value: float) -> str:
    """Number.prototype.toString: shortest round-trip digits, exponent past 1e21 or below 1e-6."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    digits = all_digits.lstrip("0")
    n = len(whole) + int(exponent or 0) - (len(all_digits) - len(digits))  # value = 0.digits × 10^n
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return sign + text
