"""Issue 10, section 1: the build is confined to the project.

Each broken input is a committed overlay under ``tests/projects/confine-*/``
laid over ``tests/projects/base`` (symbolic links, and inputs too large to
commit, are made by the test).  A build of a broken project must exit 1 with
an error naming the file and line and a fix, never exit 0 with something
from outside the project in its output, and never exit 3.
"""

from __future__ import annotations

import io
import json
import marshal
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from letterhead.cli.main import cli

from .helpers import PROJECTS, make_project, run_cli, snapshot

SECRET = "TOPSECRET-4f1c"


def build_json(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["--root", str(root), "build", "--json", *args])
    try:
        payload = json.loads(result.output)
    except ValueError:
        payload = {"output": result.output}
    return result.exit_code, payload


def project_with(tmp_path: Path, case: str | None = None) -> Path:
    """The base project with one overlay, and a secret just outside it."""
    (tmp_path / "secret.txt").write_text(f"{SECRET}\n")
    return make_project(tmp_path, PROJECTS / case) if case else make_project(tmp_path)


def assert_refused(root: Path, code: int, payload: dict[str, Any], *, error: str, file: str,
                   line: int | None, words: list[str]) -> None:
    assert code == 1, payload
    assert payload.get("error") == error, payload
    assert payload.get("file") == file, payload
    if line is not None:
        assert payload.get("line") == line, payload
    text = json.dumps(payload)
    for word in words:
        assert word in text, (word, payload)
    assert payload.get("hint"), payload
    assert not (root / "ses_templates").exists() and not (root / "build").exists()


def nothing_leaked(root: Path) -> bool:
    """No output holds the secret (the old code built these projects with it inside)."""
    outputs = [p for d in ("build", "ses_templates") for p in (root / d).rglob("*") if p.is_file()]
    return not any(SECRET in p.read_text(errors="replace") for p in outputs)


# -- includes, extends and imports -------------------------------------------------

@pytest.mark.parametrize("case, line, name", [
    ("confine-include-absolute", 6, "/etc/passwd"),
    ("confine-include-parent", 6, "../../secret.txt"),
    ("confine-import-parent", 6, "../../secret.txt"),
    ("confine-extends-absolute", 1, "/etc/passwd"),
])
def test_include_extends_and_import_cannot_leave_the_template_folder(tmp_path: Path, case: str, line: int,
                                                                     name: str) -> None:
    root = project_with(tmp_path, case)
    code, payload = build_json(root)
    assert_refused(root, code, payload, error="JinjaError", file="templates_src/welcome/template.mjml",
                   line=line, words=[f'\\"{name}\\" leaves the template folder', "_partials/footer.mjml"])
    assert nothing_leaked(root)


# -- symbolic links ----------------------------------------------------------------

OUTSIDE_CONTENT = {
    "templates_src/_partials/note.mjml": "Note from a partial",
    "templates_src/welcome/text.txt": "Hello {{name}}\n\nOpen: {{url}}\n",
    "templates_src/welcome/template.toml": 'description = "welcome"\n',
}


def link_outside(root: Path, tmp_path: Path, rel: str) -> None:
    """Move ``rel`` (a file or folder of the project, made when the base has
    none) out of the project and leave a symbolic link to it in its place."""
    inside = root / rel
    outside = tmp_path / "outside" / rel.replace("/", "__")
    outside.parent.mkdir(exist_ok=True)
    if inside.exists():
        shutil.move(str(inside), str(outside))
    else:
        outside.write_text(OUTSIDE_CONTENT[rel])
    inside.parent.mkdir(parents=True, exist_ok=True)
    inside.symlink_to(outside)


