// The console's own script; everything works without it.
//
// An edited offer's value is checked against the approver's limit before
// the form is sent (the console and the workflow check it again).
(function () {
  "use strict";
  var value = document.getElementById("value");
  if (!value || !value.dataset.limit) { return; }
  var limit = parseFloat(value.dataset.limit);
  function check() {
    var v = parseFloat(value.value.replace(",", "."));
    value.setCustomValidity(limit >= 0 && v > limit ?
      "This is over your limit of " + value.dataset.limit + " " + value.dataset.currency + "." : "");
  }
  value.addEventListener("input", check);
  check();
})();

// The queue refreshes its tabs' counts while it is open, and says so when
// the list shown has changed.
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
