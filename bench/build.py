"""Build speed: letterhead against the MJML JS CLI, measured in this run.

Three measurements, each against its target:

(a) whole process, 50 templates: ``letterhead --root DIR build --force`` as
    a subprocess on a generated project of 50 templates (variations of the
    Calndr Club templates with their layout and partials), against the
    official ``mjml`` CLI compiling the same 50 templates, rendered through
    Jinja, in ONE call (``mjml a.mjml b.mjml ... -o out/``).  Median of
    ``--repeat`` runs each, the commands taking turns.  Target: letterhead at
    least 5x faster.
(b) in process, one template: ``Compiler(config, brand).compile(source)``,
    median of ``--runs`` calls after a warm-up.  Target: at most 5 ms.
(c) incremental: after a full build of the 50, one template's source is
    changed and the project rebuilt (``build --json``); count the templates
    reported "compiled".  Target: exactly 1.
(d) whole process, 50 templates x 4 locales = 200 variants: the same
    generated project with ``locales = ["en", "es", "ar", "pt_BR"]``.  Its
    catalogues are the source project's own Spanish and Arabic ones
    (``templates_src/_locales/{es,ar}``); the fourth, pt_BR, is a copy of the
    Spanish catalogue with its ``Language`` header changed (Spanish words
    under a Brazilian name: the same work for both compilers).  When the
    source project has no marked-up templates or no es/ar catalogue, each
    generated subject is wrapped in ``{% trans %}`` and a small synthetic
    catalogue per locale translates it, so that the code path runs (the
    output says which).  ``letterhead build --force`` against the ``mjml``
    CLI compiling the same 200 documents in one call: each variant's MJML
    rendered through Jinja with that locale's translations and ``<mjml
    lang dir>`` (``fidelity.render_project_templates(locale=...)``), SES
    placeholders kept; the text of each document the CLI writes is checked
    against letterhead's HTML of the same variant.  Interleaved medians as
    in (a).  Target: letterhead at least 5x faster than ``npx mjml``.
(e) incremental, locales: after a full build of the 200, one msgstr of the
    Spanish catalogue is changed and the project rebuilt (``build --json``).
    Target: exactly the 50 ``__es`` variants recompiled.

Usage::

    npm ci --prefix bench     # once: the official compiler, for (a)
    .venv/bin/python bench/build.py [--repeat 3] [--runs 200] [--keep DIR]

Exit status 1 when a target is missed (or a step fails).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LETTERHEAD = Path(sys.executable).parent / "letterhead"
MJML_CLI = BENCH / "node_modules" / ".bin" / "mjml"
N_TEMPLATES = 50
LOCALES = ("en", "es", "ar", "pt_BR")  # (d)/(e): the default first; pt_BR copies es's catalogue
EDITED_LOCALE = "es"  # (e)

sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(BENCH))


# --------------------------------------------------------------------------
# The generated project
# --------------------------------------------------------------------------

_MARK = "data-bench-variant"


def make_project(dest: Path, n: int = N_TEMPLATES, source: Path = ROOT / "templates_src") -> list[str]:
    """A project of ``n`` templates: the source project's layouts, partials
    and brand, and its templates copied round-robin, each made distinct (its
    subject and a hidden marker in its MJML)."""
    src_dir = dest / "templates_src"
    src_dir.mkdir(parents=True)
    for item in source.iterdir():
        if item.is_file() or item.name.startswith("_"):
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, src_dir / item.name)
    bases = sorted(
        p.name for p in source.iterdir()
        if p.is_dir() and not p.name.startswith(("_", ".")) and (p / "template.mjml").is_file()
    )
    if not bases:
        raise SystemExit(f"no templates in {source}")
    names = []
    for i in range(n):
        base = bases[i % len(bases)]
        name = f"{base}_{i:02d}"[:64]
        folder = src_dir / name
        shutil.copytree(source / base, folder)
        subject = folder / "subject.txt"
        subject.write_text(subject.read_text(encoding="utf-8").rstrip("\n") + f" ({i})\n", encoding="utf-8")
        mjml = folder / "template.mjml"
        text = mjml.read_text(encoding="utf-8")
        marked = text.replace("</mj-text>", f'<span {_MARK}="{i}" style="display:none"></span></mj-text>', 1)
        mjml.write_text(marked if marked != text else text + f"\n[# variant {i} #]\n", encoding="utf-8")
        names.append(name)
    return names


def change_one(root: Path, name: str) -> None:
    """Edit one template's MJML the way a designer would (a visible change)."""
    mjml = root / "templates_src" / name / "template.mjml"
    text = mjml.read_text(encoding="utf-8")
    changed = re.sub(rf'{_MARK}="(\d+)"', rf'{_MARK}="\1-changed"', text, count=1)
    mjml.write_text(changed if changed != text else text + "\n[# changed #]\n", encoding="utf-8")


