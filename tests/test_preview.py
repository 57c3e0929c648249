"""The preview: states, pages, the static export, and the dev server over HTTP.

Browser behaviour (frames, live reload, the outbox) is in
test_devserver_browser.py; here everything is checked without a browser.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from letterhead.authoring.build import build
from letterhead.cli.common import Ctx
from letterhead.cli.dev import preview as preview_command
from letterhead.config import load_config
from letterhead.dev.devserver import DevServer
from letterhead.errors import LetterheadError, RenderError
from letterhead.dev.preview import (
    PreviewProject,
    Site,
    csp,
    error_view,
    export_site,
    index_page,
    render_data,
    template_page,
)

from .helpers import REPO


def _project(root: Path) -> PreviewProject:
    p = PreviewProject(load_config(root))
    p.rebuild()
    return p


class _Scripts(HTMLParser):
    """Collects <script> elements and iframe attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.frames: list[dict[str, str | None]] = []
        self.meta: list[dict[str, str | None]] = []
        self._in: dict[str, str | None] | None = None
        self._buf: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        a = dict(attrs)
        if tag == "script":
            self._in, self._buf = a, []
        elif tag == "iframe":
            self.frames.append(a)
        elif tag == "meta":
            self.meta.append(a)

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self._in is not None:
            self._buf.append(data)

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "script" and self._in is not None:
            self.scripts.append((self._in, "".join(self._buf)))
            self._in = None


def _parse(html: str) -> _Scripts:
    p = _Scripts()
    p.feed(html)
    return p


# -- one renderer: what the preview shows is what the build writes ----------


def test_preview_renders_exactly_what_the_build_writes(tmp_path: Path) -> None:
    root = tmp_path / "calndr"
    shutil.copytree(REPO / "templates_src", root / "templates_src")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    build(load_config(root))
    project = _project(root)
    assert [s.name for s in project.states()] == [
        f"{name}{suffix}" for name in ("coparent_invitation", "email_verification", "schedule_digest")
        for suffix in ("", "__es", "__ar")]
    for state in project.states():
        assert state.status in ("ok", "warning"), state.error
        built = json.loads((root / "ses_templates" / f"{state.name}.json").read_text())["Template"]
        assert state.payload is not None
        assert state.payload.html == built["HtmlPart"]
        assert state.payload.text == built["TextPart"]
        for sample, render in state.renders.items():
            assert render.parts is not None
            html = (root / "build" / state.name / "samples" / f"{sample}.html").read_text(encoding="utf-8")
            assert render.parts["html"] == html
            txt = (root / "build" / state.name / "samples" / f"{sample}.txt").read_text(encoding="utf-8")
            assert txt == f"Subject: {render.parts['subject']}\n\n{render.parts['text']}"


def test_dev_preview_writes_nothing(project: Path) -> None:
    _project(project)
    assert not (project / "build").exists()
    assert not (project / "ses_templates").exists()


# -- rebuilding only what changed ----------------------------------------------


def test_affected_maps_paths_to_templates(project: Path) -> None:
    p = _project(project)
    src = project / "templates_src"
    assert p.affected([src / "welcome" / "template.mjml"]) == {"welcome"}
    assert p.affected([src / "welcome" / "samples" / "default.json"]) == {"welcome"}
    assert p.affected([src / "_layouts" / "base.mjml"]) is None
    assert p.affected([src / "brand.toml"]) is None
    assert p.affected([src / "README.md"]) == set()
    assert p.affected([src / ".hidden" / "x"]) == set()
    assert p.affected([project / "pyproject.toml"]) == set()


def test_rebuild_recompiles_only_the_changed_template(project: Path) -> None:
    shutil.copytree(project / "templates_src" / "welcome", project / "templates_src" / "other")
    p = _project(project)
    before = {s.name: s.version for s in p.states()}
    assert p.rebuild([project / "templates_src" / "other" / "subject.txt"]) == ["other"]
    after = {s.name: s.version for s in p.states()}
    assert after["welcome"] == before["welcome"]
    assert after["other"] > before["other"]
    assert p.rebuild([project / "templates_src" / "_layouts" / "base.mjml"]) is None
    assert all(s.version > after["other"] for s in p.states())


