"""What the preview shows, compiled: one state per SES template, kept current.

:class:`PreviewProject` compiles ``templates_src/`` in memory with one
:class:`~letterhead.authoring.compile.Compiler` (the build's own pipeline: the
preview never renders through a second path) and keeps one
:class:`TemplateState` per variant, exactly the SES templates a build makes
(:func:`letterhead.authoring.build.variants`): a project without locales has
one per template folder, a project with locales one per folder and locale
(the default under the plain name, ``<name>__<locale>`` for the others), each
compiled with its locale's catalogue and rendered with its locale's samples.

:meth:`PreviewProject.rebuild` takes changed paths and recompiles only the
variants they feed: a template's files feed its variants (``samples/<locale>/``
only that locale's), a locale's ``messages.po`` that locale's variant of every
template, a layout, partial or the brand everything.  A catalogue that does not
load (a ``.po`` syntax error, a translation that breaks a placeholder) is the
error of its locale's variants, at its ``.po`` line; the other locales are
unaffected.  Nothing is written to ``build/`` or ``ses_templates/``: designers
commit those with ``letterhead build``.

:func:`render_data` renders one data set the way the build checks samples:
declared types, then every part in designer form (an error names the
``template.mjml`` line), then the SES payload exactly as SES would render it
(what the frames show, byte for byte what ``build/…/samples/*.html`` holds).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ..authoring.compile import CompiledTemplate, Compiler, Translations
from ..authoring.lint import Finding, lint, rule_severities
from ..authoring.payload import SesTemplate
from ..authoring.protect import show_designer_lines
from ..authoring.safety import payload_for
from ..authoring.sources import TemplateSource, load_brand, load_source, read_text, template_names
from ..authoring.validate import render_compiled
from ..authoring.variants import Variant, variants
from ..config import Config
from ..errors import DataError, LetterheadError, RenderError
from ..locales import bcp47, is_rtl, pick

__all__ = ["ALL", "PreviewProject", "SampleRender", "TemplateState", "compile_state", "render_data"]


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
    """What the preview knows about one SES template after its last compile."""

    name: str  # the SES template: the folder's name, or <name>__<locale> for a translated variant
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
    template: str = ""  # the template folder ("": the name)
    locale: str | None = None  # None: a project without locales
    catalog: str | None = None  # the project-relative .po a translated variant reads

    @property
    def folder(self) -> str:
        return self.template or self.name

    @property
    def translated(self) -> bool:
        """A variant in a locale other than the default (named ``<name>__<locale>``)."""
        return self.locale is not None and self.name != self.folder

    @property
    def lang(self) -> str | None:
        """The ``lang`` of this variant's text (``pt-BR``), None without locales."""
        return bcp47(self.locale) if self.locale else None

    @property
    def rtl(self) -> bool:
        return self.locale is not None and is_rtl(self.locale)

    @property
    def untranslated(self) -> tuple[str, ...]:
        """The messages its catalogue left in the source language."""
        return self.compiled.untranslated if self.compiled else ()

    @property
    def status(self) -> str:
        if self.error is not None or any(not r.ok for r in self.renders.values()) \
                or any(f.severity == "error" for f in self.findings):
            return "error"
        return "warning" if self.findings or self.untranslated else "ok"

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
                  previous: TemplateState | None = None, variant: Variant | None = None,
                  catalog: Translations | LetterheadError | None = None,
                  source: TemplateSource | LetterheadError | None = None) -> TemplateState:
    """Compile template ``name`` (the folder) and render each of its samples;
    errors are kept in the state, never raised.

    ``variant``: which SES template of the folder (its name and locale; default:
    the folder itself, no locale); ``catalog``: its locale's catalogue, or the
    error that catalogue raised; ``source``: the folder already read (or the
    error reading it raised), shared by the folder's variants."""
    v = variant or Variant(name, name, None)
    last_good = None
    if previous is not None:
        last_good = previous if previous.error is None else previous.last_good
    if source is None:
        try:
            source = load_source(config, v.template)
        except LetterheadError as exc:
            source = exc
    if isinstance(source, LetterheadError):
        return TemplateState(v.name, version, error=_with_source_line(config, source), last_good=last_good,
                             template=v.template, locale=v.locale)
    samples_read = source.samples_for(v.locale)
    samples = {s.name: s.data for s in samples_read}
    base = TemplateState(v.name, version, description=source.description, source=source, samples=samples,
                         template=v.template, locale=v.locale)
    if isinstance(catalog, LetterheadError):
        return dataclasses.replace(base, error=catalog, last_good=last_good)
    try:
        compiled = compiler.compile(source) if v.locale is None else \
            compiler.compile(source, locale=v.locale, catalog=catalog)
    except LetterheadError as exc:
        return dataclasses.replace(base, error=_with_source_line(config, exc), last_good=last_good)
    if compiled.name != v.name:
        compiled = dataclasses.replace(compiled, name=v.name)
    state = dataclasses.replace(base, compiled=compiled, payload=payload_for(compiled),
                                catalog=catalog.path if catalog is not None else None)
    renders = {
        s.name: render_data(config, state, s.data, where=config.rel(s.path), label=f"sample '{s.name}': ")
        for s in samples_read
    }
    ok = [(n, r.parts["html"]) for n, r in renders.items() if r.parts]
    assert state.payload is not None
    try:
        findings = tuple(lint(compiled, state.payload, ok, mjml_source=read_text(source.mjml_path),
                              mjml_path=config.rel(source.mjml_path),
                              gmail_clip_bytes=config.gmail_clip_bytes, variables=source.variables,
                              severities=rule_severities(config, source.lint)))
    except LetterheadError as exc:
        return dataclasses.replace(base, error=exc, last_good=last_good)
    return dataclasses.replace(state, renders=renders, findings=findings)


