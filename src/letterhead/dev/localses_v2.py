"""SES v2 template sends for the local SES, which moto lacks.

moto 5.2's ``sesv2`` raises NotImplementedError for ``SendEmail`` with
``Content.Template``, and has neither ``SendBulkEmail`` nor ``GetAccount``.
:class:`SesV2Sends` is the WSGI layer of the local SES
(:mod:`letterhead.dev.localses`) that answers them, in the request and
response JSON of the botocore model (``sesv2`` 2019-09-27, rest-json):

* ``POST /v2/email/outbound-emails`` with ``Content.Template`` (TemplateName
  or TemplateArn, TemplateData, Headers): the send goes to moto's SES (v1)
  backend as a ``SendTemplatedEmail`` would, so the checks and counters are
  the v1 path's: an unverified sender is ``MessageRejected``, an unknown
  template ``NotFoundException``, the send counts in ``SentLast24Hours``.
  Missing variables are accepted, as SES accepts them (then drops the
  message): the outbox renders every send and marks it dropped.
  ``Content.Simple`` and ``Content.Raw`` go to moto as before, recorded as
  SES v2 sends (Simple's Headers, which moto ignores, checked and kept).
* ``POST /v2/email/outbound-bulk-emails``: one recorded send per entry, with
  the entry's data merged over ``DefaultContent.Template.TemplateData`` (key
  by key, objects recursively, arrays and values replaced: what real SES v2
  does, measured by aws-ses-v2-local#102) and its ``ReplacementHeaders`` over
  the default Headers (a same-named header, names compared without case, is
  replaced in place; others are added).  ``BulkEmailEntryResults`` carries a
  Status per entry: SUCCESS, or INVALID_PARAMETER / MESSAGE_REJECTED for an
  entry moto refuses (a malformed address, too many recipients).
* ``GET /v2/email/account``: the local quota (as GetSendQuota reports it).

The headers are validated as SES v2 does (at most 15 a message; names 1-126
printable ASCII characters but ``:``; values 1-995 printable ASCII; name and
value 996 together), else a 400 ``BadRequestException`` and nothing is sent.

Each send is one moto record (what ``/moto-api/data.json`` lists) carrying
the extra attributes :func:`letterhead.dev.localses.parse_sent_messages` reads
(``api``, ``operation``, ``headers``, ``tags``, ``reply_to``).  A record is
created and annotated under :data:`RECORD_LOCK`, and ``data.json`` is read
under it: a reader never sees a send without its headers.
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["HEADERS_MAX", "HEADER_LINE_MAX", "HEADER_NAME_MAX", "HEADER_VALUE_MAX", "RECORD_LOCK", "SesV2Error",
           "SesV2Sends", "check_headers", "merge_headers", "merge_template_data"]

SEND_PATH = "/v2/email/outbound-emails"
BULK_PATH = "/v2/email/outbound-bulk-emails"
ACCOUNT_PATH = "/v2/email/account"
DATA_PATH = "/moto-api/data.json"

HEADERS_MAX = 15
HEADER_NAME_MAX = 126
HEADER_VALUE_MAX = 995
HEADER_LINE_MAX = 996  # name and value together (998 characters a line, less ": ")
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # printable ASCII (33-126) but ':'
_HEADER_VALUE = re.compile(r"[ -~]+")  # printable ASCII and space: no CR, LF, tab or anything else
_TAG = re.compile(r"[A-Za-z0-9_-]{1,256}")  # SES's MessageTag Name and Value
_BODY_MAX = 64 * 1024 * 1024

# Held while a send is recorded and while data.json is read (see the module's docstring).
# moto keeps one state per process, so one lock per process.
RECORD_LOCK = threading.RLock()


class SesV2Error(Exception):
    """An SES v2 error answer: HTTP ``status``, ``code`` in x-amzn-ErrorType."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _bad(message: str) -> SesV2Error:
    return SesV2Error("BadRequestException", message)


# -- the rules ------------------------------------------------------------------------------------------------


