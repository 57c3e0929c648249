"""Every placeholder is safe for the context it sits in (issue 10, section 2).

Built the way users build (the CLI on committed mini-projects under
tests/projects/ctx-*), sent through the application's Mailer into the local
SES, previewed; the analysis and prepare_data also on their own.
"""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from letterhead import sestemplate
from letterhead.cli.main import cli
from letterhead.config import load_config
from letterhead.authoring.contexts import _analyze, check
from letterhead.errors import DataError, RenderError
from letterhead.dev.localses import LocalSes
from letterhead.authoring.payload import Manifest
from letterhead.authoring.safety import HTML_DATA_KEY, prepare_data, ses_parts
from letterhead.sending.mailer import Mailer
from letterhead.sending.transports import OutboxTransport
from letterhead.authoring.validate import check_value

from .helpers import PROJECTS, make_project

ENCODED = "token=t%26k%3D1&email=amira%2Bx%40example.com"  # the values, each in its component


def build_cli(root: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--root", str(root), "build", *args])


def project(tmp_path: Path, *names: str) -> Path:
    return make_project(tmp_path, *(PROJECTS / n for n in names))


def hrefs(html: str) -> list[str]:
    return [htmllib.unescape(h) for h in re.findall(r'href="([^"]*)"', html)]


# --- 1. URL components: the reproduction, end to end -------------------------------------


def test_values_in_a_query_are_percent_encoded_in_build_samples_ses_sends_and_preview(tmp_path: Path) -> None:
    root = project(tmp_path, "ctx-reset")
    result = build_cli(root)
    assert result.exit_code == 0, result.output

    # build/: the sample rendered as SES will render it, HTML and text alike
    sample_html = (root / "build/password_reset/samples/default.html").read_text()
    sample_text = (root / "build/password_reset/samples/default.txt").read_text()
    assert f"https://calndr.club/reset?{ENCODED}" in hrefs(sample_html)
    assert f"https://calndr.club/reset?{ENCODED}" in sample_text
    assert "k=1&email=amira+x" not in htmllib.unescape(sample_html) + sample_text  # no injected parameter

    # the payload reads the encoded copy in the object that holds each value
    payload = json.loads((root / "ses_templates/password_reset.json").read_text())["Template"]
    assert "token={{{_url.token}}}&amp;email={{{_url.email}}}" in payload["HtmlPart"]
    assert "token={{{_url.token}}}&email={{{_url.email}}}" in payload["TextPart"]
    entry = Manifest.load(root / "ses_templates").templates["password_reset"]
    assert entry.url_paths == ("email", "token")

    # the application's sender, into the local SES, which renders as SES does
    data = {"name": "Amira", "token": "t&k=1", "email": "amira+x@example.com"}
    with LocalSes(senders=["example.com"]) as ses:
        ses.load_templates(root / "ses_templates")
        c = boto3.client("ses", endpoint_url=ses.endpoint_url, region_name=ses.region,
                         aws_access_key_id="any", aws_secret_access_key="any")
        mailer = Mailer(sender_email="hello@example.com", ses_dir=root / "ses_templates", client=c,
                        region=ses.region, max_send_rate=1000)
        mailer.send("password_reset", "amira@example.org", data)
        [delivery] = ses.outbox()
    assert delivery.delivered, delivery.problem
    assert f"https://calndr.club/reset?{ENCODED}" in hrefs(delivery.parts["html"])
    assert f"https://calndr.club/reset?{ENCODED}" in delivery.parts["text"]
    sent = json.loads(delivery.message.template_data or "")
    assert sent == prepare_data(data, entry.raw_paths, entry.url_paths)  # what an application sends itself
    assert sent["_url"] == {"token": "t%26k%3D1", "email": "amira%2Bx%40example.com"}
    assert sent[HTML_DATA_KEY]["_url"] == sent["_url"]

    # the preview renders the same bytes
    from letterhead.authoring.compile import Compiler
    from letterhead.dev.preview import compile_state
    from letterhead.authoring.sources import load_brand

    config = load_config(root)
    state = compile_state(config, Compiler(config, load_brand(config)), "password_reset")
    render = state.renders["default"]
    assert render.parts is not None and render.parts["html"] == sample_html
    assert not [f for f in state.findings if f.severity == "error"]


def test_a_missing_url_value_is_named_as_the_application_sends_it(tmp_path: Path) -> None:
    root = project(tmp_path, "ctx-reset")
    (root / "templates_src/password_reset/samples/default.json").write_text('{"name": "Amira", "email": "a@x.org"}')
    result = build_cli(root)
    assert result.exit_code == 1
    assert "missing variable `token`" in result.output and "_url" not in result.output
    assert "templates_src/password_reset/template.mjml:7" in result.output


def test_the_sender_names_the_variable_not_its_encoded_copy(tmp_path: Path) -> None:
    root = project(tmp_path, "ctx-reset")
    assert build_cli(root).exit_code == 0
    mailer = Mailer(sender_email="hello@example.com", ses_dir=root / "ses_templates",
                    transport=OutboxTransport(tmp_path / "outbox"))
    with pytest.raises(RenderError) as err:
        mailer.render("password_reset", {"name": "Amira", "email": "a@x.org", "token": None})
    assert err.value.variable == "token" and "`token` is null" in err.value.message
    assert "_url" not in str(err.value) and "_html" not in str(err.value)


def test_forgetting_url_paths_is_reported_by_the_local_ses(tmp_path: Path) -> None:
    root = project(tmp_path, "ctx-reset")
    assert build_cli(root).exit_code == 0
    data = {"name": "Amira", "token": "t", "email": "a@x.org"}
    with LocalSes(senders=["example.com"]) as ses:
        ses.load_templates(root / "ses_templates")
        c = boto3.client("ses", endpoint_url=ses.endpoint_url, region_name=ses.region,
                         aws_access_key_id="any", aws_secret_access_key="any")
        c.send_templated_email(Source="hello@example.com", Destination={"ToAddresses": ["a@example.org"]},
                               Template="password_reset", TemplateData=json.dumps(prepare_data(data)))
        [delivery] = ses.outbox()
    assert not delivery.delivered
    assert delivery.error is not None and delivery.error.variable == "token"
    assert "url_paths" in (delivery.error.hint or "") and "url_paths" in (delivery.problem or "")


def test_a_whole_url_keeps_its_scheme_check_naming_the_variable_never_the_value(tmp_path: Path) -> None:
    root = project(tmp_path, "ctx-javascript-url")
    result = build_cli(root)
    assert result.exit_code == 1
    assert "variable `url`" in result.output and "templates_src/welcome/samples/evil.json" in result.output
    assert "http" in result.output and "document.domain" not in result.output


def test_the_sender_refuses_a_javascript_link(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    assert build_cli(root).exit_code == 0
    mailer = Mailer(sender_email="hello@example.com", ses_dir=root / "ses_templates",
                    transport=OutboxTransport(tmp_path / "outbox"))
    for bad in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "https://x.org/\" onmouseover=\"x", " https://x.org"):
        with pytest.raises(DataError) as err:
            mailer.render("welcome", {"name": "Ada", "url": bad})
        assert "`url`" in err.value.message and "alert" not in err.value.message
    assert "Hello Ada" in mailer.render("welcome", {"name": "Ada", "url": "mailto:ada@example.org"})["html"]


# --- scopes: a `_url` next to each field, in every object and in the `_html` copy ----------------

SCOPED = ('{{#each items}}<a href="https://x.example/{{slug}}?ref={{../ref}}&u={{@root.user.id}}">'
          '{{title}}</a>{{/each}}{{#with user}}<a href="https://x.example/u/{{id}}">me</a>{{/with}}')


def analyzed(html: str, text: str = "t", subject: str = "s") -> Any:
    parsed = {"subject": sestemplate.parse(subject), "html": sestemplate.parse(html), "text": sestemplate.parse(text)}
    return _analyze(parsed, sestemplate.contract(*parsed.values())), parsed


def test_url_values_in_loops_and_with_blocks_are_encoded_relative_to_their_scope() -> None:
    analysis, parsed = analyzed(SCOPED, text="{{#each items}}https://x.example/{{slug}} {{/each}}")
    assert analysis.url_paths == ("items[].slug", "ref", "user.id")
    url = {part: {n.offset: n.path for n in _outputs(parsed[part]) if n.offset in offs}
           for part, offs in analysis.url_offsets.items() if offs}
    _, html, text = ses_parts("s", SCOPED, "{{#each items}}https://x.example/{{slug}} {{/each}}", url=url)
    assert "{{{_url.slug}}}" in html and "{{{../_url.ref}}}" in html
    assert "{{{@root._html.user._url.id}}}" in html and "{{{_url.id}}}" in html
    assert "{{{_url.slug}}}" in text and "{{{title}}}" in html
    data = {"ref": "a b", "user": {"id": "u/1"}, "items": [{"slug": "x?y", "title": "T&C"}]}
    prepared = prepare_data(data, url_paths=analysis.url_paths)
    for escape in (False, True):
        out = sestemplate.render(sestemplate.parse(html), prepared, escape=escape)
        assert hrefs(out) == ["https://x.example/x%3Fy?ref=a%20b&u=u%2F1", "https://x.example/u/u%2F1"]
        assert "T&amp;C" in out
        assert sestemplate.render(sestemplate.parse(text), prepared, escape=escape) == "https://x.example/x%3Fy "


def _outputs(template: sestemplate.Template) -> list[sestemplate.Output]:
    from letterhead.authoring.safety import _outputs as outputs

    return list(outputs(template.body))


def test_prepare_data_adds_url_copies_to_nested_objects_and_list_items_only() -> None:
    data = {"user": {"id": "a&b", "name": "<Ann>"}, "days": [{"date": "2025-12-08 x"}, {"date": None}, "odd"],
            "prefs": {"k": "v"}, "n": 1e21}
    paths = ("days[].date", "n", "user.id")
    prepared = prepare_data(data, ("user.name",), paths)
    assert prepared["user"] == {"id": "a&b", "name": "<Ann>", "_url": {"id": "a%26b"}}
    assert prepared["days"] == [{"date": "2025-12-08 x", "_url": {"date": "2025-12-08%20x"}},
                                {"date": None, "_url": {"date": None}}, "odd"]
    assert prepared["_url"] == {"n": "1e%2B21"}  # JavaScript prints 1e+21: a `+` is a space in a query
    assert prepared["prefs"] == {"k": "v"}  # no field of it in a URL: no copy (a loop over it sees no extra key)
    assert prepared[HTML_DATA_KEY]["user"] == {"id": "a&amp;b", "name": "<Ann>", "_url": {"id": "a%26b"}}
    assert prepared[HTML_DATA_KEY]["days"][0]["_url"] == {"date": "2025-12-08%20x"}
    assert data["user"] == {"id": "a&b", "name": "<Ann>"}  # the caller's data is not changed
    assert prepare_data(prepared, ("user.name",), paths) == prepared  # a second call changes nothing
    assert prepare_data({"a": "<"}) == {"a": "<", HTML_DATA_KEY: {"a": "&lt;"}}  # no URL: as before


def test_a_dict_looped_over_gets_no_copy_and_list_items_cannot_be_encoded() -> None:
    analysis, _ = analyzed('{{#each tags}}<a href="https://x.example/t/{{this}}">t</a>{{/each}}'
                           '{{#each prefs}}{{@key}}{{/each}}<a href="https://x.example/?p={{prefs.a}}">p</a>'
                           '{{#each kids}}<a href="https://x.example/{{@key}}/{{@index}}">k</a>{{/each}}')
    problems = check(analysis, {})
    messages = [p.message for p in problems]
    assert any("{{this}}" in m and "list item" in m for m in messages)
    assert any("`prefs` is looped over" in m for m in messages)
    assert any("{{@key}}" in m for m in messages)
    assert not any("@index" in m for m in messages)  # a number needs no encoding
    assert all(p.hint for p in problems)


# --- 2. contexts where escaping is not enough ----------------------------------------------------


@pytest.mark.parametrize("name, line, words", [
    ("ctx-attribute-name", 10, "as an attribute name"),
    ("ctx-style-attribute", 10, "inside CSS (`style`)"),
    ("ctx-mj-style", 4, "inside CSS (`<style>`)"),
    ("ctx-script", 10, "inside a script"),
    ("ctx-comment", 10, "inside an HTML comment"),
])
def test_each_forbidden_context_fails_the_build_with_its_line_and_a_fix(tmp_path: Path, name: str, line: int,
                                                                       words: str) -> None:
    root = project(tmp_path, name)
    result = build_cli(root)
    assert result.exit_code == 1, result.output
    assert f"templates_src/probe/template.mjml:{line}: error:" in result.output
    assert words in result.output and "fix:" in result.output
    assert not (root / "ses_templates").exists()  # nothing written


def test_a_color_typed_variable_may_stand_in_css_and_is_checked_strictly(tmp_path: Path) -> None:
    root = project(tmp_path, "ctx-color-typed")
    result = build_cli(root)
    assert result.exit_code == 0, result.output
    assert "color: #0a7cff; font-size: 16px" in (root / "build/probe/samples/default.html").read_text()
    bad = project(tmp_path / "bad", "ctx-color-typed", "ctx-bad-color")
    result = build_cli(bad)
    assert result.exit_code == 1
    assert "variable `shade` is not a color" in result.output and "evil.example" not in result.output


def test_mso_conditionals_hold_markup_and_block_tag_comments_are_not_outputs() -> None:
    analysis, _ = analyzed('<!--[if mso]><p title="{{a}}">{{b}}</p><![endif]--><!--[if !mso]><!--><i>{{c}}</i>'
                           '<!--<![endif]--><!--{{#if d}}--><b>{{e}}</b><!--{{/if}}--><!-- {{f}} -->')
    contexts = {p.node.path.original: p.context for p in analysis.placements if p.part == "html"}
    assert contexts == {"a": "attribute", "b": "text", "c": "text", "e": "text", "f": "comment"}


def test_unquoted_values_tag_names_and_event_handlers_are_refused() -> None:
    analysis, _ = analyzed('<p title={{a}}>x</p><{{b}}>y</p><a onclick="go({{c}})">z</a><td width={{n}}>')
    problems = {p.message.split("`")[1]: p for p in check(analysis, {"n": {"type": "integer"}})}
    assert set(problems) == {"{{a}}", "{{b}}", "{{c}}"}  # an integer may stand unquoted
    assert "quote" in problems["{{a}}"].hint


def test_a_partial_call_outside_text_names_its_place_in_english() -> None:
    analysis, _ = analyzed('{{#*inline "p"}}x{{/inline}}<a href="{{> p}}">a</a><p title="{{> p}}">b</p>')
    messages = sorted(p.message for p in check(analysis, {}))
    assert len(messages) == 2
    assert "stands in a URL" in messages[0] and "stands in an attribute value" in messages[1]
    assert not any(" a attribute" in m or " a url" in m for m in messages)


def test_a_placeholder_starting_a_mailto_link_must_be_one_address(tmp_path: Path) -> None:
    analysis, _ = analyzed('<a href="mailto:{{who}}">w</a>')
    assert analysis.url_checks == {"who": ("mailto",)}
    from letterhead.authoring.validate import check_urls

    check_urls(analysis.url_checks, {"who": "amira+x@example.com"}, where="d")
    for bad in ("a@x.org?cc=boss@bank.example", "a@x.org,b@y.org", "not an address"):
        with pytest.raises(DataError) as err:
            check_urls(analysis.url_checks, {"who": bad}, where="d")
        assert "`who`" in err.value.message and "bank" not in err.value.message


# --- 3. declared types are strict ----------------------------------------------------------------


@pytest.mark.parametrize("vtype, bad", [
    ("email", 'a@x.org"><script>alert(1)</script>'),
    ("email", "a@x.org\r\nBcc: b@y.org"),
    ("url", 'https://x.org/"><script>'),
    ("url", "https://x.org/a b"),
    ("url", "javascript:alert(1)"),
    ("color", "red;background:url(https://e.example)"),
])
def test_declared_types_refuse_values_that_would_leave_their_place(vtype: str, bad: str) -> None:
    with pytest.raises(DataError) as err:
        check_value("v", vtype, None, bad, where="data")
    assert "`v`" in err.value.message and "script" not in err.value.message and "Bcc" not in err.value.message


def test_the_build_refuses_a_sample_whose_email_is_markup(tmp_path: Path) -> None:
    root = project(tmp_path, "ctx-reset", "ctx-bad-email")
    result = build_cli(root)
    assert result.exit_code == 1
    assert "variable `email`" in result.output and "templates_src/password_reset/samples/evil.json" in result.output
    assert "<script>" not in result.output


def test_data_with_its_own_url_key_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path, "ctx-reset")
    assert build_cli(root).exit_code == 0
    mailer = Mailer(sender_email="hello@example.com", ses_dir=root / "ses_templates",
                    transport=OutboxTransport(tmp_path / "outbox"))
    with pytest.raises(DataError) as err:
        mailer.render("password_reset", {"name": "A", "token": "t", "email": "a@x.org", "extra": {"_url": 1}})
    assert "`_url`" in err.value.message and "`extra`" in err.value.message


def test_in_plain_text_a_url_is_known_by_its_scheme_or_by_a_link_variable_of_the_html() -> None:
    analysis, _ = analyzed('<a href="{{base}}">open</a>',
                           text="Open {{base}}/day/{{date}}, see https://x.example/?q={{q}}, mail mailto:{{who}}; "
                                "{{first}}/{{last}}")
    contexts = {p.node.path.original: p.context for p in analysis.placements if p.part == "text"}
    assert contexts == {"base": "plain", "date": "url-part", "q": "url-part", "who": "mailto",
                        "first": "plain", "last": "plain"}
