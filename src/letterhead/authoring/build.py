"""``letterhead build``: every template source → ``build/`` and ``ses_templates/``.

1. Discover templates and hash each one's files with the shared ones.
2. Skip templates whose inputs hash the same as at the last build (a rebuild
   after one change recompiles only that one).
3. Read the rest (names, UTF-8, JSON, TOML checked) and compile them
   (:mod:`letterhead.authoring.compile`), in worker processes for 12 templates or more
   (forked: not from a process that runs other threads, see
   :mod:`letterhead.authoring.workers`);
   make the SES payload injection-safe (:mod:`letterhead.authoring.safety`).
4. Render every sample with SES semantics; a sample that does not fit fails
   the build naming the sample, the variable and the template line.
5. Lint (:mod:`letterhead.authoring.lint`): errors fail the build, warnings are reported.
6. Only when everything passed, write all outputs at once; with ``check=True``
   compare instead and report stale files (and write nothing at all).

Nothing is written when any template fails: the committed ``ses_templates/``
stays exactly as it was.  Both output folders are replaced together, through
the commit protocol of :mod:`letterhead.authoring.swap`: a build killed at any moment
leaves them both old or both new, and the next command finishes or undoes it.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import Config
from ..errors import DataError, LetterheadError, LintError, Location, StaleOutputError
from . import swap
from .compile import CompiledTemplate, Compiler, Translations
from .lint import Finding, lint, rule_severities
from .outputs import Outputs, recover_interrupted_write, same_on_disk, stale_paths, write_all
from .payload import MANIFEST_NAME, Manifest, ManifestEntry, SesTemplate
from .protect import show_designer_lines
from .safety import HTML_DATA_KEY, payload_for, serialise_prepared
from .schema import generate_schemas, schema_text
from .sources import (
    Sample,
    TemplateSource,
    digest,
    load_brand,
    load_source,
    read_text,
    shared_files,
    template_files,
    template_names,
)
from .types import template_shape
from .validate import render_compiled_prepared
from .variants import (
    Variant,
    link_variants,
    load_catalogs,
    refuse_clashes,
    refuse_untranslated,
    variants,
)


@dataclass(frozen=True)
class TemplateReport:
    name: str
    status: str  # "compiled" | "unchanged"
    size_bytes: int
    findings: tuple[Finding, ...] = ()
    locale: str | None = None  # the variant's locale (a project with locales)
    untranslated: tuple[str, ...] = ()  # msgids its catalogue left in the source language


@dataclass(frozen=True)
class BuildResult:
    reports: tuple[TemplateReport, ...]
    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def warnings(self) -> list[Finding]:
        return [f for r in self.reports for f in r.findings if f.severity == "warning"]

    def untranslated(self) -> dict[str, dict[str, int]]:
        """Per locale, the variants with untranslated messages and how many."""
        found: dict[str, dict[str, int]] = {}
        for r in self.reports:
            if r.locale and r.untranslated:
                found.setdefault(r.locale, {})[r.name] = len(r.untranslated)
        return found

    def to_dict(self) -> dict[str, Any]:
        templates = []
        for r in self.reports:
            item: dict[str, Any] = {"name": r.name, "status": r.status, "size_bytes": r.size_bytes,
                                    "findings": [f.to_dict() for f in r.findings]}
            if r.locale:
                item["locale"] = r.locale
                item["untranslated"] = list(r.untranslated)
            templates.append(item)
        return {"templates": templates, "written": list(self.written), "removed": list(self.removed)}


@functools.lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """letterhead's own code and its compilers' installed files are inputs of
    every template too: an upgrade (or a local edit) must not reuse old
    output.  Files are identified by their names, sizes and mtimes (reading
    and hashing them would cost ~2 ms a build; importlib.metadata ~10 ms)."""
    import importlib.util

    h = hashlib.sha256()
    for module in ("letterhead", "mjml", "css_inline", "html2text", "jinja2", "premailer"):
        spec = importlib.util.find_spec(module)
        folder = Path(spec.origin).parent if spec is not None and spec.origin else None
        if folder is None or not folder.is_dir():
            h.update(f"{module}: absent\0".encode())
            continue
        _fingerprint_folder(h, folder, module, deep=module == "letterhead")
    return h.hexdigest()


def _fingerprint_folder(h: Any, folder: Path, prefix: str, *, deep: bool) -> None:
    """Names, sizes and mtimes of ``folder``'s files into ``h``; ``deep``:
    its subpackages too (letterhead's code lives in authoring/, sestemplate/…:
    a change there must not reuse old output)."""
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_file():
            st = entry.stat()
            h.update(f"{prefix}/{entry.name}:{st.st_size}:{st.st_mtime_ns}\0".encode())
        elif deep and entry.is_dir() and entry.name != "__pycache__" and not entry.name.startswith("."):
            _fingerprint_folder(h, Path(entry.path), f"{prefix}/{entry.name}", deep=True)


def _shared_digest(config: Config) -> str:
    """Layouts, partials, brand, letterhead's code and settings: inputs of every template."""
    return digest(
        shared_files(config),
        config.root,
        f"letterhead {__version__} {_code_fingerprint()}",
        f"inliner={config.inliner}",
        f"lang={config.lang}",
        # [tool.letterhead.lint]: a rule turned back on must lint the cached templates again
        f"lint={sorted((str(k), str(v)) for k, v in config.lint.severities.items())}",
    )


