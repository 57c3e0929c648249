"""The SES template language: one parser for three jobs.

SES renders stored templates with Handlebars, restricted to the built-in block
helpers ``if``, ``unless``, ``each`` and ``with`` plus inline partials.  This
package reads that language once and serves three jobs from the same tree:

1. **lint**: :func:`parse` raises :class:`~letterhead.errors.TemplateSyntaxError`
   for anything SES would reject or mis-render (unbalanced blocks, Pinpoint-only
   helpers such as ``eq``, ``@index`` outside ``#each``...), each with a
   location, the source line and a one-sentence fix;
2. **contract**: :func:`contract` lists the variables the application must send;
3. **local rendering**: :func:`render` renders as handlebars.js does, with one
   deliberate difference: a missing or null variable in an output position
   raises :class:`~letterhead.errors.RenderError`, because SES accepts such a
   send and then silently drops the message.

In: the text of one template part (subject, HTML or text) as the build writes
it into ``ses_templates/``, and template data.  Out: a frozen :class:`Template`
(or a located error), its :class:`Contract`, the rendered text.

One module a stage, as Jinja splits its own; the records of :mod:`.nodes` are
the only contract between stages::

    text ── lexer ──────> tags and text pieces           (lexer.py)
         ── parser ─────> a mutable tree, per-tag lint    (parser.py, tree.py)
         ── whitespace ─> standalone lines and ``~``, then frozen nodes (whitespace.py)
         ── scope ──────> scope checks and variable uses  (scope.py)
         ── contract ───> Variable, Contract              (contract.py, variables.py)
    nodes + data ── render ──> text                       (render.py)

The lexer rules and the whitespace pass are ported rule for rule from
handlebars.js 4.7 on purpose: the text part of an email is whitespace-sensitive,
and a template that handlebars.js cannot parse is one SES refuses.

Modules: ``nodes`` (tags, paths, nodes, Template, the limits), ``lexer``,
``tree``, ``parser``, ``whitespace``, ``scope``, ``contract``, ``variables``
(Variable, Contract and their JSON form), ``render``.
"""

from __future__ import annotations

from .contract import contract
from .lexer import ID_CHAR, scan
from .nodes import (
    BLOCK_HELPERS,
    DATA_VARIABLES,
    MAX_NESTING,
    MAX_PARTIAL_EXPANSION,
    Block,
    InlinePartial,
    Node,
    Output,
    PartialCall,
    Path,
    Tag,
    TagKind,
    Template,
    Text,
)
from .parser import parse
from .render import escape_expression, js_string, render
from .scope import ScopeWalker
from .variables import Contract, Variable

__all__ = [
    "BLOCK_HELPERS",
    "DATA_VARIABLES",
    "ID_CHAR",
    "MAX_NESTING",
    "MAX_PARTIAL_EXPANSION",
    "Block",
    "Contract",
    "InlinePartial",
    "Node",
    "Output",
    "PartialCall",
    "Path",
    "ScopeWalker",
    "Tag",
    "TagKind",
    "Template",
    "Text",
    "Variable",
    "contract",
    "escape_expression",
    "js_string",
    "parse",
    "render",
    "scan",
]
