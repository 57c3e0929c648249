"""same_shape: whether two variants' contracts are the same but for their
source locations, as contract_shape compares them."""

from __future__ import annotations

import random
from typing import Any

from letterhead.authoring.variants import contract_shape, same_shape


def _random(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.45:
        keys = rng.sample(["a", "b", "locations", "fields", "output", "required"], rng.randint(0, 4))
        return {k: _random(rng, depth + 1) for k in keys}
    if roll < 0.55:
        return [rng.choice(["x.mjml:1", "y.po:3"]) for _ in range(rng.randint(0, 2))]
    return rng.choice([True, False, 0, 1, "text", None])


def _mutate(rng: random.Random, value: Any) -> Any:
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(sorted(value))
        return {**value, key: _mutate(rng, value[key])}
    return _random(rng, 2)


def test_same_shape_agrees_with_contract_shape() -> None:
    rng = random.Random(13)
    agreed = {True: 0, False: 0}
    for _ in range(20000):
        a = _random(rng)
        b = _mutate(rng, a) if rng.random() < 0.7 else a
        if isinstance(b, dict) and "locations" in b and rng.random() < 0.5:
            b = {**b, "locations": ["elsewhere.po:9"]}  # locations never count
        want = contract_shape(a) == contract_shape(b)
        assert same_shape(a, b) is want, (a, b)
        agreed[want] += 1
    assert min(agreed.values()) > 2000  # both answers were tried often


def test_locations_at_any_depth_do_not_count() -> None:
    a = {"name": {"output": True, "locations": ["a.mjml:1"], "fields": {"x": {"locations": ["a.mjml:2"]}}}}
    b = {"name": {"output": True, "locations": ["es.po:7"], "fields": {"x": {"locations": []}}}}
    assert same_shape(a, b)
    assert not same_shape(a, {"name": {"output": False, "locations": ["a.mjml:1"], "fields": {"x": {}}}})
