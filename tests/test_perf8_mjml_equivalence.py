"""Session 8's faster forms of the MJML stage give what the code they replaced
gave (kept below as the references), on the stage's real inputs (captured
while building tests/projects and a small bench project) and on random ones."""

from __future__ import annotations

import contextlib
import random
import re
import shutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from letterhead.authoring import mjml
from letterhead.authoring.mjml import Context, MjmlMap
from letterhead.authoring.protect import TOKEN_RE, PlaceholderTable, place_in_mjml, verify
from letterhead.errors import LetterheadError, Location, PlaceholderLostError
from tests.helpers import PROJECTS, REPO

# --- the stage's real inputs ------------------------------------------------------------------

def _projects() -> list[Path]:
    """tests/projects/base and every overlay that brings a template (bad/ too)."""
    found = [p for p in sorted(PROJECTS.iterdir()) if p.name not in ("bad", "base")]
    found += sorted((PROJECTS / "bad").iterdir())
    slow = ("robust-partial-laughs", "too_big")  # refused before the MJML stage, after a long time
    return [PROJECTS / "base", *(p for p in found if (p / "templates_src").is_dir() and p.name not in slow)]


def _wrap(target: Any, name: str, record: list[tuple[Any, ...]], mp: pytest.MonkeyPatch) -> None:
    original = getattr(target, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        record.append((*args, result))  # the positional arguments, then the result
        return result

    mp.setattr(target, name, wrapper)


STAGES = ("restore", "scan", "place", "verify", "layout", "before", "after", "mirror")


@pytest.fixture(scope="module")
def real_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[Any, ...]]]:
    """What each function of the stage was called with, and gave, while
    building tests/projects (base and its overlays) and a 3-template x
    4-locale bench project, and compiling the MJML cases of
    tests/projects/fidelity and realworld."""
    from letterhead.authoring import build, mjml_fixes, rtl
    from letterhead.authoring import compile as compile_module
    from letterhead.config import load_config

    sys.path.insert(0, str(REPO / "bench"))
    try:
        import build as bench  # bench/build.py
    finally:
        sys.path.remove(str(REPO / "bench"))
    tmp = tmp_path_factory.mktemp("perf8")
    roots = []
    for project in _projects():
        root = tmp / project.relative_to(PROJECTS).as_posix().replace("/", "-")
        shutil.copytree(PROJECTS / "base", root)
        if project.name != "base":
            shutil.copytree(project, root, dirs_exist_ok=True)
        roots.append(root)
    bench.make_locale_project(tmp / "bench", n=3)
    roots.append(tmp / "bench")
    seen: dict[str, list[tuple[Any, ...]]] = {stage: [] for stage in STAGES}
    original_restore = PlaceholderTable.restore_located

    def restore(self: PlaceholderTable, text: str) -> tuple[str, list[tuple[int, Location]]]:
        result = original_restore(self, text)
        seen["restore"].append((self, text, result))
        return result

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(PlaceholderTable, "restore_located", restore)
        for stage, target, name in (("scan", mjml, "scan"), ("place", compile_module, "place_in_mjml"),
                                    ("verify", compile_module, "verify"), ("layout", mjml, "layout"),
                                    ("before", mjml_fixes, "before_mrml"), ("after", mjml_fixes, "after_mrml"),
                                    ("mirror", rtl, "mirror")):
            _wrap(target, name, seen[stage], mp)
        for root in roots:
            with contextlib.suppress(LetterheadError):  # the broken projects: what ran before the error counts
                build.build(load_config(root), force=True)
        for case in sorted((PROJECTS / "fidelity").glob("*.mjml")) + sorted((PROJECTS / "realworld").glob("*.mjml")):
            rtl.mirror(mjml.compile_mjml(case.read_text(encoding="utf-8")))
    for stage, found in seen.items():
        assert len(found) >= 10, stage
    return seen


# --- PlaceholderTable.restore_located ---------------------------------------------------------


_COMMENT_TAIL_RE = re.compile(r"\s*-->")


