"""Every failure a template can cause is a located error (exit 1), never an
internal error (exit 3) or a crashed process; a failed build writes nothing.

The first tests reproduce inputs that used to end in ``INTERNAL ERROR``
(RecursionError) or kill the process (a segfault inside MRML or css-inline);
the property tests at the end feed a small valid project random truncations,
nestings and bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from letterhead import handlebars
from letterhead.cli import cli
from letterhead.errors import MjmlError, TemplateSyntaxError

from .conftest import PROJECTS, make_project, run_cli, snapshot

MJML = "templates_src/welcome/template.mjml"


def build_json(root: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["--root", str(root), "build", "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.output)


# --- reproductions: committed mini-projects under tests/projects/robust-* ----------

# project → (error, file, line, words the message or the fix must hold)
DEEP = {
    "robust-deep-if": ("TemplateSyntaxError", MJML, 10, ["{{#if a64}}", "at most 64 levels"]),
    "robust-deep-each": ("TemplateSyntaxError", MJML, 10, ["{{#each items}}", "at most 64 levels"]),
    "robust-deep-else-if": ("TemplateSyntaxError", MJML, 10, ["{{else if b63}}", "at most 64 levels"]),
    "robust-deep-subject": ("TemplateSyntaxError", "templates_src/welcome/subject.txt", 1,
                            ["{{#with user}}", "at most 64 levels"]),
    "robust-deep-text": ("TemplateSyntaxError", "templates_src/welcome/text.txt", 66,
                         ["{{#unless a}}", "at most 64 levels"]),
    "robust-partial-chain": ("TemplateSyntaxError", MJML, 10, ["partial `p63`", "more than 64 levels"]),
    "robust-partial-laughs": ("TemplateSyntaxError", MJML, 10, ['"p16" expands to more than 100,000 nodes']),
    "robust-recursive-partial": ("TemplateSyntaxError", MJML, 10, ['partial "p" calls itself', "unroll"]),
}


def test_every_robust_project_has_a_case() -> None:
    assert sorted(p.name for p in PROJECTS.glob("robust-*")) == sorted(DEEP)


@pytest.mark.parametrize("case", sorted(DEEP))
def test_deep_nesting_is_a_located_error_and_writes_nothing(case: str, tmp_path: Path) -> None:
    root = make_project(tmp_path)
    assert build_json(root)[0] == 0
    before = snapshot(root / "ses_templates"), snapshot(root / "build")
    shutil.copytree(PROJECTS / case, root, dirs_exist_ok=True)

    code, payload = build_json(root)

    error, path, line, words = DEEP[case]
    assert code == 1, payload
    assert (payload["error"], payload["file"], payload["line"]) == (error, path, line), payload
    text = payload["message"] + " " + payload["hint"]
    for word in words:
        assert word in text, payload
    assert (snapshot(root / "ses_templates"), snapshot(root / "build")) == before


def test_the_command_line_says_where_and_how_to_fix_deep_nesting(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "robust-deep-if")
    proc = run_cli("build", cwd=root)
    assert proc.returncode == 1, proc.stderr
    assert f"ERROR {MJML}:10: `{{{{#if a64}}}}` opens block level 65" in proc.stderr
    assert "fix: nest at most 64 levels" in proc.stderr
    assert "INTERNAL ERROR" not in proc.stderr


def nested(open_: str, close: str, n: int, inner: str = "x") -> str:
    return open_ * n + inner + close * n


@pytest.mark.parametrize("helper", ["if", "unless", "each", "with"])
def test_the_limit_is_exactly_64_levels(helper: str) -> None:
    ok = nested("{{#%s a}}" % helper, "{{/%s}}" % helper, handlebars.MAX_NESTING)
    handlebars.parse(ok)
    with pytest.raises(TemplateSyntaxError, match="block level 65"):
        handlebars.parse(nested("{{#%s a}}" % helper, "{{/%s}}" % helper, handlebars.MAX_NESTING + 1))


def test_64_nested_each_still_render() -> None:
    n = handlebars.MAX_NESTING
    data: object = {"v": "deep"}
    for _ in range(n):
        data = {"a": [data]}
    assert handlebars.render(handlebars.parse(nested("{{#each a}}", "{{/each}}", n, "{{v}}")), data) == "deep"  # type: ignore[arg-type]


def test_blocks_inside_called_partials_count_towards_the_limit() -> None:
    half = handlebars.MAX_NESTING // 2
    partial = '{{#*inline "p"}}' + nested("{{#if b}}", "{{/if}}", half + 1) + "{{/inline}}"
    handlebars.parse(partial + nested("{{#if a}}", "{{/if}}", half - 2, "{{> p}}"))
    with pytest.raises(TemplateSyntaxError, match="more than 64 levels") as exc:
        handlebars.parse(partial + nested("{{#if a}}", "{{/if}}", half, "{{> p}}"))
    assert "in partial `p`" in str(exc.value)


def test_deeply_nested_array_data_prints_as_javascript_joins_it() -> None:
    deep: object = [1, [None, []], "z"]
    for _ in range(3000):  # was a RecursionError in the renderer
        deep = [deep]
    assert handlebars.render(handlebars.parse("{{x}}"), {"x": deep}) == "1,,,z"
    assert handlebars.render(handlebars.parse("{{x}}"), {"x": [[1, 2], [3, [4]], {"k": 1}, True]}) == (
        "1,2,3,4,[object Object],true"
    )


@pytest.mark.parametrize("html", [
    "<table><tr><td>" * 3000 + "x" + "</td></tr></table>" * 3000,  # css-inline: segfault
    "<div>" * 20000 + "x" + "</div>" * 20000,  # MRML: segfault
])
def test_html_nested_past_the_compilers_stack_is_a_located_error(html: str, tmp_path: Path) -> None:
    root = make_project(tmp_path)
    mjml = root / MJML
    mjml.write_text(mjml.read_text().replace("Hello {{name}},", "Hello {{name}}," + html))
    # A fresh process: the input used to kill the one compiling it.
    proc = run_cli("build", "--json", cwd=root)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-500:])
    payload = json.loads(proc.stdout)
    assert (payload["error"], payload["file"], payload["line"]) == ("MjmlError", MJML, 6)
    assert "nest at most 256 levels" in payload["hint"]
    assert not (root / "ses_templates").exists() and not (root / "build").exists()


def test_the_tag_depth_limit_counts_unclosed_tags_and_skips_void_and_self_closed_ones() -> None:
    from letterhead import mjml

    limit = mjml.MAX_TAG_DEPTH
    mjml.check_depth("<br><img src='a'><mj-image/><p><p>" * 300 + "<b></b>" * 300)  # none stays open
    mjml.check_depth("<i>" * limit)
    with pytest.raises(MjmlError, match=f"nested {limit + 1} tags deep") as exc:
        mjml.check_depth("<!-- <i><i> -->\n" + "<i title='>'>\n" * (limit + 1))
    assert exc.value.location is not None and exc.value.location.line == limit + 2


def test_a_folder_name_that_is_not_utf8_is_a_located_error_in_valid_json(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    os.mkdir(os.fsencode(root / "templates_src") + b"/caf\xe9")
    for name in ("template.mjml", "subject.txt"):
        shutil.copy(root / "templates_src" / "welcome" / name, os.fsdecode(os.fsencode(root / "templates_src") + b"/caf\xe9/" + name.encode()))
    proc = subprocess.run([str(Path(sys.executable).parent / "letterhead"), "build", "--json"], cwd=root,
                          capture_output=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    payload = json.loads(proc.stdout.decode("utf-8"))  # strict: valid UTF-8
    assert payload["error"] == "SourceError" and payload["file"] == "templates_src/caf\udce9"
    assert "invalid template name" in payload["message"]


def test_an_error_in_a_build_worker_keeps_its_location_and_exit_1(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "robust-deep-if")
    for i in range(3):
        shutil.copytree(PROJECTS / "base" / "templates_src" / "welcome", root / "templates_src" / f"w{i}")
    marker = tmp_path / "forked"
    # In a fresh process that counts the forked maps (a build never forks beside threads).
    script = (
        "import sys\n"
        "import letterhead.workers as w\n"
        "real = w.fork_map\n"
        "def spy(*a, **k):\n"
        f"    open({str(marker)!r}, 'a').write('map\\n')\n"
        "    return real(*a, **k)\n"
        "w.fork_map = spy\n"
        "from letterhead.cli import main\n"
        "sys.argv = ['letterhead', '--root', sys.argv[1], 'build']\n"
        "main()\n"
    )
    env = {**os.environ, "LETTERHEAD_PARALLEL_FROM": "2"}
    proc = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True,
                          timeout=120, env=env)
    if (os.cpu_count() or 1) > 1:
        assert marker.read_text() == "map\n", "the build did not use worker processes"
    assert proc.returncode == 1, proc.stderr
    assert f"ERROR {MJML}:10: `{{{{#if a64}}}}`" in proc.stderr
    assert "INTERNAL ERROR" not in proc.stderr
    assert not (root / "ses_templates").exists()
