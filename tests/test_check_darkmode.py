"""darkmode: WCAG contrast, the forced-inversion model, prefers-color-scheme forced on."""

from __future__ import annotations

import pytest

from letterhead.check.darkmode import (
    BLACK,
    RGB,
    WHITE,
    composite,
    contrast_ratio,
    flatten,
    ImageSample,
    TextSample,
    force_dark_media,
    has_color_scheme_query,
    invert,
    invert_script,
    parse_css_color,
    relative_luminance,
    unreadable,
    vanishing_share,
)


def c(text: str) -> RGB:
    color = parse_css_color(text)
    assert color is not None, text
    return color


@pytest.mark.parametrize(("fg", "bg", "ratio"), [
    ("#000", "#fff", 21.0),
    ("#fff", "#fff", 1.0),
    ("#777", "#fff", 4.48),  # the classic just-fails grey
    ("#767676", "#fff", 4.54),  # the lightest grey that passes AA on white
    ("#595959", "#fff", 7.0),  # AAA on white
    ("#0000ff", "#fff", 8.59),
    ("#ff0000", "#fff", 4.0),
    ("#fff", "#1a73e8", 4.51),
])
def test_contrast_ratio_matches_the_wcag_reference_values(fg: str, bg: str, ratio: float) -> None:
    assert round(contrast_ratio(c(fg), c(bg)), 2) == ratio
    assert round(contrast_ratio(c(bg), c(fg)), 2) == ratio  # symmetric


def test_relative_luminance_endpoints_and_the_srgb_curve() -> None:
    assert relative_luminance(WHITE) == pytest.approx(1.0)
    assert relative_luminance(BLACK) == 0.0
    assert relative_luminance(c("#808080")) == pytest.approx(0.2159, abs=1e-4)


@pytest.mark.parametrize(("text", "expected"), [
    ("#abc", RGB(0xaa, 0xbb, 0xcc)),
    ("#abcd", RGB(0xaa, 0xbb, 0xcc, 0xdd / 255)),
    ("#A0B1C2", RGB(0xa0, 0xb1, 0xc2)),
    ("#a0b1c280", RGB(0xa0, 0xb1, 0xc2, 0x80 / 255)),
    ("rgb(1, 2, 3)", RGB(1, 2, 3)),
    ("rgba(1, 2, 3, 0.5)", RGB(1, 2, 3, 0.5)),
    ("rgb(1 2 3 / 50%)", RGB(1, 2, 3, 0.5)),
    ("rgb(100%, 0%, 50%)", RGB(255, 0, 127.5)),
    ("hsl(120, 100%, 25%)", RGB(0, 127.5, 0)),
    ("White", RGB(255, 255, 255)),
    ("rebeccapurple", RGB(0x66, 0x33, 0x99)),
    ("lightgoldenrodyellow", RGB(0xfa, 0xfa, 0xd2)),
    ("transparent", RGB(0, 0, 0, 0.0)),
])
def test_parse_css_color_reads_hex_functions_and_names(text: str, expected: RGB) -> None:
    assert c(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["currentcolor", "var(--x)", "#12", "#12345", "#ggg", "rgb(1, 2)",
                                  "linear-gradient(red, blue)", "notacolour", ""])
def test_parse_css_color_refuses_what_it_cannot_read(text: str) -> None:
    assert parse_css_color(text) is None


def test_alpha_compositing() -> None:
    half_black = RGB(0, 0, 0, 0.5)
    assert composite(half_black, WHITE) == pytest.approx(RGB(127.5, 127.5, 127.5, 1.0))
    # a translucent text colour is composited over its background before judging
    assert contrast_ratio(half_black, WHITE) == pytest.approx(contrast_ratio(RGB(127.5, 127.5, 127.5), WHITE))
    # stacked translucent backgrounds, nearest first, over the client's white
    assert flatten([RGB(0, 0, 0, 0.5), RGB(255, 0, 0, 0.5)]) == pytest.approx(RGB(127.5, 63.75, 63.75))
    assert flatten([], canvas=BLACK) == BLACK


def test_invert_darkens_light_backgrounds_and_lightens_dark_text() -> None:
    assert invert(WHITE, "background") == BLACK
    assert invert(BLACK, "text") == WHITE
    # the other roles are left alone: white text, a black page
    assert invert(WHITE, "text") == WHITE
    assert invert(BLACK, "background") == BLACK
    # a dark background or a light text colour stays as written
    assert invert(c("#123456"), "background") == c("#123456")
    assert invert(c("#f0f0f0"), "text") == c("#f0f0f0")
    # the crossover: #767676 reads (just) better with black text, #757575 with white
    assert invert(c("#767676"), "background") != c("#767676")
    assert invert(c("#757575"), "background") == c("#757575")
    assert invert(c("#757575"), "text") != c("#757575")


