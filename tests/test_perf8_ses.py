"""Session 8's fast paths of the SES stages give what the code before them gave.

Each test keeps the code as it was as the reference and compares the two on
real inputs (every call the build makes while building the repository's
project and the committed test projects, recorded once) and on random ones.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letterhead import sestemplate
from letterhead.authoring import safety
from letterhead.authoring.build import build
from letterhead.authoring.contexts import url_path
from letterhead.config import load_config
from letterhead.errors import LetterheadError, Location
from letterhead.sestemplate import Contract, ScopeWalker, Template, Variable, parse, render
from letterhead.sestemplate import render as render_module_fn
from letterhead.sestemplate.nodes import Block, InlinePartial, Node, Output, PartialCall, Text, Use
from letterhead.sestemplate.variables import FLAGS

from .helpers import PROJECTS, REPO

build_module = __import__("letterhead.authoring.build", fromlist=["payload_for"])
render_module = __import__("letterhead.sestemplate.render", fromlist=["_Renderer"])
assert render_module_fn is render

# --- real inputs: every call of the stages while building real projects -------------------------

OVERLAYS = ["locales", "events", "realworld", "fidelity", "headers-bulk", "srv-sender", "ctx-reset",
            "robust-deep-each", "robust-partial-chain", "robust-deep-else-if", "ctx-javascript-url"]


def _projects(tmp: Path) -> Iterator[Path]:
    repo = tmp / "repo"
    shutil.copytree(REPO / "templates_src", repo / "templates_src")
    shutil.copy(REPO / "pyproject.toml", repo / "pyproject.toml")
    yield repo
    for name in ["", *OVERLAYS]:
        root = tmp / (name or "base")
        shutil.copytree(PROJECTS / "base", root)
        if name:
            shutil.copytree(PROJECTS / name, root, dirs_exist_ok=True)
        yield root


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]]:
    """The arguments of every call of the recorded functions during the builds."""
    calls: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {"render": [], "contract": [], "payload_for": []}

    def recording(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name].append((args, kwargs))
            return fn(*args, **kwargs)
        return wrapper

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LETTERHEAD_PARALLEL_FROM", "100000")  # in this process, so that the calls are seen
        mp.setattr(sestemplate, "render", recording("render", sestemplate.render))
        mp.setattr(sestemplate, "contract", recording("contract", sestemplate.contract))
        mp.setattr(build_module, "payload_for", recording("payload_for", build_module.payload_for))
        for root in _projects(tmp_path_factory.mktemp("perf8-ses")):
            with contextlib.suppress(LetterheadError):  # the broken projects' calls count too
                build(load_config(root), force=True)
    assert len(calls["render"]) > 50 and len(calls["contract"]) > 20 and len(calls["payload_for"]) > 20
    return calls


# --- render: run() handles text, outputs, #if and #unless inline --------------------------------


class _ReferenceRenderer(render_module._Renderer):
    """The renderer's walk before session 8: a call per output and per block."""

    def run(self, nodes: tuple[Node, ...], context: Any, depths: Any, frame: dict[str, Any], programs: Any,
            out: list[str]) -> None:
        programs = programs + (nodes,)  # noqa: RUF005
        for node in nodes:
            kind = type(node)
            if kind is Text:
                out.append(node.value)  # type: ignore[union-attr]
            elif kind is Output:
                out.append(self._print_ref(node, context, depths, frame))  # type: ignore[arg-type]
            elif kind is Block:
                self._block_ref(node, context, depths, frame, programs, out)  # type: ignore[arg-type]
            elif kind is PartialCall:
                self._partial(node, context, depths, frame, programs, out)  # type: ignore[arg-type]

    def _print_ref(self, node: Output, context: Any, depths: Any, frame: dict[str, Any]) -> str:
        value = render_module._value(node.path, context, depths, frame)
        if value is None or value is render_module._MISSING:
            self._missing(node, value, render_module._lookup(node.path, context, depths, frame)[1])
            return ""
        text = value if type(value) is str else render_module.js_string(value)
        return render_module.escape_expression(text) if self.escape and not node.raw else text

    def _block_ref(self, node: Block, context: Any, depths: Any, frame: dict[str, Any], programs: Any,
                   out: list[str]) -> None:
        m = render_module
        helper = node.helper
        this = context if context[0] is not None and context[0] is not m._MISSING else (m._NULL_CONTEXT, context[1])
        if helper == "if" or helper == "unless":
            value = m._value(node.path, context, depths, frame)
            branch = node.body if m._is_falsy(value) == (helper == "unless") else node.inverse
            self.program(branch, this, depths, frame, programs, out)
            return
        value, label = m._lookup(node.path, context, depths, frame)
        if helper == "with":
            if m._is_empty(value):
                self.program(node.inverse, this, depths, frame, programs, out)
            else:
                self.program(node.body, (value, label), depths, frame, programs, out)
        else:
            items = m._iteration(value, label)
            if not items:
                self.program(node.inverse, this, depths, frame, programs, out)
            last = len(items) - 1
            for index, (key, item, item_label) in enumerate(items):
                item_frame = {**frame, "key": key, "index": index, "first": index == 0, "last": index == last}
                self.program(node.body, (item, item_label), depths, item_frame, programs, out)


