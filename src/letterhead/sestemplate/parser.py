"""Parsing: tags into a tree, with the per-tag lint.

:func:`parse` runs the whole chain for one template part::

    text ── lexer.lex ───────> tags and text pieces
         ── build ───────────> a mutable tree (tree.py) shaped like handlebars.js's AST
         ── whitespace.control_whitespace (standalone lines, ``~``)
         ── whitespace.freeze > frozen nodes: Text, Output, Block, PartialCall, InlinePartial
         ── scope.ScopeWalker > scope checks and the variable uses the contract reads

and raises a located :class:`~letterhead.errors.TemplateSyntaxError` with a
one-sentence fix for anything SES would reject or mis-render.

The first two stages run as one pass (:func:`_read`): each tag is lexed and
linted once per distinct text (remembered under the lexer's key, see
:func:`.lexer.read_tag`) and goes straight into the tree, a plain output as its
frozen :class:`~.nodes.Output`.  The reference chain (``lex`` then
:func:`_build`) runs only when that pass finds an error: it reports the error
SES's order gives (a lexing error anywhere before any tree error), and the
property tests compare the two.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from letterhead.errors import Location, TemplateSyntaxError

from .lexer import DERIVED, Arg, Content, Mustache, Source, escaped_end, lex, read_tag
from .nodes import BLOCK_HELPERS, DATA_VARIABLES, MAX_NESTING, Output, Path, Tag, TagKind, Template, Use
from .scope import ScopeWalker
from .tree import BlockStatement, Program, Statement
from .whitespace import control_whitespace, freeze

# In `{{name}}` handlebars.js calls these helpers instead of reading a variable.
_HELPER_NAMES = frozenset(BLOCK_HELPERS) | {"lookup", "log", "helperMissing", "blockHelperMissing"}

_HELPER_HINT = (
    "SES has only if, unless, each and with (helpers such as `eq` are Amazon Pinpoint's): "
    "compute a boolean in the application, e.g. `is_admin`, and test it with `{{#if is_admin}}`"
)


class _Frame:
    __slots__ = ("block", "chained", "filling", "inverted")

    def __init__(self, block: BlockStatement, filling: Program, inverted: bool, chained: bool) -> None:
        self.block = block
        self.filling = filling
        self.inverted = inverted  # opened with `{{^…}}`
        self.chained = chained  # opened by `{{else if}}`: closed by its opener's close tag


def parse(
    text: str, *, origin: str = "<template>", locate: Callable[[int], Location] | None = None
) -> Template:
    """Parse and lint one template part.  ``locate(offset)`` maps an offset in
    ``text`` to the Location reported in errors (default: ``origin`` and line)."""
    src = Source(text, origin, locate)
    try:
        root, tags = _read(src)
    except TemplateSyntaxError:
        root, tags = read_reference(src)  # raises the error the reference order finds first
    control_whitespace(root, is_root=True)
    body = freeze(root.body, src)
    uses: list[Use] = []
    ScopeWalker(Template(body, origin, text), uses.append).walk()
    return Template(body, origin, text, tuple(uses), tags)


def read_reference(src: Source) -> tuple[Program, tuple[Tag, ...]]:
    """The tree and the tags by the reference chain: lex the whole text, then build."""
    items = lex(src)
    root = _build(items, src)
    return root, tuple(item.tag for item in items if isinstance(item, Mustache))


# A tag as _read remembers it: its extent, kind, name, raw arguments and `~`s
# (relative to its start, as the lexer's own cache), its arguments, and what
# the per-tag lint made of it (_lint).
_Entry = tuple[int, str, TagKind, str, tuple[str, ...], bool, bool, tuple[Arg, ...], Any]
_DERIVED_MAX = 4096
_new = tuple.__new__


def _read(src: Source) -> tuple[Program, tuple[Tag, ...]]:
    """:func:`.lexer.lex` and :func:`_build` in one pass, with each tag's lint
    remembered: the same tree and tags whenever the text is valid; on an error
    the caller asks :func:`read_reference` which error comes first."""
    text, locate, derived = src.text, src.locate, DERIVED
    root = Program([])
    frames: list[_Frame] = []
    body = root.body
    tags: list[Tag] = []
    pos, size = 0, len(text)
    while pos < size:
        start = text.find("{{", pos)
        if start < 0:
            body.append(Content(text[pos:], pos))
            break
        if start > pos:
            if text[start - 1] != "\\":
                body.append(Content(text[pos:start], pos))
            elif start - 1 > pos and text[start - 2] == "\\":
                body.append(Content(text[pos : start - 1], pos))  # `\\{{`: one backslash, then a tag
            else:  # `\{{`: literal text up to the next `{{`
                if start - 1 > pos:
                    body.append(Content(text[pos : start - 1], pos))
                pos = escaped_end(text, start)
                body.append(Content(text[start:pos], start))
                continue
        close = text.find("}}", start + 2)  # the key lexer.read_tag remembers a tag under
        entry: _Entry | None = derived.get(text[start : close + 4]) if close >= 0 else None
        if entry is None:
            entry = _lex_and_lint(src, start)
        length, raw, kind, name, args_raw, left, right, args, payload = entry
        pos = start + length
        # NamedTuples built from their fields in order (`_new`): half the cost of calling them
        tag = _new(Tag, (start, pos, raw, kind, name, args_raw, left, right))
        tags.append(tag)
        if kind == "output" or kind == "raw_output":
            if left or right:  # `~`: the whitespace pass reads the tag
                body.append(Statement(Mustache(tag, args), path=payload))
            else:
                body.append(_new(Output, (payload, kind == "raw_output", locate(start), start)))
        elif kind == "comment":
            body.append(Statement(Mustache(tag, args)))
        elif kind == "partial":
            body.append(Statement(Mustache(tag, args), name=payload))
        elif kind == "open" or kind == "inverse_open" or kind == "inline_open":
            if kind == "inline_open":
                block = BlockStatement(Mustache(tag, args), "inline", None, Program([]), inline_name=payload)
            else:
                block = BlockStatement(Mustache(tag, args), payload[0], payload[1], Program([]))
            body.append(block)
            assert block.program is not None
            _push_frame(frames, _Frame(block, block.program, kind == "inverse_open", chained=False), src)
            body = block.program.body
        elif kind == "else":
            _open_else(Mustache(tag, args), frames, src)
            body = frames[-1].filling.body
        else:
            frame = frames[-1] if frames else None
            if frame is not None and not frame.chained and frame.block.mustache.tag.name == payload:
                # _close's common case: the innermost block, no `{{else if}}` chain to close with it
                frames.pop()
                frame.block.close_strip = (left, right)
                if frame.inverted:
                    frame.block.program, frame.block.inverse = frame.block.inverse, frame.block.program
            else:
                _close(Mustache(tag, args), frames, src)
            body = frames[-1].filling.body if frames else root.body
    _check_closed(frames, src)
    return root, tuple(tags)


def _lex_and_lint(src: Source, start: int) -> _Entry:
    mustache, key = read_tag(src, start)
    tag = mustache.tag
    entry: _Entry = (tag.end - start, tag.raw, tag.kind, tag.name, tag.args, tag.strip_left, tag.strip_right,
                     mustache.args, _lint(mustache, src))
    if key is not None and len(DERIVED) < _DERIVED_MAX:
        DERIVED[key] = entry
    return entry


def _lint(item: Mustache, src: Source) -> Any:
    """The per-tag checks of :func:`_build`, and what they give the tree: an
    output's path, a partial's name, a block's helper and path..."""
    invalid = next((arg for arg in item.args if arg.kind == "invalid"), None)
    if invalid is not None:
        raise _argument_error(item, invalid, src)
    kind = item.tag.kind
    if kind in ("output", "raw_output"):
        return _output_path(item, src)
    if kind == "partial":
        return _partial_name(item, src)
    if kind in ("open", "inverse_open"):
        return _block_head(item, src)
    if kind == "inline_open":
        return _inline_name(item, src)
    if kind == "else":
        return _block_head(item, src) if item.tag.name else None
    if kind == "close":
        return _close_name(item, src)
    return None


