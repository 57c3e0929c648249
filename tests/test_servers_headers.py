"""Issue 10, section 4: the local servers and the headers.

* The local SES and the preview site answer only loopback ``Host`` names and
  no foreign ``Origin`` (DNS rebinding, CORS): a web page the developer opens
  must not read the sent messages.  boto3 and the AWS CLI keep working.
* The dev server's render API answers malformed bodies with a 4xx, never 500.
* ``SES_SENDER_NAME`` can never carry an address or a line break into From,
  and no header line passes RFC 5322's 998 characters (checked on what a real
  SMTP server received, parsed with the email package).
* DEBUG logging of botocore never shows an access key id, secret, session
  token or signature.
"""

from __future__ import annotations

import email
import http.client
import json
import logging
import os
import re
import shutil
import subprocess
from email import policy
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import boto3
import httpx
import pytest

from letterhead.config import MAX_SENDER_NAME_CHARS, load_config
from letterhead.dev.devserver import DevServer
from letterhead.errors import ConfigError
from letterhead.dev.localses import LocalSes
from letterhead.authoring.payload import SesTemplate
from letterhead.sending.mailer import Mailer
from letterhead.sending.transports import OutboxTransport, SmtpTransport

from .helpers import PROJECTS, REPO, make_project, run_cli
from .send_support import sample
from .test_transports import Inbox, smtp  # noqa: F401 - the SMTP server fixture

pytestmark = pytest.mark.aws

SES_DIR = REPO / "ses_templates"
SENDER = "noreply@calndr.club"
EVIL = "https://evil.example"


# --- raw HTTP: headers exactly as a browser (or an attacker's page) sends them -------------------------


