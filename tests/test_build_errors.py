"""Bad input: each committed mini-project under tests/projects/bad/ must fail
with an error naming the file (and line), exit non-zero, and leave
ses_templates/ exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from letterhead.cli.main import cli

from .helpers import PROJECTS, make_project, run_cli, snapshot

# case → (error class name, file that must be named, line or None, words the message or fix must hold)
CASES = {
    "mjml_error": ("MjmlError", "templates_src/welcome/template.mjml", 5, ["mj-textt", "did you mean <mj-text>"]),
    # The {% if %} left open (line 5), not the {% endblock %} where Jinja noticed it (line 9).
    "jinja_syntax": ("JinjaError", "templates_src/welcome/template.mjml", 5, ["endif", "never closed", "line 9"]),
    "unknown_brand": ("JinjaError", "templates_src/welcome/template.mjml", 6, ["colour", "did you mean 'color'"]),
    "unbalanced_if": ("TemplateSyntaxError", "templates_src/welcome/template.mjml", 6, ["if"]),
    "unsupported_helper": ("TemplateSyntaxError", "templates_src/welcome/template.mjml", 6, ["eq", "Pinpoint"]),
    "sample_missing_variable": ("RenderError", "templates_src/welcome/", None, ["name", "default"]),
    "sample_not_json": ("SourceError", "templates_src/welcome/samples/default.json", 4, ["JSON"]),
    "not_utf8": ("SourceError", "templates_src/welcome/subject.txt", 1, ["UTF-8"]),
    "too_big": ("LintError", "templates_src/welcome/template.mjml", None, ["500 KB"]),
    "invalid_name": ("SourceError", "templates_src/welcome email", None, ["invalid template name", "welcome_email"]),
    "placeholder_lost": ("PlaceholderLostError", "templates_src/welcome/template.mjml", 6, ["{{campaign}}"]),
    "placeholder_between_sections": ("PlaceholderLostError", "templates_src/welcome/template.mjml", 8, ["{{signature}}", "mj-text"]),
}


def test_every_bad_project_has_a_case() -> None:
    assert sorted(p.name for p in (PROJECTS / "bad").iterdir()) == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_fails_clearly_and_writes_nothing(case: str, tmp_path: Path) -> None:
    good = make_project(tmp_path / "good")
    assert CliRunner().invoke(cli, ["--root", str(good), "build"]).exit_code == 0
    root = make_project(tmp_path, PROJECTS / "bad" / case)
    # Start from a real, previous build's output so "as it was" means something.
    import shutil

    shutil.copytree(good / "ses_templates", root / "ses_templates")
    before = snapshot(root / "ses_templates")
    assert before

    error, path, line, words = CASES[case]
    result = CliRunner().invoke(cli, ["--root", str(root), "build", "--json"])
    assert result.exit_code == 1, result.output
    payload = json.loads(result.output)
    assert payload["ok"] is False
    text = json.dumps(payload)
    assert payload["error"] == error or error in text, payload
    located = payload.get("file") or ""
    if payload.get("findings"):
        located = payload["findings"][0]["file"]
    assert located.startswith(path), payload
    if line is not None:
        assert payload.get("line") == line, payload
    for w in words:
        assert w in text, (w, payload)
    assert payload.get("hint") or payload.get("findings"), payload
    assert snapshot(root / "ses_templates") == before


def test_error_output_for_humans_names_file_line_and_fix(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "bad" / "unknown_brand")
    proc = run_cli("build", cwd=root)
    assert proc.returncode == 1
    assert "ERROR" in proc.stderr
    assert "templates_src/welcome/template.mjml:6" in proc.stderr
    assert "fix: did you mean 'color'?" in proc.stderr
    assert "Traceback" not in proc.stderr
