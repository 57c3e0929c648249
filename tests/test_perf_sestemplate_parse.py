"""The fast paths of the SES template language give what the slow ones give.

``parse`` reads a part in one pass (lexing, the per-tag lint and the tree at
once, each tag's lint remembered, a plain output frozen at once) and falls
back on the reference chain (``lex``, then the tree builder) only to report
an error; these tests compare the two on every outcome: the nodes, their
locations, the tags, the variable uses and the error.  The renderer's and the
contract's shortcuts are compared with their general paths the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from letterhead.errors import LetterheadError, Location, TemplateSyntaxError
from letterhead.sestemplate import Contract, ScopeWalker, Template, contract, lexer, parse, render
from letterhead.sestemplate.lexer import Source
from letterhead.sestemplate.nodes import Use
from letterhead.sestemplate.parser import read_reference
from letterhead.sestemplate.whitespace import control_whitespace, freeze

# the module (the package's `contract` is its function): the oracle below builds on its tree
contract_module = importlib.import_module("letterhead.sestemplate.contract")


def _error(error: LetterheadError) -> list[Any]:
    return ["error", type(error).__name__, str(error), str(error.location), error.hint, error.source_line]


def _located(offset: int) -> Location:
    return Location("t.html", 1000 + offset)  # a place per offset: a node located from the wrong offset shows


def fast(text: str) -> Any:
    try:
        template = parse(text, origin="t.html", locate=_located)
    except LetterheadError as error:
        return _error(error)
    return ["ok", template.body, template.tags, template.uses]


def reference(text: str) -> Any:
    """parse() as it was: the whole text lexed, then the tree built, trimmed, frozen and walked."""
    src = Source(text, "t.html", _located)
    try:
        root, tags = read_reference(src)
        control_whitespace(root, is_root=True)
        body = freeze(root.body, src)
        uses: list[Use] = []
        ScopeWalker(Template(body, "t.html", text), uses.append).walk()
    except LetterheadError as error:
        return _error(error)
    return ["ok", body, tags, tuple(uses)]


CASES = [
    "plain text, no tag",
    "",
    "{{a}}",
    "<a href=\"{{url}}\">{{{name}}}</a> {{&raw}}",
    "a {{~b~}} c {{~{d}~}} e",
    "line\n  {{#if a}}\n    x {{b}}\n  {{else if c}}\n  y\n  {{else}}\n  z\n  {{/if}}\n",
    "{{#each items}}\n{{@index}}: {{title}} {{../top}}\n{{/each}}",
    "{{^if a}}no{{else}}yes{{/if}}",
    "{{#unless a}}x{{else if b}}y{{/unless}}",
    '{{#*inline "p"}}\n  P {{x}}\n{{/inline}}\n  {{> p}}\n{{#with user}}{{> p}}{{/with}}',
    "  {{! a comment }}  \n{{!-- long --}}\nafter",
    "\\{{literal}} and \\\\{{real}} and \\{{x}}{{y}}",
    "{{#if a}}{{#each b}}{{#with c}}{{d}}{{/with}}{{/each}}{{/if}}",
    # errors: each must be the one the reference order finds first
    "{{#foo x}} then a lexing error later {{{{raw}}}}",
    "{{/if}} closes nothing, and later {{a b}}",
    "{{#if a}} never closed",
    "{{#if a}}{{else}}{{else}}{{/if}}",
    "{{else}}",
    "{{#each a}}{{/if}}",
    "{{eq a b}}",
    "{{a}} {{@foo}} {{#if}}",
    "{{a",
    "{{#if a}}{{/if}} {{{b}}",
    "{{@index}} outside",
    "{{../a}}",
    '{{> nowhere}}',
    '{{#*inline "p"}}{{> p}}{{/inline}}{{> p}}',
]


@pytest.mark.parametrize("text", CASES)
def test_one_pass_parse_is_the_reference_parse(text: str) -> None:
    assert fast(text) == reference(text)


def test_one_pass_parse_is_the_reference_parse_with_a_cold_and_a_warm_cache() -> None:
    for text in CASES:
        lexer.clear_tag_cache()
        cold = fast(text)
        assert cold == reference(text), text
        assert fast(text) == cold, text


_PIECES = st.sampled_from(
    [
        "{{", "}}", "{{{", "}}}", "{", "}", "~", "a", "b", " ", "\n", "\r\n", "\t", '"', "'", "\\", "[", "]",
        "#if ", "/if", "^", "else", "else if b", "!", "--", ">", "&", "*", ".", "../", "@index", "@root.",
        "#each ", "/each", "#with ", "/with", "#unless ", "/unless", '#*inline "p"', "/inline", "> p",
        "{{a}}", "{{{a}}}", "{{~a~}}", "{{#if a}}", "{{/if}}", "{{else}}", "\n  {{#each a}}\n", "{{/each}}\n",
        "  {{> p}}\n", "{{! c }}", 'x="{{a}}"', "{{[a", "]}}",
    ]
)
_TEXT = st.lists(_PIECES, max_size=16).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXT)
@example(text="{{#if a}}\n  {{~b}}\n{{/if}}")
@example(text='{{#*inline "p"}}\n{{a}}\n{{/inline}}\n  {{> p}}\n')
def test_one_pass_parse_is_the_reference_parse_for_any_text(text: str) -> None:
    assert fast(text) == reference(text)


def test_a_tag_is_remembered_when_a_quote_follows_its_braces() -> None:
    # `href="{{url}}"`: the quote after `}}` starts no token, so the tag is remembered ...
    lexer.clear_tag_cache()
    parse('<a href="{{url}}">')
    assert '{{url}}">' in lexer.DERIVED
    # ... but never one holding a quote or bracket before them, which reads on past its first `}}`
    assert fast('{{#*inline "}}p"}}P{{/inline}}{{> "}}p"}} {{[a}}x]}}')[0] == "ok"
    assert not any(key.startswith(('{{#*inline "', '{{> "', "{{[")) for key in lexer.DERIVED)
    assert "{{/inline}}{{" in lexer.DERIVED
    for text in ['{{a "}}x', '{{a "}}x"}}', "{{[a}}x", "{{[a}}x]}}", '<a href="{{url}}">', "{{url}}\"}}"]:
        warm = fast(text)
        lexer.clear_tag_cache()
        assert fast(text) == warm == reference(text), text


# --- render: the dict shortcuts against the general Mapping path -------------------------------

_DATA_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "x", "<b>", "0"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
    max_leaves=12,
)
_DATA = st.dictionaries(st.sampled_from(["a", "b", "c", "items"]), _DATA_VALUES, max_size=4)
_TEMPLATES = [
    "{{a}} {{b.c}} {{{c}}}",
    "{{#if a}}[{{a.b}}]{{else}}-{{/if}}{{#unless b}}u{{/unless}}",
    "{{#each items}}{{@index}}:{{this}} {{a}} {{../a}};{{else}}none{{/each}}",
    "{{#with a}}{{b}} {{../c}}{{#with b}}{{c}} {{../../a}}{{/with}}{{/with}}",
    "{{#each a}}{{#each this}}{{@key}}={{.}} {{../../b}}{{/each}}{{/each}}",
    "{{a.length}} {{a.[0]}} {{b.[1].c}}",
]


def _proxied(value: Any) -> Any:
    """The same data as Mappings that are not dicts: the renderer's general path."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _proxied(item) for key, item in value.items()})
    if isinstance(value, list):
        return [_proxied(item) for item in value]
    return value


