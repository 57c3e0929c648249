"""The designer's preview: every template as recipients see it, with its samples.

Shared by ``letterhead dev`` (:mod:`letterhead.dev.devserver`, live) and
``letterhead preview --export`` (a static site): both hold a
:class:`PreviewProject` and turn its states into pages with the same
functions, so a CI artifact shows exactly what the dev server shows.

1. :class:`PreviewProject` compiles ``templates_src/`` in memory with one
   :class:`~letterhead.authoring.compile.Compiler` (the build's own pipeline: the preview
   never renders through a second path) and keeps one :class:`TemplateState`
   per template.  :meth:`PreviewProject.rebuild` takes changed paths and
   recompiles only the templates they touch (a layout, partial or the brand
   touches all).  Nothing is written to ``build/`` or ``ses_templates/``:
   designers commit those with ``letterhead build``.
2. :func:`render_data` renders one data set the way the build checks samples:
   declared types, then every part in designer form (an error names the
   ``template.mjml`` line), then the SES payload exactly as SES would render it
   (what the frames show, byte for byte what ``build/…/samples/*.html`` holds).
3. :func:`index_page`, :func:`template_page` return HTML strings (the
   outbox's page is :mod:`letterhead.dev.outbox`'s, through :func:`render_page`);
   :func:`export_site` writes the static site.

Pages load nothing: CSS and JavaScript are inline (the script allowed by its
hash in a Content-Security-Policy), and each email sits in a sandboxed
``srcdoc`` frame that may load only images (the template's own).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..authoring.compile import CompiledTemplate, Compiler
from ..authoring.lint import Finding, lint
from ..authoring.payload import SesTemplate
from ..authoring.protect import show_designer_lines
from ..authoring.safety import payload_for
from ..authoring.sources import TemplateSource, load_brand, load_source, read_text, template_names
from ..authoring.validate import render_compiled
from ..config import Config
from ..errors import DataError, LetterheadError, Location, RenderError

__all__ = [
    "DESKTOP_WIDTH",
    "MOBILE_WIDTH",
    "PreviewProject",
    "SampleRender",
    "Site",
    "TemplateState",
    "csp",
    "error_view",
    "export_site",
    "index_page",
    "render_data",
    "render_page",
    "template_page",
]

DESKTOP_WIDTH = 720  # a desktop reading pane; the email itself is 600 px wide
MOBILE_WIDTH = 375  # an iPhone's CSS width
PARTS = ("subject", "html", "text")
DROP = "SES would drop this message"


# ---------------------------------------------------------------------------
# States: one compiled template with every sample rendered
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleRender:
    """One data set rendered: the parts recipients get, or why SES would drop it."""

    parts: Mapping[str, str] | None = None
    error: LetterheadError | None = None
    part: str | None = None  # the part that failed

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def html_bytes(self) -> int:
        return len(self.parts["html"].encode("utf-8")) if self.parts else 0


@dataclass(frozen=True)
class TemplateState:
    """What the preview knows about one template after its last compile."""

    name: str
    version: int
    description: str = ""
    source: TemplateSource | None = None
    compiled: CompiledTemplate | None = None
    payload: SesTemplate | None = None
    samples: Mapping[str, Any] = field(default_factory=dict)  # name → data (file order)
    renders: Mapping[str, SampleRender] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    error: LetterheadError | None = None  # the template does not compile
    last_good: TemplateState | None = None  # shown (marked stale) while it does not

    @property
    def status(self) -> str:
        if self.error is not None or any(not r.ok for r in self.renders.values()) \
                or any(f.severity == "error" for f in self.findings):
            return "error"
        return "warning" if self.findings else "ok"

    @property
    def problems(self) -> int:
        """Errors and warnings, for the index."""
        return (1 if self.error else 0) + sum(not r.ok for r in self.renders.values()) + len(self.findings)

    @property
    def largest_html_bytes(self) -> int:
        return max((r.html_bytes for r in self.renders.values()), default=0)

    @property
    def size_bytes(self) -> int:
        return self.payload.size_bytes if self.payload else 0

    @property
    def variables(self) -> Mapping[str, Any]:
        return self.source.variables if self.source else {}

    @property
    def raw_paths(self) -> tuple[str, ...]:
        return tuple(self.compiled.contract.raw_paths()) if self.compiled else ()


def _with_source_line(config: Config, exc: LetterheadError) -> LetterheadError:
    """The designer's lines under an error, as the build shows them."""
    return show_designer_lines(exc, config.root)


