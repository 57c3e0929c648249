"""Rendering a parsed template with handlebars.js's semantics.

:func:`render` takes a :class:`~.nodes.Template` and the template data and
returns the text SES would send, with one deliberate difference: a missing or
null variable in an output position raises
:class:`~letterhead.errors.RenderError`, because SES accepts such a send and
then silently drops the message.  The render goes on past a missing variable
(printing nothing), so the error lists every one of them.

``../`` levels follow handlebars.js's runtime: the current context
(``depth0``) and the ``depths`` that ``../`` walks are apart, and a block
opens a level only when its new context is loosely unequal (JavaScript's
``!=``) to the innermost one (:func:`loose_equal`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from letterhead.errors import MissingVariable, RenderError, excerpt_at

from .lexer import line_at
from .nodes import Block, InlinePartial, Node, Output, PartialCall, Path, Template, Text

# Tuples grow by concatenation (`a + (b,)`), not by unpacking as RUF005 would
# have it: ~40 ns against ~56 ns, at every block and every `#each` item.

_MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>"})()  # JavaScript's undefined


class _NullContext(Mapping[str, Any]):
    """handlebars.js's ``container.nullContext``: the sealed empty object a
    block helper gets as ``this`` when the context is null or undefined."""

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "<nullContext>"


_NULL_CONTEXT: Any = _NullContext()
_INDEX = re.compile(r"\[\d+\]")  # `xs[2].x` and `xs[0].x` are one field of the items

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
    Raises one :class:`~letterhead.errors.RenderError` listing every missing
    or null printed variable (``.missing``).
    """
    out: list[str] = []
    renderer = _Renderer(template, escape)
    top = (data, "")
    renderer.run(template.body, top, (top,), {"root": data}, (), out)
    if renderer.missing:
        raise RenderError.for_missing(renderer.missing)
    return "".join(out)


_Context = tuple[Any, str]  # a context and its path for messages
_Stack = tuple[_Context, ...]  # handlebars.js's `depths`, innermost first: what `../` walks
_Programs = tuple[tuple[Node, ...], ...]  # the bodies being run, where inline partials are looked up


