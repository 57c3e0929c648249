"""Locales through the build (issue 13): one SES template per template and
locale, translations checked against their placeholders, a .po edit
rebuilding its locale only, variants synced like any template.

``tests/projects/locales`` lays a three-locale project (en default, es, ar)
over ``tests/projects/base``: ``welcome`` marks its text with {% trans %} and
``_("…")``, ``samples/ar/default.json`` names an Arabic recipient, and the ar
catalogue leaves "Open" untranslated.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from letterhead.cli import cli

from .helpers import PROJECTS, make_project, snapshot

ES_PO = "templates_src/_locales/es/LC_MESSAGES/messages.po"
AR_PO = "templates_src/_locales/ar/LC_MESSAGES/messages.po"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_project(tmp_path, PROJECTS / "locales")


def build(root: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--root", str(root), "build", *args])


def payload(root: Path, name: str) -> dict[str, str]:
    return json.loads((root / "ses_templates" / f"{name}.json").read_text())["Template"]  # type: ignore[no-any-return]


def line_of(path: Path, text: str) -> int:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return n
    raise AssertionError(f"{text!r} not in {path}")


def test_each_locale_is_its_own_ses_template_and_the_default_keeps_the_plain_name(root: Path) -> None:
    result = build(root)
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (root / "ses_templates").glob("*.json"))
    assert files == ["manifest.json", "welcome.json", "welcome__ar.json", "welcome__es.json"]
    manifest = json.loads((root / "ses_templates/manifest.json").read_text())
    assert manifest["default_locale"] == "en"
    plain = manifest["templates"]["welcome"]
    assert plain["locale"] == "en"
    assert plain["variants"] == {"ar": "welcome__ar", "en": "welcome", "es": "welcome__es"}
    es = manifest["templates"]["welcome__es"]
    assert (es["template"], es["locale"]) == ("welcome", "es")
    assert set(es["contract"]) == set(plain["contract"]) == {"name", "note", "url"}

    # the subject is not HTML: its placeholders print raw
    assert payload(root, "welcome")["SubjectPart"] == "Welcome to Mini, {{{name}}}"
    assert payload(root, "welcome__es")["SubjectPart"] == "{{{name}}}, te damos la bienvenida a Mini"
    assert payload(root, "welcome__es")["TemplateName"] == "welcome__es"
    es_html = payload(root, "welcome__es")["HtmlPart"]
    assert "Tu calendario está listo y te espera." in es_html  # a multi-line {% trans %}, trimmed
    assert "Abrir" in es_html and 'lang="es"' in es_html
    ar_html = payload(root, "welcome__ar")["HtmlPart"]
    assert re.search(r'<html[^>]*\bdir="rtl"', ar_html) and 'lang="ar"' in ar_html
    assert "تقويمك جاهز وبانتظارك." in ar_html
    en_html = payload(root, "welcome")["HtmlPart"]
    assert "Your calendar is ready and waiting for you." in en_html and 'lang="en"' in en_html
    assert 'dir="rtl"' not in en_html


def test_every_locale_renders_its_samples_and_a_locale_sample_replaces_the_shared_one(root: Path) -> None:
    assert build(root).exit_code == 0
    out = root / "build"
    for variant in ("welcome", "welcome__es", "welcome__ar"):
        assert sorted(p.name for p in (out / variant / "samples").iterdir()) == [
            "default.html", "default.txt", "hostile.html", "hostile.txt"]
    assert "ليلى" in (out / "welcome__ar/samples/default.html").read_text()
    assert "Ada" in (out / "welcome__es/samples/default.html").read_text()
    assert "Ada" not in (out / "welcome__ar/samples/default.html").read_text()
    text = (out / "welcome__es/samples/hostile.txt").read_text()
    assert text.startswith("Subject: <b>Tom & \"Jerry\"</b>, te damos la bienvenida a Mini")


def test_untranslated_messages_are_counted_per_locale_and_strict_fails(root: Path) -> None:
    result = build(root)
    assert result.exit_code == 0
    assert re.search(r"ar: 1 untranslated message\(s\).*welcome__ar: 1", result.output)
    assert "es: " not in result.output
    manifest = json.loads((root / "ses_templates/manifest.json").read_text())
    assert manifest["templates"]["welcome__ar"]["untranslated"] == ["Open"]
    assert "Open" in payload(root, "welcome__ar")["HtmlPart"]  # the source language stands in

    before = snapshot(root / "ses_templates")
    strict = build(root, "--strict", "--force")
    assert strict.exit_code == 1, strict.output
    assert AR_PO in strict.output and "ar: 1" in strict.output and "'Open'" in strict.output
    assert snapshot(root / "ses_templates") == before

    as_json = build(root, "--json")
    reports = {t["name"]: t for t in json.loads(as_json.output)["templates"]}
    assert reports["welcome__ar"]["untranslated"] == ["Open"] and reports["welcome__es"]["untranslated"] == []


@pytest.mark.parametrize(("msgstr", "said"), [
    ("Hola,", "{{name}}"),  # drops the placeholder
    ("Hola, {{nombre}}:", "{{nombre}}"),  # translates (misspells) it
    ("Hola, {{{name}}}:", "{{{name}}}"),  # raw instead of escaped
    ("Hola, {{name}: ", "{{"),  # an unterminated tag
])
def test_a_broken_translation_fails_the_build_at_its_po_line_naming_the_msgid(
        root: Path, msgstr: str, said: str) -> None:
    po = root / ES_PO
    po.write_text(po.read_text().replace('msgstr "Hola, {{name}}:"', f'msgstr "{msgstr}"'))
    result = build(root)
    assert result.exit_code == 1, result.output
    assert f"{ES_PO}:{line_of(po, msgstr)}" in result.output
    assert "Hello {{name}}," in result.output and said in result.output
    assert not (root / "ses_templates").exists()  # nothing written


def test_a_broken_block_tag_in_a_translation_fails_the_build(root: Path) -> None:
    src = root / "templates_src/welcome/template.mjml"
    src.write_text(src.read_text().replace(
        "{% trans %}Note: {{note}}{% endtrans %}", "{% trans %}Note{{#if note}}: {{note}}{{/if}}{% endtrans %}"))
    po = root / ES_PO
    po.write_text(po.read_text().replace(
        'msgid "Note: {{note}}"\nmsgstr "Nota: {{note}}"',
        'msgid "Note{{#if note}}: {{note}}{{/if}}"\nmsgstr "Nota{{#if note}}: {{note}}"'))
    result = build(root)
    assert result.exit_code == 1, result.output
    line = line_of(po, 'msgstr "Nota')
    assert f"{ES_PO}:{line}" in result.output
    assert "{{/if}}" in result.output


def test_a_po_syntax_error_is_reported_at_its_line(root: Path) -> None:
    po = root / ES_PO
    po.write_text(po.read_text().replace('msgstr "Abrir"', 'msgstr "Abrir'))
    result = build(root)
    assert result.exit_code == 1, result.output
    assert ES_PO in result.output


def test_editing_one_catalogue_recompiles_only_that_locales_variants(root: Path) -> None:
    assert build(root).exit_code == 0
    po = root / ES_PO
    po.write_text(po.read_text().replace('msgstr "Abrir"', 'msgstr "Abrir el calendario"'))
    result = CliRunner().invoke(cli, ["--root", str(root), "build", "--json"])
    assert result.exit_code == 0, result.output
    status = {t["name"]: t["status"] for t in json.loads(result.output)["templates"]}
    assert status == {"welcome": "unchanged", "welcome__ar": "unchanged", "welcome__es": "compiled"}
    assert "Abrir el calendario" in payload(root, "welcome__es")["HtmlPart"]
    assert build(root, "--check").exit_code == 0


def test_a_project_without_locales_builds_exactly_as_before(tmp_path: Path) -> None:
    plain = make_project(tmp_path)
    assert build(plain).exit_code == 0
    manifest = json.loads((plain / "ses_templates/manifest.json").read_text())
    assert "default_locale" not in manifest
    assert not {"locale", "variants", "template", "untranslated"} & set(manifest["templates"]["welcome"])


def test_a_variant_name_that_is_also_a_folder_is_refused(root: Path) -> None:
    import shutil

    shutil.copytree(root / "templates_src/welcome", root / "templates_src/welcome__es")
    result = build(root)
    assert result.exit_code == 1
    assert "'welcome__es'" in result.output and "locale_name" in result.output


def test_unknown_locales_in_settings_are_refused_with_a_suggestion(root: Path) -> None:
    py = root / "pyproject.toml"
    py.write_text(py.read_text().replace('"ar"]', '"ar", "es-XX-bogus", "english"]'))
    result = build(root)
    assert result.exit_code == 1
    assert "pyproject.toml" in result.output and "unknown locale" in result.output


def test_variants_are_synced_pruned_and_sent_by_locale_on_the_local_ses(root: Path) -> None:
    from letterhead.dev.localses import LocalSes
    from letterhead.sending import Mailer

    py = root / "pyproject.toml"
    py.write_text(py.read_text() + '\n[tool.letterhead.sync]\nprefix = "mini-"\n')
    assert build(root).exit_code == 0
    with LocalSes(senders=["example.com"]) as local:
        env = {**local.environ(), "AWS_REGION": local.region}
        sync = CliRunner(env=env).invoke(cli, ["--root", str(root), "sync", "--json"])
        assert sync.exit_code == 0, sync.output
        ses = boto3.client("ses", region_name=local.region, endpoint_url=local.endpoint_url,
                           aws_access_key_id="app", aws_secret_access_key="app")
        names = {t["Name"] for t in ses.list_templates()["TemplatesMetadata"]}
        assert names == {"mini-welcome", "mini-welcome__es", "mini-welcome__ar"}
        stored = ses.get_template(TemplateName="mini-welcome__es")["Template"]
        assert stored["SubjectPart"] == "{{{name}}}, te damos la bienvenida a Mini"

        mailer = Mailer(sender_email="hello@example.com", ses_dir=root / "ses_templates", client=ses,
                        namespace=_namespace(root))
        receipt = mailer.send("welcome", "lucia@example.org", {"name": "Lucía", "url": "https://example.com/s"},
                              locale="es-AR")
        assert (receipt.variant, receipt.locale, receipt.deployed_name) == ("welcome__es", "es", "mini-welcome__es")
        delivered = list(local.outbox())[-1]
        assert delivered.delivered and delivered.parts is not None
        assert delivered.parts["subject"] == "Lucía, te damos la bienvenida a Mini"

        py.write_text(py.read_text().replace(', "ar"]', "]"))
        assert build(root).exit_code == 0
        pruned = CliRunner(env=env).invoke(cli, ["--root", str(root), "sync", "--prune", "--yes", "--json"])
        assert pruned.exit_code == 0, pruned.output
        assert {t["Name"] for t in ses.list_templates()["TemplatesMetadata"]} == {"mini-welcome", "mini-welcome__es"}


def _namespace(root: Path) -> Any:
    from letterhead.config import load_config
    from letterhead.deploy.naming import sending_namespace

    return sending_namespace(load_config(root), None)


def test_a_mistake_in_a_sample_every_locale_reads_is_reported_once(root: Path) -> None:
    hostile = root / "templates_src/welcome/samples/hostile.json"
    data = json.loads(hostile.read_text())
    del data["url"]
    hostile.write_text(json.dumps(data))
    result = build(root)
    assert result.exit_code == 1
    assert result.output.count("missing variable `url`") == 1, result.output
    assert "templates failed" not in result.output
