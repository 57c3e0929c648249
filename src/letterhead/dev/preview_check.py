"""What ``letterhead check`` adds to the preview.

1. The last report beside each template.  ``letterhead check`` writes its
   report to ``.letterhead-cache/check.json``; :class:`ReportFile` reads it
   (again only when the file changed), :func:`check_panel` turns it into the
   template page's "Check" panel (the findings of one variant, per sample,
   grouped by check, marked stale when the template changed since) and
   :func:`check_badge` into the index's counts.  Nothing here runs Chromium
   or SpamAssassin: the preview only shows what the last run found.  A missing
   or unreadable file shows nothing; a file that is not a report shows a
   one-line notice.
2. The colour-scheme switch: "light" is the email as built, "dark" the HTML
   with its ``prefers-color-scheme: dark`` rules forced on
   (:func:`dark_html`, :func:`letterhead.check.darkmode.force_dark_media`),
   "inverted" the forced inversion Gmail and Outlook.com apply, which the
   page's script applies to the frame's document with
   ``window.letterheadInvert`` (``letterhead/check/assets/invert.js``,
   :func:`invert_script`, inlined into the page beside ``preview.js``).

Every value of a report came from templates and samples: the pages print them
through Jinja's autoescape only, never as markup.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..check.model import REPORT_FILE, CheckFinding, CheckReport, SampleSummary, TemplateCheck
from .preview_state import TemplateState

__all__ = [
    "CHECK_FILE",
    "SCHEMES",
    "LoadedReport",
    "ReportFile",
    "check_badge",
    "check_panel",
    "dark_html",
    "invert_script",
    "load_report",
    "scheme_of",
]

CHECK_FILE = REPORT_FILE  # the name the preview has always used
RUN_AGAIN = "run `letterhead check` again"
SCHEMES = ("light", "dark", "inverted")
# The checks in the order the panel lists them (others, from a newer
# letterhead, follow under their own name).
CHECK_TITLES = {
    "clients": "Client support",
    "a11y": "Accessibility",
    "axe": "Accessibility (axe-core)",
    "dark": "Dark mode",
    "spam": "Spam",
    "links": "Links",
}


# ---------------------------------------------------------------------------
# The report file
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedReport:
    """The last report, or why there is none to show: ``report`` None and
    ``notice`` None when there is no file (nothing is shown), ``notice`` set
    when the file is there but is not a report this letterhead reads."""

    report: CheckReport | None = None
    notice: str | None = None


def _parse(text: str) -> CheckReport:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    version = data.get("version", 1)
    if version != 1:
        raise ValueError(f"report version {version!r}, this letterhead reads version 1")
    return CheckReport.from_dict(data)


def load_report(root: Path) -> LoadedReport:
    """``<root>/.letterhead-cache/check.json``, never raising."""
    try:
        raw = (root / CHECK_FILE).read_bytes()
    except OSError:  # missing, a folder, not readable: as if check never ran
        return LoadedReport()
    try:
        return LoadedReport(_parse(raw.decode("utf-8")))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        why = exc.args[0] if isinstance(exc, ValueError) and exc.args else type(exc).__name__
        if isinstance(exc, KeyError):
            why = f"missing {exc}"
        line = str(why).splitlines()[0][:120] if str(why) else type(exc).__name__
        return LoadedReport(notice=f"{CHECK_FILE} is not a report letterhead can read ({line}): {RUN_AGAIN}")


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class ReportFile:
    """The report of one project, read again only when the file changes
    (``letterhead check`` replaces it whole).  Thread-safe."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / CHECK_FILE
        self._lock = threading.Lock()
        self._loaded: tuple[tuple[int, int, int] | None, LoadedReport] | None = None
        self._polled: tuple[int, int, int] | None = _signature(self.path)

    def get(self) -> LoadedReport:
        sig = _signature(self.path)
        with self._lock:
            if self._loaded is None or self._loaded[0] != sig:
                self._loaded = (sig, load_report(self.root) if sig is not None else LoadedReport())
            return self._loaded[1]

    def changed(self) -> bool:
        """True once after each change of the file (written, replaced,
        removed) since the last call: the dev server then refreshes pages."""
        sig = _signature(self.path)
        with self._lock:
            if sig == self._polled:
                return False
            self._polled = sig
            return True


# ---------------------------------------------------------------------------
# Views: plain dicts for the pages
# ---------------------------------------------------------------------------


def _find(report: CheckReport, name: str) -> TemplateCheck | None:
    return next((t for t in report.templates if t.name == name), None)


def stale_reason(checked: TemplateCheck, state: TemplateState) -> str | None:
    """Why the report no longer describes ``state`` (None: it does)."""
    if state.error is not None:
        return "the template does not compile now"
    if any(not r.ok for r in state.renders.values()):
        return "a sample does not render now"
    if state.payload is None or state.payload.content_hash != checked.content_hash:
        return "the template changed since the last check"
    return None


def _counts(findings: Sequence[CheckFinding]) -> tuple[int, int]:
    return (sum(f.severity == "error" for f in findings), sum(f.severity == "warning" for f in findings))


def _count_label(errors: int, warnings: int) -> str:
    bits = []
    if errors:
        bits.append(f"{errors} error{'s' if errors > 1 else ''}")
    if warnings:
        bits.append(f"{warnings} warning{'s' if warnings > 1 else ''}")
    return ", ".join(bits) or "no findings"


def _severity(errors: int, warnings: int) -> str:
    return "error" if errors else "warning" if warnings else "ok"


