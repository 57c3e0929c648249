"""What the locale variants of one template share during a build (issue 13,
speed): its sources are read once, by one process, for all its locales; and
what is worked out once (translations, checked sample data) still reaches
every variant as if each had worked it out alone.

``tests/projects/locales``: ``welcome`` in en, es and ar; the ar catalogue
leaves "Open" untranslated.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from letterhead.cli import cli

from .helpers import PROJECTS, make_project, snapshot


def _copies(root: Path, n: int) -> list[str]:
    names = [f"welcome{i:02d}" for i in range(n)]
    for name in names:
        shutil.copytree(root / "templates_src" / "welcome", root / "templates_src" / name)
    return names


def test_a_parallel_build_reads_each_template_once_for_all_its_locales(tmp_path: Path) -> None:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    root = make_project(tmp_path, PROJECTS / "locales")
    names = ["welcome", *_copies(root, 4 * min(cpus, 8))]  # enough templates to hand out whole
    reads = tmp_path / "reads"
    # In a fresh process (a build never forks beside threads), each read of
    # a template's sources noted in a file the forked workers append to.
    script = (
        "import sys\n"
        "import letterhead.authoring.build as b\n"
        "import letterhead.authoring.workers as w\n"
        "from pathlib import Path\n"
        "from letterhead.config import load_config\n"
        "real = b.load_source\n"
        "def spy(config, name):\n"
        f"    with open({str(reads)!r}, 'a') as fh:\n"
        "        fh.write(name + '\\n')\n"
        "    return real(config, name)\n"
        "b.load_source = spy\n"
        "maps = []\n"
        "real_map = w.fork_map\n"
        "w.fork_map = lambda *a, **k: (maps.append(1), real_map(*a, **k))[1]\n"
        "b.build(load_config(Path(sys.argv[1])), force=True)\n"
        "print(len(maps))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    if cpus > 1:
        assert proc.stdout.strip() == "1", "the build did not use worker processes"
    read = collections.Counter(reads.read_text().split())
    assert set(read) == set(names)
    # Each worker reads a template once for all its locales; only the last
    # templates dealt out go a variant a job (the workers end together), so
    # each worker may read those once too.
    workers = min(cpus, 8)
    assert max(read.values()) <= workers, "a worker read a template's sources more than once"
    assert sum(n > 1 for n in read.values()) <= workers, "templates other than the last ones were split"

    # The same bytes as a build in one process.
    parallel = {**snapshot(root / "ses_templates"), **snapshot(root / "build")}
    shutil.rmtree(root / "ses_templates")
    shutil.rmtree(root / "build")
    env = {**os.environ, "LETTERHEAD_PARALLEL_FROM": "100000"}
    proc = subprocess.run([sys.executable, "-m", "letterhead", "--root", str(root), "build", "--force"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert {**snapshot(root / "ses_templates"), **snapshot(root / "build")} == parallel


def test_each_variant_lists_its_untranslated_messages_though_translations_are_looked_up_once(
        tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "locales")
    names = ["welcome", *_copies(root, 2)]
    result = CliRunner().invoke(cli, ["--root", str(root), "build", "--json"])
    assert result.exit_code == 0, result.output
    reports = {t["name"]: t for t in json.loads(result.output)["templates"]}
    for name in names:
        assert reports[f"{name}__ar"]["untranslated"] == ["Open"]
        assert reports[f"{name}__es"]["untranslated"] == []
    manifest = json.loads((root / "ses_templates" / "manifest.json").read_text())
    assert all(manifest["templates"][f"{n}__ar"]["untranslated"] == ["Open"] for n in names)


def test_a_sample_that_breaks_a_check_fails_every_variant_that_reads_it(tmp_path: Path) -> None:
    # The first variant's checks are not remembered as passed when they failed.
    root = make_project(tmp_path, PROJECTS / "locales")
    samples = root / "templates_src" / "welcome" / "samples"
    data = json.loads((samples / "default.json").read_text())
    (samples / "default.json").write_text(json.dumps({**data, "_url": {"x": 1}}))
    result = CliRunner().invoke(cli, ["--root", str(root), "build", "--json"])
    assert result.exit_code == 1, result.output
    assert "_url" in result.output
    assert not (root / "ses_templates").exists()
