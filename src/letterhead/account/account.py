"""The SES *account*: identities, configuration sets and event destinations,
send quota and send statistics.  The only module that makes these calls.

Three jobs, each a read → pure function → (maybe) write chain:

1. ``doctor``: read credentials (boto3's chain, never the secret), the region,
   the quota, the account's production status, the sender's identity, the
   configuration set and its event destinations, the templates SES holds,
   and turn each into a ``Check`` (ok / warn / fail / skip, with the fix);
2. ``setup``: read the sender's status and the configuration set, ``plan_setup``
   (pure) lists the changes, ``apply_setup`` makes them.  A second run plans
   nothing and makes no write call;
3. ``statistics``: GetSendQuota + GetSendStatistics, ``summarize`` (pure) the
   15-minute data points into the last 24 hours, the last 14 days and one
   bucket per day, with bounce and complaint rates against their thresholds.

``Account`` wraps boto3 clients handed to its constructor (``Account.connect``
makes real ones), so tests hand in moto-backed clients or Stubbers.  Every
botocore error becomes one ``RemoteError`` subclass through ``explain``, whose
hint is the fix from the troubleshooting table in ``docs/account.md``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any

from ..config import Config
from ..aws.redact import install_log_redaction
from ..errors import ConfigError, ConfigurationSetError, CredentialsError, EndpointError, LetterheadError, RemoteError
from ..deploy.template_store import (
    DEFAULT_MAX_ATTEMPTS,
    DENIED_CODES,
    Fixes,
    check_region,
    retry_config,
    translate_aws,
)

# -- constants ----------------------------------------------------------------------

DEFAULT_CONFIGURATION_SET = "letterhead"  # when SES_CONFIGURATION_SET is not set
CLOUDWATCH_DESTINATION = "letterhead-cloudwatch"
SNS_DESTINATION = "letterhead-rendering-failures"
TEMPLATE_TAG = "template"  # message tag (and CloudWatch dimension) naming the template sent

# The events a letterhead configuration set publishes.  Rendering failures are
# the only trace SES leaves of a templated send it accepted and then dropped.
EVENT_TYPES = ("send", "delivery", "bounce", "complaint", "reject", "renderingFailure")
EVENT_LABELS = {"send": "send", "delivery": "delivery", "bounce": "bounce", "complaint": "complaint",
                "reject": "reject", "renderingFailure": "rendering failure"}

BOUNCE_THRESHOLD = 0.05  # SES reviews an account at a 5 % bounce rate
COMPLAINT_THRESHOLD = 0.001  # and at a 0.1 % complaint rate
SANDBOX_QUOTA = (200.0, 1.0)  # Max24HourSend, MaxSendRate of a sandboxed account
QUOTA_WARN = 0.8  # warn when this share of the 24-hour quota is used
IDENTITY_BATCH = 100  # GetIdentityVerificationAttributes takes at most 100 identities

CONFIG_SET_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SNS_ARN_RE = re.compile(r"^arn:aws[A-Za-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"

# Every SES API action letterhead calls, grouped by who needs it.  A deploy role
# needs the first statement, the application the second, an operator the third.
IAM_STATEMENTS: Mapping[str, tuple[str, ...]] = {
    "LetterheadTemplates": ("CreateTemplate", "UpdateTemplate", "GetTemplate", "ListTemplates",
                            "DeleteTemplate", "TestRenderTemplate"),
    "LetterheadSending": ("SendTemplatedEmail", "SendBulkTemplatedEmail", "GetSendQuota"),
    "LetterheadAccount": ("GetSendQuota", "GetSendStatistics", "GetAccount", "VerifyEmailIdentity",
                          "GetIdentityVerificationAttributes", "ListIdentities", "CreateConfigurationSet",
                          "CreateConfigurationSetEventDestination", "UpdateConfigurationSetEventDestination",
                          "DescribeConfigurationSet", "ListConfigurationSets"),
}
WRITE_OPERATIONS = frozenset({"VerifyEmailIdentity", "CreateConfigurationSet",
                              "CreateConfigurationSetEventDestination",
                              "UpdateConfigurationSetEventDestination"})


def iam_actions() -> tuple[str, ...]:
    """Every ``ses:`` action letterhead calls, sorted, each once."""
    return tuple(sorted({f"ses:{a}" for actions in IAM_STATEMENTS.values() for a in actions}))


def iam_policy(sender: str | None = None) -> dict[str, Any]:
    """The least-privilege IAM policy for the calls letterhead makes.

    SES v1 template and account actions take no resource-level permissions, so
    their ``Resource`` is ``*``; sending is pinned to the sender address with
    the ``ses:FromAddress`` condition key when the sender is known.
    """
    statements: list[dict[str, Any]] = []
    for sid, actions in IAM_STATEMENTS.items():
        st: dict[str, Any] = {"Sid": sid, "Effect": "Allow",
                              "Action": [f"ses:{a}" for a in actions], "Resource": "*"}
        if sid == "LetterheadSending" and sender:
            st["Condition"] = {"StringEquals": {"ses:FromAddress": sender}}
        statements.append(st)
    return {"Version": "2012-10-17", "Statement": statements}


# -- settings -----------------------------------------------------------------------


@dataclass(frozen=True)
class AccountSettings:
    """What the account commands need, from the config and the options."""

    region: str | None = None
    region_source: str | None = None
    endpoint_url: str | None = None
    sender: str | None = None  # the bare address
    sender_name: str | None = None
    configuration_set: str = DEFAULT_CONFIGURATION_SET
    configuration_set_source: str = "default"
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    @property
    def sender_domain(self) -> str | None:
        return self.sender.rpartition("@")[2].lower() if self.sender and "@" in self.sender else None

    def to_dict(self) -> dict[str, Any]:
        return {"region": self.region, "region_source": self.region_source, "endpoint_url": self.endpoint_url,
                "sender": self.sender, "configuration_set": self.configuration_set,
                "configuration_set_source": self.configuration_set_source}


def configuration_set_name(config: Config) -> str:
    """The configuration set letterhead sets up and sends with:
    ``SES_CONFIGURATION_SET``, else ``letterhead``."""
    return config.configuration_set or DEFAULT_CONFIGURATION_SET


def account_settings(config: Config, *, region: str | None = None, endpoint_url: str | None = None,
                     sender: str | None = None, configuration_set: str | None = None,
                     max_attempts: int | None = None) -> AccountSettings:
    """Options > the environment (``AWS_REGION``, ``SES_SENDER_EMAIL``,
    ``SES_CONFIGURATION_SET``, ``AWS_ENDPOINT_URL_SES``) > ``region`` of
    ``[tool.letterhead.sync]`` (as sync reads it) > defaults.  Checks the
    names locally, before any call."""
    raw_sender = sender or config.sender_email
    address = None
    if raw_sender:
        _, address = parseaddr(raw_sender)
        if "@" not in address or address.startswith("@") or address.endswith("@"):
            raise ConfigError(f"the sender {raw_sender!r} is not an email address",
                              hint="set SES_SENDER_EMAIL to an address such as noreply@example.com")
    name = configuration_set or configuration_set_name(config)
    if not CONFIG_SET_RE.match(name):
        raise ConfigError(f"configuration set name {name!r} is not valid",
                          hint="use 1 to 64 letters, digits, '_' or '-' (SES_CONFIGURATION_SET)")
    sync_table = config.extra.get("sync") or {}
    sync_region = sync_table.get("region") if isinstance(sync_table, Mapping) else None
    if region:
        region_source = "--region"
    elif config.region:
        region_source = "AWS_REGION / AWS_DEFAULT_REGION"
    elif sync_region:
        region_source = "[tool.letterhead.sync] region"
    else:
        region_source = None  # boto3's profile, if any
    return AccountSettings(
        region=region or config.region or (str(sync_region) if sync_region else None),
        region_source=region_source,
        endpoint_url=endpoint_url or config.endpoint_url,
        sender=address,
        sender_name=config.sender_name,
        configuration_set=name,
        configuration_set_source=("--configuration-set" if configuration_set
                                  else "SES_CONFIGURATION_SET" if config.configuration_set else "default"),
        max_attempts=max_attempts or DEFAULT_MAX_ATTEMPTS,
    )


# -- credentials --------------------------------------------------------------------

CREDENTIAL_SOURCES = {
    "env": "environment variables (AWS_ACCESS_KEY_ID)",
    "shared-credentials-file": "shared credentials file (~/.aws/credentials)",
    "config-file": "AWS config file (~/.aws/config)",
    "assume-role": "assumed role (profile role_arn)",
    "assume-role-with-web-identity": "web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)",
    "sso": "IAM Identity Center (SSO) profile",
    "login": "aws login session",
    "custom-process": "credential_process",
    "container-role": "container role (ECS/EKS)",
    "iam-role": "instance role (EC2 metadata)",
    "boto-config": "boto2 config file",
    "explicit": "passed explicitly",
}


@dataclass(frozen=True)
class CredentialInfo:
    """Where boto3 found credentials; never the secret, at most the last four
    characters of the access key id."""

    found: bool
    method: str | None = None
    key_hint: str | None = None
    profile: str | None = None
    error: str | None = None

    @property
    def source(self) -> str:
        if not self.method:
            return "none"
        return CREDENTIAL_SOURCES.get(self.method, self.method)

    def to_dict(self) -> dict[str, Any]:
        return {"found": self.found, "method": self.method, "source": self.source if self.found else None,
                "access_key_id": self.key_hint, "profile": self.profile, "error": self.error}


def mask_key(access_key: str | None) -> str | None:
    """``…WXYZ``: enough to tell two keys apart, never enough to use one."""
    if not access_key or len(access_key) < 8:
        return None
    return "…" + access_key[-4:]


def credential_info(session: Any) -> CredentialInfo:
    """Ask boto3's chain (``session`` is a ``boto3.session.Session``)."""
    from botocore.exceptions import BotoCoreError

    profile = getattr(session, "profile_name", None)
    profile = profile if profile and profile != "default" else None
    try:
        creds = session.get_credentials()
    except BotoCoreError as exc:
        return CredentialInfo(False, profile=profile, error=str(exc))
    if creds is None:
        return CredentialInfo(False, profile=profile)
    try:
        key = creds.access_key
    except BotoCoreError as exc:  # a refresh (SSO, assume-role) failed
        return CredentialInfo(False, method=getattr(creds, "method", None), profile=profile, error=str(exc))
    return CredentialInfo(bool(key), method=getattr(creds, "method", None), key_hint=mask_key(key),
                          profile=profile)


