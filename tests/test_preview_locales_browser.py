"""The locale switch in a real browser (issue 13): Debian's Chromium driven by
Playwright, on the dev server and on the static export of the locale project
of test_preview_locales.py (en default, es, ar).  Screenshots of the Arabic
page are kept under tests/artifacts/preview/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from letterhead.config import load_config
from letterhead.dev.devserver import DevServer
from letterhead.dev.preview import PreviewProject, export_site

from .browser import browser, stub_network
from .helpers import REPO
from .test_preview_locales import make_locale_project

pytestmark = [pytest.mark.browser]

ARTIFACTS = REPO / "tests" / "artifacts" / "preview"
TIMEOUT = 15_000  # ms: generous for a loaded CI machine


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_locale_project(tmp_path_factory.mktemp("locales-dev"))


@pytest.fixture(scope="module")
def dev(root: Path) -> Iterator[str]:
    server = DevServer(load_config(root, environ={}), port=0, ses=False)
    with server.serve() as url:
        assert server.wait_watching()
        yield url


@pytest.fixture(scope="module")
def chromium():  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
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


def _loads(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.evaluate("Number(document.getElementById('frame-desktop').getAttribute('data-loaded') || 0)"))


def _select(page, sample: str) -> None:  # type: ignore[no-untyped-def]
    before = _loads(page)
    page.click(f'#samples [data-sample="{sample}"]')
    page.wait_for_function(
        "b => Number(document.getElementById('frame-desktop').getAttribute('data-loaded') || 0) > b", arg=before)


def _wait_loaded(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_load_state("load")
    page.wait_for_function("() => Number(document.getElementById('frame-desktop').getAttribute('data-loaded') || 0) > 0")


def _rtl_measures(page) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """How the desktop frame lays out the greeting: its document's direction
    and where the rendered text sits in its block."""
    return page.evaluate("""() => {
        const doc = document.getElementById('frame-desktop').contentDocument;
        const el = [...doc.querySelectorAll('div')].find(d => d.children.length === 0 && d.textContent.includes('مرحبا') && d.getBoundingClientRect().width > 0);
        const range = doc.createRange();
        range.selectNodeContents(el);
        const text = range.getBoundingClientRect(), box = el.getBoundingClientRect();
        return {dir: doc.documentElement.getAttribute('dir'), lang: doc.documentElement.getAttribute('lang'),
                direction: doc.defaultView.getComputedStyle(el).direction,
                gap_left: text.left - box.left, gap_right: box.right - text.right};
    }""")


def test_the_locale_switch_keeps_the_sample_and_shows_arabic_right_to_left(dev, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(dev + "/t/welcome__es?locale=en")  # any URL of a variant: the address bar gets the plain one
    _wait_loaded(page)
    page.wait_for_function("() => document.getElementById('live-label')?.textContent === 'live'")
    assert page.inner_text("#subject") == "Hello Ada"
    assert page.get_attribute('#locales [data-locale="en"]', "aria-current") == "page"
    _select(page, "hostile")
    assert page.url.endswith("/t/welcome?sample=hostile")  # the default locale: no ?locale=

    page.click('#locales [data-locale="es"]')  # the sample goes along
    page.wait_for_url("**/t/welcome?locale=es&sample=hostile")
    _wait_loaded(page)
    assert page.inner_text("#subject") == 'Hola <b>Tom & "Jerry"</b>'
    assert page.get_attribute('#locales [data-locale="es"]', "aria-current") == "page"
    assert page.get_attribute("#samples [data-sample='hostile']", "aria-pressed") == "true"
    assert "Tu calendario está listo." in page.frame_locator("#frame-desktop").locator("body").inner_text()
    _select(page, "default")
    assert page.url.endswith("/t/welcome?locale=es&sample=default")

    # with the keyboard: Tab from the current locale to the next, Enter
    page.focus('#locales [data-locale="es"]')
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('data-locale')") == "ar"
    page.keyboard.press("Enter")
    page.wait_for_url("**/t/welcome?locale=ar&sample=default")
    _wait_loaded(page)
    assert page.inner_text("#subject") == "مرحبا ليلى"
    assert page.evaluate("getComputedStyle(document.getElementById('subject')).direction") == "rtl"
    assert page.evaluate("getComputedStyle(document.getElementById('text-part')).direction") == "rtl"
    assert "1 untranslated message in ar" in page.inner_text("#untranslated")
    m = _rtl_measures(page)
    assert (m["dir"], m["lang"], m["direction"]) == ("rtl", "ar", "rtl"), m
    assert abs(m["gap_right"]) <= 1 and m["gap_left"] > 100, m  # type: ignore[operator]  # laid out from the right
    page.screenshot(path=str(ARTIFACTS / "locale-ar-page-1440.png"), full_page=True)
    assert page.console_errors == []


def test_the_exported_site_switches_locale_from_disk(root: Path, tmp_path: Path, page) -> None:  # type: ignore[no-untyped-def]
    project = PreviewProject(load_config(root, environ={}))
    project.rebuild()
    out = tmp_path / "site"
    export_site(project, out)
    page.goto((out / "welcome.html").as_uri())
    _wait_loaded(page)
    assert page.inner_text("#subject") == "Hello Ada"
    _select(page, "hostile")
    page.click('#locales [data-locale="es"]')
    page.wait_for_url("**/welcome__es.html#sample=hostile")
    _wait_loaded(page)
    page.wait_for_function("() => document.getElementById('subject').textContent.startsWith('Hola <b>Tom')")
    page.click('#locales [data-locale="ar"]')
    page.wait_for_url("**/welcome__ar.html#sample=hostile")
    _wait_loaded(page)
    _select(page, "default")
    assert page.inner_text("#subject") == "مرحبا ليلى"
    assert _rtl_measures(page)["direction"] == "rtl"
    assert page.console_errors == []
