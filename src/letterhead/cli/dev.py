"""``letterhead dev`` and ``letterhead preview``: the designer's commands.

Registered on the main group in :mod:`letterhead.cli` with
``cli.add_command(dev)`` and ``cli.add_command(preview)``.  Thin wrappers
over :class:`letterhead.dev.devserver.DevServer` and
:func:`letterhead.dev.preview.export_site`; like the rest of the CLI, this is
the only layer that prints.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from ..aws.loopback import is_loopback_host
from ..dev.devserver import DEFAULT_PORT, DEFAULT_SES_PORT, RebuildEvent
from ..dev.localses import LOCAL_MAX_SEND_RATE, Delivery
from ..dev.preview import error_view
from .common import Ctx, emit_json, reported

_STATUS_COLOUR = {"ok": "green", "warning": "yellow", "error": "red"}


def _report_rebuild(event: RebuildEvent) -> None:
    ms = event.seconds * 1000
    what = "all templates" if event.names is None else ", ".join(event.names) or "nothing"
    click.echo(f"{click.style('rebuilt', fg='cyan')} {what} in {ms:.0f} ms", err=True)
    for s in event.states:
        if s.status == "ok" and event.names is None:
            continue
        click.echo(f"  {click.style(s.status.ljust(7), fg=_STATUS_COLOUR[s.status])} {s.name}", err=True)
        err = s.error or next((r.error for r in s.renders.values() if r.error), None)
        if err is not None:
            view = error_view(err) or {}
            click.echo(f"          {view.get('summary', '')}", err=True)


def _report_send(d: Delivery) -> None:
    m = d.message
    to = ", ".join(m.to) or "(no To)"
    if d.delivered:
        click.echo(f"{click.style('sent   ', fg='green')} {m.template or m.kind} → {to}", err=True)
    else:
        click.echo(f"{click.style('DROPPED', fg='red', bold=True)} {m.template} → {to}: {d.problem} "
                   "(real SES would accept the call and silently drop this message)", err=True)


def _require_dev_extra(*, local_ses: bool) -> None:
    """The dev server's packages are an extra; say how to get them."""
    import importlib.util

    from ..errors import ConfigError

    needed = ["starlette", "uvicorn", "watchfiles"] + (["moto"] if local_ses else [])
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"`letterhead dev` needs {', '.join(missing)}, which are not installed",
            hint="pip install 'letterhead[dev]'" + ("" if "moto" not in missing or len(missing) > 1
                                                     else " (or run with --no-ses)"),
        )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on. Keep the loopback default unless you mean to share the preview.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the preview site (0: any free port).")