def source_hash(config: Config, name: str, shared: str | None = None, locale: str | None = None,
                files_digest: str | None = None) -> str:
    """The hash of one template's inputs: its files and the shared ones (and
    for a translated variant, its locale's catalogue).  ``files_digest``:
    :func:`template_digest` of the template, when the caller has it (one
    hash of a template's files serves all its locales)."""
    files: tuple[str, ...] = ()
    extra = shared or _shared_digest(config)
    if locale is not None:
        extra += f"\0locale={locale}"
        if locale != config.default_locale:
            from .i18n import catalog_path

            po = catalog_path(config, locale)
            files += (str(po),) if po.is_file() else ()
    return digest(files, config.root, extra, files_digest or template_digest(config, name))


def template_digest(config: Config, name: str) -> str:
    """The hash of one template folder's files (names and contents)."""
    return digest(template_files(config, name), config.root)


@dataclass
class _Shared:
    """What the variants of one template share inside one process (a worker,
    or a serial build), worked out by the first variant that needs it.  Safe
    to share: the sources do not change during a build (each process reads
    them once), and what is kept depends only on them and on the keys it is
    kept under."""

    files_digest: str | None = None  # template_digest, hashed before the sources were read
    source: TemplateSource | None = None
    mjml_source: str | None = None  # template.mjml as written, for lint
    severities: dict[str, str] | None = None
    # A sample's checked and prepared TemplateData, by (sample file, name,
    # raw paths, URL paths, URL checks): all that the checks and
    # prepare_data read besides the sample and the template's declared types.
    prepared: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)


def _check_samples(config: Config, samples: tuple[Sample, ...], compiled: CompiledTemplate,
                   raw_paths: tuple[str, ...], variables: Mapping[str, Any],
                   shared: _Shared | None = None) -> dict[str, dict[str, str]]:
    """Render each sample as SES will; a sample that does not fit names the
    sample, the variable and the source line.  A sample the sender would
    refuse (TemplateData over SES's limit, measured as the sender measures
    it) fails here rather than at the first send.  ``shared``: the template's
    other variants checked and prepared the same sample data already (when
    their contract reads it the same way) unless it is new."""
    rendered: dict[str, dict[str, str]] = {}
    memo = shared.prepared if shared is not None else {}
    analysis = compiled.contexts
    for sample in samples:
        where = config.rel(sample.path)
        key = (where, sample.name, raw_paths, analysis.url_paths,
               tuple(sorted((k, tuple(v)) for k, v in analysis.url_checks.items())))
        known = memo.get(key)
        rendered[sample.name], prepared = render_compiled_prepared(
            compiled, sample.data, variables=variables, raw_paths=raw_paths, where=where,
            label=f"sample '{sample.name}' ({where}): ", prepared=known)
        if known is not None:
            continue  # measured when it was prepared
        try:
            serialise_prepared(prepared)  # = template_data(sample.data, ...), prepared once
        except DataError as exc:
            raise DataError(f"sample '{sample.name}': {exc.message}", location=Location(where),
                            hint=f"{exc.hint}; a sample is the data the application sends") from None
        memo[key] = prepared
    return rendered


@dataclass(frozen=True)
class _One:
    """One template's share of a build (picklable: it may come from a worker)."""

    name: str
    files: Mapping[str, str]
    entry: ManifestEntry | None = None
    report: TemplateReport | None = None
    error: LetterheadError | None = None
    same: frozenset[str] = frozenset()  # outputs already on disk as they are (not in ``files``)
    source_hash: str | None = None  # hashed by the worker, before it read the sources


