"""Put exactly what ``ses_templates/`` holds into SES: plan, apply, prune, verify.

``sync`` reads only ``ses_templates/`` (plus, for ``verify``, the samples
under ``templates_src/<name>/samples/`` when they are there), so a deploy job
needs neither MJML nor Jinja.  The steps, in order:

1. settings: the namespace of ``--env`` from ``[tool.letterhead.sync]`` and
   ``[tool.letterhead.env.<NAME>]``, the rate, attempts, region;
2. validate every payload and the manifest, and every deployed name, before
   the first API call: one bad file stops the run with nothing applied;
3. list the region's templates (following NextToken) and, in stable mode,
   get the content of each of ours that exists; versioned mode needs only
   the list (names are content-addressed);
4. plan (``plan.make_plan``): create / update (with a diff) / unchanged /
   delete-candidate; ``dry_run`` stops here, ``check`` raises ``DriftError``
   (exit 2) when SES differs;
5. prune needs confirmation (a terminal prompt or ``--yes``) *before* any
   write, so a refusal leaves SES untouched;
6. apply: creates, then updates, then the deployed-names file, then deletes.
   Unchanged templates are never written.  The first failure stops the run
   with ``SyncFailed`` listing what was applied and what was not; every step
   is idempotent, so a rerun converges;
7. verify: SES's own ``TestRenderTemplate`` with each template's samples.
   Anything but AWS's real endpoint (moto, a loopback endpoint) cannot check
   SES rendering, and the result says so per template instead of passing.
   A sample SES cannot render raises ``VerifyGateFailed`` (exit 2);
   :func:`verify_gate` is the whole gate for the command line: anything but
   "every template verified" fails it, with the reason and the fix.

The settings and the names of a deployment (``load_settings``, the
deployed-names file) live in :mod:`letterhead.deploy.naming`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..authoring.payload import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    MAX_TEMPLATE_BYTES,
    Manifest,
    ManifestEntry,
    SesTemplate,
)
from ..authoring.swap import settle
from ..config import Config
from ..errors import (
    DataError,
    DriftError,
    LetterheadError,
    Location,
    PruneRefused,
    RemoteError,
    SyncFailed,
    SyncInputError,
    VerifyGateFailed,
)
from .naming import (
    NAME_RE,
    VERSION_RE,
    Namespace,
    SyncSettings,
    write_deployed,
)
from .plan import (
    CREATE,
    DELETE,
    UNCHANGED,
    UPDATE,
    PlannedAction,
    SyncPlan,
    make_plan,
    names_to_fetch,
)
from .template_store import TemplateStore

RENDER_ERRORS = ("MissingRenderingAttribute", "InvalidRenderingParameter", "InvalidTemplate")

Progress = Callable[[str, str, int, int], None]  # (phase, template, done, total)
Confirm = Callable[[Sequence[PlannedAction]], bool]


# -- 2. local payloads ------------------------------------------------------------------


@dataclass(frozen=True)
class LocalTemplate:
    logical: str
    payload: SesTemplate
    entry: ManifestEntry
    path: Path


def load_local(config: Config, namespace: Namespace) -> dict[str, LocalTemplate]:
    """Every payload in ``ses_templates/``, checked against SES's rules, the
    manifest and the namespace.  Raises ``SyncInputError`` listing every
    problem; makes no API call."""
    ses_dir = config.ses_dir
    rel = config.rel
    errors: list[LetterheadError] = []
    settle(ses_dir)  # a build killed mid-swap: finish it (letterhead.authoring.swap) before reading
    rebuild = "rebuild with `letterhead build` and commit ses_templates/"
    if not ses_dir.is_dir():
        raise SyncInputError([DataError(f"no {rel(ses_dir)}/ folder", location=Location(rel(ses_dir)),
                                        hint="run `letterhead build` and commit ses_templates/")])
    manifest_path = ses_dir / MANIFEST_NAME
    if not manifest_path.is_file():
        raise SyncInputError([DataError("no manifest.json: cannot check the payloads",
                                        location=Location(rel(manifest_path)), hint=rebuild)])
    try:
        raw = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise SyncInputError([DataError(f"manifest is not valid JSON: {exc}",
                                        location=Location(rel(manifest_path), line), hint=rebuild)]) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("templates"), dict) \
            or not all(isinstance(v, dict) for v in raw["templates"].values()):
        raise SyncInputError([DataError('manifest has no "templates" object of objects',
                                        location=Location(rel(manifest_path)), hint=rebuild)])
    if raw.get("format", MANIFEST_FORMAT) != MANIFEST_FORMAT:
        raise SyncInputError([DataError(f"manifest format {raw.get('format')!r} is not {MANIFEST_FORMAT}",
                                        location=Location(rel(manifest_path)),
                                        hint="use the letterhead version that built it, or rebuild")])
    try:
        manifest = Manifest.load(ses_dir)
    except (LetterheadError, TypeError, ValueError) as exc:
        raise SyncInputError([DataError(f"manifest is malformed: {exc}",
                                        location=Location(rel(manifest_path)), hint=rebuild)]) from None

    found: dict[str, LocalTemplate] = {}
    files = sorted(p for p in ses_dir.glob("*.json") if p.name != MANIFEST_NAME)
    for path in files:
        where = Location(rel(path))
        logical = path.stem
        try:
            payload = SesTemplate.load(path)
        except LetterheadError as exc:
            exc.location = exc.location and Location(rel(Path(exc.location.path)), exc.location.line)
            errors.append(exc)
            continue
        except UnicodeDecodeError:
            errors.append(DataError("file is not UTF-8", location=where, hint=rebuild))
            continue
        bad = _payload_problems(logical, payload, namespace)
        entry = manifest.templates.get(logical)
        if entry is None:
            bad.append((f"{logical!r} is not in manifest.json", rebuild))
        elif entry.content_hash != payload.content_hash:
            bad.append((("content differs from the manifest's content_hash "
                         "(edited by hand, or the manifest is out of date)"), rebuild))
        for message, hint in bad:
            errors.append(DataError(message, location=where, hint=hint))
        if not bad and entry is not None:
            found[logical] = LocalTemplate(logical, payload, entry, path)
    for name in sorted(set(manifest.templates) - {p.stem for p in files}):
        errors.append(DataError(f"manifest.json lists {name!r} but {rel(ses_dir / (name + '.json'))} is missing",
                                location=Location(rel(manifest_path)), hint=rebuild))
    if errors:
        raise SyncInputError(errors)
    return found


def _payload_problems(logical: str, t: SesTemplate, ns: Namespace) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if not NAME_RE.match(logical):
        out.append(((f"file name {logical!r} is not a valid SES template name "
                     "(letters, digits, '_' and '-', 1 to 64)"), "rename the template folder and rebuild"))
        return out
    if VERSION_RE.match(logical):
        out.append((f"template name {logical!r} ends like a versioned name (-v + 10 hex digits)",
                    "rename the template: versioned mode would confuse it with a version"))
    if t.name != logical:
        out.append((f"TemplateName {t.name!r} does not match the file name {logical!r}",
                    "rebuild with `letterhead build`"))
    if not t.subject.strip():
        out.append(("SubjectPart is empty; SES requires a subject", "add a subject.txt and rebuild"))
    if not (t.html.strip() or t.text.strip()):
        out.append(("both HtmlPart and TextPart are empty", "rebuild with `letterhead build`"))
    if t.size_bytes > MAX_TEMPLATE_BYTES:
        out.append((f"template is {t.size_bytes:,} bytes; SES allows {MAX_TEMPLATE_BYTES:,} (500 KB)",
                    "make the template smaller (images by URL, less inline CSS)"))
    deployed = ns.deployed_name(logical, t.content_hash)
    if not NAME_RE.match(deployed):
        out.append(((f"deployed name {deployed!r} ({len(deployed)} characters) is not a valid SES "
                     "template name (letters, digits, '_' and '-', at most 64)"),
                    "shorten the env prefix/suffix or the template name"))
    return out


# -- 3-4. plan ---------------------------------------------------------------------------


@dataclass
class Prepared:
    """A plan with what made it: the validated payloads and the store."""

    settings: SyncSettings
    local: dict[str, LocalTemplate]
    store: TemplateStore
    plan: SyncPlan


def prepare(config: Config, settings: SyncSettings, *, store: TemplateStore | None = None,
            prune: bool = False, progress: Progress | None = None) -> Prepared:
    """Validate, then list (and fetch) and plan.  Writes nothing."""
    ns = settings.namespace
    local = load_local(config, ns)
    if prune and not ns.scoped:
        raise PruneRefused(
            "--prune needs a namespace prefix or suffix: without one letterhead cannot tell "
            "its templates from anyone else's in this region",
            hint=f"set prefix in [tool.letterhead.{'env.' + ns.env if ns.env else 'sync'}] "
                 "(e.g. prefix = \"app-\"), or delete by hand")
    if prune and not local:
        raise PruneRefused(f"{config.rel(config.ses_dir)}/ holds no templates; a prune would delete "
                           "every template of the namespace",
                           hint="run `letterhead build` first; delete by hand if you really mean it")
    if store is None:
        store = TemplateStore.connect(region=settings.region, endpoint_url=settings.endpoint_url,
                                      rate=settings.rate, max_attempts=settings.max_attempts)
    payloads = {n: t.payload for n, t in local.items()}
    listed = store.list()
    wanted = names_to_fetch(payloads, ns, listed)
    fetched: dict[str, SesTemplate] = {}
    for i, name in enumerate(wanted, 1):
        fetched[name] = store.get(name)
        if progress:
            progress("fetch", name, i, len(wanted))
    plan = make_plan(payloads, ns, listed, fetched)
    return Prepared(settings, local, store, plan)


# -- results ------------------------------------------------------------------------------

APPLIED, FAILED, NOT_APPLIED, PLANNED, KEPT = "applied", "failed", "not-applied", "planned", "kept"


@dataclass(frozen=True)
class SampleCheck:
    sample: str
    status: str  # ok / failed
    message: str = ""


@dataclass(frozen=True)
class VerifyReport:
    logical: str
    deployed: str
    status: str  # verified / failed / not-verified
    reason: str = ""
    samples: tuple[SampleCheck, ...] = ()
    fix: str = ""  # not-verified: what would let it be verified

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason or None, "fix": self.fix or None,
                "samples": [{"sample": s.sample, "status": s.status, "message": s.message or None}
                            for s in self.samples]}


@dataclass(frozen=True)
class TemplateResult:
    action: PlannedAction
    outcome: str  # unchanged / planned / applied / failed / not-applied / kept
    error: str | None = None


@dataclass(frozen=True)
class SyncResult:
    plan: SyncPlan
    results: tuple[TemplateResult, ...]
    mode: str  # dry-run / check / apply
    prune: bool = False
    calls: Mapping[str, int] = field(default_factory=dict)
    throttled: int = 0
    deployed_file: str | None = None
    verify: tuple[VerifyReport, ...] | None = None

    @property
    def applied(self) -> tuple[TemplateResult, ...]:
        return tuple(r for r in self.results if r.outcome == APPLIED)

    @property
    def not_applied(self) -> tuple[TemplateResult, ...]:
        return tuple(r for r in self.results if r.outcome in (NOT_APPLIED, FAILED))

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def writes(self) -> int:
        return sum(n for op, n in self.calls.items()
                   if op in ("CreateTemplate", "UpdateTemplate", "DeleteTemplate"))

    def failure_report(self) -> str:
        lines = [f"  applied ({len(self.applied)}):" + ("" if self.applied else " none")]
        lines += [f"    {r.action.action:<16} {r.action.deployed}" for r in self.applied]
        lines.append(f"  not applied ({len(self.not_applied)}):" + ("" if self.not_applied else " none"))
        lines += [f"    {r.action.action:<16} {r.action.deployed}"
                  + (f"  ← failed: {r.error}" if r.outcome == FAILED else "") for r in self.not_applied]
        lines.append("  once the cause above is fixed (or has passed), rerun the same command: sync picks up "
                     "where it stopped")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        verify = {r.logical: r for r in self.verify or ()}
        templates = []
        for r in self.results:
            d = r.action.to_dict()
            d.update(outcome=r.outcome, error=r.error)
            if r.action.action != DELETE and self.verify is not None:
                v = verify.get(r.action.logical)
                d["verify"] = v.to_dict() if v else None
            templates.append(d)
        return {
            **self.plan.to_dict(),
            "mode": self.mode,
            "prune": self.prune,
            "templates": templates,
            "applied": [r.action.deployed for r in self.applied],
            "not_applied": [r.action.deployed for r in self.not_applied],
            "calls": dict(sorted(self.calls.items())),
            "total_calls": self.total_calls,
            "throttled": self.throttled,
            "deployed_file": self.deployed_file,
            "verified": None if self.verify is None else _verify_summary(self.verify),
        }


def _verify_summary(reports: Sequence[VerifyReport]) -> dict[str, int]:
    out = {"verified": 0, "failed": 0, "not-verified": 0}
    for r in reports:
        out[r.status] = out.get(r.status, 0) + 1
    return out


def _planned_results(plan: SyncPlan, prune: bool) -> list[TemplateResult]:
    return [TemplateResult(a, UNCHANGED if a.action == UNCHANGED
                           else (PLANNED if a.is_write or prune else KEPT)) for a in plan.actions]


# -- 6. apply -------------------------------------------------------------------------------


def apply_plan(config: Config, prepared: Prepared, *, prune: bool = False,
               progress: Progress | None = None) -> SyncResult:
    """Creates, updates, the deployed-names file, then (with ``prune``) deletes.
    Raises ``SyncFailed`` at the first failure, carrying the partial result."""
    plan, store, local = prepared.plan, prepared.store, prepared.local
    todo = list(plan.of(CREATE)) + list(plan.of(UPDATE)) + (list(plan.of(DELETE)) if prune else [])
    outcome: dict[tuple[str, str], TemplateResult] = {}
    deployed_file: str | None = None

    def result() -> SyncResult:
        rows = [outcome.get((a.action, a.deployed)) or r
                for a, r in zip(plan.actions, _planned_results(plan, prune), strict=True)]
        rows = [replace(r, outcome=NOT_APPLIED) if r.outcome == PLANNED else r for r in rows]
        return SyncResult(plan, tuple(rows), "apply", prune, dict(store.calls), store.throttled, deployed_file)

    writes_done = False
    for i, action in enumerate(todo, 1):
        if action.action == DELETE and not writes_done:
            deployed_file = write_deployed(config, plan.namespace, plan.deployed)
            writes_done = True
        try:
            _apply_one(store, action, local)
        except RemoteError as exc:
            outcome[(action.action, action.deployed)] = TemplateResult(action, FAILED, exc.message)
            raise SyncFailed(exc, result()) from None
        outcome[(action.action, action.deployed)] = TemplateResult(action, APPLIED)
        if progress:
            progress("apply", action.deployed, i, len(todo))
    if not writes_done:
        deployed_file = write_deployed(config, plan.namespace, plan.deployed)
    return result()


def _apply_one(store: TemplateStore, action: PlannedAction, local: Mapping[str, LocalTemplate]) -> None:
    if action.action == DELETE:
        try:
            store.delete(action.deployed)
        except RemoteError as exc:
            if exc.code != "TemplateDoesNotExist":  # already gone: what we wanted
                raise
        return
    payload = local[action.logical].payload.renamed(action.deployed)
    if action.action == CREATE:
        try:
            store.create(payload)
        except RemoteError as exc:
            # A retried create whose first attempt landed, or a concurrent
            # deploy: the name is ours, so make its content ours.
            if exc.code != "AlreadyExists":
                raise
            store.update(payload)
    else:
        try:
            store.update(payload)
        except RemoteError as exc:
            if exc.code != "TemplateDoesNotExist":  # deleted since we listed: recreate
                raise
            store.create(payload)


# -- 7. verify --------------------------------------------------------------------------------

NOT_SES_FIX = ("only SES itself can check SES's rendering: run `letterhead sync --verify` against AWS (no "
               "--endpoint-url or AWS_ENDPOINT_URL_SES), or leave --verify out here (`letterhead dev` previews "
               "renders as SES makes them)")


def verify_templates(config: Config, prepared: Prepared, *,
                     progress: Progress | None = None) -> tuple[VerifyReport, ...]:
    """Render each template's samples with SES's TestRenderTemplate."""
    from ..authoring.safety import prepare_data
    from ..authoring.sources import read_json

    plan, store, local = prepared.plan, prepared.store, prepared.local
    targets = [a for a in plan.actions if a.action != DELETE]
    reason = store.unverifiable_reason()
    if reason:
        return tuple(VerifyReport(a.logical, a.deployed, "not-verified", reason, fix=NOT_SES_FIX) for a in targets)
    reports = []
    total = sum(len(local[a.logical].entry.samples) for a in targets)
    done = 0
    for a in targets:
        entry = local[a.logical].entry
        folder = config.source_dir / a.logical / "samples"
        paths = [(s, folder / f"{s}.json") for s in entry.samples]
        if not paths:
            reports.append(VerifyReport(a.logical, a.deployed, "not-verified",
                                        "the manifest lists no samples for this template",
                                        fix=f"add a sample (templates_src/{a.logical}/samples/default.json) "
                                            "and rebuild with `letterhead build`"))
            continue
        missing = [config.rel(p) for _, p in paths if not p.is_file()]
        if missing:
            reports.append(VerifyReport(a.logical, a.deployed, "not-verified",
                                        f"sample file(s) not found: {', '.join(missing)}",
                                        fix="run `letterhead sync --verify` where templates_src/ is checked out"))
            done += len(paths)
            continue
        checks = []
        for sample, path in paths:
            data = prepare_data(read_json(path, root=config.root), entry.raw_paths, entry.url_paths)
            try:
                store.test_render(a.deployed, data)
                checks.append(SampleCheck(sample, "ok"))
            except RemoteError as exc:
                if exc.code not in RENDER_ERRORS:
                    raise
                checks.append(SampleCheck(sample, "failed", exc.message))
            done += 1
            if progress:
                progress("verify", a.deployed, done, total)
        status = "failed" if any(c.status == "failed" for c in checks) else "verified"
        reports.append(VerifyReport(a.logical, a.deployed, status, samples=tuple(checks)))
    return tuple(reports)


# -- the whole command ---------------------------------------------------------------------------


def sync(config: Config, settings: SyncSettings, *, store: TemplateStore | None = None,
         dry_run: bool = False, check: bool = False, prune: bool = False, yes: bool = False,
         verify: bool = False, confirm: Confirm | None = None,
         on_plan: Callable[[SyncPlan], None] | None = None,
         progress: Progress | None = None) -> SyncResult:
    """Plan, then (unless ``dry_run`` or ``check``) apply, prune and verify.

    ``confirm`` is asked before any write when a prune would delete something
    and ``yes`` is not set; without it such a prune is refused.
    """
    prepared = prepare(config, settings, store=store, prune=prune, progress=progress)
    plan = prepared.plan
    if on_plan:
        on_plan(plan)
    if dry_run or check:
        result = SyncResult(plan, tuple(_planned_results(plan, prune)), "check" if check else "dry-run",
                            prune, dict(prepared.store.calls), prepared.store.throttled)
        drift = plan.drift(include_prune=prune)
        if check and drift:
            raise DriftError(f"SES differs from {config.rel(config.ses_dir)}/: {_drift_summary(drift)}", result,
                             hint=f"run `letterhead sync{' --env ' + plan.namespace.env if plan.namespace.env else ''}"
                                  f"{' --prune' if prune else ''}` to apply")
        return result
    deletions = plan.delete_candidates if prune else ()
    if deletions and not yes:
        if confirm is None:
            raise PruneRefused(f"--prune would delete {len(deletions)} template(s) and there is no one to ask",
                               hint="pass --yes to delete without asking (CI), after reading the plan")
        if not confirm(deletions):
            raise PruneRefused("prune not confirmed: nothing applied")
    result = apply_plan(config, prepared, prune=prune, progress=progress)
    if verify:
        reports = verify_templates(config, prepared, progress=progress)
        result = replace(result, verify=reports, calls=dict(prepared.store.calls),
                         throttled=prepared.store.throttled)
        failed = [r for r in reports if r.status == "failed"]
        if failed:
            names = ", ".join(f"{r.logical} ({', '.join(s.sample for s in r.samples if s.status == 'failed')})"
                              for r in failed)
            raise VerifyGateFailed(f"SES could not render {len(failed)} template(s) with their samples: {names}",
                                   result, hint="fix the template or the sample, rebuild and sync again; "
                                                "the templates themselves were applied")
    return result


def verify_gate(result: SyncResult) -> VerifyGateFailed | None:
    """The gate ``sync --verify`` is: None when every template it applied or
    kept was verified; else the error (exit 2) that says how many were not
    and why, with the fix.  (``sync`` itself raises only for samples SES
    could not render: a library caller may accept "not verified".)"""
    reports = result.verify
    if reports is None:
        return None
    failed = [r for r in reports if r.status == "failed"]
    unverified = [r for r in reports if r.status == "not-verified"]
    if not failed and not unverified:
        return None
    verified = len(reports) - len(failed) - len(unverified)
    reasons = list(dict.fromkeys(r.reason for r in unverified))
    fixes = list(dict.fromkeys(r.fix for r in unverified if r.fix))
    parts = [f"verify did not pass: {verified} of {len(reports)} template(s) verified"]
    if failed:
        parts.append(f"{len(failed)} failed SES's render")
    if unverified:
        why = reasons[0] if len(reasons) == 1 else f"{len(reasons)} reasons, listed above"
        parts.append(f"{len(unverified)} could not be verified ({why})")
    hints = (["fix the failing templates or samples, rebuild and sync again"] if failed else []) + fixes
    return VerifyGateFailed("; ".join(parts), result,
                            hint="; ".join(hints) + "; the templates themselves were applied")


def _drift_summary(drift: Sequence[PlannedAction]) -> str:
    counts: dict[str, int] = {}
    for a in drift:
        counts[a.action] = counts.get(a.action, 0) + 1
    return ", ".join(f"{n} to {k}" if k != DELETE else f"{n} to delete" for k, n in counts.items())
