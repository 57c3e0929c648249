"""A '>' after a non-ASCII character in text ("Café > Menu") made MRML's
parser panic (a Rust panic: pyo3's PanicException, which is no Exception),
and the build died with a traceback.  The source fixes escape it; a panic
that still happens is a located error, exit 1, not a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from letterhead.authoring import mjml
from letterhead.errors import MjmlError

from .helpers import make_project, run_cli

TEMPLATES = {
    "mj-text": "<mj-body><mj-section><mj-column><mj-text>{}</mj-text></mj-column></mj-section></mj-body>",
    "mj-text p": "<mj-body><mj-section><mj-column><mj-text><p>{}</p></mj-text></mj-column></mj-section></mj-body>",
    "mj-button": '<mj-body><mj-section><mj-column><mj-button href="https://x.test/">{}</mj-button>'
                 "</mj-column></mj-section></mj-body>",
    "mj-title": "<mj-head><mj-title>{}</mj-title></mj-head><mj-body></mj-body>",
    "mj-preview": "<mj-head><mj-preview>{}</mj-preview></mj-head><mj-body></mj-body>",
    "mj-raw": "<mj-body><mj-raw><p>{}</p></mj-raw></mj-body>",
    "mj-table": "<mj-body><mj-section><mj-column><mj-table><tr><td>{}</td></tr></mj-table>"
                "</mj-column></mj-section></mj-body>",
}


CASES = [
    ("Café > Menu", "Café &gt; Menu"),
    ("Ü>", "Ü&gt;"),
    ("日本 -> 東京 > 大阪", "日本 -&gt; 東京 &gt; 大阪"),
    # only a '>' after non-ASCII text of its own run is escaped (MRML takes no tag in mj-title/mj-preview)
    ("<b>é</b> x > y é >", " x > y é &gt;"),
]


@pytest.mark.parametrize(("where", "text", "written"), [
    (where, text, written) for where in TEMPLATES for text, written in CASES
    if not ("<b>" in text and where in ("mj-title", "mj-preview"))
])
def test_a_gt_after_non_ascii_text_compiles(where: str, text: str, written: str) -> None:
    html = mjml.compile_mjml(f"<mjml>{TEMPLATES[where].format(text)}</mjml>")
    assert written in html


def test_a_gt_in_ascii_text_is_left_as_written() -> None:
    html = mjml.compile_mjml("<mjml>" + TEMPLATES["mj-text"].format("a > b") + "</mjml>")
    assert "a > b" in html


def test_the_build_compiles_it(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    mjml_path = root / "templates_src" / "welcome" / "template.mjml"
    mjml_path.write_text(mjml_path.read_text().replace("Note: {{note}}", "Café > Menu: {{note}}"))
    proc = run_cli("build", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert "Café &gt; Menu" in (root / "build" / "welcome" / "template.html").read_text()


class _Panic(BaseException):
    """What pyo3 raises for a Rust panic: a BaseException."""


def test_a_panic_in_mrml_is_a_located_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def panic(_: str) -> str:
        raise _Panic("byte index 4 is not a char boundary")

    monkeypatch.setattr(mjml._mrml, "mjml2html", panic)
    with pytest.raises(MjmlError) as info:
        mjml.compile_mjml("<mjml><mj-body></mj-body></mjml>")
    assert "MRML failed on this document: byte index 4" in info.value.message
    assert "report it" in (info.value.hint or "")