ALL = None  # rebuild() target meaning "every template"


class _Touched(NamedTuple):
    """What changed paths feed (:data:`ALL` stands for everything)."""

    folders: dict[str, frozenset[str | None] | None]  # folder → the locales it is rebuilt in (None: all)
    catalogs: frozenset[str]  # locales whose catalogue changed: their variant of every template


class PreviewProject:
    """Every SES template of a project, compiled in memory and kept current.

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
        self._catalogs: dict[str, Translations | LetterheadError] = {}  # translated locale → catalogue
        self._catalog_files: dict[Path, str] | None = None  # .po path (resolved) → its locale
        self._family_cache: tuple[dict[str, TemplateState], dict[str, list[TemplateState]]] | None = None
        self._lock = threading.Lock()

    # -- reading -----------------------------------------------------------
    def states(self) -> list[TemplateState]:
        """Every variant: template folders in order, each one's locales in configured order."""
        return list(self._states.values())

    def get(self, name: str) -> TemplateState | None:
        """The state of a known SES template; None for anything else (a name
        from a URL is only ever a key into this dict, never a path)."""
        return self._states.get(name)

    @property
    def names(self) -> list[str]:
        """The SES templates' names (every locale's variant)."""
        return list(self._states)

    def _families(self) -> dict[str, list[TemplateState]]:
        """Folder → its variants, default first (worked out once per set of states)."""
        states = self._states
        cached = self._family_cache
        if cached is None or cached[0] is not states:
            families: dict[str, list[TemplateState]] = {}
            for s in states.values():
                families.setdefault(s.folder, []).append(s)
            cached = self._family_cache = (states, families)
        return cached[1]

    @property
    def template_names(self) -> list[str]:
        """The template folders, each once."""
        return list(self._families())

    def locales_of(self, state: TemplateState) -> list[TemplateState]:
        """The variants of ``state``'s template (itself included), default first."""
        return list(self._families().get(state.folder, ()))

    def variant(self, name: str, locale: str | None = None) -> TemplateState | None:
        """The page a URL asks for: template ``name`` (a folder, or a
        variant's own name) in ``locale``, the best match by the fallback
        chain (``es-MX`` → ``es`` → the default); without a locale the
        variant ``name`` names (the default for a folder)."""
        state = self._states.get(name)
        family = self._families().get(state.folder if state is not None else name, [])
        if not family:
            return None
        if not locale:
            return state or family[0]
        by_locale = {s.locale: s for s in family if s.locale}
        if not by_locale:
            return state or family[0]
        chosen = pick(locale, by_locale, self.config.default_locale or next(iter(by_locale)))
        return by_locale.get(chosen) or state or family[0]

    # -- what changed ------------------------------------------------------
    def _catalog_locale(self, path: Path) -> str | None:
        """The locale whose catalogue ``path`` (resolved) is, if any."""
        if self._catalog_files is None:
            files: dict[Path, str] = {}
            if self.config.translated_locales:
                from ..authoring.i18n import catalog_path

                files = {catalog_path(self.config, loc).resolve(): loc for loc in self.config.translated_locales}
            self._catalog_files = files
        return self._catalog_files.get(path)

    def _sample_locale(self, rel: tuple[str, ...]) -> str | None:
        """``<folder>/samples/<locale>/…``: a sample of that locale only."""
        if len(rel) < 4 or rel[1] != "samples":
            return None
        for loc in self.config.locales:
            if rel[2] in (loc, bcp47(loc)):
                return loc
        return None

    def _touched(self, paths: Iterable[str | Path]) -> _Touched | None:
        src = self.config.source_dir.resolve()
        brand = self.config.brand_file.resolve()
        locales_dir = self.config.locales_dir.resolve()
        folders: dict[str, frozenset[str | None] | None] = {}
        catalogs: set[str] = set()
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
            if path == locales_dir or locales_dir in path.parents:
                loc = self._catalog_locale(path)  # the .pot and compiled catalogues feed nothing
                if loc is not None:
                    catalogs.add(loc)
                continue
            if head.startswith("_"):
                return ALL
            if len(rel.parts) == 1 and not (src / head).is_dir() and path.suffix:
                continue  # a loose file at the top (a README): feeds nothing
            loc = self._sample_locale(rel.parts)
            if loc is not None and head not in folders:
                folders[head] = frozenset({loc})
            elif loc is not None and folders[head] is not None:
                folders[head] = folders[head] | {loc}  # type: ignore[operator]
            elif loc is None:
                folders[head] = None
        return _Touched(folders, frozenset(catalogs))

    def affected(self, paths: Iterable[str | Path]) -> set[str] | None:
        """The SES templates that ``paths`` feed; ``None`` (:data:`ALL`) when a
        shared file (layout, partial, brand) changed.  Without locales, these
        are template folders' names."""
        touched = self._touched(paths)
        if touched is None:
            return ALL
        found: set[str] = set()
        for folder, locales in self._work(touched).items():
            try:
                found.update(v.name for v in variants(self.config, folder) if locales is None or v.locale in locales)
            except LetterheadError:
                found.add(folder)
        return found

    def _work(self, touched: _Touched) -> dict[str, frozenset[str | None] | None]:
        """Folder → the locales to recompile it in (None: every locale)."""
        work = dict(touched.folders)
        if touched.catalogs:
            for folder in self.template_names:
                if folder not in work:
                    work[folder] = frozenset(touched.catalogs)
                elif work[folder] is not None:
                    work[folder] = work[folder] | touched.catalogs  # type: ignore[operator]
        return work

    # -- building ----------------------------------------------------------
    def rebuild(self, paths: Iterable[str | Path] | None = None) -> list[str] | None:
        """Recompile what ``paths`` touch (everything when ``paths`` is None).

        Returns the SES templates recompiled, added or removed, or ``None``
        when every template was rebuilt.
        """
        with self._lock:
            touched = ALL if paths is None or self._compiler is None else self._touched(paths)
            self.version += 1
            if touched is ALL:
                self._rebuild_all()
                return None
            for loc in touched.catalogs:
                self._catalogs[loc] = self._load_catalog(loc)
            changed: list[str] = []
            states = dict(self._states)
            for folder, locales in sorted(self._work(touched).items()):
                if folder in touched.folders:
                    self._forget_jinja(folder)
                changed += self._rebuild_folder(states, folder, locales, states)
            self._states = self._ordered(states)
            return changed

    def _rebuild_all(self) -> None:
        self.error = None
        old = self._states
        try:
            names = template_names(self.config)
            # A new Compiler reads the brand again and starts a fresh Jinja
            # cache; it costs ~13 ms once, not per template.
            self._compiler = Compiler(self.config, load_brand(self.config))
        except LetterheadError as exc:
            self.error = _with_source_line(self.config, exc)
            self._compiler = None
            self._states = {n: TemplateState(n, self.version, error=self.error, last_good=s.last_good or s,
                                             template=s.template, locale=s.locale)
                            for n, s in old.items()}
            return
        self._catalogs = {loc: self._load_catalog(loc) for loc in self.config.translated_locales}
        states: dict[str, TemplateState] = {}
        for name in names:
            self._rebuild_folder(states, name, None, old)
        self._states = self._ordered(states)

    def _load_catalog(self, locale: str) -> Translations | LetterheadError:
        from ..authoring.i18n import load_catalog

        try:
            return load_catalog(self.config, locale)
        except LetterheadError as exc:
            return _with_source_line(self.config, exc)

    def _rebuild_folder(self, states: dict[str, TemplateState], folder: str,
                        locales: frozenset[str | None] | None, previous: Mapping[str, TemplateState]) -> list[str]:
        """Recompile ``folder``'s variants in ``locales`` (None: all) into
        ``states``; returns the names recompiled, added or removed."""
        assert self._compiler is not None
        old = [n for n, s in states.items() if s.folder == folder]
        if not (self.config.source_dir / folder).is_dir():
            for n in old:
                del states[n]
            return old
        try:
            wanted = variants(self.config, folder)
        except LetterheadError as exc:  # a variant's name would not be a valid SES name
            for n in old:
                del states[n]
            states[folder] = TemplateState(folder, self.version, error=exc, template=folder,
                                           last_good=_good(previous.get(folder)))
            return sorted({*old, folder})
        try:
            source: TemplateSource | LetterheadError = load_source(self.config, folder)
        except LetterheadError as exc:
            source = exc
        changed = [n for n in old if n not in {v.name for v in wanted}]
        for n in changed:
            del states[n]
        for v in wanted:
            if locales is not None and v.locale not in locales and v.name in states:
                continue
            catalog = self._catalogs.get(v.locale) if v.locale else None
            states[v.name] = compile_state(self.config, self._compiler, folder, version=self.version,
                                           previous=previous.get(v.name), variant=v, catalog=catalog,
                                           source=source)
            changed.append(v.name)
        return changed

    def _ordered(self, states: Mapping[str, TemplateState]) -> dict[str, TemplateState]:
        """Folders in name order, each one's locales in the configured order."""
        rank = {loc: i for i, loc in enumerate(self.config.locales)}
        return dict(sorted(states.items(), key=lambda kv: (kv[1].folder, rank.get(kv[1].locale or "", -1))))

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


def _good(state: TemplateState | None) -> TemplateState | None:
    if state is None:
        return None
    return state if state.error is None else state.last_good
