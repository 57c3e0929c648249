"""End to end over moto (issue 16): send → SES → SNS → SQS → consumer →
suppression store → the next send to that address is refused before SES.

moto's SES publishes Bounce and Complaint notifications to the identity's
SNS topic when ``send_email`` goes to ``bounce@`` / ``complaint@simulator.amazonses.com``
(its canned notification names ``recipient1@example.com``, so that is the
address suppressed), and SNS delivers to SQS.  For templated sends moto
publishes nothing: the tests publish SES-shaped notifications (the samples
in tests/projects/events/) to the topic themselves.  moto's SES puts the
notification object itself in the envelope's Message, and its SQS cannot
hand out such a message with raw delivery: the raw-delivery queue is fed
by ``sns.publish`` only.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from letterhead.cli.events import events as events_cli
from letterhead.errors import RecipientSuppressed
from letterhead.events.consumer import EventConsumer
from letterhead.events.journal import Journal
from letterhead.events.model import SesEvent
from letterhead.events.sqs import PollCounts, poll
from letterhead.events.suppression import SqliteSuppressions

from .helpers import REPO
from .send_support import REGION, SENDER, make_mailer
from .send_support import sample as template_sample

EVENT_SAMPLES = REPO / "tests" / "projects" / "events"


def ses_sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENT_SAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


@dataclass
class Aws:
    ses: Any
    sns: Any
    sqs: Any
    topic: str

    def queue(self, name: str, *, raw: bool = False) -> str:
        url: str = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=arn,
                           Attributes={"RawMessageDelivery": "true" if raw else "false"})
        return url

    def in_queue(self, url: str) -> tuple[int, int]:
        """(visible, in flight) messages."""
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def simulate(self, to: str) -> None:
        """SES's mailbox simulator through moto: ``send_email`` (not templated)."""
        self.ses.send_email(Source=SENDER, Destination={"ToAddresses": [to]},
                            Message={"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "hi"}}})

    def publish(self, notification: dict[str, Any]) -> None:
        self.sns.publish(TopicArn=self.topic, Message=json.dumps(notification))


@pytest.fixture
def aws(moto_ses: tuple[Any, Any]) -> Iterator[Aws]:
    ses, _ = moto_ses
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=REGION)
    sns, sqs = session.client("sns"), session.client("sqs")
    topic = sns.create_topic(Name="ses-events")["TopicArn"]
    for kind in ("Bounce", "Complaint", "Delivery"):
        ses.set_identity_notification_topic(Identity="calndr.club", NotificationType=kind, SnsTopic=topic)
    yield Aws(ses, sns, sqs, topic)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteSuppressions]:
    s = SqliteSuppressions(tmp_path / "events.sqlite3")
    yield s
    s.close()


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "events.sqlite3", retention=None)
    yield j
    j.close()


def sent_count(aws: Aws) -> int:
    return int(aws.ses.get_send_quota()["SentLast24Hours"])


def ses_notification(name: str, message_id: str, recipient: str | None = None,
                     template: str | None = None) -> dict[str, Any]:
    """A sample notification about ``message_id`` (and ``recipient``, ``template``)."""
    out = copy.deepcopy(ses_sample(name))
    out["mail"]["messageId"] = message_id
    if recipient is not None:
        out["mail"]["destination"] = [recipient]
        for key, items in (("bounce", "bouncedRecipients"), ("complaint", "complainedRecipients")):
            if key in out:
                out[key][items] = [{**out[key][items][0], "emailAddress": recipient}]
    if template is not None:
        out["mail"]["tags"]["template"] = [template]
        if "failure" in out:
            out["failure"]["templateName"] = template
    return out


# -- send → SNS → SQS → consumer → suppression → refused -------------------------------------------


def test_simulator_bounce_through_sns_and_sqs_suppresses_and_the_next_send_is_refused(
        aws: Aws, store: SqliteSuppressions, journal: Journal) -> None:
    queue = aws.queue("ses-events")
    consumer = EventConsumer(suppressions=store, journal=journal, topics=[aws.topic])
    bounces: list[SesEvent] = []
    consumer.on("bounce")(bounces.append)
    aws.simulate("bounce@simulator.amazonses.com")

    counts = poll(consumer, queue, client=aws.sqs, once=True, wait=0)

    assert (counts.received, counts.handled) == (1, 1)
    assert aws.in_queue(queue) == (0, 0)  # handled: deleted
    assert {e.bounce_type for e in bounces} == {"Permanent"}
    entry = store.get("recipient1@example.com")
    assert entry is not None and (entry.reason, entry.detail) == ("bounce", "General")
    mailer = make_mailer(aws.ses, suppressions=store, journal=journal)
    before = sent_count(aws)
    with pytest.raises(RecipientSuppressed, match="suppression list"):
        mailer.send("email_verification", "Recipient1@Example.com", template_sample("email_verification"))
    assert sent_count(aws) == before  # refused before SES
    mailer.send("email_verification", "someone-else@example.com", template_sample("email_verification"))
    assert sent_count(aws) == before + 1