def _header_pairs(value: Any, where: str) -> list[tuple[str, str]]:
    """A MessageHeaderList as sent → (name, value) pairs, each checked."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(f"{where} must be a list of {{Name, Value}}")
    pairs = []
    for item in value:
        name, val = (item.get("Name"), item.get("Value")) if isinstance(item, dict) else (None, None)
        if not isinstance(name, str) or not isinstance(val, str):
            raise _bad(f"{where}: every header needs a Name and a Value (strings)")
        pairs.append((name, val))
    check_headers(pairs, where)
    return pairs


def check_headers(headers: Iterable[tuple[str, str]], where: str = "Headers") -> None:
    """SES v2's rules for one list of headers; :class:`SesV2Error` (400)
    naming the header (never echoing the value) when one is broken."""
    headers = list(headers)
    if len(headers) > HEADERS_MAX:
        raise _bad(f"{where}: {len(headers)} headers; a message can have at most {HEADERS_MAX}")
    for name, value in headers:
        shown = name[:40].encode("ascii", "backslashreplace").decode("ascii")
        if not _HEADER_NAME.fullmatch(name) or len(name) > HEADER_NAME_MAX:
            raise _bad(f"{where}: invalid header name {shown!r}: 1 to {HEADER_NAME_MAX} printable ASCII "
                       "characters, no ':' and no spaces")
        if not _HEADER_VALUE.fullmatch(value) or len(value) > HEADER_VALUE_MAX:
            raise _bad(f"{where}: invalid value for header {shown!r}: 1 to {HEADER_VALUE_MAX} printable ASCII "
                       "characters (no line breaks, no tabs, nothing outside ASCII)")
        if len(name) + len(value) > HEADER_LINE_MAX:
            raise _bad(f"{where}: header {shown!r} is too long: name and value together can have at most "
                       f"{HEADER_LINE_MAX} characters")


def merge_headers(default: Iterable[tuple[str, str]],
                  replacement: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """A bulk entry's headers: the default ones, a same-named replacement
    (names compared without case) in place of the default, the rest added."""
    out = list(default)
    for name, value in replacement:
        for i, (have, _) in enumerate(out):
            if have.lower() == name.lower():
                out[i] = (name, value)
                break
        else:
            out.append((name, value))
    return out


def _merged(default: Any, replacement: Any) -> Any:
    if isinstance(default, dict) and isinstance(replacement, dict):
        out = dict(default)
        for key, value in replacement.items():
            out[key] = _merged(default[key], value) if key in default else value
        return out
    return replacement


def merge_template_data(default: str | None, replacement: str | None) -> str | None:
    """The TemplateData SES renders a bulk entry with: ``replacement`` merged
    over ``default`` key by key (objects recursively; an array or a value
    replaces).  When either is not a JSON object the entry's own data is
    kept as sent (else the default): the outbox says why SES would drop it."""
    if replacement is None:
        return default
    if default is None:
        return replacement
    try:
        base, over = json.loads(default), json.loads(replacement)
    except ValueError:
        return replacement
    if not isinstance(base, dict) or not isinstance(over, dict):
        return replacement
    return json.dumps(_merged(base, over), ensure_ascii=False)


def _tag_pairs(value: Any, where: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(f"{where} must be a list of {{Name, Value}}")
    pairs = []
    for item in value:
        name, val = (item.get("Name"), item.get("Value")) if isinstance(item, dict) else (None, None)
        if not isinstance(name, str) or not isinstance(val, str) or not _TAG.fullmatch(name) \
                or not _TAG.fullmatch(val):
            raise _bad(f"{where}: a tag's Name and Value are 1 to 256 ASCII letters, digits, '_' or '-'")
        pairs.append((name, val))
    return pairs


def _merge_tags(default: list[tuple[str, str]], replacement: list[tuple[str, str]]) -> list[tuple[str, str]]:
    named = dict(default)
    named.update(replacement)
    return list(named.items())


def _template_name(template: Any, where: str) -> str:
    if not isinstance(template, dict):
        raise _bad(f"{where} must be an object")
    name = template.get("TemplateName")
    arn = template.get("TemplateArn")
    if isinstance(name, str) and name:
        return name
    if isinstance(arn, str) and arn:
        return arn.rsplit(":template/", 1)[-1] if ":template/" in arn else arn
    if "TemplateContent" in template:
        raise _bad(f"{where}: the local SES sends stored templates only (TemplateName or TemplateArn); "
                   "inline TemplateContent is not supported here")
    raise _bad(f"{where} needs a TemplateName or a TemplateArn")


def _template_data(template: Mapping[str, Any], where: str) -> str | None:
    data = template.get("TemplateData")
    if data is not None and not isinstance(data, str):
        raise _bad(f"{where}.TemplateData must be a string (JSON)")
    return data


def _addresses(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise _bad(f"{where} must be a list of addresses")
    return list(value)


def _destination(value: Any, where: str) -> dict[str, list[str]]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise _bad(f"{where} must be an object")
    return {k: _addresses(value.get(k), f"{where}.{k}")
            for k in ("ToAddresses", "CcAddresses", "BccAddresses") if value.get(k)}


def _source(params: Mapping[str, Any]) -> str:
    source = params.get("FromEmailAddress")
    if not isinstance(source, str) or not source:
        raise _bad("FromEmailAddress is required to send a template")
    return source


# -- moto's side ---------------------------------------------------------------------------------------------


class _Request:
    """What one HTTP request says about moto's account and region."""

    def __init__(self, environ: Mapping[str, Any]) -> None:
        auth = str(environ.get("HTTP_AUTHORIZATION") or "")
        match = re.search(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/", auth)
        self.access_key = match.group(1) if match else ""
        self.region = match.group(2) if match else "us-east-1"
        self.account_header = environ.get("HTTP_X_MOTO_ACCOUNT_ID")

    def backend(self) -> Any:
        """moto's SES backend (v1 and v2 share it: its templates, identities, counters)."""
        from moto.iam.models import get_account_id_from
        from moto.ses.models import ses_backends

        account = os.environ.get("MOTO_ACCOUNT_ID") or self.account_header or get_account_id_from(self.access_key)
        try:
            return ses_backends[account][self.region]
        except KeyError:
            raise SesV2Error("BadRequestException", f"the local SES has no region {self.region!r}") from None


def _is_verified(backend: Any, source: str) -> bool:
    """moto's rule (an address, or its domain, is an email identity)."""
    from email.utils import parseaddr

    address = parseaddr(source)[1] or source
    identities = backend.email_identities
    return address in identities or address.rpartition("@")[2] in identities


def _not_verified(source: str, region: str) -> SesV2Error:
    from email.utils import parseaddr

    address = parseaddr(source)[1] or source
    return SesV2Error("MessageRejected", "Email address is not verified. The following identities failed the check "
                                         f"in region {region.upper()}: {address}")


def _annotate(record: Any, operation: str, headers: list[tuple[str, str]], tags: list[tuple[str, str]],
              reply_to: list[str]) -> None:
    record.api = "v2"
    record.operation = operation
    record.headers = [{"Name": n, "Value": v} for n, v in headers]
    record.tags = [{"Name": n, "Value": v} for n, v in tags]
    record.reply_to = list(reply_to)


def _moto_error(exc: Any, template: str) -> SesV2Error:
    """moto's SES (v1) refusal (a ServiceException) → the SES v2 error it would be."""
    code = str(getattr(exc, "code", ""))
    message = str(getattr(exc, "message", None) or exc)
    if code == "TemplateDoesNotExist":
        return SesV2Error("NotFoundException", f"Template {template} does not exist.", 404)
    if code == "MessageRejected":
        return SesV2Error("MessageRejected", message)
    return SesV2Error("BadRequestException", message)


_STATUS_OF = {"MessageRejected": "MESSAGE_REJECTED", "NotFoundException": "TEMPLATE_NOT_FOUND",
              "BadRequestException": "INVALID_PARAMETER"}


# -- the operations --------------------------------------------------------------------------------------------


def send_template(params: Mapping[str, Any], request: _Request) -> dict[str, Any]:
    """SendEmail with ``Content.Template``."""
    from moto.core.exceptions import ServiceException

    template = params["Content"]["Template"]
    name = _template_name(template, "Content.Template")
    data = _template_data(template, "Content.Template")
    headers = _header_pairs(template.get("Headers"), "Content.Template.Headers")
    tags = _tag_pairs(params.get("EmailTags"), "EmailTags")
    reply_to = _addresses(params.get("ReplyToAddresses"), "ReplyToAddresses")
    source = _source(params)
    destination = _destination(params.get("Destination"), "Destination")
    if not destination:
        raise _bad("Destination has no recipient")
    backend = request.backend()
    if not _is_verified(backend, source):
        raise _not_verified(source, request.region)
    with RECORD_LOCK:
        try:
            record = backend.send_templated_email(source, name, data, destination)
        except ServiceException as exc:
            raise _moto_error(exc, name) from None
        _annotate(record, "SendEmail", headers, tags, reply_to)
    return {"MessageId": record.id}


def send_bulk(params: Mapping[str, Any], request: _Request) -> dict[str, Any]:
    """SendBulkEmail: one recorded send per entry; a Status per entry."""
    from moto.core.exceptions import ServiceException

    content = params.get("DefaultContent")
    default = content.get("Template") if isinstance(content, dict) else None
    if default is None:
        raise _bad("DefaultContent.Template is required")
    name = _template_name(default, "DefaultContent.Template")
    default_data = _template_data(default, "DefaultContent.Template")
    default_headers = _header_pairs(default.get("Headers"), "DefaultContent.Template.Headers")
    default_tags = _tag_pairs(params.get("DefaultEmailTags"), "DefaultEmailTags")
    reply_to = _addresses(params.get("ReplyToAddresses"), "ReplyToAddresses")
    source = _source(params)
    entries = params.get("BulkEmailEntries")
    if not isinstance(entries, list) or not entries:
        raise _bad("BulkEmailEntries must list at least one entry")
    if len(entries) > 50:
        raise SesV2Error("MessageRejected", "Too many destinations.")
    planned = []
    for i, entry in enumerate(entries):
        where = f"BulkEmailEntries[{i}]"
        if not isinstance(entry, dict):
            raise _bad(f"{where} must be an object")
        replacement = entry.get("ReplacementEmailContent")
        replacement = replacement.get("ReplacementTemplate") if isinstance(replacement, dict) else None
        data = replacement.get("ReplacementTemplateData") if isinstance(replacement, dict) else None
        if data is not None and not isinstance(data, str):
            raise _bad(f"{where}.ReplacementEmailContent.ReplacementTemplate.ReplacementTemplateData must be a string")
        headers = merge_headers(default_headers, _header_pairs(entry.get("ReplacementHeaders"),
                                                               f"{where}.ReplacementHeaders"))
        if len(headers) > HEADERS_MAX:
            raise _bad(f"{where}: {len(headers)} headers with the default ones; a message can have at most "
                       f"{HEADERS_MAX}")
        tags = _merge_tags(default_tags, _tag_pairs(entry.get("ReplacementTags"), f"{where}.ReplacementTags"))
        planned.append((_destination(entry.get("Destination"), f"{where}.Destination"),
                        merge_template_data(default_data, data), headers, tags))
    backend = request.backend()
    if not _is_verified(backend, source):
        raise _not_verified(source, request.region)
    if not backend.templates.get(name):
        raise SesV2Error("NotFoundException", f"Template {name} does not exist.", 404)
    results: list[dict[str, str]] = []
    with RECORD_LOCK:
        for destination, data, headers, tags in planned:
            if not destination:
                results.append({"Status": "INVALID_PARAMETER", "Error": "The entry's Destination has no recipient"})
                continue
            try:
                record = backend.send_templated_email(source, name, data, destination)
            except ServiceException as exc:
                err = _moto_error(exc, name)
                results.append({"Status": _STATUS_OF.get(err.code, "FAILED"), "Error": err.message})
                continue
            _annotate(record, "SendBulkEmail", headers, tags, reply_to)
            results.append({"Status": "SUCCESS", "MessageId": record.id})
    return {"BulkEmailEntryResults": results}


def get_account(request: _Request, max_send_rate: float, max_24_hour_send: float) -> dict[str, Any]:
    backend = request.backend()
    return {
        "DedicatedIpAutoWarmupEnabled": False,
        "EnforcementStatus": "HEALTHY",
        "ProductionAccessEnabled": True,
        "SendQuota": {"Max24HourSend": max_24_hour_send, "MaxSendRate": max_send_rate,
                      "SentLast24Hours": float(backend.sent_message_count)},
        "SendingEnabled": True,
    }


# -- the WSGI layer ------------------------------------------------------------------------------------------------


def _call(app: Callable[..., Any], environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app to the end: status, headers, body."""
    answer: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        answer["status"], answer["headers"] = status, headers
        return lambda data: None  # moto never writes through write()

    chunks = app(environ, capture)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return answer.get("status", "500 Internal Server Error"), list(answer.get("headers", [])), body


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}


def _json(start_response: Callable[..., Any], status: int, body: Mapping[str, Any],
          headers: Iterable[tuple[str, str]] = ()) -> list[bytes]:
    out = json.dumps(body).encode("utf-8")
    start_response(f"{status} {_REASONS.get(status, 'Error')}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(out))),
                    ("x-amzn-RequestId", str(uuid.uuid4())), *headers])
    return [out]


class SesV2Sends:
    """WSGI middleware in front of moto's server: the SES v2 calls moto
    lacks (see the module's docstring); everything else passes through."""

    def __init__(self, app: Callable[..., Any], *, max_send_rate: float, max_24_hour_send: float) -> None:
        self.app = app
        self.max_send_rate = max_send_rate
        self.max_24_hour_send = max_24_hour_send

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        if method == "GET" and path == DATA_PATH:
            with RECORD_LOCK:
                status, headers, body = _call(self.app, environ)
            start_response(status, headers)
            return [body]
        if method == "GET" and path == ACCOUNT_PATH:
            return self._answer(start_response, lambda: get_account(
                _Request(environ), self.max_send_rate, self.max_24_hour_send))
        if method != "POST" or path not in (SEND_PATH, BULK_PATH):
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if not 0 <= length <= _BODY_MAX:
            return _json(start_response, 400, {"message": "request body too large"},
                         [("x-amzn-ErrorType", "BadRequestException")])
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        try:
            params = json.loads(raw or b"{}")
        except ValueError:
            return _json(start_response, 400, {"message": "the request body is not JSON"},
                         [("x-amzn-ErrorType", "BadRequestException")])
        if not isinstance(params, dict):
            return _json(start_response, 400, {"message": "the request body must be a JSON object"},
                         [("x-amzn-ErrorType", "BadRequestException")])
        request = _Request(environ)
        if path == BULK_PATH:
            return self._answer(start_response, lambda: send_bulk(params, request))
        content = params.get("Content")
        if isinstance(content, dict) and "Template" in content:
            return self._answer(start_response, lambda: send_template(params, request))
        for kind in ("Simple", "Raw"):
            if isinstance(content, dict) and isinstance(content.get(kind), dict):
                return self._moto_send(environ, start_response, params, kind)
        return self.app(environ, start_response)

    def _answer(self, start_response: Callable[..., Any], operation: Callable[[], Mapping[str, Any]]) -> list[bytes]:
        try:
            body = operation()
        except SesV2Error as exc:
            return _json(start_response, exc.status, {"message": exc.message}, [("x-amzn-ErrorType", exc.code)])
        return _json(start_response, 200, body)

    def _moto_send(self, environ: dict[str, Any], start_response: Callable[..., Any],
                   params: Mapping[str, Any], content: str) -> Any:
        """``Content.Simple`` or ``Content.Raw``: moto sends it, and the send
        is recorded as an SES v2 one.  Simple's Headers (which moto ignores)
        are checked as SES checks them and recorded with it; a raw message
        carries its own."""
        from moto.ses.models import Message, RawMessage

        try:
            simple = params["Content"]["Simple"] if content == "Simple" else {}
            headers = _header_pairs(simple.get("Headers"), "Content.Simple.Headers")
            tags = _tag_pairs(params.get("EmailTags"), "EmailTags")
            reply_to = _addresses(params.get("ReplyToAddresses"), "ReplyToAddresses")
        except SesV2Error as exc:
            return _json(start_response, exc.status, {"message": exc.message}, [("x-amzn-ErrorType", exc.code)])
        model = Message if content == "Simple" else RawMessage
        with RECORD_LOCK:
            status, out_headers, body = _call(self.app, environ)
            if status.startswith("200"):
                try:
                    message_id = json.loads(body).get("MessageId")
                except (ValueError, AttributeError):
                    message_id = None
                for record in reversed(getattr(model, "instances_tracked", [])):
                    if getattr(record, "id", None) == message_id:
                        _annotate(record, "SendEmail", headers, tags, reply_to)
                        break
        start_response(status, out_headers)
        return [body]
