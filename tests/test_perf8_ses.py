"""Session 8's fast paths of the SES stages give what the code before them gave.

Each test keeps the code as it was as the reference and compares the two on
real inputs (every call the build makes while building the repository's
project and the committed test projects, recorded once) and on random ones.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letterhead import sestemplate
from letterhead.authoring.build import build
from letterhead.config import load_config
from letterhead.errors import LetterheadError
from letterhead.sestemplate import Template, parse, render
from letterhead.sestemplate import render as render_module_fn
from letterhead.sestemplate.nodes import Block, Node, Output, PartialCall, Text

from .helpers import PROJECTS, REPO

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
    calls: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {"render": []}

    def recording(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name].append((args, kwargs))
            return fn(*args, **kwargs)
        return wrapper

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LETTERHEAD_PARALLEL_FROM", "100000")  # in this process, so that the calls are seen
        mp.setattr(sestemplate, "render", recording("render", sestemplate.render))
        for root in _projects(tmp_path_factory.mktemp("perf8-ses")):
            with contextlib.suppress(LetterheadError):  # the broken projects' calls count too
                build(load_config(root), force=True)
    assert len(calls["render"]) > 50
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
