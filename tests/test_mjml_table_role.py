"""mj-table's role reaches the rendered <table>, as the official compiler writes it.

MJML 5 (mjml-table: ``role: 'enum(none,presentation)'``) copies role onto the
table it renders; MRML (mjml-python) drops the attribute, so a designer could
not mark an mj-table used for layout and ``letterhead check`` reported a
``layout-table`` warning the template could not fix.  ``mjml_fixes`` carries
it through MRML in a css-class marker, like mj-button's title.

OFFICIAL holds what ``mjml`` 5.4.1 (bench/node_modules) writes for each input:
the mj-table's cell and table, recorded with
``require('mjml')(src).html`` so that no node is needed here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from letterhead.authoring import mjml_fixes
from letterhead.authoring.mjml import compile_mjml
from letterhead.cli.main import cli
from letterhead.errors import PlaceholderLostError

from .docs_harness import copy_project
from .test_compile import compiled, make
from .test_lint import findings_for, section
from .test_mjml_fidelity import body, parsed, tags

_STYLE = (
    "color:#000000;font-family:Ubuntu, Helvetica, Arial, sans-serif;font-size:13px;line-height:22px;"
    "table-layout:auto;width:{w};border:none;{extra}"
)
_CELL = "font-size:0px;padding:10px 25px;word-break:break-word;"


def _official(role: str, css: str | None, cellspacing: str = "0", width: str = "100%",
              style: str = _STYLE.format(w="100%", extra="")) -> tuple[dict[str, str], dict[str, str]]:
    cell = {"align": "left", "style": _CELL} | ({"class": css} if css is not None else {})
    table = {"cellpadding": "0", "cellspacing": cellspacing, "role": role, "width": width, "border": "0",
             "style": style}
    return cell, table


# (mj-attributes, the mj-table's attributes) -> the official compiler's cell and table attributes
OFFICIAL = {
    ("", 'role="presentation"'): _official("presentation", None),
    ("", 'role="none"'): _official("none", None),
    ("", 'role="presentation" css-class="schedule wide"'): _official("presentation", "schedule wide"),
    ("", 'css-class="x" role="none" cellspacing="4" width="300px"'): _official(
        "none", "x", "4", "300", _STYLE.format(w="300px", extra="border-collapse:separate;")),
    ('<mj-table role="presentation" css-class="t" />', ""): _official("presentation", "t"),
    ('<mj-all role="none" /><mj-class name="k" role="presentation" css-class="kc" />', 'mj-class="k"'):
        _official("presentation", "kc"),
    ('<mj-table role="presentation" />', 'role="none" css-class="own"'): _official("none", "own"),
}


def _mj_table(html: str) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """The cell and the <table> MRML wrote for the (only) mj-table."""
    seen = parsed(html).tags
    for i, (tag, attrs) in enumerate(seen):
        if tag == "table" and "table-layout:" in (attrs.get("style") or ""):
            assert seen[i - 1][0] == "td"
            return seen[i - 1][1], attrs
    raise AssertionError("no mj-table in the HTML")


@pytest.mark.parametrize(("head", "attrs"), list(OFFICIAL))
def test_role_lands_on_the_table_as_the_official_compiler_writes_it(head: str, attrs: str) -> None:
    html = compile_mjml(body(f"<mj-table {attrs}><tr><td>a</td></tr></mj-table>",
                             head=f"<mj-attributes>{head}</mj-attributes>" if head else ""))
    cell, table = _mj_table(html)
    want_cell, want_table = OFFICIAL[(head, attrs)]
    assert (cell, table) == (want_cell, want_table)
    # MJML's placement: right after cellspacing, before width
    assert f'cellspacing="{want_table["cellspacing"]}" role="{want_table["role"]}" width=' in html
    assert mjml_fixes.TABLE_ROLE_MARK not in html
    assert 'class=""' not in html


def test_each_table_gets_its_own_role_and_the_marker_never_leaks() -> None:
    html = compile_mjml(
        "<mjml><mj-body>"
        '<mj-section><mj-column><mj-table role="none" css-class="a"><tr><td>1'
        '<table><tr><td>nested</td></tr></table></td></tr></mj-table>'
        "<mj-table><tr><td>2</td></tr></mj-table>"
        '<mj-table role="presentation"><tr><td>3</td></tr></mj-table></mj-column></mj-section>'
        '<mj-hero background-color="#fff"><mj-table role="presentation" css-class="h"><tr><td>4</td></tr>'
        "</mj-table></mj-hero>"
        '<mj-wrapper><mj-section><mj-group><mj-column><mj-table role="none" cellspacing="2"><tr><td>5</td></tr>'
        "</mj-table></mj-column></mj-group></mj-section></mj-wrapper>"
        "</mj-body></mjml>"
    )
    tables = [a for t, a in parsed(html).tags if t == "table" and "table-layout:" in (a.get("style") or "")]
    assert [t.get("role") for t in tables] == ["none", None, "presentation", "presentation", "none"]
    assert {} in tags(html, "table")  # the nested, hand-written table is left as written
    assert [a.get("class") for a in tags(html, "td") if a.get("class") in ("a", "h")] == ["a", "h"]
    assert mjml_fixes.TABLE_ROLE_MARK not in html and 'class=""' not in html


@pytest.mark.parametrize("role", ["foo", "Presentation", " none ", "", "grid"])
def test_a_role_mjml_does_not_accept_is_not_written_and_is_reported(role: str, tmp_path: Path) -> None:
    # MJML's validator flags these ("only accepts none, presentation"); letterhead
    # leaves them off the table (no invalid ARIA role) and its lint reports them.
    html = compile_mjml(body(f'<mj-table role="{role}" css-class="c"><tr><td>a</td></tr></mj-table>'))
    cell, table = _mj_table(html)
    assert "role" not in table and cell.get("class") == "c"
    assert mjml_fixes.TABLE_ROLE_MARK not in html
    src = body(f'<mj-table role="{role}"><tr><td>a</td></tr></mj-table>')
    assert [(tag, attr) for _, tag, attr in mjml_fixes.unsupported_attributes(src)] == [("mj-table", "role")]


def test_lint_no_longer_says_role_is_ignored(tmp_path: Path) -> None:
    table = '<mj-table role="{}"><tr><td>Hi {{{{name}}}}</td></tr></mj-table>'
    for role in ("presentation", "none"):
        fs = findings_for(tmp_path / role, section(table.format(role)))
        assert not [f for f in fs if f.code == "mjml-attribute"], role
    fs = findings_for(tmp_path / "bad", section(table.format("layout")))
    assert [f.message for f in fs if f.code == "mjml-attribute"] == [
        "<mj-table role=…> has no effect: MRML ignores this attribute"]


def test_a_placeholder_as_role_is_an_error(tmp_path: Path) -> None:
    root = make(tmp_path, section('<mj-table role="{{r}}"><tr><td>{{name}}</td></tr></mj-table>'),
                samples={"default": {"name": "Ada", "r": "none"}})
    with pytest.raises(PlaceholderLostError, match=r"\{\{r\}\}"):
        compiled(root)


def test_build_writes_the_role_into_the_stored_template(tmp_path: Path) -> None:
    root = make(tmp_path, section('<mj-table role="presentation" css-class="sched"><tr><td>Hi {{name}}</td></tr>'
                                  "</mj-table>"))
    result = CliRunner().invoke(cli, ["--root", str(root), "build"])
    assert result.exit_code == 0, result.output
    stored = json.loads((root / "ses_templates" / "t.json").read_text())
    html = stored["Template"]["HtmlPart"]
    cell, table = _mj_table(html)
    assert table.get("role") == "presentation" and cell.get("class") == "sched"
    assert mjml_fixes.TABLE_ROLE_MARK not in html


def test_calndr_schedule_has_no_layout_table_finding(tmp_path: Path) -> None:
    # Its schedule is an mj-table laying out a week's days and events (no
    # header cells): role="presentation" in the template now reaches the HTML.
    root = copy_project(tmp_path / "calndr")
    r = CliRunner().invoke(cli, ["--root", str(root), "check", "schedule_digest", "--skip", "axe,dark,spam,clients",
                                 "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert {t["name"] for t in data["templates"]} >= {"schedule_digest", "schedule_digest__ar"}
    assert not [f for f in data["findings"] if f["code"] == "layout-table"]


# mj-button's title travels the same way; its marker must not cost the button
# the css-class that mj-attributes give it, and MJML applies a title given by
# mj-attributes or an mj-class too.
def test_button_title_marker_keeps_the_css_class_from_mj_attributes() -> None:
    head = '<mj-attributes><mj-button css-class="btn" /><mj-class name="k" title="From class" /></mj-attributes>'
    html = compile_mjml(body('<mj-button href="https://x" title="Go">Go</mj-button>',
                             '<mj-button href="https://x" mj-class="k">K</mj-button>',
                             '<mj-button href="https://x" title="">E</mj-button>', head=head))
    assert [a.get("title") for a in tags(html, "a")] == ["Go", "From class", ""]  # as MJML writes them
    assert len(tags(html, "td", **{"class": "btn"})) == 3
    assert mjml_fixes.BUTTON_TITLE_MARK not in html
