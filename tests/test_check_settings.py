"""``[tool.letterhead.check]``: clients, thresholds, Chromium, images; a
mistake is refused at its pyproject line with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from letterhead.check.settings import check_options
from letterhead.config import load_config
from letterhead.errors import ConfigError

from .helpers import make_project


def project(tmp_path: Path, table: str) -> Path:
    root = make_project(tmp_path)
    with (root / "pyproject.toml").open("a") as f:
        f.write("\n[tool.letterhead.check]\n" + table)
    return root


def test_defaults_cover_the_clients_the_issue_names(tmp_path: Path) -> None:
    options = check_options(load_config(make_project(tmp_path)))
    labels = " ".join(c.label for c in options.clients)
    for client in ("Gmail", "Outlook", "Apple Mail", "Yahoo"):
        assert client in labels
    assert (options.spam_threshold, options.min_contrast, options.jobs) == (5.0, 4.5, 2)


def test_settings_are_read(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    root = project(tmp_path, 'clients = ["gmail"]\nspam-threshold = 3\nmin-contrast = 7\njobs = 1\n'
                             'chromium = "/opt/chromium"\n')
    (root / "img").mkdir()
    with (root / "pyproject.toml").open("a") as f:
        f.write('[tool.letterhead.check.images]\n"https://cdn.example.com/email/" = "img"\n')
    options = check_options(load_config(root))
    assert [c.family for c in options.clients] == ["gmail"]
    assert (options.spam_threshold, options.min_contrast, options.jobs) == (3.0, 7.0, 1)
    assert options.chromium == "/opt/chromium"
    assert options.images == {"https://cdn.example.com/email/": (root / "img").resolve()}


@pytest.mark.parametrize(("table", "words", "line"), [
    ("spam_treshold = 4\n", ["unknown setting 'spam_treshold'", "did you mean 'spam-threshold'"], 9),
    ("min-contrast = 30\n", ["min-contrast", "from 1 to 21"], 9),
    ("spam-threshold = true\n", ["spam-threshold", "number"], 9),
    ("jobs = 0\n", ["jobs", "whole number"], 9),
    ('clients = ["gmial"]\n', ["gmial", "gmail"], 9),
    ('chromium = ""\n', ["chromium", "path"], 9),
])
def test_mistakes_are_refused_at_their_line(tmp_path: Path, table: str, words: list[str], line: int) -> None:
    root = project(tmp_path, table)
    with pytest.raises(ConfigError) as info:
        check_options(load_config(root))
    text = str(info.value) + " " + (info.value.hint or "")
    for word in words:
        assert word in text
    assert info.value.location is not None and info.value.location.line == line
    assert info.value.location.path.endswith("pyproject.toml")


def test_an_image_folder_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path, "")
    with (root / "pyproject.toml").open("a") as f:
        f.write('[tool.letterhead.check.images]\n"https://cdn.example.com/" = "nowhere"\n')
    with pytest.raises(ConfigError, match="nowhere") as info:
        check_options(load_config(root))
    assert info.value.location is not None and info.value.location.line == 10  # the prefix's own line


def test_a_table_written_twice_is_refused_at_its_line(tmp_path: Path) -> None:
    root = project(tmp_path, "jobs = 1\n")
    with (root / "pyproject.toml").open("a") as f:
        f.write("[tool.letterhead.check]\njobs = 2\n")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_config(root)
    assert info.value.location is not None and info.value.location.line == 10
