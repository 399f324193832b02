/* The top bar's 待办 badge: asks GET /api/v1/inbox/count every data-poll-s seconds (at most 30)
   while the tab is visible, pauses while it is hidden, asks at once when it shows again. */
(function () {
  "use strict";
  var link = document.getElementById("inbox-badge");
  if (!link || !window.fetch) return;
  var shown = link.querySelector(".inbox-count");
  var every = Math.min(30, Math.max(1, Number(link.getAttribute("data-poll-s")) || 30)) * 1000;
  var timer = null, busy = false;

  function show(total) {
    shown.textContent = total > 99 ? "99+" : String(total);
    shown.hidden = !total;
    link.setAttribute("data-count", String(total));
  }
  function later() {
    clearTimeout(timer);
    timer = document.hidden ? null : setTimeout(poll, every);
  }
  function poll() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(link.getAttribute("data-count-url"), {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body && typeof body.total === "number") show(body.total); })
      .catch(function () { /* offline: keep the last count */ })
      .then(function () { busy = false; later(); });
  }
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { clearTimeout(timer); timer = null; } else { poll(); }
  });
  poll();
}());
