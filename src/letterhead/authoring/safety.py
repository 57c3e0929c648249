"""Injection safety that holds whether or not SES escapes ``{{x}}``.

The SES guide says SES does not HTML-escape values; handlebars.js does.
letterhead does not bet on either:

* In the payload uploaded to SES, every ``{{x}}`` becomes triple-stash
  ``{{{x}}}``, which no Handlebars implementation escapes, so all three parts
  behave the same under both readings.
* The subject and text parts read the data as given: no ``&amp;`` in a
  subject line.
* The HTML part is wrapped in ``{{#with _html}}…{{/with}}`` and so reads a
  copy of the data in which every string (and key) is already HTML-escaped.
  :func:`prepare_data` adds that copy.  Values printed with triple-stash in
  the *source* (``{{{raw}}}``: the designer vouches that the application
  sends HTML) are left unescaped in the copy.

* A placeholder inside a URL (path, query, fragment: see
  :mod:`letterhead.authoring.contexts`) reads a percent-encoded copy instead:
  ``{{a.b}}`` becomes ``{{{a._url.b}}}``, and :func:`prepare_data` adds a
  ``_url`` object next to each field printed there (``url_paths``, from the
  manifest), in the data and in its ``_html`` copy.

If the application forgets :func:`prepare_data`, the ``{{else}}`` branch
prints a variable that does not exist, so the send fails to render loudly
(SES's rendering-failure event names ``letterhead_html_data_missing``; the
local renderer and letterhead's sender refuse it) instead of an empty email.

:func:`prepare_data` is the one function an application that does not use
letterhead's sender must call on its TemplateData.
"""

from __future__ import annotations

import json
import re
from collections.abc import (  # not typing's aliases: isinstance() on those is ~2.5x slower
    Collection,
    Iterable,
    Iterator,
    Mapping,
)
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .. import sestemplate
from ..errors import DataError, MissingVariable, RenderError
from .contexts import URL_DATA_KEY, format_path, parse_path, url_path
from .payload import SesTemplate

if TYPE_CHECKING:  # pragma: no cover
    from .compile import CompiledTemplate

HTML_DATA_KEY = "_html"
MISSING_MARKER = "letterhead_html_data_missing"


def _triple(raw: str, expr: str | None = None) -> str:
    """``{{x}}`` → ``{{{x}}}`` (``~`` kept); ``expr`` replaces the path."""
    inner = raw[2:-2]
    if "~" not in inner:  # most tags: no whitespace control to keep
        if expr is None:
            expr = inner.strip()
            if expr.startswith("&"):
                expr = expr[1:].strip()
        return "{{{" + expr + "}}}"
    left = inner.startswith("~")
    right = inner.endswith("~")
    if expr is None:
        expr = inner.strip("~").strip()
        if expr.startswith("&"):
            expr = expr[1:].strip()
    return "{{" + ("~" if left else "") + "{" + expr + "}" + ("~" if right else "") + "}}"


# An output tag as the payload writes it (_triple's result), by the tag as written: the same
# tags recur in every part and variant.  Pure and bounded.
_TRIPLED: dict[str, str] = {}
_TRIPLED_MAX = 4096
_ROOT_RE = re.compile(r"@root(?=[.}\s~)/]|$)")


def unescape_outputs(text: str, *, root_to: str | None = None,
                     tags: Iterable[sestemplate.Tag] | None = None,
                     url: Mapping[int, sestemplate.Path] | None = None) -> str:
    """Every double-stash output ``{{x}}`` → ``{{{x}}}``; all else unchanged.

    ``root_to``: inside the HTML part's ``{{#with _html}}``, ``@root`` would
    reach past the escaped copy to the raw data; point it at the copy.
    ``tags``: the tags of ``text`` when already known (a parse found them).
    ``url``: offset → path of the outputs inside a URL, which read the
    encoded copy (``{{{_url.x}}}``)."""
    out: list[str] = []
    append = out.append
    pos = 0
    root = f"@root.{root_to}" if root_to else ""
    tripled = _TRIPLED
    for start, end, written, kind, _name, _args, _left, _right in sestemplate.scan(text) if tags is None else tags:
        if url and start in url:
            raw = _triple(written, url_path(url[start]))
            if root and "@root" in raw:
                raw = _ROOT_RE.sub(root, raw)
        elif root and "@root" in written:
            raw = _ROOT_RE.sub(root, written)
            if kind == "output":
                raw = _triple(raw)
        elif kind == "output":
            known = tripled.get(written)
            if known is None:
                known = _triple(written)
                if len(tripled) < _TRIPLED_MAX:
                    tripled[written] = known
            raw = known
        else:
            continue  # a block tag as written
        if raw != written:
            append(text[pos:start])
            append(raw)
            pos = end
    if not pos:
        return text
    append(text[pos:])
    return "".join(out)


