"""The fast paths of the MJML stage give what the plain code gives.

The MJML → HTML stage (mjml_fixes, mjml_layout, mjml.scan, inline, rtl) was
made cheaper without changing its output: regexes led by a literal instead of
a lookbehind, tests that skip a pass when the text cannot hold what it fixes,
memos keyed on the whole input.  Each test here pins one of those conditions:
it fails if the fast form and the plain form ever disagree.
"""

from __future__ import annotations

import random
import re

import pytest

from letterhead.authoring import mjml_fixes
from letterhead.authoring.mjml import compile_mjml

# The plain forms the fast regexes replace.
_PLAIN = {
    "_UNITLESS_ZERO": re.compile(r"""(?<![\w.])0(?![\w.%])"""),
    "_HEAD_ALT": re.compile(r"\balt\s*="),
}


def _samples(alphabet: str, n: int = 3000, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(n)]


@pytest.mark.parametrize("name", sorted(_PLAIN))
def test_literal_led_regexes_find_what_the_plain_ones_find(name: str) -> None:
    fast: re.Pattern[str] = getattr(mjml_fixes, name)
    plain = _PLAIN[name]
    alphabet = "0a.%l t=\u00e9_-x\n" if name == "_UNITLESS_ZERO" else "alt =x_-\u00e9\n"
    edge = ["0", " 0", "a0", ".0", "0.", "00", "0%", "0px", "alt=", "salt=", "_alt =", "\u00e9alt=", "-alt="]
    for text in edge + _samples(alphabet):
        found = plain.search(text)
        assert bool(fast.search(text)) == bool(found), (name, text)
        if found:  # the same first match, not just some match
            assert fast.search(text).span() == found.span(), (name, text)  # type: ignore[union-attr]


def test_head_carried_attributes_need_a_word_boundary() -> None:
    # "subtitle=" in the head gives no title; "title=" after a space does.
    for head, carried in (('<mj-head><mj-button subtitle="x" /></mj-head>', frozenset()),
                          ('<mj-head><mj-button title="x" /></mj-head>', frozenset({"mj-button"})),
                          ('<mj-head><mj-table data-role ="x" /></mj-head>', frozenset({"mj-table"}))):
        assert mjml_fixes._head_facts(head)[1] == carried
        plain = frozenset(t for t, k in mjml_fixes.CARRIED.items() if re.search(rf"\b{k}\s*=", head))
        assert plain == carried


def test_whitespace_between_tags_in_text_is_kept_as_before() -> None:
    # The pattern is led by the '>' it used to look behind for; the '>' must survive.
    assert mjml_fixes._fix_html("<b>a</b>\n <i>b</i>\t\t<u>c</u>") == "<b>a</b>&#10; <i>b</i>&#9;&#9;<u>c</u>"
    assert mjml_fixes._fix_html("a >\n< b") == "a >&#10;&lt; b"


def _doc(head: str, body: str) -> str:
    return f"<mjml><mj-head>{head}</mj-head><mj-body><mj-section><mj-column>{body}" \
           "</mj-column></mj-section></mj-body></mjml>"


def test_head_memo_is_keyed_on_the_whole_head() -> None:
    # Two heads in one process: each template gets its own head's defaults.
    with_title = _doc('<mj-attributes><mj-button title="From the head" /></mj-attributes>',
                      '<mj-button href="#">Go</mj-button>')
    without = _doc('<mj-attributes><mj-button color="#fff" /></mj-attributes>', '<mj-button href="#">Go</mj-button>')
    assert 'title="From the head"' in compile_mjml(with_title)
    assert "title=" not in compile_mjml(without).split("<body", 1)[1]
    assert 'title="From the head"' in compile_mjml(with_title)


def test_tags_inside_the_head_keep_their_attributes() -> None:
    # In the head an mj-image's defaults get no alt="" and an mj-button's title stays put.
    doc = _doc('<mj-attributes><mj-image padding="0" /><mj-button title="T" /></mj-attributes>',
               '<mj-image src="a.png" /><mj-button>Go</mj-button>')
    fixed = mjml_fixes.before_mrml(doc)
    assert '<mj-image padding="0px" />' in fixed  # a unitless zero is fixed in the head too
    assert '<mj-button title="T" />' in fixed
    assert '<mj-image src="a.png" alt="" />' in fixed
    assert mjml_fixes.BUTTON_TITLE_MARK in fixed.split("</mj-head>")[1]
