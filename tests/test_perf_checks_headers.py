"""Headers' shortcuts give what the long way gives (session 7).

``contract_with_headers(..., contract=)`` merges the headers' variables into
the parts' contract instead of collecting every use again; a value printed in
a header's URI is encoded by ``safety.url_encoded`` instead of a whole
``prepare_data``.
"""

from __future__ import annotations

from typing import Any

import pytest

from letterhead import sestemplate
from letterhead.authoring.contexts import URL_DATA_KEY
from letterhead.authoring.headers import contract_with_headers, render_headers
from letterhead.authoring.safety import prepare_data
from letterhead.errors import Location

WHERE = Location("templates_src/t/template.toml")

PARTS = [
    ("{{l.x}}", "{{{a.c}}} {{#each l}}{{#each this}}{{this}}{{/each}}{{/each}} {{#with a}}{{b}}{{/with}}",
     "{{a.b}} {{#if a}}{{a.d}}{{/if}} {{#each b.c}}{{d}}{{/each}}"),
    ("Hi {{name}}", "<p>{{#each items}}{{title}}{{/each}}</p>", "{{#with user}}{{id}}{{/with}}"),
]
HEADERS = [
    {"X-A": "{{a.b}} {{l.x}}", "X-B": "<https://x.example/?t={{token}}>"},
    {"X-A": "{{name}} {{user.id}} {{items}}", "X-B": "{{b.c.d}}"},
    # not a header check_headers lets through, but the contract's own rule must still hold:
    # a list's items on both sides are merged as one (the long way is taken)
    {"X-A": "{{#each l}}{{x}}{{/each}} {{l}}"},
    {"X-A": "{{#each items}}{{#each this}}{{this}}{{/each}}{{/each}}"},
]


@pytest.mark.parametrize("parts", PARTS)
@pytest.mark.parametrize("headers", HEADERS)
def test_the_merged_contract_is_the_collected_one(parts: tuple[str, str, str], headers: dict[str, str]) -> None:
    parsed = [sestemplate.parse(p, origin=f"part{i}") for i, p in enumerate(parts)]
    lines = {"headers": 3, "headers.X-A": 4}
    collected = contract_with_headers(parsed, headers, WHERE, lines=lines)
    merged = contract_with_headers(parsed, headers, WHERE, lines=lines, contract=sestemplate.contract(*parsed))
    assert merged == collected
    assert merged.to_json() == collected.to_json()
    assert list(merged.variables) == sorted(merged.variables)


@pytest.mark.parametrize("value", ["a b/é?&=#%", 42, 4.5, 1e21, -0.0, True, False, "", "x+y@z.example"])
def test_a_uri_value_is_encoded_as_prepare_data_encodes_it(value: Any) -> None:
    headers = {"List-Unsubscribe": "<https://x.example/u?t={{token}}>"}
    if value == "":
        with pytest.raises(Exception, match="is empty"):
            render_headers(headers, {"token": value})
        return
    ((_, printed),) = render_headers(headers, {"token": value})
    expected = prepare_data({"token": value}, (), ("token",))[URL_DATA_KEY]["token"]
    assert printed == f"<https://x.example/u?t={expected}>"
