/* The phone check-in page: position, grid, one-tap check-in, offline queue with retries. */
(function () {
  "use strict";
  var Q = window.PatrolQueue;
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var $ = function (id) { return document.getElementById(id); };
  var FLAG_NAMES = { outside_grid: "不在本网格", low_accuracy: "定位精度差", impossible_speed: "移动速度异常",
                     future_time: "时间超前", stale: "补传过晚" };
  var BATCH = 100;
  var here = null;            // {lon, lat, accuracy}
  var lastLookup = null;      // where the grid and households were last asked for
  var backoff = 0, retryTimer = null, flushing = false;

  function text(el, value) { el.textContent = value; }
  function hhmm(iso) { var d = new Date(iso); return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2); }

  // --- network state -------------------------------------------------------------
  function showNet() {
    var online = navigator.onLine;
    $("net").className = "net " + (online ? "online" : "offline");
    text($("net"), online ? "在线" : "离线");
  }
  window.addEventListener("online", function () { showNet(); backoff = 0; flush(); lookup(true); });
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
      id: Q.uuid(), lon: here.lon, lat: here.lat, crs: "wgs84",
      accuracy_m: Math.round(here.accuracy * 10) / 10, recorded_at: new Date().toISOString(),
      note: $("note").value.trim()
    };
    if ($("household").value) item.household_code = $("household").value;
    Q.add(item).then(function () {
      $("note").value = "";
      $("household").value = "";
      text($("last"), hhmm(item.recorded_at) + " 已打卡，已保存在手机上" + (navigator.onLine ? "，正在上传……" : "，联网后自动上传。"));
      render();
      backoff = 0;
      flush();
    }).catch(function (e) { text($("last"), "保存失败：" + e); });
  }

  // --- upload with retries ----------------------------------------------------------
  function schedule() {
    if (retryTimer) return;
    var delay = Math.min(300000, 2000 * Math.pow(2, backoff)) * (0.75 + Math.random() / 2);
    backoff = Math.min(backoff + 1, 10);
    text($("sync-status"), "上传失败，" + Math.round(delay / 1000) + " 秒后重试（联网后立即重试）。");
    retryTimer = setTimeout(function () { retryTimer = null; flush(); }, delay);
  }

  function payload(item) {
    var out = { id: item.id, lon: item.lon, lat: item.lat, crs: item.crs, accuracy_m: item.accuracy_m,
                recorded_at: item.recorded_at, note: item.note };
    if (item.household_code) out.household_code = item.household_code;
    return out;
  }

  function flush() {
    if (flushing) return Promise.resolve();
    return Q.all().then(function (items) {
      var pending = items.filter(function (i) { return !i.rejected; }).slice(0, BATCH);
      if (!pending.length) { text($("sync-status"), "全部已上传。"); return; }
      flushing = true;
      if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
      return fetch("/api/v1/checkins", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ items: pending.map(payload) })
      }).then(function (r) {
        if (r.status === 401) { text($("sync-status"), "登录已过期，请重新登录；打卡仍保存在手机上。"); throw new Error("401"); }
        if (r.status !== 200 && r.status !== 207) throw new Error("HTTP " + r.status);
        return r.json();
      }).then(function (body) {
        return Promise.all(body.items.map(function (result) {
          var item = pending[result.index];
          if (!item) return null;
          if (result.status === "created" || result.status === "duplicate") return Q.confirm(item.id, result);
          item.rejected = result.error;       // never sent again, never deleted: shown with its reason
          return Q.update(item);
        }));
      }).then(function () {
        flushing = false;
        backoff = 0;
        render();
        if (pending.length === BATCH) return flush();
        text($("sync-status"), "全部已上传。");
      }).catch(function () {
        flushing = false;
        render();
        schedule();
      });
    });
  }

  // --- lists ---------------------------------------------------------------------
  function describe(item) {
    var parts = [hhmm(item.recorded_at)];
    if (item.household_code) parts.push("住户 " + item.household_code);
    if (item.note) parts.push(item.note.length > 20 ? item.note.slice(0, 20) + "…" : item.note);
    return parts.join(" · ");
  }

  function render() {
    return Promise.all([Q.all(), Q.done()]).then(function (lists) {
      var queued = lists[0], done = lists[1].slice(0, 20);
      text($("queued-count"), String(queued.length));
      var ul = $("queue");
      ul.replaceChildren();
      queued.forEach(function (item) {
        var li = document.createElement("li");
        li.dataset.id = item.id;
        li.textContent = describe(item) + (item.rejected ? " — 未被接受：" + item.rejected.message : " — 等待上传");
        if (item.rejected) li.className = "bad";
        ul.appendChild(li);
      });
      var dl = $("done");
      dl.replaceChildren();
      done.forEach(function (item) {
        var li = document.createElement("li");
        li.dataset.id = item.id;
        li.textContent = describe(item) + " — " + (item.answer.grid_name || "不在任何网格") ;
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

  // --- start ---------------------------------------------------------------------
  showNet();
  $("checkin").addEventListener("click", checkIn);
  render().then(flush);
  setInterval(function () { if (navigator.onLine) flush(); }, 60000);
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
