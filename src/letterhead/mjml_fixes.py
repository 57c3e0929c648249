"""Where MRML (mjml-python) and the official MJML compiler disagree, fix it here.

Each fix names the difference it corrects and has a regression case in
``tests/test_mjml_fidelity.py``.  ``before_mrml`` rewrites MJML source,
``after_mrml`` rewrites MRML's HTML.
"""

from __future__ import annotations

import re

_UNITLESS_ZERO = re.compile(r'(\bpadding(?:-[a-z]+)?\s*=\s*")([^"]*)(")')


def _zero_px(match: re.Match[str]) -> str:
    # MRML's width arithmetic breaks on a unitless 0 ("0 50px"); MJML treats it as 0px.
    values = " ".join("0px" if v == "0" else v for v in match.group(2).split())
    return f"{match.group(1)}{values}{match.group(3)}"


def before_mrml(mjml: str) -> str:
    return _UNITLESS_ZERO.sub(_zero_px, mjml)


def after_mrml(html: str) -> str:
    return html