# -- errors: the troubleshooting table ------------------------------------------------

POLICY_HINT = "`letterhead setup --print-policy` prints every action letterhead needs"
CREDENTIALS_HINT = ("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run where an IAM "
                    "role is attached; `letterhead doctor` shows what boto3 finds")
PRODUCTION_HINT = ("request production access: SES console → Account dashboard → Request production access "
                   "(or `aws sesv2 put-account-details`)")


_SET_CHANGED = "someone changed the configuration set meanwhile: rerun `letterhead setup`, it converges"
ACCOUNT_FIXES = Fixes(
    denied="allow ses:{operation} for these credentials; " + POLICY_HINT,
    credentials="check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN or AWS_PROFILE "
                "(an expired session? `aws sts get-caller-identity` tells)",
    throttled="SES allows about one {operation} call per second: wait a minute and rerun",
    server="a fault on the SES side: rerun in a minute",
    other="see the AWS message; rerun once it is fixed",
    no_credentials=CREDENTIALS_HINT,
    profile="fix AWS_PROFILE, or add the profile to ~/.aws/config",
    region="set AWS_REGION (or pass --region)",
    network="check AWS_REGION, AWS_ENDPOINT_URL_SES (or --endpoint-url) and the network",
    unexpected="rerun; if it persists, run `letterhead doctor`",
    codes={
        "ConfigurationSetDoesNotExist": (
            ConfigurationSetError,
            "run `letterhead setup` to create it, or set SES_CONFIGURATION_SET to an existing set"),
        "InvalidSNSDestination": (
            ConfigurationSetError, "the SNS topic must exist in the same region and account as SES"),
        **dict.fromkeys(("InvalidCloudWatchDestination", "InvalidFirehoseDestination",
                         "EventDestinationAlreadyExists", "EventDestinationDoesNotExist",
                         "InvalidConfigurationSet", "ConfigurationSetAlreadyExists"),
                        (ConfigurationSetError, _SET_CHANGED)),
        "LimitExceeded": (RemoteError, "an SES limit of the account is reached: delete what is unused, or "
                                       "request an increase (Service Quotas → SES)"),
    },
)


