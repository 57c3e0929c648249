"""Checking each translation of a ``.po`` against its msgid.

A translation is sent through SES and formatted by Jinja, so beyond its words
it must keep what both of them read in the msgid:

* the SES placeholders: the same printed ``{{…}}``/``{{{…}}}`` tags, in any
  order, whitespace aside (a dropped, added, misspelt or re-braced one would
  leave a value unfilled, or print it escaped differently);
* the SES block tags (``{{#if}}``, ``{{else}}``, ``{{/each}}``…), the same ones in
  the same order (anything else changes or breaks the template's logic);
* Jinja's ``%(name)s`` variables: no name the msgid lacks and no lone ``%``
  (Jinja formats a ``{% trans %}`` with ``%``, so either breaks the build).

:func:`check_translation` lists the problems of one message, form by form;
:func:`problems_error` words all of a file's problems as one
:class:`~letterhead.errors.TranslationError` at the first ``msgstr`` line, with a
hint per kind of problem.  :mod:`letterhead.authoring.i18n` runs both when it
loads a catalogue.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from typing import Literal, NamedTuple

from ..errors import Location, TemplateSyntaxError, TranslationError
from ..sestemplate import Tag, scan

ProblemKind = Literal["placeholder", "block", "python"]


class Problem(NamedTuple):
    """One broken form of a translation: its ``msgstr`` line, the message, what breaks."""

    line: int
    label: str  # `"msgid"` or `"msgid" (context "x")`
    what: str  # drops {{x}}, …
    kind: ProblemKind


_OUTPUT_KINDS = frozenset({"output", "raw_output", "partial"})
_BLOCK_KINDS = frozenset({"open", "inverse_open", "else", "close", "inline_open"})
_PY_VAR = re.compile(r"%\((\w*)\)[-#0 +]*(?:\d+)?(?:\.\d+)?[diouxXeEfFgGcrsa]")
_HINTS = {
    "placeholder": "copy each {{placeholder}} exactly as the msgid writes it, braces included: "
                   "SES fills placeholders when it sends, so they are never translated",
    "block": "keep the msgid's block tags ({{#if}}, {{else}}, {{/if}}, {{#each}}…) in the same order, "
             "translating only the text between them",
    "python": "copy each %(name)s exactly as the msgid writes it, and write %% for a percent sign",
}


def _label(msgid: str, context: str | None) -> str:
    shown = msgid.replace("\n", "\\n")
    shown = shown if len(shown) <= 80 else shown[:77] + "…"
    return f'"{shown}"' + (f' (context "{context}")' if context is not None else "")


def check_translation(ids: Sequence[str], strings: Sequence[str], lines: Sequence[int],
                      context: str | None) -> list[Problem]:
    """Every problem of one translated (non-fuzzy) message, form by form:
    ``ids`` is (msgid,) or (msgid, msgid_plural), ``strings`` its msgstr forms
    and ``lines`` the ``.po`` line of each."""
    label = _label(ids[0], context)
    found: list[Problem] = []
    for index, (msgstr, line) in enumerate(zip(strings, lines, strict=False)):
        if not msgstr:
            continue
        # A plural form carries the singular's placeholders or the plural's
        # (which form is which depends on the language): check against the
        # closer one, preferring the plural for every form but the first.
        candidates = [ids[0]] if len(ids) == 1 else ([ids[0], ids[1]] if index == 0 else [ids[1], ids[0]])
        best: list[tuple[str, ProblemKind]] | None = None
        for msgid in candidates:
            problems = _ses_problems(msgid, msgstr)
            if best is None or len(problems) < len(best):
                best = problems
            if not problems:
                break
        found.extend(Problem(line, label, what, kind) for what, kind in best or [])
        found.extend(Problem(line, label, what, "python") for what in _python_problems(ids, msgstr))
    return found


def _key(tag: Tag) -> tuple[str, str, tuple[str, ...]]:
    """A tag as SES reads it, whitespace (and ``~`` whitespace control) aside."""
    return (tag.kind, tag.name, tag.args)


def _same_but_braces(a: Tag, b: Tag) -> bool:
    return {a.kind, b.kind} == {"output", "raw_output"} and (a.args, a.name) == (b.args, b.name)


def _ses_problems(msgid: str, msgstr: str) -> list[tuple[str, ProblemKind]]:
    try:
        want = scan(msgid)
    except TemplateSyntaxError:
        return []  # the template itself is wrong: the build reports it there
    try:
        got = scan(msgstr)
    except TemplateSyntaxError as exc:
        return [(f"breaks an SES tag: {exc.message}", "placeholder")]
    problems: list[tuple[str, ProblemKind]] = []
    problems.extend((what, "placeholder") for what in _output_problems(
        [t for t in want if t.kind in _OUTPUT_KINDS], [t for t in got if t.kind in _OUTPUT_KINDS]))
    problems.extend((what, "block") for what in _block_problems(
        [t for t in want if t.kind in _BLOCK_KINDS], [t for t in got if t.kind in _BLOCK_KINDS]))
    return problems


def _difference(want: Sequence[Tag], got: Sequence[Tag]) -> tuple[list[Tag], list[Tag]]:
    """The tags of ``want`` that ``got`` lacks and those ``got`` has in excess (multisets)."""
    extra = Counter(_key(t) for t in got) - Counter(_key(t) for t in want)
    lacking = Counter(_key(t) for t in want) - Counter(_key(t) for t in got)

    def pick(tags: Sequence[Tag], counts: Counter[tuple[str, str, tuple[str, ...]]]) -> list[Tag]:
        out: list[Tag] = []
        for tag in tags:
            if counts[_key(tag)] > 0:
                counts[_key(tag)] -= 1
                out.append(tag)
        return out

    return pick(want, lacking), pick(got, extra)


def _pair_misspelt(missing: list[Tag], added: list[Tag]) -> list[tuple[Tag, Tag]]:
    """Pairs (missing, added) that look like the same tag written differently;
    both lists lose them."""
    pairs: list[tuple[Tag, Tag]] = []
    for tag in list(added):
        same = next((m for m in missing if _same_but_braces(m, tag)), None)
        if same is None:  # the same kind of tag, its name or path close to the other's
            kin = [m for m in missing if m.kind == tag.kind]
            near = difflib.get_close_matches(_inner(tag), [_inner(m) for m in kin], n=1, cutoff=0.6)
            same = next((m for m in kin if near and _inner(m) == near[0]), None)
        if same is not None:
            pairs.append((same, tag))
            missing.remove(same)
            added.remove(tag)
    return pairs


def _shown(tag: Tag) -> str:
    return " ".join(tag.raw.split())


def _inner(tag: Tag) -> str:
    return " ".join((tag.name, *tag.args)).strip()


def _output_problems(want: Sequence[Tag], got: Sequence[Tag]) -> list[str]:
    missing, added = _difference(want, got)
    problems: list[str] = []
    for original, written in _pair_misspelt(missing, added):
        if _same_but_braces(original, written):
            problems.append(f"writes {_shown(written)} where the msgid has {_shown(original)} "
                            "({{{…}}} prints the value unescaped, {{…}} escapes it)")
        else:
            problems.append(f"adds {_shown(written)} (did you mean {_shown(original)}?)")
    problems.extend(f"drops {_shown(t)}" for t in missing)
    known = {_key(t) for t in want}
    problems.extend(f"adds {'another ' if _key(t) in known else ''}{_shown(t)}" for t in added)
    return problems


def _blocks(tags: Sequence[Tag]) -> dict[int, str]:
    """Each block tag's block, shown as ``{{#if note}}…{{/if}}`` (by index in ``tags``)."""
    shown: dict[int, str] = {}
    stack: list[list[int]] = []
    for i, tag in enumerate(tags):
        if tag.kind in ("open", "inverse_open", "inline_open"):
            stack.append([i])
        elif stack:
            stack[-1].append(i)
            if tag.kind == "close":
                members = stack.pop()
                block = f"{_shown(tags[members[0]])}…{_shown(tag)}"
                shown.update(dict.fromkeys(members, block))
    for members in stack:
        shown.update(dict.fromkeys(members, f"{_shown(tags[members[0]])}…"))
    return shown


