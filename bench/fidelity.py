"""Pixel fidelity: letterhead's MJML pipeline vs the official MJML compiler.

For every input MJML document this compiles

* with the official compiler (the ``mjml`` npm package's ``mjml2html``, run by
  ONE node process for all inputs), and
* with letterhead's :func:`letterhead.authoring.compile.render_plain_mjml` (MRML +
  ``letterhead.authoring.mjml_fixes`` + CSS inlining: the build pipeline minus Jinja),

renders both in headless Chromium at 600 px and 375 px wide (full page), and
reports the share of differing pixels and the page height difference.  Every
network request is answered locally: images get one stub PNG, stylesheets an
empty body, anything else is aborted, so no network is needed and remote
fonts never load (both sides fall back to the same local fonts).

Inputs (in this order):

* the Calndr Club templates in ``templates_src/`` rendered through Jinja (the
  build's own Jinja environment), SES placeholders filled crudely from
  ``samples/default.json`` (block helpers stay as text: the same text reaches
  both compilers);
* ``tests/projects/realworld/*.mjml``;
* ``tests/projects/fidelity/*.mjml`` (small cases for known MRML differences).

Diff images (three panels: official, letterhead, and letterhead greyed out
with differing pixels red) are saved
under ``bench/out/`` (git-ignored).

Usage::

    npm ci --prefix bench            # once: the official compiler
    .venv/bin/python bench/fidelity.py [--only SUBSTRING] [--widths 600,375]

Chromium: ``/usr/bin/chromium`` (Debian package) unless ``CHROMIUM`` says
otherwise.  Exit status 1 when any case differs (or fails to compile).
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
WIDTHS = (600, 375)
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Identical pixels for identical HTML, independent of the host's settings.
    "--font-render-hinting=none",
    "--force-color-profile=srgb",
    "--hide-scrollbars",
]
PAGE_URL = "http://fidelity.invalid/email.html"

sys.path.insert(0, str(ROOT / "src"))


# --------------------------------------------------------------------------
# Compilers
# --------------------------------------------------------------------------

_NODE_DRIVER = r"""
const path = require('path');
const mjml2html = require(path.join(process.argv[1], 'node_modules', 'mjml'));
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', d => { buf += d; });
process.stdin.on('end', async () => {
  const out = [];
  for (const item of JSON.parse(buf)) {
    try {
      const opts = { validationLevel: 'soft' };
      if (item.path) opts.filePath = item.path;
      const r = await mjml2html(item.mjml, opts);
      out.push({ html: r.html, errors: (r.errors || []).map(e => e.formattedMessage || e.message) });
    } catch (e) {
      out.push({ html: null, errors: [String((e && e.message) || e)] });
    }
  }
  process.stdout.write(JSON.stringify(out));
});
"""


def official_available(bench: Path = BENCH) -> bool:
    return (bench / "node_modules" / "mjml" / "package.json").is_file() and shutil.which("node") is not None


def official_version(bench: Path = BENCH) -> str:
    return json.loads((bench / "node_modules" / "mjml" / "package.json").read_text())["version"]


def official_compile(items: Sequence[tuple[str, str | None]], bench: Path = BENCH) -> list[dict[str, Any]]:
    """Compile ``(mjml, path-or-None)`` items with the official compiler, all
    in one node process.  Returns ``{"html": str|None, "errors": [...]}`` each."""
    if not official_available(bench):
        raise SystemExit(
            f"the official MJML compiler is missing: run `npm ci --prefix {bench.relative_to(ROOT)}`"
        )
    payload = json.dumps([{"mjml": m, "path": p} for m, p in items])
    proc = subprocess.run(
        ["node", "-e", _NODE_DRIVER, str(bench)],
        input=payload,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"node mjml failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout)


def letterhead_compile(mjml_text: str) -> str:
    """The build pipeline minus Jinja: MRML + mjml_fixes + CSS inlining."""
    from letterhead.authoring.compile import render_plain_mjml

    return render_plain_mjml(mjml_text)


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    mjml: str
    path: Path | None = None


_SIMPLE_MUSTACHE = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


def fill_placeholders(text: str, data: dict[str, Any]) -> str:
    """Crudely replace ``{{a.b}}`` by scalar sample values (HTML-escaped).
    Block helpers and anything unresolved stay as text."""

    def sub(m: re.Match[str]) -> str:
        value: Any = data
        for part in m.group(1).split("."):
            if not isinstance(value, dict) or part not in value:
                return m.group(0)
            value = value[part]
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return html.escape(str(value))
        return m.group(0)

    return _SIMPLE_MUSTACHE.sub(sub, text)


def render_project_templates(root: Path, *, fill: bool = True, locale: str | None = None) -> list[Case]:
    """Each template of a letterhead project as plain MJML, through the same
    Jinja environment a build uses.

    ``locale`` (a project with ``locales``): each template's variant in that
    locale, as the build compiles it: messages read from the locale's
    catalogue (:func:`letterhead.authoring.i18n.load_catalog`; the default
    locale's are the source's own) and ``<mjml lang=… dir=…>`` set
    (:func:`letterhead.authoring.rtl.mjml_dir`).  The case is named after the
    variant (``name__es``).  Without ``locale`` messages stay in the source
    language and ``<mjml>`` is left as written."""
    from letterhead.config import load_config
    from letterhead.authoring.sources import load_brand, template_names
    from letterhead.locales import bcp47, is_rtl, variant_name

    config = load_config(root)
    brand = load_brand(config)
    catalog = None
    if locale is not None and locale != config.default_locale:
        from letterhead.authoring.i18n import load_catalog

        catalog = load_catalog(config, locale)
    render = _jinja_renderer(config, brand, catalog)
    cases = []
    for name in template_names(config):
        folder = config.source_dir / name
        if not (folder / "template.mjml").is_file():
            continue
        text = render(f"{name}/template.mjml")
        case_name = name
        if locale is not None:
            from letterhead.authoring.rtl import mjml_dir

            text = mjml_dir(text, bcp47(locale), is_rtl(locale))
            if locale != config.default_locale:
                case_name = variant_name(name, locale, config.locale_name)
        sample = folder / "samples" / "default.json"
        if fill and sample.is_file():
            text = fill_placeholders(text, json.loads(sample.read_text(encoding="utf-8")))
        cases.append(Case(f"{config.source_dir.name}/{case_name}", text, folder / "template.mjml"))
    return cases


def _jinja_renderer(config, brand, catalog=None):  # type: ignore[no-untyped-def]
    """``name -> rendered MJML`` with an Environment set up like the build's
    (letterhead.authoring.compile.Compiler): ``[[ ]]`` / ``[# #]`` delimiters,
    StrictUndefined, autoescape for .mjml, Jinja's i18n extension with the
    ``trimmed`` policy and old-style gettext callables reading ``catalog``
    (an untranslated message, or no catalogue: the source's own words).  Not
    the Compiler itself: its loader tokenizes placeholders and marks lines for
    error locations, and here the plain MJML must reach both compilers."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(config.source_dir), encoding="utf-8"),
        variable_start_string="[[",
        variable_end_string="]]",
        comment_start_string="[#",
        comment_end_string="#]",
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("mjml", "html"), default_for_string=False, default=False
        ),
        keep_trailing_newline=True,
    )
    env.policies["ext.i18n.trimmed"] = True

    def pick(found, source):  # type: ignore[no-untyped-def]
        return source if found is None else found

    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda m: pick(catalog and catalog.gettext(m), m),
        ngettext=lambda s, p, n: pick(catalog and catalog.ngettext(s, p, n), s if n == 1 else p),
        pgettext=lambda c, m: pick(catalog and catalog.pgettext(c, m), m),
        npgettext=lambda c, s, p, n: pick(catalog and catalog.npgettext(c, s, p, n), s if n == 1 else p),
        newstyle=False,
    )
    return lambda name: env.get_template(name).render(brand=brand)


