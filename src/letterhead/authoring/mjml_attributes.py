"""MJML 5 attributes MRML 6 (mjml-python) drops without a word.

Two are carried through MRML by :mod:`letterhead.authoring.mjml_fixes`:
mj-button's ``title`` (MJML writes it on the button's link) and mj-table's
``role`` (on the table it renders, after ``cellspacing``; only the values
mjml-table accepts, ``enum(none,presentation)``).  ``before_mrml`` resolves
the value as MJML does (:class:`HeadDefaults`: the component's own attribute,
else its mj-classes, mj-attributes' tag default, mj-all) and hides it in a
css-class marker (:func:`carry_marker`), since MRML copies css-class onto
the component's cell; :func:`restore_carried` writes it back on MRML's HTML
and removes the marker class.  The others (:data:`UNSUPPORTED_ATTRIBUTES`)
and a carried attribute with a value MJML's validator rejects
(``role="grid"``) are reported by lint (:func:`unsupported_attributes`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

# An MJML tag, attribute values quoted either way (a '>' may sit inside quotes).
MJ_TAG = re.compile(r"""<(mj-[a-z-]+)\b([^>"'/]*(?:(?:/(?!>)|"[^"]*"|'[^']*')[^>"'/]*)*)(/?)>""")
MJ_ATTR = re.compile(r"""([^\s=/>"']+)(\s*=\s*)("[^"]*"|'[^']*'|[^\s>"']+)""")

BUTTON_TITLE_MARK = "lh-button-title-"
TABLE_ROLE_MARK = "lh-table-role-"
# The attribute carried for each component, and the values carried (all when not listed).
CARRIED = {"mj-button": "title", "mj-table": "role"}
_CARRIED_VALUES: dict[str, tuple[str, ...]] = {"mj-table": ("presentation", "none")}


def _unquoted(raw: str) -> str:
    return raw[1:-1] if raw[:1] in "\"'" else raw


class HeadDefaults:
    """What mj-attributes give a component (mjml-core applyAttributes):
    mj-all, then the tag's defaults, then its mj-classes (their css-classes
    joined), then its own attributes."""

    def __init__(self, head: str) -> None:
        self.tags: dict[str, dict[str, str]] = {}
        self.classes: dict[str, dict[str, str]] = {}
        for m in MJ_TAG.finditer(head):
            attrs = {k.lower(): _unquoted(v) for k, _, v in MJ_ATTR.findall(m.group(2))}
            if m.group(1) == "mj-class":
                self.classes.setdefault(attrs.pop("name", ""), {}).update(attrs)
            else:
                self.tags.setdefault(m.group(1), {}).update(attrs)

    def get(self, tag: str, own: dict[str, str], key: str) -> str | None:
        """``key`` of a ``tag`` whose own attributes are ``own``."""
        if key in own:
            return own[key]
        found: str | None = None
        for name in own.get("mj-class", "").split(" "):
            value = self.classes.get(name, {}).get(key)
            if value is not None:
                found = f"{found} {value}" if key == "css-class" and found else value
        if found is None:
            found = self.tags.get(tag, {}).get(key, self.tags.get("mj-all", {}).get(key))
        return found


def carry_marker(name: str, values: dict[str, str], defaults: HeadDefaults | None) -> tuple[str, str | None]:
    """The marker class that carries ``name``'s :data:`CARRIED` attribute
    through MRML ("" when there is none to carry), and the css-class
    mj-attributes give the component (which its own css-class would replace:
    the marker must not cost it that class).  ``values``: its own attributes
    as written (quoted), lower-case names."""
    own = {k: _unquoted(v) for k, v in values.items()}
    key = CARRIED[name]
    value = defaults.get(name, own, key) if defaults else own.get(key)
    given = defaults.get(name, own, "css-class") if defaults and "css-class" not in own else None
    if value is None:
        return "", given
    if name == "mj-button":  # title="" too: MJML writes it
        # any whitespace is one space, as in MJML's other attribute values
        value = " ".join(value.split()) if any(c in value for c in "\n\r\t") else value
        return BUTTON_TITLE_MARK + value.encode("utf-8").hex(), given
    if value in _CARRIED_VALUES.get(name, ()):
        return TABLE_ROLE_MARK + value, given
    return "", given


# The cell MRML writes for an mj-table whose role before_mrml carried, and its table.
_TABLE_ROLE = re.compile(
    r'(<td\b[^>]*?\bclass=")([^"]*?)\s*\b' + TABLE_ROLE_MARK + r'(presentation|none)(?![\w-])([^"]*)("[^>]*>)'
    r'(<table border="0" cellpadding="[^"]*" cellspacing="[^"]*")'
)
_BUTTON_TITLE = re.compile(
    r'(<td\b[^>]*?\bclass=")([^"]*?)\s*\b' + BUTTON_TITLE_MARK + r'([0-9a-f]*)([^"]*)("[^>]*>.*?<)(a|p)\b',
    re.DOTALL,
)


def restore_carried(h: str) -> str:
    """MRML's HTML with each carried attribute written where MJML writes it."""
    if BUTTON_TITLE_MARK in h:
        h = _sub_marked(_BUTTON_TITLE, BUTTON_TITLE_MARK, h, _fix_button_title)
    if TABLE_ROLE_MARK in h:
        h = _sub_marked(_TABLE_ROLE, TABLE_ROLE_MARK, h, _fix_table_role)
    return h


