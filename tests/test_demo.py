"""`make demo`'s last step, as a subprocess on a copy of the project: sync into
the embedded SES, a no-op second sync, two sends, and what recipients get."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import REPO

pytestmark = [pytest.mark.aws, pytest.mark.slow]


def test_demo_syncs_sends_and_renders_what_recipients_get(tmp_path: Path) -> None:
    root = tmp_path / "calndr"
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root)
    for folder in ("templates_src", "ses_templates"):
        shutil.copytree(REPO / folder, root / folder)
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "calndr_demo.py")], cwd=root, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    # three templates in three languages (en, es, ar): nine SES templates
    assert "9 to create" in out and "synced: 9 created" in out
    assert "synced: 0 created, 0 updated, 0 deleted, 9 unchanged" in out
    assert "SES now holds 9 template(s)" in out and "coparent_invitation__ar" in out
    invitation = (root / ".demo" / "1-coparent_invitation.txt").read_text()
    verification = (root / ".demo" / "2-email_verification.txt").read_text()
    spanish = (root / ".demo" / "3-coparent_invitation__es.txt").read_text()
    assert "sent coparent_invitation__es (locale es, asked es-MX)" in out
    assert "te invita a compartir un calendario en Calndr Club" in spanish
    assert "Subject: Priya Raman invited you to share a calendar on Calndr Club" in invitation
    assert "From: Calndr Club <noreply@calndr.club>" in invitation
    code_line = [line.strip() for line in verification.splitlines() if line.strip().isdigit()]
    assert len(code_line) == 1 and len(code_line[0]) == 6
    assert "valid for 10 minutes, until" in verification
    assert code_line[0] not in out + proc.stderr  # the code is never printed
    assert not (root / "ses_templates" / "deployed").exists()  # no deploy record of a throwaway SES
    # every path the demo prints is there afterwards (the sync record lives in its scratch copy)
    printed = [line.rsplit(" ", 1)[1].rstrip(")") for line in out.splitlines() if "its record is" in line]
    assert printed == [".demo/project/ses_templates/deployed/default.json"]
    assert (root / printed[0]).is_file()
    for line in out.splitlines():
        if line.startswith("  .demo/"):
            assert (root / line.strip()).is_file(), line
