/* The report page /hazards/new: position from the phone or a click on the small offline map,
   possible duplicates within 50 m before submitting, then the report and its photos (or a fix on the
   spot with its photos before and after) through the outbox. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var cfg = JSON.parse($("report-config").textContent);
  var here = null;  // {lon, lat, crs}
  var marker = null, dupTimer = null;

  var map = L.map("report-map", { zoomControl: true, maxZoom: 19 });
  if (cfg.tiles) L.tileLayer(cfg.tiles, { subdomains: cfg.subdomains, maxZoom: 19, attribution: "底图" }).addTo(map);
  var outlines = L.geoJSON(cfg.grids, {
    style: { color: "#b71c1c", weight: 1.5, fillOpacity: 0.04 },
    interactive: false
  }).addTo(map);
  if (outlines.getLayers().length) map.fitBounds(outlines.getBounds(), { maxZoom: 17 });
  else map.setView([30, 115], 5);
  $("max-mb").textContent = cfg.max_photo_mb;

  function show(message) { var e = $("error"); e.textContent = message || ""; e.hidden = !message; }

  function errorText(body, status) {
    if (body && body.error) {
      var detail = (body.error.details && body.error.details.errors || []).map(function (e) { return e.message; });
      return body.error.message + (detail.length ? "（" + detail.join("；") + "）" : "");
    }
    return "提交失败（" + status + "），请稍后重试。";
  }

  function setPosition(lon, lat, crs, displayLatLng) {
    here = { lon: lon, lat: lat, crs: crs };
    var ll = displayLatLng || L.latLng(lat, lon);
    if (marker) marker.setLatLng(ll); else marker = L.circleMarker(ll, { radius: 8, color: "#b71c1c", fillOpacity: 0.8 }).addTo(map);
    $("position").textContent = lon.toFixed(6) + ", " + lat.toFixed(6);
    $("position-crs").textContent = crs === "gcj02" ? "（GCJ-02）" : "（WGS-84）";
    $("submit").disabled = false;
    checkDuplicates();
  }

  map.on("click", function (e) {
    // A click is in the basemap's coordinates: GCJ-02 on a Gaode basemap, else WGS-84.
    setPosition(e.latlng.lng, e.latlng.lat, cfg.map_crs, e.latlng);
  });

  $("locate").addEventListener("click", function () {
    if (!navigator.geolocation) { show("此设备不支持定位，请在地图上点选位置。"); return; }
    $("locate").disabled = true;
    navigator.geolocation.getCurrentPosition(function (pos) {
      $("locate").disabled = false;
      show("");
      // The browser's geolocation is WGS-84; shown on the map without a shift when the basemap is WGS-84.
      setPosition(pos.coords.longitude, pos.coords.latitude, "wgs84");
      map.setView([pos.coords.latitude, pos.coords.longitude], Math.max(map.getZoom(), 16));
    }, function () {
      $("locate").disabled = false;
      show("无法获取当前位置，请在地图上点选。");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  });

  function checkDuplicates() {
    clearTimeout(dupTimer);
    dupTimer = setTimeout(function () {
      if (!here) return;
      var q = "category=" + encodeURIComponent($("category").value) + "&lon=" + here.lon + "&lat=" + here.lat +
              "&crs=" + here.crs;
      fetch("/api/v1/hazards/duplicates?" + q, { credentials: "same-origin" })
        .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b }; }); })
        .then(function (res) {
          if (!res.ok) { show(errorText(res.body, res.status)); return; }
          show("");
          $("grid").textContent = res.body.grid ? res.body.grid.name + "（" + res.body.grid.code + "）" : "不在您管辖的网格内";
          var list = $("duplicates");
          list.replaceChildren();
          res.body.items.forEach(function (d) {
            var li = document.createElement("li");
            var a = document.createElement("a");
            a.href = "/hazards/" + d.id;
            a.textContent = d.code;
            li.appendChild(a);
            li.appendChild(document.createTextNode(" · 相距 " + Math.round(d.distance_m) + " 米 · " + (d.description || "")));
            list.appendChild(li);
          });
          $("duplicate-count").textContent = res.body.total;
          $("duplicate-box").hidden = res.body.total === 0;
        })
        .catch(function () { /* offline: the report itself will say so */ });
    }, 150);
  }
  $("category").addEventListener("change", checkDuplicates);

  // The report goes into the outbox (static/js/outbox.js) with its photos: sent at once when the
  // phone has a signal, else kept on the phone and sent when it returns.
  function renderOutbox() { Outbox.render($("queue"), $("queued-count")); }
  Outbox.onChange(function (status) { if (status) $("sync-status").textContent = status; renderOutbox(); });

  $("submit").addEventListener("click", function () {
    if (!here) { show("请先选择位置。"); return; }
    $("submit").disabled = true;
    show("");
    var body = { category: $("category").value, severity: $("severity").value, description: $("description").value,
                 lon: here.lon, lat: here.lat, crs: here.crs };
    var kind = "hazard", request = body, files = Array.prototype.slice.call($("photo").files);
    // 现场已解决 (static/js/hazards/onspot.js): the fix and both stages' photos as one item instead.
    if (window.gridmapOnSpot && window.gridmapOnSpot.active()) {
      var fix = window.gridmapOnSpot.item(body);
      if (fix.error) { $("submit").disabled = false; show(fix.error); return; }
      kind = "fix"; request = fix.request; files = fix.photos;
    }
    Outbox.add(kind, request, files).then(function (item) {
      return Outbox.sync().then(function () {
        return Promise.all([Outbox.done(kind), Outbox.waiting()]);
      }).then(function (lists) {
        var sent = lists[0].filter(function (i) { return i.client_id === item.client_id; })[0];
        if (sent) { window.location.href = "/hazards/" + sent.answer.id + "?reported=1"; return; }
        var left = lists[1].filter(function (i) { return i.client_id === item.client_id; })[0];
        $("submit").disabled = false;
        if (left && left.refused && !left.progress.hazard) {  // refused on the spot: correct the form and resend
          show(left.refused.message);
          return Outbox.discard(item.client_id);
        }
        if (left && left.refused) { show(left.refused.message); return; }
        $("description").value = "";
        $("photo").value = "";
        if ($("after-photo")) $("after-photo").value = "";
        show("");
        $("sync-status").textContent = "已保存在手机上，联网后自动上传。";
      });
    }).catch(function (err) { $("submit").disabled = false; show("保存失败：" + (err && err.message || err)); });
  });

  renderOutbox();
  Outbox.sync();

  if (cfg.prefill && cfg.prefill.lon !== undefined) {
    var p = cfg.prefill;
    setPosition(p.lon, p.lat, p.crs);
    map.setView([p.lat, p.lon], 17);
  }
})();
