"""What the account commands work with before any call: the names and
event types letterhead sets up, the IAM policy of every SES call it makes, and
the settings (from the config and the options).

In: the :class:`~letterhead.config.Config` and the command's options.  Out:
:class:`AccountSettings` (checked locally), ``IAM_STATEMENTS`` /
:func:`iam_policy` (what ``letterhead setup --print-policy`` prints), and the
constants the other account modules share.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from ..aws.client import DEFAULT_MAX_ATTEMPTS
from ..config import Config
from ..errors import ConfigError

__all__ = [
    "BOUNCE_THRESHOLD", "CLOUDWATCH_DESTINATION", "COMPLAINT_THRESHOLD", "CONFIG_SET_RE", "DEFAULT_CONFIGURATION_SET",
    "EVENT_LABELS", "EVENT_TYPES", "FAIL", "IAM_STATEMENTS", "IDENTITY_BATCH", "OK", "QUOTA_WARN", "SKIP",
    "SNS_ARN_RE", "SNS_DESTINATION", "TEMPLATE_TAG", "WARN", "WRITE_OPERATIONS", "AccountSettings",
    "account_settings", "configuration_set_name", "iam_actions", "iam_policy",
]

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"  # a check's status

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
QUOTA_WARN = 0.8  # warn when this share of the 24-hour quota is used
IDENTITY_BATCH = 100  # GetIdentityVerificationAttributes takes at most 100 identities

CONFIG_SET_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SNS_ARN_RE = re.compile(r"^arn:aws[A-Za-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")

# Every SES API action letterhead calls, grouped by who needs it.  A deploy role
# needs the first statement, the application the second and third, an operator
# the fourth; the fifth is for suppression = "ses" (the application and the
# event consumer).
IAM_STATEMENTS: Mapping[str, tuple[str, ...]] = {
    "LetterheadTemplates": ("CreateTemplate", "UpdateTemplate", "GetTemplate", "ListTemplates",
                            "DeleteTemplate", "TestRenderTemplate"),
    # v1 (SendTemplatedEmail) and, with [tool.letterhead.send] api = "v2", SES v2's
    # SendEmail / SendBulkEmail (templates with headers such as List-Unsubscribe).
    "LetterheadSending": ("SendTemplatedEmail", "SendBulkTemplatedEmail", "SendEmail", "SendBulkEmail"),
    # The sender's rate (v1 GetSendQuota, v2 GetAccount): apart from the sends,
    # because a request that names no sender never matches ses:FromAddress.
    "LetterheadSendRate": ("GetSendQuota", "GetAccount"),
    "LetterheadAccount": ("GetSendQuota", "GetSendStatistics", "GetAccount", "VerifyEmailIdentity",
                          "GetIdentityVerificationAttributes", "ListIdentities", "CreateConfigurationSet",
                          "CreateConfigurationSetEventDestination", "UpdateConfigurationSetEventDestination",
                          "DescribeConfigurationSet", "ListConfigurationSets"),
    # suppression = "ses": the application reads the account-level list before
    # each send, the event consumer adds to it, `letterhead suppression` manages it
    "LetterheadSuppression": ("GetSuppressedDestination", "PutSuppressedDestination",
                              "DeleteSuppressedDestination", "ListSuppressedDestinations"),
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
    sync_region = config.sync_region
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