class _Renderer:
    def __init__(self, template: Template, escape: bool) -> None:
        self.template = template
        self.escape = escape
        self.missing: list[MissingVariable] = []
        self.seen: set[str] = set()

    def run(
        self,
        nodes: tuple[Node, ...],
        context: _Context,
        depths: _Stack,
        frame: dict[str, Any],
        programs: _Programs,
        out: list[str],
    ) -> None:
        # Text, outputs, `#if` and `#unless` are handled here, without a call each; a path into
        # dicts (JSON data) is looked up inline as _value would, any other path by _value.  A
        # missing or null output prints nothing (the error lists it).  `#with` and `#each`: _block.
        programs = programs + (nodes,)  # noqa: RUF005
        append = out.append
        escape = self.escape
        any_nodes: tuple[Any, ...] = nodes  # told apart by type(): fields read by index
        for node in any_nodes:
            kind = type(node)
            if kind is Text:
                append(node[0])
            elif kind is Output:
                path = node[0]
                value = context[0]
                if path[2] or path[3] or type(value) is not dict:  # depth, data: _value's other cases
                    value = _value(path, context, depths, frame)
                else:
                    for part in path[1]:
                        if type(value) is not dict:
                            value = _value(path, context, depths, frame)
                            break
                        value = value.get(part, _MISSING)
                if type(value) is str:
                    append(escape_expression(value) if escape and not node[1] else value)
                elif value is None or value is _MISSING:
                    self._missing(node, value, _lookup(path, context, depths, frame)[1])
                else:
                    text = js_string(value)
                    append(escape_expression(text) if escape and not node[1] else text)
            elif kind is Block:
                helper = node[0]
                if helper != "if" and helper != "unless":
                    self._block(node, context, depths, frame, programs, out)
                    continue
                path = node[1]
                value = context[0]
                if path[2] or path[3] or type(value) is not dict:
                    value = _value(path, context, depths, frame)
                else:
                    for part in path[1]:
                        if type(value) is not dict:
                            value = _value(path, context, depths, frame)
                            break
                        value = value.get(part, _MISSING)
                if value is True:
                    falsy = False
                elif value is False or value is None or value is _MISSING:
                    falsy = True
                elif type(value) is str or type(value) is list:
                    falsy = not value
                else:
                    falsy = _is_falsy(value)
                branch = node[2] if falsy == (helper == "unless") else node[3]
                if branch:
                    # a block helper's `this` (nullContext for a null context), then wrapProgram's level
                    this = context if context[0] is not None and context[0] is not _MISSING \
                        else (_NULL_CONTEXT, context[1])
                    self.run(branch, this, depths if this[0] is depths[0][0] else _push(depths, this), frame,
                             programs, out)
            elif kind is PartialCall:
                self._partial(node, context, depths, frame, programs, out)

    def program(
        self,
        nodes: tuple[Node, ...],
        context: _Context,
        depths: _Stack,
        frame: dict[str, Any],
        programs: _Programs,
        out: list[str],
    ) -> None:
        """A block's body or inverse run on ``context``, as handlebars.js's
        ``wrapProgram`` runs it: a new ``../`` level only for a context
        loosely unequal to the innermost one."""
        if nodes:
            self.run(nodes, context, _push(depths, context), frame, programs, out)

    def _block(
        self, node: Block, context: _Context, depths: _Stack, frame: dict[str, Any], programs: _Programs,
        out: list[str],
    ) -> None:
        """``#with`` and ``#each`` (:meth:`run` tests ``#if`` and ``#unless`` itself)."""
        # a block helper's `this`: handlebars.js passes nullContext for a null or undefined context
        this = context if context[0] is not None and context[0] is not _MISSING else (_NULL_CONTEXT, context[1])
        value, label = _lookup(node.path, context, depths, frame)
        if node.helper == "with":
            if _is_empty(value):
                self.program(node.inverse, this, depths, frame, programs, out)
            else:
                self.program(node.body, (value, label), depths, frame, programs, out)
            return
        items = _iteration(value, label)
        if not items:
            self.program(node.inverse, this, depths, frame, programs, out)
            return
        body = node.body
        if not body:
            return
        last = len(items) - 1
        run = self.run
        for index, (key, item, item_label) in enumerate(items):
            item_frame = {**frame, "key": key, "index": index, "first": index == 0, "last": index == last}
            item_context = (item, item_label)
            run(body, item_context, _push(depths, item_context), item_frame, programs, out)  # self.program's run

    def _partial(
        self, node: PartialCall, context: _Context, depths: _Stack, frame: dict[str, Any], programs: _Programs,
        out: list[str],
    ) -> None:
        definition = _find_partial(node.name, programs)
        if definition is None:
            raise RenderError(
                f'partial "{node.name}" is not defined',
                location=node.location,
                hint='define it in this part with `{{#*inline "' + node.name + '"}}…{{/inline}}`',
                source_line=excerpt_at(self.template.text, node.offset),
            )
        if not node.indent:
            self.program(definition.body, context, depths, frame, programs, out)
            return
        buffer: list[str] = []
        self.program(definition.body, context, depths, frame, programs, buffer)
        lines = "".join(buffer).split("\n")
        for i, line in enumerate(lines):
            if not line and i + 1 == len(lines):
                break
            lines[i] = node.indent + line
        out.append("\n".join(lines))

    def _missing(self, node: Output, value: Any, label: str) -> None:
        variable = label or "this"
        # an `#each` of thousands of items may miss the same field in each: the line once per variable
        first = _INDEX.sub("[]", variable) not in self.seen
        if first:
            self.seen.add(_INDEX.sub("[]", variable))
        self.missing.append(MissingVariable(
            variable, node.path.original, null=value is None, raw=node.raw, location=node.location,
            source_line=line_at(self.template.text, node.offset) if first else None,
        ))


def _find_partial(name: str, programs: _Programs) -> InlinePartial | None:
    for nodes in reversed(programs):
        for node in reversed(nodes):  # a later definition replaces an earlier one
            if isinstance(node, InlinePartial) and node.name == name:
                return node
    return None


def _lookup(path: Path, context: _Context, depths: _Stack, frame: dict[str, Any]) -> tuple[Any, str]:
    """The value a path reaches, and the label of the last step taken: the
    variable to blame when the value is missing or null."""
    if path.data:
        head = path.parts[0]
        if head != "root":
            return frame.get(head, _MISSING), "@" + head
        value, label, rest = frame["root"], "", path.parts[1:]
    elif not path.depth:
        (value, label), rest = context, path.parts
    elif path.depth < len(depths):
        (value, label), rest = depths[path.depth], path.parts
    else:  # above the levels that opened (a context loosely equal to its parent opens none)
        return _MISSING, path.original
    for part in rest:
        if type(value) is dict:
            value = value.get(part, _MISSING)
        elif value is None or value is _MISSING:
            break
        elif value is _NULL_CONTEXT:
            return None, label  # the null the block helper stood in for
        else:
            value = _property(value, part)
        label = f"{label}.{part}" if label else part
    return value, label