Job = tuple[Variant, str | None, bool, str | None]  # variant, deployed name, compare with disk, shared digest


def _compile_one(compiler: Compiler, config: Config, catalogs: Mapping[str, Translations],
                 sources: dict[str, _Shared], variant: Variant, deployed_name: str | None,
                 compare: bool = False, shared: str | None = None, siblings: tuple[str | None, ...] = ()) -> _One:
    """Read, compile, check and lint one template (in a worker process when
    the build is parallel: parsing its TOML and JSON is work too).
    ``compare``: also tell which outputs are already on disk as they are (so
    that the parent, which writes, need not read them all again).
    ``shared``: hash the template's inputs first (with this digest of the
    shared ones), for the build cache.  ``sources``: what this process
    worked out for each template already (:class:`_Shared`).  ``siblings``:
    the locales of the template this process compiles (their MJML compiles
    once for all: :meth:`Compiler.compile`)."""
    name, locale = variant.name, variant.locale
    mine = sources.setdefault(variant.template, _Shared())
    shash = None
    if shared is not None:
        if mine.files_digest is None:  # hashed once for all its locales, before its sources are read
            mine.files_digest = template_digest(config, variant.template)
        shash = source_hash(config, variant.template, shared, locale, files_digest=mine.files_digest)
    try:
        source = mine.source
        if source is None:  # read once for all its locales (the sources do not change during a build)
            source = mine.source = load_source(config, variant.template)
        toml_where = Location.of(config.rel(source.folder / "template.toml"))
        if source.headers or source.category != "transactional":  # before compiling: a bad header fails fast
            from .headers import check_headers

            check_headers(source.category, source.headers, toml_where, lines=source.meta_lines)
        compiled = compiler.compile(source, locale=locale, catalog=catalogs.get(locale or ""),
                                    siblings=[(loc, catalogs.get(loc or "")) for loc in siblings])
        if name != source.name:
            compiled = dataclasses.replace(compiled, name=name)
        samples = source.samples_for(locale)
        payload = payload_for(compiled)
        raw_paths = tuple(compiled.contract.raw_paths())
        rendered = _check_samples(config, samples, compiled, raw_paths, source.variables, mine)
        contract = compiled.contract
        if source.headers:  # rendered for every sample, as the sender will; their variables join the contract
            from .headers import contract_with_headers, render_headers

            for sample in samples:
                where = config.rel(sample.path)
                render_headers(source.headers, sample.data, where=where, data_name=where,
                               label=f"sample '{sample.name}' ({where}): ")
            contract = contract_with_headers(compiled.parsed.values(), source.headers, toml_where,
                                             lines=source.meta_lines, contract=compiled.contract)
        if mine.mjml_source is None or mine.severities is None:
            mine.mjml_source, mine.severities = read_text(source.mjml_path), rule_severities(config, source.lint)
        findings = lint(
            compiled, payload, [(s, p["html"]) for s, p in rendered.items()],
            mjml_source=mine.mjml_source, mjml_path=config.rel(source.mjml_path),
            gmail_clip_bytes=config.gmail_clip_bytes, variables=source.variables,
            severities=mine.severities,
        )
        errs = [f for f in findings if f.severity == "error"]
        if errs:
            raise LintError(errs)
        outputs = Outputs()
        _add_outputs(outputs, config.rel(config.ses_dir), config.rel(config.build_dir), compiled, payload, rendered)
        entry = ManifestEntry(
            name=name,
            content_hash=payload.content_hash,
            description=source.description,
            contract=contract.to_json(),
            variables={n: v.to_json() for n, v in sorted(source.variables.items())},
            raw_paths=raw_paths,
            url_paths=compiled.contexts.url_paths,
            url_checks=compiled.contexts.url_checks,
            samples=tuple(s.name for s in samples),
            size_bytes=payload.size_bytes,
            deployed_name=deployed_name,
            template=source.name if locale is not None else "",
            locale=locale or "",
            untranslated=compiled.untranslated,
            category="bulk" if source.category == "bulk" else "",
            headers=dict(source.headers),
        )
        root = str(config.root)
        same = (frozenset(p for p, c in outputs.files.items() if same_on_disk(f"{root}/{p}", c)) if compare
                else frozenset())
        files = {p: c for p, c in outputs.files.items() if p not in same}
        report = TemplateReport(name, "compiled", payload.size_bytes, tuple(findings), locale, compiled.untranslated)
        return _One(name, files, entry, report, same=same, source_hash=shash)
    except LetterheadError as exc:
        show_designer_lines(exc, config.root)
        return _One(name, {}, error=exc)


