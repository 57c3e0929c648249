"""``letterhead dev`` in a real browser: Debian's Chromium driven by Playwright.

One dev server (preview + local SES) over a copy of Calndr Club's templates
serves every test in this module.  Screenshots of each template at desktop
and mobile widths, and of the outbox, are kept under
tests/artifacts/preview/.  A missing Chromium fails these tests (see
tests/browser.py); ``make test`` installs it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Iterator

import boto3
import pytest

from letterhead.config import load_config
from letterhead.dev.devserver import DevServer
from letterhead.authoring.safety import prepare_data

from .browser import browser, stub_network
from .helpers import REPO

pytestmark = [pytest.mark.browser, pytest.mark.aws]

ARTIFACTS = REPO / "tests" / "artifacts" / "preview"
TEMPLATES = ["coparent_invitation", "email_verification", "schedule_digest"]
TIMEOUT = 15_000  # ms: generous for a loaded CI machine; the bench measures speed


@pytest.fixture(scope="module")
def calndr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("calndr-dev")
    shutil.copytree(REPO / "templates_src", root / "templates_src")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.fixture(scope="module")
def dev(calndr: Path) -> Iterator[tuple[DevServer, str]]:
    server = DevServer(load_config(calndr, environ={}), port=0, ses_port=0, senders=["calndr.club"])
    with server.serve() as url:
        assert server.wait_watching()
        yield server, url


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
    p.requests_seen = []  # type: ignore[attr-defined]  # requests that left the page
    p.blocked = []  # type: ignore[attr-defined]  # requests the Content-Security-Policy stopped
    p.console_errors = []  # type: ignore[attr-defined]
    p.on("requestfinished", lambda r: p.requests_seen.append((r.resource_type, r.url)))  # type: ignore[attr-defined]
    p.on("requestfailed", lambda r: (p.blocked if r.failure == "csp" else p.requests_seen).append(  # type: ignore[attr-defined]
        (r.resource_type, r.url)))
    p.on("pageerror", lambda e: p.console_errors.append(str(e)))  # type: ignore[attr-defined]
    yield p
    p.close()


def _frame(page, which: str):  # type: ignore[no-untyped-def]
    return page.frame_locator(f"#frame-{which}")


def _loads(page) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return page.evaluate(
        "[Number(document.getElementById('frame-desktop').getAttribute('data-loaded') || 0),"
        " Number(document.getElementById('frame-mobile').getAttribute('data-loaded') || 0)]")


def _wait_frames_reloaded(page, before: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        "b => Number(document.getElementById('frame-desktop').getAttribute('data-loaded') || 0) > b[0]"
        " && Number(document.getElementById('frame-mobile').getAttribute('data-loaded') || 0) > b[1]",
        arg=list(before))


def _select(page, sample: str) -> None:  # type: ignore[no-untyped-def]
    pressed = page.get_attribute(f'[data-sample="{sample}"]', "aria-pressed")
    if pressed == "true":
        return
    before = _loads(page)
    page.click(f'[data-sample="{sample}"]')
    _wait_frames_reloaded(page, before)


def _open(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.wait_for_load_state("load")
    page.wait_for_function("() => document.getElementById('live-label') &&"
                           " document.getElementById('live-label').textContent === 'live'")


# -- pages load -----------------------------------------------------------------


def test_index_lists_every_template_with_status_and_size(dev, page) -> None:  # type: ignore[no-untyped-def]
    _, url = dev
    _open(page, url + "/")
    rows = page.locator("#templates tbody tr")
    assert rows.count() == 3
    assert [r.get_attribute("data-template") for r in rows.all()] == TEMPLATES
    for row in rows.all():
        assert row.locator(".chip").inner_text() in ("ok",) or "warning" in row.locator(".chip").inner_text()
        assert "/ 102 KB" in row.locator(".size-label").inner_text()
    page.screenshot(path=str(ARTIFACTS / "index-1440.png"), full_page=True)
    assert page.console_errors == []


def test_template_pages_load_and_fetch_nothing_external(dev, page) -> None:  # type: ignore[no-untyped-def]
    _, url = dev
    for name in TEMPLATES:
        page.requests_seen.clear()
        page.blocked.clear()
        _open(page, f"{url}/t/{name}")
        assert page.inner_text("#template-name") == name
        assert page.inner_text("#subject").strip()
        assert page.inner_text("#text-part").strip()
        assert page.is_visible("#frame-desktop") and page.is_visible("#frame-mobile")
        assert page.is_hidden("#render-error")
        assert _frame(page, "desktop").locator("body").inner_text().strip()
        for kind, req in page.requests_seen:
            assert req.startswith(url) or kind == "image", (kind, req)
        # the emails' web-font stylesheets never leave the page
        assert page.blocked and all(kind == "stylesheet" for kind, _ in page.blocked), page.blocked
    assert page.console_errors == []


def test_frames_have_their_device_widths(dev, page) -> None:  # type: ignore[no-untyped-def]
    _, url = dev
    _open(page, f"{url}/t/coparent_invitation")
    desktop = page.frame(name="frame-desktop") or page.frames[1]
    widths = page.evaluate("[...document.querySelectorAll('iframe')].map(f => f.contentWindow.innerWidth)")
    assert widths == [720, 375]
    assert desktop is not None


# -- sample data ------------------------------------------------------------------


def test_switching_sample_data_changes_the_email(dev, page) -> None:  # type: ignore[no-untyped-def]
    _, url = dev
    _open(page, f"{url}/t/coparent_invitation")
    desktop = _frame(page, "desktop").locator("body")
    assert "Sam Whitaker" in desktop.inner_text()
    assert "A note from" not in desktop.inner_text()
    _select(page, "with_note")
    assert "A note from Priya Raman" in desktop.inner_text()
    assert "A note from Priya Raman" in _frame(page, "mobile").locator("body").inner_text()
    assert page.inner_text("#subject") == "Priya Raman invited you to share a calendar on Calndr Club"
    assert '"inviter_name": "Priya Raman"' in page.input_value("#data-editor")
    assert "Priya Raman" in page.inner_text("#text-part")
    assert page.url.endswith("?sample=with_note")
    _select(page, "hostile_name")
    body = desktop.inner_text()
    assert '<b>Tom & "Jerry"</b>' in body  # shown literally
    assert _frame(page, "desktop").locator("b", has_text="Tom").count() == 0  # no markup injected


def test_mobile_view_of_every_calndr_template_has_no_horizontal_overflow(dev, page) -> None:  # type: ignore[no-untyped-def]
    _, url = dev
    overflow: dict[str, int] = {}
    checked = 0
    for name in TEMPLATES:
        _open(page, f"{url}/t/{name}")
        samples = [b.get_attribute("data-sample") for b in page.locator("#samples [data-sample]").all()]
        for sample in [s for s in samples if s]:
            _select(page, sample)
            mobile = page.frame_locator("#frame-mobile").locator("html")
            width = mobile.evaluate("e => e.ownerDocument.documentElement.scrollWidth")
            inner = mobile.evaluate("e => e.ownerDocument.defaultView.innerWidth")
            assert inner == 375
            if width > 375:
                overflow[f"{name}/{sample}"] = width
            checked += 1
            page.locator("#frame-desktop").screenshot(path=str(ARTIFACTS / f"{name}-{sample}-desktop.png"))
            page.locator("#frame-mobile").screenshot(path=str(ARTIFACTS / f"{name}-{sample}-mobile.png"))
        page.screenshot(path=str(ARTIFACTS / f"{name}-page-1440.png"), full_page=True)
    assert checked >= 8
    assert overflow == {}, f"wider than 375 px inside the mobile frame: {overflow}"


def test_editing_sample_json_rerenders_and_errors_read_as_ses_failures(dev, page) -> None:  # type: ignore[no-untyped-def]
    _, url = dev
    _open(page, f"{url}/t/coparent_invitation")
    data = json.loads(page.input_value("#data-editor"))
    data["inviter_name"] = "Grace Hopper"
    before = _loads(page)
    page.fill("#data-editor", json.dumps(data, indent=2))
    _wait_frames_reloaded(page, before)
    assert "Grace Hopper invited you" in _frame(page, "desktop").locator("body").inner_text()
    assert page.get_attribute("#custom-sample", "aria-pressed") == "true"
    # a variable the template prints is gone: shown as SES would fail, not as a blank page
    del data["expires_at"]
    page.fill("#data-editor", json.dumps(data, indent=2))
    page.wait_for_selector("#render-error", state="visible")
    error = page.inner_text("#render-error")
    assert "SES would drop this message" in error
    assert "missing variable `expires_at` at templates_src/coparent_invitation/template.mjml:" in error
    assert "{{expires_at}}" in error  # the source line
    assert page.is_hidden("#frames")
    page.screenshot(path=str(ARTIFACTS / "editor-render-error-1440.png"))
    # not JSON: said so, the last render stays
    page.fill("#data-editor", "{ nope")
    page.wait_for_function("() => (document.getElementById('editor-status')?.textContent || '').startsWith('not valid JSON')")
    # back to the sample
    page.click("#editor-reset")
    page.wait_for_selector("#frames", state="visible")
    assert page.is_hidden("#render-error")


def test_failing_sample_is_shown_as_a_drop(dev, page, calndr: Path) -> None:  # type: ignore[no-untyped-def]
    server, url = dev
    broken = calndr / "templates_src" / "email_verification" / "samples" / "zz_missing_code.json"
    good = json.loads((calndr / "templates_src" / "email_verification" / "samples" / "default.json").read_text())
    good.pop("code")
    broken.write_text(json.dumps(good))
    try:
        # a write can be seen half done (an empty file first): wait for the whole sample
        _wait_until(lambda: "zz_missing_code" in server.project.get("email_verification").renders)  # type: ignore[union-attr]
        _open(page, f"{url}/t/email_verification?sample=zz_missing_code")
        assert page.is_visible("#render-error")
        assert "missing variable `code`" in page.inner_text("#render-error")
        assert "SES would drop this message" in page.inner_text("#render-error")
        _open(page, url + "/")
        assert "would be dropped" in page.inner_text('[data-template="email_verification"] .chip')
    finally:
        version = server.project.version
        broken.unlink()
        _wait_version(server, version)


def _wait_until(predicate, timeout: float = 15) -> None:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the dev server did not rebuild"
        time.sleep(0.01)


def _wait_version(server: DevServer, version: int, timeout: float = 15) -> None:
    _wait_until(lambda: server.project.version > version, timeout)


# -- live reload -------------------------------------------------------------------


def test_saving_a_source_file_updates_the_open_page(dev, page, calndr: Path) -> None:  # type: ignore[no-untyped-def]
    _, url = dev
    folder = calndr / "templates_src" / "email_verification"
    subject, mjml = folder / "subject.txt", folder / "template.mjml"
    old_subject, old_mjml = subject.read_text(), mjml.read_text()
    _open(page, f"{url}/t/email_verification")
    page.fill("#data-editor", page.input_value("#data-editor"))  # untouched editor stays in sync
    try:
        subject.write_text("Live reload works: {{code}}\n")
        page.wait_for_function("() => (document.getElementById('subject')?.textContent || '').startsWith('Live reload works')")
        before = _loads(page)
        marker = "Saved just now and shown at once"
        mjml.write_text(old_mjml.replace("{% block content %}", "{% block content %}\n    <mj-section mj-class=\"card\"><mj-column><mj-text>" + marker + "</mj-text></mj-column></mj-section>", 1))
        _wait_frames_reloaded(page, before)
        page.wait_for_function(
            "m => (document.getElementById('frame-desktop')?.contentDocument?.body?.innerText || '').includes(m)", arg=marker)
        assert marker in _frame(page, "mobile").locator("body").inner_text()
        # a save that breaks the template shows the error and keeps the last good render
        mjml.write_text(old_mjml.replace("{% endblock %}", "", 1))
        page.wait_for_selector("#compile-error", state="visible")
        assert "does not compile" in page.inner_text("#compile-error")
        assert page.is_visible("#frames")
        page.screenshot(path=str(ARTIFACTS / "compile-error-1440.png"), full_page=True)
        mjml.write_text(old_mjml)
        page.wait_for_selector("#compile-error", state="detached")
        page.wait_for_function(
            "m => (b => !!b && !b.innerText.includes(m))(document.getElementById('frame-desktop')?.contentDocument?.body)", arg=marker)
    finally:
        subject.write_text(old_subject)
        mjml.write_text(old_mjml)
    page.wait_for_function("() => (e => !!e && !e.textContent.startsWith('Live reload works'))(document.getElementById('subject'))")
    assert page.console_errors == []


def test_the_index_follows_saves_too(dev, page, calndr: Path) -> None:  # type: ignore[no-untyped-def]
    server, url = dev
    _open(page, url + "/")
    folder = calndr / "templates_src" / "zz_new_template"
    shutil.copytree(calndr / "templates_src" / "email_verification", folder)
    try:
        page.wait_for_selector('[data-template="zz_new_template"]')
    finally:
        version = server.project.version
        shutil.rmtree(folder)
        _wait_version(server, version)
    page.wait_for_selector('[data-template="zz_new_template"]', state="detached")


# -- the local SES and its outbox ---------------------------------------------------------


def test_sends_appear_in_the_outbox_and_drops_are_marked(dev, page, calndr: Path) -> None:  # type: ignore[no-untyped-def]
    server, url = dev
    assert server.local_ses is not None
    _open(page, url + "/outbox")
    assert server.local_ses.endpoint_url in page.inner_text("#connect")
    ses = boto3.client("ses", endpoint_url=server.local_ses.endpoint_url, region_name=server.local_ses.region,
                       aws_access_key_id="app", aws_secret_access_key="app")
    sample = json.loads((calndr / "templates_src" / "coparent_invitation" / "samples" / "with_note.json").read_text())
    ok = ses.send_templated_email(
        Source="Calndr Club <hello@calndr.club>", Destination={"ToAddresses": [sample["recipient_email"]]},
        Template="coparent_invitation", TemplateData=json.dumps(prepare_data(sample)))
    missing = dict(sample)
    del missing["inviter_name"]
    dropped = ses.send_templated_email(
        Source="hello@calndr.club", Destination={"ToAddresses": ["missing@example.org"]},
        Template="coparent_invitation", TemplateData=json.dumps(prepare_data(missing)))
    unprepared = ses.send_templated_email(
        Source="hello@calndr.club", Destination={"ToAddresses": ["raw@example.org"]},
        Template="coparent_invitation", TemplateData=json.dumps(sample))
    # the open page updates by itself
    page.wait_for_function("() => document.querySelectorAll('#outbox .message').length === 3")
    delivered = page.locator(f'[data-message-id="{ok["MessageId"]}"]')
    assert "delivered" in delivered.locator(".chip").inner_text()
    assert "Priya Raman invited you" in delivered.locator(".subject").inner_text()
    frame = delivered.frame_locator("iframe")
    assert "A note from Priya Raman" in frame.locator("body").inner_text()
    gone = page.locator(f'[data-message-id="{dropped["MessageId"]}"]')
    assert gone.locator(".chip").inner_text() == "⛔ dropped by SES" or "dropped by SES" in gone.inner_text()
    assert "SES would drop this message" in gone.inner_text()
    assert "missing variable `inviter_name`" in gone.inner_text()
    assert gone.locator("iframe").count() == 0
    raw = page.locator(f'[data-message-id="{unprepared["MessageId"]}"]')
    assert "dropped by SES" in raw.inner_text() and "prepare_data" in raw.inner_text()
    page.screenshot(path=str(ARTIFACTS / "outbox-1440.png"), full_page=True)
    assert page.console_errors == []


def test_the_outbox_pages_loads_bodies_when_opened_and_clears(dev, page) -> None:  # type: ignore[no-untyped-def]
    """60 sends: the first page lists 50 without their bodies; opening a part
    fetches its body; Older/Newer page; Clear outbox empties it."""
    import httpx

    server, url = dev
    assert server.local_ses is not None
    assert httpx.post(url + "/api/outbox/clear", json={}, timeout=30).status_code == 200
    ses = boto3.client("ses", endpoint_url=server.local_ses.endpoint_url, region_name=server.local_ses.region,
                       aws_access_key_id="app", aws_secret_access_key="app")
    sample = json.loads((REPO / "templates_src" / "email_verification" / "samples" / "default.json").read_text())
    ids: list[str] = []
    for first in (0, 50):
        resp = ses.send_bulk_templated_email(
            Source="hello@calndr.club", Template="email_verification", DefaultTemplateData="{}",
            Destinations=[{"Destination": {"ToAddresses": [f"u{i}@example.org"]},
                           "ReplacementTemplateData": json.dumps(prepare_data({**sample, "code": f"{i:06d}"}))}
                          for i in range(first, first + (50 if first == 0 else 10))])
        ids += [s["MessageId"] for s in resp["Status"]]
    _wait_until(lambda: len(server.deliveries) == 60)
    page.requests_seen.clear()
    _open(page, url + "/outbox")
    messages = page.locator("#outbox .message")
    assert messages.count() == 50
    assert messages.first.get_attribute("data-message-id") == ids[-1]  # newest first
    assert "60 messages" in page.inner_text("#outbox-count")
    # only the newest message's HTML part starts open: one body fetched, no other
    newest = page.locator(f'[data-message-id="{ids[-1]}"]')
    assert "000059" in newest.frame_locator("iframe").locator("body").inner_text()
    bodies = [u for kind, u in page.requests_seen if "/api/outbox/" in u]
    assert bodies == [f"{url}/api/outbox/{ids[-1]}"], bodies
    assert page.locator("#outbox iframe").count() == 1
    # open another message's text part, then its HTML part: fetched once, shown in both
    other = page.locator(f'[data-message-id="{ids[42]}"]')
    other.locator('details[data-part="text"] summary').click()
    page.wait_for_function("id => document.querySelector(`[data-message-id=\"${id}\"]`)"
                           ".getAttribute('data-body-loaded') === '1'", arg=ids[42])
    assert "000042" in other.locator('[data-body="text"]').inner_text()
    other.locator('details[data-part="html"] summary').click()
    assert "000042" in other.frame_locator("iframe").locator("body").inner_text()
    assert len([u for kind, u in page.requests_seen if u.endswith("/api/outbox/" + ids[42])]) == 1
    page.screenshot(path=str(ARTIFACTS / "outbox-paged-1440.png"))
    # a new send redraws the first page: what was open stays open, its body is not fetched again
    ses.send_templated_email(Source="hello@calndr.club", Destination={"ToAddresses": ["late@example.org"]},
                             Template="email_verification", TemplateData=json.dumps(prepare_data(sample)))
    page.wait_for_function("() => document.getElementById('outbox-count').textContent.startsWith('61 messages')")
    other = page.locator(f'[data-message-id="{ids[42]}"]')
    assert other.locator('details[data-part="html"]').get_attribute("open") is not None
    assert "000042" in other.frame_locator("iframe").locator("body").inner_text()
    assert len([u for kind, u in page.requests_seen if u.endswith("/api/outbox/" + ids[42])]) == 1
    # the older page, and back
    page.click("#outbox-older")
    page.wait_for_url("**/outbox?page=2")
    assert page.locator("#outbox .message").count() == 11
    assert page.locator("#outbox .message").last.get_attribute("data-message-id") == ids[0]
    assert page.locator("#outbox iframe").count() == 0  # nothing opens by itself on an older page
    page.click("#outbox-newer")
    page.wait_for_url("**/outbox?page=1")
    # clear, after a confirmation
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#outbox-clear")
    page.wait_for_selector("#outbox-empty")
    assert page.locator("#outbox .message").count() == 0
    assert len(server.deliveries) == 0 and server.local_ses.sent_messages() == []
    assert server.local_ses.template("email_verification") is not None  # the templates stay
    assert page.console_errors == []