def explain(exc: BaseException, operation: str, *, endpoint_url: str | None = None) -> RemoteError:
    """A botocore exception of an *account* call → the ``RemoteError`` whose
    hint is the fix: missing or refused credentials, a missing permission,
    throttling, an unknown region or unreachable endpoint, a missing
    configuration set.  (Send-time refusals, an unverified sender or the
    sandbox among them, are ``transports.ses_error``'s; ``doctor`` finds
    their causes before a send does.)"""
    return translate_aws(exc, operation, ACCOUNT_FIXES, endpoint_url=endpoint_url)


# -- what the API returns, as plain data ---------------------------------------------


@dataclass(frozen=True)
class SendQuota:
    max_24h: float
    max_rate: float
    sent_24h: float

    @classmethod
    def from_api(cls, resp: Mapping[str, Any]) -> SendQuota:
        return cls(float(resp.get("Max24HourSend", 0)), float(resp.get("MaxSendRate", 0)),
                   float(resp.get("SentLast24Hours", 0)))

    @property
    def unlimited(self) -> bool:
        return self.max_24h < 0  # SES reports -1 for an unlimited quota

    @property
    def usage(self) -> float | None:
        if self.unlimited or self.max_24h <= 0:
            return None
        return self.sent_24h / self.max_24h

    @property
    def looks_like_sandbox(self) -> bool:
        return (self.max_24h, self.max_rate) == SANDBOX_QUOTA

    def describe(self) -> str:
        limit = "unlimited" if self.unlimited else f"{_num(self.max_24h)}"
        usage = f" ({_pct(self.usage, 1)})" if self.usage is not None else ""
        return (f"{_num(self.sent_24h)} of {limit} sent in the last 24 h{usage}, "
                f"up to {_num(self.max_rate)} message(s)/s")

    def to_dict(self) -> dict[str, Any]:
        return {"max_24_hour_send": self.max_24h, "max_send_rate": self.max_rate,
                "sent_last_24_hours": self.sent_24h, "usage": self.usage}


