/*! kizuna.js — the Kizuna browser tracker. No dependencies.
 *
 * <script src="https://community.example.jp/kizuna.js" data-write-key="WRITE_KEY"></script>
 * <script>kizuna.page(); kizuna.track("Pricing Viewed", {plan: "pro"}); kizuna.identify("u-1", {email: "taro@example.jp"});</script>
 *
 * Calls made before the script loads are replayed: window.kizuna = window.kizuna || [];
 * kizuna.push(["track", "Signed Up", {plan: "pro"}]) — or define stub methods that push
 * [method, ...args]. data-api-host overrides the endpoint (the script's own origin by default).
 */
(function (w, d) {
  "use strict";
  var VERSION = "1.0.0";
  var stub = w.kizuna;
  if (stub && stub.__kizuna) return; // loaded twice

  var AID = "kizuna_aid", UID = "kizuna_uid", QUEUE = "kizuna_queue";
  var BATCH = 20, INTERVAL = 1000, TRIES = 5, CAP = 500, BEACON_MAX = 60000;

  var script = d.currentScript || (function () {
    var all = d.getElementsByTagName("script");
    for (var i = all.length - 1; i >= 0; i--) {
      if (all[i].getAttribute("data-write-key") || /\/kizuna\.js(\?|#|$)/.test(all[i].src || "")) return all[i];
    }
    return null;
  })();
  var attr = function (n) { return (script && script.getAttribute(n)) || ""; };
  var writeKey = attr("data-write-key");
  var apiHost = attr("data-api-host");
  if (!apiHost && script && script.src) {
    try { apiHost = new URL(script.src, location.href).origin; } catch (e) { apiHost = ""; }
  }
  apiHost = apiHost.replace(/\/+$/, "");

  // Storage: every access may throw (private modes, blocked storage).
  function lsGet(k) { try { return w.localStorage.getItem(k); } catch (e) { return null; } }
  function lsSet(k, v) { try { w.localStorage.setItem(k, v); } catch (e) { /* full or blocked */ } }
  function lsDel(k) { try { w.localStorage.removeItem(k); } catch (e) { /* blocked */ } }
  function cookieGet(k) {
    try {
      var parts = d.cookie ? d.cookie.split(/;\s*/) : [];
      for (var i = 0; i < parts.length; i++) {
        var eq = parts[i].indexOf("=");
        if (parts[i].slice(0, eq) === k) return decodeURIComponent(parts[i].slice(eq + 1));
      }
    } catch (e) { /* blocked */ }
    return null;
  }
  function cookieSet(k, v, maxAge) {
    try {
      d.cookie = k + "=" + encodeURIComponent(v) + "; Max-Age=" + maxAge + "; Path=/; SameSite=Lax" +
        (location.protocol === "https:" ? "; Secure" : "");
    } catch (e) { /* blocked */ }
  }

  function uuid() {
    var c = w.crypto;
    if (c && typeof c.randomUUID === "function") {
      try { return c.randomUUID(); } catch (e) { /* insecure context */ }
    }
    var b = new Array(16);
    if (c && c.getRandomValues) {
      var r = c.getRandomValues(new Uint8Array(16));
      for (var i = 0; i < 16; i++) b[i] = r[i];
    } else {
      for (var j = 0; j < 16; j++) b[j] = Math.floor(Math.random() * 256);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = "";
    for (var k = 0; k < 16; k++) {
      h += (b[k] + 0x100).toString(16).slice(1);
      if (k === 3 || k === 5 || k === 7 || k === 9) h += "-";
    }
    return h;
  }

  function anonymousId() {
    var id = cookieGet(AID) || lsGet(AID);
    if (!id) id = uuid();
    cookieSet(AID, id, 31536000); // refreshed on use: a year from the last visit
    lsSet(AID, id);
    return id;
  }

  function pageInfo() {
    return {
      path: location.pathname,
      referrer: d.referrer,
      title: d.title,
      url: location.href,
      search: location.search
    };
  }

  function assign(to, from) {
    if (from && typeof from === "object") for (var k in from) if (Object.prototype.hasOwnProperty.call(from, k)) to[k] = from[k];
    return to;
  }

  // The queue, in memory and in localStorage so a reload keeps what was not yet sent.
  // Stored events older than STALE are dropped: the API forgets message ids after 24 h, so a
  // resend that late could be stored twice.
  var STALE = 20 * 3600 * 1000;
  var queue = [];
  try {
    var saved = JSON.parse(lsGet(QUEUE) || "[]");
    if (Array.isArray(saved)) {
      queue = saved.filter(function (ev) {
        return ev && ev.messageId && Date.now() - Date.parse(ev.timestamp) < STALE;
      }).slice(-CAP);
    }
  } catch (e) { /* corrupt: start over */ }
  function save() {
    if (queue.length > CAP) queue = queue.slice(-CAP);
    if (queue.length) lsSet(QUEUE, JSON.stringify(queue)); else lsDel(QUEUE);
  }

  var timer = null, inflight = false, attempts = 0;

  function schedule(delay) {
    if (timer) return;
    timer = setTimeout(function () { timer = null; flush(); }, delay);
  }

  function body(batch) {
    return JSON.stringify({ batch: batch, sentAt: new Date().toISOString(), writeKey: writeKey });
  }

  function drop(sent) {
    var ids = {};
    for (var i = 0; i < sent.length; i++) ids[sent[i].messageId] = true;
    queue = queue.filter(function (ev) { return !ids[ev.messageId]; });
    save();
  }

  // flush sends the oldest events; it resolves when that request is done.
  function flush() {
    if (inflight || !queue.length || !w.fetch) return Promise.resolve();
    if (timer) { clearTimeout(timer); timer = null; }
    inflight = true;
    var batch = queue.slice(0, BATCH);
    var payload = body(batch);
    var done = function (retry) {
      inflight = false;
      if (retry) {
        attempts++;
        if (attempts < TRIES) {
          schedule(Math.min(1000 * Math.pow(2, attempts - 1), 30000) + Math.floor(Math.random() * 250));
        }
        // After TRIES the events stay stored; the next page load tries again.
        return;
      }
      attempts = 0;
      drop(batch);
      if (queue.length) schedule(queue.length >= BATCH ? 0 : INTERVAL);
    };
    return w.fetch(apiHost + "/v1/batch", {
      method: "POST",
      keepalive: payload.length < BEACON_MAX,
      headers: { "Content-Type": "text/plain" }, // a CORS-safelisted type: no preflight
      body: payload
    }).then(function (res) {
      done(res.status >= 500); // 2xx sent, 4xx will never be accepted: both leave the queue
    }, function () {
      done(true);
    });
  }

  // beacon hands the whole queue to the browser as the page goes away. A beacon's fate is
  // unknown, so what it carried stays in localStorage until the next change there: a page loaded
  // right after sends it again, and the API drops the duplicate message ids.
  function beacon() {
    if (!queue.length) return;
    if (!navigator.sendBeacon) { flush(); return; }
    var rest = queue.slice();
    while (rest.length) {
      var n = Math.min(BATCH, rest.length), payload;
      while ((payload = body(rest.slice(0, n))).length > BEACON_MAX && n > 1) n = Math.ceil(n / 2);
      var ok = false;
      try { ok = navigator.sendBeacon(apiHost + "/v1/batch", new Blob([payload], { type: "text/plain" })); } catch (e) { ok = false; }
      if (!ok) return; // the rest stays queued
      var sent = rest.slice(0, n);
      rest = rest.slice(n);
      queue = queue.filter(function (ev) { return sent.indexOf(ev) < 0; });
    }
  }

  function enqueue(ev) {
    var now = new Date().toISOString();
    ev.messageId = uuid();
    ev.timestamp = now;
    ev.anonymousId = anonymousId();
    var uid = lsGet(UID);
    if (uid && !ev.userId) ev.userId = uid;
    ev.context = {
      page: pageInfo(),
      userAgent: navigator.userAgent,
      locale: navigator.language,
      library: { name: "kizuna.js", version: VERSION }
    };
    queue.push(ev);
    save();
    if (queue.length >= BATCH) flush(); else schedule(INTERVAL);
  }

  var api = {
    __kizuna: true,
    VERSION: VERSION,
    // page([name], [properties])
    page: function (name, properties) {
      if (name && typeof name === "object") { properties = name; name = undefined; }
      var ev = { type: "page", properties: assign(pageInfo(), properties) };
      if (name) ev.name = String(name);
      enqueue(ev);
    },
    track: function (event, properties) {
      if (!event) return;
      enqueue({ type: "track", event: String(event), properties: assign({}, properties) });
    },
    // identify([userId], [traits])
    identify: function (userId, traits) {
      if (userId && typeof userId === "object") { traits = userId; userId = undefined; }
      if (userId !== undefined && userId !== null && userId !== "") lsSet(UID, String(userId));
      enqueue({ type: "identify", userId: lsGet(UID) || undefined, traits: assign({}, traits) });
    },
    reset: function () {
      lsDel(UID);
      lsDel(AID);
      cookieSet(AID, "", 0);
    },
    user: function () { return { anonymousId: anonymousId(), userId: lsGet(UID) }; },
    flush: function () { return flush(); },
    push: function (call) {
      if (!call || typeof call.length !== "number") return;
      var args = Array.prototype.slice.call(call);
      var fn = api[args.shift()];
      if (typeof fn === "function" && fn !== api.push) fn.apply(api, args);
    }
  };

  w.kizuna = api;
  if (stub && typeof stub.length === "number") {
    for (var i = 0; i < stub.length; i++) api.push(stub[i]);
  }

  d.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") beacon(); });
  w.addEventListener("pagehide", beacon);
  if (queue.length) schedule(0); // left over from the last page
})(window, document);