# -- parallel compilation ------------------------------------------------------
# Compiling is CPU-bound Python; a project of many templates is split across
# processes (forked: workers inherit the loaded modules).  Output does not
# depend on the split: each template is compiled on its own.
PARALLEL_FROM = int(os.environ.get("LETTERHEAD_PARALLEL_FROM", "12"))


def _by_template(jobs: list[Job], workers: int, cost: Callable[[str], int] = lambda _: 0) -> list[list[Job]]:
    """The jobs a worker takes one at a time: all the variants of a template
    together, so that one worker reads its sources, loads its Jinja templates
    and works out what its locales share, once (taken one variant at a time,
    two workers each did all that for most templates: 6 % more CPU on 50
    templates x 4 locales, 3350 ms against 3150).  With few templates a worker each, balance
    matters more: one variant a job.

    The longest first (``cost`` of a template's variant, times its variants),
    and the last ``workers`` templates one variant a job: a worker that runs
    out of jobs waits for the others to finish theirs, and the shortest jobs
    at the end keep that wait short (half a template on average otherwise:
    ~20 ms of the 200-variant build)."""
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job[0].template, []).append(job)
    if len(groups) < 4 * workers:
        return [[job] for job in jobs]
    ordered = sorted(groups.items(), key=lambda item: cost(item[0]) * len(item[1]), reverse=True)
    whole = [group for _, group in ordered[:-workers]]
    return whole + [[job] for _, group in ordered[-workers:] for job in group]


def _source_size(config: Config, template: str) -> int:
    """What a template costs to compile, roughly: its MJML's size (one stat)."""
    try:
        return (config.source_dir / template / "template.mjml").stat().st_size
    except OSError:
        return 0


def _compile_all(config: Config, brand: Mapping[str, Any], catalogs: Mapping[str, Translations], jobs: list[Job],
                 progress: Callable[[str, str], None] | None,
                 arrived: Callable[[_One], None] | None = None) -> list[_One]:
    """``arrived``: called with each result as it comes (while the workers
    go on with the others)."""
    from . import workers as _workers

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    results: list[_One] = []

    def record(one: _One) -> None:
        results.append(one)
        if progress:
            progress(one.name, "failed" if one.error else "compiled")
        if arrived:
            arrived(one)

    if len(jobs) >= PARALLEL_FROM and cpus > 1 and _workers.available():
        workers = min(cpus, 8)

        def setup() -> Callable[[list[Job]], list[_One]]:
            compiler = Compiler(config, brand, watch=False)
            sources: dict[str, _Shared] = {}  # this worker's
            def run(group: list[Job]) -> list[_One]:
                locales = _locales_of(group)
                return [_compile_one(compiler, config, catalogs, sources, *job, locales[job[0].template])
                        for job in group]

            return run

        groups = _by_template(jobs, workers, functools.partial(_source_size, config))
        for _, ones in _workers.fork_map(setup, groups, workers):
            for one in ones:
                record(one)
        order = {job[0].name: i for i, job in enumerate(jobs)}
        results.sort(key=lambda one: order[one.name])
        return results
    compiler = Compiler(config, brand, watch=False)
    sources: dict[str, _Shared] = {}
    locales = _locales_of(jobs)
    for job in jobs:
        record(_compile_one(compiler, config, catalogs, sources, *job, locales[job[0].template]))
    return results


def _locales_of(jobs: list[Job]) -> dict[str, tuple[str | None, ...]]:
    """Each template's locales among ``jobs`` (what one process compiles): a
    template's variants compile from one MRML run (:meth:`Compiler.compile`)."""
    found: dict[str, list[str | None]] = {}
    for job in jobs:
        found.setdefault(job[0].template, []).append(job[0].locale)
    return {template: tuple(locales) for template, locales in found.items()}


