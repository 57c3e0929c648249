"""Client support (``letterhead check``): the CSS and HTML the designer wrote,
judged against caniemail's data for the configured clients, located at the
designer's source lines; MJML's own markup is not judged."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from letterhead.authoring.compile import Compiler
from letterhead.authoring.sources import load_brand, load_source, template_names
from letterhead.check import css_features
from letterhead.check.clients import (
    DATA_FILE,
    DEFAULT_CLIENTS,
    HINTS,
    CanIEmail,
    Client,
    caniemail,
    check_clients,
    parse_clients,
    platform_support,
)
from letterhead.check.css_features import FeatureIndex, css_hits, html_hits
from letterhead.config import load_config
from letterhead.errors import ConfigError, Location

from .helpers import PROJECTS, REPO, make_project

AT = Location("pyproject.toml", 12)


def defaults() -> tuple[Client, ...]:
    return parse_clients(list(DEFAULT_CLIENTS), location=AT)


def designer(root: Path, name: str) -> tuple[str, Callable[[int], Location]]:
    config = load_config(root)
    return Compiler(config, load_brand(config), watch=False).designer_mjml(load_source(config, name))


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def plain_locate(text: str) -> Callable[[int], Location]:
    return lambda offset: Location("t.mjml", text.count("\n", 0, offset) + 1)


def judge(mjml: str, clients: tuple[Client, ...] | None = None, data: CanIEmail | None = None) -> list[Any]:
    return check_clients(mjml, plain_locate(mjml), clients or defaults(), template="t", data=data)


def mjml_doc(head: str = "", body: str = "") -> str:
    return (f"<mjml>\n<mj-head>\n{head}\n</mj-head>\n<mj-body>\n<mj-section>\n<mj-column>\n{body}\n"
            "</mj-column>\n</mj-section>\n</mj-body>\n</mjml>\n")


# -- the committed project: a display:flex layout -------------------------------------------


@pytest.fixture(scope="module")
def flex_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("flex"), PROJECTS / "check-flex")


def test_a_flex_layout_is_reported_unsupported_in_outlook_windows_at_its_line(flex_project: Path) -> None:
    mjml, locate = designer(flex_project, "cards")
    findings = check_clients(mjml, locate, defaults(), template="cards")
    flex = [f for f in findings if f.details["feature"] == "css-display-flex"]
    source = flex_project / "templates_src/cards/template.mjml"
    assert [(f.location.path, f.location.line) for f in flex] == [
        ("templates_src/cards/template.mjml", line_of(source, "display: flex"))]
    f = flex[0]
    assert f.message.startswith("display:flex is not supported in Outlook Windows")
    assert f.details["clients"]["Outlook Windows"] == "unsupported"
    assert (f.code, f.severity, f.check, f.template, f.sample) == ("client-support", "warning", "clients", "cards", "")
    assert "mj-column" in f.hint and f.details["url"] == "https://www.caniemail.com/features/css-display-flex/"
    assert f.details["source"] == "display: flex"
    # gap on the same line is its own finding, named as written (its title lists three properties)
    gap = [g for g in findings if g.details["feature"] == "css-gap"]
    assert gap and gap[0].message.startswith("gap is not supported in") and gap[0].location == f.location


def test_an_inline_style_in_a_partial_is_located_at_the_partials_line(flex_project: Path) -> None:
    mjml, locate = designer(flex_project, "cards")
    findings = check_clients(mjml, locate, defaults(), template="cards")
    partial = flex_project / "templates_src/_partials/greeting.mjml"
    radius = [f for f in findings if f.details["feature"] == "css-border-radius"]
    line = line_of(partial, "border-radius")
    assert [str(f.location) for f in radius] == [f"templates_src/_partials/greeting.mjml:{line}"]
    assert "Outlook Windows" in radius[0].message and radius[0].details["source"] == "border-radius: 4px"


def test_what_mjml_emits_itself_is_not_judged(flex_project: Path) -> None:
    """mj-button's border-radius attribute becomes CSS in MJML's output: MJML's
    business, not the designer's CSS."""
    mjml, locate = designer(flex_project, "cards")
    findings = check_clients(mjml, locate, defaults(), template="cards")
    button_line = line_of(flex_project / "templates_src/cards/template.mjml", "<mj-button")
    assert [f for f in findings if f.location.line == button_line and "cards/" in f.location.path] == []
    assert [str(f.location) for f in findings if f.details["feature"] == "css-border-radius"] == [
        "templates_src/_partials/greeting.mjml:3"]
    # ...though MJML's output has border-radius on the button, and @media rules of its own
    config = load_config(flex_project)
    html = Compiler(config, load_brand(config), watch=False).compile(load_source(config, "cards")).html
    emitted = {h.slug for h in html_hits(html, caniemail().index)}
    assert {"css-border-radius", "css-at-media"} <= emitted
    assert "css-at-media" not in {f.details["feature"] for f in findings}
    # the layout's inline mj-style (.lead { font-size }) is judged, at the layout's line
    assert any(f.location.path == "templates_src/_layouts/base.mjml" for f in
               check_clients(*designer(flex_project, "welcome"), defaults(), template="welcome"))


