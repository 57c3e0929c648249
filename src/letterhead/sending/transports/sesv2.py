"""SES v2 templated sends: ``SendEmail`` with ``Content.Template`` and
``SendBulkEmail`` (SES renders the stored template, the same one v1 sends),
with custom headers (``Headers``; per destination ``ReplacementHeaders``):
what one-click unsubscribe (``List-Unsubscribe``, RFC 8058) needs and v1's
``SendTemplatedEmail`` cannot do.

Everything else is the v1 transport's (:class:`~.ses.SesTransport`, which
this one extends): the one rate limiter counting recipients, Throttling
retried with jittered backoff, botocore's own retries off, and a request
that may have gone out (a read timeout, a dropped connection) reported as
:class:`~letterhead.errors.DeliveryUnknown` and never retried.  Only the
wire differs:

* the client is ``sesv2`` (a REST/JSON API), the quota comes from
  ``GetAccount`` (``SendQuota``);
* v2's error codes (``TooManyRequestsException``, ``NotFoundException``,
  ``SendingPausedException``...) and bulk statuses (``ACCOUNT_THROTTLED``,
  ``TEMPLATE_NOT_FOUND``...) are mapped onto v1's (:data:`V2_STATUSES`,
  :func:`v1_code`), so both transports raise the same typed errors with the
  same retry, fallback and stop-the-bulk policy;
* headers are checked once more at the boundary
  (:func:`~.base.check_wire_headers`) before any call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ...aws.client import watch_answers
from ...aws.errors import error_code, send_hint, ses_error
from ...aws.quota import SendQuota
from ...aws.ratelimit import RateLimiter
from ...errors import ConfigError, DeliveryUnknown, SendAccessDenied, SendError
from .base import MAX_DESTINATIONS, Outcome, OutgoingMessage, check_wire_headers
from .ses import (
    DEFAULT_BURST_SECONDS,
    DEFAULT_CONNECT_ATTEMPTS,
    DEFAULT_MAX_ATTEMPTS,
    RETRYABLE_STATUSES,
    SANDBOX_RATE,
    SesTransport,
    client_region,
    make_client,
)

__all__ = ["V2_STATUSES", "SesV2Transport", "make_v2_client", "v1_code"]

# SES v2 bulk statuses (BulkEmailEntryResult.Status) → SES v1's (BulkEmailDestinationStatus.Status),
# whose meaning (typed error, retryable, stops the bulk) the v1 transport already settles.  Both
# spellings of the "not found" pair are accepted: botocore's model says *_NOT_FOUND, SES's
# documentation has said *_DOES_NOT_EXIST.
V2_STATUSES: Mapping[str, str] = {
    "SUCCESS": "Success",
    "MESSAGE_REJECTED": "MessageRejected",
    "MAIL_FROM_DOMAIN_NOT_VERIFIED": "MailFromDomainNotVerified",
    "CONFIGURATION_SET_NOT_FOUND": "ConfigurationSetDoesNotExist",
    "CONFIGURATION_SET_DOES_NOT_EXIST": "ConfigurationSetDoesNotExist",
    "TEMPLATE_NOT_FOUND": "TemplateDoesNotExist",
    "TEMPLATE_DOES_NOT_EXIST": "TemplateDoesNotExist",
    "ACCOUNT_SUSPENDED": "AccountSuspended",
    "ACCOUNT_THROTTLED": "AccountThrottled",
    "ACCOUNT_DAILY_QUOTA_EXCEEDED": "AccountDailyQuotaExceeded",
    "INVALID_SENDING_POOL_NAME": "InvalidSendingPoolName",
    "ACCOUNT_SENDING_PAUSED": "AccountSendingPaused",
    "CONFIGURATION_SET_SENDING_PAUSED": "ConfigurationSetSendingPaused",
    "INVALID_PARAMETER": "InvalidParameterValue",
    "TRANSIENT_FAILURE": "TransientFailure",
    "FAILED": "Failed",
}

DENIED_HINT = ("allow ses:SendEmail and ses:SendBulkEmail (and ses:GetAccount, or set SES_MAX_SEND_RATE) "
               "for these credentials")


def v1_code(code: str, message: str) -> str:
    """A SES v2 error code → the v1 code of the same failure (v2 folds some
    apart only in the message: ``NotFoundException`` is a template or a
    configuration set, ``SendingPausedException`` the account or a set)."""
    text = message.lower()
    if code == "NotFoundException":
        if "configuration set" in text or "configurationset" in text:
            return "ConfigurationSetDoesNotExist"
        if "template" in text:
            return "TemplateDoesNotExist"
        return code
    if code == "SendingPausedException":
        return "ConfigurationSetSendingPaused" if "configuration set" in text else "AccountSendingPaused"
    if code == "AccountSuspendedException":
        return "AccountSuspended"
    if code == "LimitExceededException" and ("daily" in text or "quota" in text):
        return "AccountDailyQuotaExceeded"
    return code


class SesV2Transport(SesTransport):
    """SES v2 templated sends, with headers; paced and retried as the v1
    transport (same arguments; see :class:`~.ses.SesTransport`)."""

    name = "sesv2"
    sends_headers = True

    def __init__(self, client: Any = None, *, region: str | None = None, endpoint_url: str | None = None,
                 max_send_rate: float | None = None, limiter: RateLimiter | None = None,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, connect_attempts: int = DEFAULT_CONNECT_ATTEMPTS,
                 backoff: Callable[[int], float] | None = None, sleep: Callable[[float], None] = time.sleep,
                 connect_timeout: float = 5, read_timeout: float = 30, max_pool_connections: int = 10,
                 credentials: Mapping[str, str] | None = None, burst_seconds: float = DEFAULT_BURST_SECONDS,
                 ) -> None:
        service = _service_name(client)
        if service not in (None, "sesv2"):  # a v1 client has a send_email too, which takes other parameters
            raise ConfigError(f"the SES v2 transport needs a boto3 'sesv2' client, not {service!r}",
                              hint="pass boto3.client('sesv2', ...), or leave client unset (letterhead makes one); "
                                   "an 'ses' client goes with api = \"v1\"")
        super().__init__(client, region=region, endpoint_url=endpoint_url, max_send_rate=max_send_rate,
                         limiter=limiter, max_attempts=max_attempts, connect_attempts=connect_attempts,
                         backoff=backoff, sleep=sleep, connect_timeout=connect_timeout, read_timeout=read_timeout,
                         max_pool_connections=max_pool_connections, credentials=credentials,
                         burst_seconds=burst_seconds)

    # -- the client --------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The ``sesv2`` client, made on first use (a client handed in is
        watched for answers that are not SES's, as the v1 transport does)."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = make_v2_client(self.region, self.endpoint_url, **self._client_kw)
        elif not self._watched:
            watch_answers(self._client)
        self._watched = True
        return self._client

    def quota(self) -> SendQuota:
        """``GetAccount``'s ``SendQuota``, as typed errors when it fails."""
        try:
            answer = self.client.get_account()
        except Exception as exc:  # every failure becomes a SendError
            raise self._translate(exc, "GetAccount", None) from None
        return SendQuota.from_api(answer.get("SendQuota") or {}, default_rate=SANDBOX_RATE)

    def _translate(self, exc: BaseException, operation: str, template: str | None,
                   config_set: str | None = None, domain: str | None = None) -> SendError:
        code = error_code(exc)
        if code is None:  # no answer from SES: the v1 reading holds (DeliveryUnknown, SesUnreachable...)
            return super()._translate(exc, operation, template, config_set, domain)
        response: Mapping[str, Any] = getattr(exc, "response", {})
        message = str(response.get("Error", {}).get("Message") or "")
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        err = ses_error(v1_code(code, message), message, operation=operation, template=template,
                        region=self.region or client_region(self._client), domain=domain,
                        config_set=config_set, status=status)
        err.code = code  # what SES v2 said (the class says what it means)
        if isinstance(err, SendAccessDenied):
            err.hint = DENIED_HINT
        return err

    # -- sends ------------------------------------------------------------------------------------

    def send(self, message: OutgoingMessage) -> str:
        check_wire_headers(message.headers, "SendEmail", message.template_name)
        template: dict[str, Any] = {"TemplateName": message.template_name, "TemplateData": message.template_data}
        if message.headers:
            template["Headers"] = _headers(message.headers)
        params: dict[str, Any] = {
            "FromEmailAddress": message.source,
            "Destination": {"ToAddresses": list(message.to)},
            "Content": {"Template": template},
        }
        if message.reply_to:
            params["ReplyToAddresses"] = list(message.reply_to)
        if message.tags:
            params["EmailTags"] = _tags(message.tags)
        if message.configuration_set:
            params["ConfigurationSetName"] = message.configuration_set
        response = self._call("SendEmail", message.recipient_count, message.template_name,
                              config_set=message.configuration_set, domain=message.sender_domain, **params)
        message_id = response.get("MessageId")
        if not message_id:  # SES always names the message it accepted
            raise DeliveryUnknown(f"{self._where()} answered SendEmail {message.template_name} without a "
                                  "MessageId", operation="SendEmail", template=message.template_name,
                                  hint=send_hint("unknown"))
        return str(message_id)

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[Outcome]:
        """One SendBulkEmail for up to 50 messages that share the template,
        sender, reply-to, configuration set and default data; each keeps its
        own data, tags and headers.  A message whose headers fail the
        boundary check is refused alone; the others go."""
        if not messages:
            return []
        first = messages[0]
        shared = (first.template_name, first.source, first.reply_to, first.configuration_set,
                  first.default_template_data)
        if any((m.template_name, m.source, m.reply_to, m.configuration_set, m.default_template_data) != shared
               for m in messages):
            raise ValueError("one bulk call sends one template from one sender with one reply-to")
        if len(messages) > MAX_DESTINATIONS or sum(m.recipient_count for m in messages) > MAX_DESTINATIONS:
            raise ValueError(f"at most {MAX_DESTINATIONS} recipients per bulk call")
        refused: dict[int, SendError] = {}
        entries: list[dict[str, Any]] = []
        going: list[OutgoingMessage] = []
        for i, m in enumerate(messages):
            try:
                check_wire_headers(m.headers, "SendBulkEmail", m.template_name)
            except SendError as exc:
                refused[i] = exc
                continue
            entry: dict[str, Any] = {
                "Destination": {"ToAddresses": list(m.to)},
                "ReplacementEmailContent": {"ReplacementTemplate": {"ReplacementTemplateData": m.template_data}},
            }
            if m.headers:
                entry["ReplacementHeaders"] = _headers(m.headers)
            if m.tags:
                entry["ReplacementTags"] = _tags(m.tags)
            entries.append(entry)
            going.append(m)
        sent = iter(self._bulk(first, going, entries) if going else ())
        return [Outcome(m, error=refused[i], transport=self.name) if i in refused else next(sent)
                for i, m in enumerate(messages)]

    def _bulk(self, first: OutgoingMessage, messages: list[OutgoingMessage],
              entries: list[dict[str, Any]]) -> list[Outcome]:
        params: dict[str, Any] = {
            "FromEmailAddress": first.source,
            "DefaultContent": {"Template": {"TemplateName": first.template_name,
                                            "TemplateData": first.default_template_data}},
            "BulkEmailEntries": entries,
        }
        if first.reply_to:
            params["ReplyToAddresses"] = list(first.reply_to)
        if first.configuration_set:
            params["ConfigurationSetName"] = first.configuration_set
        response = self._call("SendBulkEmail", sum(m.recipient_count for m in messages), first.template_name,
                              config_set=first.configuration_set, domain=first.sender_domain, **params)
        results = list(response.get("BulkEmailEntryResults") or ())
        statuses = [_status(r) for r in results]
        refunded = sum(m.recipient_count for m, s in zip(messages, statuses, strict=False) if s != "Success")
        if refunded:
            self.limiter.refund(refunded)  # entries SES did not send do not count against the rate
        region = self.region or client_region(self._client)
        outcomes = []
        for i, m in enumerate(messages):
            if i >= len(results):  # SES answers one result per entry; anything else is a mystery
                outcomes.append(self._unknown(m, "SES returned no result for this entry"))
                continue
            result, status = results[i], statuses[i]
            said = str(result.get("Status") or status)  # v2's own word, kept as the error's code
            if status == "Success" and not result.get("MessageId"):
                outcomes.append(self._unknown(m, f"{self._where()} answered SUCCESS without a MessageId for "
                                                 "this entry"))
            elif status == "Success":
                outcomes.append(Outcome(m, str(result["MessageId"]), transport=self.name))
            else:
                err = ses_error(status, str(result.get("Error") or result.get("Status") or status),
                                operation="SendBulkEmail", template=m.template_name, region=region,
                                domain=m.sender_domain, config_set=m.configuration_set)
                if status in RETRYABLE_STATUSES:
                    err.retryable = True
                err.code = said
                outcomes.append(Outcome(m, error=err, transport=self.name))
        return outcomes

    def _unknown(self, m: OutgoingMessage, why: str) -> Outcome:
        return Outcome(m, error=DeliveryUnknown(why, operation="SendBulkEmail", template=m.template_name,
                                                hint=send_hint("unknown")), transport=self.name)


def _status(result: Mapping[str, Any]) -> str:
    """An entry's v2 Status as v1's (unknown values pass through: a failure
    of that name).  No Status at all: SUCCESS when it has a MessageId."""
    status = result.get("Status")
    if not status:
        return "Success" if result.get("MessageId") else "Failed"
    return V2_STATUSES.get(str(status), str(status))


def _headers(headers: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in headers]


def _tags(tags: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in tags]


def _service_name(client: Any) -> str | None:
    """The boto3 service a client speaks (``ses``, ``sesv2``), None when it does not say."""
    try:
        return str(client.meta.service_model.service_name)
    except AttributeError:
        return None


def make_v2_client(region: str | None, endpoint_url: str | None, **kw: Any) -> Any:
    """An ``sesv2`` client made as the v1 transport makes its ``ses`` one
    (botocore's retries off: the transport retries only what proves nothing
    was sent; the log redaction installed)."""
    return make_client(region, endpoint_url, service="sesv2", **kw)
