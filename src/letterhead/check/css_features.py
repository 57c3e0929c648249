"""CSS and HTML the designer wrote → caniemail features (slugs).

The mapping is read from caniemail's own data rather than listed by hand:
``css-<property>`` and ``html-<element>`` when such a feature exists, the
aliases its titles and keywords name (``gap, column-gap, row-gap``;
``<ul>, <ol> and <dl>``; ``srcset and sizes attributes``; the border
longhands in ``css-border``'s keywords), value-specific features
(``css-display-flex``), ``css-unit-<unit>``, ``css-function-<name>``,
``css-at-<rule>``, ``css-at-media-<feature>``, ``css-pseudo-class-<name>``,
``css-selector-*`` and ``image-<extension>``; the few features no generic
rule finds are in the small tables below.  :class:`FeatureIndex` holds the
mapping; :func:`css_hits` and :func:`html_hits` walk a text and yield a
:class:`Hit` (feature, offset, what was written) for each use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from typing import Any

import tinycss2

# What no generic rule can find (each target is checked against the data by the tests).
PROPERTY_EXTRA = {"columns": "css-column-layout-properties", "overflow-block": "css-overflow",
                  "overflow-inline": "css-overflow"}
# Longhands of these shorthands share the shorthand's feature (animation-name → css-animation).
SHORTHAND_FAMILIES = ("animation", "transition", "transform", "border-image", "border", "margin", "padding",
                      "outline", "overflow", "scroll-snap", "text-emphasis", "background-position", "list-style")
RADIUS_RE = re.compile(r"^border-(?:top|bottom)-(?:left|right)-radius$")
VALUE_KEYWORDS = {
    "system-ui": "css-sytem-ui", "ui-serif": "css-sytem-ui", "ui-sans-serif": "css-sytem-ui",
    "ui-rounded": "css-sytem-ui", "ui-monospace": "css-sytem-ui",
    "fit-content": "css-intrinsic-size", "min-content": "css-intrinsic-size", "max-content": "css-intrinsic-size",
    "initial": "css-unit-initial",
}
FUNCTION_EXTRA = {"var": "css-variables"}
MEDIA_FEATURE_EXTRA = {"any-hover": "css-at-media-hover"}
ELEMENT_EXTRA = {"h2": "html-h1-h6", "h3": "html-h1-h6", "h4": "html-h1-h6", "h5": "html-h1-h6"}
IMAGE_EXTRA = {"jpeg": "image-jpg", "jpe": "image-jpg", "heic": "image-heif", "tif": "image-tiff"}
# Features whose keywords list the elements they cover but whose title names none.
KEYWORD_ELEMENT_SLUGS = ("html-semantics",)
# The legacy one-colon pseudo-elements (:before is ::before).
LEGACY_PSEUDO_ELEMENTS = frozenset({"before", "after", "first-line", "first-letter"})
COMBINATORS = {">": "css-selector-child", "+": "css-selector-adjacent-sibling", "~": "css-selector-general-sibling"}
# Inside these the elements are not HTML's (<svg><text>, <math><mi>).
FOREIGN = frozenset({"svg", "math"})

_IDENT_RE = re.compile(r"^-?[a-z][a-z0-9-]*$")
_TITLE_TAG_RE = re.compile(r"<([a-z][a-z0-9]*)(?:\s+type=\"([a-z]+)\")?>")
_TITLE_FUNCTION_RE = re.compile(r"\b([a-z][a-z-]*)\(\)")
_VENDOR_RE = re.compile(r"^-(?:webkit|moz|ms|o)-")


@dataclass(frozen=True)
class Hit:
    """One use of a feature: its slug, where it starts in the analysed text
    and what the designer wrote there (for the report)."""

    slug: str
    offset: int
    source: str
    name: str = ""  # the property, element, function... when the feature's title lists several


def _words(text: str | None) -> list[str]:
    return [w.strip().lower() for w in re.split(r"[,&]| and ", text or "") if w.strip()]


class FeatureIndex:
    """Which caniemail feature a property, value, selector, at-rule, element,
    attribute or image stands for; built once from the data's feature list."""

    def __init__(self, features: Iterable[Mapping[str, Any]]) -> None:
        feats = list(features)
        self.slugs = frozenset(str(f["slug"]) for f in feats)
        self.properties: dict[str, str] = {}
        self.elements: dict[str, str] = {}
        self.attributes: dict[str, str] = {}
        self.functions: dict[str, str] = {}
        self.images: dict[str, str] = {}
        keyword_props: dict[str, str] = {}
        keyword_elements: dict[str, str] = {}
        typed_tags: set[str] = set()
        for f in feats:
            slug, title, keywords = str(f["slug"]), str(f.get("title") or ""), f.get("keywords")
            if slug.startswith("css-") and not slug.startswith(("css-at-", "css-selector-", "css-pseudo-")):
                for word in _words(title):
                    if _IDENT_RE.match(word):
                        self.properties.setdefault(word, slug)
                for name in _TITLE_FUNCTION_RE.findall(title.lower()):
                    self.functions.setdefault(name, slug)
                for word in _words(keywords):
                    if "-" in word and _IDENT_RE.match(word):
                        keyword_props.setdefault(word, slug)
            if slug.endswith("-attribute") and not slug.startswith("css-selector-"):  # css-inert-attribute
                self.attributes.setdefault(slug.split("-", 1)[1].removesuffix("-attribute"), slug)
            if slug.startswith("html-"):
                if re.search(r"\battributes?$", title.strip()):
                    for word in _words(title.strip().rsplit(" ", 1)[0]):
                        self.attributes.setdefault(word, slug)
                tags = _TITLE_TAG_RE.findall(title.lower())
                names_elements = (tags and not any(kind for _, kind in tags)) or slug in KEYWORD_ELEMENT_SLUGS
                for tag, kind in tags:
                    if kind:  # <input type="text">: html-input-text, found by element(tag, type)
                        typed_tags.add(tag)
                    else:
                        self.elements.setdefault(tag, slug)
                for word in _words(keywords):
                    if word.endswith(" element"):
                        keyword_elements.setdefault(word.removesuffix(" element"), slug)
                    elif word.endswith(" attribute"):
                        self.attributes.setdefault(word.removesuffix(" attribute"), slug)
                    elif names_elements and re.fullmatch(r"[a-z][a-z0-9]*", word):
                        keyword_elements.setdefault(word, slug)
            if slug.startswith("image-"):
                self.images[slug.removeprefix("image-")] = slug
        for word, slug in keyword_props.items():
            self.properties.setdefault(word, slug)
        for word, slug in keyword_elements.items():
            if word not in typed_tags:  # "button" in html-button-reset's keywords is not every <button>
                self.elements.setdefault(word, slug)
        for table, extra in ((self.properties, PROPERTY_EXTRA), (self.elements, ELEMENT_EXTRA),
                             (self.images, IMAGE_EXTRA), (self.functions, FUNCTION_EXTRA)):
            table.update({k: v for k, v in extra.items() if v in self.slugs})

    def have(self, slug: str) -> str | None:
        """``slug`` when the data has that feature."""
        return slug if slug in self.slugs else None

    # -- CSS ---------------------------------------------------------------
    def property(self, name: str, value_idents: Iterable[str] = ()) -> str | None:
        name = name.lower()
        for ident in value_idents:  # display:flex, display:inline-flex, display:none
            for value in (ident, ident.removeprefix("inline-")):
                if slug := self.have(f"css-{name}-{value}"):
                    return slug
        exact = self.have(f"css-{name}")
        if exact and not exact.startswith(("css-at-", "css-selector-", "css-pseudo-", "css-unit-", "css-function-")):
            return exact
        if name in self.properties:
            return self.properties[name]
        if RADIUS_RE.match(name):
            return self.have("css-border-radius")
        for family in SHORTHAND_FAMILIES:
            if name.startswith(family + "-"):
                return self.have(f"css-{family}") or self.have(f"css-{family.split('-')[0]}")
        return None

    def function(self, name: str) -> str | None:
        name = _VENDOR_RE.sub("", name.lower()).removeprefix("repeating-")
        return (self.functions.get(name) or self.have(f"css-function-{name}")
                or self.have(f"css-unit-{name}"))

    def unit(self, unit: str) -> str | None:
        return self.have(f"css-unit-{unit.lower()}")

    def at_rule(self, name: str) -> str | None:
        return self.have(f"css-at-{_VENDOR_RE.sub('', name.lower())}")

    def media_feature(self, name: str) -> str | None:
        name = _VENDOR_RE.sub("", name.lower())
        name = re.sub(r"^(?:min|max)-", "", name)
        return MEDIA_FEATURE_EXTRA.get(name) or self.have(f"css-at-media-{name}")

    def pseudo(self, name: str, *, element: bool) -> str | None:
        name = name.lower()
        if element or name in LEGACY_PSEUDO_ELEMENTS:
            return self.have(f"css-pseudo-element-{name}")
        return self.have(f"css-pseudo-class-{name}")

    # -- HTML --------------------------------------------------------------
    def element(self, tag: str, type_: str | None = None) -> str | None:
        tag = tag.lower()
        if type_ and (slug := self.have(f"html-{tag}-{type_.lower()}")):
            return slug
        exact = self.have(f"html-{tag}")
        if exact and exact not in self.attributes.values():
            return exact
        return self.elements.get(tag)

    def attribute(self, name: str) -> str | None:
        name = name.lower()
        if name in self.attributes:
            return self.attributes[name]
        slug = self.have(f"html-{name}")
        return slug if slug and slug in self.attributes.values() else None

    def image(self, url: str) -> str | None:
        url = url.strip()
        if url.lower().startswith("data:"):
            return self.have("image-base64")
        path = re.split(r"[?#]", url, maxsplit=1)[0]
        ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
        return self.images.get(ext) if ext else None


