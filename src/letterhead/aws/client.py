"""The one place letterhead makes boto3 sessions and clients.

Every session and client is made here, so each gets the same treatment:

* the credential redaction of botocore's and urllib3's logs is installed
  first (:func:`letterhead.aws.redact.install_log_redaction`), and any secret
  letterhead hands to boto3 itself is remembered for it;
* the retry configuration is botocore's ``standard`` mode with the total
  attempts capped (:func:`retry_config`; the sender passes 1: it retries by
  itself, and never what may have been sent);
* the region is checked before any call (:func:`check_region`: a missing or
  unknown region fails at once, with a "did you mean");
* a client's method for an API operation named as AWS names it
  (:func:`operation_method`), for the callers that pace and retry by name;
* whether an endpoint is SES itself, a local one, or something else
  (:func:`not_ses_reason`, on :func:`letterhead.aws.loopback.is_loopback_url`);
* an endpoint URL that is no URL fails before any call
  (:func:`check_endpoint_url`), and so does a region botocore refuses;
* every client refuses an answer its service would never send (an HTML page,
  JSON from the query API, an empty answer) with a
  :class:`~letterhead.errors.NotSesEndpoint` that names the URL, what
  answered and the fix (:func:`watch_answers`): botocore would raise a bare
  ``ResponseParserError``, or worse, read a well-formed page as an empty
  answer.

botocore and boto3 are imported inside the functions: importing this module
costs nothing.  Callers translate a ``BotoCoreError`` raised while making a
client with their own wording (:mod:`letterhead.aws.errors`).
"""

from __future__ import annotations

import difflib
import html
import os
import re
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse, urlsplit

from ..errors import EndpointError, NotSesEndpoint
from .loopback import is_loopback_url
from .redact import SECRET_SESSION_ARGS, install_log_redaction, remember_secret

__all__ = ["DEFAULT_MAX_ATTEMPTS", "LOCAL_SES_URL", "check_endpoint_url", "check_region", "describe_answer",
           "known_ses_regions", "make_client", "make_session", "moto_mock_active", "not_ses_hint",
           "not_ses_reason", "operation_method", "retry_config", "watch_answers"]

DEFAULT_MAX_ATTEMPTS = 6  # botocore tries per call, the first included
# Where `letterhead dev` serves its local SES by default (letterhead.dev.devserver;
# the preview is on 8040): the address a wrong endpoint's fix points at.
LOCAL_SES_URL = "http://127.0.0.1:8041"
ENDPOINT_HINT = (f"write it in full, scheme and host: e.g. {LOCAL_SES_URL} (the local SES of "
                 "`letterhead dev`), or unset AWS_ENDPOINT_URL_SES (and --endpoint-url) to use AWS's endpoint")
_REGION_RE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?$")  # botocore's own rule


def retry_config(max_attempts: int = DEFAULT_MAX_ATTEMPTS, *, connect_timeout: float = 10,
                 read_timeout: float = 30, max_pool_connections: int | None = None) -> Any:
    """botocore's ``standard`` retries, at most ``max_attempts`` tries a call."""
    from botocore.config import Config as BotoConfig

    kw: dict[str, Any] = {}
    if max_pool_connections is not None:
        kw["max_pool_connections"] = max_pool_connections
    return BotoConfig(retries={"total_max_attempts": max(1, int(max_attempts)), "mode": "standard"},
                      connect_timeout=connect_timeout, read_timeout=read_timeout, **kw)


def known_ses_regions() -> frozenset[str]:
    """Every region botocore knows an SES endpoint in, across partitions."""
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
    if not _REGION_RE.match(region):
        raise EndpointError(f"{region!r} is not an AWS region name (letters, digits and '-', like 'eu-west-1')",
                            hint="set AWS_REGION (or pass --region) to an SES region, e.g. eu-west-1")
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


def make_session(session_args: Mapping[str, Any] | None = None, *, region: str | None = None,
                 profile: str | None = None) -> Any:
    """A ``boto3.session.Session``; credentials from boto3's chain unless
    ``session_args`` (Session arguments) name them, in which case the secret
    ones are remembered for the log redaction.  May raise ``BotoCoreError``
    (a profile that does not exist): the caller words it."""
    import boto3

    install_log_redaction()
    args = dict(session_args or {})
    remember_secret(*(v for k, v in args.items() if k in SECRET_SESSION_ARGS))
    if region is not None:
        args["region_name"] = region
    if profile is not None:
        args["profile_name"] = profile
    return boto3.session.Session(**args)