def test_component_attributes_and_head_text_are_not_judged() -> None:
    mjml = mjml_doc('<mj-attributes><mj-all font-family="system-ui" /></mj-attributes>'
                    "<mj-title>display: flex</mj-title>",
                    '<mj-button border-radius="24px" css-class="x">Go</mj-button>\n'
                    '<mj-image src="https://example.com/a.png" border-radius="8px" />')
    assert judge(mjml) == []


# -- what is judged, and how ------------------------------------------------------------------


def test_an_inline_mj_style_is_judged_by_its_declarations_only() -> None:
    """inline="inline" rules are inlined at build time: their selectors and
    at-rules never reach a client, their declarations do (in style attributes)."""
    css = ".a:hover .b { display: flex; }\n@media (prefers-color-scheme: dark) { .c { color: red } }"
    inline = {f.details["feature"] for f in judge(mjml_doc(f'<mj-style inline="inline">{css}</mj-style>'))}
    assert inline == {"css-display-flex"}
    kept = {f.details["feature"] for f in judge(mjml_doc(f"<mj-style>{css}</mj-style>"))}
    assert {"css-display-flex", "css-pseudo-class-hover", "css-selector-descendant",
            "css-at-media-prefers-color-scheme"} <= kept


def test_css_features_are_found_at_their_lines() -> None:
    css = """/* a comment */
@import url("https://fonts.example.com/a.css");
@font-face { font-family: A; font-weight: 400; src: url(a.woff2); }
@supports (display: grid) { .g { display: grid; } }
@keyframes spin { from { transform: rotate(0deg); } }
.x { width: calc(100% - 2rem); height: 50vh; max-width: clamp(1px, 2vw, 3px); color: var(--c); }
.y { background-image: linear-gradient(red, blue); font-family: system-ui; position: absolute; }
.z { margin-inline-start: 1ch; border-top-left-radius: 3px !important; }
"""
    found = {(f.details["feature"], f.location.line) for f in judge(mjml_doc(f"<mj-style>\n{css}</mj-style>"))}
    base = 4  # the CSS starts on line 4 of the document
    for slug, line in [("css-comments", 1), ("css-at-import", 2), ("css-at-font-face", 3), ("css-at-supports", 4),
                       ("css-display-grid", 4), ("css-at-keyframes", 5), ("css-transform", 5),
                       ("css-unit-calc", 6), ("css-unit-rem", 6), ("css-unit-vh", 6), ("css-function-clamp", 6),
                       ("css-unit-vw", 6), ("css-variables", 6), ("css-linear-gradient", 7),
                       ("css-background-image", 7), ("css-sytem-ui", 7), ("css-position", 7),
                       ("css-margin-inline-start-end", 8), ("css-unit-ch", 8), ("css-border-radius", 8),
                       ("css-important", 8)]:
        assert (slug, base + line - 1) in found, slug
    # @font-face holds descriptors, not properties: its font-weight is not css-font-weight
    assert ("css-font-weight", base + 2) not in found


