#!/usr/bin/env python3
"""Benchmark the SES event consumer: events per second handled from SQS, and memory.

Every message goes through the production code: ``letterhead.events.sqs.poll``
→ ``EventConsumer.handle_sqs`` (SNS envelope unwrapped, TopicArn on the
allowlist, normalised, permanent bounces and complaints into a
``SqliteSuppressions``, every event into a ``Journal``, one handler
dispatched) → ``DeleteMessageBatch``.  The queue is an in-memory stand-in
for SQS's two calls (ReceiveMessage, DeleteMessageBatch), so the numbers are
the consumer's and not a network's or moto's.  The notifications are the
samples in tests/projects/events/ (deliveries, bounces, complaints, sends,
rendering failures... one to three recipients each), each with its own
message id.

Three runs:

1. ``sqs``: ``--events`` events, SNS envelopes, the default SQS path (the
   topic checked, no signature: SQS access is IAM's);
2. ``signed``: ``--signed`` events with ``verify_sqs=True``: every envelope's
   RSA signature checked by the production ``SnsVerifier`` (versions 1 and 2
   alternating, a self-signed certificate served by an injected fetch).
   Signing the test messages is slow (milliseconds each on a small machine)
   and happens before the clock starts;
3. ``memory``: ``--memory-events`` events streamed from a generator through
   the ``sqs`` path; the process's peak RSS after the first tenth against
   after all (flat: the ratio stays near 1).

Target (issue 16): faster than SES's default sending rate (14 messages per
second) by two orders of magnitude: 1,400 events/s; memory flat.  The script
exits 1 below the target.  The consumer's one log line per event is made
(a NullHandler on ``letterhead.events``) but not printed.

    python bench/events.py                    # 20,000 + 1,000 signed + 100,000 streamed
    python bench/events.py --events 5000 --signed 200 --memory-events 20000 --json
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import logging
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import count, cycle
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from letterhead.events.consumer import EventConsumer
from letterhead.events.journal import Journal
from letterhead.events.model import SesEvent
from letterhead.events.sns import SnsVerifier
from letterhead.events.sqs import poll
from letterhead.events.suppression import SqliteSuppressions

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "tests" / "projects" / "events"
TOPIC = "arn:aws:sns:eu-west-1:111122223333:letterhead-events"
CERT_URL = "https://sns-certs.bench/SimpleNotificationService-bench.pem"
SES_DEFAULT_RATE = 14  # messages per second, SES's default sending quota out of the sandbox
TARGET = SES_DEFAULT_RATE * 100
# How often each sample occurs: mostly sends and deliveries, as in real traffic.
MIX = {"event-send": 6, "event-delivery": 6, "notification-delivery": 4, "event-bounce-permanent": 1,
       "event-bounce-transient": 1, "notification-bounce": 1, "event-complaint": 1, "event-delivery-delay": 1,
       "event-rendering-failure": 1, "event-reject": 1, "event-open": 2}


# -- messages --------------------------------------------------------------------------------------


def samples() -> list[dict[str, Any]]:
    out = []
    for name, weight in MIX.items():
        out.extend([json.loads((SAMPLES / f"{name}.json").read_text())] * weight)
    return out


def notifications() -> Iterator[tuple[dict[str, Any], int]]:
    """(SES notification with a fresh message id and fresh addresses, events it gives), forever."""
    counter = count()
    for template in cycle(samples()):
        n = next(counter)
        notification = json.loads(json.dumps(template))
        notification["mail"]["messageId"] = f"0102018f{n:012x}-bench-000000"
        events = _readdress(notification, n)
        yield notification, events


def _readdress(notification: dict[str, Any], n: int) -> int:
    """Give each recipient a unique address (so suppressions grow as in life); the event count."""
    kind = notification.get("eventType") or notification.get("notificationType")
    lists = {"Bounce": ("bounce", "bouncedRecipients"), "Complaint": ("complaint", "complainedRecipients"),
             "DeliveryDelay": ("deliveryDelay", "delayedRecipients")}
    if kind in lists:
        key, field = lists[kind]
        for i, item in enumerate(notification[key][field]):
            item["emailAddress"] = f"r{n}.{i}@example.com"
        return len(notification[key][field])
    if kind == "Delivery":
        notification["delivery"]["recipients"] = [f"r{n}.{i}@example.com"
                                                   for i in range(len(notification["delivery"]["recipients"]))]
        return len(notification["delivery"]["recipients"])
    return 0 if kind == "Open" else 1


def envelope(notification: dict[str, Any], *, key: rsa.RSAPrivateKey | None = None, version: str = "1") -> str:
    """The SQS body SNS writes (no raw message delivery), signed when ``key`` is given."""
    now = datetime.now(UTC)
    message: dict[str, Any] = {
        "Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": TOPIC,
        "Message": json.dumps(notification, separators=(",", ":")),
        "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "UnsubscribeURL": f"https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC}:1"}
    if key is not None:
        text = "".join(f"{k}\n{message[k]}\n" for k in ("Message", "MessageId", "Timestamp", "TopicArn", "Type"))
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = key.sign(text.encode(), padding.PKCS1v15(), algorithm)
        message.update(Signature=base64.b64encode(signature).decode(), SignatureVersion=version,
                       SigningCertURL=CERT_URL)
    return json.dumps(message)


def signing_keys() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.letterhead.bench")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


# -- the queue -------------------------------------------------------------------------------------


class MemoryQueue:
    """SQS's ReceiveMessage and DeleteMessageBatch over an iterable of bodies."""

    def __init__(self, bodies: Iterable[str]) -> None:
        self.bodies = iter(bodies)
        self.inflight: dict[str, str] = {}
        self.deleted = 0
        self.receipts = count()

    def receive_message(self, *, MaxNumberOfMessages: int = 1, **_: Any) -> dict[str, Any]:
        messages = []
        for body in self.bodies:
            receipt = f"rh-{next(self.receipts)}"
            self.inflight[receipt] = body
            messages.append({"MessageId": receipt, "ReceiptHandle": receipt, "Body": body})
            if len(messages) == MaxNumberOfMessages:
                break
        return {"Messages": messages}

    def delete_message_batch(self, *, Entries: list[dict[str, str]], **_: Any) -> dict[str, Any]:
        for entry in Entries:
            del self.inflight[entry["ReceiptHandle"]]
            self.deleted += 1
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