def check_endpoint_url(url: str | None, source: str = "--endpoint-url or AWS_ENDPOINT_URL_SES") -> None:
    """Fail before any call on an endpoint URL that is no URL (no scheme, no
    host, a scheme botocore cannot speak): botocore would raise a bare
    ``ValueError``, or try it and fail obscurely.  ``source`` names where
    the value came from, for the message."""
    if url is None:
        return
    scheme, host = "", None
    try:
        parts = urlsplit(url.strip())
        scheme, host = parts.scheme, parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        host = None
    if scheme not in ("http", "https") or not host:
        raise EndpointError(f"the SES endpoint {url!r} (from {source}) is not a URL", hint=ENDPOINT_HINT)


def _endpoint_source(service: str) -> tuple[str, str] | None:
    """The endpoint botocore would read from the environment for ``service``:
    (variable, value), or None."""
    for var in (f"AWS_ENDPOINT_URL_{service.upper()}", "AWS_ENDPOINT_URL"):
        value = os.environ.get(var)
        if value:
            return var, value
    return None


def make_client(service: str, *, session: Any = None, region: str | None = None,
                endpoint_url: str | None = None, config: Any = None, **client_args: Any) -> Any:
    """A boto3 client of ``service`` (``ses``, ``sesv2``) from ``session``
    (a new one from boto3's chain when None).  ``endpoint_url``: a local or
    test endpoint (None: AWS's own, or AWS_ENDPOINT_URL_SES); ``client_args``:
    further ``Session.client`` arguments.  An endpoint URL or a region
    botocore cannot use raises ``EndpointError``; the client refuses answers
    that are not its service's (:func:`watch_answers`)."""
    from botocore.exceptions import InvalidRegionError

    install_log_redaction()
    if endpoint_url:
        check_endpoint_url(endpoint_url)
    else:
        env = _endpoint_source(service)
        if env is not None:
            check_endpoint_url(env[1], env[0])
    if session is None:
        session = make_session()
    try:
        client = session.client(service, region_name=region, endpoint_url=endpoint_url, config=config,
                                **client_args)
    except InvalidRegionError:
        name = region or getattr(session, "region_name", None)
        raise EndpointError(f"{name!r} is not an AWS region name (letters, digits and '-', like 'eu-west-1')",
                            hint="set AWS_REGION (or pass --region) to an SES region, e.g. eu-west-1") from None
    except ValueError as exc:  # an endpoint_url in the AWS config file: "Invalid endpoint: ..."
        if "endpoint" not in str(exc).lower():
            raise
        raise EndpointError(f"botocore refused the SES endpoint ({exc})", hint=ENDPOINT_HINT) from None
    return watch_answers(client)


# -- answers that are not the service's ------------------------------------------------------

_ROOT_RE = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_PROLOG_RE = re.compile(rb"\A(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*", re.S | re.I)
_TITLE_RE = re.compile(rb"<title[^>]*>(.*?)</title>", re.S | re.I)


def describe_answer(body: bytes, protocol: str = "query") -> str | None:
    """What ``body`` is, when it is not an answer of an AWS API of
    ``protocol`` (``query``: SES v1, XML whose root ends in ``Response``;
    ``rest-json``: SES v2, JSON or nothing): "an HTML page ("its title")",
    "JSON", "an empty answer", "plain text"...  None when it is one, or when
    letterhead does not know the protocol."""
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if protocol in ("query", "rest-xml", "ec2") and head.startswith(b"<"):
        prolog = _PROLOG_RE.match(head)
        m = _ROOT_RE.match(head, prolog.end() if prolog else 0)
        root = m.group(2).decode("ascii", "replace") if m else ""
        if root.endswith("Response") or root in ("Error", "Errors"):
            return None
        if root.lower() != "html" and b"<html" not in head[:512].lower():
            return f"XML that is not an SES answer (<{root}>)" if root else "XML that is not an SES answer"
    if head[:512].lower().startswith((b"<!doctype html", b"<html")) or b"<html" in head[:512].lower():
        title = _TITLE_RE.search(body[:65536])
        name = " ".join(html.unescape(title.group(1).decode("utf-8", "replace")).split())[:60] if title else ""
        return f'an HTML page ("{name}")' if name else "an HTML page"
    if protocol in ("rest-json", "json"):
        return None if not head or head.startswith((b"{", b"[")) else _kind(head)
    if protocol not in ("query", "rest-xml", "ec2"):
        return None
    return _kind(head)