def test_html_the_designer_wrote_is_judged_with_its_attributes_images_and_styles() -> None:
    body = """<mj-text>
  <video src="a.mp4"></video><bdi>Title</bdi>
  <img src="https://example.com/a.webp?v=2" srcset="a2.webp 2x" loading="lazy" alt="">
  <svg width="10"><text>t</text></svg>
</mj-text>
<mj-raw><style>@media (prefers-color-scheme: dark) { .d { color: #fff } }</style></mj-raw>
<mj-image src="https://example.com/logo.svg" alt="Logo" />"""
    found = {(f.details["feature"], f.location.line) for f in judge(mjml_doc("", body))}
    start = mjml_doc().splitlines().index("<mj-column>") + 2  # the line of <mj-text>
    for slug, line in [("html-video", 1), ("html-bdi", 1), ("image-webp", 2), ("html-srcset", 2),
                       ("html-loading-attribute", 2), ("html-svg", 3), ("html-style", 5),
                       ("css-at-media-prefers-color-scheme", 5), ("image-svg", 6)]:
        assert (slug, start + line) in found, slug
    assert not any(slug == "html-input-text" for slug, _ in found)  # <text> inside <svg> is SVG's


def test_the_same_feature_on_the_same_line_is_reported_once() -> None:
    body = ('<mj-text><span style="display:flex">a</span><span style="display: flex">b</span></mj-text>\n'
            '<mj-text><span style="display:flex">c</span></mj-text>')
    flex = [f for f in judge(mjml_doc("", body)) if f.details["feature"] == "css-display-flex"]
    assert [f.location.line for f in flex] == [8]  # one finding per feature, its places in the details
    assert [p.rsplit(":", 1)[1] for p in flex[0].details["places"]] == ["8", "9"]
    assert "(and 1 more place)" in flex[0].message


# -- clients -------------------------------------------------------------------------------------


def test_clients_are_families_or_family_slash_platform() -> None:
    clients = parse_clients(["gmail", "Outlook/Windows", "apple-mail", "outlook/outlook-com", "gmail"], location=AT)
    assert clients == (Client("gmail", None, "Gmail"), Client("outlook", "windows", "Outlook Windows"),
                       Client("apple-mail", None, "Apple Mail"), Client("outlook", "outlook-com", "Outlook.com"))
    assert [c.label for c in defaults()] == ["Gmail", "Outlook Windows", "Apple Mail", "Yahoo! Mail"]
    assert parse_clients([], location=AT) == ()


@pytest.mark.parametrize(("values", "message", "hint"), [
    (["gmial"], "unknown mail client 'gmial'", "did you mean 'gmail'?"),
    (["outlook/windos"], "unknown platform 'windos' of outlook", "did you mean 'outlook/windows'?"),
    ("gmail", "must be a list", 'clients = ["gmail"'),
    ([3], "3 is not a client name", 'clients = ["gmail"'),
])
def test_an_unknown_client_is_refused_with_a_suggestion(values: object, message: str, hint: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_clients(values, location=AT)
    assert message in e.value.message and hint in (e.value.hint or "")
    assert e.value.location == AT
    if isinstance(values, list) and values == ["gmial"]:
        assert "apple-mail" in (e.value.hint or "") and "yahoo" in (e.value.hint or "")


# -- verdicts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("versions", "expected"), [
    ({"2019": "y", "2020": "y #2"}, ("supported", ())),
    ({"2007": "n", "2019": "n #1"}, ("unsupported", ("1",))),
    ({"2019": "y", "2020": "a #3 #1"}, ("partial", ("1", "3"))),
    ({"2019": "n", "2020": "y #2"}, ("partial", ("2",))),  # mixed over versions
    ({"2003": "u", "2019": "n"}, ("unsupported", ())),  # unknown results are left out
    ({"2003": "u"}, None),
    ({}, None),
])
def test_a_platforms_verdict_over_its_versions(versions: dict[str, str], expected: Any) -> None:
    assert platform_support(versions) == expected


