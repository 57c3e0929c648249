"""``letterhead dev``: the preview site, live, plus a local SES with an outbox.

One process, three loops on one asyncio event loop (uvicorn's):

1. **watch**: :func:`watchfiles.awatch` on ``templates_src/`` (and the brand
   file) with a 10 ms step instead of watchfiles' 1.6 s default debounce; each
   batch of changed paths goes to :meth:`PreviewProject.rebuild
   <letterhead.dev.preview.PreviewProject.rebuild>` in a worker thread, which
   recompiles only the templates those paths feed.  The same loop notices
   a new ``letterhead check`` report (``.letterhead-cache/check.json``, read
   by :class:`~letterhead.dev.preview_check.ReportFile`) and refreshes pages.
2. **push**: every open page holds a server-sent-events stream (``/events``);
   a rebuild publishes ``change`` with the template names, and the page
   fetches its new content.  No websocket, no polling by the page.
3. **outbox**: when the local SES runs (:class:`letterhead.dev.localses.LocalSes`,
   moto on loopback), its sent messages are read a few times a second, each
   new one rendered once as SES would have rendered it at send time, and
   ``outbox`` is published.  The outbox page lists 50 a page and fetches a
   message's body when it is opened (:mod:`letterhead.dev.outbox`);
   ``POST /api/outbox/clear`` forgets the sent messages (templates and
   verified senders stay).

The site is a small Starlette app.  Everything is served from memory: nothing
under ``build/`` or ``ses_templates/`` is written (``letterhead build`` does
that, and designers commit its output).  A template's page is
``/t/<template>?locale=<locale>&sample=<sample>&scheme=dark`` (a locale picked by the
fallback chain, ``es-MX`` → ``es`` → the default); the API, the local SES and
the ``change`` events name SES templates (``welcome``, ``welcome__es``).
Template names and locales in URLs are only keys into the compiled set;
there is no file serving at all, so no path traversal.
Requests must name a loopback host (DNS rebinding) and come from no other
origin (:mod:`letterhead.aws.loopback`, the local SES's rule too), and every page
carries the Content-Security-Policy of :func:`letterhead.dev.preview.csp`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..authoring.payload import SesTemplate
from ..authoring.validate import MAX_DATA_DEPTH, depth_over
from ..aws.loopback import AsgiGuard, allowed_hosts, is_loopback_host
from ..config import Config
from ..errors import LetterheadError
from .localses import DEFAULT_REGION, Delivery, LocalSes, SentMessage, render_sent
from .outbox import message_body, outbox_listing, outbox_page, paginate
from .preview import PreviewProject, ReportFile, Site, TemplateState, csp, index_page, render_view, template_page

__all__ = ["DEFAULT_PORT", "DEFAULT_SES_PORT", "DevServer", "RebuildEvent"]

DEFAULT_PORT = 8040
DEFAULT_SES_PORT = 8041
MAX_BODY_BYTES = 1024 * 1024  # SES caps TemplateData at 262,144 characters
KEEPALIVE_SECONDS = 15.0


@dataclass(frozen=True)
class RebuildEvent:
    """What one save caused, for the command line to report."""

    names: tuple[str, ...] | None  # None: every template (a shared file changed)
    states: tuple[TemplateState, ...]
    seconds: float


class _Hub:
    """Server-sent-event subscribers; lives on the event loop's thread."""

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[str | None]] = set()
        self.closed = False

    def subscribe(self) -> asyncio.Queue[str | None]:
        q: asyncio.Queue[str | None] = asyncio.Queue()
        if self.closed:
            q.put_nowait(None)
        self.queues.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[str | None]) -> None:
        self.queues.discard(q)

    def publish(self, event: str, data: Any) -> None:
        message = f"event: {event}\ndata: {json.dumps(data)}\n\n"
        for q in list(self.queues):
            q.put_nowait(message)

    def close(self) -> None:
        self.closed = True
        for q in list(self.queues):
            q.put_nowait(None)