def ses_parts(subject: str, html: str, text: str, *,
              parsed: Mapping[str, sestemplate.Template] | None = None,
              url: Mapping[str, Mapping[int, sestemplate.Path]] | None = None) -> tuple[str, str, str]:
    """The designer-form parts → the parts uploaded to SES.  ``parsed``: the
    parts already parsed (their tags are reused); ``url``: per part, the
    outputs inside a URL (offset → path)."""
    def tags(part: str) -> Iterable[sestemplate.Tag] | None:
        return parsed[part].tags if parsed is not None else None

    def urls(part: str) -> Mapping[int, sestemplate.Path] | None:
        return url.get(part) if url else None

    html_ses = (
        "{{#with " + HTML_DATA_KEY + "}}"
        + unescape_outputs(html, root_to=HTML_DATA_KEY, tags=tags("html"), url=urls("html"))
        + "{{else}}{{" + MISSING_MARKER + "}}{{/with}}"
    )
    return (unescape_outputs(subject, tags=tags("subject"), url=urls("subject")), html_ses,
            unescape_outputs(text, tags=tags("text"), url=urls("text")))


def payload_for(compiled: CompiledTemplate) -> SesTemplate:
    """A compiled template (designer form) → the SES payload that is uploaded."""
    analysis = compiled.contexts
    url = {part: _outputs_at(compiled.parsed[part].body, offsets)
           for part, offsets in analysis.url_offsets.items() if offsets}
    return SesTemplate(compiled.name, *ses_parts(compiled.subject, compiled.html, compiled.text,
                                                 parsed=compiled.parsed, url=url))


def _outputs(nodes: tuple[sestemplate.Node, ...]) -> Iterable[sestemplate.Output]:
    """Every output of ``nodes``, in the order of the tree (tests list them with it)."""
    for node in nodes:
        if isinstance(node, sestemplate.Output):
            yield node
        elif isinstance(node, sestemplate.Block):
            yield from _outputs(node.body)
            yield from _outputs(node.inverse)
        elif isinstance(node, sestemplate.InlinePartial):
            yield from _outputs(node.body)


def _outputs_at(body: tuple[sestemplate.Node, ...], offsets: Collection[int]) -> dict[int, sestemplate.Path]:
    """offset → path of the outputs at ``offsets``: :func:`_outputs`' walk, as
    a loop that stops once all are found (each node has an offset of its own)."""
    found: dict[int, sestemplate.Path] = {}
    wanted = len(offsets)
    Output, Block, InlinePartial = sestemplate.Output, sestemplate.Block, sestemplate.InlinePartial
    stack: list[Iterator[Any]] = [iter(body)]
    while stack:
        for node in stack[-1]:
            kind = type(node)
            if kind is Output:
                if node.offset in offsets:
                    found[node.offset] = node.path
                    if len(found) == wanted:
                        return found
            elif kind is Block:
                stack.append(iter(node.inverse))
                stack.append(iter(node.body))
                break
            elif kind is InlinePartial:
                stack.append(iter(node.body))
                break
        else:
            stack.pop()
    return found


def _escape_tree(value: Any, path: str, raw: frozenset[str]) -> Any:
    if path in raw:
        return value
    if isinstance(value, str):
        return sestemplate.escape_expression(value)
    if isinstance(value, Mapping):
        # A dict's values are reached either by name (``prefs.email``) or by
        # ``#each`` over the dict, which the contract writes ``prefs[]``.
        if path and f"{path}[]" in raw:
            return value
        return {
            sestemplate.escape_expression(str(k)): _escape_tree(v, f"{path}.{k}" if path else str(k), raw)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_escape_tree(v, f"{path}[]", raw) for v in value]
    return value


