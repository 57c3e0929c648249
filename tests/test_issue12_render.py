"""Issue 12: data that does not render is reported one way on every path.

1. the user's variable names (`url`, never `_html.url` or `a._url.b`), one
   wording for ``letterhead render``, ``build`` samples, the preview,
   ``Mailer`` and ``letterhead send``, and source lines cut to the place;
2. every missing variable at once, not the first only;
3. fix hints whose template snippets parse (and work) where they are proposed;
4. readable types and articles ("should be an email address, got a number");
5. ``../`` levels open exactly when handlebars.js opens them (its loose ``!=``).

Expected renders in section 5 were produced by handlebars.js 4.7 (node) and
pasted here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from letterhead import sestemplate
from letterhead.authoring import validate
from letterhead.authoring.safety import prepare_data, serialise_prepared
from letterhead.authoring.validate import check_address, check_value, url_problem
from letterhead.cli.main import cli
from letterhead.errors import DataError, Location, RenderError, TemplateSyntaxError
from letterhead.sending.mailer import Mailer, Recipient
from letterhead.sending.transports import OutboxTransport

from .helpers import make_project

SUBJECT = "News for {{name}}\n"
MJML = """{% extends "_layouts/base.mjml" %}
{% block preview %}For {{name}}{% endblock %}
{% block content %}
    <mj-section>
      <mj-column>
        <mj-text>Hello {{name}}, your code is {{code}}.</mj-text>
        <mj-text>{{team}} meets at {{place}}.</mj-text>
        {{#each events}}
        <mj-text>{{title}} moved from {{old_time}}</mj-text>
        {{/each}}
        <mj-button href="{{url}}">Open</mj-button>
      </mj-column>
    </mj-section>
{% endblock %}
"""
FULL = {"name": "Ada", "code": "123", "team": "Blue", "place": "Hall",
        "events": [{"title": "A", "old_time": "9:00"}], "url": "https://example.com/x"}
# six variables missing (one of them in two of the three events)
SIX_MISSING = {"events": [{"title": "A", "old_time": "9"}, {"title": "B"}, {"title": "C"}]}
SIX = ["name", "code", "team", "place", "events[1].old_time", "url"]
NO_URL = {k: v for k, v in FULL.items() if k != "url"}


def _project(tmp_path: Path, sample: dict[str, Any] | None = None) -> Path:
    root = make_project(tmp_path)
    folder = root / "templates_src" / "multi"
    (folder / "samples").mkdir(parents=True)
    (folder / "subject.txt").write_text(SUBJECT)
    (folder / "template.mjml").write_text(MJML)
    (folder / "samples" / "default.json").write_text(json.dumps(FULL if sample is None else sample))
    return root


@pytest.fixture
def built(tmp_path: Path) -> Path:
    root = _project(tmp_path)
    result = CliRunner().invoke(cli, ["--root", str(root), "build"])
    assert result.exit_code == 0, result.output
    return root


def _cli(root: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, ["--root", str(root), *args], env=env)


def _mailer(root: Path, tmp_path: Path) -> Mailer:
    return Mailer(sender_email="hello@example.com", ses_dir=root / "ses_templates",
                  transport=OutboxTransport(tmp_path / "outbox"))


def _data_file(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data))
    return path


def _longest_source_line(output: str) -> int:
    """The longest source line printed (indented by four spaces or more)."""
    return max(len(line) for line in output.splitlines() if line.startswith("    "))


def _fix_line(output: str) -> str:
    [line] = [line for line in output.splitlines() if line.strip().startswith("fix: ")]
    return line.strip()[len("fix: "):]


def _render_error(source: str, data: dict[str, Any]) -> RenderError:
    with pytest.raises(RenderError) as info:
        sestemplate.render(sestemplate.parse(source, origin="t.txt"), data)
    return info.value


# --- 1. the user's names, one wording, excerpts ------------------------------------------------------


def test_render_cli_names_the_variable_the_application_sends_and_cuts_the_line(built: Path, tmp_path: Path) -> None:
    result = _cli(built, "render", "multi", "--data", str(_data_file(tmp_path, NO_URL)))
    assert result.exit_code == 1
    assert "missing variable `url`" in result.output
    assert "_html" not in result.output and "_url" not in result.output
    assert _fix_line(result.output).startswith("send `url` in ")
    assert "{{{url}}}" in result.output  # the excerpt shows the placeholder...
    assert _longest_source_line(result.output) <= 130  # ...not the 10 KB minified line


def _hint_shape(hint: str) -> str:
    """The hint without the name of what holds the data."""
    return re.sub(r"^send `url` in .+? \(", "send `url` in DATA (", hint)


def test_one_wording_on_every_path(built: Path, tmp_path: Path) -> None:
    from letterhead.authoring.compile import Compiler
    from letterhead.authoring.sources import load_brand
    from letterhead.config import load_config
    from letterhead.dev.preview import compile_state, render_data

    hints: dict[str, str] = {}
    messages: dict[str, str] = {}
    data_file = _data_file(tmp_path, NO_URL)

    render = _cli(built, "render", "multi", "--data", str(data_file))
    hints["render"] = _fix_line(render.output)
    messages["render"] = render.output

    with pytest.raises(RenderError) as info:
        _mailer(built, tmp_path).render("multi", NO_URL)
    hints["mailer"], messages["mailer"] = info.value.hint or "", info.value.message

    env = {"SES_SENDER_EMAIL": "hello@example.com", "SMTP_HOST": ""}
    send = _cli(built, "send", "multi", "--to", "a@example.org", "--data", str(data_file),
                "--transport", "outbox", env=env)
    assert send.exit_code == 1, send.output
    hints["send"], messages["send"] = _fix_line(send.output), send.output

    config = load_config(built)
    state = compile_state(config, Compiler(config, load_brand(config)), "multi")
    preview = render_data(config, state, NO_URL)
    assert isinstance(preview.error, RenderError)
    hints["preview"], messages["preview"] = preview.error.hint or "", preview.error.message

    (built / "templates_src/multi/samples/default.json").write_text(json.dumps(NO_URL))
    build = _cli(built, "build")
    assert build.exit_code == 1
    hints["build"], messages["build"] = _fix_line(build.output), build.output

    for path, message in messages.items():
        assert "missing variable `url` (SES would silently drop this message)" in message, path
    shapes = {path: _hint_shape(hint) for path, hint in hints.items()}
    assert len(set(shapes.values())) == 1, shapes
    assert shapes["render"] == ("send `url` in DATA (not null; an empty string prints nothing), "
                                "or print it only inside `{{#if url}}…{{/if}}`")


def test_a_long_source_line_is_cut_around_the_placeholder() -> None:
    line = "<td>" + "x" * 5000 + " {{{token}}} " + "y" * 5000 + "</td>"
    error = _render_error(line, {})
    printed = str(error).splitlines()[1].strip()
    assert "{{{token}}}" in printed and printed.startswith("…") and printed.endswith("…")
    assert len(printed) <= 120
    # a line set later (the build shows the designer's own line) is cut the same way
    error.source_line = "a" * 300 + "{{{token}}}"
    printed = str(error).splitlines()[1].strip()
    assert printed.startswith("…") and printed.endswith("{{{token}}}") and len(printed) <= 120


def test_a_scope_error_on_a_long_line_shows_the_place() -> None:
    with pytest.raises(TemplateSyntaxError) as info:
        sestemplate.parse("<p>" + "z" * 4000 + "{{@index}}" + "z" * 4000 + "</p>")
    shown = str(info.value).splitlines()[1].strip()
    assert "{{@index}}" in shown and len(shown) <= 120


def test_explain_render_error_speaks_of_the_applications_variables() -> None:
    """The function dev/localses.render_sent calls: a payload's raw error
    (`_html.x`, `a._url.b`, `@root._html.x`) in the user's words."""
    html = ('{{#with _html}}<a href="https://x.example/?t={{{user._url.token}}}">{{{note}}} {{{@root._html.who}}}'
            "</a>{{else}}{{letterhead_html_data_missing}}{{/with}}")  # as safety.payload_for writes it
    payload = sestemplate.parse(html, origin="ses_templates/t.json (HtmlPart)")
    data = prepare_data({"user": {"name": "u"}}, url_paths=("user.token",))
    with pytest.raises(RenderError) as info:
        sestemplate.render(payload, data, escape=False)
    error = validate.explain_render_error(info.value, data_name="TemplateData")
    assert [m.variable for m in error.missing] == ["user.token", "note", "who"]
    assert error.variable == "user.token"
    text = str(error)
    assert "_html" not in text and "_url" not in text
    assert "send `user.token`, `note` and `who` in TemplateData" in (error.hint or "")


def test_a_missing_url_copy_object_names_the_field(tmp_path: Path) -> None:
    """No field of `_url` present at all: the copy object itself is missing."""
    payload = sestemplate.parse('{{#with _html}}<a href="https://x.example/?t={{{_url.token}}}">x</a>{{/with}}')
    with pytest.raises(RenderError) as info:
        sestemplate.render(payload, prepare_data({}, url_paths=("token",)), escape=False)
    assert validate.explain_render_error(info.value).variable == "token"


# --- 2. every missing variable at once ---------------------------------------------------------------


def test_the_renderer_reports_every_missing_variable() -> None:
    source = "{{a}}\n{{b}} {{c}}\n{{#each xs}}{{x}}{{/each}}\n{{d}}{{e}}"
    error = _render_error(source, {"b": None, "xs": [{"x": 1}, {}, {}]})
    assert error.variable == "a"
    assert [m.variable for m in error.missing] == ["a", "b", "c", "xs[1].x", "d", "e"]
    assert [m.location for m in error.missing] == [Location("t.txt", n) for n in (1, 2, 2, 3, 4, 4)]
    assert [m.null for m in error.missing] == [False, True, False, False, False, False]
    for name in ("`a`", "`b`", "`c`", "`xs[1].x`", "`d`", "`e`"):
        assert name in error.message and name in (error.hint or "")
    text = str(error)
    assert "t.txt:3: missing variable `xs[1].x` for `{{x}}`" in text
    assert "t.txt:2: variable `b` is null" in text


def test_an_each_repeating_a_missing_field_reports_it_once() -> None:
    error = _render_error("{{#each xs}}{{x}}{{/each}}", {"xs": [{}, {"x": 1}, {}, {}]})
    assert [m.variable for m in error.missing] == ["xs[0].x"]
    assert "2 more" in error.message


def _six(names: list[str]) -> None:
    assert names == SIX


def test_build_samples_report_every_missing_variable(tmp_path: Path) -> None:
    root = _project(tmp_path, SIX_MISSING)
    result = _cli(root, "build", "--json")
    assert result.exit_code == 1
    error = json.loads(result.output)
    _six([m["variable"] for m in error["missing"]])
    assert error["missing"][1]["file"] == "templates_src/multi/template.mjml"
    plain = _cli(root, "build")
    for name in SIX:
        assert f"`{name}`" in plain.output


def test_render_cli_reports_every_missing_variable(built: Path, tmp_path: Path) -> None:
    result = _cli(built, "render", "multi", "--data", str(_data_file(tmp_path, SIX_MISSING)))
    assert result.exit_code == 1
    for name in SIX:
        assert f"missing variable `{name}`" in result.output
    assert _longest_source_line(result.output) <= 130


def test_the_preview_reports_every_missing_variable(built: Path) -> None:
    from letterhead.authoring.compile import Compiler
    from letterhead.authoring.sources import load_brand
    from letterhead.config import load_config
    from letterhead.dev.preview import compile_state, error_view, render_data

    config = load_config(built)
    state = compile_state(config, Compiler(config, load_brand(config)), "multi")
    result = render_data(config, state, SIX_MISSING)
    assert isinstance(result.error, RenderError)
    _six([m.variable for m in result.error.missing])
    view = error_view(result.error, part=result.part)
    assert view is not None
    for name in SIX:
        assert f"`{name}`" in view["summary"]


def test_mailer_send_and_bulk_report_every_missing_variable(built: Path, tmp_path: Path) -> None:
    mailer = _mailer(built, tmp_path)
    with pytest.raises(RenderError) as info:
        mailer.send("multi", "a@example.org", SIX_MISSING)
    _six([m.variable for m in info.value.missing])
    result = mailer.send_bulk("multi", [Recipient("a@example.org", SIX_MISSING, key="k"),
                                        Recipient("b@example.org", FULL, key="ok")])
    bad, good = result.statuses
    assert good.ok and bad.status == "invalid" and isinstance(bad.error, RenderError)
    _six([m.variable for m in bad.error.missing])
    assert [m["variable"] for m in bad.to_dict()["error"]["missing"]] == SIX


def test_letterhead_send_reports_every_missing_variable(built: Path, tmp_path: Path) -> None:
    env = {"SES_SENDER_EMAIL": "hello@example.com", "SMTP_HOST": ""}
    result = _cli(built, "send", "multi", "--to", "a@example.org", "--data",
                  str(_data_file(tmp_path, SIX_MISSING)), "--transport", "outbox", env=env)
    assert result.exit_code == 1
    for name in SIX:
        assert f"missing variable `{name}`" in result.output


# --- 3. hints propose templates that parse, where they are proposed ------------------------------------

_GUARD = re.compile(r"`(\{\{#if [^`]*?\}\})…(\{\{/if\}\})`")


def _check_guards(source: str, placeholder: str, data: dict[str, Any], error: RenderError) -> None:
    """Every `{{#if …}}…{{/if}}` of the hint parses standing where the
    placeholder stands, and with it the variable no longer breaks the render."""
    guards = _GUARD.findall(error.hint or "")
    assert guards, error.hint
    for opening, closing in guards:
        guarded = source.replace(placeholder, opening + placeholder + closing)
        template = sestemplate.parse(guarded, origin="t.txt")
        try:
            sestemplate.render(template, data)
        except RenderError as again:
            assert error.variable not in [m.variable for m in again.missing]


_NAME = st.from_regex(r"v[a-z0-9_-]{0,6}", fullmatch=True)  # never `keep`, `l0` or a keyword
_ODD = st.sampled_from(["a b", "1", "x.y", "end]", "@at"])


def _segment(name: str) -> str:
    return name if sestemplate.ID_CHAR.match(name) and not name.isdigit() else "[" + name.replace("]", "\\]") + "]"


@st.composite
def _cases(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    """(template, placeholder, data): one placeholder whose variable is missing,
    written as a plain name, a dotted path with odd segments, `this`,
    `../`, `@root`, inside `#each` / `#with` levels."""
    leaf = draw(st.one_of(_NAME, _ODD))
    middle = draw(st.lists(st.one_of(_NAME, _ODD), max_size=2))
    levels = draw(st.lists(st.sampled_from(["each", "with"]), max_size=3))
    form = draw(st.sampled_from(["plain", "this", "parent", "root"]))
    data: dict[str, Any] = {}
    context: dict[str, Any] = data
    opening = closing = ""
    for i, helper in enumerate(levels):
        key = f"l{i}"
        inner: dict[str, Any] = {"keep": 1}
        context[key] = [{"keep": 1}, inner] if helper == "each" else inner
        opening += "{{#" + helper + " " + key + "}}"
        closing = "{{/" + helper + "}}" + closing
        context = inner
    segments = ".".join(_segment(s) for s in [*middle, leaf])
    if form == "this" and not middle and not levels:
        path = "this"
        data.clear()
        source = "{{#each xs}}{{" + path + "}}{{/each}}"
        return source, "{{this}}", {"xs": [None]}
    if form == "parent" and levels:
        path = "../" * draw(st.integers(1, len(levels))) + segments
    elif form == "root":
        path = "@root." + segments
    else:
        path = ("this." if form == "this" else "") + segments
    placeholder = "{{" + path + "}}"
    return opening + "x " + placeholder + " y" + closing, placeholder, data


@settings(max_examples=300, deadline=None)
@given(_cases())
def test_every_proposed_guard_parses_where_it_stands(case: tuple[str, str, dict[str, Any]]) -> None:
    source, placeholder, data = case
    error = _render_error(source, data)
    _check_guards(source, placeholder, data, error)
    # the same hint in the user's words (every path words it through this function)
    _check_guards(source, placeholder, data, validate.explain_render_error(error, data_name="the data"))


def test_the_issues_guard_example_is_valid_ses(tmp_path: Path) -> None:
    """`{{#each events}}{{old_time}}`: the hint proposed `{{#if events[1].old_time}}`."""
    sample = {**FULL, "events": [{"title": "a", "old_time": "9"}, {"title": "b"}]}
    root = _project(tmp_path, sample)
    result = _cli(root, "build", "--json")
    assert result.exit_code == 1
    hint = json.loads(result.output)["hint"]
    assert "events[1]" not in "".join(_GUARD.findall(hint)[0]) and "{{#if old_time}}…{{/if}}" in hint
    for opening, closing in _GUARD.findall(hint):
        sestemplate.parse("{{#each events}}" + opening + "{{old_time}}" + closing + "{{/each}}")


# --- 4. readable types and articles ------------------------------------------------------------------


@pytest.mark.parametrize(("vtype", "value", "message", "hint"), [
    ("email", 5, "should be an email address, got a number", "send an email address"),
    ("integer", "5", "should be an integer, got a string", "send an integer"),
    ("integer", 1.5, "should be an integer, got a decimal number", "send an integer"),
    ("string", True, "should be a string, got true or false", "send a string"),
    ("url", ["x"], "should be a URL, got a list", "send a URL"),
    ("object", "x", "should be an object, got a string", "send an object"),
    ("list", {"a": 1}, "should be a list, got an object", "send a list"),
    ("boolean", "yes", "should be true or false, got a string", "send true or false"),
])
def test_type_errors_read_as_english(vtype: str, value: Any, message: str, hint: str) -> None:
    with pytest.raises(DataError) as info:
        check_value("v", vtype, None, value, where="data")
    assert info.value.message == f"variable `v` {message}"
    assert info.value.hint == f"{hint} (declared in template.toml)"


def test_strict_type_hints_name_the_kind_of_value() -> None:
    with pytest.raises(DataError) as info:
        check_value("v", "email", None, "not-an-address", where="data")
    assert info.value.hint == "send a valid email address (declared in template.toml)"


def test_other_type_wordings_read_as_english(built: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        check_address(5, "recipient")
    assert info.value.message == "recipient must be a string, got a number"
    assert url_problem(7) == "should be a URL (a string), got a number"
    with pytest.raises(DataError) as info:
        serialise_prepared({"a": object()})
    assert info.value.message == "the data is not JSON (a value of type object)"
    statuses = _mailer(built, tmp_path).send_bulk("multi", [5]).statuses  # type: ignore[list-item]
    assert statuses[0].error is not None
    assert statuses[0].error.message.startswith("recipient #1 is a number,")


# --- 5. `../` levels as handlebars.js opens them --------------------------------------------------------

LOOSE = [
    ("{{#each a}}{{#if ../y}}Y{{else}}-{{/if}}{{/each}}", {"a": ["[object Object]", "x"], "y": "Bob"}, "-Y"),
    ("{{#each a}}{{#each this}}{{..}}{{/each}}{{/each}}", {"a": [["x"]]}, "[object Object]"),
    ("{{#each a}}{{#each this}}{{..}}|{{/each}}{{/each}}", {"a": [["x", "y"]]}, "x,y|x,y|"),
    ("{{#with n}}{{#with ../s}}{{#if ../t}}T{{else}}-{{/if}}{{/with}}{{/with}}", {"n": 1, "s": "1", "t": "T"}, "T"),
    ("{{#with b}}{{#with ../s}}{{#if ../t}}T{{else}}-{{/if}}{{/with}}{{/with}}", {"b": True, "s": "1", "t": "T"}, "T"),
    ("{{#with z}}{{#each ../l}}{{#if ../t}}T{{else}}-{{/if}}{{/each}}{{/with}}",
     {"z": 0, "l": ["", " ", "0x0", "x", "\u00a00\n", "0b0", "-0", "+0.0e5", "1_0"], "t": "T"}, "TTT-TTTT-"),
    ("{{#with one}}{{#each ../arrs}}{{#if ../t}}T{{else}}-{{/if}}{{/each}}{{/with}}",
     {"one": 1, "arrs": [["1"], [1], [[1]], ["1", "2"], {}, [" 1 "], [True]], "t": "T"}, "TTT--T-"),
    ("{{#with one}}{{#each ../arrs}}{{#if ../t}}T{{else}}-{{/if}}{{/each}}{{/with}}",
     {"one": "1", "arrs": [["1"], [1], [[1]], [None, 1], [[None]], []], "t": "T"}, "TTT---"),
    ("{{#with e}}{{#each ../arrs}}{{#if ../t}}T{{else}}-{{/if}}{{/each}}{{/with}}",
     {"e": "a,,b", "arrs": [["a", None, "b"], ["a", [], "b"], ["a", "", "b"]], "t": "T"}, "TTT"),
    ("{{#each a}}{{#if this}}y{{else}}{{this}}{{/if}}{{/each}}", {"a": [None]}, "[object Object]"),
    ("{{#each a}}{{#if @first}}{{#if this}}Y{{/if}}{{/if}}{{/each}}", {"a": [None]}, "Y"),
    ("{{#each a}}{{#with this}}W{{else}}E{{/with}}{{/each}}", {"a": [None]}, "E"),
    ("{{#each a}}{{#each ../a}}{{#if ../n}}{{../n}}{{else}}-{{/if}}{{/each}}|{{/each}}",
     {"a": [{"n": 1}, {"n": 2}], "n": "R"}, "R1|2R|"),
    ("{{#with t}}{{#each ../l}}{{#if ../x}}T{{else}}-{{/if}}{{/each}}{{/with}}",
     {"t": True, "l": [1, "1", True, "true", [1], ["true"]], "x": "X"}, "TTT-T-"),
    ("{{#with big}}{{#each ../l}}{{#if ../x}}T{{else}}-{{/if}}{{/each}}{{/with}}",
     {"big": 9007199254740992, "l": [9007199254740993, "9007199254740993", "9.007199254740993e15", "Infinity"],
      "x": "X"}, "TTT-"),
    ("{{#with inf}}{{#each ../l}}{{#if ../x}}T{{else}}-{{/if}}{{/each}}{{/with}}",
     {"inf": float("inf"), "l": ["Infinity", "+Infinity", "infinity", "1e400", float("inf")], "x": "X"}, "TT-TT"),
]


@pytest.mark.parametrize(("source", "data", "expected"), LOOSE)
def test_levels_open_on_javascripts_loose_inequality(source: str, data: dict[str, Any], expected: str) -> None:
    assert sestemplate.render(sestemplate.parse(source), data) == expected  # handlebars.js


def test_a_parent_path_above_the_levels_that_opened_reaches_nothing() -> None:
    # handlebars.js prints nothing: no level opened for the item, so `../` is above the data
    error = _render_error("{{#each a}}{{../y}}{{/each}}", {"a": ["[object Object]"], "y": "Bob"})
    assert error.variable == "../y"


def test_the_designers_own_lines_can_replace_the_compiled_ones(tmp_path: Path) -> None:
    """What the build and the preview may call with the project's root: every
    entry shows its line of the designer's file, not of the compiled part."""
    root = _project(tmp_path)
    compiled = "\n" * 5 + "<div>{{code}}</div>\n<p>{{team}}</p>"  # lines 6 and 7, as compiled
    with pytest.raises(RenderError) as info:
        sestemplate.render(sestemplate.parse(compiled, origin="templates_src/multi/template.mjml"), {})
    info.value.read_source_lines(root)
    text = str(info.value)
    assert "<mj-text>Hello {{name}}, your code is {{code}}.</mj-text>" in text  # line 6 of the file
    assert "<mj-text>{{team}} meets at {{place}}.</mj-text>" in text  # line 7
    assert "<div>" not in text and "<p>" not in text


def test_a_number_too_large_for_javascript_prints_as_infinity() -> None:
    assert sestemplate.render(sestemplate.parse("{{n}} {{m}}"), {"n": 10**400, "m": -(10**400)}) == "Infinity -Infinity"


def test_a_missing_url_copy_is_found_among_several_missing_variables() -> None:
    """TemplateData prepared without url_paths: the local SES says so, however many are missing."""
    from letterhead.authoring.safety import missing_url_copy

    html = '{{#with _html}}{{{a}}} <a href="https://x.example/?t={{{_url.token}}}">{{{b}}}</a>{{/with}}'
    with pytest.raises(RenderError) as info:
        sestemplate.render(sestemplate.parse(html), prepare_data({"token": "t"}), escape=False)
    assert len(info.value.missing) == 3
    assert missing_url_copy(info.value) == "token"