# -- CSS ------------------------------------------------------------------------------------


class _Lines:
    """(line, column) of tinycss2 (both 1-based) → offset in the text."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer(r"\r\n|\n|\r|\f", text)]

    def offset(self, node: Any) -> int:
        line = min(max(int(node.source_line), 1), len(self.starts))
        return self.starts[line - 1] + max(int(node.source_column) - 1, 0)


def css_hits(css: str, index: FeatureIndex, *, mode: str = "stylesheet") -> Iterator[Hit]:
    """The features a CSS text uses.  ``mode``: ``"stylesheet"`` (a
    ``<style>``: rules, selectors, at-rules), ``"inline"`` (``mj-style
    inline="inline"``: only the declarations reach the client, in style
    attributes; selectors and at-rules are resolved or dropped at build
    time) or ``"declarations"`` (a ``style="..."`` attribute)."""
    lines = _Lines(css)
    if mode == "declarations":
        yield from _declarations(tinycss2.parse_blocks_contents(css, skip_comments=False, skip_whitespace=True),
                                 index, lines, nested_ok=False)
        return
    yield from _rules(tinycss2.parse_stylesheet(css, skip_comments=False, skip_whitespace=True),
                      index, lines, inline=mode == "inline")


def _rules(rules: Iterable[Any], index: FeatureIndex, lines: _Lines, *, inline: bool,
           keyframes: bool = False) -> Iterator[Hit]:
    for rule in rules:
        if rule.type == "comment":
            if not inline and (slug := index.have("css-comments")):
                yield Hit(slug, lines.offset(rule), "/* … */")
        elif rule.type == "qualified-rule":
            if not inline and not keyframes:
                yield from _selector(rule.prelude, index, lines)
            content = tinycss2.parse_blocks_contents(rule.content, skip_comments=False, skip_whitespace=True)
            yield from _declarations(content, index, lines, nested_ok=not inline, inline=inline)
        elif rule.type == "at-rule" and not inline:
            yield from _at_rule(rule, index, lines)


def _at_rule(rule: Any, index: FeatureIndex, lines: _Lines) -> Iterator[Hit]:
    name = _VENDOR_RE.sub("", rule.lower_at_keyword)
    prelude = tinycss2.serialize(rule.prelude).strip()
    if slug := index.at_rule(name):
        yield Hit(slug, lines.offset(rule), f"@{rule.at_keyword} {prelude}".strip())
    if name == "media":
        for token in _walk(rule.prelude):
            if token.type == "() block":
                first = next((t for t in token.content if t.type == "ident"), None)
                if first is not None and (slug := index.media_feature(first.lower_value)):
                    yield Hit(slug, lines.offset(token), f"@media {tinycss2.serialize([token])}",
                              f"@media ({first.value})")
    if rule.content is None or name == "font-face":  # @font-face holds descriptors, not properties
        return
    if name in ("media", "supports", "document", "layer", "container"):
        inner = tinycss2.parse_rule_list(rule.content, skip_comments=False, skip_whitespace=True)
        yield from _rules(inner, index, lines, inline=False)
    elif name == "keyframes":
        inner = tinycss2.parse_rule_list(rule.content, skip_comments=False, skip_whitespace=True)
        yield from _rules(inner, index, lines, inline=False, keyframes=True)


def _declarations(items: Iterable[Any], index: FeatureIndex, lines: _Lines, *, nested_ok: bool,
                  inline: bool = False) -> Iterator[Hit]:
    for item in items:
        if item.type == "declaration":
            yield from _declaration(item, index, lines, comments=not inline)
        elif item.type == "comment" and not inline:
            if slug := index.have("css-comments"):
                yield Hit(slug, lines.offset(item), "/* … */")
        elif item.type in ("qualified-rule", "at-rule") and nested_ok:
            if slug := index.have("css-nesting"):
                yield Hit(slug, lines.offset(item), tinycss2.serialize(item.prelude).strip())
            yield from _rules([item], index, lines, inline=False)


def _declaration(decl: Any, index: FeatureIndex, lines: _Lines, *, comments: bool = True) -> Iterator[Hit]:
    name: str = decl.lower_name
    value = tinycss2.serialize(decl.value).strip()
    written = f"{decl.name}: {value}" + (" !important" if decl.important else "")
    at = lines.offset(decl)
    idents = [t.lower_value for t in decl.value if t.type == "ident"]
    slug = index.function("var") if name.startswith("--") else index.property(name, idents if name == "display" else ())
    if slug:
        yield Hit(slug, at, written, decl.name)
    if decl.important and (slug := index.have("css-important")):
        yield Hit(slug, at, written)
    for token in _walk(decl.value):
        found, what = None, ""
        if token.type == "dimension":
            found = index.unit(token.lower_unit)
        elif token.type == "percentage":
            found = index.unit("percent")
        elif token.type == "function":
            found, what = index.function(token.lower_name), f"{token.name}()"
        elif token.type == "ident" and name != "display":
            found, what = index.have(VALUE_KEYWORDS.get(token.lower_value, "")), token.value
        elif token.type == "comment" and comments:
            found = index.have("css-comments")
        if found:
            yield Hit(found, lines.offset(token), written, what)


def _walk(tokens: Iterable[Any]) -> Iterator[Any]:
    for token in tokens:
        yield token
        if token.type == "function":
            yield from _walk(token.arguments)
        elif token.type in ("() block", "[] block", "{} block"):
            yield from _walk(token.content)


def _selector(prelude: list[Any], index: FeatureIndex, lines: _Lines) -> Iterator[Hit]:
    text = tinycss2.serialize(prelude).strip()
    found: list[tuple[str, Any]] = []
    _compound_walk(prelude, found)
    for slug, token in found:
        if slug in index.slugs:
            yield Hit(slug, lines.offset(token), text)
        elif slug.startswith("pseudo:") or slug.startswith("pseudo-element:"):
            element, name = slug.startswith("pseudo-element:"), slug.split(":", 1)[1]
            if feature := index.pseudo(name, element=element):
                yield Hit(feature, lines.offset(token), text)


def _compound_walk(tokens: list[Any], found: list[tuple[str, Any]]) -> None:
    """Append (feature, token) for every selector feature: the simple
    selectors, the combinators, grouping, chaining, pseudo-classes and
    -elements (those as ``pseudo:name`` / ``pseudo-element:name`` for the
    index to resolve)."""
    simple = 0  # type/class/id/attribute selectors in the current compound
    started = False  # the current compound has begun
    space: Any = None  # whitespace after a compound: a descendant combinator unless another follows
    i = 0
    while i < len(tokens):
        t = tokens[i]
        i += 1
        if t.type in ("whitespace", "comment"):
            space = t if started else space
            continue
        if t.type == "literal" and (t.value == "," or t.value in COMBINATORS):
            found.append(("css-selector-grouping" if t.value == "," else COMBINATORS[t.value], t))
            simple, started, space = 0, False, None
            continue
        if space is not None:
            found.append(("css-selector-descendant", space))
            simple, space = 0, None
        started = True
        if t.type == "ident":
            found.append(("css-selector-type", t))
            simple += 1
        elif t.type == "literal" and t.value == "*":
            found.append(("css-selector-universal", t))
        elif t.type == "literal" and t.value == "." and i < len(tokens) and tokens[i].type == "ident":
            found.append(("css-selector-class", t))
            simple += 1
            i += 1
        elif t.type == "hash":
            found.append(("css-selector-id", t))
            simple += 1
        elif t.type == "[] block":
            found.append(("css-selector-attribute", t))
            simple += 1
        elif t.type == "literal" and t.value == ":":
            element = i < len(tokens) and tokens[i].type == "literal" and tokens[i].value == ":"
            i += element
            if i < len(tokens) and tokens[i].type in ("ident", "function"):
                nxt = tokens[i]
                i += 1
                name = nxt.lower_value if nxt.type == "ident" else nxt.lower_name
                found.append((f"pseudo-element:{name}" if element else f"pseudo:{name}", t))
                if nxt.type == "function" and name in ("not", "is", "where", "has"):
                    _compound_walk(list(nxt.arguments), found)
        if simple == 2:  # .a.b, a.b, td[class]: once per compound
            found.append(("css-selector-chaining", t))
            simple += 1


# -- HTML -----------------------------------------------------------------------------------

class _HtmlWalker(HTMLParser):
    def __init__(self, text: str, index: FeatureIndex) -> None:
        super().__init__(convert_charrefs=False)
        self.text, self.index = text, index
        self.lines = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self.hits: list[Hit] = []
        self.foreign = 0

    def _here(self) -> int:
        line, col = self.getpos()
        return self.lines[min(line, len(self.lines)) - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(tag, attrs, void=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(tag, attrs, void=True)

    def handle_endtag(self, tag: str) -> None:
        if tag in FOREIGN and self.foreign:
            self.foreign -= 1

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]], *, void: bool) -> None:
        start = self._here()
        raw = self.get_starttag_text() or f"<{tag}>"
        if self.foreign:
            if tag in FOREIGN and not void:
                self.foreign += 1
            return
        values = {k: (v or "") for k, v in attrs}
        if slug := self.index.element(tag, values.get("type")):
            self.hits.append(Hit(slug, start, f"<{tag}>", f"<{tag}>"))
        for name, value in attrs:
            at = start + self._attr_offset(raw, name)
            value = value or ""
            if name == "style":
                quote = re.compile(r"\s*=\s*[\"']?").match(raw, at - start + len(name))
                vstart = start + (quote.end() if quote else at - start)
                for hit in css_hits(value, self.index, mode="declarations"):
                    self.hits.append(replace(hit, offset=vstart + hit.offset))
                continue
            if slug := self.index.attribute(name):
                self.hits.append(Hit(slug, at, f'{name}="{value}"' if value else name, f"{name} attribute"))
            if name == "href" and tag == "a" and (slug := self._link(value)):
                self.hits.append(Hit(slug, at, f'href="{value}"'))
            if name == "src" and tag == "img" and (slug := self.index.image(value)):
                self.hits.append(Hit(slug, at, f'src="{value[:80]}"'))
        if tag in FOREIGN and not void:
            self.foreign += 1
        if tag == "style" and not void:
            body_start = start + len(raw)
            end = re.compile(r"</style\s*>", re.I).search(self.text, body_start)
            css = self.text[body_start : end.start() if end else len(self.text)]
            for hit in css_hits(css, self.index):
                self.hits.append(replace(hit, offset=body_start + hit.offset))

    def _link(self, href: str) -> str | None:
        if href.startswith("#"):
            return self.index.have("html-anchor-links")
        if href.lower().startswith("mailto:"):
            return self.index.have("html-mailto-links")
        return None

    @staticmethod
    def _attr_offset(raw: str, name: str) -> int:
        m = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", raw[1:], re.I)
        return m.start() + 1 if m else 0

    def handle_comment(self, data: str) -> None:
        if slug := self.index.have("html-comments"):
            self.hits.append(Hit(slug, self._here(), "<!-- … -->"))

    def handle_decl(self, decl: str) -> None:
        if decl.lower().startswith("doctype") and (slug := self.index.have("html-doctype")):
            self.hits.append(Hit(slug, self._here(), f"<!{decl}>"))


def html_hits(fragment: str, index: FeatureIndex) -> list[Hit]:
    """The features an HTML fragment (an MJML component's content) uses:
    its elements and attributes, the CSS of its ``style`` attributes and
    ``<style>`` elements, the format of its images, its comments."""
    walker = _HtmlWalker(fragment, index)
    walker.feed(fragment)
    walker.close()
    return walker.hits

