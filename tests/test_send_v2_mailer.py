"""The Mailer on SES v2 (issue 15): a template's [headers] rendered from
each recipient's data and sent (SendEmail's Headers, SendBulkEmail's
ReplacementHeaders), refused before any call where they cannot go (SES v1),
refused when the data would break a header; SMTP and the fallback carrying
them; the API chosen from pyproject, the environment and ``--api``; and,
over real HTTP against the local SES (boto3's ``sesv2``), single and bulk
sends whose every recipient gets its own headers exactly once, throttling
included."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from letterhead.config import load_config
from letterhead.dev.localses import LocalSes
from letterhead.errors import ConfigError
from letterhead.sending.mailer import Mailer, Recipient
from letterhead.sending.transports import (
    FallbackTransport,
    OutboxTransport,
    SesTransport,
    SesV2Transport,
    SmtpTransport,
)

from .send_support import SES_DIR, sample
from .send_v2_support import (
    REGION,
    SOURCE,
    FakeSesV2,
    HttpFaults,
    Inbox,
    headers_data,
    headers_project,
    smtp_inbox,
    v1_client,
    v2_client,
    v2_transport,
    verification_data,
)

pytestmark = pytest.mark.aws


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    with smtp_inbox() as server:
        yield server


# --- choosing the API -------------------------------------------------------------------------------------------


def _app(tmp_path: Path, send_table: str = "") -> Path:
    root = tmp_path / "app"
    (root / "ses_templates").mkdir(parents=True)
    for p in SES_DIR.glob("*.json"):
        (root / "ses_templates" / p.name).write_bytes(p.read_bytes())
    (root / "pyproject.toml").write_text(f"[project]\nname = 'app'\n{send_table}")
    return root


ENV = {"SES_SENDER_EMAIL": "noreply@calndr.club", "AWS_REGION": REGION, "SMTP_HOST": "", "LETTERHEAD_TRANSPORT": "",
       "LETTERHEAD_SES_API": "", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _from(root: Path, **environ: str) -> Mailer:
    env = {**ENV, **environ}
    return Mailer.from_config(load_config(root, environ=env), environ=env, suppressions=None, journal=None)


def test_the_api_comes_from_pyproject_and_the_environment_overrides_it(tmp_path: Path) -> None:
    v2 = _app(tmp_path, '[tool.letterhead.send]\napi = "v2"\n')
    assert isinstance(_from(v2).transport, SesV2Transport) and _from(v2).api == "v2"
    assert type(_from(v2, LETTERHEAD_SES_API="v1").transport) is SesTransport
    plain = _app(tmp_path / "plain")
    assert type(_from(plain).transport) is SesTransport and _from(plain).api == "v1"
    assert isinstance(_from(plain, LETTERHEAD_SES_API="v2").transport, SesV2Transport)
    fallback = _from(v2, SMTP_HOST="127.0.0.1", SMTP_SECURITY="none").transport
    assert isinstance(fallback, FallbackTransport) and fallback.name == "sesv2+smtp"
    assert _from(v2, LETTERHEAD_TRANSPORT="outbox").api is None


def test_an_api_that_is_neither_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LETTERHEAD_SES_API"):
        _from(_app(tmp_path), LETTERHEAD_SES_API="v3")
    with pytest.raises(ConfigError, match=r"\[tool.letterhead.send\] api"):
        _from(_app(tmp_path / "bad", '[tool.letterhead.send]\napi = "v9"\n'))


def test_an_explicit_api_wins_over_the_environment(tmp_path: Path) -> None:
    root = _app(tmp_path)
    env = {**ENV, "LETTERHEAD_SES_API": "v1"}
    mailer = Mailer.from_config(load_config(root, environ=env), environ=env, api="v2", suppressions=None,
                                journal=None)
    assert isinstance(mailer.transport, SesV2Transport)


def test_mailer_api_argument_picks_the_transport() -> None:
    mailer = Mailer(sender_email="noreply@calndr.club", ses_dir=SES_DIR, region=REGION, api="v2",
                    client=v2_client(), max_send_rate=10)
    assert isinstance(mailer.transport, SesV2Transport) and mailer.api == "v2"


def test_the_cli_refuses_an_unknown_api(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from letterhead.cli.common import Ctx
    from letterhead.cli.send import send

    root = _app(tmp_path)
    data = tmp_path / "code.json"
    data.write_text(json.dumps(verification_data(1)))
    result = CliRunner().invoke(send, ["email_verification", "--to", "a@example.org", "--data", str(data),
                                       "--api", "v3"], obj=Ctx(root, as_json=False), env=ENV)
    assert result.exit_code == 2 and "--api" in result.output


# --- the Mailer: headers rendered per recipient, refused where they cannot go ------------------------------


@pytest.fixture(scope="module")
def bulk_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return headers_project(tmp_path_factory.mktemp("bulk"))


@pytest.fixture(scope="module")
def bulk_locales_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return headers_project(tmp_path_factory.mktemp("bulk-locales"), locales=True)


def _hmailer(root: Path, transport: Any, **kw: Any) -> Mailer:
    return Mailer(sender_email="noreply@calndr.club", sender_name="Calndr Club", ses_dir=root / "ses_templates",
                  transport=transport, sleep=lambda s: None, backoff=lambda attempt: 0.0, **kw)


def _expected_headers(token: str, campaign: str = "w49") -> list[dict[str, str]]:
    return [{"Name": "List-Unsubscribe",
             "Value": f"<https://example.com/unsub?t={token}>, <mailto:unsubscribe@example.com?subject=unsub-{token}>"},
            {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
            {"Name": "X-Campaign", "Value": f"welcome-{campaign}"}]


def test_the_mailer_renders_the_headers_from_the_recipient_s_data(bulk_root: Path) -> None:
    from botocore.stub import ANY

    c = v2_client()
    with Stubber(c) as stub:
        stub.add_response("send_email", {"MessageId": "m-ada"}, expected_params={
            "FromEmailAddress": SOURCE, "Destination": {"ToAddresses": ["ada@example.org"]},
            "EmailTags": [{"Name": "template", "Value": "welcome"}],
            "Content": {"Template": {"TemplateName": "welcome", "TemplateData": ANY,
                                     "Headers": _expected_headers("tok%2Fada%20%26%3E")}}})
        receipt = _hmailer(bulk_root, v2_transport(c)).send("welcome", "ada@example.org",
                                                            headers_data(token="tok/ada &>"))
        stub.assert_no_pending_responses()
    assert receipt == "m-ada"


def test_the_message_a_send_would_make_holds_the_headers(bulk_root: Path) -> None:
    m = _hmailer(bulk_root, OutboxTransport()).message("welcome", "ada@example.org", headers_data())
    assert [{"Name": k, "Value": v} for k, v in m.headers] == _expected_headers("tok-ada")


def test_a_bulk_send_gives_each_recipient_its_own_headers_under_throttling(bulk_root: Path) -> None:
    fake = FakeSesV2(call_rate=0.25, entry_rate=0.3, seed=8058)
    mailer = _hmailer(bulk_root, v2_transport(fake), bulk_attempts=50)
    recipients = [Recipient(f"user{i}@example.org", headers_data(f"N{i}", f"tok-{i}", f"w{i % 3}"), key=i)
                  for i in range(230)]
    result = mailer.send_bulk("welcome", recipients, workers=3)
    assert result.ok and result.counts["sent"] == 230
    assert fake.throttled_calls and fake.throttled_entries
    assert set(fake.delivered.values()) == {1} and len(fake.delivered) == 230
    for i in range(230):
        assert fake.headers[f"user{i}@example.org"] == _expected_headers(f"tok-{i}", f"w{i % 3}")
        assert fake.data[f"user{i}@example.org"]["unsubscribe_token"] == f"tok-{i}"


def test_a_bulk_call_mixes_recipients_of_different_headers_but_not_of_different_locales(
        bulk_locales_root: Path) -> None:
    calls: list[tuple[str, list[str]]] = []

    class Recording(FakeSesV2):
        def send_bulk_email(self, **params: Any) -> dict[str, Any]:
            calls.append((params["DefaultContent"]["Template"]["TemplateName"],
                          [e["ReplacementHeaders"][0]["Value"] for e in params["BulkEmailEntries"]]))
            return super().send_bulk_email(**params)

    fake = Recording(call_rate=0.0, entry_rate=0.0)
    locales = ["en", "ar", "es-MX", "en", "ar", "en"]
    recipients = [Recipient(f"u{i}@example.org", headers_data(f"N{i}", f"tok-{i}"), locale=loc)
                  for i, loc in enumerate(locales)]
    result = _hmailer(bulk_locales_root, v2_transport(fake)).send_bulk("welcome", recipients)
    assert result.ok
    assert sorted((name, len(values)) for name, values in calls) == [("welcome", 3), ("welcome__ar", 2),
                                                                     ("welcome__es", 1)]
    en = next(values for name, values in calls if name == "welcome")
    assert [v.split("t=")[1].split(">")[0] for v in en] == ["tok-0", "tok-3", "tok-5"]


def test_ses_v1_refuses_a_template_with_headers_before_any_call(bulk_root: Path) -> None:
    c = v1_client()
    with Stubber(c) as stub:  # nothing queued: any call would fail the test
        mailer = _hmailer(bulk_root, SesTransport(c, region=REGION, max_send_rate=10))
        with pytest.raises(ConfigError) as caught:
            mailer.send("welcome", "ada@example.org", headers_data())
        assert "SES v1 SendTemplatedEmail cannot send headers" in caught.value.message
        assert "List-Unsubscribe" in caught.value.message
        assert 'api = "v2"' in (caught.value.hint or "") and "LETTERHEAD_SES_API=v2" in (caught.value.hint or "")
        with pytest.raises(ConfigError, match="cannot send headers"):
            mailer.send_bulk("welcome", [Recipient("ada@example.org", headers_data())])
        stub.assert_no_pending_responses()


def test_the_v1_fallback_pair_refuses_headers_too(bulk_root: Path) -> None:
    environ = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": "2525", "SMTP_SECURITY": "none"}
    mailer = _hmailer(bulk_root, "ses+smtp", environ=environ, region=REGION, client=v1_client(), max_send_rate=10)
    with pytest.raises(ConfigError, match="SES v1"):
        mailer.message("welcome", "ada@example.org", headers_data())


def test_a_transport_that_does_not_say_it_sends_headers_is_refused(bulk_root: Path) -> None:
    from letterhead.sending.transports import Transport

    class Custom(Transport):
        name = "custom"

        def send(self, message: Any) -> str:
            raise AssertionError("must not be reached")

    with pytest.raises(ConfigError, match="the custom transport cannot send headers"):
        _hmailer(bulk_root, Custom()).send("welcome", "ada@example.org", headers_data())


def test_templates_without_headers_still_go_through_v1(moto_ses: Any) -> None:
    from .send_support import make_mailer

    c, _ = moto_ses
    receipt = make_mailer(c).send("email_verification", "amira.haddad@example.com", verification_data(7))
    assert receipt and make_mailer(c).api == "v1"


def test_a_header_variable_with_a_line_break_is_refused_before_sending(bulk_root: Path) -> None:
    from letterhead.errors import DataError

    fake = FakeSesV2(call_rate=0.0, entry_rate=0.0)
    mailer = _hmailer(bulk_root, v2_transport(fake))
    with pytest.raises(DataError) as caught:
        mailer.send("welcome", "ada@example.org", headers_data(campaign="w49\r\nBcc: all@evil.example"))
    assert "X-Campaign" in caught.value.message and "campaign" in caught.value.message
    assert "evil.example" not in caught.value.message
    result = mailer.send_bulk("welcome", [
        Recipient("a@example.org", headers_data(campaign="w1\nBcc: all@evil.example")),
        Recipient("b@example.org", headers_data(token="tok-b"))])
    assert [s.status for s in result.statuses] == ["invalid", "sent"]
    assert fake.calls == 1 and list(fake.delivered) == ["b@example.org"]


def test_a_token_that_tries_to_add_a_uri_stays_inside_the_url(bulk_root: Path) -> None:
    m = _hmailer(bulk_root, OutboxTransport()).message(
        "welcome", "ada@example.org", headers_data(token="x>, <https://evil.example/y"))
    value = dict(m.headers)["List-Unsubscribe"]
    assert value.count("<") == 2 and "<https://evil.example" not in value


def test_a_missing_header_variable_is_refused_by_name(bulk_root: Path) -> None:
    from letterhead.errors import DataError

    data = headers_data()
    del data["unsubscribe_token"]
    with pytest.raises(DataError, match="unsubscribe_token"):
        _hmailer(bulk_root, v2_transport(FakeSesV2())).send("welcome", "ada@example.org", data)


def test_smtp_through_the_mailer_carries_the_recipient_s_unsubscribe(bulk_root: Path, smtp_server: Any) -> None:
    inbox, port = smtp_server
    mailer = _hmailer(bulk_root, SmtpTransport("127.0.0.1", port, security="none", timeout=10))
    mailer.send("welcome", "ada@example.org", headers_data(token="tok-smtp"))
    received = inbox.parsed()
    assert str(received["List-Unsubscribe"]) == _expected_headers("tok-smtp")[0]["Value"]
    assert str(received["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert str(received["X-Campaign"]) == "welcome-w49"


def test_the_v2_fallback_hands_smtp_the_same_headers(bulk_root: Path, smtp_server: Any) -> None:
    inbox, port = smtp_server
    c = v2_client()
    with Stubber(c) as stub:
        stub.add_client_error("send_email", "SendingPausedException", "Sending is paused for this account.", 400)
        pair = FallbackTransport(v2_transport(c), SmtpTransport("127.0.0.1", port, security="none", timeout=10))
        _hmailer(bulk_root, pair).send("welcome", "ada@example.org", headers_data(token="tok-fb"))
    assert pair.fallbacks == 1
    assert str(inbox.parsed()["List-Unsubscribe"]).startswith("<https://example.com/unsub?t=tok-fb>")


# --- over HTTP: the Mailer on SES v2 against the local SES ---------------------------------------------------


@pytest.fixture(scope="module")
def local_ses(bulk_root: Path) -> Iterator[LocalSes]:
    with LocalSes(senders=["calndr.club"]) as ses:
        ses.load_templates(bulk_root / "ses_templates")
        ses.load_templates(SES_DIR)  # Calndr's own, schedule_digest (bulk mail) among them
        yield ses


@pytest.fixture
def ses(local_ses: LocalSes) -> LocalSes:
    local_ses.clear_outbox()
    return local_ses


def _env(ses: LocalSes, **extra: str) -> dict[str, str]:
    return {**ENV, **ses.environ(), "SES_MAX_SEND_RATE": "500", **extra}


def _local_mailer(root: Path, ses: LocalSes, **extra: str) -> Mailer:
    env = _env(ses, **extra)
    return Mailer.from_config(load_config(root, environ=env), environ=env, suppressions=None, journal=None,
                              ses_dir=root / "ses_templates")


def test_a_v2_send_over_http_reaches_the_recipient_with_its_headers(bulk_root: Path, ses: LocalSes) -> None:
    mailer = _local_mailer(bulk_root, ses, LETTERHEAD_SES_API="v2")
    receipt = mailer.send("welcome", "ada@example.org", headers_data(token="tok/ada"), tags={"kind": "news"})
    [sent] = ses.sent_messages()
    assert (sent.id, sent.api, sent.template, sent.to) == (receipt, "v2", "welcome", ("ada@example.org",))
    assert [{"Name": k, "Value": v} for k, v in sent.headers] == _expected_headers("tok%2Fada")
    assert sent.tags == (("template", "welcome"), ("kind", "news"))
    [delivery] = ses.outbox()
    assert delivery.delivered and delivery.parts is not None and "Hello Ada" in delivery.parts["html"]
    assert delivery.to_dict()["message"]["headers"][0] == {"name": "List-Unsubscribe",
                                                           "value": _expected_headers("tok%2Fada")[0]["Value"]}


def test_a_v2_bulk_over_http_gives_every_recipient_its_own_headers_once(bulk_root: Path, ses: LocalSes) -> None:
    mailer = _local_mailer(bulk_root, ses, LETTERHEAD_SES_API="v2")
    recipients = [Recipient(f"user{i}@example.org", headers_data(f"N{i}", f"tok-{i}", f"w{i % 2}"), key=i)
                  for i in range(120)]
    result = mailer.send_bulk("welcome", recipients, workers=2)
    assert result.ok and result.counts["sent"] == 120
    sent = ses.sent_messages()
    assert sorted(a for m in sent for a in m.to) == sorted(f"user{i}@example.org" for i in range(120))
    assert {m.kind for m in sent} == {"bulk"} and {m.api for m in sent} == {"v2"}
    by_address = {m.to[0]: m for m in sent}
    for i in range(120):
        headers = [{"Name": k, "Value": v} for k, v in by_address[f"user{i}@example.org"].headers]
        assert headers == _expected_headers(f"tok-{i}", f"w{i % 2}")
    assert {s.message_id for s in result.statuses} == {m.id for m in sent}
    assert all(d.delivered for d in ses.outbox())


def test_throttling_over_http_loses_nothing_and_duplicates_nothing(bulk_root: Path, ses: LocalSes) -> None:
    mailer = _local_mailer(bulk_root, ses, LETTERHEAD_SES_API="v2")
    transport = mailer._ses()
    assert isinstance(transport, SesV2Transport)
    faults = HttpFaults(transport.client, call_every=3, entry_every=4)
    recipients = [Recipient(f"user{i}@example.org", headers_data(f"N{i}", f"tok-{i}"), key=i) for i in range(150)]
    result = mailer.send_bulk("welcome", recipients, workers=3)
    assert result.ok and result.counts["sent"] == 150
    assert faults.refused_calls and faults.throttled_entries  # the faults did happen
    recorded = Counter(a for m in ses.sent_messages() for a in m.to)
    delivered = recorded - faults.throttled_entries  # SES recorded those, but answered them throttled
    assert delivered == Counter({f"user{i}@example.org": 1 for i in range(150)})
    by_id = {m.id: m for m in ses.sent_messages()}
    for s in result.statuses:
        assert by_id[s.message_id].to == s.to  # each status names the message SES really sent to it
    assert transport.throttled == faults.refused_calls


def test_calndr_s_digest_goes_out_with_one_click_unsubscribe(ses: LocalSes, tmp_path: Path) -> None:
    digest = sample("schedule_digest", "busy_week")
    mailer = _local_mailer(_app(tmp_path), ses, LETTERHEAD_SES_API="v2")
    mailer.send("schedule_digest", "amira.haddad@example.com", digest)
    [sent] = ses.sent_messages()
    token = digest["unsubscribe_token"]
    assert dict(sent.headers) == {
        "List-Unsubscribe": f"<https://calndr.club/unsub?t={token}>, "
                            f"<mailto:unsubscribe@calndr.club?subject=unsub-{token}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert ses.outbox()[0].delivered


def test_calndr_s_digest_through_v1_is_refused_and_nothing_reaches_ses(ses: LocalSes, tmp_path: Path) -> None:
    mailer = _local_mailer(_app(tmp_path), ses)  # api unset: v1
    with pytest.raises(ConfigError, match="SES v1 SendTemplatedEmail cannot send headers"):
        mailer.send("schedule_digest", "amira.haddad@example.com", sample("schedule_digest", "busy_week"))
    assert ses.sent_messages() == []


def _cli(root: Path, ses: LocalSes, *args: str, **env: str) -> Any:
    from click.testing import CliRunner

    from letterhead.cli.common import Ctx
    from letterhead.cli.send import send

    data = root / "digest.json"
    data.write_text(json.dumps(sample("schedule_digest", "busy_week")))
    return CliRunner().invoke(send, ["schedule_digest", "--to", "amira.haddad@example.com", "--data", str(data),
                                     *args], obj=Ctx(root, as_json=False), env=_env(ses, **env))


def test_the_cli_sends_with_api_v2_and_says_so(ses: LocalSes, tmp_path: Path) -> None:
    root = _app(tmp_path)
    result = _cli(root, ses, "--api", "v2", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert (out["api"], out["transport"]) == ("v2", "sesv2")
    [sent] = ses.sent_messages()
    assert sent.id == out["message_id"] and dict(sent.headers)["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_cli_refuses_headers_on_v1_with_the_fix(ses: LocalSes, tmp_path: Path) -> None:
    root = _app(tmp_path)
    result = _cli(root, ses)
    assert result.exit_code == 1
    assert "SES v1 SendTemplatedEmail cannot send headers" in result.output
    assert 'fix: set api = "v2" in [tool.letterhead.send]' in result.output
    assert ses.sent_messages() == []
    by_env = _cli(root, ses, "--json", LETTERHEAD_SES_API="v2")
    assert by_env.exit_code == 0 and json.loads(by_env.output)["api"] == "v2"
    assert _cli(root, ses, "--api", "v1", LETTERHEAD_SES_API="v2").exit_code == 1  # --api wins over the environment
