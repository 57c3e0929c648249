"""Injection safety, proven with the local renderer run both ways: as the SES
guide says (no escaping) and as handlebars.js does (escaping {{x}})."""

from __future__ import annotations

import pytest

from letterhead import sestemplate
from letterhead.errors import RenderError
from letterhead.authoring.safety import HTML_DATA_KEY, prepare_data, ses_parts

HOSTILE = '<b>Tom & "Jerry"</b>'
SHOWN = "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;"


def render_ses(subject: str, html: str, text: str, data: dict, raw_paths=(), escape=False):  # type: ignore[no-untyped-def]
    s, h, t = ses_parts(subject, html, text)
    prepared = prepare_data(data, raw_paths)
    return tuple(sestemplate.render(sestemplate.parse(p), prepared, escape=escape) for p in (s, h, t))


@pytest.mark.parametrize("escape", [False, True])
def test_values_everywhere_are_text_in_html_and_verbatim_elsewhere(escape: bool) -> None:
    html = ('<p title="{{name}}">Hi {{name}}</p>{{#each kids}}<li>{{this}} ({{@index}})</li>{{/each}}'
            '{{#with parent}}<i>{{name}}</i>{{/with}}{{#each prefs}}<b>{{@key}}={{this}}</b>{{/each}}'
            '<u>{{@root.name}}</u>')
    data = {"name": HOSTILE, "kids": [HOSTILE, "<i>x</i>"], "parent": {"name": HOSTILE},
            "prefs": {"<k>": "<v>"}}
    subject, out, text = render_ses("Hi {{name}}", html, "Hi {{name}} {{#each kids}}{{this}} {{/each}}", data,
                                    escape=escape)
    assert subject == f"Hi {HOSTILE}"
    assert text == f"Hi {HOSTILE} {HOSTILE} <i>x</i> "
    assert "<b>Tom" not in out and "<i>x</i>" not in out and "<k>" not in out and "<v>" not in out
    assert out.count(SHOWN) == 5  # attribute, text, loop item, #with field, @root
    assert "&amp;amp;" not in out


@pytest.mark.parametrize("escape", [False, True])
def test_triple_stash_in_the_source_stays_raw_on_purpose(escape: bool) -> None:
    data = {"body": "<p>trusted</p>", "items": [{"html": "<em>ok</em>", "name": "<x>"}], "cfg": {"a": "<s>"}}
    _, out, _ = render_ses("s", "{{{body}}}{{#each items}}{{{html}}}{{name}}{{/each}}{{#each cfg}}{{{this}}}{{/each}}",
                           "t", data, raw_paths=("body", "items[].html", "cfg[]"), escape=escape)
    assert out == "<p>trusted</p><em>ok</em>&lt;x&gt;<s>"


def test_prepare_data_keeps_the_original_and_adds_one_key() -> None:
    data = {"a": "<", "n": 3, "b": True, "none": None, "l": [1, "&"]}
    prepared = prepare_data(data)
    assert {k: v for k, v in prepared.items() if k != HTML_DATA_KEY} == data
    assert prepared[HTML_DATA_KEY] == {"a": "&lt;", "n": 3, "b": True, "none": None, "l": [1, "&amp;"]}
    assert prepare_data(prepared) == prepared  # idempotent: a second call changes nothing


def test_without_prepare_data_the_html_part_fails_to_render() -> None:
    _, html, _ = ses_parts("s", "<p>{{name}}</p>", "t")
    with pytest.raises(RenderError) as err:
        sestemplate.render(sestemplate.parse(html), {"name": "Ada"}, escape=False)
    assert err.value.variable == "letterhead_html_data_missing"


def test_rendering_the_designer_form_like_ses_equals_rendering_the_payload() -> None:
    """build/ shows samples rendered from the designer form (one parse); that
    must be byte-identical to what the uploaded payload renders to."""
    import json
    from pathlib import Path

    from letterhead.authoring.compile import Compiler
    from letterhead.config import load_config
    from letterhead.authoring.safety import render_like_ses
    from letterhead.authoring.sources import load_brand, load_source, template_names
    from letterhead.authoring.validate import render_parts

    from .helpers import REPO
    from letterhead.authoring.safety import payload_for as _payload_for

    config = load_config(REPO)
    compiler = Compiler(config, load_brand(config))
    checked = 0
    for name in template_names(config):
        ct = compiler.compile(load_source(config, name))
        payload = _payload_for(ct)
        raw = tuple(ct.contract.raw_paths())
        for sample in (Path(config.source_dir) / name / "samples").glob("*.json"):
            data = json.loads(sample.read_text())
            for escape in (False, True):
                assert render_parts(payload, data, raw, escape=escape) == render_like_ses(ct.parsed, data, raw)
                checked += 1
    assert checked >= 16