def test_simulator_complaint_through_the_cli(aws: Aws, project: Path, tmp_path: Path) -> None:
    queue = aws.queue("ses-events")
    aws.simulate("complaint@simulator.amazonses.com")
    database = tmp_path / "cli.sqlite3"
    env = {"LETTERHEAD_EVENTS_DB": str(database), "LETTERHEAD_SNS_TOPICS": aws.topic,
           "LETTERHEAD_SUPPRESSION": "sqlite"}

    result = CliRunner().invoke(events_cli, ["poll", "--queue", queue, "--once", "--json", "--root", str(project)],
                                env=env, catch_exceptions=False)

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary == {"ok": True, "queue": queue, "received": 1, "events": 1, "handled": 1, "dropped": 0,
                       "refused": 0, "failed": 0}
    stored = SqliteSuppressions(database)
    entry = stored.get("recipient1@example.com")
    stored.close()
    assert entry is not None and entry.reason == "complaint"


def test_raw_delivery_of_a_templated_sends_bounce(aws: Aws, store: SqliteSuppressions, journal: Journal) -> None:
    queue = aws.queue("ses-events-raw", raw=True)
    mailer = make_mailer(aws.ses, suppressions=store, journal=journal)
    message_id = mailer.send("email_verification", "lena@example.net", template_sample("email_verification"))
    assert journal.sent(message_id) is not None
    aws.publish(ses_notification("event-bounce-permanent", message_id, "lena@example.net", "email_verification"))

    consumer = EventConsumer(suppressions=store, journal=journal)  # raw delivery: no envelope, no topic
    seen: list[SesEvent] = []
    consumer.on("*")(seen.append)
    counts = poll(consumer, queue, client=aws.sqs, once=True, wait=0)

    assert counts.to_dict() == {"received": 1, "events": 1, "handled": 1, "dropped": 0, "refused": 0, "failed": 0}
    assert [(e.kind, e.message_id, e.template) for e in seen] == [("bounce", message_id, "email_verification")]
    with pytest.raises(RecipientSuppressed):
        mailer.send("email_verification", "lena@example.net", template_sample("email_verification"))


def test_both_deliveries_of_one_event_are_dispatched_once(aws: Aws, store: SqliteSuppressions,
                                                           journal: Journal) -> None:
    """Two queues on the topic (raw and enveloped), one consumer journal:
    SNS's copies of one event count once."""
    raw, wrapped = aws.queue("raw", raw=True), aws.queue("wrapped")
    aws.publish(ses_notification("event-complaint", "m-twice", "twice@example.org"))
    consumer = EventConsumer(suppressions=store, journal=journal, topics=[aws.topic])
    seen: list[SesEvent] = []
    consumer.on("complaint")(seen.append)
    first = poll(consumer, raw, client=aws.sqs, once=True, wait=0)
    second = poll(consumer, wrapped, client=aws.sqs, once=True, wait=0)
    assert first.handled == second.handled == 1
    assert len(seen) == 1
    assert [s.address for s in store] == ["twice@example.org"]


