"""The browser checks in real headless Chromium (Debian's, /usr/bin/chromium):
the inversion script and prefers-color-scheme forcing the preview uses, then
BrowserSession's findings (axe, contrast, dark mode, logos, unreachable images)
on small HTML documents, the committed projects and Calndr's samples."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from letterhead.authoring.build import build
from letterhead.check.browser import BrowserSession, find_chromium
from letterhead.check.darkmode import force_dark_media, invert, invert_script, parse_css_color
from letterhead.check.model import CheckFinding, SampleDoc
from letterhead.check.settings import check_options
from letterhead.config import load_config
from letterhead.errors import CheckToolError

from .browser import CHROMIUM, browser
from .helpers import PROJECTS, REPO, free_port, make_project, run_cli

needs_browser = pytest.mark.browser
IMG = "https://img.letterhead.test/"


def png(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int, int]]) -> bytes:
    """An RGBA PNG, written by hand (zlib + struct)."""
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def wordmark(ink: tuple[int, int, int, int], paper: tuple[int, int, int, int] = (0, 0, 0, 0)) -> bytes:
    """A logo: a bar of ``ink`` across the middle of ``paper``."""
    return png(60, 20, lambda x, y: ink if 6 <= y < 14 and 4 <= x < 56 else paper)


def doc(body: str, *, head: str = "", sample: str = "default") -> SampleDoc:
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test</title>{head}</head>'
            f"<body>{body}</body></html>")
    return SampleDoc(template="t", logical="t", locale=None, sample=sample, subject="Test", html=html, text="",
                     html_path=f"build/t/samples/{sample}.html")


def check(*docs: SampleDoc, images: dict[str, Path] | None = None, **kw: Any) -> list[CheckFinding]:
    with BrowserSession(chromium=CHROMIUM, images=images or {}) as session:
        found = session.check_all(docs, **kw)
    return [f for d in docs for f in found[d.key]]


def codes(findings: list[CheckFinding]) -> list[tuple[str, str]]:
    return sorted((f.code, f.severity) for f in findings)


def _computed(page: Any, selector: str, prop: str) -> str:
    return str(page.evaluate(f"getComputedStyle(document.querySelector({selector!r}))[{prop!r}]"))


COLOURS = ["#ffffff", "#000000", "#777777", "#6b6b6b", "#333333", "#f0f4f8", "#d0e0ff", "#1a73e8",
           "#ffff00", "#ff9900", "#803010", "#123456", "rgba(255, 255, 255, 0.5)"]


@needs_browser
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


@needs_browser
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


# --- finding Chromium -------------------------------------------------------


def _fake(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_find_chromium_takes_the_setting_then_the_environment_then_path(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    on_path = _fake(tmp_path / "bin", "chromium-browser")
    configured = _fake(tmp_path / "opt", "my-chrome")
    from_env = _fake(tmp_path / "env", "chrome")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.delenv("LETTERHEAD_CHROMIUM", raising=False)
    assert find_chromium() == str(on_path)
    monkeypatch.setenv("LETTERHEAD_CHROMIUM", str(from_env))
    assert find_chromium() == str(from_env)
    assert find_chromium(str(configured)) == str(configured)


def test_find_chromium_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("LETTERHEAD_CHROMIUM", raising=False)
    with pytest.raises(CheckToolError) as missing:
        find_chromium()
    assert "Chromium not found" in missing.value.message
    assert "make chromium" in (missing.value.hint or "") and "chromium =" in (missing.value.hint or "")
    # a setting that names nothing runnable is an error, not a fallback
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))
    with pytest.raises(CheckToolError, match=r"\[tool.letterhead.check\] chromium = '/nowhere/chromium'"):
        find_chromium("/nowhere/chromium")
    monkeypatch.setenv("LETTERHEAD_CHROMIUM", str(tmp_path / "absent"))
    with pytest.raises(CheckToolError, match="LETTERHEAD_CHROMIUM"):
        find_chromium()


@needs_browser
def test_a_chromium_that_does_not_start_is_a_tool_error() -> None:
    with pytest.raises(CheckToolError, match="did not start"), BrowserSession(chromium="/bin/false"):
        pass


# --- text contrast -----------------------------------------------------------


@needs_browser
def test_low_contrast_text_is_an_error_and_large_or_hidden_text_is_judged_as_such() -> None:
    found = check(doc("""
      <p style="color:#777777">Too light by a hair (4.48:1)</p>
      <p style="color:#767676">Just enough (4.54:1)</p>
      <p style="color:#949494;font-size:24px">Large text needs 3:1</p>
      <p style="color:#949494;font-size:16px">Small text at 3:1 is not enough</p>
      <div style="background-color:rgba(0,0,0,0.5)"><p style="color:#333333">Dark on half black</p></div>
      <div style="display:none;color:#ffffff">a hidden preheader</div>
      <div style="max-height:0;overflow:hidden;color:#fefefe">another hidden preheader</div>
      <p style="color:#fff;background-image:linear-gradient(#fff,#000)">over a gradient: unknown</p>
    """), axe=False)
    contrast = {f.details["texts"][0]: f for f in found if f.code == "contrast"}
    assert set(contrast) == {"Too light by a hair (4.48:1)", "Small text at 3:1 is not enough", "Dark on half black"}
    first = contrast["Too light by a hair (4.48:1)"]
    assert first.severity == "error" and first.check == "a11y"
    assert (first.details["color"], first.details["background"], first.details["ratio"]) == ("#777777", "#ffffff", 4.48)
    assert first.location.path == "build/t/samples/default.html" and first.template == "t" and first.sample == "default"
    assert "4.48:1 is below 4.5:1" in first.message
    assert contrast["Dark on half black"].details["background"] == "#808080"
    assert [f for f in found if f.code == "dark-contrast"] == []  # inversion keeps flat colours readable


@needs_browser
def test_the_same_colours_are_one_finding_and_the_threshold_is_configurable() -> None:
    page = doc('<p style="color:#999">one</p><p style="color:#999">two</p><p style="color:#595959">AAA</p>')
    with BrowserSession(chromium=CHROMIUM, min_contrast=7.0) as session:
        found = session.check_all([page], axe=False)[page.key]
    [grey] = [f for f in found if f.details.get("color") == "#999999"]
    assert grey.details["count"] == 2 and grey.details["texts"] == ["one", "two"] and "and 1 more" in grey.message
    assert [f.details["required"] for f in found] == [7.0]  # #595959 is exactly 7:1


# --- dark mode -----------------------------------------------------------------


@needs_browser
def test_a_prefers_color_scheme_rule_that_leaves_dark_text_on_a_dark_background() -> None:
    page = doc('<div class="card"><p class="note">Fine on white, gone on #121212</p><p>Body</p></div>',
               head="""<style>
                 .card { background-color: #ffffff; color: #222222 }
                 .note { color: #444444 }
                 @media (prefers-color-scheme: dark) {
                   .card { background-color: #121212 !important; color: #eeeeee !important } }
               </style>""")
    found = check(page, axe=False)
    [dark] = [f for f in found if f.code == "dark-contrast"]
    assert dark.severity == "error" and dark.check == "dark"
    assert "prefers-color-scheme: dark" in dark.message and "Fine on white, gone on #121212" in dark.message
    assert dark.details["light"] == {"color": "#444444", "background": "#ffffff"}
    assert (dark.details["color"], dark.details["background"]) == ("#444444", "#121212")
    assert [f.code for f in found] == ["dark-contrast"]
    assert check(page, axe=False, dark=False) == []  # dark mode checks off


@needs_browser
def test_text_over_a_background_image_is_unreadable_once_a_client_inverts_its_colour(tmp_path: Path) -> None:
    (tmp_path / "paper.png").write_bytes(png(8, 8, lambda x, y: (245, 230, 200, 255)))
    (tmp_path / "faded.png").write_bytes(png(8, 8, lambda x, y: (245, 230, 200, 40)))
    page = doc(f"""
      <table background="{IMG}paper.png" style="background-color:#f5e6c8"><tr><td style="color:#222222">
        Dark text on a light picture</td></tr></table>
      <table style="background-color:#f5e6c8"><tr><td style="color:#222222">The same on a flat colour</td></tr></table>
      <table background="{IMG}faded.png"><tr><td style="color:#222222">Over a translucent picture</td></tr></table>
    """)
    found = check(page, images={IMG: tmp_path}, axe=False)
    [inverted] = [f for f in found if f.code == "dark-contrast"]
    assert "forced inversion" in inverted.message and "Dark text on a light picture" in inverted.message
    assert inverted.details["background"] == "#f5e6c8" and inverted.details["ratio"] < 1.5
    assert [f.code for f in found] == ["dark-contrast"]


def _logo_page(src: str, extra: str = "") -> SampleDoc:
    return doc(f'<table style="width:100%"><tr><td><img src="{src}" alt="Acme" width="60" height="20"></td></tr>'
               f"</table>{extra}<p>Hello</p>")


@needs_browser
def test_a_dark_logo_on_transparency_vanishes_and_opaque_or_light_ones_do_not(tmp_path: Path) -> None:
    (tmp_path / "dark.png").write_bytes(wordmark((20, 20, 20, 255)))
    (tmp_path / "light.png").write_bytes(wordmark((240, 240, 240, 255)))
    (tmp_path / "plate.png").write_bytes(wordmark((20, 20, 20, 255), paper=(255, 255, 255, 255)))  # a JPEG-like one
    (tmp_path / "brand.png").write_bytes(wordmark((10, 95, 208, 255)))
    pages = [dataclasses.replace(_logo_page(f"{IMG}{name}.png"), sample=name)
             for name in ("dark", "light", "plate", "brand")]
    with BrowserSession(chromium=CHROMIUM, images={IMG: tmp_path}) as session:
        found = session.check_all(pages)
    assert {k: codes(v) for k, v in found.items()} == {
        "t/dark": [("dark-logo", "error")], "t/light": [], "t/plate": [], "t/brand": []}
    [logo] = found["t/dark"]
    assert logo.details["src"] == f"{IMG}dark.png" and logo.details["alt"] == "Acme"
    assert logo.details["background"] == "#000000" and logo.details["share"] == 1.0
    assert f"{IMG}dark.png" in logo.message and '"Acme"' in logo.message and "forced inversion" in logo.message


@needs_browser
def test_a_dark_logo_swapped_for_a_light_one_under_prefers_color_scheme(tmp_path: Path) -> None:
    (tmp_path / "dark.png").write_bytes(wordmark((20, 20, 20, 255)))
    (tmp_path / "light.png").write_bytes(wordmark((240, 240, 240, 255)))
    head = "<style>@media (prefers-color-scheme: dark) { body { background-color: #111111 } }</style>"
    swapped = doc(f'<picture><source srcset="{IMG}light.png" media="(prefers-color-scheme: dark)">'
                  f'<img src="{IMG}dark.png" alt="Acme" width="60" height="20"></picture>', head=head)
    kept = dataclasses.replace(swapped, sample="kept", html=swapped.html.replace(f"{IMG}light.png", f"{IMG}dark.png"))
    with BrowserSession(chromium=CHROMIUM, images={IMG: tmp_path}) as session:
        found = session.check_all([swapped, kept], axe=False)
    # Gmail and Outlook.com ignore the <source>: the dark logo still vanishes there
    assert [f.details["mode"] for f in found[swapped.key]] == ["forced inversion, as the Gmail app and Outlook.com do"]
    assert sorted(f.details["mode"] for f in found[kept.key]) == [
        "forced inversion, as the Gmail app and Outlook.com do", "prefers-color-scheme: dark"]


# --- axe-core ------------------------------------------------------------------


@needs_browser
def test_axe_reports_an_image_without_alt_and_a_button_without_a_name(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(wordmark((200, 30, 30, 255), paper=(255, 255, 255, 255)))
    found = check(doc(f'<p>Hi</p><img src="{IMG}x.png" width="60" height="20"><button></button>'),
                  images={IMG: tmp_path}, dark=False)
    axe = {f.details["rule"]: f for f in found if f.code == "axe"}
    assert set(axe) == {"image-alt", "button-name"}
    alt = axe["image-alt"]
    assert alt.severity == "error" and alt.check == "axe" and alt.details["impact"] == "critical"
    assert alt.message.startswith("axe image-alt (critical): Images must have alternative text")
    assert "x.png" in alt.message and alt.details["nodes"][0]["target"] == ["img"]
    assert alt.details["helpUrl"].startswith("https://dequeuniversity.com/rules/axe/")
    assert alt.hint  # axe's own "fix any of the following"
    # axe's color-contrast is off: contrast is judged once, by the contrast rule
    low = check(doc('<p style="color:#aaaaaa">pale</p>'))
    assert [f.code for f in low] == ["contrast"]


@needs_browser
def test_axe_minor_and_moderate_impacts_are_warnings() -> None:
    page = doc("<p>Hi</p>")
    page = dataclasses.replace(page, html=page.html.replace('<html lang="en">', '<html lang="en" xml:lang="fr">'))
    [finding] = check(page, dark=False)
    assert (finding.details["rule"], finding.details["impact"], finding.severity) == (
        "html-xml-lang-mismatch", "moderate", "warning")


@needs_browser
def test_a_page_chromium_cannot_load_is_a_tool_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import letterhead.check.browser as browser_module

    monkeypatch.setattr(browser_module, "LOAD_TIMEOUT_MS", 1)
    with pytest.raises(CheckToolError, match=r"Chromium failed on build/t/samples/default.html: .*Timeout"):
        check(doc("<p>Hi</p>"))


# --- images that cannot be had -------------------------------------------------


@pytest.fixture()
def image_server(tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "dark.png").write_bytes(wordmark((20, 20, 20, 255)))
    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.endswith("/redirect.png"):
                self.send_response(302)
                self.send_header("Location", "/dark.png")
                self.end_headers()
                return
            super().do_GET()

    handler = functools.partial(Handler, directory=str(folder))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@needs_browser
def test_images_are_fetched_or_reported_unchecked(tmp_path: Path, image_server: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}/logo.png"
    page = doc(f"""
      <img src="{closed}" alt="a" width="60" height="20"><img src="{closed}" alt="again" width="60" height="20">
      <img src="{IMG}missing.png" alt="b" width="60" height="20">
      <img src="{image_server}gone.png" alt="c" width="60" height="20">
      <img src="{image_server}dark.png" alt="fetched" width="60" height="20">
      <img src="http://169.254.169.254/latest/meta-data/iam/x.png" alt="d" width="60" height="20">
      <img src="{image_server}redirect.png" alt="e" width="60" height="20">
    """)
    found = check(page, images={IMG: tmp_path}, axe=False)
    unchecked = {f.details["src"]: f for f in found if f.code == "image-unchecked"}
    metadata, redirect = "http://169.254.169.254/latest/meta-data/iam/x.png", f"{image_server}redirect.png"
    assert set(unchecked) == {closed, f"{IMG}missing.png", f"{image_server}gone.png", metadata, redirect}
    # a template is untrusted: never the cloud metadata address, never a redirect (it could lead there)
    assert "metadata" in unchecked[metadata].details["reason"]
    assert "redirect, not followed" in unchecked[redirect].details["reason"]
    assert all(f.severity == "warning" and "[tool.letterhead.check.images]" in f.hint for f in unchecked.values())
    assert f'[tool.letterhead.check.images] "{closed.rsplit("/", 1)[0]}/" = ' in unchecked[closed].hint
    assert "missing.png" in unchecked[f"{IMG}missing.png"].details["reason"]
    assert unchecked[f"{image_server}gone.png"].details["reason"] == "HTTP 404"
    # the image that was fetched had its pixels read (the route lets the canvas read them)
    assert [f.details["src"] for f in found if f.code == "dark-logo"] == [f"{image_server}dark.png"]


@needs_browser
def test_check_all_answers_every_doc_in_order_and_reports_progress() -> None:
    pages = [doc(f'<p style="color:{"#aaa" if i % 2 else "#000"}">text {i}</p>', sample=f"s{i}") for i in range(5)]
    seen: list[str] = []
    with BrowserSession(chromium=CHROMIUM, pages=2) as session:
        found = session.check_all(pages, progress=lambda d: seen.append(d.key))
        again = session.check_all(pages[:1])  # the session serves several calls
    assert list(found) == [p.key for p in pages] and sorted(seen) == sorted(found)
    assert {k: [f.code for f in v] for k, v in found.items()} == {
        "t/s0": [], "t/s1": ["contrast"], "t/s2": [], "t/s3": ["contrast"], "t/s4": []}
    assert again == {"t/s0": []}


# --- projects --------------------------------------------------------------------


def _project_docs(root: Path) -> list[SampleDoc]:
    result = run_cli("build", cwd=root)
    assert result.returncode == 0, result.stderr
    docs = []
    for path in sorted(root.glob("build/*/samples/*.html")):
        name = path.parent.parent.name
        docs.append(SampleDoc(template=name, logical=name, locale=None, sample=path.stem, subject="",
                              html=path.read_text(encoding="utf-8"), text="",
                              html_path=path.relative_to(root).as_posix()))
    assert docs
    return docs


def _check_project(root: Path) -> dict[str, list[CheckFinding]]:
    options = check_options(load_config(root))
    with BrowserSession(chromium=CHROMIUM, images=options.images, min_contrast=options.min_contrast,
                        root=root) as session:
        return session.check_all(_project_docs(root))


def _errors(found: dict[str, list[CheckFinding]]) -> dict[str, list[str]]:
    return {k: sorted(f.details.get("rule", f.code) for f in v if f.severity == "error") for k, v in found.items()}


@needs_browser
def test_project_with_low_contrast_text(tmp_path: Path) -> None:
    found = _check_project(make_project(tmp_path, PROJECTS / "check-low-contrast"))
    assert _errors(found) == {"welcome/default": ["contrast"], "welcome/hostile": ["contrast"]}
    [finding] = [f for f in found["welcome/default"] if f.code == "contrast"]
    assert finding.details["color"] == "#aaaaaa" and "You can reply" in finding.message
    assert finding.location.path == "build/welcome/samples/default.html" and finding.location.line


@needs_browser
def test_project_with_a_logo_that_vanishes_in_dark_mode(tmp_path: Path) -> None:
    found = _check_project(make_project(tmp_path, PROJECTS / "check-dark-logo"))
    assert _errors(found) == {"welcome/default": ["dark-logo"], "welcome/hostile": ["dark-logo"]}
    assert all(f.code != "image-unchecked" for v in found.values() for f in v)  # the logo came from assets/email/


@needs_browser
def test_project_with_an_image_without_alt_and_an_empty_link(tmp_path: Path) -> None:
    found = _check_project(make_project(tmp_path, PROJECTS / "check-axe"))
    assert _errors(found) == {"welcome/default": ["image-alt", "link-name"],
                              "welcome/hostile": ["image-alt", "link-name"]}


@needs_browser
def test_calndr_samples_have_no_browser_errors(tmp_path: Path) -> None:
    out = tmp_path / "calndr"
    config = dataclasses.replace(load_config(REPO), build_dir=out / "build", ses_dir=out / "ses")
    build(config, force=True)
    docs = [SampleDoc(template=p.parent.parent.name, logical=p.parent.parent.name.split("__")[0], locale=None,
                      sample=p.stem, subject="", html=p.read_text(encoding="utf-8"), text="", html_path=str(p))
            for p in sorted((out / "build").glob("*/samples/*.html"))]
    assert len(docs) >= 20
    options = check_options(config)
    with BrowserSession(chromium=CHROMIUM, images=options.images, root=REPO) as session:
        found = session.check_all(docs)
    errors = [str(f) for v in found.values() for f in v if f.severity == "error"]
    assert errors == []


@needs_browser
def test_a_sample_that_never_finishes_is_a_tool_error_not_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    """page.evaluate has no time-out of its own: a measure that never answers
    (axe-core waiting on a timer that never fires, say) must fail the run
    with the sample's name instead of hanging CI."""
    import letterhead.check.browser as browser_module

    monkeypatch.setattr(browser_module, "SAMPLE_TIMEOUT_S", 1.0)
    never = "window.letterheadMeasure = function () { return new Promise(function () {}); };"
    with BrowserSession(chromium=CHROMIUM) as session:
        monkeypatch.setattr(session, "_measure", never)
        with pytest.raises(CheckToolError, match=r"did not finish build/t/samples/default.html within 1 s"):
            session.check_all([doc("<p>hello</p>")], axe=False)
