/* Tributary tracker — https://github.com/tributary/tributary — MIT.
 * Readable source. The served file is dist/tributary.min.js: run `go generate ./tracker` after editing;
 * a test fails while the committed copy is stale. Budget: 2 KB gzipped. The server parses exactly the
 * body built in send(); change both together. */
((w, d, loc, nav) => {
  var s = d.currentScript;
  // A second copy of the script on one page must not count everything twice.
  if (!s || (w.tributary && w.tributary.v)) return;
  var at = (a) => s.getAttribute("data-" + a);
  var site = at("site");
  var api = at("api") || new URL(s.src).origin + "/api/event";
  // Flag attributes count when present, whatever their value.
  var cookieless = at("cookieless") != null, hashMode = at("hash") != null, local = at("allow-localhost") != null;
  // data-exclude="/admin/*, /preview/**": * is one path segment, ** anything.
  var excl = (at("exclude") || "").split(",").map((p) => (p = p.trim()) &&
    RegExp("^" + p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*\*?/g, (m) => (m[1] ? ".*" : "[^/]*")) + "$")
  ).filter(Boolean);
  var VALID = /^[A-Za-z0-9]{20}$/;
  var mem = {}, V = "", S = "", last, first = 1;
  // Why the tracker refuses to send on this page, said once in the console (an install that does
  // nothing must say why): no site id, or a local page without data-allow-localhost.
  var off = !site ? "no data-site attribute on the script tag" :
    !local && (/^(localhost|127\.|\[::1\]$|0\.0\.0\.0$)/.test(loc.hostname) || loc.protocol == "file:") ?
      "not tracking " + (loc.hostname || "file:") + " pages; add data-allow-localhost to the script tag to test locally" : "";
  if (off) try { console.warn("Tributary: " + off); } catch (e) {}
  else if (nav.webdriver) try { console.warn("Tributary: this browser is automated (navigator.webdriver); the server drops events of headless and automated browsers as bots"); } catch (e) {}

  // rnd draws 20 characters from [A-Za-z0-9] without modulo bias: bytes ≥ 248 (= 4×62) are thrown away.
  function rnd() {
    var r = "", a = new Uint8Array(40), i, c;
    while (r.length < 20) {
      crypto.getRandomValues(a);
      for (i = 0; i < 40 && r.length < 20; i++) if (a[i] < 248) r += String.fromCharCode((c = a[i] % 62) + (c < 26 ? 65 : c < 52 ? 71 : -4));
    }
    return r;
  }
  // cookie reads a cookie whose value matches r (default: one of our ids).
  function cookie(n, r) {
    try {
      var m = d.cookie.match(RegExp("(?:^|; )" + n + "=(" + (r || "[A-Za-z0-9]{20}") + ")(?:;|$)"));
      return m && m[1];
    } catch (e) {}
  }
  function set(n, v, age) {
    try { d.cookie = n + "=" + v + ";Max-Age=" + age + ";Path=/;SameSite=Lax" + (loc.protocol == "https:" ? ";Secure" : ""); } catch (e) {}
  }
  // id reads or makes an id and pushes its expiry forward (so the session rolls only after 30 idle
  // minutes): a cookie first, so the site's backend can read it at checkout; localStorage when cookies
  // are blocked; memory when both are.
  function id(n, age) {
    var v = cookie(n), now = Date.now(), o;
    if (!v) try { o = JSON.parse(localStorage.getItem(n)); if (o.e > now && VALID.test(o.v)) v = o.v; } catch (e) {}
    if (!v && (o = mem[n]) && o.e > now) v = o.v;
    mem[n] = o = { v: v || rnd(), e: now + age * 1e3 };
    set(n, o.v, age);
    if (cookie(n) != o.v) try { localStorage.setItem(n, JSON.stringify(o)); } catch (e) {}
    return o.v;
  }

  function send(name, props, ref, ident) {
    try {
      var p = loc.pathname, o = {}, k, b;
      if (off) return;
      if (excl.some((r) => r.test(p))) return;
      if (!cookieless) { V = id("trib_vid", 31536000); S = id("trib_sid", 1800); decorate(); } // the session may have rolled
      // The server refuses an event whose props hold objects or arrays; drop those values instead.
      for (k in props) if (/^(string|number|boolean)$/.test(typeof props[k])) o[k] = props[k];
      b = { site: site, name: name, url: loc.href, referrer: ref || "", visitor_id: V, session_id: S, props: o, screen_width: w.innerWidth };
      if (ident) b.identity = ident;
      // Meta's browser id (the _fbp cookie its pixel sets), with pageviews only, for the Meta
      // destination's match quality; never in cookieless mode nor after consent(false) on this browser.
      if (name == "pageview" && !cookieless && cookie("trib_consent", "[01]") != "0" && (k = cookie("_fbp", "fb\\.\\d\\.\\d{1,16}\\.\\d{1,32}"))) b.fbp = k;
      // A string body goes out as text/plain, a CORS "simple" request: no preflight.
      b = JSON.stringify(b);
      if (!(nav.sendBeacon && nav.sendBeacon(api, b))) fetch(api, { method: "POST", body: b, keepalive: true }).catch(() => {});
    } catch (e) {}
  }

  function pageview() {
    var u = hashMode ? loc.href : loc.href.split("#")[0];
    if (u == last) return;
    last = u;
    // The document referrer belongs to the page load only; SPA navigations are internal.
    send("pageview", 0, first ? d.referrer : "");
    first = 0;
    decorate(); // also on excluded pages, with the ids a cookie already holds
  }

  // decorate carries the visitor to Stripe Checkout as client_reference_id on Payment Links, buy buttons
  // and pricing tables, so the payment links back to this visit. A value the site set itself is kept.
  function decorate() {
    if (!V) return; // cookieless, or nothing tracked yet
    var v = "trib-" + V + "-" + S, C = "client_reference_id", E = "client-reference-id";
    var mine = (c) => c != v && (!c || !c.indexOf("trib-"));
    try {
      d.querySelectorAll('a[href^="https://buy.stripe.com/"]').forEach((a) => {
        var u = new URL(a.href), q = u.searchParams;
        if (mine(q.get(C))) { q.set(C, v); a.href = u; }
      });
      d.querySelectorAll("stripe-buy-button,stripe-pricing-table").forEach((e) => {
        if (mine(e.getAttribute(E))) e.setAttribute(E, v);
      });
    } catch (e) {}
  }

  var fns = {
    track: (n, p) => n && send("" + n, p),
    identify: (i, t) => i && send("identify", t, "", "" + i),
    // consent(false): the visitor declined; the server then sends none of their conversions to ad
    // platforms (consent(true) grants it where the site requires it). Recorded as a "consent" event.
    // The choice is also kept in a trib_consent cookie (not in cookieless mode), so later pages of a
    // visitor who declined send no _fbp.
    consent: (g) => { if (!cookieless) set("trib_consent", g ? 1 : 0, 31536000); send("consent", { granted: g ? "true" : "false" }); },
    getVisitorId: () => V,
    getSessionId: () => S
  };
  // The stub (see README) queued calls as argument lists in tributary.q; replay them after the pageview.
  var q = (w.tributary && w.tributary.q) || [];
  var t = w.tributary = Object.assign((m, ...a) => fns[m] && fns[m](...a), fns, { v: 1 });

  if (!cookieless) { V = cookie("trib_vid") || ""; S = cookie("trib_sid") || ""; }
  ["pushState", "replaceState"].forEach((m) => {
    var f = history[m];
    if (f) history[m] = function () { var r = f.apply(this, arguments); pageview(); return r; };
  });
  w.addEventListener("popstate", pageview);
  if (hashMode) w.addEventListener("hashchange", pageview);
  pageview();
  q.forEach((a) => t.apply(0, a));
  // Frameworks render links and Stripe elements late, and re-render hrefs: decorate them too, once per
  // burst of changes.
  try {
    var pending;
    new MutationObserver(() => {
      pending = pending || setTimeout(() => { pending = 0; decorate(); });
    }).observe(d.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: ["href"] });
  } catch (e) {}
})(window, document, location, navigator);
