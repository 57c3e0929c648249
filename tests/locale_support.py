"""A built ``ses_templates/`` with locale variants, for the sending tests.

The shape is the one ``letterhead build`` writes for ``locales = ["en", "es",
"ar"]`` (issue 13; ``docs`` in helpers/ISSUE13.md): the default locale keeps
the plain name (``coparent_invitation``, ``locale="en"``, ``variants`` listing
every locale), each other locale is its own entry and payload
(``coparent_invitation__es``: ``template="coparent_invitation"``,
``locale="es"``), and the manifest names the default locale.

How it is made: the real build compiles a copy of the repository's
templates_src/ (no locales configured), then :func:`add_variants` writes the
``es``/``ar`` variants as copies of the default's payload whose subject starts
``[es] `` / ``[ar] `` (so a test can see which variant a recipient got) and
whose ``<html lang>`` says the locale.  The build's own variants (real
translations, tests/test_locales_build.py) would do as well, but a subject
prefix tells a test at a glance which variant a recipient got.
:func:`build_plain` is the same project built without locales.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

from letterhead.authoring.build import build
from letterhead.authoring.payload import MANIFEST_NAME, Manifest, SesTemplate
from letterhead.config import load_config
from letterhead.locales import variant_name

from .helpers import REPO

DEFAULT = "en"
TRANSLATED = ("es", "ar")
LOCALES = (DEFAULT, *TRANSLATED)
TEMPLATES = ("coparent_invitation", "email_verification")

PYPROJECT = """\
[project]
name = "calndr-app"

[tool.letterhead]
source_dir = "templates_src"
build_dir = "build"
ses_dir = "ses_templates"
inliner = "css-inline"
lang = "en"
"""


def build_with_locales(root: Path, templates: tuple[str, ...] = TEMPLATES) -> Path:
    """A project at ``root`` (pyproject.toml, templates_src/ with ``templates``
    and the shared files), built, with locale variants; returns its ses_templates/."""
    ses_dir = build_plain(root, templates)
    add_variants(ses_dir)
    return ses_dir


def build_plain(root: Path, templates: tuple[str, ...] = TEMPLATES) -> Path:
    """The project of :func:`build_with_locales` built without locales (one
    language, as a project that never set ``locales``); returns its ses_templates/."""
    src = REPO / "templates_src"
    dest = root / "templates_src"
    dest.mkdir(parents=True)
    for item in src.iterdir():
        if item.name in templates or item.name.startswith("_"):
            shutil.copytree(item, dest / item.name)
        elif item.is_file():
            shutil.copy2(item, dest / item.name)
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    config = load_config(root)
    build(config)
    return config.ses_dir


def variant_subject(subject: str, locale: str) -> str:
    return subject if locale == DEFAULT else f"[{locale}] {subject}"


def add_variants(ses_dir: Path, translated: tuple[str, ...] = TRANSLATED, default: str = DEFAULT) -> None:
    """Turn a ``ses_templates/`` built without locales into one with
    ``translated`` variants of every template (see the module's docstring)."""
    manifest = Manifest.load(ses_dir)
    entries = dict(manifest.templates)
    for name, entry in manifest.templates.items():
        base = SesTemplate.load(ses_dir / f"{name}.json")
        variants = {default: name}
        for locale in translated:
            vname = variant_name(name, locale)
            payload = SesTemplate(vname, variant_subject(base.subject, locale),
                                  base.html.replace(f'lang="{default}"', f'lang="{locale}"', 1), base.text)
            (ses_dir / f"{vname}.json").write_text(payload.dumps(), encoding="utf-8")
            entries[vname] = dataclasses.replace(entry, name=vname, template=name, locale=locale, variants={},
                                                 content_hash=payload.content_hash, size_bytes=payload.size_bytes)
            variants[locale] = vname
        entries[name] = dataclasses.replace(entry, template=name, locale=default, variants=variants)
    new = Manifest(entries, html_data_key=manifest.html_data_key, default_locale=default)
    (ses_dir / MANIFEST_NAME).write_text(new.dumps(), encoding="utf-8")


def load_into(client: Any, ses_dir: Path, sender_domain: str = "calndr.club") -> list[str]:
    """Create every payload of ``ses_dir`` in (moto's) SES and verify the
    sender's domain; returns the template names."""
    names = []
    for path in sorted(ses_dir.glob("*.json")):
        if path.name == MANIFEST_NAME:
            continue
        payload = json.loads(path.read_text(encoding="utf-8"))
        client.create_template(**payload)
        names.append(payload["Template"]["TemplateName"])
    client.verify_domain_identity(Domain=sender_domain)
    return names
