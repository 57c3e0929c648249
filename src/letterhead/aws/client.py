"""The one place letterhead makes boto3 sessions and clients.

Every session and client is made here, so each gets the same treatment:

* the credential redaction of botocore's and urllib3's logs is installed
  first (:func:`letterhead.aws.redact.install_log_redaction`), and any secret
  letterhead hands to boto3 itself is remembered for it;
* the retry configuration is botocore's ``standard`` mode with the total
  attempts capped (:func:`retry_config`; the sender passes 1: it retries by
  itself, and never what may have been sent);
* the region is checked before any call (:func:`check_region`: a missing or
  unknown region fails at once, with a "did you mean");
* a client's method for an API operation named as AWS names it
  (:func:`operation_method`), for the callers that pace and retry by name;
* whether an endpoint is SES itself, a local one, or something else
  (:func:`not_ses_reason`, on :func:`letterhead.aws.loopback.is_loopback_url`).

botocore and boto3 are imported inside the functions: importing this module
costs nothing.  Callers translate a ``BotoCoreError`` raised while making a
client with their own wording (:mod:`letterhead.aws.errors`).
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from ..errors import EndpointError
from .loopback import is_loopback_url
from .redact import SECRET_SESSION_ARGS, install_log_redaction, remember_secret

__all__ = ["DEFAULT_MAX_ATTEMPTS", "check_region", "known_ses_regions", "make_client", "make_session",
           "moto_mock_active", "not_ses_reason", "operation_method", "retry_config"]

DEFAULT_MAX_ATTEMPTS = 6  # botocore tries per call, the first included


def retry_config(max_attempts: int = DEFAULT_MAX_ATTEMPTS, *, connect_timeout: float = 10,
                 read_timeout: float = 30, max_pool_connections: int | None = None) -> Any:
    """botocore's ``standard`` retries, at most ``max_attempts`` tries a call."""
    from botocore.config import Config as BotoConfig

    kw: dict[str, Any] = {}
    if max_pool_connections is not None:
        kw["max_pool_connections"] = max_pool_connections
    return BotoConfig(retries={"total_max_attempts": max(1, int(max_attempts)), "mode": "standard"},
                      connect_timeout=connect_timeout, read_timeout=read_timeout, **kw)


def known_ses_regions() -> frozenset[str]:
    """Every region botocore knows an SES endpoint in, across partitions."""
    import boto3

    session = boto3.session.Session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ses", partition_name=partition))
    return frozenset(regions)


def check_region(region: str | None, endpoint_url: str | None) -> None:
    """Fail before any call on a missing or unknown region.  A custom endpoint
    accepts any region name (local and test endpoints ignore it)."""
    if not region:
        raise EndpointError(
            "no AWS region configured for SES",
            hint="set AWS_REGION (or pass --region, or `region` in [tool.letterhead.sync])",
        )
    if endpoint_url:
        return
    known = known_ses_regions()
    if region not in known:
        near = difflib.get_close_matches(region, sorted(known), n=1)
        raise EndpointError(
            f"unknown AWS region {region!r}: SES has no endpoint there",
            hint=(f"did you mean {near[0]!r}? " if near else "")
            + "set AWS_REGION to an SES region (a region newer than botocore needs --endpoint-url)",
        )


def make_session(session_args: Mapping[str, Any] | None = None, *, region: str | None = None,
                 profile: str | None = None) -> Any:
    """A ``boto3.session.Session``; credentials from boto3's chain unless
    ``session_args`` (Session arguments) name them, in which case the secret
    ones are remembered for the log redaction.  May raise ``BotoCoreError``
    (a profile that does not exist): the caller words it."""
    import boto3

    install_log_redaction()
    args = dict(session_args or {})
    remember_secret(*(v for k, v in args.items() if k in SECRET_SESSION_ARGS))
    if region is not None:
        args["region_name"] = region
    if profile is not None:
        args["profile_name"] = profile
    return boto3.session.Session(**args)


def make_client(service: str, *, session: Any = None, region: str | None = None,
                endpoint_url: str | None = None, config: Any = None, **client_args: Any) -> Any:
    """A boto3 client of ``service`` (``ses``, ``sesv2``) from ``session``
    (a new one from boto3's chain when None).  ``endpoint_url``: a local or
    test endpoint (None: AWS's own); ``client_args``: further
    ``Session.client`` arguments."""
    install_log_redaction()
    if session is None:
        session = make_session()
    return session.client(service, region_name=region, endpoint_url=endpoint_url, config=config,
                          **client_args)


def operation_method(client: Any, operation: str) -> Any:
    """The method of a boto3 ``client`` for the API ``operation`` named as
    AWS names it: ``SendTemplatedEmail`` → ``client.send_templated_email``."""
    name = "".join(f"_{ch.lower()}" if ch.isupper() and i else ch.lower()
                   for i, ch in enumerate(operation))
    return getattr(client, name)


def moto_mock_active() -> bool:
    """True while moto's in-process mock answers botocore's requests."""
    mod = sys.modules.get("moto.core.models")
    stubber = getattr(mod, "botocore_stubber", None)
    return bool(getattr(stubber, "enabled", False))


def not_ses_reason(endpoint_url: str | None) -> str | None:
    """Why what answers at ``endpoint_url`` is not SES itself (moto's mock, a
    local endpoint, another host), or None when it is AWS's endpoint."""
    if moto_mock_active():
        return "moto's in-process mock answers instead of SES; its test_render is not SES's renderer"
    url = endpoint_url
    if url and is_loopback_url(url):
        return f"{url} is a local endpoint (moto or similar), not SES; its test_render is not SES's renderer"
    host = (urlparse(url).hostname or "") if url else ""
    if url and not host.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        return f"{url} is not an AWS endpoint; only SES itself can check SES rendering"
    return None