def mjml_files(folder: Path) -> list[Case]:
    return [
        Case(f"{folder.name}/{p.name}", p.read_text(encoding="utf-8"), p)
        for p in sorted(folder.glob("*.mjml"))
    ]


def collect_cases(root: Path = ROOT) -> list[Case]:
    cases: list[Case] = []
    if (root / "templates_src").is_dir():
        cases += render_project_templates(root)
    for sub in ("realworld", "fidelity"):
        cases += mjml_files(root / "tests" / "projects" / sub)
    return cases


# --------------------------------------------------------------------------
# Rendering and pixel comparison
# --------------------------------------------------------------------------


def stub_png(width: int = 300, height: int = 150) -> bytes:
    """A mid-grey PNG with a darker border, written without any imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = []
    for y in range(height):
        row = bytearray([0])  # filter: none
        for x in range(width):
            edge = x < 4 or y < 4 or x >= width - 4 or y >= height - 4
            row += bytes((90, 90, 110) if edge else (170, 180, 190))
        rows.append(bytes(row))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


_DIFF_JS = r"""
async ([a, b, w]) => {
  const load = src => new Promise((ok, bad) => {
    const img = new Image(); img.onload = () => ok(img); img.onerror = bad; img.src = src;
  });
  const [ia, ib] = await Promise.all([load(a), load(b)]);
  const width = Math.max(ia.width, ib.width), height = Math.max(ia.height, ib.height);
  const pixels = img => {
    const c = document.createElement('canvas'); c.width = width; c.height = height;
    const g = c.getContext('2d'); g.fillStyle = '#ff00ff'; g.fillRect(0, 0, width, height);
    g.drawImage(img, 0, 0); return g.getImageData(0, 0, width, height).data;
  };
  const pa = pixels(ia), pb = pixels(ib);
  const diffc = document.createElement('canvas'); diffc.width = width; diffc.height = height;
  const dg = diffc.getContext('2d'); const od = dg.createImageData(width, height); const o = od.data;
  let diff = 0;
  for (let i = 0; i < pa.length; i += 4) {
    const y = (i / 4) / width | 0, x = (i / 4) % width;
    const outside = x >= ia.width || x >= ib.width || y >= ia.height || y >= ib.height;
    const differs = outside || pa[i] !== pb[i] || pa[i + 1] !== pb[i + 1] || pa[i + 2] !== pb[i + 2];
    if (differs) { diff++; o[i] = 255; o[i + 1] = 0; o[i + 2] = 0; o[i + 3] = 255; }
    else { const v = 200 + ((pb[i] + pb[i + 1] + pb[i + 2]) / 3) * 55 / 255 | 0;
           o[i] = v; o[i + 1] = v; o[i + 2] = v; o[i + 3] = 255; }
  }
  dg.putImageData(od, 0, 0);
  // Three panels: official | letterhead | diff (differing pixels red).
  const gap = 16, out = document.createElement('canvas');
  out.width = 3 * width + 2 * gap; out.height = height;
  const g = out.getContext('2d'); g.fillStyle = '#202020'; g.fillRect(0, 0, out.width, height);
  g.drawImage(ia, 0, 0); g.drawImage(ib, width + gap, 0); g.drawImage(diffc, 2 * (width + gap), 0);
  return { diff, total: width * height, png: diff ? out.toDataURL('image/png') : null };
}
"""


@dataclass
class Shot:
    png: bytes
    height: int


@dataclass
class Comparison:
    width: int
    diff_pixels: int
    total_pixels: int
    height_official: int
    height_letterhead: int
    diff_png: bytes | None = None

    @property
    def share(self) -> float:
        return self.diff_pixels / self.total_pixels if self.total_pixels else 0.0

    @property
    def height_delta(self) -> int:
        return self.height_letterhead - self.height_official


class Renderer:
    """Headless Chromium with every request answered locally."""

    def __init__(self, executable: str = CHROMIUM) -> None:
        self.executable = executable
        self._stub = stub_png()

    def __enter__(self) -> "Renderer":
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(executable_path=self.executable, args=CHROMIUM_ARGS)
        self._blank = self.browser.new_page()
        self._pages: dict[int, Any] = {}
        self._body = b""
        self._count = 0
        return self

    def __exit__(self, *exc: object) -> None:
        self.browser.close()
        self._pw.stop()

    def _page(self, width: int):  # type: ignore[no-untyped-def]
        """One page per viewport width, reused; every request answered locally."""
        page = self._pages.get(width)
        if page is None:
            page = self.browser.new_page(viewport={"width": width, "height": 600}, device_scale_factor=1)

            def handle(route, request):  # type: ignore[no-untyped-def]
                if request.url.split("?", 1)[0] == PAGE_URL:
                    route.fulfill(status=200, content_type="text/html; charset=utf-8", body=self._body)
                elif request.resource_type == "image":
                    route.fulfill(status=200, content_type="image/png", body=self._stub)
                elif request.resource_type == "stylesheet":
                    route.fulfill(status=200, content_type="text/css", body="")
                else:
                    route.abort()

            page.route("**/*", handle)
            self._pages[width] = page
        return page

    def screenshot(self, html_text: str, width: int) -> Shot:
        page = self._page(width)
        self._body = html_text.encode("utf-8")
        page.set_viewport_size({"width": width, "height": 600})
        self._count += 1  # a fresh URL each time: no cache, no restored form state
        page.goto(f"{PAGE_URL}?n={self._count}", wait_until="load")
        page.wait_for_function("Array.from(document.images).every(i => i.complete)")
        page.evaluate("document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => r(true))))")
        height = page.evaluate("document.documentElement.scrollHeight")
        png = page.screenshot(full_page=True, animations="disabled", caret="hide")
        page.goto("about:blank")
        return Shot(png, int(height))

    def diff(self, a: bytes, b: bytes, width: int) -> tuple[int, int, bytes | None]:
        url = lambda p: "data:image/png;base64," + base64.b64encode(p).decode()  # noqa: E731
        r = self._blank.evaluate(_DIFF_JS, [url(a), url(b), width])
        png = base64.b64decode(r["png"].split(",", 1)[1]) if r["png"] else None
        return r["diff"], r["total"], png

    def compare(self, official_html: str, letterhead_html: str, width: int) -> Comparison:
        a = self.screenshot(official_html, width)
        b = self.screenshot(letterhead_html, width)
        diff, total, png = self.diff(a.png, b.png, width)
        return Comparison(width, diff, total, a.height, b.height, png)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


@dataclass
class Result:
    case: Case
    comparisons: list[Comparison] = field(default_factory=list)
    error: str | None = None
    official_warnings: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return self.error is None and all(c.diff_pixels == 0 for c in self.comparisons)


def run(cases: Sequence[Case], widths: Iterable[int] = WIDTHS, out: Path | None = OUT) -> list[Result]:
    widths = tuple(widths)
    official = official_compile([(c.mjml, str(c.path) if c.path else None) for c in cases])
    results = []
    with Renderer() as renderer:
        for case, off in zip(cases, official):
            result = Result(case, official_warnings=off["errors"])
            results.append(result)
            if off["html"] is None:
                result.error = "official: " + "; ".join(off["errors"])[:200]
                continue
            try:
                mine = letterhead_compile(case.mjml)
            except Exception as exc:  # noqa: BLE001 - reported in the table
                result.error = f"letterhead: {type(exc).__name__}: {exc}"[:300]
                continue
            for w in widths:
                cmp = renderer.compare(off["html"], mine, w)
                result.comparisons.append(cmp)
                if out is not None:
                    stem = re.sub(r"[^\w.-]+", "_", case.name.removesuffix(".mjml"))
                    out.mkdir(parents=True, exist_ok=True)
                    target = out / f"{stem}.{w}.diff.png"
                    if cmp.diff_png:
                        target.write_bytes(cmp.diff_png)
                    elif target.exists():
                        target.unlink()
    return results


def format_table(results: Sequence[Result], widths: Sequence[int] = WIDTHS) -> str:
    head = ["template"] + [f"{w}px diff" for w in widths] + [f"{w}px Δh" for w in widths] + ["verdict"]
    rows = [head]
    for r in results:
        if r.error:
            rows.append([r.case.name] + ["-"] * (2 * len(widths)) + ["ERROR (below)"])
            continue
        by_w = {c.width: c for c in r.comparisons}
        rows.append(
            [r.case.name]
            + [f"{100 * by_w[w].share:.3f}%" for w in widths]
            + [f"{by_w[w].height_delta:+d}px" for w in widths]
            + ["identical" if r.identical else "DIFFERS"]
        )
    widths_col = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths_col[j]) if j == 0 else cell.rjust(widths_col[j])
                               for j, cell in enumerate(row)))
        if i == 0:
            lines.append("  ".join("-" * n for n in widths_col))
    for r in results:
        if r.error:
            lines.append(f"ERROR {r.case.name}: " + " ".join(r.error.split()))
    return "\n".join(lines)


FIDELITY_CASES = ROOT / "tests" / "projects" / "fidelity"
OFFICIAL_DIR = FIDELITY_CASES / "official"


def source_digest(mjml_text: str) -> str:
    import hashlib

    return hashlib.sha256(mjml_text.encode("utf-8")).hexdigest()


def write_official(folder: Path = FIDELITY_CASES, target: Path = OFFICIAL_DIR) -> list[Path]:
    """Commit the official compiler's HTML for each fidelity case, so the
    pixel tests need no node: ``official/NAME.html`` plus ``manifest.json``
    (the MJML's sha256, to catch a case edited without regenerating).  Only
    new or edited cases are rewritten: the official compiler puts random ids
    in carousels and navbars, which would otherwise churn on every run."""
    manifest_path = target / "manifest.json"
    manifest: dict[str, Any] = {"cases": {}}
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    cases = [
        c for c in mjml_files(folder)
        if manifest["cases"].get(c.path.stem if c.path else c.name, {}).get("sha256") != source_digest(c.mjml)
        or not (target / f"{c.path.stem if c.path else c.name}.html").is_file()
    ]
    results = official_compile([(c.mjml, str(c.path)) for c in cases]) if cases else []
    target.mkdir(parents=True, exist_ok=True)
    manifest["mjml"] = official_version()
    written = []
    for case, res in zip(cases, results):
        if res["html"] is None:
            raise SystemExit(f"official compiler failed on {case.name}: {res['errors']}")
        stem = case.path.stem if case.path else case.name
        out = target / f"{stem}.html"
        out.write_text(res["html"], encoding="utf-8")
        manifest["cases"][stem] = {"sha256": source_digest(case.mjml)}
        written.append(out)
    present = {c.path.stem for c in mjml_files(folder) if c.path}
    manifest["cases"] = {k: v for k, v in manifest["cases"].items() if k in present}
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="only cases whose name contains this")
    ap.add_argument("--widths", default=",".join(map(str, WIDTHS)))
    ap.add_argument("--out", type=Path, default=OUT, help="where diff images go")
    ap.add_argument("--write-official", action="store_true",
                    help="write the official HTML of tests/projects/fidelity/*.mjml for the tests, then exit")
    ap.add_argument("--no-fixes", action="store_true",
                    help="bypass letterhead.authoring.mjml_fixes (shows what each fix is worth)")
    args = ap.parse_args(argv)
    if args.no_fixes:
        from letterhead.authoring import mjml, mjml_fixes

        mjml_fixes.before_mrml = mjml_fixes.after_mrml = lambda text, *_: text  # type: ignore[assignment]
        mjml.layout = lambda text: None  # type: ignore[assignment]  # MJML's widths are a fix too
    if args.write_official:
        for path in write_official():
            print(path.relative_to(ROOT))
        return 0
    widths = [int(w) for w in args.widths.split(",")]
    cases = collect_cases()
    if args.only:
        cases = [c for c in cases if args.only in c.name]
    if not cases:
        print("no cases", file=sys.stderr)
        return 1
    results = run(cases, widths, args.out)
    print(f"official: mjml {official_version()} (node); letterhead: render_plain_mjml"
          f"{' WITHOUT mjml_fixes' if args.no_fixes else ''}; "
          f"Chromium {CHROMIUM}; share of differing pixels, full page")
    print(format_table(results, widths))
    bad = [r for r in results if not r.identical]
    print(f"\n{len(results) - len(bad)}/{len(results)} identical at {', '.join(f'{w}px' for w in widths)}"
          + (f"; diff images in {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}/"
             if bad else ""))
    for r in results:
        for w in r.official_warnings:
            print(f"  official compiler warning, {r.case.name}: {w}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