# --------------------------------------------------------------------------
# The generated project with locales: (d) and (e)
# --------------------------------------------------------------------------


def _po_path(project: Path, locale: str) -> Path:
    return project / "templates_src" / "_locales" / locale / "LC_MESSAGES" / "messages.po"


def _marked_up(source: Path) -> bool:
    """Whether the source project's templates use Jinja's i18n extension."""
    return any(
        re.search(r"\{%-?\s*(trans|pluralize)\b|\b_\(|\bn?p?gettext\(", p.read_text(encoding="utf-8"))
        for p in source.rglob("*")
        if p.suffix in (".mjml", ".txt") and p.is_file() and "_locales" not in p.parts
    )


def make_locale_project(dest: Path, n: int = N_TEMPLATES, source: Path = ROOT / "templates_src",
                        locales: Sequence[str] = LOCALES) -> tuple[list[str], str]:
    """:func:`make_project` with ``locales`` in its pyproject.toml and a
    catalogue for each translated locale.  Returns the template names and
    where the catalogues came from (for the report)."""
    names = make_project(dest, n, source)  # copies templates_src/_locales too
    default, *translated = locales
    own = [loc for loc in translated if (source / "_locales" / loc / "LC_MESSAGES" / "messages.po").is_file()]
    if _marked_up(source) and EDITED_LOCALE in own:
        origin = f"the project's own catalogues ({', '.join(own)})"
        for loc in translated:
            if loc not in own:  # a copy of the Spanish one, relabelled
                po = _po_path(dest, loc)
                po.parent.mkdir(parents=True, exist_ok=True)
                text = _po_path(dest, EDITED_LOCALE).read_text(encoding="utf-8")
                text, found = re.subn(r'^"Language: [^"\\]*\\n"$', f'"Language: {loc}\\\\n"', text,
                                      count=1, flags=re.M)
                po.write_text(text, encoding="utf-8")
                origin += f"; {loc}: a copy of {EDITED_LOCALE}'s" + ("" if found else " (it had no Language header)")
    else:
        origin = ("SYNTHETIC catalogues: the source templates are not marked up for translation yet "
                  "(or have no es catalogue), so each generated subject is wrapped in {% trans %}")
        shutil.rmtree(dest / "templates_src" / "_locales", ignore_errors=True)
        _synthetic_catalogues(dest, names, translated)
    (dest / "pyproject.toml").write_text(
        '[project]\nname = "bench-locales"\nversion = "0"\n\n[tool.letterhead]\n'
        f"locales = {json.dumps(list(locales))}\ndefault_locale = {json.dumps(default)}\n",
        encoding="utf-8",
    )
    return names, origin


