"""A build compiles a template's locale variants from one MRML run
(letterhead.authoring.share): the same files as compiling each alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from letterhead.authoring import share
from letterhead.cli import cli

from .helpers import PROJECTS, REPO, make_project, snapshot


def _build(root: Path) -> dict[str, bytes]:
    result = CliRunner().invoke(cli, ["--root", str(root), "build", "--force"])
    assert result.exit_code == 0, result.output
    return {**snapshot(root / "ses_templates"), **snapshot(root / "build")}


@pytest.mark.parametrize("project", ["locales", "calndr"])
def test_shared_and_alone_give_the_same_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, project: str) -> None:
    if project == "calndr":  # the repository's own project: Spanish and Arabic, markup in messages
        root = tmp_path / "calndr"
        shutil.copytree(REPO / "templates_src", root / "templates_src")
        shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    else:
        root = make_project(tmp_path, PROJECTS / project)
    shared: list[int] = []
    real = share.fill
    monkeypatch.setattr(share, "fill", lambda *a, **k: (shared.append(1), real(*a, **k))[1])
    monkeypatch.setenv("LETTERHEAD_SHARE", "1")
    one_run = _build(root)
    assert shared, "no variant was made from a shared compile"
    monkeypatch.setenv("LETTERHEAD_SHARE", "0")
    shared.clear()
    alone = _build(root)
    assert not shared
    assert one_run == alone
