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
from collections.abc import Callable

import pytest

from letterhead.authoring import mjml_fixes, mjml_source_fixes
from letterhead.authoring.mjml import compile_mjml

# The plain forms the fast regexes replace.
_PLAIN = {
    "_UNITLESS_ZERO": re.compile(r"""(?<![\w.])0(?![\w.%])"""),
    "alt in the head": re.compile(r"\balt\s*="),
}


def _samples(alphabet: str, n: int = 3000, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(n)]


@pytest.mark.parametrize("name", sorted(_PLAIN))
def test_literal_led_regexes_find_what_the_plain_ones_find(name: str) -> None:
    plain = _PLAIN[name]
    alphabet = "0a.%l t=\u00e9_-x\n" if name == "_UNITLESS_ZERO" else "alt =x_-\u00e9\n"
    edge = ["0", " 0", "a0", ".0", "0.", "00", "0%", "0px", "alt=", "salt=", "_alt =", "\u00e9alt=", "-alt="]
    for text in edge + _samples(alphabet):
        found = plain.search(text)
        if name == "_UNITLESS_ZERO":
            fast = mjml_source_fixes._UNITLESS_ZERO.search(text)
            assert (fast.span() if fast else None) == (found.span() if found else None), text  # the same first match
        else:
            assert mjml_source_fixes._head_facts.__wrapped__(text)[0] == bool(found), text


def test_head_carried_attributes_need_a_word_boundary() -> None:
    # "subtitle=" in the head gives no title; "title=" after a space does.
    for head, carried in (('<mj-head><mj-button subtitle="x" /></mj-head>', frozenset()),
                          ('<mj-head><mj-button title="x" /></mj-head>', frozenset({"mj-button"})),
                          ('<mj-head><mj-table data-role ="x" /></mj-head>', frozenset({"mj-table"}))):
        assert mjml_source_fixes._head_facts(head)[1] == carried
        plain = frozenset(t for t, k in mjml_source_fixes.CARRIED.items() if re.search(rf"\b{k}\s*=", head))
        assert plain == carried


def test_whitespace_between_tags_in_text_is_kept_as_before() -> None:
    # The pattern is led by the '>' it used to look behind for; the '>' must survive.
    assert mjml_source_fixes._fix_html("<b>a</b>\n <i>b</i>\t\t<u>c</u>") == "<b>a</b>&#10; <i>b</i>&#9;&#9;<u>c</u>"
    assert mjml_source_fixes._fix_html("a >\n< b") == "a >&#10;&lt; b"


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


def _reference_default_fonts(h: str) -> str:
    """_add_default_fonts as it was: str.lower() of the whole document, a
    search per name and per URL."""
    head_end = h.find("</head>")
    if head_end < 0 or "font-family:" not in h:
        return h
    lower = h.lower()
    missing = [url for name, url in mjml_fixes._DEFAULT_FONTS.items()
               if url not in h and re.search(rf'"[^"]*font-family:[^"]*{name.lower()}[^"]*"', lower)]
    if not missing:
        return h
    links = "".join(f'<link href="{u}" rel="stylesheet" type="text/css">' for u in missing)
    imports = "".join(f"@import url({u});" for u in missing)
    block = f'<!--[if !mso]><!-->{links}<style type="text/css">{imports}</style><!--<![endif]-->'
    return h[:head_end] + block + h[head_end:]


def test_default_fonts_found_as_by_the_lowered_document() -> None:
    # Lowered as bytes, not as str: KELVIN SIGN and I WITH DOT ABOVE (the only
    # characters str.lower turns into ASCII) must not change the answer.
    url = mjml_fixes._DEFAULT_FONTS["Roboto"]
    pieces = ['"', "font-family:", "FONT-FAMILY:", "Font-\u212aamily:", "Roboto", "ROBOTO", "Ubuntu", "Droid Sans",
              "Dro\u0130d Sans", "Droi\u0307d Sans", "\u212a", "\u0130", "é", " ", ";", "</head>", "style=", url,
              "https://fonts.googleapis.com/css?family=Lato", "Lato", "open sans", "OPEN SANS"]
    rng = random.Random(11)
    found = 0
    for _ in range(20_000):
        h = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        h = h + '</head><td style="' + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        expected = _reference_default_fonts(h)
        assert mjml_fixes._add_default_fonts(h) == expected, h
        found += expected != h
    assert found > 500  # fonts were added, not only left out


