"""Pieces of the SES v2 sending tests: real ``sesv2`` clients (for botocore's
Stubber and for fault hooks), the messages a transport gets, and a fake SES
v2 that throttles per call and per entry and keeps the ledger of what it
really accepted (so a test can prove 0 lost and 0 duplicated)."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from letterhead.sending.transports import OutgoingMessage, SesV2Transport

from .helpers import free_port
from .send_support import sample
from .test_transports import Inbox

__all__ = ["Inbox"]  # the SMTP server's handler, for the tests that use smtp_inbox()

REGION = "eu-west-1"
SOURCE = "Calndr Club <noreply@calndr.club>"
UNSUBSCRIBE = (("List-Unsubscribe", "<https://calndr.club/unsub?t=tok-1>, "
                                    "<mailto:unsubscribe@calndr.club?subject=unsub-tok-1>"),
               ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
PARTS = {"subject": "Your digest", "html": "<p>Hello</p>", "text": "Hello"}

_SESSION = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")


def v2_client(endpoint_url: str | None = None) -> Any:
    """A real ``sesv2`` client (one session: it caches botocore's models)."""
    return _SESSION.client("sesv2", region_name=REGION, endpoint_url=endpoint_url)


def v2_transport(client: Any, **kw: Any) -> SesV2Transport:
    """The transport over ``client``, paced fast and never sleeping (no timing claims)."""
    kw.setdefault("max_send_rate", 10_000)
    kw.setdefault("sleep", lambda s: None)
    kw.setdefault("backoff", lambda attempt: 0.0)
    return SesV2Transport(client, region=REGION, **kw)


def message(to: str = "amira.haddad@example.com", *, headers: tuple[tuple[str, str], ...] = UNSUBSCRIBE,
            data: dict[str, Any] | None = None, **kw: Any) -> OutgoingMessage:
    kw.setdefault("template", "schedule_digest")
    kw.setdefault("template_name", "schedule_digest")
    kw.setdefault("source", SOURCE)
    kw.setdefault("parts", PARTS)
    return OutgoingMessage(to=(to,), template_data=json.dumps(data or {"name": to.split("@")[0]}),
                           headers=headers, **kw)


def unsubscribe(token: str) -> tuple[tuple[str, str], ...]:
    return (("List-Unsubscribe", f"<https://calndr.club/unsub?t={token}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))


def client_error(code: str, message: str, status: int, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


class FakeSesV2:
    """SES v2's two send calls, faulty on purpose: a call is refused with
    TooManyRequestsException when ``throttle_call()`` says so (nothing
    sent); each entry of a bulk call is answered ACCOUNT_THROTTLED when
    ``throttle_entry()`` says so (that entry not sent).  ``delivered``
    counts, per address, what SES really accepted; ``headers`` and
    ``data`` keep the last accepted entry's per address.  ``meta`` is a
    real sesv2 client's (the transport watches answers through it)."""

    def __init__(self, *, call_rate: float = 0.3, entry_rate: float = 0.3, seed: int = 15) -> None:
        self.meta = v2_client().meta
        self._rng = random.Random(seed)
        self.call_rate = call_rate
        self.entry_rate = entry_rate
        self.delivered: Counter[str] = Counter()
        self.headers: dict[str, list[dict[str, str]]] = {}
        self.data: dict[str, Any] = {}
        self.calls = 0
        self.throttled_calls = 0
        self.throttled_entries = 0
        self._lock = threading.Lock()
        self._ids = 0

    def _roll(self, rate: float) -> bool:
        with self._lock:
            return self._rng.random() < rate

    def _id(self) -> str:
        with self._lock:
            self._ids += 1
            return f"fake-{self._ids:06d}"

    def _call(self, operation: str) -> None:
        with self._lock:
            self.calls += 1
        if self._roll(self.call_rate):
            with self._lock:
                self.throttled_calls += 1
            raise client_error("TooManyRequestsException", "Maximum sending rate exceeded.", 429, operation)

    def _accept(self, address: str, data: str, headers: list[dict[str, str]]) -> str:
        with self._lock:
            self.delivered[address] += 1
            self.data[address] = json.loads(data)
            self.headers[address] = headers
        return self._id()

    def send_email(self, **params: Any) -> dict[str, Any]:
        self._call("SendEmail")
        template = params["Content"]["Template"]
        [address] = params["Destination"]["ToAddresses"]
        return {"MessageId": self._accept(address, template["TemplateData"], template.get("Headers", []))}

    def send_bulk_email(self, **params: Any) -> dict[str, Any]:
        self._call("SendBulkEmail")
        results = []
        for entry in params["BulkEmailEntries"]:
            if self._roll(self.entry_rate):
                with self._lock:
                    self.throttled_entries += 1
                results.append({"Status": "ACCOUNT_THROTTLED", "Error": "Maximum sending rate exceeded."})
                continue
            [address] = entry["Destination"]["ToAddresses"]
            data = entry["ReplacementEmailContent"]["ReplacementTemplate"]["ReplacementTemplateData"]
            results.append({"Status": "SUCCESS",
                            "MessageId": self._accept(address, data, entry.get("ReplacementHeaders", []))})
        return {"BulkEmailEntryResults": results}


# --- a project whose template declares headers --------------------------------------------------------------

BULK_TOML = '''description = "Welcome, sent in bulk."
category = "bulk"

[variables.unsubscribe_token]
type = "string"

[variables.campaign]
type = "string"

[headers]
List-Unsubscribe = "<https://example.com/unsub?t={{unsubscribe_token}}>, \
<mailto:unsubscribe@example.com?subject=unsub-{{unsubscribe_token}}>"
List-Unsubscribe-Post = "List-Unsubscribe=One-Click"
X-Campaign = "welcome-{{campaign}}"
'''


def headers_data(name: str = "Ada", token: str = "tok-ada", campaign: str = "w49") -> dict[str, Any]:
    return {"name": name, "url": "https://example.com/start", "unsubscribe_token": token, "campaign": campaign}


def headers_project(tmp: Path, *, locales: bool = False) -> Path:
    """tests/projects/base (with the locales overlay: en, es, ar) whose
    ``welcome`` is a bulk template with List-Unsubscribe, built."""
    from letterhead.authoring.build import build
    from letterhead.config import load_config

    from .helpers import PROJECTS, make_project

    root = make_project(tmp, *([PROJECTS / "locales"] if locales else []))
    folder = root / "templates_src" / "welcome"
    (folder / "template.toml").write_text(BULK_TOML, encoding="utf-8")
    for old in folder.glob("samples/**/*.json"):
        old.unlink()
    (folder / "samples" / "default.json").write_text(json.dumps(headers_data()), encoding="utf-8")
    if locales:
        (folder / "samples" / "ar").mkdir(exist_ok=True)
        (folder / "samples" / "ar" / "default.json").write_text(
            json.dumps(headers_data("ليلى", "tok-layla")), encoding="utf-8")
    build(load_config(root, environ={}))
    return root


def v1_client() -> Any:
    """A real ``ses`` (v1) client, for comparing the two APIs."""
    return _SESSION.client("ses", region_name=REGION)


def verification_data(i: int) -> dict[str, Any]:
    """email_verification's sample with code ``i`` (the committed ses_templates/ has it)."""
    data = sample("email_verification")
    data["code"] = f"{i:06d}"
    return data


@contextmanager
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on loopback (aiosmtpd): (what it received, its port)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._body


class HttpFaults:
    """Faults at the HTTP seam of a real ``sesv2`` client talking to a real
    endpoint (the local SES): every ``call_every``-th SendBulkEmail is
    answered 429 TooManyRequestsException before it leaves (nothing reaches
    SES), and every ``entry_every``-th entry SES accepted is answered
    ACCOUNT_THROTTLED (SES recorded it: ``throttled_entries`` counts, per
    address, the records to subtract from SES's ledger)."""

    def __init__(self, client: Any, *, call_every: int, entry_every: int) -> None:
        self.call_every = call_every
        self.entry_every = entry_every
        self.calls = 0
        self.entries = 0
        self.refused_calls = 0
        self.throttled_entries: Counter[str] = Counter()
        self._lock = threading.Lock()
        events = client.meta.events
        events.register("provide-client-params.sesv2.SendBulkEmail", self._params)
        events.register_first("before-send.sesv2.SendBulkEmail", self._before_send)
        events.register("after-call.sesv2.SendBulkEmail", self._after_call)

    def _params(self, params: Any = None, context: Any = None, **_: Any) -> None:
        context["lh_to"] = [e["Destination"]["ToAddresses"][0] for e in params["BulkEmailEntries"]]

    def _before_send(self, request: Any = None, **_: Any) -> Any:
        with self._lock:
            self.calls += 1
            refuse = self.calls % self.call_every == 0
            self.refused_calls += refuse
        if not refuse:
            return None
        body = json.dumps({"__type": "TooManyRequestsException", "message": "Maximum sending rate exceeded."})
        return AWSResponse(request.url, 429, {"x-amzn-ErrorType": "TooManyRequestsException",
                                              "Content-Type": "application/json"}, _Body(body.encode()))

    def _after_call(self, parsed: Any = None, context: Any = None, http_response: Any = None, **_: Any) -> None:
        if http_response is None or http_response.status_code >= 300:
            return
        with self._lock:
            for i, address in enumerate(context.get("lh_to", [])):
                self.entries += 1
                if self.entries % self.entry_every == 0:
                    parsed["BulkEmailEntryResults"][i] = {"Status": "ACCOUNT_THROTTLED",
                                                          "Error": "Maximum sending rate exceeded."}
                    self.throttled_entries[address] += 1
