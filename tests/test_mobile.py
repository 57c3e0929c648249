"""Mobile-friendly means: at a 375 px wide viewport nothing scrolls
horizontally.  Checked in real headless Chromium on every rendered sample of
Calndr Club's templates; screenshots are kept under tests/artifacts/."""

from __future__ import annotations

import dataclasses

import pytest

from letterhead.authoring.build import build
from letterhead.config import load_config

from .browser import browser, open_html
from .helpers import REPO

pytestmark = pytest.mark.browser

ARTIFACTS = REPO / "tests" / "artifacts"


@pytest.fixture(scope="module")
def rendered_samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("calndr")
    config = dataclasses.replace(load_config(REPO), build_dir=out / "build", ses_dir=out / "ses")
    build(config, force=True)
    samples = sorted((out / "build").glob("*/samples/*.html"))
    assert len(samples) >= 6
    return {f"{p.parent.parent.name}-{p.stem}": p.read_text(encoding="utf-8") for p in samples}


def test_no_horizontal_scroll_at_375px(rendered_samples: dict[str, str]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    overflow: dict[str, int] = {}
    with browser() as b:
        for name, html in rendered_samples.items():
            for width in (375, 600):
                page = open_html(b, html, width)
                scroll = page.evaluate("document.documentElement.scrollWidth")
                page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
                if width == 375 and scroll > 375:
                    overflow[name] = scroll
                page.close()
    assert overflow == {}, f"pages wider than 375 px: {overflow}"


def test_hostile_name_shows_literally_in_the_browser(rendered_samples: dict[str, str]) -> None:
    hostile = {k: v for k, v in rendered_samples.items() if "hostile" in k}
    assert hostile, "Calndr's invitation has a hostile-name sample"
    with browser() as b:
        for html in hostile.values():
            page = open_html(b, html, 600)
            assert page.locator("b").filter(has_text="Tom").count() == 0  # no markup injected
            assert '<b>Tom & "Jerry"</b>' in page.inner_text("body")
            page.close()
