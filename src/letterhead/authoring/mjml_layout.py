"""MJML's box model: what the official compiler computes from an MJML source
where MRML computes something else.

MRML computes widths in 32-bit floats and rounds them its own way; MJML works
on JavaScript numbers but passes widths between components as strings that
each reads back with parseInt (truncating) or parseFloat.  A column of
33.33333333333333% of 600px is "199.99999999999997px" to MJML, so its
mj-image gets parseInt(…) - 50 = 149px where MRML writes 150.  :func:`layout`
repeats MJML 5's arithmetic step for step (mjml-core getBoxWidths,
mjml-section / -group / -column getChildContext, mjml-hero, mjml-image
getContentWidth) with the same attribute precedence (component default <
mj-all < mj-attributes tag default < mj-class < the attribute itself;
MRML compiles no mj-class with children).

In: the MJML source (Jinja's output).  Out: a :class:`~.mjml_fixes.Layout`,
in document order; :func:`write_insertions` writes its attributes into the
source before MRML reads it, ``mjml_fixes.after_mrml`` its numbers into MRML's
HTML.  Reproduced with ``bench/node_modules`` (``npm ci --prefix bench``):
``mjml-core/lib/createComponent.js`` and each component's ``lib/index.js``.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal

from . import mjml_fixes

# Components whose content is HTML (or text/CSS) rather than more MJML.
ENDING_TAGS = frozenset(
    {
        "mj-text",
        "mj-button",
        "mj-table",
        "mj-raw",
        "mj-navbar-link",
        "mj-social-element",
        "mj-accordion-title",
        "mj-accordion-text",
        "mj-title",
        "mj-preview",
        "mj-style",
    }
)

_LAYOUT_DEFAULTS: dict[str, dict[str, str]] = {
    "mj-body": {"width": "600px"},
    "mj-section": {"padding": "20px 0"},
    "mj-wrapper": {"padding": "20px 0"},
    "mj-hero": {"padding": "0px"},
    "mj-image": {"padding": "10px 25px", "border": "0"},
    "mj-social-element": {"border": "0"},
}
_MJ_ATTR_RE = re.compile(r"""([^\s=/>"']+)\s*=\s*("[^"]*"|'[^']*'|[^\s>"']+)""")
_JS_SPACE = " \t\n\x0b\x0c\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_INT = re.compile(r"[+-]?[0-9]+")
_JS_FLOAT = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_WIDTH_UNIT = re.compile(r"[\d.,]*(\D*)$")
_BORDER_WIDTH = re.compile(r"(?:^| )(\d+)")
_NAN = float("nan")


def _parse_int(value: str) -> float:
    """JavaScript's parseInt(value, 10)."""
    m = _JS_INT.match(value.lstrip(_JS_SPACE))
    return float(int(m.group())) if m else _NAN


def _parse_float(value: str) -> float:
    """JavaScript's parseFloat(value)."""
    m = _JS_FLOAT.match(value.lstrip(_JS_SPACE))
    return float(m.group()) if m else _NAN


