"""One translation of botocore failures into letterhead's errors, with the
fix worded for the command that met them.

In: a botocore exception (``ClientError``, ``BotoCoreError``) or an SES error
code, and the call that failed.  Out: a :class:`~letterhead.errors.RemoteError`
(sync and the account commands: :func:`translate_aws` with that command's
:class:`Fixes`, :data:`SYNC_FIXES` or :data:`ACCOUNT_FIXES`) or a
:class:`~letterhead.errors.SendError` (sends: :func:`translate_send` and
:func:`ses_error`, worded by :data:`SEND_HINTS`; their classes tell what a
send may retry, what may go to the fallback, and what may have gone out).  The error-code families
(:data:`THROTTLING_CODES`, :data:`CREDENTIAL_CODES`, :data:`DENIED_CODES`) are
one list for all three.

Every failure a call to AWS can end in is translated, not only botocore's
own classes: :func:`aws_failures` is the tuple of exception classes to catch
around a call (botocore's parser raises a ``ResponseParserError`` that is no
``BotoCoreError``), and a send turns anything else into ``DeliveryUnknown``.

botocore is imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..errors import (
    AccessDeniedError,
    AccountSendingPaused,
    ConfigurationSetDoesNotExist,
    ConfigurationSetError,
    ConfigurationSetSendingPaused,
    CredentialsError,
    DailyQuotaExceeded,
    DeliveryUnknown,
    EndpointError,
    MailFromDomainNotVerified,
    MessageRejected,
    NoCredentials,
    NotSesEndpoint,
    RemoteError,
    RemoteTemplateError,
    SendAccessDenied,
    SendError,
    SesUnreachable,
    TemplateDoesNotExist,
    Throttled,
    ThrottledError,
)
from .client import not_ses_hint

__all__ = [
    "ACCOUNT_FIXES", "CREDENTIALS_HINT", "CREDENTIAL_CODES", "DENIED_CODES", "POLICY_HINT", "SEND_HINTS",
    "SYNC_ACTIONS", "SYNC_FIXES", "THROTTLING_CODES", "UNAVAILABLE_CODES", "Fixes", "aws_failures", "error_code",
    "redact_addresses", "send_hint", "ses_error", "tls_hint", "translate_aws", "translate_send",
]

THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException",
                              "RequestLimitExceeded", "SlowDown"})
CREDENTIAL_CODES = frozenset({"InvalidClientTokenId", "UnrecognizedClientException",
                              "SignatureDoesNotMatch", "InvalidSignatureException", "ExpiredToken",
                              "ExpiredTokenException", "IncompleteSignature", "AuthFailure",
                              "MissingAuthenticationToken", "InvalidAccessKeyId"})
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                          "OptInRequired", "NotAuthorized"})
UNAVAILABLE_CODES = frozenset({"ServiceUnavailable", "ServiceUnavailableException"})

# The IAM actions a deploy role needs, for the AccessDenied hint.
SYNC_ACTIONS = ("ses:ListTemplates", "ses:GetTemplate", "ses:CreateTemplate", "ses:UpdateTemplate",
                "ses:DeleteTemplate", "ses:TestRenderTemplate")


# -- sync and the account commands: RemoteError ------------------------------------------


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a ``ClientError``, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return None if code is None else str(code)
    return None


def aws_failures() -> tuple[type[BaseException], ...]:
    """The exception classes a call through a boto3 client can end in that
    :func:`translate_aws` and :func:`translate_send` explain: botocore's
    (``ClientError`` and ``BotoCoreError``), its parser's
    ``ResponseParserError`` (no ``BotoCoreError``), and letterhead's own
    (:class:`~letterhead.errors.RemoteError`: a wrong endpoint found by
    :func:`letterhead.aws.client.watch_answers`)."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    return (ClientError, BotoCoreError, ResponseParserError, RemoteError)


def _refresh_errors() -> tuple[type[BaseException], ...]:
    """botocore's failures to fetch or refresh credentials (SSO, a role, the
    instance metadata): no call was made."""
    from botocore import exceptions as bx

    return tuple(getattr(bx, n) for n in ("SSOError", "SSOTokenLoadError", "TokenRetrievalError",
                                          "UnauthorizedSSOTokenError", "RefreshWithMFAUnsupportedError",
                                          "CredentialRetrievalError", "MetadataRetrievalError")
                 if hasattr(bx, n))


