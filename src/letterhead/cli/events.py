"""``letterhead events``: SES's events from the command line.

``letterhead events poll --queue URL`` reads an SQS queue subscribed to the
SES events topic, with the project's settings (``[tool.letterhead.events]``):
permanent bounces and complaints go into the suppression store, every event
into the journal (``letterhead stats --live``, ``doctor``'s events check).
Handled messages are deleted; see :mod:`letterhead.events.sqs` for the others.

Progress goes to stderr, one line per batch read (none with ``--json``); the
summary to stdout.  ``--once`` drains what the queue holds and exits;
without it, poll until Ctrl-C (or SIGTERM), which finishes the batch in hand.

Exit codes:

    0  every message read was handled (or dropped as never valid: not JSON,
       not SES)
    1  an error: configuration, credentials, AWS refused or unreachable
    2  some messages were refused (a topic not on the allowlist) or could not
       be handled: they stay in the queue
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import click

from .common import Ctx, emit_json, reported


@click.group("events", context_settings={"help_option_names": ["-h", "--help"]})
def events() -> None:
    """Consume SES's events (bounces, complaints, deliveries, rendering failures)."""


@events.command("poll")
@click.option("--queue", "queue_url", required=True, metavar="URL",
              help="The SQS queue URL (subscribed to the SES events topic; raw delivery or SNS envelopes).")
@click.option("--once", is_flag=True, help="Drain what the queue holds now, then exit.")
@click.option("--wait", type=click.IntRange(0, 20), default=20, show_default=True,
              help="Seconds each long poll waits for a message.")
@click.option("--region", default=None, help="AWS region of the queue (default: from the queue URL, then AWS_REGION).")
@click.option("--endpoint-url", default=None,
              help="SQS endpoint, for local and test endpoints (default: AWS_ENDPOINT_URL_SQS; a loopback queue "
                   "URL is its own endpoint).")
@click.option("--verify-signatures", is_flag=True,
              help="Also check the SNS signature of each envelope (IAM already guards the queue; raw deliveries "
                   "carry none and are refused).")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Project root (default: the nearest folder with pyproject.toml).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.pass_context
def poll(click_ctx: click.Context, queue_url: str, once: bool, wait: int, region: str | None,
         endpoint_url: str | None, verify_signatures: bool, root: Path | None, as_json: bool) -> None:
    """Read SES events from an SQS queue into the suppression store and the journal."""
    from ..events.consumer import EventConsumer
    from ..events.sqs import PollCounts, make_sqs_client
    from ..events.sqs import poll as sqs_poll

    parent = click_ctx.obj if isinstance(click_ctx.obj, Ctx) else None
    ctx = Ctx(root if root is not None else (parent.root if parent else None), as_json=as_json)
    counts = PollCounts()
    with reported(ctx):
        config = ctx.config
        settings = config.events
        client = make_sqs_client(region=region, endpoint_url=endpoint_url, queue_url=queue_url)
        consumer = EventConsumer.from_config(config, verify_sqs=verify_signatures)
        suppressions = consumer.suppressions
        if not as_json:
            store = "off" if suppressions is None else settings.suppression
            click.secho(f"polling {queue_url} (suppression {store}, journal {config.rel(settings.database)}"
                        + (", until empty)" if once else ", Ctrl-C stops)"), bold=True, err=True)
        stopping: list[bool] = []
        previous = _on_sigterm(stopping) if not once else None

        def progress(running: PollCounts) -> None:
            if not as_json:
                click.echo(_line("read", running), err=True)

        try:
            sqs_poll(consumer, queue_url, client=client, once=once, wait=wait, stop=lambda: bool(stopping),
                     progress=progress, counts=counts)
        except KeyboardInterrupt:
            pass  # Ctrl-C: the batch in hand is not deleted (it comes back); say what was done
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            consumer.close()
    if as_json:
        emit_json({"ok": counts.ok, "queue": queue_url, **counts.to_dict()})
    else:
        click.echo(_line("done", counts))
    sys.exit(0 if counts.ok else 2)


def _line(verb: str, counts: Any) -> str:
    parts = [f"{counts.received} message{'s' if counts.received != 1 else ''}",
             f"{counts.events} event{'s' if counts.events != 1 else ''} handled"]
    if counts.dropped:
        parts.append(f"{counts.dropped} dropped (not SES)")
    if counts.refused:
        parts.append(f"{counts.refused} refused (left in the queue)")
    if counts.failed:
        parts.append(f"{counts.failed} failed (left in the queue)")
    return f"{verb}: " + ", ".join(parts)


def _on_sigterm(stopping: list[bool]) -> Any:
    """SIGTERM finishes the batch in hand, then stops (as Ctrl-C would not)."""
    try:
        return signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    except ValueError:  # not the main thread (an embedding application): leave signals alone
        return None