@dataclass(frozen=True)
class AccountDetails:
    """SES v2 GetAccount, or why it could not be read (``unavailable``)."""

    production_access: bool | None = None
    sending_enabled: bool | None = None
    enforcement_status: str | None = None
    unavailable: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"production_access": self.production_access, "sending_enabled": self.sending_enabled,
                "enforcement_status": self.enforcement_status, "unavailable": self.unavailable}


@dataclass(frozen=True)
class IdentityStatus:
    """An identity's verification status: ``Success``, ``Pending``, ``Failed``,
    ``TemporaryFailure``, ``NotStarted``, or ``None`` when SES does not know it."""

    identity: str
    status: str | None

    @property
    def verified(self) -> bool:
        return self.status == "Success"


@dataclass(frozen=True)
class SenderStatus:
    """The sender address and its domain: either verified lets SES send from it."""

    address: IdentityStatus
    domain: IdentityStatus | None = None

    @property
    def verified(self) -> bool:
        return self.address.verified or bool(self.domain and self.domain.verified)

    @property
    def pending(self) -> bool:
        return not self.verified and self.address.status == "Pending"

    def describe(self) -> str:
        a = self.address
        if a.verified:
            return f"{a.identity} is verified"
        if self.domain and self.domain.verified:
            return f"{a.identity} is verified through its domain {self.domain.identity}"
        if a.status is None:
            return f"{a.identity} is not an SES identity yet"
        if a.status == "Pending":
            return f"{a.identity} is pending verification: the link in SES's email has not been clicked"
        return f"{a.identity} is not verified (status {a.status})"

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address.identity, "status": self.address.status,
                "domain": self.domain.identity if self.domain else None,
                "domain_status": self.domain.status if self.domain else None, "verified": self.verified}


DESTINATION_KINDS = (("CloudWatchDestination", "cloudwatch"), ("SNSDestination", "sns"),
                     ("KinesisFirehoseDestination", "firehose"), ("EventBridgeDestination", "eventbridge"))
KIND_LABELS = {"cloudwatch": "CloudWatch", "sns": "SNS", "firehose": "Firehose", "eventbridge": "EventBridge",
               "unknown": "unknown"}


@dataclass(frozen=True)
class EventDestination:
    name: str
    enabled: bool
    event_types: frozenset[str]
    kind: str
    target: str = ""  # the SNS topic / Firehose stream / event bus, when there is one
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> EventDestination:
        kind, target = "unknown", ""
        for key, k in DESTINATION_KINDS:
            if d.get(key):
                kind = k
                block = d[key]
                target = str(block.get("TopicARN") or block.get("DeliveryStreamARN")
                             or block.get("EventBusARN") or "")
                break
        return cls(str(d.get("Name", "")), bool(d.get("Enabled", False)),
                   frozenset(str(t) for t in d.get("MatchingEventTypes", ()) or ()), kind, target, dict(d))

    def describe(self) -> str:
        state = "" if self.enabled else ", disabled"
        return f"{self.name} ({KIND_LABELS.get(self.kind, self.kind)}{state})"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "enabled": self.enabled, "kind": self.kind, "target": self.target or None,
                "event_types": order_events(self.event_types)}


