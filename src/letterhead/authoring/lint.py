"""Lint a compiled template: what SES, mail clients and readers need.

Handlebars syntax (balanced blocks, supported constructs) and placeholder
integrity are enforced earlier, as errors, by :mod:`letterhead.sestemplate` and
:mod:`letterhead.authoring.protect`.  This module checks the finished product:

* SES limits: 500 KB per template.
* Each rendered sample under Gmail's ~102 KB clip (warning from 80 %).
* No toolchain leftovers: ``<mj-``, ``[[``, ``]]``, ``{{%20``.
* Images have alt text; link and image URLs are absolute http(s), mailto/tel,
  or placeholders; the text part carries every link URL of the HTML part.
* A preheader exists; ``lang`` is set.
* Every placeholder stands where its value can be made safe
  (:mod:`letterhead.authoring.contexts`): not in CSS, a script, a comment, an attribute
  name or an unquoted value, unless its declared type keeps it there.

Each finding has a rule ``code`` (:data:`RULES`, which also lists the rules of
``letterhead check``, :mod:`letterhead.check`: one registry, one configuration).  A project tunes a rule's
severity in ``[tool.letterhead.lint]`` of pyproject.toml, a template in the
``[lint]`` table of its template.toml (over the project's): ``"error"`` fails
the build, ``"warning"`` reports it, ``"off"`` drops it.  A configured
severity applies to every finding of its code.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..config import Config
from ..errors import ConfigError, LetterheadError, Location
from .compile import CompiledTemplate
from .payload import MAX_TEMPLATE_BYTES, SesTemplate, utf8_length

Severity = Literal["error", "warning"]
SEVERITIES = ("error", "warning", "off")  # what [tool.letterhead.lint] and template.toml's [lint] accept


@dataclass(frozen=True)
class Rule:
    code: str
    default: Severity  # some rules also report milder cases as warnings by default (see description)
    description: str
    tunable: bool = True  # False: the output would be broken or unsafe; always an error
    stage: Literal["build", "check"] = "build"  # applied by `letterhead build` or by `letterhead check`

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "default": self.default, "description": self.description,
                "tunable": self.tunable, "stage": self.stage}


RULES: dict[str, Rule] = {r.code: r for r in (
    Rule("context", "error", "a placeholder stands where its value cannot be made safe (CSS, script, comment, "
         "attribute name, unquoted value)", tunable=False),
    Rule("ses-size", "error", "the template exceeds SES's 500 KB limit", tunable=False),
    Rule("gmail-clip", "error", "a sample's HTML exceeds Gmail's clip limit (a warning from 80 %)"),
    Rule("leftover", "error", "MJML tags, Jinja delimiters, encoded placeholders or control characters "
         "survived compilation", tunable=False),
    Rule("img-alt", "error", "an image has no alt attribute (a warning when its alt text is empty)"),
    Rule("mjml-attribute", "warning", "an MJML attribute that MRML ignores"),
    Rule("lang", "error", "the HTML has no lang attribute"),
    Rule("preheader", "warning", "no preheader (mj-preview)"),
    Rule("url", "error", "a link or image URL is not absolute http(s), mailto:, tel: or a placeholder"),
    Rule("text-links", "error", "the text part lacks a link of the HTML part"),
    # `letterhead check` (letterhead.check): the rendered samples in mail clients, readers and filters.
    Rule("client-support", "warning", "CSS or HTML the designer wrote is not supported in a client of "
         "[tool.letterhead.check] clients (caniemail)", stage="check"),
    Rule("client-partial", "warning", "CSS or HTML the designer wrote is only partly supported in a client "
         "of [tool.letterhead.check] clients (caniemail's notes say how)", stage="check"),
    Rule("axe", "error", "an axe-core accessibility violation (a warning when its impact is minor or "
         "moderate)", stage="check"),
    Rule("layout-table", "warning", "a layout table without role=\"presentation\" (screen readers announce "
         "its rows and columns)", stage="check"),
    Rule("link-text", "warning", "a link whose text does not say where it goes (\"click here\", a bare URL)",
         stage="check"),
    Rule("contrast", "error", "text contrast against its background is below WCAG AA", stage="check"),
    Rule("dark-contrast", "error", "text becomes unreadable in dark mode (prefers-color-scheme or a client's "
         "forced inversion)", stage="check"),
    Rule("dark-logo", "error", "an image (a logo) vanishes against the dark-mode background", stage="check"),
    Rule("image-unchecked", "warning", "an image could not be loaded, so the dark-mode checks skipped it "
         "(map its URL to a file with [tool.letterhead.check] images)", stage="check"),
    Rule("spam", "error", "SpamAssassin scores a sample at or above the threshold (a warning from half of it)",
         stage="check"),
    Rule("https", "error", "a link or image is not https", stage="check"),
)}


def check_severities(table: Mapping[str, object], *, where: str, file: str,
                     lines: Mapping[str, int | None], error: type[LetterheadError] = ConfigError) -> dict[str, str]:
    """``table`` (rule code → severity, as written in ``where``, e.g.
    ``[tool.letterhead.lint]``) checked against :data:`RULES`: an unknown
    code or severity, or a rule that cannot be lowered, raises ``error``
    at the key's line in ``file``."""
    out: dict[str, str] = {}
    for code, value in table.items():
        at = Location.of(file, lines.get(code))
        if code not in RULES:
            near = difflib.get_close_matches(code, list(RULES), n=1)
            raise error(f"unknown lint rule {code!r} in {where}", location=at,
                        hint=(f"did you mean {near[0]!r}? " if near else "")
                        + "`letterhead lint --list` shows every rule")
        if not isinstance(value, str) or value not in SEVERITIES:
            near = difflib.get_close_matches(str(value), SEVERITIES, n=1)
            raise error(f"lint rule {code!r} in {where}: severity must be \"error\", \"warning\" or \"off\", "
                        f"not {value!r}", location=at,
                        hint=f"did you mean {near[0]!r}?" if near else f'{code} = "warning"')
        if value != "error" and not RULES[code].tunable:
            raise error(f"lint rule {code!r} cannot be set to {value!r} in {where}: "
                        f"{RULES[code].description}, which SES or readers cannot take", location=at,
                        hint="fix the template; this rule is always an error")
        out[code] = value
    return out


