"""Colour arithmetic for the contrast and dark-mode checks: no browser here.

* :func:`parse_css_color` reads a computed or written CSS colour.
* :func:`contrast_ratio` is WCAG 2.x's contrast ratio of two opaque colours
  (relative luminance of sRGB, ``(L1 + 0.05) / (L2 + 0.05)``).
* :func:`invert` models the forced inversion that Gmail's apps and
  Outlook.com apply to an email that declares no dark scheme of its own.
  The rule (the same one ``assets/invert.js`` applies in the preview):

  - a colour is *light* when dark text reads better on it than white text,
    i.e. its WCAG luminance Y is above the crossover 0.179 (#767676), *dark*
    below;
  - a light *background* and a dark *text* colour are mirrored through the
    crossover, ``(Y + 0.05)(Y' + 0.05) = 1.05 x 0.05``: white becomes black,
    black white, and a colour's contrast against white becomes its contrast
    against black; the hue stays (the colour is scaled towards black or mixed
    with white in linear light); dark backgrounds and light texts stay;
  - images, background images included, are never changed; alpha is kept.

  Because the mirror keeps every contrast ratio, a page of flat colours reads
  as well inverted as it did, which is what the clients aim for (they are
  known to keep text at 4.5:1 on the backgrounds they darken).  What breaks is
  what they do not recolour: a logo drawn dark on a transparent background
  (the ``dark-logo`` check), and text over a background image, lightened by
  the client over a picture that stays light.  The clients' exact algorithms
  are not published; this one is documented and testable.
* :func:`force_dark_media` rewrites an HTML document's
  ``prefers-color-scheme`` media queries so the dark ones always apply and the
  light ones never (the preview's "dark" switch, without emulation).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

Role = Literal["text", "background"]


class RGB(NamedTuple):
    """An sRGB colour, channels 0-255 (floats after compositing), alpha 0-1."""

    r: float
    g: float
    b: float
    a: float = 1.0

    @property
    def hex(self) -> str:
        text = "#" + "".join(f"{_byte(c):02x}" for c in (self.r, self.g, self.b))
        return text if self.a >= 1 else text + f"{_byte(self.a * 255):02x}"

    def __str__(self) -> str:
        return self.hex


WHITE = RGB(255, 255, 255)
BLACK = RGB(0, 0, 0)
TRANSPARENT = RGB(0, 0, 0, 0.0)


def _byte(value: float) -> int:
    return max(0, min(255, math.floor(value + 0.5)))


# CSS Color 4 named colours (sRGB hex).
_NAMED_TEXT = """
aliceblue:f0f8ff antiquewhite:faebd7 aqua:00ffff aquamarine:7fffd4 azure:f0ffff beige:f5f5dc bisque:ffe4c4
black:000000 blanchedalmond:ffebcd blue:0000ff blueviolet:8a2be2 brown:a52a2a burlywood:deb887
cadetblue:5f9ea0 chartreuse:7fff00 chocolate:d2691e coral:ff7f50 cornflowerblue:6495ed cornsilk:fff8dc
crimson:dc143c cyan:00ffff darkblue:00008b darkcyan:008b8b darkgoldenrod:b8860b darkgray:a9a9a9
darkgreen:006400 darkgrey:a9a9a9 darkkhaki:bdb76b darkmagenta:8b008b darkolivegreen:556b2f darkorange:ff8c00
darkorchid:9932cc darkred:8b0000 darksalmon:e9967a darkseagreen:8fbc8f darkslateblue:483d8b
darkslategray:2f4f4f darkslategrey:2f4f4f darkturquoise:00ced1 darkviolet:9400d3 deeppink:ff1493
deepskyblue:00bfff dimgray:696969 dimgrey:696969 dodgerblue:1e90ff firebrick:b22222 floralwhite:fffaf0
forestgreen:228b22 fuchsia:ff00ff gainsboro:dcdcdc ghostwhite:f8f8ff gold:ffd700 goldenrod:daa520 gray:808080
green:008000 greenyellow:adff2f grey:808080 honeydew:f0fff0 hotpink:ff69b4 indianred:cd5c5c indigo:4b0082
ivory:fffff0 khaki:f0e68c lavender:e6e6fa lavenderblush:fff0f5 lawngreen:7cfc00 lemonchiffon:fffacd
lightblue:add8e6 lightcoral:f08080 lightcyan:e0ffff lightgoldenrodyellow:fafad2 lightgray:d3d3d3
lightgreen:90ee90 lightgrey:d3d3d3 lightpink:ffb6c1 lightsalmon:ffa07a lightseagreen:20b2aa
lightskyblue:87cefa lightslategray:778899 lightslategrey:778899 lightsteelblue:b0c4de lightyellow:ffffe0
lime:00ff00 limegreen:32cd32 linen:faf0e6 magenta:ff00ff maroon:800000 mediumaquamarine:66cdaa
mediumblue:0000cd mediumorchid:ba55d3 mediumpurple:9370db mediumseagreen:3cb371 mediumslateblue:7b68ee
mediumspringgreen:00fa9a mediumturquoise:48d1cc mediumvioletred:c71585 midnightblue:191970 mintcream:f5fffa
mistyrose:ffe4e1 moccasin:ffe4b5 navajowhite:ffdead navy:000080 oldlace:fdf5e6 olive:808000 olivedrab:6b8e23
orange:ffa500 orangered:ff4500 orchid:da70d6 palegoldenrod:eee8aa palegreen:98fb98 paleturquoise:afeeee
palevioletred:db7093 papayawhip:ffefd5 peachpuff:ffdab9 peru:cd853f pink:ffc0cb plum:dda0dd powderblue:b0e0e6
purple:800080 rebeccapurple:663399 red:ff0000 rosybrown:bc8f8f royalblue:4169e1 saddlebrown:8b4513
salmon:fa8072 sandybrown:f4a460 seagreen:2e8b57 seashell:fff5ee sienna:a0522d silver:c0c0c0 skyblue:87ceeb
slateblue:6a5acd slategray:708090 slategrey:708090 snow:fffafa springgreen:00ff7f steelblue:4682b4
tan:d2b48c teal:008080 thistle:d8bfd8 tomato:ff6347 turquoise:40e0d0 violet:ee82ee wheat:f5deb3
white:ffffff whitesmoke:f5f5f5 yellow:ffff00 yellowgreen:9acd32
"""
NAMED: dict[str, RGB] = {
    name: RGB(int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))
    for name, h in (item.split(":") for item in _NAMED_TEXT.split())
}

_FUNC = re.compile(r"^(rgba?|hsla?)\(\s*(.*?)\s*\)$", re.IGNORECASE)


def _channel(text: str, scale: float) -> float:
    if text.endswith("%"):
        return float(text[:-1]) * scale / 100
    return float(text)


def _alpha(text: str | None) -> float:
    if text is None:
        return 1.0
    value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    return max(0.0, min(1.0, value))


def _hsl_to_rgb(h: float, s: float, light: float) -> tuple[float, float, float]:
    def f(n: float) -> float:
        k = (n + h / 30) % 12
        return light - s * min(light, 1 - light) * max(-1.0, min(k - 3, 9 - k, 1.0))

    return f(0) * 255, f(8) * 255, f(4) * 255


def parse_css_color(text: str) -> RGB | None:
    """A CSS colour (hex with 3, 4, 6 or 8 digits, ``rgb()``/``rgba()``,
    ``hsl()``/``hsla()``, a named colour, ``transparent``); ``None`` for what
    it cannot read (``currentcolor``, ``var()``, gradients...)."""
    value = text.strip().lower()
    if value.startswith("#"):
        digits = value[1:]
        if not re.fullmatch(r"[0-9a-f]{3,8}", digits) or len(digits) not in (3, 4, 6, 8):
            return None
        if len(digits) <= 4:
            digits = "".join(c * 2 for c in digits)
        channels = [int(digits[i:i + 2], 16) for i in range(0, len(digits), 2)]
        return RGB(channels[0], channels[1], channels[2], channels[3] / 255 if len(channels) == 4 else 1.0)
    if value == "transparent":
        return TRANSPARENT
    if value in NAMED:
        return NAMED[value]
    match = _FUNC.match(value)
    if not match:
        return None
    name, body = match.group(1), match.group(2)
    parts = [p for p in re.split(r"[\s,/]+", body) if p]
    if len(parts) not in (3, 4):
        return None
    try:
        alpha = _alpha(parts[3] if len(parts) == 4 else None)
        if name.startswith("rgb"):
            r, g, b = (max(0.0, min(255.0, _channel(p, 255))) for p in parts[:3])
            return RGB(r, g, b, alpha)
        hue = float(parts[0].removesuffix("deg")) % 360
        sat, light = (max(0.0, min(1.0, _channel(p, 100) / 100)) for p in parts[1:3])
        return RGB(*_hsl_to_rgb(hue, sat, light), alpha)
    except ValueError:
        return None


def _linear(channel: float) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _gamma(value: float) -> float:
    v = max(0.0, min(1.0, value))
    return 255 * (v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055)


def relative_luminance(color: RGB) -> float:
    """WCAG 2.x relative luminance of an (opaque) sRGB colour, 0 to 1."""
    return 0.2126 * _linear(color.r) + 0.7152 * _linear(color.g) + 0.0722 * _linear(color.b)


def contrast_ratio(fg: RGB, bg: RGB) -> float:
    """WCAG 2.x contrast ratio, 1 to 21.  A translucent text colour is first
    composited over its background (a translucent background should be
    composited over what is behind it by the caller: :func:`flatten`)."""
    if fg.a < 1:
        fg = composite(fg, bg)
    a, b = relative_luminance(fg), relative_luminance(bg)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def composite(top: RGB, under: RGB) -> RGB:
    """``top`` painted over ``under`` (source-over alpha compositing)."""
    alpha = top.a + under.a * (1 - top.a)
    if alpha <= 0:
        return TRANSPARENT
    def mix(t: float, u: float) -> float:
        return (t * top.a + u * under.a * (1 - top.a)) / alpha
    return RGB(mix(top.r, under.r), mix(top.g, under.g), mix(top.b, under.b), alpha)


def flatten(layers: list[RGB], canvas: RGB = WHITE) -> RGB:
    """The opaque colour of stacked backgrounds, nearest first, painted over
    ``canvas`` (what the mail client shows behind the message)."""
    result = canvas
    for layer in reversed(layers):
        result = composite(layer, result)
    return RGB(result.r, result.g, result.b)


# The forced inversion.  WCAG's contrast of a colour against white equals the
# contrast of its mirror against black when (Y + 0.05)(Y' + 0.05) = 1.05 x 0.05:
# the mirror keeps every contrast ratio between two mirrored colours, and its
# fixed point is the luminance where white and black text read equally well.
MIRROR = 1.05 * 0.05
CROSSOVER = math.sqrt(MIRROR) - 0.05  # Y = 0.1791: #767676 is just above, #757575 below


def mirrored_luminance(y: float) -> float:
    return max(0.0, min(1.0, MIRROR / (y + 0.05) - 0.05))


def invert(rgb: RGB, role: Role) -> RGB:
    """The colour a forcing client shows instead of ``rgb`` (module docstring)."""
    linear = (_linear(rgb.r), _linear(rgb.g), _linear(rgb.b))
    y = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    if (role == "background" and y <= CROSSOVER) or (role == "text" and y >= CROSSOVER):
        return rgb
    target = mirrored_luminance(y)
    if target < y:  # towards black: scale the light down, the chromaticity stays
        out = tuple(c * target / y for c in linear)
    else:  # towards white: mix with white in linear light, the hue stays
        keep = (1 - target) / (1 - y) if y < 1 else 0.0
        out = tuple(1 - keep * (1 - c) for c in linear)
    r, g, b = (_byte(_gamma(c)) for c in out)
    return RGB(r, g, b, rgb.a)


ASSETS = Path(__file__).parent / "assets"


def invert_script() -> str:
    """``assets/invert.js``: defines ``window.letterheadInvert(document)``, which
    applies :func:`invert` to a rendered page in place (the preview's
    "inverted" switch), and ``window.letterheadInvertColor(css, role)``."""
    return (ASSETS / "invert.js").read_text(encoding="utf-8")


# --- prefers-color-scheme, forced on -------------------------------------

_SCHEME = re.compile(r"\(\s*prefers-color-scheme\s*:\s*(dark|light)\s*\)", re.IGNORECASE)
_MEDIA_PRELUDE = re.compile(r"@media\b[^{;]*\{", re.IGNORECASE)
_MEDIA_ATTR = re.compile(r"""(\smedia\s*=\s*)("[^"]*"|'[^']*')""", re.IGNORECASE)
ALWAYS = "(min-width: 0px)"  # true on every screen
NEVER = "(prefers-color-scheme: letterhead-never)"  # an unknown value: the query never matches


