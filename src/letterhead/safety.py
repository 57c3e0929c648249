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

If the application forgets :func:`prepare_data`, the ``{{else}}`` branch
prints a variable that does not exist, so the send fails to render loudly
(SES's rendering-failure event names ``letterhead_html_data_missing``; the
local renderer and letterhead's sender refuse it) instead of an empty email.

:func:`prepare_data` is the one function an application that does not use
letterhead's sender must call on its TemplateData.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from . import handlebars
from .payload import SesTemplate

if TYPE_CHECKING:  # pragma: no cover
    from .compile import CompiledTemplate

HTML_DATA_KEY = "_html"
MISSING_MARKER = "letterhead_html_data_missing"


def _triple(raw: str) -> str:
    inner = raw[2:-2]
    left = inner.startswith("~")
    right = inner.endswith("~")
    expr = inner.strip("~").strip()
    if expr.startswith("&"):
        expr = expr[1:].strip()
    return "{{" + ("~" if left else "") + "{" + expr + "}" + ("~" if right else "") + "}}"


_ROOT_RE = re.compile(r"@root(?=[.}\s~)/]|$)")


def unescape_outputs(text: str, *, root_to: str | None = None,
                     tags: "Iterable[handlebars.Tag] | None" = None) -> str:
    """Every double-stash output ``{{x}}`` → ``{{{x}}}``; all else unchanged.

    ``root_to``: inside the HTML part's ``{{#with _html}}``, ``@root`` would
    reach past the escaped copy to the raw data; point it at the copy.
    ``tags``: the tags of ``text`` when already known (a parse found them)."""
    out: list[str] = []
    pos = 0
    for tag in handlebars.scan(text) if tags is None else tags:
        raw = tag.raw
        if root_to and "@root" in raw:
            raw = _ROOT_RE.sub(f"@root.{root_to}", raw)
        if tag.kind == "output":
            raw = _triple(raw)
        if raw != tag.raw:
            out.append(text[pos : tag.start])
            out.append(raw)
            pos = tag.end
    out.append(text[pos:])
    return "".join(out)


def ses_parts(subject: str, html: str, text: str, *,
              parsed: "Mapping[str, handlebars.Template] | None" = None) -> tuple[str, str, str]:
    """The designer-form parts → the parts uploaded to SES.  ``parsed``: the
    parts already parsed (their tags are reused)."""
    def tags(part: str) -> "Iterable[handlebars.Tag] | None":
        return parsed[part].tags if parsed is not None else None

    html_ses = (
        "{{#with " + HTML_DATA_KEY + "}}" + unescape_outputs(html, root_to=HTML_DATA_KEY, tags=tags("html"))
        + "{{else}}{{" + MISSING_MARKER + "}}{{/with}}"
    )
    return unescape_outputs(subject, tags=tags("subject")), html_ses, unescape_outputs(text, tags=tags("text"))


def payload_for(compiled: "CompiledTemplate") -> SesTemplate:
    """A compiled template (designer form) → the SES payload that is uploaded."""
    return SesTemplate(compiled.name, *ses_parts(compiled.subject, compiled.html, compiled.text,
                                                 parsed=compiled.parsed))


def _escape_tree(value: Any, path: str, raw: frozenset[str]) -> Any:
    if path in raw:
        return value
    if isinstance(value, str):
        return handlebars.escape_expression(value)
    if isinstance(value, Mapping):
        # A dict's values are reached either by name (``prefs.email``) or by
        # ``#each`` over the dict, which the contract writes ``prefs[]``.
        if path and f"{path}[]" in raw:
            return value
        return {
            handlebars.escape_expression(str(k)): _escape_tree(v, f"{path}.{k}" if path else str(k), raw)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_escape_tree(v, f"{path}[]", raw) for v in value]
    return value


def prepare_data(data: Mapping[str, Any], raw_paths: Iterable[str] = ()) -> dict[str, Any]:
    """TemplateData for a letterhead-built SES template: ``data`` plus its
    HTML-escaped copy under ``_html``.  ``raw_paths`` (from the manifest's
    contract) name values the HTML prints unescaped on purpose."""
    prepared = {k: v for k, v in data.items() if k != HTML_DATA_KEY}
    prepared[HTML_DATA_KEY] = _escape_tree(prepared, "", frozenset(raw_paths))
    return prepared


def render_like_ses(parsed: Mapping[str, "handlebars.Template"], data: Mapping[str, Any],
                    raw_paths: Iterable[str] = (),
                    parts: Iterable[str] = ("subject", "html", "text")) -> dict[str, str]:
    """What SES renders from the payload :func:`ses_parts` makes, computed from
    the designer-form parts (whose placeholders know their source lines), so a
    build needs no second parse.  The payload prints every value with
    triple-stash, so the result does not depend on whether SES escapes, and
    the HTML part reads the escaped copy: equal to rendering the designer HTML
    against that copy without escaping.  ``tests/test_safety.py`` checks the
    two ways agree."""
    out: dict[str, str] = {}
    for part in parts:
        if part == "html":
            escaped = prepare_data(data, raw_paths)[HTML_DATA_KEY]
            out[part] = handlebars.render(parsed[part], escaped, escape=False)
        else:
            out[part] = handlebars.render(parsed[part], data, escape=False)
    return out
