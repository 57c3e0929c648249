"""Keep credentials and template data out of botocore's and urllib3's logs.

An application that turns logging up to DEBUG gets botocore's request
traces: the ``Authorization`` header (``Credential=AKIA…``, ``Signature=…``),
``X-Amz-Security-Token``, the canonical request and string to sign, response
bodies (STS and SSO answers hold ``SecretAccessKey`` and ``SessionToken``),
and every call's parameters (TemplateData holds verification codes and
personal data).  letterhead promises credentials are never logged, so every
place that makes a boto3 session or client calls :func:`install_log_redaction`
first.

It attaches one :class:`logging.Filter` to each logger of botocore, boto3,
urllib3 and s3transfer.  A filter on a parent logger does not see its
children's records (filters run only on the logger a record is logged to,
handlers are the application's), hence one attachment per logger: the known
module loggers by name (created now if their module is not imported yet, so a
lazily imported module finds the filter in place) plus every such logger that
exists at call time.  The call is idempotent and cheap, so each client factory
calls it.

The filter rewrites the record's message (it never drops a record: the line
that a request happened stays useful):

* parameters holding TemplateData or destinations: the line is kept up to the
  parameters, which are withheld;
* the canonical request, string to sign and signature lines of
  ``botocore.auth``: withheld whole (the canonical request carries the
  session token);
* anywhere: ``Authorization`` values, AWS access key ids, ``Signature=`` /
  ``X-Amz-Signature=``, ``X-Amz-Security-Token`` / ``X-Amz-Credential``,
  ``SecretAccessKey`` / ``SessionToken`` / ``aws_secret_access_key`` values,
  and any secret handed to :func:`remember_secret` (the credentials letterhead
  passed to boto3 itself).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["REDACTED", "SECRET_SESSION_ARGS", "install_log_redaction", "redact_secrets", "remember_secret"]

REDACTED = "[redacted by letterhead]"
# boto3.session.Session arguments whose values are credentials.
SECRET_SESSION_ARGS = frozenset({"aws_access_key_id", "aws_secret_access_key", "aws_session_token"})

# Loggers of the libraries boto3 brings, named after their modules.
_PREFIXES = ("botocore", "boto3", "urllib3", "s3transfer")
_KNOWN = (
    "botocore", "botocore.args", "botocore.auth", "botocore.awsrequest", "botocore.client",
    "botocore.compat", "botocore.compress", "botocore.configprovider", "botocore.credentials",
    "botocore.discovery", "botocore.endpoint", "botocore.endpoint_provider", "botocore.handlers",
    "botocore.history", "botocore.hooks", "botocore.httpchecksum", "botocore.httpsession",
    "botocore.loaders", "botocore.monitoring", "botocore.paginate", "botocore.parsers", "botocore.plugin",
    "botocore.regions", "botocore.response", "botocore.retries.adaptive", "botocore.retries.special",
    "botocore.retries.standard", "botocore.retryhandler", "botocore.session", "botocore.tokens",
    "botocore.useragent", "botocore.utils", "botocore.waiter", "boto3", "boto3.resources.action",
    "boto3.resources.base", "boto3.resources.collection", "boto3.resources.factory", "boto3.resources.model",
    "urllib3", "urllib3.connection", "urllib3.connectionpool", "urllib3.poolmanager", "urllib3.response",
    "urllib3.util.retry",
)

# Whole messages that are signing material (botocore.auth).
_SIGNING_LINES = re.compile(r"^\s*(CanonicalRequest|StringToSign|Signature)\s*:", re.I)
# Request parameters that carry template data or addresses.
_DATA_MARKERS = ("TemplateData", "Destination", "ToAddresses")

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # 'Authorization': b'AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…'
    (re.compile(r"""(['"]?Authorization['"]?\s*[:=]\s*b?)(['"]).*?\2""", re.I), rf"\1\2{REDACTED}\2"),
    (re.compile(r"(Authorization\s*:\s*)[^\r\n]+", re.I), rf"\1{REDACTED}"),
    (re.compile(r"""(['"]?X-Amz-Security-Token['"]?\s*[:=]\s*b?)(['"]).*?\2""", re.I), rf"\1\2{REDACTED}\2"),
    (re.compile(r"((?:X-Amz-)?(?:Security-Token|Credential|Signature)=)[^&\s,'\"]+", re.I), rf"\1{REDACTED}"),
    (re.compile(r"(<(SecretAccessKey|SessionToken|SecretKey|AccessKeyId)>)[^<]*(</\2>)"), rf"\1{REDACTED}\3"),
    (re.compile(r"""(['"]?(?:SecretAccessKey|SessionToken|secretAccessKey|sessionToken|aws_secret_access_key|"""
                r"""aws_session_token|accessToken)['"]?\s*[:=]\s*b?)(['"])[^'"]*\2"""), rf"\1\2{REDACTED}\2"),
    # An access key id anywhere (long-term AKIA, temporary ASIA, and the other IAM prefixes).
    (re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA|A3T[A-Z0-9])[A-Z0-9]{12,}\b"),
     REDACTED),
)

_secrets: set[str] = set()
_lock = threading.Lock()
_done: set[str] = set()


def remember_secret(*values: str | None) -> None:
    """Redact these exact strings too (a secret key or token letterhead
    handed to boto3).  Short values are ignored: they would eat ordinary words."""
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= 8)


def redact_secrets(text: str) -> str:
    """``text`` with every credential-shaped value replaced by :data:`REDACTED`."""
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    for secret in tuple(_secrets):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class _Redactor(logging.Filter):
    """Rewrites a record's message; never drops the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:
            return True
        if _SIGNING_LINES.match(text):
            new = text.split(":", 1)[0].strip() + f": {REDACTED}"
        elif any(m in text for m in _DATA_MARKERS):
            head = re.split(r" with params|: <AWSPreparedRequest|\{", text, maxsplit=1)[0]
            new = redact_secrets(head.rstrip(": ")) + " [parameters withheld by letterhead: template data]"
        else:
            new = redact_secrets(text)
        if new != text:
            record.msg, record.args = new, None
        return True


_FILTER = _Redactor()


def _attach(names: Iterable[str]) -> None:
    for name in names:
        if name in _done:
            continue
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        _done.add(name)


def install_log_redaction() -> None:
    """Attach the filter to every botocore/boto3/urllib3/s3transfer logger.
    Idempotent; call it wherever a boto3 session or client is made."""
    with _lock:
        _attach(_KNOWN)
        existing = [n for n in list(logging.root.manager.loggerDict)
                    if n.split(".", 1)[0] in _PREFIXES]
        _attach(existing)


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


def domains(to: Any) -> str:
    """The recipients' domains, sorted and comma-joined (``-`` for none): what
    a log line may say of an address.  Never a local part."""
    items = [to] if isinstance(to, str) else list(to or ())
    found = sorted({t.rsplit("@", 1)[-1].lower() for t in items if isinstance(t, str) and "@" in t
                    and not _CONTROL.search(t)})
    return ",".join(found) or "-"

