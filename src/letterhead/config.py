"""Configuration, read once into a frozen object and passed down.

Sources, in order of precedence: explicit arguments (the CLI's options), the
process environment, a ``.env`` file next to ``pyproject.toml`` (never
overriding the real environment), then ``[tool.letterhead]`` in
``pyproject.toml``, then defaults.  Secrets are never stored here: boto3 reads
credentials through its own chain.

The sub-tables of ``[tool.letterhead]`` become typed, frozen settings here
too: :meth:`Config.deployment` (``[tool.letterhead.sync]`` merged with
``[tool.letterhead.env.<NAME>]``, read by :mod:`letterhead.deploy.naming`),
:attr:`Config.send` (``[tool.letterhead.send]``, read by the mailer) and
:attr:`Config.sync_region` (read by the account commands), :attr:`Config.lint`
(``[tool.letterhead.lint]``, whose rule codes the linter checks), :attr:`Config.check`
(``[tool.letterhead.check]``, read by :mod:`letterhead.check.settings`).  A table is checked
when its settings are first asked for, and a value when it is read, so a
mistake in ``[tool.letterhead.send]`` never stops a build, and an option
given on the command line wins before the file's value is ever converted.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError, Location, NamespaceError
from .locales import bcp47, check_pattern, normalize_locale

INLINERS = ("css-inline", "premailer")

DEFAULTS: dict[str, Any] = {
    "source_dir": "templates_src",
    "build_dir": "build",
    "ses_dir": "ses_templates",
    "brand_file": "templates_src/brand.toml",
    "inliner": "css-inline",
    "lang": "en",
    "gmail_clip_bytes": 102 * 1024,
    # Locales (issue 13; letterhead.locales): none by default, one language.
    "locales": [],
    "default_locale": None,
    "locale_name": "{name}__{locale}",
    # `letterhead types` (issue 15): the Python module of TypedDicts for the
    # application, written by the build too when set; None: not generated.
    "types_module": None,
}
_N = TypeVar("_N", int, float)
TABLES = ("env", "sync", "send", "events", "lint", "check")  # the sub-tables of [tool.letterhead]
EVENT_KEYS = ("database", "suppression", "topics", "max_age", "journal")
SYNC_KEYS = ("prefix", "suffix", "versioned", "keep", "rate", "max_attempts", "region")


@dataclass(frozen=True)
class Config:
    root: Path
    source_dir: Path
    build_dir: Path
    ses_dir: Path
    brand_file: Path
    inliner: str = "css-inline"
    lang: str = "en"
    gmail_clip_bytes: int = 102 * 1024
    # Normalised (letterhead.locales): every locale built, the default first;
    # empty when the project is in one language (``lang``).
    locales: tuple[str, ...] = ()
    default_locale: str | None = None
    locale_name: str = "{name}__{locale}"
    types_module: Path | None = None  # where `letterhead types` writes the application's TypedDicts
    # Sending side (from the environment; see issue "application sending API").
    region: str | None = None
    sender_email: str | None = None
    sender_name: str | None = None
    configuration_set: str | None = None
    endpoint_url: str | None = None
    # The sub-tables of [tool.letterhead] as written (env, sync, send); read
    # them through deployment(), send and sync_region.
    tables: Mapping[str, Any] = field(default_factory=dict)
    # The process environment merged over .env, as read at load time, for the
    # settings only one module needs (SMTP_*, SES_MAX_SEND_RATE...).  It may
    # hold secrets: kept out of repr, never printed.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def rel(self, path: Path | str) -> str:
        """A path as users see it: relative to the project root when inside it."""
        text, root = str(path), str(self.root)
        # The common case, by its text (paths are made from the resolved
        # root): no file system access, which a build would pay ~20 times a
        # template.  "." and ".." segments need resolving.
        if text.startswith(root) and text[len(root) : len(root) + 1] == "/":
            tail = text[len(root) + 1 :]
            if not _DOT_SEGMENT.search(tail):
                return tail
        return _relative(text, root)

    @property
    def locales_dir(self) -> Path:
        """``templates_src/_locales/<locale>/LC_MESSAGES/messages.po``: the catalogues."""
        return self.source_dir / "_locales"

    @property
    def translated_locales(self) -> tuple[str, ...]:
        """The locales that have a catalogue: all but the default (the source's own language)."""
        return tuple(loc for loc in self.locales if loc != self.default_locale)

    def with_overrides(self, **kw: Any) -> Config:
        return replace(self, **{k: v for k, v in kw.items() if v is not None})

    # -- the sub-tables of [tool.letterhead] -------------------------------------------------

    @property
    def declares_namespaces(self) -> bool:
        """True when ``[tool.letterhead.sync]`` or ``[tool.letterhead.env]`` says something."""
        return bool(self.tables.get("sync") or self.tables.get("env"))

    @property
    def sync_region(self) -> str | None:
        """``region`` of ``[tool.letterhead.sync]``; never an error (sync reports those)."""
        table = self.tables.get("sync") or {}
        region = table.get("region") if isinstance(table, Mapping) else None
        return str(region) if region else None

    @property
    def send(self) -> SendSettings:
        """``[tool.letterhead.send]``."""
        table = self.tables.get("send", {}) or {}
        if not isinstance(table, Mapping):
            raise ConfigError("[tool.letterhead.send] must be a table")
        return SendSettings(table.get("max_send_rate"), table.get("api"))

    @property
    def lint(self) -> LintSettings:
        """``[tool.letterhead.lint]``: rule code → ``"error"``, ``"warning"`` or
        ``"off"``, as written (the codes and values are checked against the
        rules by :func:`letterhead.authoring.lint.check_severities`)."""
        pyproject = self.root / "pyproject.toml"
        table = self.tables.get("lint", {}) or {}
        if not isinstance(table, Mapping):
            raise ConfigError("[tool.letterhead.lint] must be a table", location=Location.of(pyproject),
                              hint='[tool.letterhead.lint]\nimg-alt = "warning"')
        lines = toml_key_lines(pyproject, "tool.letterhead.lint") if table else {}
        return LintSettings(dict(table), {k: lines.get(k) for k in table}, self.rel(pyproject))

    @property
    def check(self) -> CheckSettings:
        """``[tool.letterhead.check]`` as written (clients, thresholds; checked
        by :func:`letterhead.check.settings.check_settings`)."""
        pyproject = self.root / "pyproject.toml"
        table = self.tables.get("check", {}) or {}
        if not isinstance(table, Mapping):
            raise ConfigError("[tool.letterhead.check] must be a table", location=Location.of(pyproject),
                              hint='[tool.letterhead.check]\nclients = ["gmail", "outlook/windows"]')
        lines = toml_key_lines(pyproject, "tool.letterhead.check") if table else {}
        return CheckSettings(dict(table), {k: lines.get(k) for k in table}, self.rel(pyproject))

    @property
    def events(self) -> EventSettings:
        """``[tool.letterhead.events]`` under the environment's
        ``LETTERHEAD_EVENTS_DB``, ``LETTERHEAD_SUPPRESSION`` and
        ``LETTERHEAD_SNS_TOPICS`` (comma-separated ARNs)."""
        table = dict(self._table("events"))
        where = Location.of(self.root / "pyproject.toml")
        for key in table:
            if key not in EVENT_KEYS:
                near = difflib.get_close_matches(key, EVENT_KEYS, n=1)
                raise ConfigError(f"unknown setting {key!r} in [tool.letterhead.events]", location=where,
                                  hint=f"did you mean {near[0]!r}?" if near else f"known: {', '.join(EVENT_KEYS)}")
        database = self.environ.get("LETTERHEAD_EVENTS_DB") or table.get("database") or DEFAULT_EVENTS_DB
        suppression = self.environ.get("LETTERHEAD_SUPPRESSION") or table.get("suppression") or "sqlite"
        if suppression not in ("sqlite", "ses", "off"):
            raise ConfigError(f"suppression must be sqlite, ses or off, not {suppression!r}", location=where,
                              hint='set [tool.letterhead.events] suppression = "sqlite" (a local file), '
                                   '"ses" (the account-level list) or "off"')
        raw_topics = self.environ.get("LETTERHEAD_SNS_TOPICS")
        topics: Any = [t.strip() for t in raw_topics.split(",") if t.strip()] if raw_topics else \
            table.get("topics", [])
        if not isinstance(topics, list) or not all(isinstance(t, str) and t.startswith("arn:") for t in topics):
            raise ConfigError("topics must be a list of SNS topic ARNs", location=where,
                              hint='topics = ["arn:aws:sns:eu-west-1:123456789012:ses-events"]')
        max_age = table.get("max_age", 3600)
        if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age <= 0:
            raise ConfigError(f"max_age must be a positive number of seconds, not {max_age!r}", location=where,
                              hint="max_age = 3600 (SNS messages older than this are refused as replays)")
        journal = table.get("journal", bool(topics))
        if not isinstance(journal, bool):
            raise ConfigError(f"journal must be true or false, not {journal!r}", location=where,
                              hint="journal = true (the Mailer records each send for live rates and "
                                   "rendering failures; on by default once topics are set)")
        path = Path(str(database)).expanduser()
        return EventSettings(database=path if path.is_absolute() else self.root / path,
                             suppression=str(suppression), topics=tuple(topics), max_age=max_age,
                             journal=journal)

    def deployment(self, name: str | None, *, reserved: str | None = None) -> DeploymentSettings:
        """The settings of the deployment ``name`` (``--env``):
        ``[tool.letterhead.env.<name>]`` over ``[tool.letterhead.sync]``; without
        a name, the sync table alone.  ``reserved``: a name no deployment may take."""
        pyproject = Location.of(self.root / "pyproject.toml")
        base = dict(self._table("sync"))
        _check_sync_keys(base, "[tool.letterhead.sync]", pyproject)
        envs = self._table("env")
        merged = dict(base)
        if name is not None:
            if name == reserved:
                raise NamespaceError(f"{reserved!r} is reserved for syncing without --env",
                                     hint="pick another environment name")
            if name not in envs:
                near = difflib.get_close_matches(name, list(envs), n=1)
                raise NamespaceError(
                    f"unknown environment {name!r}",
                    location=pyproject,
                    hint=(f"did you mean {near[0]!r}? " if near else "")
                    + f"add [tool.letterhead.env.{name}] with prefix = \"{name}-\" to pyproject.toml")
            table = envs[name]
            if not isinstance(table, Mapping):
                raise NamespaceError(f"[tool.letterhead.env.{name}] must be a table")
            _check_sync_keys(table, f"[tool.letterhead.env.{name}]", pyproject)
            merged.update(table)
        others = [(str(base.get("prefix", "")), str(base.get("suffix", "")))] if name is not None else []
        for other, table in envs.items():
            if other != name and isinstance(table, Mapping):
                others.append((str(table.get("prefix", base.get("prefix", ""))),
                               str(table.get("suffix", base.get("suffix", "")))))
        return DeploymentSettings(name, merged, tuple(others), pyproject)

    def _table(self, key: str) -> Mapping[str, Any]:
        value = self.tables.get(key, {}) or {}
        if not isinstance(value, Mapping):
            raise NamespaceError(f"[tool.letterhead.{key}] must be a table",
                                 location=Location.of(self.root / "pyproject.toml"))
        return value


def _check_sync_keys(table: Mapping[str, Any], where: str, location: Location) -> None:
    for key in table:
        if key not in SYNC_KEYS:
            near = difflib.get_close_matches(key, SYNC_KEYS, n=1)
            raise NamespaceError(
                f"unknown setting {key!r} in {where}",
                location=location,
                hint=f"did you mean {near[0]!r}?" if near else f"known: {', '.join(SYNC_KEYS)}")


DEFAULT_EVENTS_DB = ".letterhead/events.sqlite3"


@dataclass(frozen=True)
class LintSettings:
    """``[tool.letterhead.lint]`` as written: rule code → severity, the line
    of each key, and the file (as users see it)."""

    severities: Mapping[str, object] = field(default_factory=dict)
    lines: Mapping[str, int | None] = field(default_factory=dict)
    file: str = "pyproject.toml"


@dataclass(frozen=True)
class CheckSettings:
    """``[tool.letterhead.check]`` as written: key → value, the line of each
    key, and the file (as users see it)."""

    values: Mapping[str, object] = field(default_factory=dict)
    lines: Mapping[str, int | None] = field(default_factory=dict)
    file: str = "pyproject.toml"


_TOML_TABLE_RE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_TOML_KEY_RE = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_.-]+))\s*=""")


def toml_key_lines(path: Path | str, table: str) -> dict[str, int]:
    """Key → line (1-based) of the keys of ``[table]`` in a TOML file (also
    ``table.key = …`` written at the top level, when ``table`` has no dot).
    A line-based reading, for locating mistakes; a key it misses has no line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    want = table.replace(" ", "")
    lines: dict[str, int] = {}
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        m = _TOML_TABLE_RE.match(line)
        if m:
            current = m.group(1).replace('"', "").replace("'", "").replace(" ", "")
            continue
        m = _TOML_KEY_RE.match(line)
        if not m:
            continue
        key = next(g for g in m.groups() if g is not None)
        if current == want:
            lines.setdefault(key, number)
        elif current == "" and "." not in want and key.startswith(want + "."):
            lines.setdefault(key[len(want) + 1:].strip('"\''), number)
    return lines


