"""SES events from an SQS queue subscribed to the SNS topic (issue 16).

In: an SQS queue URL (and a boto3 ``sqs`` client, or the means to make
one).  Out: each message handed to :meth:`EventConsumer.handle_sqs`, deleted
once handled; :class:`PollCounts` of what happened.

What happens to a message:

* handled (its events suppressed, journaled, dispatched): deleted;
* a handler raised (:class:`~letterhead.errors.HandlerFailed`): left
  in the queue; SQS shows it again after its visibility timeout, and the
  queue's redrive policy moves it to a dead-letter queue after
  ``maxReceiveCount`` tries;
* refused because it can never be an SES event (reason ``malformed``: not
  JSON, not an SNS envelope; ``not-ses``: JSON that is no SES notification):
  deleted, with a logged warning.  Left in the queue it would come back
  forever (a queue without a redrive policy keeps it for its whole
  retention period, 4 days by default, re-reading it every visibility
  timeout);
* refused for a reason configuration can change (``topic``: an envelope
  from a topic not on the allowlist; a signature check with
  ``verify_sqs``): left in the queue, logged, so that fixing the allowlist
  loses no event; the redrive policy decides when to give up on it.

SQS access is authenticated by IAM: whoever can write to the queue is
trusted as much as the queue's policy says.  The SNS envelope's TopicArn is
still checked against the allowlist; its signature only with
``EventConsumer(verify_sqs=True)``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from ..aws.loopback import is_loopback_url
from ..errors import ConfigError, EventRejected, HandlerFailed, RemoteError
from .consumer import EventConsumer

log = logging.getLogger("letterhead.events")

DELETE_REASONS = frozenset({"malformed", "not-ses"})  # can never be handled: delete, do not loop
MAX_MESSAGES = 10  # SQS's most per ReceiveMessage
_AWS_QUEUE_HOST = re.compile(r"sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?")


@dataclass
class PollCounts:
    """What a poll did.  ``received`` = ``handled`` + ``dropped`` + ``refused`` + ``failed``."""

    received: int = 0  # SQS messages read
    events: int = 0  # SES events in the handled messages (one per recipient)
    handled: int = 0  # messages handled and deleted
    dropped: int = 0  # never-valid messages deleted (malformed, not SES)
    refused: int = 0  # refused messages left in the queue (topic, signature)
    failed: int = 0  # a handler raised: left in the queue, to be retried

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @property
    def ok(self) -> bool:
        return not (self.refused or self.failed)


def poll(consumer: EventConsumer, queue_url: str, *, client: Any = None, once: bool = False, wait: int = 20,
         max_messages: int = MAX_MESSAGES, region: str | None = None, endpoint_url: str | None = None,
         stop: Callable[[], bool] | None = None,
         progress: Callable[[PollCounts], None] | None = None, counts: PollCounts | None = None) -> PollCounts:
    """Read ``queue_url`` with long polling (``wait`` seconds per call) and
    hand each message to ``consumer``.  ``once``: drain what is there and
    return (a receive that finds nothing ends it); otherwise poll until
    ``stop()`` says so (or Ctrl-C).  ``progress`` is called after each
    non-empty batch with the running counts; ``counts``: add to these (the
    caller keeps them when Ctrl-C interrupts).  AWS failures raise
    :class:`~letterhead.errors.RemoteError`."""
    if client is None:
        client = make_sqs_client(region=region, endpoint_url=endpoint_url, queue_url=queue_url)
    if counts is None:
        counts = PollCounts()
    wait = max(0, min(int(wait), 20))
    max_messages = max(1, min(int(max_messages), MAX_MESSAGES))
    while stop is None or not stop():
        answer = _call(client, "ReceiveMessage", QueueUrl=queue_url, MaxNumberOfMessages=max_messages,
                       WaitTimeSeconds=min(wait, 1) if once else wait)
        messages = answer.get("Messages") or []
        if not messages:
            if once:
                break
            continue
        done: list[dict[str, str]] = []
        for message in messages:
            counts.received += 1
            if _handle(consumer, message, counts):
                done.append({"Id": str(len(done)), "ReceiptHandle": message["ReceiptHandle"]})
        if done:
            answer = _call(client, "DeleteMessageBatch", QueueUrl=queue_url, Entries=done)
            for failure in answer.get("Failed") or ():
                log.warning("events sqs delete failed code=%s: %s (the message comes back; the journal drops "
                            "the duplicate)", failure.get("Code"), failure.get("Message"))
        if progress is not None:
            progress(counts)
    return counts


def _handle(consumer: EventConsumer, message: dict[str, Any], counts: PollCounts) -> bool:
    """Handle one message; True when it is to be deleted."""
    sqs_id = message.get("MessageId")
    try:
        events = consumer.handle_sqs(message.get("Body") or "")
    except EventRejected as exc:
        if exc.reason in DELETE_REASONS:
            log.warning("events sqs dropped message=%s reason=%s: %s", sqs_id, exc.reason, exc.message)
            counts.dropped += 1
            return True
        log.warning("events sqs refused message=%s reason=%s: %s (left in the queue)", sqs_id, exc.reason,
                    exc.message)
        counts.refused += 1
        return False
    except HandlerFailed as exc:
        log.warning("events sqs message=%s left in the queue: %s", sqs_id, exc.message)
        counts.failed += 1
        return False
    counts.handled += 1
    counts.events += len(events)
    return True


def make_sqs_client(*, region: str | None = None, endpoint_url: str | None = None,
                    queue_url: str | None = None) -> Any:
    """A boto3 ``sqs`` client from boto3's credential chain.  Region:
    ``region``, else the one in ``queue_url`` (``https://sqs.<region>.amazonaws.com/…``),
    else boto3's.  Endpoint: ``endpoint_url``, else AWS_ENDPOINT_URL_SQS /
    AWS_ENDPOINT_URL, else a loopback ``queue_url``'s own address (a local
    stand-in such as moto), else AWS's."""
    from botocore.exceptions import BotoCoreError

    from ..aws.client import make_client, make_session, retry_config

    if queue_url is not None:
        parts = urlsplit(queue_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{queue_url!r} is not an SQS queue URL",
                              hint="pass the URL `aws sqs get-queue-url --queue-name NAME` prints, e.g. "
                                   "https://sqs.eu-west-1.amazonaws.com/123456789012/ses-events")
        if region is None:
            match = _AWS_QUEUE_HOST.fullmatch(parts.hostname or "")
            region = match.group(1) if match else None
        if endpoint_url is None and not any(os.environ.get(v) for v in ("AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL")) \
                and is_loopback_url(queue_url):
            endpoint_url = f"{parts.scheme}://{parts.netloc}"
    try:
        session = make_session(region=region)
        return make_client("sqs", session=session, region=region or session.region_name,
                           endpoint_url=endpoint_url or None, config=retry_config(read_timeout=40))
    except BotoCoreError as exc:
        raise _explain(exc, "connect") from None


def _call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    from ..aws.client import operation_method
    from ..aws.errors import aws_failures

    try:
        answer: dict[str, Any] = operation_method(client, operation)(**params)
    except aws_failures() as exc:
        raise _explain(exc, operation) from None
    return answer


def _explain(exc: BaseException, operation: str) -> RemoteError:
    from dataclasses import replace

    from ..aws.errors import ACCOUNT_FIXES, translate_aws

    fixes = replace(ACCOUNT_FIXES, denied="allow sqs:ReceiveMessage and sqs:DeleteMessage on the queue for these "
                                          "credentials",
                    throttled="SQS throttled {operation}: rerun in a minute",
                    server="a fault on the SQS side: rerun in a minute",
                    network="check AWS_REGION, the queue URL, AWS_ENDPOINT_URL_SQS (or --endpoint-url) and "
                            "the network",
                    codes={"AWS.SimpleQueueService.NonExistentQueue": (
                        RemoteError, "no such queue: check --queue (the queue URL, as "
                                     "`aws sqs get-queue-url` prints it) and the region"),
                        "QueueDoesNotExist": (RemoteError, "no such queue: check --queue and the region")})
    return translate_aws(exc, operation, fixes)
