"""Does this data fit this template?  One answer for samples at build time
and for application data at send time.

Checks, in order: declared types from ``template.toml`` (carried in the
manifest; strict: an ``email`` is an address the sender can send to, a
``url`` an absolute http(s) URL, a ``color`` cannot leave CSS); values that
decide a link's target (``href="{{x}}"``, ``mailto:{{x}}``: the contexts
:mod:`letterhead.authoring.contexts` found); the reserved ``_url`` key; then a full
local render of every part with SES semantics, which fails on exactly the
data SES would accept and then silently drop (a missing or null printed
variable).  Messages name the variable, never its value: data may hold a
verification code or personal details, and errors end up in logs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping  # not typing's aliases: isinstance() on those is ~2.5x slower
from typing import TYPE_CHECKING, Any

from .. import sestemplate
from ..errors import DataError, Location, RenderError
from .contexts import LINK, MAILTO, TEL, URL_DATA_KEY, parse_path, values_at
from .payload import ManifestEntry, SesTemplate

if TYPE_CHECKING:  # pragma: no cover
    from .compile import CompiledTemplate
from .safety import explain_render_error as explain_render_error  # the one wording, for every path
from .safety import prepare_data, url_paths_of

# --- addresses and URLs: one check each, for declared types, placeholders and the sender ----------

CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
_LOCAL_OK = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_LABEL_OK = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def check_address(value: Any, what: str = "address") -> str:
    """A plain ``local@domain`` address, or DataError.  Refuses line breaks
    and every character that would let a value name a second recipient or
    start a header (``,;<>"`` and spaces); a non-ASCII domain becomes
    punycode (SES has no SMTPUTF8).  The message never repeats the value.
    The sender's recipients and ``type = "email"`` variables both use it."""
    if not isinstance(value, str):
        raise DataError(f"{what} must be a string, got {value_kind(value)}", hint="pass one address")
    if CONTROL_RE.search(value):
        raise DataError(f"{what} contains a line break or control character",
                        hint="an address is one line; never pass user input with CR/LF as an address")
    if len(value) > 320 or value.count("@") != 1:
        raise DataError(f"{what} is not an email address (local@domain)", hint="pass one plain address")
    local, domain = value.split("@")
    if not local or not _LOCAL_OK.fullmatch(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise DataError(f"{what} has a local part SES cannot send to (ASCII letters, digits and "
                        "!#$%&'*+/=?^_`{|}~.- only)", hint="pass a plain address without a display name")
    try:
        ascii_domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        raise DataError(f"{what} has a domain that is not a valid host name", hint="check the address") from None
    labels = ascii_domain.rstrip(".").split(".")
    if len(labels) < 2 or not all(_LABEL_OK.fullmatch(label) for label in labels):
        raise DataError(f"{what} has a domain that is not a valid host name", hint="check the address")
    return f"{local}@{ascii_domain}"


# What no URL holds unencoded: whitespace, quotes, angle brackets, backslash, controls.
_URL_BAD = re.compile(r"[\x00-\x20\x7f-\xa0\"'<>`\\\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]")
_MAILTO_BAD = re.compile(r"[?#&%,;]")  # would add a recipient or a header to a mailto: link
_TEL_OK = re.compile(r"^\+?[0-9][0-9 ().-]*$")
_SCHEMES = {LINK: ("http", "https", "mailto", "tel"), "url": ("http", "https")}


def url_problem(value: Any, schemes: Iterable[str] = ("http", "https")) -> str | None:
    """Why ``value`` is not an absolute URL with one of ``schemes`` (None
    when it is), worded to follow "variable `x` ".  One check for
    ``type = "url"`` and for a placeholder that is a whole link; it never
    repeats the value (a signed link is a secret)."""
    schemes = tuple(schemes)
    if not isinstance(value, str):
        return f"should be a URL (a string), got {value_kind(value)}"
    if _URL_BAD.search(value):
        return "holds whitespace, a quote, an angle bracket, a backslash or a control character"
    scheme, sep, rest = value.partition(":")
    if not sep or scheme.lower() not in schemes:
        return "must start with " + ", ".join(f"{s}:" for s in schemes[:-1]) + f" or {schemes[-1]}:" \
            if len(schemes) > 1 else f"must start with {schemes[0]}:"
    if scheme.lower() in ("http", "https") and not re.match(r"//[^/?#]", rest):
        return f"has no host after {scheme.lower()}://"
    return None


def _placed_problem(value: Any, kind: str) -> str | None:
    """The check of a value printed where it decides a link's target (a
    ``letterhead.authoring.contexts`` whole-URL kind)."""
    if kind == MAILTO:
        try:
            check_address(value, "the address")
        except DataError as exc:
            return f"is printed after mailto: and is not one plain address ({exc.message})"
        if _MAILTO_BAD.search(value):
            return "is printed after mailto: and holds ?, #, &, %, , or ; (which would change the link)"
        return None
    if kind == TEL:
        if not isinstance(value, str) or not _TEL_OK.match(value):
            return "is printed after tel: and is not a phone number (digits, spaces, + ( ) . - only)"
        return None
    problem = url_problem(value, _SCHEMES.get(kind, _SCHEMES["url"]))
    return f"is printed as a link's whole URL and {problem}" if problem else None


def check_urls(url_checks: Mapping[str, Iterable[str]], data: Any, *, where: str, label: str = "") -> None:
    """Values that start a link (``href="{{accept_url}}"``) carry an allowed
    scheme; values after ``mailto:``/``tel:`` are one address.  The paths and
    kinds come from :attr:`letterhead.authoring.contexts.Analysis.url_checks` (the
    manifest's ``url_checks``)."""
    for path, kinds in url_checks.items():
        for name, value in values_at(data, parse_path(path)):
            if value is None:
                continue  # absence is the render's business
            for kind in kinds:
                problem = _placed_problem(value, kind)
                if problem:
                    raise DataError(f"{label}variable `{name}` {problem}", location=Location(where),
                                    hint="send an absolute https:// URL" if kind not in (MAILTO, TEL)
                                    else "send one plain address" if kind == MAILTO else "send a phone number")


# Deeper data breaks recursive code (JSON, the escaped copy, the renderer)
# long before it means anything to a template: SES data is a few levels deep.
MAX_DATA_DEPTH = 100


def depth_over(value: Any, limit: int = MAX_DATA_DEPTH) -> bool:
    """True when ``value`` nests objects/lists deeper than ``limit`` (a loop,
    not recursion, so no depth breaks it)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (Mapping, list, tuple)):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, Mapping) else item))
    return False


def check_shape(data: Any, *, where: str, label: str = "") -> None:
    """Data letterhead can prepare: at most :data:`MAX_DATA_DEPTH` levels of
    objects and lists, and no ``_url`` key of its own (letterhead adds
    ``_url`` objects, and ``_html`` at the top: data holding its own would be
    overwritten), refused naming where.  One walk over the objects and lists
    for both (this runs for every sample and every send); the depth is
    refused first, as :func:`depth_over` would find it, then the first
    ``_url`` met."""
    if _plain_shape(data):
        return
    reserved: str | None = None  # where the walk first met a `_url` key
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        value, depth, path = stack.pop()
        if depth > MAX_DATA_DEPTH:
            raise DataError(f"{label}the data nests objects and lists more than {MAX_DATA_DEPTH} levels deep",
                            location=Location(where),
                            hint="template data is a few levels of objects and lists; flatten it")
        if isinstance(value, Mapping):
            if reserved is None and URL_DATA_KEY in value:
                reserved = path
            stack.extend((v, depth + 1, f"{path}.{k}" if path else str(k)) for k, v in value.items()
                         if isinstance(v, (Mapping, list, tuple)))
        elif isinstance(value, (list, tuple)):
            stack.extend((v, depth + 1, f"{path}[{i}]") for i, v in enumerate(value)
                         if isinstance(v, (Mapping, list, tuple)))
    if reserved is not None:
        at = f" (in `{reserved}`)" if reserved else ""
        raise DataError(f"{label}the data has a key `{URL_DATA_KEY}`{at}: letterhead reserves it for "
                        "the percent-encoded copies prepare_data adds", location=Location(where),
                        hint="rename the key; pass the data itself, not prepare_data's result")


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain_shape(data: Any) -> bool:
    """True when :func:`check_shape` has nothing to refuse: its walk without
    the paths (which only a refusal names; it walks again to name them) and
    with JSON's own types told by ``type()`` (an ``isinstance`` against
    ``Mapping`` costs an ABC check per value)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DATA_DEPTH:
            return False
        kind = type(value)
        if kind is dict or (kind is not list and isinstance(value, Mapping)):
            if URL_DATA_KEY in value:
                return False
            items = value.values()
        elif kind is list or isinstance(value, (list, tuple)):
            items = value
        else:
            continue  # data that is not an object (refused elsewhere)
        for item in items:
            kind = type(item)
            if kind is dict or kind is list or (kind not in _SCALARS and isinstance(item, (Mapping, list, tuple))):
                stack.append((item, depth + 1))
    return True


# Hex, or a CSS colour keyword (letters only: `red`, `transparent`): nothing
# that can end a declaration, open a function or leave a style attribute.
_COLOR = re.compile(r"^(?:#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})|[A-Za-z]{3,20})$")


def _email_problem(value: Any) -> str | None:
    try:
        check_address(value, "the address")
    except DataError as exc:
        return f"is not an address letterhead can send to ({exc.message})"
    return None


_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "url": lambda v: isinstance(v, str),
    "email": lambda v: isinstance(v, str),
    "color": lambda v: isinstance(v, str),
    "list": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}
