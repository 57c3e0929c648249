"""The context analysis's faster scans decide exactly as before (session 7).

The text part's word around a placeholder is found from the placeholder
backwards, and the HTML scans take tags possessively: these cases sit on the
edges of both (a placeholder first or last in the part, right after a
delimiter, a Unicode space, a quote holding ``>``, a tag name with a quote).
"""

from __future__ import annotations

from typing import Any

import pytest

from letterhead import sestemplate
from letterhead.authoring.contexts import _analyze


def contexts_of(part: str, html: str = "<p>x</p>", text: str = "t") -> dict[str, str]:
    parsed = {"subject": sestemplate.parse("s"), "html": sestemplate.parse(html), "text": sestemplate.parse(text)}
    analysis: Any = _analyze(parsed, sestemplate.contract(*parsed.values()))
    return {p.node.path.original: p.context for p in analysis.placements if p.part == part}


@pytest.mark.parametrize(("text", "expected"), [
    ("{{a}}", {"a": "plain"}),  # first and last in the part
    ("https://x.example/{{a}}", {"a": "url-part"}),  # last in the part, inside a URL word
    ("x{{a}} y", {"a": "plain"}),  # a word, but no scheme before it
    ("https://x.example/ {{a}}", {"a": "plain"}),  # a space ends the URL
    ("https://x.example/\u2003{{a}}", {"a": "plain"}),  # so does a Unicode space
    ("https://x.example/\u00a0{{a}}", {"a": "plain"}),
    ("(https://x.example/{{a}})", {"a": "url-part"}),
    ("https://x.example/({{a}})", {"a": "plain"}),  # a parenthesis ends the word
    ("<https://x.example/{{a}}>", {"a": "url-part"}),
    ("'https://x.example/'{{a}}", {"a": "plain"}),
    ("mailto:{{a}} mailto:x{{b}}", {"a": "mailto", "b": "url-part"}),
    ("https://x.example/{{a}}{{b}}/{{c}}", {"a": "url-part", "b": "url-part", "c": "url-part"}),
    ("{{#if z}}https://x.example/{{/if}}{{a}}", {"a": "url-part"}),  # block tags print nothing
    ("x https://x.example/{{#if z}}{{a}}{{/if}}", {"a": "url-part"}),
])
def test_text_part_url_words(text: str, expected: dict[str, str]) -> None:
    found = contexts_of("text", text=text)
    assert {k: v for k, v in found.items() if k in expected} == expected


def test_a_text_word_starting_with_a_link_variable_of_the_html() -> None:
    found = contexts_of("text", html='<a href="{{base}}">x</a>',
                        text="{{base}}/d/{{day}} ({{base}}) {{other}}/{{day2}}")
    assert found == {"base": "plain", "day": "url-part", "other": "plain", "day2": "plain"}


@pytest.mark.parametrize(("html", "expected"), [
    ('<a title="a > b" href="https://x.example/{{a}}">x</a>', {"a": "url-part"}),  # `>` inside quotes
    ("<a title='a > b' href=\"{{a}}\">x</a>", {"a": "url"}),
    ('<a"q href="{{a}}">x</a>', {"a": "url"}),  # a quote in the tag name
    ('<ab\'c d\' title="{{a}}">', {"a": "attribute"}),  # the name gives the quote back to the attributes
    ('<a title="unclosed {{a}}>x</a>', {"a": "text"}),  # not a tag: an unclosed quote
    ("<p>x<img {{a}}'>y</p>", {"a": "text"}),  # nor this (a possessive group repeat in 3.11.2 took it for one)
    ("<p><a <img {{a}}({{b}}'>><style>=a", {"a": "text", "b": "text"}),
    ('<style media="x > y">p { color: {{a}} }</style>{{b}}', {"a": "css", "b": "text"}),
    ('<style title="{{a}}">x</style>', {"a": "attribute"}),
    ("<p {{#if x}}class=\"a\"{{/if}} title='{{a}}'>", {"a": "attribute"}),
])
def test_html_tags(html: str, expected: dict[str, str]) -> None:
    assert contexts_of("html", html=html) == expected


@pytest.mark.parametrize(("html", "images", "links"), [
    ('<img src="a.png" alt="A"><a href="https://x.example/?a=1&amp;b=2">x</a>', 1, ["https://x.example/?a=1&b=2"]),
    ("<img src=\"a.png\" alt'>", 0, []),  # a quote that never closes: no tag
    ('<a title="x > y" href="https://x.example/">x</a><DIV style="display: none">p</DIV>', 0, ["https://x.example/"]),
    ('<!-- <img src="hidden.png"> --><img src="b.png" alt="" role="presentation">', 1, []),
])
def test_lint_collector_tags(html: str, images: int, links: list[str]) -> None:
    from letterhead.authoring.lint import _Collector

    c = _Collector()
    c.feed(html)
    assert (len(c.images), c.links) == (images, links)
