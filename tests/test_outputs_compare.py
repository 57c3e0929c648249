"""How a build tells that an output on disk is already what it would write
(then it neither rewrites it nor reports it stale in ``build --check``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from letterhead.authoring.outputs import same_on_disk


@pytest.mark.parametrize("on_disk,content,same", [
    (b"<p>caf\xc3\xa9</p>\n", "<p>café</p>\n", True),
    (b"<p>cafe</p>\n", "<p>café</p>\n", False),
    (b"<p>caf\xc3\xa9</p>", "<p>café</p>\n", False),  # one byte shorter
    (b"a\r\nb\r\n", "a\nb\n", True),  # a checkout with git's autocrlf
    (b"a\rb\n", "a\nb\n", True),  # text mode reads a lone CR as a line end too
    (b"a\r\nb\n", "a\r\nb\n", True),  # content that holds a CR itself, on disk as written
    (b"a\r\nb\n", "a\r\nb\r\n", False),
    (b"\xef\xbb\xbfa\n", "a\n", False),  # a byte order mark is a change
    (b"caf\xe9\r\n", "caf\xe9\n", False),  # not UTF-8
    (b"", "", True),
    (b"", "x", False),
])
def test_same_on_disk(tmp_path: Path, on_disk: bytes, content: str, same: bool) -> None:
    path = tmp_path / "out.html"
    path.write_bytes(on_disk)
    assert same_on_disk(path, content) is same
    assert same_on_disk(str(path), content) is same


def test_a_missing_or_unreadable_file_is_not_the_same(tmp_path: Path) -> None:
    assert same_on_disk(tmp_path / "missing.html", "") is False
    assert same_on_disk(tmp_path, "") is False  # a folder where the file should be
    odd = tmp_path / "odd.html"
    odd.write_bytes(b"\xed\xb2\x80")  # the bytes a lone surrogate would be: not UTF-8
    assert same_on_disk(odd, "\udc80") is False  # content no UTF-8 file can hold


def _generated_before(ses: Path, build: Path) -> dict[str, Path]:
    """outputs.generated as it was (Path.glob and Path objects): the reference."""
    found: dict[str, Path] = {}
    if ses.is_dir():
        for p in ses.glob("*.json"):
            found[f"ses_templates/{p.name}"] = p
        for p in (ses / "schemas").glob("*.json"):
            found[f"ses_templates/schemas/{p.name}"] = p
    if build.is_dir():
        for p in build.rglob("*"):
            if p.is_file() and not any(q.is_symlink() for q in [p, *p.parents] if q != build and build in q.parents):
                found["build/" + p.relative_to(build).as_posix()] = p
    return found


@pytest.mark.parametrize("layout", ["full", "no-schemas", "no-folders", "ses-is-a-file"])
def test_generated_lists_what_it_listed_with_paths(tmp_path: Path, layout: str) -> None:
    """The files a build owns, found with os.scandir and kept as strings:
    the same set as Path.glob found (hidden files, a folder named *.json,
    files that are not JSON, nested build folders)."""
    from letterhead.authoring.outputs import generated
    from letterhead.config import load_config

    root = tmp_path / "p"
    (root / "templates_src").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\n[tool.letterhead]\n')
    config = load_config(root)
    ses, build = config.ses_dir, config.build_dir
    if layout != "no-folders":
        if layout == "ses-is-a-file":
            ses.write_text("")
        else:
            (ses / "welcome.json").parent.mkdir(parents=True)
            for name in ("welcome.json", ".hidden.json", "notes.txt", ".json", "welcome__es.json"):
                (ses / name).write_text("{}")
            (ses / "dir.json").mkdir()
            if layout == "full":
                (ses / "schemas").mkdir()
                for name in ("welcome.json", "x.schema"):
                    (ses / "schemas" / name).write_text("{}")
        for rel in ("welcome/default.html", "welcome/es/default.txt", ".hidden", "a/b/c/d.html"):
            (build / rel).parent.mkdir(parents=True, exist_ok=True)
            (build / rel).write_text("x")
    got = generated(config, "ses_templates", "build")
    want = _generated_before(ses, build)
    assert list(got) == list(want) or sorted(got) == sorted(want)
    assert {k: str(v) for k, v in want.items()} == got
