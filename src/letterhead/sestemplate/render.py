"""Rendering a parsed template with handlebars.js's semantics.

:func:`render` takes a :class:`~.nodes.Template` and the template data and
returns the text SES would send, with one deliberate difference: a missing or
null variable in an output position raises
:class:`~letterhead.errors.RenderError`, because SES accepts such a send and
then silently drops the message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from letterhead.errors import RenderError

from .lexer import line_at
from .nodes import Block, InlinePartial, Node, Output, PartialCall, Path, Template, Text

# Tuples grow by concatenation (`a + (b,)`), not by unpacking as RUF005 would
# have it: ~40 ns against ~56 ns, at every block and every `#each` item.

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
        programs = programs + (nodes,)  # noqa: RUF005
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
        text = value if type(value) is str else js_string(value)
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
                source_line=line_at(self.template.text, node.offset),
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
            source_line=line_at(self.template.text, node.offset),
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
        return value.get(key, _MISSING)
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
    return ((value, label),) + stack  # noqa: RUF005


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


def js_string(value: Any) -> str:
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