@dataclass(frozen=True)
class ConfigurationSetState:
    name: str
    destinations: tuple[EventDestination, ...] = ()

    def covered(self) -> frozenset[str]:
        return frozenset(t for d in self.destinations if d.enabled for t in d.event_types)

    def missing(self, wanted: Iterable[str] = EVENT_TYPES) -> tuple[str, ...]:
        have = self.covered()
        return tuple(t for t in wanted if t not in have)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "destinations": [d.to_dict() for d in self.destinations],
                "missing_event_types": list(self.missing())}


@dataclass(frozen=True)
class DataPoint:
    """One GetSendStatistics bucket (15 minutes)."""

    timestamp: datetime
    attempts: int = 0
    bounces: int = 0
    complaints: int = 0
    rejects: int = 0

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> DataPoint:
        return cls(_utc(d["Timestamp"]), int(d.get("DeliveryAttempts", 0)), int(d.get("Bounces", 0)),
                   int(d.get("Complaints", 0)), int(d.get("Rejects", 0)))


def order_events(types: Iterable[str]) -> list[str]:
    """Event types in letterhead's order, others after them alphabetically."""
    s = set(types)
    return [t for t in EVENT_TYPES if t in s] + sorted(s - set(EVENT_TYPES))


# -- the account ------------------------------------------------------------------------