@dataclass(frozen=True)
class EventSettings:
    """``[tool.letterhead.events]``, checked: where consumed events and
    suppressed addresses are kept, which suppression list the Mailer
    consults, which SNS topics may deliver, and how old a message may be."""

    database: Path
    suppression: str = "sqlite"  # sqlite (the database above), ses (the account-level list) or off
    topics: tuple[str, ...] = ()
    max_age: int = 3600  # seconds
    # The Mailer records each send (template, data key paths, no values) in
    # the database: on by default once topics are set, i.e. once events are consumed.
    journal: bool = False


@dataclass(frozen=True)
class SendSettings:
    """``[tool.letterhead.send]``: its values are checked when read."""

    raw_max_send_rate: object = None
    raw_api: object = None

    @property
    def max_send_rate(self) -> float | None:
        return positive_rate(self.raw_max_send_rate, "[tool.letterhead.send] max_send_rate")

    @property
    def api(self) -> str:
        """The SES API templated sends use: ``"v1"`` (SendTemplatedEmail, the
        default) or ``"v2"`` (SendEmail with Content.Template: headers such as
        List-Unsubscribe); the ``LETTERHEAD_SES_API`` variable overrides it."""
        return ses_api(self.raw_api, "[tool.letterhead.send] api") or "v1"


