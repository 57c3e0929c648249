"""Whitespace control, then the frozen nodes.

:func:`control_whitespace` trims the parser's tree in place as handlebars.js
does (standalone lines, ``~``); :func:`freeze` turns the tree into the nodes
of :mod:`.nodes`.

The whitespace pass is a line-by-line port of handlebars.js's WhitespaceControl
(compiler/whitespace-control.js), so standalone lines and ``~`` come out as SES
renders them.  Names and quirks are kept to make the two easy to compare.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .lexer import JS_WHITESPACE, WS_CLASS, Content, Source
from .nodes import Block, InlinePartial, Node, Output, PartialCall, Text
from .tree import BlockStatement, Body, Program, Statement


class _StripInfo(NamedTuple):
    open: bool
    close: bool
    open_standalone: bool = False
    close_standalone: bool = False
    inline_standalone: bool = False


_new = tuple.__new__  # a NamedTuple from its fields in order, without its __new__'s call
_NEXT_WS = re.compile(r"\A" + WS_CLASS + r"*?\r?\n")
_NEXT_WS_ROOT = re.compile(r"\A" + WS_CLASS + r"*?(?:\r?\n|\Z)")
_LEADING_LINE = re.compile(r"\A[ \t]*\r?\n?")


def control_whitespace(program: Program, is_root: bool = False) -> None:
    body = program.body
    for i, current in enumerate(body):
        if type(current) is Content or type(current) is Output:  # Output: a tag without `~` (parser._read)
            continue
        if type(current) is Statement and current.mustache.tag.kind not in ("partial", "comment"):
            # an output tag: its `~`s only (it never stands alone)
            tag = current.mustache.tag
            if tag.strip_right:
                _omit_right(body, i, True)
            if tag.strip_left:
                _omit_left(body, i, True)
            continue
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
                and isinstance(current, Statement)
                and current.mustache.tag.kind == "partial"
            ):
                previous = body[i - 1]
                assert isinstance(previous, Content)
                current.indent = previous.original[len(previous.original.rstrip(" \t")) :]
        if open_standalone and isinstance(current, BlockStatement):
            _omit_right(_first_program(current).body)
            _omit_left(body, i)
        if close_standalone and isinstance(current, BlockStatement):
            _omit_right(body, i)
            last = current.inverse or current.program
            assert last is not None
            _omit_left(last.body)


def _first_program(block: BlockStatement) -> Program:
    program = block.program or block.inverse
    assert program is not None
    return program


def _accept(node: Content | Output | Statement | BlockStatement) -> _StripInfo | None:
    if isinstance(node, (Content, Output)):
        return None
    if isinstance(node, BlockStatement):
        return _block_whitespace(node)
    open_, close = node.strip
    if node.mustache.tag.kind in ("partial", "comment"):
        return _StripInfo(open_, close, inline_standalone=True)
    return _StripInfo(open_, close)


def _block_whitespace(block: BlockStatement) -> _StripInfo:
    if block.program:
        control_whitespace(block.program)
    if block.inverse:
        control_whitespace(block.inverse)
    program = _first_program(block)
    inverse = block.inverse if block.program else None
    first_inverse = last_inverse = inverse
    if inverse is not None and inverse.chained:
        chained = inverse.body[0]
        assert isinstance(chained, BlockStatement) and chained.program is not None
        first_inverse = chained.program
        while last_inverse is not None and last_inverse.chained:
            tail = last_inverse.body[-1]
            assert isinstance(tail, BlockStatement)
            last_inverse = tail.program
    open_tag = block.mustache.tag
    strip = _new(_StripInfo, (
        open_tag.strip_left,
        block.close_strip[1],
        _is_next_whitespace(program.body),
        _is_prev_whitespace((first_inverse or program).body),
        False,
    ))
    if open_tag.strip_right:
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


def _is_prev_whitespace(body: Body, i: int | None = None, is_root: bool = False) -> bool:
    if i is None:
        i = len(body)
    prev = body[i - 1] if i >= 1 else None
    sibling = body[i - 2] if i >= 2 else None
    if prev is None:
        return is_root
    if isinstance(prev, Content):
        # handlebars.js: /\r?\n\s*?$/, or /(^|\r?\n)\s*?$/ for the first node of the template;
        # a regex search from every offset is slow on long HTML, hence rstrip
        body_text = prev.original.rstrip(JS_WHITESPACE)
        if "\n" in prev.original[len(body_text) :]:
            return True
        return not body_text and sibling is None and is_root
    return False


def _is_next_whitespace(body: Body, i: int | None = None, is_root: bool = False) -> bool:
    if i is None:
        i = -1
    following = body[i + 1] if i + 1 < len(body) else None
    sibling = body[i + 2] if i + 2 < len(body) else None
    if following is None:
        return is_root
    if isinstance(following, Content):
        pattern = _NEXT_WS if (sibling is not None or not is_root) else _NEXT_WS_ROOT
        return pattern.match(following.original) is not None
    return False


def _omit_right(body: Body, i: int | None = None, multiple: bool = False) -> None:
    index = 0 if i is None else i + 1
    current = body[index] if index < len(body) else None
    if not isinstance(current, Content) or (not multiple and current.right_stripped):
        return
    original = current.value
    if multiple:
        current.value = current.value.lstrip(JS_WHITESPACE)
    else:
        current.value = _LEADING_LINE.sub("", current.value, count=1)
    current.right_stripped = current.value != original


def _omit_left(body: Body, i: int | None = None, multiple: bool = False) -> bool:
    index = len(body) - 1 if i is None else i - 1
    current = body[index] if 0 <= index < len(body) else None
    if not isinstance(current, Content) or (not multiple and current.left_stripped):
        return False
    original = current.value
    current.value = current.value.rstrip(JS_WHITESPACE if multiple else " \t")
    current.left_stripped = current.value != original
    return current.left_stripped


def freeze(body: Body, src: Source) -> tuple[Node, ...]:
    nodes: list[Node] = []
    for item in body:
        if type(item) is Output:  # frozen already (parser._read)
            nodes.append(item)
            continue
        if type(item) is Content:
            if not item.value:
                continue
            if nodes and type(nodes[-1]) is Text:
                nodes[-1] = nodes[-1]._replace(value=nodes[-1].value + item.value)
            else:
                nodes.append(_new(Text, (item.value, src.locate(item.start), item.start)))
            continue
        assert not isinstance(item, (Content, Output))
        offset = item.mustache.tag.start
        location = src.locate(offset)
        if isinstance(item, BlockStatement):
            program = freeze(item.program.body, src) if item.program else ()
            if item.inline_name:
                nodes.append(InlinePartial(item.inline_name, program, location, offset))
            else:
                assert item.path is not None
                inverse = freeze(item.inverse.body, src) if item.inverse else ()
                nodes.append(_new(Block, (item.helper, item.path, program, inverse, location, offset)))
        elif item.mustache.tag.kind == "partial":
            nodes.append(PartialCall(item.name, location, offset, item.indent))
        elif item.path is not None:
            nodes.append(Output(item.path, item.mustache.tag.kind == "raw_output", location, offset))
    return tuple(nodes)