@pytest.mark.parametrize("rel, case, file", [
    # (what becomes a link out of the project, overlay, the file the error names)
    ("templates_src/_partials/note.mjml", "confine-include-partial", "templates_src/welcome/template.mjml"),
    ("templates_src/_layouts", None, "templates_src/welcome/template.mjml"),
    ("templates_src/welcome", None, "templates_src/welcome"),
    ("templates_src/welcome/subject.txt", None, "templates_src/welcome/subject.txt"),
    ("templates_src/welcome/text.txt", None, "templates_src/welcome/text.txt"),
    ("templates_src/welcome/template.toml", None, "templates_src/welcome/template.toml"),
    ("templates_src/welcome/samples", None, "templates_src/welcome/samples/default.json"),
    ("templates_src/welcome/samples/default.json", None, "templates_src/welcome/samples/default.json"),
    ("templates_src/brand.toml", None, "templates_src/brand.toml"),
])
def test_a_symbolic_link_out_of_the_project_is_refused_naming_it(tmp_path: Path, rel: str, case: str | None,
                                                                 file: str) -> None:
    root = project_with(tmp_path, case)
    link_outside(root, tmp_path, rel)
    code, payload = build_json(root)
    assert code == 1, payload
    assert payload.get("file") == file, payload
    assert "outside the project" in payload["message"], payload
    assert "inside" in payload["hint"], payload
    if not file.startswith(rel):  # the error points at the include; the message names what it read
        assert rel.removeprefix("templates_src/") in payload["message"], payload


def test_a_link_to_the_projects_dotenv_is_refused(tmp_path: Path) -> None:
    root = project_with(tmp_path, "confine-include-partial")
    (root / ".env").write_text(f"SMTP_PASSWORD={SECRET}\n")
    (root / "templates_src" / "_partials").mkdir()
    (root / "templates_src" / "_partials" / "note.mjml").symlink_to(root / ".env")
    code, payload = build_json(root)
    assert code == 1, payload
    assert payload["file"] == "templates_src/welcome/template.mjml" and payload["line"] == 6, payload
    assert "hidden" in payload["message"], payload
    assert nothing_leaked(root)


def test_links_that_stay_inside_the_project_are_followed(tmp_path: Path) -> None:
    root = project_with(tmp_path, "confine-include-partial")
    shared = root / "shared"
    shared.mkdir()
    (shared / "note.mjml").write_text("Note from a shared partial")
    (root / "templates_src" / "_partials").mkdir()
    (root / "templates_src" / "_partials" / "note.mjml").symlink_to(Path("..", "..", "shared", "note.mjml"))
    shutil.move(str(root / "templates_src" / "welcome"), str(shared / "welcome"))
    (root / "templates_src" / "welcome").symlink_to(shared / "welcome")
    code, payload = build_json(root)
    assert code == 0, payload
    assert "Note from a shared partial" in (root / "build" / "welcome" / "template.html").read_text()


# -- the sandbox -------------------------------------------------------------------

@pytest.mark.parametrize("case, blocked", [
    ("confine-sandbox-globals", "__globals__"),
    ("confine-sandbox-subclasses", "__class__"),
    ("confine-huge-repeat", "repeating a string"),  # Jinja folded it while compiling: MemoryError, exit 3
])
def test_templates_cannot_reach_python(tmp_path: Path, case: str, blocked: str) -> None:
    root = project_with(tmp_path, case)
    code, payload = build_json(root)
    assert_refused(root, code, payload, error="JinjaError", file="templates_src/welcome/template.mjml", line=6,
                   words=["sandbox", blocked, "brand values"])