def _force(query: str) -> str:
    return _SCHEME.sub(lambda m: ALWAYS if m.group(1).lower() == "dark" else NEVER, query)


def has_color_scheme_query(html: str) -> bool:
    """Does the document adapt to ``prefers-color-scheme`` (a media rule or a
    ``media`` attribute of ``<source>``/``<link>``/``<style>`` using it)?"""
    return any(_SCHEME.search(m.group(0)) for m in _MEDIA_PRELUDE.finditer(html)) or any(
        _SCHEME.search(m.group(2)) for m in _MEDIA_ATTR.finditer(html))


def force_dark_media(html: str) -> str:
    """``html`` as a reader with a dark system theme sees it, in any browser:
    every ``(prefers-color-scheme: dark)`` condition (in ``@media`` rules,
    ``screen and (...)`` included, and in ``media`` attributes, as on a
    ``<picture><source>`` dark logo) is replaced by one that always holds, every
    ``light`` one by one that never does.  Text outside CSS is not touched."""
    html = _MEDIA_PRELUDE.sub(lambda m: _force(m.group(0)), html)
    return _MEDIA_ATTR.sub(lambda m: m.group(1) + _force(m.group(2)), html)


# --- judging what the browser measured (assets/measure.js) ----------------

DARK_CANVAS = RGB(18, 18, 18)  # Chromium's canvas under color-scheme: dark
LARGE_PX, LARGE_BOLD_PX = 24.0, 18.66  # WCAG "large text": 18 pt, or 14 pt bold
VANISH_CONTRAST = 1.5  # an image's pixel this close to the background is not seen
VANISH_SHARE = 0.5  # ... and when half of its visible pixels are, the image vanishes
CLEAR_SHARE = 0.1  # an image with fewer transparent pixels carries its own background


