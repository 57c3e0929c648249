"""The command line as users meet it: CliRunner and a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from letterhead.cli.main import cli

from .helpers import REPO, run_cli


def test_help_lists_commands_and_explains_build() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for cmd in ("build", "lint", "render"):
        assert cmd in result.output
    build_help = CliRunner().invoke(cli, ["build", "--help"]).output
    assert "--check" in build_help and "--json" in build_help


def test_build_then_check_then_stale_check_exit_codes(project: Path) -> None:
    first = run_cli("build", cwd=project)
    assert first.returncode == 0, first.stderr
    assert "built 1 template(s)" in first.stdout
    assert (project / "ses_templates" / "welcome.json").is_file()
    assert (project / "build" / "welcome" / "template.html").is_file()
    assert (project / "build" / "welcome" / "samples" / "hostile.html").is_file()
    assert run_cli("build", "--check", cwd=project).returncode == 0
    (project / "templates_src" / "welcome" / "subject.txt").write_text("Changed {{name}}\n")
    stale = run_cli("build", "--check", cwd=project)
    assert stale.returncode == 2
    assert "ses_templates/welcome.json" in stale.stderr and "letterhead build" in stale.stderr


def test_build_json_output_is_machine_readable(project: Path) -> None:
    result = CliRunner().invoke(cli, ["--root", str(project), "build", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["ok"] is True
    assert [t["name"] for t in data["templates"]] == ["welcome"]
    assert "ses_templates/welcome.json" in data["written"]


def test_lint_reports_and_writes_nothing(project: Path) -> None:
    result = CliRunner().invoke(cli, ["--root", str(project), "lint", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ok"] is True
    assert not (project / "ses_templates").exists() and not (project / "build").exists()


def test_render_a_sample_both_escaping_modes(project: Path) -> None:
    assert CliRunner().invoke(cli, ["--root", str(project), "build"]).exit_code == 0
    for flag in ("--escape", "--no-escape"):
        result = CliRunner().invoke(cli, ["--root", str(project), "render", "welcome", "--sample", "hostile", flag, "--json"])
        assert result.exit_code == 0, result.output
        parts = json.loads(result.output)
        assert parts["subject"] == 'Welcome to Mini, <b>Tom & "Jerry"</b>'
        assert "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;" in parts["html"]


def test_render_with_data_missing_a_variable_says_ses_would_drop_it(project: Path, tmp_path: Path) -> None:
    assert CliRunner().invoke(cli, ["--root", str(project), "build"]).exit_code == 0
    data = tmp_path / "data.json"
    data.write_text('{"url": "https://x.example"}')
    result = CliRunner().invoke(cli, ["--root", str(project), "render", "welcome", "--data", str(data)])
    assert result.exit_code == 1
    assert "missing variable `name`" in result.output and "drop" in result.output


def test_render_unknown_template_suggests(project: Path) -> None:
    assert CliRunner().invoke(cli, ["--root", str(project), "build"]).exit_code == 0
    result = CliRunner().invoke(cli, ["--root", str(project), "render", "welcom"])
    assert result.exit_code == 1 and "did you mean 'welcome'" in result.output


def test_python_dash_m_letterhead_works(project: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "letterhead", "build"], cwd=project,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_repository_outputs_are_up_to_date() -> None:
    """The committed build/ and ses_templates/ are what the sources give."""
    proc = run_cli("build", "--check", cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_repository_preview_export_is_up_to_date(tmp_path: Path) -> None:
    """The committed preview/ (for pull-request review) is what the sources give."""
    proc = run_cli("preview", "--export", str(tmp_path / "preview"), cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    committed = {p.relative_to(REPO / "preview").as_posix(): p.read_bytes()
                 for p in (REPO / "preview").rglob("*") if p.is_file()}
    fresh = {p.relative_to(tmp_path / "preview").as_posix(): p.read_bytes()
             for p in (tmp_path / "preview").rglob("*") if p.is_file()}
    assert committed == fresh, "run `letterhead preview --export preview/` and commit the result"


def test_an_unknown_inliner_names_pyproject_and_the_line(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'inliner = "juice"\n')
    result = CliRunner().invoke(cli, ["--root", str(project), "build"])
    assert result.exit_code == 1
    line = len(pyproject.read_text().splitlines())
    assert f"pyproject.toml:{line}: unknown inliner 'juice'" in result.output
    assert 'inliner = "css-inline"' in result.output


def test_build_ends_cleanly_when_its_reader_stops_early(project: Path) -> None:
    """build skips Python's teardown after flushing its output; a reader that
    has gone (`| head`, a closed stdout) gets no traceback, and the exit code
    says the output was lost."""
    exe = str(Path(sys.executable).parent / "letterhead")
    proc = subprocess.Popen([exe, "build", "--json"], cwd=project, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before build writes a byte
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 1
    assert "Traceback" not in err and "Exception ignored" not in err, err
    closed = subprocess.run(f"'{exe}' build >&-", shell=True, cwd=project, capture_output=True, text=True,
                            timeout=120)
    assert "Traceback" not in closed.stderr, closed.stderr
    assert (project / "ses_templates" / "welcome.json").is_file()  # the build itself was done
