"""CSS inlining: copy the ``mj-style inline="inline"`` rules onto elements.

MRML emits ``mj-style inline="inline"`` as a plain ``<style>`` (the notes), so
letterhead lifts those rules out of the MJML before MRML runs and inlines them
here.  Only those rules are inlined: MRML's own head styles (media queries,
``!important`` for mobile) must stay in ``<style>`` for responsive layouts.

css-inline is the default (≈10× faster than premailer and it leaves
placeholders alone).  premailer is kept as an option the team asked for; it is
made offline (no font or ``@import`` fetches), keeps ``!important`` and the
doctype, and is quietened.  Placeholders reach both inliners as opaque tokens
(see :mod:`letterhead.authoring.protect`), so neither can mangle them.
"""

from __future__ import annotations

import functools
import re
from typing import Literal

import css_inline

from ..config import INLINERS
from ..errors import ConfigError

Inliner = Literal["css-inline", "premailer"]

_INLINE_STYLE_RE = re.compile(
    r"<mj-style\b[^>]*\binline\s*=\s*([\"'])inline\1[^>]*>(.*?)</mj-style\s*>",
    re.DOTALL | re.IGNORECASE,
)


def extract_inline_css(mjml: str) -> tuple[str, str]:
    """Remove ``<mj-style inline="inline">`` blocks; return (mjml, their css).

    The block is blanked, not cut (spaces, newlines kept), so offsets and
    line numbers of the rest of the document hold."""
    css: list[str] = []

    def take(m: re.Match[str]) -> str:
        css.append(m.group(2))
        return "\n".join(" " * len(line) for line in m.group(0).split("\n"))

    return _INLINE_STYLE_RE.sub(take, mjml), "\n".join(css)


def inline_css(html: str, css: str, inliner: Inliner = "css-inline") -> str:
    if not css.strip():
        return html
    if inliner == "css-inline":
        return _css_inliner(css).inline(html)
    if inliner == "premailer":
        return _premailer(html, css)
    raise ConfigError(
        f"unknown inliner {inliner!r}",
        hint=f"set [tool.letterhead] inliner to one of {', '.join(INLINERS)}",
    )


@functools.lru_cache(maxsize=64)
def _css_inliner(css: str) -> css_inline.CSSInliner:
    # One inliner per stylesheet: templates sharing a layout share its rules.
    return css_inline.CSSInliner(
        inline_style_tags=False,
        keep_style_tags=True,
        keep_link_tags=True,
        load_remote_stylesheets=False,
        extra_css=css,
    )


def _premailer(html: str, css: str) -> str:
    import logging

    try:
        import premailer
    except ImportError:  # pragma: no cover - depends on the install
        raise ConfigError(
            "inliner 'premailer' is not installed",
            hint="pip install 'letterhead[premailer]' or use inliner = 'css-inline'",
        ) from None
    logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)
    doctype = re.match(r"\s*<!doctype[^>]*>", html, re.IGNORECASE)
    out: str = premailer.Premailer(
        html,
        css_text=css,
        exclude_pseudoclasses=True,
        keep_style_tags=True,
        strip_important=False,  # MRML's mobile rules rely on !important
        disable_validation=True,
        allow_network=False,
        allow_loading_external_files=False,
        remove_classes=False,
        cssutils_logging_level=logging.CRITICAL,
        disable_leftover_css=False,
    ).transform()
    if doctype and not re.match(r"\s*<!doctype", out, re.IGNORECASE):
        out = doctype.group(0).strip() + out  # premailer drops the doctype
    return out
