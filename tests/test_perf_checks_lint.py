"""Lint's and the payload's shortcuts (session 7).

What lint finds in template.mjml is worked out once per source text *and
path*: two templates with the same source report each at its own file.  A
payload's size and hash are cached and share one encoding of the parts.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from letterhead.authoring.payload import SesTemplate
from letterhead.cli.main import cli

from .helpers import PROJECTS, make_project

SOURCE = """<mjml lang="en"><mj-head><mj-preview>Hi</mj-preview></mj-head><mj-body><mj-section><mj-column>
<mj-image src="https://x.example/a.png" />
<mj-text>Hello {{name}}</mj-text>
</mj-column></mj-section></mj-body></mjml>
"""


def test_two_templates_with_one_source_each_report_at_their_own_file(tmp_path: Path) -> None:
    root = make_project(tmp_path, PROJECTS / "base")
    src = root / "templates_src"
    for name in ("first", "second"):
        folder = src / name
        (folder / "samples").mkdir(parents=True)
        (folder / "template.mjml").write_text(SOURCE)
        (folder / "subject.txt").write_text("Hi\n")
        (folder / "samples" / "default.json").write_text('{"name": "Ada"}')
    result = CliRunner().invoke(cli, ["--root", str(root), "build"])
    assert result.exit_code != 0
    for name in ("first", "second"):
        assert f"templates_src/{name}/template.mjml:2" in result.output, result.output
    assert result.output.count("has no alt attribute") >= 2


@pytest.mark.parametrize("parts", [("Hi", "<p>x</p>", "x"), ("Olá", "<p>→ ü</p>", ""), ("", "", ""),
                                   ("a", "😀", "b\u0000")])
@pytest.mark.parametrize("hash_first", [False, True])
def test_size_and_hash_are_the_parts_own(parts: tuple[str, str, str], hash_first: bool) -> None:
    payload = SesTemplate("t", *parts)
    expected_hash = hashlib.sha256(b"".join(p.encode("utf-8") + b"\0" for p in parts)).hexdigest()
    expected_size = sum(len(p.encode("utf-8")) for p in parts)
    if hash_first:
        assert payload.content_hash == expected_hash
    assert payload.size_bytes == expected_size
    assert payload.content_hash == expected_hash
    assert payload.size_bytes == expected_size
    assert payload == SesTemplate("t", *parts)  # the cache is not part of what it is


def test_a_part_that_is_not_unicode_text_fails_as_it_always_did() -> None:
    payload = SesTemplate("t", "s", "\ud800", "t")
    with pytest.raises(UnicodeEncodeError):
        _ = payload.size_bytes
    with pytest.raises(UnicodeEncodeError):
        _ = payload.content_hash
