"""SES notification JSON → SesEvent (letterhead.events.normalize, issue 16).

The samples in tests/projects/events/ follow the SES developer guide's
examples: ``event-*`` are event-publishing records (``eventType``),
``notification-*`` identity notifications (``notificationType``), ``sns-*``
SNS envelopes as an SQS queue receives them without raw message delivery."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letterhead.errors import EventRejected
from letterhead.events.model import SesEvent
from letterhead.events.normalize import notification_of, parse_notification, unwrap_sqs_body

SAMPLES = Path(__file__).parent / "projects" / "events"


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text())
    return loaded


def at(year: int, month: int, day: int, hour: int, minute: int, second: int, micro: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


# name → (kind, recipients, template) of each event the sample gives, in order
EXPECTED: dict[str, list[tuple[str, str | None, str | None]]] = {
    "event-bounce-permanent": [("bounce", "Nobody@Example.org", "welcome")],
    "event-bounce-transient": [("bounce", "full@example.net", "digest"), ("bounce", "also-full@example.net", "digest")],
    "event-complaint": [("complaint", "annoyed@example.com", "digest")],
    "event-delivery": [("delivery", "ada@example.com", "receipt"), ("delivery", "grace@example.org", "receipt")],
    "event-send": [("send", None, "receipt")],
    "event-reject": [("reject", None, "invoice")],
    "event-rendering-failure": [("rendering_failure", None, "welcome")],
    "event-delivery-delay": [("delivery_delay", "slow@example.com", "welcome")],
    "event-open": [],
    "event-click": [],
    "event-subscription": [],
    "notification-bounce": [("bounce", "gone@example.org", None)],
    "notification-bounce-no-dsn": [("bounce", "listed@example.com", None), ("bounce", "listed-too@example.com", None)],
    "notification-complaint": [("complaint", "spam-button@example.net", None)],
    "notification-complaint-no-feedback": [("complaint", "quiet@example.net", None)],
    "notification-delivery": [("delivery", "jane@example.com", None)],
    "notification-subscription-succeeded": [],
}


def test_every_sample_is_expected() -> None:
    names = {p.stem for p in SAMPLES.glob("*.json")}
    assert names == set(EXPECTED) | {"sns-envelope-bounce", "sns-envelope-validation"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_samples_give_one_event_per_recipient(name: str) -> None:
    notification = sample(name)
    events = parse_notification(notification)
    assert [(e.kind, e.recipient, e.template) for e in events] == EXPECTED[name]
    for event in events:
        assert event.message_id == notification["mail"]["messageId"]
        assert event.timestamp.tzinfo is not None
        assert event.raw is notification


def test_bounce_fields_and_suppression() -> None:
    [permanent] = parse_notification(sample("event-bounce-permanent"))
    assert permanent.bounce_type == "Permanent" and permanent.bounce_subtype == "General"
    assert permanent.diagnostic is not None and permanent.diagnostic.startswith("smtp; 550 5.1.1")
    # the bounce's own time, not the send's
    assert permanent.timestamp == at(2024, 5, 2, 9, 14, 7, 412000)
    assert permanent.suppresses
    assert permanent.tags["template"] == ("welcome",)
    assert permanent.tags["ses:configuration-set"] == ("letterhead",)
    full, also = parse_notification(sample("event-bounce-transient"))
    assert (full.bounce_type, full.bounce_subtype) == ("Transient", "MailboxFull")
    assert full.diagnostic is not None and "over quota" in full.diagnostic
    assert also.diagnostic is None
    assert not full.suppresses and not also.suppresses


def test_identity_bounce_lists_only_the_bounced_recipients() -> None:
    # three destinations, one bounced: one event, and no tags at all
    [event] = parse_notification(sample("notification-bounce"))
    assert event.recipient == "gone@example.org" and event.bounce_subtype == "NoEmail"
    assert event.tags == {} and event.template is None and event.suppresses


def test_complaint_fields() -> None:
    [event] = parse_notification(sample("event-complaint"))
    assert event.complaint_type == "abuse" and event.diagnostic is None and event.suppresses
    assert event.timestamp == at(2024, 5, 3, 18, 22, 31)
    [bare] = parse_notification(sample("notification-complaint-no-feedback"))
    assert bare.complaint_type is None and bare.suppresses


def test_delivery_delay_fields() -> None:
    [event] = parse_notification(sample("event-delivery-delay"))
    assert event.delay_type == "TransientCommunicationFailure"
    assert event.diagnostic == "smtp; 421 4.4.1 Unable to connect to remote host"
    assert event.timestamp == at(2024, 5, 5, 6, 10, 3, 95000) and not event.suppresses


def test_send_reject_and_rendering_failure_are_about_the_message() -> None:
    [send] = parse_notification(sample("event-send"))
    assert send.timestamp == at(2024, 5, 2, 9, 19, 59, 950000)  # no send.timestamp: the mail's
    [reject] = parse_notification(sample("event-reject"))
    assert reject.diagnostic == "Bad content" and reject.recipient is None and not reject.suppresses
    [failure] = parse_notification(sample("event-rendering-failure"))
    assert failure.error_message == "Attribute 'user.first_name' is not present in the rendering data."
    assert failure.template == "welcome"  # the logical name from the tag, not the stored one


def test_rendering_failure_without_the_tag_names_the_stored_template() -> None:
    notification = sample("event-rendering-failure")
    del notification["mail"]["tags"]["template"]
    [failure] = parse_notification(notification)
    assert failure.template == "letterhead-welcome-3f9a1c"


def test_event_without_template_tag_has_no_template() -> None:
    notification = sample("event-delivery")
    del notification["mail"]["tags"]["template"]
    assert {e.template for e in parse_notification(notification)} == {None}


def test_recipient_is_the_bare_address() -> None:
    notification = sample("event-bounce-permanent")
    notification["bounce"]["bouncedRecipients"][0]["emailAddress"] = '"Nobody, Really" <Nobody@Example.org>'
    notification["bounce"]["bouncedRecipients"].append({"emailAddress": "  second@example.org "})
    notification["bounce"]["bouncedRecipients"].append({"emailAddress": "Third <third@example.org>"})
    assert [e.recipient for e in parse_notification(notification)] == [
        "Nobody@Example.org", "second@example.org", "third@example.org"]
    delivery = sample("notification-delivery")
    delivery["delivery"]["recipients"] = ["Jane Doe <jane@example.com>"]
    assert [e.recipient for e in parse_notification(delivery)] == ["jane@example.com"]


@pytest.mark.parametrize("text, expected", [
    ("2024-05-02T09:14:07.412Z", at(2024, 5, 2, 9, 14, 7, 412000)),
    ("2012-05-25T14:59:38.237-07:00", at(2012, 5, 25, 21, 59, 38, 237000)),
    ("2018-10-08T14:05:45 +0000", at(2018, 10, 8, 14, 5, 45)),  # moto's
    ("2024-05-02T09:14:07", at(2024, 5, 2, 9, 14, 7)),  # no offset: UTC
])
def test_timestamps_are_aware(text: str, expected: datetime) -> None:
    notification = sample("event-send")
    notification["mail"]["timestamp"] = text
    [event] = parse_notification(notification)
    assert event.timestamp == expected and event.timestamp.utcoffset() is not None


def test_both_rendering_failure_spellings() -> None:
    notification = sample("event-rendering-failure")
    notification["eventType"] = "RenderingFailure"
    assert [e.kind for e in parse_notification(notification)] == ["rendering_failure"]


@pytest.mark.parametrize("notification", [
    {}, [], "Bounce", 42, None,
    {"mail": {"messageId": "x", "timestamp": "2024-05-02T09:14:07Z"}},  # no type at all
    {"Type": "SubscriptionConfirmation", "Message": "You have chosen to subscribe"},  # an SNS envelope
    {"eventType": "Bounced", "mail": {"messageId": "x"}},  # a kind SES does not have
    {"notificationType": "Received", "mail": {"messageId": "x"}, "receipt": {}},  # inbound mail
], ids=repr)
def test_not_ses(notification: Any) -> None:
    with pytest.raises(EventRejected) as caught:
        parse_notification(notification)
    assert caught.value.reason == "not-ses"


_DELETED = object()


def _mutated(notification: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A copy of ``notification`` with the field at ``path`` set to ``value`` (or deleted)."""
    notification = copy.deepcopy(notification)
    *parents, last = path
    node: Any = notification
    for key in parents:
        node = node[key]
    if value is _DELETED:
        del node[last]
    else:
        node[last] = value
    return notification


