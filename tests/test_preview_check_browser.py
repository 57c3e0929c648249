"""The preview's colour-scheme switch and Check panel in a real browser
(issue 14): Debian's Chromium driven by Playwright, on the dev server and on
the static export of test_preview_check.py's project (``welcome`` with a
report, ``darkcard`` with a ``prefers-color-scheme: dark`` rule).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from letterhead.config import load_config
from letterhead.dev.devserver import DevServer
from letterhead.dev.preview import PreviewProject, export_site

from .browser import browser, stub_network
from .test_preview_check import _hash, make_check_project, welcome_report, write_report
from .test_preview_locales import make_locale_project

pytestmark = [pytest.mark.browser]

TIMEOUT = 15_000  # ms: generous for a loaded CI machine
WHITE, DARK_RULE, BLACK = "rgb(255, 255, 255)", "rgb(17, 17, 17)", "rgb(0, 0, 0)"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_check_project(tmp_path_factory.mktemp("check-preview"))
    write_report(root, welcome_report(_hash(root, "welcome")))
    return root


@pytest.fixture(scope="module")
def dev(root: Path) -> Iterator[str]:
    server = DevServer(load_config(root, environ={}), port=0, ses=False)
    with server.serve() as url:
        yield url


@pytest.fixture(scope="module")
def chromium():  # type: ignore[no-untyped-def]
    with browser() as b:
        yield b


@pytest.fixture
def page(chromium):  # type: ignore[no-untyped-def]
    p = chromium.new_page(viewport={"width": 1440, "height": 1000})
    p.set_default_timeout(TIMEOUT)
    stub_network(p)
    p.console_errors = []  # type: ignore[attr-defined]
    p.on("pageerror", lambda e: p.console_errors.append(str(e)))  # type: ignore[attr-defined]
    yield p
    p.close()


def _shows(page, scheme: str) -> None:  # type: ignore[no-untyped-def]
    """Both frames hold a document in ``scheme`` (set once it loaded and, inverted, was inverted)."""
    page.wait_for_function("""s => ['frame-desktop', 'frame-mobile'].every(id =>
        document.getElementById(id).getAttribute('data-scheme') === s)""", arg=scheme)


def _card(page, which: str = "desktop") -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The computed colours of the card (a white section) and of its text, in a frame."""
    return page.evaluate("""id => {
        const frame = document.getElementById(id), doc = frame.contentDocument, view = frame.contentWindow;
        const card = doc.querySelector('.card');
        const text = [...doc.querySelectorAll('div')]
            .find(d => d.children.length === 0 && d.textContent.includes('Hello'));
        return {background: view.getComputedStyle(card).backgroundColor, text: view.getComputedStyle(text).color};
    }""", f"frame-{which}")


