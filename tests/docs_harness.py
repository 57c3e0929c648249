"""The machinery of tests/test_docs.py: every code block of README.md and
docs/*.md, run as a reader would run it.

A page is read top to bottom in a scratch copy of this repository's project
(``templates_src/``, ``ses_templates/``, ``build/``, ``pyproject.toml``,
``sync.py``) with a local SES (:class:`letterhead.dev.localses.LocalSes`)
standing in for AWS:

* ``python`` blocks run in one namespace per page (a later block uses what an
  earlier one defined), in the scratch project as the current folder; a block
  that starts with ``>>>`` is a doctest, so the output it shows is checked;
* ``sh``, ``bash`` and ``shell`` blocks run with ``bash -euo pipefail`` in the
  scratch project, the virtualenv's ``bin`` first on ``PATH``; ``console``
  blocks run their ``$ `` lines and check the output shown under them;
* ``toml`` blocks are parsed, and one holding ``[tool.letterhead…]`` tables is
  loaded as a project's configuration (unknown settings fail); ``json`` and
  ``yaml`` blocks are parsed; ``text`` and bare fences are output, not run.

A block that must not run says so where a reader sees it: its first line is
``# not run in the tests: <why>`` (:data:`NOT_RUN`).  Such a block yields no
test; ``test_docs.py`` lists them all and checks each gives a reason.
Sybil's ``<!-- skip: … -->`` comments are not used: they are invisible on the
rendered page.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sybil import Document, Example, Region, Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer
from sybil.typing import Parser

REPO = Path(__file__).resolve().parent.parent
PAGES = ("README.md", *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md")))

NOT_RUN = "# not run in the tests:"
SHELLS = ("sh", "bash", "shell")
RUN = ("python", *SHELLS, "console")
SHOWN = ("", "text", "toml", "json", "yaml")  # shown to the reader, never run
SHELL_TIMEOUT = 120  # seconds for one shell block

# What a page's scratch project holds: the user-facing project of this repository.
PROJECT_FILES = ("pyproject.toml", "sync.py", "setup.cfg")
PROJECT_DIRS = ("templates_src", "ses_templates", "build", "assets")

SENDER_EMAIL = "noreply@calndr.club"
SENDER_NAME = "Calndr Club"
# Variables of the reader's own shell that would change what a block does.
CLEARED_ENV = (
    "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
    "SES_CONFIGURATION_SET", "SES_MAX_SEND_RATE", "LETTERHEAD_ENV", "LETTERHEAD_TRANSPORT", "LETTERHEAD_DEBUG",
    "SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_SECURITY",
)
# Pages that start from an SES account holding no template (they sync it themselves).
EMPTY_ACCOUNT = frozenset({"docs/sync.md"})


# -- every fence of a page -------------------------------------------------------------------------

@dataclass(frozen=True)
class Fence:
    """One fenced block of a page, whatever its language."""

    page: str
    line: int
    language: str
    source: str
    start: int
    end: int

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.language in RUN and self.not_run_reason is None

    @property
    def not_run_reason(self) -> str | None:
        """The reason a block gives for not running ("" when the marker has none)."""
        first = self.source.lstrip("\n").split("\n", 1)[0].strip()
        return first[len(NOT_RUN):].strip() if first.startswith(NOT_RUN) else None


_ANY_FENCE = RawFencedCodeBlockLexer(info_pattern=re.compile(r"(?P<language>[^\n]*)\n"),
                                     mapping={"language": "language", "source": "source"})


def fences_of(document: Document, page: str) -> list[Fence]:
    out = []
    for region in _ANY_FENCE(document):
        language = str(region.lexemes["language"]).strip()
        line = document.text.count("\n", 0, region.start) + 1
        out.append(Fence(page, line, language, str(region.lexemes["source"]), region.start, region.end))
    return sorted(out, key=lambda f: f.start)


def page_fences(page: str) -> list[Fence]:
    path = REPO / page
    return fences_of(Document(path.read_text(encoding="utf-8"), str(path)), page)


class _Runnable:
    """Wraps a Sybil parser: drops the regions of blocks marked not to run."""

    def __init__(self, parser: Parser) -> None:
        self.parser = parser

    def __call__(self, document: Document) -> Iterable[Region]:
        marked = [f for f in fences_of(document, "") if f.not_run_reason is not None]
        for region in self.parser(document):
            if not any(f.start <= region.start < f.end for f in marked):
                yield region


# -- evaluators ------------------------------------------------------------------------------------

def _run_bash(script: str) -> subprocess.CompletedProcess[str]:
    """``script`` in the current folder and environment (the page's, set by the test)."""
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=os.getcwd(), env=dict(os.environ),
                          capture_output=True, text=True, timeout=SHELL_TIMEOUT, stdin=subprocess.DEVNULL)


