"""Client support: the CSS and HTML the designer wrote, against caniemail.

Only what the designer wrote is judged, never the markup MJML emits with its
own fallbacks: the CSS of ``<mj-style>`` (for ``inline="inline"`` only the
declarations, which reach the client in style attributes), the HTML inside
the components whose content is HTML (mj-text, mj-raw, mj-button, mj-table,
mj-navbar-link, mj-accordion-*...) with its ``style`` attributes and
``<style>`` elements, and the format of the images the designer chose.  MJML
components' own attributes (``border-radius`` on mj-button...) are MJML's
business and are skipped.

The data set is caniemail's (``data/caniemail.json``, MIT, see
``data/README.md``); :mod:`.css_features` maps what was written to its
features.  For each client platform a feature is supported ("y" in every
tested version), unsupported ("n" in every one) or partial (an "a" anywhere,
or mixed results); a platform without data for a feature is not reported.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from ..authoring.mjml import Context, scan
from ..authoring.mjml_layout import ENDING_TAGS
from ..errors import ConfigError, Location
from .css_features import FeatureIndex, Hit, css_hits, html_hits
from .model import CheckFinding

DATA_FILE = Path(__file__).parent / "data" / "caniemail.json"
DEFAULT_CLIENTS: tuple[str, ...] = ("gmail", "outlook/windows", "apple-mail", "yahoo")
CODE = "client-support"  # unsupported in a listed client
PARTIAL = "client-partial"  # only partly supported there

Support = Literal["supported", "partial", "unsupported"]


@dataclass(frozen=True)
class Client:
    """A client family and, optionally, one of its platforms
    (``Client("outlook", "windows", "Outlook Windows")``); no platform: every
    platform of the family that caniemail tested."""

    family: str
    platform: str | None
    label: str

    def __str__(self) -> str:
        return f"{self.family}/{self.platform}" if self.platform else self.family


@dataclass(frozen=True)
class Feature:
    slug: str
    title: str
    url: str
    stats: Mapping[str, Mapping[str, Mapping[str, str]]]  # family → platform → version → "y"/"n"/"a #1"/"u"
    notes_by_num: Mapping[str, str]
    notes: str = ""


@dataclass(frozen=True)
class CanIEmail:
    """caniemail's data set, read for judging."""

    features: Mapping[str, Feature]
    family_names: Mapping[str, str]
    platform_names: Mapping[str, str]
    platforms: Mapping[str, tuple[str, ...]]  # family → its platforms with data, in the data's order
    index: FeatureIndex
    last_update: str = ""

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> CanIEmail:
        items = list(raw.get("data") or ())
        features: dict[str, Feature] = {}
        platforms: dict[str, dict[str, None]] = {}  # ordered sets
        for f in items:
            stats = f.get("stats") or {}  # as read: copying 300 features' results costs more than the read
            for fam, plats in stats.items():
                platforms.setdefault(fam, {}).update(dict.fromkeys(plats))
            slug = str(f["slug"])
            features[slug] = Feature(slug, str(f.get("title") or slug), str(f.get("url") or ""), stats,
                                     f.get("notes_by_num") or {}, str(f.get("notes") or "").strip())
        nice = raw.get("nicenames") or {}
        return cls(features, dict(nice.get("family") or {}), dict(nice.get("platform") or {}),
                   {k: tuple(v) for k, v in platforms.items()}, FeatureIndex(items),
                   str(raw.get("last_update_date") or ""))

    def family_label(self, family: str) -> str:
        return self.family_names.get(family, family)

    def platform_label(self, platform: str) -> str:
        return self.platform_names.get(platform, platform)

    def label(self, family: str, platform: str | None) -> str:
        """"Outlook Windows", "Yahoo! Mail Android", "Outlook.com", "Gmail"."""
        name = self.family_label(family)
        if platform is None:
            return name
        plat = self.platform_label(platform)
        return plat if plat.lower().startswith(name.lower()) else f"{name} {plat}"


@functools.cache
def caniemail() -> CanIEmail:
    """The vendored data set, read once per process (≈650 KB of JSON)."""
    import orjson

    return CanIEmail.from_json(orjson.loads(DATA_FILE.read_bytes()))


# -- the clients setting --------------------------------------------------------------------


