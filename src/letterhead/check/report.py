"""The report as people read it: a table per template (one line per sample),
then each distinct finding once, with every sample it was found in."""

from __future__ import annotations

from collections.abc import Iterator

from .model import CheckFinding, CheckReport, TemplateCheck


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KB"


def table(t: TemplateCheck) -> list[str]:
    head = t.name + (f"  ({t.locale})" if t.locale else "")
    rows = [("sample", "size", "unsupported in (features)", "axe", "dark", "spam", "result")]
    for s in t.samples:
        result = "ok" if not (s.errors or s.warnings) else ", ".join(
            x for x in (f"{s.errors} error(s)" if s.errors else "", f"{s.warnings} warning(s)" if s.warnings else "")
            if x)
        rows.append((s.sample, _size(s.size_bytes), ", ".join(s.clients) or "-", str(s.axe), str(s.dark),
                     "-" if s.spam_score is None else f"{s.spam_score:.1f}", result))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [head]
    for r in rows:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return lines


def grouped(findings: tuple[CheckFinding, ...]) -> Iterator[tuple[CheckFinding, list[str]]]:
    """Each distinct finding (severity, code, place, message) once, errors
    first, with the ``template/sample`` list it was found in."""
    groups: dict[tuple[str, str, str, str, str], tuple[CheckFinding, list[str]]] = {}
    for f in findings:
        # a finding in rendered samples (build/<variant>/samples/<sample>.html) is one thing to fix in
        # the template, however many samples show it: keyed by its line, not by the sample's file
        place = f"line {f.location.line}" if f.sample and f.location.path.endswith(".html") else str(f.location)
        key = (f.severity, f.code, place, f.message, f.hint)
        where = f"{f.template}/{f.sample}" if f.sample else f.template
        if key not in groups:
            groups[key] = (f, [])
        if where not in groups[key][1]:
            groups[key][1].append(where)
    yield from sorted(groups.values(), key=lambda g: (g[0].severity != "error", g[0].check, str(g[0].location)))


def summary_line(report: CheckReport) -> str:
    samples = sum(len(t.samples) for t in report.templates)
    skipped = f"; skipped: {', '.join(sorted(report.skipped))}" if report.skipped else ""
    return (f"{len(report.templates)} template(s), {samples} sample(s): {report.errors} error(s), "
            f"{report.warnings} warning(s){skipped}")