def _reference_token_spans(text: str) -> Iterable[tuple[int, int, int]]:
    pos = 0
    tail_at = _COMMENT_TAIL_RE.match
    for m in TOKEN_RE.finditer(text):
        start, end = m.span()
        if start and (text[start - 1] == "-" or text[start - 1].isspace()):
            k = text.rfind("<!--", pos, start)
            if k != -1 and (k + 4 == start or text[k + 4 : start].isspace()):
                tail = tail_at(text, end)
                if tail is not None:
                    start, end = k, tail.end()
        yield start, end, int(m.group(1))
        pos = end


def reference_restore_located(table: PlaceholderTable, text: str) -> tuple[str, list[tuple[int, Location]]]:
    """restore_located before session 8: one generator step and piece a token."""
    if "xlh" not in text:
        return text, []
    out: list[str] = []
    locations: list[tuple[int, Location]] = []
    pos = length = 0
    for start, end, ident in _reference_token_spans(text):
        piece = text[pos:start]
        out.append(piece)
        length += len(piece)
        ph = table.items[ident]
        locations.append((length, ph.location))
        out.append(ph.raw)
        length += len(ph.raw)
        pos = end
    out.append(text[pos:])
    return "".join(out), locations


def test_restore_located_gives_what_it_gave_on_real_parts(real_inputs: dict[str, list[tuple[Any, ...]]]) -> None:
    for table, text, _ in real_inputs["restore"]:
        assert table.restore_located(text) == reference_restore_located(table, text), text[:200]


def test_restore_located_gives_what_it_gave_on_random_text() -> None:
    table = PlaceholderTable()
    for ident in (1, 12, 3, 4, 5, 123456):
        table.add("{{#if x}}" if ident == 4 else f"{{{{v{ident}}}}}", Location("t.mjml", ident), ident=ident)
    pieces = ["<!--", "-->", " ", "\n", "\t", "-", "--", "xlh", "x", "a", "<", "!", ">", "\u00a0", "\u2003",
              "xlh000001x", "xlh0000012x", "<!--xlh000004x-->", "<!-- xlh000005x -->", "xlh000003x-->",
              "lh000001x", "xlh123456x", "<!--\n", "\n-->", "<!-- <!--"]
    rng = random.Random(8)
    for _ in range(30_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 16)))
        assert table.restore_located(text) == reference_restore_located(table, text), repr(text)


# --- place_in_mjml ------------------------------------------------------------------------------


def reference_place_in_mjml(text: str, table: PlaceholderTable, mjml_map: MjmlMap) -> str:
    """place_in_mjml before session 8: a Region and a rebuilt piece for every token."""
    out: list[str] = []
    pos = 0
    for m in TOKEN_RE.finditer(text):
        ph = table[int(m.group(1))]
        region = mjml_map.at(m.start())
        ctx = region.context
        replacement = m.group(0)
        if ph.is_block and ctx is Context.STRUCTURE:
            if region.tag in ("mj-head", "mj-attributes", "mjml", ""):
                raise PlaceholderLostError(
                    f"SES block tag {ph.raw} cannot stand in <{region.tag or 'top level'}>",
                    location=ph.location,
                    hint="move it inside <mj-body>, around sections or components",
                )
            replacement = f"<mj-raw><!--{m.group(0)}--></mj-raw>"
        elif ph.is_block and ctx is Context.HTML_TEXT:
            replacement = f"<!--{m.group(0)}-->"
        elif not ph.is_block and ctx is Context.STRUCTURE and region.tag not in ("mj-head",):
            raise PlaceholderLostError(
                f"placeholder {ph.raw} stands between MJML components, where MJML drops text",
                location=ph.location,
                hint="put it inside an <mj-text> (or <mj-raw> for raw HTML)",
            )
        elif ctx is Context.STRUCTURE:
            raise PlaceholderLostError(
                f"placeholder {ph.raw} stands in <mj-head> outside any component",
                location=ph.location,
                hint="use it inside <mj-title>, <mj-preview> or an attribute",
            )
        out.append(text[pos : m.start()])
        out.append(replacement)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def _outcome(run: Callable[[], object]) -> object:
    try:
        return run()
    except LetterheadError as exc:
        return type(exc).__name__, exc.message, exc.location, exc.hint, exc.source_line


