"""The MIME message SES would deliver, built locally (for the transports
that render themselves: SMTP and the outbox)."""

from __future__ import annotations

from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid, parseaddr

from ...config import check_sender_name
from .base import OutgoingMessage


def build_mime(message: OutgoingMessage, *, message_id: str | None = None,
               date: str | None = None) -> EmailMessage:
    """The message SES would deliver, built locally: multipart/alternative
    with the text part first (mail readers show the last one they can)."""
    parts = message.parts
    if parts is None:
        raise ValueError("this transport needs the rendered parts (OutgoingMessage.parts)")
    mime = EmailMessage(policy=SMTP_POLICY)
    # The email package refuses CR/LF in header values too: a second lock on that door.
    mime["From"] = sender_address(message.source)
    mime["To"] = ", ".join(message.to)
    if message.reply_to:
        mime["Reply-To"] = ", ".join(message.reply_to)
    mime["Subject"] = parts["subject"]
    mime["Date"] = date or formatdate(usegmt=True)
    mime["Message-ID"] = message_id or make_msgid(domain=message.sender_domain or None)
    mime["MIME-Version"] = "1.0"
    if message.configuration_set:  # honoured when the relay is SES's SMTP interface
        mime["X-SES-CONFIGURATION-SET"] = message.configuration_set
    if message.tags:
        mime["X-SES-MESSAGE-TAGS"] = ", ".join(f"{k}={v}" for k, v in message.tags)
    text, html = parts.get("text", ""), parts.get("html", "")
    if text or not html:
        mime.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
        if html:
            mime.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    else:
        mime.set_content(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return mime


def sender_address(source: str) -> Address:
    """SES's ``Source`` string → the From address, structured.

    ``source`` is what SES receives (:func:`letterhead.sending.mailer.format_source`:
    a non-ASCII name as RFC 2047 encoded words).  Handing that text to the
    email package as a header value lets it decode the words and re-parse the
    result as addresses: ``Zoë <boss@bank.example>`` became a second address,
    the one mail software shows.  An :class:`~email.headerregistry.Address`
    keeps the name a name: the policy quotes or encodes it, and folds the line.
    The decoded name passes the same check as ``SES_SENDER_NAME``.
    """
    name, addr = parseaddr(source)
    if name:
        name = str(make_header(decode_header(name)))
    return Address(display_name=check_sender_name(name) or "", addr_spec=addr)


def bare_id(header: str) -> str:
    return header.strip().lstrip("<").rstrip(">")
