"""Helpers the tests import: the committed mini-projects, the installed
command, folder snapshots, free ports and moto's HTTP server.

``tests/projects/base`` is a tiny valid project; each folder under
``tests/projects/bad/`` holds only the files that break it, laid over base.
Fixtures live in conftest.py (which imports from here); tests import helpers
from here, never from conftest.py.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PROJECTS = HERE / "projects"
REPO = HERE.parent


def make_project(tmp: Path, *overlays: Path) -> Path:
    root = tmp / "project"
    shutil.copytree(PROJECTS / "base", root)
    for overlay in overlays:
        shutil.copytree(overlay, root, dirs_exist_ok=True)
    return root


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed command, as a user runs it."""
    exe = Path(sys.executable).parent / "letterhead"
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def snapshot(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MotoServer:
    """moto's HTTP server on loopback, in this process (so a test may patch
    moto's responses); conftest.py's ``moto_server`` runs one per session."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.url = ""

    def start(self) -> MotoServer:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=30) as r:
            data: dict[str, Any] = json.load(r).get("ses", {})
            return data

    def template_messages(self) -> list[dict[str, Any]]:
        return list(self.state().get("TemplateMessage", []))