def reference_render(template: Template, data: Mapping[str, Any], *, escape: bool = True) -> str:
    out: list[str] = []
    renderer = _ReferenceRenderer(template, escape)
    top = (data, "")
    renderer.run(template.body, top, (top,), {"root": data}, (), out)
    if renderer.missing:
        raise render_module.RenderError.for_missing(renderer.missing)
    return "".join(out)


def _outcome(fn: Callable[..., str], template: Template, data: Any, escape: bool) -> Any:
    try:
        return ["ok", fn(template, data, escape=escape)]
    except LetterheadError as error:
        missing = [(m.variable, m.path, m.null, m.raw, m.location, m.source_line)
                   for m in getattr(error, "missing", ())]
        return ["error", type(error).__name__, str(error), error.hint, error.source_line, missing]


def test_render_is_the_reference_render_on_the_builds_inputs(
        recorded: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]]) -> None:
    for args, _kwargs in recorded["render"]:
        template, data = args
        for escape in (True, False):
            assert _outcome(render, template, data, escape) == _outcome(reference_render, template, data, escape)


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 2) | st.sampled_from([0.0, 1.5, float("nan"), "", "x", "<b>", "0"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "c", "0"]), inner,
                                                                  max_size=3),
    max_leaves=14,
)
_DATA = st.dictionaries(st.sampled_from(["a", "b", "c", "items", "0"]), _VALUES, max_size=5)
_PATHS = ["a", "b", "c", "a.b", "a.b.c", "b.a", "items", "this", ".", "../a", "../../b", "@root.a", "@root.a.b",
          "@index", "@key", "@first", "@last", "a.length", "a.[0]", "items.[1].a", "c.a"]


@st.composite
def _template(draw: st.DrawFn) -> str:
    text = ""
    closers: list[str] = []
    for _ in range(draw(st.integers(1, 9))):
        step = draw(st.sampled_from(["if", "unless", "with", "each", "out", "out", "raw", "close", "else", "text",
                                     "partial"]))
        path = draw(st.sampled_from(_PATHS))
        if step == "out":
            text += "{{" + path + "}}"
        elif step == "raw":
            text += "{{{" + path + "}}}"
        elif step == "text":
            text += draw(st.sampled_from(["x", " ", "\n", "<&>"]))
        elif step == "partial":
            text += "{{> p}}"
        elif step == "else" and closers:
            text += "{{else}}"
        elif step == "close" and closers:
            text += closers.pop()
        elif step not in ("close", "else"):
            text += "{{#" + step + " " + path + "}}"
            closers.append("{{/" + step + "}}")
    return '{{#*inline "p"}}[{{a}}{{#if b}}{{b}}{{/if}}]{{/inline}}' + text + "".join(reversed(closers))