def test_place_in_mjml_gives_what_it_gave_on_real_documents(real_inputs: dict[str, list[tuple[Any, ...]]]) -> None:
    for text, table, mjml_map, _ in real_inputs["place"]:
        assert place_in_mjml(text, table, mjml_map) == reference_place_in_mjml(text, table, mjml_map)


def _random_mjml(rng: random.Random, tokens: list[str]) -> str:
    """A small MJML document with tokens in every kind of place (head, between
    components, attributes, HTML text and tags, comments, title, style)."""
    def some() -> str:
        return rng.choice(["", "", " ", "\n", rng.choice(tokens), rng.choice(tokens) + " " + rng.choice(tokens)])

    pieces = [some(), "<b>", "</b>", f'<a href="{some()}">', "</a>", "<!--", "-->", f"<!--{some()}-->", "text "]
    content = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
    attribute = f'<mj-all padding="{some()}" />'
    head = rng.choice(["", f"<mj-title>{some()}</mj-title>", f"<mj-attributes>{some()}{attribute}</mj-attributes>",
                       f"<mj-style>.a {{ color: {some()} }}</mj-style>", some()])
    padding = rng.choice(["", f' padding="{some()}"'])
    body = (f"{some()}<mj-section{padding}>{some()}<mj-column>{some()}<mj-text>{content}</mj-text>{some()}"
            f"<mj-raw>{content}</mj-raw>{some()}</mj-column>{some()}</mj-section>")
    return f"{some()}<mjml>{some()}<mj-head>{head}</mj-head><mj-body>{body}{some()}</mj-body></mjml>"


def test_place_in_mjml_gives_what_it_gave_on_random_documents() -> None:
    table = PlaceholderTable()
    raws = ["{{name}}", "{{#if a}}", "{{/if}}", "{{else}}", "{{!-- c --}}", "{{{html}}}", "{{> p}}"]
    tokens = [table.add(raw, Location("t.mjml", i + 1), ident=i + 1).token for i, raw in enumerate(raws)]
    rng = random.Random(88)
    placed = errors = 0
    for _ in range(4000):
        text = _random_mjml(rng, tokens)
        try:
            mjml_map = mjml.scan(text)
        except LetterheadError:
            continue
        new = _outcome(lambda: place_in_mjml(text, table, mjml_map))  # noqa: B023
        assert new == _outcome(lambda: reference_place_in_mjml(text, table, mjml_map)), text  # noqa: B023
        placed += isinstance(new, str) and new != text
        errors += not isinstance(new, str)
    assert placed > 300 and errors > 300  # both ways out were taken, often


# --- verify ---------------------------------------------------------------------------------------


def _reference_occurrences(text: str, table: PlaceholderTable, start: int = 0) -> list[tuple[int, tuple[int, ...]]]:
    result: list[tuple[int, tuple[int, ...]]] = []
    stack: tuple[int, ...] = ()
    for ident in map(int, TOKEN_RE.findall(text, start)):
        kind = table.items[ident].kind
        if kind == "open" or kind == "inline_open":
            result.append((ident, stack))
            stack = (*stack, ident)
        elif kind == "close":
            if stack:
                stack = stack[:-1]
            result.append((ident, stack))
        else:
            result.append((ident, stack))
    return result


