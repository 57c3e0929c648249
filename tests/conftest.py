"""Shared fixtures: committed mini-projects copied to a temp folder.

``tests/projects/base`` is a tiny valid project; each folder under
``tests/projects/bad/`` holds only the files that break it, laid over base.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

HERE = Path(__file__).parent
PROJECTS = HERE / "projects"
REPO = HERE.parent


def make_project(tmp: Path, *overlays: Path) -> Path:
    root = tmp / "project"
    shutil.copytree(PROJECTS / "base", root)
    for overlay in overlays:
        shutil.copytree(overlay, root, dirs_exist_ok=True)
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed command, as a user runs it."""
    exe = Path(sys.executable).parent / "letterhead"
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def snapshot(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