class Account:
    """SES account calls over boto3 clients handed in: ``ses`` (v1) and,
    optionally, ``sesv2`` (only for GetAccount, which v1 lacks).

    ``calls`` counts the API calls made per operation (a botocore
    ``provide-client-params`` hook, so failed calls count too) and
    ``write_calls`` those that change something.
    """

    def __init__(self, ses: Any, sesv2: Any = None, *, region: str | None = None,
                 endpoint_url: str | None = None) -> None:
        self.ses = ses
        self.sesv2 = sesv2
        self.region = region or getattr(getattr(ses, "meta", None), "region_name", None)
        self.endpoint_url = endpoint_url
        self.calls: Counter[str] = Counter()
        for client in (ses, sesv2):
            if client is not None:
                service = client.meta.service_model.service_id.hyphenize()
                client.meta.events.register(f"provide-client-params.{service}", self._count,
                                            unique_id=f"letterhead-account-count-{service}-{id(self)}")

    @classmethod
    def connect(cls, settings: AccountSettings, *, session: Any = None) -> Account:
        """Real clients from boto3's chain; checks the region before any call."""
        import boto3
        from botocore.exceptions import BotoCoreError

        install_log_redaction()
        try:
            session = session or boto3.session.Session(region_name=settings.region)
            region = settings.region or session.region_name
            check_region(region, settings.endpoint_url)
            config = retry_config(settings.max_attempts)
            ses = session.client("ses", region_name=region, endpoint_url=settings.endpoint_url or None,
                                 config=config)
            # A custom endpoint (moto, LocalStack) serves both APIs; on AWS each has its own.
            sesv2 = session.client("sesv2", region_name=region, endpoint_url=settings.endpoint_url or None,
                                   config=config)
        except BotoCoreError as exc:
            raise explain(exc, "connect", endpoint_url=settings.endpoint_url) from None
        return cls(ses, sesv2, region=region, endpoint_url=settings.endpoint_url)

    def _count(self, event_name: str = "", **_: Any) -> None:
        self.calls[event_name.rsplit(".", 1)[-1]] += 1

    @property
    def write_calls(self) -> int:
        return sum(n for op, n in self.calls.items() if op in WRITE_OPERATIONS)

    def _call(self, method: Callable[..., Any], operation: str, **params: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(**params)
        except (ClientError, BotoCoreError) as exc:
            raise explain(exc, operation, endpoint_url=self.endpoint_url) from None

    # -- reads ----------------------------------------------------------------------------

    def send_quota(self) -> SendQuota:
        return SendQuota.from_api(self._call(self.ses.get_send_quota, "GetSendQuota"))

    def send_statistics(self) -> list[DataPoint]:
        resp = self._call(self.ses.get_send_statistics, "GetSendStatistics")
        return sorted((DataPoint.from_api(p) for p in resp.get("SendDataPoints", []) if p.get("Timestamp")),
                      key=lambda p: p.timestamp)

    def details(self) -> AccountDetails:
        """SES v2 GetAccount; an endpoint without it (moto) or a policy without
        ``ses:GetAccount`` gives ``unavailable`` instead of an error."""
        from botocore.exceptions import BotoCoreError, ClientError

        if self.sesv2 is None:
            return AccountDetails(unavailable="no SES v2 client")
        try:
            resp = self.sesv2.get_account()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code") or "?"
            if code in DENIED_CODES:
                return AccountDetails(unavailable="ses:GetAccount is not allowed for these credentials")
            return AccountDetails(unavailable=f"GetAccount is not available here ({code})")
        except (BotoCoreError, NotImplementedError) as exc:
            # moto's in-process mock raises NotImplementedError for calls it lacks
            return AccountDetails(unavailable=f"GetAccount is not available here ({type(exc).__name__})")
        return AccountDetails(resp.get("ProductionAccessEnabled"), resp.get("SendingEnabled"),
                              resp.get("EnforcementStatus"))

    def identity_statuses(self, identities: Sequence[str]) -> dict[str, str | None]:
        out: dict[str, str | None] = {i: None for i in identities}
        items = list(dict.fromkeys(identities))
        for start in range(0, len(items), IDENTITY_BATCH):
            resp = self._call(self.ses.get_identity_verification_attributes, "GetIdentityVerificationAttributes",
                              Identities=items[start:start + IDENTITY_BATCH])
            for ident, attrs in (resp.get("VerificationAttributes") or {}).items():
                out[ident] = attrs.get("VerificationStatus")
        return out

    def sender_status(self, sender: str) -> SenderStatus:
        domain = sender.rpartition("@")[2].lower()
        st = self.identity_statuses([sender, domain])
        return SenderStatus(IdentityStatus(sender, st.get(sender)), IdentityStatus(domain, st.get(domain)))

    def verified_identities(self, limit: int = IDENTITY_BATCH) -> list[str]:
        """Up to ``limit`` identities of the account that SES reports as verified."""
        resp = self._call(self.ses.list_identities, "ListIdentities", MaxItems=limit)
        names = list(resp.get("Identities", []))[:limit]
        if not names:
            return []
        st = self.identity_statuses(names)
        return sorted(n for n in names if st.get(n) == "Success")

    def configuration_set(self, name: str) -> ConfigurationSetState | None:
        """The set and its event destinations; ``None`` when it does not exist."""
        try:
            resp = self._call(self.ses.describe_configuration_set, "DescribeConfigurationSet",
                              ConfigurationSetName=name, ConfigurationSetAttributeNames=["eventDestinations"])
        except ConfigurationSetError as exc:
            if exc.code == "ConfigurationSetDoesNotExist":
                return None
            raise
        dests = tuple(EventDestination.from_api(d) for d in resp.get("EventDestinations") or () if d)
        return ConfigurationSetState(name, dests)

    def configuration_set_names(self) -> list[str]:
        names: list[str] = []
        params: dict[str, Any] = {"MaxItems": 100}
        for _ in range(50):  # a broken server must not loop us forever
            resp = self._call(self.ses.list_configuration_sets, "ListConfigurationSets", **params)
            names += [c["Name"] for c in resp.get("ConfigurationSets", [])]
            token = resp.get("NextToken")
            if not token:
                break
            params = {"MaxItems": 100, "NextToken": token}
        return names

    def template_names(self, *, page_pause: float = 1.0) -> set[str]:
        """Every stored template's name (ListTemplates, 100 a page).  SES allows
        about one ListTemplates a second, hence the pause between pages.  (Not
        ``remote.TemplateStore``: its pacing would stay on this client and slow
        every later account call.)"""
        import time

        from botocore.exceptions import BotoCoreError, ClientError

        names: set[str] = set()
        try:
            for page in self.ses.get_paginator("list_templates").paginate(PaginationConfig={"PageSize": 100}):
                names.update(m["Name"] for m in page.get("TemplatesMetadata", []))
                if page.get("NextToken"):
                    time.sleep(page_pause)
        except (ClientError, BotoCoreError) as exc:
            raise explain(exc, "ListTemplates", endpoint_url=self.endpoint_url) from None
        return names

    # -- writes ---------------------------------------------------------------------------

    def verify_email(self, address: str) -> None:
        self._call(self.ses.verify_email_identity, "VerifyEmailIdentity", EmailAddress=address)

    def create_configuration_set(self, name: str) -> None:
        self._call(self.ses.create_configuration_set, "CreateConfigurationSet", ConfigurationSet={"Name": name})

    def create_event_destination(self, configuration_set: str, destination: Mapping[str, Any]) -> None:
        self._call(self.ses.create_configuration_set_event_destination, "CreateConfigurationSetEventDestination",
                   ConfigurationSetName=configuration_set, EventDestination=dict(destination))

    def update_event_destination(self, configuration_set: str, destination: Mapping[str, Any]) -> None:
        self._call(self.ses.update_configuration_set_event_destination, "UpdateConfigurationSetEventDestination",
                   ConfigurationSetName=configuration_set, EventDestination=dict(destination))


# -- doctor ---------------------------------------------------------------------------


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
    "event_destinations": "event destinations", "templates": "templates in SES",
}


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
    limits = f"quota {_num(quota.max_24h)}/24 h, {_num(quota.max_rate)}/s"
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