def _build(items: list[Content | Mustache], src: Source) -> Program:
    root = Program([])
    frames: list[_Frame] = []
    for item in items:
        filling = frames[-1].filling if frames else root
        if isinstance(item, Content):
            filling.body.append(item)
            continue
        tag = item.tag
        invalid = next((arg for arg in item.args if arg.kind == "invalid"), None)
        if invalid is not None:
            raise _argument_error(item, invalid, src)
        if tag.kind in ("output", "raw_output"):
            filling.body.append(Statement(item, path=_output_path(item, src)))
        elif tag.kind == "comment":
            filling.body.append(Statement(item))
        elif tag.kind == "partial":
            filling.body.append(Statement(item, name=_partial_name(item, src)))
        elif tag.kind in ("open", "inverse_open", "inline_open"):
            if tag.kind == "inline_open":
                block = BlockStatement(
                    item, "inline", None, Program([]), inline_name=_inline_name(item, src)
                )
            else:
                block = BlockStatement(item, *_block_head(item, src), Program([]))
            filling.body.append(block)
            assert block.program is not None
            _push_frame(frames, _Frame(block, block.program, tag.kind == "inverse_open", chained=False), src)
        elif tag.kind == "else":
            _open_else(item, frames, src)
        else:
            _close(item, frames, src)
    _check_closed(frames, src)
    return root