TINY: dict[str, Any] = {
    "last_update_date": "2026-01-01",
    "nicenames": {"family": {"outlook": "Outlook", "yahoo": "Yahoo! Mail", "gmail": "Gmail"},
                  "platform": {"windows": "Windows", "macos": "macOS", "android": "Android", "ios": "iOS",
                               "desktop-webmail": "Desktop Webmail"}},
    "data": [{
        "slug": "css-display-flex", "title": "display:flex", "url": "https://example.com/flex",
        "stats": {"outlook": {"windows": {"2016": "n", "2019": "n"}, "macos": {"16": "y"}},
                  "yahoo": {"android": {"2019": "n", "2020": "a #2"}, "ios": {"2020": "y"}},
                  "gmail": {"desktop-webmail": {"2020": "u"}}},
        "notes_by_num": {"2": "`display:inline-flex` is not supported."},
    }],
}


def test_findings_aggregate_the_clients_and_carry_the_notes() -> None:
    data = CanIEmail.from_json(TINY)
    clients = parse_clients(["outlook", "yahoo", "gmail"], location=AT, data=data)
    [f] = judge(mjml_doc("<mj-style>.a { display: flex }</mj-style>"), clients, data)
    assert f.message == "display:flex is not supported in Outlook Windows (partial in Yahoo! Mail Android)"
    assert f.details["clients"] == {"Outlook Windows": "unsupported", "Yahoo! Mail Android": "partial"}
    assert f.details["affected_clients"] == ["Outlook", "Yahoo! Mail"]  # the clients as the project names them
    assert f.details["notes"] == ["Yahoo! Mail Android: `display:inline-flex` is not supported."]
    assert f.hint.endswith("(see https://example.com/flex)")
    # a platform without data is not reported; one that supports it makes no finding at all
    only = parse_clients(["gmail", "outlook/macos", "yahoo/ios"], location=AT, data=data)
    assert judge(mjml_doc("<mj-style>.a { display: flex }</mj-style>"), only, data) == []


def test_a_whole_family_is_named_once_and_real_notes_are_reported() -> None:
    mjml = mjml_doc("<mj-style>.a { display: flex }</mj-style>")
    [f] = [f for f in judge(mjml, parse_clients(["gmail", "outlook"], location=AT))
           if f.details["feature"] == "css-display-flex"]
    assert "Outlook Windows/Windows Mail" in f.message  # both Outlook platforms without flexbox
    assert "partial in Gmail iOS/Android" in f.message
    assert "Gmail iOS, Gmail Android: Not supported with non Google accounts." in f.details["notes"]


# -- the mapping, against the real data -----------------------------------------------------------


def test_the_data_loads_once() -> None:
    caniemail.cache_clear()
    data = caniemail()
    assert caniemail() is data and len(data.features) > 250  # 650 KB of JSON, read once per process
    assert json.loads(DATA_FILE.read_text())["data"][0]["slug"] in data.features


def test_every_table_entry_names_a_real_feature() -> None:
    slugs = caniemail().index.slugs
    tables: list[Any] = [css_features.PROPERTY_EXTRA, css_features.VALUE_KEYWORDS, css_features.FUNCTION_EXTRA,
                         css_features.MEDIA_FEATURE_EXTRA, css_features.ELEMENT_EXTRA, css_features.IMAGE_EXTRA,
                         css_features.COMBINATORS]
    named = {slug for table in tables for slug in table.values() if slug.startswith(("css-", "html-", "image-"))}
    named |= set(HINTS) | set(css_features.KEYWORD_ELEMENT_SLUGS)
    assert named - slugs == set()


