"""``letterhead setup``: read the sender's status and the configuration set,
plan the changes (pure), make them.  A second run plans nothing and makes no
write call.

Event destination names: SES keeps them unique per configuration set, but
moto (and so the local SES of ``letterhead dev``) keeps them unique per
region.  When creating ``letterhead-cloudwatch`` in a second set is refused
as a duplicate the set does not hold, setup creates it under the name scoped
to that set (:func:`scoped_destination_name`); the planner takes either name
as letterhead's own, so the next run plans nothing.

In: an :class:`~letterhead.account.client.Account` and a :class:`SetupSpec`.
Out: a :class:`SetupPlan` (``--dry-run``) or a :class:`SetupResult`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ConfigError, ConfigurationSetError
from .client import (
    DESTINATION_KINDS,
    KIND_LABELS,
    Account,
    ConfigurationSetState,
    EventDestination,
    SenderStatus,
    order_events,
)
from .policy import (
    CLOUDWATCH_DESTINATION,
    DEFAULT_CONFIGURATION_SET,
    EVENT_LABELS,
    EVENT_TYPES,
    SNS_ARN_RE,
    SNS_DESTINATION,
    TEMPLATE_TAG,
    WRITE_OPERATIONS,
    iam_policy,
)

__all__ = [
    "Change", "SetupPlan", "SetupResult", "SetupSpec", "SetupState", "apply_setup", "cloudwatch_destination",
    "plan_setup", "read_setup_state", "scoped_destination_name", "setup", "sns_destination",
]

MAX_DESTINATION_NAME = 64  # SES: letters, digits, '_' and '-', fewer than 64 characters


@dataclass(frozen=True)
class SetupSpec:
    sender: str
    configuration_set: str = DEFAULT_CONFIGURATION_SET
    sns_topic_arn: str | None = None
    resend: bool = False

    def __post_init__(self) -> None:
        if self.sns_topic_arn and not SNS_ARN_RE.match(self.sns_topic_arn):
            raise ConfigError(f"{self.sns_topic_arn!r} is not an SNS topic ARN",
                              hint="pass --sns-topic arn:aws:sns:REGION:ACCOUNT_ID:TOPIC")


def cloudwatch_destination(configuration_set: str) -> dict[str, Any]:
    """The CloudWatch destination letterhead adds: every event type, metrics
    split by configuration set and by the ``template`` message tag."""
    return {
        "Name": CLOUDWATCH_DESTINATION,
        "Enabled": True,
        "MatchingEventTypes": list(EVENT_TYPES),
        "CloudWatchDestination": {"DimensionConfigurations": [
            {"DimensionName": "ses:configuration-set", "DimensionValueSource": "messageTag",
             "DefaultDimensionValue": configuration_set},
            {"DimensionName": TEMPLATE_TAG, "DimensionValueSource": "messageTag",
             "DefaultDimensionValue": "untagged"},
        ]},
    }


# What the SNS destination publishes: every type `letterhead events` handles
# (bounces and complaints feed suppression, sends and deliveries live rates,
# rendering failures name the variables a dropped message lacked).
SNS_EVENT_TYPES = (*EVENT_TYPES, "deliveryDelay")


def sns_destination(topic_arn: str) -> dict[str, Any]:
    """The optional SNS destination, for `letterhead events` (docs/events.md)."""
    return {"Name": SNS_DESTINATION, "Enabled": True, "MatchingEventTypes": list(SNS_EVENT_TYPES),
            "SNSDestination": {"TopicARN": topic_arn}}


@dataclass(frozen=True)
class SetupState:
    sender: SenderStatus
    configuration_set: ConfigurationSetState | None


@dataclass(frozen=True)
class Change:
    action: str  # verify-sender / create-configuration-set / create-event-destination / update-event-destination
    target: str
    description: str
    operation: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "target": self.target, "description": self.description,
                "operation": self.operation, "params": dict(self.params)}


@dataclass(frozen=True)
class SetupPlan:
    spec: SetupSpec
    state: SetupState
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.changes

    def to_dict(self) -> dict[str, Any]:
        cs = self.state.configuration_set
        return {"changes": [c.to_dict() for c in self.changes], "notes": list(self.notes),
                "sender": self.state.sender.to_dict(),
                "configuration_set": cs.to_dict() if cs else None}


def scoped_destination_name(name: str, configuration_set: str) -> str:
    """``name`` made unique to ``configuration_set``
    (``letterhead-cloudwatch-<set>``; a hash of the set when that is too
    long), for endpoints that keep event destination names per region."""
    scoped = f"{name}-{configuration_set}"
    if len(scoped) < MAX_DESTINATION_NAME:
        return scoped
    return f"{name}-{hashlib.sha256(configuration_set.encode()).hexdigest()[:12]}"


def _destination_change(configuration_set: str, existing: Sequence[EventDestination],
                        wanted: Mapping[str, Any]) -> Change | None:
    want = EventDestination.from_api(wanted)
    for d in existing:
        if (d.enabled and d.kind == want.kind and (not want.target or d.target == want.target)
                and want.event_types <= d.event_types):
            return None  # already there (ours, or one the team made)
    label = f"{KIND_LABELS[want.kind]} destination {want.name}"
    types = ", ".join(EVENT_LABELS.get(t, t) for t in order_events(want.event_types))
    names = (want.name, scoped_destination_name(want.name, configuration_set))
    ours = next((d for d in existing if d.name in names), None)
    if ours is None:
        return Change("create-event-destination", want.name, f"add {label} for {types} events",
                      "CreateConfigurationSetEventDestination",
                      {"ConfigurationSetName": configuration_set, "EventDestination": dict(wanted)})
    merged = dict(ours.raw) if ours.kind == want.kind else {}
    merged.update({"Name": ours.name, "Enabled": True,
                   "MatchingEventTypes": order_events(ours.event_types | want.event_types)})
    for key, _ in DESTINATION_KINDS:
        if key in wanted and (want.target or key not in merged):
            merged[key] = wanted[key]  # a new SNS topic replaces the old; CloudWatch dimensions stay
    what = []
    if not ours.enabled:
        what.append("enable it")
    added = order_events(want.event_types - ours.event_types)
    if added:
        what.append("add " + ", ".join(EVENT_LABELS.get(t, t) for t in added) + " events")
    if want.target and ours.target != want.target:
        what.append(f"point it at {want.target}")
    label = f"{KIND_LABELS[want.kind]} destination {ours.name}"
    return Change("update-event-destination", ours.name, f"update {label}: {'; '.join(what) or 'refresh it'}",
                  "UpdateConfigurationSetEventDestination",
                  {"ConfigurationSetName": configuration_set, "EventDestination": merged})


def plan_setup(state: SetupState, spec: SetupSpec) -> SetupPlan:
    """What setup must change to reach ``spec`` from ``state``; pure."""
    changes: list[Change] = []
    notes: list[str] = []
    sender = state.sender
    if sender.verified:
        notes.append(sender.describe())
    elif sender.pending and not spec.resend:
        notes.append(f"{sender.describe()}; `letterhead setup --resend` sends a new email")
    else:
        again = " again" if sender.address.status else ""
        changes.append(Change("verify-sender", spec.sender, f"send the verification email{again} to {spec.sender}",
                              "VerifyEmailIdentity", {"EmailAddress": spec.sender}))
    cs = state.configuration_set
    if cs is None:
        changes.append(Change("create-configuration-set", spec.configuration_set,
                              f"create the configuration set {spec.configuration_set}",
                              "CreateConfigurationSet", {"ConfigurationSet": {"Name": spec.configuration_set}}))
    existing = cs.destinations if cs else ()
    wanted = [cloudwatch_destination(spec.configuration_set)]
    if spec.sns_topic_arn:
        wanted.append(sns_destination(spec.sns_topic_arn))
    for w in wanted:
        change = _destination_change(spec.configuration_set, existing, w)
        if change is not None:
            changes.append(change)
    return SetupPlan(spec, state, tuple(changes), tuple(notes))


def read_setup_state(account: Account, spec: SetupSpec) -> SetupState:
    return SetupState(account.sender_status(spec.sender), account.configuration_set(spec.configuration_set))


def apply_setup(account: Account, plan: SetupPlan,
                progress: Callable[[Change], None] | None = None) -> tuple[Change, ...]:
    """Make the plan's changes, in order; the first failure raises.  Returns
    the changes made, as made (a destination may have been created under its
    scoped name: :func:`_create_destination`)."""
    calls: dict[str, Callable[[Change], None]] = {
        "VerifyEmailIdentity": lambda c: account.verify_email(c.params["EmailAddress"]),
        "CreateConfigurationSet": lambda c: account.create_configuration_set(c.params["ConfigurationSet"]["Name"]),
        "UpdateConfigurationSetEventDestination": lambda c: account.update_event_destination(
            c.params["ConfigurationSetName"], c.params["EventDestination"]),
    }
    done = []
    for change in plan.changes:
        if change.operation == "CreateConfigurationSetEventDestination":
            made = _create_destination(account, change)
        else:
            calls[change.operation](change)
            made = change
        done.append(made)
        if progress:
            progress(made)
    return tuple(done)


def _create_destination(account: Account, change: Change) -> Change:
    """Create the destination; when its name is taken although the set (as
    read) does not hold it, the endpoint keeps names per region (moto, the
    local SES): create it under the name scoped to the set instead."""
    config_set = change.params["ConfigurationSetName"]
    destination = dict(change.params["EventDestination"])
    try:
        account.create_event_destination(config_set, destination)
        return change
    except ConfigurationSetError as exc:
        if exc.code != "EventDestinationAlreadyExists":
            raise
    name = destination["Name"]
    scoped = scoped_destination_name(name, config_set)
    destination["Name"] = scoped
    try:
        account.create_event_destination(config_set, destination)
    except ConfigurationSetError as exc:
        if exc.code != "EventDestinationAlreadyExists":
            raise
        raise ConfigurationSetError(
            f"the event destination names {name} and {scoped} are both taken, but the configuration set "
            f"{config_set} holds neither: this endpoint keeps destination names per region and its sets "
            "keep fewer destinations than setup makes (moto, and so the local SES of `letterhead dev`, keeps "
            "one per set; SES itself keeps them all)",
            operation=exc.operation, code=exc.code,
            hint="on the local SES, set up without --sns-topic (its sets keep one destination); against SES, "
                 "`letterhead doctor` shows what the set holds") from None
    return replace(change, target=scoped, description=change.description.replace(name, scoped, 1),
                   params={**change.params, "EventDestination": destination})


@dataclass(frozen=True)
class SetupResult:
    plan: SetupPlan
    applied: tuple[Change, ...]
    dry_run: bool
    sender_after: SenderStatus
    calls: Mapping[str, int] = field(default_factory=dict)

    @property
    def write_calls(self) -> int:
        return sum(n for op, n in self.calls.items() if op in WRITE_OPERATIONS)

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "changed": bool(self.applied), **self.plan.to_dict(),
                "applied": [c.action + " " + c.target for c in self.applied],
                "sender_after": self.sender_after.to_dict(), "calls": dict(self.calls),
                "write_calls": self.write_calls, "policy": iam_policy(self.plan.spec.sender)}


def setup(account: Account, spec: SetupSpec, *, dry_run: bool = False,
          progress: Callable[[Change], None] | None = None) -> SetupResult:
    """Read → plan → (unless ``dry_run``) apply → read the sender's status again."""
    plan = plan_setup(read_setup_state(account, spec), spec)
    if dry_run or plan.empty:
        return SetupResult(plan, (), dry_run, plan.state.sender, dict(account.calls))
    applied = apply_setup(account, plan, progress)
    sender_after = (account.sender_status(spec.sender)
                    if any(c.action == "verify-sender" for c in applied) else plan.state.sender)
    return SetupResult(plan, applied, dry_run, sender_after, dict(account.calls))
