/* The household form (/households/new, /households/<code>/edit): a point from a click on the
   offline map or the phone's position, only the fields the user changed sent to the API (so a
   masked value is never sent back as if it were one), field errors under their fields, and on a
   409 the current version beside the user's values, field by field, to merge and resubmit. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var cfg = JSON.parse($("household-config").textContent);
  var mode = $("household-form").dataset.mode;
  var base = cfg.household;               // the household as the caller sees it (masked or not)
  var version = base ? base.version : null;
  var picked = null;                      // {lon, lat, crs} when the user chose a new point
  var marker = null;
  var merging = null;                     // {theirs, version} while the merge table is shown
  var KEEP = {};                          // a masked field left empty: unchanged
  var FIELDS = ["address", "head_name", "phone", "size", "tags", "risk_level", "status", "merged_into"];

  var map = L.map("household-map", { zoomControl: true, maxZoom: 19 });
  if (cfg.tiles) L.tileLayer(cfg.tiles, { subdomains: cfg.subdomains, maxZoom: 19, attribution: "底图" }).addTo(map);
  var outlines = L.geoJSON(cfg.grids, { style: { color: "#b71c1c", weight: 1.5, fillOpacity: 0.04 }, interactive: false }).addTo(map);
  var focus = outlines.getLayers().filter(function (l) { return l.feature.properties.code === cfg.focus_grid; });
  if (cfg.drawn) {
    map.setView([cfg.drawn[1], cfg.drawn[0]], 17);
    marker = L.circleMarker([cfg.drawn[1], cfg.drawn[0]], { radius: 8, color: "#1d4ed8", fillOpacity: 0.8 }).addTo(map);
  } else if (focus.length) map.fitBounds(focus[0].getBounds(), { maxZoom: 17 });
  else if (outlines.getLayers().length) map.fitBounds(outlines.getBounds(), { maxZoom: 17 });
  else map.setView([30, 115], 5);

  function show(text) { var e = $("error"); e.textContent = text || ""; e.hidden = !text; }

  function clearErrors() {
    document.querySelectorAll(".field-error").forEach(function (e) { e.textContent = ""; e.hidden = true; });
    show("");
  }

  function fieldError(name, text) {
    if (name === "lon" || name === "lat" || name === "crs") name = "location";
    var e = document.querySelector('.field-error[data-for="' + name + '"]');
    if (!e) { show(text); return; }
    e.textContent = (cfg.field_names[name] || name) + "：" + text;
    e.hidden = false;
  }

  // The API's field messages (pydantic) in Chinese; the refusals the API words itself come as they are.
  function zh(text) {
    var rules = [[/at most (\d+) characters?/, "最多 $1 个字符"], [/at least 1 character/, "不能为空"],
                 [/at most (\d+) items?/, "最多 $1 项"], [/less than or equal to (\d+)/, "不能大于 $1"],
                 [/greater than or equal to (\d+)/, "不能小于 $1"], [/valid integer/, "须为整数"],
                 [/should match pattern/, "只能包含字母、数字和 _ . -"], [/Field required/, "必须填写"]];
    for (var i = 0; i < rules.length; i++) {
      var m = text.match(rules[i][0]);
      if (m) return rules[i][1].replace("$1", m[1]);
    }
    return "格式不正确";
  }

  function setPoint(lon, lat, crs, latlng) {
    picked = { lon: lon, lat: lat, crs: crs };
    var ll = latlng || L.latLng(lat, lon);
    if (marker) marker.setLatLng(ll); else marker = L.circleMarker(ll, { radius: 8, color: "#1d4ed8", fillOpacity: 0.8 }).addTo(map);
    $("position").textContent = lon.toFixed(6) + ", " + lat.toFixed(6);
    $("position-crs").textContent = crs === "gcj02" ? "（GCJ-02）" : "（WGS-84）";
    $("submit").disabled = false;
    fetch("/api/v1/locate?lon=" + lon + "&lat=" + lat + "&crs=" + crs, { credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        $("grid").textContent = res.ok ? res.body.grid.name + "（" + res.body.grid.code + "）" : "不在您管辖的网格内";
      })
      .catch(function () { $("grid").textContent = "—"; });
  }

  // A click is in the basemap's coordinates: GCJ-02 on a Gaode basemap, else WGS-84.
  map.on("click", function (e) { setPoint(e.latlng.lng, e.latlng.lat, cfg.map_crs, e.latlng); });

  $("locate").addEventListener("click", function () {
    if (!navigator.geolocation) { fieldError("location", "此设备不支持定位，请在地图上点选位置。"); return; }
    $("locate").disabled = true;
    navigator.geolocation.getCurrentPosition(function (pos) {
      $("locate").disabled = false;
      // The browser's position is WGS-84 (as the patrol page sends it); drawn unshifted on a WGS-84 basemap.
      setPoint(pos.coords.longitude, pos.coords.latitude, "wgs84");
      map.setView([pos.coords.latitude, pos.coords.longitude], Math.max(map.getZoom(), 17));
    }, function () {
      $("locate").disabled = false;
      fieldError("location", "无法获取当前位置，请在地图上点选。");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  });

  var status = $("status");
  if (status) status.addEventListener("change", function () { $("merged-into-row").hidden = status.value !== "merged"; });

  function tagList(text) {
    return text.split(/[、,，;；\s]+/).filter(function (t) { return t; }).sort();
  }

  function mine(name) {
    var input = $(name);
    if (!input) return KEEP;
    var value = input.value.trim();
    if (input.dataset.masked && value === "") return KEEP;
    if (name === "risk_level" && value === "__hidden") return KEEP;
    if (name === "size") return value === "" ? null : Number(value);
    if (name === "tags") return tagList(value);
    if (name === "address") return value;
    return value === "" ? null : value;
  }

  function same(a, b) {
    var norm = function (v) { return Array.isArray(v) ? v.slice().sort() : (v === "" || v === undefined ? null : v); };
    return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
  }

  function changes() {
    var body = {};
    FIELDS.forEach(function (name) {
      var value = mine(name);
      if (value === KEEP || name === "merged_into") return;
      var hidden = name === "risk_level" && base && base.masked;  // any choice over 已隐藏 is a change
      if (!base ? (value !== null && !(Array.isArray(value) && !value.length) && value !== "") : hidden || !same(value, base[name])) {
        body[name] = value;
      }
    });
    if (status && status.value === "merged" && (body.status || !same(mine("merged_into"), base.merged_into))) {
      body.status = "merged";
      body.merged_into = mine("merged_into");
    }
    if (picked) { body.lon = picked.lon; body.lat = picked.lat; body.crs = picked.crs; }
    return body;
  }

  function refused(res) {
    var error = res.body && res.body.error;
    if (!error) { show("提交失败（" + res.status + "），请稍后重试。"); return; }
    var errors = (error.details && error.details.errors) || [];
    if (error.code === "household_version_stale") { showMerge(error.details); return; }
    if (errors.length) {
      errors.forEach(function (e) { fieldError(String(e.field).split(".")[0], zh(String(e.message))); });
      return;
    }
    var at = { household_code_taken: "code", merged_into_invalid: "merged_into", household_outside_scope: "location",
               household_status_needs_supervisor: "status", invalid_crs: "location" }[error.code];
    if (!at && error.details && (error.details.lon !== undefined)) at = "location";
    if (at) {
      var e = document.querySelector('.field-error[data-for="' + at + '"]');
      if (e) { e.textContent = error.message; e.hidden = false; return; }
    }
    show(error.message);
  }

  function submit() {
    clearErrors();
    var body = changes();
    var url = "/api/v1/households", method = "POST";
    if (mode === "edit") {
      if (!Object.keys(body).length) { show("没有需要保存的修改。"); return; }
      body.version = version;
      url += "/" + encodeURIComponent(base.code);
      method = "PATCH";
    } else {
      if (!picked) { fieldError("location", "请先在地图上点选位置或使用当前位置。"); return; }
      body.code = $("code").value.trim();
    }
    $("submit").disabled = true;
    // Sent at once while there is signal (a refusal is shown here, a 409 merged here); without
    // signal the same write, with the same client id, waits in the outbox (static/js/outbox.js).
    var clientId = Outbox.uuid();
    var request = { method: method, code: mode === "edit" ? base.code : body.code, body: body };
    var queue = function () {
      return Outbox.add("household", request, [], clientId).then(function () {
        $("submit").disabled = true;
        show("");
        $("sync-status").textContent = "没有网络：已保存在手机上，联网后自动上传。";
      });
    };
    if (!navigator.onLine) { queue(); return; }
    window.householdSend(method, url, Object.assign({ client_id: clientId }, body)).then(function (res) {
      $("submit").disabled = false;
      if (!res.ok) { refused(res); return; }
      var pending = (res.body.pending || []).join(",");
      window.location.href = "/households/" + encodeURIComponent(res.body.code) + "/edit?saved=1" +
        (pending ? "&pending=" + pending : "");
    }).catch(queue);
  }
  function renderOutbox() { Outbox.render($("queue"), $("queued-count")); }
  Outbox.onChange(function (status) { if (status) $("sync-status").textContent = status; renderOutbox(); });
  renderOutbox();
  Outbox.sync();
  $("submit").addEventListener("click", submit);

  // --- 409: the current version beside the user's values, field by field ---
  function shown(name, value) {
    if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)) return "—";
    if (name === "tags") return value.join("、");
    if (name === "risk_level") return cfg.risk_names[value] || value;
    if (name === "status") return cfg.status_names[value] || value;
    if (name === "location") return value;
    return String(value);
  }

  function cell(row, text) { var td = document.createElement("td"); td.textContent = text; row.appendChild(td); return td; }

  function choice(td, name, which, checked, text) {
    var label = document.createElement("label");
    var radio = document.createElement("input");
    radio.type = "radio"; radio.name = "pick-" + name; radio.value = which; radio.checked = checked;
    label.appendChild(radio);
    label.appendChild(document.createTextNode(text));
    td.replaceChildren(label);
  }

  function showMerge(details) {
    var theirs = details.household;
    merging = { theirs: theirs, version: details.current_version };
    var body = $("merge-table").tBodies[0];
    body.replaceChildren();
    var rows = FIELDS.map(function (name) {
      var m = mine(name);
      if (m === KEEP) m = base[name];
      return { name: name, mine: m, theirs: theirs[name], mineChanged: !same(m, base[name]),
               theirsChanged: !same(theirs[name], base[name]) };
    });
    var here = function (h) { return h.lon.toFixed(6) + ", " + h.lat.toFixed(6); };
    rows.push({ name: "location", mine: picked ? picked.lon.toFixed(6) + ", " + picked.lat.toFixed(6) : here(base),
                theirs: here(theirs), mineChanged: !!picked, theirsChanged: here(theirs) !== here(base) });
    rows.filter(function (r) { return r.mineChanged || r.theirsChanged; }).forEach(function (r) {
      var tr = document.createElement("tr");
      tr.dataset.field = r.name;
      cell(tr, cfg.field_names[r.name] || r.name);
      choice(cell(tr, ""), r.name, "mine", r.mineChanged, shown(r.name, r.mine));
      choice(cell(tr, ""), r.name, "theirs", !r.mineChanged, shown(r.name, r.theirs));
      body.appendChild(tr);
    });
    $("merge-version").textContent = details.current_version;
    $("merge").hidden = false;
    $("merge").scrollIntoView({ block: "start" });
  }

  function setInput(name, value) {
    var input = $(name);
    if (!input) return;
    if (input.dataset.masked) { input.value = ""; input.placeholder = (value || "") + "（已脱敏）"; return; }
    if (name === "risk_level" && $("risk_level").querySelector('option[value="__hidden"]')) { input.value = "__hidden"; return; }
    input.value = name === "tags" ? (value || []).join("、") : (value === null || value === undefined ? "" : value);
    if (name === "status") $("merged-into-row").hidden = value !== "merged";
  }

  $("merge-submit").addEventListener("click", function () {
    var theirs = merging.theirs;
    document.querySelectorAll("#merge-table tbody tr").forEach(function (tr) {
      var pick = tr.querySelector("input:checked").value;
      if (pick !== "theirs") return;
      if (tr.dataset.field === "location") { picked = null; $("position").textContent = theirs.lon.toFixed(6) + ", " + theirs.lat.toFixed(6); }
      else setInput(tr.dataset.field, theirs[tr.dataset.field]);
    });
    base = theirs;
    version = merging.version;
    $("version").textContent = version;
    merging = null;
    $("merge").hidden = true;
    submit();
  });
})();
