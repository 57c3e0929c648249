"""remote.py: paging, pacing, retries and one-line errors of the SES store.

Paging is tested with botocore's Stubber (moto ignores MaxItems/NextToken);
pacing with a fake clock; throttling with a botocore ``before-send`` handler
in front of moto's real HTTP server (in-process moto would still apply a
request that the handler throttles).
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

import boto3
import botocore.retries.standard
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from moto import mock_aws

from letterhead.errors import (
    AccessDeniedError,
    CredentialsError,
    EndpointError,
    RemoteError,
    RemoteTemplateError,
    ThrottledError,
)
from letterhead.authoring.payload import SesTemplate
from letterhead.deploy.template_store import TemplateStore, check_region, retry_config, translate
from letterhead.deploy.template_store import template_call_limiter as RateLimiter

pytestmark = pytest.mark.aws

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SES", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's own jittered sleep between tries, made instant (tests stay fast)."""
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0.0)


def http_client(url: str, attempts: int = 3) -> Any:
    return boto3.client("ses", region_name=REGION, endpoint_url=url, config=retry_config(attempts))


def fresh(url: str) -> None:
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).read()


def error_response(request: Any, code: str, status: int = 400, message: str = "injected") -> AWSResponse:
    body = (f'<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>x</RequestId></ErrorResponse>")

    class Raw:
        def __init__(self, data: bytes) -> None:
            self.data = data

        def stream(self, **_: Any) -> Any:
            yield self.data

    return AWSResponse(request.url, status, {"Content-Type": "text/xml"}, Raw(body.encode()))


class Injector:
    """A before-send handler answering ``code`` to the first ``times`` attempts
    of ``operation`` (every attempt when ``times`` is None)."""

    def __init__(self, operation: str, code: str = "Throttling", times: int | None = 1, status: int = 400) -> None:
        self.operation, self.code, self.times, self.status = operation, code, times, status
        self.injected = 0

    def __call__(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        if not event_name.endswith("." + self.operation):
            return None
        if self.times is not None and self.injected >= self.times:
            return None
        self.injected += 1
        return error_response(request, self.code, self.status)


def tpl(name: str, body: str = "Hello {{{name}}}") -> SesTemplate:
    return SesTemplate(name, "Hi {{{name}}}", f"<p>{body}</p>", body)


# -- paging ------------------------------------------------------------------------------


def test_list_follows_next_token_to_the_last_page() -> None:
    client = boto3.client("ses", region_name=REGION)
    store = TemplateStore(client, rate=1000)
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with Stubber(client) as stub:
        stub.add_response("list_templates",
                          {"TemplatesMetadata": [{"Name": f"a{i}", "CreatedTimestamp": t} for i in range(100)],
                           "NextToken": "page2"}, {"MaxItems": 100})
        stub.add_response("list_templates",
                          {"TemplatesMetadata": [{"Name": f"b{i}", "CreatedTimestamp": t} for i in range(100)],
                           "NextToken": "page3"}, {"MaxItems": 100, "NextToken": "page2"})
        stub.add_response("list_templates", {"TemplatesMetadata": [{"Name": "c0", "CreatedTimestamp": t}]},
                          {"MaxItems": 100, "NextToken": "page3"})
        names = [r.name for r in store.list()]
        stub.assert_no_pending_responses()
    assert len(names) == 201 and names[0] == "a0" and names[-1] == "c0"


def test_list_with_a_small_page_size_and_an_empty_region() -> None:
    client = boto3.client("ses", region_name=REGION)
    store = TemplateStore(client, rate=1000, page_size=2)
    with Stubber(client) as stub:
        stub.add_response("list_templates", {"TemplatesMetadata": []}, {"MaxItems": 2})
        assert store.list() == []


def test_a_repeated_next_token_stops_instead_of_looping() -> None:
    client = boto3.client("ses", region_name=REGION)
    store = TemplateStore(client, rate=1000)
    with Stubber(client) as stub:
        for token in (None, "same"):
            stub.add_response("list_templates", {"TemplatesMetadata": [], "NextToken": "same"},
                              {"MaxItems": 100, **({"NextToken": token} if token else {})})
        with pytest.raises(RemoteError, match="NextToken"):
            store.list()


# -- pacing --------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_rate_limiter_spaces_calls_by_one_over_rate_plus_headroom() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2.0, headroom=0.0, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(5):
        limiter.acquire()
        times.append(clock.now)
    assert times == [0.0, 0.5, 1.0, 1.5, 2.0]
    clock.now += 10  # idle time is not banked into a burst
    limiter.acquire()
    limiter.acquire()
    assert clock.now == 12.5
    with_headroom = RateLimiter(1.0, clock=clock, sleep=clock.sleep)
    assert with_headroom.interval == pytest.approx(1.05)


def test_rate_limiter_is_thread_safe() -> None:
    clock = FakeClock()
    lock = threading.Lock()
    limiter = RateLimiter(10.0, headroom=0.0, clock=clock, sleep=clock.sleep)
    stamps: list[float] = []

    def worker() -> None:
        for _ in range(50):
            limiter.acquire()
            with lock:
                stamps.append(clock.now)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps.sort()
    assert len(stamps) == 400
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert min(gaps) == pytest.approx(0.1)


def test_penalize_pushes_the_next_slot_out() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1.0, headroom=0.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.penalize(5.0)
    limiter.acquire()
    assert clock.now == 5.0


def test_every_http_attempt_is_paced_retries_included(moto_url: str, no_backoff: None) -> None:
    fresh(moto_url)
    clock = FakeClock()
    client = http_client(moto_url, attempts=4)
    store = TemplateStore(client, limiter=RateLimiter(1.0, headroom=0.0, clock=clock, sleep=clock.sleep))
    client.meta.events.register("before-send.ses", Injector("CreateTemplate", times=2))
    store.create(tpl("paced"))
    store.list()
    # 3 attempts of CreateTemplate (2 throttled) + 1 ListTemplates, each in its own slot;
    # each throttle also pushed the next slot out by one interval.
    assert store.calls == {"CreateTemplate": 3, "ListTemplates": 1}
    assert store.throttled == 2
    assert store.limiter.acquired == 4
    assert clock.now >= 3.0


def test_pacing_also_runs_under_in_process_moto() -> None:
    clock = FakeClock()
    with mock_aws():
        store = TemplateStore(boto3.client("ses", region_name=REGION),
                              limiter=RateLimiter(4.0, headroom=0.0, clock=clock, sleep=clock.sleep))
        for i in range(3):
            store.create(tpl(f"t{i}"))
        assert sorted(r.name for r in store.list()) == ["t0", "t1", "t2"]
    assert clock.sleeps == [0.25, 0.25, 0.25]
    assert store.total_calls == 4


# -- retries -----------------------------------------------------------------------------------


def test_throttling_is_retried_by_botocore_and_nothing_is_lost(moto_url: str) -> None:
    fresh(moto_url)
    client = http_client(moto_url, attempts=3)
    store = TemplateStore(client, rate=1000)
    client.meta.events.register("before-send.ses", Injector("CreateTemplate", times=1))
    store.create(tpl("kept"))  # real botocore backoff, once
    assert store.get("kept") == tpl("kept")
    assert store.throttled == 1


def test_when_botocore_gives_up_the_store_backs_off_and_tries_again(moto_url: str, no_backoff: None) -> None:
    fresh(moto_url)
    client = http_client(moto_url, attempts=2)
    slept: list[float] = []
    store = TemplateStore(client, rate=1000, sleep=slept.append)
    client.meta.events.register("before-send.ses", Injector("CreateTemplate", times=3))
    store.create(tpl("eventually"))
    assert store.get("eventually").name == "eventually"
    assert store.calls["CreateTemplate"] == 4 and store.throttled == 3
    assert len(slept) == 1 and 0 <= slept[0] <= 4.0  # one jittered round of letterhead's own


def test_throttling_forever_is_one_clear_error(moto_url: str, no_backoff: None) -> None:
    fresh(moto_url)
    client = http_client(moto_url, attempts=2)
    store = TemplateStore(client, rate=1000, sleep=lambda s: None, throttle_rounds=2)
    client.meta.events.register("before-send.ses", Injector("CreateTemplate", times=None))
    with pytest.raises(ThrottledError) as info:
        store.create(tpl("never"))
    assert store.calls["CreateTemplate"] == 6  # 3 rounds × 2 botocore attempts
    assert "--rate" in str(info.value) and info.value.code == "Throttling"
    assert "\n" not in info.value.message


def test_transient_server_errors_are_retried(moto_url: str, no_backoff: None) -> None:
    fresh(moto_url)
    client = http_client(moto_url, attempts=3)
    store = TemplateStore(client, rate=1000)
    client.meta.events.register("before-send.ses", Injector("CreateTemplate", "ServiceUnavailable", times=2,
                                                            status=503))
    store.create(tpl("after_faults"))
    assert store.get("after_faults").name == "after_faults"


# -- errors in one line -----------------------------------------------------------------------


@pytest.mark.parametrize("code,cls,words", [
    ("AccessDenied", AccessDeniedError, ["denied", "ses:CreateTemplate"]),
    ("InvalidClientTokenId", CredentialsError, ["credentials", "AWS_ACCESS_KEY_ID"]),
    ("InvalidTemplate", RemoteTemplateError, ["refused", "letterhead build"]),
    ("LimitExceeded", RemoteTemplateError, ["20,000", "prune"]),
])
def test_client_errors_map_to_letterhead_errors(moto_url: str, code: str, cls: type, words: list[str]) -> None:
    client = http_client(moto_url, attempts=1)
    store = TemplateStore(client, rate=1000)
    client.meta.events.register("before-send.ses", Injector("CreateTemplate", code, times=None))
    with pytest.raises(cls) as info:
        store.create(tpl("x"))
    text = str(info.value)
    assert info.value.code == code and info.value.operation == "CreateTemplate"
    assert "\n" not in info.value.message and info.value.hint
    for w in words:
        assert w in text


def test_no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    store = TemplateStore.connect(region=REGION, endpoint_url="http://127.0.0.1:9", max_attempts=1)
    with pytest.raises(CredentialsError, match="no AWS credentials") as info:
        store.list()
    assert "AWS_PROFILE" in info.value.hint


def test_unreachable_endpoint(no_backoff: None) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = TemplateStore.connect(region=REGION, endpoint_url=f"http://127.0.0.1:{port}", max_attempts=2)
    with pytest.raises(EndpointError, match=f"cannot reach http://127.0.0.1:{port}") as info:
        store.list()
    assert "AWS_ENDPOINT_URL_SES" in info.value.hint


def test_unknown_and_missing_region_fail_before_any_call() -> None:
    with pytest.raises(EndpointError, match="unknown AWS region 'eu-wset-1'") as info:
        check_region("eu-wset-1", None)
    assert "did you mean 'eu-west-1'" in info.value.hint
    with pytest.raises(EndpointError, match="no AWS region"):
        check_region(None, None)
    check_region("eu-west-1", None)
    check_region("anything-local", "http://127.0.0.1:5000")  # local endpoints ignore the region


def test_unknown_exceptions_still_become_remote_errors() -> None:
    from botocore.exceptions import BotoCoreError

    err = translate(BotoCoreError(), "GetTemplate", "x")
    assert isinstance(err, RemoteError) and err.hint


# -- where we are talking to ------------------------------------------------------------------


def test_only_aws_itself_can_verify(moto_url: str) -> None:
    assert "local endpoint" in TemplateStore(http_client(moto_url), rate=1000).unverifiable_reason()
    aws = TemplateStore(boto3.client("ses", region_name=REGION), rate=1000)
    assert aws.unverifiable_reason() is None
    other = TemplateStore(boto3.client("ses", region_name=REGION, endpoint_url="http://ses.example.test"),
                          rate=1000)
    assert "not an AWS endpoint" in other.unverifiable_reason()
    with mock_aws():
        assert "moto" in aws.unverifiable_reason()
