"""Issue 12: the local loop is usable at volume.

1. The local SES of ``letterhead dev`` reports a quota that does not pace
   local work (a Mailer with ``SES_MAX_SEND_RATE`` unset reads it), and
   ``letterhead send --recipients`` shows progress on stderr.
2. The outbox is paged, loads message bodies on demand, and can be cleared
   (only the sent messages: templates and verified senders stay).

No timing assertions: pacing is measured on a fake clock, waits are for
state, never for a duration.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from click.testing import CliRunner

from letterhead.authoring.safety import prepare_data
from letterhead.aws.quota import SendQuota
from letterhead.aws.ratelimit import RateLimiter
from letterhead.config import load_config
from letterhead.dev.devserver import DevServer
from letterhead.dev.localses import LOCAL_MAX_24_HOUR_SEND, LOCAL_MAX_SEND_RATE, LocalSes
from letterhead.sending.mailer import Mailer
from letterhead.sending.transports import SesTransport

from .helpers import make_project
from .send_support import SES_DIR

pytestmark = pytest.mark.aws

SENDER = "noreply@calndr.club"


def _verification(to: str, code: str = "048213") -> dict[str, Any]:
    return {"code": code, "email": to, "expires_at": "14:32 UTC"}


@pytest.fixture
def calndr_ses() -> Iterator[LocalSes]:
    """The local SES with the committed (Calndr) templates and sender."""
    with LocalSes(senders=["calndr.club"]) as ses:
        ses.load_templates(SES_DIR)
        yield ses


def _boto(ses: LocalSes) -> Any:
    return boto3.client("ses", endpoint_url=ses.endpoint_url, region_name=ses.region,
                        aws_access_key_id="app", aws_secret_access_key="app")


# -- 1. the quota the local SES reports ---------------------------------------------------------------


def test_the_local_ses_reports_a_quota_that_does_not_pace_local_work(calndr_ses: LocalSes) -> None:
    c = _boto(calndr_ses)
    quota = c.get_send_quota()
    assert quota["MaxSendRate"] == LOCAL_MAX_SEND_RATE == 1000.0
    assert quota["Max24HourSend"] == LOCAL_MAX_24_HOUR_SEND == -1.0  # SES's "unlimited"
    assert quota["SentLast24Hours"] == 0.0
    assert SendQuota.from_api(quota).unlimited and not SendQuota.from_api(quota).looks_like_sandbox
    c.send_templated_email(Source=SENDER, Destination={"ToAddresses": ["a@example.org", "b@example.org"]},
                           Template="email_verification",
                           TemplateData=json.dumps(prepare_data(_verification("a@example.org"))))
    assert c.get_send_quota()["SentLast24Hours"] == 2.0  # moto's own count still shows through
    # every other call passes the quota layer untouched
    assert [t["Name"] for t in c.list_templates()["TemplatesMetadata"]]
    assert c.get_send_statistics()["ResponseMetadata"]["HTTPStatusCode"] == 200


class _FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _mailer_on(ses: LocalSes, fake: _FakeTime) -> Mailer:
    """A Mailer as an application builds it against the local SES: the
    endpoint and region from the environment, SES_MAX_SEND_RATE unset."""
    environ = ses.environ()
    assert "SES_MAX_SEND_RATE" not in environ
    mailer = Mailer(sender_email=SENDER, ses_dir=SES_DIR, region=ses.region,
                    endpoint_url=environ["AWS_ENDPOINT_URL_SES"], environ=environ)
    transport = mailer.transport
    assert isinstance(transport, SesTransport)
    # the limiter the transport starts with (the sandbox's 1/s until the quota is read), on a fake clock
    transport.limiter = RateLimiter(transport.limiter.rate, transport.limiter.burst, clock=fake.clock,
                                    sleep=fake.sleep)
    return mailer


@pytest.mark.slow  # 300 calls, one at a time
def test_a_mailer_with_no_rate_set_sends_300_to_the_local_ses_without_pacing(calndr_ses: LocalSes) -> None:
    fake = _FakeTime()
    with _mailer_on(calndr_ses, fake) as mailer:
        for i in range(300):
            mailer.send("email_verification", f"u{i}@example.org", _verification(f"u{i}@example.org"))
        limiter = mailer.transport.limiter  # type: ignore[attr-defined]
        assert limiter.rate == LOCAL_MAX_SEND_RATE  # read from the local SES's quota
        assert sum(fake.sleeps) < 1.0, f"paced {sum(fake.sleeps):.1f} s for 300 local sends"
    assert len(calndr_ses.sent_messages()) == 300


def test_a_bulk_send_of_300_to_the_local_ses_is_not_paced_either(calndr_ses: LocalSes) -> None:
    fake = _FakeTime()
    with _mailer_on(calndr_ses, fake) as mailer:
        result = mailer.send_bulk("email_verification",
                                  [(f"u{i}@example.org", _verification(f"u{i}@example.org")) for i in range(300)])
        assert result.ok and len(result.sent) == 300
        assert mailer.transport.limiter.rate == LOCAL_MAX_SEND_RATE  # type: ignore[attr-defined]
        assert sum(fake.sleeps) < 1.0, f"paced {sum(fake.sleeps):.1f} s for 300 local sends"


def test_letterhead_dev_help_says_which_quota_the_local_ses_reports() -> None:
    from letterhead.cli.dev import dev

    result = CliRunner().invoke(dev, ["--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "1,000 messages a second" in text and "no 24-hour limit" in text and "SES_MAX_SEND_RATE" in text


def test_letterhead_dev_banner_says_which_quota_the_local_ses_reports(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from letterhead.cli.common import Ctx
    from letterhead.cli.dev import dev

    root = make_project(tmp_path)
    monkeypatch.setattr(DevServer, "run", lambda self: self.stop())  # the banner, then stop at once
    result = CliRunner().invoke(dev, ["--port", "0", "--ses-port", "0", "--sender", "example.com"],
                                obj=Ctx(root, as_json=False), env={"AWS_REGION": ""}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "quota: 1,000 messages/s, no 24-hour limit" in result.stdout


# -- 1. bulk sends from the command line show progress --------------------------------------------------


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    (root / "ses_templates").mkdir(parents=True)
    for p in SES_DIR.glob("*.json"):
        (root / "ses_templates" / p.name).write_bytes(p.read_bytes())
    (root / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    return root


def _recipients(path: Path, n: int, *, broken: Callable[[int], bool] = lambda i: False) -> Path:
    lines = ["# one recipient a line: an address, or {\"to\", \"data\"}", ""]
    for i in range(n):
        data = _verification(f"u{i}@example.org", code=f"{i:06d}")
        if broken(i):
            del data["code"]
        lines.append(json.dumps({"to": f"u{i}@example.org", "data": data}))
    path.write_text("\n".join(lines) + "\n")
    return path


def _send_cli(args: list[str], root: Path, ses: LocalSes | None) -> Any:
    from letterhead.cli.common import Ctx
    from letterhead.cli.send import send

    env = {"SES_SENDER_EMAIL": SENDER, "SES_SENDER_NAME": "Calndr Club", "SMTP_HOST": "", "LETTERHEAD_TRANSPORT": "",
           "SES_MAX_SEND_RATE": ""}
    if ses is not None:
        env.update(ses.environ())
    return CliRunner().invoke(send, args, obj=Ctx(root, as_json="--json" in args), env=env, catch_exceptions=False)


def test_cli_bulk_send_shows_progress_lines_on_stderr(calndr_ses: LocalSes, tmp_path: Path) -> None:
    root = _project(tmp_path)
    recipients = _recipients(tmp_path / "people.jsonl", 300)
    result = _send_cli(["email_verification", "--recipients", str(recipients)], root, calndr_ses)
    assert result.exit_code == 0, result.output
    assert "sent 300 of 300" in result.stdout
    progress = [line for line in result.stderr.splitlines() if line.startswith("sending email_verification")]
    # not a terminal (CI, a log file): a line every tenth of the way, the last one at 300/300
    assert len(progress) == 10, result.stderr
    assert progress[0].startswith("sending email_verification: 30/300") and "300/300" in progress[-1]
    assert "\r" not in result.stderr
    sent = calndr_ses.sent_messages()
    assert len(sent) == 300 and {m.to for m in sent} == {(f"u{i}@example.org",) for i in range(300)}
    assert json.loads(sent[0].template_data or "{}")["code"] == "000000"  # each recipient's own data


def test_cli_bulk_send_with_json_prints_no_progress(calndr_ses: LocalSes, tmp_path: Path) -> None:
    root = _project(tmp_path)
    recipients = _recipients(tmp_path / "people.jsonl", 60)
    result = _send_cli(["email_verification", "--recipients", str(recipients), "--json"], root, calndr_ses)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    out = json.loads(result.stdout)
    assert out["ok"] and out["counts"]["sent"] == 60 and out["transport"] == "ses"
    assert len(out["statuses"]) == 60 and out["statuses"][0]["key"] == 3


def test_cli_bulk_send_names_each_refused_recipient_and_exits_1(calndr_ses: LocalSes, tmp_path: Path) -> None:
    root = _project(tmp_path)
    recipients = _recipients(tmp_path / "people.jsonl", 20, broken=lambda i: i in (4, 11))
    result = _send_cli(["email_verification", "--recipients", str(recipients)], root, calndr_ses)
    assert result.exit_code == 1, result.output
    assert "sent 18 of 20" in result.stdout and "2 invalid" in result.stdout
    assert f"{recipients.name}:7: invalid: " in result.output  # line 7 holds recipient #5
    assert "u4@example.org" not in result.output  # named by its line, not its address (CI logs)
    assert "missing variable `code`" in result.output
    assert len(calndr_ses.sent_messages()) == 18


def test_cli_recipients_may_be_plain_addresses_sharing_data(calndr_ses: LocalSes, tmp_path: Path) -> None:
    root = _project(tmp_path)
    data = tmp_path / "data.json"
    data.write_text(json.dumps(_verification("shared@example.org")))
    people = tmp_path / "people.txt"
    people.write_text("a@example.org\n  b@example.org  \n\n# skipped\nc@example.org\n")
    result = _send_cli(["email_verification", "--recipients", str(people), "--data", str(data)], root, calndr_ses)
    assert result.exit_code == 0, result.output
    assert sorted(m.to for m in calndr_ses.sent_messages()) == [("a@example.org",), ("b@example.org",),
                                                                ("c@example.org",)]


def test_cli_recipients_from_stdin(calndr_ses: LocalSes, tmp_path: Path) -> None:
    from letterhead.cli.common import Ctx
    from letterhead.cli.send import send

    root = _project(tmp_path)
    data = tmp_path / "data.json"
    data.write_text(json.dumps(_verification("shared@example.org")))
    env = {"SES_SENDER_EMAIL": SENDER, "SMTP_HOST": "", "LETTERHEAD_TRANSPORT": "", **calndr_ses.environ()}
    result = CliRunner().invoke(send, ["email_verification", "--recipients", "-", "--data", str(data)],
                                input="a@example.org\nb@example.org\n", obj=Ctx(root, as_json=False), env=env)
    assert result.exit_code == 0, result.output
    assert len(calndr_ses.sent_messages()) == 2


def test_progress_lines_also_come_with_time_on_a_long_slow_send() -> None:
    from letterhead.cli.send import PROGRESS_SECONDS, BulkProgress
    from letterhead.sending.mailer import RecipientStatus

    now = [0.0]
    runner = CliRunner()
    with runner.isolation() as (_, err, _):
        progress = BulkProgress("sending x", 10_000, terminal=False, clock=lambda: now[0])
        for i in range(30):  # far from a tenth of the way, but a minute and a half pass
            now[0] += PROGRESS_SECONDS / 10
            progress.advance(RecipientStatus(i, None, ("a@example.org",), "sent" if i != 3 else "failed"))
        progress.close()
        lines = err.getvalue().decode().splitlines()  # type: ignore[union-attr]
    assert lines == ["sending x: 10/10000 (0 %), 1 not sent", "sending x: 20/10000 (0 %), 1 not sent",
                     "sending x: 30/10000 (0 %), 1 not sent"]


@pytest.mark.parametrize("content, args, words", [
    ("a@example.org\n{not json\n", [], "people.txt:2: "),
    ('["a@example.org"]\n', [], "people.txt:1: "),
    ('{"data": {}}\n', [], "people.txt:1: "),
    ("", [], "no recipients"),
    ("a@example.org\n", ["--to", "b@example.org"], "--to or --recipients"),
])
def test_cli_recipients_file_errors_say_where(tmp_path: Path, content: str, args: list[str], words: str) -> None:
    root = _project(tmp_path)
    people = tmp_path / "people.txt"
    people.write_text(content)
    data = tmp_path / "data.json"
    data.write_text(json.dumps(_verification("shared@example.org")))
    result = _send_cli(["email_verification", "--recipients", str(people), "--data", str(data),
                        "--transport", "outbox", *args], root, None)
    assert result.exit_code == 1, result.output
    assert words in result.output


def test_cli_send_needs_data_for_to(tmp_path: Path) -> None:
    root = _project(tmp_path)
    result = _send_cli(["email_verification", "--to", "a@example.org", "--transport", "outbox"], root, None)
    assert result.exit_code == 1 and "--data" in result.output


@pytest.mark.slow
def test_cli_bulk_progress_on_a_terminal_is_one_bar_updated_in_place(calndr_ses: LocalSes, tmp_path: Path) -> None:
    """The installed command with a real terminal (a pty) on stderr."""
    import pty
    import subprocess
    import sys

    root = _project(tmp_path)
    recipients = _recipients(tmp_path / "people.jsonl", 120)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SES_", "SMTP_", "LETTERHEAD_"))}
    env.update(calndr_ses.environ(), SES_SENDER_EMAIL=SENDER, TERM="xterm", COLUMNS="100")
    leader, follower = pty.openpty()
    exe = Path(sys.executable).parent / "letterhead"
    try:
        done = subprocess.run([str(exe), "send", "email_verification", "--recipients", str(recipients)], cwd=root,
                              env=env, stdout=subprocess.PIPE, stderr=follower, timeout=120)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    terminal = b"".join(chunks).decode("utf-8", "replace")
    assert done.returncode == 0, terminal
    assert b"sent 120 of 120" in done.stdout
    assert "120/120" in terminal and "\r" in terminal  # redrawn in place
    assert terminal.count("\n") <= 2, terminal


# -- 2. the outbox: paged, bodies on demand, a clear button ------------------------------------------------


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevServer, str]]:
    root = make_project(tmp_path_factory.mktemp("issue12"))
    server = DevServer(load_config(root, environ={}), port=0, ses_port=0, senders=["example.com"])
    with server.serve() as url:
        yield server, url


def _clear(url: str) -> httpx.Response:
    return httpx.post(url + "/api/outbox/clear", json={}, timeout=30)


def _wait_sent(url: str, n: int, timeout: float = 180) -> None:
    # A bound on waiting, not a speed target: 300 sends take ~6 s alone, ~26 s under
    # `make test`'s coverage, and a clean CI run on a loaded machine once passed 60 s.
    deadline = time.monotonic() + timeout
    while httpx.get(url + "/api/status", timeout=30).json()["sent"] != n:
        assert time.monotonic() < deadline, "the outbox did not collect the sends"
        time.sleep(0.05)


def _send_many(server: DevServer, n: int, start: int = 0) -> list[str]:
    """``n`` welcome messages (bulk calls of 50), each with its own note; the message ids, oldest first."""
    assert server.local_ses is not None
    c = _boto(server.local_ses)
    ids: list[str] = []
    for first in range(start, start + n, 50):
        batch = range(first, min(first + 50, start + n))
        resp = c.send_bulk_templated_email(
            Source="hello@example.com", Template="welcome", DefaultTemplateData="{}",
            Destinations=[{"Destination": {"ToAddresses": [f"u{i}@example.org"]},
                           "ReplacementTemplateData": json.dumps(prepare_data(
                               {"name": f"User{i}", "url": "https://example.com/start", "note": f"body-{i:04d}"}))}
                          for i in batch])
        ids += [s["MessageId"] for s in resp["Status"]]
    return ids


@pytest.mark.slow  # 300 sends, each rendered
def test_the_outbox_page_stays_small_after_300_sends(dev: tuple[DevServer, str]) -> None:
    server, url = dev
    assert _clear(url).status_code == 200
    ids = _send_many(server, 300)
    _wait_sent(url, 300)
    page = httpx.get(url + "/outbox", timeout=30)
    assert page.status_code == 200
    assert len(page.content) < 120_000, f"{len(page.content):,} bytes"
    assert page.text.count("data-message-id=") == 50
    shown = [ids[-1 - k] for k in range(50)]  # newest first
    assert page.text.index(f'data-message-id="{shown[0]}"') < page.text.index(f'data-message-id="{shown[49]}"')
    assert f'data-message-id="{ids[249]}"' not in page.text
    assert "body-0" not in page.text and "srcdoc=" not in page.text  # no body is embedded
    assert "User299" in page.text  # the subject is (the list says what each message is)
    assert "300 messages" in page.text and 'href="/outbox?page=2"' in page.text
    second = httpx.get(url + "/outbox?page=2", timeout=30).text
    assert f'data-message-id="{ids[249]}"' in second and f'data-message-id="{ids[299]}"' not in second
    assert 'href="/outbox?page=1"' in second and 'href="/outbox?page=3"' in second
    last = httpx.get(url + "/outbox?page=6", timeout=30).text
    assert last.count("data-message-id=") == 50 and f'data-message-id="{ids[0]}"' in last
    assert "page=7" not in last
    for bad in ("0", "99", "x", "-1"):  # clamped, never an error
        assert httpx.get(url + f"/outbox?page={bad}", timeout=30).status_code == 200


def test_the_outbox_api_is_paged_and_serves_each_body_on_demand(dev: tuple[DevServer, str]) -> None:
    server, url = dev
    assert _clear(url).status_code == 200
    ids = _send_many(server, 120)
    _wait_sent(url, 120)
    listing = httpx.get(url + "/api/outbox", timeout=30)
    assert len(listing.content) < 120_000
    page = httpx.get(url + "/outbox", timeout=30)
    assert len(page.content) < 120_000 and page.text.count("data-message-id=") == 50 and "body-0" not in page.text
    data = listing.json()
    assert data["total"] == 120 and data["page"] == 1 and data["pages"] == 3 and data["per_page"] == 50
    assert [m["id"] for m in data["messages"]] == ids[::-1][:50]
    assert "body-" not in listing.text
    assert httpx.get(url + "/api/outbox?page=3", timeout=30).json()["messages"][-1]["id"] == ids[0]
    body = httpx.get(url + f"/api/outbox/{ids[7]}", timeout=30)
    assert body.status_code == 200
    message = body.json()
    assert message["id"] == ids[7] and message["delivered"]
    assert "Note: body-0007" in message["html"] and "body-0007" in message["text"]
    assert message["subject"].endswith("User7")
    assert '"note": "body-0007"' in message["data_text"] and message["has_html_copy"]
    assert "_html" not in message["data_text"]
    missing = httpx.get(url + "/api/outbox/no-such-id", timeout=30)
    assert missing.status_code == 404 and not missing.json()["ok"]


def test_clear_forgets_the_sent_messages_only(dev: tuple[DevServer, str]) -> None:
    server, url = dev
    assert server.local_ses is not None
    assert _clear(url).status_code == 200
    _send_many(server, 5)
    _wait_sent(url, 5)
    cleared = _clear(url)
    assert cleared.status_code == 200 and cleared.json() == {"ok": True, "cleared": 5}
    assert httpx.get(url + "/api/status", timeout=30).json()["sent"] == 0
    assert server.local_ses.sent_messages() == []
    assert "Nothing sent yet" in httpx.get(url + "/outbox", timeout=30).text
    # the templates and the verified senders stay: the next send works and is the only one listed
    [again] = _send_many(server, 1, start=900)
    _wait_sent(url, 1)
    assert [m["id"] for m in httpx.get(url + "/api/outbox", timeout=30).json()["messages"]] == [again]
    assert server.local_ses.verified == ("example.com",)


def test_clear_is_guarded_like_the_other_write_endpoint(dev: tuple[DevServer, str]) -> None:
    server, url = dev
    _clear(url)
    _send_many(server, 2)
    _wait_sent(url, 2)
    evil = httpx.post(url + "/api/outbox/clear", json={}, headers={"Origin": "https://evil.example"}, timeout=30)
    assert evil.status_code == 403
    form = httpx.post(url + "/api/outbox/clear", content=b"x=1",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30)
    assert form.status_code == 415  # a plain form post (no preflight) is not enough
    assert httpx.get(url + "/api/outbox/clear", timeout=30).status_code in (404, 405)  # a GET changes nothing
    rebound = httpx.post(url + "/api/outbox/clear", json={}, headers={"Host": f"evil.example:{server.port}"},
                         timeout=30)
    assert rebound.status_code == 400
    assert httpx.get(url + "/api/status", timeout=30).json()["sent"] == 2
    own = httpx.post(url + "/api/outbox/clear", json={}, headers={"Origin": f"http://127.0.0.1:{server.port}"},
                     timeout=30)
    assert own.status_code == 200 and own.json()["cleared"] == 2


def test_local_ses_clear_outbox_keeps_templates_and_identities(calndr_ses: LocalSes) -> None:
    c = _boto(calndr_ses)
    c.send_templated_email(Source=SENDER, Destination={"ToAddresses": ["a@example.org"]},
                           Template="email_verification",
                           TemplateData=json.dumps(prepare_data(_verification("a@example.org"))))
    c.send_email(Source=SENDER, Destination={"ToAddresses": ["b@example.org"]},
                 Message={"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "plain"}}})
    c.send_raw_email(Source=SENDER, Destinations=["c@example.org"],
                     RawMessage={"Data": b"From: noreply@calndr.club\r\nSubject: raw\r\n\r\nraw"})
    assert len(calndr_ses.sent_messages()) == 3
    assert calndr_ses.clear_outbox() == 3
    assert calndr_ses.sent_messages() == []
    assert calndr_ses.template("email_verification") is not None
    c.send_templated_email(Source=SENDER, Destination={"ToAddresses": ["d@example.org"]},
                           Template="email_verification",
                           TemplateData=json.dumps(prepare_data(_verification("d@example.org"))))
    assert [m.to for m in calndr_ses.sent_messages()] == [("d@example.org",)]