@pytest.mark.parametrize("colour", ["#5b6770", "#333333", "#757575", "#1a1a66", "#803010", "#2d716c"])
def test_invert_keeps_a_texts_contrast_against_the_page(colour: str) -> None:
    """Dark text on white becomes light text on black with the same contrast
    (up to rounding to whole sRGB steps): mid-greys are not left unreadable."""
    text = c(colour)
    before = contrast_ratio(text, WHITE)
    after = contrast_ratio(invert(text, "text"), invert(WHITE, "background"))
    assert after == pytest.approx(before, rel=0.02)
    assert relative_luminance(invert(text, "text")) > relative_luminance(text)


@pytest.mark.parametrize(("fg", "bg"), [("#000000", "#d0e0ff"), ("#333333", "#ffcc00"), ("#1a1a66", "#f0f4f8")])
def test_invert_keeps_contrast_between_text_and_its_background(fg: str, bg: str) -> None:
    before = contrast_ratio(c(fg), c(bg))
    after = contrast_ratio(invert(c(fg), "text"), invert(c(bg), "background"))
    assert after == pytest.approx(before, rel=0.03)


def test_invert_keeps_the_hue_and_alpha() -> None:
    pale_blue = invert(c("#d0e0ff"), "background")
    assert pale_blue.b > pale_blue.g > pale_blue.r and relative_luminance(pale_blue) < 0.05  # a dark blue
    brown = invert(c("#803010"), "text")
    assert brown.r > brown.g > brown.b  # a light brown
    assert invert(RGB(255, 255, 255, 0.5), "background").a == 0.5


def test_a_text_over_a_background_image_is_what_inversion_breaks() -> None:
    """The client lightens dark text but leaves the (light) picture under it."""
    sample = TextSample(0, "Hello", c("#222222"), (), 14.0, 400, backdrop=c("#f5e6c8"))
    assert unreadable([sample], 4.5) == []
    [broken] = unreadable([sample], 4.5, inverted=True)
    assert broken.bg == c("#f5e6c8") and broken.ratio < 1.5
    # the same colours as a flat background are inverted together and stay readable
    flat = TextSample(0, "Hello", c("#222222"), (c("#f5e6c8"),), 14.0, 400)
    assert unreadable([flat], 4.5, inverted=True) == []


def test_large_text_needs_three_to_one() -> None:
    grey = c("#949494")  # 3.03:1 on white
    small = TextSample(0, "x", grey, (), 16.0, 400)
    assert [u.required for u in unreadable([small], 4.5)] == [4.5]
    assert unreadable([TextSample(0, "x", grey, (), 24.0, 400)], 4.5) == []
    assert unreadable([TextSample(0, "x", grey, (), 18.67, 700)], 4.5) == []
    assert [u.required for u in unreadable([TextSample(0, "x", grey, (), 18.67, 400)], 4.5)] == [4.5]


def test_an_image_vanishes_when_its_visible_pixels_match_the_background() -> None:
    def logo(colour: str, clear: int) -> ImageSample:
        return ImageSample(0, "logo.png", "Logo", (), 100, clear, 100 - clear, ((c(colour), 100 - clear),))

    dark_page = invert(WHITE, "background")
    assert vanishing_share(logo("#111111", 60), dark_page) == 1.0  # a dark logo on transparency
    assert vanishing_share(logo("#ffffff", 60), dark_page) == 0.0  # a light one shows
    assert vanishing_share(logo("#111111", 0), dark_page) == 0.0  # an opaque picture carries its background
    assert vanishing_share(logo("#111111", 60), WHITE) == 0.0


def test_force_dark_media_turns_dark_queries_on_and_light_ones_off() -> None:
    html = """<html><head><style>
      .a { color: #000 }
      @media (prefers-color-scheme: dark) { .a { color: #fff } }
      @media screen and (prefers-color-scheme:DARK) { .b { color: #eee } }
      @media only screen and (max-width: 480px) { .c { width: 100% } }
      @media (prefers-color-scheme: light) { .a { color: #111 } }
    </style></head><body>
      <picture><source srcset="dark.png" media="(prefers-color-scheme: dark)"><img src="light.png" alt="x"></picture>
      <p>Write (prefers-color-scheme: dark) in your CSS.</p>
    </body></html>"""
    out = force_dark_media(html)
    assert "prefers-color-scheme: dark" not in out.split("<p>")[0]
    assert "@media (min-width: 0px) { .a { color: #fff } }" in out
    assert "@media screen and (min-width: 0px) { .b" in out
    assert "@media only screen and (max-width: 480px)" in out  # other queries untouched
    assert "@media (prefers-color-scheme: letterhead-never) { .a { color: #111 } }" in out
    assert 'media="(min-width: 0px)"' in out
    assert "<p>Write (prefers-color-scheme: dark) in your CSS.</p>" in out  # text is text
    assert has_color_scheme_query(html) and not has_color_scheme_query("<style>@media screen {}</style>")
    assert force_dark_media("<p>no css</p>") == "<p>no css</p>"


def test_the_invert_script_is_shipped() -> None:
    script = invert_script()
    assert "window.letterheadInvert = function" in script
    assert "window.letterheadInvertColor" in script
