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