def _shown(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}"


def evaluate_shell(example: Example) -> str | None:
    proc = _run_bash(str(example.parsed))
    if proc.returncode != 0:
        return f"the shell block failed:\n{example.parsed}\n{_shown(proc)}"
    return None


_CHECKER = doctest.OutputChecker()
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def evaluate_console(example: Example) -> str | None:
    """``$ command`` lines run in turn; the lines under each are its expected
    output (``...`` matches anything, as in a doctest)."""
    steps: list[tuple[str, list[str]]] = []
    for line in str(example.parsed).splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    for command, want in steps:
        proc = _run_bash(command)
        if proc.returncode != 0:
            return f"`{command}` failed:\n{_shown(proc)}"
        expected = "\n".join(want).strip() + "\n"
        if want and not _CHECKER.check_output(expected, proc.stdout, _FLAGS):
            return f"`{command}` printed something else:\n--- shown\n{expected}--- printed\n{proc.stdout}"
    return None


def _shell_parser(language: str) -> Parser:
    return CodeBlockParser(language, evaluate_console if language == "console" else evaluate_shell)


def parse_markdown(path: Path) -> Document:
    """A Markdown file as Sybil sees it: its runnable examples, in page order, sharing one namespace."""
    parsers = [_Runnable(PythonCodeBlockParser(doctest_optionflags=_FLAGS)),
               *(_Runnable(_shell_parser(language)) for language in (*SHELLS, "console"))]
    return Sybil(parsers=parsers).parse(path)


def parse_page(page: str) -> Document:
    return parse_markdown(REPO / page)


# -- shown blocks that can still be checked --------------------------------------------------------

def check_shown(fence: Fence, tmp: Path) -> None:
    """Parse a toml/json/yaml block; load a ``[tool.letterhead]`` one as configuration."""
    if fence.language == "json":
        json.loads(fence.source)
    elif fence.language == "yaml":
        yaml.safe_load(fence.source)
    elif fence.language == "toml":
        data = tomllib.loads(fence.source)
        if "letterhead" in data.get("tool", {}):
            _load_as_config(fence.source, data["tool"]["letterhead"], tmp)


def _load_as_config(text: str, table: dict[str, Any], tmp: Path) -> None:
    from letterhead.config import load_config
    from letterhead.deploy.naming import load_settings

    (tmp / "pyproject.toml").write_text(text, encoding="utf-8")
    config = load_config(tmp, environ={})
    for env in (None, *table.get("env", {})):
        load_settings(config, env)


# -- a page's run ----------------------------------------------------------------------------------

@dataclass
class PageRun:
    """One page read top to bottom in its own scratch project."""

    page: str
    document: Document
    project: Path
    examples: list[Example] = field(default_factory=list)
    done: int = 0  # examples evaluated so far, in order
    broken: str | None = None  # the id of the example that failed

    def evaluate_through(self, index: int) -> None:
        """Evaluate every example up to ``index``, as a reader who skipped
        none: a test picked alone (``-k``) still runs the page's earlier blocks."""
        __tracebackhide__ = True
        while self.done <= index:
            if self.broken is not None:
                raise AssertionError(f"an earlier block of {self.page} failed ({self.broken}): "
                                     "this one runs after it")
            example = self.examples[self.done]
            try:
                example.evaluate()
            except BaseException:
                self.broken = f"{self.page}:{example.line}"
                raise
            finally:
                self.done += 1


def copy_project(dest: Path) -> Path:
    """A scratch copy of the repository's own project (never written to in place)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, dest / name)
    for name in PROJECT_DIRS:
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("deployed"))
    return dest


def page_environ(ses_environ: dict[str, str], cache: Path) -> dict[str, str]:
    """What a reader's shell holds while following a page: the local SES's
    endpoint, region and keys, the sender, the virtualenv's commands first."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **ses_environ,
        "SES_SENDER_EMAIL": SENDER_EMAIL,
        "SES_SENDER_NAME": SENDER_NAME,
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
        "XDG_CACHE_HOME": str(cache),
    }
