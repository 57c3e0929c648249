"""The browser checks in real headless Chromium (Debian's, /usr/bin/chromium):
the inversion script and prefers-color-scheme forcing the preview uses, then
BrowserSession's findings (axe, contrast, dark mode, logos, unreachable images)
on small HTML documents, the committed projects and Calndr's samples."""

from __future__ import annotations

from typing import Any

import pytest

from letterhead.check.darkmode import force_dark_media, invert, invert_script, parse_css_color

from .browser import browser

pytestmark = pytest.mark.browser


def _computed(page: Any, selector: str, prop: str) -> str:
    return str(page.evaluate(f"getComputedStyle(document.querySelector({selector!r}))[{prop!r}]"))


COLOURS = ["#ffffff", "#000000", "#777777", "#6b6b6b", "#333333", "#f0f4f8", "#d0e0ff", "#1a73e8",
           "#ffff00", "#ff9900", "#803010", "#123456", "rgba(255, 255, 255, 0.5)"]


def test_invert_script_applies_the_python_model_in_place() -> None:
    cells = "".join(f'<td id="c{i}" style="background-color:{bg};color:{bg}">x</td>' for i, bg in enumerate(COLOURS))
    html = f"<html><body><table><tr>{cells}</tr></table><p id='plain'>plain</p></body></html>"
    with browser() as b:
        page = b.new_page()  # type: ignore[attr-defined]
        page.set_content(html)
        page.add_script_tag(content=invert_script())
        page.evaluate("window.letterheadInvert(document)")
        page.evaluate("window.letterheadInvert(document)")  # twice is once
        for i, colour in enumerate(COLOURS):
            expected = parse_css_color(colour)
            assert expected is not None
            for prop, role in (("backgroundColor", "background"), ("color", "text")):
                got = parse_css_color(_computed(page, f"#c{i}", prop))
                want = invert(expected, role)  # type: ignore[arg-type]
                assert got is not None and got[:3] == want[:3], (colour, role, got, want)
                assert got.a == pytest.approx(want.a, abs=0.01)
        # the page had no background: the client's white became black, the
        # default black text white
        assert _computed(page, "html", "backgroundColor") == "rgb(0, 0, 0)"
        assert _computed(page, "#plain", "color") == "rgb(255, 255, 255)"
        assert page.evaluate("window.letterheadInvertColor('rgb(255, 255, 255)', 'text')") == "rgb(255, 255, 255)"


def test_force_dark_media_applies_the_dark_rules_in_a_light_browser() -> None:
    html = """<html><head><style>
      p { color: #111111 }
      @media screen and (prefers-color-scheme: dark) { p { color: #eeeeee } }
      @media (prefers-color-scheme: light) { p { background-color: #ffff00 } }
    </style></head><body><p>hello</p></body></html>"""
    with browser() as b:
        page = b.new_page(color_scheme="light")  # type: ignore[attr-defined]
        page.set_content(html)
        assert _computed(page, "p", "color") == "rgb(17, 17, 17)"
        assert _computed(page, "p", "backgroundColor") == "rgb(255, 255, 0)"
        page.set_content(force_dark_media(html))
        assert _computed(page, "p", "color") == "rgb(238, 238, 238)"
        assert _computed(page, "p", "backgroundColor") == "rgba(0, 0, 0, 0)"
