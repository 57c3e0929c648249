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
    # FLAGS in order; item_* can only be true for an iterated variable: left out elsewhere
    data: dict[str, Any] = {"required": var.required, "output": var.output, "raw": var.raw,
                            "tested": var.tested, "iterated": var.iterated, "scoped": var.scoped}
    if var.iterated:
        data["item_output"] = var.item_output
        data["item_required"] = var.item_required
        data["item_raw"] = var.item_raw
    data["locations"] = [str(location) for location in var.locations]
    if var.fields:
        data["fields"] = {name: _variable_to_json(field_) for name, field_ in sorted(var.fields.items())}
    return data


def _variable_from_json(name: str, data: Mapping[str, Any]) -> Variable:
    fields_json = data.get("fields", {})
    fields = {key: _variable_from_json(key, value) for key, value in sorted(fields_json.items())} \
        if type(fields_json) is not dict or fields_json else {}
    get = data.get
    return Variable(
        name,
        # FLAGS in order
        bool(get("required", False)), bool(get("output", False)), bool(get("raw", False)),
        bool(get("tested", False)), bool(get("iterated", False)), bool(get("scoped", False)),
        bool(get("item_output", False)), bool(get("item_required", False)), bool(get("item_raw", False)),
        fields=fields,
        locations=tuple(map(_parse_location, get("locations", ()))),
    )


# A manifest names the same few places again and again (each variable's lines in each
# variant): each text's Location, made once (a Location is immutable; the cache is bounded).
_LOCATIONS: dict[str, Location] = {}
_LOCATIONS_MAX = 4096


def _parse_location(text: str) -> Location:
    if type(text) is str:
        known = _LOCATIONS.get(text)
        if known is not None:
            return known
    path, sep, line = text.rpartition(":")
    location = Location(path, int(line)) if sep and line.isdigit() else Location(text)
    if type(text) is str and len(_LOCATIONS) < _LOCATIONS_MAX:
        _LOCATIONS[text] = location
    return location


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
