"""Translation catalogues (issue 13): extract, update, load and check.

Designers mark text with Jinja's i18n extension (``{% trans %}…{% endtrans %}``,
``[[ _("…") ]]``, ``pgettext``…), SES placeholders included verbatim: they are
plain text to Jinja, so ``{% trans %}{{inviter_name}} invited you{% endtrans %}``
has the msgid ``{{inviter_name}} invited you``.  Catalogues are Babel's, where
translation tools and platforms expect them::

    templates_src/_locales/messages.pot                       extract / write_pot
    templates_src/_locales/<locale>/LC_MESSAGES/messages.po   update (one a translated locale)

The default locale has none: it is the templates' own language.

:func:`load_catalog` reads one locale's ``.po`` for the build and checks every
translation against its msgid: the SES placeholders (the same printed
``{{…}}``/``{{{…}}}`` in any order, whitespace aside; the same block tags in the
same order) and Jinja's ``%(name)s`` variables.  A translation that breaks them
would send a message SES fills wrongly or not at all, so it is a
:class:`~letterhead.errors.TranslationError` at the ``msgstr`` line, naming the
msgid, every broken message of the file in one error (the checking is
:mod:`letterhead.authoring.i18n_check`).  A fuzzy or empty translation is not a
translation: the build falls back to the msgid.

Babel is imported only when a catalogue is read or written.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from ..config import Config
from ..errors import ConfigError, JinjaError, Location, SourceError, TranslationError
from ..locales import normalize_locale
from .i18n_check import Problem, check_translation, problems_error

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog as BabelCatalog

POT_NAME = "messages.pot"
# Letterhead's Jinja delimiters and policy, as the build's Environment has them.
JINJA_OPTIONS: Mapping[str, str] = {
    "variable_start_string": "[[",
    "variable_end_string": "]]",
    "comment_start_string": "[#",
    "comment_end_string": "#]",
    "trimmed": "true",
    "extensions": "jinja2.ext.i18n",
    "silent": "false",  # a template Jinja cannot parse is an error, not a file without messages
}
JINJA_EXTRACTOR = "jinja2.ext:babel_extract"
COMMENT_TAGS = ("Translators:",)  # `[# Translators: … #]` before a message reaches its translator
SOURCE_NAMES = ("subject.txt", "text.txt")  # and every *.mjml
_HEADER_COMMENT = ("# Translations template for the emails of {project}.\n"
                   "# `letterhead i18n update` merges the templates' messages into each locale's catalogue.\n#")
Status = Literal["translated", "fuzzy", "untranslated"]


# --- the catalogue the build reads ----------------------------------------------------------------


class Translation(NamedTuple):
    """One message of a ``.po``: its msgid (and plural), its msgstr forms and
    the line of each ``msgstr``."""

    ids: tuple[str, ...]  # (msgid,) or (msgid, msgid_plural)
    strings: tuple[str, ...]  # one a plural form
    fuzzy: bool
    lines: tuple[int, ...]

    @property
    def status(self) -> Status:
        if self.fuzzy:
            return "fuzzy"
        return "translated" if self.strings and all(self.strings) else "untranslated"


@functools.lru_cache(maxsize=64)
def _plural_function(expr: str) -> Callable[[int], int]:
    import gettext

    return gettext.c2py(expr)


@dataclass(frozen=True)
class Catalog:
    """One locale's translations, as the build looks them up.  Each lookup
    returns None when the message has no translation (missing, empty or fuzzy):
    the build then keeps the msgid.  Picklable (worker processes get it)."""

    locale: str
    path: str  # project-relative .po path
    messages: Mapping[tuple[str | None, str], Translation] = field(default_factory=dict, repr=False, hash=False)
    plural_expr: str = "(n != 1)"
    num_plurals: int = 2

    def gettext(self, msgid: str) -> str | None:
        return self._form(None, (msgid,), 0)

    def pgettext(self, context: str, msgid: str) -> str | None:
        return self._form(context, (msgid,), 0)

    def ngettext(self, singular: str, plural: str, n: int) -> str | None:
        return self._form(None, (singular, plural), n)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str | None:
        return self._form(context, (singular, plural), n)

    def _form(self, context: str | None, ids: tuple[str, ...], n: int) -> str | None:
        """The translation of a message (of the plural form for ``n``), None when there is none."""
        found = self.messages.get((context, ids[0]))
        if found is None or found.fuzzy or len(found.ids) != len(ids):
            return None
        index = _plural_function(self.plural_expr)(n) if len(ids) > 1 else 0
        return (found.strings[index] or None) if 0 <= index < len(found.strings) else None

    def line_of(self, msgid: str, context: str | None = None) -> int | None:
        """The line of the message's ``msgstr`` (its first form) in the ``.po``."""
        found = self.messages.get((context, msgid))
        return found.lines[0] if found is not None and found.lines else None

    def status(self, msgid: str, context: str | None = None) -> Status:
        """translated, fuzzy, or untranslated (missing, or a form empty)."""
        found = self.messages.get((context, msgid))
        return found.status if found is not None else "untranslated"