def _proxied(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({key: _proxied(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_proxied(item) for item in value)
    return value


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_template(), data=_DATA, escape=st.booleans(), proxied=st.booleans())
def test_render_is_the_reference_render_on_random_templates(text: str, data: dict[str, Any], escape: bool,
                                                           proxied: bool) -> None:
    try:
        template = parse(text)
    except LetterheadError:
        return
    if proxied:
        data = _proxied(data)
    assert _outcome(render, template, data, escape) == _outcome(reference_render, template, data, escape)


# --- contract, and the contract's JSON form ------------------------------------------------------

contract_module = __import__("letterhead.sestemplate.contract", fromlist=["_VarNode"])
variables_module = __import__("letterhead.sestemplate.variables", fromlist=["FLAGS"])


def reference_contract(*templates: Template) -> Contract:
    """contract() before session 8 (attribute reads, enumerate, min)."""
    m = contract_module
    root = m._VarNode()

    def collect(use: Use) -> None:
        node = root
        path, location = use.path, use.location
        located = min(use.named_from, len(path) - 1)
        printed = use.role == "output" or use.role == "raw"
        required = m._required_from(use.guards, path) if printed else len(path)
        for i, segment in enumerate(path):
            child = node.children.get(segment)
            if child is None:
                child = node.children[segment] = m._VarNode()
            node = child
            if i >= located:
                node.locations.add(location)
            if i >= required:
                node.required = True
        if printed:
            node.output = True
            node.raw = node.raw or use.role == "raw"
        else:
            setattr(node, use.role, True)

    for template in templates:
        if template.uses is not None:
            for use in template.uses:
                collect(use)
        else:
            ScopeWalker(template, collect).walk()
    return Contract({name: m._to_variable(name, node) for name, node in sorted(root.children.items())})


def reference_to_json(var: Variable) -> dict[str, Any]:
    flags = FLAGS if var.iterated else FLAGS[:6]
    data: dict[str, Any] = {flag: getattr(var, flag) for flag in flags}
    data["locations"] = [str(location) for location in var.locations]
    if var.fields:
        data["fields"] = {name: reference_to_json(field_) for name, field_ in sorted(var.fields.items())}
    return data


def reference_from_json(name: str, data: Mapping[str, Any]) -> Variable:
    fields = {key: reference_from_json(key, value) for key, value in sorted(data.get("fields", {}).items())}
    return Variable(
        name,
        **{flag: bool(data.get(flag, False)) for flag in FLAGS},
        fields=fields,
        locations=tuple(reference_parse_location(text) for text in data.get("locations", ())),
    )


def reference_parse_location(text: str) -> Location:
    path, sep, line = text.rpartition(":")
    return Location(path, int(line)) if sep and line.isdigit() else Location(text)


def _json_outcome(fn: Callable[[], Any]) -> Any:
    try:
        result = fn()
    except Exception as error:  # garbage in: the same exception out
        return ["raised", type(error).__name__]
    if isinstance(result, Contract):
        return ["ok", result, {name: [str(loc) for loc in var.locations] for name, var in result.variables.items()}]
    return ["ok", result]


def test_contract_and_its_json_are_the_reference_on_the_builds_inputs(
        recorded: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]]) -> None:
    for args, kwargs in recorded["contract"]:
        made = sestemplate.contract(*args, **kwargs)
        assert made == reference_contract(*args, **kwargs)
        walked = [Template(t.body, t.origin, t.text) for t in args]  # no uses kept: the contract walks
        assert sestemplate.contract(*walked) == made
        as_json = made.to_json()
        assert as_json == {name: reference_to_json(var) for name, var in sorted(made.variables.items())}
        assert list(map(json.dumps, as_json.values())) == [
            json.dumps(reference_to_json(var)) for _, var in sorted(made.variables.items())]  # key order too
        back = Contract.from_json(as_json)
        assert back == Contract({n: reference_from_json(n, v) for n, v in sorted(as_json.items())})


_LOCATION_TEXTS = st.sampled_from(["a.mjml:3", "a.mjml:03", "a.mjml", "a:b:12", "x:", ":5", "t:\u00b2", "c:1x",
                                   "templates_src/w/template.mjml:12", "", ":"])
_FLAG_VALUES = st.sampled_from([True, False, 0, 1, "", "x", None])


@st.composite
def _variable_json(draw: st.DrawFn, depth: int = 0) -> Any:
    if draw(st.integers(0, 30)) == 0:
        return draw(st.sampled_from([[], "x", 3, None]))  # not an object: both fail alike
    data: dict[str, Any] = {}
    for flag in draw(st.lists(st.sampled_from(FLAGS), max_size=5)):
        data[flag] = draw(_FLAG_VALUES)
    if draw(st.booleans()):
        data["locations"] = draw(st.lists(_LOCATION_TEXTS | st.sampled_from([3, None]) if draw(st.integers(0, 9)) == 0
                                          else _LOCATION_TEXTS, max_size=4))
    if depth < 2 and draw(st.booleans()):
        fields = draw(st.sampled_from([{}, [], None])) if draw(st.integers(0, 9)) == 0 else {
            key: draw(_variable_json(depth + 1)) for key in draw(st.lists(st.sampled_from(["a", "b", "[]"]),
                                                                          max_size=3, unique=True))}
        data["fields"] = fields
    return data


@settings(max_examples=400, deadline=None)
@given(data=st.dictionaries(st.sampled_from(["x", "y", "z"]), _variable_json(), max_size=3))
def test_contract_from_json_is_the_reference_on_any_json(data: dict[str, Any]) -> None:
    new = _json_outcome(lambda: Contract.from_json(data))
    assert new == _json_outcome(lambda: Contract({n: reference_from_json(n, v) for n, v in sorted(data.items())}))
    if new[0] == "ok":
        assert new[1].to_json() == {n: reference_to_json(v) for n, v in sorted(new[1].variables.items())}


# --- payload_for: the outputs in URLs found by one walk that stops, each output tag rewritten once --


