"""``letterhead check``: the inbox-ready gate (letterhead.check)."""

from __future__ import annotations

import click

from .common import Ctx, emit_json, heavy_imports, reported


@click.command()
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("--skip", "skip", multiple=True, metavar="CHECK",
              help="Leave a check out: clients, a11y, axe, dark, spam, links (repeat or comma-separate).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable report.")
@click.pass_obj
def check(ctx: Ctx, names: tuple[str, ...], skip: tuple[str, ...], as_json: bool) -> None:
    """Check every rendered sample of every template (and locale) before anyone sends it.

    Client support (caniemail) of the CSS and HTML the designer wrote,
    accessibility (axe-core in headless Chromium, alt text, lang, layout
    tables, link text, contrast), dark mode (prefers-color-scheme and the
    forced inversion of Gmail and Outlook.com), SpamAssassin's score of the
    full MIME message, and links or images that are not https.

    NAME: template folders or variant names (default: all).  Exit 2 when a
    finding at error severity remains; tune severities in
    [tool.letterhead.lint] (see `letterhead lint --list`), clients and
    thresholds in [tool.letterhead.check].  Needs Chromium and SpamAssassin
    (`make chromium spamassassin`), or --skip the checks that use them.
    """
    ctx.as_json = as_json
    with heavy_imports():
        from ..check.report import grouped, summary_line, table
        from ..check.run import run_check

    skips = [s.strip() for value in skip for s in value.split(",") if s.strip()]

    def progress(stage: str, done: int, total: int) -> None:
        if not as_json and stage in ("browser", "spam") and (done == total or done % 10 == 0):
            click.echo(f"  {stage}: {done}/{total}", err=True)

    with reported(ctx):
        report = run_check(ctx.config, names, skip=skips, progress=progress)
        if as_json:
            emit_json({**report.to_dict()})
        else:
            for t in report.templates:
                click.echo("\n".join(table(t)))
                click.echo()
            for f, where in grouped(report.findings):
                colour = "red" if f.severity == "error" else "yellow"
                click.secho(f"{f.severity} ", fg=colour, nl=False)
                click.echo(f"{f.location}: {f.message} [{f.code}]")
                shown = ", ".join(where[:4]) + (f" and {len(where) - 4} more" if len(where) > 4 else "")
                click.echo(f"  in: {shown}")
                if f.hint:
                    click.echo(f"  fix: {f.hint}")
            click.echo(summary_line(report))
    if report.errors:
        raise SystemExit(2)
