/* The party member's visit page (/party/visits): pick a contact household, write a note, save.
   Every visit carries a client_id (UUID) and goes through submitVisit() alone, so the phone's
   offline outbox can take its place without touching the rest of the page. User text is put in
   with textContent only. */
(function () {
  "use strict";
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var here = null;   // the phone's last position (WGS-84, as browsers report it)
  var chosen = null; // the household button the form is open for

  function $(id) { return document.getElementById(id); }
  function text(el, value) { el.textContent = value; }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // The one way a visit leaves the page: resolves to {status, body} (the server's answer).
  function submitVisit(visit) {
    return fetch("/api/v1/party-visits", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(visit)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) { return { status: r.status, body: body }; });
    });
  }
  window.gridmapVisits = { submit: submitVisit, uuid: uuid };

  function open(button) {
    chosen = button;
    text($("visit-household"), button.dataset.address + "（" + button.dataset.code + "）");
    $("visit-note").value = "";
    $("visit-form").hidden = false;
    $("visit-submit").disabled = false;
    text($("visit-status"), "");
    $("visit-form").scrollIntoView({ block: "start" });
    $("visit-note").focus();
  }

  function save() {
    if (!chosen) return;
    var button = chosen;
    var visit = { client_id: uuid(), household_code: button.dataset.code, note: $("visit-note").value.trim(),
                  recorded_at: new Date().toISOString() };
    if (here) {
      visit.lon = here.lon; visit.lat = here.lat; visit.crs = "wgs84";
      visit.accuracy_m = Math.round(here.accuracy * 10) / 10;
    }
    $("visit-submit").disabled = true;
    text($("visit-status"), "正在保存……");
    gridmapVisits.submit(visit).then(function (answer) {
      if (answer.status === 201 || answer.status === 200) {
        var day = answer.body.visited_at.slice(0, 10);
        var last = button.parentNode.querySelector(".last-visit");
        if (last.classList.contains("due")) {
          var due = $("due-count");
          text(due, String(Math.max(0, parseInt(due.textContent, 10) - 1)));
        }
        text(last, day + "（本月已走访）");
        last.className = "value last-visit done";
        $("visit-form").hidden = true;
        text($("visit-status"), "已保存：" + button.dataset.address + " " + day);
        chosen = null;
        return;
      }
      var error = (answer.body && answer.body.error) || {};
      text($("visit-status"), "保存失败：" + (error.message || ("HTTP " + answer.status)));
      $("visit-submit").disabled = false;
    }).catch(function () {
      text($("visit-status"), "网络不通，未保存，请稍后再试。");
      $("visit-submit").disabled = false;
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("button.log"), function (button) {
    button.addEventListener("click", function () { open(button); });
  });
  $("visit-submit").addEventListener("click", save);
  $("visit-cancel").addEventListener("click", function () { $("visit-form").hidden = true; chosen = null; });

  if (navigator.geolocation) {
    navigator.geolocation.watchPosition(function (p) {
      here = { lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy };
      text($("position"), here.lon.toFixed(5) + ", " + here.lat.toFixed(5) + "（±" + Math.round(here.accuracy) + " 米）");
    }, function () { text($("position"), "无法定位（走访仍可保存）"); },
    { enableHighAccuracy: true, maximumAge: 30000, timeout: 20000 });
  } else {
    text($("position"), "无法定位（走访仍可保存）");
  }
}());