def _pressed(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.eval_on_selector_all('#schemes [aria-pressed="true"]', "bs => bs.map(b => b.dataset.scheme)")


def test_dark_applies_the_prefers_color_scheme_rule_and_stays_in_the_url(dev: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(dev + "/t/darkcard")
    _shows(page, "light")
    assert _card(page)["background"] == WHITE
    page.click('#schemes [data-scheme="dark"]')
    _shows(page, "dark")
    assert _card(page)["background"] == DARK_RULE
    assert _card(page, "mobile")["background"] == DARK_RULE
    assert page.url.endswith("/t/darkcard?sample=default&scheme=dark")
    assert _pressed(page) == ["dark"]
    assert page.is_hidden("#scheme-note")  # it has dark rules

    page.reload()  # remembered in the URL
    _shows(page, "dark")
    assert _card(page)["background"] == DARK_RULE and _pressed(page) == ["dark"]
    page.click('#schemes [data-scheme="light"]')
    _shows(page, "light")
    assert _card(page)["background"] == WHITE
    assert page.url.endswith("/t/darkcard?sample=default")
    assert page.console_errors == []


def test_inverted_darkens_a_white_background_and_light_undoes_it(dev: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(dev + "/t/darkcard?scheme=inverted")
    _shows(page, "inverted")
    inverted = _card(page)
    assert inverted["background"] == BLACK  # white, inverted (its dark rule is ignored, as Gmail does)
    r, g, b = (int(v) for v in inverted["text"][4:-1].split(","))
    assert min(r, g, b) > 128, inverted  # #222 text turned light
    page.click('#schemes [data-scheme="light"]')
    _shows(page, "light")
    assert _card(page) == {"background": WHITE, "text": "rgb(34, 34, 34)"}
    page.click('#schemes [data-scheme="inverted"]')  # light → inverted in place, no reload
    _shows(page, "inverted")
    assert _card(page)["background"] == BLACK and _card(page, "mobile")["background"] == BLACK
    page.click('#schemes [data-scheme="dark"]')
    _shows(page, "dark")
    assert _card(page)["background"] == DARK_RULE
    assert page.console_errors == []


def test_the_switch_is_reachable_by_keyboard(dev: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(dev + "/t/darkcard")
    _shows(page, "light")
    page.focus('#samples [data-sample="default"]')
    page.keyboard.press("Tab")  # from the sample switch to the colours
    assert page.evaluate("document.activeElement.dataset.scheme") == "light"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.scheme") == "dark"
    page.keyboard.press("Enter")
    _shows(page, "dark")
    assert _card(page)["background"] == DARK_RULE
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.scheme") == "inverted"
    page.keyboard.press("Space")
    _shows(page, "inverted")
    assert _card(page)["background"] == BLACK and _pressed(page) == ["inverted"]
    assert page.console_errors == []


def test_the_check_panel_follows_the_sample_switch(dev: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(dev + "/t/welcome")
    _shows(page, "light")
    block = '#check div.check-sample[data-check-sample="{}"]'
    assert page.is_visible(block.format("default")) and page.is_hidden(block.format("hostile"))
    assert "an image without alt text" in page.inner_text(block.format("default"))
    page.click('#schemes [data-scheme="dark"]')  # no dark rules here: a note, the light HTML
    _shows(page, "dark")
    assert page.is_visible("#scheme-note")
    page.click('#samples [data-sample="hostile"]')
    page.wait_for_url("**/t/welcome?sample=hostile&scheme=dark")
    assert page.is_visible(block.format("hostile")) and page.is_hidden(block.format("default"))
    assert "spam score 3.1 of 5.0" in page.inner_text(block.format("hostile"))
    assert page.inner_text('#check summary .chip:not([hidden])').strip() == "2 warnings"
    page.fill("#data-editor", '{"name": "Grace", "url": "https://example.com"}')  # an edit: not what was checked
    page.wait_for_selector("#check-edited", state="visible")
    assert page.console_errors == []


def test_the_export_switches_schemes_and_samples_from_disk(root: Path, tmp_path: Path, page) -> None:  # type: ignore[no-untyped-def]
    project = PreviewProject(load_config(root, environ={}))
    project.rebuild()
    out = tmp_path / "site"
    export_site(project, out)
    page.goto((out / "darkcard.html").as_uri() + "#scheme=dark")
    _shows(page, "dark")
    assert _card(page)["background"] == DARK_RULE
    page.click('#schemes [data-scheme="inverted"]')
    _shows(page, "inverted")
    assert _card(page)["background"] == BLACK
    assert page.url.endswith("darkcard.html#sample=default&scheme=inverted")
    page.goto((out / "welcome.html").as_uri() + "#sample=hostile")
    _shows(page, "light")
    assert page.is_visible('#check [data-check-sample="hostile"]')
    assert page.is_hidden('#check div[data-check-sample="default"]')
    assert page.console_errors == []


def test_the_locale_switch_keeps_the_colours(tmp_path: Path, chromium) -> None:  # type: ignore[no-untyped-def]
    root = make_locale_project(tmp_path)
    server = DevServer(load_config(root, environ={}), port=0, ses=False)
    with server.serve() as url:
        page = chromium.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(TIMEOUT)
        stub_network(page)
        try:
            page.goto(url + "/t/welcome?sample=hostile")
            _shows(page, "light")
            page.click('#schemes [data-scheme="inverted"]')
            _shows(page, "inverted")
            page.click('#locales [data-locale="es"]')
            page.wait_for_url("**/t/welcome?locale=es&sample=hostile&scheme=inverted")
            _shows(page, "inverted")
            assert _pressed(page) == ["inverted"]
        finally:
            page.close()