def test_a_forged_bytecode_cache_file_is_not_run(tmp_path: Path) -> None:
    """Jinja's bytecode cache sits in the checkout (.letterhead-cache/), where
    a pull request can put files; its content is Python code that would run
    outside the sandbox.  A cache file letterhead did not sign is ignored."""
    from jinja2.bccache import bc_magic

    from letterhead.authoring.compile import Compiler
    from letterhead.config import load_config

    root = project_with(tmp_path)
    assert build_json(root)[0] == 0
    cache_files = [p for p in (root / ".letterhead-cache" / "jinja").iterdir() if p.is_file()]
    assert cache_files
    forged_mjml = ("<mjml><mj-body><mj-section><mj-column><mj-text>FORGED {{name}} {{url}}</mj-text>"
                   "</mj-column></mj-section></mj-body></mjml>")
    forged_code = Compiler(load_config(root), {}).env.compile(forged_mjml)
    for path in cache_files:  # keep each file's header, put other code after it
        data = path.read_bytes()
        start = data.index(bc_magic)
        body = io.BytesIO(data[start + len(bc_magic):])
        checksum = pickle.load(body)
        path.write_bytes(data[:start] + bc_magic + pickle.dumps(checksum, 2) + marshal.dumps(forged_code))
    code, payload = build_json(root, "--force")
    assert code == 0, payload
    html = (root / "build" / "welcome" / "template.html").read_text()
    assert "FORGED" not in html and "Hello {{name}}" in html


# -- failures while rendering are located, never INTERNAL ERROR --------------------

@pytest.mark.parametrize("case, file, line, words", [
    ("confine-divide-by-zero", "templates_src/welcome/template.mjml", 6, ["ZeroDivisionError"]),
    ("confine-subject-type-error", "templates_src/welcome/subject.txt", 1, ["TypeError"]),
    ("confine-recursive-macro", "templates_src/welcome/template.mjml", 6, ["calls itself"]),
    ("confine-deep-if", "templates_src/_partials/deep.mjml", None, ["too deeply nested", "partials"]),
])
def test_a_template_that_fails_in_python_is_a_located_error(tmp_path: Path, case: str, file: str,
                                                            line: int | None, words: list[str]) -> None:
    root = project_with(tmp_path, case)
    code, payload = build_json(root)
    assert_refused(root, code, payload, error="JinjaError", file=file, line=line, words=words)
    if line is None:  # the line where Python's parser gave up, inside the nesting
        assert 1 < payload["line"] < 200, payload


def test_the_command_reports_it_without_a_traceback(tmp_path: Path) -> None:
    root = project_with(tmp_path, "confine-recursive-macro")
    proc = run_cli("build", cwd=root)
    assert proc.returncode == 1, proc.stderr
    assert "templates_src/welcome/template.mjml:6" in proc.stderr
    assert "INTERNAL ERROR" not in proc.stderr and "Traceback" not in proc.stderr


def test_a_control_character_in_the_mjml_names_its_line(tmp_path: Path) -> None:
    root = project_with(tmp_path, "confine-nul-byte")
    code, payload = build_json(root)
    assert_refused(root, code, payload, error="SourceError", file="templates_src/welcome/template.mjml", line=6,
                   words=["U+0000", "delete it"])


# -- folders that were skipped silently --------------------------------------------

@pytest.mark.parametrize("case, folder", [
    ("confine-dotdot-folder", "..welcome_copy"),
    ("confine-dot-folder", ".draft"),
])
def test_a_hidden_folder_holding_a_template_is_an_error(tmp_path: Path, case: str, folder: str) -> None:
    root = project_with(tmp_path, case)
    code, payload = build_json(root)
    assert_refused(root, code, payload, error="SourceError", file=f"templates_src/{folder}", line=None,
                   words=["template.mjml", "rename it", folder.lstrip(".")])


def test_other_hidden_folders_stay_skipped(tmp_path: Path) -> None:
    root = project_with(tmp_path)
    (root / "templates_src" / ".git").mkdir()
    (root / "templates_src" / ".git" / "config").write_text("[core]\n")
    code, payload = build_json(root)
    assert code == 0, payload
    assert [t["name"] for t in payload["templates"]] == ["welcome"]


def test_two_templates_differing_only_by_case_are_an_error(tmp_path: Path) -> None:
    root = project_with(tmp_path, "confine-case-collision")
    code, payload = build_json(root)
    assert_refused(root, code, payload, error="SourceError", file="templates_src/welcome", line=None,
                   words=["'Welcome' and 'welcome' differ only by case", "templates_src/Welcome"])


