// Kizuna web shell: the few behaviours that need JavaScript. Every page works without it.
(function () {
  "use strict";

  var toastTimer = null;

  // showToast puts a short message in the page's live region for a few seconds.
  function showToast(text) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.hidden = true; }, 6000);
  }

  // copyText copies to the clipboard, falling back to a selection where the API is missing
  // (plain-HTTP origins other than localhost).
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-copy]");
    if (!btn) return;
    var src = document.querySelector(btn.getAttribute("data-copy"));
    if (!src) return;
    var label = btn.textContent;
    copyText(src.textContent.trim()).then(function () {
      btn.textContent = btn.getAttribute("data-copied") || label;
      btn.classList.add("is-done");
      setTimeout(function () { btn.textContent = label; btn.classList.remove("is-done"); }, 2000);
    }, function () {
      // Leave the key selected so the person can copy it by hand.
      var range = document.createRange();
      range.selectNodeContents(src);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    });
  });

  // htmx does not swap error responses; the server sends a short plain-text explanation instead.
  document.addEventListener("htmx:responseError", function (ev) {
    var xhr = ev.detail.xhr;
    var type = (xhr && xhr.getResponseHeader("Content-Type")) || "";
    var toast = document.getElementById("toast");
    var text = type.indexOf("text/plain") === 0 ? xhr.responseText : "";
    showToast(text || (toast && toast.getAttribute("data-generic")) || "Error");
  });

  document.addEventListener("htmx:sendError", function () {
    var toast = document.getElementById("toast");
    showToast((toast && toast.getAttribute("data-offline")) || "Network error");
  });

  // Reading time on post pages: one view when the page opens, then every 15 s while it is
  // visible the seconds read, and what is left when it is hidden or closed. The post comes from a
  // data attribute, so the page itself stays the same for every visitor (and cacheable).
  var reading = document.querySelector("[data-read]");
  if (reading && navigator.sendBeacon) {
    var readURL = reading.getAttribute("data-read");
    var beacon = function (fields) { navigator.sendBeacon(readURL, new URLSearchParams(fields)); };
    var since = document.visibilityState === "visible" ? Date.now() : 0;
    var flush = function (min) {
      if (!since) return;
      var now = Date.now();
      var secs = Math.round((now - since) / 1000);
      if (secs < min) return;
      since = now;
      beacon({ seconds: String(Math.min(secs, 60)) });
    };
    beacon({ view: "1", referrer: document.referrer || "" });
    setInterval(function () {
      if (document.visibilityState === "visible") flush(15);
    }, 15000);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") {
        flush(1);
        since = 0;
      } else if (!since) {
        since = Date.now();
      }
    });
    window.addEventListener("pagehide", function () { flush(1); since = 0; });
  }

  // Image uploads in the composers: the file goes to POST /media and its Markdown into the
  // textarea at the cursor. Without JavaScript the link to the upload page stays instead.
  function insertAtCursor(area, text) {
    var start = area.selectionStart, end = area.selectionEnd, v = area.value;
    var before = v.slice(0, start), after = v.slice(end);
    if (before && !/\n$/.test(before)) text = "\n" + text;
    if (!/^\n/.test(after)) text = text + "\n";
    area.value = before + text + after;
    area.selectionStart = area.selectionEnd = before.length + text.length;
    area.focus();
  }

  document.querySelectorAll("[data-upload]").forEach(function (box) {
    var label = box.querySelector(".image-upload-js");
    var fallback = box.querySelector(".image-upload-nojs");
    var input = box.querySelector("input[type=file]");
    var status = box.querySelector(".image-upload-status");
    var field = box.closest(".field");
    var area = field && field.querySelector("textarea");
    if (!label || !input || !area || !window.fetch || !window.FormData) return;
    label.hidden = false;
    if (fallback) fallback.hidden = true;
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file) return;
      var body = new FormData();
      body.append("file", file);
      status.textContent = box.getAttribute("data-uploading") || "";
      status.classList.remove("is-error");
      label.classList.add("is-busy");
      fetch(box.getAttribute("data-upload"), { method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (res) {
          if (res.ok) return res.json();
          return res.text().then(function (t) { throw new Error(t); });
        })
        .then(function (img) {
          insertAtCursor(area, img.markdown);
          status.textContent = box.getAttribute("data-done") || "";
        }, function (err) {
          var toast = document.getElementById("toast");
          status.textContent = (err && err.message) || (toast && toast.getAttribute("data-generic")) || "Error";
          status.classList.add("is-error");
        })
        .then(function () {
          label.classList.remove("is-busy");
          input.value = "";
        });
    });
  });

  // The segment builder's preview follows every change through htmx; its Preview button is for
  // browsers without JavaScript.
  document.addEventListener("htmx:load", function (ev) {
    var root = ev.detail.elt;
    if (!root || !root.querySelectorAll) return;
    root.querySelectorAll(".segment-preview-btn").forEach(function (el) { el.hidden = true; });
  });

  // The segment builder remembers whether the rows or the advanced JSON changed last, so that a
  // row changed after JSON was typed (and not applied) is what the preview and Save go by.
  ["input", "change"].forEach(function (type) {
    document.addEventListener(type, function (ev) {
      var t = ev.target;
      var form = t && t.form;
      if (!form || form.id !== "segment-form" || !form.elements.last_edit) return;
      if (t.name === "definition") form.elements.last_edit.value = "json";
      else if (/^c[0-9]+\./.test(t.name || "")) form.elements.last_edit.value = "rows";
    });
  });

  // After htmx shows a new API key, move focus to it so keyboard and screen-reader users find it.
  document.addEventListener("htmx:afterSettle", function (ev) {
    var secret = ev.detail.target && ev.detail.target.querySelector && ev.detail.target.querySelector(".secret-panel");
    if (secret) {
      secret.setAttribute("tabindex", "-1");
      secret.focus();
    }
  });
})();
