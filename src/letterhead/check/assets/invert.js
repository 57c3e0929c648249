/* letterhead: a mail client's forced dark-mode inversion, applied in place.
 *
 * window.letterheadInvert(doc) recolours a rendered email the way Gmail's apps
 * and Outlook.com darken a message that declares no dark scheme of its own.
 * It is the same rule as letterhead.check.darkmode.invert (keep them equal;
 * tests/test_check_browser.py compares the two):
 *   - a background (background-color, border colours) lighter than the
 *     crossover (WCAG luminance Y > 0.179, where black and white text read
 *     equally well) and a text colour darker than it are mirrored through it,
 *     (Y + 0.05)(Y' + 0.05) = 1.05 x 0.05, which keeps every contrast ratio;
 *     the hue stays (scaled towards black, or mixed with white, in linear
 *     light); dark backgrounds and light texts stay;
 *   - images and background images are left as they are; a page without a
 *     background of its own (the client's white) becomes black.
 * window.letterheadInvertColor(cssColor, role) returns the inverted colour as
 * "rgb(r, g, b)" / "rgba(r, g, b, a)" (role: "text" | "background"), or null.
 */
(function () {
  "use strict";
  var MIRROR = 1.05 * 0.05;
  var CROSSOVER = Math.sqrt(MIRROR) - 0.05;  // the luminance where white and black text read equally well

  function linear(c) {
    c = c / 255;
    return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  }
  function gamma(v) {
    v = Math.max(0, Math.min(1, v));
    return 255 * (v <= 0.0031308 ? v * 12.92 : 1.055 * Math.pow(v, 1 / 2.4) - 0.055);
  }
  function byte(v) {
    return Math.max(0, Math.min(255, Math.floor(v + 0.5)));
  }
  function invertRgba(c, role) {
    var lin = [linear(c[0]), linear(c[1]), linear(c[2])];
    var y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    if ((role === "background" && y <= CROSSOVER) || (role === "text" && y >= CROSSOVER)) return c;
    var target = Math.max(0, Math.min(1, MIRROR / (y + 0.05) - 0.05));
    var out;
    if (target < y) {  // towards black: scale the light down
      out = lin.map(function (v) { return v * target / y; });
    } else {  // towards white: mix with white in linear light
      var keep = y < 1 ? (1 - target) / (1 - y) : 0;
      out = lin.map(function (v) { return 1 - keep * (1 - v); });
    }
    return [byte(gamma(out[0])), byte(gamma(out[1])), byte(gamma(out[2])), c[3]];
  }
  function parse(text) {  // computed colours: rgb(r, g, b) / rgba(r, g, b, a)
    var m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)$/.exec(String(text).trim());
    if (!m) return null;
    var alpha = m[4] === undefined ? 1 : (m[4].slice(-1) === "%" ? parseFloat(m[4]) / 100 : parseFloat(m[4]));
    return [parseFloat(m[1]), parseFloat(m[2]), parseFloat(m[3]), alpha];
  }
  function format(c) {
    return c[3] >= 1 ? "rgb(" + c[0] + ", " + c[1] + ", " + c[2] + ")"
                     : "rgba(" + c[0] + ", " + c[1] + ", " + c[2] + ", " + c[3] + ")";
  }
  function invertCss(text, role) {
    var c = parse(text);
    if (!c || c[3] === 0) return null;
    return format(invertRgba(c, role));
  }

  var BORDERS = ["border-top-color", "border-right-color", "border-bottom-color", "border-left-color"];

  window.letterheadInvertColor = invertCss;
  window.letterheadInvert = function (doc) {
    doc = doc || document;
    var root = doc.documentElement;
    if (!root || root.getAttribute("data-letterhead-inverted") !== null) return;  // once
    var view = doc.defaultView || window;
    var changes = [];
    var all = doc.querySelectorAll("*");
    // read every computed colour first: colour is inherited, so writing as we
    // go would invert a child's inherited colour twice
    for (var i = 0; i < all.length; i++) {
      var el = all[i], cs = view.getComputedStyle(el);
      var bg = invertCss(cs.backgroundColor, "background");
      if (bg) changes.push([el, "background-color", bg]);
      var fg = invertCss(cs.color, "text");
      if (fg) changes.push([el, "color", fg]);
      for (var j = 0; j < BORDERS.length; j++) {
        if (cs.getPropertyValue(BORDERS[j].replace("-color", "-style")) === "none") continue;
        var border = invertCss(cs.getPropertyValue(BORDERS[j]), "background");
        if (border) changes.push([el, BORDERS[j], border]);
      }
    }
    var body = doc.body;
    var transparent = function (node) {
      var c = node ? parse(view.getComputedStyle(node).backgroundColor) : null;
      return !c || c[3] === 0;
    };
    if (transparent(root) && transparent(body)) {
      changes.push([root, "background-color", format(invertRgba([255, 255, 255, 1], "background"))]);
    }
    for (var k = 0; k < changes.length; k++) {
      changes[k][0].style.setProperty(changes[k][1], changes[k][2], "important");
    }
    root.setAttribute("data-letterhead-inverted", "");
  };
})();
