/* Reports this page's views to the campaign-sequence engine, for visitors a tracked email link
   identified. Embed it on pages of a site listed in TRACKED_SITES:
     <script src="https://<your API>/t/visit.js" async></script>
   Nothing is sent for visitors no tracked link identified. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch || !window.URL) return;
  var api = script.src.replace(/\/visit\.js(\?.*)?$/, "");
  var PARAM = "cs_contact";
  var page = new URL(location.href);
  var visitor = page.searchParams.get(PARAM);
  try {
    if (visitor) localStorage.setItem(PARAM, visitor);
    else visitor = localStorage.getItem(PARAM);
  } catch (blocked) { /* storage off: the cookie alone names the visitor */ }
  if (page.searchParams.has(PARAM)) {
    // The token is a credential: not left in the address bar to be bookmarked or shared.
    page.searchParams.delete(PARAM);
    history.replaceState(history.state, "", page.href);
  }

  var view = null;
  var shownMs = 0;
  var shownSince = document.visibilityState === "visible" ? Date.now() : null;

  fetch(api + "/visits", {
    method: "POST",
    credentials: "include",
    keepalive: true,
    headers: { "Content-Type": "text/plain" },
    body: JSON.stringify({ url: page.href, referrer: document.referrer || null, contact: visitor }),
  })
    .then(function (answer) { return answer.ok ? answer.json() : null; })
    .then(function (recorded) { view = recorded && recorded.view; })
    .catch(function () {});

  function hidden() {
    if (shownSince !== null) {
      shownMs += Date.now() - shownSince;
      shownSince = null;
    }
    if (view && navigator.sendBeacon) {
      var time = JSON.stringify({ seconds: Math.round(shownMs / 100) / 10 });
      navigator.sendBeacon(
        api + "/visits/" + encodeURIComponent(view), new Blob([time], { type: "text/plain" }));
    }
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") hidden();
    else shownSince = Date.now();
  });
  window.addEventListener("pagehide", hidden);
})();