SES_APIS = ("v1", "v2")


def ses_api(value: object, what: str) -> str | None:
    """``"v1"`` / ``"v2"`` (``"2"``, ``"sesv2"`` accepted), None when unset."""
    if value in (None, ""):
        return None
    text = str(value).strip().lower().removeprefix("ses")
    text = text if text.startswith("v") else f"v{text}"
    if text not in SES_APIS:
        raise ConfigError(f"{what} must be \"v1\" or \"v2\", not {value!r}",
                          hint="v1: SendTemplatedEmail (no custom headers); v2: SendEmail with a template "
                          "and headers (List-Unsubscribe for bulk mail)")
    return text


def positive_rate(value: object, what: str) -> float | None:
    """A rate in messages a second, or None when unset; ``what`` names the setting in the error."""
    if value in (None, ""):
        return None
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number of messages per second", hint=f"fix {what}") from None
    if not f > 0:
        raise ConfigError(f"{what} must be > 0", hint=f"fix {what}")
    return f


@dataclass(frozen=True)
class DeploymentSettings:
    """What pyproject.toml says about one deployment (its sync table merged
    with its env table).  A value absent from both is ``None``; a value of
    the wrong type raises :class:`NamespaceError` when read."""

    name: str | None
    values: Mapping[str, Any] = field(repr=False)
    # (prefix, suffix) of every other deployment the project configures.
    others: tuple[tuple[str, str], ...] = ()
    location: Location | None = None

    @property
    def prefix(self) -> str:
        return str(self.values.get("prefix", ""))

    @property
    def suffix(self) -> str:
        return str(self.values.get("suffix", ""))

    @property
    def versioned(self) -> bool:
        return bool(self.values.get("versioned", False))

    @property
    def keep(self) -> int | None:
        return self._number(int, "keep")

    @property
    def rate(self) -> float | None:
        return self._number(float, "rate")

    @property
    def max_attempts(self) -> int | None:
        return self._number(int, "max_attempts")

    @property
    def region(self) -> str | None:
        return str(self.values["region"]) if self.values.get("region") else None

    def _number(self, kind: Callable[[Any], _N], key: str) -> _N | None:
        if key not in self.values:
            return None
        try:
            return kind(self.values[key])
        except (TypeError, ValueError) as exc:
            raise NamespaceError(f"bad sync setting: {exc}", location=self.location) from None


