"""SNS over HTTPS into an :class:`~letterhead.events.consumer.EventConsumer` (issue 16).

In: SNS's POSTs (a JSON body sent as ``text/plain; charset=UTF-8``, the
``x-amz-sns-message-type`` header).  Out: the HTTP answer SNS acts on: 2xx
done, 4xx refused for good (SNS does not retry it), 5xx a handler failed
(SNS retries with backoff, per the subscription's delivery policy).

Two forms, one rule set:

* :func:`asgi_app` — a raw ASGI application (no framework), to mount in any
  ASGI server or router (uvicorn, hypercorn, Starlette's ``Mount``, Django's
  ASGI router...);
* :func:`handle_sns_request` — a plain function for WSGI frameworks (Django,
  Flask): pass the body and headers, return its (status, text).

Neither does the verification itself: :meth:`EventConsumer.handle_http`
does, with the consumer's :class:`~letterhead.events.sns.SnsVerifier`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from ..errors import ConfigError
from .consumer import EventConsumer

MAX_BODY = 256 * 1024  # SNS messages are at most 256 KiB; the envelope adds a little
_BODY_CAP = MAX_BODY + 16 * 1024
JSON_TYPES = ("text/plain", "application/json")  # SNS sends text/plain; charset=UTF-8

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def handle_sns_request(consumer: EventConsumer, body: bytes, headers: Mapping[str, str],
                       method: str = "POST") -> tuple[int, str]:
    """One HTTP request from SNS: (status, text) for the framework to answer
    with.  405 not a POST, 413 a body over :data:`MAX_BODY`, 415 a content
    type SNS does not send; everything else is
    :meth:`EventConsumer.handle_http`'s answer."""
    if method.upper() != "POST":
        return 405, "POST only"
    if len(body) > _BODY_CAP:
        return 413, "body too large"
    lower = {k.lower(): v for k, v in headers.items()}
    content_type = lower.get("content-type", "text/plain").split(";", 1)[0].strip().lower()
    if content_type and content_type not in JSON_TYPES:
        return 415, "SNS sends text/plain"
    return consumer.handle_http(body, lower)


def asgi_app(consumer: EventConsumer, *, max_body: int = _BODY_CAP) -> App:
    """An ASGI application for SNS's HTTP(S) subscription (any path).  The
    consumer must have a verifier: letterhead accepts no unverified message
    over HTTP.  Handling (signature checks, handlers) runs in a worker
    thread, not on the event loop."""
    if consumer.verifier is None:
        raise ConfigError("asgi_app needs an EventConsumer with a verifier (SnsVerifier)",
                          hint="EventConsumer(verifier=SnsVerifier(topics)): the topics from "
                               "[tool.letterhead.events] topics")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets: nothing to do here; the server closes it
        method = str(scope.get("method", "GET"))
        if method != "POST":
            await _answer(send, 405, "POST only", (b"allow", b"POST"))
            await _drain(receive)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > max_body:
            await _answer(send, 413, "body too large")
            return
        body = await _read(receive, max_body)
        if body is None:
            await _answer(send, 413, "body too large")
            return
        status, text = await asyncio.to_thread(handle_sns_request, consumer, body, headers)
        await _answer(send, status, text)

    return app


async def _read(receive: Receive, cap: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return


async def _answer(send: Send, status: int, text: str, *extra: tuple[bytes, bytes]) -> None:
    body = (text + "\n").encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode("ascii")), *extra]})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
