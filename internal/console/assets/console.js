// The queue refreshes its tabs' counts while it is open, and says so when
// the list shown has changed. Everything works without this script.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.fetch) { return; }
  var every = parseInt(live.dataset.refresh, 10) || 30000;
  var tab = live.dataset.tab;
  var shown = {};
  document.querySelectorAll(".count").forEach(function (el) {
    shown[el.id.replace("count-", "")] = el.textContent;
  });
  var query = new URLSearchParams(window.location.search);
  query.delete("tab");
  function refresh() {
    fetch("/console/counts?" + query.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (counts) {
        if (!counts) { return; }
        Object.keys(counts).forEach(function (key) {
          var el = document.getElementById("count-" + key);
          if (el) { el.textContent = String(counts[key]); }
        });
        if (String(counts[tab]) !== shown[tab]) {
          document.getElementById("stale").hidden = false;
        }
      })
      .catch(function () { /* the next round tries again */ });
  }
  setInterval(refresh, every);
})();