def _rendered(template: Template, data: Mapping[str, Any]) -> Any:
    try:
        return render(template, data)
    except LetterheadError as error:
        return ["error", str(error), [(m.variable, m.null) for m in getattr(error, "missing", ())]]


@settings(max_examples=300, deadline=None)
@given(data=_DATA, which=st.sampled_from(_TEMPLATES))
def test_render_of_dicts_is_render_of_other_mappings(data: dict[str, Any], which: str) -> None:
    template = parse(which)
    assert _rendered(template, data) == _rendered(template, _proxied(data))


# --- contract: "required" against the rule it implements, segment by segment --------------------


def _always_reached(guards: tuple[tuple[str, ...] | None, ...], path: tuple[str, ...]) -> bool:
    """Whether every condition on the way is implied by the path's parents being there."""
    return all(g is not None and len(g) < len(path) and path[: len(g)] == g for g in guards)


def _contract_segment_by_segment(*templates: Template) -> Contract:
    """contract() as it was: the guards tested again at each segment of each use."""
    root = contract_module._VarNode()
    for template in templates:
        for use in template.uses or ():
            node = root
            for i, segment in enumerate(use.path):
                node = node.children.setdefault(segment, contract_module._VarNode())
                if i >= min(use.named_from, len(use.path) - 1):
                    node.locations.add(use.location)
                if use.role in ("output", "raw") and _always_reached(use.guards, use.path[: i + 1]):
                    node.required = True
            if use.role in ("output", "raw"):
                node.output = True
                node.raw = node.raw or use.role == "raw"
            else:
                setattr(node, use.role, True)
    return Contract({name: contract_module._to_variable(name, node) for name, node in sorted(root.children.items())})


_PATHS = st.sampled_from(["a", "a.b", "a.b.c", "b", "b.a", "this", "../a", "a.c", "@root.a.b", "@index"])


@st.composite
def _nested(draw: st.DrawFn) -> str:
    text = ""
    closers: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        step = draw(st.sampled_from(["if", "unless", "with", "each", "out", "raw", "close", "else"]))
        if step == "out":
            text += "{{" + draw(_PATHS) + "}}"
        elif step == "raw":
            text += "{{{" + draw(_PATHS) + "}}}"
        elif step == "else" and closers:
            text += "{{else}}"
        elif step == "close" and closers:
            text += closers.pop()
        elif step not in ("close", "else"):
            text += "{{#" + step + " " + draw(_PATHS).replace("../", "").replace("@index", "a") + "}}"
            closers.append("{{/" + step + "}}")
    return text + "{{" + draw(_PATHS) + "}}" + "".join(reversed(closers))


@settings(max_examples=400, deadline=None)
@given(text=_nested())
@example(text="{{#if a}}{{#each a.b}}{{c}}{{/each}}{{/if}}{{a.b}}")
def test_contract_required_follows_the_guards_rule(text: str) -> None:
    try:
        template = parse(text)
    except TemplateSyntaxError:
        return
    assert contract(template) == _contract_segment_by_segment(template)