def _outcome(run: Callable[[], str]) -> str:
    try:
        return run()
    except ValueError as exc:  # an odd number of hex digits: both raise the same
        return f"ValueError: {exc}"


@pytest.mark.parametrize("which", ["button", "table"])
def test_carried_attributes_restored_as_by_a_plain_sub(which: str) -> None:
    # restore_carried starts each search near the next marker; a plain sub
    # over the whole document must find the very same matches.
    from letterhead.authoring import mjml_attributes as attrs

    if which == "button":
        pattern, mark, fix = attrs._BUTTON_TITLE, attrs.BUTTON_TITLE_MARK, attrs._fix_button_title
        marks = [mark + "4869", mark + "", mark + "zz"]
        tail = ["<a href='x'>", "<p>", "</a>", "<a"]
    else:
        pattern, mark, fix = attrs._TABLE_ROLE, attrs.TABLE_ROLE_MARK, attrs._fix_table_role
        marks = [mark + "none", mark + "presentation", mark + "nonex", mark + "none-"]
        tail = ['<table border="0" cellpadding="0" cellspacing="4"', '<table border="0"', "<table"]
    noise = [" x", " ", '"', ">", "<", "<td", "\n", "y", 'class="', "a>b", 'style="a"', "", "", ""]
    rng = random.Random(5 if which == "button" else 6)

    def some() -> str:
        return "".join(rng.choice(noise) for _ in range(rng.randint(0, 3)))

    def record() -> str:  # a marked cell, most of the time nearly as MRML writes it
        parts = ["<td", some(), ' class="', some(), rng.choice(marks), some(), '"', some(), ">", rng.choice(tail)]
        return "".join(p for p in parts if rng.random() < 0.9) + some()

    changed = 0
    for _ in range(20_000):
        h = some() + "".join(record() for _ in range(rng.randint(0, 3))) + some()
        expected = _outcome(lambda: pattern.sub(fix, h) if mark in h else h)
        assert _outcome(lambda: attrs.restore_carried(h)) == expected, h
        changed += expected != h
    assert changed > 500


# The lazy forms the unrolled after_mrml regexes replace.
_LAZY = {
    "_GROUP": re.compile(
        r'(<!--\[if mso \| IE\]><td style="width:(\d+(?:\.\d+)?)px;"><!\[endif\]-->'
        r'<div class="[^"]*" style="font-size:0;line-height:0;[^"]*">)'
        r"(.*?)(<!--\[if mso \| IE\]></tr></table><!\[endif\]--></div>)",
        re.DOTALL,
    ),
    "_HERO": re.compile(
        r'(<td\b[^>]*?\bstyle="([^"]*)"[^>]*>'
        r'<!--\[if mso \| IE\]><table border="0" cellpadding="0" cellspacing="0" width=")(\d+)(" style="width:)(\d+)'
        r'(px;"><tr><td><!\[endif\]--><div class="mj-hero-content")'
        r"(.*?)(<!--\[if mso \| IE\]></td></tr></table><!\[endif\]--></td>)",
        re.DOTALL,
    ),
}
_GROUP_PIECES = [
    '<!--[if mso | IE]><td style="width:300px;"><![endif]--><div class="g" style="font-size:0;line-height:0;x">',
    "<!--[if mso | IE]></tr></table><![endif]--></div>", "<!--[if mso | IE]></tr></table>", "<", "<!--", "a\n",
    '<td style="p"><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" width="600" style="width:600'
    'px;"><tr><td><![endif]--><div class="mj-hero-content"', "<!--[if mso | IE]></td></tr></table><![endif]--></td>",
    "<!--[if mso | IE]></td></tr></table><![endif]-->", ">", '"',
]


