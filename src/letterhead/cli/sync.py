"""``letterhead sync`` (and ``python sync.py``): the command line over
``letterhead.deploy.sync``.  Prints the plan, asks before pruning, shows progress on
stderr, and maps outcomes to exit codes:

    0  applied, or already in sync (``--check``: no drift; ``--verify``:
       every template verified)
    1  an error: bad input, configuration, AWS refused or unreachable, an
       endpoint that is not SES, a failure mid-run (the message lists what
       was applied)
    2  a gate did not pass: ``--check`` found drift (SES differs from
       ``ses_templates/``), or ``--verify`` did not verify every template
       (SES could not render a sample, or nothing here can verify: moto, a
       local endpoint, no samples); the message says which and why
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ..deploy.plan import CREATE, DELETE, UNCHANGED, UPDATE, PlannedAction, SyncPlan
from ..errors import PruneRefused, VerifyFailed
from .common import Ctx, emit_json, reported

PROGRESS_MIN = 5  # show a progress bar from this many calls in a phase
SYMBOL = {CREATE: ("+", "green"), UPDATE: ("~", "yellow"), UNCHANGED: ("=", None), DELETE: ("-", "red")}
PHASE_LABEL = {"fetch": "reading SES ", "apply": "applying    ", "verify": "verifying   "}


class _Progress:
    """One click progress bar per phase, on stderr, for phases long enough to need one."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._phase: str | None = None

    def __call__(self, phase: str, name: str, done: int, total: int) -> None:
        if total < PROGRESS_MIN:
            return
        if phase != self._phase:
            self.close()
            self._phase = phase
            self._bar = click.progressbar(length=total, label=PHASE_LABEL.get(phase, phase), file=sys.stderr,
                                          show_pos=True, item_show_func=lambda _: None)
            self._bar.__enter__()
        self._bar.update(1)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
            self._phase = None


def _row(action: PlannedAction, width: int, extra: str = "") -> str:
    sym, colour = SYMBOL[action.action]
    head = click.style(f"{sym} {action.action:<16}", fg=colour)
    return f"  {head} {action.logical:<{width}}  {action.deployed}{extra}"


def _print_plan(plan: SyncPlan, *, prune: bool, verbose: bool, n_local: int) -> None:
    ns = plan.namespace
    click.echo(f"Plan ({ns.describe()}): {n_local} template(s) in ses_templates/, "
               f"{plan.listed} in SES")
    shown = [a for a in plan.actions if verbose or a.action != UNCHANGED]
    width = max([len(a.logical) for a in plan.actions] + [8])
    if shown:
        click.echo(f"  {'  ACTION':<18} {'TEMPLATE':<{width}}  DEPLOYED AS")
    for a in shown:
        extra = ""
        if a.action == DELETE:
            extra = f"  ({a.reason}" + ("" if prune else "; pass --prune to delete") + ")"
        click.echo(_row(a, width, extra))
    counts = plan.counts()
    click.echo(f"  {counts[CREATE]} to create, {counts[UPDATE]} to update, {counts[UNCHANGED]} unchanged, "
               f"{counts[DELETE]} delete candidate(s)")
    if plan.prune_note and (verbose or prune):
        click.echo(click.style("  note: ", fg="yellow") + plan.prune_note)
    for a in plan.of(UPDATE):
        click.echo("")
        for line in a.diff.splitlines():
            colour = ("green" if line.startswith("+") and not line.startswith("+++")
                      else "red" if line.startswith("-") and not line.startswith("---")
                      else "cyan" if line.startswith("@@") else None)
            click.secho(line, fg=colour)


def _confirm_prune(deletions: Sequence[PlannedAction]) -> bool:
    if not sys.stdin.isatty():
        raise PruneRefused(
            f"--prune would delete {len(deletions)} template(s) and this is not a terminal to ask in; "
            "nothing applied",
            hint="read the plan (--dry-run --prune), then pass --yes to delete without asking")
    click.echo(f"These {len(deletions)} template(s) will be deleted from SES:", err=True)
    for a in deletions:
        click.echo(f"  - {a.deployed}  ({a.reason})", err=True)
    return click.confirm("Delete them?", default=False, err=True)


@click.command("sync", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--env", "env", metavar="NAME", default=None,
              help="Environment: deployed names get its prefix/suffix from [tool.letterhead.env.NAME].")
@click.option("--dry-run", is_flag=True, help="Print the plan and stop (no write call).")
@click.option("--check", is_flag=True,
              help="Exit 2 when SES differs from ses_templates/ (drift gate for CI); writes nothing. "
                   "With --prune, delete candidates count as drift too.")
@click.option("--prune", is_flag=True,
              help="Delete managed templates no longer in ses_templates/ (versioned: beyond --keep).")
@click.option("--yes", "-y", is_flag=True, help="Prune without asking (needed when not in a terminal).")
@click.option("--verify", is_flag=True,
              help="After applying, render every sample with SES's TestRenderTemplate; exit 2 unless every "
                   "template is verified. Needs SES itself: against moto or a local endpoint nothing can be "
                   "verified, and it says so.")
@click.option("--versioned/--stable", default=None,
              help="Deploy content-addressed names (<name>-v<hash>) instead of updating in place.")
