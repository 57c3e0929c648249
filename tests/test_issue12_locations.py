"""Syntax errors point at the opening tag in the designer's file.

An unclosed ``{% if %}`` is reported at the ``if``, not at the ``{% endblock %}``
where Jinja noticed it; an unterminated SES ``{{`` in an ``href`` is reported at
its own line of the designer's file (template, layout, partial, subject.txt or
text.txt) with that line as the excerpt, never a line of compiled HTML.  Each
case is a tiny project laid over ``tests/projects/base``, built through the CLI:
exit 1, ``path:line:`` of the opening tag, that line under it, and the output of
the previous good build left as it was.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from letterhead.cli.main import cli

from .helpers import PROJECTS, make_project, run_cli, snapshot

MJML = "templates_src/welcome/template.mjml"
LAYOUT = "templates_src/_layouts/base.mjml"
BASE_LAYOUT = (PROJECTS / "base" / LAYOUT).read_text()


def child(body: str) -> str:
    """A welcome/template.mjml whose content block holds ``body`` from line 5 on."""
    return ('{% extends "_layouts/base.mjml" %}\n'
            "{% block content %}\n"
            "    <mj-section>\n"
            "      <mj-column>\n"
            f"{body}\n"
            "      </mj-column>\n"
            "    </mj-section>\n"
            "{% endblock %}\n")


class Case(NamedTuple):
    files: dict[str, str]  # path under the project root → content
    path: str  # the file the error must name
    line: int  # the line of the opening tag
    excerpt: str  # what the source line under the error must hold (the designer's line, stripped)
    words: tuple[str, ...] = ()  # what the message or fix must say


HELLO = '        <mj-text>Hello {{name}} <a href="{{url}}">open</a></mj-text>'

JINJA_CASES = {
    # Jinja noticed these at {% endblock %} (line 9 or 10) or at the end of the file.
    "if-unclosed": Case(
        {MJML: child("        {% if brand.name %}\n" + HELLO)}, MJML, 5, "{% if brand.name %}",
        ("{% if", "never closed", "{% endblock %}", "line 9", "{% endif %}")),
    "for-unclosed": Case(
        {MJML: child("        {% for n in [1, 2] %}\n" + HELLO)}, MJML, 5, "{% for n in [1, 2] %}",
        ("{% for", "never closed", "{% endfor %}")),
    "if-unclosed-under-for": Case(
        {MJML: child("        {% for n in [1] %}\n        {% if brand.name %}\n" + HELLO + "\n        {% endfor %}")},
        MJML, 6, "{% if brand.name %}", ("{% if", "never closed", "{% endfor %}", "line 8")),
    "set-block-unclosed": Case(
        {MJML: child("        {% set greeting %}Hi\n" + HELLO)}, MJML, 5, "{% set greeting %}Hi",
        ("{% set", "never closed", "{% endset %}")),
    "if-unclosed-in-layout": Case(
        {LAYOUT: BASE_LAYOUT.replace("{% block content %}", "{% if brand.name %}{% block content %}")},
        LAYOUT, 13, "{% if brand.name %}{% block content %}{% endblock %}",
        ("{% if", "never closed", "end of the file")),
    "macro-unclosed-in-partial": Case(
        {"templates_src/_partials/sign.mjml":
            "<mj-text>Bye</mj-text>\n{% macro sign(who) %}\n<mj-text>[[ who ]]</mj-text>\n",
         MJML: child(HELLO + '\n{% include "_partials/sign.mjml" %}')},
        "templates_src/_partials/sign.mjml", 2, "{% macro sign(who) %}",
        ("{% macro", "never closed", "{% endmacro %}")),
    # A closing tag that closes nothing is the mistake: point at it.
    "endif-without-if": Case(
        {MJML: child(HELLO + "\n        {% endif %}")}, MJML, 6, "{% endif %}", ("{% endif %}", "closes no")),
    "endfor-closing-an-if": Case(
        {MJML: child("        {% if brand.name %}\n" + HELLO + "\n        {% endfor %}")}, MJML, 7, "{% endfor %}",
        ("{% endfor %}", "closes no", "{% if", "line 5", "{% endif %}")),
    # A tag or comment that is not closed: at its opening, not where Jinja gave up.
    "comment-unclosed": Case(
        {MJML: child("        [# a note\n" + HELLO)}, MJML, 5, "[# a note", ("[#", "#]")),
    "expression-unclosed": Case(
        {MJML: child("        <mj-text>[[ brand.name\n        </mj-text>\n" + HELLO)}, MJML, 5,
         "<mj-text>[[ brand.name", ("[[", "]]", "line 6")),
    "statement-unclosed": Case(
        {MJML: child("        {% if brand.name\n" + HELLO + "\n        {% endif %}")}, MJML, 5, "{% if brand.name",
        ("{%", "%}")),
    "string-unclosed-then-quotes": Case(
        {MJML: child('        {% if brand.name == "Mini %}\n' + HELLO + "\n        {% endif %}")}, MJML, 5,
        '{% if brand.name == "Mini %}', ("quote", '"')),
    "string-unclosed-alone": Case(
        {MJML: child('        {% if brand.name == "Mini %}\n        <mj-text>Hi</mj-text>\n        {% endif %}')},
        MJML, 5, '{% if brand.name == "Mini %}', ("quote", '"')),
}

SES_CASES = {
    # The example: the only later text is MJML, so the tag runs to the end.
    "href-unterminated": Case(
        {MJML: child("        <mj-text>Hello {{name}}</mj-text>\n        {{#if note}}<mj-text>n</mj-text>{{/if}}\n"
                     '        <mj-button href="{{url">Open</mj-button>')},
        MJML, 7, '<mj-button href="{{url">Open</mj-button>', ("{{url", "}}")),
    "href-unterminated-before-more": Case(
        {MJML: child('        <mj-button href="{{url">Open</mj-button>\n        <mj-text>Hello {{name}}</mj-text>')},
        MJML, 5, '<mj-button href="{{url">Open</mj-button>', ("{{url", "}}")),
    "href-unterminated-closed-in-text": Case(
        {MJML: child('        <mj-button href="{{url">Open</mj-button>\n        <mj-text>Thanks }}</mj-text>')},
        MJML, 5, '<mj-button href="{{url">Open</mj-button>', ("{{url", "}}")),
    "text-unterminated": Case(
        {MJML: child("        <mj-text>Hello {{name</mj-text>\n" + HELLO)}, MJML, 5, "<mj-text>Hello {{name</mj-text>",
        ("{{name", "}}")),
    "partial-unterminated": Case(
        {"templates_src/_partials/foot.mjml": "<mj-text>\nBye {{name\n</mj-text>\n",
         MJML: child(HELLO + '\n{% include "_partials/foot.mjml" %}')},
        "templates_src/_partials/foot.mjml", 2, "Bye {{name", ("{{name", "}}")),
    "layout-unterminated": Case(
        {LAYOUT: BASE_LAYOUT.replace("<mj-title>[[ brand.name ]]", "<mj-title>[[ brand.name ]] {{title")},
        LAYOUT, 3, "<mj-title>[[ brand.name ]] {{title</mj-title>", ("{{title", "}}")),
    "subject-unterminated": Case(
        {"templates_src/welcome/subject.txt": "Hi {{name\n"}, "templates_src/welcome/subject.txt", 1, "Hi {{name",
        ("{{name", "}}")),
    "text-txt-unterminated": Case(
        {"templates_src/welcome/text.txt": "Hi {{name}}\n\nGo to {{url\n"}, "templates_src/welcome/text.txt", 3,
        "Go to {{url", ("{{url", "}}")),
    "if-never-closed-in-partial": Case(
        {"templates_src/_partials/note.mjml": "<mj-text>Bye</mj-text>\n{{#if note}}\n<mj-text>{{note}}</mj-text>\n",
         MJML: child(HELLO + '\n{% include "_partials/note.mjml" %}')},
        "templates_src/_partials/note.mjml", 2, "{{#if note}}", ("{{#if note}}", "never closed")),
    "each-closes-nothing": Case(
        {MJML: child(HELLO + "\n        {{/each}}")}, MJML, 6, "{{/each}}", ("{{/each}}", "closes nothing")),
    "triple-closed-with-two": Case(
        {MJML: child("        <mj-text>Hi {{{name}}</mj-text>\n" + HELLO)}, MJML, 5, "<mj-text>Hi {{{name}}</mj-text>",
        ("{{{name}}", "three")),
    "comment-unterminated": Case(
        {MJML: child("        <mj-text>Hi {{! greet them</mj-text>\n" + HELLO)}, MJML, 5,
         "<mj-text>Hi {{! greet them</mj-text>", ("{{!", "}}")),
    "unterminated-in-a-jinja-comment": Case(
        {MJML: child("        [# was {{name #]\n" + HELLO)}, MJML, 5, "[# was {{name #]", ("{{name", "}}")),
    "long-comment-unterminated": Case(
        {MJML: child("        <mj-text>Hi {{!-- greet them }}</mj-text>\n" + HELLO)}, MJML, 5,
         "<mj-text>Hi {{!-- greet them }}</mj-text>", ("{{!--", "--}}")),
}

CASES = {**JINJA_CASES, **SES_CASES}


def lay(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def good_then(tmp_path: Path, files: dict[str, str]) -> tuple[Path, dict[str, bytes]]:
    """A project that built once, then broken by ``files``; and its output as built."""
    root = make_project(tmp_path)
    first = CliRunner().invoke(cli, ["--root", str(root), "build"])
    assert first.exit_code == 0, first.output
    before = snapshot(root / "ses_templates")
    assert before
    lay(root, files)
    return root, before


def error_block(stderr: str) -> tuple[str, str]:
    """The ``ERROR path:line: message`` line and the source excerpt under it."""
    lines = stderr.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("ERROR "))
    return lines[at], (lines[at + 1] if at + 1 < len(lines) else "")


@pytest.mark.parametrize("case", sorted(CASES))
def test_syntax_error_points_at_the_opening_tag(case: str, tmp_path: Path) -> None:
    c = CASES[case]
    root, before = good_then(tmp_path, c.files)
    result = CliRunner().invoke(cli, ["--root", str(root), "build"])
    assert result.exit_code == 1, result.output
    head, excerpt = error_block(result.stderr)
    assert head.startswith(f"ERROR {c.path}:{c.line}: "), result.stderr
    assert excerpt.strip() == c.excerpt, result.stderr
    for word in c.words:
        assert word in result.stderr, (word, result.stderr)
    # Nothing of the protection machinery or of MJML's output shows.
    for leak in ("xlh", "\x02", "target=", "at 1", "at 2", "at 3"):
        assert leak not in result.stderr, (leak, result.stderr)
    assert "fix: " in result.stderr
    assert snapshot(root / "ses_templates") == before


def test_the_json_error_names_the_opening_tag(tmp_path: Path) -> None:
    import json

    root, before = good_then(tmp_path, JINJA_CASES["if-unclosed"].files)
    result = CliRunner().invoke(cli, ["--root", str(root), "build", "--json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert (payload["error"], payload["file"], payload["line"]) == ("JinjaError", MJML, 5), payload
    assert snapshot(root / "ses_templates") == before


@pytest.mark.parametrize(("project", "where", "excerpt"), [
    ("loc-unclosed-if", f"{MJML}:5:", "{% if brand.name %}"),
    ("loc-href-unterminated", f"{MJML}:10:",
     '<mj-button href="{{url" background-color="[[ brand.color ]]">Open</mj-button>'),
])
def test_committed_projects_as_a_user_runs_them(project: str, where: str, excerpt: str, tmp_path: Path) -> None:
    root = make_project(tmp_path)
    assert run_cli("build", cwd=root).returncode == 0
    before = snapshot(root / "ses_templates")
    shutil.copytree(PROJECTS / project, root, dirs_exist_ok=True)
    proc = run_cli("build", cwd=root)
    assert proc.returncode == 1, proc.stderr
    head, shown = error_block(proc.stderr)
    assert head.startswith(f"ERROR {where} "), proc.stderr
    assert shown.strip() == excerpt, proc.stderr
    assert "target=" not in proc.stderr and "{{/if}}" not in proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(root / "ses_templates") == before


def test_a_long_line_is_cut_around_the_tag(tmp_path: Path) -> None:
    words = " ".join(f"word{i}" for i in range(60))
    line = f"        <mj-text>{words} {{{{name <b>{words}</b></mj-text>"
    root, before = good_then(tmp_path, {MJML: child(line + "\n" + HELLO)})
    result = CliRunner().invoke(cli, ["--root", str(root), "build"])
    assert result.exit_code == 1
    head, excerpt = error_block(result.stderr)
    assert head.startswith(f"ERROR {MJML}:5: "), result.stderr
    shown = excerpt.strip()
    assert "{{name <b>" in shown and len(shown) < 160 and "…" in shown, shown
    assert shown.strip("…") in line
    assert snapshot(root / "ses_templates") == before


def test_a_brand_value_with_an_unterminated_tag_names_the_line_that_prints_it(tmp_path: Path) -> None:
    brand = (PROJECTS / "base" / "templates_src" / "brand.toml").read_text()
    root, before = good_then(tmp_path, {
        "templates_src/brand.toml": brand + 'tagline = "Mail {{ for you"\n',
        MJML: child("        <mj-text>[[ brand.tagline ]]</mj-text>\n" + HELLO),
    })
    result = CliRunner().invoke(cli, ["--root", str(root), "build"])
    assert result.exit_code == 1, result.output
    head, excerpt = error_block(result.stderr)
    assert head.startswith(f"ERROR {MJML}:5: "), result.stderr
    assert excerpt.strip() == "<mj-text>[[ brand.tagline ]]</mj-text>", result.stderr
    assert "brand" in head or "Jinja" in head, result.stderr
    assert snapshot(root / "ses_templates") == before


def test_valid_sources_with_braces_still_build(tmp_path: Path) -> None:
    """What the checks must leave alone: an escaped ``\\{{``, a mustache in a
    Jinja string, a multi-line tag, a comment holding markup, a long comment
    holding ``}}``, CSS braces."""
    body = ("        <mj-text>Write \\{{ to show braces; {{! a <b>note</b> }}{{!-- }} --}}</mj-text>\n"
            "        [# {{name}} #]\n"
            "        <mj-text>[[ '{{name}}' ]] {{#if\n          note}}{{note}}{{/if}}</mj-text>\n"
            + HELLO)
    root = make_project(tmp_path)
    lay(root, {MJML: child(body), "templates_src/_partials/x.mjml": "<mj-style>.a{color:red}</mj-style>\n"})
    result = CliRunner().invoke(cli, ["--root", str(root), "build"])
    assert result.exit_code == 0, result.output


def test_the_fast_check_accepts_only_what_the_lexer_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    """``plainly_valid`` (a regex a tag) lets a file skip the SES lexer: on
    random text, whatever it passes the full check (the lexer and the
    run-on rules) passes too."""
    import random

    from letterhead.authoring import protect
    from letterhead.errors import TemplateSyntaxError

    def full_check(text: str) -> bool:
        with monkeypatch.context() as m:
            m.setattr(protect, "plainly_valid", lambda _text: False)
            try:
                protect.check_source(text, "p.mjml")
            except TemplateSyntaxError:
                return False
        return True

    pieces = ["{{", "}}", "{", "}", "{{{", "}}}", "~", "!", "!--", "--", "#", "/", "^", ">", "&", "*", "<b>",
              '"', "'", "\n", "\\", "x", " ", "else", "if", "{{x}}", "{{#if a}}", "{{/if}}", "{{~", "~}}",
              "{{else}}", "{{^}}", "{{> p}}", "{{#*inline", "(", ")", "=", "|", "@", "[", "]", ".", "{{{{", "}}}}",
              "as |a|", "\t", "\u00a0", "0", "..", "this"]
    rng = random.Random(12)
    accepted = 0
    for _ in range(30_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 10)))
        if protect.plainly_valid(text):
            accepted += "{{" in text
            assert full_check(text), text
    assert accepted > 1000  # the random texts exercise the fast path
