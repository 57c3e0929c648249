"""The application sender: checked, injection-safe templated sends over SES.

Against moto in-process and moto's server, with the committed
ses_templates/ (what an application ships).  No timing assertions.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from letterhead.authoring.safety import prepare_data
from letterhead.aws.ratelimit import RateLimiter
from letterhead.deploy.naming import Namespace
from letterhead.errors import (
    AccountSendingPaused,
    ConfigError,
    ConfigurationSetDoesNotExist,
    ConfigurationSetSendingPaused,
    DailyQuotaExceeded,
    DataError,
    DeliveryUnknown,
    MailFromDomainNotVerified,
    MessageRejected,
    NoCredentials,
    RenderError,
    SendError,
    SesUnreachable,
    TemplateDoesNotExist,
    Throttled,
)
from letterhead.sending import codes as verification
from letterhead.sending.mailer import Mailer, check_address, deployed_name, format_source
from letterhead.sending.transports import SesTransport

from .helpers import free_port
from .send_support import (
    REGION,
    SES_DIR,
    Faults,
    all_log_text,
    client,
    make_mailer,
    no_sleep_ses,
    recorded_data,
    sample,
    sample_names,
    throttle_first,
)

pytestmark = pytest.mark.aws

CODE = "739214"  # a verification code that must never show up in a log or an error


def invitation(**changes: Any) -> dict[str, Any]:
    data = sample("coparent_invitation")
    data.update(changes)
    return {k: v for k, v in data.items() if v is not ...}


def verification_data(code: str = CODE) -> dict[str, Any]:
    return {"code": code, "email": "amira.haddad@example.com", "expires_at": "14:32 UTC"}


# --- what SES receives -------------------------------------------------------------------------------


def test_recorded_template_message_holds_exactly_the_data_sent(moto_ses: Any) -> None:
    c, backend = moto_ses
    mailer = make_mailer(c)
    data = sample("coparent_invitation", "with_note")
    message_id = mailer.send("coparent_invitation", "dev.raman@example.net", data)
    [msg] = backend.sent_messages
    assert msg.id == message_id
    assert msg.template == "coparent_invitation"
    assert msg.source == "Calndr Club <noreply@calndr.club>"
    assert msg.destinations == {"ToAddresses": ["dev.raman@example.net"]}
    assert json.loads(msg.template_data) == prepare_data(data)


@pytest.mark.parametrize("template", ["coparent_invitation", "email_verification"])
def test_every_sample_through_motos_server_records_exactly_the_prepared_data(server_ses: Any, template: str) -> None:
    server, c = server_ses
    mailer = make_mailer(c)
    sent = {}
    for i, name in enumerate(sample_names(template)):
        to = f"r{i}@example.org"
        sent[to] = sample(template, name)
        mailer.send(template, to, sent[to])
    recorded = recorded_data(server.template_messages())
    assert recorded == {to: prepare_data(d) for to, d in sent.items()}
    assert {m["template"] for m in server.template_messages()} == {template}
    assert {m["source"] for m in server.template_messages()} == {"Calndr Club <noreply@calndr.club>"}


def test_configuration_set_reply_to_and_tags_go_with_the_send(moto_ses: Any) -> None:
    c, _ = moto_ses
    seen: list[dict[str, Any]] = []
    c.meta.events.register("provide-client-params.ses.SendTemplatedEmail", lambda params, **_: seen.append(params))
    mailer = make_mailer(c, configuration_set="calndr-transactional")
    mailer.send("email_verification", "amira.haddad@example.com", verification_data(),
                reply_to="support@calndr.club", tags={"kind": "verification", "flow": "sign-up"})
    [params] = seen
    assert params["ConfigurationSetName"] == "calndr-transactional"
    assert params["ReplyToAddresses"] == ["support@calndr.club"]
    assert params["Tags"] == [{"Name": "template", "Value": "email_verification"},  # added: per-template metrics
                              {"Name": "locale", "Value": "en"},  # the project has locales: per-locale metrics
                              {"Name": "kind", "Value": "verification"}, {"Name": "flow", "Value": "sign-up"}]
    assert params["Source"] == "Calndr Club <noreply@calndr.club>"


def test_non_ascii_sender_name_is_rfc2047_on_one_line(moto_ses: Any) -> None:
    c, backend = moto_ses
    name = "Calndr Club · Zoë Łukasiewicz-Müller Family Calendar Notifications 🌻"
    mailer = make_mailer(c, sender_name=name)
    mailer.send("email_verification", "amira.haddad@example.com", verification_data())
    source = backend.sent_messages[-1].source
    assert source.isascii() and "\n" not in source and "\r" not in source
    assert source.endswith(" <noreply@calndr.club>") and "=?utf-8?" in source
    assert str(make_header(decode_header(source.rsplit(" <", 1)[0]))) == name
    assert format_source("Calndr Club", "noreply@calndr.club") == "Calndr Club <noreply@calndr.club>"
    assert format_source("Calndr, Club", "noreply@calndr.club") == '"Calndr, Club" <noreply@calndr.club>'


# --- refused before SES --------------------------------------------------------------------------------


def _no_send_calls(c: Any) -> Faults:
    return Faults(c, "SendTemplatedEmail", lambda i: None)


@pytest.mark.parametrize("variable", ["accept_url", "inviter_name", "expires_at", "recipient_email"])
def test_a_missing_variable_never_reaches_ses(moto_ses: Any, variable: str) -> None:
    c, backend = moto_ses
    calls = _no_send_calls(c)
    with pytest.raises(RenderError) as info:
        make_mailer(c).send("coparent_invitation", "alex.moreno@example.org", invitation(**{variable: ...}))
    assert info.value.variable == variable
    assert f"`{variable}`" in str(info.value) and "silently drop" in str(info.value)
    assert calls.calls == 0 and backend.sent_messages == []


def test_a_null_variable_and_a_nested_missing_one_are_refused(moto_ses: Any) -> None:
    c, backend = moto_ses
    mailer = make_mailer(c)
    with pytest.raises(RenderError) as info:
        mailer.send("coparent_invitation", "alex.moreno@example.org", invitation(expires_at=None))
    assert info.value.variable == "expires_at"
    with pytest.raises(RenderError) as info:
        mailer.send("coparent_invitation", "alex.moreno@example.org", invitation(children=[{"nom": "Maya"}]))
    assert "name" in str(info.value)
    assert backend.sent_messages == []


def test_optional_variables_may_be_absent(moto_ses: Any) -> None:
    c, backend = moto_ses
    data = invitation(note=..., recipient_name=..., children=...)
    make_mailer(c).send("coparent_invitation", "alex.moreno@example.org", data)
    assert json.loads(backend.sent_messages[-1].template_data) == prepare_data(data)


def test_declared_types_are_checked_and_the_value_never_named(moto_ses: Any) -> None:
    c, backend = moto_ses
    mailer = make_mailer(c)
    for bad, kind in (("73921", "does not match"), (739214, "should be a string, got a number"), ("73921a", "does not match")):
        with pytest.raises(DataError) as info:
            mailer.send("email_verification", "amira.haddad@example.com", verification_data(bad))  # type: ignore[arg-type]
        text = str(info.value)
        assert "`code`" in text and kind in text
        assert str(bad) not in text
    with pytest.raises(DataError, match="`accept_url` does not match"):
        mailer.send("coparent_invitation", "a@example.org", invitation(accept_url="http://calndr.club/x"))
    assert backend.sent_messages == []


@pytest.mark.parametrize("kwargs, message", [
    ({"to": "alex@example.org\r\nBcc: everyone@evil.example"}, "line break"),
    ({"to": "alex@example.org\nX-Injected: 1"}, "line break"),
    ({"to": "alex@example.org, everyone@evil.example"}, "not an email address"),
    ({"to": "alex, everyone@evil.example"}, "local part"),
    ({"to": "Alex <alex@example.org>"}, "local part"),
    ({"to": "alex@example.org;bob@example.org"}, "domain"),
    ({"to": "not-an-address"}, "not an email address"),
    ({"to": []}, "no recipient"),
    ({"reply_to": "support@calndr.club\r\nBcc: x@evil.example"}, "line break"),
    ({"tags": {"kind": "invite\r\nX-Injected: 1"}}, "value may hold only"),
    ({"tags": {"kind\n": "invite"}}, "tag name"),
])
def test_no_value_can_add_or_split_a_header(moto_ses: Any, kwargs: dict[str, Any], message: str) -> None:
    c, backend = moto_ses
    calls = _no_send_calls(c)
    args: dict[str, Any] = {"to": "amira.haddad@example.com", **kwargs}
    with pytest.raises(DataError, match=message) as info:
        make_mailer(c).send("email_verification", args.pop("to"), verification_data(), **args)
    assert "evil" not in str(info.value) and "alex" not in str(info.value)
    assert calls.calls == 0 and backend.sent_messages == []


def test_a_line_break_in_a_subject_variable_is_refused_naming_it(moto_ses: Any) -> None:
    c, backend = moto_ses
    with pytest.raises(DataError) as info:
        make_mailer(c).send("coparent_invitation", "alex.moreno@example.org",
                            invitation(inviter_name="Sam\r\nBcc: everyone@evil.example"))
    assert "subject" in str(info.value) and "`inviter_name`" in str(info.value)
    assert "evil" not in str(info.value)
    assert backend.sent_messages == []


def test_sender_settings_with_a_line_break_are_refused() -> None:
    with pytest.raises(ConfigError, match="line break"):
        Mailer(sender_email="noreply@calndr.club", sender_name="Calndr\r\nBcc: x@evil.example", ses_dir=SES_DIR,
               transport="outbox")
    with pytest.raises(DataError, match="line break"):
        Mailer(sender_email="noreply@calndr.club\n", ses_dir=SES_DIR, transport="outbox")
    with pytest.raises(ConfigError, match="SES_SENDER_EMAIL"):
        Mailer(sender_email="", ses_dir=SES_DIR, transport="outbox")


def test_addresses_with_international_domains_become_punycode() -> None:
    assert check_address("jonas@müller.example") == "jonas@xn--mller-kva.example"
    with pytest.raises(DataError):
        check_address("jönas@example.de")


def test_user_values_cannot_inject_markup_into_the_html_part(moto_ses: Any) -> None:
    c, backend = moto_ses
    mailer = make_mailer(c)
    data = sample("coparent_invitation", "hostile_name")
    parts = mailer.render("coparent_invitation", data)
    assert "<b>Tom" not in parts["html"] and "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;" in parts["html"]
    assert "<script>" not in parts["html"] and 'href="https://evil.example"' not in parts["html"]
    assert '<b>Tom & "Jerry"</b>' in parts["subject"]  # subject and text read the data as given
    assert '<b>Tom & "Jerry"</b>' in parts["text"]
    mailer.send("coparent_invitation", "spike@example.com", data)
    sent = json.loads(backend.sent_messages[-1].template_data)
    assert sent["inviter_name"] == data["inviter_name"]
    assert sent["_html"]["inviter_name"] == "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;"


def test_unknown_template_suggests_the_near_name(moto_ses: Any) -> None:
    c, _ = moto_ses
    with pytest.raises(ConfigError, match="did you mean 'email_verification'"):
        make_mailer(c).send("email_verificaton", "a@example.org", verification_data())


def test_template_data_too_large_or_not_json_is_refused(moto_ses: Any) -> None:
    c, backend = moto_ses
    mailer = make_mailer(c)
    with pytest.raises(DataError, match="262,144"):
        mailer.send("coparent_invitation", "a@example.org", invitation(note="x" * 140_000))
    with pytest.raises(DataError, match="not JSON"):
        mailer.send("coparent_invitation", "a@example.org", invitation(extra=datetime.now()))
    assert backend.sent_messages == []


# --- deployed names -------------------------------------------------------------------------------


def test_deployed_names_follow_the_sync_namespace(moto_ses: Any) -> None:
    c, backend = moto_ses
    entry = make_mailer(c).catalog.get("email_verification").entry
    stable = Namespace(env="stg", prefix="stg-")
    versioned = Namespace(env="prod", prefix="prod-", versioned=True)
    assert deployed_name(entry) == "email_verification"
    assert deployed_name(entry, stable) == "stg-email_verification"
    assert deployed_name(entry, versioned) == f"prod-email_verification-v{entry.content_hash[:10]}"
    payload = json.loads((SES_DIR / "email_verification.json").read_text())
    payload["Template"]["TemplateName"] = "stg-email_verification"
    c.create_template(**payload)
    make_mailer(c, namespace=stable).send("email_verification", "a@example.org", verification_data())
    assert backend.sent_messages[-1].template == "stg-email_verification"
    with pytest.raises(TemplateDoesNotExist) as info:
        make_mailer(c, namespace=versioned).send("email_verification", "a@example.org", verification_data())
    assert "letterhead sync" in str(info.value) and f"-v{entry.content_hash[:10]}" in str(info.value)


def test_an_app_shipping_only_ses_templates_sends_with_its_deploys_names(moto_ses: Any, tmp_path: Path) -> None:
    c, backend = moto_ses
    root = tmp_path / "app"
    (root / "ses_templates" / "deployed").mkdir(parents=True)
    for p in SES_DIR.glob("*.json"):
        (root / "ses_templates" / p.name).write_bytes(p.read_bytes())
    (root / "ses_templates" / "deployed" / "stg.json").write_text(json.dumps(
        {"format": 1, "env": "stg", "prefix": "stg-", "suffix": "", "mode": "stable",
         "templates": {"email_verification": "stg-email_verification"}}))
    payload = json.loads((SES_DIR / "email_verification.json").read_text())
    payload["Template"]["TemplateName"] = "stg-email_verification"
    c.create_template(**payload)
    environ = {"SES_SENDER_EMAIL": "noreply@calndr.club", "AWS_REGION": REGION, "LETTERHEAD_ENV": "stg"}
    mailer = Mailer.from_env(root, environ=environ, client=c, max_send_rate=100)
    mailer.send("email_verification", "a@example.org", verification_data())
    assert backend.sent_messages[-1].template == "stg-email_verification"
    with pytest.raises(ConfigError, match="no settings for environment 'prod'"):
        Mailer.from_env(root, environ={**environ, "LETTERHEAD_ENV": "prod"}, client=c)


# --- SES's refusals, typed, each with its fix ----------------------------------------------------------


def test_unverified_sender_is_message_rejected_with_the_fix(moto_ses: Any) -> None:
    c, _ = moto_ses
    mailer = make_mailer(c, sender_email="hello@unverified.example")
    with pytest.raises(MessageRejected) as info:
        mailer.send("email_verification", "amira.haddad@example.com", verification_data())
    text = str(info.value)
    assert "Verified identities" in text and "production access" in text
    assert "hello@" not in text and "unverified.example" in text  # the person is redacted, the domain kept
    assert CODE not in text


@pytest.mark.parametrize("code, message, cls, fix", [
    ("MessageRejected", "Email address is not verified. The following identities failed the check in region "
     "EU-WEST-1: amira.haddad@example.com", MessageRejected, "sandbox"),
    ("AccountSendingPausedException", "Sending paused for this account.", AccountSendingPaused,
     "update-account-sending-enabled"),
    ("ConfigurationSetSendingPausedException", "Sending paused for this configuration set.",
     ConfigurationSetSendingPaused, "update-configuration-set-sending-enabled"),
    ("ConfigurationSetDoesNotExist", "Configuration set <calndr> does not exist.", ConfigurationSetDoesNotExist,
     "create-configuration-set"),
    ("MailFromDomainNotVerifiedException", "MAIL FROM domain not verified", MailFromDomainNotVerified, "MX and SPF"),
    ("Throttling", "Daily message quota exceeded.", DailyQuotaExceeded, "24-hour"),
    ("InternalFailure", "boom", DeliveryUnknown, "does not resend"),
])
def test_typed_errors_carry_the_fix(moto_ses: Any, code: str, message: str, cls: type, fix: str) -> None:
    c, backend = moto_ses
    faults = Faults(c, "SendTemplatedEmail", lambda i: (code, message, 500 if code == "InternalFailure" else 400))
    mailer = make_mailer(c, configuration_set="calndr")
    with pytest.raises(cls) as info:
        mailer.send("email_verification", "amira.haddad@example.com", verification_data())
    assert fix in str(info.value) and info.value.code == code
    assert "amira.haddad@" not in str(info.value) and CODE not in str(info.value)
    assert faults.calls == 1  # none of these is retried
    assert backend.sent_messages == []


def test_missing_template_in_ses_is_template_does_not_exist(moto_ses: Any) -> None:
    c, _ = moto_ses
    c.delete_template(TemplateName="email_verification")
    with pytest.raises(TemplateDoesNotExist, match="letterhead sync"):
        make_mailer(c).send("email_verification", "amira.haddad@example.com", verification_data())


def test_no_credentials_is_its_own_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    mailer = Mailer(sender_email="noreply@calndr.club", ses_dir=SES_DIR, region=REGION,
                    endpoint_url=f"http://127.0.0.1:{free_port()}", max_send_rate=10)
    with pytest.raises(NoCredentials) as info:
        mailer.send("email_verification", "amira.haddad@example.com", verification_data())
    assert "AWS_ACCESS_KEY_ID" in str(info.value) and info.value.stops_bulk


def test_unreachable_endpoint_is_retried_then_reported_safe_to_resend() -> None:
    mailer = make_mailer(client(f"http://127.0.0.1:{free_port()}"))
    no_sleep_ses(mailer)
    with pytest.raises(SesUnreachable) as info:
        mailer.send("email_verification", "amira.haddad@example.com", verification_data())
    assert info.value.fallback and info.value.retryable and "nothing was sent" in str(info.value)
    assert mailer._ses().calls == 2  # type: ignore[union-attr]


# --- throttling and the rate ---------------------------------------------------------------------------


def test_injected_throttling_ends_in_success_in_process(moto_ses: Any) -> None:
    c, backend = moto_ses
    faults = Faults(c, "SendTemplatedEmail", throttle_first(3))
    slept: list[float] = []
    mailer = make_mailer(c)
    ses = mailer._ses()
    ses._sleep = slept.append  # type: ignore[union-attr]
    message_id = mailer.send("email_verification", "amira.haddad@example.com", verification_data())
    assert faults.calls == 4 and ses.throttled == 3  # type: ignore[union-attr]
    assert [m.id for m in backend.sent_messages] == [message_id]  # sent once
    assert len(slept) == 3  # a backoff before each retry


def test_injected_throttling_ends_in_success_against_motos_server(server_ses: Any) -> None:
    server, c = server_ses
    faults = Faults(c, "SendTemplatedEmail", throttle_first(2), server=True)
    mailer = make_mailer(c)
    no_sleep_ses(mailer)
    data = verification_data()
    mailer.send("email_verification", "amira.haddad@example.com", data)
    assert faults.calls == 3
    assert recorded_data(server.template_messages()) == {"amira.haddad@example.com": prepare_data(data)}


def test_throttling_that_never_ends_is_throttled_after_max_attempts(moto_ses: Any) -> None:
    c, backend = moto_ses
    faults = Faults(c, "SendTemplatedEmail", lambda i: ("Throttling", "Maximum sending rate exceeded.", 400))
    mailer = make_mailer(c)
    no_sleep_ses(mailer)
    with pytest.raises(Throttled) as info:
        mailer.send("email_verification", "amira.haddad@example.com", verification_data())
    assert faults.calls == mailer._ses().max_attempts  # type: ignore[union-attr]
    assert info.value.retryable and "SES_MAX_SEND_RATE" in str(info.value)
    assert backend.sent_messages == []


def test_rate_comes_from_get_send_quota_when_not_configured(moto_ses: Any) -> None:
    c, _ = moto_ses
    calls = Faults(c, "GetSendQuota", lambda i: None)
    clock = [0.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        clock[0] += s

    transport = SesTransport(c, region=REGION)
    transport.limiter = RateLimiter(50.0, clock=lambda: clock[0], sleep=sleep)
    mailer = make_mailer(c, transport=transport)
    mailer.send("email_verification", "a@example.org", verification_data())
    assert calls.calls == 0  # one send never pays for the quota call
    mailer.send("email_verification", "b@example.org", verification_data())
    mailer.send("email_verification", "c@example.org", verification_data())
    assert calls.calls == 1
    assert transport.limiter.rate == 1.0  # moto's MaxSendRate
    assert mailer.quota().max_send_rate == 1.0 and mailer.quota().max_24_hour_send == 200
    assert waits == pytest.approx([1.0, 1.0])  # paced at 1/s once the quota is known


def test_configured_rate_skips_the_quota_call(moto_ses: Any) -> None:
    c, _ = moto_ses
    calls = Faults(c, "GetSendQuota", lambda i: None)
    mailer = make_mailer(c, max_send_rate=5_000)
    for i in range(3):
        mailer.send("email_verification", f"r{i}@example.org", verification_data())
    assert calls.calls == 0 and mailer._ses().limiter.rate == 5_000  # type: ignore[union-attr]


def test_unreadable_quota_falls_back_to_the_sandbox_rate_with_a_warning(moto_ses: Any,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    c, _ = moto_ses
    Faults(c, "GetSendQuota", lambda i: ("AccessDenied", "not allowed", 403))
    transport = SesTransport(c, region=REGION)
    transport.limiter = RateLimiter(1.0, clock=lambda: 0.0, sleep=lambda s: None)
    mailer = make_mailer(c, transport=transport)
    with caplog.at_level(logging.WARNING, logger="letterhead.send"):
        for to in ("a@example.org", "b@example.org"):
            mailer.send("email_verification", to, verification_data())
    assert "SES_MAX_SEND_RATE" in caplog.text and transport.limiter.rate == 1.0


# --- logs ------------------------------------------------------------------------------------------------


def _assert_private(text: str, *secrets: str) -> None:
    for s in secrets:
        assert s not in text, f"{s!r} leaked into the logs"


def test_one_structured_line_per_send_and_no_code_or_person_in_any_log(moto_ses: Any,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    c, _ = moto_ses
    caplog.set_level(logging.DEBUG)  # botocore's own DEBUG lines included
    mailer = make_mailer(c)
    message_id = mailer.send("email_verification", "amira.haddad@example.com", verification_data())
    lines = [r for r in caplog.records if r.name == "letterhead.send"]
    assert len(lines) == 1
    fields = lines[0].letterhead  # type: ignore[attr-defined]
    assert fields["template"] == "email_verification" and fields["message_id"] == message_id
    assert fields["recipient_domain"] == "example.com" and fields["status"] == "sent"
    assert f"message_id={message_id}" in lines[0].getMessage()
    _assert_private(all_log_text(caplog.records), CODE, "amira.haddad")


def test_failures_log_no_code_either(moto_ses: Any, caplog: pytest.LogCaptureFixture) -> None:
    c, _ = moto_ses
    caplog.set_level(logging.DEBUG)
    mailer = make_mailer(c)
    errors: list[str] = []
    for bad in ("73921", "7392145", " 739214"):  # a DataError on a bad code, value never repeated
        with pytest.raises(DataError) as info:
            mailer.send("email_verification", "amira.haddad@example.com", verification_data(bad))
        errors.append(str(info.value))
    with pytest.raises(RenderError) as render_info:
        mailer.send("email_verification", "amira.haddad@example.com", {"code": CODE})
    errors.append(str(render_info.value))
    Faults(c, "SendTemplatedEmail", lambda i: ("MessageRejected", "Email address is not verified. The following "
                                               "identities failed the check in region EU-WEST-1: "
                                               "amira.haddad@example.com", 400))
    with pytest.raises(MessageRejected) as rejected:
        mailer.send("email_verification", "amira.haddad@example.com", verification_data())
    errors.append(str(rejected.value))
    text = all_log_text(caplog.records) + "\n".join(errors)
    _assert_private(text, CODE, "73921", "amira.haddad")
    statuses = [r.letterhead["status"] for r in caplog.records if r.name == "letterhead.send"]  # type: ignore[attr-defined]
    assert statuses == ["invalid"] * 4 + ["failed"]


def test_logs_against_motos_server_keep_the_request_body_out(server_ses: Any, caplog: pytest.LogCaptureFixture) -> None:
    _, c = server_ses
    caplog.set_level(logging.DEBUG)
    make_mailer(c).send("email_verification", "amira.haddad@example.com", verification_data())
    text = all_log_text(caplog.records)
    assert "parameters withheld by letterhead" in text
    _assert_private(text, CODE, "amira.haddad")


# --- configuration from the environment and .env ----------------------------------------------------------


def test_from_env_reads_dotenv_and_the_manifest(server_ses: Any, tmp_path: Path) -> None:
    server, _ = server_ses
    root = tmp_path / "app"
    (root / "ses_templates").mkdir(parents=True)
    for p in SES_DIR.glob("*.json"):
        (root / "ses_templates" / p.name).write_bytes(p.read_bytes())
    (root / ".env").write_text(
        "SES_SENDER_EMAIL=noreply@calndr.club\nSES_SENDER_NAME=Calndr Club\nAWS_REGION=eu-west-1\n"
        f"AWS_ENDPOINT_URL_SES={server.url}\nSES_CONFIGURATION_SET=calndr-transactional\nSES_MAX_SEND_RATE=50\n"
        "AWS_ACCESS_KEY_ID=testing\nAWS_SECRET_ACCESS_KEY=testing\n")
    mailer = Mailer.from_env(root, environ={})  # everything from .env, credentials included
    assert mailer.source == "Calndr Club <noreply@calndr.club>"
    assert mailer.configuration_set == "calndr-transactional"
    ses = mailer._ses()
    assert ses is not None and ses.endpoint_url == server.url and ses.region == "eu-west-1"
    assert ses.limiter.rate == 50
    mailer.send("email_verification", "amira.haddad@example.com", verification_data())
    assert [m["template"] for m in server.template_messages()] == ["email_verification"]


def test_from_env_picks_the_smtp_fallback_when_smtp_host_is_set(tmp_path: Path) -> None:
    environ = {"SES_SENDER_EMAIL": "noreply@calndr.club", "AWS_REGION": REGION, "SMTP_HOST": "127.0.0.1",
               "SMTP_PORT": "2525", "SMTP_SECURITY": "none"}
    mailer = Mailer.from_env(tmp_path, environ=environ, ses_dir=SES_DIR)
    assert mailer.transport.name == "ses+smtp"
    assert Mailer.from_env(tmp_path, environ={**environ, "LETTERHEAD_TRANSPORT": "outbox"},
                           ses_dir=SES_DIR).transport.name == "outbox"


# --- Calndr Club's verification code ------------------------------------------------------------------


def test_new_code_is_six_digits_from_secrets_zero_padded(monkeypatch: pytest.MonkeyPatch) -> None:
    codes = {verification.new_code() for _ in range(500)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 400
    monkeypatch.setattr(verification.secrets, "randbelow", lambda n: 48213)
    assert verification.new_code() == "048213"


def test_code_expires_after_ten_minutes_and_the_email_says_so(moto_ses: Any) -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    expires = verification.expires_at(now)
    assert expires - now == timedelta(minutes=10) == verification.VALID_FOR
    assert verification.is_valid("048213", "048213", expires, now=now + timedelta(minutes=9, seconds=59))
    assert not verification.is_valid("048213", "048213", expires, now=expires)
    assert not verification.is_valid("048214", "048213", expires, now=now)
    c, _ = moto_ses
    parts = make_mailer(c).render("email_verification", verification_data("048213"))
    minutes = int(verification.VALID_FOR.total_seconds() // 60)
    assert f"valid for {minutes} minutes" in parts["text"] and f"{minutes} minutes" in parts["html"]
    assert "048213" in parts["subject"] and "048213" in parts["text"]


# --- the command line ----------------------------------------------------------------------------------------


def _invoke(args: list[str], root: Path, env: dict[str, str] | None = None) -> Any:
    from letterhead.cli.common import Ctx
    from letterhead.cli.send import send

    return CliRunner().invoke(send, args, obj=Ctx(root, as_json=False), env=env, catch_exceptions=False)


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    (root / "ses_templates").mkdir(parents=True)
    for p in SES_DIR.glob("*.json"):
        (root / "ses_templates" / p.name).write_bytes(p.read_bytes())
    (root / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    return root


def test_cli_send_to_the_outbox_writes_an_eml(tmp_path: Path) -> None:
    root = _project(tmp_path)
    data = tmp_path / "invite.json"
    data.write_text(json.dumps(sample("coparent_invitation", "non_ascii_name")))
    env = {"SES_SENDER_EMAIL": "noreply@calndr.club", "SES_SENDER_NAME": "Calndr Club", "SMTP_HOST": ""}
    result = _invoke(["coparent_invitation", "--to", "jonas.mueller@example.de", "--data", str(data),
                      "--transport", "outbox", "--json"], root, env)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["ok"] and out["transport"] == "outbox" and out["eml"].endswith(".eml")
    import email
    from email import policy

    msg = email.message_from_bytes(Path(out["eml"]).read_bytes(), policy=policy.default)
    assert "Zoë" in str(msg["Subject"]) and msg.get_content_type() == "multipart/alternative"


def test_cli_send_refuses_a_missing_variable_with_exit_1(tmp_path: Path) -> None:
    root = _project(tmp_path)
    data = tmp_path / "code.json"
    data.write_text(json.dumps({"email": "amira.haddad@example.com"}))
    env = {"SES_SENDER_EMAIL": "noreply@calndr.club", "SMTP_HOST": ""}
    result = _invoke(["email_verification", "--to", "amira.haddad@example.com", "--data", str(data),
                      "--transport", "outbox"], root, env)
    assert result.exit_code == 1
    assert "missing variable `code`" in result.output and "fix:" in result.output


def test_cli_send_through_ses_against_motos_server(server_ses: Any, tmp_path: Path) -> None:
    server, _ = server_ses
    root = _project(tmp_path)
    data = tmp_path / "code.json"
    data.write_text(json.dumps(verification_data()))
    env = {"SES_SENDER_EMAIL": "noreply@calndr.club", "SES_SENDER_NAME": "Calndr Club", "AWS_REGION": REGION,
           "AWS_ENDPOINT_URL_SES": server.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "SMTP_HOST": "", "LETTERHEAD_TRANSPORT": ""}
    result = _invoke(["email_verification", "--to", "amira.haddad@example.com", "--data", str(data),
                      "--tag", "kind=verification", "--json"], root, env)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["transport"] == "ses" and out["deployed_name"] == "email_verification"
    assert recorded_data(server.template_messages()) == {"amira.haddad@example.com": prepare_data(verification_data())}
    bad = _invoke(["email_verification", "--to", "amira.haddad@example.com\r\nBcc: x@evil.example", "--data",
                   str(data)], root, env)
    assert bad.exit_code == 1 and "line break" in bad.output
    assert CODE not in bad.output


def test_send_error_is_a_letterhead_remote_error() -> None:
    from letterhead.errors import LetterheadError, RemoteError, ThrottledError

    assert issubclass(SendError, RemoteError) and issubclass(SendError, LetterheadError)
    assert issubclass(Throttled, ThrottledError)
