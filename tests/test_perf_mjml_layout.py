"""mjml_layout.layout reads the source once, cheaply (attributes parsed when
the walk first asks, one shared element for every childless component it only
counts, mj-attributes memoised on their text): it must compute what the plain
reading computed.  The plain reading is kept below as the reference."""

from __future__ import annotations

import random

import pytest

from letterhead.authoring import mjml_layout
from letterhead.authoring.mjml_layout import ENDING_TAGS, _Element


def _reference_elements(text: str) -> tuple[list[_Element], tuple[tuple[str, str], ...]]:
    """_elements as it was: an element with its attributes read for every tag."""
    root = _Element("", "", 0)
    stack = [root]
    attributes: list[tuple[str, str]] = []
    skip_to = 0
    for m in mjml_layout._LAYOUT_TAG.finditer(text):
        closing, name, attrs, selfclose = m.groups()
        if name is None or m.start() < skip_to:
            continue
        if closing:
            if len(stack) > 1 and stack[-1].name == name:
                stack.pop()
            continue
        parent = stack[-1]
        element = _Element(name, "", m.end(2))
        element._attrs = {}
        if attrs and (name in mjml_layout._LAYOUT_TAGS or parent.name == "mj-attributes"):
            element._attrs = {k: v[1:-1] if v[:1] in "\"'" else v for k, v in mjml_layout._MJ_ATTR_RE.findall(attrs)}
        parent.children.append(element)
        if parent.name == "mj-attributes":
            attributes.append((name, attrs))
        elif name in mjml_layout._LAYOUT_LEAVES:
            for ancestor in reversed(stack):
                if ancestor.needed:
                    break
                ancestor.needed = True
        if selfclose:
            continue
        if name in ENDING_TAGS:
            end = text.find(f"</{name}", m.end())
            skip_to = len(text) if end < 0 else end
            continue
        stack.append(element)
    mjml = next((e for e in root.children if e.name == "mjml"), root)
    return [e for e in mjml.children if e.name == "mj-body"], tuple(attributes)


_HEADS = [
    "", '<mj-attributes><mj-all padding="0" /></mj-attributes>',
    '<mj-attributes><mj-image padding="4px 10px" /><mj-class name="narrow" width="120px" border="2px solid red" />'
    '<mj-body width="500px" /><mj-social-element icon-size="30px" /><mj-text padding="1px"></mj-text></mj-attributes>',
    '<mj-attributes><mj-class name="wide" padding="0 40px"></mj-class><mj-column padding="3px" /></mj-attributes>',
]
_LEAVES = [
    '<mj-image src="a.png" />', '<mj-image src="a.png" mj-class="narrow" width="300px" />',
    '<mj-image src="b.png" padding="0 33px" border="1px solid #000"></mj-image>',
    "<mj-text>Hi <b>there</b> <mj-image src='in-text.png' /></mj-text>", "<mj-text>x</mj-text>",
    "<mj-raw><!-- r --></mj-raw>", "<mj-spacer />", '<mj-divider padding="0" />',
    '<mj-social mode="horizontal" border="1px"><mj-social-element name="x" /><mj-social-element name="y" '
    'mj-class="narrow">Y</mj-social-element></mj-social>',
    '<mj-carousel><mj-carousel-image src="1.png" /><mj-carousel-image src="2.png" /></mj-carousel>',
    '<mj-carousel thumbnails="hidden" tb-width="50px"><mj-carousel-image src="1.png" /></mj-carousel>',
    "<!-- <mj-image src='commented.png' /> -->", "<MJ-IMAGE src='upper.png' />",
]


def _column(rng: random.Random) -> str:
    width = rng.choice(["", ' width="33.33333333333333%"', ' width="199.5px"', ' width="50%"', ' mj-class="wide"'])
    padding = rng.choice(["", ' padding="0 12px"', ' padding="5px"', ' border="3px solid"'])
    return f"<mj-column{width}{padding}>" + "".join(rng.choice(_LEAVES) for _ in range(rng.randint(0, 3))) \
        + "</mj-column>"


def _section(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return "<mj-group>" + "".join(_column(rng) for _ in range(rng.randint(1, 3))) + "</mj-group>"
    return "".join(_column(rng) for _ in range(rng.randint(1, 3)))


def _document(rng: random.Random) -> str:
    sections = []
    for _ in range(rng.randint(1, 4)):
        tag = rng.choice(["mj-section", "mj-section", "mj-wrapper", "mj-hero"])
        padding = rng.choice(["", ' padding="0 20px"', ' padding="10px 0"'])
        inner = _section(rng) if tag != "mj-wrapper" else f"<mj-section>{_section(rng)}</mj-section>"
        sections.append(f"<{tag}{padding}>{inner}</{tag}>")
        if rng.random() < 0.3:
            sections.append("<mj-raw><p>raw</p></mj-raw>")
    body_width = rng.choice(["", ' width="640px"'])
    return f"<mjml><mj-head>{rng.choice(_HEADS)}</mj-head><mj-body{body_width}>{''.join(sections)}</mj-body></mjml>"


@pytest.mark.parametrize("seed", range(3))
def test_layout_computes_what_the_plain_reading_computed(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    docs = [_document(rng) for _ in range(400)]
    found = [mjml_layout.layout(doc) for doc in docs]  # all in one process: memo and shared leaves in play
    monkeypatch.setattr(mjml_layout, "_elements", _reference_elements)
    expected = [mjml_layout.layout(doc) for doc in docs]
    assert found == expected
    assert sum(bool(f.image_widths) for f in found) > 100 and any(f.insertions for f in found)


def test_mj_attributes_memo_is_keyed_on_what_they_say() -> None:
    doc = '<mjml><mj-head><mj-attributes><mj-image padding="{}" /></mj-attributes></mj-head>' \
          '<mj-body><mj-section><mj-column><mj-image src="a.png" /></mj-column></mj-section></mj-body></mjml>'
    assert mjml_layout.layout(doc.replace("{}", "0px")).image_widths == (600,)
    assert mjml_layout.layout(doc.replace("{}", "0px 100px")).image_widths == (400,)
    assert mjml_layout.layout(doc.replace("{}", "0px")).image_widths == (600,)
