"""The ``letterhead`` command keeps compiled regular expressions between runs
(letterhead.cli.regex_cache): a pattern served from the cache must be the
pattern Python compiles, whatever the file holds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from letterhead.cli import regex_cache

PATTERNS: list[tuple[str | bytes, int]] = [
    (r"(?P<name>[A-Za-z_]\w*)\s*=\s*(['\"])(?P<value>.*?)\2", 0),
    (r"<mj-style\b[^>]*\binline\s*=\s*([\"'])inline\1[^>]*>(.*?)</mj-style\s*>", re.DOTALL | re.IGNORECASE),
    (r"^(xlh\d{6,}x)\n\n+", re.MULTILINE),
    (r"(?<=\{\{)\s*#(if|each|unless|with)\b(?!-)", 0),
    (r"(?x) \d+ (?: \. \d* )?  # a number", 0),
    (r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]", 0),
    (rb"\r\n|[\r\n]", 0),
    (r"caf\u00e9|na\u00efve", re.IGNORECASE | re.ASCII),
    (r"(a)|(?P<b>b)|(?(1)c|d)", 0),
]
SAMPLES = ["name = 'x'", "<mj-style inline=\"inline\">p{}</mj-style>", "xlh000012x\n\nrest", "{{ #if a}}",
           " 12.5 ", "שלום عربي", "CAFÉ naïve", "abcd"]


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh cache installed with its folder under tmp_path; afterwards,
    re compiles as the test session found it."""
    was_installed = regex_cache._state.original is not None
    regex_cache.uninstall()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("LETTERHEAD_REGEX_CACHE", raising=False)
    re.purge()
    yield tmp_path
    regex_cache.uninstall()
    re.purge()
    monkeypatch.undo()
    if was_installed:
        regex_cache.install()


def _compiled_by_python(pattern: str | bytes, flags: int) -> re.Pattern[str] | re.Pattern[bytes]:
    from re import _compiler  # type: ignore[attr-defined]

    original = regex_cache._state.original or _compiler.compile
    return original(pattern, flags)  # type: ignore[no-any-return]


def _new_run() -> None:
    """What the next process sees: the file, and nothing in memory."""
    regex_cache.save()
    regex_cache.uninstall()
    re.purge()
    assert regex_cache.install()


def test_patterns_from_the_cache_are_the_patterns_python_compiles(cache_home: Path) -> None:
    assert regex_cache.install()
    first = [re.compile(p, f) for p, f in PATTERNS]
    assert regex_cache._state.new == len(PATTERNS)
    _new_run()
    second = [re.compile(p, f) for p, f in PATTERNS]
    assert regex_cache._state.new == 0, "the second run compiled again instead of reading the file"
    for (pattern, flags), a, b in zip(PATTERNS, first, second, strict=True):
        want = _compiled_by_python(pattern, flags)
        # Patterns compare equal only when their flags and compiled code do.
        assert a == want and b == want, pattern
        assert (b.groups, b.groupindex, b.flags) == (want.groups, want.groupindex, want.flags)
        for text in SAMPLES:
            subject: str | bytes = text.encode() if isinstance(pattern, bytes) else text
            assert [m.span() for m in b.finditer(subject)] == [m.span() for m in want.finditer(subject)]  # type: ignore[arg-type]


def test_letterheads_own_patterns_round_trip(cache_home: Path) -> None:
    """Every module-level pattern of the build, compiled from the file."""
    import letterhead.authoring.build  # noqa: F401 - loads the build's modules

    found = {(v.pattern, v.flags) for name, mod in list(sys.modules.items()) if name.startswith("letterhead")
             for v in vars(mod).values() if isinstance(v, re.Pattern)}
    assert len(found) > 100
    assert regex_cache.install()
    for pattern, flags in found:
        re.compile(pattern, flags)
    _new_run()
    for pattern, flags in sorted(found, key=repr):
        assert re.compile(pattern, flags) == _compiled_by_python(pattern, flags), pattern
    assert regex_cache._state.new == 0


@pytest.mark.parametrize("content", [b"", b"garbage", b"letterhead-regex-cache 1\n\x00\x01",
                                     b"letterhead-regex-cache 0\n{}"])
def test_an_unreadable_file_is_ignored_and_written_again(cache_home: Path, content: bytes) -> None:
    path = Path(regex_cache.cache_path())
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert regex_cache.install()
    assert re.compile(PATTERNS[0][0]) == _compiled_by_python(PATTERNS[0][0], 0)
    _new_run()
    assert path.read_bytes().startswith(b"letterhead-regex-cache 1\n")
    assert re.compile(PATTERNS[0][0]) == _compiled_by_python(PATTERNS[0][0], 0)
    assert regex_cache._state.new == 0


def test_a_file_made_for_other_patterns_cannot_change_one(cache_home: Path) -> None:
    """The key is the pattern and flags: an entry stored under another flag
    set is not used for this one."""
    assert regex_cache.install()
    re.compile("abc", re.IGNORECASE)
    _new_run()
    assert re.compile("abc").match("ABC") is None
    assert re.compile("abc", re.IGNORECASE).match("ABC") is not None


def test_a_few_new_patterns_are_not_worth_a_write(cache_home: Path) -> None:
    """Patterns built from a set differ from run to run: one new among many
    known does not rewrite the file at every command."""
    assert regex_cache.install()
    for i in range(40):
        re.compile(f"known{i}")
    _new_run()
    path = Path(regex_cache.cache_path())
    before = path.read_bytes()
    for i in range(40):
        re.compile(f"known{i}")
    re.compile("(a|b|c)")  # new this run
    regex_cache.save()
    assert path.read_bytes() == before
    for i in range(3):
        re.compile(f"more{i}")  # 4 new of 44 used: past one in twenty
    regex_cache.save()
    assert path.read_bytes() != before


def test_off_by_environment(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LETTERHEAD_REGEX_CACHE", "0")
    assert not regex_cache.install()
    re.compile("off(?:line)?")
    regex_cache.save()
    assert not any(cache_home.rglob("regex-*"))


def test_only_this_runs_patterns_are_kept_past_the_limit(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert regex_cache.install()
    for i in range(20):
        re.compile(f"old{i}")
    _new_run()
    monkeypatch.setattr(regex_cache, "_LIMIT", 10)
    for i in range(3):
        re.compile(f"new-{i}")
    regex_cache.save()
    regex_cache.uninstall()
    re.purge()
    assert regex_cache.install()
    assert set(regex_cache._state.known) == {(f"new-{i}", 0) for i in range(3)}


def test_the_command_writes_the_cache_and_the_next_run_reads_it(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("LETTERHEAD_REGEX_CACHE", None)
    subprocess.run([sys.executable, "-m", "letterhead", "--help"], env=env, check=True, capture_output=True)
    files = list(tmp_path.glob("letterhead/regex-*.bin"))
    assert len(files) == 1 and files[0].stat().st_size > 1000
    # The next run: what it compiled itself, against what the file gave it.
    # (The standard library's email parser builds a few patterns from sets,
    # in a different order each run: those are new every time.)
    probe = ("import sys; sys.argv = ['letterhead', '--help']\n"
             "from letterhead.cli import regex_cache as r, main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(r._state.new, len(r._state.used), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", probe], env=env, check=True, capture_output=True, text=True)
    new, used = map(int, out.stderr.split()[-2:])
    assert used > 50 and new <= used // 10, out.stderr
