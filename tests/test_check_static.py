"""``letterhead check``'s static checks of rendered samples: accessibility
(a11y.static_checks: lang, img-alt, layout-table, link-text) and links that
are not https (links.check_links).  On the committed check-static project,
the Calndr samples, and hand-written HTML for each case."""

from __future__ import annotations

from pathlib import Path

import pytest

from letterhead.authoring.build import build
from letterhead.authoring.headers import render_headers
from letterhead.authoring.sources import load_source
from letterhead.check.a11y import normalise_link_text, static_checks
from letterhead.check.links import check_links
from letterhead.check.model import CheckFinding, SampleDoc
from letterhead.config import load_config

from .helpers import PROJECTS, REPO, make_project


def docs_from_build(root: Path) -> list[SampleDoc]:
    """Every rendered sample of a built project, as ``letterhead check`` sees
    it: build/<variant>/samples/<sample>.html and .txt (whose first line is
    the rendered subject), the template's [headers] rendered for the sample."""
    config = load_config(root)
    docs = []
    for html_path in sorted(config.build_dir.glob("*/samples/*.html")):
        variant = html_path.parent.parent.name
        logical, _, locale = variant.partition("__")
        head, _, text = html_path.with_suffix(".txt").read_text(encoding="utf-8").partition("\n\n")
        source = load_source(config, logical)
        sample = next(s for s in source.samples_for(locale or None) if s.name == html_path.stem)
        docs.append(SampleDoc(variant, logical, locale or None, html_path.stem, head.removeprefix("Subject: "),
                              html_path.read_text(encoding="utf-8"), text,
                              dict(render_headers(source.headers, sample.data)),
                              config.rel(sample.path), config.rel(html_path)))
    return docs


def built_docs(tmp_path: Path, *overlays: Path) -> list[SampleDoc]:
    root = make_project(tmp_path, *overlays)
    build(load_config(root))
    return docs_from_build(root)


def page(body: str, *, lang: str | None = "en") -> SampleDoc:
    html_tag = "<html>" if lang is None else f'<html lang="{lang}">'
    html = f"<!doctype html>\n{html_tag}\n<head><title>t</title></head>\n<body>\n{body}\n</body>\n</html>\n"
    return SampleDoc("news", "news", None, "default", "News", html, "News", html_path="build/news/samples/default.html")


def codes(findings: list[CheckFinding]) -> list[tuple[str, str]]:
    return [(f.code, f.severity) for f in findings]


# -- the committed project -------------------------------------------------------------


def test_static_project_reports_each_problem_once(tmp_path: Path) -> None:
    docs = {d.key: d for d in built_docs(tmp_path, PROJECTS / "check-static")}
    doc = docs["static/default"]
    a11y = static_checks(doc)
    assert codes(a11y) == [("layout-table", "warning"), ("link-text", "warning")]
    table, link = a11y
    html_lines = doc.html.splitlines()
    assert "Left column" in html_lines[table.location.line - 1]  # the unmarked table; the marked and data ones pass
    assert link.details == {"href": "https://example.com/start", "text": "click here"}
    assert "click here" in link.message
    for f in a11y:
        assert (f.location.path, f.template, f.sample, f.check) == (
            "build/static/samples/default.html", "static", "default", "a11y")
    https = check_links(doc)
    assert sorted((f.details["kind"], f.details["url"], f.severity) for f in https) == [
        ("image", "http://example.com/banner.png", "error"), ("link", "http://example.com/archive", "error")]
    assert all(f.code == "https" and f.check == "links" and "is not https" in f.message for f in https)
    # MJML's own tables (role="presentation"), its images (alt), https links: nothing to say
    for key in ("welcome/default", "welcome/hostile"):
        assert static_checks(docs[key]) == [] and check_links(docs[key]) == []


def test_calndr_samples_have_no_static_errors() -> None:
    docs = docs_from_build(REPO)
    assert len(docs) >= 24
    findings = [f for d in docs for f in static_checks(d) + check_links(d)]
    assert [str(f) for f in findings if f.severity == "error"] == []
    # the fallback "paste this address" URL under the invitation's button is not a vague link
    assert [f for f in findings if f.code == "link-text"] == []


# -- lang and img-alt ------------------------------------------------------------------


@pytest.mark.parametrize("lang", [None, "", "und", "  "])
def test_missing_lang_is_an_error_at_the_html_tag(lang: str | None) -> None:
    findings = static_checks(page("<p>Hi</p>", lang=lang))
    assert codes(findings) == [("lang", "error")]
    assert findings[0].location.line == 2


def test_lang_present() -> None:
    assert static_checks(page("<p>Hola</p>", lang="es")) == []


def test_image_without_alt_is_an_error_and_decorative_images_pass() -> None:
    doc = page('<img src="https://x.test/a.png">\n<img src="https://x.test/b.png" alt="">\n'
               '<img src="https://x.test/c.png" role="presentation">\n<img src="https://x.test/d.png" alt="Logo">')
    findings = static_checks(doc)
    assert codes(findings) == [("img-alt", "error")]
    assert findings[0].location.line == 5 and "a.png" in findings[0].message


# -- layout tables ---------------------------------------------------------------------


def test_layout_tables_without_role_and_data_tables() -> None:
    doc = page(
        '<table><tr><td>layout</td></tr></table>\n'  # line 5: reported
        '<table role="presentation"><tr><td>marked</td></tr></table>\n'
        '<table role="none"><tr><td>marked</td></tr></table>\n'
        '<table><caption>Prices</caption><tr><td>5</td></tr></table>\n'
        '<table>\n<tr><td>\n'  # line 9: a layout table holding a data table: only the outer is reported
        '<table><tr><th>Plan</th></tr><tr><td>Basic</td></tr></table>\n'
        '</td></tr></table>\n'
        '<table role="presentation"><tr><td><table><tr><td>unmarked inner</td></tr></table></td></tr></table>')
    assert [(f.code, f.location.line) for f in static_checks(doc)] == [
        ("layout-table", 5), ("layout-table", 9), ("layout-table", 13)]


