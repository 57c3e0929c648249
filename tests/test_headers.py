"""Issue 15: a template's category and message headers (template.toml).

Unit cases of :mod:`letterhead.authoring.headers` (parse, check, render, the
contract), the build refusing the committed broken projects under
``tests/projects/headers-*/`` (laid over ``tests/projects/base``), Calndr's
bulk ``schedule_digest`` in the committed manifest, and the send-time data
check refusing a send that lacks the header's variable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from letterhead import sestemplate
from letterhead.authoring.headers import (
    MAX_HEADERS,
    check_headers,
    contract_with_headers,
    header_variables,
    parse_headers,
    render_headers,
    toml_lines,
)
from letterhead.authoring.payload import Manifest, ManifestEntry, SesTemplate
from letterhead.authoring.safety import prepare_data
from letterhead.authoring.validate import check_data
from letterhead.cli.main import cli
from letterhead.errors import DataError, Location, RenderError, SourceError

from .helpers import PROJECTS, REPO, make_project

WHERE = Location("templates_src/digest/template.toml")
UNSUB = ("<https://calndr.club/unsub?t={{unsubscribe_token}}>, "
         "<mailto:unsubscribe@calndr.club?subject=unsub-{{unsubscribe_token}}>")
BULK = {"List-Unsubscribe": UNSUB, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
INJECTION = "t0k\r\nBcc: victim@example.com"


# -- parse -------------------------------------------------------------------------------------

def test_a_template_is_transactional_unless_it_says_bulk() -> None:
    assert parse_headers({}, WHERE) == ("transactional", {})
    assert parse_headers({"category": "bulk", "headers": dict(BULK)}, WHERE) == ("bulk", BULK)


def test_an_unknown_category_is_refused_at_its_line() -> None:
    text = 'description = "x"\ncategory = "marketing"\n'
    with pytest.raises(SourceError) as err:
        parse_headers({"category": "marketing"}, WHERE, lines=toml_lines(text))
    assert err.value.location == Location(WHERE.path, 2)
    assert "'marketing'" in err.value.message and '"bulk"' in err.value.message and err.value.hint


def test_a_header_value_that_is_not_a_string_is_refused_at_its_line() -> None:
    text = '[headers]\nX-Count = 3\n'
    with pytest.raises(SourceError) as err:
        parse_headers({"headers": {"X-Count": 3}}, WHERE, lines=toml_lines(text))
    assert err.value.location == Location(WHERE.path, 2) and "X-Count" in err.value.message


def test_toml_lines_finds_the_category_the_table_and_each_header() -> None:
    text = ('description = "d"\ncategory = "bulk"\n\n[variables.unsubscribe_token]\ntype = "string"\n'
            '[headers]\nList-Unsubscribe = "<https://x/?t={{t}}>"\n"X-Quoted" = "q"\n[other]\nX-Not = "n"\n')
    assert toml_lines(text) == {"description": 1, "category": 2, "headers": 6,
                                "headers.List-Unsubscribe": 7, "headers.X-Quoted": 8}


# -- check -------------------------------------------------------------------------------------

def refused(headers: dict[str, str], category: str = "transactional") -> SourceError:
    with pytest.raises(SourceError) as err:
        check_headers(category, headers, WHERE)
    assert err.value.location is not None and err.value.location.path == WHERE.path
    assert err.value.hint
    return err.value


def test_calndr_style_bulk_headers_pass() -> None:
    check_headers("bulk", BULK, WHERE)
    check_headers("transactional", {"X-Campaign": "welcome-{{week}}"}, WHERE)


@pytest.mark.parametrize("name", ["From", "bcc", "Reply-To", "Subject", "Message-ID", "Return-Path",
                                  "MIME-Version", "Content-Type", "content-transfer-encoding", "Received",
                                  "DKIM-Signature", "X-SES-CONFIGURATION-SET", "Date", "Sender", "To", "Cc"])
def test_names_ses_or_letterhead_set_are_refused(name: str) -> None:
    assert name in refused({name: "x"}).message


@pytest.mark.parametrize("name", ["X Campaign", "X:Campaign", "", "X-" + "a" * 125, "X-Caf\u00e9"])
def test_names_that_are_not_ftext_or_too_long_are_refused(name: str) -> None:
    assert "not valid" in refused({name: "x"}).message


def test_at_most_fifteen_headers() -> None:
    check_headers("transactional", {f"X-H{i}": "x" for i in range(MAX_HEADERS)}, WHERE)
    assert "16 headers" in refused({f"X-H{i}": "x" for i in range(MAX_HEADERS + 1)}).message


def test_two_spellings_of_one_header_are_refused() -> None:
    assert "one header" in refused({"X-Campaign": "a", "x-campaign": "b"}).message


@pytest.mark.parametrize("value", ["a\r\nBcc: x@example.com", "a\nb", "a\rb", "a\tb", "a\x00b", "a\u2028b"])
def test_a_line_break_or_control_character_in_the_template_is_refused(value: str) -> None:
    message = refused({"X-Campaign": value}).message
    assert "X-Campaign" in message and ("line break" in message or "control character" in message)


def test_non_ascii_text_outside_placeholders_is_refused() -> None:
    assert "U+00E9" in refused({"X-Campaign": "caf\u00e9-{{week}}"}).message


@pytest.mark.parametrize("value", ["{{{token}}}", "{{&token}}", "{{#if a}}x{{/if}}", "{{> partial}}",
                                   "{{! note }}", "{{this}}", "{{@root.x}}", "{{../x}}", "{{[a b]}}"])
def test_only_plain_output_placeholders_are_allowed(value: str) -> None:
    assert "X-Campaign" in refused({"X-Campaign": value}).message


def test_ses_syntax_errors_are_refused_as_header_errors() -> None:
    assert "X-Campaign" in refused({"X-Campaign": "{{week"}).message


def test_a_value_longer_than_ses_takes_is_refused() -> None:
    assert "995" in refused({"X-Long": "a" * 996}).message
    assert "empty" in refused({"X-Empty": ""}).message


def test_uris_must_be_closed_and_hold_no_space() -> None:
    assert "never closed" in refused({"X-Link": "<https://x.example/?t={{t}}"}).message
    assert "space" in refused({"X-Link": "<https://x.example/a b?t={{t}}>"}).message


@pytest.mark.parametrize("missing", ["List-Unsubscribe", "List-Unsubscribe-Post"])
def test_a_bulk_template_without_one_click_unsubscribe_is_refused(missing: str) -> None:
    headers = {k: v for k, v in BULK.items() if k != missing}
    err = refused(headers, "bulk")
    assert f"{missing} is missing" in err.message and "RFC 8058" in err.message
    assert 'List-Unsubscribe-Post = "List-Unsubscribe=One-Click"' in (err.hint or "")


def test_a_bulk_unsubscribe_link_must_name_the_recipient() -> None:
    err = refused({**BULK, "List-Unsubscribe": "<https://calndr.club/unsub>"}, "bulk")
    assert "no placeholder" in err.message


def test_a_bulk_unsubscribe_needs_an_https_uri() -> None:
    err = refused({**BULK, "List-Unsubscribe": "<mailto:u@calndr.club?subject={{unsubscribe_token}}>"}, "bulk")
    assert "https" in err.message


@pytest.mark.parametrize("value", ["{{unsubscribe_token}}", "<{{unsubscribe_url}}>",
                                   "<https://calndr.club/u?t={{t}}>, {{more}}"])
def test_list_unsubscribe_prints_variables_inside_uris_only(value: str) -> None:
    assert "outside" in refused({**BULK, "List-Unsubscribe": value}, "bulk").message


def test_list_unsubscribe_takes_https_and_mailto_uris_only() -> None:
    assert "https: or mailto:" in refused({"List-Unsubscribe": "<http://calndr.club/u?t={{t}}>"}).message
    assert "host" in refused({"List-Unsubscribe": "<https://{{host}}/u>"}).message


def test_list_unsubscribe_post_is_exactly_one_click() -> None:
    assert "exactly" in refused({**BULK, "List-Unsubscribe-Post": "List-Unsubscribe=Yes"}, "bulk").message
    assert "List-Unsubscribe with an <https://" in refused(
        {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}).message


# -- render ------------------------------------------------------------------------------------

def test_render_gives_the_headers_in_order_with_the_token_in_both_uris() -> None:
    assert render_headers(BULK, {"unsubscribe_token": "k7Qf2m"}) == (
        ("List-Unsubscribe", "<https://calndr.club/unsub?t=k7Qf2m>, "
                             "<mailto:unsubscribe@calndr.club?subject=unsub-k7Qf2m>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    )
    assert render_headers({}, {}) == ()


def test_inside_a_uri_a_value_is_percent_encoded_as_the_url_context_rule_does() -> None:
    token = "a b>, <https://evil.example/x>?&#=%\u00e9"
    (_, value), _ = render_headers(BULK, {"unsubscribe_token": token})
    encoded = prepare_data({"t": token}, (), ("t",))["_url"]["t"]  # what {{t}} in an HTML link prints
    assert value == f"<https://calndr.club/unsub?t={encoded}>, <mailto:unsubscribe@calndr.club?subject=unsub-{encoded}>"
    assert " " not in encoded and ">" not in encoded and "," not in encoded and "<" not in encoded
    assert value.count("<") == 2 and value.count(">") == 2


def test_a_line_break_inside_a_uri_is_encoded_not_sent() -> None:
    (_, value), _ = render_headers(BULK, {"unsubscribe_token": INJECTION})
    assert "\r" not in value and "\n" not in value and "%0D%0ABcc%3A" in value


def test_a_line_break_outside_a_uri_is_refused_without_repeating_the_value() -> None:
    with pytest.raises(DataError) as err:
        render_headers({"X-Campaign": "digest-{{week}}"}, {"week": INJECTION}, label="template 'digest': ")
    text = str(err.value)
    assert "template 'digest': header X-Campaign: variable `week`" in text and "line break" in text
    assert "victim" not in text and "t0k" not in text and "Bcc" not in text


def test_non_ascii_outside_a_uri_is_refused() -> None:
    with pytest.raises(DataError) as err:
        render_headers({"X-Campaign": "digest-{{week}}"}, {"week": "d\u00e9c"})
    assert "non-ASCII" in err.value.message and "d\u00e9c" not in str(err.value)


@pytest.mark.parametrize(("data", "state"), [({}, "is missing"), ({"unsubscribe_token": None}, "is null"),
                                             ({"other": "x"}, "is missing")])
def test_a_missing_or_null_variable_is_named_with_its_header(data: dict[str, Any], state: str) -> None:
    with pytest.raises(DataError) as err:
        render_headers(BULK, data)
    assert err.value.message == f"header List-Unsubscribe: variable `unsubscribe_token` {state}"
    assert "`unsubscribe_token`" in (err.value.hint or "")


def test_dotted_paths_and_values_printed_as_ses_prints_them() -> None:
    headers = {"X-Week": "w{{campaign.week}}", "X-Ratio": "{{campaign.ratio}}", "X-On": "{{campaign.on}}",
               "X-Big": "{{campaign.big}}", "X-Link": "<https://x.example/?n={{campaign.ratio}}>"}
    data = {"campaign": {"week": 49, "ratio": 3.0, "on": True, "big": 1e21}}
    assert dict(render_headers(headers, data)) == {
        "X-Week": "w49", "X-Ratio": "3", "X-On": "true", "X-Big": "1e+21", "X-Link": "<https://x.example/?n=3>"}
    with pytest.raises(DataError) as err:
        render_headers({"X-Week": "w{{campaign.week}}"}, {"campaign": "not an object"})
    assert "`campaign.week` is missing" in err.value.message


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2]])
def test_objects_and_lists_are_refused(value: Any) -> None:
    with pytest.raises(DataError) as err:
        render_headers({"X-Campaign": "{{c}}"}, {"c": value})
    assert "variable `c`" in err.value.message


def test_a_rendered_value_over_the_limit_or_empty_is_refused() -> None:
    with pytest.raises(DataError) as err:
        render_headers({"X-Campaign": "{{c}}"}, {"c": "a" * 990})
    assert "995" in err.value.message and "X-Campaign" in err.value.message
    with pytest.raises(DataError) as err:
        render_headers({"X-Campaign": "{{c}}"}, {"c": ""})
    assert "empty" in err.value.message
    with pytest.raises(DataError) as err:
        render_headers(BULK, {"unsubscribe_token": ""})
    assert "would not name the recipient" in err.value.message


def test_a_manifest_header_that_is_not_a_valid_template_is_refused_at_send() -> None:
    with pytest.raises(DataError) as err:
        render_headers({"X-Campaign": "a\r\nBcc: x@example.com"}, {})
    assert "rebuild" in (err.value.hint or "")


# -- the contract --------------------------------------------------------------------------------

def test_header_variables_join_the_contract_as_required_at_template_toml() -> None:
    headers = {**BULK, "X-Week": "w{{campaign.week}}"}
    assert header_variables(headers) == {"unsubscribe_token": ("List-Unsubscribe",), "campaign.week": ("X-Week",)}
    lines = {"headers.List-Unsubscribe": 7, "headers.X-Week": 9}
    contract = contract_with_headers([sestemplate.parse("Hi {{name}}", origin="subject.txt")], headers, WHERE,
                                     lines=lines).to_json()
    assert contract["name"]["required"] is True
    token = contract["unsubscribe_token"]
    assert token["required"] and token["output"] and token["locations"] == [f"{WHERE.path}:7"]
    assert contract["campaign"]["fields"]["week"]["required"] is True
    assert sestemplate.Contract.from_json(contract).required_paths() == ["campaign", "campaign.week", "name",
                                                                          "unsubscribe_token"]


def test_a_manifest_entry_without_headers_is_written_as_before() -> None:
    entry = ManifestEntry(name="welcome", content_hash="h")
    assert "category" not in entry.to_json() and "headers" not in entry.to_json()
    bulk = ManifestEntry(name="digest", content_hash="h", category="bulk", headers=BULK)
    assert bulk.to_json()["category"] == "bulk" and bulk.to_json()["headers"] == BULK
    assert ManifestEntry.from_json("digest", bulk.to_json()) == bulk
    assert ManifestEntry.from_json("welcome", entry.to_json()).category == ""


# -- the build, on committed projects ----------------------------------------------------------

def build_json(root: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["--root", str(root), "build", "--json"])
    try:
        return result.exit_code, json.loads(result.output)
    except ValueError:
        return result.exit_code, {"output": result.output}


def assert_build_refused(root: Path, *, line: int | None, words: list[str], file: str | None = None) -> dict[str, Any]:
    code, payload = build_json(root)
    assert code == 1, payload
    assert payload.get("file") == (file or "templates_src/welcome/template.toml"), payload
    assert payload.get("line") == line, payload
    for word in words:
        assert word in json.dumps(payload), (word, payload)
    assert payload.get("hint"), payload
    assert not (root / "ses_templates").exists() and not (root / "build").exists()
    return payload


def test_the_build_fails_a_bulk_template_without_unsubscribe_headers(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "headers-bulk-missing")
    payload = assert_build_refused(root, line=2, words=["bulk template", "List-Unsubscribe and "
                                                        "List-Unsubscribe-Post are missing", "RFC 8058"])
    assert 'List-Unsubscribe-Post = \\"List-Unsubscribe=One-Click\\"' in json.dumps(payload["hint"])
    assert "List-Unsubscribe = " in payload["hint"]


def test_the_cli_shows_the_location_and_the_two_lines_to_add(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "headers-bulk-missing")
    result = CliRunner().invoke(cli, ["--root", str(root), "build"])
    assert result.exit_code == 1
    assert "templates_src/welcome/template.toml:2:" in result.output
    assert "fix: " in result.output and '    List-Unsubscribe-Post = "List-Unsubscribe=One-Click"' in result.output


def test_the_build_fails_a_forbidden_header(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "headers-forbidden")
    assert_build_refused(root, line=3, words=["header Bcc", "cannot set it"])


def test_the_build_fails_a_line_break_in_a_header_template(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "headers-crlf")
    assert_build_refused(root, line=2, words=["header X-Campaign", "line break"])


def test_the_build_fails_an_unknown_category(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "headers-bad-category")
    assert_build_refused(root, line=2, words=["unknown category 'marketing'"])


def test_the_build_renders_the_headers_for_every_sample(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "headers-bulk")
    sample = root / "templates_src" / "welcome" / "samples" / "hostile.json"
    data = json.loads(sample.read_text())
    del data["unsubscribe_token"]
    sample.write_text(json.dumps(data))
    assert_build_refused(root, line=None, file="templates_src/welcome/samples/hostile.json",
                         words=["sample 'hostile'", "header List-Unsubscribe", "`unsubscribe_token` is missing"])
    data["unsubscribe_token"], data["campaign"] = "t", {"week": INJECTION}
    sample.write_text(json.dumps(data))
    payload = assert_build_refused(root, line=None, file="templates_src/welcome/samples/hostile.json",
                                   words=["header X-Campaign", "`campaign.week`", "line break"])
    assert "victim" not in json.dumps(payload)


def test_a_bulk_project_builds_its_headers_into_the_manifest(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "headers-bulk")
    code, payload = build_json(root)
    assert code == 0, payload
    entry = json.loads((root / "ses_templates" / "manifest.json").read_text())["templates"]["welcome"]
    assert entry["category"] == "bulk"
    assert entry["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert entry["contract"]["unsubscribe_token"]["required"] is True
    assert entry["contract"]["unsubscribe_token"]["locations"] == ["templates_src/welcome/template.toml:8"]
    assert entry["contract"]["campaign"]["fields"]["week"]["locations"] == ["templates_src/welcome/template.toml:10"]
    # the stored SES template is the one v1 and v2 share: headers are not in it
    assert "unsub" not in (root / "ses_templates" / "welcome.json").read_text()


def test_a_project_without_headers_keeps_its_manifest_shape(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    assert build_json(root)[0] == 0
    entry = json.loads((root / "ses_templates" / "manifest.json").read_text())["templates"]["welcome"]
    assert "category" not in entry and "headers" not in entry


# -- Calndr: schedule_digest is bulk ----------------------------------------------------------

def calndr(name: str = "schedule_digest") -> tuple[ManifestEntry, SesTemplate]:
    manifest = Manifest.load(REPO / "ses_templates")
    return manifest.templates[name], SesTemplate.load(REPO / "ses_templates" / f"{name}.json")


@pytest.mark.parametrize("name", ["schedule_digest", "schedule_digest__es", "schedule_digest__ar"])
def test_calndr_schedule_digest_is_bulk_with_one_click_unsubscribe(name: str) -> None:
    entry, _ = calndr(name)
    assert entry.category == "bulk"
    assert entry.headers == {
        "List-Unsubscribe": UNSUB,
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    token = entry.contract["unsubscribe_token"]
    assert token["required"] and token["locations"][0].startswith("templates_src/schedule_digest/template.toml:")
    assert entry.variables["unsubscribe_token"]["type"] == "string"


def test_calndr_transactional_templates_have_no_headers() -> None:
    manifest = json.loads((REPO / "ses_templates" / "manifest.json").read_text())
    for name in ("coparent_invitation", "email_verification"):
        assert "category" not in manifest["templates"][name] and "headers" not in manifest["templates"][name]


@pytest.mark.parametrize("sample", ["busy_week.json", "empty_week.json", "es/busy_week.json",
                                    "es/empty_week.json", "ar/busy_week.json", "ar/empty_week.json"])
def test_every_calndr_digest_sample_gives_its_recipient_a_token(sample: str) -> None:
    entry, _ = calndr()
    data = json.loads((REPO / "templates_src" / "schedule_digest" / "samples" / sample).read_text())
    token = data["unsubscribe_token"]
    assert dict(render_headers(entry.headers, data))["List-Unsubscribe"] == (
        f"<https://calndr.club/unsub?t={token}>, <mailto:unsubscribe@calndr.club?subject=unsub-{token}>")


def test_check_data_refuses_a_digest_send_without_the_unsubscribe_token() -> None:
    entry, payload = calndr()
    data = json.loads((REPO / "templates_src" / "schedule_digest" / "samples" / "busy_week.json").read_text())
    check_data(entry, payload, data)  # the sample as it is: accepted
    del data["unsubscribe_token"]
    with pytest.raises((DataError, RenderError)) as err:
        check_data(entry, payload, data)
    assert "template 'schedule_digest'" in err.value.message
    assert "`unsubscribe_token`" in err.value.message and "List-Unsubscribe" in err.value.message
    data["unsubscribe_token"] = None
    with pytest.raises(DataError) as null:
        check_data(entry, payload, data)
    assert "`unsubscribe_token` is null" in null.value.message
