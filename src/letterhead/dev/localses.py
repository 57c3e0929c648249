"""A local SES on loopback, and what real SES would have done with each send.

An application under development points plain boto3 at this endpoint
(``AWS_ENDPOINT_URL_SES``) and sends templated mail without an AWS account.
The endpoint is moto's server (:class:`moto.server.ThreadedMotoServer`): it
speaks the SES v1 API as botocore expects, stores templates and records every
send, but never renders one (see shared notes: moto accepts data that SES
would drop).  So this module adds the half that matters:

1. :class:`LocalSes` starts moto on ``127.0.0.1``, verifies sender identities
   (SES refuses unverified senders, and so does moto), and preloads letterhead's
   templates (:meth:`LocalSes.load_templates` from ``ses_templates/``, or
   :meth:`LocalSes.put_template` from memory).
2. :meth:`LocalSes.sent_messages` reads what the application sent from moto's
   ``GET /moto-api/data.json`` (works against any moto server, in process or
   not) as :class:`SentMessage` records, the TemplateData exactly as sent.
3. :func:`render_sent` renders one of them with letterhead's SES-faithful
   renderer (:mod:`letterhead.sestemplate`, ``escape=False`` as the SES guide
   says) against the stored template, *without* :func:`~letterhead.authoring.safety.prepare_data`:
   the data as sent is what SES gets.  A :class:`Delivery` says whether SES
   would have delivered it, or dropped it and why.
4. SES v2 template sends (``SendEmail`` with ``Content.Template``,
   ``SendBulkEmail``) and ``GetAccount``, which moto lacks, are answered by
   :mod:`letterhead.dev.localses_v2`; each send is recorded with the headers
   the recipient gets (:attr:`SentMessage.headers`).
5. ``GetSendQuota`` answers :data:`LOCAL_MAX_SEND_RATE` (1,000 messages a
   second) and :data:`LOCAL_MAX_24_HOUR_SEND` (-1: no 24-hour limit), not
   moto's sandbox 1/s, so a ``Mailer`` with ``SES_MAX_SEND_RATE`` unset does
   not pace local sends.  :meth:`LocalSes.clear_outbox` forgets the sent
   messages and keeps the templates and verified senders.

Usage (a demo, a test, or ``letterhead dev``)::

    with LocalSes(senders=["calndr.club"]) as ses:
        ses.load_templates(Path("ses_templates"))
        app_env = ses.environ()            # AWS_ENDPOINT_URL_SES, region, dummy keys
        ...  # run the application with app_env
        for d in ses.outbox():
            print(d.message.template, "delivered" if d.delivered else d.problem)

The endpoint answers only requests that name a loopback ``Host`` and carry no
foreign ``Origin`` (:mod:`letterhead.aws.loopback`, the preview site's rule): a web
page the developer opens cannot read the sent messages.  boto3 and the AWS CLI
are unaffected.

moto keeps its state per process, not per server: run one LocalSes per
process.  It starts from a clean state (``POST /moto-api/reset``).
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal

from ..authoring.contexts import URL_DATA_KEY
from ..authoring.payload import MANIFEST_NAME, SesTemplate
from ..authoring.safety import HTML_DATA_KEY, MISSING_MARKER, explain_render_error, missing_url_copy
from ..authoring.validate import check_types, parse_payload, render_each_part
from ..aws.client import make_client
from ..aws.loopback import WsgiGuard, allowed_hosts
from ..errors import DataError, EndpointError, LetterheadError, Location, RenderError
from .localses_v2 import SesV2Sends

__all__ = ["DEFAULT_REGION", "LOCAL_MAX_24_HOUR_SEND", "LOCAL_MAX_SEND_RATE", "Delivery", "LocalSes", "SentMessage",
           "clear_sent_messages", "parse_sent_messages", "render_sent"]

DEFAULT_REGION = "us-east-1"
# moto accepts any credentials; these only have to exist so botocore signs.
LOCAL_ACCESS_KEY = "letterhead-local"
LOCAL_SECRET_KEY = "letterhead-local"
# The quota the local SES reports (GetSendQuota).  moto reports the sandbox's
# 200 a day at 1 a second, and a Mailer with SES_MAX_SEND_RATE unset paces by
# it: 300 local sends took 5 minutes.  Nothing is delivered here, so: 1,000
# messages a second (a bulk call of 50 never waits) and no 24-hour limit
# (-1, what SES reports for an unlimited quota).  SentLast24Hours stays moto's.
LOCAL_MAX_SEND_RATE = 1000.0
LOCAL_MAX_24_HOUR_SEND = -1.0

Kind = Literal["templated", "bulk", "email", "raw"]
Api = Literal["v1", "v2"]
Pairs = tuple[tuple[str, str], ...]

# The boto3 method that made each kind of send, by API.
_CALLS: dict[tuple[str, str], str] = {
    ("v1", "templated"): "send_templated_email", ("v1", "bulk"): "send_bulk_templated_email",
    ("v1", "email"): "send_email", ("v1", "raw"): "send_raw_email",
    ("v2", "templated"): "send_email", ("v2", "bulk"): "send_bulk_email",
    ("v2", "email"): "send_email", ("v2", "raw"): "send_email",
}


@dataclass(frozen=True)
class SentMessage:
    """One message an application handed to (local) SES, as it was sent.

    A bulk send is split into one record per destination, each with the
    TemplateData SES uses for it (v1: the destination's
    ``ReplacementTemplateData``, else the call's ``DefaultTemplateData``; v2:
    the entry's data merged over the default's).  ``headers``: what an SES v2
    send adds to the message (a bulk entry's merged with the default ones),
    exactly as sent; v1 sends have none.
    """

    id: str
    kind: Kind
    source: str
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    template: str | None = None
    template_data: str | None = None  # the JSON string exactly as sent
    subject: str | None = None  # plain send_email only
    body: str | None = None  # plain send_email / raw only
    api: Api = "v1"
    headers: Pairs = ()  # (name, value), in order
    tags: Pairs = ()
    reply_to: tuple[str, ...] = ()

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc + self.bcc

    @property
    def call(self) -> str:
        """The boto3 method that sent it (``send_templated_email``, ``send_bulk_email``...)."""
        return _CALLS[(self.api, self.kind)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "source": self.source,
            "to": list(self.to), "cc": list(self.cc), "bcc": list(self.bcc),
            "template": self.template, "template_data": self.template_data,
            "subject": self.subject, "body": self.body,
            "api": self.api, "call": self.call,
            "headers": [{"name": n, "value": v} for n, v in self.headers],
            "tags": [{"name": n, "value": v} for n, v in self.tags],
            "reply_to": list(self.reply_to),
        }


@dataclass(frozen=True)
class Delivery:
    """What real SES would have done with one :class:`SentMessage`."""

    message: SentMessage
    delivered: bool
    parts: Mapping[str, str] | None = None  # subject / html / text as recipients get them
    problem: str | None = None  # one line: why SES would drop it
    error: LetterheadError | None = None  # the render error, with the part and variable
    part: str | None = None  # which part failed to render
    warnings: tuple[str, ...] = ()  # letterhead's own checks (declared types); SES ignores them
    data: Any = None  # the parsed TemplateData, for display

    def to_dict(self) -> dict[str, Any]:
        return {
            "message": self.message.to_dict(),
            "delivered": self.delivered,
            "parts": dict(self.parts) if self.parts is not None else None,
            "problem": self.problem,
            "part": self.part,
            "error": self.error.to_dict() if self.error else None,
            "warnings": list(self.warnings),
        }


def _addresses(destination: Mapping[str, Any] | None, key: str) -> tuple[str, ...]:
    return tuple(str(a) for a in (destination or {}).get(key) or ())


def _pairs(value: Any) -> Pairs:
    """``[{"Name": n, "Value": v}, ...]`` as recorded → ``((n, v), ...)``."""
    return tuple((str(p.get("Name", "")), str(p.get("Value", ""))) for p in value or () if isinstance(p, dict))


def _v2(m: Mapping[str, Any]) -> dict[str, Any]:
    """What :mod:`letterhead.dev.localses_v2` recorded on a moto record of an
    SES v2 send (nothing on a v1 one)."""
    if m.get("api") != "v2":
        return {}
    return {"api": "v2", "headers": _pairs(m.get("headers")), "tags": _pairs(m.get("tags")),
            "reply_to": tuple(str(a) for a in m.get("reply_to") or ())}


def parse_sent_messages(data: Mapping[str, Any]) -> list[SentMessage]:
    """moto's ``/moto-api/data.json`` → the sends it recorded, oldest first.

    moto lists every model instance it created, in creation order: a templated
    send is a ``TemplateMessage`` whose ``destinations`` is a Destination; a
    bulk send is a ``TemplateMessage`` whose ``destinations`` is the list of
    BulkEmailDestinations, with its message ids on the matching
    ``BulkTemplateMessage`` (the n-th bulk of one is the n-th of the other).
    An SES v2 send is a ``TemplateMessage`` (or ``Message``) per recipient
    entry, with the attributes :mod:`letterhead.dev.localses_v2` adds.
    """
    ses = data.get("ses") or {}
    bulk_ids = [list(b.get("ids") or []) for b in ses.get("BulkTemplateMessage") or []]
    out: list[SentMessage] = []
    bulk_seen = 0
    for m in ses.get("TemplateMessage") or []:
        dest = m.get("destinations")
        if isinstance(dest, list):
            ids = bulk_ids[bulk_seen] if bulk_seen < len(bulk_ids) else []
            bulk_seen += 1
            for i, entry in enumerate(dest):
                d = entry.get("Destination") or {}
                out.append(SentMessage(
                    id=ids[i] if i < len(ids) else f"{m.get('id', 'bulk')}-{i}",
                    kind="bulk", source=str(m.get("source", "")),
                    to=_addresses(d, "ToAddresses"), cc=_addresses(d, "CcAddresses"),
                    bcc=_addresses(d, "BccAddresses"), template=m.get("template"),
                    template_data=entry.get("ReplacementTemplateData") or m.get("template_data"),
                ))
        else:
            out.append(SentMessage(
                id=str(m.get("id", "")), kind="bulk" if m.get("operation") == "SendBulkEmail" else "templated",
                source=str(m.get("source", "")),
                to=_addresses(dest, "ToAddresses"), cc=_addresses(dest, "CcAddresses"),
                bcc=_addresses(dest, "BccAddresses"), template=m.get("template"),
                template_data=m.get("template_data"), **_v2(m),
            ))
    for m in ses.get("Message") or []:
        dest = m.get("destinations")
        out.append(SentMessage(
            id=str(m.get("id", "")), kind="email", source=str(m.get("source", "")),
            to=_addresses(dest, "ToAddresses"), cc=_addresses(dest, "CcAddresses"),
            bcc=_addresses(dest, "BccAddresses"), subject=m.get("subject"), body=m.get("body"), **_v2(m),
        ))
    for m in ses.get("RawMessage") or []:
        out.append(SentMessage(
            id=str(m.get("id", "")), kind="raw", source=str(m.get("source") or ""),
            to=tuple(str(a) for a in m.get("destinations") or ()), body=m.get("raw_data"), **_v2(m),
        ))
    return out


def _explain_failure(failed: list[RenderError]) -> tuple[RenderError, str]:
    """The parts SES could not render → the error in the application's words
    (as ``Mailer`` and ``letterhead send`` word it) and the outbox's one-line
    problem.  Data that skipped :func:`prepare_data` gets its own words."""
    if any(m.variable == MISSING_MARKER for e in failed for m in e.missing):
        err = RenderError(
            f"the data has no `{HTML_DATA_KEY}` copy, so the HTML part prints `{MISSING_MARKER}`, which is missing",
            variable=MISSING_MARKER, part="html",
            hint="pass TemplateData=json.dumps(letterhead.authoring.safety.prepare_data(data, raw_paths)); "
            "prepare_data adds the HTML-escaped copy the HTML part reads",
        )
        return err, f"prepare_data() was not called: the HTML part cannot render ({MISSING_MARKER})"
    for exc in failed:
        variable = missing_url_copy(exc)
        if variable is not None:
            err = RenderError(
                f"the data has no `{URL_DATA_KEY}` copy of `{variable}`, which the {exc.part} part prints "
                "inside a URL (percent-encoded)",
                variable=variable, location=exc.location, part=exc.part,
                hint="pass TemplateData=json.dumps(letterhead.authoring.safety.prepare_data(data, entry.raw_paths, "
                f"entry.url_paths)) with the manifest's entry; or send `{variable}` if it is missing",
            )
            return err, (f"missing the encoded copy of `{variable}` (prepare_data without url_paths?) "
                         f"in the {exc.part} part")
    err = explain_render_error(failed, data_name="TemplateData")
    problem = err.message.replace(" (SES would silently drop this message)", "")
    if len(err.missing) == 1 and err.part:
        problem += f" in the {err.part} part"
    return err, problem


def render_sent(message: SentMessage, payload: SesTemplate | None,
                variables: Mapping[str, Any] | None = None) -> Delivery:
    """Render a sent message as SES would, with the data exactly as sent.

    ``payload`` is the template SES holds under ``message.template`` (None when
    it holds none); ``variables`` the declared types from template.toml, for
    warnings only (SES does not check types).
    """
    if message.kind in ("email", "raw"):
        plain = {"subject": message.subject or "", "html": "", "text": message.body or ""}
        return Delivery(message, True, parts=plain)
    if payload is None:
        return Delivery(message, False, problem=f"template {message.template!r} does not exist in SES")
    raw = message.template_data if message.template_data is not None else "{}"
    try:
        data = json.loads(raw)
    except ValueError as exc:
        err: LetterheadError = DataError(f"TemplateData is not valid JSON: {exc}",
                        hint="send json.dumps(data) as TemplateData")
        return Delivery(message, False, problem=err.message, error=err)
    if not isinstance(data, dict):
        err = DataError("TemplateData must be a JSON object", hint="send json.dumps(a dict) as TemplateData")
        return Delivery(message, False, problem=err.message, error=err, data=data)
    warnings: list[str] = []
    if variables:
        try:
            check_types(variables, data, where=f"data sent for {message.template!r}")
        except DataError as exc:
            warnings.append(f"{exc.message} ({exc.hint})" if exc.hint else exc.message)
    parts, failed = render_each_part(parse_payload(payload), data)
    if failed:
        err, problem = _explain_failure(failed)
        return Delivery(message, False, problem=problem, error=err, part=err.part,
                        warnings=tuple(warnings), data=data)
    return Delivery(message, True, parts=parts, warnings=tuple(warnings), data=data)


_QUOTA_FIELDS = (
    (re.compile(rb"<MaxSendRate>[^<]*</MaxSendRate>"), f"<MaxSendRate>{LOCAL_MAX_SEND_RATE}</MaxSendRate>".encode()),
    (re.compile(rb"<Max24HourSend>[^<]*</Max24HourSend>"),
     f"<Max24HourSend>{LOCAL_MAX_24_HOUR_SEND}</Max24HourSend>".encode()),
)
_SMALL_BODY = 4096  # GetSendQuota's body is ~40 bytes; anything larger is another call, passed on unread


class _LocalQuota:
    """WSGI middleware: GetSendQuota answers :data:`LOCAL_MAX_SEND_RATE` and
    :data:`LOCAL_MAX_24_HOUR_SEND` instead of moto's sandbox numbers (moto
    has no setting for them).  moto answers the call, so ``SentLast24Hours``
    is its own count; this only rewrites the two limits.  Every other
    request passes untouched (a small body is read, then handed on)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO", "/") not in ("", "/"):
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if not 0 < length <= _SMALL_BODY:
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        action = urllib.parse.parse_qs(body.decode("latin-1")).get("Action", [""])[0]
        if action != "GetSendQuota":
            return self.app(environ, start_response)
        answer: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            answer["status"], answer["headers"] = status, headers
            return lambda data: None  # moto never writes through write()

        chunks = self.app(environ, capture)
        try:
            out = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        if answer.get("status", "").startswith("200"):
            for pattern, value in _QUOTA_FIELDS:
                out = pattern.sub(value, out)
        headers = [(k, v) for k, v in answer.get("headers", []) if k.lower() != "content-length"]
        start_response(answer.get("status", "500 Internal Server Error"),
                       [*headers, ("Content-Length", str(len(out)))])
        return [out]


