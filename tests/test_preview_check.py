"""The preview beside `letterhead check` (issue 14), without a browser: the
last report's findings on each template page (per variant and sample), the
counts on the index, stale and unreadable reports, escaping, and the colour
schemes the page's frames start in.  The browser side (switching, the
inversion, the keyboard) is in test_preview_check_browser.py.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import lxml.html
import pytest

from letterhead.check.darkmode import force_dark_media
from letterhead.check.model import CheckFinding, CheckReport, SampleSummary, TemplateCheck
from letterhead.config import load_config
from letterhead.dev.devserver import DevServer
from letterhead.dev.preview import PreviewProject, Site, csp, export_site, index_page, template_page
from letterhead.dev.preview_check import CHECK_FILE, load_report
from letterhead.errors import Location

WELCOME_MJML = Location("templates_src/welcome/template.mjml", 7)
DARK_MJML = """<mjml lang="en">
  <mj-head>
    <mj-title>Dark</mj-title>
    <mj-preview>Dark card</mj-preview>
    <mj-style>
      @media (prefers-color-scheme: dark) {
        .card { background-color: #111111 !important; }
      }
    </mj-style>
  </mj-head>
  <mj-body background-color="#ffffff">
    <mj-section css-class="card" background-color="#ffffff">
      <mj-column><mj-text color="#222222">Hello {{name}}</mj-text></mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""


def add_dark_template(root: Path) -> None:
    """``darkcard``: a white card that its ``prefers-color-scheme: dark`` rule makes #111."""
    d = root / "templates_src" / "darkcard"
    (d / "samples").mkdir(parents=True)
    (d / "template.mjml").write_text(DARK_MJML)
    (d / "subject.txt").write_text("Dark {{name}}\n")
    (d / "samples" / "default.json").write_text('{"name": "Ada"}')


def make_check_project(tmp: Path) -> Path:
    """The base project (``welcome``: samples ``default`` and ``hostile``)
    plus ``darkcard`` (one sample), which the report below leaves unchecked."""
    from .helpers import make_project

    root = make_project(tmp)
    add_dark_template(root)
    return root


def _project(root: Path) -> PreviewProject:
    p = PreviewProject(load_config(root, environ={}))
    p.rebuild()
    return p


def _hash(root: Path, name: str) -> str:
    state = _project(root).get(name)
    assert state is not None and state.payload is not None
    return state.payload.content_hash


def _finding(code: str, severity: str, message: str, *, check: str, sample: str = "", hint: str = "",
             where: Location = WELCOME_MJML, **details: Any) -> CheckFinding:
    return CheckFinding(code, severity, message, where, hint, "welcome", sample, check, details)  # type: ignore[arg-type]


def welcome_report(content_hash: str, *, findings: tuple[CheckFinding, ...] | None = None) -> CheckReport:
    """``welcome`` checked: a client-support warning for every sample, an
    alt-text error in ``default`` only, a spam warning in ``hostile`` only."""
    if findings is None:
        findings = (
            _finding("client-support", "warning", "display:flex is not supported in Outlook Windows",
                     check="clients", hint="use mj-column for the layout"),
            _finding("img-alt", "error", "an image without alt text", check="a11y", sample="default",
                     where=Location("build/welcome/samples/default.html", 40), hint="add alt"),
            _finding("spam", "warning", "spam score 3.1 of 5.0", check="spam", sample="hostile",
                     where=Location("build/welcome/samples/hostile.html"), rules=["HTML_MESSAGE"]),
        )
    templates = (TemplateCheck("welcome", "welcome", None, content_hash, (
        SampleSummary("default", 4300, ("Outlook Windows",), spam_score=0.4, errors=1, warnings=1),
        SampleSummary("hostile", 5120, ("Outlook Windows",), spam_score=3.1, warnings=2),
    )),)
    return CheckReport(templates, findings, ("clients", "a11y", "axe", "dark", "spam", "links"),
                       {"axe": "Chromium not found"})


def write_report(root: Path, report: CheckReport | str | bytes) -> Path:
    path = root / CHECK_FILE
    path.parent.mkdir(exist_ok=True)
    if isinstance(report, CheckReport):
        report = json.dumps(report.to_dict(), indent=1)
    if isinstance(report, str):
        report = report.encode("utf-8")
    path.write_bytes(report)
    return path


def _doc(html: str) -> Any:
    return lxml.html.fromstring(html)


def _text(el: Any) -> str:
    return " ".join(el.text_content().split())


def _visible_block(doc: Any) -> Any:
    blocks = [b for b in doc.cssselect("#check div.check-sample") if b.get("hidden") is None]
    assert len(blocks) == 1, [b.get("data-check-sample") for b in blocks]
    return blocks[0]


def _block(doc: Any, sample: str) -> Any:
    return doc.cssselect(f'#check div.check-sample[data-check-sample="{sample}"]')[0]


def _badge(doc: Any, template: str) -> str:
    cells = doc.cssselect(f'tr[data-template="{template}"] .check-cell')
    assert len(cells) == 1
    return _text(cells[0])


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_check_project(tmp_path)


@pytest.fixture
def server(root: Path) -> Iterator[tuple[DevServer, str]]:
    srv = DevServer(load_config(root, environ={}), port=0, ses=False)
    with srv.serve() as url:
        yield srv, url


# -- findings beside each template --------------------------------------------


def test_findings_show_on_their_variant_and_sample_and_counts_on_the_index(root: Path, server) -> None:  # type: ignore[no-untyped-def]
    _, url = server
    write_report(root, welcome_report(_hash(root, "welcome")))

    doc = _doc(httpx.get(url + "/t/welcome?sample=hostile").text)
    panel = doc.get_element_by_id("check")
    assert panel.get("data-check-state") == "current"
    hostile = _visible_block(doc)
    assert hostile.get("data-check-sample") == "hostile"
    text = _text(hostile)
    assert "display:flex is not supported in Outlook Windows" in text  # every sample's
    assert "spam score 3.1 of 5.0" in text and "an image without alt text" not in text
    assert "spam score 3.1 · size 5.0 KB · problems in Outlook Windows" in text
    assert [g.get("data-check") for g in hostile.cssselect(".check-group")] == ["clients", "spam"]
    assert "fix: use mj-column for the layout" in text
    assert "templates_src/welcome/template.mjml:7" in text
    default = _text(_block(doc, "default"))  # there for the sample switch, hidden
    assert _block(doc, "default").get("hidden") is not None
    assert "an image without alt text" in default and "build/welcome/samples/default.html:40" in default
    assert "spam score 3.1 of 5.0" not in default
    assert [g.get("data-check") for g in _block(doc, "default").cssselect(".check-group")] == ["clients", "a11y"]
    assert "Not run: axe (Chromium not found)" in _text(panel)
    assert panel.get("open") is not None  # an error: open
    assert "stale" not in _text(panel)

    first = _doc(httpx.get(url + "/t/welcome").text)  # no ?sample=: the first sample's
    assert _visible_block(first).get("data-check-sample") == "default"

    unchecked = _doc(httpx.get(url + "/t/darkcard").text)
    assert unchecked.get_element_by_id("check").get("data-check-state") == "unchecked"
    assert "not checked" in _text(unchecked.get_element_by_id("check"))

    index = _doc(httpx.get(url + "/").text)
    assert _badge(index, "welcome") == "check: 1 error, 2 warnings"
    assert "error" in index.cssselect('tr[data-template="welcome"] .check-badge')[0].get("class")
    assert _badge(index, "darkcard") == "not checked"


def test_without_a_report_there_is_no_panel(root: Path, server) -> None:  # type: ignore[no-untyped-def]
    _, url = server
    for where in ("/t/welcome", "/"):
        doc = _doc(httpx.get(url + where).text)
        assert not doc.cssselect("#check, #check-notice, .check-cell")
    (root / CHECK_FILE).mkdir(parents=True)  # unreadable as a file: as if none
    assert load_report(root).report is None and load_report(root).notice is None
    assert not _doc(httpx.get(url + "/t/welcome").text).cssselect("#check, #check-notice")


def test_the_static_export_carries_the_panel_and_the_counts(root: Path, tmp_path: Path) -> None:
    write_report(root, welcome_report(_hash(root, "welcome")))
    out = tmp_path / "site"
    export_site(_project(root), out)
    page = _doc((out / "welcome.html").read_text())
    assert _visible_block(page).get("data-check-sample") == "default"
    assert "an image without alt text" in _text(_block(page, "default"))
    assert "spam score 3.1 of 5.0" in _text(_block(page, "hostile"))
    index = _doc((out / "index.html").read_text())
    assert _badge(index, "welcome") == "check: 1 error, 2 warnings"
    assert _badge(index, "darkcard") == "not checked"
    export_site(_project(root), out, check=False)  # as from a clean checkout: no report
    for page_name in ("welcome.html", "index.html"):
        assert not _doc((out / page_name).read_text()).cssselect("#check, #check-notice, .check-cell")


def test_findings_of_another_variant_stay_off_the_page(root: Path) -> None:
    report = welcome_report(_hash(root, "welcome"))
    other = CheckFinding("contrast", "error", "grey on white", Location("x.html"), "", "darkcard", "default", "a11y")
    darkcard = TemplateCheck("darkcard", "darkcard", None, _hash(root, "darkcard"),
                             (SampleSummary("default", 900, spam_score=None),))
    report = CheckReport((*report.templates, darkcard), (*report.findings, other), report.checks)
    write_report(root, report)
    p = _project(root)
    loaded = load_report(root)
    welcome = p.get("welcome")
    dark = p.get("darkcard")
    assert welcome is not None and dark is not None
    panel = _doc(template_page(welcome, report=loaded, project=p)).get_element_by_id("check")
    assert "grey on white" not in _text(panel)
    block = _visible_block(_doc(template_page(dark, report=loaded, project=p)))
    assert "grey on white" in _text(block) and "spam not scored · size 0.9 KB" in _text(block)
    index = _doc(index_page(p.states(), report=loaded))
    assert _badge(index, "darkcard") == "check: 1 error"


# -- stale ---------------------------------------------------------------------


def test_a_report_for_other_content_is_marked_stale(root: Path, server) -> None:  # type: ignore[no-untyped-def]
    _, url = server
    write_report(root, welcome_report("0" * 64))
    doc = _doc(httpx.get(url + "/t/welcome").text)
    panel = doc.get_element_by_id("check")
    assert panel.get("data-check-state") == "stale"
    assert "stale — run letterhead check again" in _text(panel)
    assert "the template changed since the last check" in _text(panel)
    assert "an image without alt text" in _text(_visible_block(doc))  # still shown, marked
    index = _doc(httpx.get(url + "/").text)
    assert _badge(index, "welcome") == "check: 1 error, 2 warnings · stale"


def test_a_template_that_fails_now_makes_its_report_stale(root: Path) -> None:
    write_report(root, welcome_report(_hash(root, "welcome")))
    mjml = root / "templates_src" / "welcome" / "template.mjml"
    mjml.write_text(mjml.read_text().replace("{% endblock %}", "{% endblock", 1))
    p = _project(root)
    state = p.get("welcome")
    assert state is not None and state.error is not None
    panel = _doc(template_page(state, report=load_report(root), project=p)).get_element_by_id("check")
    assert panel.get("data-check-state") == "stale"
    assert "the template does not compile now" in _text(panel)


# -- a report that is not one -------------------------------------------------


@pytest.mark.parametrize("content", [
    b"{not json",
    b"\xff\xfe\x00garbage",
    b"[1, 2, 3]",
    b'{"version": 2, "templates": [], "findings": []}',
    b'{"findings": [{"severity": "error"}]}',
    b'{"findings": ["a string"]}',
    b'{"templates": [{"name": "welcome", "samples": [{"sample": "default", "size_bytes": "big"}]}]}',
    b'{"findings": [{"code": "x", "message": "m", "details": 7}]}',
    b"[" * 100_000 + b"]" * 100_000,
], ids=["syntax", "binary", "list", "version", "missing-key", "not-an-object", "bad-number", "bad-details",
        "deep"])
def test_an_unreadable_report_is_a_one_line_notice(root: Path, server, content: bytes) -> None:  # type: ignore[no-untyped-def]
    _, url = server
    write_report(root, content)
    for where in ("/t/welcome", "/", "/t/darkcard?sample=default"):
        r = httpx.get(url + where)
        assert r.status_code == 200
        doc = _doc(r.text)
        notice = doc.get_element_by_id("check-notice")
        assert "\n" not in notice.text_content().strip()
        assert _text(notice).startswith(".letterhead-cache/check.json is not a report letterhead can read (")
        assert _text(notice).endswith("run `letterhead check` again")
        assert not doc.cssselect("#check, .check-cell")


def test_the_dev_server_reads_a_new_report_and_refreshes_pages(root: Path, server) -> None:  # type: ignore[no-untyped-def]
    srv, url = server
    assert srv.wait_watching()
    assert not _doc(httpx.get(url + "/t/welcome").text).cssselect("#check")
    lines: list[str] = []
    connected = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", url + "/events", timeout=20) as stream:
            for line in stream.iter_lines():
                lines.append(line)
                if line.startswith("event: hello"):
                    connected.set()
                if line.startswith("data:") and '"check"' in line:
                    return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert connected.wait(10)
    write_report(root, welcome_report(_hash(root, "welcome")))
    t.join(15)
    events = [json.loads(line[5:]) for line in lines if line.startswith("data:") and '"check"' in line]
    assert events and events[0]["names"] is None  # every page refreshes
    doc = _doc(httpx.get(url + "/t/welcome").text)
    assert "an image without alt text" in _text(doc.get_element_by_id("check"))
    write_report(root, b"{oops")  # replaced by a broken one: read again, a notice
    assert _doc(httpx.get(url + "/t/welcome").text).cssselect("#check-notice")


# -- escaping ------------------------------------------------------------------


EVIL = '<img src=x onerror="alert(1)"></details><script>alert(2)</script>'


def test_report_values_are_escaped(root: Path) -> None:
    findings = (
        _finding("link-text", "error", "message " + EVIL, check="a11y", sample="default", hint="hint " + EVIL,
                 where=Location("templates_src/<b>welcome</b>.mjml", 3), evil=EVIL),
        CheckFinding("spam", "warning", "spam", Location(""), "", "welcome", "", EVIL, {}),  # an unknown check
    )
    report = welcome_report(_hash(root, "welcome"), findings=findings)
    report = CheckReport((TemplateCheck("welcome", "welcome", None, report.templates[0].content_hash, (
        SampleSummary("default", 10, (EVIL,), spam_score=1.0),)),), report.findings, report.checks, {EVIL: EVIL})
    write_report(root, report)
    p = _project(root)
    state = p.get("welcome")
    assert state is not None
    for html in (template_page(state, report=load_report(root), project=p, site=Site(live=True)),
                 index_page(p.states(), report=load_report(root))):
        assert "<img src=x" not in html and "<script>alert" not in html and "<b>welcome" not in html
    doc = _doc(template_page(state, report=load_report(root), project=p))
    block = _text(_visible_block(doc))
    for text in ("message " + EVIL, "fix: hint " + EVIL, "templates_src/<b>welcome</b>.mjml:3", "problems in " + EVIL):
        assert text in block
    assert [g.get("data-check") for g in _visible_block(doc).cssselect(".check-group")] == ["a11y", EVIL]
    assert json.loads(doc.cssselect(".check-details pre")[0].text_content()) == {"evil": EVIL}
    assert f"Not run: {EVIL} ({EVIL})." in _text(doc.get_element_by_id("check"))


# -- the colour-scheme switch --------------------------------------------------


def _model(doc: Any) -> Any:
    return json.loads(doc.get_element_by_id("model").text_content())


def _srcdocs(doc: Any) -> list[str]:
    return [f.get("srcdoc") for f in doc.cssselect("iframe[data-scheme-frame]")]


def _pressed(doc: Any) -> list[str]:
    return [b.get("data-scheme") for b in doc.cssselect('#schemes [data-scheme][aria-pressed="true"]')]


def test_the_dark_scheme_frames_hold_the_html_with_its_dark_rules_forced_on(root: Path, server) -> None:  # type: ignore[no-untyped-def]
    _, url = server
    state = _project(root).get("darkcard")
    assert state is not None and state.renders["default"].parts is not None
    html = state.renders["default"].parts["html"]
    forced = force_dark_media(html)
    assert forced != html

    dark = _doc(httpx.get(url + "/t/darkcard?scheme=dark").text)
    assert _srcdocs(dark) == [forced, forced]
    assert _pressed(dark) == ["dark"]
    assert _model(dark)["scheme"] == "dark"
    assert _model(dark)["samples"]["default"]["render"]["html_dark"] == forced
    assert dark.get_element_by_id("scheme-note").get("hidden") is not None

    for query in ("", "?scheme=light", "?scheme=nonsense", "?scheme=inverted"):
        doc = _doc(httpx.get(url + "/t/darkcard" + query).text)
        assert _srcdocs(doc) == [html, html]  # inverted: the script inverts the light HTML once loaded
        assert _pressed(doc) == ["inverted" if "inverted" in query else "light"]
    edited = httpx.post(url + "/api/render/darkcard", json={"data": {"name": "Grace"}}).json()
    assert edited["html_dark"] == force_dark_media(edited["html"]) != edited["html"]


def test_an_email_without_dark_rules_says_so_in_dark(root: Path, server) -> None:  # type: ignore[no-untyped-def]
    _, url = server
    doc = _doc(httpx.get(url + "/t/welcome?scheme=dark&sample=hostile").text)
    assert _model(doc)["samples"]["hostile"]["render"]["html_dark"] is None
    assert _srcdocs(doc)[0] == _model(doc)["samples"]["hostile"]["render"]["html"]
    note = doc.get_element_by_id("scheme-note")
    assert note.get("hidden") is None and "no prefers-color-scheme: dark styles" in _text(note)
    assert _doc(httpx.get(url + "/t/welcome").text).get_element_by_id("scheme-note").get("hidden") is not None


def test_the_page_script_carries_the_inversion_under_its_hash(root: Path, tmp_path: Path) -> None:
    import base64
    import hashlib
    from importlib.resources import files

    state = _project(root).get("welcome")
    assert state is not None
    doc = _doc(template_page(state))
    code = [s.text_content() for s in doc.cssselect("script") if s.get("type") is None]
    assert len(code) == 1
    invert = files("letterhead.check").joinpath("assets/invert.js").read_text(encoding="utf-8")
    assert code[0].startswith(invert.replace("</", "<\\/")) and "window.letterheadInvert = function" in code[0]
    digest = base64.b64encode(hashlib.sha256(code[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp()
    assert [b.get("data-scheme") for b in doc.cssselect("#schemes button")] == ["light", "dark", "inverted"]
    out = tmp_path / "site"  # the export: light frames, the same switch
    shutil.rmtree(out, ignore_errors=True)
    export_site(_project(root), out)
    exported = _doc((out / "darkcard.html").read_text())
    assert _pressed(exported) == ["light"]
    assert _model(exported)["samples"]["default"]["render"]["html_dark"] == force_dark_media(_srcdocs(exported)[0])