def _kind(head: bytes) -> str:
    if not head:
        return "an empty answer"
    if head.startswith((b"{", b"[")):
        return "JSON"
    return "plain text" if head.isascii() or _is_text(head) else "binary data"


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def not_ses_hint(url: str | None, region: str | None) -> str:
    """The fix when something other than SES answered at ``url``."""
    if region and _REGION_RE.match(region) and region not in known_ses_regions():
        near = difflib.get_close_matches(region, sorted(known_ses_regions()), n=1)
        return (f"the region {region!r} (AWS_REGION or --region) is not an SES region"
                + (f" (did you mean {near[0]!r}?)" if near else "")
                + ": set one, e.g. eu-west-1; moto, and so the local SES, knows only AWS's regions")
    if url and is_loopback_url(url):
        return ("point AWS_ENDPOINT_URL_SES (or --endpoint-url) at the local SES: `letterhead dev` prints "
                f"its address ({LOCAL_SES_URL} by default; 8040 is the preview)")
    if url and (urlsplit(url).hostname or "").endswith((".amazonaws.com", ".amazonaws.com.cn")):
        return ("something between here and AWS answered instead of SES: a proxy (HTTPS_PROXY) or a captive "
                "portal? check the network")
    return ("point AWS_ENDPOINT_URL_SES (or --endpoint-url) at an SES endpoint, or unset both to use AWS's "
            "endpoint for AWS_REGION")


def not_ses_error(url: str | None, region: str | None, operation: str, status: int | None, what: str
                  ) -> NotSesEndpoint:
    """The error of an answer that was not SES's: where, what, the fix."""
    where = url or "the SES endpoint"
    code = f"HTTP {status}" if status is not None else "HTTP status unknown"
    return NotSesEndpoint(f"{where} answered {operation} with {what}, not SES ({code})",
                          hint=not_ses_hint(url, region), operation=operation, url=url, status=status)


def watch_answers(client: Any) -> Any:
    """Make ``client`` raise :class:`~letterhead.errors.NotSesEndpoint` on an
    answer its service would never send, before botocore parses it (a
    ``before-parse`` hook; registering twice is harmless).  Returns the
    client."""
    meta = client.meta
    model = meta.service_model
    service = model.service_id.hyphenize()
    protocol = str(getattr(model, "resolved_protocol", None) or model.protocol)

    def check(operation_model: Any = None, response_dict: Any = None, **_: Any) -> None:
        if not isinstance(response_dict, dict):
            return
        body = response_dict.get("body")
        status = response_dict.get("status_code")
        if not isinstance(body, bytes | bytearray):
            return  # a streamed answer: not one of SES's
        if not body.strip() and isinstance(status, int) and status >= 500:
            return  # botocore reads an empty 5xx as a service fault, and retries it
        what = describe_answer(bytes(body), protocol)
        if what is not None:
            name = getattr(operation_model, "name", None) or "a call"
            raise not_ses_error(meta.endpoint_url, meta.region_name, name, status, what)

    meta.events.register(f"before-parse.{service}", check, unique_id=f"letterhead-watch-answers-{service}")
    return client


def operation_method(client: Any, operation: str) -> Any:
    """The method of a boto3 ``client`` for the API ``operation`` named as
    AWS names it: ``SendTemplatedEmail`` → ``client.send_templated_email``."""
    name = "".join(f"_{ch.lower()}" if ch.isupper() and i else ch.lower()
                   for i, ch in enumerate(operation))
    return getattr(client, name)


def moto_mock_active() -> bool:
    """True while moto's in-process mock answers botocore's requests."""
    mod = sys.modules.get("moto.core.models")
    stubber = getattr(mod, "botocore_stubber", None)
    return bool(getattr(stubber, "enabled", False))


def not_ses_reason(endpoint_url: str | None) -> str | None:
    """Why what answers at ``endpoint_url`` is not SES itself (moto's mock, a
    local endpoint, another host), or None when it is AWS's endpoint."""
    if moto_mock_active():
        return "moto's in-process mock answers instead of SES; its test_render is not SES's renderer"
    url = endpoint_url
    if url and is_loopback_url(url):
        return f"{url} is a local endpoint (moto or similar), not SES; its test_render is not SES's renderer"
    host = (urlparse(url).hostname or "") if url else ""
    if url and not host.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        return f"{url} is not an AWS endpoint; only SES itself can check SES rendering"
    return None