def test_a_saved_edit_shows_even_within_one_clock_tick(project: Path) -> None:
    """Jinja's cache checks mtimes; the preview drops the edited template itself."""
    p = _project(project)
    mjml = project / "templates_src" / "welcome" / "template.mjml"
    stat = mjml.stat()
    mjml.write_text(mjml.read_text().replace("Hello", "Howdy"))
    import os

    os.utime(mjml, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime as before
    p.rebuild([mjml])
    state = p.get("welcome")
    assert state is not None and state.renders["default"].parts is not None
    assert "Howdy Ada" in state.renders["default"].parts["html"]


def test_new_and_removed_templates(project: Path) -> None:
    p = _project(project)
    src = project / "templates_src"
    shutil.copytree(src / "welcome", src / "second")
    assert p.rebuild([src / "second" / "template.mjml"]) == ["second"]
    assert p.names == ["second", "welcome"]
    shutil.rmtree(src / "second")
    assert p.rebuild([src / "second"]) == ["second"]
    assert p.names == ["welcome"]


def test_compile_error_keeps_the_last_good_render(project: Path) -> None:
    p = _project(project)
    mjml = project / "templates_src" / "welcome" / "template.mjml"
    good = mjml.read_text()
    mjml.write_text(good.replace("{{/if}}", ""))
    p.rebuild([mjml])
    state = p.get("welcome")
    assert state is not None and state.status == "error" and state.error is not None
    assert state.last_good is not None and state.last_good.renders["default"].ok
    page = template_page(state, site=Site(live=True))
    assert "The template does not compile" in page
    assert "templates_src/welcome/template.mjml:" in page
    assert "the last version that compiled" in page
    mjml.write_text(good)
    p.rebuild([mjml])
    assert p.get("welcome").status == "ok"  # type: ignore[union-attr]


def test_brand_error_is_project_wide_and_recovers(project: Path) -> None:
    p = _project(project)
    brand = project / "templates_src" / "brand.toml"
    good = brand.read_text()
    brand.write_text("name = \n")
    assert p.rebuild([brand]) is None
    assert p.error is not None and "brand.toml" in str(p.error.location)
    assert "not valid TOML" in index_page(p.states(), project_error=p.error)
    brand.write_text(good)
    p.rebuild([brand])
    assert p.error is None and p.get("welcome").status == "ok"  # type: ignore[union-attr]


# -- render errors read as SES failures, at the source line ---------------------


def test_missing_variable_names_the_source_line(project: Path) -> None:
    p = _project(project)
    state = p.get("welcome")
    assert state is not None
    result = render_data(p.config, state, {"url": "https://example.com"})
    assert isinstance(result.error, RenderError)
    assert result.error.variable == "name"
    view = error_view(result.error, part=result.part)
    assert view is not None
    assert view["headline"] == "SES would drop this message"
    assert re.match(r"missing variable `name` at templates_src/welcome/subject\.txt:1: SES would drop this message",
                    view["summary"]), view["summary"]
    assert view["source_line"] and "{{name}}" in view["source_line"]
    html_only = render_data(p.config, state, {"name": "Ada"})
    view = error_view(html_only.error, part=html_only.part)
    assert view is not None and html_only.part == "html"
    assert view["summary"].startswith(
        "missing variable `url` at templates_src/welcome/template.mjml:10: SES would drop this message")
    assert view["source_line"] == '<mj-button href="{{url}}" background-color="[[ brand.color ]]">Open</mj-button>'


def test_null_and_type_errors_and_non_objects(project: Path) -> None:
    (project / "templates_src" / "welcome" / "template.toml").write_text('[variables.url]\ntype = "url"\n')
    p = _project(project)
    state = p.get("welcome")
    assert state is not None
    null = render_data(p.config, state, {"name": None, "url": "https://x.org"})
    assert isinstance(null.error, RenderError) and "is null" in null.error.message
    typed = render_data(p.config, state, {"name": "A", "url": "not a url"})
    assert typed.error is not None and error_view(typed.error)["headline"] == "Data does not match template.toml"  # type: ignore[index]
    assert render_data(p.config, state, [1, 2]).error is not None


def test_failing_sample_shows_on_index_and_page(project: Path) -> None:
    (project / "templates_src" / "welcome" / "samples" / "broken.json").write_text('{"url": "https://x.org"}')
    p = _project(project)
    state = p.get("welcome")
    assert state is not None and state.status == "error"
    assert not state.renders["broken"].ok and state.renders["default"].ok
    index = index_page(p.states())
    assert "1 sample would be dropped" in index
    page = template_page(state, sample="broken")
    assert "SES would drop this message" in page
    assert "missing variable `name`" in page


# -- pages: self-contained, safe ---------------------------------------------------


def test_pages_load_nothing_and_frames_run_no_script(project: Path) -> None:
    p = _project(project)
    state = p.get("welcome")
    assert state is not None
    for html in (index_page(p.states()), template_page(state)):
        doc = _parse(html)
        policy = [m["content"] for m in doc.meta if m.get("http-equiv") == "Content-Security-Policy"]
        assert policy == [csp()]
        assert "default-src 'none'" in policy[0] and "font-src" not in policy[0]
        assert not re.search(r"<(link|script)[^>]+(href|src)=\"(?!data:)", html)  # nothing external
        for attrs, _ in doc.scripts:
            assert attrs.get("src") is None
    frames = _parse(template_page(state)).frames
    assert [f["id"] for f in frames] == ["frame-desktop", "frame-mobile"]
    for f in frames:
        assert "allow-scripts" not in (f["sandbox"] or "")
        assert f["srcdoc"] == state.renders["default"].parts["html"]  # type: ignore[index]


def test_inline_script_matches_its_csp_hash(project: Path) -> None:
    import base64
    import hashlib

    state = _project(project).get("welcome")
    assert state is not None
    code = [body for attrs, body in _parse(template_page(state)).scripts if "type" not in attrs]
    assert len(code) == 1
    digest = base64.b64encode(hashlib.sha256(code[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp()


def test_hostile_sample_data_cannot_break_out_of_the_page(project: Path) -> None:
    evil = {"name": "</script><script>alert(1)</script><!--", "url": "https://x.org/\u2028"}
    (project / "templates_src" / "welcome" / "samples" / "evil.json").write_text(json.dumps(evil))
    state = _project(project).get("welcome")
    assert state is not None
    html = template_page(state, sample="evil")
    doc = _parse(html)
    assert len(doc.scripts) == 2  # the model and the page's own script, nothing injected
    model = json.loads(next(body for attrs, body in doc.scripts if attrs.get("id") == "model"))
    assert model["samples"]["evil"]["data"] == evil
    assert model["current"] == "evil"


def test_model_carries_every_sample_for_switching(project: Path) -> None:
    state = _project(project).get("welcome")
    assert state is not None
    doc = _parse(template_page(state, sample="hostile", site=Site(live=False)))
    model = json.loads(next(body for attrs, body in doc.scripts if attrs.get("id") == "model"))
    assert model["order"] == ["default", "hostile"] and model["current"] == "hostile"
    hostile = model["samples"]["hostile"]["render"]
    assert hostile["ok"] and "Tom &amp; &quot;Jerry&quot;" in hostile["html"]
    assert hostile["subject"] and hostile["text"].startswith("")


def test_unknown_sample_falls_back_to_the_first(project: Path) -> None:
    state = _project(project).get("welcome")
    assert state is not None
    assert '"current": "default"' in template_page(state, sample="../../etc/passwd")


# -- static export ---------------------------------------------------------------------


def test_export_writes_a_static_site(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    written = export_site(_project(project), out)
    assert sorted(p.name for p in written) == ["index.html", "welcome.html"]
    index = (out / "index.html").read_text()
    assert 'href="welcome.html"' in index and "/outbox" not in index
    page = (out / "welcome.html").read_text()
    assert 'data-live="0"' in page and "readonly" in page
    # a second export replaces the first
    (out / "stale.html").write_text("old")
    export_site(_project(project), out)
    assert not (out / "stale.html").exists()


def test_export_refuses_a_folder_it_did_not_create(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(LetterheadError, match="not empty"):
        export_site(_project(project), out)
    assert (out / "notes.txt").read_text() == "keep me"


def test_preview_command_exports(project: Path, tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "preview"
    result = runner.invoke(preview_command, ["--export", str(out), "--json"], obj=Ctx(project, False))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] and data["templates"] == [{"name": "welcome", "status": "ok"}]
    assert (out / "index.html").is_file()


def test_preview_command_fails_on_errors_but_still_writes(project: Path, tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    (project / "templates_src" / "welcome" / "samples" / "broken.json").write_text('{"url": "https://x.org"}')
    out = tmp_path / "preview"
    result = runner.invoke(preview_command, ["--export", str(out)], obj=Ctx(project, False))
    assert result.exit_code == 1
    assert "missing variable `name`" in result.output
    assert "SES would drop this message" in (out / "welcome.html").read_text()


# -- the dev server over HTTP --------------------------------------------------------


@pytest.fixture
def server(project: Path):  # type: ignore[no-untyped-def]
    srv = DevServer(load_config(project), port=0, ses=False)
    with srv.serve() as url:
        yield srv, url


def test_server_pages_and_headers(server) -> None:  # type: ignore[no-untyped-def]
    srv, url = server
    r = httpx.get(url + "/")
    assert r.status_code == 200 and "welcome" in r.text
    assert r.headers["content-security-policy"].startswith(csp())
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    r = httpx.get(url + "/t/welcome?sample=hostile")
    assert r.status_code == 200 and '"current": "hostile"' in r.text and 'data-live="1"' in r.text
    assert httpx.get(url + "/outbox").status_code == 200


@pytest.mark.parametrize("path", ["/t/nope", "/t/..%2F..%2Fpyproject.toml", "/t/%2e%2e", "/../pyproject.toml",
                                  "/t/welcome/../../pyproject.toml", "/static/../pyproject.toml"])
def test_server_has_no_path_traversal(server, path: str) -> None:  # type: ignore[no-untyped-def]
    _, url = server
    r = httpx.get(url + path)
    assert r.status_code == 404
    assert "[tool.letterhead]" not in r.text


def test_server_refuses_foreign_host_headers(server) -> None:  # type: ignore[no-untyped-def]
    _, url = server
    assert httpx.get(url + "/", headers={"Host": "evil.example:8040"}).status_code == 400
    assert httpx.get(url + "/", headers={"Host": "localhost:8040"}).status_code == 200


def test_render_api(server) -> None:  # type: ignore[no-untyped-def]
    _, url = server
    ok = httpx.post(url + "/api/render/welcome", json={"data": {"name": "Grace", "url": "https://x.org"}}).json()
    assert ok["ok"] and "Hello Grace" in ok["html"] and ok["error"] is None
    bad = httpx.post(url + "/api/render/welcome", json={"data": {"url": "https://x.org"}}).json()
    assert not bad["ok"] and bad["error"]["variable"] == "name"
    assert "SES would drop this message" in bad["error"]["summary"]
    sample = httpx.post(url + "/api/render/welcome", json={"sample": "hostile"}).json()
    assert sample["ok"] and "Bring snacks" in sample["html"]
    assert httpx.post(url + "/api/render/nope", json={"data": {}}).status_code == 404
    assert httpx.post(url + "/api/render/welcome", content=b'{"data": {}}',
                      headers={"Content-Type": "text/plain"}).status_code == 415
    assert httpx.post(url + "/api/render/welcome", content=b"{nope",
                      headers={"Content-Type": "application/json"}).status_code == 400
    big = b'{"data": {"name": "' + b"x" * (1024 * 1024 + 10) + b'"}}'
    assert httpx.post(url + "/api/render/welcome", content=big,
                      headers={"Content-Type": "application/json"}).status_code == 413
    assert httpx.get(url + "/api/render/welcome").status_code == 405


def test_server_pushes_a_change_event_on_save(server, project: Path) -> None:  # type: ignore[no-untyped-def]
    srv, url = server
    assert srv.wait_watching()
    lines: list[str] = []
    connected = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", url + "/events", timeout=20) as stream:
            for line in stream.iter_lines():
                lines.append(line)
                if line.startswith("event: hello"):
                    connected.set()
                if line.startswith("data:") and '"names"' in line:
                    return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert connected.wait(10)
    subject = project / "templates_src" / "welcome" / "subject.txt"
    subject.write_text("Changed subject for {{name}}\n")
    t.join(15)
    change = [json.loads(line[5:]) for line in lines if line.startswith("data:") and "names" in line]
    assert change and change[0]["names"] == ["welcome"]
    page = httpx.get(url + "/t/welcome").text
    assert "Changed subject for Ada" in page


def test_server_stops_cleanly_with_an_open_event_stream(project: Path) -> None:
    srv = DevServer(load_config(project), port=0, ses=False)
    serving = srv.serve()
    url = serving.__enter__()
    try:
        holder: list[int] = []

        def listen() -> None:
            try:
                with httpx.stream("GET", url + "/events", timeout=20) as stream:
                    for _ in stream.iter_lines():
                        holder.append(1)
            except httpx.HTTPError:
                pass

        threading.Thread(target=listen, daemon=True).start()
        deadline = time.monotonic() + 10
        while not holder and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        # Stopping must not wait for the open stream: stop in a thread and
        # check it finished (a hang guard, not a timing).
        stopper = threading.Thread(target=serving.__exit__, args=(None, None, None))
        stopper.start()
        stopper.join(15)
    assert holder
    assert not stopper.is_alive(), "the server did not stop while an event stream was open"


@pytest.mark.slow
def test_dev_command_serves_until_interrupted(project: Path) -> None:
    """`letterhead dev` as a user runs it: the banner names both addresses,
    the pages answer, Ctrl-C stops it cleanly."""
    import os
    import signal
    import subprocess
    import sys

    code = ("import sys; from letterhead.cli import cli; from letterhead.cli.dev import dev, preview\n"
            "for c in (dev, preview):\n    cli.add_command(c)\n"
            "sys.argv[0] = 'letterhead'; cli()")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SES_"))}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--root", str(project), "dev", "--port", "0", "--ses-port", "0",
         "--sender", "example.com"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "watching" in line:
                break
        banner = "".join(lines)
        url = re.search(r"preview\s+(http://127\.0\.0\.1:\d+)/", banner)
        assert url, banner
        assert re.search(r"local SES\s+http://127\.0\.0\.1:\d+", banner), banner
        assert "verified senders: example.com" in banner
        assert httpx.get(url.group(1) + "/t/welcome").status_code == 200
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, banner + rest
    assert "stopped" in rest


def test_local_ses_holds_the_compiled_templates_and_follows_saves(project: Path) -> None:
    """A template that does not compile at start is loaded from the last build."""
    shutil.copytree(project / "templates_src" / "welcome", project / "templates_src" / "broken")
    build(load_config(project))
    mjml = project / "templates_src" / "broken" / "template.mjml"
    mjml.write_text(mjml.read_text().replace("{{/if}}", ""))
    srv = DevServer(load_config(project, environ={}), port=0, ses_port=0, senders=["example.com"])
    with srv.serve() as url:
        ses = srv.local_ses
        assert ses is not None
        assert ses.template("welcome") == srv.project.get("welcome").payload  # type: ignore[union-attr]
        built = json.loads((project / "ses_templates" / "broken.json").read_text())["Template"]
        assert ses.template("broken").html == built["HtmlPart"]  # type: ignore[union-attr]
        assert srv.wait_watching()
        (project / "templates_src" / "welcome" / "subject.txt").write_text("Saved {{name}}\n")
        deadline = time.monotonic() + 15
        while ses.template("welcome").subject != "Saved {{{name}}}":  # type: ignore[union-attr]
            assert time.monotonic() < deadline, ses.template("welcome")
            time.sleep(0.02)
        status = httpx.get(url + "/api/status").json()
        assert status["templates"] == {"broken": "error", "welcome": "ok"}
        assert status["ses_endpoint"] == ses.endpoint_url
