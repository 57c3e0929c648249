"""``letterhead send``: one test send from the command line, through the same
:class:`~letterhead.sending.mailer.Mailer` the application uses (same checks, same
transports).  Registered in ``cli.py`` with ``cli.add_command(send)``.

Exit codes: 0 sent; 1 refused before sending (the data does not fit, a bad
address, configuration) or by the transport (the message names the fix).
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import DataError
from ..sending.mailer import TRANSPORTS, Mailer
from .common import Ctx, emit_json, reported

DEFAULT_OUTBOX = ".outbox"


def _tags(values: tuple[str, ...]) -> dict[str, str]:
    tags = {}
    for v in values:
        name, sep, value = v.partition("=")
        if not sep:
            raise DataError(f"--tag {v!r} is not NAME=VALUE", hint="e.g. --tag campaign=invite")
        tags[name] = value
    return tags


@click.command()
@click.argument("template")
@click.option("--to", "to", required=True, multiple=True, metavar="ADDR", help="Recipient (repeatable).")
@click.option("--data", "data_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A JSON file of template data (e.g. a sample under templates_src/NAME/samples/).")
@click.option("--transport", type=click.Choice(TRANSPORTS), default=None,
              help="ses (default), smtp, outbox (.eml files, nothing sent) or ses+smtp (SMTP fallback). "
                   "Default: LETTERHEAD_TRANSPORT, else ses (+smtp when SMTP_HOST is set).")
@click.option("--env", "env", default=None, help="The sync environment whose deployed names to send with.")
@click.option("--reply-to", "reply_to", multiple=True, metavar="ADDR", help="Reply-To address (repeatable).")
@click.option("--tag", "tags", multiple=True, metavar="NAME=VALUE", help="An SES message tag (repeatable).")
@click.option("--outbox-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Folder for --transport outbox (default: {DEFAULT_OUTBOX}/ in the project).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
@click.pass_obj
def send(ctx: Ctx, template: str, to: tuple[str, ...], data_file: Path, transport: str | None, env: str | None,
         reply_to: tuple[str, ...], tags: tuple[str, ...], outbox_dir: Path | None, as_json: bool) -> None:
    """Send TEMPLATE to --to with the data in --data, as the application would.

    The data is checked against the template's contract first: a missing
    variable is an error naming it, and nothing is sent.  Sender, region and
    configuration set come from the environment or .env (SES_SENDER_EMAIL,
    SES_SENDER_NAME, AWS_REGION, SES_CONFIGURATION_SET, AWS_ENDPOINT_URL_SES).
    """
    from ..authoring.sources import read_json

    ctx.as_json = as_json
    with reported(ctx):
        config = ctx.config
        data = read_json(data_file)
        if not isinstance(data, dict):
            raise DataError("the --data file must hold a JSON object", hint="e.g. {\"code\": \"048213\"}")
        if transport == "outbox" and outbox_dir is None:
            outbox_dir = config.root / DEFAULT_OUTBOX
        with Mailer.from_config(config, env=env, transport=transport, outbox_dir=outbox_dir) as mailer:
            message_id = mailer.send(template, list(to), data, reply_to=list(reply_to) or None,
                                     tags=_tags(tags) or None)
            outbox = getattr(mailer.transport, "messages", None)
            path = outbox[-1].path if outbox else None
            deployed = mailer.catalog.get(template).deployed_name
            used = mailer.transport.name
            if getattr(mailer.transport, "fallbacks", 0):
                used = f"{mailer.transport.secondary.name} (SES fallback)"  # type: ignore[attr-defined]
        if as_json:
            emit_json({"ok": True, "template": template, "deployed_name": deployed, "transport": used,
                        "message_id": message_id, "eml": str(path) if path else None})
            return
        click.echo(f"sent {template} ({deployed}) via {used}: {message_id}")
        if path:
            click.echo(f"  written to {config.rel(path)}")