def project_severities(config: Config) -> dict[str, str]:
    """``[tool.letterhead.lint]``, checked (:class:`ConfigError` at the line of a mistake)."""
    settings = config.lint
    return check_severities(settings.severities, where="[tool.letterhead.lint]", file=settings.file,
                            lines=settings.lines)


def rule_severities(config: Config, template: Mapping[str, str]) -> dict[str, str]:
    """The configured severities for one template: its template.toml's
    ``[lint]`` (already checked when the source was read) over the project's."""
    return {**project_severities(config), **template}


def apply_severities(findings: Iterable[Finding], severities: Mapping[str, str]) -> list[Finding]:
    """``findings`` under the configured severities: ``off`` drops a finding,
    ``error``/``warning`` sets its severity; a code not configured keeps its default."""
    out: list[Finding] = []
    for f in findings:
        level = severities.get(f.code)
        if level == "off":
            continue
        if level in ("error", "warning") and level != f.severity:
            f = replace(f, severity="error" if level == "error" else "warning")
        out.append(f)
    return out


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str
    message: str
    location: Location
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.location}: {self.severity}: {self.message} [{self.code}]"
        return text + (f"\n  fix: {self.hint}" if self.hint else "")

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": self.location.path,
            "line": self.location.line,
            "hint": self.hint,
        }


# (Runs taken possessively: quoted values and the runs between them split a
# tag one way only.  Not `*+` on the group: Python 3.11.2's possessive group
# repeat matches tags that never end.)
_TAG_RE = re.compile(r"<(html|img|a|div)\b([^>\"']*+(?:(?:\"[^\"]*+\"|'[^']*+')[^>\"']*+)*)>", re.IGNORECASE)
_ATTR_RE = re.compile(r"([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'=<>`]+)))?")
_COMMENT_RE = re.compile(r"<!--[^-]*(?:-(?!->)[^-]*)*-->")  # <!--.*?-->, unrolled


class _Collector:
    """The few tags lint looks at.  A regex pass: html.parser costs ~5 ms on
    a 20 KB email, and this runs for every template on every build."""

    def __init__(self) -> None:
        self.images: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self.html_lang: str | None = None
        self.preheader = False

    def feed(self, html: str) -> None:
        for m in _TAG_RE.finditer(_COMMENT_RE.sub("", html) if "<!--" in html else html):
            tag = m.group(1).lower()
            raw = m.group(2)
            if tag == "div":  # most tags: parse attributes only for a hidden one
                if not self.preheader and "none" in raw and "display" in raw:
                    style = _attributes(raw).get("style") or ""
                    self.preheader = "display:none" in style.replace(" ", "")
                continue
            a = _attributes(raw)
            if tag == "html":
                self.html_lang = a.get("lang")
            elif tag == "img":
                self.images.append(a)
            elif a.get("href") is not None:  # tag == "a"
                self.links.append(a["href"] or "")