def reference_unescape_outputs(text: str, *, root_to: str | None = None,
                               tags: Iterable[sestemplate.Tag] | None = None,
                               url: Mapping[int, sestemplate.Path] | None = None) -> str:
    out: list[str] = []
    pos = 0
    root = f"@root.{root_to}" if root_to else ""
    for tag in sestemplate.scan(text) if tags is None else tags:
        raw = tag.raw
        if url and tag.start in url:
            raw = safety._triple(raw, url_path(url[tag.start]))
            if root and "@root" in raw:
                raw = safety._ROOT_RE.sub(root, raw)
        else:
            if root and "@root" in raw:
                raw = safety._ROOT_RE.sub(root, raw)
            if tag.kind == "output":
                raw = safety._triple(raw)
            elif raw is tag.raw:
                continue
        if raw != tag.raw:
            out.append(text[pos : tag.start])
            out.append(raw)
            pos = tag.end
    if not pos:
        return text
    out.append(text[pos:])
    return "".join(out)


def reference_outputs(nodes: tuple[Node, ...]) -> Iterator[Output]:
    for node in nodes:
        if isinstance(node, Output):
            yield node
        elif isinstance(node, Block):
            yield from reference_outputs(node.body)
            yield from reference_outputs(node.inverse)
        elif isinstance(node, InlinePartial):
            yield from reference_outputs(node.body)


def reference_url_map(parsed: Mapping[str, Template], url_offsets: Mapping[str, Collection[int]]
                      ) -> dict[str, dict[int, sestemplate.Path]]:
    return {part: {node.offset: node.path for node in reference_outputs(parsed[part].body) if node.offset in offsets}
            for part, offsets in url_offsets.items() if offsets}


def reference_payload(compiled: Any) -> tuple[str, str, str]:
    url = reference_url_map(compiled.parsed, compiled.contexts.url_offsets)
    key = safety.HTML_DATA_KEY
    html = ("{{#with " + key + "}}" + reference_unescape_outputs(
        compiled.html, root_to=key, tags=compiled.parsed["html"].tags, url=url.get("html"))
        + "{{else}}{{" + safety.MISSING_MARKER + "}}{{/with}}")
    return (reference_unescape_outputs(compiled.subject, tags=compiled.parsed["subject"].tags, url=url.get("subject")),
            html, reference_unescape_outputs(compiled.text, tags=compiled.parsed["text"].tags, url=url.get("text")))


def test_payload_is_the_reference_payload_on_the_builds_inputs(
        recorded: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]]) -> None:
    urls = 0
    for (compiled,), _kwargs in recorded["payload_for"]:
        payload = safety.payload_for(compiled)
        assert (payload.subject, payload.html, payload.text) == reference_payload(compiled)
        urls += sum(map(len, compiled.contexts.url_offsets.values()))
    assert urls > 5  # outputs in URLs were rewritten


_PAYLOAD_PIECES = st.sampled_from([
    "{{a}}", "{{ a }}", "{{~a~}}", "{{~ a}}", "{{&a}}", "{{& a }}", "{{{a}}}", "{{~{a}~}}", "{{@root.a}}",
    "{{@root}}", "{{#if @root.a}}", "{{#if a}}", "{{/if}}", "{{else}}", "{{#each a}}", "{{/each}}", "{{@index}}",
    "{{a.b}}", "{{../a}}", "{{! @root }}", "{{> p}}", '{{#*inline "p"}}', "{{/inline}}", "x", " ", "\n", "@root",
    "{{[a b]}}", "{{a.[0]}}", "{{{@root.a}}}", "{{#with a}}", "{{/with}}",
])


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(_PAYLOAD_PIECES, max_size=14), root=st.booleans(), pick=st.lists(st.booleans(), max_size=14),
       parsed=st.booleans())
def test_payload_rewrite_is_the_reference_on_random_parts(pieces: list[str], root: bool, pick: list[bool],
                                                          parsed: bool) -> None:
    text = "".join(pieces)
    try:
        template = parse(text)
    except LetterheadError:
        return
    outputs = list(reference_outputs(template.body))
    offsets = {node.offset for node, chosen in zip(outputs, pick, strict=False) if chosen}
    if pick and pick[0]:
        offsets.add(len(text) + 5)  # an offset no output has: the walk goes to the end
    url = safety._outputs_at(template.body, offsets) if offsets else None
    assert url == (reference_url_map({"x": template}, {"x": offsets}).get("x") if offsets else None)
    tags = template.tags if parsed else None
    root_to = "_html" if root else None
    assert safety.unescape_outputs(text, root_to=root_to, tags=tags, url=url) == \
        reference_unescape_outputs(text, root_to=root_to, tags=tags, url=url)