@click.option("--keep", type=click.IntRange(min=1), default=None,
              help="Versioned mode: versions of each template that prune keeps (default 3).")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=None,
              help="API calls per second (default 1, SES's limit; 1000 against a loopback "
                   "endpoint such as the local SES).")
@click.option("--max-attempts", type=click.IntRange(min=1), default=None,
              help="Total tries per call, retries included (default 6).")
@click.option("--region", default=None, help="AWS region (default: AWS_REGION, then config).")
@click.option("--endpoint-url", default=None,
              help="SES endpoint, for local and test endpoints (default: AWS_ENDPOINT_URL_SES).")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Project root (default: the nearest folder with pyproject.toml).")
@click.option("--verbose", "-v", is_flag=True, help="List unchanged templates in the plan too.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
@click.pass_context
def sync(click_ctx: click.Context, env: str | None, dry_run: bool, check: bool, prune: bool, yes: bool,
         verify: bool, versioned: bool | None, keep: int | None, rate: float | None,
         max_attempts: int | None, region: str | None, endpoint_url: str | None, root: Path | None,
         verbose: bool, as_json: bool) -> None:
    """Put exactly what ses_templates/ holds into SES stored templates.

    Plans first (create / update with a diff / unchanged / delete-candidate),
    then applies; unchanged templates are never written. Exit codes: 0 done or
    in sync, 1 error, 2 --check found drift or --verify did not pass.
    """
    from ..deploy.naming import load_settings
    from ..deploy.sync import sync as run_sync
    from ..deploy.sync import verify_gate

    parent = click_ctx.obj if isinstance(click_ctx.obj, Ctx) else None
    ctx = Ctx(root if root is not None else (parent.root if parent else None), as_json=as_json)
    bars = _Progress()
    with reported(ctx):
        config = ctx.config
        settings = load_settings(config, env, versioned=versioned, keep=keep, rate=rate,
                                 max_attempts=max_attempts, region=region, endpoint_url=endpoint_url)

        def on_plan(plan: SyncPlan) -> None:
            if not as_json:
                _print_plan(plan, prune=prune, verbose=verbose, n_local=len(plan.deployed))

        try:
            result = run_sync(config, settings, dry_run=dry_run, check=check, prune=prune, yes=yes,
                              verify=verify and not (dry_run or check), confirm=_confirm_prune,
                              on_plan=on_plan, progress=bars)
        except VerifyFailed as exc:  # applied, then a sample failed: show what was done first
            bars.close()
            if not as_json:
                _print_result(exc.result, verify_requested=verify)
            raise
        finally:
            bars.close()
        gate = verify_gate(result)  # --verify: anything but "every template verified" is exit 2
        if as_json:
            if gate is not None:
                raise gate
            emit_json({"ok": True, **result.to_dict()})
            return
        _print_result(result, verify_requested=verify)
        if gate is not None:
            raise gate


def _print_result(result: Any, *, verify_requested: bool) -> None:
    plan = result.plan
    calls = f"{result.total_calls} API call(s)" + (f", {result.throttled} throttled and retried"
                                                    if result.throttled else "")
    if result.mode == "dry-run":
        click.echo(f"dry run: nothing applied ({calls})")
    elif result.mode == "check":
        click.echo(f"in sync: SES matches ses_templates/ for {len(plan.deployed)} template(s) ({calls})")
    else:
        counts = {k: sum(1 for r in result.applied if r.action.action == k) for k in (CREATE, UPDATE, DELETE)}
        kept = len(plan.delete_candidates) - counts[DELETE]
        click.echo(
            f"synced: {counts[CREATE]} created, {counts[UPDATE]} updated, {counts[DELETE]} deleted, "
            f"{len(plan.of(UNCHANGED))} unchanged" + (f", {kept} delete candidate(s) kept" if kept else "")
            + f"; {calls}")
        if result.deployed_file:
            click.echo(f"deployed names: {result.deployed_file}")
    if verify_requested and result.mode != "apply":
        click.secho("verify: skipped, nothing was applied", fg="yellow")
    if result.verify is not None:
        _print_verify(result.verify)


def _print_verify(reports: Sequence[Any]) -> None:
    counts: dict[str, int] = {}
    for r in reports:
        counts[r.status] = counts.get(r.status, 0) + 1
    reasons = {r.reason for r in reports if r.status == "not-verified"}
    for r in reports:
        if r.status == "verified":
            click.echo(f"  {click.style('verified', fg='green')}      {r.deployed} "
                       f"({len(r.samples)} sample(s))")
        elif r.status == "failed":
            for s in r.samples:
                if s.status == "failed":
                    click.echo(f"  {click.style('FAILED', fg='red')}        {r.deployed} sample {s.sample}: "
                               f"{s.message}")
        elif len(reasons) > 1:
            click.echo(f"  {click.style('NOT VERIFIED', fg='yellow')}  {r.deployed}: {r.reason}")
    line = (f"verify: {counts.get('verified', 0)} verified, {counts.get('failed', 0)} failed, "
            f"{counts.get('not-verified', 0)} NOT VERIFIED")
    if len(reasons) == 1 and counts.get("not-verified"):
        line += f" ({next(iter(reasons))})"
    click.secho(line, fg="yellow" if counts.get("not-verified") else None)
