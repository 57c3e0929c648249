"""The SES account calls: identities, configuration sets and event
destinations, send quota and statistics, and where boto3 found credentials.
The only module that makes these calls.

In: boto3 ``ses`` (and ``sesv2``) clients, handed to :class:`Account` (tests
hand in moto-backed clients or Stubbers) or made by :meth:`Account.connect`
through :mod:`letterhead.aws.client`.  Out: what the API returns, as plain
frozen data (:class:`SenderStatus`, :class:`ConfigurationSetState`,
:class:`DataPoint`, :class:`~letterhead.aws.quota.SendQuota`...).  Every
botocore error becomes one ``RemoteError`` subclass through :func:`explain`,
whose hint is the fix from the troubleshooting table in ``docs/account.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..aws.client import check_region, make_client, make_session, retry_config, watch_answers
from ..aws.errors import ACCOUNT_FIXES, DENIED_CODES, aws_failures, translate_aws
from ..aws.quota import SendQuota
from ..errors import ConfigurationSetError, NotSesEndpoint, RemoteError
from .policy import EVENT_TYPES, IDENTITY_BATCH, WRITE_OPERATIONS, AccountSettings

__all__ = [
    "CREDENTIAL_SOURCES", "DESTINATION_KINDS", "KIND_LABELS", "Account", "AccountDetails",
    "ConfigurationSetState", "CredentialInfo", "DataPoint", "EventDestination", "IdentityStatus",
    "SenderStatus", "as_utc", "credential_info", "explain", "mask_key", "order_events",
]


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


def explain(exc: BaseException, operation: str, *, endpoint_url: str | None = None) -> RemoteError:
    """A botocore exception of an *account* call → the ``RemoteError`` whose
    hint is the fix: missing or refused credentials, a missing permission,
    throttling, an unknown region or unreachable endpoint, a missing
    configuration set.  (Send-time refusals, an unverified sender or the
    sandbox among them, are ``aws.errors.ses_error``'s; ``doctor`` finds
    their causes before a send does.)"""
    return translate_aws(exc, operation, ACCOUNT_FIXES, endpoint_url=endpoint_url)


# -- what the API returns, as plain data ---------------------------------------------


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
        return cls(as_utc(d["Timestamp"]), int(d.get("DeliveryAttempts", 0)), int(d.get("Bounces", 0)),
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
                watch_answers(client)  # an answer that is not SES's: NotSesEndpoint, naming the URL
                service = client.meta.service_model.service_id.hyphenize()
                client.meta.events.register(f"provide-client-params.{service}", self._count,
                                            unique_id=f"letterhead-account-count-{service}-{id(self)}")

    @classmethod
    def connect(cls, settings: AccountSettings, *, session: Any = None) -> Account:
        """Real clients from boto3's chain; checks the region before any call."""
        from botocore.exceptions import BotoCoreError

        try:
            session = session or make_session(region=settings.region)
            region = settings.region or session.region_name
            check_region(region, settings.endpoint_url)
            config = retry_config(settings.max_attempts)
            ses = make_client("ses", session=session, region=region, endpoint_url=settings.endpoint_url or None,
                              config=config)
            # A custom endpoint (moto, LocalStack) serves both APIs; on AWS each has its own.
            sesv2 = make_client("sesv2", session=session, region=region,
                                endpoint_url=settings.endpoint_url or None, config=config)
        except BotoCoreError as exc:
            raise explain(exc, "connect", endpoint_url=settings.endpoint_url) from None
        return cls(ses, sesv2, region=region, endpoint_url=settings.endpoint_url)

    def _count(self, event_name: str = "", **_: Any) -> None:
        self.calls[event_name.rsplit(".", 1)[-1]] += 1

    @property
    def write_calls(self) -> int:
        return sum(n for op, n in self.calls.items() if op in WRITE_OPERATIONS)

    def _call(self, method: Callable[..., Any], operation: str, **params: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = method(**params)
            return answer
        except aws_failures() as exc:
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
        from botocore.exceptions import ClientError

        if self.sesv2 is None:
            return AccountDetails(unavailable="no SES v2 client")
        unavailable: tuple[type[BaseException], ...] = (*aws_failures(), NotImplementedError)
        try:
            resp = self.sesv2.get_account()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code") or "?"
            if code in DENIED_CODES:
                return AccountDetails(unavailable="ses:GetAccount is not allowed for these credentials")
            return AccountDetails(unavailable=f"GetAccount is not available here ({code})")
        except NotSesEndpoint as exc:
            # moto's server answers SES v2 with an HTML 404: SES v1 may still be there
            return AccountDetails(unavailable=f"GetAccount is not available here ({exc.url or 'the endpoint'} "
                                              f"answered HTTP {exc.status})")
        except unavailable as exc:
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

        names: set[str] = set()
        try:
            for page in self.ses.get_paginator("list_templates").paginate(PaginationConfig={"PageSize": 100}):
                names.update(m["Name"] for m in page.get("TemplatesMetadata", []))
                if page.get("NextToken"):
                    time.sleep(page_pause)
        except aws_failures() as exc:
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


def as_utc(ts: datetime) -> datetime:
    """``ts`` in UTC (a naive time is taken as UTC)."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
