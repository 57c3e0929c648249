"""Shared pieces of the sending tests: SES (moto in-process and moto's
server) loaded with the committed ses_templates/ (the fixtures ``moto_ses``
and ``server_ses`` in conftest.py), a Mailer over it, fault
injection at botocore's seams, and the ledger of what SES really accepted.

Fault injection
---------------
* in-process moto answers in a ``before-send`` handler of its own, and every
  ``before-send`` handler runs: a throttle injected there would still be
  recorded by moto.  So in-process faults short-circuit at ``before-call``
  (botocore then raises the ClientError exactly as for a real answer).
* against moto's server, faults are real HTTP-level answers: a ``before-send``
  handler returns a 400 XML error that botocore parses.
* per-destination bulk failures rewrite the parsed answer (``after-call``);
  the ledger subtracts those destinations from what moto recorded.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from letterhead.sending.mailer import Mailer

from .helpers import REPO

SES_DIR = REPO / "ses_templates"
SAMPLES = REPO / "templates_src"
REGION = "eu-west-1"
SENDER = "noreply@calndr.club"


def sample(template: str, name: str = "default") -> dict[str, Any]:
    return json.loads((SAMPLES / template / "samples" / f"{name}.json").read_text(encoding="utf-8"))


def sample_names(template: str) -> list[str]:
    return sorted(p.stem for p in (SAMPLES / template / "samples").glob("*.json"))


import moto.core.models  # noqa: E402,F401 - registers moto's stub in every session made after it

_SESSION = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")


def client(endpoint_url: str | None = None) -> Any:
    # One session for all tests: it caches botocore's service models (a fresh one costs ~0.3 s).
    return _SESSION.client("ses", region_name=REGION, endpoint_url=endpoint_url)


def load_templates(c: Any, names: dict[str, str] | None = None) -> None:
    """Create every committed template (``names``: logical → deployed) and
    verify the sender's domain."""
    for path in sorted(SES_DIR.glob("*.json")):
        if path.name == "manifest.json":
            continue
        payload = json.loads(path.read_text(encoding="utf-8"))
        logical = payload["Template"]["TemplateName"]
        payload["Template"]["TemplateName"] = (names or {}).get(logical, logical)
        c.create_template(**payload)
    c.verify_domain_identity(Domain="calndr.club")


def make_mailer(c: Any, **kw: Any) -> Mailer:
    kw.setdefault("sender_email", SENDER)
    kw.setdefault("sender_name", "Calndr Club")
    kw.setdefault("ses_dir", SES_DIR)
    kw.setdefault("region", REGION)
    kw.setdefault("max_send_rate", 10_000)
    kw.setdefault("sleep", lambda s: None)
    kw.setdefault("backoff", lambda attempt: 0.0)
    if "transport" not in kw:
        kw["client"] = c
    mailer = Mailer(**kw)
    if mailer._ses() is not None:
        no_sleep_ses(mailer)
    return mailer


def no_sleep_ses(mailer: Mailer) -> None:
    """Backoff sleeps of the SES transport become no-ops (the tests make no timing claims)."""
    ses = mailer._ses()
    assert ses is not None
    ses._sleep = lambda s: None  # type: ignore[method-assign]
    ses.backoff = lambda attempt: 0.0


# --- fault injection --------------------------------------------------------------------------------


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._body


