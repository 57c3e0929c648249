"""Each lint rule fires on the input it is about, with the right severity."""

from __future__ import annotations

from pathlib import Path

import pytest

from letterhead.authoring.build import build
from letterhead.config import load_config
from letterhead.errors import LintError
from letterhead.authoring.lint import lint
from letterhead.authoring.sources import load_source

from .test_compile import EVERY_SAMPLE, EVERYWHERE, compiled, make


def findings_for(tmp_path: Path, body: str, *, text: str | None = None, **kw):  # type: ignore[no-untyped-def]
    root = make(tmp_path, body, samples=kw.pop("samples", EVERY_SAMPLE), text=text)
    ct = compiled(root)
    from letterhead.authoring.safety import payload_for as _payload_for

    payload = _payload_for(ct)
    src = (root / "templates_src" / "t" / "template.mjml").read_text()
    kw.setdefault("variables", load_source(load_config(root), "t").variables)  # as the build passes them
    return lint(ct, payload, [("default", ct.html)], mjml_source=src,
                mjml_path="templates_src/t/template.mjml", **kw)


def codes(findings) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(f.severity, f.code) for f in findings}


def section(inner: str) -> str:
    return f"<mj-section><mj-column>{inner}</mj-column></mj-section>"


def test_clean_template_has_no_errors(tmp_path: Path) -> None:
    assert not [f for f in findings_for(tmp_path, EVERYWHERE) if f.severity == "error"]


def test_image_without_alt_is_an_error_and_points_at_its_line(tmp_path: Path) -> None:
    fs = findings_for(tmp_path, section('\n<mj-text>Hi {{name}}</mj-text>\n<mj-image src="https://x.example/i.png" />'))
    alt = [f for f in fs if f.code == "img-alt"]
    assert alt and alt[0].severity == "error"
    assert alt[0].location.line == 14


def test_empty_alt_is_a_warning(tmp_path: Path) -> None:
    fs = findings_for(tmp_path, section('<mj-text>Hi {{name}}</mj-text><mj-image src="https://x.example/i.png" alt="" />'))
    assert ("warning", "img-alt") in codes(fs)


@pytest.mark.parametrize("url", ["/relative/path", "www.example.com", "javascript:alert(1)"])
def test_relative_or_odd_link_urls_are_errors(tmp_path: Path, url: str) -> None:
    fs = findings_for(tmp_path, section(f'<mj-text>Hi {{{{name}}}} <a href="{url}">x</a></mj-text>'))
    assert ("error", "url") in codes(fs)


def test_placeholder_and_mailto_urls_are_fine(tmp_path: Path) -> None:
    fs = findings_for(tmp_path, section(
        '<mj-text>Hi {{name}} <a href="{{profile_url}}">p</a> <a href="mailto:help@x.example">help@x.example</a>'
        ' <a href="tel:+441234">call</a></mj-text>'),
        samples={"default": {**EVERY_SAMPLE["default"], "profile_url": "https://x.example/p"}})
    assert ("error", "url") not in codes(fs)
    assert ("error", "text-links") not in codes(fs)


def test_handwritten_text_must_carry_every_link(tmp_path: Path) -> None:
    fs = findings_for(tmp_path, section('<mj-text>Hi {{name}} <a href="https://x.example/terms">terms</a></mj-text>'),
                      text="Hi {{name}}\n")
    tl = [f for f in fs if f.code == "text-links"]
    assert tl and tl[0].severity == "error" and "https://x.example/terms" in tl[0].message
    assert tl[0].location.path.endswith("text.txt")


def test_missing_preheader_warns_and_missing_lang_errors(tmp_path: Path) -> None:
    root = make(tmp_path, EVERYWHERE, samples=EVERY_SAMPLE)
    mjml = root / "templates_src" / "t" / "template.mjml"
    mjml.write_text(mjml.read_text().replace("<mj-preview>Hi {{name}}</mj-preview>", "").replace(
        "<mjml>", '<mjml lang="und">'))
    ct = compiled(root)
    from letterhead.authoring.safety import payload_for as _payload_for

    fs = lint(ct, _payload_for(ct), [], mjml_source=mjml.read_text(), mjml_path="t", variables={})
    assert ("warning", "preheader") in codes(fs)
    assert ("error", "lang") in codes(fs)


