"""``letterhead check`` as users meet it: the command on small committed
projects with known problems, their findings and exit codes (0 clean or
warnings only, 1 bad input or a missing tool, 2 a finding at error
severity), the JSON, severities tuned like lint's, the report the preview
shows, and Calndr Club's own templates passing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from letterhead.cli.main import cli

from .docs_harness import copy_project
from .helpers import PROJECTS, make_project, run_cli

STATIC_ONLY = ["--skip", "axe,dark,spam"]


def run(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--root", str(root), "check", *args])


def report(r: Result) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(r.output)
    return data


def codes(data: dict[str, Any]) -> set[str]:
    return {f["code"] for f in data["findings"]}


def lint_table(root: Path, table: str) -> None:
    with (root / "pyproject.toml").open("a") as f:
        f.write("\n[tool.letterhead.lint]\n" + table)


def test_a_flex_layout_is_reported_for_outlook_at_its_source_line(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "check-flex")
    r = run(root, "cards", *STATIC_ONLY, "--skip", "a11y,links")
    assert r.exit_code == 0, r.output  # client support is a warning by default
    assert "display:flex is not supported in" in r.output and "Outlook Windows" in r.output
    mjml = (root / "templates_src/cards/template.mjml").read_text().splitlines()
    line = next(i for i, text in enumerate(mjml, 1) if "display: flex" in text or "display:flex" in text)
    assert f"templates_src/cards/template.mjml:{line}:" in r.output
    assert "unsupported in (features)" in r.output and "Outlook Windows (" in r.output
    # a team that gates on it
    lint_table(root, 'client-support = "error"\n')
    r = run(root, "cards", *STATIC_ONLY, "--skip", "a11y,links", "--json")
    assert r.exit_code == 2, r.output
    flex = [f for f in report(r)["findings"] if f["details"].get("feature") == "css-display-flex"]
    assert flex and flex[0]["severity"] == "error" and flex[0]["line"] == line
    assert report(r)["ok"] is False


def test_static_accessibility_and_links(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "check-static")
    r = run(root, "static", *STATIC_ONLY, "--skip", "clients", "--json")
    assert r.exit_code == 2, r.output  # http:// links and images are errors
    data = report(r)
    assert {"layout-table", "link-text", "https"} <= codes(data)
    https = [f for f in data["findings"] if f["code"] == "https"]
    assert all(f["severity"] == "error" for f in https)
    assert any("http://example.com/archive" in f["message"] for f in https)
    # the same rules, tuned per template in template.toml's [lint]
    (root / "templates_src/static/template.toml").write_text('[lint]\nhttps = "warning"\nlink-text = "off"\n')
    r = run(root, "static", *STATIC_ONLY, "--skip", "clients", "--json")
    assert r.exit_code == 0, r.output
    data = report(r)
    assert "link-text" not in codes(data)
    assert {f["severity"] for f in data["findings"] if f["code"] == "https"} == {"warning"}


@pytest.mark.slow
def test_a_gtube_sample_is_spam(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "check-gtube")
    r = run(root, "--skip", "axe,dark,clients", "--json")
    assert r.exit_code == 2, r.output
    data = report(r)
    spam = [f for f in data["findings"] if f["code"] == "spam"]
    assert [(f["sample"], f["severity"]) for f in spam] == [("gtube", "error")]
    assert "GTUBE" in spam[0]["message"]
    scores = {s["sample"]: s["spam_score"] for t in data["templates"] for s in t["samples"]}
    assert scores["gtube"] >= 1000 and scores["default"] < 2.5


@pytest.mark.browser
@pytest.mark.parametrize(("overlay", "code", "rule"), [
    ("check-low-contrast", "contrast", None),
    ("check-dark-logo", "dark-logo", None),
    ("check-axe", "axe", "image-alt"),
])
def test_browser_checks_find_the_known_problem(tmp_path: Path, overlay: str, code: str, rule: str | None) -> None:
    root = make_project(tmp_path, PROJECTS / overlay)
    r = run(root, "--skip", "spam,clients", "--json")
    assert r.exit_code == 2, r.output
    found = [f for f in report(r)["findings"] if f["code"] == code and f["severity"] == "error"]
    assert found, codes(report(r))
    if rule:
        assert rule in {f["details"].get("rule") for f in found}


@pytest.mark.browser
def test_an_image_without_alt_is_reported_once(tmp_path: Path) -> None:
    # the build lets it through as a warning; check reports it once, through axe (its static twin goes)
    root = make_project(tmp_path, PROJECTS / "check-axe")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('img-alt = "off"', 'img-alt = "warning"'))
    r = run(root, "--skip", "spam,clients", "--json")
    data = report(r)
    assert r.exit_code == 2, r.output
    found = [(f["sample"], f["code"]) for f in data["findings"]
             if f["code"] == "img-alt" or f["details"].get("rule") == "image-alt"]
    assert sorted(found) == [("default", "axe"), ("hostile", "axe")]
    r = run(root, "--skip", "spam,clients,axe", "--json")  # without axe, the static check reports it
    assert sorted((f["sample"], f["code"]) for f in report(r)["findings"] if f["code"] == "img-alt") == [
        ("default", "img-alt"), ("hostile", "img-alt")]


def test_bad_input_exits_1(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    r = run(root, "welcom", *STATIC_ONLY)
    assert r.exit_code == 1 and "no template named 'welcom'" in r.output and "did you mean 'welcome'" in r.output
    r = run(root, "--skip", "spamm")
    assert r.exit_code == 1 and "unknown check 'spamm'" in r.output
    with (root / "pyproject.toml").open("a") as f:
        f.write('\n[tool.letterhead.check]\nchromium = "/nonexistent/chromium"\n')
    r = run(root, "--skip", "spam")
    assert r.exit_code == 1, r.output
    assert "/nonexistent/chromium" in r.output and "chromium" in r.output.lower()


def test_a_template_that_does_not_build_is_reported_as_the_build_does(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "lint-no-alt")
    r = run(root, *STATIC_ONLY)
    assert r.exit_code == 1 and "[img-alt]" in r.output
    assert not (root / ".letterhead-cache" / "check.json").exists()


def test_the_report_is_kept_for_the_preview(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "check-static")
    r = run(root, "static", *STATIC_ONLY, "--skip", "clients")
    assert r.exit_code == 2, r.output
    saved = json.loads((root / ".letterhead-cache" / "check.json").read_text())
    assert saved["errors"] >= 1 and saved["checks"] == ["a11y", "links"]
    out = CliRunner().invoke(cli, ["--root", str(root), "preview", "--export", str(tmp_path / "site"),
                                   "--with-check"])
    assert out.exit_code == 0, out.output
    page = (tmp_path / "site" / "static.html").read_text()
    assert 'data-check-state="current"' in page and "[https]" in page
    plain = CliRunner().invoke(cli, ["--root", str(root), "preview", "--export", str(tmp_path / "plain")])
    assert plain.exit_code == 0 and 'id="check"' not in (tmp_path / "plain" / "static.html").read_text()


@pytest.mark.slow
@pytest.mark.browser
def test_calndr_templates_pass_check(tmp_path: Path) -> None:
    """The repository's own templates, every check, the installed command:
    no finding at error severity (exit 0), every sample of every locale."""
    root = copy_project(tmp_path / "calndr")
    proc = run_cli("check", "--json", cwd=root)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert data["errors"] == 0 and data["checks"] == ["clients", "a11y", "axe", "dark", "spam", "links"]
    names = {t["name"] for t in data["templates"]}
    assert {"coparent_invitation", "coparent_invitation__es", "email_verification__ar"} <= names
    for t in data["templates"]:
        assert t["samples"] and all(s["spam_score"] is not None and s["spam_score"] < 2.5 for s in t["samples"])
    # the logo is mapped to its file: the dark-mode check ran on it
    assert "image-unchecked" not in codes(data)
    assert os.path.exists(root / ".letterhead-cache" / "check.json")


@pytest.mark.browser
def test_a_template_script_cannot_hide_its_problems(tmp_path: Path) -> None:
    """A template is untrusted input: its own script (mail clients strip
    them) must not run where the check measures, or it could blank the page
    or fake the measures; the low-contrast text is still found."""
    root = make_project(tmp_path, PROJECTS / "check-low-contrast")
    mjml = root / "templates_src/welcome/template.mjml"
    mjml.write_text(mjml.read_text().replace(
        "      </mj-column>",
        "        <mj-raw><script>document.body.innerHTML = '';"
        " window.letterheadMeasure = function () { return {texts: [], images: []}; };</script></mj-raw>\n"
        "      </mj-column>", 1))
    r = run(root, "--skip", "spam,clients", "--json")
    assert r.exit_code == 2, r.output
    assert "contrast" in codes(report(r))