def _js_str(x: float) -> str:
    """JavaScript's String(number): shortest round-trip digits, in fixed
    notation from 1e-7 up to 1e21 ("199.99999999999997", "1e-7")."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    if x == int(x) and abs(x) < 1e21:
        return str(int(x))
    text = repr(x)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = int(exponent)
    if -7 < power < 21:
        return format(Decimal(text), "f")
    return f"{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"


class _Element:  # a component of the source, as the layout needs it
    __slots__ = ("_attrs", "children", "name", "needed", "offset", "raw")

    def __init__(self, name: str, raw: str, offset: int) -> None:
        self.name = name
        self.raw = raw  # the attributes as written: read when the layout first asks
        self._attrs: dict[str, str] | None = None
        self.offset = offset  # just after the tag's name in the source
        self.children: list[_Element] = []
        self.needed = False  # holds one of _LAYOUT_LEAVES: the layout walks it

    @property
    def attrs(self) -> dict[str, str]:
        """The attributes by name (read on first use: most elements the walk never visits)."""
        attrs = self._attrs
        if attrs is None:
            attrs = self._attrs = _attribute_values(self.raw)
        return attrs


def _attribute_values(raw: str) -> dict[str, str]:
    return {k: v[1:-1] if v[:1] in "\"'" else v for k, v in _MJ_ATTR_RE.findall(raw)} if raw else {}


# Components whose attributes the layout reads (the others only count as siblings).
_LAYOUT_TAGS = frozenset(
    {"mj-body", "mj-wrapper", "mj-section", "mj-group", "mj-column", "mj-hero", "mj-image", "mj-social",
     "mj-social-element", "mj-carousel", "mj-attributes"}
)
_LAYOUT_LEAVES = frozenset({"mj-image", "mj-social", "mj-carousel", "mj-group"})  # what the walk looks for
_LAYOUT_TAG = re.compile(
    r"""<!--.*?-->|<(/?)(mj-[a-z-]+|mjml)\b([^>"'/]*(?:(?:/(?!>)|"[^"]*"|'[^']*')[^>"'/]*)*)(/?)>""", re.DOTALL
)


def _elements(text: str) -> tuple[list[_Element], tuple[tuple[str, str], ...]]:
    """The components of mj-body (as a tree) and the children of every
    mj-attributes (tag, attributes as written); comments and the content of
    mj-text, mj-raw... skipped.
    Tags are lower case, as MRML reads them (it copies <MJ-TEXT> as HTML)."""
    root = _Element("", "", 0)
    stack = [root]
    parent = root  # stack[-1]
    attributes: list[tuple[str, str]] = []
    skip_to = 0  # the end of the content of an mj-text, mj-raw...
    layout_tags, ending_tags, leaves = _LAYOUT_TAGS, ENDING_TAGS, _LAYOUT_LEAVES
    for m in _LAYOUT_TAG.finditer(text):
        closing, name, attrs, selfclose = m.groups()
        if name is None or (skip_to and m.start() < skip_to):  # a comment, or inside content
            continue
        if closing:
            if parent.name == name and parent is not root:
                stack.pop()
                parent = stack[-1]
            continue
        if parent.name == "mj-attributes":
            element = _Element(name, attrs, m.end(2))
            attributes.append((name, attrs))
        elif name in layout_tags:
            element = _Element(name, attrs, m.end(2))
            if name in leaves:
                for ancestor in reversed(stack):
                    if ancestor.needed:
                        break
                    ancestor.needed = True
        elif selfclose or name in ending_tags:
            # A leaf the layout only counts: one shared, never changed element per name.
            parent.children.append(_leaf(name))
            if not selfclose:
                end = text.find(f"</{name}", m.end())
                skip_to = len(text) if end < 0 else end
            continue
        else:
            element = _Element(name, "", m.end(2))
        parent.children.append(element)
        if selfclose:
            continue
        if name in ending_tags:
            end = text.find(f"</{name}", m.end())
            skip_to = len(text) if end < 0 else end
            continue
        stack.append(element)
        parent = element
    mjml = next((e for e in root.children if e.name == "mjml"), root)
    return [e for e in mjml.children if e.name == "mj-body"], tuple(attributes)


_LEAVES: dict[str, _Element] = {}


def _leaf(name: str) -> _Element:
    """The shared element of a childless component the layout does not read
    (mj-text, mj-spacer...): nothing sets its fields (only open elements
    gain children or become needed)."""
    leaf = _LEAVES.get(name)
    if leaf is None:
        leaf = _LEAVES[name] = _Element(name, "", 0)
    return leaf


class _Attributes:
    """mj-attributes: what each component's attributes resolve to.  Read
    only once made: :func:`_attributes_of` shares one among the documents
    whose mj-attributes say the same."""

    def __init__(self, elements: tuple[tuple[str, str], ...]) -> None:
        self.tags: dict[str, dict[str, str]] = {}
        self.classes: dict[str, dict[str, str]] = {}
        for tag, raw in elements:
            attrs = _attribute_values(raw)
            if tag == "mj-class":
                name = attrs.get("name", "")
                self.classes.setdefault(name, {}).update({k: v for k, v in attrs.items() if k != "name"})
            else:
                self.tags.setdefault(tag, {}).update(attrs)

    def given(self, e: _Element) -> dict[str, str]:
        """What mj-attributes give ``e``: its tag's defaults, then its mj-classes."""
        return {**self.tags.get(e.name, {}), **self.by_class(e)}

    def by_class(self, e: _Element) -> dict[str, str]:
        attrs: dict[str, str] = {}
        for name in e.attrs.get("mj-class", "").split(" "):
            attrs.update(self.classes.get(name, {}))
        return attrs

    def resolve(self, e: _Element, inherited: dict[str, str]) -> dict[str, str]:
        """``inherited``: what the parent hands down (mj-social to its elements),
        which mj-all yields to and everything else overrides."""
        attrs = {**_LAYOUT_DEFAULTS.get(e.name, {}), **self.tags.get("mj-all", {}), **inherited, **self.given(e)}
        attrs.update({k: v for k, v in e.attrs.items() if k != "mj-class"})
        return attrs


