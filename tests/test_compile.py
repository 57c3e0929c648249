"""The compile pipeline keeps every SES placeholder and block tag intact and
in place, wherever a designer puts it, through Jinja, MRML, both inliners and
the text converter; what comes out renders with SES semantics."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from letterhead import sestemplate
from letterhead.authoring.build import build
from letterhead.authoring.validate import render_parts
from letterhead.authoring.compile import Compiler
from letterhead.config import load_config
from letterhead.errors import PlaceholderLostError
from letterhead.authoring.payload import SesTemplate
from letterhead.authoring.sources import load_brand, load_source

HEAD = """<mjml>
  <mj-head>
    <mj-title>{{title}}</mj-title>
    <mj-preview>Hi {{name}}</mj-preview>
    <mj-style inline="inline">
      .accent { color: #ff0066; }
      .lead { font-weight: 700; }
    </mj-style>
    <mj-style>.hb { color: {{brand_color}}; }</mj-style>
  </mj-head>
  <mj-body>
"""
TAIL = """  </mj-body>
</mjml>
"""


def make(tmp_path: Path, body: str, *, samples: dict[str, Any] | None = None,
         subject: str = "Hello {{name}}", text: str | None = None, inliner: str = "css-inline") -> Path:
    root = tmp_path / "p"
    (root / "templates_src" / "t" / "samples").mkdir(parents=True)
    (root / "pyproject.toml").write_text(f'[tool.letterhead]\ninliner = "{inliner}"\n')
    (root / "templates_src" / "brand.toml").write_text('name = "Acme"\n')
    (root / "templates_src" / "t" / "template.mjml").write_text(HEAD + body + TAIL)
    (root / "templates_src" / "t" / "subject.txt").write_text(subject)
    # The placeholders in CSS (HEAD, EVERYWHERE) are declared colors: untyped, CSS is a build error.
    (root / "templates_src" / "t" / "template.toml").write_text(
        "".join(f'[variables.{n}]\ntype = "color"\n' for n in ("brand_color", "link_color", "button_color")))
    if text is not None:
        (root / "templates_src" / "t" / "text.txt").write_text(text)
    for name, data in (samples or {"default": {"name": "Ada", "title": "T", "brand_color": "#123456"}}).items():
        (root / "templates_src" / "t" / "samples" / f"{name}.json").write_text(json.dumps(data))
    return root


def compiled(root: Path):
    config = load_config(root)
    return Compiler(config, load_brand(config)).compile(load_source(config, "t"))


def mustaches(text: str) -> list[str]:
    return [t.raw for t in sestemplate.scan(text)]


EVERYWHERE = """
    <mj-section>
      <mj-column>
        <mj-text css-class="accent">Dear <b class="lead">{{name}}</b>, <a href="https://x.example/p?u={{user_id}}&amp;s=1" style="color: {{link_color}}">your page</a></mj-text>
        <mj-button href="{{accept_url}}" background-color="{{button_color}}">Accept {{name}}</mj-button>
        <mj-image src="{{avatar_url}}" alt="{{name}}'s avatar" />
      </mj-column>
    </mj-section>
"""
EVERY_SAMPLE = {"default": {"name": "Ada", "title": "T", "brand_color": "#000", "user_id": "7", "link_color": "red",
                            "accept_url": "https://x.example/a", "button_color": "#111",
                            "avatar_url": "https://x.example/a.png"}}


@pytest.mark.parametrize("inliner", ["css-inline", "premailer"])
def test_placeholders_survive_in_text_attributes_urls_and_css(tmp_path: Path, inliner: str) -> None:
    ct = compiled(make(tmp_path, EVERYWHERE, inliner=inliner))
    html = ct.html
    for expected in ("{{name}}", "{{title}}", "{{brand_color}}", "{{accept_url}}", "{{button_color}}",
                     "{{avatar_url}}", "{{link_color}}"):
        assert expected in html, expected
    assert 'href="{{accept_url}}"' in html
    assert "https://x.example/p?u={{user_id}}&amp;s=1" in html
    assert 'src="{{avatar_url}}"' in html
    assert "color: {{link_color}}" in html
    assert ".hb { color: {{brand_color}}; }" in html
    assert "{{%20" not in html and "%7B%7B" not in html
    # mj-style inline was inlined onto the element, and the head styles kept.
    # (premailer's cssutils shortens #ff0066 to #f06.)
    accent = re.search(r'<td[^>]*class="accent"[^>]*>', html)
    assert accent and re.search(r"color: ?#(ff0066|f06)", accent.group(0)), inliner
    assert re.search(r'<b class="lead" style="font-weight: ?700', html), inliner
    assert "@media" in html


BLOCKS = """
    <mj-section><mj-column><mj-text>Top</mj-text></mj-column></mj-section>
    {{#if note}}
    <mj-section><mj-column><mj-text>Note: {{note}}</mj-text></mj-column></mj-section>
    {{/if}}
    <mj-section>
      <mj-column>
        <mj-text>A</mj-text>
        {{#unless hide_b}}
        <mj-text>B</mj-text>
        {{/unless}}
        <mj-table>
          <tr><th>When</th><th>What</th></tr>
          {{#each events}}
          <tr class="ev"><td>{{time}}</td><td>{{title}}{{#if handoff}} (handoff){{/if}}</td></tr>
          {{else}}
          <tr class="none"><td colspan="2">Nothing planned</td></tr>
          {{/each}}
        </mj-table>
        <mj-text><table>{{#each rows}}<tr class="raw"><td>{{this}}</td></tr>{{/each}}</table></mj-text>
      </mj-column>
    </mj-section>
    <mj-wrapper>
      <mj-section><mj-column><mj-text>W1</mj-text></mj-column></mj-section>
      {{#if extra}}
      <mj-section><mj-column><mj-text>W2 {{extra}}</mj-text></mj-column></mj-section>
      {{/if}}
    </mj-wrapper>
"""
FULL = {"name": "Ada", "title": "T", "brand_color": "#000", "note": "Bring a coat", "hide_b": False,
        "events": [{"time": "9:00", "title": "School", "handoff": True}, {"time": "17:00", "title": "Swim"}],
        "rows": ["r1", "r2", "r3"], "extra": "more"}
EMPTY = {"name": "Ada", "title": "T", "brand_color": "#000", "hide_b": True, "events": [], "rows": []}


@pytest.mark.parametrize("inliner", ["css-inline", "premailer"])
def test_block_tags_between_sections_components_and_table_rows_stay_in_place(tmp_path: Path, inliner: str) -> None:
    root = make(tmp_path, BLOCKS, samples={"full": FULL, "empty": EMPTY}, inliner=inliner)
    ct = compiled(root)
    blocks = [m for m in mustaches(ct.html) if m[2] in "#/" or m == "{{else}}"]
    assert blocks == ["{{#if note}}", "{{/if}}", "{{#unless hide_b}}", "{{/unless}}", "{{#each events}}",
                      "{{#if handoff}}", "{{/if}}", "{{else}}", "{{/each}}", "{{#each rows}}", "{{/each}}",
                      "{{#if extra}}", "{{/if}}"]
    full = sestemplate.render(ct.parsed["html"], FULL)
    empty = sestemplate.render(ct.parsed["html"], EMPTY)
    assert full.count('class="ev"') == 2 and "Nothing planned" not in full
    assert "School (handoff)" in full and "Swim (handoff)" not in full
    assert full.count('class="raw"') == 3
    assert "Note: Bring a coat" in full and "Note:" not in empty
    assert ">B<" in full and ">B<" not in empty
    assert "W2 more" in full and "W2" not in empty
    assert empty.count('class="ev"') == 0 and "Nothing planned" in empty
    # The rows really are inside the table, in order.
    table = full[full.index("When"):]
    assert table.index("School") < table.index("Swim") < table.index("</table>")
    # Outlook conditionals stay balanced: no block comment inside one.
    for cond in re.findall(r"<!--\[if [^\]]*\]>(.*?)<!\[endif\]-->", ct.html, re.S):
        assert "{{" not in cond


def test_a_placeholder_the_toolchain_would_drop_is_an_error(tmp_path: Path) -> None:
    body = """
    <mj-section><mj-column>
      <mj-text>Hi {{name}}</mj-text>
      <mj-button href="https://x.example" data-campaign="{{campaign}}">Go</mj-button>
    </mj-column></mj-section>
"""
    with pytest.raises(PlaceholderLostError) as err:
        compiled(make(tmp_path, body))
    assert "{{campaign}}" in str(err.value)
    assert err.value.location is not None and err.value.location.line == 15


def test_output_between_sections_is_an_error_with_the_line(tmp_path: Path) -> None:
    body = """
    <mj-section><mj-column><mj-text>Hi {{name}}</mj-text></mj-column></mj-section>
    {{signature}}
"""
    with pytest.raises(PlaceholderLostError) as err:
        compiled(make(tmp_path, body))
    assert err.value.location.line == 14 and "mj-text" in (err.value.hint or "")


def test_generated_text_reads_well(tmp_path: Path) -> None:
    body = """
    <mj-section><mj-column>
      <mj-image src="https://x.example/logo.png" alt="Acme" href="https://x.example" />
      <mj-text>Dear {{name}},</mj-text>
      <mj-text><h2>Next steps</h2><p>1. Open the app</p><p>- bring snacks &amp; water</p><p>Use code A_B*C</p></mj-text>
      <mj-text>Read <a href="https://x.example/terms">the terms</a> or mail <a href="mailto:help@x.example">help@x.example</a>.</mj-text>
      <mj-button href="{{accept_url}}">Accept</mj-button>
    </mj-column></mj-section>
    {{#if note}}
    <mj-section><mj-column><mj-text>Note: {{note}}</mj-text></mj-column></mj-section>
    {{/if}}
    <mj-section><mj-column><mj-text>Bye</mj-text></mj-column></mj-section>
"""
    ct = compiled(make(tmp_path, body))
    text = ct.text
    assert "Hi {{name}}" not in text  # the preheader is not part of the text
    assert "Acme: https://x.example" in text
    assert "the terms: https://x.example/terms" in text
    assert "help@x.example" in text and "mailto:" not in text.replace("help@x.example", "")
    assert "Accept: {{accept_url}}" in text
    assert "|" not in text and "<" not in text
    # A text part is for people: no Markdown escapes.
    assert "1. Open the app" in text and "- bring snacks & water" in text and "Use code A_B*C" in text
    assert "\\" not in text and "Next steps\n" in text
    assert not any(line.startswith("# ") or line.startswith("## ") for line in text.splitlines())
    with_note = sestemplate.render(ct.parsed["text"], {"name": "A", "accept_url": "u", "note": "N"})
    without = sestemplate.render(ct.parsed["text"], {"name": "A", "accept_url": "u"})
    assert "Note: N\n\nBye" in with_note
    assert "Accept: u\n\nBye" in without  # the block's lines vanish cleanly


def test_handwritten_text_part_is_used(tmp_path: Path) -> None:
    ct = compiled(make(tmp_path, EVERYWHERE, samples=EVERY_SAMPLE, text="Hi {{name}}\n{% if true %}[[ brand.name ]]{% endif %}\n"))
    assert ct.text == "Hi {{name}}\nAcme\n" and not ct.text_generated


def _build(root: Path, **kw: Any):
    return build(load_config(root), **kw)


def test_hostile_values_are_text_in_html_and_unchanged_in_subject_and_text_both_ways(tmp_path: Path) -> None:
    root = make(tmp_path, EVERYWHERE, samples=EVERY_SAMPLE)
    _build(root)
    payload = SesTemplate.load(root / "ses_templates" / "t.json")
    hostile = '<b>Tom & "Jerry"</b>'
    data = {"name": hostile, "title": "T", "brand_color": "#000", "user_id": "1&x=<y>", "link_color": "red",
            "accept_url": "https://x.example/a?b=1&c=2", "button_color": "#111", "avatar_url": "https://x.example/a.png"}
    for escape in (False, True):  # SES's documented behaviour, and handlebars.js's
        parts = render_parts(payload, data, escape=escape)
        assert "<b>Tom" not in parts["html"]
        assert "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;" in parts["html"]
        assert "&amp;amp;" not in parts["html"]  # escaped once, not twice
        # Attribute values decode back to the exact URL (handlebars.js also writes = as &#x3D;).
        import html as htmllib

        hrefs = [htmllib.unescape(h) for h in re.findall(r'href="([^"]*)"', parts["html"])]
        # A whole URL is printed as sent; a value inside one is percent-encoded (no injected parameter).
        assert "https://x.example/a?b=1&c=2" in hrefs and "https://x.example/p?u=1%26x%3D%3Cy%3E&s=1" in hrefs
        assert parts["subject"] == f"Hello {hostile}"
        assert f"Dear {hostile}," in parts["text"]


def test_forgetting_prepare_data_fails_loudly_instead_of_an_empty_email(tmp_path: Path) -> None:
    root = make(tmp_path, EVERYWHERE, samples=EVERY_SAMPLE)
    _build(root)
    payload = SesTemplate.load(root / "ses_templates" / "t.json")
    html = sestemplate.parse(payload.html)
    from letterhead.errors import RenderError

    with pytest.raises(RenderError) as err:
        sestemplate.render(html, {"name": "Ada"}, escape=False)
    assert "letterhead_html_data_missing" in str(err.value)


def test_payload_is_exactly_create_template_input(tmp_path: Path) -> None:
    root = make(tmp_path, EVERYWHERE, samples=EVERY_SAMPLE)
    _build(root)
    raw = (root / "ses_templates" / "t.json").read_text()
    data = json.loads(raw)
    assert list(data) == ["Template"]
    assert sorted(data["Template"]) == ["HtmlPart", "SubjectPart", "TemplateName", "TextPart"]
    assert data["Template"]["TemplateName"] == "t"
    assert raw == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    manifest = json.loads((root / "ses_templates" / "manifest.json").read_text())
    entry = manifest["templates"]["t"]
    assert entry["content_hash"] == SesTemplate.from_json(data).content_hash
    assert entry["contract"]["name"]["required"] is True
    assert entry["contract"]["accept_url"]["required"] is True


def test_builds_are_byte_identical_and_check_detects_staleness(tmp_path: Path) -> None:
    from letterhead.errors import StaleOutputError

    from .helpers import snapshot

    root = make(tmp_path, BLOCKS, samples={"full": FULL, "empty": EMPTY})
    _build(root)
    first = {**snapshot(root / "ses_templates"), **snapshot(root / "build")}
    _build(root, force=True)
    assert {**snapshot(root / "ses_templates"), **snapshot(root / "build")} == first
    _build(root, check=True)  # up to date: no exception
    src = root / "templates_src" / "t" / "subject.txt"
    src.write_text("Changed {{name}}")
    with pytest.raises(StaleOutputError) as err:
        _build(root, check=True)
    assert err.value.exit_code == 2 and "ses_templates/t.json" in str(err.value)
    assert {**snapshot(root / "ses_templates"), **snapshot(root / "build")} == first  # check writes nothing


def test_rebuild_recompiles_only_what_changed(tmp_path: Path) -> None:
    from .helpers import make_project

    root = make_project(tmp_path)
    for i in range(4):
        dst = root / "templates_src" / f"copy{i}"
        import shutil

        shutil.copytree(root / "templates_src" / "welcome", dst)
    first = _build(root)
    assert {r.status for r in first.reports} == {"compiled"}
    again = _build(root)
    assert {r.status for r in again.reports} == {"unchanged"} and again.written == ()
    (root / "templates_src" / "copy2" / "subject.txt").write_text("New subject {{name}}")
    third = _build(root)
    assert [r.name for r in third.reports if r.status == "compiled"] == ["copy2"]
    (root / "templates_src" / "_layouts" / "base.mjml").write_text(
        (root / "templates_src" / "_layouts" / "base.mjml").read_text().replace("12px", "13px"))
    fourth = _build(root)
    assert all(r.status == "compiled" for r in fourth.reports)  # a layout is every template's input


def test_removed_template_is_removed_from_outputs(tmp_path: Path) -> None:
    import shutil

    from .helpers import make_project

    root = make_project(tmp_path)
    shutil.copytree(root / "templates_src" / "welcome", root / "templates_src" / "other")
    _build(root)
    assert (root / "ses_templates" / "other.json").exists()
    shutil.rmtree(root / "templates_src" / "other")
    result = _build(root)
    assert "ses_templates/other.json" in result.removed
    assert not (root / "ses_templates" / "other.json").exists()
    assert "other" not in json.loads((root / "ses_templates" / "manifest.json").read_text())["templates"]


def test_no_network_during_a_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*a: Any, **k: Any) -> None:
        raise AssertionError("the build tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    body = EVERYWHERE.replace("<mj-section>", '<mj-section background-url="https://x.example/bg.png">', 1)
    root = make(tmp_path, body, inliner="premailer", samples=EVERY_SAMPLE)
    (root / "templates_src" / "t" / "template.mjml").write_text(
        (root / "templates_src" / "t" / "template.mjml").read_text().replace(
            "<mj-head>", '<mj-head><mj-font name="Inter" href="https://fonts.example/inter.css" /><mj-attributes><mj-all font-family="Inter, Arial" /></mj-attributes>'))
    _build(root)
    assert "fonts.example/inter.css" in (root / "build" / "t" / "template.html").read_text()


def test_a_crash_while_writing_leaves_whole_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import importlib

    build_mod = importlib.import_module("letterhead.authoring.build")

    from .helpers import make_project, snapshot

    root = make_project(tmp_path)
    _build(root)
    before = snapshot(root / "ses_templates")
    (root / "templates_src" / "welcome" / "subject.txt").write_text("Changed {{name}}")
    real_replace = os.replace
    calls = []

    def dying_replace(src, dst):  # type: ignore[no-untyped-def]
        calls.append((src, dst))
        if Path(dst) == root / "ses_templates":  # old folder moved aside, new one not yet in place
            raise KeyboardInterrupt("power cut")
        return real_replace(src, dst)

    monkeypatch.setattr(build_mod.os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt):
        _build(root)
    monkeypatch.setattr(build_mod.os, "replace", real_replace)
    assert not (root / "ses_templates").exists()  # the window the crash hit
    # The crash came after the swap was committed (letterhead.authoring.swap): the next
    # run finishes it, so the folder is whole and new, never missing or half.
    build_mod.recover_interrupted_write(load_config(root))
    after = snapshot(root / "ses_templates")
    assert set(after) == set(before) and after["welcome.json"] != before["welcome.json"]
    _build(root)
    assert json.loads((root / "ses_templates" / "welcome.json").read_text())["Template"]["SubjectPart"] == "Changed {{{name}}}"
    assert not list(root.glob(".ses_templates*"))


@pytest.mark.parametrize("body, message, hint", [
    ('<mj-section><mj-column>\n<mj-social-element name="x" href="https://x.example">x</mj-social-element>'
     '</mj-column></mj-section>', "<mj-social-element> cannot stand inside <mj-column>", "<mj-social>"),
    ("<mj-section>\n<mj-text>loose</mj-text></mj-section>", "<mj-text> cannot stand inside <mj-section>", "<mj-column>"),
    ("<mj-section><mj-column>\n<mj-text>unclosed</mj-column></mj-section>", "<mj-text> is never closed", "</mj-text>"),
])
def test_misplaced_or_unclosed_components_name_the_line(tmp_path: Path, body: str, message: str, hint: str) -> None:
    from letterhead.errors import MjmlError

    with pytest.raises(MjmlError) as err:
        compiled(make(tmp_path, body))
    assert message in str(err.value) and hint in str(err.value)
    assert err.value.location.path == "templates_src/t/template.mjml" and err.value.location.line == 13


def test_a_large_project_builds_in_parallel_with_the_same_bytes_and_errors(tmp_path: Path) -> None:
    import shutil

    from letterhead.authoring.build import PARALLEL_FROM
    from letterhead.errors import JinjaError

    from .helpers import make_project, snapshot

    import subprocess
    import sys

    root = make_project(tmp_path)
    for i in range(PARALLEL_FROM + 1):
        shutil.copytree(root / "templates_src" / "welcome", root / "templates_src" / f"w{i:02d}")
    # In a fresh process (this one may run other tests' server threads, and
    # a build never forks beside threads), counting the forked maps.
    script = (
        "import sys\n"
        "import letterhead.authoring.workers as w\n"
        "from letterhead.authoring.build import build\n"
        "from pathlib import Path\n"
        "from letterhead.config import load_config\n"
        "maps = []\n"
        "real = w.fork_map\n"
        "w.fork_map = lambda *a, **k: (maps.append(a[2]), real(*a, **k))[1]\n"
        "build(load_config(Path(sys.argv[1])))\n"
        "print(len(maps))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1", "the build did not use worker processes"
    parallel = {**snapshot(root / "ses_templates"), **snapshot(root / "build")}
    shutil.rmtree(root / "ses_templates")
    shutil.rmtree(root / "build")
    import letterhead.authoring.build as b

    old = b.PARALLEL_FROM
    b.PARALLEL_FROM = 10**6
    try:
        _build(root, force=True)
    finally:
        b.PARALLEL_FROM = old
    assert {**snapshot(root / "ses_templates"), **snapshot(root / "build")} == parallel
    bad = root / "templates_src" / "w07" / "template.mjml"
    bad.write_text(bad.read_text().replace("[[ brand.color ]]", "[[ brand.colour ]]"))
    with pytest.raises(JinjaError) as err:
        _build(root)
    assert str(err.value.location) == "templates_src/w07/template.mjml:10"
    assert "did you mean 'color'" in (err.value.hint or "")


def test_check_is_not_fooled_by_a_hand_edited_output(tmp_path: Path) -> None:
    from letterhead.errors import StaleOutputError

    from .helpers import make_project

    root = make_project(tmp_path)
    _build(root)
    page = root / "build" / "welcome" / "template.html"
    page.write_text(page.read_text().replace("Hello", "Hullo"))
    with pytest.raises(StaleOutputError) as err:
        _build(root, check=True)
    assert "build/welcome/template.html" in str(err.value)


BRAND = {"name": "Calndr Club", "year": 2026, "flag": True, "colors": {"primary": "#0a7"},
         "items": "not a method", "nested": {"deep": {"er": "x"}}, "list": ["a"]}


@pytest.mark.parametrize("text", [
    "plain subject\n",
    "{{code}} is your [[ brand.name ]] code",
    "[[brand.name]] [[ brand.colors.primary ]]\n\n[[\tbrand.nested.deep.er\t]] © [[ brand.year ]]\n",
    "[[ brand.flag ]]",                       # a boolean: Jinja prints True
    "[[ brand.items ]]",                      # Jinja finds dict.items before the key
    "[[ brand.list ]]", "[[ brand.colors ]]",  # not a string or number
    "[[ brand.name | upper ]]", "[[ brand['name'] ]]", "[[- brand.name -]]",
    "{% if brand.name %}x{% endif %}", "[# a comment #]x", "a\r\nb [[ brand.name ]]",
    "]] stray closers #] %} are text", "[[ [[ brand.name ]]",
])
def test_brand_values_in_text_files_are_filled_exactly_as_jinja_would(tmp_path: Path, text: str) -> None:
    from letterhead.authoring.compile import _fill_brand

    root = make(tmp_path, EVERYWHERE)
    env = Compiler(load_config(root), BRAND).env
    try:
        expected: str | None = env.from_string(text).render(brand=BRAND)
    except Exception:
        expected = None  # Jinja fails: the fast path must hand it to Jinja
    filled = _fill_brand(text, BRAND)
    assert filled is None or filled == expected
    if text in ("plain subject\n", "{{code}} is your [[ brand.name ]] code"):
        assert filled is not None  # the common case takes the fast path


def test_an_unknown_brand_value_in_the_subject_still_names_the_line(tmp_path: Path) -> None:
    root = make(tmp_path, EVERYWHERE)
    (root / "templates_src" / "t" / "subject.txt").write_text("Hi from [[ brand.nmae ]]\n")
    from letterhead.errors import JinjaError

    with pytest.raises(JinjaError) as exc:
        build(load_config(root))
    assert "templates_src/t/subject.txt:1" in str(exc.value) and "did you mean 'name'" in str(exc.value)


@pytest.mark.parametrize("obj", [
    {"Template": {"TemplateName": "t", "HtmlPart": "<p>é “x” \u2028 \x00\x1f\x7f 😀 </script> \\ \"</p>"}},
    {"b": [], "a": {}, "c": [1, -0, None, True, False, {"z": 1, "a": [2]}]},
    {"big": 2**70},             # orjson refuses: the standard library writes it
    {"lone": "\ud800 half"},   # a lone surrogate: likewise
])
def test_generated_json_is_byte_for_byte_the_standard_formatting(obj: Any) -> None:
    from letterhead.authoring.payload import dumps

    assert dumps(obj) == json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_paths_are_shown_relative_to_the_project(tmp_path: Path) -> None:
    root = make(tmp_path, EVERYWHERE)
    config = load_config(root)
    assert config.rel(config.root / "templates_src" / "t" / "subject.txt") == "templates_src/t/subject.txt"
    assert config.rel(str(config.root / "build")) == "build"
    assert config.rel(config.root / "templates_src" / ".." / "build") == "build"
    assert config.rel(Path("/elsewhere/x.txt")) == "/elsewhere/x.txt"
    assert config.rel(Path(str(config.root) + "-sibling") / "x") == str(config.root) + "-sibling/x"


def test_token_spans_match_the_plain_regex_on_random_text() -> None:
    import random

    from letterhead.authoring.protect import _token_spans

    reference = re.compile(r"<!--\s*xlh(\d{6,})x\s*-->|xlh(\d{6,})x")
    pieces = ["<!--", "-->", " ", "\n", "xlh", "000001", "0000012", "x", "a", "<", "!", "-", "\u00a0",
              "xlh000003x", "<!--xlh000004x-->", "<!-- xlh000005x -->"]
    rng = random.Random(7)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        expected = [(m.start(), m.end(), int(m.group(1) or m.group(2))) for m in reference.finditer(text)]
        assert list(_token_spans(text)) == expected, text


def test_default_font_detection_matches_the_plain_regex_on_random_text() -> None:
    import random

    from letterhead.authoring.mjml_fixes import _in_font_family

    pieces = ['"', "font-family:", "Roboto", "roboto", " ", "x", ";", "=", "FONT-FAMILY:", "style", "Robot", "o"]
    rng = random.Random(3)
    for _ in range(20_000):
        html = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        expected = bool(re.search(r'"[^"]*font-family:[^"]*Roboto[^"]*"', html, re.IGNORECASE))
        assert _in_font_family(html.lower(), "roboto") == expected, html


def test_line_marks_and_placeholder_lines_match_their_definitions_on_random_text() -> None:
    """The one-pass mark/strip/protect agree with the plain per-line definitions."""
    import random

    from letterhead.authoring.linemarks import JINJA_DELIM_RE, JINJA_OPEN, LineMarks
    from letterhead.authoring.protect import MUSTACHE_RE, PlaceholderTable

    def reference_marked_lines(text: str) -> list[int]:
        marked, inside = [], None
        for lineno, line in enumerate(text.split("\n"), start=1):
            if inside is None:
                marked.append(lineno)
            for m in JINJA_DELIM_RE.finditer(line):
                tok = m.group(0)
                if inside is None and tok in JINJA_OPEN:
                    inside = JINJA_OPEN[tok]
                elif inside is not None and tok == inside:
                    inside = None
        return marked

    pieces = ["{%", "%}", "[[", "]]", "[#", "#]", "\n", "a", " ", "{", "}", "[", "]", "#", "%", "{{x}}",
              "{{#if a}}", "{{\n/if}}"]
    rng = random.Random(5)
    for _ in range(5_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        marks = LineMarks()
        marked = marks.mark(text, "p.mjml")
        assert [int(m.group(2)) for m in LineMarks.MARK_RE.finditer(marked)] == reference_marked_lines(text)
        clean, locate = marks.strip(marked, "fallback")
        assert clean == text
        for offset in range(len(clean) + 1):
            line_start = clean.rfind("\n", 0, offset) + 1
            lineno = clean.count("\n", 0, offset) + 1
            expected = lineno if lineno in reference_marked_lines(text) or line_start == 0 else None
            if expected is not None:
                assert locate(offset).line == expected
        table = PlaceholderTable()
        table.protect(text, "p")
        assert [ph.location.line for ph in table.items.values()] == [
            text.count("\n", 0, m.start()) + 1 for m in MUSTACHE_RE.finditer(text)]


def test_paths_with_dot_folders_and_dot_segments(tmp_path: Path) -> None:
    root = make(tmp_path, EVERYWHERE)
    config = load_config(root)
    assert config.rel(config.root / ".letterhead-cache" / "build.json") == ".letterhead-cache/build.json"
    assert config.rel(str(config.root) + "/templates_src/./t/../t/subject.txt") == "templates_src/t/subject.txt"


def test_build_bench_pieces_run_small(tmp_path: Path) -> None:
    """bench/build.py's project generator, in-process measure and incremental
    check, tiny, so they cannot rot (the whole-process ratio needs npm's mjml)."""
    import importlib.util
    import json as _json
    import subprocess
    import sys

    from .helpers import REPO

    spec = importlib.util.spec_from_file_location("bench_build", REPO / "bench" / "build.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    saved_path = list(sys.path)
    sys.modules["bench_build"] = bench
    try:
        spec.loader.exec_module(bench)  # it puts bench/ and src/ on sys.path
    finally:
        sys.path[:] = saved_path
    names = bench.make_project(tmp_path / "p", n=4)
    assert len(names) == 4 and len(set(names)) == 4
    (tmp_path / "p" / "pyproject.toml").write_text("")
    timings = bench.in_process_compile(2, root=tmp_path / "p")
    assert [n for n, _ in timings] == sorted(names) and all(t > 0 for _, t in timings)
    exe = Path(sys.executable).parent / "letterhead"
    assert subprocess.run([str(exe), "--root", str(tmp_path / "p"), "build"], capture_output=True).returncode == 0
    bench.change_one(tmp_path / "p", names[1])
    proc = subprocess.run([str(exe), "--root", str(tmp_path / "p"), "build", "--json"], capture_output=True, text=True)
    statuses = {t["name"]: t["status"] for t in _json.loads(proc.stdout)["templates"]}
    assert [n for n, s in statuses.items() if s == "compiled"] == [names[1]]
    del sys.modules["bench_build"]