@pytest.mark.parametrize("name, path, value", [
    ("event-bounce-permanent", "mail", _DELETED),
    ("event-bounce-permanent", "mail", "text"),
    ("event-bounce-permanent", "mail.messageId", _DELETED),
    ("event-bounce-permanent", "mail.messageId", 17),
    ("event-bounce-permanent", "mail.messageId", " "),
    ("event-bounce-permanent", "bounce", _DELETED),
    ("event-bounce-permanent", "bounce", []),
    ("event-bounce-permanent", "bounce.bouncedRecipients", {"emailAddress": "a@b.c"}),
    ("event-bounce-permanent", "bounce.bouncedRecipients.0", "a@b.c"),
    ("event-bounce-permanent", "bounce.bouncedRecipients.0.emailAddress", None),
    ("event-bounce-permanent", "bounce.bouncedRecipients.0.emailAddress", "not an address"),
    ("event-bounce-permanent", "bounce.bounceType", 5),
    ("event-bounce-permanent", "bounce.timestamp", "yesterday"),
    ("event-bounce-permanent", "mail.tags", ["template"]),
    ("event-bounce-permanent", "mail.tags.template", "welcome"),
    ("event-bounce-permanent", "eventType", ["Bounce"]),
    ("event-send", "mail.timestamp", _DELETED),
    ("event-send", "mail.timestamp", 1714641601),
    ("event-delivery", "delivery.recipients", "ada@example.com"),
    ("event-delivery", "delivery.recipients.0", {"emailAddress": "ada@example.com"}),
    ("event-complaint", "complaint.complainedRecipients", _DELETED),
    ("event-rendering-failure", "failure", _DELETED),
    ("event-rendering-failure", "failure.errorMessage", {"text": "x"}),
    ("event-reject", "reject.reason", ["Bad content"]),
    ("event-delivery-delay", "deliveryDelay.delayedRecipients.0.diagnosticCode", 421),
])
def test_malformed(name: str, path: str, value: Any) -> None:
    notification = _mutated(sample(name), tuple(int(k) if k.isdigit() else k for k in path.split(".")), value)
    with pytest.raises(EventRejected) as caught:
        parse_notification(notification)
    assert caught.value.reason == "malformed", str(caught.value)