# -- samples -----------------------------------------------------------------------

@pytest.mark.parametrize("case, line, words", [
    ("confine-sample-nan", 3, ["NaN is not JSON"]),
    ("confine-sample-infinity", 4, ["-Infinity is not JSON"]),
    ("confine-sample-duplicate", 4, ['key \\"name\\" appears twice']),
])
def test_json_that_ses_refuses_is_refused_in_a_sample(tmp_path: Path, case: str, line: int,
                                                      words: list[str]) -> None:
    root = project_with(tmp_path, case)
    code, payload = build_json(root)
    assert_refused(root, code, payload, error="SourceError", file="templates_src/welcome/samples/default.json",
                   line=line, words=words)


def test_a_sample_nested_too_deeply_is_a_located_error(tmp_path: Path) -> None:
    root = project_with(tmp_path)
    (root / "templates_src" / "welcome" / "samples" / "deep.json").write_text('{"name": "Ada",\n "x": ' + "[" * 100_000)
    code, payload = build_json(root)
    assert_refused(root, code, payload, error="SourceError", file="templates_src/welcome/samples/deep.json",
                   line=2, words=["levels deep"])


def test_a_sample_over_the_template_data_limit_fails_the_build_as_the_sender_would(tmp_path: Path) -> None:
    from letterhead.sending.mailer import MAX_TEMPLATE_DATA  # the sender's limit

    root = project_with(tmp_path)
    samples = root / "templates_src" / "welcome" / "samples"
    # Under the limit as written, over it with the HTML-escaped copy the sender adds.
    big = {"name": "Ada", "url": "https://example.com/start", "unused": "&" * (MAX_TEMPLATE_DATA // 6)}
    assert len(json.dumps(big)) < MAX_TEMPLATE_DATA
    (samples / "big.json").write_text(json.dumps(big))
    code, payload = build_json(root)
    assert_refused(root, code, payload, error="DataError", file="templates_src/welcome/samples/big.json",
                   line=None, words=["sample 'big'", f"{MAX_TEMPLATE_DATA:,}"])
    (samples / "big.json").write_text(json.dumps({**big, "unused": "a" * (MAX_TEMPLATE_DATA // 3)}))
    code, payload = build_json(root)
    assert code == 0, payload  # two copies of a third of the limit fit


# -- the subject -------------------------------------------------------------------

def test_a_subject_of_two_lines_is_refused_at_the_second(tmp_path: Path) -> None:
    root = project_with(tmp_path, "confine-subject-two-lines")
    code, payload = build_json(root)
    assert_refused(root, code, payload, error="SourceError", file="templates_src/welcome/subject.txt", line=2,
                   words=["one line"])


def test_jinja_statements_on_their_own_lines_leave_a_one_line_subject(tmp_path: Path) -> None:
    root = project_with(tmp_path, "confine-subject-statements")
    code, payload = build_json(root)
    assert code == 0, payload
    assert (root / "build" / "welcome" / "subject.txt").read_text() == "Welcome to Mini, {{name}}\n"


def test_nothing_is_written_when_a_confinement_error_stops_a_rebuild(tmp_path: Path) -> None:
    root = project_with(tmp_path)
    assert build_json(root)[0] == 0
    before = snapshot(root / "ses_templates")
    (root / "templates_src" / "welcome" / "subject.txt").unlink()
    (root / "templates_src" / "welcome" / "subject.txt").symlink_to(tmp_path / "secret.txt")
    code, payload = build_json(root)
    assert code == 1 and payload["file"] == "templates_src/welcome/subject.txt", payload
    assert snapshot(root / "ses_templates") == before
    assert nothing_leaked(root)
    assert os.path.islink(root / "templates_src" / "welcome" / "subject.txt")