def _check_closed(frames: list[_Frame], src: Source) -> None:
    unclosed = [frame for frame in frames if not frame.chained]
    if unclosed:
        opener = unclosed[-1].block.mustache.tag
        raise src.error(
            opener.start,
            f"`{opener.raw}` is never closed",
            f"add `{{{{/{opener.name}}}}}` where the block ends",
        )


def _open_else(item: Mustache, frames: list[_Frame], src: Source) -> None:
    tag = item.tag
    if not frames:
        raise src.error(
            tag.start,
            f"`{tag.raw}` outside a block",
            "an `{{else}}` belongs between `{{#if …}}` (or unless, each, with) and its closing tag",
        )
    frame = frames[-1]
    block, opener = frame.block, _opener_of(frames).block.mustache.tag
    if block.inline_name:
        raise src.error(
            tag.start,
            f"`{tag.raw}` inside inline partial `{block.inline_name}`",
            "an inline partial has no else branch: put an `{{#if …}}…{{else}}…{{/if}}` inside it",
        )
    if block.inverse is not None:
        raise src.error(
            tag.start,
            f"a second `{tag.raw}` in `{opener.raw}` (line {_line(src, opener.start)})",
            "a block has one plain `{{else}}`, after any `{{else if …}}`",
        )
    strip = (tag.strip_left, tag.strip_right)
    if not tag.name:
        block.inverse = Program([])
        block.inverse_strip = strip
        frame.filling = block.inverse
        return
    if frame.inverted:
        raise src.error(
            tag.start,
            f"`{tag.raw}` cannot follow `{opener.raw}`",
            "write the block as `{{#unless …}}…{{else if …}}…{{/unless}}`",
        )
    nested = BlockStatement(item, *_block_head(item, src), Program([]))
    block.inverse = Program([nested], chained=True)
    block.inverse_strip = strip
    frame.filling = block.inverse
    assert nested.program is not None
    _push_frame(frames, _Frame(nested, nested.program, inverted=False, chained=True), src)


def _push_frame(frames: list[_Frame], frame: _Frame, src: Source) -> None:
    """Open a block, refusing nesting deeper than :data:`MAX_NESTING`: every
    later stage recurses once per level."""
    if len(frames) >= MAX_NESTING:
        tag = frame.block.mustache.tag
        raise src.error(
            tag.start,
            f"`{tag.raw}` opens block level {len(frames) + 1}: blocks nest at most {MAX_NESTING} levels deep "
            "(each `{{else if}}` of a chain counts as one)",
            f"nest at most {MAX_NESTING} levels: compute a flag in the application instead of testing each "
            "condition in its own block, or replace a long `{{else if}}` chain by one variable",
        )
    frames.append(frame)


def _opener_of(frames: list[_Frame]) -> _Frame:
    """The frame whose tag a close tag must match: the innermost not opened by `{{else if}}`."""
    return next(frame for frame in reversed(frames) if not frame.chained)


def _close(item: Mustache, frames: list[_Frame], src: Source) -> None:
    tag = item.tag
    name = _close_name(item, src)
    if not frames:
        raise src.error(
            tag.start,
            f"`{tag.raw}` closes nothing",
            f"remove it, or add the `{{{{#{name} …}}}}` it should close",
        )
    opener = _opener_of(frames)
    open_tag = opener.block.mustache.tag
    if open_tag.name != name:
        outer = [f for f in frames if not f.chained and f.block.mustache.tag.name == name]
        if outer:
            raise src.error(
                open_tag.start,
                f"`{open_tag.raw}` is not closed before `{tag.raw}` (line {_line(src, tag.start)})",
                f"add `{{{{/{open_tag.name}}}}}` before `{tag.raw}`",
            )
        raise src.error(
            tag.start,
            f"`{tag.raw}` does not match `{open_tag.raw}` (line {_line(src, open_tag.start)})",
            f"close `{open_tag.raw}` with `{{{{/{open_tag.name}}}}}`",
        )
    chain: list[BlockStatement] = []
    while True:
        frame = frames.pop()
        chain.append(frame.block)
        if frame is opener:
            break
    chain.reverse()
    # handlebars.js gives the real close tag's `~` to the first two blocks of an
    # `{{else if}}` chain and each later one its own else-if tag's: copied, quirk included.
    close_strip = (tag.strip_left, tag.strip_right)
    for i, block in enumerate(chain):
        block.close_strip = close_strip if i <= 1 else block.open_strip
    if opener.inverted:
        first = chain[0]
        first.program, first.inverse = first.inverse, first.program