def catalog_path(config: Config, locale: str) -> Path:
    return config.locales_dir / locale / "LC_MESSAGES" / "messages.po"


def load_catalog(config: Config, locale: str) -> Catalog:
    """The catalogue of ``locale``, every translation checked; an empty one
    when the ``.po`` does not exist (everything untranslated)."""
    path = catalog_path(config, locale)
    rel = config.rel(path)
    if not path.is_file():
        return Catalog(locale, rel)
    babel, lines = _read_po(path, rel, locale)
    messages: dict[tuple[str | None, str], Translation] = {}
    problems: list[Problem] = []
    for message in babel:
        if not message.id:
            continue  # the header
        ids = tuple(message.id) if isinstance(message.id, (list, tuple)) else (message.id,)
        raw = message.string
        strings = tuple(s or "" for s in raw) if isinstance(raw, (list, tuple)) else (raw or "",)
        msgstr_lines = _msgstr_lines(lines, message.lineno or 1, len(strings) if len(ids) > 1 else 0)
        translation = Translation(ids, strings, message.fuzzy, msgstr_lines)
        messages[(message.context, ids[0])] = translation
        if not message.fuzzy:
            problems.extend(check_translation(ids, strings, msgstr_lines, message.context))
    if problems:
        raise problems_error(problems, rel, lines)
    return Catalog(locale, rel, messages, babel.plural_expr, babel.num_plurals)


def _msgstr_lines(lines: Sequence[str], msgid_line: int, forms: int) -> tuple[int, ...]:
    """The line of each ``msgstr`` (``msgstr[i]`` when ``forms``) after the msgid on ``msgid_line``."""
    found: dict[int, int] = {}
    for number in range(msgid_line, len(lines) + 1):
        text = lines[number - 1].strip()
        if number > msgid_line and text.startswith(("msgid ", "msgctxt ", "#")):
            break
        match = re.match(r"msgstr(?:\[(\d+)\])?\s", text)
        if match:
            found.setdefault(int(match.group(1) or 0), number)
    count = max(forms, 1)
    first = found.get(0, msgid_line)
    return tuple(found.get(i, first) for i in range(count))


# --- reading a .po ------------------------------------------------------------------------------

_PO_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_PO_KEYWORDS = ("msgctxt", "msgid", "msgid_plural", "msgstr")
_PO_HINT = ('each entry is `msgid "…"` then `msgstr "…"`, every string in double quotes '
            '(a quote inside one is written \\"); `letterhead i18n update` rewrites the file in order')


