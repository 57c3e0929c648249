"""Message headers a template declares, and its category (issue 15).

``template.toml`` may say::

    category = "bulk"            # or "transactional" (the default)
    [headers]
    List-Unsubscribe = "<https://calndr.club/unsub?t={{unsubscribe_token}}>, <mailto:unsubscribe@calndr.club?…>"
    List-Unsubscribe-Post = "List-Unsubscribe=One-Click"

SES v2 sends ``Headers`` as given (it templates the subject and the body, not
headers), so letterhead renders each value itself, per recipient, from the
same data as the template:

* only output placeholders ``{{a.b}}`` (no blocks, no ``{{{raw}}}``);
* a placeholder inside a ``<scheme:…>`` URI is percent-encoded as the URL
  context rule encodes it (:func:`letterhead.authoring.safety.prepare_data`'s
  ``_url`` copy: a value can never end the URI or add one);
* anywhere else the value must be printable ASCII, with no line break
  (a CR/LF would start a header of the sender's choosing: refused, never
  encoded or stripped);
* SES v2's limits: at most 15 headers, names of 1–126 printable ASCII
  characters but ``:``, values of 1–995 printable ASCII characters (name
  and value together at most 996).

Names that SES or letterhead set (From, To, Subject, Content-*…) are refused.
A ``bulk`` template must offer one-click unsubscribe (RFC 8058, which Gmail
and Yahoo require of bulk senders since 2024): ``List-Unsubscribe`` with an
``<https://…>`` URI naming the recipient (a placeholder), and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``.

The variables a header prints join the template's contract (located at
template.toml), so a send missing one is refused before SES.  Messages name
the header and the variable, never a value: data may hold a secret token.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from .. import sestemplate
from ..errors import DataError, Location, SourceError, TemplateSyntaxError
from ..sestemplate.variables import FLAGS, Variable
from .safety import url_encoded

TRANSACTIONAL, BULK = "transactional", "bulk"
CATEGORIES = (TRANSACTIONAL, BULK)
MAX_HEADERS = 15  # SES v2: Headers of one message
MAX_NAME = 126  # SES v2 MessageHeaderName
MAX_VALUE = 995  # SES v2 MessageHeaderValue
MAX_FIELD = 996  # SES v2: name and value together
ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058: the only value List-Unsubscribe-Post takes
UNSUBSCRIBE, UNSUBSCRIBE_POST = "List-Unsubscribe", "List-Unsubscribe-Post"

_NAME_RE = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext: printable ASCII but ':' (SES: ^[!-9;-@A-~]+$)
_PRINTABLE_RE = re.compile(r"[ -~]*")  # SES: [ -~]*
_LINE_BREAK_RE = re.compile(r"[\r\n\x85\u2028\u2029]")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_HTTPS_HOST_RE = re.compile(r"https://[^/?#\s]+", re.IGNORECASE)
_ID_RE = re.compile(r"[A-Za-z0-9_$-]+")
# Set by SES or letterhead for every message: a template may not replace them.
FORBIDDEN = frozenset(n.lower() for n in (
    "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "Return-Path",
    "MIME-Version", "Received", "DKIM-Signature"))
FORBIDDEN_PREFIXES = ("content-", "x-ses-")
HINT_LINES = ('List-Unsubscribe = "<https://example.com/unsubscribe?t={{unsubscribe_token}}>, '
              '<mailto:unsubscribe@example.com?subject=unsubscribe-{{unsubscribe_token}}>"\n'
              f'    {UNSUBSCRIBE_POST} = "{ONE_CLICK}"')
_BULK_HINT = ("add these two lines under [headers] in template.toml (with your unsubscribe address), "
              "declare the variable, and send each recipient's token:\n    " + HINT_LINES)


# -- reading template.toml ---------------------------------------------------------------------

_TABLE_RE = re.compile(r"\s*\[\s*([^\]]*?)\s*\]\s*(?:#.*)?$")
_KEY = r"(?:\"((?:[^\"\\]|\\.)*)\"|'([^']*)'|([A-Za-z0-9_-]+))"
_KEY_RE = re.compile(r"\s*" + _KEY + r"\s*=")
_DOTTED_RE = re.compile(r"\s*headers\s*\.\s*" + _KEY + r"\s*=")


def toml_lines(text: str) -> dict[str, int]:
    """Where template.toml sets what this module reads: ``category``,
    ``headers`` (the table) and ``headers.<name>`` → line (1-based).  A
    line-based reading that finds what the ordinary ways of writing them
    put on a line of their own; a key it misses is reported without a line."""
    lines: dict[str, int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("[["):  # an array of tables: nothing of ours
            table = "[["
            continue
        m = _TABLE_RE.match(line)
        if m:
            table = m.group(1).replace('"', "").replace("'", "").replace(" ", "")
            if table == "headers":
                lines.setdefault("headers", number)
            continue
        m = _KEY_RE.match(line)
        if m and table in ("", "headers"):
            key = next(g for g in m.groups() if g is not None)
            lines.setdefault(key if table == "" else f"headers.{key}", number)
            continue
        m = _DOTTED_RE.match(line)
        if m and table == "":
            lines.setdefault("headers", number)
            lines.setdefault(f"headers.{next(g for g in m.groups() if g is not None)}", number)
    return lines


def parse_headers(meta: Mapping[str, Any], where: Location, *,
                  lines: Mapping[str, int] | None = None) -> tuple[str, dict[str, str]]:
    """``category`` and ``[headers]`` of a template.toml (``meta``, read from
    ``where``; ``lines``: :func:`toml_lines` of its text) → (category, name →
    value template).  Only the shapes are checked here; :func:`check_headers`
    checks the headers themselves."""
    lines = lines or {}
    category = meta.get("category", TRANSACTIONAL)
    if category not in CATEGORIES:
        shown = repr(category) if isinstance(category, str) else f"a {type(category).__name__}"
        raise SourceError(
            f"unknown category {shown}: a template is \"transactional\" (the default) or \"bulk\"",
            location=Location(where.path, lines.get("category")),
            hint='write category = "bulk" for mail sent in bulk (newsletters, digests: it must offer '
                 'one-click unsubscribe), or leave it out for transactional mail',
        )
    raw = meta.get("headers", {})
    if not isinstance(raw, Mapping):
        raise SourceError(
            "headers must be a table: [headers] followed by lines Name = \"value\"",
            location=Location(where.path, lines.get("headers")),
            hint="write [headers] on a line of its own, then one header per line",
        )
    headers: dict[str, str] = {}
    for name, value in raw.items():
        if not isinstance(value, str):
            raise SourceError(
                f"header {name}: the value must be a string, got a {type(value).__name__}",
                location=Location(where.path, lines.get(f"headers.{name}")),
                hint=f'quote it: {name} = "…" (placeholders such as {{{{token}}}} are written inside the string)',
            )
        headers[str(name)] = value
    return str(category), headers


# -- one header value, compiled ------------------------------------------------------------------

class Piece(NamedTuple):
    """A literal run of a header value (``path`` empty) or a placeholder."""

    text: str  # the literal text, or the placeholder's variable as the data names it (`a.b`)
    path: tuple[str, ...] = ()
    in_uri: bool = False  # inside a <scheme:…> URI: percent-encoded


class Uri(NamedTuple):
    """A ``<…>`` of a header value: its text up to its first placeholder, and how many it holds."""

    head: str
    placeholders: int
    literal: str  # the literal text of the whole URI (placeholders left out)


class _Compiled(NamedTuple):
    pieces: tuple[Piece, ...]
    uris: tuple[Uri, ...]
    outside: str  # the literal text outside every <…>
    placeholders_outside: tuple[str, ...]  # variables printed outside a URI


class _Bad(ValueError):
    """A header value template letterhead refuses: (message, hint)."""


@functools.lru_cache(maxsize=256)
def _compile(value: str) -> _Compiled:
    """``value`` read as SES's template language, reduced to literal pieces
    and placeholders, each knowing whether it stands inside a URI."""
    bad = _LINE_BREAK_RE.search(value) or re.search(r"[\x00-\x1f\x7f]", value)
    if bad:
        what = "a line break (CR or LF)" if _LINE_BREAK_RE.match(bad.group(0)) else \
            f"the control character U+{ord(bad.group(0)):04X}"
        raise _Bad(f"holds {what}: a header is one line, and a line break would start another header",
                   "write the value on one line, without escapes such as \\r, \\n or \\t")
    try:
        template = sestemplate.parse(value, origin="<header>")
    except TemplateSyntaxError as exc:
        raise _Bad(exc.message, exc.hint or "write placeholders as {{name}}") from None
    for tag in template.tags or ():
        if tag.kind != "output" or tag.raw.startswith(("{{{", "{{&")) or len(tag.args) != 1:
            raise _Bad(f"`{tag.raw}`: a header prints variables with {{{{name}}}} only (no blocks, "
                       "no raw {{{ }}}, no comments or partials)",
                       "print the variable itself; choose between values in the application")
    pieces: list[Piece] = []
    uris: list[Uri] = []
    outside: list[str] = []
    printed_outside: list[str] = []
    open_uri: list[Any] | None = None  # [head, placeholders, literal, is_uri] of the <…> being read
    for node in template.body:
        if isinstance(node, sestemplate.Text):
            for ch in node.value:
                if ch == "<":
                    if open_uri is not None:
                        raise _Bad("a `<` inside a <…> URI", "close each URI with `>` before the next `<`")
                    open_uri = ["", 0, "", None]
                elif ch == ">" and open_uri is not None:
                    uris.append(Uri(open_uri[0], open_uri[1], open_uri[2]))
                    open_uri = None
                elif open_uri is not None:
                    open_uri[2] += ch
                    if not open_uri[1]:
                        open_uri[0] += ch
                else:
                    outside.append(ch)
            pieces.append(Piece(node.value))
            continue
        if not isinstance(node, sestemplate.Output):  # the tags were checked above: not reached
            raise _Bad("a header prints variables with {{name}} only", "print the variable itself")
        path = node.path
        if node.raw or path.data or path.depth or not path.parts or path.original != ".".join(path.parts) \
                or not all(_ID_RE.fullmatch(p) for p in path.parts):
            raise _Bad(f"`{{{{{path.original}}}}}`: a header prints a variable by its name (`name` or "
                       "`object.field`), not `this`, `../`, `@` data or [literal] segments",
                       "send the value under a plain name in the data")
        label = path.original
        if open_uri is not None and open_uri[3] is None:
            open_uri[3] = bool(_SCHEME_RE.match(open_uri[0]))
        in_uri = open_uri is not None and bool(open_uri[3])
        if open_uri is not None:
            open_uri[1] += 1
        if not in_uri:
            printed_outside.append(label)
        pieces.append(Piece(label, path.parts, in_uri))
    if open_uri is not None:
        raise _Bad("a `<` is never closed by `>`", "close the URI: <https://…>")
    for uri in uris:
        if re.search(r"\s", uri.literal):
            raise _Bad(f"the URI <{uri.head}…> holds a space", "write a space in a URI as %20")
    if not _PRINTABLE_RE.fullmatch("".join(p.text for p in pieces if not p.path)):
        ch = next(c for p in pieces if not p.path for c in p.text if not " " <= c <= "~")
        raise _Bad(f"holds the character {ch!r} (U+{ord(ch):04X}): header values are printable ASCII",
                   "write it in ASCII; in a URI percent-encode it, e.g. %C3%A9 for é")
    return _Compiled(tuple(pieces), tuple(uris), "".join(outside), tuple(printed_outside))


def _structure_problem(name: str, compiled: _Compiled) -> tuple[str, str] | None:
    """What is wrong with ``List-Unsubscribe`` / ``List-Unsubscribe-Post`` as RFC 2369 / 8058 read them."""
    key = name.lower()
    if key == UNSUBSCRIBE.lower():
        if compiled.placeholders_outside:
            return (f"`{{{{{compiled.placeholders_outside[0]}}}}}` stands outside a <scheme:…> URI: "
                    "List-Unsubscribe holds URIs only, and a value outside one could add another",
                    "write the URI's scheme and host in the template and the token inside it: "
                    "<https://example.com/unsubscribe?t={{unsubscribe_token}}>")
        if not compiled.uris or compiled.outside.strip(" ,"):
            return ("List-Unsubscribe must be a comma-separated list of <…> URIs",
                    "write <https://…>, optionally followed by , <mailto:…>")
        for uri in compiled.uris:
            if not re.match(r"(?i)(https://|mailto:)", uri.head):
                return (f"the URI <{uri.literal[:40]}…> is not https: or mailto: (mail clients and Gmail "
                        "take only these, and one-click unsubscribe needs https)",
                        "use <https://…> (and optionally <mailto:…>)")
            if uri.head.lower().startswith("https://") and not _HTTPS_HOST_RE.match(uri.head):
                return ("an https URI's host must be written in the template, not printed by a placeholder",
                        "write <https://your.domain/unsubscribe?t={{unsubscribe_token}}>")
    elif key == UNSUBSCRIBE_POST.lower():
        text = "".join(p.text if not p.path else "{{" + p.text + "}}" for p in compiled.pieces)
        if text != ONE_CLICK:
            return (f"List-Unsubscribe-Post must be exactly {ONE_CLICK} (RFC 8058)",
                    f'write {UNSUBSCRIBE_POST} = "{ONE_CLICK}"')
    return None


def _https_with_placeholder(compiled: _Compiled) -> bool:
    return any(u.head.lower().startswith("https://") and u.placeholders for u in compiled.uris)


def check_headers(category: str, headers: Mapping[str, str], where: Location, *,
                  lines: Mapping[str, int] | None = None) -> None:
    """Refuse headers SES or a mailbox provider would refuse, or that could
    be turned into an injection: located at ``where`` (template.toml) and the
    header's line (``lines``: :func:`toml_lines`)."""
    lines = lines or {}

    def at(name: str | None) -> Location:
        line = lines.get(f"headers.{name}") if name is not None else None
        return Location(where.path, line or lines.get("headers") or lines.get("category"))

    if len(headers) > MAX_HEADERS:
        raise SourceError(f"{len(headers)} headers: SES sends at most {MAX_HEADERS} with a message",
                          location=at(None), hint="drop the headers no mail client reads")
    seen: dict[str, str] = {}
    compiled: dict[str, _Compiled] = {}
    for name, value in headers.items():
        other = seen.setdefault(name.lower(), name)
        if other != name:
            raise SourceError(f"headers {other} and {name} are one header (names ignore case)",
                              location=at(name), hint="keep one of them")
        if not name or len(name) > MAX_NAME or not _NAME_RE.fullmatch(name):
            raise SourceError(
                f"header name {name!r} is not valid: 1 to {MAX_NAME} printable ASCII characters, "
                "no spaces or ':'", location=at(name), hint="write a name such as X-Campaign")
        lowered = name.lower()
        if lowered in FORBIDDEN or lowered.startswith(FORBIDDEN_PREFIXES):
            raise SourceError(
                f"header {name} is set by SES or letterhead for every message: a template cannot set it",
                location=at(name),
                hint="the sender sets From, To, Reply-To and Subject (subject.txt); remove it from [headers]")
        try:
            compiled[lowered] = _compile(value)
        except _Bad as exc:
            message, hint = exc.args
            raise SourceError(f"header {name}: {message}", location=at(name), hint=hint) from None
        static = "".join(p.text for p in compiled[lowered].pieces if not p.path)
        if not value or len(static) > MAX_VALUE or len(name) + len(static) > MAX_FIELD:
            raise SourceError(
                f"header {name}: the value is {'empty' if not value else f'{len(static)} characters'}; SES "
                f"takes 1 to {MAX_VALUE} (and {MAX_FIELD} with the name)", location=at(name),
                hint="shorten it" if value else "give it a value or remove the header")
        problem = _structure_problem(name, compiled[lowered])
        if problem:
            raise SourceError(f"header {name}: {problem[0]}", location=at(name), hint=problem[1])
    unsubscribe = compiled.get(UNSUBSCRIBE.lower())
    missing = [h for h in (UNSUBSCRIBE, UNSUBSCRIBE_POST) if h.lower() not in compiled]
    if category == BULK and missing:
        raise SourceError(
            f"a bulk template must offer one-click unsubscribe (RFC 8058; Gmail and Yahoo require it of "
            f"bulk mail): {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing",
            location=Location(where.path, lines.get("category") or lines.get("headers")), hint=_BULK_HINT)
    if UNSUBSCRIBE_POST.lower() in compiled and (unsubscribe is None or not any(
            u.head.lower().startswith("https://") for u in unsubscribe.uris)):
        raise SourceError(f"header {seen[UNSUBSCRIBE_POST.lower()]}: one-click unsubscribe needs "
                          "List-Unsubscribe with an <https://…> URI (RFC 8058)",
                          location=at(seen[UNSUBSCRIBE_POST.lower()]), hint=_BULK_HINT)
    if category != BULK or unsubscribe is None:
        return
    if not _https_with_placeholder(unsubscribe):
        raise SourceError(
            "header List-Unsubscribe: its https URI names no recipient (no placeholder): every "
            "recipient would unsubscribe the same token", location=at(seen[UNSUBSCRIBE.lower()]),
            hint="print the recipient's token in it: <https://…/unsubscribe?t={{unsubscribe_token}}>")


