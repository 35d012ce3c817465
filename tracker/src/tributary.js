/* Tributary tracker — https://github.com/tributary/tributary — MIT */
(function (w, d) {
  "use strict";
  var s = d.currentScript;
  if (!s || (w.tributary && w.tributary.v)) return;
  var at = function (a) { return s.getAttribute("data-" + a); };
  var has = function (a) { return s.hasAttribute("data-" + a); };
  var site = at("site"), api = at("api") || new URL(s.src).origin + "/api/event";
  var cookieless = has("cookieless"), hashMode = has("hash"), local = has("allow-localhost");
  // data-exclude="/admin/*, /preview/**": * is one path segment, ** anything.
  var excl = (at("exclude") || "").split(",").map(function (p) {
    p = p.trim();
    return p && new RegExp("^" + p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*\*/g, "\0").replace(/\*/g, "[^/]*").replace(/\0/g, ".*") + "$");
  }).filter(Boolean);
  var mem = {}, V = "", S = "", last, first = 1;
  var CH = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

  function rnd() {
    var a = new Uint8Array(20), r = "", i = 0;
    crypto.getRandomValues(a);
    for (; i < 20; i++) r += CH[a[i] % 62];
    return r;
  }
  function cookie(n) {
    try { var m = d.cookie.match(new RegExp("(?:^|; )" + n + "=([A-Za-z0-9]{20})(?:;|$)")); return m && m[1]; } catch (e) {}
  }
  // id reads or creates an id and pushes its expiry forward: cookie first, localStorage when cookies are
  // blocked, memory when both are.
  function id(n, age) {
    var v = cookie(n), now = Date.now(), o;
    if (!v) try { o = JSON.parse(localStorage.getItem(n)); if (o && o.e > now) v = o.v; } catch (e) {}
    if (!v && (o = mem[n]) && o.e > now) v = o.v;
    v = v || rnd();
    mem[n] = { v: v, e: now + age * 1e3 };
    try { d.cookie = n + "=" + v + ";Max-Age=" + age + ";Path=/;SameSite=Lax" + (location.protocol == "https:" ? ";Secure" : ""); } catch (e) {}
    if (cookie(n) != v) try { localStorage.setItem(n, JSON.stringify(mem[n])); } catch (e) {}
    return v;
  }
  function ids() {
    if (!cookieless) { V = id("trib_vid", 31536000); S = id("trib_sid", 1800); }
  }

  function send(name, props, ref, ident) {
    var h = location.hostname, p = location.pathname;
    if (!site || (!local && (/^(localhost|127\.|\[?::1\]?$|0\.0\.0\.0)/.test(h) || location.protocol == "file:"))) return;
    if (excl.some(function (r) { return r.test(p); })) return;
    ids();
    var b = { site: site, name: name, url: location.href, referrer: ref || "", visitor_id: V, session_id: S, props: props || {}, screen_width: w.innerWidth };
    if (ident) b.identity = ident;
    b = JSON.stringify(b);
    try { if (navigator.sendBeacon && navigator.sendBeacon(api, new Blob([b], { type: "text/plain" }))) return; } catch (e) {}
    try { fetch(api, { method: "POST", body: b, keepalive: true, headers: { "Content-Type": "text/plain" } }).catch(function () {}); } catch (e) {}
  }

  function pageview() {
    var u = hashMode ? location.href : location.href.split("#")[0];
    if (u == last) return;
    last = u;
    send("pageview", null, first ? d.referrer : "");
    first = 0;
    decorate();
  }

  // Stripe Payment Links and buttons carry the visitor to checkout as client_reference_id.
  function decorate() {
    if (cookieless || !V) return;
    var v = "trib-" + V + "-" + S, mine = function (c) { return !c || c.indexOf("trib-") == 0; };
    try {
      d.querySelectorAll('a[href^="https://buy.stripe.com/"]').forEach(function (a) {
        var u = new URL(a.href);
        if (mine(u.searchParams.get("client_reference_id")) && u.searchParams.get("client_reference_id") != v) {
          u.searchParams.set("client_reference_id", v);
          a.href = u.href;
        }
      });
      d.querySelectorAll("stripe-buy-button,stripe-pricing-table").forEach(function (e) {
        var c = e.getAttribute("client-reference-id");
        if (mine(c) && c != v) e.setAttribute("client-reference-id", v);
      });
    } catch (e) {}
  }

  var fns = {
    v: 1,
    track: function (n, p) { if (n) send(String(n), p); },
    identify: function (i, t) { if (i) send("identify", t, "", String(i)); },
    getVisitorId: function () { return V; },
    getSessionId: function () { return S; }
  };
  var q = (w.tributary && w.tributary.q) || [];
  var t = w.tributary = function (m) { return fns[m] && fns[m].apply(null, [].slice.call(arguments, 1)); };
  for (var k in fns) t[k] = fns[k];

  try { if (!cookieless) { V = cookie("trib_vid") || ""; S = cookie("trib_sid") || ""; } } catch (e) {}
  var hs = history, wrap = function (f) { return function () { var r = f.apply(this, arguments); pageview(); return r; }; };
  if (hs.pushState) { hs.pushState = wrap(hs.pushState); hs.replaceState = wrap(hs.replaceState); }
  w.addEventListener("popstate", pageview);
  if (hashMode) w.addEventListener("hashchange", pageview);
  pageview();
  q.forEach(function (a) { t.apply(null, a); });
  try {
    var pending;
    new MutationObserver(function () {
      if (!pending) pending = setTimeout(function () { pending = 0; decorate(); }, 0);
    }).observe(d.documentElement, { childList: true, subtree: true });
  } catch (e) {}
})(window, document);
