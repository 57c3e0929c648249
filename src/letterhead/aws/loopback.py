"""Which requests letterhead's local servers answer: one rule for both.

``letterhead dev`` runs two HTTP servers on loopback: the preview site
(Starlette, :mod:`letterhead.dev.devserver`) and the local SES (moto's WSGI app,
:mod:`letterhead.dev.localses`), which holds every message an application sent and
its data.  Binding to 127.0.0.1 keeps other machines out, but not the web
pages the developer opens: a page can make the browser send requests to
loopback, and

* **DNS rebinding**: a hostile domain re-resolved to 127.0.0.1 is same-origin
  with the server for the browser, so the page reads the answers.  The only
  trace is the ``Host`` header, which names the hostile domain.
* **CORS**: moto answers every ``Origin`` with ``Access-Control-Allow-Origin``
  set to that origin, so any page could read ``/moto-api/data.json``.

So a request is answered only when its ``Host`` names a loopback host (or the
address the user chose to serve on), and its ``Origin``, when a browser sends
one, is the server's own origin (the page it served).  Clients that are not
browsers (boto3, the AWS CLI, curl) send no ``Origin`` and a loopback
``Host``: they are unaffected.  Responses never carry CORS headers.

This module is also the package's single "is this host loopback" test
(:func:`is_loopback_host`, :func:`is_loopback_url`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LOOPBACK_NAMES", "AsgiGuard", "WsgiGuard", "allowed_hosts", "is_loopback_host",
           "is_loopback_url", "refusal"]

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback_host(host: str) -> bool:
    """``localhost``, ``*.localhost`` (RFC 6761 reserves them for loopback),
    or a loopback IP address (``127.0.0.0/8``, ``::1``, brackets allowed)."""
    host = host.strip().strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str | None) -> bool:
    """True when ``url``'s host is loopback (an endpoint on this machine)."""
    if not url:
        return False
    try:
        return is_loopback_host(urlsplit(url).hostname or "")
    except ValueError:
        return False


def allowed_hosts(bind_host: str) -> frozenset[str]:
    """The host names a server bound to ``bind_host`` answers to.  Empty when
    it serves every interface (``0.0.0.0``, ``::``): the user chose to share it,
    and any name may reach it."""
    if bind_host in ("0.0.0.0", "::", ""):
        return frozenset()
    return LOOPBACK_NAMES | {bind_host.strip("[]").lower()}


def _host_name(host_header: str) -> str:
    """``"localhost:8040"`` → ``localhost``; ``"[::1]:8041"`` → ``::1``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") > 1:  # a bare IPv6 address (not valid in Host, but harmless)
        return host
    return host.rsplit(":", 1)[0] if ":" in host else host


def refusal(host: str | None, origin: str | None, allowed: Iterable[str]) -> tuple[int, str] | None:
    """Why a request must be refused: the HTTP status and a short text for the
    body (400 for a foreign ``Host``, 403 for a foreign ``Origin``), or None.

    ``host``/``origin``: the request's headers (None when absent).  ``allowed``:
    :func:`allowed_hosts` of the server; empty accepts any ``Host``.
    """
    allowed = frozenset(allowed)
    if allowed and _host_name(host or "") not in allowed:
        return 400, "unknown host: this server answers only to localhost / 127.0.0.1 (DNS rebinding protection)"
    # A browser page: only the server's own pages may talk to it.
    if origin is not None and origin.strip().lower() not in {f"http://{(host or '').strip().lower()}",
                                                             f"https://{(host or '').strip().lower()}"}:
        return 403, "cross-origin request refused: only this server's own pages may call it"
    return None


_CORS_PREFIX = "access-control-"


class AsgiGuard:
    """ASGI middleware applying :func:`refusal` (a plain-text 400 or 403)."""

    def __init__(self, app: Any, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(allowed)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            host = origin = None
            for k, v in scope.get("headers") or ():
                if k == b"host":
                    host = v.decode("latin-1")
                elif k == b"origin":
                    origin = v.decode("latin-1")
            refused = refusal(host, origin, self.allowed)
            if refused is not None:
                status, reason = refused
                body = reason.encode()
                await send({"type": "http.response.start", "status": status,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class WsgiGuard:
    """WSGI middleware applying :func:`refusal`, and dropping every
    ``Access-Control-*`` header the wrapped app sets (moto echoes any Origin)."""

    def __init__(self, app: Callable[..., Any], allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(allowed)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        refused = refusal(environ.get("HTTP_HOST"), environ.get("HTTP_ORIGIN"), self.allowed)
        if refused is not None:
            status, reason = refused
            body = reason.encode()
            start_response("400 Bad Request" if status == 400 else "403 Forbidden",
                           [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
            return [body]

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith(_CORS_PREFIX)]
            return start_response(status, kept, exc_info) if exc_info else start_response(status, kept)

        return self.app(environ, start)
