"""The remote store: SES v1 stored templates, and the only module that calls
boto3 for them.

``TemplateStore`` wraps an ``ses`` client and gives sync six calls (list, get,
create, update, delete, test_render) that

1. pace themselves: every HTTP attempt, retries included, waits for a slot of
   a thread-safe ``RateLimiter`` (SES allows about one call per second on each
   template API; one limiter for all of them is the conservative reading);
2. retry: botocore's ``standard`` retry mode with the total attempts capped
   retries Throttling and transient faults with jittered exponential backoff;
   when botocore gives up on Throttling, the store backs off (jittered) and
   tries again a few rounds before it reports the error;
3. fail in one line: botocore and AWS errors become a ``RemoteError``
   subclass whose message names the call and whose hint is the fix.

Credentials come from boto3's own chain; the region and endpoint from the
config, the options or botocore's own variables (``AWS_ENDPOINT_URL_SES``).
"""

from __future__ import annotations

import difflib
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import urlparse

from ..errors import (
    AccessDeniedError,
    CredentialsError,
    EndpointError,
    RemoteError,
    RemoteTemplateError,
    ThrottledError,
)
from ..aws.redact import install_log_redaction
from ..aws.loopback import is_loopback_url as is_loopback
from ..authoring.payload import SesTemplate

DEFAULT_RATE = 1.0  # calls per second: SES's limit on each template API
DEFAULT_MAX_ATTEMPTS = 6  # botocore tries per call, the first included
PAGE_SIZE = 100  # ListTemplates' largest MaxItems
DEFAULT_HEADROOM = 0.05  # pace this much under the rate

THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException",
                              "RequestLimitExceeded", "SlowDown"})
CREDENTIAL_CODES = frozenset({"InvalidClientTokenId", "UnrecognizedClientException",
                              "SignatureDoesNotMatch", "InvalidSignatureException", "ExpiredToken",
                              "ExpiredTokenException", "IncompleteSignature", "AuthFailure",
                              "MissingAuthenticationToken", "InvalidAccessKeyId"})
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                          "OptInRequired", "NotAuthorized"})

# The IAM actions a deploy role needs, for the AccessDenied hint.
SYNC_ACTIONS = ("ses:ListTemplates", "ses:GetTemplate", "ses:CreateTemplate", "ses:UpdateTemplate",
                "ses:DeleteTemplate", "ses:TestRenderTemplate")


