"""The remote store: SES v1 stored templates, and the only module that calls
boto3 for them.

``TemplateStore`` wraps an ``ses`` client and gives sync six calls (list, get,
create, update, delete, test_render) that

1. pace themselves: every HTTP attempt, retries included, waits for a slot of
   a thread-safe :class:`~letterhead.aws.ratelimit.RateLimiter`
   (:func:`template_call_limiter`: SES allows about one call per second on each
   template API; one limiter for all of them is the conservative reading);
2. retry: botocore's ``standard`` retry mode with the total attempts capped
   retries Throttling and transient faults with jittered exponential backoff;
   when botocore gives up on Throttling, the store backs off (jittered) and
   tries again a few rounds before it reports the error;
3. fail in one line: botocore and AWS errors become a ``RemoteError``
   subclass whose message names the call and whose hint is the fix
   (:func:`letterhead.aws.errors.translate_aws` with sync's fixes).

Credentials come from boto3's own chain; the region and endpoint from the
config, the options or botocore's own variables (``AWS_ENDPOINT_URL_SES``).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..authoring.payload import SesTemplate
from ..aws.client import (
    DEFAULT_MAX_ATTEMPTS,
    check_region,
    make_client,
    make_session,
    not_ses_reason,
    operation_method,
    retry_config,
    watch_answers,
)
from ..aws.errors import SYNC_FIXES, THROTTLING_CODES, aws_failures, translate_aws
from ..aws.ratelimit import RateLimiter
from ..errors import RemoteError

__all__ = ["DEFAULT_HEADROOM", "DEFAULT_MAX_ATTEMPTS", "DEFAULT_RATE", "LOOPBACK_RATE", "PAGE_SIZE", "RemoteTemplate",
           "TemplateStore", "check_region", "retry_config", "template_call_limiter", "translate"]

DEFAULT_RATE = 1.0  # calls per second: SES's limit on each template API
# The default against a loopback endpoint (the local SES of `letterhead dev`,
# moto): nothing there limits template calls, and a sync of 20 templates should
# not take 20 s.  A rate set by option or configuration still applies.
LOOPBACK_RATE = 1000.0
PAGE_SIZE = 100  # ListTemplates' largest MaxItems
DEFAULT_HEADROOM = 0.05  # pace this much under the rate

def template_call_limiter(rate: float = DEFAULT_RATE, *, headroom: float = DEFAULT_HEADROOM,
                          clock: Callable[[], float] = time.monotonic,
                          sleep: Callable[[float], None] = time.sleep) -> RateLimiter:
    """The pace of the template calls: at most ``rate`` a second for any number
    of threads, consecutive calls never closer than ``(1 + headroom) / rate``
    measured from the moment each caller is released, whatever the scheduler
    does.  The headroom (5 % by default) absorbs the network's jitter: calls
    sent exactly 1/rate apart arrive some a little closer than that, and a
    strict server throttles those.  ``clock`` and ``sleep`` are seams for tests."""
    return RateLimiter(rate, headroom=headroom, spacing="release", clock=clock, sleep=sleep)


@dataclass(frozen=True)
class RemoteTemplate:
    """One entry of ListTemplates."""

    name: str
    created: datetime | None = None


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
        self.limiter = limiter or template_call_limiter(rate)
        self.page_size = max(1, min(PAGE_SIZE, page_size))
        self.throttle_rounds = throttle_rounds
        self.backoff_cap = backoff_cap
        self._sleep = sleep
        self.endpoint_url = endpoint_url if endpoint_url is not None else getattr(
            getattr(client, "meta", None), "endpoint_url", None)
        self.calls: Counter[str] = Counter()
        self.throttled = 0
        self._count_lock = threading.Lock()
        watch_answers(client)  # an answer that is not SES's: NotSesEndpoint, naming the URL
        events = client.meta.events
        # register_first: pace before anything answers the request (moto's
        # in-process mock answers from a built-in before-send handler).
        events.register_first("before-send.ses", self._before_send)
        events.register("response-received.ses", self._after_response)

    @classmethod
    def connect(cls, *, region: str | None, endpoint_url: str | None = None, rate: float = DEFAULT_RATE,
                max_attempts: int = DEFAULT_MAX_ATTEMPTS, profile: str | None = None,
                **kw: Any) -> TemplateStore:
        """A store over a new ``ses`` client; credentials from boto3's chain."""
        from botocore.exceptions import BotoCoreError

        check_region(region, endpoint_url)
        try:
            session = make_session(region=region, profile=profile)
            client = make_client("ses", session=session, endpoint_url=endpoint_url or None,
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
        return not_ses_reason(self.endpoint_url)

    # -- the calls -----------------------------------------------------------------

    def _call(self, operation: str, template: str | None, **params: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        method = operation_method(self.client, operation)
        rounds = 0
        while True:
            try:
                answer: dict[str, Any] = method(**params)
                return answer
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in THROTTLING_CODES and rounds < self.throttle_rounds:
                    rounds += 1
                    # botocore has already backed off and given up; wait longer,
                    # with full jitter so parallel CI jobs spread out.
                    self._sleep(random.uniform(0, min(self.backoff_cap, 2.0 * 2 ** rounds)))
                    continue
                raise translate(exc, operation, template, self.endpoint_url) from None
            except aws_failures() as exc:
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


def translate(exc: BaseException, operation: str, template: str | None,
              endpoint_url: str | None = None) -> RemoteError:
    """A botocore exception of a template call → its RemoteError."""
    return translate_aws(exc, operation, SYNC_FIXES, template=template, endpoint_url=endpoint_url)