def _url_of(exc: BaseException, fallback: str | None) -> str:
    url = getattr(exc, "kwargs", {}).get("endpoint_url") or fallback
    return str(url) if url else "the SES endpoint"


def tls_hint(url: str | None) -> str:
    """The fix when the TLS handshake with ``url`` failed."""
    from .loopback import is_loopback_url

    if url and urlsplit(url).scheme == "https" and is_loopback_url(url):
        return ("a local endpoint speaks plain HTTP (the local SES of `letterhead dev` does): write http:// "
                "in AWS_ENDPOINT_URL_SES (or --endpoint-url)")
    return ("the endpoint's certificate could not be checked, or it does not speak TLS: check the URL's "
            "scheme, AWS_CA_BUNDLE (a private certificate authority) and HTTPS_PROXY")


def _parser_answer(exc: BaseException) -> str:
    """What answered, from a ``ResponseParserError``'s text (it quotes the body)."""
    text = str(exc).lower()
    if "<html" in text or "<!doctype html" in text:
        return "an HTML page"
    return "an answer botocore cannot read as SES's"


@dataclass(frozen=True)
class Fixes:
    """The fix to show for each kind of AWS failure, worded for one command
    (``{operation}`` in a text is the call that failed).  ``codes``: error
    codes only this command meets → (error class, fix)."""

    denied: str
    credentials: str
    throttled: str
    server: str
    other: str
    no_credentials: str
    profile: str
    region: str
    network: str
    unexpected: str
    refresh: str = "log in again (`aws sso login`) and rerun"
    malformed: str | None = None  # botocore refused the parameters (None: an unexpected failure)
    codes: Mapping[str, tuple[type[RemoteError], str]] = field(default_factory=dict)


def translate_aws(exc: BaseException, operation: str, fixes: Fixes, *, template: str | None = None,
                  endpoint_url: str | None = None) -> RemoteError:
    """A botocore exception → the RemoteError that explains it in one line,
    with the fix as hint.  One classification for every SES call: template
    calls (``TemplateStore``) and account calls (``account.explain``) differ
    only in their :class:`Fixes`."""
    from botocore import exceptions as bx
    from botocore.parsers import ResponseParserError

    if isinstance(exc, RemoteError):
        return exc
    where = f"{operation} {template}" if template else operation
    kw: dict[str, Any] = {"operation": operation, "template": template}

    def fix(text: str) -> str:
        return text.format(operation=operation)

    if isinstance(exc, bx.ClientError):
        code = error_code(exc) or "Unknown"
        msg = exc.response.get("Error", {}).get("Message") or code
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        kw["code"] = code
        if code in DENIED_CODES:
            return AccessDeniedError(f"AWS denied {where}: {msg}", **kw, hint=fix(fixes.denied))
        if code in CREDENTIAL_CODES:
            return CredentialsError(f"AWS rejected the credentials ({code}) on {where}: {msg}", **kw,
                                    hint=fix(fixes.credentials))
        if code in THROTTLING_CODES:
            return ThrottledError(f"SES kept throttling {where} after every retry: {msg}", **kw,
                                  hint=fix(fixes.throttled))
        if code in fixes.codes:
            error, hint = fixes.codes[code]
            return error(f"SES refused {where}: {msg}", **kw, hint=fix(hint))
        if (status and status >= 500) or code in ("InternalFailure", "ServiceUnavailable", "InternalError"):
            return RemoteError(f"SES failed on {where} (HTTP {status}, {code}): {msg}", **kw,
                               hint=fix(fixes.server))
        return RemoteError(f"SES refused {where} ({code}): {msg}", **kw, hint=fix(fixes.other))
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return CredentialsError(f"no AWS credentials found for {where}", **kw, hint=fix(fixes.no_credentials))
    if isinstance(exc, bx.ProfileNotFound):
        return CredentialsError(str(exc), **kw, hint=fix(fixes.profile))
    if isinstance(exc, _refresh_errors()):
        return CredentialsError(f"AWS credentials could not be refreshed: {exc}", **kw, hint=fix(fixes.refresh))
    if isinstance(exc, bx.NoRegionError):
        return EndpointError("no AWS region configured for SES", **kw, hint=fix(fixes.region))
    if isinstance(exc, bx.InvalidRegionError):
        return EndpointError(f"{exc.kwargs.get('region_name')!r} is not an AWS region name "
                             "(letters, digits and '-', like 'eu-west-1')", **kw, hint=fix(fixes.region))
    if isinstance(exc, ResponseParserError):
        url = endpoint_url or "the SES endpoint"
        return NotSesEndpoint(f"{url} answered {where} with {_parser_answer(exc)}, not SES",
                              hint=_not_ses_hint(endpoint_url), operation=operation, url=endpoint_url)
    url = _url_of(exc, endpoint_url)
    if isinstance(exc, bx.SSLError):
        reason = str(getattr(exc, "kwargs", {}).get("error") or exc)
        return EndpointError(f"the TLS handshake with {url} failed for {where}: {reason}", **kw,
                             hint=tls_hint(url))
    if isinstance(exc, bx.ConnectionClosedError):
        return EndpointError(f"{url} closed the connection without answering {where}", **kw,
                             hint=fix(fixes.network))
    if isinstance(exc, bx.ReadTimeoutError):
        return EndpointError(f"{url} did not answer {where} in time (read timeout)", **kw, hint=fix(fixes.network))
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ProxyConnectionError)):
        return EndpointError(f"cannot reach {url} for {where}", **kw, hint=fix(fixes.network))
    if isinstance(exc, bx.HTTPClientError):
        return EndpointError(f"the connection to {url} failed during {where}: {exc}", **kw,
                             hint=fix(fixes.network))
    if isinstance(exc, bx.ParamValidationError) and fixes.malformed is not None:
        return RemoteTemplateError(f"botocore refused {where}: {exc}", **kw, hint=fix(fixes.malformed))
    return RemoteError(f"{where} failed: {exc}", **kw, hint=fix(fixes.unexpected))