@click.option("--ses-port", default=DEFAULT_SES_PORT, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the local SES endpoint (always on loopback).")
@click.option("--no-ses", is_flag=True, help="Do not start the local SES and its outbox.")
@click.option("--sender", "senders", multiple=True, metavar="ADDRESS|DOMAIN",
              help="A sender identity to verify in the local SES (repeatable). "
                   "Default: SES_SENDER_EMAIL from the environment or .env.")
@click.option("--region", default=None, help="Region of the local SES (default: AWS_REGION, else us-east-1).")
@click.pass_obj
def dev(ctx: Ctx, host: str, port: int, ses_port: int, no_ses: bool, senders: tuple[str, ...],
        region: str | None) -> None:
    """Preview every template live while you edit, with a local SES.

    Serves http://127.0.0.1:8040: each template with its sample data at
    desktop and mobile widths, its text part, and a JSON editor for the data.
    Saving a file under templates_src/ updates the open page. Nothing is
    written: run `letterhead build` to produce build/ and ses_templates/.

    The local SES (moto, on loopback) holds the compiled templates. Point an
    application at it with AWS_ENDPOINT_URL_SES and every send shows in the
    outbox, rendered as SES would, or marked where SES would drop it. The
    outbox lists 50 messages a page, newest first, and can be cleared.

    The local SES reports a send quota of 1,000 messages a second and no
    24-hour limit (GetSendQuota: MaxSendRate 1000, Max24HourSend -1), so an
    application with SES_MAX_SEND_RATE unset is not paced at the SES
    sandbox's 1 message a second.
    """
    from ..dev.devserver import DevServer

    with reported(ctx):
        _require_dev_extra(local_ses=not no_ses)
        config = ctx.config
        chosen = senders or ((config.sender_email,) if config.sender_email else ())
        server = DevServer(config, host=host, port=port, ses=not no_ses, ses_port=ses_port, senders=chosen,
                           region=region, on_rebuild=_report_rebuild, on_send=_report_send)
        server.start()
        if server.project.error is not None and not config.source_dir.is_dir():
            server.stop()
            raise server.project.error
        if not is_loopback_host(host):
            click.secho(f"warning: serving on {host}: anyone who can reach this machine sees the preview",
                        fg="yellow", err=True)
        states = server.project.states()
        bad = [s for s in states if s.status == "error"]
        folders = {s.template or s.name for s in states}
        locales = {s.locale for s in states if s.locale}
        counted = f"{len(folders)} template(s)" + (f" in {len(locales)} locales" if len(locales) > 1 else "")
        click.echo(f"{click.style('letterhead dev', bold=True)}: {counted}"
                   + (click.style(f", {len(bad)} with errors", fg="red") if bad else ""))
        click.echo(f"  preview    {click.style(server.url + '/', fg='cyan', underline=True)}")
        if server.local_ses is not None:
            ses = server.local_ses
            click.echo(f"  local SES  {ses.endpoint_url}  (region {ses.region}; outbox at {server.url}/outbox)")
            url = ses.endpoint_url
            click.echo(f"             AWS_ENDPOINT_URL_SES={url} AWS_ENDPOINT_URL_SESV2={url} "
                       f"AWS_REGION={ses.region} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local")
            click.echo(f"             quota: {LOCAL_MAX_SEND_RATE:,.0f} messages/s, no 24-hour limit "
                       "(SES_MAX_SEND_RATE need not be set)")
            if ses.verified:
                click.echo(f"             verified senders: {', '.join(ses.verified)}")
            else:
                click.secho("             no verified sender: SES refuses every send; "
                            "pass --sender you@example.com or set SES_SENDER_EMAIL", fg="yellow")
        elif server.ses_error:
            click.secho(f"  local SES  not started: {server.ses_error}", fg="yellow", err=True)
        click.echo(f"  watching   {config.rel(config.source_dir)}/  (Ctrl-C to stop)")
        for s in bad:
            err = s.error or next((r.error for r in s.renders.values() if r.error), None)
            view = error_view(err) or {}
            click.echo(f"  {click.style('error', fg='red')}   {s.name}: {view.get('summary', '')}", err=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        click.echo("stopped")


@click.command()
@click.option("--export", "export_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the static preview site into (created; an earlier export is replaced).")
@click.option("--with-check", is_flag=True,
              help="Show the last `letterhead check` report beside each template (off by default: an export "
                   "committed for review stays what the sources alone give).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
@click.pass_obj
def preview(ctx: Ctx, export_dir: Path, with_check: bool, as_json: bool) -> None:
    """Write the preview as a static site (CI artifacts, pull-request review).

    The same pages as `letterhead dev`, without the live parts: open
    index.html from disk. Exits 1 when any template has an error (the pages
    show it).
    """
    from ..dev.preview import PreviewProject, export_site
    from ..errors import LetterheadError

    ctx.as_json = as_json
    with reported(ctx):
        config = ctx.config
        project = PreviewProject(config)
        project.rebuild()
        if project.error is not None:
            raise project.error
        written = export_site(project, export_dir, check=with_check)
        states = project.states()
        failed = [s for s in states if s.status == "error"]
        if as_json:
            emit_json({
                "ok": not failed,
                "written": [str(p) for p in written],
                "templates": [{"name": s.name, "status": s.status} for s in states],
            })
        else:
            for s in states:
                click.echo(f"  {click.style(s.status.ljust(7), fg=_STATUS_COLOUR[s.status])} {s.name}", err=True)
            click.echo(f"wrote {len(written)} page(s) to {export_dir}/ (open {export_dir / 'index.html'})")
        if failed:
            if not as_json:
                for s in failed:
                    err = s.error or next((r.error for r in s.renders.values() if r.error), None)
                    summary = (error_view(err) or {}).get("summary") if err else "lint errors"
                    click.secho("ERROR ", fg="red", bold=True, err=True, nl=False)
                    click.echo(f"{s.name}: {summary}", err=True)
            raise SystemExit(LetterheadError.exit_code)