def test_the_generic_mapping_reaches_the_features_it_names() -> None:
    data = caniemail()
    index = data.index
    missed = []
    for slug, feature in data.features.items():
        title = feature.title.strip()
        if slug.startswith("css-unit-") and title.endswith(" unit"):
            got = index.unit("percent" if title.startswith("%") else title.split()[0])
        elif slug.startswith("css-pseudo-"):
            got = index.pseudo(title.lstrip(":").removesuffix("()"), element=title.startswith("::"))
        elif slug.startswith("css-at-media-"):
            got = index.media_feature(title.split("(")[1].split(")")[0])
        elif slug.startswith("css-at-"):
            got = index.at_rule(title.lstrip("@"))
        elif slug.startswith("css-") and title == slug.removeprefix("css-"):  # css-opacity "opacity"
            got = index.property(title)
        elif slug.startswith("html-") and title.endswith(" element") and title.startswith("<"):
            tag, _, kind = title[1:].split(">")[0].partition(" type=")
            got = index.element(tag, kind.strip('"') or None)
        elif slug.startswith("html-") and title.endswith(" attribute"):
            got = index.attribute(title.removesuffix(" attribute"))
        elif slug.startswith("image-") and slug != "image-base64":
            got = index.image(f"https://example.com/a.{slug.removeprefix('image-')}")
        else:
            continue
        if got != slug:
            missed.append((slug, got))
    assert missed == []


@pytest.mark.parametrize(("css", "slug"), [
    ("a { display: inline-flex }", "css-display-flex"),
    ("a { display: none }", "css-display-none"),
    ("a { display: block }", "css-display"),
    ("a { padding-left: 1px }", "css-padding"),
    ("a { border-bottom-color: red }", "css-border"),
    ("a { border-top-left-radius: 1px }", "css-border-radius"),
    ("a { border-start-end-radius: 1px }", "css-border-radius-logical"),
    ("a { row-gap: 1px }", "css-gap"),
    ("a { top: 0 }", "css-left-right-top-bottom"),
    ("a { animation-name: x }", "css-animation"),
    ("a { columns: 2 }", "css-column-layout-properties"),
    ("a { width: max-content }", "css-intrinsic-size"),
    ("a { color: oklch(0.5 0.1 10) }", "css-modern-color"),
    ("a { color: rgba(0,0,0,.5) }", "css-rgba"),
    ("a { background: repeating-radial-gradient(red, blue) }", "css-radial-gradient"),
    ("a { --brand: red }", "css-variables"),
    ("@media (-webkit-min-device-pixel-ratio: 2) { a { color: red } }", "css-at-media-device-pixel-ratio"),
    ("@media (any-hover: hover) { a { color: red } }", "css-at-media-hover"),
    ("@-webkit-keyframes k { to { opacity: 0 } }", "css-at-keyframes"),
    ("a > b { color: red }", "css-selector-child"),
    ("a + b { color: red }", "css-selector-adjacent-sibling"),
    ("a ~ b { color: red }", "css-selector-general-sibling"),
    (".a.b { color: red }", "css-selector-chaining"),
    ("#a { color: red }", "css-selector-id"),
    ("* { color: red }", "css-selector-universal"),
    ("a, b { color: red }", "css-selector-grouping"),
    ("li:nth-child(2) { color: red }", "css-pseudo-class-nth-child"),
    ("a:not(.b) { color: red }", "css-pseudo-class-not"),
    ("p:first-letter { color: red }", "css-pseudo-element-first-letter"),
    ("input::placeholder { color: red }", "css-pseudo-element-placeholder"),
    (".a { .b { color: red } }", "css-nesting"),
])
def test_css_maps_to_its_feature(css: str, slug: str) -> None:
    assert slug in {h.slug for h in css_hits(css, caniemail().index)}