def _escape_all(value: Any, keys: dict[str, str]) -> Any:
    """``_escape_tree(value, path, frozenset())``: no value printed raw, so
    no path to follow.  JSON's own types are told by ``type()`` (an
    ``isinstance`` against ``Mapping`` costs an ABC check per value); a key
    met again (the fields of list items) is escaped once (``keys``)."""
    kind = type(value)
    if kind is str:
        return sestemplate.escape_expression(value)
    if kind is dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            escaped = keys.get(key) if type(key) is str else None
            if escaped is None:
                escaped = sestemplate.escape_expression(str(key))
                if type(key) is str:
                    keys[key] = escaped
            out[escaped] = _escape_all(item, keys)
        return out
    if kind is list:
        return [_escape_all(item, keys) for item in value]
    if kind is int or kind is float or kind is bool or value is None:
        return value
    return _escape_tree(value, "", frozenset())  # another Mapping, a tuple, a str subclass…


def _url_copies(value: Any, path: str, fields: frozenset[str], prefixes: frozenset[str]) -> Any:
    """``value`` with a ``_url`` object added to each object holding a field
    in ``fields``: that field's value percent-encoded for any URL component
    (as JavaScript's ``String(value)`` prints it; null stays null, so a
    render still says so).  Only the branches leading to ``fields`` are
    copied; an existing ``_url`` there is replaced (a second call changes
    nothing)."""
    if isinstance(value, Mapping):
        items = f"{path}[]"
        out: dict[str, Any] = {}
        encoded: dict[str, Any] = {}
        for key, item in value.items():
            if key == URL_DATA_KEY:
                continue
            named = f"{path}.{key}" if path else str(key)
            if named in prefixes:
                out[key] = _url_copies(item, named, fields, prefixes)
            elif items in prefixes:
                out[key] = _url_copies(item, items, fields, prefixes)
            else:
                out[key] = item
            if named in fields:
                encoded[key] = url_encoded(item)
        if encoded:
            out[URL_DATA_KEY] = encoded
        return out
    if isinstance(value, (list, tuple)) and f"{path}[]" in prefixes:
        return [_url_copies(item, f"{path}[]", fields, prefixes) for item in value]
    return value


def url_encoded(value: Any) -> str | None:
    """``value`` as a placeholder inside a URL prints it: its ``_url`` copy,
    percent-encoded for any URL component (JavaScript's ``String(value)``);
    null stays null."""
    return None if value is None else quote(sestemplate.js_string(value), safe="")


def _prefixes(paths: Iterable[str]) -> frozenset[str]:
    """Every path that leads to one of ``paths``: ``days[].date`` → ``days``, ``days[]``."""
    out: set[str] = set()
    for path in paths:
        parts = parse_path(path)
        out.update(format_path(parts[:i]) for i in range(1, len(parts)))
    return frozenset(out)


def prepare_data(data: Mapping[str, Any], raw_paths: Iterable[str] = (),
                 url_paths: Iterable[str] = ()) -> dict[str, Any]:
    """TemplateData for a letterhead-built SES template: ``data`` plus its
    HTML-escaped copy under ``_html``.  ``raw_paths`` (from the manifest's
    contract) name values the HTML prints unescaped on purpose; ``url_paths``
    (the manifest's) name values printed inside a URL, whose percent-encoded
    copies go under ``_url`` in the object that holds them."""
    prepared = {k: v for k, v in data.items() if k != HTML_DATA_KEY}
    fields = frozenset(url_paths)
    if fields:
        prepared = _url_copies(prepared, "", fields, _prefixes(fields))
    raw = frozenset(raw_paths)
    prepared[HTML_DATA_KEY] = _escape_tree(prepared, "", raw) if raw else _escape_all(prepared, {})
    return prepared


MAX_TEMPLATE_DATA = 262_144  # SES: characters of TemplateData (botocore does not check)


def template_data(data: Mapping[str, Any], raw_paths: Iterable[str] = (), url_paths: Iterable[str] = ()) -> str:
    """TemplateData exactly as SES gets it (:func:`prepare_data`'s result as
    JSON), refused as SES would refuse it.  The sender sends this text and
    the build measures every sample with it, so a sample the sender would
    refuse fails the build."""
    return serialise_prepared(prepare_data(data, raw_paths, url_paths))


