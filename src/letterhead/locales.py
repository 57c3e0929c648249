"""Locale identifiers, variant names and the fallback chain (issue 13).

SES has no notion of language: each locale of a template is its own stored
template.  The names and rules here are shared by the build (which makes one
variant per template and locale), sync (which sees variants as templates) and
the sender (which picks the variant for a recipient's locale):

* a locale is written as Babel and gettext write it, ``ll[_Script][_RR]``
  (``es``, ``pt_BR``, ``zh_Hant_TW``): :func:`normalize_locale` accepts the
  BCP 47 spelling too (``pt-BR``) and refuses what CLDR does not know;
* a variant is named ``<name>__<locale>`` by default (:func:`variant_name`; the
  pattern is ``locale_name`` in ``[tool.letterhead]``); SES names allow only
  ``[A-Za-z0-9_-]``, which a normalised locale always fits;
* the default locale keeps the template's plain name and has no ``__en``
  twin: an application that sends ``coparent_invitation`` keeps working when
  locales are added, the stored template it uses is not renamed (so a sync does
  not delete and recreate it), and no SES template is spent on a duplicate;
* :func:`fallback_chain`: ``es-MX`` → ``es_MX``, ``es``, then the default.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from .errors import ConfigError, Location

DEFAULT_PATTERN = "{name}__{locale}"
_SES_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_LOCALE_CHARS = re.compile(r"^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*$")


@functools.lru_cache(maxsize=256)
def _parse(value: str) -> str | None:
    """Babel's canonical spelling of ``value``, None when CLDR does not know it."""
    if not _LOCALE_CHARS.match(value):
        return None
    from babel import Locale, UnknownLocaleError

    try:
        return str(Locale.parse(value.replace("-", "_"), sep="_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def normalize_locale(value: object, *, location: Location | None = None, what: str = "locale") -> str:
    """``"es-MX"`` → ``"es_MX"``; a :class:`ConfigError` naming ``what`` for a
    locale CLDR does not know (with the nearest known one when there is one)."""
    text = str(value).strip() if isinstance(value, str) else ""
    found = _parse(text) if text else None
    if found is not None:
        return found
    hint = "write a language code, optionally with a region: \"es\", \"es_MX\", \"pt-BR\", \"ar\""
    near = _parse(text.split("-")[0].split("_")[0]) if text else None
    if near is not None and near != text:
        hint = f"did you mean {near!r}? " + hint
    raise ConfigError(f"unknown {what} {value!r}", location=location, hint=hint)


def parse_locale(value: object) -> str | None:
    """:func:`normalize_locale` for input from outside (a recipient's
    preference, an Accept-Language entry): None instead of an error."""
    return _parse(value.strip()) if isinstance(value, str) and value.strip() else None


def bcp47(locale: str) -> str:
    """The HTML ``lang`` spelling: ``pt_BR`` → ``pt-BR``."""
    return locale.replace("_", "-")


# CLDR's character order, as a rule on the locale's name (Babel 2.19's data:
# tests/test_locales.py checks the rule against every locale Babel knows).
# Asking Babel loads each locale's whole data file: ~27 ms of every build
# process with three locales, for one fact.  A script subtag decides
# (az_Arab is right to left, pa is not); without one, the language does.
_RTL_SCRIPTS = frozenset({"Adlm", "Arab", "Hebr", "Mand", "Mend", "Nkoo", "Rohg", "Samr", "Syrc", "Thaa"})
_RTL_LANGUAGES = frozenset({
    "apc", "ar", "ary", "bal", "bgn", "bqi", "brh", "ckb", "dv", "fa", "he", "ks", "lrc", "mzn", "nqo", "ps",
    "rhg", "sd", "sdh", "skr", "syr", "trw", "ug", "ur", "yi",
})


def is_rtl(locale: str) -> bool:
    """Whether the locale's script is written right to left (CLDR: ar, he, fa, ur…)."""
    parts = locale.replace("-", "_").split("_")
    if len(parts) > 1 and len(parts[1]) == 4 and parts[1].isalpha():
        return parts[1].title() in _RTL_SCRIPTS
    return parts[0].lower() in _RTL_LANGUAGES


def check_pattern(pattern: object, *, location: Location | None = None) -> str:
    """A ``locale_name`` pattern: ``{name}`` and ``{locale}`` once each, the
    rest letters, digits, ``_`` and ``-``."""
    if not isinstance(pattern, str) or pattern.count("{name}") != 1 or pattern.count("{locale}") != 1:
        raise ConfigError(f"locale_name {pattern!r} must hold {{name}} and {{locale}} once each",
                          location=location, hint=f'the default is "{DEFAULT_PATTERN}"')
    rest = pattern.replace("{name}", "").replace("{locale}", "")
    if rest and not re.fullmatch(r"[A-Za-z0-9_-]+", rest):
        raise ConfigError(f"locale_name {pattern!r}: SES template names allow only letters, digits, '_' and '-'",
                          location=location, hint=f'e.g. "{DEFAULT_PATTERN}" or "{{name}}-{{locale}}"')
    return pattern


def variant_name(name: str, locale: str, pattern: str = DEFAULT_PATTERN) -> str:
    """The SES template name of ``name`` in ``locale`` (``coparent_invitation__es``)."""
    result = pattern.replace("{name}", name).replace("{locale}", locale)
    if not _SES_NAME.match(result):
        raise ConfigError(
            f"the {locale} variant of template {name!r} would be named {result!r} "
            f"({len(result)} characters): SES allows letters, digits, '_' and '-', at most 64",
            hint="shorten the template folder's name or the locale_name pattern in [tool.letterhead]",
        )
    return result


def fallback_chain(requested: str | None, default: str) -> list[str]:
    """The locales to try for ``requested``, best first, ending with ``default``:
    ``es-MX`` → ``["es_MX", "es", "en"]``; ``zh-Hant-TW`` → ``["zh_Hant_TW",
    "zh_Hant", "zh", "en"]``.  An unknown or empty request gives ``[default]``."""
    chain: list[str] = []
    found = parse_locale(requested) if requested else None
    if found is not None:
        parts = found.split("_")
        for n in range(len(parts), 0, -1):
            chain.append("_".join(parts[:n]))
    if default not in chain:
        chain.append(default)
    return chain


def pick(requested: str | None, available: Iterable[str], default: str) -> str:
    """The first locale of :func:`fallback_chain` that ``available`` has
    (``default`` when none: the default is always available)."""
    have = set(available)
    for candidate in fallback_chain(requested, default):
        if candidate in have:
            return candidate
    return default
