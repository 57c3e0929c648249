"""The preview of a project with locales (issue 13): one state per template
and locale, compiled with its catalogue; a .po edit recompiles its locale only
and a broken one is that locale's error; a locale switch beside the sample
switch (live and exported); every locale in the static export.

The project: ``tests/projects/base`` with ``locales = ["en", "es", "ar"]`` and
two templates marked with ``{% trans %}``; es translates everything, ar all but
"Open" (one untranslated message), and ``welcome/samples/ar/`` names an Arabic
recipient.  Browser behaviour is in test_preview_locales_browser.py.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from letterhead.cli.common import Ctx
from letterhead.cli.dev import preview as preview_command
from letterhead.config import load_config
from letterhead.dev.devserver import DevServer
from letterhead.dev.preview import PreviewProject, Site, export_site, index_page, template_page
from letterhead.errors import TranslationError

from .helpers import make_project

ES_PO = "templates_src/_locales/es/LC_MESSAGES/messages.po"
AR_PO = "templates_src/_locales/ar/LC_MESSAGES/messages.po"
VARIANTS = ["reminder", "reminder__es", "reminder__ar", "welcome", "welcome__es", "welcome__ar"]

WELCOME_MJML = """\
{% extends "_layouts/base.mjml" %}
{% block preview %}{% trans %}Hello {{name}}{% endtrans %}{% endblock %}
{% block content %}
    <mj-section>
      <mj-column>
        <mj-text css-class="lead">{% trans %}Hello {{name}}{% endtrans %}</mj-text>
        {{#if note}}
        <mj-text>{% trans %}Note: {{note}}{% endtrans %}</mj-text>
        {{/if}}
        <mj-text>{% trans %}Your calendar is ready.{% endtrans %}</mj-text>
        <mj-button href="{{url}}" background-color="[[ brand.color ]]">[[ _("Open") ]]</mj-button>
      </mj-column>
    </mj-section>
{% endblock %}
"""

HEADER = """\
msgid ""
msgstr ""
"Project-Id-Version: mini\\n"
"Language: {locale}\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=utf-8\\n"
"Content-Transfer-Encoding: 8bit\\n"

"""

ES = {
    "Hello {{name}}": "Hola {{name}}",
    "Note: {{note}}": "Nota: {{note}}",
    "Your calendar is ready.": "Tu calendario está listo.",
    "Open": "Abrir",
    "Reminder for {{name}}": "Recordatorio para {{name}}",
}
AR = {
    "Hello {{name}}": "مرحبا {{name}}",
    "Note: {{note}}": "ملاحظة: {{note}}",
    "Your calendar is ready.": "تقويمك جاهز.",
    "Open": "",  # untranslated: reads in English
    "Reminder for {{name}}": "تذكير لـ {{name}}",
}


def write_po(root: Path, locale: str, messages: dict[str, str]) -> Path:
    path = root / "templates_src" / "_locales" / locale / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f'msgid "{k}"\nmsgstr "{v}"\n\n' for k, v in messages.items())
    path.write_text(HEADER.format(locale=locale) + body, encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return n
    raise AssertionError(f"{text!r} not in {path}")


def make_locale_project(tmp_path: Path) -> Path:
    root = make_project(tmp_path)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "mini"\nversion = "0"\n\n[tool.letterhead]\n'
        'locales = ["en", "es", "ar"]\ndefault_locale = "en"\n')
    src = root / "templates_src"
    welcome = src / "welcome"
    (welcome / "template.mjml").write_text(WELCOME_MJML)
    (welcome / "subject.txt").write_text("{% trans %}Hello {{name}}{% endtrans %}\n")
    shutil.copytree(welcome, src / "reminder")
    (src / "reminder" / "subject.txt").write_text("{% trans %}Reminder for {{name}}{% endtrans %}\n")
    (welcome / "samples" / "ar").mkdir()
    (welcome / "samples" / "ar" / "default.json").write_text(
        json.dumps({"name": "ليلى", "url": "https://example.com/start"}, ensure_ascii=False), encoding="utf-8")
    write_po(root, "es", ES)
    write_po(root, "ar", AR)
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_locale_project(tmp_path)


def _project(root: Path) -> PreviewProject:
    p = PreviewProject(load_config(root, environ={}))
    p.rebuild()
    return p


def _subject(p: PreviewProject, name: str, sample: str = "default") -> str:
    state = p.get(name)
    assert state is not None, name
    render = state.renders[sample]
    assert render.parts is not None, render.error
    return render.parts["subject"]


class _Links(HTMLParser):
    """The locale switch's links and the model of a template page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.locales: list[dict[str, str | None]] = []
        self.attrs: dict[str, dict[str, str | None]] = {}  # id → attributes
        self.model: Any = None
        self._in_model = False

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        a = dict(attrs)
        if a.get("data-locale") is not None:
            self.locales.append(a)
        if a.get("id"):
            self.attrs[str(a["id"])] = a
        self._in_model = tag == "script" and a.get("id") == "model"

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self._in_model:
            self.model = json.loads(data)
            self._in_model = False


def _links(html: str) -> _Links:
    p = _Links()
    p.feed(html)
    return p


# -- states: one per template and locale, each with its catalogue --------------------


def test_each_template_and_locale_is_a_state_compiled_with_its_catalogue(root: Path) -> None:
    p = _project(root)
    assert p.error is None
    assert p.names == VARIANTS
    assert p.template_names == ["reminder", "welcome"]
    by = {s.name: s for s in p.states()}
    assert [(by[n].folder, by[n].locale) for n in ("welcome", "welcome__es", "welcome__ar")] == [
        ("welcome", "en"), ("welcome", "es"), ("welcome", "ar")]
    assert _subject(p, "welcome") == "Hello Ada"
    assert _subject(p, "welcome__es") == "Hola Ada"
    assert _subject(p, "welcome__ar") == "مرحبا ليلى"  # samples/ar/ replaces the shared sample
    assert _subject(p, "reminder__es") == "Recordatorio para Ada"
    html = by["welcome__es"].renders["default"].parts["html"]  # type: ignore[index]
    assert "Tu calendario está listo." in html and "Abrir" in html and 'lang="es"' in html
    ar_html = by["welcome__ar"].renders["default"].parts["html"]  # type: ignore[index]
    assert re.search(r'<html[^>]*\bdir="rtl"', ar_html) and "تقويمك جاهز." in ar_html
    # each payload is the SES template of its variant
    assert by["welcome__es"].payload is not None and by["welcome__es"].payload.name == "welcome__es"
    assert by["welcome__es"].catalog == ES_PO
    # untranslated messages: the source language stands in, and the variant says so
    assert by["welcome__ar"].untranslated == ("Open",)
    assert by["welcome__ar"].status == "warning" and by["welcome__es"].status == "ok"
    assert by["welcome"].untranslated == () and by["welcome"].catalog is None


def test_a_po_edit_recompiles_only_that_locales_variants(root: Path) -> None:
    p = _project(root)
    before = {s.name: s.version for s in p.states()}
    po = write_po(root, "es", {**ES, "Hello {{name}}": "Buenas {{name}}"})
    assert p.affected([po]) == {"welcome__es", "reminder__es"}
    assert sorted(p.rebuild([po]) or []) == ["reminder__es", "welcome__es"]
    after = {s.name: s.version for s in p.states()}
    assert [n for n in VARIANTS if after[n] != before[n]] == ["reminder__es", "welcome__es"]
    assert _subject(p, "welcome__es") == "Buenas Ada"
    assert _subject(p, "welcome") == "Hello Ada" and _subject(p, "welcome__ar") == "مرحبا ليلى"
    assert p.names == VARIANTS  # order kept


def test_paths_map_to_the_variants_they_feed(root: Path) -> None:
    p = _project(root)
    src = root / "templates_src"
    assert p.affected([src / "welcome" / "template.mjml"]) == {"welcome", "welcome__es", "welcome__ar"}
    assert p.affected([src / "welcome" / "samples" / "default.json"]) == {"welcome", "welcome__es", "welcome__ar"}
    assert p.affected([src / "welcome" / "samples" / "ar" / "default.json"]) == {"welcome__ar"}
    assert p.affected([root / AR_PO]) == {"welcome__ar", "reminder__ar"}
    assert p.affected([src / "_locales" / "messages.pot"]) == set()  # extraction's output feeds nothing
    assert p.affected([src / "_locales" / "fr" / "LC_MESSAGES" / "messages.po"]) == set()  # not a configured locale
    assert p.affected([src / "_layouts" / "base.mjml"]) is None
    ar_sample = src / "welcome" / "samples" / "ar" / "default.json"
    ar_sample.write_text(json.dumps({"name": "سارة", "url": "https://example.com"}, ensure_ascii=False))
    assert p.rebuild([ar_sample]) == ["welcome__ar"]
    assert _subject(p, "welcome__ar") == "مرحبا سارة"


@pytest.mark.parametrize(("broken", "said"), [
    ('msgstr "Hola"', "{{name}}"),  # a translation that drops its placeholder
    ('msgstr "Hola {{name}', None),  # not a .po file any more: an unterminated string
])
def test_a_broken_po_is_the_error_of_its_locale_at_its_line(root: Path, broken: str, said: str | None) -> None:
    p = _project(root)
    po = root / ES_PO
    good = po.read_text(encoding="utf-8")
    line = line_of(po, 'msgstr "Hola {{name}}"')
    po.write_text(good.replace('msgstr "Hola {{name}}"', broken), encoding="utf-8")
    assert sorted(p.rebuild([po]) or []) == ["reminder__es", "welcome__es"]  # no crash
    es = p.get("welcome__es")
    assert es is not None and isinstance(es.error, TranslationError) and es.status == "error"
    assert es.error.location is not None and es.error.location.path == ES_PO
    if said is not None:
        assert es.error.location.line == line and said in es.error.message
    assert p.get("reminder__es").status == "error"  # type: ignore[union-attr]
    assert [s.status for s in p.states() if s.locale != "es"] == ["ok", "warning", "ok", "warning"]
    # the page: the error at the .po line, the last good render below it
    assert es.last_good is not None and es.last_good.renders["default"].ok
    page = template_page(es, site=Site(live=True), project=p)
    assert "The translation catalogue has an error" in page and f"{ES_PO}:" in page
    assert "the last version that compiled" in page
    index = index_page(p.states(), site=Site(live=True))
    assert "es: translation error" in index and f"es: {ES_PO}:" in index
    po.write_text(good, encoding="utf-8")
    p.rebuild([po])
    assert p.get("welcome__es").status == "ok" and _subject(p, "welcome__es") == "Hola Ada"  # type: ignore[union-attr]


def test_a_po_that_does_not_load_at_start_is_its_locales_error_only(root: Path) -> None:
    po = root / AR_PO
    po.write_text(po.read_text(encoding="utf-8").replace('msgstr "مرحبا {{name}}"', 'msgstr "مرحبا"'),
                  encoding="utf-8")
    p = _project(root)
    assert p.error is None
    assert {s.name: s.status for s in p.states()} == {
        "reminder": "ok", "reminder__es": "ok", "reminder__ar": "error",
        "welcome": "ok", "welcome__es": "ok", "welcome__ar": "error"}
    ar = p.get("welcome__ar")
    assert ar is not None and isinstance(ar.error, TranslationError)
    broken_line = line_of(po, 'msgstr "مرحبا"')
    assert str(ar.error.location) == f"{AR_PO}:{broken_line}"


# -- pages -----------------------------------------------------------------------------


def test_the_index_lists_each_template_once_with_a_status_per_locale(root: Path) -> None:
    p = _project(root)
    index = index_page(p.states(), site=Site(live=True))
    assert re.findall(r'<tr data-template="([^"]+)"', index) == ["reminder", "welcome"]
    assert "<th>Locales</th>" in index
    chips = re.findall(r'<a class="locale-chip (\w+)" data-locale="(\w+)" href="([^"]+)"[^>]*>([^<]+)</a>', index)
    assert chips[3:] == [
        ("ok", "en", "/t/welcome", "en"),  # the default: the plain URL
        ("ok", "es", "/t/welcome?locale=es", "es"),
        ("warning", "ar", "/t/welcome?locale=ar", "ar · 1 untranslated"),
    ]
    assert "ar: 1 untranslated" in index  # the row's status names the locale


def test_the_template_page_switches_locale_beside_the_sample_switch(root: Path) -> None:
    p = _project(root)
    es = p.get("welcome__es")
    assert es is not None
    html = template_page(es, sample="hostile", site=Site(live=True), project=p)
    doc = _links(html)
    switch = [(a["data-locale"], a["href"], "aria-current" in a) for a in doc.locales]
    assert switch == [
        ("en", "/t/welcome?sample=hostile", False),
        ("es", "/t/welcome?locale=es&sample=hostile", True),
        ("ar", "/t/welcome?locale=ar&sample=hostile", False),
    ]
    assert html.index('id="locales"') < html.index('id="samples"')  # beside the sample switch
    assert doc.model["name"] == "welcome__es" and doc.model["locale"] == doc.model["url_locale"] == "es"
    assert doc.model["path"] == "/t/welcome"
    assert doc.model["family"] == ["welcome", "welcome__es", "welcome__ar"]
    assert doc.model["current"] == "hostile"
    assert doc.attrs["template-name"] is not None and ">welcome</h1>" in html
    assert doc.attrs["subject"]["lang"] == "es" and doc.attrs["subject"]["dir"] == "ltr"
    assert "untranslated" not in doc.attrs  # es translates everything
    # the jump list keeps the locale
    assert 'href="/t/reminder?locale=es"' in html

    ar = p.get("welcome__ar")
    assert ar is not None
    ar_doc = _links(template_page(ar, site=Site(live=True), project=p))
    assert ar_doc.attrs["subject"]["dir"] == "rtl" and ar_doc.attrs["text-part"]["dir"] == "rtl"
    frame = ar_doc.attrs["frame-desktop"]["srcdoc"] or ""
    assert re.search(r'<html[^>]*\bdir="rtl"', frame)
    ar_page = template_page(ar, site=Site(live=True), project=p)
    assert "1 untranslated message in ar" in ar_page and AR_PO in ar_page and "<code>Open</code>" in ar_page
    assert re.search(r'data-locale="ar"[^>]*>ar <span class="muted">RTL</span> <span class="count"', ar_page)


def test_a_project_without_locales_has_no_locale_switch(project: Path) -> None:
    p = PreviewProject(load_config(project, environ={}))
    p.rebuild()
    state = p.get("welcome")
    assert state is not None and state.locale is None and p.names == ["welcome"]
    html = template_page(state, site=Site(live=True), project=p)
    doc = _links(html)
    assert doc.locales == [] and "locales" not in doc.attrs and "ses-name" not in doc.attrs
    assert "lang" not in doc.attrs["subject"] and doc.model["locale"] is None
    index = index_page(p.states(), site=Site(live=True))
    assert "Locales" not in index and 'href="/t/welcome"' in index


# -- the static export: every locale of every template --------------------------------


def test_the_export_holds_every_locale_linked_from_the_switch(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    written = export_site(_project(root), out)
    assert sorted(p.name for p in written) == sorted(["index.html", *(f"{n}.html" for n in VARIANTS)])
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="welcome__es.html"' in index and 'href="welcome__ar.html"' in index
    page = (out / "welcome.html").read_text(encoding="utf-8")
    links = {a["data-locale"]: a["href"] for a in _links(page).locales}
    assert links == {"en": "welcome.html#sample=default", "es": "welcome__es.html#sample=default",
                     "ar": "welcome__ar.html#sample=default"}
    for target in links.values():
        assert (out / target.split("#")[0]).is_file()
    assert "Hola Ada" in (out / "welcome__es.html").read_text(encoding="utf-8")
    ar = _links((out / "welcome__ar.html").read_text(encoding="utf-8"))
    assert re.search(r'<html[^>]*\bdir="rtl"', ar.attrs["frame-desktop"]["srcdoc"] or "")


def test_the_preview_command_exports_every_locale(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "preview"
    result = CliRunner().invoke(preview_command, ["--export", str(out), "--json"], obj=Ctx(root, False))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [t["name"] for t in data["templates"]] == VARIANTS
    assert {t["name"]: t["status"] for t in data["templates"]}["welcome__ar"] == "warning"
    assert (out / "reminder__ar.html").is_file()


# -- the dev server -------------------------------------------------------------------------


@pytest.fixture
def server(root: Path):  # type: ignore[no-untyped-def]
    srv = DevServer(load_config(root, environ={}), port=0, ses=False)
    with srv.serve() as url:
        yield srv, url


def test_the_url_carries_the_locale(server) -> None:  # type: ignore[no-untyped-def]
    _, url = server

    def shown(path: str) -> tuple[str, str | None]:
        r = httpx.get(url + path)
        assert r.status_code == 200, path
        model = _links(r.text).model
        return model["name"], model["current"]

    assert shown("/t/welcome") == ("welcome", "default")
    assert shown("/t/welcome?locale=en&sample=hostile") == ("welcome", "hostile")
    assert shown("/t/welcome?locale=es&sample=hostile") == ("welcome__es", "hostile")
    assert shown("/t/welcome?locale=es-MX") == ("welcome__es", "default")  # the fallback chain
    assert shown("/t/welcome?locale=fr") == ("welcome", "default")  # not configured: the default
    assert shown("/t/welcome__ar") == ("welcome__ar", "default")  # an SES name works too
    assert shown("/t/welcome__ar?locale=es") == ("welcome__es", "default")
    assert httpx.get(url + "/t/nope?locale=es").status_code == 404
    # the page's own URL, whatever URL opened it: the script rewrites the address bar with it
    model = _links(httpx.get(url + "/t/welcome__ar?locale=en").text).model
    assert (model["name"], model["path"], model["url_locale"]) == ("welcome", "/t/welcome", None)
    index = httpx.get(url + "/").text
    assert 'href="/t/welcome?locale=ar"' in index
    es = httpx.post(url + "/api/render/welcome__es", json={"data": {"name": "Grace", "url": "https://x.org"}}).json()
    assert es["ok"] and es["subject"] == "Hola Grace"
    assert httpx.get(url + "/api/status").json()["templates"]["welcome__ar"] == "warning"


def test_a_saved_po_reaches_the_open_page_and_the_local_ses(root: Path) -> None:
    srv = DevServer(load_config(root, environ={}), port=0, ses_port=0, senders=["example.com"])
    with srv.serve() as url:
        ses = srv.local_ses
        assert ses is not None
        assert ses.template("welcome__es").subject == "Hola {{{name}}}"  # type: ignore[union-attr]
        assert ses.template("welcome__ar") is not None and ses.template("welcome") is not None
        assert srv.wait_watching()
        version = srv.project.version
        write_po(root, "es", {**ES, "Hello {{name}}": "Buenas {{name}}"})
        deadline = time.monotonic() + 15
        while ses.template("welcome__es").subject != "Buenas {{{name}}}":  # type: ignore[union-attr]
            assert time.monotonic() < deadline, ses.template("welcome__es")
            time.sleep(0.02)
        assert {s.name for s in srv.project.states() if s.version > version} == {"welcome__es", "reminder__es"}
        assert "Buenas Ada" in httpx.get(url + "/t/welcome?locale=es").text
