"""How a parallel build deals out its work (letterhead.authoring.build._by_template)."""

from __future__ import annotations

from pathlib import Path

from letterhead.authoring.build import Job, _by_template
from letterhead.authoring.variants import Variant


def _jobs(templates: dict[str, int]) -> list[Job]:
    return [(Variant(f"{t}__{i}" if i else t, t, f"l{i}" if i else None), None, True, None)
            for t, n in templates.items() for i in range(n)]


def test_a_templates_variants_go_together_the_longest_first_and_the_last_ones_alone() -> None:
    sizes = {f"t{i:02d}": 100 + (i * 37) % 200 for i in range(12)}
    jobs = _jobs(dict.fromkeys(sizes, 4))
    dealt = _by_template(jobs, 2, sizes.__getitem__)
    assert sorted(j for group in dealt for j in group) == sorted(jobs)  # every job once
    by_cost = sorted(sizes, key=sizes.__getitem__, reverse=True)
    whole = dealt[:10]
    assert [g[0][0].template for g in whole] == by_cost[:10]
    assert all(len(g) == 4 and len({j[0].template for j in g}) == 1 for g in whole)
    assert [len(g) for g in dealt[10:]] == [1] * 8  # the two shortest templates, a variant a job
    assert {g[0][0].template for g in dealt[10:]} == set(by_cost[10:])


def test_variants_weigh_in_and_ties_keep_the_projects_order() -> None:
    jobs = _jobs({"small_many": 4, **{f"t{i}": 1 for i in range(8)}, "big_one": 1})
    cost = {"small_many": 100, "big_one": 300}.get
    dealt = _by_template(jobs, 2, lambda t: cost(t) or 50)
    assert [g[0][0].template for g in dealt[:3]] == ["small_many", "big_one", "t0"]


def test_few_templates_go_a_variant_a_job() -> None:
    jobs = _jobs({"a": 4, "b": 4, "c": 4})
    assert _by_template(jobs, 2) == [[j] for j in jobs]


def test_a_full_build_keeps_each_variants_deployed_name(tmp_path: Path) -> None:
    """The last manifest lends each variant its deployed name; a full build
    reads it while the workers compile and puts each name back."""
    import json
    import shutil

    from click.testing import CliRunner

    from letterhead.cli import cli

    from .helpers import PROJECTS, make_project

    root = make_project(tmp_path, PROJECTS / "locales")
    for i in range(12):  # enough templates for the workers
        shutil.copytree(root / "templates_src" / "welcome", root / "templates_src" / f"welcome{i:02d}")
    build = lambda *a: CliRunner().invoke(cli, ["--root", str(root), "build", *a])  # noqa: E731
    assert build().exit_code == 0
    path = root / "ses_templates" / "manifest.json"
    manifest = json.loads(path.read_text())
    names = {"welcome__es": "prod-welcome-es-1", "welcome07__ar": "prod-welcome07-ar-2", "welcome03": "prod-w3"}
    for name, deployed in names.items():
        manifest["templates"][name]["deployed_name"] = deployed
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    for args in (["--force"], [], ["--force"]):
        result = build(*args)
        assert result.exit_code == 0, result.output
        kept = json.loads(path.read_text())["templates"]
        assert {n: kept[n].get("deployed_name") for n in names} == names
        assert sum(1 for e in kept.values() if e.get("deployed_name")) == len(names)
    assert build("--check").exit_code == 0
    path.write_text("{ broken")
    result = build("--force")
    assert result.exit_code == 1 and "manifest is not valid JSON" in result.output