@dataclass(frozen=True)
class TextSample:
    """A visible element's own text, its colour and its backgrounds (nearest
    first, down to the first opaque one)."""

    el: int  # the element's index in document order
    text: str
    color: RGB
    layers: tuple[RGB, ...]
    size: float  # px
    weight: int
    backdrop: RGB | None = None  # the mean colour of a background image under the layers

    @property
    def large(self) -> bool:
        return self.size >= LARGE_PX or (self.size >= LARGE_BOLD_PX and self.weight >= 700)


@dataclass(frozen=True)
class ImageSample:
    """A visible, loaded ``<img>``: its opaque pixels' colours and the
    backgrounds behind it."""

    el: int
    src: str
    alt: str | None
    layers: tuple[RGB, ...]
    total: int
    clear: int
    opaque: int
    colours: tuple[tuple[RGB, int], ...]


@dataclass(frozen=True)
class Unreadable:
    """A text below the contrast it needs, in one rendering."""

    sample: TextSample
    fg: RGB  # the colours as shown (opaque)
    bg: RGB
    ratio: float
    required: float


def _colours(values: object) -> tuple[RGB, ...] | None:
    out = []
    for value in values if isinstance(values, list) else []:
        colour = parse_css_color(str(value))
        if colour is None:
            return None
        out.append(colour)
    return tuple(out)


