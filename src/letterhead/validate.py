"""Does this data fit this template?  One answer for samples at build time
and for application data at send time.

Two checks, in order: declared types from ``template.toml`` (carried in the
manifest), then a full local render of every part with SES semantics, which
fails on exactly the data SES would accept and then silently drop (a missing
or null printed variable).  Messages name the variable, never its value: data
may hold a verification code or personal details, and errors end up in logs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Mapping

from . import handlebars
from .errors import DataError, Location, RenderError
from .payload import ManifestEntry, SesTemplate

if TYPE_CHECKING:  # pragma: no cover
    from .compile import CompiledTemplate
from .safety import HTML_DATA_KEY, prepare_data

_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "url": lambda v: isinstance(v, str) and re.match(r"^https?://\S+$", v) is not None,
    "email": lambda v: isinstance(v, str) and re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", v) is not None,
    "list": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def check_value(name: str, vtype: str, pattern: str | None, value: Any, *, where: str, label: str = "") -> None:
    if not _CHECKS.get(vtype, lambda v: True)(value):
        raise DataError(
            f"{label}variable `{name}` should be {vtype}, got {type(value).__name__}",
            location=Location(where),
            hint=f"send a {vtype} (declared in template.toml)",
        )
    if pattern and isinstance(value, str) and not re.search(pattern, value):
        raise DataError(
            f"{label}variable `{name}` does not match {pattern}",
            location=Location(where),
            hint="fix the data, or the pattern in template.toml",
        )


def check_types(variables: Mapping[str, Any], data: Mapping[str, Any], *, where: str, label: str = "") -> None:
    """``variables``: name → spec with ``type`` and optional ``pattern``
    (a :class:`~letterhead.sources.VariableSpec` or its manifest JSON)."""
    for name, spec in variables.items():
        if name not in data or data[name] is None:
            continue  # absence is the contract's business, not the type's
        vtype = spec["type"] if isinstance(spec, Mapping) else spec.type
        pattern = spec.get("pattern") if isinstance(spec, Mapping) else spec.pattern
        check_value(name, vtype, pattern, data[name], where=where, label=label)


def render_compiled(compiled: "CompiledTemplate", data: Any, *, variables: Mapping[str, Any],
                    raw_paths: tuple[str, ...], where: str, label: str = "") -> dict[str, str]:
    """Sample (or editor) data → the parts as SES renders them, from the
    designer-form parts, so a missing variable names its template.mjml line.
    The one path for ``letterhead build`` and ``letterhead dev``.

    ``label`` prefixes messages (``"sample 'default': "``); ``where`` names
    the data's file for the hint."""
    from .safety import render_like_ses

    if not isinstance(data, Mapping):
        raise DataError(f"{label}template data must be a JSON object", location=Location(where),
                        hint='wrap the values in {"name": value, ...}')
    check_types(variables, data, where=where, label=label)
    parts: dict[str, str] = {}
    for part in ("subject", "html", "text"):
        try:
            parts.update(render_like_ses(compiled.parsed, data, raw_paths, parts=(part,)))
        except RenderError as exc:
            raise RenderError(
                f"{label}{exc.message}", part=part,
                variable=exc.variable, location=exc.location, source_line=exc.source_line,
                hint=f"add `{exc.variable}` to {where}, or guard it with {{{{#if {exc.variable}}}}}"
                if exc.variable else exc.hint,
            ) from None
    return parts


def parse_payload(payload: SesTemplate) -> dict[str, handlebars.Template]:
    origin = f"ses_templates/{payload.name}.json"
    return {
        "subject": handlebars.parse(payload.subject, origin=f"{origin} (SubjectPart)"),
        "html": handlebars.parse(payload.html, origin=f"{origin} (HtmlPart)"),
        "text": handlebars.parse(payload.text, origin=f"{origin} (TextPart)"),
    }


def render_parts(payload: SesTemplate, data: Mapping[str, Any], raw_paths: tuple[str, ...] = (),
                 *, escape: bool = False, parsed: Mapping[str, handlebars.Template] | None = None,
                 ) -> dict[str, str]:
    """Render an SES payload as SES would (``escape=False`` per the SES guide,
    ``True`` as handlebars.js), after :func:`~letterhead.safety.prepare_data`."""
    prepared = prepare_data(data, raw_paths)
    templates = parsed or parse_payload(payload)
    return {part: handlebars.render(t, prepared, escape=escape) for part, t in templates.items()}


def check_data(entry: ManifestEntry, payload: SesTemplate, data: Mapping[str, Any],
               *, parsed: Mapping[str, handlebars.Template] | None = None) -> dict[str, str]:
    """Raise :class:`DataError` / :class:`RenderError` unless ``data`` renders
    every part of the template; return the rendered parts."""
    if not isinstance(data, Mapping):
        raise DataError("template data must be a JSON object (a dict)", hint="pass a dict of variables")
    where = f"data for template '{entry.name}'"
    check_types(entry.variables, data, where=where)
    try:
        return render_parts(payload, data, entry.raw_paths, parsed=parsed)
    except RenderError as exc:
        # The HTML part reads the escaped copy, so it reports `_html.x`; the
        # application sends `x`.
        prefix = f"{HTML_DATA_KEY}."
        variable = exc.variable
        message = exc.message
        if variable and variable.startswith(prefix):
            variable = variable[len(prefix):]
            message = message.replace(f"`{prefix}", "`")
        raise RenderError(
            f"template '{entry.name}': {message}",
            variable=variable,
            location=exc.location,
            hint=f"pass `{variable}` (not null) in the data" if variable else exc.hint,
        ) from None