def _value(path: Path, context: _Context, depths: _Stack, frame: dict[str, Any]) -> Any:
    """:func:`_lookup`'s value alone: the label, a string built at each step, is
    only wanted for a missing variable (then :func:`_lookup` runs again) and for
    the context of a ``#with`` or ``#each``."""
    if path.data:
        head = path.parts[0]
        if head != "root":
            return frame.get(head, _MISSING)
        value, rest = frame["root"], path.parts[1:]
    elif not path.depth:
        value, rest = context[0], path.parts
    elif path.depth < len(depths):
        value, rest = depths[path.depth][0], path.parts
    else:
        return _MISSING
    for part in rest:
        if type(value) is dict:  # JSON data: dicts all the way down
            value = value.get(part, _MISSING)
            continue
        if value is None or value is _MISSING:
            break
        if value is _NULL_CONTEXT:
            return None
        value = _property(value, part)
    return value


def _property(value: Any, key: str) -> Any:
    """JavaScript's own-property lookup: object keys, and an array's or a string's
    indexes and `length`."""
    if isinstance(value, Mapping):
        return value.get(key, _MISSING)
    if isinstance(value, (list, tuple, str)):
        if key == "length":
            return len(value)
        if _is_array_index(key) and int(key) < len(value):
            return value[int(key)]
    return _MISSING


def _is_array_index(key: str) -> bool:
    return key.isascii() and key.isdigit() and str(int(key)) == key and int(key) < 2**32 - 1


def _push(depths: _Stack, context: _Context) -> _Stack:
    """handlebars.js's ``wrapProgram``: ``context`` opens a ``../`` level only
    when ``context != depths[0]`` (and it is not the nullContext standing in
    for a null ``depths[0]``)."""
    value, top = context[0], depths[0][0]
    if value is top:
        return depths
    if type(value) is dict and type(top) is dict:  # two objects: equal only if the same one
        return (context,) + depths  # noqa: RUF005
    if loose_equal(value, top) or (value is _NULL_CONTEXT and top is None):
        return depths
    return (context,) + depths  # noqa: RUF005


# --- JavaScript's loose equality (`==`), over JSON values ---------------------------------------

_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
_DECIMAL = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_RADIX = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")


def _js_type(value: Any) -> str:
    if value is None:
        return "null"
    if value is _MISSING:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def _number(value: int | float) -> float:
    """A Python number as a JavaScript number (a double; too large: ±Infinity)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def to_number(text: str) -> float:
    """JavaScript's ``Number(text)``: decimal, ``Infinity``, 0x/0o/0b, blank is 0, else NaN."""
    text = text.strip(_JS_SPACE)
    if not text:
        return 0.0
    if _DECIMAL.fullmatch(text):
        return float(text)
    if _RADIX.fullmatch(text):
        return _number(int(text, 0))
    return math.nan


def _object_equal(obj: Any, primitive: Any) -> bool:
    """``obj == primitive`` (a string or a number): ``String(obj) == primitive``.
    An array of n > 1 items prints n - 1 commas, so it never equals a number
    or a shorter string: `{{#each this}}` over a long array compares each
    item without joining the array each time."""
    if isinstance(obj, (list, tuple)) and len(obj) > 1 and (
            not isinstance(primitive, str) or len(primitive) < len(obj) - 1):
        return False
    return loose_equal(js_string(obj), primitive)


def loose_equal(a: Any, b: Any) -> bool:
    """JavaScript's ``a == b`` for JSON values: objects equal only
    themselves; null equals undefined; a boolean compares as 0 or 1, an
    object as its string (``"[object Object]"``, an array's items joined
    with commas), a string with a number as ``Number(string)``."""
    ta, tb = _js_type(a), _js_type(b)
    if ta == tb:
        if ta == "object":
            return a is b
        if ta == "number":
            return _number(a) == _number(b)
        return ta in ("null", "undefined") or bool(a == b)
    nullish = ("null", "undefined")
    if ta in nullish or tb in nullish:
        return ta in nullish and tb in nullish
    if ta == "boolean":
        return loose_equal(int(a), b)
    if tb == "boolean":
        return loose_equal(a, int(b))
    if ta == "object":
        return _object_equal(a, b)
    if tb == "object":
        return _object_equal(b, a)
    if ta == "number":
        return _number(a) == to_number(b)
    return to_number(a) == _number(b)


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


def js_string(value: Any) -> str:
    """JavaScript's String(value), as handlebars.js prints a value."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < 2**53 else _js_number(_number(value))
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
            out.append(js_string(item))
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
