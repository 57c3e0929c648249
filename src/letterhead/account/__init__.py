"""letterhead.account: the SES account behind the sends, for ``letterhead
doctor``, ``letterhead setup`` and ``letterhead stats``.

In: the :class:`~letterhead.config.Config` and the command's options
(:func:`account_settings`), boto3 clients (:class:`Account`, made through
:mod:`letterhead.aws.client`).  Out: a :class:`DoctorReport` (checks with their
fixes), a :class:`SetupPlan` / :class:`SetupResult` (identities, configuration
set, event destinations), a :class:`StatsReport` (bounce and complaint rates),
and the least-privilege IAM policy (:func:`iam_policy`).  Each job is a
read → pure function → (maybe) write chain.

Modules:

* :mod:`~letterhead.account.policy`: settings, the names and event types
  letterhead sets up, ``IAM_STATEMENTS`` and the IAM policy;
* :mod:`~letterhead.account.client`: ``Account`` (the only module making the
  account calls), credentials info, what the API returns as plain data,
  ``explain`` (botocore errors → ``RemoteError`` with the account's fixes);
* :mod:`~letterhead.account.doctor`: the checks and ``doctor``;
* :mod:`~letterhead.account.setup`: ``plan_setup`` (pure), ``apply_setup``, ``setup``;
* :mod:`~letterhead.account.stats`: ``summarize`` (pure) and ``statistics``.

Importing the package imports neither boto3 nor botocore.
"""

from ..aws.quota import SANDBOX_QUOTA, SendQuota
from .client import (
    CREDENTIAL_SOURCES,
    DESTINATION_KINDS,
    KIND_LABELS,
    Account,
    AccountDetails,
    ConfigurationSetState,
    CredentialInfo,
    DataPoint,
    EventDestination,
    IdentityStatus,
    SenderStatus,
    credential_info,
    explain,
    mask_key,
    order_events,
)
from .doctor import (
    CHECK_TITLES,
    PRODUCTION_HINT,
    Check,
    DoctorReport,
    check_configuration_set,
    check_credentials,
    check_event_destinations,
    check_quota,
    check_sandbox,
    check_sender,
    check_templates,
    doctor,
    expected_templates,
)
from .policy import (
    BOUNCE_THRESHOLD,
    CLOUDWATCH_DESTINATION,
    COMPLAINT_THRESHOLD,
    CONFIG_SET_RE,
    DEFAULT_CONFIGURATION_SET,
    EVENT_LABELS,
    EVENT_TYPES,
    FAIL,
    IAM_STATEMENTS,
    IDENTITY_BATCH,
    OK,
    QUOTA_WARN,
    SKIP,
    SNS_ARN_RE,
    SNS_DESTINATION,
    TEMPLATE_TAG,
    WARN,
    WRITE_OPERATIONS,
    AccountSettings,
    account_settings,
    configuration_set_name,
    iam_actions,
    iam_policy,
)
from .setup import (
    Change,
    SetupPlan,
    SetupResult,
    SetupSpec,
    SetupState,
    apply_setup,
    cloudwatch_destination,
    plan_setup,
    read_setup_state,
    setup,
    sns_destination,
)
from .stats import StatsReport, Thresholds, Totals, statistics, summarize

__all__ = [
    "BOUNCE_THRESHOLD", "CHECK_TITLES", "CLOUDWATCH_DESTINATION", "COMPLAINT_THRESHOLD", "CONFIG_SET_RE",
    "CREDENTIAL_SOURCES", "DEFAULT_CONFIGURATION_SET", "DESTINATION_KINDS", "EVENT_LABELS", "EVENT_TYPES", "FAIL",
    "IAM_STATEMENTS", "IDENTITY_BATCH", "KIND_LABELS", "OK", "PRODUCTION_HINT", "QUOTA_WARN", "SANDBOX_QUOTA",
    "SKIP", "SNS_ARN_RE", "SNS_DESTINATION", "TEMPLATE_TAG", "WARN", "WRITE_OPERATIONS",
    "Account", "AccountDetails", "AccountSettings", "Change", "Check", "ConfigurationSetState",
    "CredentialInfo", "DataPoint", "DoctorReport", "EventDestination", "IdentityStatus", "SendQuota",
    "SenderStatus", "SetupPlan", "SetupResult", "SetupSpec", "SetupState", "StatsReport", "Thresholds", "Totals",
    "account_settings", "apply_setup", "check_configuration_set", "check_credentials", "check_event_destinations",
    "check_quota", "check_sandbox", "check_sender", "check_templates", "cloudwatch_destination",
    "configuration_set_name", "credential_info", "doctor", "expected_templates", "explain", "iam_actions",
    "iam_policy", "mask_key", "order_events", "plan_setup", "read_setup_state", "setup", "sns_destination",
    "statistics", "summarize",
]
