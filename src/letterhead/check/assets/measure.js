/* letterhead: what a rendered email shows, measured for the contrast and
 * dark-mode checks (letterhead.check.browser judges the numbers in Python).
 *
 * window.letterheadMeasure(mediaChanged) resolves to (mediaChanged: the colour
 * scheme was just emulated, wait for <picture> sources to swap)
 *   {scheme, texts: [...], images: [...]}
 * scheme: the root's used color-scheme (a "dark" in it: the canvas is dark).
 * texts: one entry per visible element holding text directly:
 *   {el, text, color, layers, image, unknown, size, weight}
 *   el: the element's index in document order (stable between renderings);
 *   layers: its background colours, nearest first, down to the first opaque
 *   one (none: the client's canvas shows through); image: the URL of a
 *   background image under those layers; unknown: a gradient is behind the
 *   text, its contrast cannot be told.
 * backdrops: background image URL → the pixel summary below, or null.
 * images: one entry per visible <img>:
 *   {el, src, alt, loaded, layers, unknown, total, clear, opaque, colours}
 *   total pixels sampled, clear (alpha < 16), opaque (alpha >= 200), mean:
 *   the opaque pixels' mean colour (averaged in linear light);
 *   colours: the opaque pixels' colours quantised (5 bits a channel) as
 *   [r, g, b, count], most frequent first (at most 48).
 */