@functools.lru_cache(maxsize=64)
def _attributes_of(elements: tuple[tuple[str, str], ...]) -> _Attributes:
    """The :class:`_Attributes` of mj-attributes children given as (tag, attributes as written)."""
    return _Attributes(elements)


def _side(attrs: dict[str, str], name: str, side: str) -> float:
    """mjml-core getShorthandAttrValue: ``padding-left``, else the shorthand's left."""
    if attrs.get(f"{name}-{side}"):
        return _parse_int(attrs[f"{name}-{side}"])
    value = attrs.get(name)
    if not value:
        return 0.0
    parts = " ".join(value.split()).split(" ")[:4]
    if len(parts) not in (2, 3, 4):
        return _parse_int(value)
    return _parse_int(parts[3 if len(parts) == 4 and side == "left" else 1])


def _borders(attrs: dict[str, str], name: str) -> float:
    """Right + left of mjml-core getShorthandBorderValue: the first whole number of the border."""
    total = 0.0
    for side in ("right", "left"):
        m = _BORDER_WIDTH.search(attrs.get(f"{name}-{side}") or attrs.get(name) or "0")
        total += float(m.group(1)) if m else 0.0
    return total


def _horizontal(attrs: dict[str, str], name: str) -> float:
    return _side(attrs, name, "right") + _side(attrs, name, "left")


def _share(attrs: dict[str, str], parent_width: str, siblings: int, paddings: float) -> str:
    """The containerWidth an mj-group or mj-column gives its children."""
    width = attrs.get("width") or _js_str(_parse_float(parent_width) / siblings) + "px"
    unit = _WIDTH_UNIT.search(width)
    if unit is not None and unit.group(1) == "%":
        return _js_str(_parse_float(parent_width) * _parse_float(width) / 100 - paddings) + "px"
    return _js_str(_parse_int(width) - paddings) + "px"


def _mobile_width(attrs: dict[str, str], container: str, columns: int) -> str | None:
    """mjml-column getMobileWidth of a column in an mj-group (which stays a
    row on phones): its % as written, or its share of the group."""
    width = attrs.get("width")
    if not width:
        return f"{int(100 / columns)}%"
    unit = _WIDTH_UNIT.search(width)
    if unit is not None and unit.group(1) == "%":
        return width
    share = _parse_int(width) / _parse_int(container) * 100
    return f"{_js_str(float(f'{share:.6f}'))}%" if share == share and abs(share) != float("inf") else None


# What mj-social hands each mj-social-element (mjml-social getSocialElementAttributes;
# its inner-padding becomes the element's padding).
_SOCIAL_HANDED = (
    "border", "border-radius", "color", "font-family", "font-size", "font-weight", "font-style", "icon-size",
    "icon-height", "icon-padding", "text-padding", "line-height", "text-decoration", "padding",
)