def _read_po(path: Path, rel: str, locale: str) -> tuple[BabelCatalog, list[str]]:
    """The ``.po`` as Babel reads it, and its lines; a :class:`TranslationError`
    at the line of anything malformed."""
    from babel.messages.pofile import PoFileError, read_po

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TranslationError(f"cannot read the catalogue: {exc.strerror}", location=Location(rel)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TranslationError(
            f"the catalogue is not UTF-8 (byte 0x{data[exc.start]:02x} on line {line})",
            location=Location(rel, line),
            hint='save it as UTF-8, with "Content-Type: text/plain; charset=UTF-8" in its header',
        ) from None
    lines = text.splitlines()
    _check_po_lines(lines, rel)
    try:
        catalog = read_po(lines, locale=locale, abort_invalid=True)
    except PoFileError as exc:
        line = exc.lineno + 1
        message = re.sub(r" on \d+$", "", str(exc))
        raise TranslationError(f"not a valid .po file: {message}", location=Location(rel, line),
                               hint=_PO_HINT, source_line=lines[line - 1] if line <= len(lines) else None) from None
    except (ValueError, IndexError) as exc:
        raise TranslationError(f"not a valid .po file: {exc}", location=Location(rel), hint=_PO_HINT) from None
    return catalog, lines


def _check_po_lines(lines: Sequence[str], rel: str) -> None:
    """Each line a comment, a keyword and a quoted string, or a quoted string:
    what Babel's reader assumes without checking (an unclosed quote would lose
    a character silently); and no message twice (Babel would keep the first
    silently, gettext refuses the file)."""
    seen: dict[tuple[str, str], int] = {}
    context, msgid, msgid_line = "", "", 0
    part = ""
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arg = line.partition(" ")
        if line.startswith('"'):
            keyword, arg = "", line
        elif not (keyword in _PO_KEYWORDS or re.fullmatch(r"msgstr\[\d+\]", keyword)):
            near = difflib.get_close_matches(keyword, _PO_KEYWORDS, n=1)
            raise TranslationError(
                f"not a valid .po file: unknown keyword `{keyword}`"
                + (f" (did you mean `{near[0]}`?)" if near else ""),
                location=Location(rel, number), hint=_PO_HINT, source_line=raw)
        if not _PO_STRING.fullmatch(arg.strip()):
            raise TranslationError(
                "not a valid .po file: the string on this line is not closed with a double quote"
                if arg.strip().startswith('"') else
                f"not a valid .po file: {keyword or 'this line'} must be followed by a string in double quotes",
                location=Location(rel, number), hint=_PO_HINT, source_line=raw)
        if obsolete:
            continue
        part = keyword or part
        if keyword == "msgctxt":
            context = arg.strip()
        elif keyword == "msgid":
            msgid, msgid_line = arg.strip(), number
        elif part in ("msgid", "msgctxt") and not keyword:
            if part == "msgid":
                msgid += arg.strip()
            else:
                context += arg.strip()
        elif keyword.startswith("msgstr") and msgid_line:
            key = (context, msgid)
            if key in seen and msgid != '""':
                raise TranslationError(
                    f"not a valid .po file: the message {msgid} is defined twice (first on line {seen[key]})",
                    location=Location(rel, msgid_line), source_line=lines[msgid_line - 1],
                    hint="keep one of the two entries (gettext refuses the file; only the first would be used)")
            seen.setdefault(key, msgid_line)
            context, msgid_line = "", 0


# --- extraction --------------------------------------------------------------------------------


def source_files(config: Config) -> list[Path]:
    """The files messages are extracted from, sorted: every ``*.mjml``,
    ``subject.txt`` and ``text.txt`` under the source folder, but for the
    catalogues' own folder and hidden folders."""
    if not config.source_dir.is_dir():
        raise ConfigError("source folder not found", location=Location(config.rel(config.source_dir)),
                          hint="run letterhead from your project root, or set source_dir in [tool.letterhead]")
    found: list[Path] = []
    for folder, dirs, files in os.walk(config.source_dir):
        top = Path(folder) == config.source_dir
        dirs[:] = [d for d in dirs if not d.startswith(".") and not (top and d == config.locales_dir.name)]
        found.extend(Path(folder, f) for f in files if f.endswith(".mjml") or f in SOURCE_NAMES)
    return sorted(found, key=lambda p: p.relative_to(config.source_dir).as_posix())


def extract(config: Config) -> BabelCatalog:
    """Every message of the project's templates, layouts and partials, in
    file and line order, located relative to the project root."""
    from babel.messages.catalog import Catalog as BabelCatalog
    from babel.messages.extract import extract as babel_extract_messages
    from jinja2 import TemplateSyntaxError as JinjaSyntaxError

    project = _project_name(config)
    catalog = BabelCatalog(project=project, version="emails", header_comment=_HEADER_COMMENT.format(project=project),
                           charset="utf-8")
    for path in source_files(config):
        rel = config.rel(path)
        data = path.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SourceError(f"{path.name} is not UTF-8", location=Location(rel, data[: exc.start].count(b"\n") + 1),
                              hint="save the file as UTF-8") from None
        try:
            found = list(babel_extract_messages(JINJA_EXTRACTOR, BytesIO(data), comment_tags=COMMENT_TAGS,
                                                options=JINJA_OPTIONS, strip_comment_tags=True))
        except JinjaSyntaxError as exc:
            raise JinjaError(f"cannot extract messages: {exc.message}", location=Location(rel, exc.lineno),
                             hint="fix the Jinja syntax ({% trans %}…{% endtrans %} holds text, SES "
                                  "placeholders and [[ name ]] variables only)") from None
        for lineno, message, comments, context in found:
            catalog.add(message, None, [(rel, lineno)], auto_comments=comments, context=context)
    return catalog


def _project_name(config: Config) -> str:
    """``[project] name`` of pyproject.toml (the .pot's Project-Id-Version), else "emails"."""
    import tomllib

    try:
        data = tomllib.loads((config.root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return "emails"
    name = data.get("project", {}).get("name") if isinstance(data.get("project"), dict) else None
    return str(name) if name else "emails"


def _po_bytes(catalog: BabelCatalog, **options: bool) -> bytes:
    from babel.messages.pofile import write_po

    out = BytesIO()
    write_po(out, catalog, width=76, **options)
    return out.getvalue()


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


def write_pot(config: Config, catalog: BabelCatalog | None = None) -> Path:
    """Write ``_locales/messages.pot`` (from ``catalog``, else a fresh
    extraction).  Unchanged messages keep the file's bytes, date included."""
    from babel.messages.pofile import PoFileError, read_po

    template = catalog if catalog is not None else extract(config)
    path = config.locales_dir / POT_NAME
    if path.is_file():
        try:
            old = read_po(BytesIO(path.read_bytes()), abort_invalid=True)
        except (OSError, ValueError, PoFileError):  # unreadable: simply replaced
            old = None
        if old is not None:
            template.creation_date = old.creation_date
            if _po_bytes(template) == path.read_bytes():
                return path
        template.creation_date = datetime.now().astimezone()
    _write_if_changed(path, _po_bytes(template))
    return path


# --- update ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpdateResult:
    """What ``update`` did to one locale's catalogue."""

    locale: str
    path: str  # project-relative
    created: bool
    added: int  # messages new to the catalogue
    removed: int  # messages that became obsolete
    total: int  # messages in the catalogue now
    untranslated: int  # of which without a translation (missing or empty)
    fuzzy: int  # of which with a fuzzy translation (unused until reviewed)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def target_locales(config: Config, locales: Iterable[str] | None = None) -> list[str]:
    """The locales that have a catalogue (``locales``, checked, or every translated one)."""
    pyproject = Location(config.rel(config.root / "pyproject.toml"))
    if not config.locales:
        raise ConfigError("no locales are configured for this project", location=pyproject,
                          hint='list them in [tool.letterhead] of pyproject.toml: locales = ["en", "es"] '
                               '(the first, or default_locale, is the templates\' own language)')
    if locales is None:
        if not config.translated_locales:
            raise ConfigError(f"no locale to translate into: locales lists only {config.default_locale}",
                              location=pyproject, hint='add the languages to translate into: locales = ["en", "es"]')
        return list(config.translated_locales)
    chosen: list[str] = []
    for value in locales:
        locale = normalize_locale(value, what="locale")
        if locale == config.default_locale:
            raise ConfigError(f"{locale} is the default locale, the templates' own language: it has no catalogue",
                              hint=f"translate into one of {', '.join(config.translated_locales)}")
        if locale not in config.locales:
            raise ConfigError(f"locale {locale} is not configured", location=pyproject,
                              hint=f"add it to [tool.letterhead] locales (now {list(config.locales)})")
        if locale not in chosen:
            chosen.append(locale)
    return chosen


def update(config: Config, locales: Iterable[str] | None = None) -> list[UpdateResult]:
    """Extract (writing the ``.pot``), then create or merge the ``.po`` of each
    locale: new messages are added (with Babel's fuzzy matching of a changed
    msgid), removed ones kept as obsolete (``#~``) until they come back.  A
    catalogue that does not change keeps its bytes."""
    chosen = target_locales(config, locales)
    template = extract(config)
    write_pot(config, template)
    return [_update_one(config, template, locale) for locale in chosen]


def _update_one(config: Config, template: BabelCatalog, locale: str) -> UpdateResult:
    from babel.messages.pofile import read_po

    path = catalog_path(config, locale)
    rel = config.rel(path)
    created = not path.is_file()
    if created:
        catalog = read_po(BytesIO(_po_bytes(template)), locale=locale)
        catalog.locale = locale
        catalog.revision_date = datetime.now().astimezone()
        catalog.fuzzy = False
        before: set[object] = set()
    else:
        catalog, _ = _read_po(path, rel, locale)
        before = {_message_key(m.id, m.context) for m in catalog if m.id}
        _revive(catalog, template)
        catalog.update(template)
    after = {_message_key(m.id, m.context) for m in catalog if m.id}
    _write_if_changed(path, _po_bytes(catalog))
    messages = [m for m in catalog if m.id]
    return UpdateResult(
        locale=locale, path=rel, created=created, added=len(after - before), removed=len(before - after),
        total=len(messages),
        untranslated=sum(1 for m in messages if not m.fuzzy and not _translated(m.string)),
        fuzzy=sum(1 for m in messages if m.fuzzy))


def _message_key(msgid: object, context: str | None) -> tuple[str | None, str]:
    return (context, str(msgid[0] if isinstance(msgid, (list, tuple)) else msgid))


def _translated(string: object) -> bool:
    if isinstance(string, (list, tuple)):
        return bool(string) and all(string)
    return bool(string)


def _revive(catalog: BabelCatalog, template: BabelCatalog) -> None:
    """An obsolete message the templates have again comes back with its translation."""
    wanted = {_message_key(m.id, m.context) for m in template if m.id}
    for key, message in list(catalog.obsolete.items()):
        if _message_key(message.id, message.context) in wanted:
            del catalog.obsolete[key]
            if _message_key(message.id, message.context) not in {_message_key(m.id, m.context) for m in catalog}:
                catalog[message.id] = message


# --- stats ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocaleStats:
    """How much of the templates' messages one locale translates."""

    locale: str
    path: str
    exists: bool
    total: int
    translated: int
    fuzzy: int
    untranslated: int  # missing from the catalogue, or empty

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def stats(config: Config, locales: Iterable[str] | None = None) -> list[LocaleStats]:
    """Per locale, the templates' messages translated, fuzzy and untranslated
    (each catalogue is loaded, so a broken translation is an error here too)."""
    chosen = target_locales(config, locales)
    keys = [_message_key(m.id, m.context) for m in extract(config) if m.id]
    found: list[LocaleStats] = []
    for locale in chosen:
        catalog = load_catalog(config, locale)
        counts = Counter(catalog.status(msgid, context) for context, msgid in keys)
        found.append(LocaleStats(locale, catalog.path, catalog_path(config, locale).is_file(), len(keys),
                                 counts["translated"], counts["fuzzy"], counts["untranslated"]))
    return found

