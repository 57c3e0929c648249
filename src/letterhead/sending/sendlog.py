"""One structured log line per send (logger ``letterhead.send``): the
template, the locale of the variant sent (in a project with locales), the
status, the transport, the message id and the recipients' domains; never
the data, never a local part."""

from __future__ import annotations

import logging
from typing import Any

from ..aws.redact import domains
from ..errors import LetterheadError

log = logging.getLogger("letterhead.send")

SENT, INVALID, FAILED, UNKNOWN, SKIPPED = "sent", "invalid", "failed", "unknown", "skipped"
SUPPRESSED = "suppressed"  # the recipient is on the suppression list: refused before the transport


def log_send(template: str, status: str, to: Any, *, message_id: str | None = None,
             error: LetterheadError | None = None, transport: str | None = None, attempts: int | None = None,
             index: int | None = None, locale: str | None = None) -> None:
    """One structured line per send.  The fields are also on the record as
    ``record.letterhead`` for JSON log handlers.  No data, no local parts.
    ``template`` is the logical name; ``locale`` the variant's (left out
    when None: a project without locales logs what it always logged)."""
    fields: dict[str, Any] = {"template": template}
    if locale is not None:
        fields["locale"] = locale
    fields.update({"status": status, "transport": transport, "message_id": message_id,
                   "recipient_domain": domains(to)})
    if index is not None:
        fields["index"] = index
    if attempts is not None:
        fields["attempts"] = attempts
    if error is not None:
        fields["error"] = type(error).__name__
        variable = getattr(error, "variable", None)
        if variable:
            fields["variable"] = variable
        code = getattr(error, "code", None)
        if code:
            fields["code"] = code
    line = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
    level = logging.INFO if status == SENT else logging.WARNING
    log.log(level, "send %s", line, extra={"letterhead": fields})