def _block_problems(want: Sequence[Tag], got: Sequence[Tag]) -> list[str]:
    if [_key(t) for t in want] == [_key(t) for t in got]:
        return []
    blocks = _blocks(want)

    def block_of(tag: Tag) -> str:
        return blocks.get(next(i for i, t in enumerate(want) if t is tag), _shown(tag))

    missing, added = _difference(want, got)
    if not missing and not added:  # the same tags, reordered
        first = next(i for i, (a, b) in enumerate(zip(want, got, strict=True)) if _key(a) != _key(b))
        return [f"breaks the block {blocks.get(first, _shown(want[first]))}: its tags are reordered "
                f"(the msgid has {' '.join(map(_shown, want))}, the translation {' '.join(map(_shown, got))})"]
    problems = [f"breaks the block {block_of(original)}: writes {_shown(written)} for {_shown(original)}"
                for original, written in _pair_misspelt(missing, added)]
    # A block dropped whole is said once.
    whole = [block for block in dict.fromkeys(block_of(t) for t in missing)
             if all(t in missing for i, t in enumerate(want) if blocks.get(i) == block)]
    problems.extend(f"drops the block {block}" for block in whole)
    problems.extend(f"breaks the block {block_of(t)}: drops {_shown(t)}" for t in missing if block_of(t) not in whole)
    problems.extend(f"adds the block tag {_shown(t)}" for t in added)
    return problems