def parse_clients(values: object, *, location: Location, data: CanIEmail | None = None) -> tuple[Client, ...]:
    """``[tool.letterhead.check] clients``: a list of ``"family"`` or
    ``"family/platform"`` names as caniemail spells them (``gmail``,
    ``outlook/windows``...).  An unknown name raises :class:`ConfigError`
    at ``location`` with the nearest valid name."""
    data = data or caniemail()
    example = 'clients = ["gmail", "outlook/windows", "apple-mail", "yahoo"]'
    if not isinstance(values, (list, tuple)):
        raise ConfigError(f"[tool.letterhead.check] clients must be a list of client names, not {values!r}",
                          location=location, hint=example)
    clients: list[Client] = []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"[tool.letterhead.check] clients: {value!r} is not a client name",
                              location=location, hint=example)
        family, _, platform = value.strip().lower().partition("/")
        family, platform = family.strip(), platform.strip()
        if family not in data.platforms:
            raise ConfigError(f"unknown mail client {value!r} in [tool.letterhead.check] clients",
                              location=location, hint=_suggest(family, sorted(data.platforms), "clients are"))
        if platform and platform not in data.platforms[family]:
            choices = [f"{family}/{p}" for p in data.platforms[family]]
            raise ConfigError(f"unknown platform {platform!r} of {family} in [tool.letterhead.check] clients",
                              location=location, hint=_suggest(f"{family}/{platform}", choices,
                                                               f"{family}'s platforms are"))
        client = Client(family, platform or None, data.label(family, platform or None))
        if client not in clients:
            clients.append(client)
    return tuple(clients)


def _suggest(name: str, choices: list[str], what: str) -> str:
    import difflib  # only on this error path

    near = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return (f"did you mean {near[0]!r}? " if near else "") + f"{what}: {', '.join(choices)}"


# -- verdicts ---------------------------------------------------------------------------------

_SUPPORT_RE = re.compile(r"^\s*([yna])\b((?:\s*#\d+)*)")


def platform_support(versions: Mapping[str, str]) -> tuple[Support, tuple[str, ...]] | None:
    """One platform's verdict over its tested versions, and the numbers of
    the notes its results refer to when it is not plainly supported; None
    when nothing is known ("u" or no version)."""
    results: list[tuple[str, list[str]]] = []
    for value in versions.values():
        m = _SUPPORT_RE.match(value)
        if m:
            results.append((m.group(1), re.findall(r"\d+", m.group(2))))
    if not results:
        return None
    letters = {letter for letter, _ in results}
    support: Support = ("supported" if letters == {"y"} else "unsupported" if letters == {"n"} else "partial")
    notes: list[str] = []
    if support != "supported":
        for _, nums in results:
            notes.extend(n for n in nums if n not in notes)
    return support, tuple(sorted(notes, key=int))


@dataclass(frozen=True)
class Verdict:
    client: Client  # the configured client this platform belongs to
    platform: str
    label: str
    support: Support
    notes: tuple[str, ...]


def judge(feature: Feature, clients: Sequence[Client], data: CanIEmail) -> list[Verdict]:
    """The platforms of ``clients`` where ``feature`` is not plainly supported."""
    out: list[Verdict] = []
    seen: set[tuple[str, str]] = set()
    for client in clients:
        plats = feature.stats.get(client.family, {})
        for platform in ([client.platform] if client.platform else list(plats)):
            if platform not in plats or (client.family, platform) in seen:
                continue
            seen.add((client.family, platform))
            verdict = platform_support(plats[platform])
            if verdict and verdict[0] != "supported":
                out.append(Verdict(client, platform, data.label(client.family, platform), *verdict))
    return out


def _who(verdicts: list[Verdict], feature: Feature, data: CanIEmail) -> str:
    """The clients of one support level, compactly: a whole family by its
    name, several platforms of one family as "Gmail iOS/Android"."""
    parts: list[str] = []
    families: dict[str, list[Verdict]] = {}
    for v in verdicts:
        families.setdefault(v.client.family, []).append(v)
    for family, group in families.items():
        whole = all(v.client.platform is None for v in group) and len(group) == len(feature.stats.get(family, {}))
        if whole and len(group) > 1:
            parts.append(data.family_label(family))
        elif len(group) == 1:
            parts.append(group[0].label)
        else:
            parts.append(f"{data.family_label(family)} " + "/".join(data.platform_label(v.platform) for v in group))
    return ", ".join(parts)


LAYOUT = ("lay it out with MJML sections and columns (mj-section, mj-column, mj-group), which MJML writes "
          "as tables every client renders")
PLACEMENT = ("keep content in the flow with MJML sections and columns; to set text over a picture use mj-hero "
             "or an mj-section background-url")
