"""Which context each placeholder prints into, and what makes it safe there.

HTML-escaping (the ``_html`` copy, :mod:`letterhead.authoring.safety`) is the right
treatment for text and quoted attribute values only.  This module reads the
compiled parts as a browser would, finds the context of every output
placeholder, and decides:

============================  ==========================================================
context                       treatment
============================  ==========================================================
``text``, ``attribute``       the HTML-escaped ``_html`` copy
``url`` (starts a URL         escaped copy, and at data-check time the value must be an
attribute: href, src…)        absolute http(s) URL (``href`` also mailto:/tel:)
``mailto`` / ``tel``          escaped copy, and the value must be one address / number
(right after ``mailto:``)
``url-part`` (path, query,    a percent-encoded copy: the payload prints
fragment; also in the text    ``{{{_url.x}}}``, which :func:`~letterhead.authoring.safety.prepare_data`
part after ``https://``)      adds in the object that holds ``x``
``css``, ``comment``,         a build error, unless the variable is declared integer,
``unquoted-attribute``        number, boolean or color in template.toml
``script``, ``attribute-      a build error
name``, ``tag-name``
``plain`` (subject, text)     as sent
============================  ==========================================================

Why one ``_url`` key per object rather than one top-level copy: inside
``{{#each}}`` and ``{{#with}}`` a path is relative to the current item, so
``{{date}}`` can only reach an encoded copy that sits next to ``date``:
``{{{_url.date}}}``.  Only the objects holding a field printed in a URL get
one (the manifest's ``url_paths``), so a dict looped over with ``{{#each}}``
never sees an extra entry, and TemplateData stays small.

The analysis needs no second parse: it scans the compiled text once with the
placeholders masked (their quotes and braces cannot confuse the scan), and
resolves scopes with the parser's own walker.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Mapping, Sequence  # not typing's aliases: isinstance() on those is ~2.5x slower
from typing import TYPE_CHECKING, Any, NamedTuple

from .. import sestemplate
from ..errors import Location

if TYPE_CHECKING:  # pragma: no cover
    from .compile import CompiledTemplate

URL_DATA_KEY = "_url"
RESERVED_KEYS = ("_html", URL_DATA_KEY)

TEXT, ATTRIBUTE, PLAIN = "text", "attribute", "plain"
URL, URL_PART, MAILTO, TEL = "url", "url-part", "mailto", "tel"
CSS, SCRIPT, COMMENT = "css", "script", "comment"
UNQUOTED, ATTRIBUTE_NAME, TAG_NAME = "unquoted-attribute", "attribute-name", "tag-name"

# How messages name each context: "stands in {CONTEXT_NAMES[c]}".
CONTEXT_NAMES: Mapping[str, str] = {
    TEXT: "text", ATTRIBUTE: "an attribute value", PLAIN: "a plain-text part", URL: "a URL",
    URL_PART: "part of a URL", MAILTO: "a mailto: link", TEL: "a tel: link", CSS: "CSS", SCRIPT: "a script",
    COMMENT: "an HTML comment", UNQUOTED: "an unquoted attribute value", ATTRIBUTE_NAME: "an attribute name",
    TAG_NAME: "a tag name",
}

# Declared types whose values cannot leave these contexts (validated at data-check time).
SAFE_TYPES: Mapping[str, frozenset[str]] = {
    CSS: frozenset({"integer", "number", "boolean", "color"}),
    COMMENT: frozenset({"integer", "number", "boolean", "color"}),
    UNQUOTED: frozenset({"integer", "number", "boolean", "color"}),
    SCRIPT: frozenset(),
    ATTRIBUTE_NAME: frozenset(),
    TAG_NAME: frozenset(),
}
_FIXES = {
    CSS: "declare the variable `type = \"color\"` (or integer/number) in template.toml, or move the value "
         "out of CSS: pick one of several classes with {{#if}}",
    COMMENT: "remove the placeholder from the HTML comment (or declare it integer/number)",
    UNQUOTED: "quote the attribute value: name=\"{{x}}\"",
    SCRIPT: "remove it: email clients do not run scripts or event handlers",
    ATTRIBUTE_NAME: "write the attribute name in the template and choose it with {{#if}}…{{/if}}",
    TAG_NAME: "write the tag name in the template and choose it with {{#if}}…{{/if}}",
}
_WHERE = {
    CSS: "inside CSS", COMMENT: "inside an HTML comment", UNQUOTED: "as an unquoted attribute value",
    SCRIPT: "inside a script", ATTRIBUTE_NAME: "as an attribute name", TAG_NAME: "as a tag name",
}

# Attributes whose value is a URL; in the first, a mailto: or tel: link makes sense.
_LINK_ATTRIBUTES = frozenset({"href", "xlink:href"})
_URL_ATTRIBUTES = _LINK_ATTRIBUTES | frozenset({
    "src", "action", "formaction", "background", "cite", "poster", "data", "codebase", "longdesc", "usemap",
    "srcset", "lowsrc", "dynsrc", "icon", "manifest", "ping", "profile", "archive", "classid",
})
LINK, RESOURCE = "link", "resource"  # kinds of whole-URL checks (besides MAILTO and TEL)

_MASK = "\x00"
# What changes how the text after it is read: a comment (not a conditional
# comment: `<!--[if mso]>…<![endif]-->` holds real markup, which Outlook
# renders), a declaration, a <script> or <style> element.  Tags elsewhere are
# looked at only around a placeholder.  Read on the text with every mustache
# masked, so their quotes and braces cannot confuse it.
_SPECIAL = re.compile(  # one literal first character: the engine skips to each `<` in C
    r"<(?:(?P<comment>!--(?!\[if|<!\[endif|>)(?s:.*?)(?:-->|\Z)|![A-Za-z][^>]*>?)"
    r"|(?P<raw>(?P<rname>(?i:script|style))(?=[\s/>])(?:[^>\"']++|\"[^\"]*+\"|'[^']*+')*>))"
)
# (Runs and quoted values taken possessively: they split a tag one way only,
# so no backtracking could find another match; without it the engine takes
# the attributes one character at a time.  Not `*+` on the group: Python
# 3.11.2's possessive group repeat matches `<a b'>`, which has no end.)
_TAG_AT = re.compile(r"</?(?P<name>[A-Za-z\x00][^\s/>]*)(?P<attrs>(?:[^>\"']++|\"[^\"]*+\"|'[^']*+')*)>")
_ATTR = re.compile(r"(?P<name>[^\s\"'>/=]+)(?:\s*=\s*(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<uq>[^\s>\"']*)))?")
_RAW_TEXT = {"script": SCRIPT, "style": CSS}
_WORD = re.compile(r"[^\s<>\"'()]+")
_TEXT_URL_START = re.compile(r"(?i)https?://|mailto:")


class Placement(NamedTuple):
    """One output placeholder (or partial call) and the context it prints into."""

    part: str
    node: Any  # sestemplate.Output or sestemplate.PartialCall
    context: str
    detail: str = ""  # the attribute or element, for messages and URL kinds

    @property
    def offset(self) -> int:
        return int(self.node.offset)

    @property
    def location(self) -> Location:
        return self.node.location  # type: ignore[no-any-return]


class Problem(NamedTuple):
    location: Location
    message: str
    hint: str


class Analysis:
    """The contexts of one compiled template, and what follows from them."""

    __slots__ = ("contract", "parsed", "placements", "targets", "url_checks", "url_offsets", "url_paths")

    def __init__(self, placements: tuple[Placement, ...], parsed: Mapping[str, sestemplate.Template],
                 url_offsets: Mapping[str, frozenset[int]], url_paths: tuple[str, ...],
                 url_checks: Mapping[str, tuple[str, ...]],
                 targets: Mapping[tuple[str, int], tuple[tuple[str, ...] | None, ...]],
                 contract: sestemplate.Contract) -> None:
        self.placements = placements
        self.parsed = parsed  # the parts as rendered locally: URL parts read `_url`
        self.url_offsets = url_offsets  # per part: outputs the payload rewrites to `_url`
        self.url_paths = url_paths  # for the manifest and prepare_data
        self.url_checks = url_checks  # path → kinds of whole-URL check
        self.targets = targets  # (part, offset) → the absolute paths a placeholder reaches
        self.contract = contract


def analyze(compiled: CompiledTemplate) -> Analysis:
    """Where each placeholder of ``compiled`` prints.  Callers use
    ``compiled.contexts``, which computes this once per compiled template
    (a build asks for it for the payload, every sample and the lint)."""
    return _analyze(compiled.parsed, compiled.contract)


def _analyze(parsed: Mapping[str, sestemplate.Template], contract: sestemplate.Contract) -> Analysis:
    placements: list[Placement] = []
    resolved: dict[str, dict[int, list[tuple[str, ...] | None]]] = {}

    def targets_of(part: str, offset: int) -> list[tuple[str, ...] | None]:
        if part not in resolved:
            walker = _Targets(parsed[part])
            walker.walk()
            resolved[part] = walker.found
        return resolved[part].get(offset, [])

    html = parsed["html"]
    html_places = _html_placements(html)
    placements += html_places
    whole_urls = {t for p in html_places if p.context == URL for t in targets_of("html", p.offset) if t}
    for part in ("subject", "text"):
        placements += _text_placements(part, parsed[part], lambda o, part=part: targets_of(part, o), whole_urls)

    url_offsets: dict[str, set[int]] = {"subject": set(), "html": set(), "text": set()}
    url_paths: set[str] = set()
    url_checks: dict[str, set[str]] = {}
    targets: dict[tuple[str, int], tuple[tuple[str, ...] | None, ...]] = {}
    for p in placements:
        if not isinstance(p.node, sestemplate.Output) or p.context in (TEXT, ATTRIBUTE, PLAIN):
            continue  # escaped or printed as sent: nothing to resolve
        found = tuple(targets_of(p.part, p.offset))
        targets[(p.part, p.offset)] = found
        if p.context == URL_PART and _rewritable(p):
            url_offsets[p.part].add(p.offset)
            url_paths.update(format_path(t) for t in found if t)
        elif p.context in (URL, MAILTO, TEL) and not p.node.raw:
            kind = p.context if p.context != URL else (LINK if p.detail in _LINK_ATTRIBUTES else RESOURCE)
            for t in found:
                if t:
                    url_checks.setdefault(format_path(t), set()).add(kind)
    frozen = {part: frozenset(offsets) for part, offsets in url_offsets.items()}
    rendered = {part: _rewrite(t, frozen[part]) if frozen[part] else t for part, t in parsed.items()}
    return Analysis(tuple(placements), rendered, frozen, tuple(sorted(url_paths)),
                    {k: tuple(sorted(v)) for k, v in sorted(url_checks.items())}, targets, contract)


def _rewritable(p: Placement) -> bool:
    """An output in a URL that can read an encoded copy: a named field (not
    ``{{this}}`` or ``@key``), printed double-stash."""
    node = p.node
    if not isinstance(node, sestemplate.Output) or node.raw:
        return False
    path = node.path
    if path.data:
        return path.parts[0] == "root" and len(path.parts) > 1
    return bool(path.parts)


def url_path(path: sestemplate.Path) -> str:
    """``a.b`` → ``a._url.b``, ``../x`` → ``../_url.x``: the encoded copy sits
    next to the field, so the path works in any scope."""
    head = "@" if path.data else "../" * path.depth
    segments = [p if sestemplate.ID_CHAR.match(p) else "[" + p.replace("\\", "\\\\").replace("]", "\\]") + "]"
                for p in path.parts]
    return head + ".".join([*segments[:-1], URL_DATA_KEY, segments[-1]])


def _rewrite(template: sestemplate.Template, offsets: frozenset[int]) -> sestemplate.Template:
    """The part with the outputs at ``offsets`` reading ``_url`` (the source
    locations kept, so errors still name the designer's line)."""
    return sestemplate.Template(_rewrite_nodes(template.body, offsets), template.origin, template.text,
                               template.uses, template.tags)


def _rewrite_nodes(nodes: tuple[sestemplate.Node, ...], offsets: frozenset[int]) -> tuple[sestemplate.Node, ...]:
    out: list[sestemplate.Node] = []
    for node in nodes:
        if isinstance(node, sestemplate.Output) and node.offset in offsets:
            parts = node.path.parts
            node = node._replace(path=node.path._replace(parts=(*parts[:-1], URL_DATA_KEY, parts[-1])))
        elif isinstance(node, sestemplate.Block):
            node = node._replace(body=_rewrite_nodes(node.body, offsets),
                                 inverse=_rewrite_nodes(node.inverse, offsets))
        elif isinstance(node, sestemplate.InlinePartial):
            node = node._replace(body=_rewrite_nodes(node.body, offsets))
        out.append(node)
    return tuple(out)


class _Targets(sestemplate.ScopeWalker):
    """The parser's scope walk, recording the absolute path each output
    reaches (an output in an inline partial reaches one per call)."""

    def __init__(self, template: sestemplate.Template) -> None:
        super().__init__(template)
        self.found: dict[int, list[tuple[str, ...] | None]] = {}

    def use(self, found: Any, role: str, node: Any, env: Any) -> None:
        if role in ("output", "raw"):
            self.found.setdefault(node.offset, []).append(None if found is None else tuple(found[0]))


def format_path(parts: Sequence[str]) -> str:
    """``("days", "[]", "date")`` → ``days[].date``, the form ``prepare_data``
    walks (``[]``: the items of a list, or the values of a dict)."""
    text = ""
    for part in parts:
        text += "[]" if part == "[]" else (f".{part}" if text else part)
    return text


def parse_path(path: str) -> tuple[str, ...]:
    out: list[str] = []
    for piece in path.split("."):
        name = piece
        items = 0
        while name.endswith("[]"):
            name, items = name[:-2], items + 1
        if name:
            out.append(name)
        out += ["[]"] * items
    return tuple(out)


def values_at(data: Any, parts: Sequence[str], label: str = "") -> Iterator[tuple[str, Any]]:
    """(label, value) of every value ``parts`` reaches in ``data``; labels
    as the renderer writes them (``days[2].date``)."""
    if not parts:
        yield label, data
        return
    head, rest = parts[0], parts[1:]
    if head == "[]":
        if isinstance(data, Mapping):
            for key, value in data.items():
                yield from values_at(value, rest, f"{label}.{key}" if label else str(key))
        elif isinstance(data, (list, tuple)):
            for i, value in enumerate(data):
                yield from values_at(value, rest, f"{label}[{i}]")
    elif isinstance(data, Mapping) and head in data:
        yield from values_at(data[head], rest, f"{label}.{head}" if label else head)


# --- the scan -------------------------------------------------------------------------------


def _nodes(body: tuple[sestemplate.Node, ...]) -> Iterator[Any]:
    for node in body:
        if isinstance(node, (sestemplate.Output, sestemplate.PartialCall)):
            yield node
        elif isinstance(node, sestemplate.Block):
            yield from _nodes(node.body)
            yield from _nodes(node.inverse)
        elif isinstance(node, sestemplate.InlinePartial):
            yield from _nodes(node.body)


def _masked(template: sestemplate.Template) -> tuple[str, list[sestemplate.Tag]]:
    text = template.text
    tags = list(template.tags if template.tags is not None else sestemplate.scan(text))
    if not tags:
        return text, tags
    pieces: list[str] = []
    pos = 0
    for tag in tags:
        pieces.append(text[pos:tag.start])
        pieces.append(_MASK * (tag.end - tag.start))
        pos = tag.end
    pieces.append(text[pos:])
    return "".join(pieces), tags


def _prefix(text: str, tags: list[sestemplate.Tag], starts: list[int], begin: int, end: int) -> str:
    """The text between ``begin`` and ``end`` as it prints: literal text kept,
    each output before ``end`` as ``\\x01``, block tags (which print nothing
    of their own) dropped."""
    out: list[str] = []
    pos = begin
    for i in range(bisect.bisect_left(starts, begin), bisect.bisect_left(starts, end)):
        tag = tags[i]
        out.append(text[pos:tag.start])
        if tag.kind in ("output", "raw_output", "partial"):
            out.append("\x01")
        pos = tag.end
    out.append(text[pos:end])
    return "".join(out)


def _html_placements(template: sestemplate.Template) -> list[Placement]:
    nodes = sorted(_nodes(template.body), key=lambda n: n.offset)
    if not nodes:
        return []
    text = template.text
    masked, tags = _masked(template)
    starts = [t.start for t in tags]
    offsets = [n.offset for n in nodes]
    contexts: dict[int, tuple[str, str]] = {}

    def inside(begin: int, end: int) -> range:
        return range(bisect.bisect_left(offsets, begin), bisect.bisect_left(offsets, end))

    pos = 0
    while True:
        m = _SPECIAL.search(masked, pos)
        if m is None or m.start() > offsets[-1]:
            break
        pos = m.end()
        if m.lastgroup == "comment":
            for i in inside(m.start(), pos):
                contexts[offsets[i]] = (COMMENT, "")
            continue
        for i in inside(m.start(), pos):  # in the <script>/<style> tag itself
            contexts[offsets[i]] = _in_tag(m, offsets[i], text, masked, tags, starts, "rname", "")
        name = m.group("rname").lower()
        if masked[m.start():pos - 1].rstrip().endswith("/"):
            continue
        close = masked.find("</", pos)
        while close >= 0 and masked[close + 2:close + 2 + len(name)].lower() != name:
            close = masked.find("</", close + 2)
        close = len(masked) if close < 0 else close
        for i in inside(pos, close):
            contexts[offsets[i]] = (_RAW_TEXT[name], f"<{name}>")
        pos = close
    for offset in offsets:
        if offset in contexts:
            continue
        lt = masked.rfind("<", 0, offset)
        tag = _TAG_AT.match(masked, lt) if lt >= 0 else None
        if tag is not None and tag.end() > offset:
            contexts[offset] = _in_tag(tag, offset, text, masked, tags, starts, "name", "attrs")
    return [Placement("html", n, *contexts.get(n.offset, (TEXT, ""))) for n in nodes]


def _in_tag(m: re.Match[str], offset: int, text: str, masked: str, tags: list[sestemplate.Tag],
            starts: list[int], name_group: str, attrs_group: str) -> tuple[str, str]:
    if m.start(name_group) <= offset < m.end(name_group):
        return TAG_NAME, ""
    begin = m.start(attrs_group) if attrs_group else m.end(name_group)
    for a in _ATTR.finditer(masked, begin, m.end() - 1):
        name = a.group("name").lower()
        if a.start("name") <= offset < a.end("name"):
            return ATTRIBUTE_NAME, ""
        for group in ("dq", "sq", "uq"):
            if a.group(group) is not None and a.start(group) <= offset < a.end(group):
                if group == "uq":
                    return UNQUOTED, name
                if name.startswith("on"):
                    return SCRIPT, name
                if name == "style":
                    return CSS, name
                if name in _URL_ATTRIBUTES:
                    return _url_context(_prefix(text, tags, starts, a.start(group), offset)), name
                return ATTRIBUTE, name
    return ATTRIBUTE_NAME, ""


def _url_context(before: str) -> str:
    """What precedes a placeholder in a URL attribute decides its role."""
    head = before.strip().lower()
    if not head:
        return URL
    if head == "mailto:":
        return MAILTO
    if head == "tel:":
        return TEL
    return URL_PART


def _text_placements(part: str, template: sestemplate.Template, targets_of: Any,
                     whole_urls: set[tuple[str, ...]]) -> list[Placement]:
    """In plain text a URL is a word that has a scheme (``https://``,
    ``mailto:``) before the placeholder, or that starts with a variable the
    HTML part uses as a whole link (``{{calendar_url}}/day/{{date}}``)."""
    nodes = sorted(_nodes(template.body), key=lambda n: n.offset)
    if not nodes:
        return []
    text = template.text
    masked, tags = _masked(template)
    starts = [t.start for t in tags]
    # The word around each placeholder, found from the placeholder backwards
    # (the masked text reversed: a match from where the placeholder starts)
    # rather than by splitting the whole part into words.
    backwards = masked[::-1]
    size = len(masked)
    out: list[Placement] = []
    for node in nodes:
        offset = node.offset
        context = PLAIN
        # inside a word: a word character on both sides of the placeholder's start
        run = _WORD.match(backwards, size - offset) if 0 < offset < size else None
        if run is not None and _WORD.match(masked, offset, offset + 1) is not None:
            begin = offset - (run.end() - run.start())
            before = _prefix(text, tags, starts, begin, offset)
            scheme = _TEXT_URL_START.search(before)
            if scheme is not None:
                rest = before[scheme.end():]
                context = MAILTO if scheme.group().lower() == "mailto:" and not rest else URL_PART
            elif before.startswith("\x01"):
                first = next(t for t in tags[bisect.bisect_left(starts, begin):]
                             if t.kind in ("output", "raw_output", "partial"))
                if any(t in whole_urls for t in targets_of(first.start) if t):
                    context = URL_PART
        out.append(Placement(part, node, context))
    return out


# --- the check ------------------------------------------------------------------------------


def check(analysis: Analysis, variables: Mapping[str, Any]) -> list[Problem]:
    """The placeholders that no escaping makes safe where they stand.
    ``variables``: the declared types (VariableSpec or its JSON)."""
    problems: list[Problem] = []
    for p in analysis.placements:
        node = p.node
        if p.context in _SAFE_CONTEXTS and type(node) is sestemplate.Output \
                and not any(seg in RESERVED_KEYS for seg in node.path.parts):
            continue  # most placeholders: escaped or checked where they print, under a name of their own
        tag = _tag(node)
        if isinstance(node, sestemplate.PartialCall):
            if p.context not in (TEXT, PLAIN):
                problems.append(Problem(
                    p.location, f"partial call `{tag}` stands in {CONTEXT_NAMES.get(p.context, p.context)} "
                    f"({p.detail or p.part})",
                    "call partials only in text: write the placeholders of a URL, attribute or style "
                    "where they print, so each gets the right encoding"))
            continue
        found = analysis.targets.get((p.part, p.offset), ())
        reserved = [seg for seg in node.path.parts if seg in RESERVED_KEYS]
        if reserved:
            problems.append(Problem(
                p.location, f"`{tag}` names `{reserved[0]}`, which letterhead reserves for its encoded copies",
                f"rename the variable: `{reserved[0]}` is added by prepare_data"))
            continue
        if p.context == URL_PART and not node.raw and not _rewritable(p):
            what = "a list item (`{{this}}`)" if not node.path.data else f"`{node.path.original}`"
            if not (node.path.data and node.path.parts[0] in ("index", "first", "last")):
                problems.append(Problem(
                    p.location, f"`{tag}` prints {what} inside a URL, where it cannot be percent-encoded",
                    "send a list of objects and print a field, e.g. [{\"slug\": \"…\"}] and {{slug}}"))
            continue
        if p.context == URL_PART and not node.raw:
            for t in found:
                parent = _variable_at(analysis.contract, t[:-1]) if t and len(t) > 1 and t[-2] != "[]" else None
                if t and parent is not None and parent.iterated:  # (a parent implies t)
                    problems.append(Problem(
                        p.location, f"`{tag}` is printed in a URL and `{format_path(t[:-1])}` is looped over "
                        "with {{#each}}: its encoded copy would be looped over too",
                        "send the URL value outside the object you loop over"))
                    break
            continue
        safe = SAFE_TYPES.get(p.context)
        if safe is None:
            continue
        if node.path.data and node.path.parts[0] in ("index", "first", "last") and p.context in (CSS, COMMENT,
                                                                                                   UNQUOTED):
            continue  # a number or a boolean
        if safe and found and all(t and len(t) == 1 and _declared(variables, t[0]) in safe for t in found):
            continue
        name = format_path(found[0]) if found and found[0] else node.path.original
        where = _WHERE[p.context] + (f" (`{p.detail}`)" if p.detail and p.context in (CSS, SCRIPT, UNQUOTED)
                                     else "")
        typed = f"; declared types that are safe there: {', '.join(sorted(safe))}" if safe else ""
        problems.append(Problem(p.location, f"`{tag}` prints `{name}` {where}: escaping cannot make a value "
                                f"safe there{typed}", _FIXES[p.context]))
    return problems


# Where only a reserved name is a problem (every check below passes an output there).
_SAFE_CONTEXTS = frozenset({TEXT, ATTRIBUTE, PLAIN, URL, MAILTO, TEL})


def _tag(node: Any) -> str:
    if isinstance(node, sestemplate.PartialCall):
        return "{{> " + node.name + "}}"
    tag: str = ("{{{%s}}}" if node.raw else "{{%s}}") % node.path.original
    return tag


def _declared(variables: Mapping[str, Any], name: str) -> str | None:
    spec = variables.get(name)
    if spec is None:
        return None
    return str(spec["type"] if isinstance(spec, Mapping) else spec.type)


def _variable_at(contract: sestemplate.Contract, path: tuple[str, ...]) -> sestemplate.Variable | None:
    variables: Mapping[str, sestemplate.Variable] = contract.variables
    var = None
    for seg in path:
        if seg == "[]":
            continue  # an item's fields are among the variable's fields
        var = variables.get(seg)
        if var is None:
            return None
        variables = var.fields
    return var