def _not_ses_hint(url: str | None) -> str:
    return not_ses_hint(url, None)


# The fixes worded for each command.

POLICY_HINT = "`letterhead setup --print-policy` prints every action letterhead needs"
CREDENTIALS_HINT = ("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run where an IAM "
                    "role is attached; `letterhead doctor` shows what boto3 finds")
# Raised only when the configuration set changed between setup's read and its
# write (another setup, a teammate): the next run reads the new state.
SET_CHANGED = ("the configuration set changed between setup's read and its write (another setup running?): "
               "rerun `letterhead setup`, it reads the set again")
DESTINATION_REFUSED = ("SES refused the event destination's settings: see the AWS message; letterhead's own "
                       "destinations are valid on SES, so a destination made by hand, or an endpoint that is "
                       "not SES? `letterhead doctor` shows the set")
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
    unexpected="see the message above; `letterhead doctor` checks the credentials, the region and the endpoint",
    codes={
        "ConfigurationSetDoesNotExist": (
            ConfigurationSetError,
            "run `letterhead setup` to create it, or set SES_CONFIGURATION_SET to an existing set"),
        "InvalidSNSDestination": (
            ConfigurationSetError, "the SNS topic must exist in the same region and account as SES"),
        **dict.fromkeys(("EventDestinationAlreadyExists", "EventDestinationDoesNotExist",
                         "ConfigurationSetAlreadyExists"), (ConfigurationSetError, SET_CHANGED)),
        **dict.fromkeys(("InvalidCloudWatchDestination", "InvalidFirehoseDestination"),
                        (ConfigurationSetError, DESTINATION_REFUSED)),
        "InvalidConfigurationSet": (
            ConfigurationSetError, "configuration set names hold letters, digits, '_' and '-' (at most 64): fix "
                                   "SES_CONFIGURATION_SET (or --configuration-set)"),
        "LimitExceeded": (RemoteError, "an SES limit of the account is reached: delete what is unused, or "
                                       "request an increase (Service Quotas → SES)"),
    },
)


