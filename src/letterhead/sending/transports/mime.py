"""The MIME message SES would deliver, built locally (for the transports
that render themselves: SMTP and the outbox)."""

from __future__ import annotations

from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import Policy
from email.utils import formatdate, make_msgid, parseaddr

from ...config import check_sender_name
from .base import OutgoingMessage, check_wire_headers


def build_mime(message: OutgoingMessage, *, message_id: str | None = None,
               date: str | None = None) -> EmailMessage:
    """The message SES would deliver, built locally: multipart/alternative
    with the text part first (mail readers show the last one they can), and
    the message's custom headers (``List-Unsubscribe``...) as SES v2 adds
    them.  A custom header that is no header (a line break, too long, a name
    the message already carries) raises :class:`~letterhead.errors.SendError`."""
    parts = message.parts
    if parts is None:
        raise ValueError("this transport needs the rendered parts (OutgoingMessage.parts)")
    check_wire_headers(message.headers, "MIME", message.template_name)
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
    for name, value in message.headers:  # checked above: one line of printable ASCII, no name set here
        mime[name] = VerbatimHeader(name, value)
    text, html = parts.get("text", ""), parts.get("html", "")
    if text or not html:
        mime.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
        if html:
            mime.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    else:
        mime.set_content(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return mime


class VerbatimHeader(str):
    """A custom header's value, written as given and folded only at its
    spaces.  The email package would write a long URL (a ``List-Unsubscribe``
    with a token) as RFC 2047 encoded words, ``=?utf-8?q?=3Chttps=3A...``,
    which no mail client reads as a link: SES writes it as is, so must the
    SMTP transport.  (A header object: the policy asks it to ``fold``.)"""

    name: str

    def __new__(cls, name: str, value: str) -> VerbatimHeader:
        self = super().__new__(cls, value)
        self.name = name
        return self

    def fold(self, *, policy: Policy) -> str:
        width = policy.max_line_length or 78
        lines = [f"{self.name}:"]
        words = 0  # on the current line; the first line keeps its first word, however long (no break after ':')
        for word in str(self).split(" "):
            piece = f" {word}"
            if word and words and len(lines[-1]) + len(piece) > width:
                lines.append(piece)  # the break goes before a space: unfolding gives the value back
                words = 1
            else:
                lines[-1] += piece
                words += bool(word)
        return policy.linesep.join(lines) + policy.linesep


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