def test_mocked_placeholder_type_is_read_from_the_detail_object() -> None:
    # moto's SES publishes "Bounce, Complaint, or Delivery." as notificationType
    notification = sample("notification-bounce")
    notification["notificationType"] = "Bounce, Complaint, or Delivery."
    assert [e.kind for e in parse_notification(notification)] == ["bounce"]
    notification["complaint"] = sample("notification-complaint")["complaint"]
    with pytest.raises(EventRejected) as caught:  # two detail objects: no telling which
        parse_notification(notification)
    assert caught.value.reason == "not-ses"


# -- SQS bodies ------------------------------------------------------------------------------------


def test_raw_delivery_body() -> None:
    text = (SAMPLES / "event-complaint.json").read_text()
    envelope, notification = unwrap_sqs_body(text)
    assert envelope is None and notification == json.loads(text)
    assert unwrap_sqs_body(text.encode()) == (None, json.loads(text))


def test_sns_envelope_body() -> None:
    text = (SAMPLES / "sns-envelope-bounce.json").read_text()
    envelope, notification = unwrap_sqs_body(text)
    assert envelope == json.loads(text)
    assert notification == sample("event-bounce-permanent")
    assert [e.recipient for e in parse_notification(notification)] == ["Nobody@Example.org"]


def test_event_publishing_validation_notice_is_no_event() -> None:
    envelope, notification = unwrap_sqs_body((SAMPLES / "sns-envelope-validation.json").read_text())
    assert envelope is not None and parse_notification(notification) == []


@pytest.mark.parametrize("body, reason", [
    ("", "malformed"),
    ("{not json", "malformed"),
    (b"\xff\xfe{}", "malformed"),
    ("[" * 100_000, "malformed"),
    ("[1, 2]", "not-ses"),
    ('"Bounce"', "not-ses"),
    ('{"Type": "SubscriptionConfirmation", "TopicArn": "arn:aws:sns:eu-west-1:1:t", "Message": "hi"}', "not-ses"),
    ('{"Type": "Notification", "TopicArn": "arn:aws:sns:eu-west-1:1:t", "Message": "not json"}', "malformed"),
    ('{"Type": "Notification", "TopicArn": "arn:aws:sns:eu-west-1:1:t", "Message": 5}', "malformed"),
    ('{"Type": "Notification", "TopicArn": "arn:aws:sns:eu-west-1:1:t", "Message": "[1]"}', "not-ses"),
    ('{"Type": 7, "TopicArn": "arn:aws:sns:eu-west-1:1:t", "Message": "{}"}', "not-ses"),
], ids=repr)
def test_bad_sqs_bodies(body: str | bytes, reason: str) -> None:
    with pytest.raises(EventRejected) as caught:
        unwrap_sqs_body(body)
    assert caught.value.reason == reason


def test_notification_of_accepts_an_object_message() -> None:
    bounce = sample("event-bounce-permanent")
    assert notification_of({"Type": "Notification", "Message": bounce}) is bounce