def render_data(config: Config, state: TemplateState, data: Any, *, where: str = "the data",
                label: str = "") -> SampleRender:
    """Render ``data`` through ``state``'s template as SES would.

    Never raises for bad data: the returned :class:`SampleRender` carries the
    error (a :class:`RenderError` names the variable and the template line).
    """
    if state.compiled is None or state.payload is None:
        err = state.error or LetterheadError("the template does not compile")
        return SampleRender(error=err)
    try:
        parts = render_compiled(state.compiled, data, variables=state.variables, raw_paths=state.raw_paths,
                                where=where, label=label)
    except RenderError as exc:
        return SampleRender(error=_with_source_line(config, exc), part=exc.part)
    except DataError as exc:
        return SampleRender(error=exc)
    return SampleRender(parts=parts)


def compile_state(config: Config, compiler: Compiler, name: str, *, version: int = 0,
                  previous: TemplateState | None = None) -> TemplateState:
    """Compile one template and render each of its samples; errors are kept
    in the state, never raised."""
    last_good = None
    if previous is not None:
        last_good = previous if previous.error is None else previous.last_good
    try:
        source = load_source(config, name)
    except LetterheadError as exc:
        return TemplateState(name, version, error=_with_source_line(config, exc), last_good=last_good)
    samples = {s.name: s.data for s in source.samples}
    try:
        compiled = compiler.compile(source)
    except LetterheadError as exc:
        return TemplateState(name, version, description=source.description, source=source, samples=samples,
                             error=_with_source_line(config, exc), last_good=last_good)
    payload = payload_for(compiled)
    state = TemplateState(name, version, description=source.description, source=source, compiled=compiled,
                          payload=payload, samples=samples)
    renders = {
        s.name: render_data(config, state, s.data, where=config.rel(s.path), label=f"sample '{s.name}': ")
        for s in source.samples
    }
    findings: tuple[Finding, ...] = ()
    ok = [(n, r.parts["html"]) for n, r in renders.items() if r.parts]
    try:
        findings = tuple(lint(compiled, payload, ok, mjml_source=read_text(source.mjml_path),
                              mjml_path=config.rel(source.mjml_path),
                              gmail_clip_bytes=config.gmail_clip_bytes, variables=source.variables))
    except LetterheadError as exc:
        return TemplateState(name, version, description=source.description, source=source, samples=samples,
                             error=exc, last_good=last_good)
    return TemplateState(name, version, description=source.description, source=source, compiled=compiled,
                         payload=payload, samples=samples, renders=renders, findings=findings)


ALL = None  # rebuild() target meaning "every template"


