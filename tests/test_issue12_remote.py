"""Issue 12, the remote side: every error a user can cause against SES (or
what stands in for it) is a letterhead error with the fix.

* an endpoint that is not SES (an HTML page on loopback, JSON, an empty
  answer, moto's HTML 500 for a region it does not know, a TLS handshake with
  a plain-HTTP port, a malformed endpoint URL, a region botocore refuses)
  makes ``sync``, ``send`` and ``doctor`` say what answered, where, and the
  fix; never ``INTERNAL ERROR``;
* every exception a botocore call can raise ends a send as a ``SendError``
  (faults injected at botocore's ``before-send``), a bulk send as statuses;
* ``sync --verify`` is a gate: anything but "every template verified" exits 2
  and says why;
* ``setup`` converges when a second configuration set is set up on the local
  SES (moto keeps event destination names unique per region).

The SMTP side is in ``test_issue12_smtp.py``.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import exceptions as bx
from botocore.awsrequest import AWSResponse
from botocore.parsers import ResponseParserError
from click.testing import CliRunner

from letterhead import account as acc
from letterhead.cli import account as cli_account
from letterhead.cli.common import Ctx
from letterhead.cli.send import send as send_command
from letterhead.cli.sync import sync as sync_command
from letterhead.config import load_config
from letterhead.deploy.naming import load_settings
from letterhead.deploy.sync import sync as run_sync
from letterhead.deploy.template_store import TemplateStore
from letterhead.errors import (
    DeliveryUnknown,
    EndpointError,
    LetterheadError,
    RemoteError,
    SendError,
    SesUnreachable,
    VerifyFailed,
)
from letterhead.sending.mailer import Mailer
from letterhead.sending.transports import SesTransport

from .send_support import SES_DIR, sample

pytestmark = pytest.mark.aws

REGION = "eu-west-1"
SENDER = "noreply@calndr.club"
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
PREVIEW_PAGE = (b"<!DOCTYPE html>\n<html><head><title>letterhead preview</title></head>"
                b"<body><h1>Templates</h1></body></html>\n")


# -- servers that are not SES ------------------------------------------------------------------------


class NotSes:
    """An HTTP server on loopback that answers every request with one fixed
    answer (an HTML page by default: what the preview on 8040 answers)."""

    def __init__(self, status: int = 200, body: bytes = PREVIEW_PAGE,
                 content_type: str = "text/html; charset=utf-8") -> None:
        answer = (status, body, content_type)
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                outer.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                code, payload, ctype = answer
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def html_server() -> Iterator[NotSes]:
    server = NotSes()
    yield server
    server.close()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for k, v in CREDS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for var in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SES",
                "AWS_SESSION_TOKEN", "SES_CONFIGURATION_SET", "SMTP_HOST", "LETTERHEAD_TRANSPORT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SES_SENDER_EMAIL", SENDER)


@pytest.fixture
def project(tmp_path: Path, aws_env: None) -> Path:
    """A project with the repository's compiled templates and their samples."""
    import shutil

    from .helpers import REPO

    root = tmp_path / "app"
    shutil.copytree(SES_DIR, root / "ses_templates")
    shutil.copytree(REPO / "templates_src", root / "templates_src")
    (root / "pyproject.toml").write_text("[project]\nname = 'app'\n\n[tool.letterhead.sync]\nrate = 1000\n",
                                         encoding="utf-8")
    return root


def sync_cli(root: Path, *args: str) -> Any:
    return CliRunner().invoke(sync_command, ["--root", str(root), "--max-attempts", "1", *args], obj=None)


def doctor_cli(root: Path, *args: str) -> Any:
    return CliRunner().invoke(cli_account.doctor, ["--root", str(root), *args], obj=None)


def send_cli(root: Path, *args: str) -> Any:
    data = root / "code.json"
    data.write_text(json.dumps(sample("email_verification")), encoding="utf-8")
    return CliRunner().invoke(send_command, ["email_verification", "--to", "amira.haddad@example.com",
                                             "--data", str(data), *args], obj=Ctx(root, as_json=False))


def mailer(endpoint_url: str | None, region: str | None = REGION, **kw: Any) -> Mailer:
    return Mailer(sender_email=SENDER, ses_dir=SES_DIR, region=region, endpoint_url=endpoint_url,
                  max_send_rate=1000, environ=dict(CREDS), sleep=lambda s: None, backoff=lambda a: 0.0, **kw)


def not_internal(result: Any) -> str:
    out = result.output
    assert "INTERNAL ERROR" not in out and "this is a bug" not in out, out
    return out


