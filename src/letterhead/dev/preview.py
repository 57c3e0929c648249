"""The designer's preview: every template as recipients see it, with its samples.

Shared by ``letterhead dev`` (:mod:`letterhead.dev.devserver`, live) and
``letterhead preview --export`` (a static site): both hold a
:class:`PreviewProject` and turn its states into pages with the same
functions, so a CI artifact shows exactly what the dev server shows.

1. :class:`PreviewProject` (:mod:`letterhead.dev.preview_state`) compiles
   ``templates_src/`` in memory, one :class:`TemplateState` per SES template
   (per template and locale in a project with locales), and recompiles only
   what a save touches; :func:`render_data` renders one data set as SES would.
2. :func:`index_page` (each template once, with a status per locale),
   :func:`template_page` (a sample switch and, with locales, a locale switch)
   return HTML strings (the outbox's page is :mod:`letterhead.dev.outbox`'s,
   through :func:`render_page`); :func:`export_site` writes the static site,
   every locale of every template.
3. With the last ``letterhead check`` report (:mod:`letterhead.dev.preview_check`):
   its findings beside each template, its counts on the index; every template
   page has a light / dark / inverted colour switch.

URLs: the dev server shows ``/t/<template>?locale=<locale>&sample=<sample>&scheme=dark``
(``/t/<variant name>`` works too); the export writes ``<variant name>.html``
(``welcome.html``, ``welcome__es.html``) and carries the sample and the
colours in the fragment (``#sample=default&scheme=dark``).

Pages load nothing: CSS and JavaScript are inline (the script allowed by its
hash in a Content-Security-Policy), and each email sits in a sandboxed
``srcdoc`` frame that may load only images (the template's own).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import DataError, LetterheadError, Location, RenderError, TranslationError
from .preview_check import (
    LoadedReport,
    ReportFile,
    check_badge,
    check_panel,
    dark_html,
    invert_script,
    load_report,
    scheme_of,
    scheme_view,
)
from .preview_state import PreviewProject, SampleRender, TemplateState, compile_state, render_data

__all__ = [
    "DESKTOP_WIDTH",
    "MOBILE_WIDTH",
    "LoadedReport",
    "PreviewProject",
    "ReportFile",
    "SampleRender",
    "Site",
    "TemplateState",
    "compile_state",
    "csp",
    "error_view",
    "export_site",
    "index_page",
    "load_report",
    "render_data",
    "render_page",
    "template_page",
]

DESKTOP_WIDTH = 720  # a desktop reading pane; the email itself is 600 px wide
MOBILE_WIDTH = 375  # an iPhone's CSS width
PARTS = ("subject", "html", "text")
DROP = "SES would drop this message"


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
        headline = ("The translation catalogue has an error" if isinstance(exc, TranslationError)
                    else "The template does not compile")
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
    """One render as the page and ``/api/render`` show it; ``html_dark``: the
    HTML with its ``prefers-color-scheme: dark`` rules forced on (None when it
    has none), for the colour-scheme switch."""
    parts = render.parts or {}
    return {
        "ok": render.ok,
        "subject": parts.get("subject", ""),
        "html": parts.get("html", ""),
        "html_dark": dark_html(parts["html"]) if "html" in parts else None,
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

    def state_url(self, state: TemplateState, sample: str | None = None) -> str:
        """One SES template's page: ``/t/<template>?locale=<locale>`` live
        (names and locales are URL-safe; the default locale is the plain
        ``/t/<template>``), ``<variant name>.html`` exported."""
        if not self.live:
            return f"{state.name}.html" + (f"#sample={_quote(sample)}" if sample else "")
        query = [f"locale={state.locale}"] if state.translated else []
        query += [f"sample={_quote(sample)}"] if sample else []
        return f"/t/{state.folder}" + ("?" + "&".join(query) if query else "")

    def outbox_url(self) -> str | None:
        return "/outbox" if self.live else None


_ASSETS = Path(__file__).parent / "preview_assets"
_env_lock = threading.Lock()
_env_cache: dict[str, Any] = {}


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


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
            # the "inverted" colour scheme: window.letterheadInvert(doc), applied
            # by preview.js to the frames' documents; one script, one hash
            invert = invert_script()
            if invert is not None:
                script = invert + "\n" + script
            env.globals.update(
                script=Markup(script),
                invert_available=invert is not None,
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
    stylesheets, no scripts but the page's own (by hash: ``preview.js``
    after the inversion's ``invert.js``), no requests but to the dev server itself."""
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


def _shown(s: TemplateState) -> TemplateState:
    """What a page shows of ``s``: itself, or its last good compile while it does not compile."""
    return s if s.error is None or s.last_good is None else s.last_good


_RANK = {"ok": 0, "warning": 1, "error": 2}


