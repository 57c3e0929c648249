"""Lint rules teams can tune: ``[tool.letterhead.lint]`` in pyproject.toml and
``[lint]`` in a template's template.toml set a rule's severity (error,
warning, off) in ``build``, ``lint`` and the preview alike; ``lint --list``
shows every rule."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from letterhead.authoring.lint import RULES
from letterhead.cli.main import cli
from letterhead.config import load_config
from letterhead.dev.preview_state import PreviewProject

from .helpers import PROJECTS, make_project

NO_ALT = PROJECTS / "lint-no-alt"
IMAGE = "https://example.com/divider.png"


def run(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--root", str(root), *args])


def test_an_image_without_alt_fails_the_build_by_default(tmp_path: Path) -> None:
    root = make_project(tmp_path, NO_ALT)
    r = run(root, "build")
    assert r.exit_code == 1, r.output
    assert "[img-alt]" in r.output and IMAGE in r.output
    assert not (root / "ses_templates" / "welcome.json").exists()


def test_a_rule_set_to_warning_is_reported_without_failing(tmp_path: Path) -> None:
    root = make_project(tmp_path, NO_ALT, PROJECTS / "lint-warning")
    r = run(root, "build")
    assert r.exit_code == 0, r.output
    assert "warning" in r.output and "[img-alt]" in r.output and IMAGE in r.output
    assert (root / "ses_templates" / "welcome.json").is_file()
    lint = run(root, "lint")
    assert lint.exit_code == 0, lint.output
    assert "warning" in lint.output and "[img-alt]" in lint.output


def test_a_rule_set_to_off_is_not_reported(tmp_path: Path) -> None:
    root = make_project(tmp_path, NO_ALT, PROJECTS / "lint-off")
    r = run(root, "build")
    assert r.exit_code == 0, r.output
    assert "img-alt" not in r.output and IMAGE not in r.output
    lint = run(root, "lint", "--json")
    assert lint.exit_code == 0, lint.output
    assert [f for f in json.loads(lint.output)["findings"] if f["code"] == "img-alt"] == []


def test_build_json_shows_the_effective_severity(tmp_path: Path) -> None:
    root = make_project(tmp_path, NO_ALT, PROJECTS / "lint-warning")
    r = run(root, "build", "--json")
    assert r.exit_code == 0, r.output
    findings = [f for t in json.loads(r.output)["templates"] for f in t["findings"]]
    # the source's missing alt (an error by default) and the HTML's empty alt: both at their line, warnings
    alt = [(f["severity"], f["line"]) for f in findings if f["code"] == "img-alt"]
    assert alt and set(alt) == {("warning", 6)}


def test_template_toml_overrides_the_project(tmp_path: Path) -> None:
    # the template says warning: it beats the default (error) and the project's "off"
    for overlays in ((NO_ALT, PROJECTS / "lint-template-warning"),
                     (NO_ALT, PROJECTS / "lint-off", PROJECTS / "lint-template-warning")):
        root = make_project(tmp_path / str(len(overlays)), *overlays)
        r = run(root, "build", "--json")
        assert r.exit_code == 0, r.output
        findings = [f for t in json.loads(r.output)["templates"] for f in t["findings"]]
        assert ("warning", "img-alt") in {(f["severity"], f["code"]) for f in findings}
    # and the other way round: the project lowers the rule, the template restores it
    root = make_project(tmp_path / "strict", NO_ALT, PROJECTS / "lint-off")
    (root / "templates_src" / "welcome" / "template.toml").write_text('[lint]\nimg-alt = "error"\n')
    r = run(root, "build")
    assert r.exit_code == 1 and "[img-alt]" in r.output, r.output


def test_an_unknown_rule_in_pyproject_is_refused_at_its_line(tmp_path: Path) -> None:
    root = make_project(tmp_path, NO_ALT, PROJECTS / "lint-unknown-code")
    for command in ("build", "lint"):
        r = run(root, command)
        assert r.exit_code == 1, r.output
        assert "pyproject.toml:10:" in r.output and "'image-alt'" in r.output, r.output
        assert "did you mean 'img-alt'?" in r.output


def test_an_unknown_severity_in_template_toml_is_refused_at_its_line(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "lint-template-unknown")
    r = run(root, "build")
    assert r.exit_code == 1, r.output
    assert "templates_src/welcome/template.toml:4:" in r.output and "'warn'" in r.output, r.output
    assert "did you mean 'warning'?" in r.output
    (root / "templates_src" / "welcome" / "template.toml").write_text('[lint]\n"img-atl" = "off"\n')
    r = run(root, "build")
    assert r.exit_code == 1 and "template.toml:2:" in r.output and "did you mean 'img-alt'?" in r.output, r.output


def test_a_rule_whose_output_would_be_broken_cannot_be_lowered(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    (root / "pyproject.toml").write_text('[tool.letterhead.lint]\ncontext = "off"\n')
    r = run(root, "build")
    assert r.exit_code == 1 and "pyproject.toml:2:" in r.output and "'context'" in r.output, r.output


def test_lint_list_shows_every_rule_with_its_default(tmp_path: Path) -> None:
    r = run(tmp_path, "lint", "--list")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert len(lines) == len(RULES) >= 10
    for code, rule in RULES.items():
        line = next(x for x in lines if x.split()[0] == code)
        assert line.split()[1] == rule.default
    assert {"img-alt", "preheader", "text-links", "gmail-clip", "url", "lang"} <= set(RULES)
    r = run(tmp_path, "lint", "--list", "--json")
    assert r.exit_code == 0, r.output
    listed = {x["code"]: x["default"] for x in json.loads(r.output)["rules"]}
    assert listed == {c: rule.default for c, rule in RULES.items()}
    assert listed["img-alt"] == "error" and listed["preheader"] == "warning"


def test_every_code_lint_reports_is_a_listed_rule() -> None:
    import re

    source = (Path(__file__).parent.parent / "src/letterhead/authoring/lint.py").read_text()
    reported = set(re.findall(r'Finding\(\s*"(?:error|warning)", "([a-z-]+)"', source))
    assert reported and reported <= set(RULES)


def test_the_preview_applies_the_same_severities(tmp_path: Path) -> None:
    def img_alt(root: Path) -> list[tuple[str, str]]:
        p = PreviewProject(load_config(root))
        p.rebuild()
        state = p.get("welcome")
        assert state is not None and state.error is None, state
        return sorted({(f.severity, f.code) for f in state.findings if f.code == "img-alt"})

    assert img_alt(make_project(tmp_path / "default", NO_ALT)) == [("error", "img-alt"), ("warning", "img-alt")]
    assert img_alt(make_project(tmp_path / "warning", NO_ALT, PROJECTS / "lint-warning")) == [("warning", "img-alt")]
    assert img_alt(make_project(tmp_path / "off", NO_ALT, PROJECTS / "lint-off")) == []
    assert img_alt(make_project(tmp_path / "tmpl", NO_ALT, PROJECTS / "lint-off",
                                PROJECTS / "lint-template-warning")) == [("warning", "img-alt")]


def test_turning_a_rule_back_on_lints_the_cached_templates_again(tmp_path: Path) -> None:
    root = make_project(tmp_path, NO_ALT, PROJECTS / "lint-off")
    first = CliRunner().invoke(cli, ["--root", str(root), "build"])
    assert first.exit_code == 0, first.output
    py = root / "pyproject.toml"
    py.write_text(py.read_text().replace('img-alt = "off"', ""))
    again = CliRunner().invoke(cli, ["--root", str(root), "build"])
    assert again.exit_code == 1, again.output  # not "unchanged": the settings are an input of every template
    assert "img-alt" in again.output