# Past the JSON type: the value itself.  A declared type is a promise the
# contexts rely on (a `color` may stand in CSS), so each is strict.
_STRICT: dict[str, Callable[[Any], str | None]] = {
    "url": url_problem,
    "email": _email_problem,
    "color": lambda v: None if _COLOR.match(v) else
    "is not a color (#rgb, #rgba, #rrggbb, #rrggbbaa or a keyword such as red)",
}


# What a declared type asks for, and what a value is, in words a designer reads.
_TYPE_NOUNS = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
               "url": "a URL", "email": "an email address", "color": "a color", "list": "a list",
               "object": "an object"}
_STRICT_NOUNS = {"url": "URL", "email": "email address", "color": "color"}


def value_kind(value: Any) -> str:
    """What a value is, in JSON's words: ``a string``, ``a number``, ``true or false``…"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a value of type {type(value).__name__}"


def check_value(name: str, vtype: str, pattern: str | None, value: Any, *, where: str, label: str = "") -> None:
    check = _CHECKS.get(vtype)  # an unknown type checks nothing
    wanted = _TYPE_NOUNS.get(vtype, f"of type {vtype}")
    if check is not None and not check(value):
        raise DataError(
            f"{label}variable `{name}` should be {wanted}, got {value_kind(value)}",
            location=Location(where),
            hint=f"send {wanted} (declared in template.toml)",
        )
    problem = _STRICT[vtype](value) if vtype in _STRICT else None
    if problem:
        raise DataError(f"{label}variable `{name}` {problem}", location=Location(where),
                        hint=f"send a valid {_STRICT_NOUNS[vtype]} (declared in template.toml)")
    if pattern and isinstance(value, str) and not re.search(pattern, value):
        raise DataError(
            f"{label}variable `{name}` does not match {pattern}",
            location=Location(where),
            hint="fix the data, or the pattern in template.toml",
        )


def check_types(variables: Mapping[str, Any], data: Mapping[str, Any], *, where: str, label: str = "") -> None:
    """``variables``: name → spec with ``type`` and optional ``pattern``
    (a :class:`~letterhead.authoring.sources.VariableSpec` or its manifest JSON)."""
    for name, spec in variables.items():
        if name not in data or data[name] is None:
            continue  # absence is the contract's business, not the type's
        vtype = spec["type"] if isinstance(spec, Mapping) else spec.type
        pattern = spec.get("pattern") if isinstance(spec, Mapping) else spec.pattern
        check_value(name, vtype, pattern, data[name], where=where, label=label)


def render_compiled(compiled: CompiledTemplate, data: Any, *, variables: Mapping[str, Any],
                    raw_paths: tuple[str, ...], where: str, label: str = "") -> dict[str, str]:
    """Sample (or editor) data → the parts as SES renders them, from the
    designer-form parts, so a missing variable names its template.mjml line.
    The one path for ``letterhead build`` and ``letterhead dev``.

    ``label`` prefixes messages (``"sample 'default': "``); ``where`` names
    the data's file for the hint."""
    return render_compiled_prepared(compiled, data, variables=variables, raw_paths=raw_paths,
                                    where=where, label=label)[0]