def index_page(states: Sequence[TemplateState], *, site: Site = Site(), clip_bytes: int = 102 * 1024,
               project_error: LetterheadError | None = None, title: str = "letterhead preview",
               report: LoadedReport | None = None) -> str:
    """Each template once (its locales' variants together, with a status per
    locale); with ``report`` (the last ``letterhead check``), its counts."""
    families: dict[str, list[TemplateState]] = {}
    for s in states:
        families.setdefault(s.folder, []).append(s)
    with_locales = any(s.locale for s in states)
    rows = []
    for folder, family in families.items():
        main = family[0]
        n = max(_shown(s).largest_html_bytes for s in family)
        troubled = [s for s in family if s.status != "ok"]
        if with_locales:
            label = ", ".join(f"{s.locale or s.name}: {_status_label(s)}" for s in troubled) or "ok"
        else:
            label = _status_label(main)
        errors = [(f"{s.locale}: " if with_locales and s is not main and s.locale else "") + view["summary"]
                  for s in family if (view := error_view(s.error)) is not None]
        rows.append({
            "name": folder,
            "url": site.template_url(main.name),
            "description": main.description or _shown(main).description,
            "status": max((s.status for s in family), key=_RANK.__getitem__),
            "status_label": label,
            "samples": len(main.samples or _shown(main).samples),
            "html_bytes": n,
            "clip_pct": min(100.0, 100 * n / clip_bytes) if clip_bytes else 0,
            "size_class": _size_class(n, clip_bytes),
            "ses_bytes": max(_shown(s).size_bytes for s in family),
            "errors": list(dict.fromkeys(errors)),
            "locales": [_locale_view(s, site) for s in family if s.locale] if with_locales else [],
            "check": check_badge(report, family),
        })
    return render_page("index.html", site, page="index", title=title, rows=rows, clip_bytes=clip_bytes,
                        project_error=error_view(project_error), with_locales=with_locales,
                        checked=report is not None and report.report is not None,
                        check_notice=report.notice if report is not None else None)


def _locale_view(s: TemplateState, site: Site, *, sample: str | None = None,
                 current: TemplateState | None = None) -> dict[str, Any]:
    """One locale of a template, for the index's chips and the page's locale switch."""
    return {
        "locale": s.locale,
        "lang": s.lang,
        "rtl": s.rtl,
        "name": s.name,
        "href": site.state_url(s),
        "url": site.state_url(s, sample),
        "current": current is not None and s.name == current.name,
        "status": s.status,
        "status_label": _status_label(s),
        "untranslated": len(_shown(s).untranslated),
    }


def _status_label(s: TemplateState) -> str:
    if s.error is not None:
        return "translation error" if isinstance(s.error, TranslationError) else "does not compile"
    failing = sum(not r.ok for r in s.renders.values())
    errors = sum(f.severity == "error" for f in s.findings)
    warnings = sum(f.severity == "warning" for f in s.findings)
    untranslated = len(s.untranslated)
    bits = []
    if failing:
        bits.append(f"{failing} sample{'s' if failing > 1 else ''} would be dropped")
    if errors:
        bits.append(f"{errors} lint error{'s' if errors > 1 else ''}")
    if warnings:
        bits.append(f"{warnings} warning{'s' if warnings > 1 else ''}")
    if untranslated:
        bits.append(f"{untranslated} untranslated")
    return ", ".join(bits) or "ok"


def template_model(state: TemplateState, *, sample: str | None, site: Site, clip_bytes: int,
                   family: Sequence[TemplateState] = (), scheme: str = "light") -> dict[str, Any]:
    """What the template page's script needs: every sample's data and render
    (of this locale; another locale is another page)."""
    shown = _shown(state)
    order = list(shown.samples)
    current = sample if sample in shown.samples else (order[0] if order else None)
    return {
        "name": state.name,
        "locale": state.locale,
        "url_locale": state.locale if state.translated else None,  # ?locale= (none for the default)
        "path": site.state_url(state).split("?")[0],  # live: /t/<template>, whatever URL opened the page
        "family": [s.name for s in family] or [state.name],  # a save in any of them refreshes the switch
        "live": site.live,
        "version": state.version,
        "current": current,
        "order": order,
        "scheme": scheme,
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
                  clip_bytes: int = 102 * 1024, project: PreviewProject | None = None,
                  report: LoadedReport | None = None, scheme: str | None = None) -> str:
    """One SES template's page.  With ``project``: the jump list of the other
    templates (in the same locale) and the switch to this template's other
    locales; with ``report``: the last ``letterhead check``'s findings;
    ``scheme``: the colours the frames start in (light, dark, inverted)."""
    family = project.locales_of(state) if project is not None else [state]
    others = [o for o in (project.variant(n, state.locale) for n in project.template_names) if o is not None] \
        if project is not None else []
    scheme = scheme_of(scheme)
    model = template_model(state, sample=sample, site=site, clip_bytes=clip_bytes, family=family, scheme=scheme)
    current = model["current"]
    render = model["samples"][current]["render"] if current else {
        "ok": False, "subject": "", "html": "", "html_dark": None, "text": "", "html_bytes": 0, "size": "",
        "error": error_view(state.error)}
    shown = _shown(state)
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
        names=[(o.folder, site.state_url(o)) for o in others],
        locales=[_locale_view(s, site, sample=current, current=state) for s in family if s.locale],
        untranslated=shown.untranslated, catalog=shown.catalog,
        source_locale=family[0].locale if family else None,
        check=check_panel(report, state, model["order"], current),
        scheme=scheme, frame_html=scheme_view(render, scheme),
    )


EXPORT_MARKER = ".letterhead-preview"


def export_site(project: PreviewProject, out_dir: Path, *, check: bool = True) -> list[Path]:
    """Write the preview as a static site: ``index.html`` and one page per
    SES template (every locale of every template), nothing loaded from elsewhere (open them from disk or a CI
    artifact), with the last ``letterhead check``'s findings (``check=False``:
    without them, as a clean checkout exports; a report is local to the
    machine that ran the check).  The frames are
    written light; the colour switch works from disk (the dark HTML is in the
    page's model, the inversion in its script).  Refuses a non-empty folder it
    did not create."""
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
    report = load_report(project.config.root) if check else None  # the last `letterhead check`
    written = []
    pages = {"index.html": index_page(states, site=site, clip_bytes=clip, project_error=project.error,
                                      report=report)}
    for s in states:  # every locale of every template: welcome.html, welcome__es.html…
        pages[f"{s.name}.html"] = template_page(s, site=site, clip_bytes=clip, project=project, report=report)
    for fname, html in pages.items():
        path = out_dir / fname
        path.write_text(html, encoding="utf-8")
        written.append(path)
    return written