@pytest.mark.parametrize("name", sorted(_LAZY))
def test_unrolled_regexes_match_as_the_lazy_ones(name: str) -> None:
    fast: re.Pattern[str] = getattr(mjml_fixes, name)
    rng = random.Random(13)
    found = 0
    for _ in range(20_000):
        text = "".join(rng.choice(_GROUP_PIECES) for _ in range(rng.randint(0, 10)))
        expected = [m.groups() for m in _LAZY[name].finditer(text)]
        assert [m.groups() for m in fast.finditer(text)] == expected, text
        found += bool(expected)
    assert found > 1000


def test_image_blocks_found_as_by_finditer() -> None:
    # _image_blocks starts from the end of each image table's style; it must
    # find exactly finditer's matches, in odd documents too.
    noise = ['"', "<", ">", "x", "min-width:100%;", '<a title=">">', ' class="mj-full-width-mobile"', "", "", "",
             "border-collapse:collapse;border-spacing:0px;", mjml_fixes._IMAGE_BLOCK_END, *mjml_fixes._IMAGE_BLOCK_STARTS]
    rng = random.Random(17)

    def some() -> str:
        return "".join(rng.choice(noise) for _ in range(rng.randint(0, 2)))

    def block() -> str:  # an image table, most of the time nearly as MRML writes it
        parts = [rng.choice(mjml_fixes._IMAGE_BLOCK_STARTS), rng.choice(["", "width:100px;", "a>b;"]),
                 mjml_fixes._IMAGE_BLOCK_END, rng.choice(["", ' class="mj-full-width-mobile"']),
                 rng.choice(["", ' style="width:100px;"']), ">", rng.choice(["", '<a href="x">']),
                 '<img src="a" width="', rng.choice(["100", "9.5"]), '"']
        return "".join(p if rng.random() < 0.93 else some() for p in parts) + some()

    found = 0
    for _ in range(20_000):
        h = some() + "".join(block() for _ in range(rng.randint(0, 3))) + some()
        expected = [m.span() for m in mjml_fixes._IMAGE_BLOCK.finditer(h)]
        assert [m.span() for m in mjml_fixes._image_blocks(h)] == expected, h
        found += len(expected) > 1
    assert found > 1000


def test_led_sub_is_the_plain_sub() -> None:
    noise = ['<td style="width:', "12.5", "3", 'px;">', '<a href="x">', '"', ">", "<", "x", "", ""]
    rng = random.Random(19)

    def cell() -> str:
        parts = ['<td style="width:', rng.choice(["12.5", "3", "7.25"]), 'px;">', rng.choice(["", '<a href="x">']),
                 '<img src="a" width="', rng.choice(["7.25", "3", "1.5"]), '"']
        return "".join(p if rng.random() < 0.93 else rng.choice(noise) for p in parts) + rng.choice(noise)

    changed = 0
    for _ in range(20_000):
        h = rng.choice(noise) + "".join(cell() for _ in range(rng.randint(0, 3)))
        expected = mjml_fixes._IMAGE_WIDTH.sub(mjml_fixes._fix_image_width, h)
        got = mjml_fixes._sub_led(mjml_fixes._IMAGE_WIDTH, '<td style="width:', h, mjml_fixes._fix_image_width)
        assert got == expected, h
        changed += got != h
    assert changed > 3000


def test_mj_tables_found_as_by_finditer() -> None:
    # _mj_tables starts from each "table-layout:", nine quotes back.
    noise = ['"', "<", ">", "x", "table-layout:", '<table border="0" cellpadding="', "", "", ""]
    rng = random.Random(23)

    def table() -> str:
        values = ["0", "4", "table-layout:", 'x" y="']
        parts = ['<table border="0" cellpadding="', rng.choice(values), '" cellspacing="', rng.choice(values),
                 '" width="', rng.choice(["100%", "300px", "table-layout:"]), '" style="color:#000;',
                 rng.choice(["", "table-layout:auto;", "a:b;"]), "table-layout:auto;width:100%;", '">']
        return "".join(p if rng.random() < 0.93 else rng.choice(noise) for p in parts) + rng.choice(noise)

    found = 0
    for _ in range(20_000):
        h = rng.choice(noise) + "".join(table() for _ in range(rng.randint(0, 3)))
        expected = [m.span() for m in mjml_fixes._MJ_TABLE.finditer(h)]
        assert [m.span() for m in mjml_fixes._mj_tables(h)] == expected, h
        found += len(expected) > 1
    assert found > 1000