def _line(src: Source, offset: int) -> int | str:
    return src.locate(offset).line or "?"


# --- the per-tag lint -------------------------------------------------------


def _unsupported_helper(item: Mustache, src: Source, name: str) -> TemplateSyntaxError:
    if name == "lookup":
        hint = "write the path instead, e.g. `{{items.[0]}}` or `{{user.name}}`; " + _HELPER_HINT
    elif name == "log":
        hint = "remove it: SES has no log helper"
    else:
        import difflib  # only on this error path: ~1.5 ms an import
        guess = difflib.get_close_matches(name, BLOCK_HELPERS, n=1, cutoff=0.6)
        if guess and item.tag.kind != "output":
            return src.error(
                item.tag.start,
                f"unsupported helper `{name}` in `{item.tag.raw}`: did you mean `{guess[0]}`?",
                f"write `{{{{#{guess[0]} …}}}}`; SES has only if, unless, each and with",
            )
        hint = _HELPER_HINT
    return src.error(item.tag.start, f"unsupported helper `{name}` in `{item.tag.raw}`", hint)


def _argument_error(item: Mustache, arg: Arg, src: Source) -> TemplateSyntaxError:
    raw = item.tag.raw
    if arg.kind == "subexpression":
        return src.error(
            item.tag.start, f"subexpression `{arg.raw}` in `{raw}` is not supported", _HELPER_HINT
        )
    if arg.kind == "hash":
        if arg.raw.replace(" ", "").startswith("includeZero="):
            hint = "`{{#if}}` treats 0 as false: test a boolean the application computes, e.g. `has_items`"
        else:
            hint = _HELPER_HINT
        return src.error(item.tag.start, f"hash argument `{arg.raw}` in `{raw}` is not supported", hint)
    if arg.kind == "block_params":
        return src.error(
            item.tag.start,
            f"block parameters `{arg.raw}` in `{raw}` are not supported",
            "inside `{{#each}}` use `{{this}}`, the item's fields such as `{{title}}`, and `{{@index}}`",
        )
    if arg.kind == "literal":
        return src.error(
            item.tag.start,
            f"`{raw}` uses the constant `{arg.raw}` where a variable belongs",
            "use a variable the application sets, e.g. `{{#if show_banner}}`",
        )
    return src.error(
        item.tag.start,
        f"`{raw}` is not a valid tag: {arg.problem}",
        "a tag holds a variable such as `{{first_name}}` or `{{user.email}}`, or a block such as `{{#if note}}`",
    )


def _checked_path(item: Mustache, arg: Arg, src: Source) -> Path:
    if arg.kind != "path":
        raise _argument_error(item, arg, src)
    assert arg.path is not None
    path = arg.path
    if path.data:
        head = path.parts[0] if path.parts else path.original[1:]
        if path.depth:
            raise src.error(
                item.tag.start,
                f"`{arg.raw}` in `{item.tag.raw}` is not supported",
                "use `@index`, `@key`, `@first` or `@last` of the innermost `{{#each}}` only",
            )
        if head not in DATA_VARIABLES or not path.parts:
            import difflib  # only on this error path: ~1.5 ms an import
            guess = difflib.get_close_matches(head, DATA_VARIABLES, n=1, cutoff=0.6)
            return_hint = f"did you mean `@{guess[0]}`? " if guess else ""
            raise src.error(
                item.tag.start,
                f"unknown data variable `@{head}` in `{item.tag.raw}`",
                return_hint
                + "SES sets `@index`, `@key`, `@first` and `@last` inside `{{#each}}`, and `@root`",
            )
        if head != "root" and len(path.parts) > 1:
            raise src.error(
                item.tag.start,
                f"`@{head}` has no fields (`{arg.raw}` in `{item.tag.raw}`)",
                f"print `{{{{@{head}}}}}` itself",
            )
    return path