(function () {
  "use strict";
  var LINEAR = [];
  for (var c = 0; c < 256; c++) LINEAR.push(c <= 10 ? c / 255 / 12.92 : Math.pow((c / 255 + 0.055) / 1.055, 2.4));
  function gamma(v) {
    return Math.round(255 * (v <= 0.0031308 ? v * 12.92 : 1.055 * Math.pow(v, 1 / 2.4) - 0.055));
  }
  var SKIP = {SCRIPT: 1, STYLE: 1, TITLE: 1, NOSCRIPT: 1, HEAD: 1, TEMPLATE: 1, OPTION: 1};

  function alphaOf(css) {
    var m = /^rgba?\(([^)]*)\)$/.exec(css);
    if (!m) return css === "transparent" ? 0 : 1;
    var parts = m[1].split(/[\s,/]+/).filter(Boolean);
    if (parts.length < 4) return 1;
    var a = parts[3];
    return a.slice(-1) === "%" ? parseFloat(a) / 100 : parseFloat(a);
  }

  function background(el) {  // {layers, image: URL of a background image under them, unknown}
    var layers = [];
    for (var node = el; node && node.nodeType === 1; node = node.parentElement) {
      var cs = getComputedStyle(node);
      if (cs.backgroundImage && cs.backgroundImage !== "none") {
        var m = /^url\((["']?)(.*?)\1\)$/.exec(cs.backgroundImage.trim());
        return m ? {layers: layers, image: m[2], unknown: false} : {layers: layers, unknown: true};
      }
      var a = alphaOf(cs.backgroundColor);
      if (a > 0) layers.push(cs.backgroundColor);
      if (a >= 1) break;
    }
    return {layers: layers, unknown: false};
  }

  function visible(el) {
    if (el.checkVisibility && !el.checkVisibility({
      checkOpacity: true, checkVisibilityCSS: true, opacityProperty: true, visibilityProperty: true})) {
      return false;
    }
    // the preheader idiom: max-height:0 / width:0 with overflow hidden
    for (var node = el; node && node.nodeType === 1 && node !== document.body; node = node.parentElement) {
      var cs = getComputedStyle(node);
      if (cs.overflow !== "visible" && (node.clientHeight === 0 || node.clientWidth === 0)) return false;
    }
    return true;
  }

  function hasArea(range) {
    var rects = range.getClientRects();
    for (var i = 0; i < rects.length; i++) {
      if (rects[i].width > 0 && rects[i].height > 0) return true;
    }
    return false;
  }

  function texts(index) {
    var byElement = new Map();
    var walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
    var range = document.createRange();
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      var value = node.nodeValue.replace(/\s+/g, " ").trim();
      var el = node.parentElement;
      if (!value || !el || SKIP[el.tagName]) continue;
      range.selectNodeContents(node);
      if (!hasArea(range)) continue;
      var entry = byElement.get(el);
      if (entry) { entry.text += " " + value; continue; }
      byElement.set(el, {text: value});
    }
    var out = [];
    byElement.forEach(function (entry, el) {
      if (!visible(el)) return;
      var cs = getComputedStyle(el);
      var size = parseFloat(cs.fontSize);
      if (!(size >= 4)) return;  // font-size:0/1px hiding tricks
      var bg = background(el);
      out.push({el: index.get(el), text: entry.text.slice(0, 120), color: cs.color, layers: bg.layers,
                image: bg.image || null, unknown: bg.unknown, size: size,
                weight: parseInt(cs.fontWeight, 10) || 400});
    });
    return out;
  }

  function pixels(src) {
    return new Promise(function (resolve) {
      var probe = new Image();
      probe.crossOrigin = "anonymous";  // the route answers with Access-Control-Allow-Origin: *
      var done = false;
      var finish = function (value) { if (!done) { done = true; resolve(value); } };
      setTimeout(function () { finish(null); }, 3000);
      probe.onerror = function () { finish(null); };
      probe.onload = function () {
        try {
          var w = probe.naturalWidth, h = probe.naturalHeight;
          if (!w || !h) return finish(null);
          var scale = Math.min(1, 128 / Math.max(w, h));
          w = Math.max(1, Math.round(w * scale)); h = Math.max(1, Math.round(h * scale));
          var canvas = document.createElement("canvas");
          canvas.width = w; canvas.height = h;
          var ctx = canvas.getContext("2d", {willReadFrequently: true});
          ctx.drawImage(probe, 0, 0, w, h);
          var data = ctx.getImageData(0, 0, w, h).data;
          var clear = 0, opaque = 0, counts = new Map(), sum = [0, 0, 0];
          for (var i = 0; i < data.length; i += 4) {
            var a = data[i + 3];
            if (a < 16) { clear++; continue; }
            if (a < 200) continue;
            opaque++;
            sum[0] += LINEAR[data[i]]; sum[1] += LINEAR[data[i + 1]]; sum[2] += LINEAR[data[i + 2]];
            var key = ((data[i] >> 3) << 10) | ((data[i + 1] >> 3) << 5) | (data[i + 2] >> 3);
            counts.set(key, (counts.get(key) || 0) + 1);
          }
          var colours = [];
          counts.forEach(function (n, k) {
            colours.push([((k >> 10) << 3) + 4, (((k >> 5) & 31) << 3) + 4, ((k & 31) << 3) + 4, n]);
          });
          colours.sort(function (x, y) { return y[3] - x[3]; });
          var mean = sum.map(function (v) { return opaque ? gamma(v / opaque) : 0; });
          finish({total: w * h, clear: clear, opaque: opaque, mean: mean, colours: colours.slice(0, 48)});
        } catch (e) {
          finish(null);  // a tainted canvas: the pixels cannot be read
        }
      };
      probe.src = src;
    });
  }

  async function images(index) {
    var out = [];
    var list = Array.prototype.slice.call(document.images);
    for (var i = 0; i < list.length; i++) {
      var img = list[i];
      var rect = img.getBoundingClientRect();
      if (rect.width * rect.height < 16 || !visible(img)) continue;  // spacers, tracking pixels, hidden
      var src = img.currentSrc || img.src;
      var loaded = img.complete && img.naturalWidth > 0;
      var bg = background(img);
      var entry = {el: index.get(img), src: src, alt: img.getAttribute("alt"), loaded: loaded,
                   layers: bg.layers, unknown: bg.unknown};
      if (loaded) {
        var stats = await pixels(src);
        if (stats) Object.assign(entry, stats); else entry.loaded = false;
      }
      out.push(entry);
    }
    return out;
  }

  async function settled(mediaChanged) {  // a <picture> source swapped by a media change loads anew
    // the swap is scheduled, not immediate: let two frames pass first
    if (mediaChanged) await new Promise(function (resolve) {
      requestAnimationFrame(function () { requestAnimationFrame(resolve); });
      setTimeout(resolve, 200);  // no frames in a hidden page
    });
    var pending = Array.prototype.filter.call(document.images, function (img) { return !img.complete; });
    await Promise.race([
      Promise.all(pending.map(function (img) { return img.decode().catch(function () {}); })),
      new Promise(function (resolve) { setTimeout(resolve, 3000); }),
    ]);
  }

  window.letterheadMeasure = async function (mediaChanged) {
    await settled(mediaChanged);
    var index = new Map();
    var all = document.getElementsByTagName("*");
    for (var i = 0; i < all.length; i++) index.set(all[i], i);
    var root = getComputedStyle(document.documentElement);
    var found = texts(index), backdrops = {};
    for (var j = 0; j < found.length; j++) {
      var url = found[j].image;
      if (url && !(url in backdrops)) backdrops[url] = await pixels(url);
    }
    return {scheme: root.colorScheme || "normal", texts: found, backdrops: backdrops, images: await images(index)};
  };
})();
