/* letterhead preview: sample switching, the colour-scheme switch, the
   sample editor, the outbox (bodies fetched when opened, paging, clearing)
   and live reload.
   Inlined into every page (allowed by its hash in the page's CSP), so it must
   never contain a closing script tag sequence. */
(function () {
  "use strict";
  var body = document.body;
  var live = body.getAttribute("data-live") === "1";
  var pageKind = body.getAttribute("data-page");
  var model = null;
  var dirty = false; /* the editor holds data that is not the selected sample */
  var renderSeq = 0;
  var editTimer = null;
  var scheme = "light"; /* light | dark | inverted: what the template page's frames show */
  var shown = null; /* the render the frames show */
  var DEFAULT_STATUS = live
    ? "Edit the JSON: the email re-renders as you type (the sample file is not changed)."
    : "Static export: run letterhead dev to edit sample data live.";

  function $(id) { return document.getElementById(id); }

  function readModel() {
    var el = $("model");
    model = el ? JSON.parse(el.textContent) : null;
  }

  /* Frames grow to their content: no inner scrollbar, so a 375 px frame
     really lays the email out at 375 px. */
  function fit(frame) {
    try {
      var doc = frame.contentDocument;
      if (!doc || !doc.documentElement) { return; }
      var h = doc.documentElement.getBoundingClientRect().height;
      if (doc.body) { h = Math.max(h, doc.body.scrollHeight); }
      h = Math.ceil(h);
      if (h > 0) { frame.style.height = h + "px"; }
    } catch (e) { /* not same-origin: keep the fixed height */ }
  }

  /* "inverted": the forced inversion of Gmail's apps and Outlook.com, applied
     to the frame's document by invert.js (window.letterheadInvert), inlined
     before this script; "dark" frames hold the HTML with its
     prefers-color-scheme: dark rules forced on (the server's html_dark). */
  function applyScheme(frame) {
    if (!frame.hasAttribute("data-scheme-frame")) { return; }
    var doc = null;
    try { doc = frame.contentDocument; } catch (e) { doc = null; }
    if (!doc || !doc.documentElement || doc.readyState !== "complete" || doc.URL !== "about:srcdoc") { return; }
    if (scheme === "inverted" && window.letterheadInvert) { window.letterheadInvert(doc); }
    frame.setAttribute("data-scheme", scheme);
  }

  function watchFrame(frame) {
    if (frame.getAttribute("data-watched")) { return; }
    frame.setAttribute("data-watched", "1");
    frame.addEventListener("load", function () {
      applyScheme(frame);
      fit(frame);
      setTimeout(function () { fit(frame); }, 300);
      frame.setAttribute("data-loaded", String(Number(frame.getAttribute("data-loaded") || 0) + 1));
    });
    applyScheme(frame);
    fit(frame);
  }

  function watchFrames() {
    var frames = document.querySelectorAll("iframe");
    for (var i = 0; i < frames.length; i++) { watchFrame(frames[i]); }
  }

  function setHtml(frame, html) {
    if (frame && frame.srcdoc !== html) { frame.srcdoc = html; }
  }

  function setStatus(text, isError) {
    var s = $("editor-status");
    if (!s) { return; }
    s.textContent = text;
    s.classList.toggle("error", !!isError);
  }

  function showError(box, e) {
    box.querySelector(".headline").textContent = e ? e.headline : "";
    box.querySelector(".summary").textContent = e ? e.summary : "";
    var src = box.querySelector(".source-line");
    src.textContent = (e && e.source_line) || "";
    src.hidden = !(e && e.source_line);
    var hint = box.querySelector(".hint");
    hint.textContent = e && e.hint ? "fix: " + e.hint : "";
    hint.hidden = !(e && e.hint);
  }

  function frameHtml(r) {
    return scheme === "dark" && r.html_dark ? r.html_dark : r.html;
  }

  function showSchemeNote() {
    var note = $("scheme-note");
    if (note) { note.hidden = !(scheme === "dark" && shown && shown.ok && !shown.html_dark); }
  }

  function showRender(r) {
    shown = r;
    showSchemeNote();
    $("subject").textContent = r.subject || "";
    $("html-size").textContent = r.size || "";
    $("text-part").textContent = r.text || "";
    var err = $("render-error");
    var frames = $("frames");
    if (r.ok) {
      err.hidden = true;
      frames.hidden = false;
      setHtml($("frame-desktop"), frameHtml(r));
      setHtml($("frame-mobile"), frameHtml(r));
    } else {
      /* a template that does not compile says so once, at the top */
      showError(err, r.error);
      err.hidden = !!$("compile-error");
      frames.hidden = true;
    }
    body.setAttribute("data-rendered", String(Number(body.getAttribute("data-rendered") || 0) + 1));
  }

  function pressButtons() {
    var buttons = document.querySelectorAll("[data-sample]");
    for (var i = 0; i < buttons.length; i++) {
      var b = buttons[i];
      var name = b.getAttribute("data-sample");
      b.setAttribute("aria-pressed", String(name === "" ? dirty : (!dirty && name === model.current)));
    }
    var custom = $("custom-sample");
    if (custom) { custom.hidden = !dirty; }
    var edited = $("check-edited");
    if (edited) { edited.hidden = !dirty; }
    var reset = $("editor-reset");
    if (reset) { reset.hidden = !dirty; }
  }

  function setEditor(data) {
    var ed = $("data-editor");
    if (!ed) { return; }
    ed.value = JSON.stringify(data, null, 2);
    ed.classList.remove("invalid");
    var label = $("editor-sample");
    if (label) { label.textContent = model.current || ""; }
    setStatus(DEFAULT_STATUS, false);
  }

  /* sample=default&scheme=dark (no scheme for light) */
  function stateParams(sample) {
    var q = [];
    if (sample) { q.push("sample=" + encodeURIComponent(sample)); }
    if (scheme !== "light") { q.push("scheme=" + scheme); }
    return q;
  }

  /* ?locale=es&sample=default&scheme=dark (no locale for the default locale, nor in a project without locales) */
  function pageQuery(sample) {
    var q = model.url_locale ? ["locale=" + encodeURIComponent(model.url_locale)] : [];
    q = q.concat(stateParams(sample));
    return q.length ? "?" + q.join("&") : "";
  }

  /* the locale switch opens the other locale with the same sample and colours */
  function carrySample(name) {
    var links = document.querySelectorAll("a[data-locale][data-href]");
    var q = stateParams(name);
    for (var i = 0; i < links.length; i++) {
      var base = links[i].getAttribute("data-href");
      links[i].href = !q.length ? base : live
        ? base + (base.indexOf("?") < 0 ? "?" : "&") + q.join("&")
        : base + "#" + q.join("&");
    }
  }

  function updateUrl(name) {
    carrySample(name);
    if (!window.history || !history.replaceState) { return; }
    if (live) {
      history.replaceState(null, "", (model.path || location.pathname) + pageQuery(name));
    } else {
      history.replaceState(null, "", "#" + stateParams(name).join("&"));
    }
  }

  /* the Check panel shows the findings of the sample shown */
  function showCheck(name) {
    var blocks = document.querySelectorAll("#check [data-check-sample]");
    for (var i = 0; i < blocks.length; i++) { blocks[i].hidden = blocks[i].getAttribute("data-check-sample") !== name; }
  }

  function pressSchemes() {
    var buttons = document.querySelectorAll("[data-scheme]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].setAttribute("aria-pressed", String(buttons[i].getAttribute("data-scheme") === scheme));
    }
  }

  function setScheme(name) {
    if (name !== "light" && name !== "dark" && name !== "inverted") { return; }
    if (name === "inverted" && !window.letterheadInvert) { return; }
    var was = scheme;
    scheme = name;
    pressSchemes();
    showSchemeNote();
    if (model) { model.scheme = name; updateUrl(model.current); }
    var frames = document.querySelectorAll("iframe[data-scheme-frame]");
    for (var i = 0; i < frames.length; i++) {
      var html = shown && shown.ok ? frameHtml(shown) : frames[i].srcdoc;
      /* an inverted document is reloaded to undo it; light → inverted inverts in place */
      if (was === "inverted" || frames[i].srcdoc !== html) { frames[i].srcdoc = html; } else { applyScheme(frames[i]); }
    }
  }

  function selectSample(name) {
    if (!model || !Object.prototype.hasOwnProperty.call(model.samples, name)) { return; }
    model.current = name;
    dirty = false;
    pressButtons();
    showCheck(name);
    setEditor(model.samples[name].data);
    showRender(model.samples[name].render);
    updateUrl(name);
  }

  function renderCustom(data) {
    var seq = ++renderSeq;
    setStatus("rendering…", false);
    fetch("/api/render/" + encodeURIComponent(model.name), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ data: data }),
      cache: "no-store"
    }).then(function (resp) { return resp.json(); }).then(function (res) {
      if (seq !== renderSeq) { return; }
      showRender(res);
      setStatus(res.ok ? "Showing your edit (the sample file is unchanged)."
                       : "Your edit does not render: " + (res.error ? res.error.headline : "error"), !res.ok);
    }).catch(function (e) {
      if (seq === renderSeq) { setStatus("cannot reach letterhead dev: " + e, true); }
    });
  }

  function onEdit() {
    var ed = $("data-editor");
    var data;
    try {
      data = JSON.parse(ed.value);
    } catch (e) {
      ed.classList.add("invalid");
      setStatus("not valid JSON: " + e.message, true);
      return;
    }
    ed.classList.remove("invalid");
    var sample = model.current ? model.samples[model.current] : null;
    dirty = !sample || JSON.stringify(data) !== JSON.stringify(sample.data);
    pressButtons();
    clearTimeout(editTimer);
    if (!dirty) {
      renderSeq++;
      showRender(sample.render);
      setStatus(DEFAULT_STATUS, false);
      return;
    }
    editTimer = setTimeout(function () { renderCustom(data); }, 120);
  }

  function initTemplatePage() {
    readModel();
    if (!model) { return; }
    scheme = model.scheme || "light";
    shown = model.current ? model.samples[model.current].render : null;
    var frames = document.querySelectorAll("iframe[data-scheme-frame]");
    for (var i = 0; i < frames.length; i++) { applyScheme(frames[i]); } /* in case one loaded already */
    document.addEventListener("click", function (e) {
      var b = e.target.closest ? e.target.closest("[data-sample]") : null;
      if (b && b.getAttribute("data-sample")) { selectSample(b.getAttribute("data-sample")); }
      var s = e.target.closest ? e.target.closest("[data-scheme]") : null;
      if (s) { setScheme(s.getAttribute("data-scheme")); }
      if (e.target.id === "editor-reset" && model.current) { selectSample(model.current); }
    });
    var ed = $("data-editor");
    if (ed && live) { ed.addEventListener("input", onEdit); }
    var m = /(?:^#|&)sample=([^&]+)/.exec(location.hash);
    if (m) { selectSample(decodeURIComponent(m[1])); }
    var c = /(?:^#|&)scheme=([a-z]+)/.exec(location.hash); /* the export keeps it in the fragment */
    if (c && c[1] !== scheme) { setScheme(c[1]); }
  }

  /* -- live reload ------------------------------------------------------ */
  function setLive(state, label) {
    var el = $("live-status");
    if (!el) { return; }
    el.classList.toggle("offline", state === "offline");
    el.classList.toggle("busy", state === "busy");
    $("live-label").textContent = label || state;
  }

  function fetchPage(url) {
    return fetch(url, { cache: "no-store" }).then(function (resp) {
      if (resp.status === 404) { return null; }
      return resp.text().then(function (html) { return new DOMParser().parseFromString(html, "text/html"); });
    });
  }

  function refreshTemplate() {
    var url = (model.path || location.pathname) + pageQuery(model.current);
    return fetchPage(url).then(function (doc) {
      if (!doc) { location.href = "/"; return; }
      var meta = doc.getElementById("meta");
      var newModel = JSON.parse(doc.getElementById("model").textContent);
      $("meta").replaceWith(document.adoptNode(meta));
      $("model").textContent = doc.getElementById("model").textContent;
      var keep = model.current && Object.prototype.hasOwnProperty.call(newModel.samples, model.current)
        ? model.current : newModel.current;
      var editorData = null;
      if (dirty) {
        try { editorData = JSON.parse($("data-editor").value); } catch (e) { editorData = null; }
      }
      model = newModel;
      model.current = keep;
      model.scheme = scheme;
      pressSchemes();
      showCheck(keep);
      $("frames").classList.toggle("stale", !!model.stale);
      $("envelope").classList.toggle("stale", !!model.stale);
      if (dirty && editorData !== null) {
        pressButtons();
        renderCustom(editorData);
      } else if (keep) {
        dirty = false;
        pressButtons();
        setEditor(model.samples[keep].data);
        showRender(model.samples[keep].render);
      } else {
        $("frames").hidden = true;
      }
      body.setAttribute("data-version", String(model.version));
    });
  }

  /* -- the outbox: a page lists messages; a body is fetched when opened --- */
  var bodies = {}; /* message id -> its body (from data-body-url + id), kept across refreshes */

  function outboxPage() {
    var view = $("outbox-view");
    return view ? Number(view.getAttribute("data-outbox-page") || 1) : 1;
  }

  /* the server names its own URLs (data-* of #outbox-view) */
  function outboxUrl(which) {
    var view = $("outbox-view");
    return view ? view.getAttribute("data-" + which + "-url") : null;
  }

  function showHtml(li, b) {
    var slot = li.querySelector('[data-body="html"]');
    var details = slot ? slot.closest("details") : null;
    if (!slot || !details || !details.open || slot.querySelector("iframe")) { return; }
    var frame = document.createElement("iframe");
    frame.className = "outbox-frame";
    frame.title = "HTML part of " + li.getAttribute("data-message-id");
    frame.width = slot.getAttribute("data-width") || "720";
    frame.height = "600";
    frame.setAttribute("scrolling", "no");
    frame.setAttribute("sandbox", "allow-same-origin allow-popups allow-popups-to-escape-sandbox");
    frame.setAttribute("referrerpolicy", "no-referrer");
    frame.srcdoc = b.html;
    slot.textContent = "";
    slot.appendChild(frame);
    watchFrame(frame);
  }

  function fillBody(li, b) {
    var text = li.querySelector('[data-body="text"]');
    if (text) { text.textContent = b.text || ""; }
    var data = li.querySelector('[data-body="data"]');
    if (data) { data.textContent = b.data_text === null ? "" : b.data_text; }
    var note = li.querySelector('[data-body="html-copy"]');
    if (note) { note.hidden = !b.has_html_copy; }
    showHtml(li, b);
    li.setAttribute("data-body-loaded", "1");
  }

  function bodyMissing(li, why) {
    var slots = li.querySelectorAll("[data-body]");
    for (var i = 0; i < slots.length; i++) {
      if (slots[i].getAttribute("data-body") !== "html-copy") { slots[i].textContent = why; }
    }
  }

  function loadBody(li) {
    var id = li.getAttribute("data-message-id");
    if (Object.prototype.hasOwnProperty.call(bodies, id)) { fillBody(li, bodies[id]); return; }
    if (li.getAttribute("data-body-loading")) { return; }
    li.setAttribute("data-body-loading", "1");
    fetch(outboxUrl("body") + encodeURIComponent(id), { cache: "no-store" }).then(function (resp) {
      if (resp.status === 404) { return null; }
      if (!resp.ok) { throw new Error("HTTP " + resp.status); }
      return resp.json();
    }).then(function (b) {
      li.removeAttribute("data-body-loading");
      if (b === null) { bodyMissing(li, "This message is no longer in the outbox (cleared)."); return; }
      bodies[id] = b;
      fillBody(li, b);
    }).catch(function (e) {
      li.removeAttribute("data-body-loading");
      bodyMissing(li, "cannot reach letterhead dev: " + e);
    });
  }

  function loadOpenBodies() {
    var open = document.querySelectorAll("#outbox details[data-part][open]");
    for (var i = 0; i < open.length; i++) { loadBody(open[i].closest("[data-message-id]")); }
  }

  /* what is open now: reopened after the list is redrawn (a new send) */
  function openParts() {
    var keys = {};
    var open = document.querySelectorAll("#outbox details[data-part][open]");
    for (var i = 0; i < open.length; i++) {
      keys[open[i].closest("[data-message-id]").getAttribute("data-message-id") + " " +
           open[i].getAttribute("data-part")] = true;
    }
    return keys;
  }

  function reopen(keys) {
    var parts = document.querySelectorAll("#outbox details[data-part]");
    for (var i = 0; i < parts.length; i++) {
      var key = parts[i].closest("[data-message-id]").getAttribute("data-message-id") + " " +
                parts[i].getAttribute("data-part");
      if (keys[key]) { parts[i].open = true; }
    }
  }

  function clearOutbox(button) {
    var total = Number(($("outbox-view") || button).getAttribute("data-outbox-total") || 0);
    if (!window.confirm("Clear the outbox? " + total + " message" + (total === 1 ? "" : "s") +
                        " will be forgotten (templates and senders stay).")) { return; }
    button.disabled = true;
    var first = outboxUrl("first");
    fetch(outboxUrl("clear"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
      cache: "no-store"
    }).then(function (resp) {
      if (!resp.ok) { throw new Error("HTTP " + resp.status); }
      bodies = {};
      if (outboxPage() !== 1 || location.search) { location.assign(first); return; }
      return refreshMain();
    }).catch(function (e) {
      button.disabled = false;
      window.alert("Could not clear the outbox: " + e);
    });
  }

  function initOutboxPage() {
    document.addEventListener("click", function (e) {
      var b = e.target.closest ? e.target.closest("#outbox-clear") : null;
      if (b) { clearOutbox(b); }
    });
    loadOpenBodies();
  }

  function onOutbox(d) {
    if (outboxPage() === 1 || d.cleared) {
      if (outboxPage() !== 1) { location.assign(outboxUrl("first")); return; }
      refreshMain();
    } else {
      var note = $("outbox-new");
      if (note) { note.hidden = false; }
    }
  }

  function refreshMain() {
    var keys = pageKind === "outbox" ? openParts() : null;
    return fetchPage(location.pathname + location.search).then(function (doc) {
      if (!doc) { return; }
      $("main").replaceWith(document.adoptNode(doc.getElementById("main")));
      if (keys) { reopen(keys); loadOpenBodies(); }
      watchFrames();
      body.setAttribute("data-refreshed", String(Number(body.getAttribute("data-refreshed") || 0) + 1));
    });
  }

  function onChange(d) {
    if (pageKind === "template") {
      var family = model.family || [model.name];
      var touched = d.names === null || family.some(function (n) { return d.names.indexOf(n) !== -1; });
      if (touched) { refreshTemplate(); }
    } else if (pageKind === "index") {
      refreshMain();
    }
  }

  function connect() {
    if (!window.EventSource) { return; }
    var es = new EventSource("/events");
    es.addEventListener("hello", function (e) {
      var d = JSON.parse(e.data);
      var boot = body.getAttribute("data-boot");
      if (boot && d.boot !== boot) { location.reload(); return; }
      setLive("live");
    });
    es.addEventListener("change", function (e) { onChange(JSON.parse(e.data)); });
    es.addEventListener("outbox", function (e) { if (pageKind === "outbox") { onOutbox(JSON.parse(e.data)); } });
    es.onerror = function () { setLive("offline", "offline: is letterhead dev running?"); };
  }

  /* a frame inside a closed <details> has no size until it opens; an
     outbox message's body is fetched the first time one of its parts opens */
  document.addEventListener("toggle", function (e) {
    var frames = e.target.querySelectorAll ? e.target.querySelectorAll("iframe") : [];
    for (var i = 0; i < frames.length; i++) { fit(frames[i]); }
    if (pageKind === "outbox" && e.target.open && e.target.getAttribute("data-part")) {
      loadBody(e.target.closest("[data-message-id]"));
    }
  }, true);

  watchFrames();
  if (pageKind === "template") { initTemplatePage(); }
  if (pageKind === "outbox") { initOutboxPage(); }
  if (live) { connect(); }
}());
