"""The outbox of ``letterhead dev``: what the local SES received, a page at a time.

In: :class:`~letterhead.dev.localses.Delivery` records, oldest first (the dev
server keeps one per sent message).  Out: the outbox page
(:func:`outbox_page`) and the JSON its script and the API read: a page of
summaries (:func:`outbox_listing`), one message's body (:func:`message_body`).

A page lists :data:`PER_PAGE` messages, newest first: each one's envelope,
the headers an SES v2 send adds (``List-Unsubscribe``...: what the recipient
gets), subject and whether SES would have delivered it (and why not).  It never
holds a body: the HTML part, the text part and the TemplateData are fetched
when the developer opens them (``/api/outbox/{id}``).  Embedding every body
made the page 8.5 MB after 300 sends.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..authoring.contexts import URL_DATA_KEY
from ..authoring.safety import HTML_DATA_KEY
from .localses import Delivery
from .preview import Site, error_view, render_page

__all__ = ["PER_PAGE", "OutboxPage", "message_body", "message_summary", "outbox_listing", "outbox_page", "paginate"]

PER_PAGE = 50
_LIVE = Site(live=True)  # the outbox exists only on the dev server


@dataclass(frozen=True)
class OutboxPage:
    """One page of the outbox: ``items`` newest first."""

    items: tuple[Delivery, ...]
    page: int  # 1: the newest messages
    pages: int
    total: int
    per_page: int

    @property
    def first_number(self) -> int:
        """The number of the page's first (newest) message; the oldest is 1."""
        return self.total - (self.page - 1) * self.per_page

    @property
    def newer(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def older(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


def paginate(deliveries: Sequence[Delivery], page: Any = 1, per_page: int = PER_PAGE) -> OutboxPage:
    """Page ``page`` (1-based; anything else, or out of range, is clamped)
    of ``deliveries`` (oldest first), newest first."""
    total = len(deliveries)
    pages = max(1, math.ceil(total / per_page))
    try:
        number = int(page)
    except (TypeError, ValueError):
        number = 1
    number = min(max(1, number), pages)
    end = total - (number - 1) * per_page
    items = tuple(reversed(deliveries[max(0, end - per_page):end]))
    return OutboxPage(items, number, pages, total, per_page)


def message_summary(d: Delivery) -> dict[str, Any]:
    """What the list shows of one message: no body.  ``headers``: the ones
    the send added, in order, as ``{"name", "value"}``."""
    m = d.message
    parts = d.parts or {}
    return {
        "id": m.id,
        "kind": m.kind,
        "api": m.api,
        "call": m.call,
        "source": m.source,
        "to": ", ".join(m.to),
        "cc": ", ".join(m.cc),
        "bcc": ", ".join(m.bcc),
        "reply_to": ", ".join(m.reply_to),
        "headers": [{"name": n, "value": v} for n, v in m.headers],
        "template": m.template,
        "delivered": d.delivered,
        "problem": d.problem,
        "error": error_view(d.error, part=d.part) if d.error else None,
        "warnings": list(d.warnings),
        "subject": parts.get("subject", ""),
        "has_html": d.delivered and bool(parts.get("html")),
        "has_text": d.delivered and bool(parts.get("text")),
        "has_data": m.template_data is not None,
    }


def _without_url_copies(value: Any) -> Any:
    """Sent data as the application wrote it: prepare_data's percent-encoded
    ``_url`` copies repeat values too."""
    if isinstance(value, dict):
        return {k: _without_url_copies(v) for k, v in value.items() if k != URL_DATA_KEY}
    if isinstance(value, list):
        return [_without_url_copies(v) for v in value]
    return value


def message_body(d: Delivery) -> dict[str, Any]:
    """One message in full: its summary, the parts as recipients get them,
    and the TemplateData as sent (without prepare_data's escaped and encoded
    copies, which repeat every value: ``has_html_copy`` says they were there)."""
    m = d.message
    parts = d.parts or {}
    data_text = None
    has_html_copy = False
    if m.template_data is not None:
        try:
            data = json.loads(m.template_data)
        except ValueError:
            data_text = m.template_data
        else:
            if isinstance(data, dict) and HTML_DATA_KEY in data:
                has_html_copy = True
                data = _without_url_copies({k: v for k, v in data.items() if k != HTML_DATA_KEY})
            data_text = json.dumps(data, indent=2, ensure_ascii=False)
    return {
        **message_summary(d),
        "html": parts.get("html", "") if d.delivered else "",
        "text": parts.get("text", "") if d.delivered else "",
        "data_text": data_text,
        "has_html_copy": has_html_copy,
    }


def outbox_listing(paged: OutboxPage) -> dict[str, Any]:
    """``GET /api/outbox``: one page of summaries."""
    return {"total": paged.total, "page": paged.page, "pages": paged.pages, "per_page": paged.per_page,
            "messages": [message_summary(d) for d in paged.items]}


def outbox_page(paged: OutboxPage, *, site: Site = _LIVE, endpoint_url: str | None = None,
                region: str | None = None, senders: Sequence[str] = (), templates: Sequence[str] = (),
                ses_error: str | None = None, disabled: bool = False) -> str:
    """The outbox page; on the first page the newest delivered message's
    HTML part starts open (the script loads it)."""
    items = []
    first_delivered = paged.page == 1
    for d in paged.items:
        item = message_summary(d)
        item["open_html"] = first_delivered and item["has_html"]
        first_delivered = first_delivered and not item["open_html"]
        items.append(item)
    env_lines = []
    if endpoint_url:
        env_lines = [f"AWS_ENDPOINT_URL_SES={endpoint_url}", f"AWS_ENDPOINT_URL_SESV2={endpoint_url}",
                     f"AWS_REGION={region or 'us-east-1'}",
                     "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local"]
    return render_page("outbox.html", site, page="outbox", title="Outbox · letterhead preview", items=items,
                       paged=paged, endpoint_url=endpoint_url, region=region, senders=list(senders),
                       templates=list(templates), env_lines=env_lines, ses_error=ses_error, disabled=disabled)
