"""The set-up promise: `make install` keeps the virtualenv unless what it
installs changed, and packaging stays quiet and out of build/."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _project(tmp_path: Path) -> Path:
    for name in ("Makefile", "pyproject.toml", "setup.cfg"):
        shutil.copy(REPO / name, tmp_path / name)
    return tmp_path


def _make(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MAKEFLAGS": ""}
    return subprocess.run(["make", "-s", "-C", str(root), *args], capture_output=True, text=True, env=env,
                          timeout=60)


def _installed_venv(root: Path) -> Path:
    """A stand-in for a venv `make install` made: its python, the key and the stamp."""
    venv = root / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    key = _make(root, "VENV=venv", "--eval", "print-key: ; @$(KEY_CMD)", "print-key")
    assert key.returncode == 0, key.stderr
    (venv / ".deps-key").write_text(key.stdout)
    (venv / ".installed-stamp").touch()
    return venv


def test_editing_letterhead_settings_does_not_reinstall(tmp_path: Path) -> None:
    root = _project(tmp_path)
    venv = _installed_venv(root)
    marker = venv / "still-here"
    marker.touch()
    os.utime(root / "pyproject.toml", (1e10, 1e10))  # newer than the stamp
    with (root / "pyproject.toml").open("a") as f:
        f.write('\n[tool.letterhead.env.qa]\nprefix = "qa-"\n')
    real = _make(root, "VENV=venv", "install")
    assert real.returncode == 0, real.stderr
    assert "dependencies unchanged, not reinstalling" in real.stdout
    assert marker.exists()


def test_a_new_dependency_rebuilds(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _installed_venv(root)
    text = (root / "pyproject.toml").read_text().replace('"orjson>=3.10",', '"orjson>=3.10",\n    "attrs",', 1)
    (root / "pyproject.toml").write_text(text)
    os.utime(root / "pyproject.toml", (1e10, 1e10))
    dry = _make(root, "VENV=venv", "--eval", "print-key: ; @$(KEY_CMD)", "print-key")
    assert dry.stdout != (root / "venv" / ".deps-key").read_text()


def test_packaging_settings_do_not_warn_or_touch_build() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    # setuptools warns that [tool.distutils] in pyproject.toml is experimental
    assert "distutils" not in pyproject.get("tool", {})
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    assert cfg["build"]["build_base"] == ".pybuild"  # not build/, letterhead's output folder
    assert "/.pybuild/" in (REPO / ".gitignore").read_text().splitlines()