def test_gmail_clip_warns_from_80_percent_and_errors_over(tmp_path: Path) -> None:
    ct_findings = findings_for(tmp_path, EVERYWHERE, gmail_clip_bytes=2_000)
    assert ("error", "gmail-clip") in codes(ct_findings)
    html_size = len(compiled(make(tmp_path / "b", EVERYWHERE, samples=EVERY_SAMPLE)).html.encode())
    near = findings_for(tmp_path / "c", EVERYWHERE, gmail_clip_bytes=int(html_size / 0.9))
    assert ("warning", "gmail-clip") in codes(near)


def test_lint_errors_fail_the_build_and_warnings_do_not(tmp_path: Path) -> None:
    root = make(tmp_path, section('<mj-text>Hi {{name}}</mj-text><mj-image src="https://x.example/i.png" alt="" />'))
    result = build(load_config(root))
    assert [f.code for f in result.warnings] == ["img-alt"]
    root2 = make(tmp_path / "2", section('<mj-text>Hi {{name}} <a href="/x">x</a></mj-text>'))
    with pytest.raises(LintError):
        build(load_config(root2))
    assert not (root2 / "ses_templates").exists()


def test_attributes_mrml_ignores_are_warnings_with_their_line(tmp_path: Path) -> None:
    fs = findings_for(tmp_path, section('\n<mj-text>Hi {{name}}</mj-text>\n<mj-image src="https://x.example/i.png" alt="i" border-top="1px solid #000" />'))
    ignored = [f for f in fs if f.code == "mjml-attribute"]
    assert ignored and ignored[0].severity == "warning" and "border-top" in ignored[0].message
    assert ignored[0].location.line == 14


@pytest.mark.parametrize("part,leftover,message", [
    ("html", "<mj-text>", "an MJML tag survived"),
    ("html", "[[ brand.name", "Jinja delimiters"),
    ("text", "brand.name ]]", "Jinja delimiters"),
    ("html", '<a href="https://x.example/{{%20name}}">', "URL-encoded"),
    ("html", '<a href="https://x.example/%7B%7Bname%7d%7d">', "URL-encoded"),
    ("html", '<a href="https://x.example/%7b%7bname">', "URL-encoded"),
    ("subject", "xlh0000123x", "internal marker"),
    ("text", "bell\x07", "control character"),
])
def test_toolchain_leftovers_are_errors_naming_the_part(tmp_path: Path, part: str, leftover: str,
                                                        message: str) -> None:
    import dataclasses

    from letterhead.authoring.safety import payload_for as _payload_for

    root = make(tmp_path, EVERYWHERE, samples=EVERY_SAMPLE)
    ct = compiled(root)
    assert not [f for f in lint(ct, _payload_for(ct), [], mjml_source="", mjml_path="t", variables={}) if f.code == "leftover"]
    body = ct.part(part)
    changed = body.replace("</body>", leftover + "</body>") if part == "html" else body + leftover
    bad = dataclasses.replace(ct, **{part: changed})
    found = [f for f in lint(bad, _payload_for(ct), [], mjml_source="", mjml_path="t", variables={}) if f.code == "leftover"]
    assert len(found) == 1 and found[0].severity == "error"
    assert found[0].message.startswith(f"{part} part: ") and message in found[0].message


def test_link_and_image_attributes_are_read_as_a_browser_would() -> None:
    from letterhead.authoring.lint import _Collector

    c = _Collector()
    c.feed('<html lang="de"><body><!-- <a href="https://commented.example/"> -->'
           "<div style=\"display: none\">pre</div><div style='color:red'>x</div>"
           '<a title="a > b" href="https://x.example/?a=1&amp;b=2" href="https://second.example/">l</a>'
           "<a href=https://bare.example/>b</a><a name=anchor>n</a>"
           '<IMG SRC="https://x.example/i.png" ALT><img src=\'https://x.example/j.png\' alt="J" role=presentation>'
           "</body></html>")
    assert c.html_lang == "de" and c.preheader
    assert c.links == ["https://x.example/?a=1&b=2", "https://bare.example/"]
    assert c.images == [{"src": "https://x.example/i.png", "alt": None},
                        {"src": "https://x.example/j.png", "alt": "J", "role": "presentation"}]


def test_an_encoded_pair_of_braces_is_not_a_lost_placeholder(tmp_path: Path) -> None:
    """`?q=%7B%7D` (an empty JSON object in a query) is a URL, not `{{` encoded."""
    fs = findings_for(tmp_path, section('<mj-text>Hi {{name}} <a href="https://x.example/?q=%7B%7D">q</a></mj-text>'))
    assert "leftover" not in {f.code for f in fs}