def render_compiled_prepared(compiled: CompiledTemplate, data: Any, *, variables: Mapping[str, Any],
                             raw_paths: tuple[str, ...], where: str, label: str = "",
                             prepared: dict[str, Any] | None = None) -> tuple[dict[str, str], dict[str, Any]]:
    """:func:`render_compiled`, and the TemplateData it rendered from
    (:func:`~letterhead.safety.prepare_data`'s result): the build measures a
    sample's TemplateData from it instead of preparing the data twice.
    ``prepared``: that result from an earlier call with the same data,
    ``variables``, ``raw_paths`` and the same URL paths and checks (another
    locale's variant of the template): the data passed the checks then, so
    they are not run again."""
    from .safety import render_like_ses

    if not isinstance(data, Mapping):
        raise DataError(f"{label}template data must be a JSON object", location=Location(where),
                        hint='wrap the values in {"name": value, ...}')
    analysis = compiled.contexts
    if prepared is None:
        check_types(variables, data, where=where, label=label)
        check_urls(analysis.url_checks, data, where=where, label=label)
        check_shape(data, where=where, label=label)
        prepared = prepare_data(data, raw_paths, analysis.url_paths)
    try:
        return render_like_ses(analysis.parsed, data, raw_paths, url_paths=analysis.url_paths,
                               prepared=prepared), prepared
    except RenderError as exc:
        raise explain_render_error(exc, data_name=where, label=label) from None


