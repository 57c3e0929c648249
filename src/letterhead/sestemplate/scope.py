"""Scopes: which variable each path of a template reaches.

:class:`ScopeWalker` walks a :class:`~.nodes.Template`, refuses paths that
reach nowhere (``@index`` outside ``#each``, ``../`` above the data, unknown
or recursive partials, runaway nesting) and reports each variable use as a
:class:`~.nodes.Use`: :func:`.parser.parse` keeps them in the template and
:func:`.contract.contract` merges them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import NamedTuple

from letterhead.errors import TemplateSyntaxError, excerpt_at

from .nodes import (
    MAX_NESTING,
    MAX_PARTIAL_EXPANSION,
    Block,
    Guard,
    InlinePartial,
    Node,
    Output,
    PartialCall,
    Path,
    Template,
    Use,
)

# One walk serves the lint (parse) and the contract; inline partials are
# expanded where they are called, since they see the caller's context, `@index`
# and partials (handlebars.js binds them at call time).  Tuples grow by
# concatenation (`a + (b,)`), not by unpacking as RUF005 would have it: ~40 ns
# against ~56 ns, on the path of every node the build parses.


class Env(NamedTuple):
    contexts: tuple[tuple[str, ...], ...] = ((),)  # innermost last; `../` walks back
    barrier: int = 0  # `../` may not reach below this context (the top of an inline partial)
    in_each: bool = False
    guards: tuple[Guard, ...] = ()
    partials: tuple[Mapping[str, InlinePartial], ...] = ()
    calls: tuple[tuple[PartialCall, InlinePartial], ...] = ()
    depth: int = 0  # blocks and partial calls around this point, those inside called partials included


_new = tuple.__new__  # a NamedTuple from its fields in order, without its __new__'s call


class ScopeWalker:
    """The scope walk of one template: :meth:`walk` raises a located
    :class:`~letterhead.errors.TemplateSyntaxError` where a path reaches
    nowhere and calls :meth:`use` for each variable use on the way."""

    def __init__(self, template: Template, on_use: Callable[[Use], None] | None = None) -> None:
        self.template = template
        self.on_use = on_use
        self.expanded = 0  # nodes visited inside partial calls (MAX_PARTIAL_EXPANSION)

    def walk(self) -> None:
        self._program(self.template.body, Env())

    def _error(self, node: Node, message: str, hint: str, env: Env) -> TemplateSyntaxError:
        if env.calls:
            call, definition = env.calls[-1]
            message += f" (in partial `{definition.name}` used on line {call.location.line or '?'})"
        return TemplateSyntaxError(
            message, location=node.location, hint=hint, source_line=excerpt_at(self.template.text, node.offset)
        )

    def _program(self, nodes: tuple[Node, ...], env: Env) -> None:
        if env.calls:
            self.expanded += len(nodes)
            if self.expanded > MAX_PARTIAL_EXPANSION:
                call, definition = env.calls[0]
                raise self._error(
                    call,
                    f'partial "{definition.name}" expands to more than {MAX_PARTIAL_EXPANSION:,} '
                    "nodes through the partials it calls",
                    "each call copies the partial's whole body: call fewer partials from inside partials",
                    env._replace(calls=()),
                )
        defined: dict[str, InlinePartial] = {}
        for node in nodes:
            if type(node) is InlinePartial:
                if node.name in defined:
                    first = defined[node.name]
                    raise self._error(
                        node,
                        f'inline partial "{node.name}" is defined twice (first on line {first.location.line or "?"})',
                        "rename or remove one of them",
                        env,
                    )
                defined[node.name] = node
        if defined:
            env = env._replace(partials=env.partials + (defined,))  # noqa: RUF005
        for node in nodes:
            if type(node) is Output:
                self._output(node, env)
            elif type(node) is Block:
                self._block(node, env)
            elif type(node) is PartialCall:
                self._partial(node, env)

    def _resolve(self, path: Path, node: Node, env: Env) -> tuple[tuple[str, ...], int] | None:
        """The absolute path a Path reaches, or None for `@index`-like data."""
        if path.data:
            head = path.parts[0]
            if head == "root":
                return path.parts[1:], 0
            if not env.in_each:
                raise self._error(
                    node,
                    f"`@{head}` is only set inside `{{{{#each}}}}`",
                    "move it inside an `{{#each …}}` block, or send the value as a variable",
                    env,
                )
            return None
        index = len(env.contexts) - 1 - path.depth
        if index < env.barrier:
            if env.barrier:
                message = f"`{path.original}` reaches outside the inline partial"
            else:
                message = f"`{path.original}` goes above the top of the data"
            hint = (
                f"write `@root.{'.'.join(path.parts)}`, or drop a `../`: only `{{{{#each}}}}` and "
                "`{{#with}}` open a level, `{{#if}}` and `{{#unless}}` do not"
            )
            raise self._error(node, message, hint, env)
        base = env.contexts[index]
        return base + path.parts, len(base)

    def use(self, found: tuple[tuple[str, ...], int] | None, role: str, node: Node, env: Env) -> None:
        """A path of ``node`` reached ``found`` (absolute path, how much of it the tag wrote; None for
        ``@index``-like data) in ``role``: passed on to ``on_use``.  A subclass may watch every use here."""
        if self.on_use is not None and found is not None and found[0]:
            self.on_use(_new(Use, (found[0], found[1], role, env.guards, node.location)))

    def _output(self, node: Output, env: Env) -> None:
        path = node.path
        if path.data:
            found = self._resolve(path, node, env)
        else:  # _resolve's common case, inline
            contexts = env.contexts
            index = len(contexts) - 1 - path.depth
            if index < env.barrier:
                found = self._resolve(path, node, env)  # raises
            else:
                base = contexts[index]
                found = (base + path.parts, len(base))
        self.use(found, "raw" if node.raw else "output", node, env)

    def _deeper(self, node: Block | PartialCall, env: Env) -> Env:
        """``env`` one level down, refusing to go past :data:`MAX_NESTING`.
        The parser bounds the blocks of one part; partial calls add the
        levels of the partials they run, and the renderer recurses through
        both."""
        if env.depth >= MAX_NESTING:
            raise self._error(
                node,
                f"blocks and partial calls nest more than {MAX_NESTING} levels deep here "
                "(the levels inside each called partial count)",
                f"nest at most {MAX_NESTING} levels: call fewer partials from inside partials and blocks",
                env,
            )
        return env._replace(depth=env.depth + 1)

    def _block(self, node: Block, env: Env) -> None:
        if env.depth >= MAX_NESTING:
            self._deeper(node, env)  # raises
        # Envs are built as tuples (Env's fields in order): `_replace` costs ~4 times as much
        contexts, barrier, in_each, guards, partials, calls, depth = env
        env = _new(Env, (contexts, barrier, in_each, guards, partials, calls, depth + 1))
        found = self._resolve(node.path, node, env)
        target = found[0] if found is not None else None
        other = _new(Env, (contexts, barrier, in_each, guards + (None,), partials, calls, depth + 1))  # noqa: RUF005
        if node.helper == "if" or node.helper == "unless":
            self.use(found, "tested", node, env)
            truthy = _new(Env, (contexts, barrier, in_each, guards + (target,), partials, calls, depth + 1))  # noqa: RUF005
            body_env, inverse_env = (truthy, other) if node.helper == "if" else (other, truthy)
            if node.body:
                self._program(node.body, body_env)
            if node.inverse:
                self._program(node.inverse, inverse_env)
            return
        assert target is not None  # the per-tag lint allows only @root data here
        guards = guards + (target,)  # noqa: RUF005
        if node.helper == "each":
            self.use(found, "iterated", node, env)
            inner = _new(Env, (contexts + (target + ("[]",),), barrier, True, guards, partials, calls, depth + 1))  # noqa: RUF005
        else:
            self.use(found, "scoped", node, env)
            # handlebars.js opens a level only for a context loosely unequal (`!=`) to the innermost one
            # (render.loose_equal).  Without the values, the walk knows one case for sure: the same path
            # is the same value (`{{#with this}}`, `{{#with ../a}}` inside `{{#with a}}`), never a level.
            # The rest depends on the data (an item equal to its parent as a string: "[object Object]",
            # a one-item array ["x"] and "x"): the walk takes the ordinary case, a new level, for `#with`
            # and for every `#each` item; the renderer, which has the values, follows handlebars.js exactly.
            contexts = env.contexts if target == env.contexts[-1] else env.contexts + (target,)  # noqa: RUF005
            inner = env._replace(contexts=contexts, guards=guards)
        self._program(node.body, inner)
        self._program(node.inverse, other)

    def _partial(self, node: PartialCall, env: Env) -> None:
        definition = next((scope[node.name] for scope in reversed(env.partials) if node.name in scope), None)
        if definition is None:
            elsewhere = None  # the last definition anywhere in the part
            for other in _all_nodes(self.template.body):
                if isinstance(other, InlinePartial) and other.name == node.name:
                    elsewhere = other
            if elsewhere is not None:
                message = (
                    f'partial "{node.name}" is used outside the block that defines it '
                    f"(line {elsewhere.location.line or '?'})"
                )
                hint = 'move `{{#*inline "' + node.name + '"}}` to the top level of this part'
            else:
                visible = sorted({name for scope in env.partials for name in scope})
                import difflib  # only on this error path: ~1.5 ms an import
                guess = difflib.get_close_matches(node.name, visible, n=1)
                message = f'partial "{node.name}" is not defined in this template'
                hint = (f"did you mean `{{{{> {guess[0]}}}}}`? " if guess else "") + (
                    "SES has no registered partials: define it in each part (subject, html, text) with "
                    '`{{#*inline "' + node.name + '"}}…{{/inline}}`'
                )
            raise self._error(node, message, hint, env)
        if any(definition is seen for _, seen in env.calls):
            raise self._error(
                node,
                f'partial "{node.name}" calls itself',
                "recursive partials are not supported: unroll the nesting the email needs",
                env,
            )
        inner = self._deeper(node, env)._replace(
            barrier=len(env.contexts) - 1, calls=env.calls + ((node, definition),)  # noqa: RUF005
        )
        self._program(definition.body, inner)


def _all_nodes(nodes: Iterable[Node]) -> Iterator[Node]:
    for node in nodes:
        yield node
        if isinstance(node, Block):
            yield from _all_nodes(node.body)
            yield from _all_nodes(node.inverse)
        elif isinstance(node, InlinePartial):
            yield from _all_nodes(node.body)
