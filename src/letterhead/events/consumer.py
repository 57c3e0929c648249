"""Verify, normalise, suppress, journal and dispatch SES events (issue 16).

In: an SNS message over HTTPS (:meth:`EventConsumer.handle_http`), an SQS
message body (:meth:`EventConsumer.handle_sqs`) or SES's notification itself
(:meth:`EventConsumer.handle_notification`).  Out: :class:`SesEvent` objects
handed to the handlers the application registered with :meth:`EventConsumer.on`;
permanent bounces and complaints in the suppression store; every event in the
journal (which also drops a second delivery of the same event).

The order for each event, and why:

1. a rendering failure gets ``missing`` (the journal's record of the send
   against the template's contract in ``ses_templates/manifest.json``);
2. a suppressing event goes into the store (idempotent: the store keeps the
   first entry), before anything that can fail, so that no later send reaches
   the address whatever a handler does;
3. the journal records it: ``False`` means SNS or SQS delivered it again and
   the handlers already had it, so it is not dispatched twice;
4. every handler of its kind, then every ``"*"`` handler, runs.  One that
   raises does not stop the others; once all ran, :class:`HandlerFailed` is
   raised and the journal forgets the event, so that the redelivery (HTTP:
   answered 500, SNS retries; SQS: the message is not deleted, it comes back
   after its visibility timeout) dispatches it again, to every handler:
   handlers must be idempotent.

One log line per event (logger ``letterhead.events``): kind, template,
message id and the recipient's domain, never its local part.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..authoring.payload import MANIFEST_NAME, Manifest, ManifestEntry
from ..aws.redact import domains
from ..errors import EventRejected, HandlerFailed
from ..sestemplate.variables import Contract
from .model import EVENT_KINDS, SesEvent, SuppressionReason
from .normalize import notification_of, parse_notification, unwrap_sqs_body
from .suppression import SuppressionStore

if TYPE_CHECKING:
    from ..config import Config
    from .journal import Journal
    from .sns import SnsVerifier

log = logging.getLogger("letterhead.events")

Handler = Callable[[SesEvent], None]
# Reasons that mean "the request itself is not what SNS sends" (400), not
# "we refuse to trust it" (403).
BAD_REQUEST = frozenset({"malformed", "not-ses"})


class EventConsumer:
    """The application's end of SES's events.

    ``verifier``: checks SNS messages that arrive over HTTP (required for
    :meth:`handle_http`); with ``verify_sqs=True`` also the SNS envelopes
    read from SQS.  ``topics``: the SNS topics an SQS envelope may come from
    (default: the verifier's allowlist); an envelope from any other topic is
    refused, raw deliveries carry no topic.  ``suppressions``: where permanent
    bounces and complaints go (None: nowhere).  ``journal``: records events
    (dedupe, live rates) and knows what each send's data held.
    ``manifest_dir``: the project's ``ses_templates/``, for the contract a
    rendering failure is checked against."""

    def __init__(self, *, verifier: SnsVerifier | None = None, suppressions: SuppressionStore | None = None,
                 journal: Journal | None = None, manifest_dir: Path | None = None,
                 topics: Iterable[str] | None = None, verify_sqs: bool = False) -> None:
        self.verifier = verifier
        self.suppressions = suppressions
        self.journal = journal
        self.manifest_dir = manifest_dir
        if topics is None:
            topics = getattr(verifier, "topics", None) or ()
        self.topics = frozenset(topics)
        self.verify_sqs = verify_sqs
        self.handlers: dict[str, list[Handler]] = {}
        self._manifest: tuple[float, Manifest] | None = None

    @classmethod
    def from_config(cls, config: Config, *, verify_sqs: bool = False) -> EventConsumer:
        """The consumer ``[tool.letterhead.events]`` describes: an
        :class:`SnsVerifier` for its ``topics`` and ``max_age``, the
        suppression store it names (None when ``off``), the journal in its
        ``database``, and the project's ``ses_templates/``.  Opening costs
        nothing: files and clients are made on first use."""
        from .journal import Journal
        from .sns import SnsVerifier
        from .suppression import open_suppressions

        settings = config.events
        return cls(verifier=SnsVerifier(settings.topics, max_age=settings.max_age),
                   suppressions=open_suppressions(settings, region=config.region, endpoint_url=config.endpoint_url),
                   journal=Journal(settings.database), manifest_dir=config.ses_dir, topics=settings.topics,
                   verify_sqs=verify_sqs)

    @classmethod
    def from_env(cls, root: str | Path | None = None, **kw: Any) -> EventConsumer:
        """:meth:`from_config` for the project at (or above) ``root``, the
        current directory by default (its ``pyproject.toml``, ``.env`` and
        the environment: ``LETTERHEAD_EVENTS_DB``, ``LETTERHEAD_SUPPRESSION``,
        ``LETTERHEAD_SNS_TOPICS``)."""
        from ..config import load_config

        return cls.from_config(load_config(Path(root) if root is not None else None), **kw)

    def close(self) -> None:
        """Close the journal and the suppression store (when they can be)."""
        for part in (self.journal, self.suppressions):
            close = getattr(part, "close", None)
            if callable(close):
                close()

    # -- handlers ------------------------------------------------------------------------------

    def on(self, kind: str) -> Callable[[Handler], Handler]:
        """Register ``handler(event)`` for one kind (``"bounce"``, ...) or
        every kind (``"*"``)."""
        if kind != "*" and kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}: one of {', '.join(EVENT_KINDS)} or '*'")

        def register(handler: Handler) -> Handler:
            self.handlers.setdefault(kind, []).append(handler)
            return handler

        return register

    # -- the ways in ---------------------------------------------------------------------------

    def handle_http(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        """An SNS POST: (HTTP status, text).  200 handled (or a subscription
        confirmed); 400 not an SNS message of SES's; 403 refused (unsigned,
        bad signature, foreign topic, replay: the reason is logged); 503 the
        signing certificate could not be fetched, and 500 a handler raised:
        SNS delivers those again."""
        try:
            message = _json_object(body)
            sns_type = message.get("Type")
            said = {k.lower(): v for k, v in headers.items()}.get("x-amz-sns-message-type")
            if said is not None and said != sns_type:
                raise EventRejected(f"x-amz-sns-message-type {said!r} but the body's Type is {sns_type!r}",
                                    reason="malformed")
            if self.verifier is None:
                raise EventRejected("no SnsVerifier: letterhead accepts no unverified message over HTTP",
                                    reason="unverified")
            if sns_type == "SubscriptionConfirmation":
                if self.verifier.confirm(message):
                    log.info("events subscription confirmed topic=%s", message.get("TopicArn"))
                    return 200, "subscribed"
                raise EventRejected("subscription not confirmed", reason="topic")
            self.verifier.verify(message)
            if sns_type == "UnsubscribeConfirmation":
                log.warning("events unsubscribed topic=%s", message.get("TopicArn"))
                return 200, "ok"
            if sns_type != "Notification":
                raise EventRejected(f"not an SNS notification (Type {sns_type!r})", reason="malformed")
            self.handle_notification(notification_of(message))
        except EventRejected as exc:
            return self._refused(exc, "http")
        except HandlerFailed:
            # SNS retries a 5xx with the same MessageId: let the verifier accept it again
            self.verifier.forget(str(message.get("MessageId")))  # type: ignore[union-attr]
            return 500, "a handler failed; deliver again"
        return 200, "ok"

    def handle_sqs(self, body: str) -> list[SesEvent]:
        """One SQS message body: the SES notification itself (raw message
        delivery) or SNS's envelope around it (its topic checked against
        ``topics``; its signature too with ``verify_sqs``).  Raises
        :class:`EventRejected` (the message is bad) or :class:`HandlerFailed`."""
        envelope, notification = unwrap_sqs_body(body)
        if envelope is not None:
            topic = envelope.get("TopicArn")
            if topic not in self.topics:
                raise EventRejected(f"topic {topic!r} is not on the allowlist", reason="topic",
                                    hint="add it to [tool.letterhead.events] topics (or LETTERHEAD_SNS_TOPICS)")
        if not self.verify_sqs:
            return self.handle_notification(notification)
        if self.verifier is None:
            raise EventRejected("verify_sqs without an SnsVerifier", reason="unverified")
        if envelope is None:
            raise EventRejected("a raw delivery carries no SNS signature", reason="unsigned",
                                hint="turn raw message delivery off on the subscription, or do not verify "
                                     "SQS messages (IAM guards the queue)")
        self.verifier.verify(envelope)
        try:
            return self.handle_notification(notification)
        except HandlerFailed:
            self.verifier.forget(str(envelope.get("MessageId")))  # SQS redelivers it: not a replay
            raise

    def handle_notification(self, notification: Mapping[str, Any]) -> list[SesEvent]:
        """SES's notification (already trusted): its events, each
        suppressed, journaled and dispatched (see the module's docstring).
        Returns the events, duplicates included."""
        events = [self._with_missing(e) for e in parse_notification(notification)]
        failed: list[tuple[SesEvent, BaseException]] = []
        for event in events:
            self._suppress(event)
            if self.journal is not None and not self.journal.record_event(event):
                _log_event(event, "duplicate")
                continue
            errors = self._dispatch(event)
            if errors:
                if self.journal is not None:
                    self.journal.forget_event(event)
                failed.extend((event, e) for e in errors)
            _log_event(event, "handler-failed" if errors else "handled")
        if failed:
            raise HandlerFailed(failed)
        return events

    # -- steps ---------------------------------------------------------------------------------

    def _suppress(self, event: SesEvent) -> None:
        if self.suppressions is None or not event.suppresses or event.recipient is None:
            return
        reason: SuppressionReason = "complaint" if event.kind == "complaint" else "bounce"
        detail = event.complaint_type if event.kind == "complaint" else event.bounce_subtype
        self.suppressions.add(event.recipient, reason, message_id=event.message_id, detail=detail)

    def _dispatch(self, event: SesEvent) -> list[BaseException]:
        errors: list[BaseException] = []
        for handler in (*self.handlers.get(event.kind, ()), *self.handlers.get("*", ())):
            try:
                handler(event)
            except Exception as exc:  # one handler's failure does not keep the event from the others
                log.exception("events handler %s raised on %s message_id=%s",
                              getattr(handler, "__qualname__", handler), event.kind, event.message_id)
                errors.append(exc)
        return errors

    def _with_missing(self, event: SesEvent) -> SesEvent:
        if event.kind != "rendering_failure" or event.missing:
            return event
        missing = self.missing_variables(event)
        if not missing:
            return event
        from dataclasses import replace

        return replace(event, missing=missing)

    def missing_variables(self, event: SesEvent) -> tuple[str, ...]:
        """The required variables (contract paths, ``days[].date``) the data
        of ``event``'s send lacked; () when the journal has no record of the
        send or the manifest no entry for its template (unknown, not "none")."""
        if self.journal is None or self.manifest_dir is None:
            return ()
        sent = self.journal.sent(event.message_id)
        if sent is None:
            return ()
        entry = self._entry(sent.template or event.template)
        if entry is None:
            return ()
        return missing_paths(Contract.from_json(entry.contract).required_paths(), sent.paths)

    def _entry(self, template: str | None) -> ManifestEntry | None:
        if template is None or self.manifest_dir is None:
            return None
        path = self.manifest_dir / MANIFEST_NAME
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        if self._manifest is None or self._manifest[0] != mtime:
            self._manifest = (mtime, Manifest.load(self.manifest_dir))
        templates = self._manifest[1].templates
        if template in templates:
            return templates[template]
        return next((e for e in templates.values() if e.deployed_name == template), None)

    def _refused(self, exc: EventRejected, via: str) -> tuple[int, str]:
        from .sns import TRANSIENT_REASONS

        log.warning("events refused via=%s reason=%s: %s", via, exc.reason, exc.message)
        if exc.reason in TRANSIENT_REASONS:  # the certificate could not be fetched: SNS retries a 5xx
            return 503, f"unavailable: {exc.reason}"
        return (400 if exc.reason in BAD_REQUEST else 403), f"refused: {exc.reason}"


def missing_paths(required: Iterable[str], present: Iterable[str]) -> tuple[str, ...]:
    """The ``required`` contract paths absent from ``present`` (the data's
    paths as the journal keeps them: ``user.name``, ``days[].date``).  A path
    is required relative to its parent, so it counts only when the parent is
    there: a field of list items (``days[].date``) when the list had items, a
    field of an object (``user.name``) when the object was passed.  Items
    themselves (``tags[]``, "no item may be null") cannot be judged from paths
    and are left out."""
    have = set(present)
    prefixes = {p[:i] for p in have for i in range(1, len(p) + 1) if i == len(p) or p[i] in ".["}
    out = []
    for path in required:
        if path.endswith("[]") or path in prefixes:
            continue
        parent = path.rpartition(".")[0]
        if parent and parent not in prefixes:
            continue
        out.append(path)
    return tuple(out)


def _json_object(raw: Any) -> Mapping[str, Any]:
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        raise EventRejected("not JSON", reason="malformed") from None
    if not isinstance(value, dict):
        raise EventRejected("not a JSON object", reason="malformed")
    return value


def _log_event(event: SesEvent, outcome: str) -> None:
    fields: dict[str, Any] = {"kind": event.kind, "template": event.template, "message_id": event.message_id,
                              "recipient_domain": domains(event.recipient) if event.recipient else None,
                              "outcome": outcome}
    if event.bounce_type:
        fields["bounce_type"] = event.bounce_type
    if event.missing:
        fields["missing"] = ",".join(event.missing)
    line = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
    level = logging.WARNING if outcome == "handler-failed" or event.kind in (
        "bounce", "complaint", "reject", "rendering_failure") else logging.INFO
    log.log(level, "event %s", line, extra={"letterhead": fields})
