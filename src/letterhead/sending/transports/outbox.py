"""Keep messages in memory and, given a folder, write each as an ``.eml``
file (development and tests)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from .base import OutgoingMessage, Transport
from .mime import bare_id, build_mime


@dataclass(frozen=True)
class OutboxMessage:
    """A message the outbox kept: what SES would have been sent
    (``template_data``, ``headers``) and what the recipient would read
    (``subject``, ``html``, ``text``, ``mime``: its custom headers included)."""

    message_id: str
    template: str
    template_name: str
    source: str
    to: tuple[str, ...]
    reply_to: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]
    configuration_set: str | None
    template_data: Mapping[str, Any] = field(repr=False)
    subject: str = field(repr=False)
    html: str = field(repr=False)
    text: str = field(repr=False)
    mime: EmailMessage = field(repr=False)
    path: Path | None = None
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # tokens: kept out of reprs


class OutboxTransport(Transport):
    """Keeps every message in ``messages`` (thread-safe) and, given a
    ``folder``, writes each as ``<date>-<time>-<n>-<template>-<id>.eml`` there."""

    name = "outbox"
    renders_locally = True
    sends_headers = True

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.messages: list[OutboxMessage] = []
        self._lock = threading.Lock()
        self._count = 0

    def send(self, message: OutgoingMessage) -> str:
        mime = build_mime(message)
        message_id = bare_id(mime["Message-ID"])
        path = None
        with self._lock:
            self._count += 1
            n = self._count
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            local = re.sub(r"[^A-Za-z0-9._-]", "_", message_id.split("@", 1)[0])
            stamp = time.strftime("%Y%m%d-%H%M%S")  # sorts across runs; the id keeps names unique
            path = self.folder / f"{stamp}-{n:04d}-{message.template}-{local}.eml"
            tmp = path.with_suffix(".eml.tmp")
            tmp.write_bytes(mime.as_bytes())
            tmp.replace(path)
        parts = message.parts or {}
        kept = OutboxMessage(message_id, message.template, message.template_name, message.source, message.to,
                             message.reply_to, message.tags, message.configuration_set,
                             json.loads(message.template_data), parts.get("subject", ""), parts.get("html", ""),
                             parts.get("text", ""), mime, path, message.headers)
        with self._lock:
            self.messages.append(kept)
        return message_id

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