# -- runs ------------------------------------------------------------------------------------------


def consumer(folder: Path, *, verifier: SnsVerifier | None = None) -> tuple[EventConsumer, list[int]]:
    database = folder / "events.sqlite3"
    seen = [0]

    def handler(event: SesEvent) -> None:
        seen[0] += 1

    c = EventConsumer(suppressions=SqliteSuppressions(database), journal=Journal(database), verifier=verifier,
                      topics=(TOPIC,), verify_sqs=verifier is not None)
    c.on("*")(handler)
    return c, seen


def run(name: str, bodies: list[str], expected_events: int, *, verifier: SnsVerifier | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"letterhead-bench-{name}-") as tmp:
        c, seen = consumer(Path(tmp), verifier=verifier)
        queue = MemoryQueue(bodies)
        gc.collect()
        start = time.perf_counter()
        counts = poll(c, "https://sqs.eu-west-1.amazonaws.com/111122223333/letterhead-events", client=queue,
                      once=True, wait=0)
        elapsed = time.perf_counter() - start
        assert c.journal is not None
        c.journal.close()
    result = {"run": name, "messages": counts.received, "events": counts.events, "handled_events": seen[0],
              "expected_events": expected_events, "deleted": queue.deleted, "refused": counts.refused,
              "dropped": counts.dropped, "failed": counts.failed, "seconds": round(elapsed, 3),
              "events_per_second": round(counts.events / elapsed, 1) if elapsed else None}
    result["ok"] = (counts.events == seen[0] == expected_events and queue.deleted == len(bodies)
                    and not (counts.refused or counts.dropped or counts.failed))
    return result


def peak_rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


