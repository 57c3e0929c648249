/* letterhead: a mail client's forced dark-mode inversion, applied in place.
 *
 * window.letterheadInvert(doc) recolours a rendered email the way Gmail's apps
 * and Outlook.com darken a message that declares no dark scheme of its own.
 * It is the same rule as letterhead.check.darkmode.invert (keep them equal;
 * tests/test_check_browser.py compares the two):
 *   - colours are taken to OKLab; a background (background-color, border
 *     colours) lighter than mid-grey (L > 0.5) gets L' = 1 - L, hue and chroma
 *     kept (chroma reduced just enough to stay in sRGB);
 *   - a text colour darker than mid-grey (L < 0.5) is inverted the same way;
 *   - images are left as they are; a page without a background of its own
 *     (the client's white) becomes the inverted white, black.
 * window.letterheadInvertColor(cssColor, role) returns the inverted colour as
 * "rgb(r, g, b)" / "rgba(r, g, b, a)" (role: "text" | "background"), or null.
 */
(function () {
  "use strict";
  var THRESHOLD = 0.5;

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
  function toOklab(r, g, b) {
    r = linear(r); g = linear(g); b = linear(b);
    var l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
    var m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
    var s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
    return [0.2104542553 * l + 0.7936177850 * m - 0.0040720468 * s,
            1.9779984951 * l - 2.4285922050 * m + 0.4505937099 * s,
            0.0259040371 * l + 0.7827717662 * m - 0.8086757660 * s];
  }
  function toLinear(L, a, b) {
    var l = L + 0.3963377774 * a + 0.2158037573 * b;
    var m = L - 0.1055613458 * a - 0.0638541728 * b;
    var s = L - 0.0894841775 * a - 1.2914855480 * b;
    l = l * l * l; m = m * m * m; s = s * s * s;
    return [4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s,
            -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s,
            -0.0041960863 * l - 0.7034186147 * m + 1.7076147010 * s];
  }
  function inGamut(c) {
    return c.every(function (v) { return v >= -1e-4 && v <= 1 + 1e-4; });
  }
  function invertRgba(c, role) {
    var lab = toOklab(c[0], c[1], c[2]);
    if ((role === "background" && lab[0] <= THRESHOLD) || (role === "text" && lab[0] >= THRESHOLD)) return c;
    var target = 1 - lab[0];
    var lin = toLinear(target, lab[1], lab[2]);
    if (!inGamut(lin)) {
      var low = 0, high = 1;
      for (var i = 0; i < 24; i++) {
        var mid = (low + high) / 2;
        if (inGamut(toLinear(target, lab[1] * mid, lab[2] * mid))) low = mid; else high = mid;
      }
      lin = toLinear(target, lab[1] * low, lab[2] * low);
    }
    return [byte(gamma(lin[0])), byte(gamma(lin[1])), byte(gamma(lin[2])), c[3]];
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