_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:/|$)")


@functools.lru_cache(maxsize=4096)
def _relative(path: str, root: str) -> str:
    # Cached: resolving touches the file system, and a build asks ~100 times a template.
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return path


def _line_of_key(path: Path, key: str) -> int | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith(f"{key} ") or line.strip().startswith(f"{key}="):
            return number
    return None


# A display name is text, never header syntax: controls (CR/LF end the header),
# bidirectional overrides (they reorder what the reader sees), and RFC 2047
# encoded words (mail readers decode them, so "=?utf-8?q?=0D=0A?=" smuggles a
# line break and "=?utf-8?q?=3Cboss=40bank=2Eexample=3E?=" an address).
_NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
# Long enough for any real name; short enough that the From line stays far
# under RFC 5322's 998 characters, even encoded (4 UTF-8 bytes a character).
MAX_SENDER_NAME_CHARS = 100


def check_sender_name(name: str | None, *, location: Location | None = None) -> str | None:
    """The sender's display name (``SES_SENDER_NAME``) if it is safe in a
    From header, else a :class:`ConfigError` naming the setting and the fix.

    Checked when the configuration is read, so an application fails at start
    rather than at its first send.  Quoting and encoding (which keep ``<`` and
    ``@`` in a name from ever forming an address) happen where the header is
    written; this refuses what no quoting can make right.
    """
    if not name:
        return None
    if _NAME_CONTROL.search(name):
        raise ConfigError("SES_SENDER_NAME contains a line break, control or bidirectional-override character",
                          location=location, hint="set SES_SENDER_NAME to a one-line display name, "
                          "e.g. SES_SENDER_NAME='Calndr Club'")
    if _ENCODED_WORD.search(name):
        raise ConfigError("SES_SENDER_NAME holds RFC 2047 encoded-word syntax (=?charset?q?...?=)",
                          location=location, hint="write the name as plain text, e.g. SES_SENDER_NAME='Zoë "
                          "Martin': letterhead encodes non-ASCII names itself")
    if len(name) > MAX_SENDER_NAME_CHARS:
        raise ConfigError(f"SES_SENDER_NAME is {len(name)} characters long; at most "
                          f"{MAX_SENDER_NAME_CHARS} fit in a From header",
                          location=location, hint="shorten SES_SENDER_NAME to the name recipients should see")
    return name


