"""``letterhead i18n extract|update|stats``: the translation catalogues.

``extract`` writes ``templates_src/_locales/messages.pot`` from the templates'
``{% trans %}`` blocks and ``_()`` calls (the file keeps its bytes when no
message changed).  ``update`` extracts, then creates or merges
``templates_src/_locales/<locale>/LC_MESSAGES/messages.po`` for each translated
locale (``--locale`` for some), saying per locale what is new, obsolete and
still untranslated.  ``stats`` counts, per locale, the templates' messages
translated, fuzzy and untranslated, checking every translation.

Exit codes: 0 done; 1 an error (no locales configured, a template Jinja cannot
parse, a ``.po`` that is malformed or breaks a message's placeholders: file,
line and fix); 2 ``stats --strict`` found untranslated or fuzzy messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ..errors import LetterheadError
from .common import Ctx, emit_json, reported


class UntranslatedMessages(LetterheadError):
    """``i18n stats --strict``: some locale leaves messages untranslated (or fuzzy)."""

    exit_code = 2

    def __init__(self, message: str, report: dict[str, object], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.report = report

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), **self.report}


def _options(f: Any) -> Any:
    """--root and --json: every i18n command."""
    f = click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")(f)
    return click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Project root (default: the nearest folder with pyproject.toml).")(f)


def _locale_option(f: Any) -> Any:
    return click.option("--locale", "locales", multiple=True, metavar="LOCALE",
                        help="Only this locale (repeatable; default: every configured locale but the default).")(f)


def _ctx(click_ctx: click.Context, root: Path | None, as_json: bool) -> Ctx:
    parent = click_ctx.obj if isinstance(click_ctx.obj, Ctx) else None
    return Ctx(root if root is not None else (parent.root if parent else None), as_json=as_json)


@click.group("i18n", context_settings={"help_option_names": ["-h", "--help"]})
def i18n() -> None:
    """Translation catalogues: extract the templates' messages, update each
    locale's messages.po, count what is left to translate.

    Mark text in templates with {% trans %}…{% endtrans %} or [[ _("…") ]],
    SES placeholders included as they are ({% trans %}{{name}} invited
    you{% endtrans %}); list the locales in [tool.letterhead] locales.
    """


@i18n.command("extract")
@_options
@click.pass_context
def extract_(click_ctx: click.Context, root: Path | None, as_json: bool) -> None:
    """Write templates_src/_locales/messages.pot from the templates."""
    from ..authoring.i18n import POT_NAME, extract, write_pot

    ctx = _ctx(click_ctx, root, as_json)
    with reported(ctx):
        config = ctx.config
        pot = config.locales_dir / POT_NAME
        before = pot.read_bytes() if pot.is_file() else None
        catalog = extract(config)
        path = write_pot(config, catalog)
        changed = before != path.read_bytes()
        count = sum(1 for m in catalog if m.id)
        rel = config.rel(path)
        if as_json:
            emit_json({"ok": True, "path": rel, "messages": count, "changed": changed})
            return
        noun = "message" if count == 1 else "messages"
        click.echo(f"{'wrote' if changed else 'unchanged:'} {rel}: {count} {noun}")


@i18n.command("update")
@_locale_option
@_options
@click.pass_context
def update_(click_ctx: click.Context, locales: Sequence[str], root: Path | None, as_json: bool) -> None:
    """Extract, then create or merge each locale's messages.po."""
    from ..authoring.i18n import POT_NAME, update

    ctx = _ctx(click_ctx, root, as_json)
    with reported(ctx):
        config = ctx.config
        results = update(config, list(locales) or None)
        if as_json:
            emit_json({"ok": True, "pot": config.rel(config.locales_dir / POT_NAME),
                       "locales": [r.to_dict() for r in results]})
            return
        for r in results:
            counts = f"{r.total} messages, {r.untranslated} untranslated" + (f", {r.fuzzy} fuzzy" if r.fuzzy else "")
            if r.created:
                click.echo(f"{r.locale}: created {r.path}: {counts}")
            else:
                click.echo(f"{r.locale}: updated {r.path}: {r.added} new, {r.removed} obsolete; {counts}")
        if any(r.untranslated or r.fuzzy for r in results):
            click.echo("translate the empty msgstr of each file (and review the fuzzy ones, then remove "
                       "their `#, fuzzy` line); untranslated messages stay in the default locale", err=True)


@i18n.command("stats")
@_locale_option
@click.option("--strict", is_flag=True, help="Exit 2 when a message is untranslated or fuzzy.")
@_options
@click.pass_context
def stats_(click_ctx: click.Context, locales: Sequence[str], strict: bool, root: Path | None,
           as_json: bool) -> None:
    """Per locale: the templates' messages translated, fuzzy and untranslated."""
    from ..authoring.i18n import stats

    ctx = _ctx(click_ctx, root, as_json)
    with reported(ctx):
        found = stats(ctx.config, list(locales) or None)
        report: dict[str, object] = {"locales": [s.to_dict() for s in found]}
        if not as_json:
            width = max(len(s.locale) for s in found)
            for s in found:
                missing = "" if s.exists else "  (no catalogue yet: run `letterhead i18n update`)"
                click.echo(f"{s.locale:<{width}}  {s.translated}/{s.total} translated, {s.untranslated} untranslated, "
                           f"{s.fuzzy} fuzzy  {s.path}{missing}")
        lacking = [s for s in found if s.untranslated or s.fuzzy]
        if strict and lacking:
            detail = ", ".join(f"{s.locale} {s.untranslated} untranslated"
                               + (f" and {s.fuzzy} fuzzy" if s.fuzzy else "") for s in lacking)
            raise UntranslatedMessages(
                f"messages left to translate: {detail}", report,
                hint="translate them in each locale's messages.po (`letterhead i18n update` adds new messages; "
                     "a fuzzy one counts once its `#, fuzzy` line is removed)")
        if as_json:
            emit_json({"ok": True, **report})