def test_rendering_failure_names_the_variable_the_sent_data_lacked(aws: Aws, journal: Journal,
                                                                    tmp_path: Path) -> None:
    """The Mailer checks data against its manifest, so a send that lacks a
    variable SES then needs is a drift: the template in SES (and the rebuilt
    manifest the consumer reads) requires ``promo_code``, the sender's did not."""
    queue = aws.queue("ses-events")
    mailer = make_mailer(aws.ses, journal=journal)
    message_id = mailer.send("email_verification", "ada@example.com", template_sample("email_verification"))
    rebuilt = tmp_path / "ses_templates"
    shutil.copytree(REPO / "ses_templates", rebuilt)
    manifest = json.loads((rebuilt / "manifest.json").read_text(encoding="utf-8"))
    manifest["templates"]["email_verification"]["contract"]["promo_code"] = {
        "required": True, "output": True, "locations": ["templates_src/email_verification/template.mjml:9"]}
    (rebuilt / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    aws.publish(ses_notification("event-rendering-failure", message_id, template="email_verification"))

    consumer = EventConsumer(journal=journal, manifest_dir=rebuilt, topics=[aws.topic])
    failures: list[SesEvent] = []
    consumer.on("rendering_failure")(failures.append)
    poll(consumer, queue, client=aws.sqs, once=True, wait=0)

    assert [(e.template, e.missing) for e in failures] == [("email_verification", ("promo_code",))]


# -- what poll does with the messages it cannot handle ---------------------------------------------


def test_poll_drops_what_can_never_be_an_event_and_leaves_what_configuration_can_fix(
        aws: Aws, store: SqliteSuppressions) -> None:
    queue = aws.queue("ses-events")
    aws.sqs.send_message(QueueUrl=queue, MessageBody="not json at all")
    aws.sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"hello": "world"}))
    aws.publish(ses_notification("event-complaint", "m-topic", "someone@example.com"))
    consumer = EventConsumer(suppressions=store, topics=["arn:aws:sns:eu-west-1:123456789012:another-topic"])

    counts = poll(consumer, queue, client=aws.sqs, once=True, wait=0)

    assert counts.to_dict() == {"received": 3, "events": 0, "handled": 0, "dropped": 2, "refused": 1, "failed": 0}
    assert not counts.ok
    assert aws.in_queue(queue) == (0, 1)  # the refused one waits for its visibility timeout, not deleted
    assert list(store) == []


def test_poll_leaves_a_message_whose_handler_failed(aws: Aws, journal: Journal) -> None:
    queue = aws.queue("ses-events")
    aws.publish(ses_notification("event-delivery", "m-fail"))
    consumer = EventConsumer(journal=journal, topics=[aws.topic])

    @consumer.on("delivery")
    def broken(event: SesEvent) -> None:
        raise RuntimeError("no database")

    counts = poll(consumer, queue, client=aws.sqs, once=True, wait=0)
    assert (counts.received, counts.failed, counts.handled) == (1, 1, 0)
    assert aws.in_queue(queue) == (0, 1)  # back after its visibility timeout


def test_poll_until_stopped_reports_progress(aws: Aws) -> None:
    queue = aws.queue("ses-events")
    for i in range(12):
        aws.publish(ses_notification("event-delivery", f"m-{i}"))
    seen: list[PollCounts] = []
    batches = iter(range(100))
    counts = poll(EventConsumer(topics=[aws.topic]), queue, client=aws.sqs, wait=0,
                  stop=lambda: next(batches) >= 3, progress=lambda c: seen.append(PollCounts(**c.to_dict())))
    assert counts.handled == 12 and counts.events == 24  # two recipients each
    assert [c.received for c in seen] == [10, 12]
    assert aws.in_queue(queue) == (0, 0)


# -- the command's exit codes ---------------------------------------------------------------------


def test_cli_exit_2_when_messages_are_refused(aws: Aws, project: Path, tmp_path: Path) -> None:
    queue = aws.queue("ses-events")
    aws.publish(ses_notification("event-complaint", "m-cli", "x@example.com"))
    env = {"LETTERHEAD_EVENTS_DB": str(tmp_path / "e.sqlite3"), "LETTERHEAD_SNS_TOPICS": ""}
    result = CliRunner().invoke(events_cli, ["poll", "--queue", queue, "--once", "--wait", "0", "--root",
                                             str(project)], env=env)
    assert result.exit_code == 2, result.output
    assert "done: 1 message, 0 events handled, 1 refused (left in the queue)" in result.stdout
    assert "polling " in result.stderr


def test_cli_exit_1_on_a_queue_url_that_is_no_url(project: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(events_cli, ["poll", "--queue", "ses-events", "--once", "--root", str(project)],
                                env={"LETTERHEAD_EVENTS_DB": str(tmp_path / "e.sqlite3")})
    assert result.exit_code == 1, result.output
    assert "'ses-events' is not an SQS queue URL" in result.stderr
    assert "get-queue-url" in result.stderr


def test_cli_exit_1_on_a_queue_that_does_not_exist(aws: Aws, project: Path, tmp_path: Path) -> None:
    queue = f"https://sqs.{REGION}.amazonaws.com/123456789012/no-such-queue"
    result = CliRunner().invoke(events_cli, ["poll", "--queue", queue, "--once", "--wait", "0", "--root", str(project)],
                                env={"LETTERHEAD_EVENTS_DB": str(tmp_path / "e.sqlite3")})
    assert result.exit_code == 1, result.output
    assert "no such queue" in result.stderr