def parse_payload(payload: SesTemplate) -> dict[str, sestemplate.Template]:
    origin = f"ses_templates/{payload.name}.json"
    return {
        "subject": sestemplate.parse(payload.subject, origin=f"{origin} (SubjectPart)"),
        "html": sestemplate.parse(payload.html, origin=f"{origin} (HtmlPart)"),
        "text": sestemplate.parse(payload.text, origin=f"{origin} (TextPart)"),
    }


def render_each_part(templates: Mapping[str, sestemplate.Template], data: Mapping[str, Any], *,
                     escape: bool = False) -> tuple[dict[str, str], list[RenderError]]:
    """Render every part, carrying on past a failing one: the parts that
    rendered, and each failure with its ``part`` set (so every missing
    variable of every part can be reported at once)."""
    out: dict[str, str] = {}
    failed: list[RenderError] = []
    for part, template in templates.items():
        try:
            out[part] = sestemplate.render(template, data, escape=escape)
        except RenderError as exc:
            exc.part = part
            failed.append(exc)
    return out, failed


def render_parts(payload: SesTemplate, data: Mapping[str, Any], raw_paths: tuple[str, ...] = (),
                 *, escape: bool = False, parsed: Mapping[str, sestemplate.Template] | None = None,
                 data_name: str = "the data", label: str = "", source_lines: bool = True) -> dict[str, str]:
    """Render an SES payload as SES would (``escape=False`` per the SES guide,
    ``True`` as handlebars.js), after :func:`~letterhead.authoring.safety.prepare_data`
    (with the ``_url`` copies the payload reads).  A RenderError lists every
    missing variable of every part, in the application's words
    (:func:`explain_render_error`, with ``data_name``, ``label`` and ``source_lines``)."""
    templates = parsed or parse_payload(payload)
    prepared = prepare_data(data, raw_paths, url_paths_of(templates))
    out, failed = render_each_part(templates, prepared, escape=escape)
    if failed:
        raise explain_render_error(failed, data_name=data_name, label=label, source_lines=source_lines)
    return out


def check_data(entry: ManifestEntry, payload: SesTemplate, data: Mapping[str, Any],
               *, parsed: Mapping[str, sestemplate.Template] | None = None,
               headers: bool = True) -> dict[str, str]:
    """Raise :class:`DataError` / :class:`RenderError` unless ``data`` renders
    every part of the template and every header it declares
    (:func:`letterhead.authoring.headers.render_headers`); return the rendered parts.
    ``headers=False``: the caller renders the headers itself, right after (the
    Mailer, which sends them: rendered once, not twice)."""
    if not isinstance(data, Mapping):
        raise DataError("template data must be a JSON object (a dict)", hint="pass a dict of variables")
    where = f"data for template '{entry.name}'"
    check_types(entry.variables, data, where=where)
    check_urls(entry.url_checks, data, where=where)
    check_shape(data, where=where)
    # The payload's lines are not the designer's (and end up in the application's logs): none shown.
    parts = render_parts(payload, data, entry.raw_paths, parsed=parsed, data_name="the data",
                         label=f"template '{entry.name}': ", source_lines=False)
    if headers and entry.headers:  # the variables the headers print are part of the contract too
        from .headers import render_headers

        render_headers(entry.headers, data, label=f"template '{entry.name}': ")
    return parts
