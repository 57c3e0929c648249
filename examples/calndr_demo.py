"""`make demo` (`python examples/calndr_demo.py`): the whole job, end to end, on an embedded SES.

What ``make demo`` runs after ``letterhead build``:

1. start a local SES (moto's server on 127.0.0.1, :class:`~letterhead.dev.localses.LocalSes`);
2. ``letterhead sync`` the built ``ses_templates/`` into it, through the same
   command CI runs, then a second, no-op sync; list what SES now holds;
3. send a co-parent invitation (a committed sample) and a fresh verification
   code through :class:`~letterhead.sending.mailer.Mailer`, as the application does;
4. read back what SES recorded and render each message as real SES would,
   into ``.demo/<n>-<template>.{html,txt}``, and print the paths.

Nothing leaves the machine; dummy credentials point boto3 at the loopback port.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from pathlib import Path

import click

from letterhead.config import load_config
from letterhead.errors import LetterheadError

DEMO_DIR = ".demo"
INVITE_SAMPLE = "with_note"
SENDER = "noreply@calndr.club"


def _step(text: str) -> None:
    click.secho(f"\n==> {text}", bold=True)


def _scratch_project(root: Path, dest: Path) -> Path:
    """A copy of what sync reads (pyproject.toml and ses_templates/) in ``dest``, replaced on each run."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copy2(root / "pyproject.toml", dest / "pyproject.toml")
    ses_dir = load_config(root).ses_dir.relative_to(root)
    shutil.copytree(root / ses_dir, dest / ses_dir, ignore=shutil.ignore_patterns("deployed"))
    return dest


def run(root: Path | None = None, out_dir: Path | None = None) -> list[Path]:
    from letterhead.cli import cli
    from letterhead.dev.localses import LocalSes
    from letterhead.sending.codes import VALID_FOR, expires_at, expiry_text, new_code
    from letterhead.sending.mailer import Mailer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the local server's access log
    config = load_config(root)
    sender = config.sender_email or SENDER
    out_dir = out_dir or config.root / DEMO_DIR
    with LocalSes(senders=[sender.rsplit("@", 1)[1]]) as ses:
        saved = {k: os.environ.get(k) for k in ses.environ()}
        os.environ.update(ses.environ())
        # sync records the deployed names in <root>/ses_templates/deployed/.
        # A throwaway SES must not leave such a record in the repository, so
        # the demo syncs a copy of the project's payloads in .demo/project/,
        # where the record it prints stays for you to read.
        project = _scratch_project(config.root, out_dir / "project")
        try:
            _step(f"local SES on {ses.endpoint_url}: letterhead sync (what CI runs), "
                  f"from a copy in {config.rel(project)}/")
            root_args = ["--root", str(project)]
            cli.main([*root_args, "sync"], standalone_mode=False)
            record = project / load_config(project).ses_dir.relative_to(project) / "deployed" / "default.json"
            click.echo(f"(the sync above ran in the copy: its record is {config.rel(record)})")
            _step("a second sync changes nothing (zero write calls)")
            cli.main([*root_args, "sync"], standalone_mode=False)
            names = sorted(t["Name"] for t in ses.client().list_templates()["TemplatesMetadata"])
            _step(f"SES now holds {len(names)} template(s): {', '.join(names)}")

            _step("the application sends an invitation and a verification code")
            mailer = Mailer(sender_email=sender, sender_name=config.sender_name or "Calndr Club",
                            ses_dir=config.ses_dir, client=ses.client(), region=ses.region, max_send_rate=10)
            invite = json.loads((config.source_dir / "coparent_invitation" / "samples" / f"{INVITE_SAMPLE}.json")
                                .read_text(encoding="utf-8"))
            mailer.send("coparent_invitation", invite["recipient_email"], invite, tags={"kind": "invitation"})
            email = "amira.haddad@example.com"
            mailer.send("email_verification", email,
                        {"code": new_code(), "email": email, "expires_at": expiry_text(expires_at())},
                        tags={"kind": "verification"})
            _step("the same invitation to a Spanish-speaking co-parent (locale es-MX: the es variant)")
            invite_es = json.loads((config.source_dir / "coparent_invitation" / "samples" / "es"
                                    / f"{INVITE_SAMPLE}.json").read_text(encoding="utf-8"))
            receipt = mailer.send("coparent_invitation", invite_es["recipient_email"], invite_es,
                                  tags={"kind": "invitation"}, locale="es-MX")
            click.echo(f"sent {receipt.variant} (locale {receipt.locale}, asked es-MX)")
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

        out_dir.mkdir(parents=True, exist_ok=True)
        for old in [*out_dir.glob("*.html"), *out_dir.glob("*.txt")]:
            old.unlink()  # a previous run's messages
        written: list[Path] = []
        for n, delivery in enumerate(ses.outbox(), 1):
            m = delivery.message
            if not delivery.delivered or delivery.parts is None:
                raise LetterheadError(f"SES would drop message {n} ({m.template}): {delivery.problem}")
            base = out_dir / f"{n}-{m.template}"
            html, text = base.with_suffix(".html"), base.with_suffix(".txt")
            html.write_text(delivery.parts["html"], encoding="utf-8")
            text.write_text(f"From: {m.source}\nTo: {', '.join(m.to)}\nSubject: {delivery.parts['subject']}\n\n"
                            f"{delivery.parts['text']}", encoding="utf-8")
            written += [html, text]
    _step(f"what each recipient gets (verification codes are valid {int(VALID_FOR.total_seconds() // 60)} "
          "minutes; open the .html files in a browser)")
    for p in written:
        click.echo(f"  {config.rel(p)}")
    return written


def main() -> None:
    try:
        run()
    except LetterheadError as exc:
        click.secho("ERROR ", fg="red", bold=True, err=True, nl=False)
        click.echo(str(exc), err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
