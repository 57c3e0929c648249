"""Checked catalogues kept between builds (letterhead.authoring.catalog_cache):
the next build reads exactly what the .po says, never a stale, broken or
planted translation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from letterhead.authoring import catalog_cache
from letterhead.authoring.catalog_cache import CatalogCache
from letterhead.authoring.i18n import load_catalog
from letterhead.cli import cli
from letterhead.config import load_config

from .helpers import PROJECTS, make_project

ES_PO = "templates_src/_locales/es/LC_MESSAGES/messages.po"
CACHE = ".letterhead-cache/catalogs.json"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the signing key's home
    return make_project(tmp_path, PROJECTS / "locales")


def build(root: Path, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["--root", str(root), "build", *args])
    return result


def html(root: Path, name: str) -> str:
    return json.loads((root / "ses_templates" / f"{name}.json").read_text())["Template"]["HtmlPart"]  # type: ignore[no-any-return]


def test_a_kept_catalogue_is_the_catalogue_the_po_gives(root: Path) -> None:
    assert build(root, "--force").exit_code == 0
    assert (root / CACHE).is_file()
    config = load_config(root)
    kept = CatalogCache(config)
    for locale in ("es", "ar"):
        catalog, digest = kept.get(locale)
        assert digest is not None
        assert catalog == load_catalog(config, locale), locale  # every message, form, line and plural rule


def test_an_edited_po_is_read_again(root: Path) -> None:
    assert build(root, "--force").exit_code == 0
    po = root / ES_PO
    text = po.read_text(encoding="utf-8")
    assert 'msgstr "Abrir"' in text
    po.write_text(text.replace('msgstr "Abrir"', 'msgstr "Abrir ahora"'), encoding="utf-8")
    assert build(root, "--force").exit_code == 0
    assert "Abrir ahora" in html(root, "welcome__es")
    assert CatalogCache(load_config(root)).get("es")[0] == load_catalog(load_config(root), "es")


def test_a_broken_catalogue_is_never_kept(root: Path) -> None:
    po = root / ES_PO
    po.write_text(po.read_text(encoding="utf-8").replace('msgstr "Abrir"', 'msgstr "Abrir {{nombre}}"'),
                  encoding="utf-8")
    for _ in range(2):  # reported every time, not only when first read
        result = build(root, "--force")
        assert result.exit_code == 1
        assert "messages.po" in result.output and "{{nombre}}" in result.output
    kept = json.loads((root / CACHE).read_bytes().partition(b"\n")[2]) if (root / CACHE).exists() else {}
    assert "es" not in kept


def _plant(root: Path, change: str) -> None:
    """Rewrite the kept Spanish "Abrir" as ``change``, keeping the signature."""
    path = root / CACHE
    signature, _, body = path.read_bytes().partition(b"\n")
    path.write_bytes(signature + b"\n" + body.replace(b'"Abrir"', json.dumps(change).encode()))


def test_a_planted_translation_is_ignored(root: Path) -> None:
    """The file lives in the checkout: one a pull request adds (or edits)
    without the user's key is not read."""
    assert build(root, "--force").exit_code == 0
    _plant(root, "Planted")
    assert build(root, "--force").exit_code == 0
    assert "Planted" not in html(root, "welcome__es") and "Abrir" in html(root, "welcome__es")


def test_a_catalogue_kept_by_other_code_is_read_again(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert build(root, "--force").exit_code == 0
    config = load_config(root)
    assert CatalogCache(config).get("es")[0] is not None
    catalog_cache._code_fingerprint.cache_clear()
    monkeypatch.setattr(catalog_cache, "__version__", "another letterhead")
    try:
        assert CatalogCache(config).get("es")[0] is None
    finally:
        catalog_cache._code_fingerprint.cache_clear()


def test_without_a_key_nothing_is_kept(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # the key cannot be made
    assert build(root, "--force").exit_code == 0
    assert not (root / CACHE).exists()
    assert "Abrir" in html(root, "welcome__es")
