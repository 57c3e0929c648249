"""PlaceholderTable.restore_located and verify (session 7: early exits, fewer
searches and tuples) give what their plain versions give, on any input."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from letterhead.authoring.protect import PlaceholderTable, verify
from letterhead.errors import LetterheadError, Location

REFERENCE = re.compile(r"<!--\s*xlh(\d{6,})x\s*-->|xlh(\d{6,})x")


def reference_restore(table: PlaceholderTable, text: str) -> tuple[str, list[tuple[int, Location]]]:
    out: list[str] = []
    located: list[tuple[int, Location]] = []
    pos = length = 0
    for m in REFERENCE.finditer(text):
        ph = table[int(m.group(1) or m.group(2))]
        out.append(text[pos : m.start()])
        length += m.start() - pos
        located.append((length, ph.location))
        out.append(ph.raw)
        length += len(ph.raw)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out), located


def test_restore_located_matches_the_plain_regex_on_random_text() -> None:
    table = PlaceholderTable()
    for ident in (1, 12, 3, 4, 5):
        table.add("{{#if x}}" if ident == 4 else f"{{{{v{ident}}}}}", Location("t.mjml", ident), ident=ident)
    pieces = ["<!--", "-->", " ", "\n", "\t", "-", "xlh", "x", "a", "<", "!", ">", "\u00a0", "xlh000001x",
              "xlh0000012x", "<!--xlh000004x-->", "<!-- xlh000005x -->", "xlh000003x-->", "lh000001x"]
    rng = random.Random(13)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert table.restore_located(text) == reference_restore(table, text), text
        assert table.restore(text) == reference_restore(table, text)[0]


def reference_verify(before: str, after: str, table: PlaceholderTable) -> None:
    """verify() as it was written before session 7 (one _Occurrence a token)."""
    from letterhead.errors import PlaceholderLostError

    token = re.compile(r"xlh(\d{6,})x")

    def occurrences(text: str, start: int) -> list[tuple[int, tuple[int, ...]]]:
        result: list[tuple[int, tuple[int, ...]]] = []
        stack: list[int] = []
        for m in token.finditer(text, start):
            ph = table[int(m.group(1))]
            if ph.kind in ("open", "inline_open"):
                result.append((ph.id, tuple(stack)))
                stack.append(ph.id)
            elif ph.kind == "close":
                if stack:
                    stack.pop()
                result.append((ph.id, tuple(stack)))
            else:
                result.append((ph.id, tuple(stack)))
        return result

    stage = "the MJML compiler or CSS inliner"
    missing = {int(m.group(1)) for m in token.finditer(before)} - {int(m.group(1)) for m in token.finditer(after)}
    for ident in sorted(missing):
        raise PlaceholderLostError(f"{stage} dropped placeholder {table[ident].raw}", location=table[ident].location)
    src = occurrences(before, max(before.find("<mj-body"), 0))
    out = occurrences(after, max(after.find("<body"), 0))
    src_blocks = [i for i, _ in src if table[i].is_block]
    out_blocks = [i for i, _ in out if table[i].is_block]
    if src_blocks != out_blocks:
        bad = next((x for x, y in zip(src_blocks, out_blocks, strict=False) if x != y), None)
        if bad is None:
            longer, shorter = (src_blocks, out_blocks) if len(src_blocks) > len(out_blocks) else (out_blocks, src_blocks)
            bad = longer[len(shorter)]
        raise PlaceholderLostError(f"{stage} moved block tag {table[bad].raw} out of place",
                                   location=table[bad].location)
    allowed: dict[int, set[tuple[int, ...]]] = {}
    for i, stack in src:
        allowed.setdefault(i, set()).add(stack)
    for i, stack in out:
        if i in allowed and stack not in allowed[i]:
            raise PlaceholderLostError(f"{stage} moved placeholder {table[i].raw} out of its block",
                                       location=table[i].location)


def outcome(check: Callable[[], None]) -> str:
    try:
        check()
    except LetterheadError as exc:
        return f"{exc.message} @ {exc.location}"
    return "ok"


def test_verify_judges_as_before_on_random_token_sequences() -> None:
    table = PlaceholderTable()
    raws = {1: "{{#if a}}", 2: "{{/if}}", 3: "{{name}}", 4: "{{#each xs}}", 5: "{{/each}}", 6: "{{else}}",
            7: "{{url}}", 8: "{{#*inline \"p\"}}"}
    for ident, raw in raws.items():
        table.add(raw, Location("t.mjml", ident), ident=ident)
    tokens = [f"xlh{i:06d}x" for i in raws]
    rng = random.Random(5)
    for _ in range(20_000):
        seq = [rng.choice(tokens) for _ in range(rng.randint(0, 7))]
        before = "<mj-head>" + "".join(seq[:1]) + "</mj-head><mj-body>" + " ".join(seq[1:])
        moved = list(seq)
        for _ in range(rng.randint(0, 2)):  # MRML moves, drops or repeats some
            if moved and rng.random() < 0.5:
                moved.insert(rng.randrange(len(moved) + 1), moved.pop(rng.randrange(len(moved))))
            elif moved and rng.random() < 0.3:
                moved.pop(rng.randrange(len(moved)))
            elif moved:
                moved.insert(0, rng.choice(moved))
        after = "<head>" + "".join(moved[:rng.randint(0, 1)]) + "</head><body>" + "<p>".join(moved)
        assert outcome(lambda: verify(before, after, table)) == \
            outcome(lambda: reference_verify(before, after, table)), (before, after)
