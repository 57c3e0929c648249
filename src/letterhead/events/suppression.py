"""Where suppressed addresses live (issue 16).

In: addresses and the events that suppress them.  Out: answers to "may I
send to this address?".  :class:`SuppressionStore` is the interface an
application implements for its own database; letterhead ships
:class:`SqliteSuppressions` (the default, a local file) and
:class:`SesSuppressions` (SES's account-level suppression list, v2 API).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from .model import Suppression, SuppressionReason


@runtime_checkable
class SuppressionStore(Protocol):
    """The four calls letterhead makes.  Addresses are compared lower-cased;
    ``add`` of an address already there keeps the first entry (idempotent:
    SNS and SQS deliver at least once)."""

    def get(self, address: str) -> Suppression | None: ...

    def add(self, address: str, reason: SuppressionReason, *, message_id: str | None = None,
            detail: str | None = None) -> Suppression: ...

    def remove(self, address: str) -> bool: ...

    def __iter__(self) -> Iterator[Suppression]: ...