# -- the contract --------------------------------------------------------------------------------

def header_variables(headers: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Each variable the headers print (``a.b``, as the data names it) →
    the headers printing it, in order.  Headers must have passed
    :func:`check_headers`."""
    found: dict[str, list[str]] = {}
    for name, value in headers.items():
        for piece in _compile(value).pieces:
            if piece.path and name not in found.setdefault(piece.text, []):
                found[piece.text].append(name)
    return {k: tuple(v) for k, v in found.items()}


def header_templates(headers: Mapping[str, str], where: Location, *,
                     lines: Mapping[str, int] | None = None) -> tuple[sestemplate.Template, ...]:
    """Each header value parsed as a template part located at its line of
    template.toml: ``sestemplate.contract(*parts, *header_templates(…))``
    is the template's contract with the header variables (required, since a
    header prints them unconditionally)."""
    lines = lines or {}
    out = []
    for name, value in headers.items():
        here = Location(where.path, lines.get(f"headers.{name}") or lines.get("headers"))
        out.append(_header_template(value, where.path, here))
    return tuple(out)


@functools.lru_cache(maxsize=256)
def _header_template(value: str, origin: str, here: Location) -> sestemplate.Template:
    """One header value parsed (a pure function of its arguments: every
    locale of a template, and every build in a process, parses it once)."""
    return sestemplate.parse(value, origin=origin, locate=_always(here))


def _always(here: Location) -> Callable[[int], Location]:
    return lambda _offset: here


def contract_with_headers(parts: Iterable[sestemplate.Template], headers: Mapping[str, str],
                          where: Location, *, lines: Mapping[str, int] | None = None,
                          contract: sestemplate.Contract | None = None) -> sestemplate.Contract:
    """The contract of ``parts`` (a template's parsed subject, html and text)
    and of its headers.  ``contract``: the contract of ``parts`` when the
    caller has it (``CompiledTemplate.contract``): the headers' variables are
    merged into it rather than the parts' uses collected again."""
    templates = header_templates(headers, where, lines=lines)
    if contract is not None:
        own = sestemplate.contract(*templates)
        # Merging two contracts equals collecting both parts' uses as long as
        # one side has no list items (a header prints `name` or `a.b` only;
        # a list's items of both sides would have to be merged as one node).
        if not any(_has_items(var) for var in own.variables.values()):
            return _joined(contract, own)
    return sestemplate.contract(*parts, *templates)


def _has_items(var: Variable) -> bool:
    return var.iterated or any(_has_items(f) for f in var.fields.values())


def _joined(a: sestemplate.Contract, b: sestemplate.Contract) -> sestemplate.Contract:
    variables = dict(a.variables)
    for name, var in b.variables.items():
        variables[name] = _merged(variables[name], var) if name in variables else var
    return sestemplate.Contract(dict(sorted(variables.items())))


def _merged(a: Variable, b: Variable) -> Variable:
    """Two contracts' uses of one variable as one contract would collect them:
    flags set in either, fields merged, locations united (sorted as
    :func:`letterhead.sestemplate.contract` sorts them)."""
    fields = dict(a.fields)
    for key, var in b.fields.items():
        fields[key] = _merged(fields[key], var) if key in fields else var
    return Variable(
        a.name, **{flag: getattr(a, flag) or getattr(b, flag) for flag in FLAGS},
        fields=dict(sorted(fields.items())),
        locations=tuple(sorted({*a.locations, *b.locations}, key=lambda loc: (loc.path, loc.line or 0))),
    )


# -- rendering, per recipient --------------------------------------------------------------------

_MISSING = object()


def _lookup(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if isinstance(data, Mapping):
            data = data.get(part, _MISSING)
        elif isinstance(data, (list, tuple)) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return _MISSING
        if data is _MISSING:
            return _MISSING
    return data


def _url_encoded(value: Any) -> str:
    """``value`` percent-encoded exactly as a placeholder inside a URL of the
    HTML reads it (the ``_url`` copy :func:`~letterhead.authoring.safety.prepare_data`
    adds: :func:`~letterhead.authoring.safety.url_encoded`)."""
    return str(url_encoded(value))


def render_headers(headers: Mapping[str, str], data: Mapping[str, Any], *, where: str | None = None,
                   label: str = "", data_name: str = "the data") -> tuple[tuple[str, str], ...]:
    """The headers of one message: ``(name, value)`` in declared order, each
    value rendered from ``data`` (see the module's docstring).  Raises
    :class:`DataError` naming the header and the variable, never the value.
    ``where``: the location errors carry (a sample's file); ``label``
    prefixes messages (``"template 'x': "``); ``data_name`` says what holds
    the data in hints."""
    if not headers:
        return ()
    location = Location(where) if where else None

    def fail(message: str, hint: str) -> DataError:
        return DataError(label + message, location=location, hint=hint)

    if not isinstance(data, Mapping):
        raise fail("template data must be a JSON object", 'wrap the values in {"name": value, ...}')
    out: list[tuple[str, str]] = []
    for name, template in headers.items():
        try:
            compiled = _compile(template)
        except _Bad as exc:
            raise fail(f"header {name} is not a valid header template: {exc.args[0]}",
                       "rebuild with `letterhead build` (the manifest was edited or is stale)") from None
        is_unsubscribe = name.lower() == UNSUBSCRIBE.lower()
        text: list[str] = []
        for piece in compiled.pieces:
            if not piece.path:
                text.append(piece.text)
                continue
            var = piece.text
            value = _lookup(data, piece.path)
            if value is _MISSING or value is None:
                state = "is null" if value is None else "is missing"
                raise fail(f"header {name}: variable `{var}` {state}",
                           f"send `{var}` in {data_name} (not null): the {name} header prints it")
            if isinstance(value, (Mapping, list, tuple)):
                kind = "an object" if isinstance(value, Mapping) else "a list"
                raise fail(f"header {name}: variable `{var}` is {kind}; a header prints a string or a number",
                           f"send `{var}` as a string")
            if piece.in_uri:
                printed = _url_encoded(value)
                if not printed and is_unsubscribe:
                    raise fail(f"header {name}: variable `{var}` is empty: the unsubscribe link would "
                               "not name the recipient", f"send the recipient's `{var}`")
            else:
                printed = sestemplate.js_string(value)
                if not _PRINTABLE_RE.fullmatch(printed):
                    if _LINE_BREAK_RE.search(printed) or re.search(r"[\x00-\x1f\x7f]", printed):
                        raise fail(f"header {name}: variable `{var}` holds a line break or control character "
                                   "(it would start another header: refused)",
                                   f"send `{var}` on one line; never pass user input with CR/LF into a header")
                    raise fail(f"header {name}: variable `{var}` holds a non-ASCII character; outside a "
                               "<…> URI a header value must be printable ASCII",
                               f"send `{var}` in ASCII, or print it inside a <https://…> URI (percent-encoded)")
            text.append(printed)
        value = "".join(text)
        if not value:
            raise fail(f"header {name} would be empty (SES refuses an empty header value)",
                       f"send a value for the variables the {name} header prints")
        if len(value) > MAX_VALUE or len(name) + len(value) > MAX_FIELD:
            raise fail(f"header {name} would be {len(value)} characters; SES takes at most {MAX_VALUE} "
                       f"({MAX_FIELD} with the name)", f"send shorter values for the variables {name} prints")
        if not _PRINTABLE_RE.fullmatch(value):  # cannot happen after the checks above: a last guard
            raise fail(f"header {name} would not be printable ASCII", "check the data the header prints")
        out.append((name, value))
    return tuple(out)
