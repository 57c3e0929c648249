"""What a template asks of its data: :class:`Variable` and :class:`Contract`.

:func:`.contract.contract` fills them from a parsed template; the build writes
:meth:`Contract.to_json` into the committed manifest, and
:meth:`Contract.from_json` reads that form back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from letterhead.errors import Location

from .lexer import ID_CHAR


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


FLAGS = (
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


def _variable_to_json(var: Variable) -> dict[str, Any]:
    # item_* can only be true for an iterated variable: leave them out elsewhere
    flags = FLAGS if var.iterated else FLAGS[:6]
    data: dict[str, Any] = {flag: getattr(var, flag) for flag in flags}
    data["locations"] = [str(location) for location in var.locations]
    if var.fields:
        data["fields"] = {name: _variable_to_json(field_) for name, field_ in sorted(var.fields.items())}
    return data


def _variable_from_json(name: str, data: Mapping[str, Any]) -> Variable:
    fields = {key: _variable_from_json(key, value) for key, value in sorted(data.get("fields", {}).items())}
    return Variable(
        name,
        **{flag: bool(data.get(flag, False)) for flag in FLAGS},
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
            segment = name if ID_CHAR.match(name) else f"[{name}]"
            path = f"{prefix}.{segment}" if prefix else segment
        own, items = pick(var)
        if own:
            yield path
        if items:
            yield path + "[]"
        yield from _paths(var.fields, path + "[]" if var.iterated else path, pick)
