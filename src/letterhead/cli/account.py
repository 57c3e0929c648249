"""``letterhead doctor``, ``letterhead setup`` and ``letterhead stats``: the
command line over ``letterhead.account``.

Exit codes, as for every letterhead command:

    0  all checks pass (warnings allowed) / set up or nothing to change /
       rates under their thresholds
    1  an error: configuration, credentials, AWS refused or unreachable, an
       endpoint that is not SES (``setup``, ``stats``)
    2  ``doctor``: a check failed (``--strict``: or warned), refused or
       unreachable credentials and endpoints included: doctor reports them
       as the failed check; ``stats``: a bounce or complaint rate is at or
       above its threshold
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from .. import account as acc
from ..aws.client import make_session as make_aws_session
from ..errors import AccountCheckFailed, ConfigError, ThresholdExceeded
from ..events.journal import Journal
from .common import Ctx, emit_json, reported

SYMBOLS = {acc.OK: ("✓", "green"), acc.WARN: ("!", "yellow"), acc.FAIL: ("✗", "red"), acc.SKIP: ("-", None)}
BLOCKS = " ▁▂▃▄▅▆▇█"  # eighths of a cell, for the terminal chart


# -- seams: tests replace these to hand in moto-backed clients ------------------------------


def make_session(settings: acc.AccountSettings) -> Any:
    from botocore.exceptions import BotoCoreError

    try:
        return make_aws_session(region=settings.region)
    except BotoCoreError as exc:  # AWS_PROFILE naming a profile that does not exist
        raise acc.explain(exc, "connect") from None


def connect_account(settings: acc.AccountSettings, session: Any) -> acc.Account:
    return acc.Account.connect(settings, session=session)


# -- shared options ------------------------------------------------------------------------


def _common(f: Any) -> Any:
    """--region, --endpoint-url, --root, --json: every account command."""
    for option in reversed((
        click.option("--region", default=None, help="AWS region (default: AWS_REGION, then the AWS profile)."),
        click.option("--endpoint-url", default=None,
                     help="SES endpoint, for local and test endpoints (default: AWS_ENDPOINT_URL_SES)."),
        click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Project root (default: the nearest folder with pyproject.toml)."),
        click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result."),
    )):
        f = option(f)
    return f


def _identity(f: Any) -> Any:
    """--sender, --configuration-set: doctor and setup."""
    f = click.option("--configuration-set", default=None,
                     help=f"Configuration set (default: SES_CONFIGURATION_SET, else "
                          f"{acc.DEFAULT_CONFIGURATION_SET!r}).")(f)
    return click.option("--sender", default=None, help="Sender address (default: SES_SENDER_EMAIL).")(f)


def _ctx(click_ctx: click.Context, root: Path | None, as_json: bool) -> Ctx:
    parent = click_ctx.obj if isinstance(click_ctx.obj, Ctx) else None
    return Ctx(root if root is not None else (parent.root if parent else None), as_json=as_json)


def _settings(ctx: Ctx, region: str | None, endpoint_url: str | None, sender: str | None,
              configuration_set: str | None) -> acc.AccountSettings:
    return acc.account_settings(ctx.config, region=region, endpoint_url=endpoint_url, sender=sender,
                                configuration_set=configuration_set)


def _headline(verb: str, settings: acc.AccountSettings, region: str | None) -> None:
    bits = [f"region {region or settings.region or '?'}", f"configuration set {settings.configuration_set}"]
    if settings.sender:
        bits.append(f"sender {settings.sender}")
    if settings.endpoint_url:
        bits.append(f"endpoint {settings.endpoint_url}")
    click.secho(f"{verb} ({', '.join(bits)})", bold=True)


# -- doctor --------------------------------------------------------------------------------


@click.command("doctor", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--env", "env", metavar="NAME", default=None,
              help="Check the templates under the deployed names of this sync environment.")
@click.option("--strict", is_flag=True, help="Warnings (sandbox, quota nearly used) fail too.")
@_identity
@_common
@click.pass_context
def doctor(click_ctx: click.Context, env: str | None, strict: bool, region: str | None,
           endpoint_url: str | None, sender: str | None, configuration_set: str | None, root: Path | None,
           as_json: bool) -> None:
    """Check the SES account letterhead sends through.

    Credentials (and where boto3 found them), region, send quota, sandbox or
    production, the sender's verification, the configuration set and its
    event destinations (send, delivery, bounce, complaint, reject, rendering
    failure), the manifest's templates in SES, and whether SES's events reach
    the events journal (the consumer runs). Each check prints ✓ or ✗ with the
    fix; exit 2 when one fails.
    """
    ctx = _ctx(click_ctx, root, as_json)
    with reported(ctx):
        settings = _settings(ctx, region, endpoint_url, sender, configuration_set)
        session = make_session(settings)
        credentials = acc.credential_info(session)
        report = acc.doctor(settings, credentials, lambda: connect_account(settings, session),
                            config=ctx.config, env=env)
        failing = list(report.failed) + (list(report.warnings) if strict else [])
        if not as_json:
            region_check = next(c for c in report.checks if c.key == "region")
            _headline("letterhead doctor", settings, region_check.data.get("region"))
            _print_checks(report.checks)
            counts = {s: sum(c.status == s for c in report.checks) for s in SYMBOLS}
            click.echo(f"{counts[acc.OK]} passed, {counts[acc.WARN]} warning(s), {counts[acc.FAIL]} failed"
                       + (f", {counts[acc.SKIP]} skipped" if counts[acc.SKIP] else ""))
        if failing:
            names = ", ".join(c.title for c in failing)
            raise AccountCheckFailed(
                f"{len(failing)} check(s) failed: {names}", report,
                hint=(failing[0].fix if len(failing) == 1 and failing[0].fix
                      else "fix the ✗ lines above, then rerun `letterhead doctor`"))
        if as_json:
            emit_json(report.to_dict())


def _print_checks(checks: Sequence[acc.Check]) -> None:
    width = max(len(c.title) for c in checks)
    for c in checks:
        sym, colour = SYMBOLS[c.status]
        click.echo(f"  {click.style(sym, fg=colour, bold=True)} {c.title:<{width}}  {c.summary}")
        if c.fix and c.status in (acc.FAIL, acc.WARN):
            click.echo(f"    {'':<{width}}  {click.style('fix:', fg=colour)} {c.fix}")
        verified = c.data.get("verified_identities") if c.key == "sender" else None
        if verified:
            shown = ", ".join(verified[:10]) + (f" (+{len(verified) - 10} more)" if len(verified) > 10 else "")
            click.echo(f"    {'':<{width}}  verified identities: {shown}")


# -- setup ---------------------------------------------------------------------------------


@click.command("setup", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dry-run", is_flag=True, help="Show what would change; make no write call.")
@click.option("--sns-topic", metavar="ARN", default=None,
              help="Also publish rendering failures to this SNS topic (to alert on).")
@click.option("--resend", is_flag=True, help="Send a new verification email while the sender is pending.")
@click.option("--print-policy", is_flag=True,
              help="Print the least-privilege IAM policy for letterhead's calls and stop (no AWS call).")
@_identity
@_common
@click.pass_context
def setup(click_ctx: click.Context, dry_run: bool, sns_topic: str | None, resend: bool, print_policy: bool,
          region: str | None, endpoint_url: str | None, sender: str | None, configuration_set: str | None,
          root: Path | None, as_json: bool) -> None:
    """Set the SES account up for letterhead, idempotently.

    Verifies the sender (SES emails it a link), creates the configuration set
    and a CloudWatch event destination for send, delivery, bounce, complaint,
    reject and rendering-failure events (rendering failures are the only trace
    SES leaves of a templated send it dropped), and with --sns-topic an SNS
    destination for rendering failures. A second run changes nothing. Prints
    the least-privilege IAM policy for the calls letterhead makes.
    """
    ctx = _ctx(click_ctx, root, as_json)
    with reported(ctx):
        settings = _settings(ctx, region, endpoint_url, sender, configuration_set)
        policy = acc.iam_policy(settings.sender)
        if print_policy:
            click.echo(json.dumps(policy, indent=2))
            return
        if not settings.sender:
            raise ConfigError("no sender configured: setup verifies the address letterhead sends from",
                              hint="set SES_SENDER_EMAIL (environment or .env), or pass --sender")
        spec = acc.SetupSpec(settings.sender, settings.configuration_set, sns_topic, resend)
        account = connect_account(settings, make_session(settings))

        def progress(change: acc.Change) -> None:
            if not as_json:
                click.echo(f"  {click.style('done', fg='green')} {change.description}")

        if not as_json:
            _headline("letterhead setup" + (" --dry-run" if dry_run else ""), settings, account.region)
        result = acc.setup(account, spec, dry_run=dry_run, progress=progress)
        if as_json:
            emit_json({"ok": True, **result.to_dict()})
            return
        _print_setup(result, policy, settings)


def _print_setup(result: acc.SetupResult, policy: dict[str, Any], settings: acc.AccountSettings) -> None:
    plan = result.plan
    for note in plan.notes:
        click.echo(f"  {click.style('=', fg='green')} {note}")
    cs = plan.state.configuration_set
    if cs is not None and not any(c.action == "create-configuration-set" for c in plan.changes):
        click.echo(f"  {click.style('=', fg='green')} configuration set {cs.name} exists")
    if not any(c.action.endswith("event-destination") for c in plan.changes):
        click.echo(f"  {click.style('=', fg='green')} event destinations cover "
                   f"{', '.join(acc.EVENT_LABELS[t] for t in acc.EVENT_TYPES)}")
    if result.dry_run:
        for c in plan.changes:
            click.echo(f"  {click.style('+', fg='yellow')} would {c.description} ({c.operation})")
        click.echo(f"dry run: {len(plan.changes)} change(s) to make, nothing changed"
                   if plan.changes else "dry run: nothing to change, the account is set up")
    elif result.applied:
        click.echo(f"set up: {len(result.applied)} change(s) made")
        after = result.sender_after
        if not after.verified:
            click.echo(f"  {click.style('!', fg='yellow')} {after.describe()}: SES emailed "
                       f"{after.address.identity} a link; click it, then run `letterhead doctor`")
    else:
        click.echo("nothing to change: the account is set up")
    if settings.configuration_set_source == "default":
        click.echo(f"  {click.style('!', fg='yellow')} sends publish events only with SES_CONFIGURATION_SET="
                   f"{settings.configuration_set} set where the application sends")
    click.echo("")
    click.secho("Least-privilege IAM policy for the calls letterhead makes "
                "(give each role only its statement):", bold=True)
    click.echo(json.dumps(policy, indent=2))


# -- stats ---------------------------------------------------------------------------------


@click.command("stats", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--max-bounce-rate", type=click.FloatRange(0, 100), default=acc.BOUNCE_THRESHOLD * 100,
              show_default=True, metavar="PERCENT", help="Exit 2 at or above this bounce rate.")
@click.option("--max-complaint-rate", type=click.FloatRange(0, 100), default=acc.COMPLAINT_THRESHOLD * 100,
              show_default=True, metavar="PERCENT", help="Exit 2 at or above this complaint rate.")
@click.option("--chart/--no-chart", default=True, help="Draw the last 14 days in the terminal.")
@click.option("--live", is_flag=True,
              help="Also compute the rates of the last 24 hours from the events the consumer recorded "
                   "(`letterhead events poll`; the journal of [tool.letterhead.events] database).")
@_common
@click.pass_context
def stats(click_ctx: click.Context, max_bounce_rate: float, max_complaint_rate: float, chart: bool, live: bool,
          region: str | None, endpoint_url: str | None, root: Path | None, as_json: bool) -> None:
    """Send quota, and send statistics of the last 24 hours and 14 days.

    Bounce and complaint rates are checked against 5 % and 0.1 % (SES reviews
    accounts above them); exit 2 when one is reached, for a scheduled CI job.
    With --live, the same rates over the last 24 hours from the consumed SES
    events too, which do not wait for SES's 15-minute buckets.
    """
    ctx = _ctx(click_ctx, root, as_json)
    with reported(ctx):
        settings = _settings(ctx, region, endpoint_url, None, None)
        journal = Journal(ctx.config.events.database) if live else None
        account = connect_account(settings, make_session(settings))
        thresholds = acc.Thresholds(max_bounce_rate / 100, max_complaint_rate / 100)
        try:
            report = acc.statistics(account, thresholds=thresholds, journal=journal)
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot read the events journal {ctx.config.events.database}: {exc}",
                              hint="move the file away (it is rebuilt as events arrive) or point "
                                   "[tool.letterhead.events] database (LETTERHEAD_EVENTS_DB) at another file"
                              ) from None
        finally:
            if journal is not None:
                journal.close()
        if not as_json:
            _print_stats(report, chart=chart)
        breaches = report.breaches
        if breaches:
            raise ThresholdExceeded(
                "; ".join(breaches), report,
                hint="find the cause before SES reviews or pauses the account: stop sending to addresses "
                     "that bounced or complained (the SES suppression list), check the recipient source; "
                     "the SES Account dashboard shows the rates SES itself uses")
        if as_json:
            emit_json(report.to_dict())


def _rate(n: int, rate: float | None, threshold: float, digits: int, width: int) -> str:
    """``n (r %) ✓`` padded to ``width`` before colouring, so columns stay
    aligned when click strips the colours (not a terminal)."""
    if rate is None:
        return f"{n} (no sends)".ljust(width)
    text = f"{n} ({rate * 100:.{digits}f} %)"
    mark = click.style("✗", fg="red") if rate >= threshold else click.style("✓", fg="green")
    return f"{text} {mark}" + " " * max(0, width - len(text) - 2)


def _print_stats(report: acc.StatsReport, *, chart: bool) -> None:
    if report.quota is not None:
        click.echo(f"Send quota: {report.quota.describe()}")
    t = report.thresholds
    windows = [report.last_24h, report.last_14d] + ([report.live.totals] if report.live else [])
    width = max(14, *(len(w.label) for w in windows))
    click.echo(f"  {'':<{width}} {'sends':>8}  {'bounces':<18} {'complaints':<19} {'rejects':>7}")
    for w in windows:
        click.echo(f"  {w.label:<{width}} {w.attempts:>8}  {_rate(w.bounces, w.bounce_rate, t.bounce, 2, 18)} "
                   f"{_rate(w.complaints, w.complaint_rate, t.complaint, 3, 19)} {w.rejects:>7}")
    click.echo(f"  thresholds: bounce rate under {t.bounce * 100:g} %, complaint rate under {t.complaint * 100:g} %"
               " (rates are over delivery attempts; SES's own dashboard may differ)")
    if report.live is not None:
        last = report.live.last_event
        click.echo(f"  events: {report.live.database}; "
                   + (f"last event recorded {last.strftime('%Y-%m-%d %H:%M:%S')} UTC" if last else
                      "no event recorded yet: is `letterhead events poll` (or the HTTPS endpoint) running? "
                      "See docs/events.md"))
    if chart:
        click.echo("")
        for line in render_chart(report.days, report.thresholds):
            click.echo(line)


def render_chart(days: Sequence[acc.Totals], thresholds: acc.Thresholds, *, height: int = 4,
                 width: int = 2) -> list[str]:
    """Delivery attempts per day as bars of Unicode blocks (eighths of a cell),
    a marker row (b: bounce rate, c: complaint rate at or above its threshold)
    and the first and last dates."""
    values = [d.attempts for d in days]
    top = max(values, default=0)
    lines = [f"Delivery attempts per day (UTC), last {len(days)} days; highest {top:,}"]
    if top == 0:
        lines.append("  no sends")
        return lines
    eighths = [0 if v == 0 else max(1, round(v / top * height * 8)) for v in values]
    for row in reversed(range(height)):
        cells = [BLOCKS[min(8, max(0, e - row * 8))] * width for e in eighths]
        lines.append("  " + " ".join(cells).rstrip())
    marks = []
    for d in days:
        b = d.bounce_rate is not None and d.bounce_rate >= thresholds.bounce
        c = d.complaint_rate is not None and d.complaint_rate >= thresholds.complaint
        marks.append(("b" if b else " ") + ("c" if c else " ") if width >= 2 else ("!" if b or c else " "))
    if any(m.strip() for m in marks):
        lines.append("  " + " ".join(marks).rstrip() + "   (b: bounce, c: complaint rate over threshold)")
    span = len(days) * (width + 1) - 1
    first, last = days[0].start.strftime("%m-%d"), days[-1].start.strftime("%m-%d")
    lines.append("  " + first + last.rjust(max(0, span - len(first))))
    return lines


COMMANDS = (doctor, setup, stats)