# -- 1. an endpoint that is not SES ---------------------------------------------------------------------


def test_sync_against_an_html_page_says_what_answered_and_exits_1(project: Path, html_server: NotSes) -> None:
    r = sync_cli(project, "--endpoint-url", html_server.url)
    out = not_internal(r)
    assert r.exit_code == 1, out
    assert f"{html_server.url} answered ListTemplates with an HTML page" in out
    assert "not SES" in out and "HTTP 200" in out and "letterhead preview" in out
    assert "fix:" in out and "8041" in out and "letterhead dev" in out


def test_send_against_an_html_page_exits_1(project: Path, html_server: NotSes,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SES", html_server.url)
    r = send_cli(project)
    out = not_internal(r)
    assert r.exit_code == 1, out
    assert "HTML page" in out and html_server.url in out and "8041" in out


def test_doctor_against_an_html_page_fails_the_region_check(project: Path, html_server: NotSes) -> None:
    r = doctor_cli(project, "--endpoint-url", html_server.url)
    out = not_internal(r)
    assert r.exit_code == 2, out  # a failed check, like an unreachable endpoint
    assert "✗ region" in out and "HTML page" in out and html_server.url in out


def test_setup_and_stats_against_an_html_page_exit_1(project: Path, html_server: NotSes) -> None:
    for command in (cli_account.setup, cli_account.stats):
        r = CliRunner().invoke(command, ["--root", str(project), "--endpoint-url", html_server.url], obj=None)
        out = not_internal(r)
        assert r.exit_code == 1, out
        assert "HTML page" in out and html_server.url in out


def test_mailer_send_against_an_html_page_raises_a_letterhead_error(html_server: NotSes) -> None:
    with pytest.raises(SesUnreachable) as info:
        mailer(html_server.url).send("email_verification", "amira.haddad@example.com",
                                     sample("email_verification"))
    err = info.value
    assert isinstance(err, EndpointError)
    assert err.message == (f'{html_server.url} answered SendTemplatedEmail with an HTML page ("letterhead preview"), '
                           "not SES (HTTP 200)")
    assert err.hint and "AWS_ENDPOINT_URL_SES" in err.hint
    assert not err.retryable  # the same page answers the next try
    assert html_server.requests == 1


def test_mailer_bulk_against_an_html_page_reports_every_recipient(html_server: NotSes) -> None:
    result = mailer(html_server.url).send_bulk(
        "email_verification", [(f"user{i}@example.com", sample("email_verification")) for i in range(3)])
    assert not result.sent and len(result.not_sent) == 3
    assert all(isinstance(s.error, SesUnreachable) and "HTML page" in s.error.message for s in result.not_sent)


@pytest.mark.parametrize(("status", "body", "ctype", "words"), [
    (404, b"<html><body><h1>Not Found</h1></body></html>", "text/html", "an HTML page"),
    (200, b'{"templates": []}', "application/json", "JSON"),
    (200, b"", "text/plain", "an empty answer"),
    (200, b"hello", "text/plain", "plain text"),
    (200, b"<?xml version='1.0'?><feed><entry/></feed>", "text/xml", "XML that is not an SES answer"),
])
def test_any_answer_that_is_not_ses_is_named(project: Path, status: int, body: bytes, ctype: str,
                                              words: str) -> None:
    server = NotSes(status, body, ctype)
    try:
        r = sync_cli(project, "--endpoint-url", server.url)
        with pytest.raises(SesUnreachable) as info:
            mailer(server.url).send("email_verification", "a@example.com", sample("email_verification"))
    finally:
        server.close()
    out = not_internal(r)
    assert r.exit_code == 1, out
    assert words in out and f"HTTP {status}" in out
    assert words in info.value.message


def test_a_gateway_error_page_may_have_reached_ses() -> None:
    """A proxy's 502/504 page: the request may have gone through to SES."""
    server = NotSes(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>")
    try:
        with pytest.raises(DeliveryUnknown) as info:
            mailer(server.url).send("email_verification", "a@example.com", sample("email_verification"))
    finally:
        server.close()
    assert "HTTP 502" in info.value.message and "HTML page" in info.value.message


def test_moto_for_a_made_up_region_says_check_the_region(project: Path, moto_url: str) -> None:
    r = sync_cli(project, "--endpoint-url", moto_url, "--region", "xx-made-up-1")
    out = not_internal(r)
    assert r.exit_code == 1, out
    assert "HTML page" in out and "HTTP 500" in out and moto_url in out
    assert "xx-made-up-1" in out and "AWS_REGION" in out
    with pytest.raises(SesUnreachable) as info:
        mailer(moto_url, region="xx-made-up-1").send("email_verification", "a@example.com",
                                                      sample("email_verification"))
    assert "xx-made-up-1" in (info.value.hint or "")
    d = doctor_cli(project, "--endpoint-url", moto_url, "--region", "xx-made-up-1")
    assert d.exit_code == 2 and "xx-made-up-1" in not_internal(d)


def test_doctor_against_motos_server_still_passes_its_reads(project: Path, moto_url: str) -> None:
    """moto's server answers SES v2 GetAccount with an HTML 404: that one read
    is 'not available here', not a wrong endpoint."""
    r = doctor_cli(project, "--endpoint-url", moto_url, "--json")
    report = json.loads(r.stdout)
    sandbox = next(c for c in report["checks"] if c["check"] == "sandbox")
    assert sandbox["status"] != "fail" and "not available" in sandbox["summary"]
    region = next(c for c in report["checks"] if c["check"] == "region")
    assert region["status"] == "ok"


def test_https_to_a_plain_http_port_says_so(project: Path, html_server: NotSes) -> None:
    url = html_server.url.replace("http://", "https://")
    r = sync_cli(project, "--endpoint-url", url)
    out = not_internal(r)
    assert r.exit_code == 1, out
    assert "TLS" in out and url in out and "http://" in out.split("fix:")[1]
    assert "converges" not in out
    with pytest.raises(SesUnreachable) as info:
        mailer(url).send("email_verification", "a@example.com", sample("email_verification"))
    assert "TLS" in info.value.message


@pytest.mark.parametrize("url", ["localhost:8041", "127.0.0.1:8041", "ftp://127.0.0.1:8041", "http://"])
def test_a_malformed_endpoint_url_is_an_error_with_the_fix(project: Path, url: str) -> None:
    r = sync_cli(project, "--endpoint-url", url)
    out = not_internal(r)
    assert r.exit_code == 1 and "endpoint" in out and "http://127.0.0.1:8041" in out, out
    d = doctor_cli(project, "--endpoint-url", url)
    assert d.exit_code in (1, 2) and "http://127.0.0.1:8041" in not_internal(d)
    with pytest.raises(EndpointError):
        mailer(url).send("email_verification", "a@example.com", sample("email_verification"))


def test_a_malformed_endpoint_in_the_aws_config_file(project: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "aws-config"
    config.write_text("[default]\nendpoint_url = localhost:8041\n", encoding="utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    r = sync_cli(project)
    out = not_internal(r)
    assert r.exit_code == 1 and "localhost:8041" in out and "http://127.0.0.1:8041" in out, out


def test_a_region_botocore_refuses_is_a_region_error(project: Path, moto_url: str) -> None:
    r = sync_cli(project, "--endpoint-url", moto_url, "--region", "eu west 1")
    out = not_internal(r)
    assert r.exit_code == 1 and "'eu west 1'" in out and "AWS_REGION" in out, out
    assert "converges" not in out
    with pytest.raises(EndpointError) as info:
        mailer(moto_url, region="eu west 1").send("email_verification", "a@example.com",
                                                  sample("email_verification"))
    assert "AWS_REGION" in (info.value.hint or "")


def test_mailer_without_a_region_is_a_letterhead_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(SendError) as info:
        mailer(None, region=None).send("email_verification", "a@example.com", sample("email_verification"))
    assert "region" in info.value.message and "AWS_REGION" in (info.value.hint or "")


def test_a_server_that_closes_the_connection(project: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.recv(65536)
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        r = sync_cli(project, "--endpoint-url", url)
        with pytest.raises(SendError) as info:
            mailer(url).send("email_verification", "a@example.com", sample("email_verification"))
    finally:
        stop.set()
        t.join()
        listener.close()
    out = not_internal(r)
    assert r.exit_code == 1 and url in out and "closed the connection" in out, out
    assert isinstance(info.value, DeliveryUnknown)  # the request was sent: SES may have it


# -- 1b. every exception of a send ends as a letterhead error ---------------------------------------------


FAULTS: list[Callable[[str], BaseException]] = [
    lambda url: bx.EndpointConnectionError(endpoint_url=url),
    lambda url: bx.ConnectTimeoutError(endpoint_url=url),
    lambda url: bx.ReadTimeoutError(endpoint_url=url),
    lambda url: bx.ConnectionClosedError(endpoint_url=url),
    lambda url: bx.SSLError(endpoint_url=url, error="[SSL: WRONG_VERSION_NUMBER] wrong version number"),
    lambda url: bx.ProxyConnectionError(proxy_url="http://proxy.example:3128", error="refused"),
    lambda url: bx.HTTPClientError(error="broken pipe"),
    lambda url: bx.NoCredentialsError(),
    lambda url: bx.CredentialRetrievalError(provider="sso", error_msg="token expired"),
    lambda url: bx.TokenRetrievalError(provider="sso", error_msg="token expired"),
    lambda url: bx.NoRegionError(),
    lambda url: bx.IncompleteReadError(actual_bytes=1, expected_bytes=2),
    lambda url: bx.ResponseStreamingError(error="reset"),
    lambda url: ResponseParserError("Unable to parse response, invalid XML received: b'<!doctype html>'"),
    lambda url: bx.BotoCoreError(),
    lambda url: RuntimeError("a hook of the application failed"),
    lambda url: NotImplementedError("moto lacks it"),
    lambda url: KeyError("MessageId"),
]


def faulty_client(fault: Callable[[str], BaseException]) -> Any:
    from botocore.config import Config

    c = boto3.client("ses", region_name=REGION, endpoint_url="http://127.0.0.1:9", aws_access_key_id="x",
                     aws_secret_access_key="y", config=Config(retries={"total_max_attempts": 1}))

    def raise_it(request: Any = None, **_: Any) -> None:
        raise fault("http://127.0.0.1:9")

    c.meta.events.register_first("before-send.ses", raise_it)
    return c


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: type(f("u")).__name__)
def test_every_fault_of_a_send_is_a_send_error(fault: Callable[[str], BaseException]) -> None:
    m = mailer(None, client=faulty_client(fault))
    with pytest.raises(SendError):
        m.send("email_verification", "amira.haddad@example.com", sample("email_verification"))
    result = m.send_bulk("email_verification", [(f"u{i}@example.com", sample("email_verification"))
                                                for i in range(3)])
    assert len(result.statuses) == 3 and not result.sent
    assert all(isinstance(s.error, LetterheadError) for s in result.statuses)


@pytest.mark.parametrize("fault", [f for f in FAULTS if not isinstance(f("u"), (RuntimeError, NotImplementedError,
                                                                                  KeyError))],
                         ids=lambda f: type(f("u")).__name__)
def test_every_botocore_fault_of_sync_and_the_account_is_a_remote_error(fault: Callable[[str], BaseException]
                                                                        ) -> None:
    store = TemplateStore(faulty_client(fault), rate=1000)
    with pytest.raises(RemoteError):
        store.list()
    with pytest.raises(RemoteError):
        acc.Account(faulty_client(fault)).send_quota()


@pytest.mark.parametrize(("status", "body"), [(200, PREVIEW_PAGE), (404, b"<html>no</html>"), (200, b""),
                                              (200, b'{"a": 1}'), (500, b"<!doctype html><title>500</title>")])
def test_answers_that_are_not_ses_injected_at_before_send(status: int, body: bytes) -> None:
    """The same check on a client the application made itself."""
    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield body

        def read(self, *_: Any, **__: Any) -> bytes:
            return body

    from botocore.config import Config

    c = boto3.client("ses", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y",
                     config=Config(retries={"total_max_attempts": 1}))
    c.meta.events.register_first("before-send.ses", lambda request=None, **_: AWSResponse(
        request.url, status, {"Content-Type": "text/html"}, Raw()))
    with pytest.raises(SesUnreachable) as info:
        mailer(None, client=c).send("email_verification", "a@example.com", sample("email_verification"))
    assert f"HTTP {status}" in info.value.message and "email.eu-west-1.amazonaws.com" in info.value.message
    with pytest.raises(EndpointError):
        TemplateStore(c, rate=1000).list()


def test_a_read_timeout_may_have_sent_it() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        transport = SesTransport(region=REGION, endpoint_url=url, max_send_rate=1000, read_timeout=0.5,
                                 credentials={"aws_access_key_id": "x", "aws_secret_access_key": "y"})
        m = Mailer(sender_email=SENDER, ses_dir=SES_DIR, transport=transport)
        with pytest.raises(DeliveryUnknown) as info:
            m.send("email_verification", "a@example.com", sample("email_verification"))
    finally:
        listener.close()
    assert url in info.value.message and "did not answer" in info.value.message


# -- 2. sync --verify is a gate ----------------------------------------------------------------------------


def test_verify_against_moto_exits_2_and_says_why(project: Path, moto: None) -> None:
    r = sync_cli(project, "--verify")
    out = not_internal(r)
    assert r.exit_code == 2, out
    n = len(json.loads((project / "ses_templates/manifest.json").read_text())["templates"])  # each locale's too
    assert f"synced: {n} created" in out  # the templates themselves were applied, and it says so
    assert f"{n} NOT VERIFIED" in out and "moto" in out
    assert "verify did not pass" in out and "fix:" in out
    j = sync_cli(project, "--verify", "--json")
    data = json.loads(j.stdout)
    assert j.exit_code == 2 and data["ok"] is False and data["verified"]["not-verified"] == n


def test_verify_failures_exit_2(project: Path) -> None:
    from botocore.stub import ANY, Stubber

    client = boto3.client("ses", region_name=REGION)
    stub = Stubber(client)
    stub.add_response("list_templates", {"TemplatesMetadata": []}, {"MaxItems": 100})
    for _ in json.loads((project / "ses_templates/manifest.json").read_text())["templates"]:
        stub.add_response("create_template", {}, {"Template": ANY})
    stub.add_client_error("test_render_template", "MissingRenderingAttribute", "Attribute 'x' is not present",
                          400)
    for _ in range(20):
        stub.add_response("test_render_template", {"RenderedTemplate": "ok"})
    config = load_config(project)
    with stub, pytest.raises(VerifyFailed) as info:
        run_sync(config, load_settings(config, None), store=TemplateStore(client, rate=1000), verify=True)
    assert info.value.exit_code == 2


def test_verify_help_says_it_is_a_gate() -> None:
    r = CliRunner().invoke(sync_command, ["--help"])
    text = " ".join(r.output.split())
    assert "2 --check found drift or --verify did not pass" in text


# -- 4. setup converges on the local SES with a second configuration set ---------------------------------------


def _account() -> acc.Account:
    return acc.Account(boto3.client("ses", region_name=REGION), None, region=REGION)


def test_setup_a_second_configuration_set_in_process(moto: None) -> None:
    account = _account()
    acc.setup(account, acc.SetupSpec(SENDER, "set-a"))
    second = acc.setup(account, acc.SetupSpec(SENDER, "set-b"))
    assert {c.action for c in second.applied} == {"create-configuration-set", "create-event-destination"}
    state = account.configuration_set("set-b")
    assert state is not None and not state.missing()
    for name in ("set-b", "set-a"):
        again = acc.setup(account, acc.SetupSpec(SENDER, name))
        assert again.plan.empty, (name, again.plan.changes)


def test_setup_a_second_configuration_set_via_the_cli_and_motos_server(project: Path, moto_url: str) -> None:
    def setup(name: str) -> Any:
        return CliRunner().invoke(cli_account.setup, ["--root", str(project), "--endpoint-url", moto_url,
                                                      "--configuration-set", name], obj=None)

    assert setup("set-a").exit_code == 0
    b = setup("set-b")
    assert b.exit_code == 0, b.output
    assert "Duplicate" not in b.output
    assert "add CloudWatch destination letterhead-cloudwatch-set-b" in b.output  # the name it really made
    again = setup("set-b")
    assert again.exit_code == 0 and "nothing to change" in again.output, again.output
    d = doctor_cli(project, "--endpoint-url", moto_url, "--configuration-set", "set-b", "--json")
    checks = {c["check"]: c["status"] for c in json.loads(d.stdout)["checks"]}
    assert checks["event_destinations"] == "ok"


def test_when_the_local_ses_cannot_hold_both_destinations_setup_says_so(moto: None) -> None:
    """moto keeps one destination per set: with --sns-topic each run replaces
    the other destination, until both names are taken; then setup says why
    instead of promising that a rerun converges."""
    from letterhead.errors import ConfigurationSetError

    account = _account()
    spec = acc.SetupSpec(SENDER, "letterhead", sns_topic_arn="arn:aws:sns:eu-west-1:123456789012:alerts")
    with pytest.raises(ConfigurationSetError) as info:
        for _ in range(6):
            acc.setup(account, spec)
    err = info.value
    assert "one per set" in err.message and "letterhead-cloudwatch-letterhead" in err.message
    assert err.hint and "--sns-topic" in err.hint and "converges" not in err.hint


def test_no_hint_promises_a_rerun_converges_for_a_refused_destination() -> None:
    from letterhead.aws.errors import ACCOUNT_FIXES

    for code in ("InvalidCloudWatchDestination", "InvalidFirehoseDestination", "InvalidConfigurationSet"):
        _, hint = ACCOUNT_FIXES.codes[code]
        assert "converges" not in hint, code
