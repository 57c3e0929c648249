"""A transport by name, from the settings: ``ses`` (SES by the configured
API: v1 ``SendTemplatedEmail``, or v2 ``SendEmail`` with headers), ``sesv2``
(v2 whatever the API setting), ``smtp``, ``outbox``, and ``ses+smtp`` /
``sesv2+smtp`` (SES with the SMTP fallback)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...config import ses_api
from ...errors import ConfigError
from .base import Transport
from .fallback import FallbackTransport
from .outbox import OutboxTransport
from .ses import SesTransport
from .sesv2 import SesV2Transport
from .smtp import SmtpTransport

__all__ = ["API_ENV", "TRANSPORTS", "make_transport", "session_credentials", "transport_for_api"]

TRANSPORTS = ("ses", "smtp", "outbox", "ses+smtp", "sesv2", "sesv2+smtp")
API_ENV = "LETTERHEAD_SES_API"  # overrides [tool.letterhead.send] api


def transport_for_api(name: str, api: str | None) -> str:
    """The transport ``name`` means under SES API ``api`` (``"v1"`` /
    ``"v2"``, None: v1): ``ses`` and ``ses+smtp`` become ``sesv2`` and
    ``sesv2+smtp`` under v2; every other name stays."""
    if ses_api(api, "the SES API") == "v2" and name in ("ses", "ses+smtp"):
        return name.replace("ses", "sesv2", 1)
    return name


def session_credentials(environ: Mapping[str, str]) -> dict[str, str]:
    """AWS credentials named in ``environ`` (a ``.env`` file included), for
    boto3's session; empty lets boto3's own chain look (IAM roles...)."""
    if environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
        creds = {"aws_access_key_id": environ["AWS_ACCESS_KEY_ID"],
                 "aws_secret_access_key": environ["AWS_SECRET_ACCESS_KEY"]}
        if environ.get("AWS_SESSION_TOKEN"):
            creds["aws_session_token"] = environ["AWS_SESSION_TOKEN"]
        return creds
    if environ.get("AWS_PROFILE"):
        return {"profile_name": environ["AWS_PROFILE"]}
    return {}


def make_transport(name: str, *, environ: Mapping[str, str] | None = None, region: str | None = None,
                   endpoint_url: str | None = None, max_send_rate: float | None = None, client: Any = None,
                   outbox_dir: str | Path | None = None, api: str | None = None, **ses_kw: Any) -> Transport:
    """A transport by name (:data:`TRANSPORTS`).  ``api``: the SES API that
    ``ses`` and ``ses+smtp`` use (``"v1"``, the default, or ``"v2"``; see
    :func:`transport_for_api`).  SMTP reads ``SMTP_HOST``, ``SMTP_PORT``,
    ``SMTP_USERNAME``, ``SMTP_PASSWORD``, ``SMTP_SECURITY`` from ``environ``
    (the process environment by default).  ``client``: a boto3 client of the
    API's service (``ses`` or ``sesv2``)."""
    environ = os.environ if environ is None else environ
    if name not in TRANSPORTS:
        raise ConfigError(f"unknown transport {name!r}", hint=f"pick one of {', '.join(TRANSPORTS)}")
    name = transport_for_api(name, api)

    def ses() -> SesTransport:
        cls = SesV2Transport if name.startswith("sesv2") else SesTransport
        return cls(client, region=region, endpoint_url=endpoint_url, max_send_rate=max_send_rate,
                   credentials=session_credentials(environ), **ses_kw)

    def smtp() -> SmtpTransport:
        host = environ.get("SMTP_HOST")
        if not host:
            raise ConfigError("the smtp transport needs SMTP_HOST", hint="set SMTP_HOST (and SMTP_PORT, "
                              "SMTP_USERNAME, SMTP_PASSWORD, SMTP_SECURITY) in the environment or .env")
        try:
            port = int(environ["SMTP_PORT"]) if environ.get("SMTP_PORT") else None
        except ValueError:
            raise ConfigError("SMTP_PORT must be a number", hint="fix SMTP_PORT") from None
        return SmtpTransport(host, port, username=environ.get("SMTP_USERNAME") or None,
                             password=environ.get("SMTP_PASSWORD") or None,
                             security=environ.get("SMTP_SECURITY") or "starttls")

    if name in ("ses", "sesv2"):
        return ses()
    if name == "smtp":
        return smtp()
    if name == "outbox":
        return OutboxTransport(outbox_dir or environ.get("LETTERHEAD_OUTBOX_DIR") or None)
    return FallbackTransport(ses(), smtp())