def build(
    config: Config,
    *,
    check: bool = False,
    force: bool = False,
    write: bool = True,
    strict: bool = False,
    progress: Callable[[str, str], None] | None = None,
) -> BuildResult:
    """``check``: compare with the files on disk instead of writing (stale →
    :class:`StaleOutputError`); ``write=False``: only compile, check samples
    and lint (``letterhead lint``); ``strict``: an untranslated message fails
    the build (a warning otherwise: it reads in the source language)."""
    folders = template_names(config)
    every = [v for folder in folders for v in variants(config, folder)]
    names = [v.name for v in every]
    refuse_clashes(config, every)
    if check:  # never writes, so cannot finish an interrupted swap: refuse to compare half of one
        swap.refuse_if_pending(config.ses_dir, config.rel(swap.record_path(config.ses_dir)))
    elif write:
        recover_interrupted_write(config)
    cache = _load_cache(config)
    # Everything compiles (--force, --check, lint, or no cache yet)?  Then the
    # last manifest only lends each variant its deployed name, put back when
    # the variant arrives: read while the workers compile, not before.
    full = force or check or not write or not cache
    old_manifest = None if full else Manifest.load(config.ses_dir)

    def old_entries() -> Mapping[str, ManifestEntry]:
        nonlocal old_manifest
        if old_manifest is None:
            old_manifest = Manifest.load(config.ses_dir)
        return old_manifest.templates

    new_cache: dict[str, str] = {}
    outputs = Outputs()
    entries: dict[str, ManifestEntry] = {}
    reports: dict[str, TemplateReport] = {}
    errors: list[LetterheadError] = []
    shared = _shared_digest(config)
    # (name, deployed name, compare with disk, shared digest when the worker
    # hashes the sources): workers read the sources.
    jobs: list[Job] = []
    if full:
        # No need to hash first: each worker hashes its template's sources
        # before reading them, in parallel.
        jobs = [(v, None, write or check, shared) for v in every]
    for v in every if not jobs else ():
        name = v.name
        shash = source_hash(config, v.template, shared, v.locale)
        old = old_entries().get(name)
        new_cache[name] = shash
        if old is not None and cache.get(name) == shash and _reuse(config, name, outputs, old):
            entries[name] = old
            reports[name] = TemplateReport(name, "unchanged", old.size_bytes, locale=v.locale,
                                           untranslated=old.untranslated)
            if progress:
                progress(name, "unchanged")
            continue
        jobs.append((v, old.deployed_name if old else None, True, None))

    catalogs: dict[str, Translations] = {}
    if jobs:
        catalogs = load_catalogs(config, {v.locale for v, *_ in jobs}, errors)
    # Each template's JSON Schema, made as soon as all its variants are
    # compiled: in a parallel build, while the workers compile the others.
    # (One with variants reused from the last build never gets them all
    # here: generate_schemas makes its schema from the manifest.)
    schemas: dict[str, str] = {}
    template_of = {v.name: v.template for v in every}
    variant_count = collections.Counter(template_of.values())
    compiled_entries: dict[str, list[ManifestEntry]] = {}

    def arrived(one: _One) -> None:
        if one.entry is None:
            return
        old_entries()  # read now, while the workers go on
        template = template_of[one.name]
        got = compiled_entries.setdefault(template, [])
        got.append(one.entry)
        if len(got) == variant_count[template]:
            schemas[template] = schema_text(template_shape(template, got))

    if jobs and not errors:
        brand = load_brand(config)
        for one in _compile_all(config, brand, catalogs, jobs, progress, arrived):
            if one.error is not None:
                errors.append(one.error)
                continue
            assert one.entry is not None and one.report is not None
            outputs.files.update(one.files)
            outputs.same.update(one.same)
            if one.source_hash is not None:
                new_cache[one.name] = one.source_hash
            entries[one.name] = one.entry
            reports[one.name] = one.report
    if full:  # each variant keeps the name it is deployed under (a broken manifest fails here, as before)
        prior = old_entries()
        for name, entry in entries.items():
            old = prior.get(name)
            if old is not None and old.deployed_name is not None:
                entries[name] = dataclasses.replace(entry, deployed_name=old.deployed_name)
    if not errors and config.locales:
        entries = link_variants(config, folders, entries, errors)
    if errors:
        # One mistake in a file every locale reads (a shared sample, the
        # template outside its messages) fails each variant alike: say it once.
        errors = list({str(e): e for e in errors}.values())
        if len(errors) == 1:
            raise errors[0]
        raise BuildFailed(errors)
    ordered = tuple(reports[n] for n in names if n in reports)
    if strict:
        refuse_untranslated(config, ((r.locale, r.untranslated) for r in ordered))

    ses_rel, build_rel = config.rel(config.ses_dir), config.rel(config.build_dir)
    manifest = Manifest(entries, html_data_key=HTML_DATA_KEY, default_locale=config.default_locale or "")
    outputs.add(f"{ses_rel}/{MANIFEST_NAME}", manifest.dumps())
    # A JSON Schema of each template's data, for applications in other
    # languages (ses_templates/schemas/: sync reads only ses_templates/*.json).
    for rel, text in generate_schemas(manifest, schemas).items():
        outputs.add(f"{ses_rel}/{rel}", text)
    types_text = None
    if config.types_module is not None and write:
        from .types import generate_module

        types_text = generate_module(manifest)
    if check:
        stale = stale_paths(config, outputs, ses_rel, build_rel)
        if types_text is not None and config.types_module is not None:
            from .types import module_is_current

            if not module_is_current(config.types_module, types_text):
                stale.append(config.rel(config.types_module))
        if stale:
            raise StaleOutputError(
                f"{len(stale)} generated file(s) are out of date: " + ", ".join(stale[:10])
                + (" …" if len(stale) > 10 else ""),
                hint="run `letterhead build` and commit the result",
            )
        return BuildResult(ordered)
    if not write:
        return BuildResult(ordered)
    written, removed = write_all(config, outputs, ses_rel, build_rel)
    if types_text is not None and config.types_module is not None:
        from .types import write_module

        if write_module(config.types_module, types_text):
            written.append(config.rel(config.types_module))
    _save_cache(config, new_cache)
    return BuildResult(ordered, written=tuple(written), removed=tuple(removed))


