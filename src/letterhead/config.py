"""Configuration, read once into a frozen object and passed down.

Sources, in order of precedence: explicit arguments (the CLI's options), the
process environment, a ``.env`` file next to ``pyproject.toml`` (never
overriding the real environment), then ``[tool.letterhead]`` in
``pyproject.toml``, then defaults.  Secrets are never stored here: boto3 reads
credentials through its own chain.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError, Location

INLINERS = ("css-inline", "premailer")

DEFAULTS: dict[str, Any] = {
    "source_dir": "templates_src",
    "build_dir": "build",
    "ses_dir": "ses_templates",
    "brand_file": "templates_src/brand.toml",
    "inliner": "css-inline",
    "lang": "en",
    "gmail_clip_bytes": 102 * 1024,
}


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
    # Sending side (from the environment; see issue "application sending API").
    region: str | None = None
    sender_email: str | None = None
    sender_name: str | None = None
    configuration_set: str | None = None
    endpoint_url: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
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

    def with_overrides(self, **kw: Any) -> "Config":
        return replace(self, **{k: v for k, v in kw.items() if v is not None})


_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:/|$)")


@functools.lru_cache(maxsize=4096)
def _relative(path: str, root: str) -> str:
    # Cached: resolving touches the file system, and a build asks ~100 times a template.
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return path


def _line_of_key(path: Path, key: str) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip().startswith(f"{key} ") or line.strip().startswith(f"{key}="):
            return number
    return None


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
            raise ConfigError(
                f"pyproject.toml is not valid TOML: {exc}",
                location=Location.of(pyproject),
                hint="fix the syntax; `python -c 'import tomllib'` can check it",
            ) from None
        table = data.get("tool", {}).get("letterhead", {})
        unknown = sorted(set(table) - set(DEFAULTS) - {"env", "sync", "send"})
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
    env = dict(_read_env_file(root / ".env"))
    env.update(os.environ if environ is None else environ)
    cfg = Config(
        root=root,
        source_dir=root / settings["source_dir"],
        build_dir=root / settings["build_dir"],
        ses_dir=root / settings["ses_dir"],
        brand_file=root / settings["brand_file"],
        inliner=str(settings["inliner"]),
        lang=str(settings["lang"]),
        gmail_clip_bytes=int(settings["gmail_clip_bytes"]),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        sender_email=env.get("SES_SENDER_EMAIL"),
        sender_name=env.get("SES_SENDER_NAME"),
        configuration_set=env.get("SES_CONFIGURATION_SET"),
        endpoint_url=env.get("AWS_ENDPOINT_URL_SES") or env.get("AWS_ENDPOINT_URL"),
        extra={k: settings[k] for k in ("env", "sync", "send") if k in settings},
        environ=env,
    )
    return cfg.with_overrides(**overrides)