def find_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` holding a pyproject.toml
    (or a templates_src/ folder); ``start`` itself when there is none."""
    start = (start or Path.cwd()).resolve()
    for d in (start, *start.parents):
        if (d / "pyproject.toml").is_file() or (d / "templates_src").is_dir():
            return d
    return start


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _locales(settings: Mapping[str, Any], pyproject: Path) -> tuple[tuple[str, ...], str | None]:
    """``locales`` and ``default_locale``, normalised; the default first."""
    raw, default = settings.get("locales") or [], settings.get("default_locale")
    if not raw and default is None:
        return (), None
    where = Location.of(pyproject, _line_of_key(pyproject, "locales"))
    if isinstance(raw, str) or not isinstance(raw, list):
        raise ConfigError("locales must be a list of locale codes", location=where,
                          hint='e.g. locales = ["en", "es", "ar"]')
    found: list[str] = []
    for value in raw:
        loc = normalize_locale(value, location=where, what="locale in `locales`")
        if loc in found:
            raise ConfigError(f"locale {loc!r} is listed twice in `locales`", location=where,
                              hint="list each locale once")
        found.append(loc)
    if default is None:
        if not found:
            return (), None
        default = found[0]
    default_where = Location.of(pyproject, _line_of_key(pyproject, "default_locale"))
    default = normalize_locale(default, location=default_where, what="default_locale")
    if not found:
        found = [default]
    if default not in found:
        raise ConfigError(f"default_locale {default!r} is not one of locales ({', '.join(found)})",
                          location=default_where, hint=f'add it: locales = {[default, *found]!r}'.replace("'", '"'))
    return (default, *(loc for loc in found if loc != default)), default


def _locale_name(pattern: object, pyproject: Path) -> str:
    try:
        return check_pattern(pattern)
    except ConfigError as exc:
        exc.location = Location.of(pyproject, _line_of_key(pyproject, "locale_name"))
        raise


def load_config(
    root: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Config:
    root = find_root(root)
    settings: dict[str, Any] = dict(DEFAULTS)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            at = re.search(r"\(at line (\d+), column \d+\)", str(exc))
            raise ConfigError(
                f"pyproject.toml is not valid TOML: {exc}",
                location=Location.of(pyproject, int(at.group(1)) if at else None),
                hint="fix the syntax; `python -c 'import tomllib'` can check it",
            ) from None
        table = data.get("tool", {}).get("letterhead", {})
        unknown = sorted(set(table) - set(DEFAULTS) - set(TABLES))
        if unknown:
            import difflib

            near = difflib.get_close_matches(unknown[0], list(DEFAULTS), n=1)
            raise ConfigError(
                f"unknown setting {unknown[0]!r} in [tool.letterhead]",
                location=Location.of(pyproject),
                hint=f"did you mean {near[0]!r}?" if near else f"known settings: {', '.join(DEFAULTS)}",
            )
        settings.update(table)
        if str(settings["inliner"]) not in INLINERS:
            raise ConfigError(
                f"unknown inliner {settings['inliner']!r} in [tool.letterhead]",
                location=Location.of(pyproject, _line_of_key(pyproject, "inliner")),
                hint='set inliner = "css-inline" (the default) or "premailer"',
            )
        if "source_dir" in table and "brand_file" not in table:
            settings["brand_file"] = f"{table['source_dir']}/brand.toml"
    locales, default_locale = _locales(settings, pyproject)
    dotenv = _read_env_file(root / ".env")
    process = os.environ if environ is None else environ
    env = {**dotenv, **process}
    name_from = (Location.of(root / ".env", _line_of_key(root / ".env", "SES_SENDER_NAME"))
                 if "SES_SENDER_NAME" in dotenv and "SES_SENDER_NAME" not in process else None)
    cfg = Config(
        root=root,
        source_dir=root / settings["source_dir"],
        build_dir=root / settings["build_dir"],
        ses_dir=root / settings["ses_dir"],
        brand_file=root / settings["brand_file"],
        inliner=str(settings["inliner"]),
        lang=bcp47(default_locale) if default_locale else str(settings["lang"]),
        locales=locales,
        default_locale=default_locale,
        locale_name=_locale_name(settings["locale_name"], pyproject),
        types_module=root / str(settings["types_module"]) if settings.get("types_module") else None,
        gmail_clip_bytes=int(settings["gmail_clip_bytes"]),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        sender_email=env.get("SES_SENDER_EMAIL"),
        sender_name=check_sender_name(env.get("SES_SENDER_NAME"), location=name_from),
        configuration_set=env.get("SES_CONFIGURATION_SET"),
        endpoint_url=env.get("AWS_ENDPOINT_URL_SES") or env.get("AWS_ENDPOINT_URL"),
        tables={k: settings[k] for k in TABLES if k in settings},
        environ=env,
    )
    check_sender_name(overrides.get("sender_name"))
    return cfg.with_overrides(**overrides)