BACKGROUND = ("set a background-color beside it for the clients that drop it (mj-section and mj-hero "
              "background-url are written with VML for Outlook)")
IMAGE_FORMAT = "use PNG, JPEG or GIF images"
FORM = "link to a form on your website instead"
UNITS = "use px"
HINTS: Mapping[str, str] = {
    **dict.fromkeys(("css-display-flex", "css-display-grid", "css-flex-direction", "css-flex-wrap",
                     "css-justify-content", "css-align-items", "css-gap", "css-grid-template",
                     "css-column-count", "css-column-layout-properties"), LAYOUT),
    "css-float": "put the blocks side by side in mj-column or mj-group, or align an mj-image",
    **dict.fromkeys(("css-position", "css-left-right-top-bottom", "css-z-index", "css-inset"), PLACEMENT),
    **dict.fromkeys(("css-background-image", "css-linear-gradient", "css-radial-gradient",
                     "css-conic-gradient"), BACKGROUND),
    **dict.fromkeys(("css-at-font-face", "css-at-import", "html-link"),
                    "load web fonts with <mj-font> and list fallback fonts in font-family"),
    "css-variables": "write the values themselves (brand values with [[ brand.… ]]) instead of var()",
    **dict.fromkeys(("css-unit-rem", "css-unit-em", "css-unit-vh", "css-unit-vw", "css-unit-vmin",
                     "css-unit-vmax", "css-unit-ch", "css-unit-ex"), UNITS),
    **dict.fromkeys(("css-unit-calc", "css-function-clamp", "css-function-min", "css-function-max"),
                    "use a fixed px value (and an @media rule for small screens)"),
    "css-at-media-prefers-color-scheme": "make sure the light design stays readable where it is ignored: Gmail "
                                         "and Outlook invert colours on their own (see the dark-mode findings)",
    "css-at-media": "make sure the email works without it: MJML's columns stack on small screens by "
                    "themselves (mj-breakpoint)",
    "css-border-radius": "make sure the design holds with square corners where they are dropped",
    "css-box-shadow": "make sure the design holds without the shadow (a border shows everywhere)",
    **dict.fromkeys(("css-selector-class", "css-selector-type", "css-selector-id", "css-selector-descendant",
                     "css-selector-child", "css-selector-chaining", "css-selector-grouping",
                     "css-selector-universal"),
                    'put rules that must apply everywhere in <mj-style inline="inline">: they are inlined '
                    "into style attributes, which every client reads"),
    **dict.fromkeys(("html-svg", "image-svg", "image-webp", "image-avif", "image-heif", "image-tiff",
                     "image-bmp", "image-ico", "image-hdr", "image-apng"), IMAGE_FORMAT),
    **dict.fromkeys(("html-video", "html-audio", "image-mp4", "html-object"),
                    "link to it from an image (a still with a play button)"),
    **dict.fromkeys(("html-form", "html-select", "html-textarea", "html-input-text", "html-input-checkbox",
                     "html-input-radio", "html-input-hidden", "html-input-submit", "html-input-reset",
                     "html-button-submit", "html-button-reset"), FORM),
    **dict.fromkeys(("html-srcset", "html-picture"), "use one src image with width and height attributes"),
}


def _finding(feature: Feature, verdicts: list[Verdict], hit: Hit, location: Location, template: str,
             data: CanIEmail) -> CheckFinding:
    unsupported = [v for v in verdicts if v.support == "unsupported"]
    partial = [v for v in verdicts if v.support == "partial"]
    # "gap, column-gap, row-gap": name what was written instead
    what = hit.name if hit.name and re.search(r",|&| and ", feature.title) else feature.title
    if unsupported:
        message = f"{what} is not supported in {_who(unsupported, feature, data)}"
        if partial:
            message += f" (partial in {_who(partial, feature, data)})"
    else:
        message = f"{what} is partially supported in {_who(partial, feature, data)}"
    by_note: dict[str, list[str]] = {}
    for v in verdicts:
        for num in v.notes:
            by_note.setdefault(num, []).append(v.label)
    notes = [f"{', '.join(labels)}: {feature.notes_by_num[num]}"
             for num, labels in sorted(by_note.items(), key=lambda kv: int(kv[0])) if num in feature.notes_by_num]
    if feature.notes:
        notes.insert(0, feature.notes)
    alternative = HINTS.get(feature.slug)
    where = f"see {feature.url}" if feature.url else ""
    hint = f"{alternative} ({where})" if alternative and where else alternative or where
    return CheckFinding(
        CODE if unsupported else PARTIAL, "warning", message, location, hint=hint, template=template, sample="",
        check="clients",
        details={"feature": feature.slug, "title": feature.title, "url": feature.url, "source": hit.source,
                 "clients": {v.label: v.support for v in verdicts},  # per platform
                 "affected_clients": list(dict.fromkeys(v.client.label for v in verdicts)),  # as configured
                 "unsupported_clients": list(dict.fromkeys(v.client.label for v in unsupported)),
                 "notes": notes})