def _output_path(item: Mustache, src: Source) -> Path:
    tag, args = item.tag, item.args
    if not args:
        raise src.error(
            tag.start, f"empty tag `{tag.raw}`", "put a variable name inside, e.g. `{{first_name}}`"
        )
    head = args[0]
    if len(args) > 1:
        if head.kind == "path" and head.path and not head.path.data:
            name = head.raw
            if name in BLOCK_HELPERS:
                raise src.error(
                    tag.start,
                    f"`{name}` is a block helper: `{tag.raw}` prints nothing useful",
                    f"write `{{{{#{name} {' '.join(a.raw for a in args[1:])}}}}}…{{{{/{name}}}}}`",
                )
            raise _unsupported_helper(item, src, name)
        raise _argument_error(item, args[1] if head.kind == "path" else head, src)
    path = _checked_path(item, head, src)
    if (
        not path.data
        and path.depth == 0
        and len(path.parts) == 1
        and path.parts[0] in _HELPER_NAMES
        and path.original == path.parts[0]
    ):
        name = path.parts[0]
        if name in ("lookup", "log"):
            raise _unsupported_helper(item, src, name)
        raise src.error(
            tag.start,
            f"`{tag.raw}` calls Handlebars' `{name}` helper instead of printing a variable",
            f"to print a variable named `{name}`, write `{{{{this.{name}}}}}`",
        )
    return path


def _block_head(item: Mustache, src: Source) -> tuple[str, Path]:
    """The helper and the one path argument of `{{#if x}}`, `{{^each x}}`, `{{else with x}}`..."""
    tag, args = item.tag, item.args
    name = tag.name
    if not args:
        raise src.error(
            tag.start, f"`{tag.raw}` names no block helper", "write `{{#if note}}` or `{{#each items}}`"
        )
    if args[0].kind != "path":
        raise _argument_error(item, args[0], src)
    if name not in BLOCK_HELPERS:
        import difflib  # only on this error path: ~1.5 ms an import
        if len(args) == 1 and not difflib.get_close_matches(name, BLOCK_HELPERS, n=1, cutoff=0.6):
            raise src.error(
                tag.start,
                f"unsupported block `{tag.raw}` (a Handlebars section)",
                f"write `{{{{#each {name}}}}}` to loop over a list or `{{{{#if {name}}}}}` to test it",
            )
        raise _unsupported_helper(item, src, name)
    if len(args) == 1:
        raise src.error(
            tag.start,
            f"`{tag.raw}` has no argument",
            f"give it the variable to {'loop over' if name == 'each' else 'use'}, e.g. `{{{{#{name} items}}}}`",
        )
    for arg in args[1:]:
        if arg.kind != "path":
            raise _argument_error(item, arg, src)
    if len(args) > 2:
        raise src.error(
            tag.start,
            f"unsupported helper call `{tag.raw}`: `{name}` takes one argument, not {len(args) - 1}",
            _HELPER_HINT,
        )
    path = _checked_path(item, args[1], src)
    if path.data and path.parts[0] != "root" and name in ("each", "with"):
        raise src.error(
            tag.start,
            f"`{tag.raw}`: `{path.original}` is a number or a boolean and cannot be "
            + ("looped over" if name == "each" else "used as a context"),
            "use a variable the application sends",
        )
    return name, path


def _inline_name(item: Mustache, src: Source) -> str:
    tag, args = item.tag, item.args
    if tag.name != "inline":
        raise src.error(
            tag.start,
            f"decorator `{tag.raw}` is not supported",
            'only inline partials exist in SES: `{{#*inline "name"}}…{{/inline}}`',
        )
    if len(args) != 2 or args[1].literal_type != "STRING":
        raise src.error(
            tag.start,
            f"`{tag.raw}` must name its partial with one quoted string",
            'write `{{#*inline "footer"}}…{{/inline}}`',
        )
    return args[1].value


def _partial_name(item: Mustache, src: Source) -> str:
    tag, args = item.tag, item.args
    if not args:
        raise src.error(tag.start, f"`{tag.raw}` names no partial", "write `{{> footer}}`")
    head = args[0]
    if head.kind == "subexpression":
        raise src.error(
            tag.start,
            f"dynamic partial `{tag.raw}` is not supported",
            "call an inline partial by name: `{{> footer}}`",
        )
    if head.literal_type == "STRING":
        name = head.value
    elif head.kind == "path" and head.path is not None and not head.path.data and not head.path.depth:
        name = head.raw
    else:
        raise _argument_error(item, head, src)
    if len(args) > 1:
        raise src.error(
            tag.start,
            f"arguments to a partial (`{tag.raw}`) are not supported",
            f"call it inside a block instead: `{{{{#with {args[1].raw}}}}}{{{{> {name}}}}}{{{{/with}}}}`",
        )
    return name


def _close_name(item: Mustache, src: Source) -> str:
    tag, args = item.tag, item.args
    if len(args) != 1 or args[0].kind != "path":
        raise src.error(
            tag.start,
            f"`{tag.raw}` is not a valid closing tag",
            "a closing tag holds only the block's helper, e.g. `{{/if}}`",
        )
    return tag.name