def reference_verify(before: str, after: str, table: PlaceholderTable, *, before_body: str = "<mj-body",
                     after_body: str = "<body", stage: str = "the MJML compiler or CSS inliner") -> None:
    """verify before session 8: two findalls a text, the blocks worked out for every token."""
    before_ids = set(map(int, TOKEN_RE.findall(before)))
    after_ids = set(map(int, TOKEN_RE.findall(after)))
    for ident in sorted(before_ids - after_ids):
        ph = table[ident]
        raise PlaceholderLostError(f"{stage} dropped placeholder {ph.raw}", location=ph.location,
                                   hint="move it into text or an attribute of a component that renders it")
    src = _reference_occurrences(before, table, max(before.find(before_body), 0))
    out = _reference_occurrences(after, table, max(after.find(after_body), 0))
    if src == out:
        return
    src_blocks = [ident for ident, _ in src if table[ident].is_block]
    out_blocks = [ident for ident, _ in out if table[ident].is_block]
    if src_blocks != out_blocks:
        bad = next((x for x, y in zip(src_blocks, out_blocks, strict=False) if x != y), None)
        if bad is None:
            bad = (src_blocks[len(out_blocks)] if len(src_blocks) > len(out_blocks) else out_blocks[len(src_blocks)]) \
                if src_blocks != out_blocks else src_blocks[0]
        ph = table[bad]
        raise PlaceholderLostError(
            f"{stage} moved block tag {ph.raw} out of place", location=ph.location,
            hint="wrap block tags between components in <mj-raw>…</mj-raw>, or keep them inside one mj-text")
    allowed: dict[int, set[tuple[int, ...]]] = {}
    for ident, stack in src:
        allowed.setdefault(ident, set()).add(stack)
    for ident, stack in out:
        if ident in allowed and stack not in allowed[ident]:
            ph = table[ident]
            raise PlaceholderLostError(
                f"{stage} moved placeholder {ph.raw} out of its block", location=ph.location,
                hint="keep placeholders in text or attributes; between table rows only block tags may stand")


def _verdict(check: Callable[[], None]) -> object:
    try:
        check()
    except LetterheadError as exc:
        return type(exc).__name__, exc.message, exc.location, exc.hint
    except KeyError as exc:  # a token the table does not hold
        return "KeyError", exc.args
    return "ok"


def test_verify_judges_as_before_on_real_documents(real_inputs: dict[str, list[tuple[Any, ...]]]) -> None:
    for before, after, table, _ in real_inputs["verify"]:
        assert _verdict(lambda: verify(before, after, table)) == "ok"  # noqa: B023
        assert _verdict(lambda: reference_verify(before, after, table)) == "ok"  # noqa: B023


def test_verify_judges_as_before_on_random_documents() -> None:
    table = PlaceholderTable()
    raws = {1: "{{#if a}}", 2: "{{/if}}", 3: "{{name}}", 4: "{{#each xs}}", 5: "{{/each}}", 6: "{{else}}",
            7: "{{url}}", 8: '{{#*inline "p"}}'}
    for ident, raw in raws.items():
        table.add(raw, Location("t.mjml", ident), ident=ident)
    # the same id written with more digits, and ids the table does not hold
    tokens = [f"xlh{i:06d}x" for i in raws] + ["xlh0000003x", "xlh0000001x", "xlh000009x"]
    rng = random.Random(58)
    verdicts = set()
    for _ in range(30_000):
        seq = [rng.choice(tokens) for _ in range(rng.randint(0, 8))]
        head = rng.randint(0, 2)
        marker = rng.choice(["<mj-body>", "<mj-body>", ""])
        before = "<mj-head>" + "".join(seq[:head]) + "</mj-head>" + marker + " ".join(seq[head:])
        moved = list(seq)
        for _ in range(rng.randint(0, 2)):  # MRML and the inliner move, drop or repeat some
            if moved and rng.random() < 0.5:
                moved.insert(rng.randrange(len(moved) + 1), moved.pop(rng.randrange(len(moved))))
            elif moved and rng.random() < 0.3:
                moved.pop(rng.randrange(len(moved)))
            elif moved:
                moved.insert(0, rng.choice(moved))
        cut = rng.randint(0, len(moved))
        after = "<head>" + "".join(moved[:cut]) + "</head>" + rng.choice(["<body>", ""]) + "<p>".join(moved[cut:])
        new = _verdict(lambda: verify(before, after, table))  # noqa: B023
        assert new == _verdict(lambda: reference_verify(before, after, table)), (before, after)  # noqa: B023
        verdicts.add(new if isinstance(new, str) else new[0])
    assert verdicts == {"ok", "PlaceholderLostError", "KeyError"}