class RateLimiter:
    """At most ``rate`` acquisitions per second, for any number of threads.

    Each ``acquire`` waits until the next free slot and books the one after
    it, measured from the moment the caller is released: consecutive calls
    are never closer than ``(1 + headroom) / rate``, whatever the scheduler
    does.  The headroom (5 % by default) absorbs the network's jitter: calls
    sent exactly 1/rate apart arrive some a little closer than that, and a
    strict server throttles those.  ``clock`` and ``sleep`` are seams for tests.
    """

    def __init__(self, rate: float, *, headroom: float = DEFAULT_HEADROOM,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not rate > 0:
            raise ValueError("rate must be > 0")
        if not 0 <= headroom < 1:
            raise ValueError("headroom must be in [0, 1)")
        self.rate = float(rate)
        self.interval = (1.0 + headroom) / self.rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = float("-inf")
        self.waited = 0.0
        self.acquired = 0

    def acquire(self) -> float:
        """Block until a slot is free; return the seconds waited."""
        with self._lock:  # waiting inside the lock keeps the slots in order
            now = self._clock()
            wait = max(0.0, self._next - now)
            if wait:
                self._sleep(wait)
                now = self._clock()
            self._next = max(now, self._next) + self.interval
            self.waited += wait
            self.acquired += 1
            return wait

    def penalize(self, seconds: float | None = None) -> None:
        """Push the next slot out after the server said "too fast"."""
        with self._lock:
            self._next = max(self._next, self._clock() + (self.interval if seconds is None else seconds))


@dataclass(frozen=True)
class RemoteTemplate:
    """One entry of ListTemplates."""

    name: str
    created: datetime | None = None


def retry_config(max_attempts: int = DEFAULT_MAX_ATTEMPTS, *, connect_timeout: float = 10,
                 read_timeout: float = 30) -> Any:
    from botocore.config import Config as BotoConfig

    return BotoConfig(retries={"total_max_attempts": max(1, int(max_attempts)), "mode": "standard"},
                      connect_timeout=connect_timeout, read_timeout=read_timeout)


def known_ses_regions() -> frozenset[str]:
    import boto3

    session = boto3.session.Session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ses", partition_name=partition))
    return frozenset(regions)


def check_region(region: str | None, endpoint_url: str | None) -> None:
    """Fail before any call on a missing or unknown region.  A custom endpoint
    accepts any region name (local and test endpoints ignore it)."""
    if not region:
        raise EndpointError(
            "no AWS region configured for SES",
            hint="set AWS_REGION (or pass --region, or `region` in [tool.letterhead.sync])",
        )
    if endpoint_url:
        return
    known = known_ses_regions()
    if region not in known:
        near = difflib.get_close_matches(region, sorted(known), n=1)
        raise EndpointError(
            f"unknown AWS region {region!r}: SES has no endpoint there",
            hint=(f"did you mean {near[0]!r}? " if near else "")
            + "set AWS_REGION to an SES region (a region newer than botocore needs --endpoint-url)",
        )


def _moto_mock_active() -> bool:
    import sys

    mod = sys.modules.get("moto.core.models")
    stubber = getattr(mod, "botocore_stubber", None)
    return bool(getattr(stubber, "enabled", False))


class TemplateStore:
    """SES v1 stored templates behind six paced, retried, explained calls.

    ``client`` is a boto3 ``ses`` client (``connect`` makes one); ``limiter``
    paces every HTTP attempt through a ``before-send`` hook, so botocore's
    own retries are paced too.  ``calls`` counts HTTP attempts per operation
    and ``throttled`` the Throttling answers seen (retried or not).
    """

    def __init__(self, client: Any, *, rate: float = DEFAULT_RATE, limiter: RateLimiter | None = None,
                 page_size: int = PAGE_SIZE, throttle_rounds: int = 3, backoff_cap: float = 20.0,
                 sleep: Callable[[float], None] = time.sleep, endpoint_url: str | None = None) -> None:
        self.client = client
        self.limiter = limiter or RateLimiter(rate)
        self.page_size = max(1, min(PAGE_SIZE, page_size))
        self.throttle_rounds = throttle_rounds
        self.backoff_cap = backoff_cap
        self._sleep = sleep
        self.endpoint_url = endpoint_url if endpoint_url is not None else getattr(
            getattr(client, "meta", None), "endpoint_url", None)
        self.calls: Counter[str] = Counter()
        self.throttled = 0
        self._count_lock = threading.Lock()
        events = client.meta.events
        # register_first: pace before anything answers the request (moto's
        # in-process mock answers from a built-in before-send handler).
        events.register_first("before-send.ses", self._before_send)
        events.register("response-received.ses", self._after_response)

    @classmethod
    def connect(cls, *, region: str | None, endpoint_url: str | None = None, rate: float = DEFAULT_RATE,
                max_attempts: int = DEFAULT_MAX_ATTEMPTS, profile: str | None = None,
                **kw: Any) -> "TemplateStore":
        """A store over a new ``ses`` client; credentials from boto3's chain."""
        import boto3
        from botocore.exceptions import BotoCoreError

        check_region(region, endpoint_url)
        install_log_redaction()
        try:
            session = boto3.session.Session(profile_name=profile, region_name=region)
            client = session.client("ses", endpoint_url=endpoint_url or None,
                                    config=retry_config(max_attempts))
        except BotoCoreError as exc:
            raise translate(exc, "connect", None, endpoint_url) from None
        return cls(client, rate=rate, **kw)

    # -- hooks -----------------------------------------------------------------

    def _before_send(self, **_: Any) -> None:
        self.limiter.acquire()  # returns nothing: the request goes on as usual

    def _after_response(self, event_name: str = "", parsed_response: Any = None, **_: Any) -> None:
        op = event_name.rsplit(".", 1)[-1]
        error = parsed_response.get("Error") if isinstance(parsed_response, dict) else None
        throttled = isinstance(error, dict) and error.get("Code") in THROTTLING_CODES
        with self._count_lock:
            self.calls[op] += 1
            self.throttled += throttled
        if throttled:
            self.limiter.penalize()

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    # -- where we are talking to -------------------------------------------------

    def unverifiable_reason(self) -> str | None:
        """Why ``test_render`` here would not be SES's own renderer, or None
        when it is (AWS's endpoint, no mock)."""
        if _moto_mock_active():
            return "moto's in-process mock answers instead of SES; its test_render is not SES's renderer"
        url = self.endpoint_url
        if url and is_loopback(url):
            return f"{url} is a local endpoint (moto or similar), not SES; its test_render is not SES's renderer"
        host = (urlparse(url).hostname or "") if url else ""
        if url and not host.endswith((".amazonaws.com", ".amazonaws.com.cn")):
            return f"{url} is not an AWS endpoint; only SES itself can check SES rendering"
        return None

    # -- the calls -----------------------------------------------------------------

    def _call(self, operation: str, template: str | None, **params: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self.client, _snake(operation))
        rounds = 0
        while True:
            try:
                return method(**params)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in THROTTLING_CODES and rounds < self.throttle_rounds:
                    rounds += 1
                    # botocore has already backed off and given up; wait longer,
                    # with full jitter so parallel CI jobs spread out.
                    self._sleep(random.uniform(0, min(self.backoff_cap, 2.0 * 2 ** rounds)))
                    continue
                raise translate(exc, operation, template, self.endpoint_url) from None
            except BotoCoreError as exc:
                raise translate(exc, operation, template, self.endpoint_url) from None

    def iter_pages(self) -> Iterator[list[RemoteTemplate]]:
        """ListTemplates, page by page, following NextToken to the end."""
        params: dict[str, Any] = {"MaxItems": self.page_size}
        seen_tokens: set[str] = set()
        while True:
            resp = self._call("ListTemplates", None, **params)
            yield [RemoteTemplate(m["Name"], m.get("CreatedTimestamp"))
                   for m in resp.get("TemplatesMetadata", [])]
            token = resp.get("NextToken")
            if not token:
                return
            if token in seen_tokens:  # a broken server must not loop us forever
                raise RemoteError("ListTemplates returned the same NextToken twice",
                                  operation="ListTemplates",
                                  hint="the endpoint's paging is broken; retry later")
            seen_tokens.add(token)
            params = {"MaxItems": self.page_size, "NextToken": token}

    def list(self) -> list[RemoteTemplate]:
        """Every template in the region (names and creation times only)."""
        found: dict[str, RemoteTemplate] = {}
        for page in self.iter_pages():
            for t in page:
                found.setdefault(t.name, t)
        return list(found.values())

    def get(self, name: str) -> SesTemplate:
        t = self._call("GetTemplate", name, TemplateName=name)["Template"]
        # SES leaves out parts that were never set; letterhead writes "" for them.
        return SesTemplate(t.get("TemplateName", name), t.get("SubjectPart") or "",
                           t.get("HtmlPart") or "", t.get("TextPart") or "")

    def create(self, template: SesTemplate) -> None:
        self._call("CreateTemplate", template.name, **_template_params(template))

    def update(self, template: SesTemplate) -> None:
        self._call("UpdateTemplate", template.name, **_template_params(template))

    def delete(self, name: str) -> None:
        self._call("DeleteTemplate", name, TemplateName=name)

    def test_render(self, name: str, data: Mapping[str, Any]) -> str:
        """SES's own render of ``name`` with ``data`` (already prepared)."""
        resp = self._call("TestRenderTemplate", name, TemplateName=name,
                          TemplateData=json.dumps(data, ensure_ascii=False))
        return str(resp.get("RenderedTemplate", ""))


def _template_params(t: SesTemplate) -> dict[str, Any]:
    return {"Template": {"TemplateName": t.name, "SubjectPart": t.subject,
                         "HtmlPart": t.html, "TextPart": t.text}}


def _snake(operation: str) -> str:
    out = []
    for i, ch in enumerate(operation):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


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
    calls (:func:`translate`) and account calls (``account.explain``) differ
    only in their :class:`Fixes`."""
    from botocore import exceptions as bx

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
        if status and status >= 500 or code in ("InternalFailure", "ServiceUnavailable", "InternalError"):
            return RemoteError(f"SES failed on {where} (HTTP {status}, {code}): {msg}", **kw,
                               hint=fix(fixes.server))
        return RemoteError(f"SES refused {where} ({code}): {msg}", **kw, hint=fix(fixes.other))
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return CredentialsError(f"no AWS credentials found for {where}", **kw, hint=fix(fixes.no_credentials))
    if isinstance(exc, bx.ProfileNotFound):
        return CredentialsError(str(exc), **kw, hint=fix(fixes.profile))
    refresh_errors = tuple(getattr(bx, n) for n in ("SSOError", "SSOTokenLoadError", "TokenRetrievalError",
                                                     "UnauthorizedSSOTokenError", "RefreshWithMFAUnsupportedError")
                           if hasattr(bx, n))
    if isinstance(exc, refresh_errors):
        return CredentialsError(f"AWS credentials could not be refreshed: {exc}", **kw, hint=fix(fixes.refresh))
    if isinstance(exc, bx.NoRegionError):
        return EndpointError("no AWS region configured for SES", **kw, hint=fix(fixes.region))
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ConnectionClosedError,
                        bx.ReadTimeoutError, bx.ProxyConnectionError)):
        url = getattr(exc, "kwargs", {}).get("endpoint_url") or endpoint_url or "the SES endpoint"
        return EndpointError(f"cannot reach {url} for {where}", **kw, hint=fix(fixes.network))
    if isinstance(exc, bx.ParamValidationError) and fixes.malformed is not None:
        return RemoteTemplateError(f"botocore refused {where}: {exc}", **kw, hint=fix(fixes.malformed))
    return RemoteError(f"{where} failed: {exc}", **kw, hint=fix(fixes.unexpected))


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
    unexpected="rerun sync; it converges",
    malformed="the payload is malformed; rebuild with `letterhead build`",
    codes={
        "LimitExceeded": (RemoteTemplateError, "SES holds at most 20,000 templates per region: prune old ones (--prune)"),
        **dict.fromkeys(("InvalidTemplate", "InvalidParameterValue", "ValidationError"),
                        (RemoteTemplateError, "fix the template source and rebuild with `letterhead build`")),
        **dict.fromkeys(("TemplateDoesNotExist", "AlreadyExists"), (RemoteTemplateError, _CONVERGES)),
    },
)


def translate(exc: BaseException, operation: str, template: str | None,
              endpoint_url: str | None = None) -> RemoteError:
    """A botocore exception of a template call → its RemoteError."""
    return translate_aws(exc, operation, SYNC_FIXES, template=template, endpoint_url=endpoint_url)