def _request(url: str, method: str, path: str, headers: dict[str, str],
             body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in {"Host": parts.netloc, **headers}.items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def running_ses() -> Iterator[LocalSes]:
    with LocalSes() as ses:
        yield ses


@pytest.fixture
def local_ses(running_ses: LocalSes) -> LocalSes:
    """moto keeps one state per process (a dev server's start resets it): set it up per test."""
    running_ses.reset()
    running_ses.verify("calndr.club")
    running_ses.load_templates(SES_DIR)
    return running_ses


def _send_one(ses: LocalSes, endpoint: str | None = None) -> str:
    c = boto3.client("ses", endpoint_url=endpoint or ses.endpoint_url, region_name=ses.region,
                     aws_access_key_id="any", aws_secret_access_key="any")
    return c.send_templated_email(Source=SENDER, Destination={"ToAddresses": ["amira@example.org"]},
                                  Template="email_verification",
                                  TemplateData=json.dumps({"code": "SECRET-CODE-048213"}))["MessageId"]


# --- 1. the local SES: Host and Origin ---------------------------------------------------------------


def test_local_ses_refuses_a_page_from_another_origin(local_ses: LocalSes) -> None:
    _send_one(local_ses)
    url = local_ses.endpoint_url
    status, headers, body = _request(url, "GET", "/moto-api/data.json", {"Origin": EVIL})
    assert status == 403 and b"cross-origin" in body
    assert b"SECRET-CODE" not in body and "access-control-allow-origin" not in headers
    # the CORS preflight a page's fetch() would make, and the reset it could POST
    status, headers, _ = _request(url, "OPTIONS", "/moto-api/reset",
                                  {"Origin": EVIL, "Access-Control-Request-Method": "POST"})
    assert status == 403 and "access-control-allow-origin" not in headers
    status, _, _ = _request(url, "POST", "/moto-api/reset", {"Origin": EVIL}, b"")
    assert status == 403
    assert any(m.template == "email_verification" for m in local_ses.sent_messages())  # not reset
    assert local_ses.template("email_verification") is not None


def test_local_ses_refuses_a_rebound_host_name(local_ses: LocalSes) -> None:
    _send_one(local_ses)
    port = local_ses.port
    for host in (f"evil.example:{port}", f"127.0.0.1.nip.io:{port}", "evil.example"):
        status, _, body = _request(local_ses.endpoint_url, "GET", "/moto-api/data.json", {"Host": host})
        assert status == 400 and b"unknown host" in body and b"SECRET-CODE" not in body
    # the SES API itself too (the action a page would POST with a form)
    status, _, _ = _request(local_ses.endpoint_url, "POST", "/", {
        "Host": f"evil.example:{port}", "Content-Type": "application/x-www-form-urlencoded"},
        b"Action=ListTemplates")
    assert status == 400


def test_boto3_the_aws_cli_and_same_origin_pages_still_work(local_ses: LocalSes, tmp_path: Path) -> None:
    port = local_ses.port
    message_id = _send_one(local_ses, f"http://localhost:{port}")
    assert message_id in {m.id for m in local_ses.sent_messages()}
    status, headers, body = _request(local_ses.endpoint_url, "GET", "/moto-api/data.json",
                                     {"Origin": f"http://127.0.0.1:{port}"})
    assert status == 200 and b"TemplateMessage" in body
    assert "access-control-allow-origin" not in headers  # moto's echo is gone for every answer
    aws = shutil.which("aws")
    assert aws is not None
    env = {**os.environ, **local_ses.environ(), "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "c"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "cr")}
    done = subprocess.run([aws, "ses", "list-templates", "--endpoint-url", local_ses.endpoint_url,
                           "--output", "json"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "email_verification" in done.stdout


# --- the preview site: the same rule -----------------------------------------------------------------


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevServer, str]]:
    root = make_project(tmp_path_factory.mktemp("srv"))
    srv = DevServer(load_config(root, environ={}), port=0, ses_port=0, senders=["example.com"])
    with srv.serve() as url:
        yield srv, url


def test_preview_site_refuses_other_origins_and_hosts(dev: tuple[DevServer, str]) -> None:
    srv, url = dev
    body = json.dumps({"data": {"name": "Ada", "url": "https://x.org"}}).encode()
    json_headers = {"Content-Type": "application/json"}
    status, headers, text = _request(url, "POST", "/api/render/welcome", {**json_headers, "Origin": EVIL}, body)
    assert status == 403 and b"Ada" not in text and "access-control-allow-origin" not in headers
    status, _, _ = _request(url, "GET", "/api/outbox", {"Origin": "null"})
    assert status == 403
    status, _, text = _request(url, "POST", "/api/render/welcome",
                               {**json_headers, "Origin": f"http://127.0.0.1:{srv.port}"}, body)
    assert status == 200 and b"Hello Ada" in text  # the page's own fetch() sends its origin
    assert _request(url, "GET", "/", {"Host": f"evil.example:{srv.port}"})[0] == 400
    # and `letterhead dev`'s own local SES
    assert srv.local_ses is not None
    status, headers, _ = _request(srv.local_ses.endpoint_url, "GET", "/moto-api/data.json", {"Origin": url})
    assert status == 403 and "access-control-allow-origin" not in headers


# --- 2. the render API and malformed bodies ---------------------------------------------------------------


def _render(url: str, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(url + "/api/render/welcome", content=body,
                      headers={"Content-Type": "application/json", **headers}, timeout=30)


def test_render_api_answers_400_to_deeply_nested_json(dev: tuple[DevServer, str]) -> None:
    _, url = dev
    deep = b'{"data": {"name": "Ada", "url": "https://x.org", "x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}}"
    assert len(deep) > 400_000
    r = _render(url, deep)
    assert r.status_code == 400
    assert "nested" in r.json()["error"]["summary"]
    # shallow enough for json, too deep to render: still the same answer
    r = _render(url, b'{"data": {"name": "Ada", "url": "https://x.org", "x": ' + b'{"a": ' * 900 + b"1"
                + b"}" * 900 + b"}}")
    assert r.status_code == 400 and "nested" in r.json()["error"]["summary"]


@pytest.mark.parametrize("body, words", [
    (b"[1, 2]", "JSON object"),
    (b'"text"', "JSON object"),
    (b'{"data": [1]}', "`data` must be a JSON object"),
    (b'{"data": "x"}', "`data` must be a JSON object"),
    (b'{"sample": 5}', "`sample` must be"),
    (b'{"sample": "no-such-sample"}', "no sample named"),
    (b'{"data": {"name": NaN, "url": "https://x.org"}}', "NaN"),
    (b"\xff\xfe{}", "UTF-8"),
])
def test_render_api_answers_400_to_malformed_bodies(dev: tuple[DevServer, str], body: bytes, words: str) -> None:
    _, url = dev
    r = _render(url, body)
    assert r.status_code == 400, r.text
    assert words in r.json()["error"]["headline"] + " " + r.json()["error"]["summary"]


def test_render_api_refuses_a_declared_huge_body_without_reading_it(dev: tuple[DevServer, str]) -> None:
    _, url = dev
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        conn.putrequest("POST", "/api/render/welcome")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(50 * 1024 * 1024))
        conn.endheaders(b'{"data": ')  # and nothing more: the answer must not wait for 50 MB
        resp = conn.getresponse()
        assert resp.status == 413 and "too large" in json.loads(resp.read())["error"]["headline"]
    finally:
        conn.close()


# --- 3. the sender's display name -------------------------------------------------------------------------

# Each once made a From header that named another address, broke with a raw
# ValueError, or wrote a line over 998 characters.
UNSAFE_NAMES = {
    "line break": "Calndr Club\r\nBcc: everyone@example.org",
    "encoded line break": "=?utf-8?q?Calndr=0D=0ABcc=3A_x=40evil=2Eexample?=",
    "encoded address": "=?utf-8?q?Zo=C3=AB_=3Cboss=40bank=2Eexample=3E?=",
    "bidi override": "Calndr \u202eknab\u202c Club",
    "2,000 characters": "x" * 2000,
}


@pytest.mark.parametrize("name", UNSAFE_NAMES.values(), ids=UNSAFE_NAMES.keys())
def test_an_unsafe_sender_name_fails_when_the_configuration_is_read(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, environ={"SES_SENDER_EMAIL": SENDER, "SES_SENDER_NAME": name})
    assert "SES_SENDER_NAME" in info.value.message and "SES_SENDER_NAME" in (info.value.hint or "")
    assert "\n" not in info.value.message and name not in str(info.value)
    with pytest.raises(ConfigError):  # a name handed to the Mailer itself: the same rule
        Mailer(sender_email=SENDER, sender_name=name, ses_dir=SES_DIR, transport=OutboxTransport())


def test_the_cli_names_the_dotenv_line_of_a_bad_sender_name(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    shutil.copy(PROJECTS / "srv-sender" / "env.txt", root / ".env")
    data = root / "templates_src" / "welcome" / "samples" / "default.json"
    done = run_cli("send", "welcome", "--to", "ada@example.org", "--data", str(data), "--transport", "outbox",
                   cwd=root)
    assert done.returncode == 1, done.stderr
    out = done.stdout + done.stderr
    assert ".env:3" in out and "SES_SENDER_NAME" in out and f"at most {MAX_SENDER_NAME_CHARS}" in out
    assert "shorten SES_SENDER_NAME" in out and "INTERNAL ERROR" not in out
    assert not (root / ".outbox").exists()


SAFE_NAMES = {
    "angle brackets, non-ASCII": "Zoë <boss@bank.example>",
    "angle brackets, ASCII": "Zoe <boss@bank.example>",
    "quotes and a comma": 'The "Real" Bank, Inc. <boss@bank.example>',
    "longest ASCII": "x" * MAX_SENDER_NAME_CHARS,
    "longest non-ASCII": "🌻" * MAX_SENDER_NAME_CHARS,
}


def _lines_ok(raw: bytes) -> None:
    lines = raw.split(b"\r\n") if b"\r\n" in raw else raw.split(b"\n")
    assert max(len(line) for line in lines) <= 998


def _from(msg: email.message.EmailMessage) -> tuple[str, str]:
    [address] = msg["From"].addresses
    raw = dict(msg.raw_items())["From"]  # as written: the parsed header inserts spaces between encoded words
    # the display name decoded as RFC 2047 says (adjacent encoded words join without a space)
    name = str(make_header(decode_header(raw.rsplit("<", 1)[0].strip()))).strip('"') if "<" in raw else ""
    return address.addr_spec, name


@pytest.mark.parametrize("name", SAFE_NAMES.values(), ids=SAFE_NAMES.keys())
def test_a_sender_name_arrives_as_a_name_over_real_smtp(smtp: Any, tmp_path: Path, name: str) -> None:  # noqa: F811
    inbox, port = smtp
    config = load_config(tmp_path, environ={"SES_SENDER_EMAIL": SENDER, "SES_SENDER_NAME": name})
    mailer = Mailer(sender_email=config.sender_email or "", sender_name=config.sender_name, ses_dir=SES_DIR,
                    transport=SmtpTransport("127.0.0.1", port, security="none", timeout=10))
    mailer.send("email_verification", "amira@example.org", sample("email_verification"))
    [(mail_from, _, raw)] = inbox.messages
    assert mail_from == SENDER
    _lines_ok(raw)
    msg = email.message_from_bytes(raw, policy=policy.default)
    addr, shown = _from(msg)  # type: ignore[arg-type]
    assert addr == SENDER
    assert shown.replace('\\"', '"') == name


@pytest.mark.parametrize("name", SAFE_NAMES.values(), ids=SAFE_NAMES.keys())
def test_a_sender_name_is_a_name_in_the_outbox_and_for_ses(local_ses: LocalSes, tmp_path: Path, name: str) -> None:
    outbox = OutboxTransport(tmp_path / "outbox")
    Mailer(sender_email=SENDER, sender_name=name, ses_dir=SES_DIR, transport=outbox).send(
        "email_verification", "amira@example.org", sample("email_verification"))
    [kept] = outbox.messages
    assert kept.path is not None
    raw = kept.path.read_bytes()
    _lines_ok(raw)
    assert _from(email.message_from_bytes(raw, policy=policy.default))[0] == SENDER  # type: ignore[arg-type]
    # SES: the Source string, parsed as a From header, names only the sender
    ses = Mailer(sender_email=SENDER, sender_name=name, ses_dir=SES_DIR, transport="ses", client=local_ses.client(),
                 max_send_rate=1000)
    message_id = ses.send("email_verification", "amira@example.org", sample("email_verification"))
    [sent] = [m for m in local_ses.sent_messages() if m.id == message_id]
    assert len(sent.source) <= 998
    header = email.message_from_string(f"From: {sent.source}\n\n", policy=policy.default)
    assert [a.addr_spec for a in header["From"].addresses] == [SENDER]


# --- 4. credentials stay out of DEBUG logs ------------------------------------------------------------


KEY_ID = "AKIAZZTESTKEY7EXAMPL"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue0123456789abcdefLETTERHEADtok"


def test_debug_logs_of_send_sync_and_account_hold_no_credentials(
        local_ses: LocalSes, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from letterhead.account import Account, AccountSettings
    from letterhead.deploy.template_store import TemplateStore

    for k, v in {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": TOKEN,
                 "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    caplog.set_level(logging.DEBUG)
    region, url = local_ses.region, local_ses.endpoint_url
    signatures: list[str] = []

    def grab(request: Any, **_: Any) -> None:
        auth = request.headers.get("Authorization", b"")
        signatures.append((auth.decode() if isinstance(auth, bytes) else auth).rsplit("Signature=", 1)[-1])

    mailer = Mailer(sender_email=SENDER, ses_dir=SES_DIR, transport="ses", region=region, endpoint_url=url,
                    max_send_rate=1000)
    ses_transport = mailer._ses()
    assert ses_transport is not None
    ses_transport.client.meta.events.register("before-send", grab)
    mailer.send("email_verification", "amira@example.org", sample("email_verification"))
    store = TemplateStore.connect(region=region, endpoint_url=url)
    store.client.meta.events.register("before-send", grab)
    assert "email_verification" in {t.name for t in store.list()}
    account = Account.connect(AccountSettings(region=region, endpoint_url=url))
    account.ses.meta.events.register("before-send", grab)
    account.ses.get_send_quota()

    text = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert "botocore.endpoint" in text and "Sending http request" in text  # DEBUG was really on
    assert len(signatures) >= 3 and all(re.fullmatch(r"[0-9a-f]{64}", s) for s in signatures)
    for secret in (KEY_ID, SECRET, TOKEN, *signatures):
        assert secret not in text
    assert not re.search(r"\bA(KIA|SIA)[A-Z0-9]{12,}", text)
    assert "SECRET-CODE" not in text and "amira@" not in text  # template data and addresses: withheld too


def test_credentials_from_an_assumed_role_stay_out_of_debug_logs(
        local_ses: LocalSes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """boto3's chain assumes a role (through STS, here moto's): botocore logs
    STS's answer, which holds the temporary secret key and session token."""
    from letterhead.deploy.template_store import TemplateStore

    (tmp_path / "config").write_text("[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/letterhead\n"
                                      "source_profile = base\nregion = us-east-1\n")
    (tmp_path / "credentials").write_text(f"[base]\naws_access_key_id = {KEY_ID}\n"
                                           f"aws_secret_access_key = {SECRET}\n")
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", local_ses.endpoint_url)
    caplog.set_level(logging.DEBUG)
    store = TemplateStore.connect(region=local_ses.region, endpoint_url=local_ses.endpoint_url, profile="deploy")
    assert "email_verification" in {t.name for t in store.list()}
    creds = store.client._request_signer._credentials.get_frozen_credentials()
    assert creds.access_key != KEY_ID and creds.token  # the role's temporary credentials were used
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert "AssumeRole" in text and "Response body" in text  # STS's answer was logged
    for secret in (KEY_ID, SECRET, creds.access_key, creds.secret_key, creds.token):
        assert secret not in text
