"""The compiler's shortcuts around Jinja's sandbox (session 7: a cheaper build)
keep every result and error of the long way:

* a message met again (the compiler's memo of translations) is still reported
  untranslated in each variant that reads it;
* ``_("…")`` calls the ``gettext`` a block set, as Jinja's alias does;
* ``brand.x`` prefers a dict's attribute to its key, as the sandbox does;
* a wrong call of a gettext function fails with Python's own words.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from letterhead.cli import cli

from .helpers import PROJECTS, make_project

BLOCK = '{{% extends "_layouts/base.mjml" %}}\n{{% block content %}}{0}<mj-section><mj-column><mj-text>{1}' \
        "</mj-text></mj-column></mj-section>{{% endblock %}}\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_project(tmp_path, PROJECTS / "locales")


def build(root: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--root", str(root), "build", *args])


def html(root: Path, name: str) -> str:
    return json.loads((root / "ses_templates" / f"{name}.json").read_text())["Template"]["HtmlPart"]  # type: ignore[no-any-return]


def test_a_message_met_again_in_another_template_is_reported_untranslated_in_each(root: Path) -> None:
    # "Open" (untranslated in ar) is read by welcome and, a second time, by
    # invite: the second answer comes from the memo and must still count.
    shutil.copytree(root / "templates_src/welcome", root / "templates_src/invite")
    result = build(root)
    assert result.exit_code == 0, result.output
    manifest = json.loads((root / "ses_templates/manifest.json").read_text())["templates"]
    assert manifest["welcome__ar"]["untranslated"] == ["Open"]
    assert manifest["invite__ar"]["untranslated"] == ["Open"]
    assert manifest["invite__es"].get("untranslated", []) == []
    assert "welcome__ar: 1" in result.output and "invite__ar: 1" in result.output


def test_the_gettext_alias_calls_the_gettext_a_block_set(root: Path) -> None:
    (root / "templates_src/welcome/template.mjml").write_text(
        BLOCK.format("{% set gettext = brand.name %}", '[[ _("Open") ]]'))
    result = build(root)
    assert result.exit_code == 1
    assert "the template failed while rendering: TypeError: 'str' object is not callable" in result.output


def test_the_gettext_alias_calls_a_gettext_macro_of_the_template(root: Path) -> None:
    (root / "templates_src/welcome/template.mjml").write_text(
        '{% macro gettext(m) %}mine: [[ m ]]{% endmacro %}' + BLOCK.format("", '[[ _("Open") ]]'))
    result = build(root)
    assert result.exit_code == 0, result.output
    assert "mine: Open" in html(root, "welcome__es") and "mine: Open" in html(root, "welcome")


def test_a_brand_key_named_like_a_dict_method_reads_the_method(root: Path) -> None:
    with open(root / "templates_src/brand.toml", "a", encoding="utf-8") as fh:
        fh.write('items = "ITEMS"\nshade = "SHADE"\n')
    (root / "templates_src/welcome/template.mjml").write_text(
        BLOCK.format("", "[[ brand.items is callable ]]/[[ brand.shade ]]/[[ brand.gone is defined ]]"))
    result = build(root)
    assert result.exit_code == 0, result.output
    assert "True/SHADE/False" in html(root, "welcome")


def test_a_missing_brand_key_and_a_private_attribute_fail_as_before(root: Path) -> None:
    page = root / "templates_src/welcome/template.mjml"
    page.write_text(BLOCK.format("", "[[ brand.nope ]]"))
    result = build(root)
    assert result.exit_code == 1
    assert "undefined value: 'dict object' has no attribute 'nope'" in result.output
    page.write_text(BLOCK.format("", "[[ brand.__class__ ]]"))
    result = build(root)
    assert result.exit_code == 1
    assert "blocked by the template sandbox: access to attribute '__class__' of 'dict' object is unsafe" \
        in result.output


@pytest.mark.parametrize(("call", "words"), [
    ('_("Open", "x")', "() takes 1 positional argument but 2 were given"),
    ('_(["Open"])', "TypeError: unhashable type: 'list'"),
    ('ngettext("a", "b")', "() missing 1 required positional argument: 'n'"),
])
def test_a_wrong_gettext_call_fails_with_pythons_words(root: Path, call: str, words: str) -> None:
    # "Open" is translated first (a memo entry for it exists), then the wrong call.
    (root / "templates_src/welcome/template.mjml").write_text(BLOCK.format("", f'[[ _("Open") ]] [[ {call} ]]'))
    result = build(root)
    assert result.exit_code == 1
    assert "the template failed while rendering: " in result.output and words in result.output


def test_a_macro_that_calls_itself_is_still_reported_at_its_line(root: Path) -> None:
    (root / "templates_src/welcome/template.mjml").write_text(
        "{% macro m(x) %}[[ m(x) ]]{% endmacro %}\n" + BLOCK.format("", "[[ m(1) ]]"))
    result = build(root)
    assert result.exit_code == 1
    assert "templates_src/welcome/template.mjml:1: the template failed while rendering: " \
           "a macro or include calls itself without end" in result.output


def test_a_translated_message_in_two_templates_reads_its_own_language_in_each(root: Path) -> None:
    # invite's messages are welcome's, with invite's own placeholder tokens and
    # line marks: each translation is protected once per catalogue and reused.
    shutil.copytree(root / "templates_src/welcome", root / "templates_src/invite")
    assert build(root).exit_code == 0
    for name in ("welcome", "invite"):
        es, ar = (json.loads((root / "ses_templates" / f"{name}__{locale}.json").read_text())["Template"]
                  for locale in ("es", "ar"))
        assert es["TextPart"].startswith("Hola, {{{name}}}:\n\n{{#if note}}\nNota: {{{note}}}\n\n{{/if}}\n"
                                         "Tu calendario está listo y te espera.\n")
        assert ar["TextPart"].startswith("مرحبًا {{{name}}}،\n\n{{#if note}}\nملاحظة: {{{note}}}\n")  # noqa: RUF001
        assert es["SubjectPart"] == "{{{name}}}, te damos la bienvenida a Mini"