def layout(text: str) -> mjml_fixes.Layout:
    """What MJML computes for ``text`` that MRML gets wrong, in document order:
    each mj-image's width (None where the arithmetic gives no number, e.g. a
    placeholder as padding), each mj-social-element's icon border, and the
    attributes mj-attributes give an mj-social-element, to be written on it."""
    bodies, head = _elements(text)
    attributes = _attributes_of(head)
    widths: list[int | None] = []
    borders: list[str] = []
    insertions: list[tuple[int, str]] = []
    carousel_images: list[str] = []
    thumbnails: list[str] = []
    group_columns: list[tuple[str | None, ...]] = []

    def write(e: _Element, values: dict[str, str]) -> None:  # in the quotes each value allows
        if values:
            written = (f" {k}='{v}'" if '"' in v else f' {k}="{v}"' for k, v in values.items())
            insertions.append((e.offset, "".join(written)))

    def walk(e: _Element, width: str, siblings: int, inherited: dict[str, str]) -> None:
        name = e.name
        if name not in _LAYOUT_TAGS:
            return
        attrs = attributes.resolve(e, inherited)
        passed: dict[str, str] = {}
        if name == "mj-image":
            box = _parse_int(width) - _horizontal(attrs, "padding") - _borders(attrs, "border")
            own = _parse_int(attrs["width"]) if attrs.get("width") else float("inf")
            found = [w for w in (box, own) if w == w]  # lodash's min skips NaN
            best = min(found) if found else _NAN
            widths.append(int(best) if best == best and abs(best) != float("inf") else None)
            return
        if name == "mj-social-element":
            borders.append(attrs["border"])
            # MJML: an element's mj-attributes default or mj-class beats what
            # mj-social hands down; MRML lets mj-social's win (icon-size="30px"
            # of an mj-class is lost to mj-social's default 20px).  Written on
            # the element, they win in MRML too.
            given = attributes.given(e)
            write(e, {k: given[k] for k in _SOCIAL_HANDED if k in given and k not in e.attrs})
            return
        if name == "mj-body":
            width = attrs.get("width", "")
            # MRML ignores mj-attributes' <mj-body width=… background-color=…>
            # (its mj-class it reads): written on mj-body, they count.
            set_here = e.attrs.keys() | attributes.by_class(e).keys()
            write(e, {k: v for k, v in attributes.tags.get("mj-body", {}).items() if k not in set_here})
        elif name in ("mj-section", "mj-wrapper"):
            width = _js_str(_parse_int(width) - _horizontal(attrs, "padding") - _borders(attrs, "border")) + "px"
        elif name == "mj-hero":
            width = _js_str(_parse_float(width) - _horizontal(attrs, "padding")) + "px"
        elif name == "mj-group":
            width = _share(attrs, width, siblings, _horizontal(attrs, "padding"))
            columns = sum(1 for c in e.children if c.name != "mj-raw")
            group_columns.append(tuple(
                _mobile_width(attributes.resolve(c, {}), width, columns) for c in e.children if c.name == "mj-column"
            ))
        elif name == "mj-column":
            paddings = _horizontal(attrs, "padding") + _borders(attrs, "border") + _borders(attrs, "inner-border")
            width = _share(attrs, width, siblings, paddings)
        elif name == "mj-social" and "border" in attrs:  # mj-social hands its border to its elements
            passed = {"border": attrs["border"]}
        elif name == "mj-carousel":
            images = sum(1 for c in e.children if c.name == "mj-carousel-image")
            # each image, then the first again for Outlook; all as wide as the column
            carousel_images.extend([width] * (images + 1 if images else 0))
            if attrs.get("thumbnails", "visible") == "visible":  # MRML renders no "supported" ones
                # MJML 5.4 divides an undefined width by the number of images:
                # min(NaN, 110) is 110px, however narrow the column
                thumbnails.extend([attrs.get("tb-width") or "110px"] * images)
            return
        children = e.children
        others = sum(1 for c in children if c.name != "mj-raw")
        for child in children:
            if child.needed or child.name in _LAYOUT_LEAVES or name == "mj-social":
                walk(child, width, others, passed)

    for body in bodies:
        walk(body, "", 1, {})
    return mjml_fixes.Layout(
        tuple(widths), tuple(borders), tuple(insertions), tuple(carousel_images), tuple(thumbnails),
        tuple(group_columns),
    )


def write_insertions(text: str, insertions: tuple[tuple[int, str], ...]) -> str:
    """``text`` with each ``(offset, attributes)`` of :attr:`Layout.insertions` written in."""
    out: list[str] = []
    pos = 0
    for offset, insertion in insertions:
        out += (text[pos:offset], insertion)
        pos = offset
    return "".join(out) + text[pos:]