def _python_problems(ids: Sequence[str], msgstr: str) -> list[str]:
    """Jinja formats a ``{% trans %}`` with variables with Python's ``%``:
    a name the msgid lacks, or a lone ``%``, breaks the build."""
    names = {m.group(1) for msgid in ids for m in _PY_VAR.finditer(msgid)}
    formatted = bool(names) or any("%%" in msgid for msgid in ids)
    problems: list[str] = []
    pos = 0
    while (pos := msgstr.find("%", pos)) >= 0:
        if msgstr.startswith("%%", pos):
            pos += 2
            continue
        var = _PY_VAR.match(msgstr, pos)
        if var is not None and var.group(1) not in names:
            written = var.group(0)
            near = difflib.get_close_matches(var.group(1), sorted(names), n=1)
            meant = f" (did you mean {written.replace(var.group(1), near[0], 1)}?)" if near else ""
            problems.append(f"adds {written}{meant}")
        elif var is None and formatted:
            problems.append('has a lone "%" (write "%%" for a percent sign)')
        pos = var.end() if var is not None else pos + 1
    return problems


def problems_error(problems: Sequence[Problem], rel: str, lines: Sequence[str]) -> TranslationError:
    """One error for every problem of a ``.po`` (``lines`` its text), at the first one's ``msgstr`` line."""
    problems = sorted(problems, key=lambda p: p.line)
    first = problems[0]
    if len(problems) == 1:
        message = f"translation of {first.label} {first.what}"
    else:
        count = len({(p.line, p.label) for p in problems})
        noun = "translations break" if count > 1 else "translation breaks"
        message = f"{count} {noun} their message's placeholders:" + "".join(
            f"\n  line {p.line}: translation of {p.label} {p.what}" for p in problems)
    kinds = list(dict.fromkeys(p.kind for p in problems))
    return TranslationError(message, location=Location(rel, first.line), hint="; ".join(_HINTS[k] for k in kinds),
                            source_line=lines[first.line - 1] if first.line <= len(lines) else None)