def _backdrop(stats: object) -> RGB | None:
    """An opaque background image's mean colour; ``None`` when it did not load
    or lets what is under it show through."""
    if not isinstance(stats, Mapping) or not stats.get("total") or not stats.get("opaque"):
        return None
    if stats.get("clear", 0) >= CLEAR_SHARE * stats["total"]:
        return None
    r, g, b = stats["mean"]
    return RGB(float(r), float(g), float(b))


def text_samples(measure: Mapping[str, Any]) -> list[TextSample]:
    """The texts of a measurement whose colours can be told (colours in sRGB,
    no gradient and no translucent or unloaded background image behind)."""
    out = []
    backdrops = measure.get("backdrops") or {}
    for t in measure.get("texts", ()):
        color, layers = parse_css_color(str(t.get("color"))), _colours(t.get("layers"))
        backdrop = _backdrop(backdrops.get(t["image"])) if t.get("image") else None
        if t.get("unknown") or color is None or layers is None or (t.get("image") and backdrop is None):
            continue
        out.append(TextSample(int(t["el"]), str(t.get("text", "")), color, layers,
                              float(t.get("size", 16)), int(t.get("weight", 400)), backdrop))
    return out


def image_samples(measure: Mapping[str, Any]) -> list[ImageSample]:
    """The loaded images of a measurement whose pixels and background are known."""
    out = []
    for i in measure.get("images", ()):
        layers = _colours(i.get("layers"))
        if not i.get("loaded") or i.get("unknown") or layers is None or not i.get("total"):
            continue
        colours = tuple((RGB(float(r), float(g), float(b)), int(n)) for r, g, b, n in i.get("colours", ()))
        out.append(ImageSample(int(i["el"]), str(i.get("src", "")), i.get("alt"), layers, int(i["total"]),
                               int(i.get("clear", 0)), int(i.get("opaque", 0)), colours))
    return out