# -- link text -------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "click here", "Click HERE!", "  here ", "Read more…", "more »", "Link", "this", "→",
    "haz clic aquí", "Haga clic aquí.", "Leer más", "aquí", "enlace",
    "اضغط هنا", "انقر هنا", "اقرأ المزيد", "هنا", "المزيد",
])
def test_vague_link_texts(text: str) -> None:
    findings = static_checks(page(f'<p>Our plans: <a href="https://x.test/plans">{text}</a></p>'))
    assert codes(findings) == [("link-text", "warning")]
    assert findings[0].details["href"] == "https://x.test/plans" and findings[0].location.line == 5


@pytest.mark.parametrize("link", [
    '<a href="https://x.test/a">Accept the invitation</a>',
    '<a href="https://x.test/a">Aceptar la invitación</a>',
    '<a href="https://x.test/a">قبول الدعوة</a>',
    '<a href="https://x.test/a">Read the <b>March</b> schedule</a>',
    '<a href="https://x.test/a" aria-label="Read the March schedule">more</a>',
    '<a href="https://x.test/a"><img src="https://x.test/logo.png" alt="Calndr Club"></a>',
    '<a href="https://x.test/a" aria-labelledby="h1">here</a>',
    '<a href="mailto:help@x.test">help@x.test</a>',
    '<a name="top"></a>',  # no href: an anchor, not a link
])
def test_link_texts_that_say_where_they_go(link: str) -> None:
    assert static_checks(page(link)) == []


def test_empty_links_and_bare_urls() -> None:
    doc = page('<a href="https://x.test/a"><img src="https://x.test/i.png" alt=""></a>\n'
               '<a href="https://x.test/b">https://x.test/b</a>\n'
               '<a href="https://x.test/c">www.x.test/c</a>')
    findings = static_checks(doc)
    assert [(f.code, f.location.line) for f in findings] == [("link-text", 5), ("link-text", 6), ("link-text", 7)]
    assert "no text" in findings[0].message and "bare URL" in findings[1].message


def test_bare_url_under_a_described_link_to_the_same_address_passes() -> None:
    doc = page('<a href="https://x.test/accept?t=1">Accept the invitation</a>\n'
               '<p>Button not working? Paste this address:</p>\n'
               '<a href="https://x.test/accept?t=1">https://x.test/accept?t=1</a>\n'
               '<a href="https://x.test/other">https://x.test/other</a>')
    assert [(f.code, f.details["href"]) for f in static_checks(doc)] == [("link-text", "https://x.test/other")]


def test_normalise_link_text() -> None:
    assert normalise_link_text("  ¡Haz  clic AQUÍ! ") == "haz clic aquí"
    assert normalise_link_text("اضغط هنا؟") == "اضغط هنا"


# -- https -----------------------------------------------------------------------------


def test_every_kind_of_http_reference_is_reported_once_per_url() -> None:
    doc = page(
        '<link rel="stylesheet" href="http://fonts.x.test/css">\n'
        '<style>@import url("http://fonts.x.test/imported"); @import \'http://fonts.x.test/quoted\';'
        ' .hero { background: url(http://x.test/bg.png) }</style>\n'
        '<table background="http://x.test/table-bg.png"><tr><td style="background-image:url(\'http://x.test/td.png\')">'
        '</td></tr></table>\n'
        '<img src="http://x.test/a.png" alt="A" srcset="http://x.test/a2.png 2x, https://x.test/a3.png 3x">\n'
        '<!--[if mso | IE]><v:fill type="frame" src="http://x.test/vml.png" /><![endif]-->\n'
        '<a href="HTTP://x.test/upper">Upper case</a> <a href="http://x.test/twice">One</a> '
        '<a href="http://x.test/twice">Two</a>\n'
        '<a href="https://x.test/ok">ok</a> <a href="mailto:a@x.test">mail</a> <a href="tel:+1555">call</a> '
        '<a href="#top">top</a> <img src="https://x.test/ok.png" alt="ok">')
    found = {f.details["url"]: (f.details["kind"], f.location.line, f.details["count"]) for f in check_links(doc)}
    assert found == {
        "http://fonts.x.test/css": ("stylesheet", 5, 1),
        "http://fonts.x.test/imported": ("stylesheet", 6, 1),
        "http://fonts.x.test/quoted": ("stylesheet", 6, 1),
        "http://x.test/bg.png": ("image", 6, 1),
        "http://x.test/table-bg.png": ("image", 7, 1),
        "http://x.test/td.png": ("image", 7, 1),
        "http://x.test/a.png": ("image", 8, 1),
        "http://x.test/a2.png": ("image", 8, 1),
        "http://x.test/vml.png": ("image", 9, 1),
        "HTTP://x.test/upper": ("link", 10, 1),
        "http://x.test/twice": ("link", 10, 2),
    }
    twice = next(f for f in check_links(doc) if f.details["url"] == "http://x.test/twice")
    assert twice.message == "link 'http://x.test/twice' is not https (2 times)" and twice.severity == "error"


def test_namespaces_are_no_links() -> None:
    doc = page('<p>hi</p>').html.replace("<html ", '<html xmlns="http://www.w3.org/1999/xhtml" '
                                         'xmlns:v="urn:schemas-microsoft-com:vml" ')
    assert check_links(SampleDoc("n", "n", None, "s", "S", doc, "")) == []