# -- what the designer wrote ------------------------------------------------------------------

_INLINE_RE = re.compile(r"""\binline\s*=\s*["']?inline\b""", re.IGNORECASE)
_IMAGE_ATTR_RE = re.compile(r"""(?<![\w-])(?:src|background-url)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_TAG_NAME_RE = re.compile(r"<(/?)([a-z][a-z0-9-]*)", re.IGNORECASE)


def designer_hits(mjml: str, locate: Callable[[int], Location], index: FeatureIndex) -> Iterator[Hit]:
    """Every use of a caniemail feature in what the designer wrote, with
    offsets in ``mjml``."""
    regions = scan(mjml, locate=locate).regions
    open_tag: tuple[str, int, bool] | None = None  # (component, content start, inline mj-style)
    for region in regions:
        if region.context is not Context.MJ_ATTRIBUTE:
            continue
        text = mjml[region.start : region.end]
        m = _TAG_NAME_RE.match(text)
        if not m:
            continue
        closing, name = m.group(1) == "/", m.group(2).lower()
        if closing:
            if open_tag and open_tag[0] == name:
                yield from _content_hits(mjml, name, open_tag[1], region.start, open_tag[2], index)
                open_tag = None
            continue
        for im in _IMAGE_ATTR_RE.finditer(text):  # mj-image src, mj-section background-url...
            url = im.group(1) if im.group(1) is not None else im.group(2)
            if slug := index.image(url):
                yield Hit(slug, region.start + im.start(), im.group(0)[:100])
        if name in ENDING_TAGS and not text.rstrip().endswith("/>"):
            open_tag = (name, region.end, name == "mj-style" and bool(_INLINE_RE.search(text)))


def _content_hits(mjml: str, tag: str, start: int, end: int, inline: bool, index: FeatureIndex) -> Iterator[Hit]:
    content = mjml[start:end]
    if tag in ("mj-title", "mj-preview") or not content.strip():
        return
    if tag == "mj-style":
        hits: Iterator[Hit] | list[Hit] = css_hits(content, index, mode="inline" if inline else "stylesheet")
    else:
        hits = html_hits(content, index)
    for hit in hits:
        yield replace(hit, offset=start + hit.offset)


def check_clients(mjml: str, locate: Callable[[int], Location], clients: Sequence[Client], *, template: str,
                  data: CanIEmail | None = None) -> list[CheckFinding]:
    """The features the designer's MJML (``Compiler.designer_mjml``: after
    Jinja, before MRML) uses that a client of ``clients`` does not support or
    supports in part: one warning per feature and source line, located by
    ``locate``."""
    data = data or caniemail()
    verdicts: dict[str, list[Verdict]] = {}
    # One finding per feature: its first use, with every other place in the
    # details (a partial-support note on `padding` is one thing to know, not
    # thirty lines of output).
    first: dict[str, tuple[Hit, Location]] = {}
    places: dict[str, list[Location]] = {}
    for hit in sorted(designer_hits(mjml, locate, data.index), key=lambda h: h.offset):
        feature = data.features.get(hit.slug)
        if feature is None:
            continue
        if hit.slug not in verdicts:
            verdicts[hit.slug] = judge(feature, clients, data)
        if not verdicts[hit.slug]:
            continue
        location = locate(hit.offset)
        first.setdefault(hit.slug, (hit, location))
        if location not in places.setdefault(hit.slug, []):
            places[hit.slug].append(location)
    findings: list[CheckFinding] = []
    for slug, (hit, location) in first.items():
        f = _finding(data.features[slug], verdicts[slug], hit, location, template, data)
        more = places[slug][1:]
        if more:
            f = replace(f, message=f"{f.message} (and {len(more)} more place{'s' if len(more) > 1 else ''})",
                        details={**f.details, "places": [str(p) for p in places[slug]]})
        findings.append(f)
    return findings
