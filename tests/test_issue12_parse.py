"""A parse depends only on its input (issue 12).

The lexer remembers the tags it has read (the same `{{/if}}` recurs across
parts and templates).  A remembered tag must never change an outcome: before,
`{{{a}}}}` was refused in a fresh process ("closes with four braces") but
accepted, rendering `A}`, once `{{{a}}}` had been parsed.  Here every outcome
of a warm process is compared with a fresh interpreter's, and a property
compares parse(t2) with an empty cache against parse(t2) after parse(t1).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from letterhead.errors import LetterheadError
from letterhead.sestemplate import lexer, parse, render

from .helpers import REPO

# Texts whose outcome used to depend on what was parsed before: each holds a
# tag whose first `}}` is not where the text that decides it ends.
TRICKY = [
    "{{{a}}}}",
    "{{{a}}}}}",
    "{{{a}}}} x",
    "{{a}}}",
    "{{a}}}}",
    "{{a}}}}}",
    "{{~a~}}}",
    "{{{~a~}}}}",
    "{{{{raw}}}}",
    "{{{{raw}}}} x {{{{/raw}}}}",
    "{{[a}}x]}}",
    "{{[a}}]}}",
    "{{[a}}x",
    '{{a "}}x"}}',
    '{{> "}}x"}}',
    "{{> '}}x'}}",
    '{{#*inline "}}p"}}P{{/inline}}{{> [}}p]}}',
    '{{a "\\"}}x" }}',
    "{{#if a}}{{{a}}}}{{/if}}",
    "{{!a}}}}",
    "{{!--a--}}}}",
]


def outcome(text: str) -> Any:
    """Everything a parse yields, as JSON: the error, or the tree, the tags and
    what renders from a context where every variable is set."""
    try:
        template = parse(text, origin="t.html")
    except LetterheadError as error:
        return ["error", type(error).__name__, str(error)]
    data = {name: name.upper() for name in ("a", "}}x", "a}}x", "a}}", "raw")}
    try:
        rendered: Any = render(template, data)
    except LetterheadError as error:
        rendered = ["error", type(error).__name__, str(error)]
    return ["ok", repr(template.body), [list(tag) for tag in template.tags or ()], rendered]


_FRESH = """
import json, os, sys
from tests.test_issue12_parse import outcome
texts = json.loads(sys.stdin.read())
results = []
for text in texts:  # each in a child forked before anything was parsed: nothing is remembered
    read, write = os.pipe()
    if os.fork() == 0:
        os.close(read)
        os.write(write, json.dumps(outcome(text)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        results.append(json.loads(pipe.read()))
    os.wait()
print(json.dumps(results))
"""


def _fresh(texts: list[str]) -> dict[str, Any]:
    """Each text's outcome in a new interpreter that has parsed nothing before."""
    proc = subprocess.run(
        [sys.executable, "-c", _FRESH], input=json.dumps(texts), cwd=REPO, capture_output=True, text=True,
        timeout=120, check=True,
    )
    return dict(zip(texts, json.loads(proc.stdout), strict=True))


def _warm_up(texts: list[str]) -> None:
    """Parse every prefix of every text, so that the cache holds any tag
    that may stand at the start of any of them."""
    for text in texts:
        for end in range(1, len(text) + 1):
            for start in range(len(text)):
                if text.startswith("{{", start):
                    outcome(text[start:end])


def test_a_parse_gives_what_a_fresh_process_gives_whatever_was_parsed_before() -> None:
    fresh = _fresh(TRICKY)
    assert fresh["{{{a}}}}"][0] == "error" and "four braces" in fresh["{{{a}}}}"][2]
    assert fresh["{{[a}}x]}}"][0] == "ok"
    _warm_up(TRICKY)
    warm = {text: json.loads(json.dumps(outcome(text))) for text in TRICKY}
    assert warm == fresh


def test_four_closing_braces_are_refused_after_a_triple_stash() -> None:
    assert outcome("{{{a}}}")[0] == "ok"
    result = outcome("{{{a}}}}")
    assert result[0] == "error" and "`{{{a}}}}` closes with four braces" in result[2], result


def test_a_segment_literal_holding_braces_reads_the_same_after_its_prefix() -> None:
    assert outcome("{{[a}}x")[0] == "error"
    result = outcome("{{[a}}x]}}")
    assert result[0] == "ok" and result[3] == "A}}X", result


def test_a_remembered_tag_is_placed_where_it_stands() -> None:
    parse("{{a}} {{#if b}}{{/if}}")
    tags = parse("xy {{a}} {{#if b}}z{{/if}}").tags or ()
    assert [(t.start, t.end, t.raw) for t in tags] == [(3, 8, "{{a}}"), (9, 18, "{{#if b}}"), (19, 26, "{{/if}}")]


# --- the property ------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        "{{", "}}", "{{{", "}}}", "{", "}", "~", "a", "b", " ", "\n", '"', "'", "\\", "[", "]", "#if ", "/if",
        "else", "!", "--", ">", "&", "^", "*", ".", "/", "(", ")", "=", "@index", "as |x|", "this", "#each ",
        "/each", "#*inline ", '"p"', "/inline", "> p", "{{a}}", "{{{a}}}", "{{[a", "]}}", '{{a "', '"}}',
    ]
)
_TEXT = st.lists(_PIECES, max_size=14).map("".join)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(common=_TEXT, before=_TEXT, tail1=_TEXT, tail2=_TEXT)
@example(common="{{{a}}}", before="", tail1="", tail2="}")
@example(common="{{[a}}x", before="", tail1="", tail2="]}}")
@example(common='{{a "}}x', before="", tail1="", tail2='"}}')
def test_parse_t2_is_the_same_before_and_after_parse_t1(common: str, before: str, tail1: str, tail2: str) -> None:
    # t1 and t2 share a stretch, so that t1 leaves in the cache the tags t2 holds
    t1, t2 = common + tail1, before + common + tail2
    lexer.clear_tag_cache()
    cold = outcome(t2)
    lexer.clear_tag_cache()
    outcome(t1)
    assert outcome(t2) == cold
