"""Locale variants (issue 13): which SES templates a template folder becomes,
and the checks that span a template's variants.

One folder, one variant per locale (:func:`variants`: the default locale under
the plain name, the others ``<name>__<locale>``); the catalogues each
translated locale reads (:func:`load_catalogs`, checked once per build); the
plain entry's list of its variants and the rule that every variant keeps the
default's contract (:func:`link_variants`); names that clash
(:func:`refuse_clashes`); ``build --strict`` (:func:`refuse_untranslated`).
:mod:`letterhead.authoring.build` runs them; the preview reuses
:func:`variants`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from ..config import Config
from ..errors import LetterheadError, Location, SourceError, TranslationError
from ..locales import variant_name
from .compile import Translations
from .i18n import catalog_path
from .payload import ManifestEntry


class Variant(NamedTuple):
    """One SES template a build makes: a template folder in one locale."""

    name: str  # the SES logical name: the folder's, or <name>__<locale>
    template: str  # the folder
    locale: str | None  # None: a project without locales


def variants(config: Config, name: str) -> list[Variant]:
    """The variants of template ``name``: the default locale under the plain
    name, then each other locale (:func:`letterhead.locales.variant_name`)."""
    if not config.locales:
        return [Variant(name, name, None)]
    return [Variant(name if loc == config.default_locale else variant_name(name, loc, config.locale_name), name, loc)
            for loc in config.locales]


def refuse_clashes(config: Config, every: list[Variant]) -> None:
    """A variant name that is also a template folder (``welcome__es`` beside
    ``welcome`` in ``es``) would write one file for two templates."""
    seen: dict[str, Variant] = {}
    for v in every:
        other = seen.setdefault(v.name, v)
        if other is not v:
            raise SourceError(
                f"template {other.template!r} in locale {other.locale or v.locale} and the folder {v.template!r} "
                f"would both be the SES template {v.name!r}",
                location=Location.of(config.rel(config.source_dir / v.template)),
                hint="rename the folder, or change locale_name in [tool.letterhead] "
                '(default "{name}__{locale}")',
            )


def load_catalogs(config: Config, locales: set[str | None], errors: list[LetterheadError]) -> dict[str, Translations]:
    """Each translated locale's catalogue, checked once (a broken translation
    is reported at its ``.po`` line, once, not in every template)."""
    wanted = sorted(loc for loc in locales if loc and loc != config.default_locale)
    if not wanted:
        return {}
    from .catalog_cache import CatalogCache
    from .i18n import load_catalog  # Babel: loaded only when a catalogue is read

    kept = CatalogCache(config)  # each checked catalogue, as the last build read it
    catalogs: dict[str, Translations] = {}
    for loc in wanted:
        catalog, digest = kept.get(loc)
        if catalog is None:
            try:
                catalog = load_catalog(config, loc)
            except LetterheadError as exc:
                errors.append(exc)
                continue
            kept.put(loc, digest, catalog)
        catalogs[loc] = catalog
    kept.save()
    return catalogs


def link_variants(config: Config, folders: list[str], entries: dict[str, ManifestEntry],
                   errors: list[LetterheadError]) -> dict[str, ManifestEntry]:
    """The plain-named entry lists its variants; every variant must keep the
    default's contract (the same variables, of the same kinds): the
    application sends one data shape whatever the locale."""
    linked = dict(entries)
    for folder in folders:
        vs = variants(config, folder)
        base = entries.get(folder)
        if base is None:
            continue
        linked[folder] = dataclasses.replace(base, variants={v.locale or "": v.name for v in vs})
        for v in vs[1:]:
            entry = entries.get(v.name)
            if entry is None or same_shape(base.contract, entry.contract):
                continue
            want, got = contract_shape(base.contract), contract_shape(entry.contract)
            missing = sorted(set(want) - set(got))
            added = sorted(set(got) - set(want))
            changed = sorted(k for k in set(want) & set(got) if want[k] != got[k])
            what = "; ".join(part for part in (
                f"drops {', '.join(missing)}" if missing else "",
                f"adds {', '.join(added)}" if added else "",
                f"changes how {', '.join(changed)} {'is' if len(changed) == 1 else 'are'} used" if changed else "",
            ) if part)
            errors.append(TranslationError(
                f"template {folder!r} in {v.locale}: the translation {what} (variables must be the same in "
                "every locale)",
                location=Location.of(config.rel(catalog_path(config, v.locale or ""))),
                hint="copy the SES placeholders of each msgid exactly into its msgstr",
            ))
    return linked


def same_shape(a: Any, b: Any) -> bool:
    """``contract_shape(a) == contract_shape(b)``, without making either (a
    build compares every variant's contract with its default's)."""
    if isinstance(a, Mapping):
        if not isinstance(b, Mapping):
            return False
        if len(a) - ("locations" in a) != len(b) - ("locations" in b):
            return False
        for key, value in a.items():
            if key != "locations" and (key not in b or not same_shape(value, b[key])):
                return False
        return True
    if isinstance(b, Mapping):
        return False
    return bool(a == b)


def contract_shape(contract: Any) -> Any:
    """A contract without its source locations (which differ between locales), at every depth."""
    if isinstance(contract, Mapping):
        return {k: contract_shape(v) for k, v in contract.items() if k != "locations"}
    return contract


def refuse_untranslated(config: Config, untranslated: Iterable[tuple[str | None, tuple[str, ...]]]) -> None:
    """``build --strict``: an untranslated message (``untranslated``: each
    variant's locale and the msgids it left in the source language) fails."""
    missing: dict[str, set[str]] = {}
    for locale, ids in untranslated:
        if locale and ids:
            missing.setdefault(locale, set()).update(ids)
    if not missing:
        return
    loc = sorted(missing)[0]
    counts = ", ".join(f"{locale}: {len(ids)}" for locale, ids in sorted(missing.items()))
    first = sorted(missing[loc])[0]
    raise TranslationError(
        f"untranslated messages ({counts}), e.g. {first!r} in {loc}",
        location=Location.of(config.rel(catalog_path(config, loc))),
        hint="run `letterhead i18n update`, translate the empty msgstr entries, and build again "
        "(without --strict they read in the source language)",
    )
