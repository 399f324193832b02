/* The grid boundary editor (/planner/<community>): Leaflet-Geoman editing, a debounced
 * server preview of who moves, versioned saves that never lose the planner's own work.
 * Talks only to our own API (/api/v1/grids/...). */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("planner-config").textContent);
  var map = window[config.map];
  var api = "/api/v1/grids/";
  var communityApi = "/api/v1/communities/" + config.community.code + "/grids";
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var DEBOUNCE_MS = 350;
  var state = { layers: {}, grids: {}, current: null, timer: null, seq: 0, lastSaved: null, line: null,
                selected: {}, conflict: null, previews: 0, drawn: null };

  function $(id) { return document.getElementById(id); }

  function colour(n, min, max) {
    if (n < min) { return "#f0a202"; }
    if (n > max) { return "#d62828"; }
    return "#2a9d8f";
  }

  function klass(n, min, max) { return n < min ? "low" : (n > max ? "high" : "ok"); }

  function request(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().then(function (data) { return { status: r.status, data: data }; });
    });
  }

  function notice(text, isError) {
    var el = $("planner-notice");
    el.textContent = text || "";
    el.className = text ? ("notice" + (isError ? " error" : "")) : "";
  }

  function renderCounts(rows) {
    var table = $("planner-grids");
    table.replaceChildren();
    rows.forEach(function (g) {
      var tr = document.createElement("tr");
      tr.dataset.code = g.code;
      var code = document.createElement("td");
      code.textContent = g.code.slice(-3);
      var n = document.createElement("td");
      n.textContent = g.households + " 户";
      n.className = klass(g.households, g.target_min, g.target_max);
      tr.appendChild(code); tr.appendChild(n);
      table.appendChild(tr);
      var layer = state.layers[g.code];
      if (layer) { layer.setStyle({ color: colour(g.households, g.target_min, g.target_max) }); }
    });
  }

  function showPreview(p) {
    $("preview-before").textContent = p.households_before + " 户";
    $("preview-after").textContent = p.households_after + " 户" + (p.within_target ? "（达标）" : "（不在 " +
      p.target_min + "–" + p.target_max + " 户内）");
    $("preview-after").className = klass(p.households_after, p.target_min, p.target_max);
    $("preview-moved-in").textContent = p.moved_in + " 户" + (p.moved_in_codes.length ? "：" +
      p.moved_in_codes.slice(0, 10).join("、") + (p.moved_in > 10 ? "……" : "") : "");
    $("preview-moved-out").textContent = p.moved_out + " 户" + (p.moved_out_codes.length ? "：" +
      p.moved_out_codes.slice(0, 10).join("、") + (p.moved_out > 10 ? "……" : "") : "");
    $("preview-overlaps").textContent = p.overlaps.length ? p.overlaps.map(function (o) {
      return o.code.slice(-3) + " " + o.area_m2 + " m²";
    }).join("；") : "无";
    $("preview-gap").textContent = p.gap_area_m2 + " m²";
    var from = Object.keys(p.moved_in_from || {}).map(function (k) {
      return (k === "unassigned" ? "未分配" : k.slice(-3)) + " " + p.moved_in_from[k] + " 户";
    });
    $("preview-from").textContent = from.length ? from.join("；") : "无";
    $("preview-within").textContent = p.within_community ? "在社区内" : "超出社区约 " + p.outside_community_m2 + " m²";
    renderCounts(p.grids);
  }

  function geometryOf(layer) { return layer.toGeoJSON().geometry; }

  function preview() {
    var code = state.current;
    if (!code) { return; }
    var seq = ++state.seq;
    request("POST", api + code + "/preview", { geometry: geometryOf(state.layers[code]) }).then(function (res) {
      if (seq !== state.seq) { return; }  // a newer edit is on its way
      state.previews += 1;
      if (res.status === 200) {
        showPreview(res.data);
        if (state.previewError) { notice(""); state.previewError = false; }  // keep a save's or undo's message
      } else {
        notice(res.data.error.message, true);
        state.previewError = true;
      }
    });
  }

  function schedule(code) {
    select(code);
    $("planner-save").disabled = false;
    clearTimeout(state.timer);
    state.timer = setTimeout(preview, DEBOUNCE_MS);
  }

  function select(code) {
    state.current = code;
    $("planner-grid").textContent = code + " " + (state.grids[code].name || "");
    $("planner-version").textContent = state.grids[code].version;
    $("planner-split").disabled = !state.line;
  }

  function save() {
    var code = state.current;
    if (!code) { return; }
    var reason = window.prompt("请填写修改原因（必填）：", "");
    if (reason === null || !reason.trim()) { notice("未填写原因，修改尚未保存。", true); return; }
    var force = false;
    var body = { geometry: geometryOf(state.layers[code]), version: state.grids[code].version, reason: reason };
    var send = function () {
      body.force = force;
      request("PUT", api + code + "/geometry", body).then(function (res) {
        if (res.status === 200) {
          state.lastSaved = { code: code, version: res.data.version };
          state.grids[code].version = res.data.version;
          $("planner-version").textContent = res.data.version;
          $("planner-undo").disabled = false;
          if (state.conflict) { map.removeLayer(state.conflict); state.conflict = null; }
          notice("已保存为第 " + res.data.version + " 版，迁移 " + res.data.households_moved + " 户。");
          preview();
        } else if (res.status === 409) {
          showConflict(code, res.data.error);
        } else if (res.data.error.code === "grid_overlaps_sibling" && !force &&
                   window.confirm(res.data.error.message + "\n仍要强制保存吗？")) {
          force = true; send();
        } else {
          notice(res.data.error.message, true);
        }
      });
    };
    send();
  }

  /* Someone saved first: keep the planner's edit on the map, draw theirs beside it, and let
   * the next save start from their version (a conscious overwrite). */
  function showConflict(code, error) {
    var other = error.details.current || {};
    if (state.conflict) { map.removeLayer(state.conflict); }
    if (other.geometry) {
      state.conflict = L.geoJSON(other.geometry, { pmIgnore: true, interactive: false,
        style: { color: "#6a1b9a", weight: 3, dashArray: "6 4", fillOpacity: 0.05 } }).addTo(map);
    }
    state.grids[code].version = error.details.current_version;
    $("planner-version").textContent = error.details.current_version;
    notice(error.message + " 对方（" + (other.changed_by || "未知") + "，原因：" + (other.reason || "无") +
           "）的边界以紫色虚线显示；您的修改仍保留在地图上，再次保存将以您的修改覆盖。", true);
  }

  function undo() {
    var saved = state.lastSaved;
    if (!saved) { return; }
    request("POST", api + saved.code + "/revert", { version: saved.version - 1, current_version: saved.version })
      .then(function (res) {
        if (res.status !== 200) { notice(res.data.error.message, true); return; }
        var layer = state.layers[saved.code];
        var fresh = L.geoJSON(res.data.geometry).getLayers()[0];
        layer.setLatLngs(fresh.getLatLngs());
        state.grids[saved.code].version = res.data.version;
        state.lastSaved = null;
        $("planner-undo").disabled = true;
        notice("已撤销，恢复为第 " + (saved.version - 1) + " 版的边界（新版本 " + res.data.version + "）。");
        select(saved.code);
        preview();
      });
  }

  function split() {
    var code = state.current;
    if (!code || !state.line) { return; }
    var reason = window.prompt("拆分原因（必填）：", "户数超标");
    if (!reason) { return; }
    request("POST", api + code + "/split", { line: state.line.toGeoJSON().geometry, reason: reason,
                                             version: state.grids[code].version }).then(function (res) {
      if (res.status !== 200) { notice(res.data.error.message, true); return; }
      notice("已拆分：" + res.data.grids.map(function (g) { return g.code + "（" + g.households + " 户）"; })
        .join("、") + "。页面将刷新。");
      window.setTimeout(function () { window.location.reload(); }, 800);
    });
  }

  function merge() {
    var codes = Object.keys(state.selected);
    if (codes.length < 2) { return; }
    var reason = window.prompt("合并原因（必填）：", "");
    if (!reason) { return; }
    request("POST", api + "merge", { codes: codes, reason: reason }).then(function (res) {
      if (res.status !== 200) { notice(res.data.error.message, true); return; }
      notice("已合并为 " + res.data.code + "（" + res.data.households + " 户）。页面将刷新。");
      window.setTimeout(function () { window.location.reload(); }, 800);
    });
  }

  function countInside(layer) {
    var poly = layer.toGeoJSON().geometry.coordinates[0];
    var n = 0;
    config.households.forEach(function (h) {
      var inside = false;
      for (var i = 0, j = poly.length - 1; i < poly.length; j = i++) {
        var xi = poly[i][0], yi = poly[i][1], xj = poly[j][0], yj = poly[j][1];
        if (((yi > h[1]) !== (yj > h[1])) && (h[0] < (xj - xi) * (h[1] - yi) / (yj - yi) + xi)) { inside = !inside; }
      }
      if (inside) { n += 1; }
    });
    return n;
  }

  // --- proposals -----------------------------------------------------------------------
  /* 生成划分方案: the server proposes grids for the community; the planner may drag their
   * vertices (each edit is re-counted by the server), then accepts the whole set at once. */
  var proposal = { layers: [], props: [], timer: null, seq: 0, previews: 0 };

  function proposalFeatures() {
    return proposal.layers.map(function (layer, i) {
      return { type: "Feature", geometry: layer.toGeoJSON(false).geometry,
               properties: { community_code: proposal.props[i].community_code } };
    });
  }

  function renderProposal(fc) {
    var table = $("planner-proposal");
    table.innerHTML = "<tr><th>方案</th><th>户数</th><th>紧凑度</th></tr>";
    var overlapping = {};
    (fc.overlaps || []).forEach(function (o) { overlapping[o.features[0]] = true; overlapping[o.features[1]] = true; });
    fc.features.forEach(function (f, i) {
      var p = f.properties;
      var tr = document.createElement("tr");
      tr.dataset.index = i + 1;
      if (overlapping[i + 1]) { tr.className = "overlap"; }
      [("方案 " + (i + 1)), p.households + " 户", String(p.compactness)].forEach(function (text, col) {
        var td = document.createElement("td");
        td.textContent = text;
        if (col === 1) { td.className = klass(p.households, p.target_min, p.target_max); }
        tr.appendChild(td);
      });
      table.appendChild(tr);
      var layer = proposal.layers[i];
      if (layer) {
        layer.setStyle({ color: colour(p.households, p.target_min, p.target_max) });
        layer.setTooltipContent("方案 " + (i + 1) + "：" + p.households + " 户，紧凑度 " + p.compactness);
      }
    });
    var text = "共 " + fc.features.length + " 个网格，" + fc.within_target + " 个在目标户数内";
    if (fc.overlaps && fc.overlaps.length) {
      text += "；相互重叠：" + fc.overlaps.map(function (o) {
        return "方案 " + o.features[0] + " 与 " + o.features[1] + "（" + o.area_m2 + " m²）";
      }).join("、");
    }
    if (fc.households_uncovered) { text += "；" + fc.households_uncovered + " 户不在任何方案网格内"; }
    var outside = fc.features.filter(function (f) { return f.properties.within_community === false; });
    if (outside.length) {
      text += "；超出社区：" + outside.map(function (f) { return "方案 " + f.properties.index; }).join("、");
    }
    $("proposal-summary").textContent = text + "。";
    $("planner-accept").disabled = fc.acceptable === false;
  }

  function clearProposal() {
    proposal.layers.forEach(function (layer) { map.removeLayer(layer); });
    proposal.layers = []; proposal.props = [];
  }

  function propose() {
    $("planner-propose").disabled = true;
    notice("正在生成划分方案……");
    request("POST", "/api/v1/planning/proposals", { within: config.community.code }).then(function (res) {
      $("planner-propose").disabled = false;
      if (res.status !== 200) { notice(res.data.error.message, true); return; }
      clearProposal();
      Object.keys(state.layers).forEach(function (code) {
        state.layers[code].setStyle({ opacity: 0.35, fillOpacity: 0 });
      });
      res.data.features.forEach(function (f, i) {
        var layer = L.geoJSON(f.geometry, { style: { weight: 3, dashArray: "8 4", fillOpacity: 0.1 } })
          .getLayers()[0];
        layer.proposalIndex = i + 1;
        layer.bindTooltip("方案 " + (i + 1), { sticky: true });
        layer.on("click", function () { layer.pm.enable({ snappable: true }); });
        layer.on("pm:edit", scheduleProposal);
        layer.on("pm:markerdragend", scheduleProposal);
        layer.addTo(map);
        proposal.layers.push(layer);
        proposal.props.push(f.properties);
      });
      renderProposal(res.data);
      notice("已生成划分方案（虚线）：可拖动顶点调整，户数会重新统计；满意后点“采纳整套方案”。");
    });
  }

  function scheduleProposal() {
    $("planner-accept").disabled = true;
    clearTimeout(proposal.timer);
    proposal.timer = setTimeout(previewProposal, DEBOUNCE_MS);
  }

  function previewProposal() {
    var seq = ++proposal.seq;
    request("POST", "/api/v1/planning/proposals/preview", { within: config.community.code,
                                                           features: proposalFeatures() }).then(function (res) {
      if (seq !== proposal.seq) { return; }
      proposal.previews += 1;
      if (res.status !== 200) { notice(res.data.error.message, true); return; }
      renderProposal(res.data);
    });
  }

  function acceptProposal() {
    if (!proposal.layers.length) { return; }
    var reason = window.prompt("采纳划分方案的原因（必填）：", "");
    if (reason === null || !reason.trim()) { notice("未填写原因，方案尚未采纳。", true); return; }
    $("planner-accept").disabled = true;
    request("POST", "/api/v1/planning/proposals/accept", { within: config.community.code,
                                                          features: proposalFeatures(), reason: reason })
      .then(function (res) {
        if (res.status !== 200) { notice(res.data.error.message, true); $("planner-accept").disabled = false; return; }
        notice("已采纳划分方案：" + res.data.features.map(function (f) {
          return f.properties.code.slice(-3) + "（" + f.properties.households + " 户）";
        }).join("、") + "。页面将刷新。");
        window.setTimeout(function () { window.location.reload(); }, 800);
      });
  }

  // --- set-up --------------------------------------------------------------------------
  map.pm.setGlobalOptions({ snappable: true, snapDistance: 15, allowSelfIntersection: false });
  L.geoJSON(config.outline, { pmIgnore: true, interactive: false,
                              style: { color: "#264653", weight: 2, dashArray: "4 4" } }).addTo(map);
  // The street's other grids, read-only (snapped to, never edited); from vector tiles when many.
  if (config.neighbours) {
    L.geoJSON(config.neighbours, { pmIgnore: true, style: { color: "#6b7280", weight: 1, fillOpacity: 0.08 },
      onEachFeature: function (f, layer) {
        var p = f.properties, link = document.createElement("a");
        link.href = "/maps/grid/" + encodeURIComponent(p.code); link.target = "_top";
        link.className = "gridmap-grid-link"; link.textContent = "查看网格详情";
        layer.bindPopup(window.gridmapText(p.name + "（" + p.code + "，" + p.households + " 户）") + "<br>" + link.outerHTML);
      } }).addTo(map);
  }
  var homes = L.layerGroup().addTo(map);
  config.households.forEach(function (h) {
    L.circleMarker([h[1], h[0]], { radius: 2, weight: 0, fillOpacity: 0.7, fillColor: "#555",
                                   pmIgnore: true, interactive: false }).addTo(homes);
  });
  config.grids.features.forEach(function (f) {
    var p = f.properties;
    state.grids[p.code] = { name: p.name, version: p.version, target_min: p.target_min, target_max: p.target_max };
    var layer = L.geoJSON(f.geometry, { style: { color: colour(p.households, p.target_min, p.target_max),
                                                 weight: 2, fillOpacity: 0.15 } }).getLayers()[0];
    layer.gridCode = p.code;
    layer.bindTooltip(window.gridmapText(p.name + "（" + p.households + " 户）"), { sticky: true });
    layer.on("pm:edit", function () { schedule(p.code); });
    layer.on("pm:markerdragend", function () { schedule(p.code); });
    layer.on("click", function (e) {
      if (e.originalEvent && (e.originalEvent.ctrlKey || e.originalEvent.metaKey)) {
        if (state.selected[p.code]) { delete state.selected[p.code]; } else { state.selected[p.code] = true; }
        $("planner-merge").disabled = Object.keys(state.selected).length < 2;
        return;
      }
      select(p.code);
      layer.pm.enable({ snappable: true });
    });
    layer.addTo(map);
    state.layers[p.code] = layer;
  });
  renderCounts(config.grids.features.map(function (f) { return f.properties; }));

  map.on("pm:create", function (e) {
    if (e.shape === "Line") {
      if (state.line) { map.removeLayer(state.line); }
      state.line = e.layer;
      $("planner-split").disabled = !state.current;
      notice("已画分割线：选择网格后点“按所画线拆分”。");
    } else {
      if (state.drawn) { map.removeLayer(state.drawn); }
      state.drawn = e.layer;
      var n = countInside(e.layer);
      e.layer.bindTooltip("新绘制区域：约 " + n + " 户", { permanent: true });
      e.layer.on("pm:edit", function () { clearTimeout(state.timer); state.timer = setTimeout(previewNew, DEBOUNCE_MS); });
      notice("新绘制区域内约 " + n + " 户；可点“新建网格”保存为新网格。");
      previewNew();
    }
  });

  /* A polygon drawn with Geoman: preview it as a new grid (who would move in, from which
   * grids), then create it with the community's next free code. */
  function previewNew() {
    var layer = state.drawn;
    if (!layer) { return; }
    var seq = ++state.seq;
    request("POST", communityApi + "/preview", { geometry: geometryOf(layer) }).then(function (res) {
      if (seq !== state.seq) { return; }
      state.previews += 1;
      if (res.status !== 200) { notice(res.data.error.message, true); $("planner-create").disabled = true; return; }
      var p = res.data;
      showPreview(p);
      $("planner-grid").textContent = p.code + " " + p.name + "（新建）";
      $("planner-version").textContent = "-";
      $("planner-create").disabled = false;
      layer.setTooltipContent("新网格 " + p.code.slice(-3) + "：" + p.households_after + " 户");
    });
  }

  function createGrid() {
    var layer = state.drawn;
    if (!layer) { return; }
    var name = window.prompt("新网格名称（可留空，默认“社区名第N网格”）：", "");
    if (name === null) { return; }
    var reason = window.prompt("新建原因（必填）：", "");
    if (reason === null || !reason.trim()) { notice("未填写原因，新网格尚未保存。", true); return; }
    var body = { geometry: geometryOf(layer), name: name, reason: reason, force: false };
    var send = function () {
      request("POST", communityApi, body).then(function (res) {
        if (res.status === 201) {
          notice("已新建网格 " + res.data.code + "（" + res.data.households + " 户）。页面将刷新。");
          $("planner-create").disabled = true;
          window.setTimeout(function () { window.location.reload(); }, 800);
        } else if (res.data.error.code === "grid_overlaps_sibling" && !body.force &&
                   window.confirm(res.data.error.message + "\n仍要强制保存吗？")) {
          body.force = true; send();
        } else {
          notice(res.data.error.message, true);
        }
      });
    };
    send();
  }

  $("planner-save").addEventListener("click", save);
  $("planner-undo").addEventListener("click", undo);
  $("planner-split").addEventListener("click", split);
  $("planner-merge").addEventListener("click", merge);
  $("planner-create").addEventListener("click", createGrid);
  $("planner-propose").addEventListener("click", propose);
  $("planner-accept").addEventListener("click", acceptProposal);

  window.gridmapPlanner = { state: state, layers: state.layers, preview: preview, schedule: schedule, map: map,
                           proposal: proposal };
  window.plannerReady = true;
}());