# Raised only when SES changed between sync's read and its write: the next run
# reads the new state and converges.
_CONVERGES = "someone else changed SES meanwhile; rerun sync, it converges"
SYNC_FIXES = Fixes(
    denied="allow ses:{operation} for these credentials (sync needs " + ", ".join(SYNC_ACTIONS) + ")",
    credentials="check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or AWS_PROFILE "
                "(expired session? run `aws sts get-caller-identity`)",
    throttled="lower the rate (--rate or `rate` in [tool.letterhead.sync]) or rerun later; sync converges",
    server="a fault on the SES side; rerun sync, it converges",
    other="see the AWS message; rerun sync once it is fixed",
    no_credentials="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, "
                   "or run where an IAM role is attached (boto3's credential chain)",
    profile="fix AWS_PROFILE or ~/.aws/config",
    region="set AWS_REGION (or pass --region, or `region` in [tool.letterhead.sync])",
    network="check --endpoint-url / AWS_ENDPOINT_URL_SES, the region (AWS_REGION) "
            "and the network; then rerun sync, it converges",
    unexpected="see the message above; `letterhead doctor` checks the credentials, the region and the endpoint "
               "(a rerun of sync is safe: it never applies a change twice)",
    malformed="the payload is malformed; rebuild with `letterhead build`",
    codes={
        "LimitExceeded": (RemoteTemplateError,
                          "SES holds at most 20,000 templates per region: prune old ones (--prune)"),
        **dict.fromkeys(("InvalidTemplate", "InvalidParameterValue", "ValidationError"),
                        (RemoteTemplateError, "fix the template source and rebuild with `letterhead build`")),
        **dict.fromkeys(("TemplateDoesNotExist", "AlreadyExists"), (RemoteTemplateError, _CONVERGES)),
    },
)


# -- sends: SendError ----------------------------------------------------------------------

_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-!#$&'*/=?^`{|}~]+@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})")


def redact_addresses(text: str) -> str:
    """AWS messages name addresses ("…failed the check in region X: a@b.c");
    keep the domain, drop the person."""
    return _EMAIL_RE.sub(r"***@\1", text)


SEND_HINTS = {
    "verify": ("verify the sender (SES console → Verified identities → Create identity, or "
               "`aws ses verify-domain-identity --domain {domain}` with DKIM) in region {region}; "
               "in the sandbox every recipient must be verified too: request production access "
               "(SES console → Account dashboard → Request production access)"),
    "mail_from": ("publish the MX and SPF records of the custom MAIL FROM domain "
                  "(SES console → Verified identities → the domain → Custom MAIL FROM domain), "
                  "or remove that setting"),
    "template": ("deploy the templates to this region with `letterhead sync` (with the same --env as "
                 "the sender: the name sent was {name!r}), or check AWS_REGION"),
    "config_set": ("create it (`aws ses create-configuration-set --configuration-set "
                   "Name={config_set}`) in region {region}, or fix or unset SES_CONFIGURATION_SET"),
    "paused": ("SES paused sending for the account in region {region} (a reputation review: "
               "bounces over 5 % or complaints over 0.1 %, or UpdateAccountSendingEnabled): read "
               "SES's email and the Reputation dashboard, fix the cause, then "
               "`aws ses update-account-sending-enabled --enabled`"),
    "config_set_paused": ("sending is paused for configuration set {config_set!r}: fix the "
                          "cause, then `aws ses update-configuration-set-sending-enabled "
                          "--configuration-set-name {config_set} --enabled`"),
    "suspended": ("the account's SES sending was shut down; open a case with AWS Support "
                  "(SES console → Account dashboard)"),
    "quota": ("the 24-hour sending quota is used up (Max24HourSend of `aws ses get-send-quota`; "
              "200 in the sandbox): wait for the rolling 24-hour window, or request a higher "
              "quota (Service Quotas → Amazon SES → Sending quota)"),
    "throttled": ("send slower: set SES_MAX_SEND_RATE (or [tool.letterhead.send] max_send_rate) "
                  "below the account's MaxSendRate, split it between processes that share the "
                  "account, or request a higher sending rate"),
    "credentials": ("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run "
                    "where an IAM role is attached (boto3's credential chain)"),
    "bad_credentials": ("check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or "
                        "AWS_PROFILE (expired session? `aws sts get-caller-identity`)"),
    "denied": ("allow ses:SendTemplatedEmail and ses:SendBulkTemplatedEmail (and ses:GetSendQuota, "
               "or set SES_MAX_SEND_RATE) for these credentials"),
    "unreachable": ("check AWS_REGION, AWS_ENDPOINT_URL_SES and the network; nothing was sent, "
                    "so sending again is safe"),
    "unknown": ("SES may or may not have accepted it: letterhead does not resend blindly; check "
                "the configuration set's send events before sending again"),
    "region": "set AWS_REGION (or pass region= to the Mailer)",
    "invalid": "see the AWS message; fix the value and send again",
}