def serialise_prepared(prepared: Mapping[str, Any]) -> str:
    """:func:`template_data` of data :func:`prepare_data` already prepared
    (the build renders a sample from the same preparation it measures)."""
    try:
        text = json.dumps(prepared, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        kind = re.search(r"type (\w+)", str(exc))
        raise DataError("the data is not JSON" + (f" (a value of type {kind.group(1)})" if kind else
                                                  " (NaN or infinity)"),
                        hint="send strings, numbers, booleans, lists and dicts; format dates as strings") from None
    if len(text) > MAX_TEMPLATE_DATA:
        raise DataError(f"TemplateData is {len(text):,} characters; SES allows "
                        f"{MAX_TEMPLATE_DATA:,} (the HTML-escaped copy doubles the data)",
                        hint="send less data (ids and links rather than content)")
    return text


def url_paths_of(parsed: Mapping[str, sestemplate.Template]) -> tuple[str, ...]:
    """The ``url_paths`` an uploaded payload needs, read from the payload
    itself (every path through a ``_url`` key): the payload is what SES
    renders, whatever the manifest says."""
    found: set[str] = set()
    for template in parsed.values():
        uses = template.uses
        if uses is None:
            continue
        for use in uses:
            path = use.path
            if URL_DATA_KEY not in path or use.role not in ("output", "raw"):
                continue
            if path and path[0] == HTML_DATA_KEY:
                path = path[1:]
            i = path.index(URL_DATA_KEY)
            found.add(format_path(path[:i] + path[i + 1:]))
    return tuple(sorted(found))


def user_variable(label: str | None) -> str | None:
    """A renderer's label → the variable the application sends:
    ``_html.days[0]._url.date`` → ``days[0].date``."""
    if not label:
        return label
    if label.startswith(HTML_DATA_KEY + "."):
        label = label[len(HTML_DATA_KEY) + 1:]
    return _URL_SEGMENT.sub(r"\1", label)


_URL_SEGMENT = re.compile(r"(^|\.|\])" + URL_DATA_KEY + r"\.")
# In a message, a path through a copy: `{{{_url.x}}}`, `a._url.b`, `@root._html.x`.
_COPY_IN_TEXT = re.compile(r"(?<=[{./`])" + URL_DATA_KEY + r"\.|(?<=@root\.)" + HTML_DATA_KEY + r"\.")
# The same in a path as written: `_url.x`, `a._url.[b c]`, `../_url.x`, `@root._html.x`.
_COPY_IN_PATH = re.compile(r"(?:^|(?<=[./]))" + URL_DATA_KEY + r"\.|(?<=^@root\.)" + HTML_DATA_KEY + r"\.")
# The HTML part's wrapper (ses_parts), which the designer never wrote.
_WRAPPER = re.compile(re.escape("{{#with " + HTML_DATA_KEY + "}}") + "|"
                      + re.escape("{{else}}{{" + MISSING_MARKER + "}}{{/with}}"))
_TAG_IN_TEXT = re.compile(r"`\{\{\{?([^`{}]*)\}\}\}?`")
_LAST_SEGMENT = re.compile(r"(?:^|[./])(\[(?:\\.|[^\]\\])*\]|[^./\[]+)$")


def missing_url_copy(exc: RenderError) -> str | None:
    """The variable whose ``_url`` copy is missing while the error is about
    the copy itself (TemplateData prepared without ``url_paths``), else None."""
    for m in exc.missing:
        label = m.variable[len(HTML_DATA_KEY) + 1:] if m.variable.startswith(HTML_DATA_KEY + ".") else m.variable
        if _is_url_copy(label):
            return _user_missing(m, None, source_lines=False).variable
    label = exc.variable or ""
    if not _is_url_copy(label):
        return None
    tag = _TAG_IN_TEXT.search(exc.message)
    return user_variable(tag.group(1).strip()) if tag else user_variable(label)


def _is_url_copy(label: str) -> bool:
    return label == URL_DATA_KEY or label.endswith(("." + URL_DATA_KEY, "]" + URL_DATA_KEY))


def _user_missing(m: MissingVariable, part: str | None, source_lines: bool) -> MissingVariable:
    """``m`` in the application's words: not ``_html.x`` or ``a._url.b``."""
    label = m.variable
    if label.startswith(HTML_DATA_KEY + "."):
        label = label[len(HTML_DATA_KEY) + 1:]
    elif label == HTML_DATA_KEY:
        label = ""
    if _is_url_copy(label):
        # no field of this object is printed in a URL: the copy object itself is missing,
        # so the field the placeholder prints is what the application did not send
        field = _LAST_SEGMENT.search(m.path)
        name = field.group(1) if field else m.path
        if name.startswith("["):
            name = re.sub(r"\\(.)", r"\1", name[1:-1])
        label = label[: -len(URL_DATA_KEY)].rstrip(".") + ("." if label != URL_DATA_KEY else "") + name
        label = label.lstrip(".")
    variable = user_variable(label) or m.variable
    line = _COPY_IN_TEXT.sub("", _WRAPPER.sub("", m.source_line)) if m.source_line and source_lines else None
    return m._replace(variable=variable, path=_COPY_IN_PATH.sub("", m.path), source_line=line,
                      part=m.part or part)


def explain_render_error(errors: RenderError | Iterable[RenderError], *, data_name: str = "the data",
                         label: str = "", source_lines: bool = True) -> RenderError:
    """Render errors (one per failing part, in part order) → one error in the
    application's words, worded as on every other path: every missing or
    null variable once, by the name the application sends (``token``, not
    ``_html._url.token``), the placeholder as the template writes it, and a
    hint whose ``{{#if}}`` guards parse where they would stand.

    ``data_name`` says what holds the data (``the data``, a sample's path,
    ``TemplateData``); ``label`` prefixes the message (``"template 'x': "``);
    ``source_lines=False`` leaves the source lines out (the payload's lines
    are not the designer's)."""
    errs = [errors] if isinstance(errors, RenderError) else list(errors)
    missing = [_user_missing(m, e.part, source_lines) for e in errs for m in e.missing]
    if missing:
        return RenderError.for_missing(missing, label=label, data_name=data_name)
    first = errs[0]  # not about a variable (an undefined partial): its own words
    return RenderError(label + _COPY_IN_TEXT.sub("", first.message), variable=user_variable(first.variable),
                       location=first.location, hint=_COPY_IN_TEXT.sub("", first.hint) if first.hint else None,
                       source_line=first.source_line if source_lines else None, part=first.part)


def render_like_ses(parsed: Mapping[str, sestemplate.Template], data: Mapping[str, Any],
                    raw_paths: Iterable[str] = (),
                    parts: Iterable[str] = ("subject", "html", "text"),
                    url_paths: Iterable[str] = (),
                    prepared: dict[str, Any] | None = None) -> dict[str, str]:
    """What SES renders from the payload :func:`ses_parts` makes, computed from
    the designer-form parts (whose placeholders know their source lines), so a
    build needs no second parse.  The payload prints every value with
    triple-stash, so the result does not depend on whether SES escapes, and
    the HTML part reads the escaped copy: equal to rendering the designer HTML
    against that copy without escaping.  ``parsed``: the parts whose URL
    outputs read ``_url`` (:attr:`letterhead.authoring.contexts.Analysis.parsed`), with
    ``url_paths`` to match.  ``tests/test_safety.py`` checks the two ways agree.
    ``prepared``: :func:`prepare_data`'s result for these arguments, when the
    caller has it already.
    A RenderError names the application's variables (every one missing, in
    every part) and the part of the first."""
    url_paths = tuple(url_paths)
    out: dict[str, str] = {}
    failed: list[RenderError] = []
    for part in parts:
        if part == "html" or url_paths:
            if prepared is None:
                prepared = prepare_data(data, raw_paths, url_paths)
            context: Mapping[str, Any] = prepared[HTML_DATA_KEY] if part == "html" else prepared
        else:
            context = data
        try:
            out[part] = sestemplate.render(parsed[part], context, escape=False)
        except RenderError as exc:
            exc.part = part
            failed.append(exc)
    if failed:
        raise explain_render_error(failed, data_name="the template data")
    return out
