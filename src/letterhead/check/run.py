"""``letterhead check``, start to end.

1. Build (incremental: only what changed compiles); a template that does not
   build is reported as the build reports it, and nothing is checked.
2. Render every sample of every selected variant as SES would send it
   (:class:`~letterhead.check.model.SampleDoc`: subject, HTML, text, headers).
3. Start SpamAssassin first (its start-up overlaps the rest) and score the
   messages on its own threads while the browser works.
4. Client support, once per template, on the MJML its designer wrote.
5. The static checks (accessibility, links) on each sample.
6. One Chromium for every sample: axe-core, contrast, dark mode, logos.
7. The project's severities (``[tool.letterhead.lint]``, template.toml's
   ``[lint]``) over every finding; the report is written to
   ``.letterhead-cache/check.json`` for the preview.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

from ..authoring.build import build
from ..authoring.headers import render_headers
from ..authoring.lint import rule_severities
from ..authoring.payload import Manifest, ManifestEntry, SesTemplate
from ..authoring.sources import TemplateSource, load_brand, load_source
from ..authoring.validate import render_parts
from ..config import Config
from ..errors import LetterheadError
from .model import REPORT_FILE, CheckFinding, CheckReport, SampleDoc, SampleSummary, TemplateCheck
from .settings import CheckOptions, check_options

CHECKS = ("clients", "a11y", "axe", "dark", "spam", "links")
# A sender for the spam check when SES_SENDER_EMAIL is not set: a domain
# of its own, so no rule reacts to a well-known placeholder domain.
FALLBACK_SENDER = "notifications@letterhead-check.invalid"

Progress = Callable[[str, int, int], None]  # stage, done, total


def run_check(config: Config, names: Sequence[str] = (), *, skip: Iterable[str] = (),
              progress: Progress | None = None, write_report: bool = True) -> CheckReport:
    """Check the samples of the templates ``names`` (template folders or
    variant names; every template when empty), without the checks in ``skip``."""
    skipped = set(skip)
    unknown = skipped - set(CHECKS)
    if unknown:
        raise LetterheadError(f"unknown check {sorted(unknown)[0]!r}", hint=f"checks: {', '.join(CHECKS)}")
    options = check_options(config)
    note = progress or (lambda stage, done, total: None)
    build(config)
    manifest = Manifest.load(config.ses_dir)
    entries = select(manifest, names)
    sources = {e.template or e.name: load_source(config, e.template or e.name) for e in entries}
    docs = render_docs(config, entries, sources)
    note("render", len(docs), len(docs))
    findings: list[CheckFinding] = []
    with ExitStack() as stack:
        spam: Future[Mapping[str, Any]] | None = None
        if "spam" not in skipped and docs:
            from .spam import SpamScorer

            scorer = stack.enter_context(SpamScorer(jobs=options.jobs))
            pool = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="letterhead-spam"))
            sender = config.sender_email or FALLBACK_SENDER
            done = [0]

            def scored(doc: SampleDoc) -> None:
                done[0] += 1
                note("spam", done[0], len(docs))

            spam = pool.submit(scorer.score_all, docs, sender=sender, progress=scored)
        if "clients" not in skipped:
            findings += client_findings(config, entries, sources, options)
            note("clients", len(sources), len(sources))
        if "a11y" not in skipped or "links" not in skipped:
            from .a11y import static_checks
            from .links import check_links

            for doc in docs:
                findings += static_checks(doc) if "a11y" not in skipped else []
                findings += check_links(doc) if "links" not in skipped else []
        if ("axe" not in skipped or "dark" not in skipped) and docs:
            from .browser import BrowserSession

            seen = [0]

            def browsed(doc: SampleDoc) -> None:
                seen[0] += 1
                note("browser", seen[0], len(docs))

            with BrowserSession(chromium=options.chromium, images=options.images, min_contrast=options.min_contrast,
                                root=config.root, pages=options.jobs) as browser:
                by_doc = browser.check_all(docs, axe="axe" not in skipped, dark="dark" not in skipped,
                                           progress=browsed)
            for doc in docs:
                found = by_doc.get(doc.key, [])
                findings = without_axe_twins(findings, doc, found)
                findings += found
        if spam is not None:
            from .spam import judge_spam

            results = spam.result()
            for doc in docs:
                if doc.key in results:
                    findings += judge_spam(doc, results[doc.key], options.spam_threshold)
    findings = configured(config, findings, {e.name: sources[e.template or e.name] for e in entries})
    scores = spam.result() if spam is not None else {}
    report = CheckReport(
        templates=tuple(summarize(e, [d for d in docs if d.template == e.name], findings, scores) for e in entries),
        findings=tuple(findings),
        checks=tuple(c for c in CHECKS if c not in skipped),
        skipped={c: "--skip" for c in CHECKS if c in skipped},
    )
    if write_report:
        save_report(config, report)
    return report


# A static check and the axe-core rule that finds the same thing in the
# browser: when axe ran on a sample and reported it, the static finding goes.
AXE_TWINS = {"img-alt": "image-alt", "lang": "html-has-lang"}


def without_axe_twins(findings: list[CheckFinding], doc: SampleDoc, axe: Sequence[CheckFinding]) -> list[CheckFinding]:
    rules = {f.details.get("rule") for f in axe if f.code == "axe"}
    return [f for f in findings
            if not (f.template == doc.template and f.sample == doc.sample and AXE_TWINS.get(f.code) in rules)]


def select(manifest: Manifest, names: Sequence[str]) -> list[ManifestEntry]:
    """The entries named (a template folder selects all its locale variants)."""
    entries = list(manifest.templates.values())
    if not names:
        return entries
    chosen: list[ManifestEntry] = []
    for name in names:
        found = [e for e in entries if name in (e.name, e.template)]
        if not found:
            import difflib

            known = sorted({e.name for e in entries} | {e.template for e in entries if e.template})
            near = difflib.get_close_matches(name, known, n=1)
            raise LetterheadError(f"no template named {name!r}",
                                  hint=(f"did you mean {near[0]!r}? " if near else "")
                                  + f"templates: {', '.join(known)}")
        chosen += [e for e in found if e not in chosen]
    return chosen


def render_docs(config: Config, entries: Sequence[ManifestEntry],
                sources: Mapping[str, TemplateSource]) -> list[SampleDoc]:
    """Every sample of every entry, rendered as SES would send it."""
    docs: list[SampleDoc] = []
    build_rel = config.rel(config.build_dir)
    for entry in entries:
        source = sources[entry.template or entry.name]
        payload = SesTemplate.load(config.ses_dir / f"{entry.name}.json")
        for sample in source.samples_for(entry.locale or None):
            where = config.rel(sample.path)
            parts = render_parts(payload, sample.data, entry.raw_paths, data_name=where)
            headers = dict(render_headers(entry.headers, sample.data, where=where, data_name=where))
            docs.append(SampleDoc(
                template=entry.name, logical=source.name, locale=entry.locale or None, sample=sample.name,
                subject=parts["subject"], html=parts["html"], text=parts["text"], headers=headers,
                sample_path=where, html_path=f"{build_rel}/{entry.name}/samples/{sample.name}.html",
            ))
    return docs


def client_findings(config: Config, entries: Sequence[ManifestEntry], sources: Mapping[str, TemplateSource],
                    options: CheckOptions) -> list[CheckFinding]:
    """Client support of the MJML each template's designer wrote: judged once
    per template (its locales share it), reported on each of its variants."""
    from ..authoring.compile import Compiler
    from .clients import check_clients

    compiler = Compiler(config, load_brand(config), watch=False)
    out: list[CheckFinding] = []
    for name, source in sources.items():
        mjml_text, locate = compiler.designer_mjml(source)
        found = check_clients(mjml_text, locate, options.clients, template=name)
        for entry in entries:
            if (entry.template or entry.name) == name:
                out += [dataclasses.replace(f, template=entry.name) for f in found]
    return out


def configured(config: Config, findings: Iterable[CheckFinding],
               sources: Mapping[str, TemplateSource]) -> list[CheckFinding]:
    """Each finding under its template's configured severity: ``off`` drops
    it; ``error``/``warning`` sets it; a rule not configured keeps the
    severity the check gave."""
    cache: dict[str, Mapping[str, str]] = {}
    out: list[CheckFinding] = []
    for f in findings:
        source = sources.get(f.template)
        key = source.name if source is not None else ""
        if key not in cache:
            cache[key] = rule_severities(config, source.lint if source is not None else {})
        level = cache[key].get(f.code)
        if level == "off":
            continue
        if level in ("error", "warning") and level != f.severity:
            f = dataclasses.replace(f, severity="error" if level == "error" else "warning")
        out.append(f)
    return out


def summarize(entry: ManifestEntry, docs: Sequence[SampleDoc], findings: Sequence[CheckFinding],
              scores: Mapping[str, Any]) -> TemplateCheck:
    mine = [f for f in findings if f.template == entry.name]
    rows = []
    for doc in docs:
        here = [f for f in mine if f.sample in ("", doc.sample)]
        # the clients lacking something the designer wrote, with how many features (partial support
        # is in the warnings count: every client supports `padding` "partly")
        lacking: dict[str, int] = {}
        for f in here:
            for label in f.details.get("unsupported_clients", ()) if f.code == "client-support" else ():
                lacking[label] = lacking.get(label, 0) + 1
        clients = [f"{label} ({n})" for label, n in sorted(lacking.items(), key=lambda kv: (-kv[1], kv[0]))]
        result = scores.get(doc.key)
        rows.append(SampleSummary(
            sample=doc.sample,
            size_bytes=len(doc.html.encode("utf-8")),
            clients=tuple(clients),
            axe=sum(1 for f in here if f.check == "axe"),
            dark=sum(1 for f in here if f.check == "dark"),
            spam_score=None if result is None else round(float(result.score), 1),
            errors=sum(1 for f in here if f.severity == "error"),
            warnings=sum(1 for f in here if f.severity == "warning"),
        ))
    return TemplateCheck(entry.name, entry.template or entry.name, entry.locale or None, entry.content_hash,
                         tuple(rows))


def save_report(config: Config, report: CheckReport) -> None:
    """For the preview: the last report, replaced whole (never half written)."""
    path = config.root / REPORT_FILE
    try:
        path.parent.mkdir(exist_ok=True)
        if not (path.parent / ".gitignore").exists():
            (path.parent / ".gitignore").write_text("*\n")
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(report.to_dict(), indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # the preview then shows the previous report, marked stale


__all__ = ["CHECKS", "REPORT_FILE", "render_docs", "run_check", "select"]
