"""The docs are executed: every ``python``, ``sh``/``bash``/``shell`` and
``console`` block of README.md and docs/*.md runs here, in page order, against
a scratch copy of the project and a local SES.  A doc example that breaks
fails CI.

How a page is run, and how a block that must not run says so (its first line
is ``# not run in the tests: <why>``, visible on the page), is in
tests/docs_harness.py.  Test ids are ``page:line`` of the block (of the
``>>>`` line for a doctest).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sybil import Document, Example

from letterhead.dev.localses import LocalSes

from .docs_harness import (
    CLEARED_ENV,
    EMPTY_ACCOUNT,
    NOT_RUN,
    PAGES,
    RUN,
    SENDER_EMAIL,
    SHOWN,
    Fence,
    PageRun,
    check_shown,
    copy_project,
    page_environ,
    page_fences,
    parse_markdown,
    parse_page,
)

DOCUMENTS: dict[str, tuple[Document, list[Example]]] = {}
for _page in PAGES:
    _document = parse_page(_page)
    DOCUMENTS[_page] = (_document, list(_document.examples()))

EXAMPLES = [(page, i) for page, (_, examples) in DOCUMENTS.items() for i in range(len(examples))]
EXAMPLE_IDS = [f"{page}:{DOCUMENTS[page][1][i].line}" for page, i in EXAMPLES]
FENCES = [fence for page in PAGES for fence in page_fences(page)]
CHECKED = [f for f in FENCES if f.language in ("toml", "json", "yaml")]
HIDDEN_DIRECTIVE = re.compile(r"<!--+\s*(skip|(invisible-)?code(-block)?|clear-namespace)\b")


class Pages:
    """One local SES for the module; each page gets its own scratch project
    and an account reset to what the page assumes."""

    def __init__(self, ses: LocalSes, tmp: pytest.TempPathFactory) -> None:
        self.ses = ses
        self.tmp = tmp
        self.runs: dict[str, PageRun] = {}
        self.environ: dict[str, dict[str, str]] = {}

    def open(self, page: str) -> PageRun:
        if page not in self.runs:
            scratch = self.tmp.mktemp(page.replace("/", "-").removesuffix(".md"))
            document, examples = DOCUMENTS[page]
            run = PageRun(page, document, copy_project(scratch / "project"), examples)
            self.ses.reset()
            self.ses.verify(SENDER_EMAIL)  # as `letterhead dev` verifies SES_SENDER_EMAIL
            if page not in EMPTY_ACCOUNT:
                self.ses.load_templates(run.project / "ses_templates")
            self.environ[page] = page_environ(self.ses.environ(), scratch / "cache")
            self.runs[page] = run
        return self.runs[page]


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pages]:
    with LocalSes() as ses:
        yield Pages(ses, tmp_path_factory)


@pytest.mark.aws
@pytest.mark.slow
@pytest.mark.parametrize(("page", "index"), EXAMPLES, ids=EXAMPLE_IDS)
def test_doc_block_runs(page: str, index: int, pages: Pages, monkeypatch: pytest.MonkeyPatch) -> None:
    run = pages.open(page)
    for name in CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in pages.environ[page].items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(run.project)
    monkeypatch.syspath_prepend(str(run.project))  # as `python` run in the project finds its modules
    run.evaluate_through(index)
    if index == len(run.examples) - 1:  # the page's last block: nothing it sent would SES drop
        dropped = [(d.message.template, d.problem) for d in pages.ses.outbox() if not d.delivered]
        assert not dropped, f"{page} sent messages real SES would drop: {dropped}"


def test_every_code_block_runs_or_says_why_not() -> None:
    """A block in a language nobody runs (``py``, ``zsh``) would pass unseen."""
    unknown = [f"{f.id}: ```{f.language}" for f in FENCES if f.language not in (*RUN, *SHOWN)]
    assert not unknown, f"fences in no known language (run: {RUN}; shown: {SHOWN}): {unknown}"
    examples = {page: [e.start for e in DOCUMENTS[page][1]] for page in PAGES}
    unrun = [f.id for f in FENCES if f.runs and not any(f.start <= s < f.end for s in examples[f.page])]
    assert not unrun, f"blocks the harness found no example in: {unrun}"
    misplaced = [f.id for f in FENCES if f.not_run_reason is not None and f.language not in RUN]
    assert not misplaced, f"`{NOT_RUN}` on a block that never runs anyway: {misplaced}"


def test_blocks_not_run_give_their_reason() -> None:
    """The blocks the tests do not run, each with its reason on the page."""
    not_run: list[Fence] = [f for f in FENCES if f.not_run_reason is not None]
    assert not_run, "no block is marked; if that is now true, drop this test's minimum"
    without = [f.id for f in not_run if not f.not_run_reason]
    assert not without, f"`{NOT_RUN}` must be followed by the reason: {without}"


def test_nothing_is_hidden_from_the_reader() -> None:
    """Sybil's ``<!-- skip: … -->`` hides that a block is not run, and its
    ``<!-- invisible-code-block -->`` runs code the reader never sees (so a
    copied example would fail where the test passes)."""
    hidden = [page for page in PAGES
              if HIDDEN_DIRECTIVE.search(Path(DOCUMENTS[page][0].path).read_text(encoding="utf-8"))]
    assert not hidden, f"use a visible `{NOT_RUN} <why>` first line, or show the code: {hidden}"


@pytest.mark.parametrize("fence", CHECKED, ids=[f.id for f in CHECKED])
def test_shown_config_and_data_blocks_parse(fence: Fence, tmp_path: Path) -> None:
    check_shown(fence, tmp_path)


HARNESS_PAGE = """# A page

```sh
echo one
```

```console
$ echo two
two
$ printf 'a\\nb\\n'
a
...
```

```python
x = 41
```

```python
>>> x + 1
42
```

```sh
# not run in the tests: it would fail
exit 3
```
"""


def _evaluated(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """Each runnable block of ``text``: None when it passed, else the failure."""
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    out: list[str | None] = []
    for example in parse_markdown(page).examples():
        try:
            example.evaluate()
            out.append(None)
        except AssertionError as exc:
            out.append(str(exc))
    return out


def test_the_harness_runs_each_kind_of_block_and_skips_the_marked_one(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert _evaluated(HARNESS_PAGE, tmp_path, monkeypatch) == [None, None, None, None]


@pytest.mark.parametrize(("shown", "broken", "said"), [
    ("echo one", "echo one; echo oops >&2; false", "oops"),  # the failure shows stdout and stderr
    ("$ echo two\ntwo", "$ echo two\nthree", "printed something else"),
    (">>> x + 1\n42", ">>> x + 1\n43", "Expected"),
])
def test_the_harness_fails_a_block_that_does_not_do_what_it_shows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shown: str, broken: str, said: str) -> None:
    results = _evaluated(HARNESS_PAGE.replace(shown, broken), tmp_path, monkeypatch)
    failures = [r for r in results if r is not None]
    assert len(failures) == 1 and said in failures[0], results
