"""``python -m letterhead.demo_send``: send Calndr Club's invitation and a
verification code through an embedded local SES (moto's server, on
127.0.0.1), then show what each recipient would get.

1. start moto's ThreadedMotoServer on a free loopback port;
2. create the templates from ``ses_templates/`` and verify the sender's domain;
3. send a co-parent invitation (a committed sample) and a fresh verification
   code through :class:`~letterhead.send.Mailer`, exactly as the app does;
4. read back what SES recorded (``GET /moto-api/data.json``): template name
   and TemplateData;
5. render each with the local SES-faithful renderer into
   ``.demo/<n>-<template>.{html,txt}`` and print the paths.

Needs ``moto[server]`` (the ``test`` extra).  Nothing leaves the machine.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import urllib.request
from pathlib import Path
from typing import Any

from .config import load_config
from .payload import Manifest, SesTemplate
from .send import Mailer
from .validate import render_parts
from .verification import VALID_FOR, expires_at, expiry_text, new_code

DEMO_DIR = ".demo"
REGION = "eu-west-1"
INVITE_SAMPLE = "with_note"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sent_messages(endpoint_url: str) -> list[dict[str, Any]]:
    """Every templated message moto's server recorded, one entry per
    recipient: ``{"template", "to", "template_data"}``."""
    with urllib.request.urlopen(f"{endpoint_url}/moto-api/data.json", timeout=10) as r:  # noqa: S310 - loopback
        state = json.load(r)
    out = []
    for m in state.get("ses", {}).get("TemplateMessage", []):
        dests = m["destinations"]
        if isinstance(dests, dict):  # send_templated_email
            out.append({"template": m["template"], "to": dests.get("ToAddresses", []),
                        "template_data": m["template_data"], "source": m["source"]})
        else:  # send_bulk_templated_email: one per destination
            for d in dests:
                out.append({"template": m["template"], "to": d["Destination"].get("ToAddresses", []),
                            "template_data": d.get("ReplacementTemplateData") or m["template_data"],
                            "source": m["source"]})
    return out


def run(root: Path | None = None, out_dir: Path | None = None) -> list[Path]:
    from moto.server import ThreadedMotoServer
    import boto3

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the local server's access log
    config = load_config(root)
    out_dir = out_dir or config.root / DEMO_DIR
    manifest = Manifest.load(config.ses_dir)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client("ses", region_name=REGION, endpoint_url=endpoint,
                              aws_access_key_id="demo", aws_secret_access_key="demo")
        for name in manifest.templates:
            client.create_template(**SesTemplate.load(config.ses_dir / f"{name}.json").to_json())
        sender = config.sender_email or "noreply@calndr.club"
        client.verify_domain_identity(Domain=sender.rsplit("@", 1)[1])

        mailer = Mailer(sender_email=sender, sender_name=config.sender_name or "Calndr Club",
                        ses_dir=config.ses_dir, client=client, region=REGION, max_send_rate=10)
        invite = json.loads((config.source_dir / "coparent_invitation" / "samples" / f"{INVITE_SAMPLE}.json")
                            .read_text(encoding="utf-8"))
        ids = [mailer.send("coparent_invitation", invite["recipient_email"], invite, tags={"kind": "invitation"})]
        email = "amira.haddad@example.com"
        ids.append(mailer.send("email_verification", email, {"code": new_code(), "email": email,
                                                             "expires_at": expiry_text(expires_at())},
                               tags={"kind": "verification"}))

        out_dir.mkdir(parents=True, exist_ok=True)
        for old in [*out_dir.glob("*.html"), *out_dir.glob("*.txt")]:
            old.unlink()  # a previous run's messages
        written: list[Path] = []
        for n, m in enumerate(sent_messages(endpoint), 1):
            payload = SesTemplate.load(config.ses_dir / f"{m['template']}.json")
            entry = manifest.templates[m["template"]]
            parts = render_parts(payload, json.loads(m["template_data"]), entry.raw_paths)
            base = out_dir / f"{n}-{m['template']}"
            html, text = base.with_suffix(".html"), base.with_suffix(".txt")
            html.write_text(parts["html"], encoding="utf-8")
            text.write_text(f"From: {m['source']}\nTo: {', '.join(m['to'])}\nSubject: {parts['subject']}\n\n"
                            f"{parts['text']}", encoding="utf-8")
            written += [html, text]
        print(f"sent {len(ids)} message(s) through the local SES at {endpoint} "
              f"(verification codes are valid {int(VALID_FOR.total_seconds() // 60)} minutes)")
        for p in written:
            print(f"  {config.rel(p)}")
        return written
    finally:
        server.stop()


def main() -> None:
    from .errors import LetterheadError

    try:
        run()
    except LetterheadError as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
