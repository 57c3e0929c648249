"""The parser's mutable tree, shaped like handlebars.js's own AST.

:mod:`.parser` builds it from the lexer's pieces, :mod:`.whitespace` trims
its text in place and freezes it into :mod:`.nodes`.  Plain classes with
``__slots__``: a dataclass costs ~0.5 ms at import (it compiles its methods
each time), and these need no generated ``__eq__`` or ``__repr__``.
"""

from __future__ import annotations

from .lexer import Content, Mustache
from .nodes import Output, Path

Strip = tuple[bool, bool]  # (`{{~`, `~}}`)


class Program:
    __slots__ = ("body", "chained")

    def __init__(self, body: list[Content | Output | Statement | BlockStatement], chained: bool = False) -> None:
        self.body = body
        self.chained = chained  # holds the Block of an `{{else if}}`


class Statement:
    """A one-tag statement: output, partial call or comment."""

    __slots__ = ("indent", "mustache", "name", "path")

    def __init__(self, mustache: Mustache, path: Path | None = None, name: str = "", indent: str = "") -> None:
        self.mustache = mustache
        self.path = path
        self.name = name
        self.indent = indent

    @property
    def strip(self) -> Strip:
        return (self.mustache.tag.strip_left, self.mustache.tag.strip_right)


class BlockStatement:
    __slots__ = ("close_strip", "helper", "inline_name", "inverse", "inverse_strip", "mustache", "path", "program")

    def __init__(self, mustache: Mustache, helper: str, path: Path | None, program: Program | None,
                 inverse: Program | None = None, inline_name: str = "",
                 inverse_strip: Strip = (False, False), close_strip: Strip = (False, False)) -> None:
        self.mustache = mustache  # the opening tag (`{{else if x}}` for a chained block)
        self.helper = helper
        self.path = path
        self.program = program
        self.inverse = inverse
        self.inline_name = inline_name  # set for `{{#*inline "name"}}`
        self.inverse_strip = inverse_strip
        self.close_strip = close_strip

    @property
    def open_strip(self) -> Strip:
        return (self.mustache.tag.strip_left, self.mustache.tag.strip_right)


# an Output: a plain output tag the parser froze at once (it needs no whitespace control)
Body = list[Content | Output | Statement | BlockStatement]