def _synthetic_catalogues(project: Path, names: Sequence[str], locales: Sequence[str]) -> None:
    """Wrap each subject (``S (i)``) as ``{% trans %}S{% endtrans %} (i)``,
    brand values passed as trans variables, and translate it in each locale
    as ``[locale] S``."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    msgids: dict[str, None] = {}
    for name in names:
        subject = project / "templates_src" / name / "subject.txt"
        m = re.fullmatch(r"(.*?)( \(\d+\))?\n?", subject.read_text(encoding="utf-8"), re.S)
        body, suffix = (m.group(1), m.group(2) or "") if m else ("", "")
        args: dict[str, str] = {}

        def var(found: re.Match[str], args: dict[str, str] = args) -> str:
            key = "brand_" + found.group(1).replace(".", "_")
            args[key] = "brand." + found.group(1)
            return f"[[ {key} ]]"

        body = re.sub(r"\[\[\s*brand\.([A-Za-z_][\w.]*)\s*\]\]", var, body)
        head = "{% trans " + ", ".join(f"{k}={v}" for k, v in args.items()) + " %}" if args else "{% trans %}"
        subject.write_text(f"{head}{body}{{% endtrans %}}{suffix}\n", encoding="utf-8")
        msgids[re.sub(r"\[\[ (\w+) \]\]", r"%(\1)s", body.replace("%", "%%"))] = None
    for loc in locales:
        catalog = Catalog(locale=loc, project="bench", charset="utf-8", fuzzy=False)
        for msgid in msgids:
            flags = ("python-format",) if "%(" in msgid else ()
            catalog.add(msgid, f"[{loc}] {msgid}", flags=flags)
        po = _po_path(project, loc)
        po.parent.mkdir(parents=True, exist_ok=True)
        with po.open("wb") as f:
            write_po(f, catalog, width=0)


def edit_one_msgstr(project: Path, locale: str) -> str:
    """Change the first one-line, non-empty msgstr of ``locale``'s catalogue
    the way a translator would (words added at its end).  Returns the msgid."""
    po = _po_path(project, locale)
    text = po.read_text(encoding="utf-8")
    m = re.search(r'^msgid "(.*)"\n^msgstr "(.+?)((?:\\n)?)"$', text, flags=re.M)
    if m is None:
        raise RuntimeError(f"{po}: no one-line msgstr to edit")
    po.write_text(text[: m.end(2)] + " (editado)" + text[m.end(2):], encoding="utf-8")
    return m.group(1)


def render_variants(project: Path, out: Path, locales: Sequence[str]) -> dict[str, Path]:
    """Every variant as plain MJML for the JS CLI (Jinja with that locale's
    translations, ``<mjml lang dir>``, SES placeholders kept): variant name -> file."""
    from fidelity import render_project_templates

    out.mkdir(parents=True)
    files = {}
    for locale in locales:
        for case in render_project_templates(project, fill=False, locale=locale):
            name = case.name.rsplit("/", 1)[-1]
            files[name] = out / f"{name}.mjml"
            files[name].write_text(case.mjml, encoding="utf-8")
    return files


_TEXT_DROP_RE = re.compile(r"<(style|script|title)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)


def visible_text(html_text: str) -> str:
    """A document's words (no tags, styles, comments, SES mustaches: the
    build rewrites the HTML part's placeholders for escaping), whitespace
    collapsed."""
    import html as html_mod

    text = re.sub(r"<[^>]*>", " ", _TEXT_DROP_RE.sub(" ", html_text))
    text = re.sub(r"\{\{\{?[^{}]*\}?\}\}", " ", html_mod.unescape(text))
    return " ".join(text.split())


def same_text(project: Path, js_out: Path, variants: Sequence[str]) -> list[str]:
    """The variants whose JS-compiled HTML does not carry the same words as
    letterhead's (``ses_templates/<variant>.json``): they were not given the
    same document."""
    differ = []
    for name in variants:
        ours = json.loads((project / "ses_templates" / f"{name}.json").read_text(encoding="utf-8"))
        theirs = (js_out / f"{name}.html").read_text(encoding="utf-8")
        if visible_text(ours["Template"]["HtmlPart"]) != visible_text(theirs):
            differ.append(name)
    return differ


# --------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------


def timed(cmd: Sequence[str], **kw) -> tuple[float, subprocess.CompletedProcess[str]]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    proc = subprocess.run(list(cmd), capture_output=True, text=True, **kw)
    return time.perf_counter() - t0, proc


def check(proc: subprocess.CompletedProcess[str], what: str) -> None:
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n{(proc.stderr or proc.stdout)[-3000:]}")


def letterhead_build(root: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    # As on a user's machine, Python may cache its bytecode (some sandboxes
    # set PYTHONDONTWRITEBYTECODE, which would recompile letterhead each run).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return timed([str(LETTERHEAD), "--root", str(root), "build", *args], cwd=root, env=env)


def jinja_render_all(root: Path, out: Path) -> list[Path]:
    """The 50 templates as plain MJML (Jinja applied, SES placeholders kept),
    for the JS CLI: what it would have to compile in a JS-only pipeline."""
    from fidelity import render_project_templates

    out.mkdir(parents=True)
    files = []
    for case in render_project_templates(root, fill=False):
        path = out / f"{case.name.rsplit('/', 1)[-1]}.mjml"
        path.write_text(case.mjml, encoding="utf-8")
        files.append(path)
    return files


def in_process_compile(runs: int, root: Path = ROOT) -> list[tuple[str, float]]:
    """Median compile time of each of the project's templates (the Calndr
    ones: one with a hand-written text part, two... see templates_src/).
    The templates take turns, so a slow spell of the machine weighs on all
    of them alike instead of on whichever was being measured."""
    from letterhead.authoring.compile import Compiler
    from letterhead.config import load_config
    from letterhead.authoring.sources import load_brand, load_source, template_names

    config = load_config(root)
    compiler = Compiler(config, load_brand(config))
    sources = [load_source(config, name) for name in template_names(config)]
    for source in sources:
        for _ in range(5):
            compiler.compile(source)
    times: dict[str, list[float]] = {s.name: [] for s in sources}
    for _ in range(runs):
        for source in sources:
            t0 = time.perf_counter()
            compiler.compile(source)
            times[source.name].append(time.perf_counter() - t0)
    return [(name, statistics.median(samples)) for name, samples in times.items()]


@dataclass
class Row:
    measure: str
    value: str
    target: str
    ok: bool
    detail: str = ""


def run(repeat: int, runs: int, keep: Path | None) -> list[Row]:
    rows: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="letterhead-bench-")) if keep is None else keep
    try:
        project = work / "project"
        names = make_project(project)
        print(f"generated {len(names)} templates in {project}", file=sys.stderr)
        # The interpreter matters (~15-20 % between a PGO build and pyenv's default): say which.
        print(f"python: {sys.executable} ({sys.version.split()[0]})", file=sys.stderr)

        # (a) whole process, 50 templates.  The runs of the three commands
        # take turns (letterhead, npx mjml, mjml, letterhead, ...), so a
        # machine that speeds up or slows down during the bench (a VM's
        # neighbours) weighs on all three alike.
        def lh_once() -> float:
            seconds, proc = letterhead_build(project, "--force")
            check(proc, "letterhead build --force")
            return seconds

        cold = lh_once()  # the first build of a fresh project: no Jinja bytecode cache yet
        if MJML_CLI.is_file():
            mjml_files = jinja_render_all(project, work / "mjml_in")

            def js_once(prefix: list[str]) -> float:
                out = work / "mjml_out"
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                seconds, proc = timed([*prefix, *map(str, mjml_files), "-o", f"{out}{os.sep}"], cwd=BENCH)
                check(proc, "mjml CLI")
                produced = len(list(out.glob("*.html")))
                if produced != len(mjml_files):
                    raise RuntimeError(f"mjml CLI wrote {produced} of {len(mjml_files)} files")
                return seconds

            # The baseline is `npx mjml` (what a team types); the bare
            # binary, without npx's start-up, is shown beside it.
            lh_all: list[float] = []
            npx_all: list[float] = []
            js_all: list[float] = []
            for _ in range(repeat):
                lh_all.append(lh_once())
                npx_all.append(js_once(["npx", "--no", "--", "mjml"]))
                js_all.append(js_once([str(MJML_CLI)]))
            lh, npx, js = (statistics.median(v) for v in (lh_all, npx_all, js_all))
            ratio = npx / lh
            rows.append(Row(
                f"(a) whole process, {len(names)} templates: `npx mjml` / letterhead build",
                f"{ratio:.1f}x", ">= 5x", ratio >= 5,
                f"letterhead {lh:.3f} s (a fresh project's first build, before Jinja's bytecode cache: "
                f"{cold:.2f} s), npx mjml {npx:.2f} s, bare mjml binary {js:.2f} s = {js / lh:.1f}x "
                f"(medians of {repeat} interleaved runs: {', '.join(f'{s:.3f}' for s in lh_all)} / "
                f"{', '.join(f'{s:.2f}' for s in npx_all)} / {', '.join(f'{s:.2f}' for s in js_all)})",
            ))
        else:
            lh = statistics.median([lh_once() for _ in range(repeat)])
            rows.append(Row(
                f"(a) whole process, {len(names)} templates", "not measured", ">= 5x", False,
                f"letterhead {lh:.3f} s; the MJML CLI is missing: run `npm ci --prefix bench`",
            ))

        # (b) in process, one template
        for name, med in in_process_compile(runs):
            rows.append(Row(
                f"(b) in-process compile of one template ({name})",
                f"{med * 1000:.2f} ms", "<= 5 ms", med <= 0.005, f"median of {runs} runs",
            ))

        # (c) incremental rebuild after changing one template
        seconds, proc = letterhead_build(project)  # a plain build first: everything up to date
        check(proc, "letterhead build")
        target = names[len(names) // 2]
        change_one(project, target)
        seconds, proc = letterhead_build(project, "--json")
        check(proc, "letterhead build --json")
        statuses = {t["name"]: t["status"] for t in json.loads(proc.stdout)["templates"]}
        compiled = sorted(n for n, s in statuses.items() if s == "compiled")
        rows.append(Row(
            f"(c) rebuild after changing 1 of {len(statuses)} templates: recompiled",
            str(len(compiled)), "exactly 1", compiled == [target],
            f"{seconds:.2f} s; recompiled: {', '.join(compiled[:5]) or 'none'}"
            + (" ..." if len(compiled) > 5 else ""),
        ))
        try:
            rows += run_locales(work, repeat)
        except RuntimeError as exc:  # (a)-(c) are still worth printing
            rows.append(Row("(d)/(e) locales", "not measured", "", False, str(exc)[-1500:]))
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return rows


def run_locales(work: Path, repeat: int) -> list[Row]:
    """(d) and (e): the generated project in four locales."""
    from letterhead.locales import variant_name

    rows: list[Row] = []
    project = work / "project_locales"
    names, origin = make_locale_project(project)
    n_variants = len(names) * len(LOCALES)
    print(f"generated {len(names)} templates x {len(LOCALES)} locales in {project}: {origin}", file=sys.stderr)

    # (d) whole process, 200 variants.  The first build says what was built.
    seconds, proc = letterhead_build(project, "--force", "--json")
    check(proc, "letterhead build --force --json (locales)")
    report = json.loads(proc.stdout)["templates"]
    cold = seconds
    built = sorted(t["name"] for t in report if t["status"] == "compiled")
    if len(built) != n_variants:
        raise RuntimeError(f"letterhead built {len(built)} variants, expected {n_variants}")
    untranslated: dict[str, int] = {}
    for t in report:
        if t.get("untranslated"):
            untranslated[t.get("locale", "?")] = untranslated.get(t.get("locale", "?"), 0) + len(t["untranslated"])

    def lh_once() -> float:
        seconds, proc = letterhead_build(project, "--force")
        check(proc, "letterhead build --force (locales)")
        return seconds

    what = (f"(d) whole process, {len(names)} templates x {len(LOCALES)} locales = {n_variants} variants: "
            "`npx mjml` / letterhead build")
    notes = (f"catalogues: {origin}; messages left untranslated (summed over variants): "
             + (", ".join(f"{k} {v}" for k, v in sorted(untranslated.items())) or "none"))
    if not MJML_CLI.is_file():
        lh = statistics.median([lh_once() for _ in range(repeat)])
        rows.append(Row(what, "not measured", ">= 5x", False,
                        f"letterhead {lh:.3f} s; the MJML CLI is missing: run `npm ci --prefix bench`; {notes}"))
    else:
        files = render_variants(project, work / "mjml_locales_in", LOCALES)
        if sorted(files) != built:
            raise RuntimeError(f"the JS inputs ({len(files)}) are not letterhead's variants ({len(built)})")
        js_out = work / "mjml_locales_out"

        def js_once(prefix: list[str]) -> float:
            shutil.rmtree(js_out, ignore_errors=True)
            js_out.mkdir()
            seconds, proc = timed([*prefix, *map(str, files.values()), "-o", f"{js_out}{os.sep}"], cwd=BENCH)
            check(proc, "mjml CLI (locales)")
            produced = len(list(js_out.glob("*.html")))
            if produced != len(files):
                raise RuntimeError(f"mjml CLI wrote {produced} of {len(files)} files")
            return seconds

        lh_all: list[float] = []
        npx_all: list[float] = []
        js_all: list[float] = []
        for _ in range(repeat):
            lh_all.append(lh_once())
            npx_all.append(js_once(["npx", "--no", "--", "mjml"]))
            js_all.append(js_once([str(MJML_CLI)]))
        # Both compilers were given the same documents: the same words, variant by variant.
        differ = same_text(project, js_out, built)
        lh, npx, js = (statistics.median(v) for v in (lh_all, npx_all, js_all))
        ratio = npx / lh
        rows.append(Row(
            what, f"{ratio:.1f}x", ">= 5x", ratio >= 5 and not differ,
            f"letterhead {lh:.3f} s (first build, with --json: {cold:.2f} s), npx mjml {npx:.2f} s, "
            f"bare mjml binary {js:.2f} s = {js / lh:.1f}x (medians of {repeat} interleaved runs: "
            f"{', '.join(f'{s:.3f}' for s in lh_all)} / {', '.join(f'{s:.2f}' for s in npx_all)} / "
            f"{', '.join(f'{s:.2f}' for s in js_all)}); same words in both compilers' HTML: "
            + (f"{n_variants - len(differ)} of {n_variants} variants, DIFFERENT: {', '.join(differ[:6])}"
               if differ else f"all {n_variants} variants")
            + f"; {notes}",
        ))

    # (e) rebuild after editing one catalogue
    seconds, proc = letterhead_build(project)  # everything up to date
    check(proc, "letterhead build (locales)")
    msgid = edit_one_msgstr(project, EDITED_LOCALE)
    seconds, proc = letterhead_build(project, "--json")
    check(proc, "letterhead build --json (locales)")
    statuses = {t["name"]: t["status"] for t in json.loads(proc.stdout)["templates"]}
    compiled = sorted(n for n, s in statuses.items() if s == "compiled")
    expected = sorted(variant_name(n, EDITED_LOCALE) for n in names)
    others = [n for n in compiled if n not in expected]
    rows.append(Row(
        f"(e) rebuild after editing one msgstr of {EDITED_LOCALE}'s catalogue ({len(statuses)} variants): recompiled",
        str(len(compiled)), f"exactly the {len(names)} __{EDITED_LOCALE}",
        compiled == expected,
        f"{seconds:.2f} s; msgid {msgid[:50]!r}; recompiled {len(compiled)}: "
        f"{len(compiled) - len(others)} of the {len(expected)} __{EDITED_LOCALE} variants"
        + (f", and {len(others)} others: {', '.join(others[:5])}" if others else ", no other"),
    ))
    return rows


def format_rows(rows: Sequence[Row]) -> str:
    table = [("measure", "measured", "target", "result")] + [
        (r.measure, r.value, r.target, "PASS" if r.ok else "FAIL") for r in rows
    ]
    w = [max(len(row[i]) for row in table) for i in range(4)]
    lines = []
    for i, row in enumerate(table):
        lines.append("  ".join(c.ljust(w[j]) if j == 0 else c.rjust(w[j]) for j, c in enumerate(row)))
        if i == 0:
            lines.append("  ".join("-" * n for n in w))
    lines.append("")
    lines += [f"{r.measure.split(' ', 1)[0]} {r.detail}" for r in rows if r.detail]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7, help="whole-process runs per command (median)")
    ap.add_argument("--runs", type=int, default=200, help="in-process compiles (median)")
    ap.add_argument("--keep", type=Path, help="work in this (new) folder and keep it")
    args = ap.parse_args(argv)
    if not LETTERHEAD.is_file():
        print(f"{LETTERHEAD} not found: install letterhead in this environment (pip install -e .)", file=sys.stderr)
        return 1
    try:
        rows = run(args.repeat, args.runs, args.keep)
    except RuntimeError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(format_rows(rows))
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