def expected_templates(config: Config, env: str | None = None) -> dict[str, str] | None:
    """logical name → the name SES should hold it under, from the manifest and
    the sync namespace of ``env``; ``None`` when the manifest lists nothing."""
    from ..authoring.payload import Manifest
    from ..deploy.sync import namespace_for

    manifest = Manifest.load(config.ses_dir)
    if not manifest.templates:
        return None
    ns = namespace_for(config, env)
    return {logical: ns.deployed_name(logical, entry.content_hash)
            for logical, entry in manifest.templates.items()}


def doctor(settings: AccountSettings, credentials: CredentialInfo, connect: Callable[[], Account], *,
           config: Config | None = None, env: str | None = None) -> DoctorReport:
    """Every check, in order; a failure never stops the checks that do not depend on it.

    ``connect`` makes the ``Account`` (a seam: tests pass moto-backed clients);
    ``config`` gives the manifest for the templates check.
    """
    checks: dict[str, Check] = {"credentials": check_credentials(credentials)}
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


def _failed(key: str, exc: RemoteError) -> Check:
    return _check(key, FAIL, exc.message, exc.hint, code=exc.code)


# -- setup ----------------------------------------------------------------------------


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


def sns_destination(topic_arn: str) -> dict[str, Any]:
    """The optional SNS destination: rendering failures only, to alert on."""
    return {"Name": SNS_DESTINATION, "Enabled": True, "MatchingEventTypes": ["renderingFailure"],
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


def _destination_change(configuration_set: str, existing: Sequence[EventDestination],
                        wanted: Mapping[str, Any]) -> Change | None:
    want = EventDestination.from_api(wanted)
    for d in existing:
        if (d.enabled and d.kind == want.kind and (not want.target or d.target == want.target)
                and want.event_types <= d.event_types):
            return None  # already there (ours, or one the team made)
    label = f"{KIND_LABELS[want.kind]} destination {want.name}"
    types = ", ".join(EVENT_LABELS.get(t, t) for t in order_events(want.event_types))
    ours = next((d for d in existing if d.name == want.name), None)
    if ours is None:
        return Change("create-event-destination", want.name, f"add {label} for {types} events",
                      "CreateConfigurationSetEventDestination",
                      {"ConfigurationSetName": configuration_set, "EventDestination": dict(wanted)})
    merged = dict(ours.raw) if ours.kind == want.kind else {}
    merged.update({"Name": want.name, "Enabled": True,
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
    return Change("update-event-destination", want.name, f"update {label}: {'; '.join(what) or 'refresh it'}",
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
    """Make the plan's changes, in order; the first failure raises (a rerun converges)."""
    calls: dict[str, Callable[[Change], None]] = {
        "VerifyEmailIdentity": lambda c: account.verify_email(c.params["EmailAddress"]),
        "CreateConfigurationSet": lambda c: account.create_configuration_set(c.params["ConfigurationSet"]["Name"]),
        "CreateConfigurationSetEventDestination": lambda c: account.create_event_destination(
            c.params["ConfigurationSetName"], c.params["EventDestination"]),
        "UpdateConfigurationSetEventDestination": lambda c: account.update_event_destination(
            c.params["ConfigurationSetName"], c.params["EventDestination"]),
    }
    done = []
    for change in plan.changes:
        calls[change.operation](change)
        done.append(change)
        if progress:
            progress(change)
    return tuple(done)


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


# -- statistics -------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    bounce: float = BOUNCE_THRESHOLD
    complaint: float = COMPLAINT_THRESHOLD

    def to_dict(self) -> dict[str, float]:
        return {"bounce_rate": self.bounce, "complaint_rate": self.complaint}


@dataclass(frozen=True)
class Totals:
    """Sums over a window or a day; rates are ``None`` without delivery attempts."""

    label: str
    start: datetime
    attempts: int = 0
    bounces: int = 0
    complaints: int = 0
    rejects: int = 0

    @property
    def bounce_rate(self) -> float | None:
        return self.bounces / self.attempts if self.attempts else None

    @property
    def complaint_rate(self) -> float | None:
        return self.complaints / self.attempts if self.attempts else None

    def breaches(self, t: Thresholds) -> list[str]:
        out = []
        if self.bounce_rate is not None and self.bounce_rate >= t.bounce:
            out.append(f"bounce rate {_pct(self.bounce_rate, 2)} over the {self.label} is at or above "
                       f"{_pct(t.bounce, 1)} ({self.bounces} of {self.attempts})")
        if self.complaint_rate is not None and self.complaint_rate >= t.complaint:
            out.append(f"complaint rate {_pct(self.complaint_rate, 3)} over the {self.label} is at or above "
                       f"{_pct(t.complaint, 1)} ({self.complaints} of {self.attempts})")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "start": self.start.isoformat(), "delivery_attempts": self.attempts,
                "bounces": self.bounces, "complaints": self.complaints, "rejects": self.rejects,
                "bounce_rate": self.bounce_rate, "complaint_rate": self.complaint_rate}


def _total(label: str, start: datetime, points: Iterable[DataPoint]) -> Totals:
    pts = list(points)
    return Totals(label, start, sum(p.attempts for p in pts), sum(p.bounces for p in pts),
                  sum(p.complaints for p in pts), sum(p.rejects for p in pts))


@dataclass(frozen=True)
class StatsReport:
    quota: SendQuota | None
    last_24h: Totals
    last_14d: Totals
    days: tuple[Totals, ...]
    thresholds: Thresholds
    generated: datetime

    @property
    def breaches(self) -> list[str]:
        return self.last_24h.breaches(self.thresholds) + self.last_14d.breaches(self.thresholds)

    @property
    def ok(self) -> bool:
        return not self.breaches

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "generated": self.generated.isoformat(),
                "quota": self.quota.to_dict() if self.quota else None,
                "windows": {"last_24_hours": self.last_24h.to_dict(), "last_14_days": self.last_14d.to_dict()},
                "days": [{"date": d.start.date().isoformat(), **{k: v for k, v in d.to_dict().items()
                                                                  if k not in ("label", "start")}}
                         for d in self.days],
                "thresholds": self.thresholds.to_dict(), "breaches": self.breaches}


def summarize(points: Sequence[DataPoint], quota: SendQuota | None = None, *,
              thresholds: Thresholds = Thresholds(), now: datetime | None = None,
              days: int = 14) -> StatsReport:
    """GetSendStatistics' 15-minute buckets → the last 24 hours, the last
    ``days`` days and one total per UTC day (oldest first); pure."""
    now = _utc(now or datetime.now(UTC))
    day_start = datetime.combine(now.date(), datetime.min.time(), tzinfo=UTC)
    first_day = day_start - timedelta(days=days - 1)
    since_24h = now - timedelta(hours=24)
    since_14d = now - timedelta(days=days)
    recent = [p for p in points if p.timestamp <= now]
    per_day: list[Totals] = []
    for i in range(days):
        start = first_day + timedelta(days=i)
        end = start + timedelta(days=1)
        per_day.append(_total(start.date().isoformat(), start,
                              (p for p in recent if start <= p.timestamp < end)))
    return StatsReport(
        quota,
        _total("last 24 hours", since_24h, (p for p in recent if p.timestamp > since_24h)),
        _total(f"last {days} days", since_14d, (p for p in recent if p.timestamp > since_14d)),
        tuple(per_day), thresholds, now)


def statistics(account: Account, *, thresholds: Thresholds = Thresholds(),
               now: datetime | None = None) -> StatsReport:
    return summarize(account.send_statistics(), account.send_quota(), thresholds=thresholds, now=now)


# -- small helpers ------------------------------------------------------------------------


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,.2f}"


def _pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x * 100:.{digits}f} %"


__all__ = [
    "Account", "AccountDetails", "AccountSettings", "Change", "Check", "ConfigurationSetState",
    "CredentialInfo", "DataPoint", "DoctorReport", "EventDestination", "IdentityStatus", "SendQuota",
    "SenderStatus", "SetupPlan", "SetupResult", "SetupSpec", "SetupState", "StatsReport", "Thresholds", "Totals",
    "account_settings", "apply_setup", "check_configuration_set", "check_credentials", "check_event_destinations",
    "check_quota", "check_sandbox", "check_sender", "check_templates", "cloudwatch_destination",
    "configuration_set_name", "credential_info", "doctor", "expected_templates", "explain", "iam_actions",
    "iam_policy", "plan_setup", "read_setup_state", "setup", "sns_destination", "statistics", "summarize",
]