@pytest.fixture
def moto_feedback_queue(moto: None) -> Iterator[tuple[Any, str]]:
    """moto: SES (an identity with Bounce, Complaint and Delivery topics) → SNS → SQS."""
    ses = boto3.client("ses", region_name="eu-west-1")
    sns = boto3.client("sns", region_name="eu-west-1")
    sqs = boto3.client("sqs", region_name="eu-west-1")
    ses.verify_domain_identity(Domain="acme.test")
    topic = sns.create_topic(Name="letterhead-events")["TopicArn"]
    queue = sqs.create_queue(QueueName="letterhead-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    for kind in ("Bounce", "Complaint", "Delivery"):
        ses.set_identity_notification_topic(Identity="acme.test", NotificationType=kind, SnsTopic=topic)
    yield ses, queue


def test_moto_feedback_through_sns_and_sqs(moto_feedback_queue: tuple[Any, str]) -> None:
    ses, queue = moto_feedback_queue
    sqs = boto3.client("sqs", region_name="eu-west-1")
    kinds = []
    for simulator in ("bounce", "complaint", "success"):
        ses.send_email(Source="hello@acme.test", Destination={"ToAddresses": [f"{simulator}@simulator.amazonses.com"]},
                       Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}})
        [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        envelope, notification = unwrap_sqs_body(message["Body"])
        assert envelope is not None and envelope["TopicArn"].endswith(":letterhead-events")
        events = parse_notification(notification)
        assert events and all(e.timestamp.tzinfo is not None for e in events)
        kinds.append(sorted({e.kind for e in events}))
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert kinds == [["bounce"], ["complaint"], ["delivery"]]


# -- no input raises anything but EventRejected ----------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20)
SAMPLE_NAMES = sorted(EXPECTED)
INTERESTING = st.sampled_from(["Bounce", "Permanent", "Name <a@b.c>", "2024-05-02T09:14:07Z", "not a time",
                               "Rendering Failure", "Open", "template"])


def _outcome(notification: Any) -> list[SesEvent] | EventRejected:
    try:
        events = parse_notification(notification)
    except EventRejected as error:
        assert error.reason in ("not-ses", "malformed")
        return error
    assert isinstance(events, list) and all(isinstance(e, SesEvent) for e in events)
    for event in events:
        assert isinstance(event.message_id, str) and event.timestamp.tzinfo is not None
        assert event.recipient is None or (isinstance(event.recipient, str) and "@" in event.recipient)
        assert all(isinstance(getattr(event, name), str | None) for name in (
            "template", "bounce_type", "bounce_subtype", "diagnostic", "complaint_type", "delay_type",
            "error_message"))
        event.to_dict()
    return events


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_arbitrary_json_is_events_or_refused(value: Any) -> None:
    _outcome(value)
    if isinstance(value, dict):
        _outcome({**value, "eventType": "Bounce"})
        _outcome({**value, "notificationType": "Delivery", "mail": value})


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path in ``node``, but not inside headers (letterhead reads none)."""
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for key, child in items:
        if key in ("headers", "commonHeaders"):
            continue
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


ODD_VALUES: list[Any] = [_DELETED, None, True, 0, 1.5, "", " ", "x", "a@b.c", [], ["a@b.c"], [None], {},
                         {"emailAddress": "a@b.c"}, [{"emailAddress": []}]]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_field_replaced_by_odd_values_is_events_or_refused(name: str) -> None:
    notification = sample(name)
    for path in _paths(notification):
        for value in ODD_VALUES:
            _outcome(_mutated(notification, path, value))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAMPLE_NAMES), st.data())
def test_mutated_samples_are_events_or_refused(name: str, data: st.DataObject) -> None:
    notification = sample(name)
    for _ in range(data.draw(st.integers(1, 4))):
        paths = list(_paths(notification))
        if not paths:
            break
        notification = _mutated(notification, data.draw(st.sampled_from(paths)),
                                data.draw(st.sampled_from(ODD_VALUES) | INTERESTING | JSON))
    _outcome(notification)


@settings(max_examples=200)
@given(st.text(max_size=200) | JSON.map(json.dumps)
       | st.builds(lambda m: json.dumps({"Type": "Notification", "TopicArn": "t", "Message": m}),
                   st.text(max_size=50) | JSON.map(json.dumps)))
def test_arbitrary_sqs_bodies_are_unwrapped_or_refused(body: str) -> None:
    try:
        envelope, notification = unwrap_sqs_body(body)
    except EventRejected as error:
        assert error.reason in ("not-ses", "malformed")
        return
    assert envelope is None or isinstance(envelope, dict)
    _outcome(notification)
