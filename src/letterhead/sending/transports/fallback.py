"""SES with SMTP behind it: the second transport only when the first says
SES is unreachable or sending is paused (``SendError.fallback``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from ...errors import SendError
from .base import Outcome, OutgoingMessage, Transport

log = logging.getLogger("letterhead.send")


class FallbackTransport(Transport):
    """``primary`` first; ``secondary`` only for what the primary could not
    send because SES is unreachable or sending is paused
    (``SendError.fallback``).  A message SES rejected, a missing template, a
    quota or an unknown outcome never goes to the secondary."""

    renders_locally = True

    def __init__(self, primary: Transport, secondary: Transport) -> None:
        self.primary = primary
        self.secondary = secondary
        self.name = f"{primary.name}+{secondary.name}"
        # Headers only when both deliver them: a message must not lose List-Unsubscribe on the way it took.
        self.sends_headers = primary.sends_headers and secondary.sends_headers
        self.max_batch = min(primary.max_batch, secondary.max_batch)
        self.fallbacks = 0  # messages handed to the secondary
        self._lock = threading.Lock()

    def _note(self, exc: SendError, count: int) -> None:
        with self._lock:
            self.fallbacks += count
        log.warning("send fallback from=%s to=%s reason=%s messages=%d", self.primary.name,
                    self.secondary.name, type(exc).__name__, count)

    def send(self, message: OutgoingMessage) -> str:
        try:
            return self.primary.send(message)
        except SendError as exc:
            if not exc.fallback:
                raise
            self._note(exc, 1)
            return self.secondary.send(message)

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[Outcome]:
        try:
            outcomes = self.primary.send_batch(messages)
        except SendError as exc:
            if not exc.fallback:
                raise
            self._note(exc, len(messages))
            return self.secondary.send_batch(messages)
        redo = [i for i, o in enumerate(outcomes) if o.error is not None and o.error.fallback]
        if redo:
            self._note(outcomes[redo[0]].error, len(redo))  # type: ignore[arg-type]
            try:
                again = self.secondary.send_batch([outcomes[i].message for i in redo])
            except SendError as exc:
                again = [Outcome(outcomes[i].message, error=exc, transport=self.secondary.name) for i in redo]
            for i, o in zip(redo, again, strict=True):
                outcomes[i] = o
        return outcomes

    def close(self) -> None:
        self.primary.close()
        self.secondary.close()