def run_memory(total: int) -> dict[str, Any]:
    """Stream ``total`` events; peak RSS after the first tenth against after all."""
    made = [0]
    marks: dict[str, int] = {}

    def bodies() -> Iterator[str]:
        for notification, events in notifications():
            if made[0] >= total:
                return
            if made[0] >= total // 10 and "tenth" not in marks:
                marks["tenth"] = peak_rss_kib()
            made[0] += events
            yield envelope(notification)

    with tempfile.TemporaryDirectory(prefix="letterhead-bench-memory-") as tmp:
        c, seen = consumer(Path(tmp))
        start = time.perf_counter()
        counts = poll(c, "https://sqs.eu-west-1.amazonaws.com/111122223333/letterhead-events",
                      client=MemoryQueue(bodies()), once=True, wait=0)
        elapsed = time.perf_counter() - start
        assert c.journal is not None
        c.journal.close()
        database_mib = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 2**20
    end = peak_rss_kib()
    tenth = marks.get("tenth", end)
    return {"run": "memory", "events": counts.events, "handled_events": seen[0], "seconds": round(elapsed, 3),
            "events_per_second": round(counts.events / elapsed, 1) if elapsed else None,
            "peak_rss_mib_after_tenth": round(tenth / 1024, 1), "peak_rss_mib_at_end": round(end / 1024, 1),
            "ratio": round(end / tenth, 3) if tenth else None, "database_mib": round(database_mib, 1),
            "ok": counts.events == seen[0] and end / max(tenth, 1) < 1.25}


def batch(total: int, *, key: rsa.RSAPrivateKey | None = None) -> tuple[list[str], int]:
    """SQS bodies holding at least ``total`` events, and the exact event count."""
    bodies, events = [], 0
    for n, (notification, k) in enumerate(notifications()):
        if events >= total:
            break
        bodies.append(envelope(notification, key=key, version="1" if n % 2 else "2"))
        events += k
    return bodies, events


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="events in the sqs run (default 20,000)")
    parser.add_argument("--signed", type=int, default=1_000, help="events in the signed run (default 1,000)")
    parser.add_argument("--memory-events", type=int, default=100_000, help="events streamed (default 100,000)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)
    # the consumer logs a line per event (bounces and complaints as warnings): measured, not printed
    logging.getLogger("letterhead.events").addHandler(logging.NullHandler())

    results = []
    bodies, expected = batch(args.events)
    results.append(run("sqs", bodies, expected))
    if args.signed:
        key, pem = signing_keys()
        signed, expected = batch(args.signed, key=key)
        verifier = SnsVerifier((TOPIC,), cert_url_ok=lambda url: url == CERT_URL, fetch=lambda url: pem,
                               max_age=24 * 3600)
        results.append(run("signed", signed, expected, verifier=verifier))
    if args.memory_events:
        results.append(run_memory(args.memory_events))

    ok = all(r["ok"] for r in results) and all((r["events_per_second"] or 0) >= TARGET for r in results)
    if args.json:
        print(json.dumps({"target_events_per_second": TARGET, "results": results, "ok": ok}, indent=2))
    else:
        print(f"target: {TARGET:,} events/s (SES's default {SES_DEFAULT_RATE}/s x 100)")
        for r in results:
            line = (f"{r['run']:>7}: {r['events']:>7,} events in {r['seconds']:7.2f} s = "
                    f"{r['events_per_second'] or 0:>9,.0f} events/s "
                    f"(x{(r['events_per_second'] or 0) / TARGET:.2f} the target, "
                    f"x{(r['events_per_second'] or 0) / SES_DEFAULT_RATE:,.0f} SES's default rate)")
            if r["run"] == "memory":
                line += (f"; peak RSS {r['peak_rss_mib_after_tenth']} MiB after a tenth, "
                         f"{r['peak_rss_mib_at_end']} MiB at the end (x{r['ratio']}); "
                         f"database {r['database_mib']} MiB")
            else:
                line += f"; deleted {r.get('deleted')}, refused {r.get('refused')}, failed {r.get('failed')}"
            print(line + ("" if r["ok"] else "  NOT OK"))
        print("ok" if ok else "BELOW TARGET OR INCOMPLETE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
