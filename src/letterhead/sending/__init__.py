"""letterhead.sending: the application's side of the data flow, app data →
checked messages → SES (or SMTP, or an outbox).

In: ``ses_templates/`` (the payloads and ``manifest.json`` with each
template's contract), the :class:`~letterhead.config.Config` (sender,
region, ``[tool.letterhead.send]``), the deployment's
:class:`~letterhead.deploy.naming.Namespace` (the names SES stores the
templates under), and the application's data.  Out: message ids, a
:class:`RecipientStatus` per recipient of a bulk send, one log line per send
(logger ``letterhead.send``).  Everything it raises on purpose is a
:class:`LetterheadError` (exported here): refused data as
:class:`~letterhead.errors.DataError` or :class:`~letterhead.errors.RenderError`,
settings as :class:`~letterhead.errors.ConfigError`, failed sends as
:class:`~letterhead.errors.SendError` subclasses.

Modules:

* :mod:`~letterhead.sending.mailer`: :class:`Mailer` (check, then send one or
  many; a template's headers rendered per recipient), header checks;
* :mod:`~letterhead.sending.catalog`: which stored template a send uses (the
  template catalog, the locale variant a recipient's locale picks, the
  deployed name) and the :class:`SendReceipt` a send returns;
* :mod:`~letterhead.sending.bulk`: bulk sends (``BulkSend``: batch, retry,
  settle) and their statuses (``Recipient``, ``RecipientStatus``, ``BulkResult``);
* :mod:`~letterhead.sending.sendlog`: the one structured log line per send;
* :mod:`~letterhead.sending.transports`: where a checked message goes (``base``,
  ``ses`` (SES v1), ``sesv2`` (SES v2: templates with headers), ``mime``,
  ``smtp``, ``outbox``, ``fallback``; ``factory``: ``make_transport`` by name);
* :mod:`~letterhead.sending.codes`: verification codes, an example of sending a secret.

The names below are imported on first use: importing the package loads nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "BulkResult": "letterhead.sending.bulk",
    "LetterheadError": "letterhead.errors",
    "Recipient": "letterhead.sending.bulk",
    "RecipientStatus": "letterhead.sending.bulk",
    "SendReceipt": "letterhead.sending.catalog",
    "Mailer": "letterhead.sending.mailer",
    "make_transport": "letterhead.sending.mailer",
    "OutboxTransport": "letterhead.sending.transports",
}

__all__ = ["BulkResult", "LetterheadError", "Mailer", "OutboxTransport", "Recipient", "RecipientStatus",
           "SendReceipt", "make_transport"]

if TYPE_CHECKING:  # pragma: no cover
    from ..errors import LetterheadError
    from .bulk import BulkResult, Recipient, RecipientStatus
    from .catalog import SendReceipt
    from .mailer import Mailer, make_transport
    from .transports import OutboxTransport


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'letterhead.sending' has no attribute {name!r}")