build_project = build  # the package-level name (``letterhead.authoring.build`` is this module)


class BuildFailed(LetterheadError):
    """Several templates failed; each error is listed."""

    def __init__(self, errors: list[LetterheadError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} templates failed:\n" + "\n".join(str(e) for e in errors))


def _add_outputs(outputs: Outputs, ses_rel: str, build_rel: str, compiled: CompiledTemplate,
                 payload: SesTemplate, rendered: Mapping[str, Mapping[str, str]]) -> None:
    name = compiled.name
    outputs.add(f"{ses_rel}/{name}.json", payload.dumps())
    outputs.add(f"{build_rel}/{name}/template.html", compiled.html)
    outputs.add(f"{build_rel}/{name}/template.txt", compiled.text)
    outputs.add(f"{build_rel}/{name}/subject.txt", compiled.subject + "\n")
    for sample, parts in sorted(rendered.items()):
        outputs.add(f"{build_rel}/{name}/samples/{sample}.html", parts["html"])
        outputs.add(f"{build_rel}/{name}/samples/{sample}.txt",
                    f"Subject: {parts['subject']}\n\n{parts['text']}")


def _reuse(config: Config, name: str, outputs: Outputs, old: ManifestEntry) -> bool:
    """Carry an unchanged template's outputs over from disk; False when any is missing."""
    ses_rel, build_rel = config.rel(config.ses_dir), config.rel(config.build_dir)
    paths = [f"{ses_rel}/{name}.json", f"{build_rel}/{name}/template.html",
             f"{build_rel}/{name}/template.txt", f"{build_rel}/{name}/subject.txt"]
    for sample in old.samples:
        paths += [f"{build_rel}/{name}/samples/{sample}.html", f"{build_rel}/{name}/samples/{sample}.txt"]
    if not all((config.root / p).is_file() for p in paths):
        return False
    try:
        payload = SesTemplate.from_json(json.loads((config.root / paths[0]).read_text(encoding="utf-8")))
    except (LetterheadError, ValueError, OSError):
        return False
    if payload.content_hash != old.content_hash:
        return False  # someone edited the generated file: regenerate it
    outputs.same.update(paths)
    return True


CACHE_FILE = ".letterhead-cache/build.json"


def _load_cache(config: Config) -> dict[str, str]:
    """Input hashes of the last successful build (kept out of the committed
    manifest: an upgrade of letterhead must not make ses_templates/ stale)."""
    try:
        data = json.loads((config.root / CACHE_FILE).read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.get("templates", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _save_cache(config: Config, hashes: dict[str, str]) -> None:
    path = config.root / CACHE_FILE
    try:
        path.parent.mkdir(exist_ok=True)
        (path.parent / ".gitignore").write_text("*\n")
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"templates": hashes}, sort_keys=True, indent=1))
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written only costs a full rebuild next time
