"""Verification codes: an example of sending a secret safely.

    code = new_code()                        # "048213": six digits, from `secrets`
    expires = expires_at()                   # now + 10 minutes (UTC)
    store_hash(user, code, expires)          # keep a hash, never the code in a log
    mailer.send("email_verification", user.email,
                {"code": code, "email": user.email, "expires_at": expiry_text(expires)})

A template that says "valid for 10 minutes, until 14:32 UTC" should say the
same ten minutes as ``VALID_FOR``.  letterhead never logs template data, and
its errors name a variable, never its value.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta

CODE_DIGITS = 6
VALID_FOR = timedelta(minutes=10)


def new_code() -> str:
    """Six random digits as a string; a leading zero stays (``"048213"``)."""
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def expires_at(now: datetime | None = None) -> datetime:
    """When a code made ``now`` stops working (timezone-aware UTC)."""
    return (now or datetime.now(UTC)) + VALID_FOR


def expiry_text(expires: datetime) -> str:
    """The expiry as the email shows it: ``"14:32 UTC"``."""
    return expires.astimezone(UTC).strftime("%H:%M UTC")


def is_valid(entered: str, code: str, expires: datetime, now: datetime | None = None) -> bool:
    """True when ``entered`` is ``code`` and it has not expired (constant-time compare)."""
    if (now or datetime.now(UTC)) >= expires:
        return False
    return hmac.compare_digest(entered.strip().encode(), code.encode())