def _sub_marked(pattern: re.Pattern[str], mark: str, h: str, replace: Callable[[re.Match[str]], str]) -> str:
    r"""``pattern.sub(replace, h)`` for _BUTTON_TITLE and _TABLE_ROLE, each
    search started near the next ``mark`` instead of at every <td of the
    document.  A match holds a mark, and before it ``<td\b[^>]*?\bclass="``
    then ``[^"]*?\s*``: its start lies after the last '>' before the last '"'
    before the mark (and the first mark from a position is the earliest any
    match from there can hold), so nothing is skipped that sub would find."""
    out: list[str] = []
    pos = done = 0
    while True:
        k = h.find(mark, pos)
        if k < 0:
            break
        quote = h.rfind('"', pos, k)
        m = pattern.search(h, max(pos, h.rfind(">", pos, quote) + 1) if quote >= 0 else pos)
        if m is None:
            break
        out += (h[done : m.start()], replace(m))
        done = pos = m.end()
    if not out:
        return h
    out.append(h[done:])
    return "".join(out)


def _fix_button_title(m: re.Match[str]) -> str:
    # MJML puts mj-button's title on the link; MRML drops the attribute.
    # before_mrml carried it here hex-encoded in a css-class marker.
    title = bytes.fromhex(m.group(3)).decode("utf-8")
    title_attr = html.escape(html.unescape(title), quote=True)
    return f'{_unmark(m.group(1), m.group(2), m.group(4), m.group(5))}{m.group(6)} title="{title_attr}"'


def _fix_table_role(m: re.Match[str]) -> str:
    # MJML writes mj-table's role on its table, after cellspacing; MRML drops
    # the attribute.  before_mrml carried it here in a css-class marker.
    return f'{_unmark(m.group(1), m.group(2), m.group(4), m.group(5))}{m.group(6)} role="{m.group(3)}"'


def _unmark(open_td: str, before: str, after: str, rest: str) -> str:
    """The cell's start tag without the marker class: ``open_td`` ends in
    'class="', ``rest`` starts at its closing quote.  Without classes, the
    emptied class attribute is dropped."""
    classes = " ".join(f"{before} {after}".split())
    return f"{open_td}{classes}{rest}" if classes else open_td[: open_td.rfind(" class=")] + rest[1:]


# MJML 5 attributes MRML 6 (mjml-python 1.4) ignores silently, found by
# compiling every allowed attribute of every component with both compilers
# (the CARRIED ones, also ignored, letterhead carries over).
UNSUPPORTED_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "mj-section": ("gutter",),
    "mj-column": ("inner-border-radius",),
    "mj-image": ("sizes", "border-top", "border-right", "border-bottom", "border-left"),
    "mj-social-element": ("icon-position", "srcset", "sizes"),
    "mj-hero": ("border-radius",),
    "mj-accordion-title": ("font-weight",),
    "mj-body": ("id",),
}


def unsupported_attributes(mjml: str) -> list[tuple[int, str, str]]:
    """``(offset, tag, attribute)`` for each use of an attribute in
    :data:`UNSUPPORTED_ATTRIBUTES`, or of a carried one with a value MJML
    does not accept (role="grid" on mj-table, which MJML's validator flags):
    MRML drops it without a word, so the email differs from what the
    designer wrote (a lint warning)."""
    found = []
    for m in MJ_TAG.finditer(mjml):
        names = UNSUPPORTED_ATTRIBUTES.get(m.group(1), ())
        accepted = _CARRIED_VALUES.get(m.group(1))
        if (names or accepted) and m.group(2).strip():
            for key, _, raw in MJ_ATTR.findall(m.group(2)):
                lkey = key.lower()
                if lkey in names or (accepted and lkey == CARRIED[m.group(1)] and _unquoted(raw) not in accepted):
                    found.append((m.start(), m.group(1), lkey))
    return found
