"""``letterhead doctor``: every check of the account letterhead sends through,
each ok / warn / fail / skip with the fix.

In: the :class:`~letterhead.account.policy.AccountSettings`, what boto3's
chain found (:class:`~letterhead.account.client.CredentialInfo`) and a way to
connect an :class:`~letterhead.account.client.Account`; the events journal
(:class:`~letterhead.events.journal.Journal`, from ``config.events``).  Out: a
:class:`DoctorReport`.  Reads only (a missing journal is not created); a
failure never stops the checks that do not depend on it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..aws.errors import CREDENTIALS_HINT
from ..aws.quota import SendQuota, format_count
from ..config import Config
from ..errors import CredentialsError, EndpointError, LetterheadError, RemoteError
from ..events.journal import Journal
from .client import Account, AccountDetails, ConfigurationSetState, CredentialInfo, SenderStatus
from .policy import (
    CLOUDWATCH_DESTINATION,
    EVENT_LABELS,
    EVENT_TYPES,
    FAIL,
    OK,
    QUOTA_WARN,
    SKIP,
    WARN,
    AccountSettings,
)

__all__ = [
    "CHECK_TITLES", "EVENTS_GRACE", "EVENTS_HINT", "EVENTS_WINDOW", "PRODUCTION_HINT", "Check", "DoctorReport",
    "check_configuration_set", "check_credentials", "check_event_destinations", "check_events", "check_quota",
    "check_sandbox", "check_sender", "check_templates", "doctor", "expected_templates",
]

PRODUCTION_HINT = ("request production access: SES console → Account dashboard → Request production access "
                   "(or `aws sesv2 put-account-details`)")


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    status: str  # ok / warn / fail / skip
    summary: str
    fix: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.key, "title": self.title, "status": self.status, "summary": self.summary,
                "fix": self.fix, "data": dict(self.data)}


CHECK_TITLES = {
    "credentials": "credentials", "region": "region", "quota": "send quota", "sandbox": "sandbox",
    "sender": "sender identity", "configuration_set": "configuration set",
    "event_destinations": "event destinations", "templates": "templates in SES", "events": "events flowing",
}

EVENTS_WINDOW = timedelta(hours=24)  # an event in this window, after sends in it: events flow
EVENTS_GRACE = timedelta(minutes=15)  # sends younger than this may not have had their events yet
EVENTS_HINT = ("run the consumer: `letterhead events poll --queue URL` on the SQS queue subscribed to the SES "
               "events topic, or the HTTPS endpoint subscribed to it, and have the configuration set publish "
               "Delivery events to that topic so that every send answers; see docs/events.md")


def _check(key: str, status: str, summary: str, fix: str | None = None, /, **data: Any) -> Check:
    return Check(key, CHECK_TITLES[key], status, summary, fix, data)


@dataclass(frozen=True)
class DoctorReport:
    settings: AccountSettings
    credentials: CredentialInfo
    checks: tuple[Check, ...]
    calls: Mapping[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == FAIL)

    @property
    def warnings(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == WARN)

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "settings": self.settings.to_dict(), "credentials": self.credentials.to_dict(),
                "checks": [c.to_dict() for c in self.checks], "failed": [c.key for c in self.failed],
                "warnings": [c.key for c in self.warnings], "calls": dict(self.calls)}


def check_credentials(info: CredentialInfo) -> Check:
    if info.found:
        key = f", access key {info.key_hint}" if info.key_hint else ""
        prof = f", profile {info.profile}" if info.profile else ""
        return _check("credentials", OK, f"found: {info.source}{prof}{key}", method=info.method)
    why = f" ({info.error})" if info.error else ""
    return _check("credentials", FAIL, f"no AWS credentials found{why}", CREDENTIALS_HINT)


def check_quota(quota: SendQuota) -> Check:
    usage = quota.usage
    data = quota.to_dict()
    if usage is not None and usage >= 1:
        return _check("quota", FAIL, f"{quota.describe()}: the daily quota is used up",
                      "wait for the 24-hour window to move, or request a higher quota (Service Quotas → SES)",
                      **data)
    if usage is not None and usage >= QUOTA_WARN:
        return _check("quota", WARN, f"{quota.describe()}: close to the daily quota",
                      "request a higher quota before sends start failing (Service Quotas → SES)", **data)
    return _check("quota", OK, quota.describe(), **data)


def check_sandbox(quota: SendQuota | None, details: AccountDetails) -> Check:
    data = details.to_dict()
    if details.sending_enabled is False:
        return _check("sandbox", FAIL, "sending is paused for the account",
                      "read the SES Account dashboard; once fixed, `aws ses update-account-sending-enabled "
                      "--enabled`", **data)
    if details.enforcement_status and details.enforcement_status.upper() not in ("HEALTHY",):
        status = FAIL if details.enforcement_status.upper() == "SHUTDOWN" else WARN
        return _check("sandbox", status, f"SES enforcement status is {details.enforcement_status}",
                      "read the SES Account dashboard (reputation metrics) and `letterhead stats`", **data)
    if details.production_access is True:
        return _check("sandbox", OK, "production access (GetAccount)", **data)
    if details.production_access is False:
        return _check("sandbox", WARN, "in the SES sandbox (GetAccount): only verified recipients, "
                      "200 messages a day", PRODUCTION_HINT, **data)
    note = f"; could not ask SES directly: {details.unavailable}" if details.unavailable else ""
    if quota is None:
        return _check("sandbox", SKIP, "unknown: neither GetAccount nor the quota could be read" + note, **data)
    limits = f"quota {format_count(quota.max_24h)}/24 h, {format_count(quota.max_rate)}/s"
    if quota.looks_like_sandbox:
        return _check("sandbox", WARN, f"likely in the SES sandbox ({limits}){note}", PRODUCTION_HINT, **data)
    return _check("sandbox", OK, f"likely production access ({limits}){note}", **data)


def check_sender(settings: AccountSettings, status: SenderStatus | None,
                 verified: Sequence[str] = ()) -> Check:
    data: dict[str, Any] = {"verified_identities": list(verified)}
    if not settings.sender or status is None:
        return _check("sender", FAIL, "no sender configured",
                      "set SES_SENDER_EMAIL (environment or .env), then run `letterhead setup`", **data)
    data.update(status.to_dict())
    if status.verified:
        return _check("sender", OK, status.describe(), **data)
    if status.pending:
        return _check("sender", FAIL, status.describe(),
                      f"click the link SES sent to {settings.sender} (no email? `letterhead setup --resend`)",
                      **data)
    return _check("sender", FAIL, status.describe(),
                  f"run `letterhead setup`: it sends the verification email to {settings.sender}", **data)


def check_configuration_set(name: str, state: ConfigurationSetState | None,
                            existing: Sequence[str] = (), *, source: str = "SES_CONFIGURATION_SET") -> Check:
    if state is not None and source == "default":
        # letterhead's sending side passes ConfigurationSetName only when it is configured.
        return _check("configuration_set", WARN,
                      f"{name} exists, but SES_CONFIGURATION_SET is not set: sends carry no configuration set, "
                      "so SES publishes no event (no rendering failure) for them",
                      f"set SES_CONFIGURATION_SET={name} wherever the application sends", name=name)
    if state is not None:
        return _check("configuration_set", OK, f"{name} exists", name=name)
    others = f" (the account has: {', '.join(existing)})" if existing else " (the account has none)"
    return _check("configuration_set", FAIL, f"{name} does not exist{others}",
                  "run `letterhead setup` to create it, or set SES_CONFIGURATION_SET to an existing set",
                  name=name, existing=list(existing))


def check_event_destinations(state: ConfigurationSetState | None) -> Check:
    if state is None:
        return _check("event_destinations", SKIP, "no configuration set to look into")
    data = state.to_dict()
    missing = state.missing()
    if not missing:
        used = [d.describe() for d in state.destinations if d.enabled and d.event_types & set(EVENT_TYPES)]
        return _check("event_destinations", OK, f"{', '.join(EVENT_LABELS[t] for t in EVENT_TYPES)} "
                      f"→ {', '.join(used)}", **data)
    labels = ", ".join(EVENT_LABELS.get(t, t) for t in missing)
    why = (": rendering failures are the only trace of a templated send SES accepted and dropped"
           if "renderingFailure" in missing else "")
    if not state.destinations:
        summary = f"{state.name} has no event destination{why}"
    else:
        summary = f"no enabled destination of {state.name} receives {labels} events{why}"
    return _check("event_destinations", FAIL, summary,
                  f"run `letterhead setup`: it adds a CloudWatch destination ({CLOUDWATCH_DESTINATION}) "
                  "for every event type", **data)


def check_templates(expected: Mapping[str, str] | None, remote: set[str] | None, *,
                    note: str | None = None, env: str | None = None) -> Check:
    if expected is None:
        return _check("templates", SKIP, note or "no templates in ses_templates/manifest.json",
                      "run `letterhead build` to have templates to check")
    if remote is None:
        return _check("templates", SKIP, note or "could not list SES templates")
    missing = sorted(logical for logical, deployed in expected.items() if deployed not in remote)
    data = {"expected": dict(sorted(expected.items())), "missing": missing}
    sync = "letterhead sync" + (f" --env {env}" if env else "")
    if missing:
        names = ", ".join(f"{m} (as {expected[m]})" if expected[m] != m else m for m in missing)
        return _check("templates", FAIL, f"{len(missing)} of {len(expected)} template(s) of the manifest are "
                      f"not in SES: {names}", f"run `{sync}`", **data)
    return _check("templates", OK, f"all {len(expected)} template(s) of the manifest are in SES", **data)


def check_events(journal: Journal | None, *, now: datetime | None = None) -> Check:
    """Are SES's events reaching the journal?  OK: an event arrived in the
    last :data:`EVENTS_WINDOW`, or nothing was sent in it; WARN: sends were
    recorded (older than :data:`EVENTS_GRACE`) but no event arrived since
    the window began; SKIP: no journal, or no send recorded yet."""
    if journal is None:
        return _check("events", SKIP, "no project configuration: no events journal to read")
    now = now or datetime.now(UTC)
    where = {"database": str(journal.path)}
    last_event, last_send = journal.last_event_at(), journal.last_send_at()
    counts = journal.counts(now - EVENTS_WINDOW, now - EVENTS_GRACE)
    data = {**where, "last_event": last_event.isoformat() if last_event else None,
            "last_send": last_send.isoformat() if last_send else None, "last_24_hours": counts}
    if last_send is None and last_event is None:
        return _check("events", SKIP, "no sends recorded yet (the Mailer records each send in the events journal)",
                      **data)
    if last_event is not None and last_event >= now - EVENTS_WINDOW:
        tally = ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in ("send", "bounce", "complaint")
                          if counts.get(k))
        return _check("events", OK, f"last event {_ago(now - last_event)} ago"
                      + (f"; last 24 hours: {tally}" if tally else ""), **data)
    if counts["send"]:
        since = f"none since {last_event:%Y-%m-%d %H:%M} UTC" if last_event else "none ever"
        return _check("events", WARN, f"{counts['send']} send(s) recorded in the last 24 hours but no SES event "
                      f"arrived ({since}): the consumer is not running or not subscribed", EVENTS_HINT, **data)
    if last_event is None:
        return _check("events", SKIP, "no recent sends, and no SES event recorded yet", **data)
    return _check("events", OK, f"no sends in the last 24 hours; last event {_ago(now - last_event)} ago", **data)


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def expected_templates(config: Config, env: str | None = None) -> dict[str, str] | None:
    """logical name → the name SES should hold it under, from the manifest and
    the sync namespace of ``env``; ``None`` when the manifest lists nothing."""
    from ..authoring.payload import Manifest
    from ..deploy.naming import namespace_for

    manifest = Manifest.load(config.ses_dir)
    if not manifest.templates:
        return None
    ns = namespace_for(config, env)
    return {logical: ns.deployed_name(logical, entry.content_hash)
            for logical, entry in manifest.templates.items()}


def doctor(settings: AccountSettings, credentials: CredentialInfo, connect: Callable[[], Account], *,
           config: Config | None = None, env: str | None = None, now: datetime | None = None) -> DoctorReport:
    """Every check, in order; a failure never stops the checks that do not depend on it.

    ``connect`` makes the ``Account`` (a seam: tests pass moto-backed clients);
    ``config`` gives the manifest for the templates check and the events
    journal (read whatever AWS answers).
    """
    checks: dict[str, Check] = {"credentials": check_credentials(credentials),
                                "events": _events_check(config, now)}
    order = list(CHECK_TITLES)
    account: Account | None = None

    def skip_rest(reason: str) -> DoctorReport:
        for key in order:
            checks.setdefault(key, _check(key, SKIP, reason))
        return DoctorReport(settings, credentials, tuple(checks[k] for k in order),
                            dict(account.calls) if account else {})

    try:
        account = connect()
    except RemoteError as exc:
        checks["region"] = _check("region", FAIL, exc.message, exc.hint)
        return skip_rest("skipped: no SES endpoint")
    where = f" ({settings.region_source})" if settings.region_source else ""
    endpoint = f", endpoint {settings.endpoint_url}" if settings.endpoint_url else ""
    checks["region"] = _check("region", OK, f"{account.region}{where}{endpoint}", region=account.region,
                              endpoint_url=settings.endpoint_url)
    if not credentials.found:
        return skip_rest("skipped: needs credentials")

    # The first call also proves the credentials; when they are refused, or the
    # endpoint is unreachable, nothing else can be checked.
    quota: SendQuota | None = None
    try:
        quota = account.send_quota()
        checks["quota"] = check_quota(quota)
    except CredentialsError as exc:
        checks["credentials"] = _check("credentials", FAIL, exc.message, exc.hint, method=credentials.method)
        return skip_rest("skipped: credentials refused")
    except EndpointError as exc:
        checks["region"] = _check("region", FAIL, exc.message, exc.hint)
        return skip_rest("skipped: SES unreachable")
    except RemoteError as exc:
        checks["quota"] = _failed("quota", exc)
    checks["sandbox"] = check_sandbox(quota, account.details())

    try:
        verified = account.verified_identities()
        status = account.sender_status(settings.sender) if settings.sender else None
        checks["sender"] = check_sender(settings, status, verified)
    except RemoteError as exc:
        checks["sender"] = _failed("sender", exc)

    state: ConfigurationSetState | None = None
    try:
        state = account.configuration_set(settings.configuration_set)
        existing = account.configuration_set_names() if state is None else []
        checks["configuration_set"] = check_configuration_set(settings.configuration_set, state, existing,
                                                              source=settings.configuration_set_source)
        checks["event_destinations"] = check_event_destinations(state)
    except RemoteError as exc:
        checks["configuration_set"] = _failed("configuration_set", exc)
        checks["event_destinations"] = _check("event_destinations", SKIP, "configuration set unreadable")

    try:
        expected = expected_templates(config, env) if config is not None else None
    except LetterheadError as exc:
        checks["templates"] = _check("templates", FAIL, f"cannot read the manifest: {exc.message}", exc.hint)
    else:
        if expected is None:
            checks["templates"] = check_templates(None, None)
        else:
            try:
                checks["templates"] = check_templates(expected, account.template_names(), env=env)
            except RemoteError as exc:
                checks["templates"] = _failed("templates", exc)
    return skip_rest("skipped")


def _events_check(config: Config | None, now: datetime | None) -> Check:
    if config is None:
        return check_events(None, now=now)
    try:
        database = config.events.database
    except LetterheadError as exc:
        return _check("events", FAIL, f"cannot read [tool.letterhead.events]: {exc.message}", exc.hint)
    try:
        with Journal(database) as journal:
            return check_events(journal, now=now)
    except sqlite3.Error as exc:
        return _check("events", FAIL, f"cannot read the events journal {database}: {exc}",
                      "move the file away (it is rebuilt as events arrive) or point [tool.letterhead.events] "
                      "database (LETTERHEAD_EVENTS_DB) at another file", database=str(database))


def _failed(key: str, exc: RemoteError) -> Check:
    return _check(key, FAIL, exc.message, exc.hint, code=exc.code)