@pytest.mark.parametrize(("fragment", "slug"), [
    ("<ul><li>a</li></ul>", "html-lists"),
    ("<dl><dt>a</dt></dl>", "html-lists"),
    ("<h5>a</h5>", "html-h1-h6"),
    ("<article>a</article>", "html-semantics"),
    ('<input type="checkbox">', "html-input-checkbox"),
    ('<button type="reset">r</button>', "html-button-reset"),
    ('<img src="a.png" usemap="#m"><map name="m"></map>', "html-image-maps"),
    ('<img src="a.JPEG">', "image-jpg"),
    ('<img src="data:image/png;base64,AAAA">', "image-base64"),
    ('<td valign="top" background="a.png">x</td>', "html-valign"),
    ('<div aria-label="x" role="note">x</div>', "html-aria-label"),
    ('<div inert>x</div>', "css-inert-attribute"),
    ('<a href="#top">top</a>', "html-anchor-links"),
    ('<a href="https://example.com" target="_blank">x</a>', "html-target"),
    ("<!-- note -->", "html-comments"),
    ('<p style="margin: 0 /* reset */">x</p>', "css-comments"),
])
def test_html_maps_to_its_feature(fragment: str, slug: str) -> None:
    assert slug in {h.slug for h in html_hits(fragment, caniemail().index)}


def test_the_index_is_built_from_the_data_not_a_list() -> None:
    """A feature the data adds is found without code: a new property, element and attribute."""
    index = FeatureIndex([{"slug": "css-zoom", "title": "zoom"},
                          {"slug": "html-search", "title": "<search> element"},
                          {"slug": "html-translate", "title": "translate attribute"}])
    assert index.property("zoom") == "css-zoom"
    assert index.element("search") == "html-search"
    assert index.attribute("translate") == "html-translate"


# -- the Calndr templates ---------------------------------------------------------------------


def test_the_calndr_templates_get_warnings_only_at_their_source_lines() -> None:
    config = load_config(REPO)
    compiler = Compiler(config, load_brand(config), watch=False)
    base = REPO / "templates_src/_layouts/base.mjml"
    for name in template_names(config):
        mjml, locate = compiler.designer_mjml(load_source(config, name))
        findings = check_clients(mjml, locate, defaults(), template=name)
        assert findings, name
        for f in findings:
            assert f.code in ("client-support", "client-partial")
            assert (f.severity, f.check, f.template) == ("warning", "clients", name)
            assert (f.code == "client-support") == ("unsupported" in f.details["clients"].values())
            assert f.location.path.startswith("templates_src/") and f.location.line
            assert set(f.details["clients"].values()) <= {"unsupported", "partial"}
            assert f.details["url"].startswith("https://www.caniemail.com/features/")
        by_feature = {(f.details["feature"], str(f.location)) for f in findings}
        media = f"templates_src/_layouts/base.mjml:{line_of(base, '@media')}"
        assert ("css-at-media", media) in by_feature
        attr = next(f for f in findings if f.details["feature"] == "css-selector-attribute"
                    and f.location.path.endswith("base.mjml"))
        assert attr.details["clients"]["Outlook Windows"] == "unsupported"


# -- the refresh script -------------------------------------------------------------------------


def test_the_refresh_script_copies_the_data_and_licence_and_names_the_version(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("refresh_caniemail", REPO / "tools/refresh_caniemail.py")
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    package = tmp_path / "package"
    (package / "data").mkdir(parents=True)
    (package / "package.json").write_text('{"name": "caniemail", "version": "9.9.9"}')
    (package / "LICENSE").write_text("MIT License\n")
    (package / "data/caniemail.json").write_text(json.dumps(TINY))
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "README.md").write_text("# data\n\nVendored version: 2.0.2 (data updated x)\n\nmore\n")
    assert tool.install(package, dest) == ("9.9.9", "2026-01-01")
    assert json.loads((dest / "caniemail.json").read_text()) == TINY
    assert (dest / "caniemail.LICENSE").read_text() == "MIT License\n"
    assert "Vendored version: 9.9.9 (data updated 2026-01-01)\n\nmore" in (dest / "README.md").read_text()
    (package / "data/caniemail.json").write_text('{"features": []}')
    with pytest.raises(SystemExit, match="not the format"):
        tool.install(package, dest)
    # the vendored README names the vendored version
    vendored = json.loads(DATA_FILE.read_text())["last_update_date"]
    assert f"Vendored version: 2.0.2 (data updated {vendored})" in (DATA_FILE.parent / "README.md").read_text()
