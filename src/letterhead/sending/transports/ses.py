"""SES v1 templated sends (``send_templated_email`` /
``send_bulk_templated_email``; SES renders), paced by one
:class:`~letterhead.aws.ratelimit.RateLimiter` and retried on Throttling.

Never sent twice: botocore's own retries are off for sends; only answers that
prove nothing was sent are retried (see the package docstring).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ...aws.client import make_client as make_aws_client
from ...aws.client import make_session, operation_method, retry_config, watch_answers
from ...aws.errors import send_hint, ses_error, translate_send
from ...aws.quota import SendQuota
from ...aws.ratelimit import RateLimiter
from ...aws.redact import install_log_redaction
from ...errors import ConfigError, DeliveryUnknown, SendError, SesUnreachable, Throttled
from .base import MAX_DESTINATIONS, Backoff, Outcome, OutgoingMessage, Transport

log = logging.getLogger("letterhead.send")

SANDBOX_RATE = 1.0  # messages a second in the SES sandbox: the pace when nothing better is known
DEFAULT_MAX_ATTEMPTS = 8  # tries of one call answered Throttling, the first included
DEFAULT_CONNECT_ATTEMPTS = 2  # tries of one call whose connection could not be made
DEFAULT_BURST_SECONDS = 0.5  # the limiter's bucket: this much of a second's rate

# SES v1 bulk statuses (BulkEmailDestinationStatus.Status) a later call may turn into Success.
RETRYABLE_STATUSES = frozenset({"AccountThrottled", "TransientFailure"})


def _refuse_headers(messages: Sequence[OutgoingMessage]) -> None:
    """SES v1 cannot send headers: never drop them silently (the Mailer
    refuses such messages first; this guards a caller that does not use it)."""
    with_headers = next((m for m in messages if m.headers), None)
    if with_headers is not None:
        raise ConfigError(
            f"template '{with_headers.template}' has headers ({', '.join(n for n, _ in with_headers.headers)}) and "
            "SES v1 SendTemplatedEmail cannot send them",
            hint='use the SES v2 transport: api = "v2" in [tool.letterhead.send] or LETTERHEAD_SES_API=v2')


class SesTransport(Transport):
    """SES v1 templated sends, paced and retried (see the module docstring).

    ``max_send_rate``: messages a second; ``None`` asks ``get_send_quota``
    once, when the second message is about to go (a single send never pays
    for the call), and falls back to the sandbox's 1/s with a warning when
    the quota cannot be read.  ``limiter``: share one between transports (or
    with other code) that use the same account; it counts recipients.

    ``burst_seconds``: the limiter holds that many seconds of the rate (half
    a second by default).  SES lets short bursts exceed the rate; a little
    burst lets the sender make up the time a throttled call or a late thread
    cost, which a bucket of one token would lose for good.
    """

    name = "ses"

    def __init__(self, client: Any = None, *, region: str | None = None, endpoint_url: str | None = None,
                 max_send_rate: float | None = None, limiter: RateLimiter | None = None,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, connect_attempts: int = DEFAULT_CONNECT_ATTEMPTS,
                 backoff: Callable[[int], float] | None = None, sleep: Callable[[float], None] = time.sleep,
                 connect_timeout: float = 5, read_timeout: float = 30, max_pool_connections: int = 10,
                 credentials: Mapping[str, str] | None = None, burst_seconds: float = DEFAULT_BURST_SECONDS,
                 ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self._client = client
        self._watched = False
        install_log_redaction()  # the application's own client logs through the same botocore loggers
        self._client_kw: dict[str, Any] = dict(connect_timeout=connect_timeout, read_timeout=read_timeout,
                                               max_pool_connections=max_pool_connections,
                                               credentials=dict(credentials or {}))
        self._client_lock = threading.Lock()
        self.burst_seconds = max(0.0, float(burst_seconds))
        rate = max_send_rate or SANDBOX_RATE
        self.limiter = limiter or RateLimiter(rate, self._burst(rate))
        if limiter is not None and max_send_rate:
            limiter.set_rate(max_send_rate)
        self._rate_known = bool(max_send_rate) or limiter is not None
        self._rate_lock = threading.Lock()
        self.max_attempts = max(1, int(max_attempts))
        self.connect_attempts = max(1, int(connect_attempts))
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self.calls = 0  # API calls made (attempts), for tests and benchmarks
        self.throttled = 0  # attempts answered Throttling
        self._count_lock = threading.Lock()

    # -- the client --------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The ``ses`` client, made on first use.  Raises what botocore raises
        while making one (no region, a profile that does not exist...):
        :meth:`_translate` words it.  A client handed in refuses answers that
        are not SES's too (:func:`letterhead.aws.client.watch_answers`)."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = make_client(self.region, self.endpoint_url, **self._client_kw)
        elif not self._watched:
            watch_answers(self._client)
        self._watched = True
        return self._client

    def _burst(self, rate: float) -> int:
        return max(1, int(rate * self.burst_seconds))

    def quota(self) -> SendQuota:
        """``get_send_quota``, as typed errors when it fails."""
        try:
            q = self.client.get_send_quota()
        except Exception as exc:  # every failure becomes a SendError
            raise self._translate(exc, "GetSendQuota", None) from None
        return SendQuota.from_api(q, default_rate=SANDBOX_RATE)

    def _ensure_rate(self) -> None:
        if self._rate_known:
            return
        with self._rate_lock:
            if self._rate_known:  # another thread read it while this one waited
                return  # type: ignore[unreachable]
            try:
                rate = self.quota().max_send_rate
            except SendError as exc:
                log.warning("send quota unreadable (%s); pacing at %g message/s: set SES_MAX_SEND_RATE",
                            type(exc).__name__, self.limiter.rate)
            else:
                if rate > 0:
                    self.limiter.set_rate(rate, self._burst(rate))
            self._rate_known = True

    # -- calls --------------------------------------------------------------------------------

    def _translate(self, exc: BaseException, operation: str, template: str | None,
                   config_set: str | None = None, domain: str | None = None) -> SendError:
        return translate_send(exc, operation, template, region=self.region or client_region(self._client),
                              endpoint_url=self.endpoint_url, config_set=config_set, domain=domain)

    def _call(self, operation: str, recipients: int, template: str, *, config_set: str | None,
              domain: str | None, **params: Any) -> dict[str, Any]:
        try:
            method = operation_method(self.client, operation)
        except Exception as exc:  # the client could not be made: nothing was sent
            raise self._translate(exc, operation, template, config_set, domain) from None
        throttled = unreachable = 0
        while True:
            if self.limiter.acquired:
                self._ensure_rate()
            self.limiter.acquire(max(1, recipients))
            with self._count_lock:
                self.calls += 1
            try:
                response: dict[str, Any] = method(**params)
                return response
            except Exception as exc:  # every failure becomes a SendError (aws.errors.translate_send)
                err = self._translate(exc, operation, template, config_set, domain)
            if not isinstance(err, DeliveryUnknown):
                # SES refused the call before sending anything: its slot was not used.
                self.limiter.refund(max(1, recipients))
            if isinstance(err, Throttled):
                with self._count_lock:
                    self.throttled += 1
                throttled += 1
                if throttled < self.max_attempts:
                    self._sleep(self.backoff(throttled - 1))
                    continue
                err.message = f"{err.message} ({throttled} attempts)"
                err.args = (err.message,)
            elif isinstance(err, SesUnreachable) and err.retryable:
                unreachable += 1
                if unreachable < self.connect_attempts:
                    self._sleep(self.backoff(unreachable - 1))
                    continue
            raise err

    def send(self, message: OutgoingMessage) -> str:
        _refuse_headers((message,))
        params: dict[str, Any] = {
            "Source": message.source,
            "Destination": {"ToAddresses": list(message.to)},
            "Template": message.template_name,
            "TemplateData": message.template_data,
        }
        if message.reply_to:
            params["ReplyToAddresses"] = list(message.reply_to)
        if message.tags:
            params["Tags"] = [{"Name": k, "Value": v} for k, v in message.tags]
        if message.configuration_set:
            params["ConfigurationSetName"] = message.configuration_set
        response = self._call("SendTemplatedEmail", message.recipient_count, message.template_name,
                              config_set=message.configuration_set, domain=message.sender_domain, **params)
        message_id = response.get("MessageId")
        if not message_id:  # SES always names the message it accepted
            raise DeliveryUnknown(f"{self._where()} answered SendTemplatedEmail {message.template_name} without "
                                  "a MessageId", operation="SendTemplatedEmail", template=message.template_name,
                                  hint=send_hint("unknown"))
        return str(message_id)

    def _where(self) -> str:
        return str(self.endpoint_url or getattr(getattr(self._client, "meta", None), "endpoint_url", None)
                   or "the SES endpoint")

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[Outcome]:
        """One SendBulkTemplatedEmail for up to 50 messages that share the
        template, sender, reply-to and configuration set."""
        if not messages:
            return []
        _refuse_headers(messages)
        first = messages[0]
        shared = (first.template_name, first.source, first.reply_to, first.configuration_set,
                  first.default_template_data)
        if any((m.template_name, m.source, m.reply_to, m.configuration_set, m.default_template_data) != shared
               for m in messages):
            raise ValueError("one bulk call sends one template from one sender with one reply-to")
        if len(messages) > MAX_DESTINATIONS or sum(m.recipient_count for m in messages) > MAX_DESTINATIONS:
            raise ValueError(f"at most {MAX_DESTINATIONS} recipients per bulk call")
        destinations = []
        for m in messages:
            d: dict[str, Any] = {"Destination": {"ToAddresses": list(m.to)},
                                 "ReplacementTemplateData": m.template_data}
            if m.tags:
                d["ReplacementTags"] = [{"Name": k, "Value": v} for k, v in m.tags]
            destinations.append(d)
        params: dict[str, Any] = {
            "Source": first.source,
            "Template": first.template_name,
            "DefaultTemplateData": first.default_template_data,
            "Destinations": destinations,
        }
        if first.reply_to:
            params["ReplyToAddresses"] = list(first.reply_to)
        if first.configuration_set:
            params["ConfigurationSetName"] = first.configuration_set
        response = self._call("SendBulkTemplatedEmail", sum(m.recipient_count for m in messages),
                              first.template_name, config_set=first.configuration_set,
                              domain=first.sender_domain, **params)
        statuses = list(response.get("Status") or ())
        refused = sum(m.recipient_count for m, s in zip(messages, statuses, strict=False)
                      if (s.get("Status") or ("Success" if s.get("MessageId") else "Failed")) != "Success")
        if refused:
            self.limiter.refund(refused)  # destinations SES did not send do not count against the rate
        outcomes = []
        region = self.region or client_region(self._client)
        for i, m in enumerate(messages):
            if i >= len(statuses):  # SES answers one status per destination; anything else is a mystery
                outcomes.append(Outcome(m, error=DeliveryUnknown(
                    "SES returned no status for this destination", operation="SendBulkTemplatedEmail",
                    template=m.template_name, hint=send_hint("unknown")), transport=self.name))
                continue
            s = statuses[i]
            # moto answers only MessageId; SES always adds Status.
            status = s.get("Status") or ("Success" if s.get("MessageId") else "Failed")
            if status == "Success" and not s.get("MessageId"):
                outcomes.append(Outcome(m, error=DeliveryUnknown(
                    f"{self._where()} answered Success without a MessageId for this destination",
                    operation="SendBulkTemplatedEmail", template=m.template_name, hint=send_hint("unknown")),
                    transport=self.name))
            elif status == "Success":
                outcomes.append(Outcome(m, str(s["MessageId"]), transport=self.name))
            else:
                err = ses_error(status, s.get("Error") or status, operation="SendBulkTemplatedEmail",
                                template=m.template_name, region=region, domain=m.sender_domain,
                                config_set=m.configuration_set)
                if status in RETRYABLE_STATUSES:
                    err.retryable = True
                outcomes.append(Outcome(m, error=err, transport=self.name))
        return outcomes


def client_region(client: Any) -> str | None:
    """The region a boto3 client was made for, None when it does not say."""
    try:
        region: str | None = client.meta.region_name
    except AttributeError:
        return None
    return region


def make_client(region: str | None, endpoint_url: str | None, *, connect_timeout: float = 5,
                read_timeout: float = 30, max_pool_connections: int = 10,
                credentials: Mapping[str, str] | None = None, service: str = "ses") -> Any:
    """An ``ses`` (or ``sesv2``) client with botocore's retries off (see the
    module docstring) and the request body and credentials kept out of
    botocore's debug log.  ``credentials``: boto3 Session arguments; none lets
    boto3's chain find them."""
    cfg = retry_config(1, connect_timeout=connect_timeout, read_timeout=read_timeout,
                       max_pool_connections=max_pool_connections)
    return make_aws_client(service, session=make_session(credentials), region=region, endpoint_url=endpoint_url,
                           config=cfg)
