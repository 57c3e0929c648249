"""Source locations that survive Jinja and the SES parse.

:class:`LineMarks`: Jinja's output has no map back to the layout, partial or
template line that produced it, so the loader of
:mod:`letterhead.authoring.compile` marks every source line and the compiler
strips the marks into a locator.  :func:`offset_locator`: offsets of a
restored part → the source location of the placeholder before them.
"""

from __future__ import annotations

import bisect
import itertools
import re
import zlib
from collections.abc import Callable

from ..errors import Location


class LineMarks:
    """Source line numbers that survive Jinja.

    Jinja's output has no map back to the layout, partial or template line
    that produced it, yet MJML errors must name one.  The loader puts an
    invisible mark at the start of every source line that is not inside a
    Jinja tag; after rendering, :meth:`strip` removes the marks and returns a
    locator from output offsets to ``Location(file, line)``.
    """

    MARK_RE = re.compile("\x02(\\d+):(\\d+)\x03")

    def __init__(self) -> None:
        self.paths: dict[int, str] = {}

    def mark(self, text: str, path: str) -> str:
        # File id + line: the same marks in every run (see PlaceholderTable.protect).
        fid = zlib.crc32(path.encode("utf-8"))
        self.paths[fid] = path
        out: list[str] = []
        inside: str | None = None  # the closing delimiter of the Jinja tag we are in
        delims = JINJA_DELIM_RE.finditer(text)  # one pass over the file, not one per line
        m = next(delims, None)
        end = -1
        for lineno, line in enumerate(text.split("\n"), start=1):
            out.append(f"\x02{fid}:{lineno}\x03{line}" if inside is None else line)
            end += len(line) + 1  # the offset of this line's newline
            while m is not None and m.start() < end:
                tok = m.group(0)
                if inside is None and tok in JINJA_OPEN:
                    inside = JINJA_OPEN[tok]
                elif inside is not None and tok == inside:
                    inside = None
                m = next(delims, None)
        return "\n".join(out)

    def at(self, text: str, offset: int) -> Location | None:
        """The source line of ``offset`` in marked ``text`` (before :meth:`strip`)."""
        k = text.rfind("\x02", 0, offset)
        m = self.MARK_RE.match(text, k) if k >= 0 else None
        if m is None:
            return None
        return Location(self.paths[int(m.group(1))], int(m.group(2)) + text.count("\n", m.end(), offset))

    def strip(self, text: str, fallback: str) -> tuple[str, Callable[[int], Location]]:
        """``text`` without its marks, and a locator from offsets in it to
        source lines.  The locator's table is made on its first call: a
        build that meets no error never asks."""
        clean = self.MARK_RE.sub("", text)
        table: tuple[list[int], list[str], list[str]] | None = None

        def locate(offset: int) -> Location:
            nonlocal table
            if table is None:
                # split() leaves [text, file id, line, text, file id, line, ..., text]:
                # each mark's (file id, line), made into a Location only when asked, and
                # its offset in the clean text (the length of the texts before it).
                pieces = self.MARK_RE.split(text)
                table = list(itertools.accumulate(map(len, pieces[0:-1:3]))), pieces[1::3], pieces[2::3]
            offsets, fids, lines = table
            i = bisect.bisect_right(offsets, offset) - 1
            if i >= 0:
                return Location(self.paths[int(fids[i])], int(lines[i]) + clean.count("\n", offsets[i], offset))
            return Location(fallback, clean.count("\n", 0, offset) + 1)

        return clean, locate


JINJA_OPEN = {"{%": "%}", "[[": "]]", "[#": "#]"}
JINJA_DELIM_RE = re.compile(r"\{%|%\}|\[\[|\]\]|\[#|#\]")


def offset_locator(locs: tuple[tuple[int, Location], ...], fallback: str) -> Callable[[int], Location]:
    offsets = [o for o, _ in locs]

    def locate(offset: int) -> Location:
        i = bisect.bisect_right(offsets, offset) - 1
        if i >= 0:
            return locs[i][1]
        return Location(fallback)

    return locate
