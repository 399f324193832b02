/* The residents' form /r/<grid>: the place from the phone (WGS-84 from the browser), a pin on the
   offline map or an address of the grid, then a proof of work on a fresh challenge, then one
   multipart POST; the answer's tracking code leads to the status page. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var cfg = JSON.parse($("public-config").textContent);
  var here = null, marker = null, searchTimer = null;

  var map = L.map("public-map", { zoomControl: true, maxZoom: 19 });
  if (cfg.tiles) L.tileLayer(cfg.tiles, { subdomains: cfg.subdomains, maxZoom: 19, attribution: "底图" }).addTo(map);
  var outline = L.geoJSON(cfg.outline, { style: { color: "#b71c1c", weight: 2, fillOpacity: 0.05 }, interactive: false })
    .addTo(map);
  map.fitBounds(outline.getBounds(), { maxZoom: 17 });
  $("max-photos").textContent = cfg.max_photos;
  $("max-mb").textContent = cfg.max_photo_mb;

  function show(text) { var e = $("error"); e.textContent = text || ""; e.hidden = !text; }

  function errorText(body, status) {
    if (body && body.error) return body.error.message;
    return "提交失败（" + status + "），请稍后重试。";
  }

  function setPlace(lon, lat, crs, latlng, text) {
    here = { lon: lon, lat: lat, crs: crs };
    var ll = latlng || L.latLng(lat, lon);
    if (marker) marker.setLatLng(ll); else marker = L.marker(ll).addTo(map);
    $("position").textContent = text || (lon.toFixed(6) + ", " + lat.toFixed(6));
  }

  map.on("click", function (e) { setPlace(e.latlng.lng, e.latlng.lat, cfg.map_crs, e.latlng); });

  $("locate").addEventListener("click", function () {
    if (!navigator.geolocation) { show("此设备不支持定位，请在地图上点选位置。"); return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      show("");
      setPlace(pos.coords.longitude, pos.coords.latitude, "wgs84");
      map.setView([pos.coords.latitude, pos.coords.longitude], Math.max(map.getZoom(), 17));
    }, function () { show("无法获取当前位置，请在地图上点选或输入地址。"); },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  });

  function json(r) { return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b }; }); }

  $("address").addEventListener("input", function () {
    clearTimeout(searchTimer);
    var text = $("address").value.trim();
    searchTimer = setTimeout(function () {
      var list = $("address-matches");
      if (!text) { list.replaceChildren(); return; }
      fetch("/api/v1/public/grids/" + cfg.grid + "/addresses?q=" + encodeURIComponent(text))
        .then(json)
        .then(function (res) {
          list.replaceChildren();
          if (!res.ok) return;
          res.body.items.forEach(function (item) {
            var li = document.createElement("li"), button = document.createElement("button");
            button.type = "button";
            button.textContent = item.address;
            button.addEventListener("click", function () {
              $("address").value = item.address;
              list.replaceChildren();
              // Addresses are stored in WGS-84, sent as such; the pin is drawn there on the basemap.
              setPlace(item.lon, item.lat, "wgs84", null, item.address);
              map.setView([item.lat, item.lon], Math.max(map.getZoom(), 17));
            });
            li.appendChild(button);
            list.appendChild(li);
          });
        })
        .catch(function () { /* offline: the pin still works */ });
    }, 200);
  });

  $("form").addEventListener("submit", function (event) {
    event.preventDefault();
    show("");
    if (!$("description").value.trim()) { show("请描述问题。"); return; }
    if (!here) { show("请选择问题的位置：当前位置、地图点选或地址。"); return; }
    var files = $("photo").files;
    if (files.length > cfg.max_photos) { show("最多上传 " + cfg.max_photos + " 张照片。"); return; }
    $("submit").disabled = true;
    $("working").hidden = false;
    fetch("/api/v1/public/challenge").then(json)
      .then(function (res) {
        if (!res.ok) throw new Error(errorText(res.body, res.status));
        return gridmapSolve(res.body.challenge, res.body.bits).then(function (nonce) {
          var form = new FormData();
          form.append("grid", cfg.grid);
          form.append("category", $("category").value);
          form.append("description", $("description").value);
          form.append("lon", here.lon);
          form.append("lat", here.lat);
          form.append("crs", here.crs);
          if ($("address").value.trim()) form.append("address", $("address").value.trim());
          if ($("phone").value.trim()) form.append("phone", $("phone").value.trim());
          form.append("challenge", res.body.challenge);
          form.append("nonce", nonce);
          for (var i = 0; i < files.length; i++) form.append("file", files[i]);
          return fetch("/api/v1/public/reports", { method: "POST", body: form }).then(json);
        });
      })
      .then(function (res) {
        if (!res.ok) throw new Error(errorText(res.body, res.status));
        $("form").hidden = true;
        $("done").hidden = false;
        $("tracking-code").textContent = res.body.tracking_code;
        $("status-link").href = "/r/status/" + encodeURIComponent(res.body.tracking_code);
        $("similar").hidden = !res.body.similar_reports;
      })
      .catch(function (err) {
        $("submit").disabled = false;
        $("working").hidden = true;
        show(err.message || "提交失败，请稍后重试。");
      });
  });
})();