class _BadRequest(Exception):
    """A render request the API answers with 400: a headline and one sentence."""

    def __init__(self, headline: str, summary: str) -> None:
        super().__init__(headline)
        self.headline = headline
        self.summary = summary


def _refuse_constant(name: str) -> Any:
    raise _BadRequest("not valid JSON", f"{name} is not JSON, and SES refuses TemplateData holding it")


def _render_request(body: bytes, samples: Mapping[str, Any]) -> Any:
    """The template data a ``/api/render`` body asks for: ``{"data": {...}}``
    or ``{"sample": "name"}``.  Anything else is a :class:`_BadRequest`, never
    a 500: the body comes from any page (a bug in preview.js, a curl)."""
    try:
        text = body.decode("utf-8") if body else "{}"
    except UnicodeDecodeError:
        raise _BadRequest("not valid JSON", "the body is not UTF-8") from None
    too_deep = (f"the JSON is nested more than {MAX_DATA_DEPTH} levels deep; template data is a few "
                "levels of objects and lists")
    try:
        payload = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise _BadRequest("data nested too deeply", too_deep) from None
    except ValueError as exc:
        raise _BadRequest("not valid JSON", str(exc)) from None
    if not isinstance(payload, dict):
        raise _BadRequest("send a JSON object", '{"data": {...}} or {"sample": "name"}')
    if "data" not in payload and "sample" in payload:
        if not isinstance(payload["sample"], str):
            raise _BadRequest("bad request", "`sample` must be the name of a sample (a string)")
        if payload["sample"] not in samples:
            raise _BadRequest("bad request", "no sample named that in the template's samples/ folder")
        return samples[payload["sample"]]
    data = payload.get("data", {})
    if not isinstance(data, dict):
        raise _BadRequest("bad request", "`data` must be a JSON object (the template data)")
    if depth_over(data):
        raise _BadRequest("data nested too deeply", too_deep)
    return data


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise LetterheadError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another port with --port (and --ses-port), or stop what is using it",
        ) from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class DevServer:
    """The preview site and, optionally, the local SES.

    ``run()`` serves until interrupted; ``serve()`` is a context manager that
    serves from a background thread and yields the base URL (tests, bench).
    """

    def __init__(
        self,
        config: Config,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        ses: bool = True,
        ses_port: int = DEFAULT_SES_PORT,
        senders: Sequence[str] = (),
        region: str | None = None,
        debounce_ms: int = 50,
        step_ms: int = 10,
        outbox_poll_seconds: float = 0.25,
        on_rebuild: Callable[[RebuildEvent], None] | None = None,
        on_send: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.config = config
        self.host = host
        self.port = port
        self.project = PreviewProject(config)
        self.reports = ReportFile(config.root)  # the last `letterhead check`, beside each template
        self.boot = secrets.token_hex(6)
        self.site = Site(live=True, boot=self.boot)
        self.ses_enabled = ses
        self.ses_port = ses_port
        self.senders = tuple(senders)
        self.region = region or config.region or DEFAULT_REGION
        self.debounce_ms = debounce_ms
        self.step_ms = step_ms
        self.outbox_poll_seconds = outbox_poll_seconds
        self.on_rebuild = on_rebuild
        self.on_send = on_send
        self.local_ses: LocalSes | None = None
        self.ses_error: str | None = None
        self.deliveries: dict[str, Delivery] = {}  # message id → what SES would do, oldest first
        self.watching = False
        self._hub = _Hub()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._sock: socket.socket | None = None
        self._ses_lock = threading.Lock()
        self.app = self._make_app()

    # -- addresses ---------------------------------------------------------
    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _allowed_hosts(self) -> frozenset[str]:
        return allowed_hosts(self.host)  # empty for 0.0.0.0: the user chose to serve the network

    # -- services ----------------------------------------------------------
    def start(self) -> None:
        """Compile everything, bind the port, start the local SES."""
        self._sock = _bind(self.host, self.port)
        self.port = self._sock.getsockname()[1]
        self.project.rebuild()
        if self.ses_enabled:
            try:
                self.local_ses = LocalSes(host=self.host if is_loopback_host(self.host) else "127.0.0.1",
                                          port=self.ses_port, region=self.region, senders=self.senders).start()
            except LetterheadError as exc:
                self.ses_error = str(exc)
                self.local_ses = None
            else:
                self._push_templates(None)

    def stop(self) -> None:
        if self.local_ses is not None:
            self.local_ses.stop()
            self.local_ses = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _push_templates(self, names: Sequence[str] | None) -> None:
        """Keep the local SES's templates equal to the compiled ones."""
        ses = self.local_ses
        if ses is None:
            return
        with self._ses_lock:
            targets = self.project.names if names is None else names
            for name in targets:
                state = self.project.get(name)
                try:
                    if state is None:
                        ses.delete_template(name)
                    elif state.payload is not None:
                        ses.put_template(state.payload)
                    elif names is None and (self.config.ses_dir / f"{name}.json").is_file():
                        # does not compile now: start from what `letterhead build` wrote last
                        ses.put_template(SesTemplate.load(self.config.ses_dir / f"{name}.json"))
                except Exception as exc:
                    self.ses_error = f"could not load {name} into the local SES: {exc}"

    # -- the app -----------------------------------------------------------
    def _make_app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
        from starlette.routing import Route

        policy = csp() + "; frame-ancestors 'none'"
        headers = {
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        }

        def html(body: str, status: int = 200) -> Response:
            return HTMLResponse(body, status_code=status, headers=headers)

        def not_found(name: str) -> Response:
            return html(f"<!doctype html><title>not found</title><p>No template named "
                        f"{_escape(name)}. <a href='/'>All templates</a></p>", 404)

        async def index(request: Request) -> Response:
            return html(index_page(self.project.states(), site=self.site,
                                   clip_bytes=self.config.gmail_clip_bytes, project_error=self.project.error,
                                   report=self.reports.get()))

        async def template(request: Request) -> Response:
            name = request.path_params["name"]
            state = self.project.variant(name, request.query_params.get("locale"))
            if state is None:
                return not_found(name)
            return html(template_page(state, sample=request.query_params.get("sample"), site=self.site,
                                      clip_bytes=self.config.gmail_clip_bytes, project=self.project,
                                      report=self.reports.get(), scheme=request.query_params.get("scheme")))

        async def outbox(request: Request) -> Response:
            ses = self.local_ses
            return html(outbox_page(
                paginate(list(self.deliveries.values()), request.query_params.get("page")), site=self.site,
                endpoint_url=ses.endpoint_url if ses else None, region=self.region,
                senders=ses.verified if ses else (), templates=self.project.names if ses else (),
                ses_error=self.ses_error if ses is None else None,
                disabled=not self.ses_enabled))

        def refuse(status: int, headline: str, summary: str = "") -> Response:
            return JSONResponse({"ok": False, "error": {"headline": headline, "summary": summary}},
                                status_code=status, headers=headers)

        def not_json(request: Request) -> Response | None:
            """Write endpoints take JSON only: a page elsewhere cannot send
            that without a CORS preflight (which gets no CORS answer), and the
            guard refuses its Origin anyway."""
            if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
                return refuse(415, "send JSON", "Content-Type: application/json")
            return None

        async def render(request: Request) -> Response:
            name = request.path_params["name"]
            state = self.project.get(name)
            if state is None:
                return refuse(404, "not found", "no such template")
            refused = not_json(request)
            if refused is not None:
                return refused
            too_large = f"the body is over {MAX_BODY_BYTES:,} bytes (SES takes 262,144 characters of data)"
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                return refuse(413, "too large", too_large)
            chunks: list[bytes] = []
            size = 0
            async for chunk in request.stream():
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    return refuse(413, "too large", too_large)
            try:
                data = _render_request(b"".join(chunks), state.samples)
            except _BadRequest as exc:
                return refuse(400, exc.headline, exc.summary)
            result = self.project.render(name, data)
            assert result is not None
            return JSONResponse(render_view(result, self.config.gmail_clip_bytes), headers=headers)

        async def status(request: Request) -> Response:
            return JSONResponse({
                "version": self.project.version,
                "watching": self.watching,
                "boot": self.boot,
                "templates": {s.name: s.status for s in self.project.states()},
                "ses_endpoint": self.local_ses.endpoint_url if self.local_ses else None,
                "sent": len(self.deliveries),
            }, headers=headers)

        async def outbox_json(request: Request) -> Response:
            paged = paginate(list(self.deliveries.values()), request.query_params.get("page"))
            return JSONResponse(outbox_listing(paged), headers=headers)

        async def outbox_message(request: Request) -> Response:
            d = self.deliveries.get(request.path_params["id"])
            if d is None:
                return refuse(404, "not found", "no such message in the outbox (cleared?)")
            return JSONResponse(message_body(d), headers=headers)

        async def outbox_clear(request: Request) -> Response:
            refused = not_json(request)
            if refused is not None:
                return refused
            if self.local_ses is None:
                return refuse(409, "the local SES is not running", "there is no outbox to clear")
            try:
                cleared = await asyncio.to_thread(self.clear_outbox)
            except LetterheadError as exc:
                return refuse(502, "could not clear the outbox", str(exc))
            self._hub.publish("outbox", {"count": 0, "cleared": True})
            return JSONResponse({"ok": True, "cleared": cleared}, headers=headers)

        async def events(request: Request) -> Response:
            q = self._hub.subscribe()

            async def stream() -> AsyncIterator[str]:
                try:
                    yield "retry: 500\n"
                    yield f"event: hello\ndata: {json.dumps({'boot': self.boot, 'version': self.project.version})}\n\n"
                    while True:
                        try:
                            msg = await asyncio.wait_for(q.get(), KEEPALIVE_SECONDS)
                        except TimeoutError:
                            yield ": keepalive\n\n"
                            continue
                        if msg is None:
                            return
                        yield msg
                finally:
                    self._hub.unsubscribe(q)

            return StreamingResponse(stream(), media_type="text/event-stream",
                                     headers={**headers, "X-Accel-Buffering": "no"})

        @asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[None]:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            tasks = [asyncio.create_task(self._watch())]
            if self.local_ses is not None:
                tasks.append(asyncio.create_task(self._poll_outbox()))
            try:
                yield
            finally:
                self._stop.set()
                self._hub.close()
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

        app = Starlette(
            routes=[
                Route("/", index),
                Route("/t/{name}", template),
                Route("/outbox", outbox),
                Route("/events", events),
                Route("/api/render/{name}", render, methods=["POST"]),
                Route("/api/status", status),
                Route("/api/outbox", outbox_json),
                Route("/api/outbox/clear", outbox_clear, methods=["POST"]),
                Route("/api/outbox/{id}", outbox_message),
            ],
            lifespan=lifespan,
        )
        return AsgiGuard(app, self._allowed_hosts())

    # -- loops -------------------------------------------------------------
    def _watch_paths(self) -> list[Path]:
        paths = [self.config.source_dir]
        brand = self.config.brand_file
        try:
            brand.resolve().relative_to(self.config.source_dir.resolve())
        except ValueError:
            if brand.parent.is_dir():
                paths.append(brand.parent)
        return [p for p in paths if p.is_dir()]

    def _watch_filter(self) -> Callable[[Any, str], bool]:
        from watchfiles import DefaultFilter

        default = DefaultFilter()
        src = str(self.config.source_dir.resolve())
        brand = str(self.config.brand_file.resolve())

        def accept(change: Any, path: str) -> bool:
            if not default(change, path):
                return False
            real = str(Path(path).resolve())
            return real == brand or real.startswith(src)

        return accept

    async def _watch(self) -> None:
        from watchfiles import awatch

        assert self._stop is not None
        paths = self._watch_paths()
        if not paths:
            return
        async for changes in awatch(*paths, watch_filter=self._watch_filter(), debounce=self.debounce_ms,
                                    step=self.step_ms, stop_event=self._stop, rust_timeout=250,
                                    yield_on_timeout=True):
            self.watching = True
            if self.reports.changed():  # `letterhead check` wrote a new report: every page's panel
                self._hub.publish("change", {"names": None, "version": self.project.version, "check": True})
            if not changes:
                continue
            t0 = time.perf_counter()
            changed = await asyncio.to_thread(self.project.rebuild, [p for _, p in changes])
            seconds = time.perf_counter() - t0
            if changed is not None and not changed:
                continue
            self._hub.publish("change", {"names": changed, "version": self.project.version,
                                         "ms": round(seconds * 1000, 1)})
            if self.on_rebuild is not None:
                names = tuple(changed) if changed is not None else None
                states = tuple(s for s in self.project.states() if names is None or s.name in names)
                self.on_rebuild(RebuildEvent(names, states, seconds))
            if self.local_ses is not None:
                await asyncio.to_thread(self._push_templates, changed)

    def _collect_outbox(self) -> list[Delivery]:
        """New sends, each rendered once against the template SES holds now
        (so a later edit does not rewrite what was sent)."""
        ses = self.local_ses
        if ses is None:
            return []
        new: list[Delivery] = []
        with self._ses_lock:
            messages: list[SentMessage] = ses.sent_messages()
            known = dict(self.deliveries)  # pages iterate the old dict meanwhile: replace, never mutate
            templates: dict[str, SesTemplate | None] = {}  # one GetTemplate per template, not per message
            for m in messages:
                if m.id in known:
                    continue
                if m.template and m.template not in templates:
                    templates[m.template] = ses.template(m.template)
                payload = templates.get(m.template) if m.template else None
                state = self.project.get(m.template or "")
                d = render_sent(m, payload, state.variables if state else None)
                known[m.id] = d
                new.append(d)
            if new:
                self.deliveries = known
        return new

    def clear_outbox(self) -> int:
        """Forget every sent message, in the local SES and here; templates and
        verified senders stay.  Returns how many the local SES forgot."""
        ses = self.local_ses
        if ses is None:
            return 0
        with self._ses_lock:  # not between the poller's read and its update
            cleared = ses.clear_outbox()
            self.deliveries = {}
        return cleared

    async def _poll_outbox(self) -> None:
        while True:
            await asyncio.sleep(self.outbox_poll_seconds)
            try:
                new = await asyncio.to_thread(self._collect_outbox)
            except LetterheadError:
                continue
            if new:
                self._hub.publish("outbox", {"count": len(self.deliveries)})
                if self.on_send is not None:
                    for d in new:
                        self.on_send(d)

    # -- running -----------------------------------------------------------
    def _uvicorn(self) -> Any:
        import uvicorn

        hub_close = self._close_streams

        class _Server(uvicorn.Server):
            def handle_exit(self, sig: int, frame: Any) -> None:  # Ctrl-C: end the SSE streams first
                hub_close()
                super().handle_exit(sig, frame)

        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=2, server_header=False)
        return _Server(config)

    def _close_streams(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(self._hub.close)

    def run(self) -> None:
        """Serve until interrupted (the ``letterhead dev`` command)."""
        if self._sock is None:
            self.start()
        try:
            self._uvicorn().run(sockets=[self._sock])
        finally:
            self.stop()

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve from a background thread; yields the base URL."""
        if self._sock is None:
            self.start()
        server = self._uvicorn()
        thread = threading.Thread(target=server.run, kwargs={"sockets": [self._sock]}, daemon=True,
                                  name="letterhead-dev")
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise LetterheadError("the preview server did not start")
            time.sleep(0.01)
        try:
            yield self.url
        finally:
            self._close_streams()
            server.should_exit = True
            thread.join(timeout=10)
            self.stop()

    def wait_watching(self, timeout: float = 10.0) -> bool:
        """True once the file watcher runs (a save before that is not seen)."""
        deadline = time.monotonic() + timeout
        while not self.watching and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.watching


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