def send_hint(key: str, **kw: Any) -> str:
    """The fix for a send failure of kind ``key`` (a :data:`SEND_HINTS` key),
    its placeholders filled (``?`` for a None)."""
    return SEND_HINTS[key].format(**{k: ("?" if v is None else v) for k, v in kw.items()})


def ses_error(code: str, message: str, *, operation: str, template: str | None, region: str | None,
              domain: str | None = None, config_set: str | None = None, status: int | None = None,
              ) -> SendError:
    """An SES error code (a ClientError's or a bulk destination's Status) →
    the typed error with its fix."""
    aws = redact_addresses(message or code)
    where = f"{operation} {template}" if template else operation
    kw: dict[str, Any] = {"operation": operation, "template": template, "code": code}
    ctx = {"region": region, "domain": domain, "name": template, "config_set": config_set}
    if code == "MessageRejected":
        return MessageRejected(f"SES rejected {where}: {aws}", hint=send_hint("verify", **ctx), **kw)
    if code in ("MailFromDomainNotVerified", "MailFromDomainNotVerifiedException"):
        return MailFromDomainNotVerified(f"SES refused {where}: {aws}", hint=send_hint("mail_from", **ctx), **kw)
    if code == "TemplateDoesNotExist":
        return TemplateDoesNotExist(f"SES has no template {template!r} in region {region or '?'}: {aws}",
                                    hint=send_hint("template", **ctx), **kw)
    if code == "ConfigurationSetDoesNotExist":
        return ConfigurationSetDoesNotExist(f"SES has no configuration set {config_set!r}: {aws}",
                                            hint=send_hint("config_set", **ctx), **kw)
    if code in ("ConfigurationSetSendingPausedException", "ConfigurationSetSendingPaused"):
        return ConfigurationSetSendingPaused(f"SES refused {where}: sending is paused for configuration "
                                             f"set {config_set!r}", hint=send_hint("config_set_paused", **ctx), **kw)
    if code in ("AccountSendingPausedException", "AccountSendingPaused"):
        return AccountSendingPaused(f"SES refused {where}: sending is paused for the account",
                                    hint=send_hint("paused", **ctx), **kw)
    if code == "AccountSuspended":
        return AccountSendingPaused(f"SES refused {where}: the account is suspended",
                                    hint=send_hint("suspended", **ctx), **kw)
    if code == "AccountDailyQuotaExceeded" or (code in THROTTLING_CODES and "daily" in aws.lower()):
        return DailyQuotaExceeded(f"SES refused {where}: daily message quota exceeded",
                                  hint=send_hint("quota", **ctx), **kw)
    if code in THROTTLING_CODES or code == "AccountThrottled":
        return Throttled(f"SES throttled {where}: {aws}", hint=send_hint("throttled", **ctx), **kw)
    if code in CREDENTIAL_CODES:
        return NoCredentials(f"AWS rejected the credentials ({code}) on {where}",
                             hint=send_hint("bad_credentials", **ctx), **kw)
    if code in DENIED_CODES:
        return SendAccessDenied(f"AWS denied {where}: {aws}", hint=send_hint("denied", **ctx), **kw)
    if code in UNAVAILABLE_CODES or status == 503:
        return SesUnreachable(f"SES is unavailable for {where} (HTTP {status or 503})",
                              hint=send_hint("unreachable", **ctx), **kw)
    if (status or 0) >= 500 or code in ("InternalFailure", "InternalError"):
        return DeliveryUnknown(f"SES failed on {where} (HTTP {status}, {code}): {aws}",
                               hint=send_hint("unknown", **ctx), **kw)
    err = SendError(f"SES refused {where} ({code}): {aws}", hint=send_hint("invalid", **ctx), **kw)
    if code == "TransientFailure":
        err.retryable = True
    if code == "InvalidSendingPoolName":
        err.stops_bulk = True
    return err


