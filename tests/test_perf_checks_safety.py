"""prepare_data's and check_shape's fast paths give what the general walks give (session 7).

With no raw path, the escaped copy is made without following paths, JSON's
types told by ``type()`` and each key escaped once; check_shape walks without
paths first and walks again, naming them, only to refuse.
"""

from __future__ import annotations

import types
from typing import Any

import pytest

from letterhead.authoring.safety import HTML_DATA_KEY, prepare_data
from letterhead.authoring.validate import MAX_DATA_DEPTH, check_shape
from letterhead.errors import DataError


class Name(str):
    pass


def test_keys_are_escaped_each_as_itself() -> None:
    # 1 and True are equal as dict keys: a cache of escaped keys must not give one the other's text
    data: dict[str, Any] = {"a": {1: "x"}, "b": {True: "y"}, "c": [{"k&": 1}, {"k&": 2}], "d": {2.5: None}}
    escaped = prepare_data(data)[HTML_DATA_KEY]
    assert escaped == {"a": {"1": "x"}, "b": {"True": "y"}, "c": [{"k&amp;": 1}, {"k&amp;": 2}], "d": {"2.5": None}}


def test_every_kind_of_value_is_copied_and_escaped() -> None:
    data: dict[str, Any] = {
        "s": "<b>", "n": 3, "f": 2.5, "t": True, "none": None, "list": ["a&b", ["'"]], "tuple": ("=", 1),
        "proxy": types.MappingProxyType({"`": "<"}), "sub": Name("x<y"), Name("k<"): "v",
    }
    escaped = prepare_data(data)[HTML_DATA_KEY]
    assert escaped == {
        "s": "&lt;b&gt;", "n": 3, "f": 2.5, "t": True, "none": None, "list": ["a&amp;b", ["&#x27;"]],
        "tuple": ["&#x3D;", 1], "proxy": {"&#x60;": "&lt;"}, "sub": "x&lt;y", "k&lt;": "v",
    }
    assert type(escaped["tuple"]) is list and type(escaped["proxy"]) is dict


def test_raw_paths_are_still_left_as_sent() -> None:
    data = {"html": "<b>x</b>", "rows": [{"cell": "<i>"}], "other": "<u>"}
    escaped = prepare_data(data, raw_paths=("html", "rows[].cell"))[HTML_DATA_KEY]
    assert escaped == {"html": "<b>x</b>", "rows": [{"cell": "<i>"}], "other": "&lt;u&gt;"}


def nested(depth: int, leaf: dict[str, Any]) -> dict[str, Any]:
    data = leaf
    for i in range(depth - 1):
        data = [data] if i % 2 else {"a": data}  # one level each
    return data


@pytest.mark.parametrize(("data", "message"), [
    ({"a": [{"b": 1}, {"b": {"_url": {}}}]}, "(in `a[1].b`)"),
    ({"_url": 1, "a": {"_url": 2}}, "has a key `_url`: letterhead reserves it"),
    ({"a": ({"t": (1, {"_url": 0})},)}, "(in `a[0].t[1]`)"),
    ({"p": types.MappingProxyType({"q": {"_url": 0}})}, "(in `p.q`)"),
    (nested(MAX_DATA_DEPTH + 1, {"x": 1}), f"more than {MAX_DATA_DEPTH} levels deep"),
    # too deep and a `_url` too: the depth is refused first
    (nested(MAX_DATA_DEPTH + 5, {"_url": 1}), f"more than {MAX_DATA_DEPTH} levels deep"),
])
def test_check_shape_refuses_and_names_the_place(data: Any, message: str) -> None:
    with pytest.raises(DataError) as info:
        check_shape(data, where="samples/x.json", label="sample 'x': ")
    assert message in info.value.message and info.value.message.startswith("sample 'x': ")


@pytest.mark.parametrize("data", [
    nested(MAX_DATA_DEPTH, {"x": 1}), {"a": [1, "_url", None, 2.5, {"b": ["_url"]}]}, {"url": {"x": "_url"}},
    ["not", "an", "object"], "text", 5,
])
def test_check_shape_lets_through_what_it_always_let_through(data: Any) -> None:
    check_shape(data, where="samples/x.json")


@pytest.mark.parametrize(("text", "root_to", "expected"), [
    ("Hi {{ name }}!", None, "Hi {{{name}}}!"),
    ("{{~name~}} {{~ a.b}} {{c ~}}", None, "{{~{name}~}} {{~{a.b}}} {{{c}~}}"),
    ("{{& raw}} {{~& raw}} {{{kept}}}", None, "{{& raw}} {{~& raw}} {{{kept}}}"),  # raw already
    ("{{#if @root.on}}{{@root.x}}{{/if}}", "_html", "{{#if @root._html.on}}{{{@root._html.x}}}{{/if}}"),
    ("{{#each l}}{{this}}{{/each}}{{! note }}", None, "{{#each l}}{{{this}}}{{/each}}{{! note }}"),
    ("no tags at all", "_html", "no tags at all"),
])
def test_unescape_outputs_writes_every_output_triple(text: str, root_to: str | None, expected: str) -> None:
    from letterhead.authoring.safety import unescape_outputs

    assert unescape_outputs(text, root_to=root_to) == expected
