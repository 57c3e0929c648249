"""The contract: the variables the application must send, from parsed parts.

:func:`contract` merges the variable uses the scope walk found in each part
(:attr:`~.nodes.Template.uses`) into a :class:`~.variables.Contract`.
"""

from __future__ import annotations

from collections.abc import Iterable

from letterhead.errors import Location

from .nodes import Guard, Template, Use
from .scope import ScopeWalker
from .variables import FLAGS, Contract, Variable


class _VarNode:
    """A mutable Variable being collected; "[]" children stand for list items."""

    __slots__ = ("children", "iterated", "locations", "output", "raw", "required", "scoped", "tested")

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

    def collect(use: Use) -> None:
        path, named_from, role, guards, location = use
        size = len(path)
        located = named_from if named_from < size - 1 else size - 1  # the segments the tag wrote (at least the last)
        printed = role == "output" or role == "raw"
        required = (_required_from(guards, path) if guards else 0) if printed else size
        node = root
        for i, segment in enumerate(path):
            children = node.children
            child = children.get(segment)
            if child is None:
                child = children[segment] = _VarNode()
            node = child
            if i >= located:
                node.locations.add(location)
            if i >= required:
                node.required = True
        if printed:
            node.output = True
            if role == "raw":
                node.raw = True
        else:
            setattr(node, role, True)

    for template in templates:
        if template.uses is not None:
            for use in template.uses:
                collect(use)
        else:
            ScopeWalker(template, collect).walk()
    return Contract({name: _to_variable(name, node) for name, node in sorted(root.children.items())})


def _required_from(guards: tuple[Guard, ...], path: tuple[str, ...]) -> int:
    """From which segment on a printed path is always reached: where every
    condition on the way is implied by the path's parents being there.
    `{{#if user}}{{user.name}}` needs `name` (index 1) whenever `user` is sent,
    but `{{#if note}}{{note}}` and `{{#if a}}{{b}}` need nothing
    (``len(path)``: no segment).  Segment ``i`` is reached when each guard is a
    path of its own (not None), a prefix of ``path`` and shorter than
    ``path[: i + 1]``: from the longest guard's length on."""
    start = 0
    for guard in guards:
        if guard is None or path[: len(guard)] != guard:
            return len(path)
        start = max(start, len(guard))
    return start


def _to_variable(name: str, node: _VarNode) -> Variable:
    if not node.children:  # most variables: no fields, no items
        return Variable(name, node.required, node.output, node.raw, node.tested, node.iterated, node.scoped,
                        fields={}, locations=_sorted_locations(node.locations))
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
    flags = {flag: getattr(a, flag) or getattr(b, flag) for flag in FLAGS}
    return Variable(
        a.name,
        **flags,
        fields=dict(sorted(fields.items())),
        locations=_sorted_locations({*a.locations, *b.locations}),
    )


def _sorted_locations(locations: Iterable[Location]) -> tuple[Location, ...]:
    if isinstance(locations, set) and len(locations) == 1:
        return tuple(locations)
    return tuple(sorted(set(locations), key=lambda loc: (loc.path, loc.line or 0)))