def _attributes(raw: str) -> dict[str, str | None]:
    """A tag's attributes (first of each name wins, as in browsers); None
    for an attribute without a value."""
    import html as htmllib

    a: dict[str, str | None] = {}
    for am in _ATTR_RE.finditer(raw):
        name = am.group(1).lower()
        if name in a:
            continue
        _, dq, sq, bare = am.groups()
        value = dq if dq is not None else sq if sq is not None else bare
        a[name] = (htmllib.unescape(value) if "&" in value else value) if value is not None else None
    return a


_URL_OK = re.compile(r"^(https?://|mailto:|tel:|\{\{)", re.IGNORECASE)
_CONTROL_CHARS = tuple(chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)))
# (literal that must occur, pattern, message, fix): the literal is looked for
# first (str's search is several times faster than the regex engine's).
_LEFTOVERS = (
    ("<mj-", re.compile(r"<mj-[a-z]"), "an MJML tag survived compilation", "close or spell the MJML tag correctly"),
    ("[[", re.compile(r"\[\["), "Jinja delimiters '[[' or ']]' survived", "balance [[ … ]] in the source"),
    ("]]", re.compile(r"\]\]"), "Jinja delimiters '[[' or ']]' survived", "balance [[ … ]] in the source"),
    ("{{%20", re.compile(r"\{\{%20"), "a placeholder was URL-encoded",
     "report this: letterhead should have protected it"),
    ("%7", re.compile(r"%7[Bb]%7[Bb]|%7[Dd]%7[Dd]"), "a placeholder was URL-encoded",
     "report this: letterhead should have protected it"),
    ("xlh", re.compile(r"xlh\d{6,}x"), "an internal marker or control character survived",
     "remove control characters from the source; otherwise report this"),
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def lint(
    compiled: CompiledTemplate,
    payload: SesTemplate,
    rendered_samples: Sequence[tuple[str, str]],
    *,
    mjml_source: str,
    mjml_path: str,
    gmail_clip_bytes: int = 102 * 1024,
    variables: Mapping[str, Any],
    severities: Mapping[str, str] | None = None,
) -> list[Finding]:
    """``rendered_samples`` is a list of (sample name, rendered HTML);
    ``severities`` (rule code → error/warning/off, checked by
    :func:`check_severities`; see :func:`rule_severities`) tunes the rules;
    ``variables`` the declared types of template.toml, which decide whether a
    placeholder may stand in CSS, a comment or an unquoted value (required:
    a caller that forgot them would skip that check; ``{}`` when none are
    declared)."""
    from .contexts import check

    findings: list[Finding] = [
        Finding("error", "context", problem.message, problem.location, problem.hint)
        for problem in check(compiled.contexts, variables)
    ]
    where = Location(mjml_path)

    def at(needle: str | None) -> Location:
        """The source line that mentions ``needle``, for findings about output."""
        if needle:
            i = mjml_source.find(needle)
            if i != -1:
                return Location(mjml_path, mjml_source.count("\n", 0, i) + 1)
        return where

    size = payload.size_bytes
    if size > MAX_TEMPLATE_BYTES:
        findings.append(Finding(
            "error", "ses-size",
            f"template is {size / 1024:.0f} KB; SES accepts at most 500 KB for all parts together",
            where, "move images to URLs, drop unused CSS, or split the email"))
    for sample, html in rendered_samples:
        n = utf8_length(html)
        pct = n / gmail_clip_bytes
        if pct > 1:
            findings.append(Finding(
                "error", "gmail-clip",
                f"sample '{sample}' renders to {n / 1024:.0f} KB of HTML; Gmail clips messages over "
                f"{gmail_clip_bytes // 1024} KB and hides the rest", where,
                "shorten loops ({{#each}}) or trim markup and CSS"))
        elif pct >= 0.8:
            findings.append(Finding(
                "warning", "gmail-clip",
                f"sample '{sample}' renders to {n / 1024:.0f} KB, {pct:.0%} of Gmail's clip limit", where,
                "keep an eye on loops: data at send time can push it over"))

    for part in ("subject", "html", "text"):
        body = compiled.part(part)
        seen: set[str] = set()
        for literal, rx, msg, hint in _LEFTOVERS:
            m = rx.search(body) if literal in body else None
            if m and msg not in seen:
                seen.add(msg)
                findings.append(Finding("error", "leftover", f"{part} part: {msg}: {m.group(0)!r}", where, hint))
        if any(c in body for c in _CONTROL_CHARS):  # str.find: ~3x faster than a class search
            m = _CONTROL_RE.search(body)
            assert m is not None
            findings.append(Finding(
                "error", "leftover", f"{part} part: an internal marker or control character survived: "
                f"{m.group(0)!r}", where, "remove control characters from the source; otherwise report this"))

    findings += _source_findings(mjml_source, mjml_path)
    c = _Collector()
    c.feed(compiled.html)
    if not c.html_lang or c.html_lang == "und":
        findings.append(Finding("error", "lang", "the HTML has no lang attribute", where,
                                'write <mjml lang="en"> or set lang in [tool.letterhead]'))
    if not c.preheader:
        findings.append(Finding("warning", "preheader", "no preheader (mj-preview)", where,
                                "add <mj-preview>…</mj-preview> in mj-head: inboxes show it after the subject"))
    for img in c.images:
        src = img.get("src") or ""
        if "alt" not in img or img.get("alt") is None:
            findings.append(Finding("error", "img-alt", f"image {src!r} has no alt attribute", at(src),
                                    'add alt="…" (alt="" only for purely decorative images)'))
        elif not (img.get("alt") or "").strip() and not _is_spacer(img):
            findings.append(Finding("warning", "img-alt", f"image {src!r} has empty alt text", at(src),
                                    "describe the image: many clients block images by default"))
        if src and not _URL_OK.match(src):
            findings.append(Finding("error", "url", f"image URL {src!r} is not absolute", at(src),
                                    "use an absolute https:// URL or a placeholder"))
    for href in c.links:
        if href.startswith("#"):
            continue
        if not _URL_OK.match(href):
            findings.append(Finding("error", "url", f"link {href!r} is not an absolute URL", at(href),
                                    "use an absolute https:// URL, mailto:, tel: or a placeholder"))
    missing = [h for h in _unique(c.links) if h and not h.startswith("#") and not _in_text(h, compiled.text)]
    for href in missing:
        findings.append(Finding(
            "error", "text-links", f"the text part lacks the link {href!r}",
            Location(mjml_path) if compiled.text_generated else Location(mjml_path.rsplit("/", 1)[0] + "/text.txt"),
            "add the URL to text.txt (as `label: url`)" if not compiled.text_generated
            else "report this: the generated text should carry every link"))
    return apply_severities(findings, severities) if severities else findings


@functools.lru_cache(maxsize=32)
def _source_findings(mjml_source: str, mjml_path: str) -> tuple[Finding, ...]:
    """What lint finds in template.mjml as written: the same for every locale
    of a template (a pure function of its arguments, so each template's
    source is read once however many variants it has)."""
    findings: list[Finding] = []
    # MRML (like MJML) writes alt="" for an mj-image without alt, so "no alt
    # at all" is only visible in the source.
    for m in re.finditer(r"<mj-image\b([^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*)>", mjml_source):
        if not re.search(r"\balt\s*=", m.group(1)):
            src_m = re.search(r"\bsrc\s*=\s*[\"']([^\"']*)", m.group(1))
            findings.append(Finding(
                "error", "img-alt", f"mj-image {src_m.group(1) if src_m else ''!r} has no alt attribute",
                Location(mjml_path, mjml_source.count("\n", 0, m.start()) + 1),
                'add alt="…" (alt="" only for purely decorative images)'))
    from .mjml_fixes import unsupported_attributes

    for offset, tag, attr in unsupported_attributes(mjml_source):
        findings.append(Finding(
            "warning", "mjml-attribute", f"<{tag} {attr}=…> has no effect: MRML ignores this attribute",
            Location(mjml_path, mjml_source.count("\n", 0, offset) + 1),
            "style it another way (css-class and mj-style), or drop the attribute"))
    return tuple(findings)


def _in_text(href: str, text: str) -> bool:
    """A mailto:/tel: link is carried by its bare address too."""
    if href in text:
        return True
    for scheme in ("mailto:", "tel:"):
        if href.lower().startswith(scheme):
            return href[len(scheme):].split("?")[0] in text
    return False


def _is_spacer(img: dict[str, str | None]) -> bool:
    return (img.get("role") or "") == "presentation"


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for i in items:
        seen.setdefault(i, None)
    return list(seen)
