"""The JSON Schemas a build writes (``ses_templates/schemas/``) are made for
each template as soon as all its locale variants are compiled (in a parallel
build, while the workers compile the rest): they must be exactly what the
finished manifest gives, including for a template whose variants were not
all compiled this time (an incremental build).

``tests/projects/locales``: ``welcome`` in en, es and ar.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from letterhead.authoring.build import build
from letterhead.authoring.payload import Manifest
from letterhead.authoring.schema import SCHEMA_DIR, generate_schemas
from letterhead.config import load_config

from .helpers import PROJECTS, make_project


def _add_variable(folder: Path, name: str) -> None:
    """``{{name}}`` printed in its own mj-text of template.mjml, and sent by every sample."""
    mjml = folder / "template.mjml"
    mjml.write_text(mjml.read_text(encoding="utf-8").replace(
        '<mj-text css-class="lead">', '<mj-text>{{%s}}</mj-text><mj-text css-class="lead">' % name, 1),
                    encoding="utf-8")
    for sample in (folder / "samples").rglob("*.json"):
        sample.write_text(sample.read_text(encoding="utf-8").replace("{", '{"%s": "x", ' % name, 1),
                          encoding="utf-8")


def _on_disk(root: Path) -> dict[str, str]:
    folder = root / "ses_templates" / SCHEMA_DIR
    return {f"{SCHEMA_DIR}/{p.name}": p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.json"))}


@pytest.mark.parametrize("parallel_from", ["1", "100000"])
def test_schemas_written_while_compiling_are_the_manifests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            parallel_from: str) -> None:
    monkeypatch.setenv("LETTERHEAD_PARALLEL_FROM", parallel_from)
    root = make_project(tmp_path, PROJECTS / "locales")
    src = root / "templates_src"
    # A second template with a contract of its own.
    shutil.copytree(src / "welcome", src / "second")
    _add_variable(src / "second", "extra")
    config = load_config(root)
    build(config, force=True)
    manifest = Manifest.load(config.ses_dir)
    assert _on_disk(root) == generate_schemas(manifest)
    assert set(_on_disk(root)) == {f"{SCHEMA_DIR}/second.json", f"{SCHEMA_DIR}/welcome.json"}

    # Incremental: only welcome's template changes; second's variants are reused.
    _add_variable(src / "welcome", "nickname")
    build(load_config(root))
    manifest = Manifest.load(config.ses_dir)
    assert _on_disk(root) == generate_schemas(manifest)
    assert "nickname" in _on_disk(root)[f"{SCHEMA_DIR}/welcome.json"]
    assert "extra" in _on_disk(root)[f"{SCHEMA_DIR}/second.json"]