def canvas_of(measure: Mapping[str, Any], *, dark: bool) -> RGB:
    """What shows behind a page without a background: white, or Chromium's
    dark canvas when the page opts into a dark ``color-scheme`` and the reader
    prefers dark."""
    return DARK_CANVAS if dark and "dark" in str(measure.get("scheme", "")) else WHITE


def required_contrast(sample: TextSample, min_contrast: float) -> float:
    """``min_contrast`` (WCAG AA: 4.5), or two thirds of it for large text (3)."""
    return round(min_contrast * 2 / 3, 2) if sample.large else min_contrast


def unreadable(samples: Sequence[TextSample], min_contrast: float, *, canvas: RGB = WHITE,
               inverted: bool = False) -> list[Unreadable]:
    """The texts below the contrast they need, as rendered, or (``inverted``)
    after a client's forced inversion of the rendered colours (a background
    image, judged by its mean colour, stays as it is)."""
    out = []
    for s in samples:
        fg, layers, under = s.color, list(s.layers), canvas
        if inverted:
            fg = invert(fg, "text")
            layers = [invert(layer, "background") for layer in layers]
            under = invert(canvas, "background")
        bg = flatten(layers, s.backdrop or under)
        shown = composite(fg, bg) if fg.a < 1 else fg
        ratio = contrast_ratio(shown, bg)
        required = required_contrast(s, min_contrast)
        if ratio < required:
            out.append(Unreadable(s, RGB(shown.r, shown.g, shown.b), bg, ratio, required))
    return out


def behind(image: ImageSample, canvas: RGB = WHITE, *, inverted: bool = False) -> RGB:
    """The opaque colour behind an image (after a forced inversion)."""
    if inverted:
        return flatten([invert(layer, "background") for layer in image.layers], invert(canvas, "background"))
    return flatten(list(image.layers), canvas)


def vanishing_share(image: ImageSample, background: RGB) -> float:
    """The share of an image's visible pixels that cannot be told from
    ``background`` (contrast below 1.5:1); 0 for an image that is mostly
    opaque (it carries its own background: a JPEG never vanishes)."""
    if image.opaque == 0 or image.clear < CLEAR_SHARE * image.total:
        return 0.0
    lost = sum(n for colour, n in image.colours if contrast_ratio(colour, background) < VANISH_CONTRAST)
    return lost / image.opaque
