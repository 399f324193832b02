/* The party member's visit page (/party/visits): pick a contact household, write a note, save.
   Every visit goes through gridmapVisits.submit alone, into the phone's outbox (static/js/outbox.js,
   kind "visit" in outbox-kinds.js): sent at once with a signal, else kept in IndexedDB with its
   client_id and sent in order when the signal returns (listed in the page's outbox panel). User text
   is put in with textContent only. */
(function () {
  "use strict";
  var here = null;   // the phone's last position (WGS-84, as browsers report it)
  var chosen = null; // the household button the form is open for

  function $(id) { return document.getElementById(id); }
  function text(el, value) { el.textContent = value; }
  function mine(items, item) { return items.filter(function (i) { return i.client_id === item.client_id; })[0]; }

  // The one way a visit leaves the page. Resolves to {sent: the stored visit}, {refused: the API's
  // reason} (dropped from the outbox: the form is still open to correct it) or {queued: true} while
  // it waits on the phone for a signal.
  function submitVisit(visit) {
    return Outbox.add("visit", visit).then(function (item) {
      return Outbox.sync().then(function () {
        return Promise.all([Outbox.done("visit"), Outbox.waiting()]);
      }).then(function (lists) {
        var sent = mine(lists[0], item), left = mine(lists[1], item);
        if (sent) return { sent: sent.answer };
        if (left && left.refused) {
          return Outbox.discard(item.client_id).then(function () { return { refused: left.refused.message }; });
        }
        return { queued: true };
      });
    });
  }
  window.gridmapVisits = { submit: submitVisit };

  function renderOutbox() { Outbox.render($("queue"), $("queued-count")); }
  Outbox.onChange(function (status) { if (status) text($("sync-status"), status); renderOutbox(); });

  // The household's card after a visit was stored (or is waiting on the phone).
  function visited(button, day, waiting) {
    var last = button.parentNode.querySelector(".last-visit");
    if (last.classList.contains("due")) {
      var due = $("due-count");
      text(due, String(Math.max(0, parseInt(due.textContent, 10) - 1)));
    }
    text(last, day + (waiting ? "（待上传）" : "（本月已走访）"));
    last.className = "value last-visit done";
    $("visit-form").hidden = true;
    chosen = null;
  }

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
    var visit = { household_code: button.dataset.code, note: $("visit-note").value.trim(),
                  recorded_at: new Date().toISOString() };
    if (here) {
      visit.lon = here.lon; visit.lat = here.lat; visit.crs = "wgs84";
      visit.accuracy_m = Math.round(here.accuracy * 10) / 10;
    }
    $("visit-submit").disabled = true;
    text($("visit-status"), "正在保存……");
    gridmapVisits.submit(visit).then(function (answer) {
      if (answer.sent) {
        var day = answer.sent.visited_at.slice(0, 10);
        visited(button, day);
        text($("visit-status"), "已保存：" + button.dataset.address + " " + day);
      } else if (answer.queued) {
        var now = new Date();  // the phone's own day (Beijing on a phone in China)
        visited(button, now.getFullYear() + "-" + ("0" + (now.getMonth() + 1)).slice(-2) + "-" +
                        ("0" + now.getDate()).slice(-2), true);
        text($("visit-status"), "已保存在手机上，联网后自动上传：" + button.dataset.address);
      } else {
        text($("visit-status"), "保存失败：" + answer.refused);
        $("visit-submit").disabled = false;
      }
    }).catch(function (err) {
      text($("visit-status"), "保存失败：" + (err && err.message || err));
      $("visit-submit").disabled = false;
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("button.log"), function (button) {
    button.addEventListener("click", function () { open(button); });
  });
  $("visit-submit").addEventListener("click", save);
  $("visit-cancel").addEventListener("click", function () { $("visit-form").hidden = true; chosen = null; });
  renderOutbox();
  Outbox.sync();

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