class PreviewProject:
    """Every template of a project, compiled in memory and kept current.

    Thread-safe: :meth:`rebuild` may run in a worker thread while requests
    read :meth:`get` / :meth:`states` (states are immutable; the dict is
    replaced, never mutated in place).
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.version = 0
        self.error: LetterheadError | None = None  # project-wide: brand file, source folder
        self._states: dict[str, TemplateState] = {}
        self._compiler: Compiler | None = None
        self._lock = threading.Lock()

    # -- reading -----------------------------------------------------------
    def states(self) -> list[TemplateState]:
        return list(self._states.values())

    def get(self, name: str) -> TemplateState | None:
        """The state of a known template; None for anything else (a name from
        a URL is only ever a key into this dict, never a path)."""
        return self._states.get(name)

    @property
    def names(self) -> list[str]:
        return list(self._states)

    # -- building ----------------------------------------------------------
    def affected(self, paths: Iterable[str | Path]) -> set[str] | None:
        """The templates that ``paths`` feed; ``None`` (:data:`ALL`) when a
        shared file (layout, partial, brand) changed."""
        src = self.config.source_dir.resolve()
        brand = self.config.brand_file.resolve()
        names: set[str] = set()
        for p in paths:
            path = Path(p).resolve()
            if path == brand:
                return ALL
            try:
                rel = path.relative_to(src)
            except ValueError:
                continue
            if not rel.parts:
                return ALL
            head = rel.parts[0]
            if head.startswith("."):
                continue
            if head.startswith("_"):
                return ALL
            if len(rel.parts) == 1 and not (src / head).is_dir() and path.suffix:
                continue  # a loose file at the top (a README): feeds nothing
            names.add(head)
        return names

    def rebuild(self, paths: Iterable[str | Path] | None = None) -> list[str] | None:
        """Recompile what ``paths`` touch (everything when ``paths`` is None).

        Returns the names recompiled, added or removed, or ``None`` when every
        template was rebuilt.
        """
        with self._lock:
            target = ALL if paths is None or self._compiler is None else self.affected(paths)
            self.version += 1
            if target is ALL:
                self._rebuild_all()
                return None
            compiler = self._compiler
            assert compiler is not None  # without one, target is ALL
            changed: list[str] = []
            states = dict(self._states)
            for name in sorted(target):
                folder = self.config.source_dir / name
                if not folder.is_dir():
                    if states.pop(name, None) is not None:
                        changed.append(name)
                    continue
                self._forget_jinja(name)
                states[name] = compile_state(self.config, compiler, name, version=self.version,
                                             previous=states.get(name))
                changed.append(name)
            self._states = dict(sorted(states.items()))
            return changed

    def _rebuild_all(self) -> None:
        self.error = None
        old = self._states
        states: dict[str, TemplateState] = {}
        try:
            names = template_names(self.config)
            # A new Compiler reads the brand again and starts a fresh Jinja
            # cache; it costs ~13 ms once, not per template.
            self._compiler = Compiler(self.config, load_brand(self.config))
        except LetterheadError as exc:
            self.error = _with_source_line(self.config, exc)
            self._compiler = None
            self._states = {n: TemplateState(n, self.version, error=self.error, last_good=s.last_good or s)
                            for n, s in old.items()}
            return
        for name in names:
            states[name] = compile_state(self.config, self._compiler, name, version=self.version,
                                         previous=old.get(name))
        self._states = states

    def _forget_jinja(self, name: str) -> None:
        """Drop the template's own files from Jinja's cache.  Jinja would see
        a new mtime by itself, but two saves within one clock tick share one."""
        assert self._compiler is not None
        cache = self._compiler.env.cache
        if cache is None:
            return
        prefix = f"{name}/"
        for key in list(cache.keys()):
            if isinstance(key, tuple) and len(key) == 2 and str(key[1]).startswith(prefix):
                with contextlib.suppress(KeyError):
                    del cache[key]

    def render(self, name: str, data: Any) -> SampleRender | None:
        state = self.get(name)
        if state is None:
            return None
        return render_data(self.config, state, data)


# ---------------------------------------------------------------------------
# Views: plain dicts the pages and the JSON API share
# ---------------------------------------------------------------------------


def error_view(exc: LetterheadError | None, *, part: str | None = None) -> dict[str, Any] | None:
    """An error as the page shows it: a headline and one sentence that says
    what SES would do, then the place, the line and the fix."""
    if exc is None:
        return None
    message = exc.message.replace(" (SES would silently drop this message)", "")
    where = str(exc.location) if exc.location else None
    if isinstance(exc, RenderError):
        headline = DROP
        summary = f"{message}" + (f" at {where}" if where else "") + f": {DROP}"
        if part:
            summary += f" (the {part} part cannot render)"
    elif isinstance(exc, DataError):
        headline = "Data does not match template.toml"
        summary = message + (f" ({where})" if where else "")
    else:
        headline = "The template does not compile"
        summary = (f"{where}: " if where else "") + message
    return {
        "kind": type(exc).__name__,
        "headline": headline,
        "summary": summary,
        "message": message,
        "location": where,
        "source_line": (exc.source_line or "").strip() or None,
        "hint": exc.hint,
        "variable": getattr(exc, "variable", None),
        "part": part,
    }


def render_view(render: SampleRender, clip_bytes: int) -> dict[str, Any]:
    parts = render.parts or {}
    return {
        "ok": render.ok,
        "subject": parts.get("subject", ""),
        "html": parts.get("html", ""),
        "text": parts.get("text", ""),
        "html_bytes": render.html_bytes,
        "size": _size_label(render.html_bytes, clip_bytes) if render.ok else "",
        "error": error_view(render.error, part=render.part),
    }


def _kb(n: int) -> str:
    return f"{n / 1024:.1f} KB"


def _size_label(n: int, clip: int) -> str:
    return f"{_kb(n)} of Gmail's {clip // 1024} KB clip ({100 * n / clip:.0f} %)"


def _size_class(n: int, clip: int) -> str:
    return "error" if n > clip else "warning" if n > 0.8 * clip else "ok"


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """How pages link to each other: the dev server's routes, or files of a
    static export."""

    live: bool = False
    boot: str = ""  # the dev server's run id: a page from an older run reloads

    def index_url(self) -> str:
        return "/" if self.live else "index.html"

    def template_url(self, name: str) -> str:
        return f"/t/{name}" if self.live else f"{name}.html"

    def outbox_url(self) -> str | None:
        return "/outbox" if self.live else None


_ASSETS = Path(__file__).parent / "preview_assets"
_env_lock = threading.Lock()
_env_cache: dict[str, Any] = {}


def _env() -> Any:
    with _env_lock:
        if "env" not in _env_cache:
            import jinja2
            from markupsafe import Markup

            env = jinja2.Environment(
                loader=jinja2.PackageLoader("letterhead.dev", "preview_assets"),
                autoescape=True,
                trim_blocks=True,
                lstrip_blocks=True,
                undefined=jinja2.StrictUndefined,
            )
            script = (_ASSETS / "preview.js").read_text(encoding="utf-8")
            style = (_ASSETS / "preview.css").read_text(encoding="utf-8")
            if "</" in script:
                raise RuntimeError("preview.js must not contain '</'")  # it is inlined
            env.globals.update(
                script=Markup(script),
                style=Markup(style),
                version=__version__,
                desktop_width=DESKTOP_WIDTH,
                mobile_width=MOBILE_WIDTH,
                kb=_kb,
                size_class=_size_class,
            )
            _env_cache["env"] = env
            _env_cache["script_hash"] = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
        return _env_cache["env"]


def csp() -> str:
    """The pages' Content-Security-Policy.  ``srcdoc`` frames inherit it, so
    it also governs the emails: images from anywhere (the template's own),
    inline styles (every email has them), nothing else: no fonts, no
    stylesheets, no scripts but the page's own (by hash), no requests but to
    the dev server itself."""
    _env()
    return (
        "default-src 'none'; "
        f"script-src 'sha256-{_env_cache['script_hash']}'; "
        "style-src 'unsafe-inline'; "
        "img-src http: https: data:; "
        "connect-src 'self'; "
        "frame-src 'self'; "
        "base-uri 'none'; "
        "form-action 'none'"
    )


def _json_for_script(obj: Any) -> Any:
    """JSON safe inside ``<script type="application/json">``."""
    from markupsafe import Markup

    text = json.dumps(obj, ensure_ascii=False, sort_keys=False)
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


def render_page(name: str, site: Site, **context: Any) -> str:
    """One of ``preview_assets/``'s pages, with the script, style and CSP every page carries."""
    return str(_env().get_template(name).render(site=site, csp=csp(), **context))


def index_page(states: Sequence[TemplateState], *, site: Site = Site(), clip_bytes: int = 102 * 1024,
               project_error: LetterheadError | None = None, title: str = "letterhead preview") -> str:
    rows = []
    for s in states:
        shown = s if s.error is None or s.last_good is None else s.last_good
        n = shown.largest_html_bytes
        rows.append({
            "name": s.name,
            "url": site.template_url(s.name),
            "description": s.description or shown.description,
            "status": s.status,
            "status_label": _status_label(s),
            "samples": len(s.samples or shown.samples),
            "html_bytes": n,
            "clip_pct": min(100.0, 100 * n / clip_bytes) if clip_bytes else 0,
            "size_class": _size_class(n, clip_bytes),
            "ses_bytes": shown.size_bytes,
            "error": error_view(s.error),
        })
    return render_page("index.html", site, page="index", title=title, rows=rows, clip_bytes=clip_bytes,
                        project_error=error_view(project_error))


def _status_label(s: TemplateState) -> str:
    if s.error is not None:
        return "does not compile"
    failing = sum(not r.ok for r in s.renders.values())
    errors = sum(f.severity == "error" for f in s.findings)
    warnings = sum(f.severity == "warning" for f in s.findings)
    bits = []
    if failing:
        bits.append(f"{failing} sample{'s' if failing > 1 else ''} would be dropped")
    if errors:
        bits.append(f"{errors} lint error{'s' if errors > 1 else ''}")
    if warnings:
        bits.append(f"{warnings} warning{'s' if warnings > 1 else ''}")
    return ", ".join(bits) or "ok"


def template_model(state: TemplateState, *, sample: str | None, site: Site, clip_bytes: int) -> dict[str, Any]:
    """What the template page's script needs: every sample's data and render."""
    shown = state if state.error is None or state.last_good is None else state.last_good
    order = list(shown.samples)
    current = sample if sample in shown.samples else (order[0] if order else None)
    return {
        "name": state.name,
        "live": site.live,
        "version": state.version,
        "current": current,
        "order": order,
        "stale": shown is not state,
        "samples": {
            n: {"data": shown.samples[n],
                "render": render_view(shown.renders[n], clip_bytes) if n in shown.renders else
                {"ok": False, "subject": "", "html": "", "text": "", "html_bytes": 0, "size": "",
                 "error": error_view(state.error)}}
            for n in order
        },
    }


def template_page(state: TemplateState, *, sample: str | None = None, site: Site = Site(),
                  clip_bytes: int = 102 * 1024, names: Sequence[str] = ()) -> str:
    model = template_model(state, sample=sample, site=site, clip_bytes=clip_bytes)
    current = model["current"]
    render = model["samples"][current]["render"] if current else {
        "ok": False, "subject": "", "html": "", "text": "", "html_bytes": 0, "size": "",
        "error": error_view(state.error)}
    shown = state if state.error is None or state.last_good is None else state.last_good
    findings = [
        {"severity": f.severity, "code": f.code, "message": f.message, "location": str(f.location), "hint": f.hint}
        for f in shown.findings
    ]
    data_text = json.dumps(model["samples"][current]["data"], indent=2, ensure_ascii=False) if current else "{}"
    return render_page(
        "template.html", site, page="template", title=f"{state.name} · letterhead preview",
        state=state, model=_json_for_script(model), current=current, order=model["order"],
        render=render, findings=findings, compile_error=error_view(state.error), stale=model["stale"],
        status=state.status, status_label=_status_label(state), data_text=data_text, clip_bytes=clip_bytes,
        sample_errors={n: s["render"]["error"] is not None for n, s in model["samples"].items()},
        names=[(n, site.template_url(n)) for n in names],
    )


EXPORT_MARKER = ".letterhead-preview"


def export_site(project: PreviewProject, out_dir: Path) -> list[Path]:
    """Write the preview as a static site: ``index.html`` and one page per
    template, nothing loaded from elsewhere (open them from disk or a CI
    artifact).  Refuses a non-empty folder it did not create."""
    out_dir = Path(out_dir)
    marker = out_dir / EXPORT_MARKER
    if out_dir.exists():
        if not out_dir.is_dir():
            raise LetterheadError(f"{out_dir} is a file", hint="pick a folder for the preview site")
        if any(out_dir.iterdir()) and not marker.is_file():
            raise LetterheadError(
                f"{out_dir} is not empty and letterhead did not create it",
                location=Location(str(out_dir)),
                hint="pick a new or empty folder (an earlier export is replaced)",
            )
        for old in out_dir.glob("*.html"):
            old.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text("written by `letterhead preview --export`; the folder is replaced on each export\n")
    site = Site(live=False)
    clip = project.config.gmail_clip_bytes
    states = project.states()
    written = []
    pages = {"index.html": index_page(states, site=site, clip_bytes=clip, project_error=project.error)}
    for s in states:
        pages[f"{s.name}.html"] = template_page(s, site=site, clip_bytes=clip, names=project.names)
    for fname, html in pages.items():
        path = out_dir / fname
        path.write_text(html, encoding="utf-8")
        written.append(path)
    return written
