"""Session 8: a template's data shape (``letterhead types``, the JSON Schemas
a build writes) merges its variants' contracts without their locations (a
shape reads none) and parses the variants' common headers once; the shapes
are those of the code it replaced (kept below as the reference), on built
projects and on random manifests (variants alike and not, nested fields,
list items, headers, locations in any order).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from letterhead.authoring.payload import Manifest, ManifestEntry
from letterhead.authoring.types import (
    DataField,
    Shape,
    TemplateShape,
    _declared_shape,
    _header_variables,
    data_shapes,
    merge,
    template_shape,
)
from letterhead.cli import cli
from letterhead.sestemplate import Contract, Variable

from .helpers import PROJECTS, make_project


def reference_shape(name: str, entries: list[ManifestEntry]) -> TemplateShape:
    """template_shape before session 8."""
    entries = sorted(entries, key=lambda e: (e.name != name, e.name))
    main = entries[0]
    variables: dict[str, Variable] = {}
    for entry in entries:
        for var in [*Contract.from_json(entry.contract).variables.values(), *_header_variables(entry)]:
            variables[var.name] = merge(variables[var.name], var) if var.name in variables else var
    declared = main.variables
    fields = []
    for key in sorted({*variables, *declared}):
        spec = declared.get(key)
        used = variables.get(key)
        description = str(spec.get("description", "")) if isinstance(spec, dict) else ""
        fields.append(DataField(key, bool(used and used.required), _declared_shape(used, spec, (key,)),
                                description))
    return TemplateShape(name, main.description, Shape("object", fields=tuple(fields)),
                         tuple(e.name for e in entries))


FLAGS = ("required", "output", "raw", "tested", "iterated", "scoped", "item_output", "item_required", "item_raw")
NAMES = ["a", "b", "items", "[]", "x_y", "date"]
TYPES = ["string", "email", "url", "color", "integer", "number", "boolean", "list", "object"]
HEADERS = [{}, {"List-Id": "{{list_id}}"}, {"X-A": "{{a.b}} {{#if c}}{{d}}{{/if}}", "X-B": "{{a}}"}]


def variable(rng: random.Random, depth: int) -> dict[str, Any]:
    data: dict[str, Any] = {flag: rng.random() < 0.4 for flag in FLAGS if rng.random() < 0.9}
    data["locations"] = [f"templates_src/t/{rng.choice(['template.mjml', 'subject.txt'])}:{rng.randint(1, 9)}"
                         for _ in range(rng.randint(0, 3))]
    if depth < 3 and rng.random() < 0.5:
        data["fields"] = {rng.choice(NAMES): variable(rng, depth + 1) for _ in range(rng.randint(1, 3))}
    return data


def contract(rng: random.Random) -> dict[str, Any]:
    return {rng.choice(NAMES): variable(rng, 0) for _ in range(rng.randint(0, 5))}


def relocated(rng: random.Random, data: Any) -> Any:
    """The same contract at other lines (a translated variant)."""
    if isinstance(data, dict):
        return {k: ([f"templates_src/_locales/es/LC_MESSAGES/messages.po:{rng.randint(1, 99)}" for _ in v]
                    if k == "locations" else relocated(rng, v)) for k, v in data.items()}
    return data


def entries(rng: random.Random) -> list[ManifestEntry]:
    first = contract(rng)
    headers = rng.choice(HEADERS)
    declared = {name: {"type": rng.choice(TYPES), "description": f"the {name}"}
                for name in rng.sample(NAMES, rng.randint(0, 3))}
    out = []
    for i, locale in enumerate(["", "es", "ar", "pt_BR"][: rng.randint(1, 4)]):
        data = relocated(rng, first) if i and rng.random() < 0.7 else contract(rng) if i else first
        out.append(ManifestEntry.from_json(f"t__{locale}" if locale else "t", {
            "contract": data, "variables": declared, "description": "T",
            "headers": headers if rng.random() < 0.9 else rng.choice(HEADERS)}))
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_random_manifests_give_the_shapes_of_the_old_code(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(300):
        got = entries(rng)
        assert template_shape("t", got) == reference_shape("t", got)


@pytest.mark.parametrize("overlay", ["locales", "headers-bulk", "base"])
def test_built_projects_give_the_shapes_of_the_old_code(tmp_path: Path, overlay: str) -> None:
    root = make_project(tmp_path, PROJECTS / overlay) if overlay != "base" else make_project(tmp_path)
    result = CliRunner().invoke(cli, ["--root", str(root), "build"])
    assert result.exit_code == 0, result.output
    manifest = Manifest.load(root / "ses_templates")
    by_template: dict[str, list[ManifestEntry]] = {}
    for entry in manifest.templates.values():
        by_template.setdefault(entry.logical_name, []).append(entry)
    shapes = data_shapes(manifest)
    assert shapes and shapes == [reference_shape(t.name, by_template[t.name]) for t in shapes]
