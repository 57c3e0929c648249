"""The parsed template: the records every stage of the language shares.

The lexer makes :class:`Tag` and :class:`Path` records, the parser and the
whitespace pass end in frozen nodes (:class:`Text`, :class:`Output`,
:class:`Block`, :class:`PartialCall`, :class:`InlinePartial`) held by a
:class:`Template`; the scope walk records each variable use as a :class:`Use`,
which :mod:`.contract` merges.  The limits SES's language is checked against
live here too.  This module imports no other stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple, TypeAlias

from letterhead.errors import Location

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


TagKind = Literal[
    "output", "raw_output", "open", "inverse_open", "else", "close", "comment", "partial", "inline_open"
]


# Records are NamedTuples: immutable and compared by value like frozen
# dataclasses, but defining one costs ~0.1 ms at import against ~0.7 ms (a
# dataclass compiles its methods at every start; the package has 13).
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


Node: TypeAlias = Text | Output | Block | PartialCall | InlinePartial


# a path known truthy in this branch; None: a condition implying nothing
Guard: TypeAlias = tuple[str, ...] | None


class Use(NamedTuple):
    path: tuple[str, ...]  # absolute, "[]" standing for the items of an #each
    named_from: int  # path[named_from:] is what the tag wrote; the rest came from the scope
    role: Literal["output", "raw", "tested", "iterated", "scoped"]
    guards: tuple[Guard, ...]
    location: Location


@dataclass(frozen=True)
class Template:
    """One parsed part (subject, html or text); ``text`` is kept for error lines."""

    body: tuple[Node, ...]
    origin: str
    text: str = field(repr=False)
    # What the part does with each variable, found by parse()'s own walk, so
    # that contract() need not walk it again; None: walk when asked.
    uses: tuple[Use, ...] | None = field(default=None, repr=False, compare=False)
    # Every tag as written, in order, for rewriting the part (safety.py).
    tags: tuple[Tag, ...] | None = field(default=None, repr=False, compare=False)