def error_xml(code: str, message: str) -> bytes:
    return (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>injected</RequestId></ErrorResponse>").encode()


class Faults:
    """Answer the next calls of ``operation`` with errors.

    ``plan`` decides per call (0-based count of calls seen): return
    ``(code, message, status)`` to fail it, or None to let it through.
    ``server=True`` answers at HTTP level (moto's server), else at
    ``before-call`` (moto in-process).  ``calls`` counts the calls that
    reached the seam; ``passed`` those let through."""

    def __init__(self, c: Any, operation: str, plan: Callable[[int], tuple[str, str, int] | None], *,
                 server: bool = False) -> None:
        self.plan = plan
        self.calls = 0
        self.passed = 0
        self._lock = threading.Lock()
        event = f"{'before-send' if server else 'before-call'}.ses.{operation}"
        c.meta.events.register_first(event, self._before_send if server else self._before_call)

    def _decide(self) -> tuple[str, str, int] | None:
        with self._lock:
            n = self.calls
            self.calls += 1
        verdict = self.plan(n)
        if verdict is None:
            with self._lock:
                self.passed += 1
        return verdict

    def _before_call(self, model: Any = None, **_: Any) -> Any:
        verdict = self._decide()
        if verdict is None:
            return None
        code, message, status = verdict
        http = AWSResponse("https://injected", status, {}, _Raw(b""))
        return http, {"Error": {"Code": code, "Message": message, "Type": "Sender"},
                      "ResponseMetadata": {"HTTPStatusCode": status}}

    def _before_send(self, request: Any = None, **_: Any) -> Any:
        verdict = self._decide()
        if verdict is None:
            return None
        code, message, status = verdict
        return AWSResponse(request.url, status, {}, _Raw(error_xml(code, message)))


def throttle_first(n: int, message: str = "Maximum sending rate exceeded.") -> Callable[[int], Any]:
    return lambda i: ("Throttling", message, 400) if i < n else None


class DestinationFaults:
    """Rewrite per-destination statuses of SendBulkTemplatedEmail answers:
    ``decide(address, attempt_for_that_address)`` returns a Status to fail
    that destination with, or None for Success.  ``failed`` counts, per
    address, the destinations answered with a failure (moto still recorded
    them; the ledger subtracts them)."""

    def __init__(self, c: Any, decide: Callable[[str, int], str | None]) -> None:
        self.decide = decide
        self.seen: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.calls: list[int] = []  # destinations per call
        self._lock = threading.Lock()
        c.meta.events.register("provide-client-params.ses.SendBulkTemplatedEmail", self._params)
        c.meta.events.register("after-call.ses.SendBulkTemplatedEmail", self._after)

    def _params(self, params: Any = None, context: Any = None, **_: Any) -> None:
        context["lh_to"] = [d["Destination"]["ToAddresses"][0] for d in params["Destinations"]]

    def _after(self, parsed: Any = None, context: Any = None, http_response: Any = None, **_: Any) -> None:
        if http_response is not None and http_response.status_code >= 300:
            return
        addresses = context.get("lh_to", [])
        with self._lock:
            self.calls.append(len(addresses))
            for i, address in enumerate(addresses):
                attempt = self.seen[address]
                self.seen[address] += 1
                status = self.decide(address, attempt)
                if status is not None:
                    parsed["Status"][i] = {"Status": status, "Error": f"injected {status}"}
                    self.failed[address] += 1


def recorded_destinations(template_messages: list[Any]) -> Counter[str]:
    """Address → how many times SES (moto) recorded a message to it."""
    out: Counter[str] = Counter()
    for m in template_messages:
        dests = m["destinations"] if isinstance(m, dict) else m.destinations
        if isinstance(dests, dict):
            for a in dests.get("ToAddresses", []):
                out[a] += 1
        else:
            for d in dests:
                for a in d["Destination"].get("ToAddresses", []):
                    out[a] += 1
    return out


def recorded_data(template_messages: list[Any]) -> dict[str, Any]:
    """Address → the TemplateData SES recorded for it (parsed)."""
    out: dict[str, Any] = {}
    for m in template_messages:
        dests = m["destinations"] if isinstance(m, dict) else m.destinations
        data = m["template_data"] if isinstance(m, dict) else m.template_data
        if isinstance(dests, dict):
            for a in dests.get("ToAddresses", []):
                out[a] = json.loads(data)
        else:
            for d in dests:
                for a in d["Destination"].get("ToAddresses", []):
                    out[a] = json.loads(d.get("ReplacementTemplateData") or data)
    return out


def all_log_text(records: list[Any]) -> str:
    return "\n".join(f"{r.name} {r.getMessage()} {getattr(r, 'letterhead', '')}" for r in records)