# moto's records of sent mail (what ``/moto-api/data.json`` lists), by model class name.
_SENT_MODELS = ("Message", "TemplateMessage", "BulkTemplateMessage", "RawMessage")


def clear_sent_messages() -> int:
    """Forget every message moto (in this process) recorded as sent, and
    nothing else: templates, identities, configuration sets stay.  Returns
    how many sends were forgotten (a bulk call's destinations each count).

    moto keeps them twice: in each SES backend's ``sent_messages`` and in its
    model registry, which ``/moto-api/data.json`` (and so the outbox) reads.
    moto's own ``/moto-api/reset`` would forget the templates and verified
    senders too."""
    from moto.ses import models

    cleared = len(parse_sent_messages({"ses": {
        name: [vars(m) for m in getattr(models, name).instances_tracked] for name in _SENT_MODELS}}))
    for name in _SENT_MODELS:
        getattr(models, name).instances_tracked.clear()
    for account in list(models.ses_backends.values()):
        for backend in list(account.values()):
            backend.sent_messages.clear()
    return cleared


class _GuardedMotoServer:
    """moto's server app (what :class:`moto.server.ThreadedMotoServer` runs),
    behind :class:`letterhead.aws.loopback.WsgiGuard`: moto alone answers any
    ``Host`` and echoes any ``Origin`` in CORS headers, so any web page the
    developer opens could read every sent message and its data.  Behind the
    guard, :class:`_LocalQuota` reports a quota that does not pace local work
    and :class:`~letterhead.dev.localses_v2.SesV2Sends` answers the SES v2
    template sends moto lacks."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                MotoRequestHandler,
                create_backend_app,
            )
            from werkzeug.serving import make_server
        except ImportError as exc:  # pragma: no cover - moto is a dependency
            raise EndpointError(
                f"the local SES needs moto's server ({exc})",
                hint="pip install 'moto[server,ses]'",
            ) from None
        moto = DomainDispatcherApplication(create_backend_app)
        v2 = SesV2Sends(_LocalQuota(moto), max_send_rate=LOCAL_MAX_SEND_RATE, max_24_hour_send=LOCAL_MAX_24_HOUR_SEND)
        app = WsgiGuard(v2, allowed_hosts(self.host))
        # Bound here, in the caller's thread: a taken port raises OSError to start().
        self._server = make_server(self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="letterhead-local-ses")
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None


@dataclass
class LocalSes:
    """moto's SES on loopback, preloaded with letterhead templates.

    A context manager: ``with LocalSes() as ses: ses.endpoint_url``.  ``port=0``
    picks a free port.  ``senders`` are identities (addresses or domains) to
    verify: SES refuses to send from anything else, and so does this endpoint.
    """

    host: str = "127.0.0.1"
    port: int = 0
    region: str = DEFAULT_REGION
    senders: Iterable[str] = ()
    _server: Any = field(default=None, init=False, repr=False)
    _client: Any = field(default=None, init=False, repr=False)
    _verified: list[str] = field(default_factory=list, init=False, repr=False)

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> LocalSes:
        # One access-log line per request (and the outbox polls) is noise.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = _GuardedMotoServer(self.host, self.port)
        try:
            server.start()
        except OSError as exc:
            raise EndpointError(
                f"cannot start the local SES on {self.host}:{self.port}: {exc.strerror or exc}",
                hint="pick another port (--ses-port) or stop what is using it",
            ) from None
        self._server = server
        self.port = server.port
        self.reset()
        self.verify(*self.senders)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
            self._client = None

    def __enter__(self) -> LocalSes:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def endpoint_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def environ(self) -> dict[str, str]:
        """Environment variables that point an application's boto3 here
        (its ``ses`` and its ``sesv2`` clients)."""
        return {
            "AWS_ENDPOINT_URL_SES": self.endpoint_url,
            "AWS_ENDPOINT_URL_SESV2": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_KEY,
        }

    def client(self) -> Any:
        """A boto3 ``ses`` client for this endpoint (dummy credentials)."""
        if self._client is None:
            self._client = make_client(
                "ses", endpoint_url=self.endpoint_url, region=self.region,
                aws_access_key_id=LOCAL_ACCESS_KEY, aws_secret_access_key=LOCAL_SECRET_KEY,
            )
        return self._client

    def reset(self) -> None:
        """Forget every template, identity and sent message (moto's reset)."""
        self._post("/moto-api/reset")
        self._verified = []

    def clear_outbox(self) -> int:
        """Forget the messages sent so far, keeping the templates and the
        verified senders (:func:`clear_sent_messages`); returns how many."""
        if self._server is None:
            raise EndpointError("the local SES is not running", hint="start it first")
        return clear_sent_messages()

    # -- identities and templates -----------------------------------------
    @property
    def verified(self) -> tuple[str, ...]:
        return tuple(self._verified)

    def verify(self, *identities: str) -> None:
        """Verify sender addresses (``a@b.c``, ``Name <a@b.c>``) or domains."""
        c = self.client()
        for identity in identities:
            address = parseaddr(identity)[1] or identity
            if "@" in address:
                c.verify_email_identity(EmailAddress=address)
            else:
                c.verify_domain_identity(Domain=address)
            if address not in self._verified:
                self._verified.append(address)

    def put_template(self, payload: SesTemplate) -> None:
        """Create or update one template."""
        from botocore.exceptions import ClientError

        c = self.client()
        body = payload.to_json()["Template"]
        try:
            c.create_template(Template=body)
        except ClientError as exc:
            if "AlreadyExists" not in exc.response.get("Error", {}).get("Code", ""):
                raise
            c.update_template(Template=body)

    def delete_template(self, name: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client().get_template(TemplateName=name)
        except ClientError:
            return  # moto crashes deleting a template it does not have
        self.client().delete_template(TemplateName=name)

    def load_templates(self, ses_dir: Path) -> list[str]:
        """Preload every payload of a built ``ses_templates/``; returns the names."""
        ses_dir = Path(ses_dir)
        if not ses_dir.is_dir():
            raise DataError("no built templates here", location=Location(str(ses_dir)),
                            hint="run `letterhead build` first")
        names = []
        for path in sorted(ses_dir.glob("*.json")):
            if path.name == MANIFEST_NAME:
                continue
            payload = SesTemplate.load(path)
            self.put_template(payload)
            names.append(payload.name)
        return names

    def template(self, name: str) -> SesTemplate | None:
        """The template SES holds under ``name`` now, or None."""
        from botocore.exceptions import ClientError

        try:
            t = self.client().get_template(TemplateName=name)["Template"]
        except ClientError:
            return None
        return SesTemplate(t["TemplateName"], t.get("SubjectPart", ""), t.get("HtmlPart", ""),
                           t.get("TextPart", ""))

    # -- the outbox --------------------------------------------------------
    def sent_messages(self) -> list[SentMessage]:
        """Every message sent through this endpoint, oldest first."""
        return parse_sent_messages(self._get_json("/moto-api/data.json"))

    def outbox(self, variables: Mapping[str, Mapping[str, Any]] | None = None) -> list[Delivery]:
        """Every sent message rendered against the template SES holds now,
        oldest first.  ``variables``: template name → declared types."""
        cache: dict[str, SesTemplate | None] = {}
        out = []
        for m in self.sent_messages():
            payload = None
            if m.template is not None:
                if m.template not in cache:
                    cache[m.template] = self.template(m.template)
                payload = cache[m.template]
            out.append(render_sent(m, payload, (variables or {}).get(m.template or "")))
        return out

    # -- HTTP to moto's own API -------------------------------------------
    def _get_json(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(self.endpoint_url + path, timeout=10) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise EndpointError(f"cannot read {path} from the local SES at {self.endpoint_url}: {exc}",
                                hint="is it running?") from None

    def _post(self, path: str) -> None:
        req = urllib.request.Request(self.endpoint_url + path, data=b"", method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10):
                pass
        except (urllib.error.URLError, OSError) as exc:
            raise EndpointError(f"cannot reach the local SES at {self.endpoint_url}: {exc}",
                                hint="is it running?") from None
