"""Both output folders change together (issue 10, section 3; letterhead.authoring.swap).

A build killed at any moment leaves ``ses_templates/`` and ``build/`` both old
or both new as the next command sees them, and the next build removes every
leftover.  The kills are real: forked builds that die (``os._exit``) at each
file-system step of the write phase, and SIGKILLs of ``letterhead build``
processes; both come from ``bench/kill_build.py``, which does many more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .helpers import REPO, make_project, run_cli, snapshot

KILL = REPO / "bench" / "kill_build.py"
RECORD = ".letterhead-swap.json"


def _kill_script(*args: str, tmp: Path) -> dict[str, Any]:
    # The forked builds fsync; a RAM disk (when there is one) keeps the many
    # kill points quick without changing what a kill leaves.
    shm = Path("/dev/shm")
    env = {**os.environ, "TMPDIR": str(shm if shm.is_dir() and os.access(shm, os.W_OK) else tmp)}
    proc = subprocess.run([sys.executable, str(KILL), *args, "--json"], capture_output=True, text=True,
                          env=env, timeout=900)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    return json.loads(proc.stdout)


def _failures(runs: list[dict[str, Any]]) -> list[str]:
    return [f"{r['run']}: seen {r['seen']}, after the next build {r['final']}, leftovers {r['leftovers']}"
            for r in runs if not r["ok"]]


@pytest.mark.slow
def test_every_kill_point_of_the_write_phase_leaves_both_old_or_both_new(tmp_path: Path) -> None:
    report = _kill_script("--points", "--templates", "1", tmp=tmp_path)
    runs = report["runs"]
    assert _failures(runs) == []
    # The enumeration really walked a write phase (staging, record, renames,
    # clean-up) of a rebuild and of a first build ...
    assert report["rebuild_steps"] >= 20 and report["first_steps"] >= 10
    # ... hit the window between the renames (half swapped on disk) and the
    # recoveries of it, and saw both outcomes.
    assert any(r["at_kill"] not in ("old", "new") and r["pending"] for r in runs)
    assert any("recovery step" in r["run"] for r in runs)
    assert {r["seen"] for r in runs} == {"old", "new"}


@pytest.mark.slow
def test_sigkill_of_letterhead_build_at_random_moments(tmp_path: Path) -> None:
    report = _kill_script("--tries", "6", "--templates", "30", "--seed", "10", tmp=tmp_path)
    assert len(report["runs"]) == 6
    assert _failures(report["runs"]) == []


# -- a swap left pending (the build stopped after its commit point) ------------


def _pending_swap(root: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Build, change the subject, and stop the next build after it renamed
    ses_templates/ aside and before the new one took its place (the raw
    state a kill there leaves: the record, no ses_templates/, old build/).
    Returns every file of the project as it is then."""
    import letterhead.authoring.build as lb
    from letterhead.config import load_config

    lb.build(load_config(root))
    (root / "templates_src" / "welcome" / "subject.txt").write_text("Changed [[ brand.name ]], {{name}}\n")
    real = os.replace

    def stop(src: Any, dst: Any) -> None:
        if Path(dst) == root / "ses_templates":
            raise KeyboardInterrupt("killed")
        real(src, dst)

    monkeypatch.setattr(os, "replace", stop)
    with pytest.raises(KeyboardInterrupt):
        lb.build(load_config(root))
    monkeypatch.setattr(os, "replace", real)
    assert (root / RECORD).is_file() and not (root / "ses_templates").exists()
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_reader_finishes_a_committed_swap_before_reading(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _pending_swap(project, monkeypatch)
    proc = run_cli("render", "welcome", "--part", "subject", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "Changed" in proc.stdout
    assert not (project / RECORD).exists() and not list(project.glob(".ses_templates.*"))
    assert b"Changed" in (project / "build" / "welcome" / "subject.txt").read_bytes()  # both new


def test_a_reader_that_cannot_finish_the_swap_says_what_to_do(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from letterhead.authoring.payload import Manifest
    from letterhead.authoring.swap import InterruptedSwapError

    _pending_swap(project, monkeypatch)

    def read_only(src: Any, dst: Any) -> None:
        raise PermissionError(30, "Read-only file system", str(src))

    monkeypatch.setattr(os, "replace", read_only)
    with pytest.raises(InterruptedSwapError) as err:
        Manifest.load(project / "ses_templates")
    assert err.value.location is not None and err.value.location.path.endswith(RECORD)
    assert "Read-only file system" in str(err.value) and "run `letterhead build`" in (err.value.hint or "")


def test_check_refuses_a_pending_swap_and_writes_nothing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _pending_swap(project, monkeypatch)
    proc = run_cli("build", "--check", cwd=project)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{RECORD}: a build was interrupted" in proc.stderr and "run `letterhead build`" in proc.stderr
    after = {p.relative_to(project).as_posix(): p.read_bytes() for p in sorted(project.rglob("*")) if p.is_file()}
    assert after == before
    # The next build finishes the swap; then the check passes.
    assert run_cli("build", cwd=project).returncode == 0
    assert not (project / RECORD).exists()
    assert run_cli("build", "--check", cwd=project).returncode == 0


def test_check_never_writes_and_the_next_build_removes_leftovers(project: Path) -> None:
    assert run_cli("build", cwd=project).returncode == 0
    # What killed builds of this and earlier versions left: staging (with
    # the tempfile suffix of earlier versions), an old folder, a record's
    # temporary file.
    for leftover in (".ses_templates.new", ".build.k3_x9q2a", ".build.old"):
        (project / leftover / "welcome").mkdir(parents=True)
        (project / leftover / "welcome" / "template.html").write_text("half")
    (project / f"{RECORD}.tmp").write_text("{")
    (project / "templates_src" / "welcome" / "subject.txt").write_text("Stale [[ brand.name ]]\n")

    def tree() -> dict[str, bytes]:
        return {p.relative_to(project).as_posix(): p.read_bytes() for p in sorted(project.rglob("*"))
                if p.is_file() and not p.relative_to(project).as_posix().startswith(".letterhead-cache/jinja/")}

    before = tree()
    proc = run_cli("build", "--check", cwd=project)
    assert proc.returncode == 2 and "out of date" in proc.stderr
    assert tree() == before  # not the outputs, not the build cache, not the leftovers
    assert run_cli("build", cwd=project).returncode == 0
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".")) == [".letterhead-cache"]
    assert b"Stale" in (project / "build" / "welcome" / "subject.txt").read_bytes()


def test_the_leftover_names_are_git_ignored() -> None:
    names = [".ses_templates.new/welcome.json", ".build.k3_x9q2a/welcome/template.html", ".build.old/x", RECORD,
             f"{RECORD}.tmp"]
    proc = subprocess.run(["git", "check-ignore", "--no-index", *names], cwd=REPO, capture_output=True, text=True)
    assert proc.stdout.split() == names
    kept = subprocess.run(["git", "check-ignore", "--no-index", "ses_templates/welcome.json", "build/w/x.html"],
                          cwd=REPO, capture_output=True, text=True)
    assert kept.returncode == 1 and kept.stdout == ""


def test_a_build_that_changes_nothing_leaves_the_folders_alone(project: Path) -> None:
    assert run_cli("build", cwd=project).returncode == 0
    folders = {name: os.stat(project / name).st_ino for name in ("ses_templates", "build")}
    html = project / "build" / "welcome" / "template.html"
    st = os.stat(html)
    proc = run_cli("build", cwd=project)
    assert proc.returncode == 0 and "0 file(s) written" in proc.stdout
    assert {name: os.stat(project / name).st_ino for name in folders} == folders  # not swapped
    assert (os.stat(html).st_ino, os.stat(html).st_mtime_ns) == (st.st_ino, st.st_mtime_ns)
    # A change to build/ only (a sample) swaps build/ alone; unchanged files
    # move over as links, not copies.
    sample = project / "templates_src" / "welcome" / "samples" / "default.json"
    data = json.loads(sample.read_text())
    data["name"] = "Someone else"
    sample.write_text(json.dumps(data))
    proc = run_cli("build", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert os.stat(project / "ses_templates").st_ino == folders["ses_templates"]
    assert os.stat(project / "build").st_ino != folders["build"]
    assert os.stat(html).st_ino == st.st_ino


def test_a_write_error_changes_nothing_and_is_a_located_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import letterhead.authoring.build as lb
    from letterhead.config import load_config
    from letterhead.errors import LetterheadError

    lb.build(load_config(project))
    before = snapshot(project / "ses_templates"), snapshot(project / "build")
    (project / "templates_src" / "welcome" / "subject.txt").write_text("Changed [[ brand.name ]]\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(LetterheadError) as err:
        lb.build(load_config(project))
    assert "No space left on device" in str(err.value) and "nothing was changed" in (err.value.hint or "")
    assert (snapshot(project / "ses_templates"), snapshot(project / "build")) == before
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".")) == [".letterhead-cache"]
