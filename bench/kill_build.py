"""Kill ``letterhead build`` and look at what it leaves (issue 10, section 3).

The promise (see ``letterhead.authoring.swap``): after a kill at any moment,
``ses_templates/`` and ``build/`` are both old or both new as the next
command sees them, and the next build leaves no staging folder behind.

Two ways to kill:

random (default)
    ``--tries`` times, a real ``letterhead build`` subprocess rebuilding a
    generated project of ``--templates`` templates (every subject changed, so
    both folders change) gets SIGKILL: every other try at a random moment of
    the whole run, the others at a random moment after a staging folder
    appears (the write phase, which is short).  Then the next command that
    reads the outputs runs (``letterhead render``), then ``letterhead build``.
--points
    Deterministic and exhaustive: each file-system step of the write phase
    (every ``mkdir``, ``link``, ``fsync``, ``replace``, ``unlink``,
    ``rmdir``) in turn, a forked build dies (``os._exit``) just before step
    k, for k = 1, 2, ... until a build completes; the same for each step of
    the recovery that follows a kill.  Twice: rebuilding an existing project,
    and a first build (no outputs yet: "old" is "both missing").

For each run the script compares both folders, file by file (SHA-256), with
the expected old and new outputs, and prints the counts.  Exit status 1 when
any run is inconsistent, not new after the next build, or leaves leftovers.

Usage::

    .venv/bin/python bench/kill_build.py [--tries 60] [--templates 30] [--seed N]
    .venv/bin/python bench/kill_build.py --points [--templates 2]
    ... --json     # every run's outcome, for tests/test_atomic_build.py
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
LETTERHEAD = Path(sys.executable).parent / "letterhead"
OUTPUTS = ("ses_templates", "build")
# Leftovers: staging and old folders of any version, the swap record.
LEFTOVER = re.compile(r"\.(ses_templates|build)\..+|\.letterhead-swap\.json(\.tmp)?")
# The file-system steps a kill lands between, in --points mode.
STEPS = ("mkdir", "link", "fsync", "replace", "rename", "unlink", "rmdir")

Fingerprint = dict[str, str] | None  # relative path -> sha256; None: no folder


def _bench_build() -> Any:
    """bench/build.py (the project generator), under a name that cannot
    shadow ``letterhead.authoring.build``."""
    if "bench_build" in sys.modules:
        return sys.modules["bench_build"]
    spec = importlib.util.spec_from_file_location("bench_build", ROOT / "bench" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_build"] = module
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------
# Observing a project
# --------------------------------------------------------------------------


def fingerprint(folder: Path) -> Fingerprint:
    if not folder.is_dir():
        return None
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def fingerprints(root: Path) -> tuple[Fingerprint, Fingerprint]:
    return fingerprint(root / OUTPUTS[0]), fingerprint(root / OUTPUTS[1])


@dataclass(frozen=True)
class Expected:
    old: tuple[Fingerprint, Fingerprint]
    new: tuple[Fingerprint, Fingerprint]

    def state(self, root: Path) -> str:
        """``old``, ``new`` (both folders), or ``ses=X build=Y`` when they differ."""
        names = []
        for i, fp in enumerate(fingerprints(root)):
            names.append("old" if fp == self.old[i] else "new" if fp == self.new[i] else
                         "missing" if fp is None else "other")
        return names[0] if names[0] == names[1] else f"ses={names[0]} build={names[1]}"


def tree_signature(root: Path) -> tuple[tuple[str, str], ...]:
    """Everything on disk except the caches: two kills that leave the same
    signature are recovered alike (a kill is not a power cut: what was not
    fsynced is there all the same)."""
    items = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if rel.startswith(".letterhead-cache"):
            continue
        items.append((rel, hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"))
    return tuple(items)


def leftovers(root: Path) -> list[str]:
    return sorted(e.name for e in os.scandir(root) if LEFTOVER.fullmatch(e.name))


# --------------------------------------------------------------------------
# The project: old outputs on disk, sources changed so that both folders change
# --------------------------------------------------------------------------


def change(root: Path) -> None:
    """A change that reaches both folders: every template's subject."""
    for subject in sorted((root / "templates_src").glob("*/subject.txt")):
        subject.write_text(subject.read_text(encoding="utf-8").rstrip("\n") + " (v2)\n", encoding="utf-8")


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return subprocess.run([str(LETTERHEAD), "--root", str(root), *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)


def _must(proc: subprocess.CompletedProcess[str], what: str) -> None:
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed (exit {proc.returncode}):\n{(proc.stderr or proc.stdout)[-3000:]}")


def _cli_build(root: Path) -> None:
    _must(cli(root, "build"), f"the build of {root.name}")


def prepare(work: Path, n: int, first: bool = False,
            build: Callable[[Path], None] = _cli_build) -> tuple[Path, Expected]:
    """``work/pristine``: a project of ``n`` templates, built unless ``first``
    (with a file of its own in ses_templates/, which both states keep).  The
    new outputs are those of a build after :func:`change`, in a copy.
    ``build``: the same code as the builds that get killed (letterhead's
    sources may be edited while this runs)."""
    pristine = work / "pristine"
    _bench_build().make_project(pristine, n=n)
    if not first:
        build(pristine)
        deployed = pristine / "ses_templates" / "deployed"
        deployed.mkdir()
        (deployed / "default.json").write_text('{"env": "default"}\n', encoding="utf-8")
    expected = work / "expected"
    shutil.copytree(pristine, expected, symlinks=True)
    change(expected)
    build(expected)
    result = Expected(old=fingerprints(pristine), new=fingerprints(expected))
    shutil.rmtree(expected)
    if result.old == result.new or None in result.new:
        raise SystemExit("the change did not change both folders")
    return pristine, result


def reset(pristine: Path, root: Path) -> None:
    """The project as it was before the build that gets killed."""
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(pristine, root, symlinks=True)
    change(root)


# --------------------------------------------------------------------------
# Random SIGKILLs of real `letterhead build` processes
# --------------------------------------------------------------------------


@dataclass
class Outcome:
    run: str
    at_kill: str          # the folders right after the kill (mid-swap is allowed here)
    pending: bool         # a swap record was on disk after the kill
    seen: str             # as the next command that reads them sees them: must be old or new
    final: str            # after the next build: must be new
    leftovers: list[str] = field(default_factory=list)  # after the next build: must be none
    finished: bool = False  # the build ended before the kill

    @property
    def ok(self) -> bool:
        return self.seen in ("old", "new") and self.final == "new" and not self.leftovers


def _staging_seen(root: Path) -> bool:
    return any(LEFTOVER.fullmatch(e.name) for e in os.scandir(root))


def _kill_when(proc: subprocess.Popen[bytes], root: Path, delay: float, after_staging: bool) -> None:
    """SIGKILL ``proc`` ``delay`` seconds after it starts, or after the first
    staging folder appears (polled every half millisecond)."""
    start = time.perf_counter()
    if after_staging:
        while proc.poll() is None and not _staging_seen(root):
            time.sleep(0.0005)
        start = time.perf_counter()
    while proc.poll() is None and time.perf_counter() - start < delay:
        time.sleep(0.0005)
    proc.kill()
    proc.wait()


def _after_kill(name: str, root: Path, expected: Expected, finished: bool,
                read: Callable[[], None], rebuild: Callable[[], None]) -> Outcome:
    at_kill = expected.state(root)
    pending = (root / ".letterhead-swap.json").exists()
    read()
    seen = expected.state(root)
    rebuild()
    return Outcome(name, at_kill, pending, seen, expected.state(root), leftovers(root), finished)


def random_kills(work: Path, tries: int, n: int, seed: int) -> list[Outcome]:
    rng = random.Random(seed)
    pristine, expected = prepare(work, n)
    root = work / "project"
    template = sorted(p.name for p in (pristine / "templates_src").iterdir()
                      if p.is_dir() and not p.name.startswith(("_", ".")))[0]
    # One unkilled build: how long the whole run and its write phase take.
    reset(pristine, root)
    proc = subprocess.Popen([str(LETTERHEAD), "--root", str(root), "build"], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.perf_counter()
    while proc.poll() is None and not _staging_seen(root):
        time.sleep(0.0005)
    t_write = time.perf_counter()
    proc.wait()
    total, writing = time.perf_counter() - t0, max(time.perf_counter() - t_write, 0.005)
    outcomes = []
    for i in range(tries):
        reset(pristine, root)
        after_staging = i % 2 == 1
        delay = rng.uniform(0, writing if after_staging else total)
        proc = subprocess.Popen([str(LETTERHEAD), "--root", str(root), "build"], cwd=root,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _kill_when(proc, root, delay, after_staging)
        label = f"try {i + 1}: kill {delay * 1000:.0f} ms after {'staging began' if after_staging else 'start'}"
        outcomes.append(_after_kill(
            label, root, expected, proc.returncode == 0,
            read=lambda: cli(root, "render", template, "--part", "subject"),
            rebuild=lambda: _cli_build(root),
        ))
    return outcomes


# --------------------------------------------------------------------------
# Every kill point, deterministically (forked builds that die at step k)
# --------------------------------------------------------------------------


def _die_at(k: int) -> Callable[[], None]:
    """Patch the file-system steps so that step ``k`` (counted once armed)
    ends the process as SIGKILL would: no clean-up, no ``finally``."""
    count = 0

    def wrap(real: Callable[..., Any]) -> Callable[..., Any]:
        def step(*a: Any, **kw: Any) -> Any:
            nonlocal count
            count += 1
            if count == k:
                os._exit(137)
            return real(*a, **kw)
        return step

    def arm() -> None:
        for name in STEPS:
            setattr(os, name, wrap(getattr(os, name)))
    return arm


def _forked(k: int, action: Callable[[Callable[[], None]], None]) -> bool:
    """Run ``action(arm)`` in a child that dies at step ``k``; True when
    it completed (there is no step ``k``)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            action(_die_at(k))
        except BaseException:
            import traceback

            traceback.print_exc()
            os._exit(3)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 137):
        raise SystemExit(f"the forked build failed (exit {code}) at step {k}")
    return code == 0


def kill_points(work: Path, n: int, first: bool, recoveries: bool = True) -> tuple[list[Outcome], int]:
    """Every step of the write phase; for each kill that left the swap
    pending (the recovery rolls forward: the interesting one), every step of
    that recovery too, once for each distinct state on disk.  Returns the
    outcomes and the number of steps of an uninterrupted write phase."""
    import letterhead.authoring.build as lb
    from letterhead.config import load_config
    from letterhead.authoring.payload import Manifest

    pristine, expected = prepare(work, n, first=first, build=lambda root: lb.build(load_config(root)))
    root = work / "project"
    killed = work / "killed"
    label = "first build" if first else "rebuild"

    def build_dying(arm: Callable[[], None]) -> None:
        real = lb.write_all

        def armed(*a: Any, **kw: Any) -> Any:
            arm()
            return real(*a, **kw)

        lb.write_all = armed  # type: ignore[assignment]
        lb.build(load_config(root))

    def recover_dying(arm: Callable[[], None]) -> None:
        arm()
        lb.recover_interrupted_write(load_config(root))

    def read() -> None:  # what `letterhead render`, `sync` and `send` do first
        Manifest.load(load_config(root).ses_dir)

    def rebuild() -> None:
        lb.build(load_config(root))

    outcomes: list[Outcome] = []
    recovered: set[tuple[tuple[str, str], ...]] = set()
    k = 0
    while True:
        k += 1
        reset(pristine, root)
        if _forked(k, build_dying):
            return outcomes, k - 1
        interrupted = recoveries and (root / ".letterhead-swap.json").exists()
        if interrupted:
            signature = tree_signature(root)
            interrupted = signature not in recovered
            recovered.add(signature)
        if interrupted:
            if killed.exists():
                shutil.rmtree(killed)
            shutil.copytree(root, killed, symlinks=True)
        outcomes.append(_after_kill(f"{label}: killed at write step {k}", root, expected, False, read, rebuild))
        j = 0
        while interrupted:
            j += 1
            shutil.rmtree(root)
            shutil.copytree(killed, root, symlinks=True)
            if _forked(j, recover_dying):
                break
            outcomes.append(_after_kill(f"{label}: killed at write step {k}, then at recovery step {j}",
                                        root, expected, False, read, rebuild))


# --------------------------------------------------------------------------


def summary(outcomes: Sequence[Outcome], what: str) -> str:
    n = len(outcomes)
    lines = [f"{what}: {n} run(s)"]
    raw = sum(o.at_kill in ("old", "new") for o in outcomes)
    lines.append(f"  right after the kill, both old or both new:      {raw}/{n}"
                 f"  (swap pending: {sum(o.pending for o in outcomes)})")
    lines.append(f"  as the next command sees them (consistent):      {sum(o.seen in ('old', 'new') for o in outcomes)}/{n}"
                 f"  (old {sum(o.seen == 'old' for o in outcomes)}, new {sum(o.seen == 'new' for o in outcomes)})")
    lines.append(f"  new after the next build:                        {sum(o.final == 'new' for o in outcomes)}/{n}")
    lines.append(f"  leftovers after the next build:                  {sum(bool(o.leftovers) for o in outcomes)}/{n}")
    finished = sum(o.finished for o in outcomes)
    if finished:
        lines.append(f"  (the build had finished before its kill in {finished})")
    for o in outcomes:
        if not o.ok:
            lines.append(f"  FAIL {o.run}: seen {o.seen}, after the next build {o.final}, leftovers {o.leftovers}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", action="store_true", help="every kill point of the write phase, in forked builds")
    parser.add_argument("--tries", type=int, default=60, help="random kills (default 60)")
    parser.add_argument("--templates", type=int, default=None, help="project size (default 30; 2 with --points)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print every run's outcome as JSON")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    with tempfile.TemporaryDirectory(prefix="letterhead-kill-") as tmp:
        work = Path(tmp)
        if args.points:
            n = args.templates or 2
            report: dict[str, Any] = {}
            outcomes: list[Outcome] = []
            for first in (False, True):
                sub = work / ("first" if first else "rebuild")
                sub.mkdir()
                got, steps = kill_points(sub, n, first)
                report["first_steps" if first else "rebuild_steps"] = steps
                outcomes += got
            what = (f"every kill point of a rebuild ({report['rebuild_steps']} steps) and a first build "
                    f"({report['first_steps']} steps) of {n} template(s), and of the recoveries")
        else:
            seed = args.seed if args.seed is not None else random.randrange(1 << 30)
            n = args.templates or 30
            outcomes = random_kills(work, args.tries, n, seed)
            report = {"seed": seed}
            what = f"SIGKILL of `letterhead build` on {n} templates at random moments (seed {seed})"
    if args.json:
        print(json.dumps({**report, "runs": [{**asdict(o), "ok": o.ok} for o in outcomes]}, indent=1))
    else:
        print(summary(outcomes, what))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
