/* The phone check-in page: position, grid, one-tap check-in; check-ins wait in the outbox
   (static/js/outbox.js) with every other write of the phone until the server confirms them. */
(function () {
  "use strict";
  var O = window.Outbox;
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var $ = function (id) { return document.getElementById(id); };
  var FLAG_NAMES = { outside_grid: "不在本网格", low_accuracy: "定位精度差", impossible_speed: "移动速度异常",
                     future_time: "时间超前", stale: "补传过晚" };
  var here = null;            // {lon, lat, accuracy}
  var lastLookup = null;      // where the grid and households were last asked for

  function text(el, value) { el.textContent = value; }
  function hhmm(iso) { var d = new Date(iso); return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2); }

  // --- network state -------------------------------------------------------------
  function showNet() {
    var online = navigator.onLine;
    $("net").className = "net " + (online ? "online" : "offline");
    text($("net"), online ? "在线" : "离线");
  }
  window.addEventListener("online", function () { showNet(); lookup(true); });
  window.addEventListener("offline", showNet);

  // --- position ------------------------------------------------------------------
  function metres(a, b) {
    var r = 6371000, p = Math.PI / 180;
    var x = (b.lon - a.lon) * p * Math.cos((a.lat + b.lat) / 2 * p), y = (b.lat - a.lat) * p;
    return Math.sqrt(x * x + y * y) * r;
  }

  function onPosition(pos) {
    here = { lon: pos.coords.longitude, lat: pos.coords.latitude, accuracy: pos.coords.accuracy };
    text($("position"), here.lon.toFixed(6) + ", " + here.lat.toFixed(6));
    var acc = $("accuracy");
    text(acc, "±" + Math.round(here.accuracy) + " 米");
    acc.className = "value " + (here.accuracy <= 30 ? "good" : here.accuracy <= 100 ? "warn" : "bad");
    $("checkin").disabled = false;
    if (!lastLookup || metres(lastLookup, here) > 30 || Date.now() - lastLookup.at > 60000) lookup(false);
  }

  function onPositionError(err) {
    text($("position"), err.code === 1 ? "未获得定位权限，请在浏览器设置中允许定位" : "暂时无法定位，请到开阔处重试");
  }

  function lookup(force) {
    if (!here || (!force && !navigator.onLine)) return;
    lastLookup = { lon: here.lon, lat: here.lat, at: Date.now() };
    var qs = "lon=" + here.lon + "&lat=" + here.lat + "&crs=wgs84";
    fetch("/api/v1/locate?" + qs, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 404) { text($("grid"), "不在任何网格内"); return; }
      if (!r.ok) throw new Error(r.status);
      return r.json().then(function (b) {
        var own = b.grid.code.indexOf($("patrol").dataset.scope) === 0;
        text($("grid"), b.grid.name + (own ? "" : "（非本网格）"));
        $("grid").className = "value " + (own ? "good" : "warn");
      });
    }).catch(function () { text($("grid"), "离线，暂时无法查询网格"); });
    fetch("/api/v1/patrol/households?" + qs + "&limit=30", { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    }).then(function (b) {
      try { localStorage.setItem("patrol-households", JSON.stringify(b.items)); } catch (e) { /* full */ }
      fillHouseholds(b.items);
    }).catch(function () {
      try { fillHouseholds(JSON.parse(localStorage.getItem("patrol-households") || "[]")); } catch (e) { /* none */ }
    });
  }

  function fillHouseholds(items) {
    var select = $("household"), chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    items.forEach(function (h) {
      var due = h.visit_tags.length && !h.visited_this_month;
      var label = (due ? "★ " : "") + h.address + "（" + h.code + "，" + Math.round(h.distance_m) + " 米"
        + (h.visit_tags.length ? "，" + h.visit_tags.join("、") + (h.visited_this_month ? "，本月已访" : "，本月待访") : "") + "）";
      var option = new Option(label, h.code);
      select.add(option);
    });
    select.value = chosen;
  }

  // --- check in ------------------------------------------------------------------
  function checkIn() {
    if (!here) return;
    var item = {
      id: O.uuid(), lon: here.lon, lat: here.lat, crs: "wgs84",
      accuracy_m: Math.round(here.accuracy * 10) / 10, recorded_at: new Date().toISOString(),
      note: $("note").value.trim()
    };
    if ($("household").value) item.household_code = $("household").value;
    O.add("checkin", item, [], item.id).then(function () {
      $("note").value = "";
      $("household").value = "";
      text($("last"), hhmm(item.recorded_at) + " 已打卡，已保存在手机上" + (navigator.onLine ? "，正在上传……" : "，联网后自动上传。"));
      O.sync();
    }).catch(function (e) { text($("last"), "保存失败：" + e); });
  }

  // --- lists ---------------------------------------------------------------------
  function describe(item) {
    var r = item.request, parts = [hhmm(r.recorded_at)];
    if (r.household_code) parts.push("住户 " + r.household_code);
    if (r.note) parts.push(r.note.length > 20 ? r.note.slice(0, 20) + "…" : r.note);
    return parts.join(" · ");
  }

  function render() {
    return Promise.all([O.render($("queue"), $("queued-count")), O.done("checkin")]).then(function (lists) {
      var done = lists[1].slice(0, 20);
      var dl = $("done");
      dl.replaceChildren();
      done.forEach(function (item) {
        var li = document.createElement("li");
        li.dataset.id = item.client_id;
        li.textContent = describe(item) + " — " + (item.answer.grid_name || "不在任何网格");
        (item.answer.flags || []).forEach(function (f) {
          var span = document.createElement("span");
          span.className = "flag";
          span.textContent = FLAG_NAMES[f] || f;
          li.appendChild(span);
        });
        dl.appendChild(li);
      });
    });
  }

  // A check-in queued by this page before the outbox (IndexedDB "gridmap-patrol") moves into it once.
  function adoptOldQueue() {
    return new Promise(function (resolve) {
      var request = indexedDB.open("gridmap-patrol");
      request.onupgradeneeded = function () { request.transaction.abort(); };  // none: create nothing
      request.onerror = function () { resolve([]); };
      request.onsuccess = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains("queue")) { db.close(); resolve([]); return; }
        var get = db.transaction("queue", "readonly").objectStore("queue").getAll();
        get.onsuccess = function () { db.close(); resolve(get.result || []); };
        get.onerror = function () { db.close(); resolve([]); };
      };
    }).then(function (old) {
      return Promise.all(old.filter(function (i) { return !i.rejected; }).map(function (i) {
        var body = { id: i.id, lon: i.lon, lat: i.lat, crs: i.crs, accuracy_m: i.accuracy_m,
                     recorded_at: i.recorded_at, note: i.note };
        if (i.household_code) body.household_code = i.household_code;
        return O.add("checkin", body, [], i.id);
      })).then(function () { if (old.length) indexedDB.deleteDatabase("gridmap-patrol"); });
    }).catch(function () { /* nothing to adopt */ });
  }

  // --- start ---------------------------------------------------------------------
  showNet();
  $("checkin").addEventListener("click", checkIn);
  O.onChange(function (status) { if (status) text($("sync-status"), status); render(); });
  adoptOldQueue().then(render).then(O.sync);
  if (navigator.geolocation) {
    navigator.geolocation.watchPosition(onPosition, onPositionError,
      { enableHighAccuracy: true, maximumAge: 10000, timeout: 30000 });
  } else {
    text($("position"), "此浏览器不支持定位");
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/patrol/sw.js", { scope: "/patrol" }).catch(function () { /* http intranet */ });
  }
})();