def _finding_view(f: CheckFinding) -> dict[str, Any]:
    return {
        "severity": f.severity,
        "code": f.code,
        "message": f.message,
        "location": str(f.location) if f.location.path else "",
        "hint": f.hint,
        "sample": f.sample,
        "details": json.dumps(dict(f.details), indent=1, ensure_ascii=False, sort_keys=True) if f.details else "",
    }


def _groups(findings: Sequence[CheckFinding]) -> list[dict[str, Any]]:
    by_check: dict[str, list[CheckFinding]] = {}
    for f in findings:
        by_check.setdefault(f.check or "other", []).append(f)
    order = [c for c in CHECK_TITLES if c in by_check] + sorted(c for c in by_check if c not in CHECK_TITLES)
    groups = []
    for check in order:
        items = sorted(by_check[check], key=lambda f: f.severity != "error")  # errors first, else as found
        errors, warnings = _counts(items)
        groups.append({"check": check, "title": CHECK_TITLES.get(check, check), "severity": _severity(errors, warnings),
                       "label": _count_label(errors, warnings), "findings": [_finding_view(f) for f in items]})
    return groups


def _kb(n: int) -> str:
    return f"{n / 1024:.1f} KB"


def _facts(summary: SampleSummary | None) -> list[str]:
    """The shown sample's figures: spam score, size, clients with problems."""
    if summary is None:
        return []
    facts = [f"spam score {summary.spam_score:g}" if summary.spam_score is not None else "spam not scored",
             f"size {_kb(summary.size_bytes)}"]
    if summary.clients:
        facts.append("problems in " + ", ".join(summary.clients))
    return facts


def check_panel(loaded: LoadedReport | None, state: TemplateState, samples: Sequence[str],
                current: str | None) -> dict[str, Any] | None:
    """The template page's "Check" panel for variant ``state``: one block per
    sample (the page shows the current sample's), each with the findings of
    every sample (``sample == ""``) and its own.  None: no report at all."""
    if loaded is None or (loaded.report is None and loaded.notice is None):
        return None
    if loaded.report is None:
        return {"notice": loaded.notice}
    report = loaded.report
    skipped = [{"check": c, "why": why} for c, why in report.skipped.items()]
    checked = _find(report, state.name)
    if checked is None:
        return {"notice": None, "checked": False, "skipped": skipped, "stale": None, "blocks": [],
                "severity": "unchecked", "open": False}
    findings = report.for_template(state.name)
    summaries = {s.sample: s for s in checked.samples}
    blocks = []
    for name in list(samples) or [""]:
        mine = [f for f in findings if f.sample in ("", name)]
        errors, warnings = _counts(mine)
        summary = summaries.get(name)
        blocks.append({
            "sample": name,
            "current": name == (current or ""),
            "label": _count_label(errors, warnings),
            "severity": _severity(errors, warnings),
            "checked": summary is not None or not name,
            "facts": _facts(summary),
            "groups": _groups(mine),
        })
    errors, warnings = _counts(findings)
    return {
        "notice": None,
        "checked": True,
        "stale": stale_reason(checked, state),
        "blocks": blocks,
        "skipped": skipped,
        "severity": _severity(errors, warnings),
        "open": errors > 0,
    }


def check_badge(loaded: LoadedReport | None, family: Sequence[TemplateState]) -> dict[str, Any] | None:
    """The index's badge for one template (its locales' variants together):
    error and warning counts of the last report, "not checked", and stale."""
    if loaded is None or loaded.report is None:
        return None
    report = loaded.report
    checked = [(s, c) for s in family if (c := _find(report, s.name)) is not None]
    if not checked:
        return {"label": "not checked", "severity": "unchecked", "stale": False,
                "title": "not in the last report: run `letterhead check`"}
    names = {s.name for s, _ in checked}
    errors, warnings = _counts([f for f in report.findings if f.template in names])
    stale = [s for s, c in checked if stale_reason(c, s) is not None]
    missing = [s for s in family if s.name not in names]
    notes = [f"{s.locale or s.name}: stale" for s in stale] + [f"{s.locale or s.name}: not checked" for s in missing]
    return {
        "label": "check: " + (_count_label(errors, warnings) if errors or warnings else "ok"),
        "severity": _severity(errors, warnings),
        "stale": bool(stale or missing),
        "title": "; ".join(notes) + (f": {RUN_AGAIN}" if notes else "") or "from the last `letterhead check`",
    }


# ---------------------------------------------------------------------------
# The colour-scheme switch
# ---------------------------------------------------------------------------


def scheme_of(value: str | None) -> str:
    """A scheme from a URL (anything unknown is light)."""
    return value if value in SCHEMES else "light"


@functools.lru_cache(maxsize=256)
def dark_html(html: str) -> str | None:
    """``html`` with its ``prefers-color-scheme: dark`` rules forced on, or
    None when it has none (a client that honours the preference shows it as
    in light; Gmail and Outlook.com invert it instead)."""
    if "prefers-color-scheme" not in html.lower():
        return None
    from ..check.darkmode import force_dark_media

    forced = force_dark_media(html)
    return forced if forced != html else None


@functools.lru_cache(maxsize=1)
def invert_script() -> str | None:
    """``letterhead/check/assets/invert.js`` (defines ``window.letterheadInvert``),
    safe to inline in a ``<script>``; None if the package lacks it."""
    from importlib.resources import files

    try:
        text = files("letterhead.check").joinpath("assets/invert.js").read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError):
        return None
    return text.replace("</", "<\\/")


def scheme_view(render: Mapping[str, Any], scheme: str) -> str:
    """The HTML the page's frames start with for ``scheme`` (inverted: the
    light HTML, which the page's script inverts once loaded)."""
    html = str(render.get("html", ""))
    if scheme == "dark":
        return str(render.get("html_dark") or html)
    return html
