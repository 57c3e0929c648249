"""PlaceholderTable.restore_located (session 7: one early exit, fewer searches)
gives what the plain regex of its tokens gives, on any text."""

from __future__ import annotations

import random
import re

from letterhead.authoring.protect import PlaceholderTable
from letterhead.errors import Location

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