def translate_send(exc: BaseException, operation: str, template: str | None, *, region: str | None,
                   endpoint_url: str | None, config_set: str | None = None, domain: str | None = None,
                   ) -> SendError:
    """Any exception of a send call → the typed ``SendError`` with its fix.

    What proves nothing was sent (no connection, no credentials, an answer
    that was not SES's) is ``SesUnreachable`` or a refusal; whatever may have
    reached SES (a timeout or a dropped connection after the request, a
    gateway's error page, an exception letterhead does not know) is
    ``DeliveryUnknown``, never retried."""
    from botocore import exceptions as bx
    from botocore.parsers import ResponseParserError

    if isinstance(exc, SendError):
        return exc
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return ses_error(error.get("Code") or "Unknown", error.get("Message") or "", operation=operation,
                         template=template, region=region, domain=domain, config_set=config_set, status=status)
    kw: dict[str, Any] = {"operation": operation, "template": template}
    where = f"{operation} {template}" if template else operation
    if isinstance(exc, NotSesEndpoint):
        if exc.status in (502, 504):  # a gateway's page: it may have passed the request on to SES
            return DeliveryUnknown(f"{exc.message}: a gateway's error, SES may or may not have received it",
                                   hint=f"{exc.hint}; {send_hint('unknown')}", **kw)
        return _not_retryable(SesUnreachable(exc.message, hint=exc.hint, **kw))
    if isinstance(exc, RemoteError):  # a region or an endpoint URL refused before any call
        return _not_retryable(SesUnreachable(exc.message, hint=exc.hint, **kw))
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError, bx.ProfileNotFound)):
        return NoCredentials(f"no usable AWS credentials for {operation}: {type(exc).__name__}",
                             hint=send_hint("credentials"), **kw)
    if isinstance(exc, _refresh_errors()):
        return NoCredentials(f"AWS credentials could not be refreshed for {operation}: {exc}",
                             hint="log in again (`aws sso login`), or check the role the credentials come from",
                             **kw)
    if isinstance(exc, bx.NoRegionError):
        return _not_retryable(SesUnreachable("no AWS region configured for SES", hint=send_hint("region"), **kw))
    if isinstance(exc, bx.InvalidRegionError):
        return _not_retryable(SesUnreachable(
            f"{exc.kwargs.get('region_name')!r} is not an AWS region name (letters, digits and '-', like "
            "'eu-west-1')", hint=send_hint("region"), **kw))
    url = _url_of(exc, endpoint_url)
    if isinstance(exc, ResponseParserError):
        what = _parser_answer(exc)
        if what == "an HTML page":
            return _not_retryable(SesUnreachable(f"{url} answered {where} with {what}, not SES",
                                                 hint=_not_ses_hint(endpoint_url), **kw))
        return DeliveryUnknown(f"{url} answered {where} with {what}", hint=send_hint("unknown"), **kw)
    if isinstance(exc, bx.SSLError):
        # The handshake comes before the request: nothing was sent.
        return _not_retryable(SesUnreachable(f"the TLS handshake with {url} failed for {operation}",
                                             hint=tls_hint(url), **kw))
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ProxyConnectionError)):
        # The connection was never made: nothing was sent.
        return SesUnreachable(f"cannot reach {url} for {operation}", hint=send_hint("unreachable"), **kw)
    if isinstance(exc, bx.ReadTimeoutError):
        return DeliveryUnknown(f"{url} did not answer {where} in time (read timeout), after the request was "
                               "sent", hint=send_hint("unknown"), **kw)
    if isinstance(exc, bx.ConnectionClosedError):
        return DeliveryUnknown(f"{url} closed the connection after the request of {where} was sent",
                               hint=send_hint("unknown"), **kw)
    if isinstance(exc, bx.HTTPClientError):
        return DeliveryUnknown(f"{where}: the connection broke after the request was sent ({type(exc).__name__})",
                               hint=send_hint("unknown"), **kw)
    if isinstance(exc, bx.ParamValidationError):
        return SendError(f"botocore refused {operation}: {redact_addresses(str(exc))}", hint=send_hint("invalid"),
                         **kw)
    detail = redact_addresses(str(exc))[:200]
    err = DeliveryUnknown(f"{where} failed: {type(exc).__name__}" + (f": {detail}" if detail else ""),
                          hint=send_hint("unknown"), **kw)
    err.__cause__ = exc  # the traceback stays reachable (LETTERHEAD_DEBUG, logging)
    return err


def _not_retryable(err: SendError) -> SendError:
    """The same call will fail the same way: a configuration to fix."""
    err.retryable = False
    return err
