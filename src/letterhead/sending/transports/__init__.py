"""Where a checked message goes: SES (the default; its v1 or v2 API), SMTP
(the migration fallback), an outbox (development and tests), or SES with
SMTP behind it.

The sender (:mod:`letterhead.sending.mailer`) hands every transport the same
:class:`OutgoingMessage`: data already checked against the template's
contract, TemplateData already prepared (the ``_html`` copy), header values
already refused if they hold a line break.  A transport only delivers:

* :class:`SesTransport` calls ``send_templated_email`` /
  ``send_bulk_templated_email``; SES renders.  It paces every attempt with one
  :class:`~letterhead.aws.ratelimit.RateLimiter` (the account's MaxSendRate, from
  the configuration or ``get_send_quota``), retries Throttling with jittered
  exponential backoff, and turns AWS errors into typed
  :class:`~letterhead.errors.SendError` subclasses carrying the fix.
* :class:`SesV2Transport` is the same over SES v2 (``send_email`` with
  ``Content.Template``, ``send_bulk_email``): it also sends the message's
  custom headers (``OutgoingMessage.headers``: ``List-Unsubscribe``...), which
  v1 cannot.  The stored templates are the same for both APIs.
* :class:`SmtpTransport` renders locally with the SES-faithful renderer (the
  parts come rendered in the message) into multipart/alternative and sends
  with :mod:`smtplib`; the custom headers go into the MIME message.
* :class:`OutboxTransport` keeps messages in memory and, given a folder,
  writes each as an ``.eml`` file.
* :class:`FallbackTransport` tries the first and uses the second only when the
  first says SES is unreachable or sending is paused (``SendError.fallback``);
  never for bad input, which never reaches a transport.

Never sent twice: botocore's own retries are off for sends.  letterhead
retries only answers that prove nothing was sent (Throttling, 503, a
connection that was never made); a read timeout, a dropped connection or an
internal error may have sent the message, so it becomes
:class:`~letterhead.errors.DeliveryUnknown` and is not retried or handed to
the fallback.

In: :class:`OutgoingMessage` (from :mod:`letterhead.sending.mailer`).  Out: a
message id, or one :class:`Outcome` per message of a batch; failures as
:class:`~letterhead.errors.SendError` subclasses.

Headers: a transport says whether it delivers them (``Transport.sends_headers``:
SES v2, SMTP, the outbox; not SES v1); the Mailer refuses a message with
headers for one that does not, before anything is sent.  Every transport
that sends them checks them once more at its boundary
(:func:`check_wire_headers`: SES v2's limits, no CR/LF).

Modules: ``base`` (the message, the outcome, the backoff, the header check,
the ``Transport`` interface), ``ses``, ``sesv2``, ``mime`` (the local MIME
message), ``smtp``, ``outbox``, ``fallback``, ``factory`` (a transport by
name and SES API).  Importing the package loads them all (none is heavy:
boto3 is imported when an SES client is first made).
"""

from ...aws.errors import redact_addresses as redact
from ...aws.errors import ses_error
from ...aws.quota import SendQuota
from .base import MAX_DESTINATIONS, MAX_HEADERS, Backoff, Outcome, OutgoingMessage, Transport, check_wire_headers
from .factory import API_ENV, TRANSPORTS, make_transport, session_credentials, transport_for_api
from .fallback import FallbackTransport
from .mime import build_mime, sender_address
from .outbox import OutboxMessage, OutboxTransport
from .ses import (
    DEFAULT_BURST_SECONDS,
    DEFAULT_CONNECT_ATTEMPTS,
    DEFAULT_MAX_ATTEMPTS,
    RETRYABLE_STATUSES,
    SANDBOX_RATE,
    SesTransport,
    make_client,
)
from .sesv2 import V2_STATUSES, SesV2Transport, make_v2_client
from .smtp import SmtpTransport

__all__ = [
    "API_ENV",
    "DEFAULT_BURST_SECONDS",
    "DEFAULT_CONNECT_ATTEMPTS",
    "DEFAULT_MAX_ATTEMPTS",
    "MAX_DESTINATIONS",
    "MAX_HEADERS",
    "RETRYABLE_STATUSES",
    "SANDBOX_RATE",
    "TRANSPORTS",
    "V2_STATUSES",
    "Backoff",
    "FallbackTransport",
    "OutboxMessage",
    "OutboxTransport",
    "Outcome",
    "OutgoingMessage",
    "SendQuota",
    "SesTransport",
    "SesV2Transport",
    "SmtpTransport",
    "Transport",
    "build_mime",
    "check_wire_headers",
    "make_client",
    "make_transport",
    "make_v2_client",
    "redact",
    "sender_address",
    "ses_error",
    "session_credentials",
    "transport_for_api",
]
