"""Translation catalogues (issue 13): extraction from templates into
``_locales/messages.pot``, ``update`` creating and merging each locale's
``messages.po``, catalogue lookups, a translation that breaks its message's
SES placeholders or Jinja variables (each kind, located at the ``.po`` line and
naming the msgid), and ``letterhead i18n extract|update|stats``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from letterhead.authoring.i18n import (
    Catalog,
    UpdateResult,
    catalog_path,
    extract,
    load_catalog,
    stats,
    update,
    write_pot,
)
from letterhead.cli.i18n import i18n
from letterhead.config import Config, load_config
from letterhead.errors import ConfigError, JinjaError, Location, TranslationError

PO_ES = "templates_src/_locales/es/LC_MESSAGES/messages.po"

PYPROJECT = """\
[project]
name = "mini"
version = "0"

[tool.letterhead]
lang = "en"
{locales}
"""

LAYOUT = """\
<mjml>
  <mj-body>
{% block content %}{% endblock %}
    <mj-section><mj-column>
      <mj-text>{% trans %}You get this email because you use Calndr Club.{% endtrans %}</mj-text>
    </mj-column></mj-section>
  </mj-body>
</mjml>
"""

TEMPLATE = """\
{% extends "_layouts/base.mjml" %}
{% block content %}
    <mj-section>
      <mj-column>
        <mj-text>{% trans %}{{inviter_name}} invited you{% endtrans %}</mj-text>
        [# Translators: the button under the invitation #]
        <mj-button href="{{url}}">[[ _("Open the calendar") ]]</mj-button>
        <mj-text>{% trans %}
          {{#if note}}They wrote: {{note}}{{/if}}
          See you there.
        {% endtrans %}</mj-text>
        <mj-text>[[ pgettext("button", "Accept") ]]</mj-text>
      </mj-column>
    </mj-section>
{% endblock %}
"""

SUBJECT = "{% trans %}{{inviter_name}} invited you to Calndr Club{% endtrans %}\n"
TEXT = "{% trans %}{{inviter_name}} invited you{% endtrans %}\n\n{{url}}\n"

MSGIDS = {
    "You get this email because you use Calndr Club.",
    "{{inviter_name}} invited you to Calndr Club",
    "{{inviter_name}} invited you",
    "Open the calendar",
    "{{#if note}}They wrote: {{note}}{{/if}} See you there.",
    "Accept",
}


def make_i18n_project(tmp_path: Path, locales: str = 'locales = ["en", "es", "ar"]\ndefault_locale = "en"') -> Path:
    root = tmp_path / "project"
    files = {
        "pyproject.toml": PYPROJECT.format(locales=locales),
        "templates_src/_layouts/base.mjml": LAYOUT,
        "templates_src/coparent_invitation/template.mjml": TEMPLATE,
        "templates_src/coparent_invitation/subject.txt": SUBJECT,
        "templates_src/coparent_invitation/text.txt": TEXT,
        # never a source of messages: the catalogues' own folder
        "templates_src/_locales/notes.mjml": '[[ _("Not a message") ]]\n',
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_i18n_project(tmp_path)


@pytest.fixture
def config(project: Path) -> Config:
    return load_config(project)


def line_number(text: str, needle: str, after: str = "") -> int:
    """The 1-based number of the first line starting with ``needle`` after the line holding ``after``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and line.startswith(needle)) + 1


# --- extraction ----------------------------------------------------------------------------------


def test_extract_finds_every_message_with_project_relative_locations(config: Config) -> None:
    catalog = extract(config)
    messages = {(m.context, m.id): m for m in catalog if m.id}
    assert {msgid for _, msgid in messages} == MSGIDS
    invited = messages[(None, "{{inviter_name}} invited you")]
    assert invited.locations == [("templates_src/coparent_invitation/template.mjml", 5),
                                 ("templates_src/coparent_invitation/text.txt", 1)]
    assert messages[(None, "Open the calendar")].auto_comments == ["the button under the invitation"]
    assert messages[("button", "Accept")].locations == [("templates_src/coparent_invitation/template.mjml", 12)]
    assert messages[(None, "You get this email because you use Calndr Club.")].locations == \
        [("templates_src/_layouts/base.mjml", 5)]
    # trimmed: the multi-line block is one line, as Jinja's ext.i18n.trimmed policy makes it
    assert messages[(None, "{{#if note}}They wrote: {{note}}{{/if}} See you there.")].locations == \
        [("templates_src/coparent_invitation/template.mjml", 8)]


def test_extract_reports_a_jinja_syntax_error_at_its_line(project: Path) -> None:
    path = project / "templates_src/coparent_invitation/subject.txt"
    path.write_text("Hello\n{% trans %}{{inviter_name}} invited you\n", encoding="utf-8")
    with pytest.raises(JinjaError) as info:
        extract(load_config(project))
    assert info.value.location is not None
    assert info.value.location.path == "templates_src/coparent_invitation/subject.txt"
    assert "trans" in info.value.message


def test_extract_refuses_a_template_that_is_not_utf8(project: Path) -> None:
    path = project / "templates_src/coparent_invitation/text.txt"
    path.write_bytes(b"line one\n{% trans %}Caf\xe9{% endtrans %}\n")
    with pytest.raises(Exception) as info:
        extract(load_config(project))
    err = info.value
    assert getattr(err, "location", None) == Location("templates_src/coparent_invitation/text.txt", 2)
    assert "UTF-8" in str(err)


def test_write_pot_writes_the_template_and_is_stable(config: Config, project: Path) -> None:
    path = write_pot(config)
    assert path == config.locales_dir / "messages.pot"
    first = path.read_bytes()
    text = first.decode()
    assert '#: templates_src/coparent_invitation/template.mjml:5\n' in text
    assert 'msgctxt "button"\nmsgid "Accept"' in text
    assert "Not a message" not in text
    assert write_pot(config).read_bytes() == first  # nothing changed: the same bytes
    dated = re.sub(r"POT-Creation-Date: [^\\]*", "POT-Creation-Date: 2020-01-02 03:04+0000", text)
    path.write_text(dated, encoding="utf-8")
    assert write_pot(config).read_text(encoding="utf-8") == dated  # the date too: no churn in git
    with (project / "templates_src/coparent_invitation/text.txt").open("a", encoding="utf-8") as f:
        f.write('[[ _("Reply to this email") ]]\n')
    changed = write_pot(config).read_text(encoding="utf-8")
    assert 'msgid "Reply to this email"' in changed and "2020-01-02" not in changed


# --- update ---------------------------------------------------------------------------------------


def test_update_creates_a_catalogue_for_each_translated_locale(config: Config, project: Path) -> None:
    results = update(config)
    assert [r.locale for r in results] == ["es", "ar"]
    assert all(isinstance(r, UpdateResult) and r.created for r in results)
    es = results[0]
    assert es.path == PO_ES and catalog_path(config, "es") == project / PO_ES
    assert (es.total, es.untranslated, es.added, es.removed) == (6, 6, 6, 0)
    assert es.to_dict() == {"locale": "es", "path": PO_ES, "created": True, "added": 6, "removed": 0,
                            "total": 6, "untranslated": 6, "fuzzy": 0}
    assert not (project / "templates_src/_locales/en").exists()  # the default locale is the source
    es_text = (project / PO_ES).read_text(encoding="utf-8")
    assert '"Language: es\\n"' in es_text and '"Plural-Forms: nplurals=' in es_text  # Babel's (CLDR's)
    ar_text = (project / "templates_src/_locales/ar/LC_MESSAGES/messages.po").read_text(encoding="utf-8")
    assert "nplurals=6;" in ar_text
    assert (config.locales_dir / "messages.pot").is_file()


def _translate(po: Path, msgid: str, msgstr: str) -> None:
    text = po.read_text(encoding="utf-8")
    old = f'msgid "{msgid}"\nmsgstr ""\n'
    assert old in text
    po.write_text(text.replace(old, f'msgid "{msgid}"\nmsgstr "{msgstr}"\n'), encoding="utf-8")


def test_update_merges_new_and_obsolete_messages_keeping_translations(config: Config, project: Path) -> None:
    update(config)
    po = project / PO_ES
    _translate(po, "{{inviter_name}} invited you", "{{inviter_name}} te invitó")
    _translate(po, "Accept", "Aceptar")
    _translate(po, "Open the calendar", "Abrir el calendario")
    template = project / "templates_src/coparent_invitation/template.mjml"
    template.write_text(TEMPLATE.replace('[[ _("Open the calendar") ]]', '[[ _("Show my week") ]]'),
                        encoding="utf-8")
    es = update(config, ["es"])
    assert len(es) == 1
    assert (es[0].locale, es[0].created, es[0].added, es[0].removed, es[0].total) == ("es", False, 1, 1, 6)
    text = po.read_text(encoding="utf-8")
    assert 'msgid "{{inviter_name}} invited you"\nmsgstr "{{inviter_name}} te invitó"' in text
    assert '#~ msgid "Open the calendar"\n#~ msgstr "Abrir el calendario"' in text  # kept, as obsolete
    assert 'msgid "Show my week"' in text
    catalog = load_catalog(config, "es")
    assert catalog.gettext("{{inviter_name}} invited you") == "{{inviter_name}} te invitó"
    assert catalog.pgettext("button", "Accept") == "Aceptar"
    assert catalog.gettext("Open the calendar") is None  # obsolete: not a translation any more
    assert es[0].untranslated == 4
    before = po.read_bytes()
    again = update(config, ["es"])
    assert (again[0].added, again[0].removed, again[0].created) == (0, 0, False)
    assert po.read_bytes() == before  # nothing changed: the same bytes


def test_update_keeps_a_broken_translation_for_the_translator_to_fix(config: Config, project: Path) -> None:
    update(config)
    po = project / PO_ES
    _translate(po, "{{inviter_name}} invited you", "{{inviter_nme}} te invitó")
    assert update(config, ["es"])[0].untranslated == 5  # merging is not refused
    assert 'msgstr "{{inviter_nme}} te invitó"' in po.read_text(encoding="utf-8")
    with pytest.raises(TranslationError):
        load_catalog(config, "es")  # the build is


def test_update_revives_an_obsolete_translation_when_its_message_returns(config: Config, project: Path) -> None:
    update(config)
    po = project / PO_ES
    _translate(po, "Open the calendar", "Abrir el calendario")
    template = project / "templates_src/coparent_invitation/template.mjml"
    template.write_text(TEMPLATE.replace('[[ _("Open the calendar") ]]', ""), encoding="utf-8")
    update(config, ["es"])
    template.write_text(TEMPLATE, encoding="utf-8")
    update(config, ["es"])
    text = po.read_text(encoding="utf-8")
    assert text.count('"Open the calendar"') == 1 and "#~" not in text
    assert load_catalog(config, "es").gettext("Open the calendar") == "Abrir el calendario"


def test_update_of_one_locale_and_of_locales_without_a_catalogue(config: Config) -> None:
    assert [r.locale for r in update(config, ["es"])] == ["es"]
    with pytest.raises(ConfigError) as info:
        update(config, ["fr"])
    assert "fr" in info.value.message and "locales" in (info.value.hint or "")
    with pytest.raises(ConfigError) as info:
        update(config, ["en"])
    assert "default" in info.value.message


def test_update_without_locales_says_how_to_configure_them(tmp_path: Path) -> None:
    config = load_config(make_i18n_project(tmp_path, locales=""))
    with pytest.raises(ConfigError) as info:
        update(config)
    assert "no locales" in info.value.message
    assert 'locales = ["en", "es"]' in (info.value.hint or "")
    assert write_pot(config).is_file()  # extraction needs no locales


def test_update_refuses_a_catalogue_with_a_syntax_error(config: Config, project: Path) -> None:
    update(config)
    po = project / PO_ES
    text = po.read_text(encoding="utf-8").replace('msgid "Accept"', 'msgid "Accept', 1)
    po.write_text(text, encoding="utf-8")
    with pytest.raises(TranslationError) as info:
        update(config, ["es"])
    assert info.value.location == Location(PO_ES, line_number(text, 'msgid "Accept'))
    assert po.read_text(encoding="utf-8") == text  # left as it was


# --- lookups --------------------------------------------------------------------------------------

HEADER = '''\
# Spanish translations.
msgid ""
msgstr ""
"Language: es\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"

'''

LOOKUPS = HEADER + '''\
#: templates_src/coparent_invitation/template.mjml:5
msgid "{{inviter_name}} invited you"
msgstr "{{inviter_name}} te invitó"

msgid "Open the calendar"
msgstr ""

#, fuzzy
msgid "Accept the invitation"
msgstr "Acepta"

msgid "One day"
msgid_plural "%(count)s days"
msgstr[0] "Un día"
msgstr[1] "%(count)s días"

msgctxt "button"
msgid "Accept"
msgstr "Aceptar"

msgctxt "mail"
msgid "One message"
msgid_plural "%(count)s messages"
msgstr[0] "Un mensaje"
msgstr[1] ""

msgid ""
"A long message that a translation platform wrapped over "
"two lines"
msgstr ""
"Un mensaje largo que una plataforma partió "
"en dos líneas"
'''


def write_po(project: Path, text: str, locale: str = "es") -> Path:
    path = project / f"templates_src/_locales/{locale}/LC_MESSAGES/messages.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_missing_catalogue_translates_nothing(config: Config) -> None:
    catalog = load_catalog(config, "es")
    assert isinstance(catalog, Catalog)
    assert (catalog.locale, catalog.path) == ("es", PO_ES)
    assert catalog.gettext("Accept") is None and catalog.line_of("Accept") is None


def test_lookups_translated_empty_fuzzy_plural_and_context(config: Config, project: Path) -> None:
    write_po(project, LOOKUPS)
    catalog = load_catalog(config, "es")
    assert catalog.path == PO_ES
    assert catalog.gettext("{{inviter_name}} invited you") == "{{inviter_name}} te invitó"
    assert catalog.gettext("Open the calendar") is None  # empty msgstr
    assert catalog.gettext("Accept the invitation") is None  # fuzzy
    assert catalog.gettext("Never extracted") is None
    assert catalog.gettext("Accept") is None  # only with its context
    assert catalog.pgettext("button", "Accept") == "Aceptar"
    assert catalog.pgettext("other", "Accept") is None
    assert catalog.ngettext("One day", "%(count)s days", 1) == "Un día"
    assert catalog.ngettext("One day", "%(count)s days", 5) == "%(count)s días"
    assert catalog.npgettext("mail", "One message", "%(count)s messages", 1) == "Un mensaje"
    assert catalog.npgettext("mail", "One message", "%(count)s messages", 2) is None  # that form is empty
    assert catalog.gettext("A long message that a translation platform wrapped over two lines") == \
        "Un mensaje largo que una plataforma partió en dos líneas"
    assert catalog.line_of("{{inviter_name}} invited you") == line_number(LOOKUPS, "msgstr", "te invitó")
    assert catalog.line_of("Accept", "button") == line_number(LOOKUPS, 'msgstr "Aceptar"')
    assert catalog.line_of("One day") == line_number(LOOKUPS, "msgstr[0]", 'msgid "One day"')
    assert catalog.status("Accept the invitation") == "fuzzy"
    assert catalog.status("Open the calendar") == "untranslated"
    assert catalog.status("One message", "mail") == "untranslated"
    assert catalog.status("Accept", "button") == "translated"


def test_arabic_catalogue_uses_its_six_plural_forms(config: Config, project: Path) -> None:
    forms = "\n".join(f'msgstr[{i}] "form {i} %(count)s"' for i in range(6))
    header = HEADER.replace("Language: es", "Language: ar").replace(
        "nplurals=2; plural=(n != 1);",
        "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5);")
    write_po(project, header + f'msgid "%(count)s day"\nmsgid_plural "%(count)s days"\n{forms}\n', "ar")
    catalog = load_catalog(config, "ar")
    assert [catalog.ngettext("%(count)s day", "%(count)s days", n) for n in (0, 1, 2, 5, 11, 100)] == \
        [f"form {i} %(count)s" for i in range(6)]


# --- broken translations ------------------------------------------------------------------------

BROKEN = [
    # (id, msgid, msgstr, what the message must say)
    ("drops", "{{inviter_name}} invited you", "Te invitaron", "drops {{inviter_name}}"),
    ("adds", "{{inviter_name}} invited you", "{{inviter_name}} te invitó, {{name}}", "adds {{name}}"),
    ("misspells", "{{inviter_name}} invited you", "{{inviter_nme}} te invitó",
     "adds {{inviter_nme}} (did you mean {{inviter_name}}?)"),
    ("raw-for-escaped", "Hello {{name}}", "Hola {{{name}}}", "{{{name}}}"),
    ("escaped-for-raw", "Signed {{{signature}}}", "Firmado {{signature}}", "{{signature}}"),
    ("block-removed", "{{#if note}}Note: {{note}}{{/if}}", "{{#if note}}Nota: {{note}}",
     "breaks the block {{#if note}}…{{/if}}"),
    ("block-reordered", "{{#if a}}yes{{else}}no{{/if}}", "{{#if a}}no{{/if}}sí{{else}}",
     "breaks the block {{#if a}}…{{/if}}"),
    ("block-dropped-whole", "{{#if note}}Note: {{note}}{{/if}} Bye", "{{note}} Adiós",
     "drops the block {{#if note}}…{{/if}}"),
    ("each-renamed", "{{#each kids}}{{name}} {{/each}}", "{{#each niños}}{{name}} {{/each}}",
     "{{#each niños}}"),
    ("unterminated", "{{inviter_name}} invited you", "{{inviter_name te invitó", "unterminated"),
    ("bad-python-var", "Hello %(user)s", "Hola %(usr)s", "adds %(usr)s (did you mean %(user)s?)"),
    ("stray-percent", "%(count)s items at 5%%", "%(count)s artículos al 5%", 'a lone "%"'),
]


@pytest.mark.parametrize(("msgid", "msgstr", "said"), [case[1:] for case in BROKEN], ids=[c[0] for c in BROKEN])
def test_a_broken_translation_is_located_at_its_msgstr(config: Config, project: Path, msgid: str, msgstr: str,
                                                       said: str) -> None:
    text = HEADER + 'msgid "Fine"\nmsgstr "Bien"\n\n#: somewhere\n' + \
        f'msgid "{msgid}"\nmsgstr "{msgstr}"\n'
    write_po(project, text)
    with pytest.raises(TranslationError) as info:
        load_catalog(config, "es")
    err = info.value
    assert err.location == Location(PO_ES, line_number(text, "msgstr", f'msgid "{msgid}"'))
    assert f'"{msgid}"' in err.message
    assert said in err.message
    assert err.hint
    assert msgstr in (err.source_line or "")


def test_placeholders_compare_without_whitespace_and_in_any_order(config: Config, project: Path) -> None:
    write_po(project, HEADER + 'msgid "{{a}} and {{b}}"\nmsgstr "{{~ b }} y {{a}}"\n\n'
             'msgid "{{#if x}}{{x}}{{else}}-{{/if}} %(n)s%%"\nmsgstr "{{#if  x }}{{x}}{{ else }}–{{/if}} %(n)s %%"\n')
    catalog = load_catalog(config, "es")
    assert catalog.gettext("{{a}} and {{b}}") == "{{~ b }} y {{a}}"


def test_a_fuzzy_or_empty_broken_translation_is_not_checked(config: Config, project: Path) -> None:
    write_po(project, HEADER + '#, fuzzy\nmsgid "{{a}} left"\nmsgstr "se fue"\n\nmsgid "{{b}}"\nmsgstr ""\n')
    assert load_catalog(config, "es").gettext("{{a}} left") is None


def test_a_broken_plural_form_is_located_at_its_own_line(config: Config, project: Path) -> None:
    text = HEADER + ('msgid "{{n}} day"\nmsgid_plural "{{n}} days"\n'
                     'msgstr[0] "{{n}} día"\nmsgstr[1] "días"\n')
    write_po(project, text)
    with pytest.raises(TranslationError) as info:
        load_catalog(config, "es")
    assert info.value.location == Location(PO_ES, line_number(text, "msgstr[1]"))
    assert "drops {{n}}" in info.value.message


def test_every_broken_translation_of_a_file_is_reported_at_once(config: Config, project: Path) -> None:
    text = HEADER + ('msgid "{{a}} one"\nmsgstr "uno"\n\nmsgid "fine"\nmsgstr "bien"\n\n'
                     'msgctxt "button"\nmsgid "{{b}} two"\nmsgstr "{{c}} dos"\n')
    write_po(project, text)
    with pytest.raises(TranslationError) as info:
        load_catalog(config, "es")
    err = info.value
    first, second = line_number(text, 'msgstr "uno"'), line_number(text, 'msgstr "{{c}} dos"')
    assert err.location == Location(PO_ES, first)
    assert "2 translations" in err.message
    assert f"line {first}: " in err.message and f"line {second}: " in err.message
    assert '"{{a}} one"' in err.message and '"{{b}} two" (context "button")' in err.message
    assert "drops {{b}}" in err.message and "adds {{c}}" in err.message  # not a misspelling of it


@pytest.mark.parametrize(("broken", "said"), [
    ('msgid "Accept\nmsgstr "Aceptar"\n', "quote"),
    ('msgid "Accept"\nmsgtsr "Aceptar"\n', "msgtsr"),
    ('msgid "Accept"\n\nmsgid "Other"\nmsgstr "Otro"\n', "msgstr"),
    ('msgid "Accept"\nmsgstr "Aceptar"\n\nmsgid "Fine"\nmsgstr "Multa"\n', "twice"),
], ids=["unclosed-string", "misspelled-keyword", "missing-msgstr", "duplicate"])
def test_a_po_syntax_error_is_located(config: Config, project: Path, broken: str, said: str) -> None:
    text = HEADER + 'msgid "Fine"\nmsgstr "Bien"\n\n' + broken
    write_po(project, text)
    with pytest.raises(TranslationError) as info:
        load_catalog(config, "es")
    bad_line = {"quote": 'msgid "Accept', "msgtsr": "msgtsr", "msgstr": 'msgid "Accept"'}.get(said)
    expected = line_number(text, bad_line) if bad_line else line_number(text, 'msgid "Fine"', 'msgstr "Aceptar"')
    assert info.value.location == Location(PO_ES, expected)
    assert said in info.value.message or said in (info.value.hint or "")


def test_a_catalogue_that_is_not_utf8_is_located(config: Config, project: Path) -> None:
    text = HEADER + 'msgid "Fine"\nmsgstr "Bien"\n\nmsgid "Coffee"\nmsgstr "Caf\xe9"\n'
    path = write_po(project, "")
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(TranslationError) as info:
        load_catalog(config, "es")
    assert info.value.location == Location(PO_ES, line_number(text, 'msgstr "Caf'))
    assert "UTF-8" in info.value.message


def test_translation_errors_survive_pickling(config: Config, project: Path) -> None:
    import pickle

    write_po(project, HEADER + 'msgid "{{a}} one"\nmsgstr "uno"\n')
    with pytest.raises(TranslationError) as info:
        load_catalog(config, "es")
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.location, again.message) == (info.value.location, info.value.message)
    write_po(project, LOOKUPS)
    catalog = load_catalog(config, "es")
    copy = pickle.loads(pickle.dumps(catalog))  # the build hands catalogues to worker processes
    assert copy == catalog and copy.ngettext("One day", "%(count)s days", 3) == "%(count)s días"


# --- stats ---------------------------------------------------------------------------------------


def test_stats_count_translated_fuzzy_and_untranslated_against_the_templates(config: Config,
                                                                              project: Path) -> None:
    update(config)
    po = project / PO_ES
    _translate(po, "Accept", "Aceptar")
    _translate(po, "{{inviter_name}} invited you", "{{inviter_name}} te invitó")
    po.write_text(po.read_text(encoding="utf-8").replace(
        'msgid "Open the calendar"\nmsgstr ""', '#, fuzzy\nmsgid "Open the calendar"\nmsgstr "Abrir"'),
        encoding="utf-8")
    found = {s.locale: s for s in stats(config)}
    es = found["es"]
    assert (es.total, es.translated, es.fuzzy, es.untranslated) == (6, 2, 1, 3)
    assert es.to_dict()["path"] == PO_ES
    assert (found["ar"].translated, found["ar"].untranslated) == (0, 6)


# --- the command line ----------------------------------------------------------------------------


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(i18n, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_extract_prints_where_and_how_many(project: Path) -> None:
    code, out, _ = invoke("extract", "--root", str(project))
    assert code == 0
    assert "templates_src/_locales/messages.pot" in out and "6 messages" in out
    code, out, _ = invoke("extract", "--root", str(project), "--json")
    assert code == 0
    assert json.loads(out) == {"ok": True, "path": "templates_src/_locales/messages.pot", "messages": 6,
                               "changed": False}


def test_cli_update_reports_each_locale(project: Path) -> None:
    code, out, _ = invoke("update", "--root", str(project))
    assert code == 0, out
    assert f"es: created {PO_ES}" in out and "6 untranslated" in out
    assert "ar: created templates_src/_locales/ar/LC_MESSAGES/messages.po" in out
    template = project / "templates_src/coparent_invitation/template.mjml"
    template.write_text(TEMPLATE.replace('[[ _("Open the calendar") ]]', '[[ _("Show my week") ]]'),
                        encoding="utf-8")
    code, out, _ = invoke("update", "--root", str(project), "--locale", "es", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["ok"] is True and payload["pot"] == "templates_src/_locales/messages.pot"
    assert payload["locales"] == [{"locale": "es", "path": PO_ES, "created": False, "added": 1, "removed": 1,
                                   "total": 6, "untranslated": 6, "fuzzy": 0}]
    code, out, _ = invoke("update", "--root", str(project), "--locale", "ar")
    assert code == 0 and "ar: updated" in out and "1 new, 1 obsolete" in out


def test_cli_update_without_locales_fails_with_the_fix(tmp_path: Path) -> None:
    project = make_i18n_project(tmp_path, locales="")
    code, _, err = invoke("update", "--root", str(project))
    assert code == 1
    assert "no locales" in err and 'locales = ["en", "es"]' in err
    code, out, _ = invoke("update", "--root", str(project), "--json")
    assert code == 1 and json.loads(out)["error"] == "ConfigError"


def test_cli_stats_and_strict(project: Path) -> None:
    invoke("update", "--root", str(project))
    for locale in ("es", "ar"):
        po = project / f"templates_src/_locales/{locale}/LC_MESSAGES/messages.po"
        text = po.read_text(encoding="utf-8")
        for msgid in MSGIDS:
            escaped = msgid.replace('"', '\\"')
            text = text.replace(f'msgid "{escaped}"\nmsgstr ""', f'msgid "{escaped}"\nmsgstr "{escaped}"')
        po.write_text(text, encoding="utf-8")
    code, out, _ = invoke("stats", "--root", str(project), "--strict")
    assert code == 0, out
    assert "es" in out and "6/6" in out
    _translate_back = project / PO_ES
    _translate_back.write_text(_translate_back.read_text(encoding="utf-8").replace(
        'msgid "Accept"\nmsgstr "Accept"', 'msgid "Accept"\nmsgstr ""'), encoding="utf-8")
    code, out, _ = invoke("stats", "--root", str(project))
    assert code == 0 and "5/6" in out and "1 untranslated" in out
    code, out, err = invoke("stats", "--root", str(project), "--strict")
    assert code == 2 and "es" in err and "untranslated" in err
    code, out, _ = invoke("stats", "--root", str(project), "--json")
    payload = json.loads(out)
    assert code == 0 and payload["ok"] is True
    assert {d["locale"]: d["untranslated"] for d in payload["locales"]} == {"es": 1, "ar": 0}


def test_cli_reports_a_broken_translation_with_its_file_and_line(project: Path) -> None:
    invoke("update", "--root", str(project))
    po = project / PO_ES
    _translate(po, "{{inviter_name}} invited you", "{{inviter_nme}} te invitó")
    text = po.read_text(encoding="utf-8")
    code, _, err = invoke("stats", "--root", str(project))
    assert code == 1
    line = line_number(text, 'msgstr "{{inviter_nme}}')
    assert f"{PO_ES}:{line}: " in err and "did you mean {{inviter_name}}?" in err and "fix:" in err
