"""The consumer of SES events (issue 16): dispatch, suppression, the
journal's dedupe, handler failures, rendering failures' missing variables,
the log line; SNS over HTTP through :meth:`EventConsumer.handle_http`, the
ASGI app (httpx's ASGITransport, and uvicorn on loopback over real HTTP) and
the plain function; SQS messages through :meth:`EventConsumer.handle_sqs`.

Signed SNS messages come from tests/events_support.py: the production
:class:`SnsVerifier` with only the certificate URL rule and the fetch
injected."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from letterhead.errors import ConfigError, EventRejected, HandlerFailed
from letterhead.events.asgi import MAX_BODY, asgi_app, handle_sns_request
from letterhead.events.consumer import EventConsumer, missing_paths
from letterhead.events.journal import Journal
from letterhead.events.model import SesEvent
from letterhead.events.suppression import SqliteSuppressions

from .events_support import (
    OTHER_TOPIC,
    SUBSCRIBE_URL,
    TOPIC,
    FetchStub,
    make_verifier,
    notification,
    signed,
    subscription_confirmation,
)
from .helpers import REPO, free_port

SAMPLES = REPO / "tests" / "projects" / "events"


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteSuppressions]:
    s = SqliteSuppressions(tmp_path / "events.sqlite3")
    yield s
    s.close()


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    # retention=None: the samples are dated 2024, older than the default 30 days' retention
    j = Journal(tmp_path / "events.sqlite3", retention=None)
    yield j
    j.close()


class Recorder:
    def __init__(self) -> None:
        self.events: list[SesEvent] = []

    def __call__(self, event: SesEvent) -> None:
        self.events.append(event)


# -- dispatch -------------------------------------------------------------------------------------


def test_handlers_get_their_kind_and_star_gets_every_kind() -> None:
    consumer = EventConsumer()
    bounces, deliveries, everything = Recorder(), Recorder(), Recorder()
    consumer.on("bounce")(bounces)
    consumer.on("delivery")(deliveries)
    consumer.on("*")(everything)
    for name in ("event-bounce-transient", "event-complaint", "event-open"):
        consumer.handle_notification(sample(name))
    assert [e.recipient for e in bounces.events] == ["full@example.net", "also-full@example.net"]
    assert deliveries.events == []
    assert [e.kind for e in everything.events] == ["bounce", "bounce", "complaint"]  # Open: no event


def test_unknown_kind_is_refused_at_registration() -> None:
    with pytest.raises(ValueError, match="unknown event kind 'bounced'"):
        EventConsumer().on("bounced")


# -- suppression ----------------------------------------------------------------------------------


def test_permanent_bounce_and_complaint_are_suppressed_with_reason_and_detail(store: SqliteSuppressions) -> None:
    consumer = EventConsumer(suppressions=store)
    consumer.handle_notification(sample("event-bounce-permanent"))
    consumer.handle_notification(sample("event-complaint"))
    bounce = store.get("nobody@example.org")
    assert bounce is not None
    assert (bounce.reason, bounce.detail, bounce.message_id) == (
        "bounce", "General", sample("event-bounce-permanent")["mail"]["messageId"])
    complaint = store.get("annoyed@example.com")
    assert complaint is not None and (complaint.reason, complaint.detail) == ("complaint", "abuse")


def test_transient_bounce_and_delivery_suppress_nothing(store: SqliteSuppressions) -> None:
    consumer = EventConsumer(suppressions=store)
    for name in ("event-bounce-transient", "event-delivery", "event-delivery-delay", "notification-delivery"):
        consumer.handle_notification(sample(name))
    assert list(store) == []


# -- the journal: at-least-once delivery ----------------------------------------------------------


def test_a_duplicate_delivery_is_not_dispatched_twice(journal: Journal) -> None:
    consumer = EventConsumer(journal=journal)
    seen = Recorder()
    consumer.on("*")(seen)
    first = consumer.handle_notification(sample("event-delivery"))
    again = consumer.handle_notification(sample("event-delivery"))
    assert len(first) == len(again) == 2  # parsed both times...
    assert len(seen.events) == 2  # ...dispatched once


def test_without_a_journal_every_delivery_is_dispatched() -> None:
    consumer = EventConsumer()
    seen = Recorder()
    consumer.on("*")(seen)
    consumer.handle_notification(sample("event-complaint"))
    consumer.handle_notification(sample("event-complaint"))
    assert len(seen.events) == 2


# -- a handler that raises ------------------------------------------------------------------------


def test_a_failing_handler_keeps_the_event_from_no_other_and_the_retry_dispatches_again(
        journal: Journal, store: SqliteSuppressions) -> None:
    consumer = EventConsumer(journal=journal, suppressions=store)
    calls: list[str] = []
    failing = [True]

    @consumer.on("complaint")
    def flaky(event: SesEvent) -> None:
        calls.append("flaky")
        if failing[0]:
            raise RuntimeError("database down")

    @consumer.on("*")
    def audit(event: SesEvent) -> None:
        calls.append("audit")

    with pytest.raises(HandlerFailed, match="complaint events raised RuntimeError: database down") as info:
        consumer.handle_notification(sample("event-complaint"))
    assert calls == ["flaky", "audit"]
    assert [e.kind for e, _ in info.value.errors] == ["complaint"]
    assert store.get("annoyed@example.com") is not None  # suppressed whatever the handlers did
    failing[0] = False
    consumer.handle_notification(sample("event-complaint"))  # the redelivery: not taken for a duplicate
    assert calls == ["flaky", "audit", "flaky", "audit"]
    consumer.handle_notification(sample("event-complaint"))  # handled now: a third copy is a duplicate
    assert calls == ["flaky", "audit", "flaky", "audit"]


# -- rendering failures ---------------------------------------------------------------------------


def rendering_failure(message_id: str, template: str = "coparent_invitation") -> dict[str, Any]:
    out = copy.deepcopy(sample("event-rendering-failure"))
    out["mail"]["messageId"] = message_id
    out["mail"]["tags"]["template"] = [template]
    out["failure"]["templateName"] = template
    return out


def test_rendering_failure_names_the_required_variables_the_send_lacked(journal: Journal) -> None:
    journal.record_send("msg-1", "coparent_invitation", ["a@example.com"],
                        {"inviter_name": "Ada", "inviter_email": "ada@example.com", "expires_at": "soon",
                         "children": [{"name": "Kim"}, {"age": 3}]})
    consumer = EventConsumer(journal=journal, manifest_dir=REPO / "ses_templates")
    failures = Recorder()
    consumer.on("rendering_failure")(failures)
    [event] = consumer.handle_notification(rendering_failure("msg-1"))
    # accept_url and recipient_email absent; children[].name lacking in one item
    assert event.missing == ("accept_url", "children[].name", "recipient_email")
    assert failures.events == [event]
    assert event.to_dict()["missing"] == ["accept_url", "children[].name", "recipient_email"]


def test_rendering_failure_of_an_unknown_send_leaves_missing_empty(journal: Journal, tmp_path: Path) -> None:
    consumer = EventConsumer(journal=journal, manifest_dir=REPO / "ses_templates")
    [event] = consumer.handle_notification(rendering_failure("never-recorded"))
    assert event.missing == ()  # unknown, not "nothing missing"
    journal.record_send("msg-2", "no_such_template", ["a@example.com"], {})
    [event] = consumer.handle_notification(rendering_failure("msg-2", "no_such_template"))
    assert event.missing == ()
    empty = tmp_path / "no-manifest"
    empty.mkdir()
    journal.record_send("msg-3", "coparent_invitation", ["a@example.com"], {})
    [event] = EventConsumer(journal=journal, manifest_dir=empty).handle_notification(rendering_failure("msg-3"))
    assert event.missing == ()


def test_rendering_failure_follows_a_rebuilt_manifest(journal: Journal, tmp_path: Path) -> None:
    ses_dir = tmp_path / "ses_templates"
    shutil.copytree(REPO / "ses_templates", ses_dir)
    journal.record_send("msg-4", "coparent_invitation", ["a@example.com"], {"note": "hi"})
    consumer = EventConsumer(journal=journal, manifest_dir=ses_dir)
    [before] = consumer.handle_notification(rendering_failure("msg-4"))
    manifest = json.loads((ses_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest["templates"]["coparent_invitation"]["contract"]["recipient_name"]["required"] = True
    (ses_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    import os

    os.utime(ses_dir / "manifest.json", (1, 1))  # a different mtime whatever the clock's resolution
    journal.forget_event(before)
    [after] = consumer.handle_notification(rendering_failure("msg-4"))
    assert "recipient_name" not in before.missing  # optional when the consumer first read the manifest
    assert "recipient_name" in after.missing  # required in the rebuilt one
    assert "note" not in after.missing and "inviter_name" in after.missing


def test_rendering_failure_found_by_its_deployed_name(journal: Journal, tmp_path: Path) -> None:
    ses_dir = tmp_path / "ses_templates"
    shutil.copytree(REPO / "ses_templates", ses_dir)
    manifest = json.loads((ses_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest["templates"]["coparent_invitation"]["deployed_name"] = "prod-coparent_invitation-1a2b"
    (ses_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    journal.record_send("msg-5", "prod-coparent_invitation-1a2b", ["a@example.com"], {"accept_url": "https://x"})
    consumer = EventConsumer(journal=journal, manifest_dir=ses_dir)
    [event] = consumer.handle_notification(rendering_failure("msg-5", "prod-coparent_invitation-1a2b"))
    assert "accept_url" not in event.missing and "inviter_name" in event.missing


@pytest.mark.parametrize(("required", "present", "missing"), [
    (["a", "b"], ["a"], ("b",)),
    (["days[].date"], ["days"], ()),  # an empty list lacks no item field
    (["days[].date"], ["days", "days[]"], ("days[].date",)),
    (["days[].date"], ["days", "days[]", "days[].date"], ()),
    (["user.name"], [], ()),  # the object itself is absent: its fields are not judged
    (["user", "user.name"], [], ("user",)),
    (["user.name"], ["user"], ("user.name",)),
    (["tags[]"], ["tags"], ()),  # items' own presence cannot be judged from paths
    (["a.[b-c]"], ["a"], ("a.[b-c]",)),
])
def test_missing_paths(required: list[str], present: list[str], missing: tuple[str, ...]) -> None:
    assert missing_paths(required, present) == missing


# -- the log line ---------------------------------------------------------------------------------


def test_one_log_line_per_event_with_the_domain_never_the_local_part(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="letterhead.events")
    EventConsumer().handle_notification(sample("event-delivery"))
    lines = [r for r in caplog.records if r.name == "letterhead.events"]
    assert len(lines) == 2
    text = "\n".join(r.getMessage() for r in lines)
    assert "recipient_domain=example.com" in text and "recipient_domain=example.org" in text
    assert "ada@" not in text and "grace" not in text
    assert "kind=delivery" in text and "template=receipt" in text and "message_id=0102018f0004" in text
    assert lines[0].letterhead["recipient_domain"] == "example.com"  # type: ignore[attr-defined]


# -- SNS over HTTP --------------------------------------------------------------------------------


def http_consumer(**kw: Any) -> tuple[EventConsumer, Any]:
    verifier, fetch = make_verifier()
    return EventConsumer(verifier=verifier, **kw), fetch


def body(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode("utf-8")


HEADERS = {"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification"}


@pytest.mark.parametrize("version", ["1", "2"])
def test_http_signed_notification_is_handled(version: Any, store: SqliteSuppressions) -> None:
    consumer, _ = http_consumer(suppressions=store)
    seen = Recorder()
    consumer.on("bounce")(seen)
    status, _ = consumer.handle_http(body(signed(notification(sample("event-bounce-permanent")), version=version)),
                                     HEADERS)
    assert status == 200
    assert [e.recipient for e in seen.events] == ["Nobody@Example.org"]
    assert store.get("nobody@example.org") is not None


@pytest.mark.parametrize(("message", "reason", "status"), [
    (lambda: notification(sample("event-complaint")), "unsigned", 403),
    (lambda: {**signed(notification(sample("event-complaint"))), "Message": json.dumps(sample("event-delivery"))},
     "bad-signature", 403),
    (lambda: signed(notification(sample("event-complaint"), topic=OTHER_TOPIC)), "topic", 403),
    (lambda: signed(notification({"hello": "world"})), "not-ses", 400),
])
def test_http_refusals_never_reach_the_application(message: Any, reason: str, status: int,
                                                    store: SqliteSuppressions,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    consumer, _ = http_consumer(suppressions=store)
    seen = Recorder()
    consumer.on("*")(seen)
    answer = consumer.handle_http(body(message()), HEADERS)
    assert answer == (status, f"refused: {reason}")
    assert seen.events == [] and list(store) == []
    assert f"reason={reason}" in caplog.text


def test_http_certificate_fetch_failure_asks_sns_to_retry(store: SqliteSuppressions) -> None:
    verifier, fetch = make_verifier(fetch=FetchStub(fail=True))
    consumer = EventConsumer(verifier=verifier, suppressions=store)
    message = body(signed(notification(sample("event-bounce-permanent"))))
    assert consumer.handle_http(message, HEADERS) == (503, "unavailable: fetch")  # a 4xx would be dropped by SNS
    fetch.fail = False
    assert consumer.handle_http(message, HEADERS)[0] == 200  # the retry goes through
    assert store.get("nobody@example.org") is not None


def test_http_header_must_agree_with_the_body() -> None:
    consumer, _ = http_consumer()
    message = signed(subscription_confirmation())
    assert consumer.handle_http(body(message), HEADERS) == (400, "refused: malformed")


def test_http_not_json_is_a_bad_request() -> None:
    consumer, _ = http_consumer()
    assert consumer.handle_http(b"<xml/>", {}) == (400, "refused: malformed")
    assert consumer.handle_http(b"[1]", {}) == (400, "refused: malformed")


def test_http_without_a_verifier_accepts_nothing() -> None:
    consumer = EventConsumer()
    seen = Recorder()
    consumer.on("*")(seen)
    assert consumer.handle_http(body(signed(notification(sample("event-complaint")))), HEADERS) == (
        403, "refused: unverified")
    assert seen.events == []


def test_http_subscription_confirmation_for_an_allowed_topic() -> None:
    consumer, fetch = http_consumer()
    headers = {**HEADERS, "x-amz-sns-message-type": "SubscriptionConfirmation"}
    assert consumer.handle_http(body(signed(subscription_confirmation())), headers) == (200, "subscribed")
    assert SUBSCRIBE_URL in fetch.calls
    fetch.calls.clear()
    foreign = signed(subscription_confirmation(topic=OTHER_TOPIC))
    assert consumer.handle_http(body(foreign), headers) == (403, "refused: topic")
    assert not any("ConfirmSubscription" in url for url in fetch.calls)


def test_http_unsubscribe_confirmation_is_acknowledged() -> None:
    consumer, fetch = http_consumer()
    message = signed(subscription_confirmation(kind="UnsubscribeConfirmation"))
    assert consumer.handle_http(body(message), {"x-amz-sns-message-type": "UnsubscribeConfirmation"}) == (200, "ok")
    assert not any("ConfirmSubscription" in url for url in fetch.calls)  # never confirmed back


def test_http_handler_failure_is_a_500_and_snss_retry_is_handled(journal: Journal) -> None:
    consumer, _ = http_consumer(journal=journal)
    calls: list[str] = []
    failing = [True]

    @consumer.on("complaint")
    def flaky(event: SesEvent) -> None:
        calls.append(event.kind)
        if failing[0]:
            raise RuntimeError("down")

    raw = body(signed(notification(sample("event-complaint"))))
    assert consumer.handle_http(raw, HEADERS) == (500, "a handler failed; deliver again")
    failing[0] = False
    assert consumer.handle_http(raw, HEADERS) == (200, "ok")  # SNS's retry: same MessageId, same signature
    assert calls == ["complaint", "complaint"]
    assert consumer.handle_http(raw, HEADERS) == (403, "refused: replay")  # handled: a third copy is a replay
    assert calls == ["complaint", "complaint"]


# -- SQS bodies -----------------------------------------------------------------------------------


def test_sqs_raw_delivery_and_envelope(store: SqliteSuppressions) -> None:
    consumer = EventConsumer(suppressions=store, topics=[TOPIC])
    [raw] = consumer.handle_sqs(json.dumps(sample("notification-bounce")))
    [wrapped] = consumer.handle_sqs(json.dumps(notification(sample("event-complaint"))))
    assert (raw.kind, wrapped.kind) == ("bounce", "complaint")
    assert {s.address for s in store} == {"gone@example.org", "annoyed@example.com"}


def test_sqs_envelope_topic_must_be_allowed() -> None:
    consumer = EventConsumer(topics=[TOPIC])
    with pytest.raises(EventRejected) as info:
        consumer.handle_sqs(json.dumps(notification(sample("event-complaint"), topic=OTHER_TOPIC)))
    assert info.value.reason == "topic"
    with pytest.raises(EventRejected) as info:  # no allowlist: no envelope is accepted
        EventConsumer().handle_sqs(json.dumps(notification(sample("event-complaint"))))
    assert info.value.reason == "topic"


def test_sqs_topics_default_to_the_verifiers() -> None:
    verifier, _ = make_verifier()
    [event] = EventConsumer(verifier=verifier).handle_sqs(json.dumps(notification(sample("event-complaint"))))
    assert event.kind == "complaint"


def test_sqs_signature_checked_only_when_asked() -> None:
    verifier, _ = make_verifier()
    unsigned = json.dumps(notification(sample("event-complaint")))
    assert EventConsumer(verifier=verifier).handle_sqs(unsigned)  # IAM guards the queue
    strict = EventConsumer(verifier=verifier, verify_sqs=True)
    with pytest.raises(EventRejected) as info:
        strict.handle_sqs(unsigned)
    assert info.value.reason == "unsigned"
    assert strict.handle_sqs(json.dumps(signed(notification(sample("event-complaint")))))


# -- the ASGI app and the plain function ----------------------------------------------------------


def asgi_client(consumer: EventConsumer) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi_app(consumer)), base_url="http://sns.test")


def test_asgi_app_over_httpx(store: SqliteSuppressions) -> None:
    consumer, _ = http_consumer(suppressions=store)

    async def run() -> list[tuple[int, str]]:
        async with asgi_client(consumer) as client:
            answers = []
            ok = await client.post("/ses/events", content=body(signed(notification(sample("event-complaint")))),
                                   headers=HEADERS)
            answers.append((ok.status_code, ok.text))
            get = await client.get("/ses/events")
            answers.append((get.status_code, get.headers.get("allow", "")))
            big = await client.post("/ses/events", content=b"x" * (MAX_BODY + 64 * 1024), headers=HEADERS)
            answers.append((big.status_code, big.text))
            form = await client.post("/ses/events", content=b"a=b",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
            answers.append((form.status_code, form.text))
            forged = await client.post("/ses/events", content=body(notification(sample("event-bounce-permanent"))),
                                       headers=HEADERS)
            answers.append((forged.status_code, forged.text))
            return answers

    assert asyncio.run(run()) == [(200, "ok\n"), (405, "POST"), (413, "body too large\n"),
                                  (415, "SNS sends text/plain\n"), (403, "refused: unsigned\n")]
    assert [s.address for s in store] == ["annoyed@example.com"]


def test_asgi_app_needs_a_verifier() -> None:
    with pytest.raises(ConfigError, match="needs an EventConsumer with a verifier"):
        asgi_app(EventConsumer())


def test_asgi_app_served_by_uvicorn_over_real_http(store: SqliteSuppressions) -> None:
    import uvicorn

    consumer, _ = http_consumer(suppressions=store)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(asgi_app(consumer), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            threading.Event().wait(0.01)
        assert server.started
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            answer = client.post("/", content=body(signed(notification(sample("event-bounce-permanent")))),
                                 headers=HEADERS)
            assert (answer.status_code, answer.text) == (200, "ok\n")
            assert client.put("/", content=b"{}").status_code == 405
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert store.get("nobody@example.org") is not None


def test_handle_sns_request_for_wsgi_frameworks() -> None:
    consumer, _ = http_consumer()
    seen = Recorder()
    consumer.on("*")(seen)
    message = body(signed(notification(sample("event-delivery"), message_id="m-wsgi")))
    assert handle_sns_request(consumer, message, {"X-Amz-Sns-Message-Type": "Notification"}) == (200, "ok")
    assert len(seen.events) == 2
    assert handle_sns_request(consumer, message, {}, method="GET") == (405, "POST only")
    assert handle_sns_request(consumer, b"x" * (MAX_BODY + 64 * 1024), {})[0] == 413


def test_sqs_verified_raw_delivery_is_refused_and_a_failed_handler_does_not_make_a_replay() -> None:
    verifier, _ = make_verifier()
    strict = EventConsumer(verifier=verifier, verify_sqs=True)
    with pytest.raises(EventRejected) as info:
        strict.handle_sqs(json.dumps(sample("event-complaint")))  # raw: nothing to verify
    assert info.value.reason == "unsigned"
    failing = [True]

    @strict.on("complaint")
    def flaky(event: SesEvent) -> None:
        if failing[0]:
            raise RuntimeError("down")

    message = json.dumps(signed(notification(sample("event-complaint"))))
    with pytest.raises(HandlerFailed):
        strict.handle_sqs(message)
    failing[0] = False
    assert strict.handle_sqs(message)  # SQS's redelivery of the same envelope
    with pytest.raises(EventRejected) as info:
        strict.handle_sqs(message)
    assert info.value.reason == "replay"


def test_from_config_reads_the_events_settings(tmp_path: Path) -> None:
    from letterhead.config import load_config

    (tmp_path / "pyproject.toml").write_text(
        '[tool.letterhead.events]\ndatabase = "var/events.db"\nmax_age = 600\n'
        f'topics = ["{TOPIC}"]\n', encoding="utf-8")
    consumer = EventConsumer.from_config(load_config(tmp_path, environ={}))
    assert consumer.topics == {TOPIC}
    assert consumer.verifier is not None and consumer.verifier.topics == {TOPIC}
    assert consumer.verifier.max_age.total_seconds() == 600
    assert isinstance(consumer.suppressions, SqliteSuppressions)
    assert consumer.journal is not None and consumer.journal.path == tmp_path / "var" / "events.db"
    assert consumer.manifest_dir == tmp_path / "ses_templates"
    assert not (tmp_path / "var").exists()  # nothing opened yet
    consumer.handle_notification(sample("event-complaint"))
    assert consumer.suppressions.get("annoyed@example.com") is not None
    consumer.close()
    off = EventConsumer.from_config(load_config(tmp_path, environ={"LETTERHEAD_SUPPRESSION": "off"}))
    assert off.suppressions is None
