"""`letterhead check` speed: 50 templates x 2 samples, measured in this run.

(a) whole process: ``letterhead --root DIR check --json`` as a subprocess on
    a generated project of 50 templates (variations of the Calndr Club
    templates, bench/build.py's generator) with 2 samples each = 100
    samples, every check on (client support, static accessibility, axe-core,
    contrast and dark mode in ONE shared Chromium, SpamAssassin through one
    spamd scoring in parallel, links).  The project is built first, so the
    time is the check's.  Target: within 60 s on this machine.
(b) the baseline, the same work the straightforward way, measured on a
    handful of the same samples in this run and scaled to the 100: a fresh
    Chromium per sample (launch, axe-core, close) and one ``spamassassin -L
    -t`` process per sample, one after the other.  Printed as a ratio.

Usage::

    .venv/bin/python bench/check.py [--templates 50] [--baseline 6] [--keep DIR]

Exit status 1 when the target is missed (or a step fails).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LETTERHEAD = Path(sys.executable).parent / "letterhead"
SAMPLES_PER_TEMPLATE = 2
TARGET_SECONDS = 60.0

sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(BENCH))


def make_check_project(dest: Path, n: int) -> list[str]:
    """bench/build.py's generated project without locales, each template
    keeping exactly two samples."""
    from build import make_project  # bench/build.py

    names = make_project(dest, n)
    (dest / "pyproject.toml").write_text('[project]\nname = "bench-check"\nversion = "0"\n\n[tool.letterhead]\n'
                                         'lang = "en"\n', encoding="utf-8")
    shutil.rmtree(dest / "templates_src" / "_locales", ignore_errors=True)
    for name in names:
        folder = dest / "templates_src" / name / "samples"
        for sub in [p for p in folder.iterdir() if p.is_dir()]:  # samples/<locale>/
            shutil.rmtree(sub)
        samples = sorted(folder.glob("*.json"))
        if len(samples) < SAMPLES_PER_TEMPLATE:
            raise SystemExit(f"{name} has {len(samples)} samples, the bench needs {SAMPLES_PER_TEMPLATE}")
        for extra in samples[SAMPLES_PER_TEMPLATE:]:
            extra.unlink()
    return names


def run(cmd: list[str], what: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 2):
        raise SystemExit(f"{what} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return seconds, proc


def baseline(project: Path, count: int) -> float:
    """Seconds per sample, the straightforward way: a fresh Chromium running
    axe-core per sample, and a ``spamassassin`` process per sample."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    from letterhead.check.browser import find_chromium
    from letterhead.check.run import render_docs, select
    from letterhead.check.spam import mime_bytes
    from letterhead.authoring.payload import Manifest
    from letterhead.authoring.sources import load_source
    from letterhead.config import load_config

    config = load_config(project)
    entries = select(Manifest.load(config.ses_dir), ())
    sources = {e.name: load_source(config, e.name) for e in entries[:count]}
    docs = render_docs(config, entries[:count], sources)[:count]
    chromium = find_chromium(None)
    start = time.perf_counter()
    for doc in docs:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 600, "height": 900})
            page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("data:")
                       else route.continue_())
            page.set_content(doc.html)
            Axe().run(page)
            browser.close()
        subprocess.run(["spamassassin", "-L", "-t"], input=mime_bytes(doc, "notifications@example.org"),
                       capture_output=True, check=True)
    return (time.perf_counter() - start) / len(docs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--templates", type=int, default=50)
    parser.add_argument("--baseline", type=int, default=6, help="samples the baseline is measured on")
    parser.add_argument("--keep", type=Path, help="generate the project here and keep it")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="letterhead-bench-check-"))
    try:
        project = work / "project"
        if project.exists():
            shutil.rmtree(project)
        names = make_check_project(project, args.templates)
        n_samples = len(names) * SAMPLES_PER_TEMPLATE
        run([str(LETTERHEAD), "--root", str(project), "build"], "letterhead build")
        seconds, proc = run([str(LETTERHEAD), "--root", str(project), "check", "--json"], "letterhead check")
        report = json.loads(proc.stdout)
        checked = sum(len(t["samples"]) for t in report["templates"])
        if checked != n_samples:
            raise SystemExit(f"letterhead check covered {checked} samples, expected {n_samples}")
        per_sample = seconds / n_samples
        base = baseline(project, args.baseline)
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        ok = seconds <= TARGET_SECONDS
        print(f"machine: {cpus} CPU(s); checks run: {', '.join(report['checks'])}")
        print(f"findings: {report['errors']} error(s), {report['warnings']} warning(s)")
        print(f"(a) letterhead check, {len(names)} templates x {SAMPLES_PER_TEMPLATE} samples = {n_samples}: "
              f"{seconds:.1f} s ({per_sample * 1000:.0f} ms a sample, {seconds / len(names) * 1000:.0f} ms a "
              f"template); target <= {TARGET_SECONDS:.0f} s: {'PASS' if ok else 'FAIL'}")
        print(f"(b) baseline, a Chromium and a spamassassin process per sample (measured on {args.baseline}): "
              f"{base * 1000:.0f} ms a sample = {base * n_samples:.0f} s for {n_samples}; "
              f"letterhead is {base / per_sample:.1f}x faster")
        return 0 if ok else 1
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
