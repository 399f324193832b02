/* /maps/hazards: refetch the database's heat cells for the visible bbox and zoom on every
   move, category and date filters, a week-by-week slider (since/until on the API), a
   choropleth of hazards per 1,000 households by grid (from vector tiles when the page says
   `grid_tiles`: many grids), and a click → prefilled report. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var cfg = JSON.parse($("heat-config").textContent);
  var map = window[cfg.map], heat = window[cfg.heat];
  if (!map || !heat) return;
  var WEEKS = Number($("heat-week").max);
  var DAY = 86400000;
  var seq = 0, choropleth = null, legend = null;

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function ymd(d) { return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()); }
  function cnMidnight(dateString) { return dateString + "T00:00:00+08:00"; }
  function weekStart(offset) {  // Monday of the week `offset` weeks before this one (local dates)
    var d = new Date(); d.setHours(0, 0, 0, 0);
    d = new Date(d.getTime() - ((d.getDay() + 6) % 7) * DAY);
    return new Date(d.getTime() - offset * 7 * DAY);
  }

  function range() {
    var week = Number($("heat-week").value);
    if (week < WEEKS) {
      var start = weekStart(WEEKS - 1 - week), end = new Date(start.getTime() + 7 * DAY);
      $("heat-week-label").textContent = ymd(start) + " 至 " + ymd(new Date(end.getTime() - DAY));
      return { since: cnMidnight(ymd(start)), until: cnMidnight(ymd(end)) };
    }
    $("heat-week-label").textContent = "全部时间";
    var r = {};
    if ($("heat-since").value) r.since = cnMidnight($("heat-since").value);
    if ($("heat-until").value) r.until = cnMidnight(ymd(new Date(new Date($("heat-until").value + "T00:00:00").getTime() + DAY)));
    return r;
  }

  function query(extra) {
    var r = range(), parts = [];
    if (cfg.category) parts.push("category=" + encodeURIComponent(cfg.category));
    if (r.since) parts.push("since=" + encodeURIComponent(r.since));
    if (r.until) parts.push("until=" + encodeURIComponent(r.until));
    for (var k in extra) parts.push(k + "=" + encodeURIComponent(extra[k]));
    return parts.join("&");
  }

  function refresh() {
    var b = map.getBounds(), mine = ++seq;
    var bbox = [Math.max(-180, b.getWest()), Math.max(-90, b.getSouth()), Math.min(180, b.getEast()),
                Math.min(90, b.getNorth())].map(function (v) { return v.toFixed(6); }).join(",");
    var ask = { bbox: bbox, zoom: Math.round(map.getZoom()) };
    if (cfg.map_crs === "gcj02") ask.display = "gcj02";  // Gaode basemap: bbox and cells in GCJ-02
    fetch("/api/v1/hazards/heatmap?" + query(ask),
          { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (mine !== seq || !body.cells) return;  // a later move already asked again
        var top = 1;
        body.cells.forEach(function (c) { if (c[2] > top) top = c[2]; });
        heat.setLatLngs(body.cells.map(function (c) { return [c[0], c[1], c[2] / top]; }));
        $("heat-status").textContent = "当前范围 " + body.total + " 件";
        document.body.dataset.heatTotal = body.total;
      });
    if ($("heat-choropleth").checked) drawChoropleth();
  }

  var STEPS = [[20, "#7f1d1d"], [10, "#b91c1c"], [5, "#ef4444"], [2, "#f59e0b"], [1e-9, "#fde68a"], [0, "#ecfdf5"]];
  var NONE = "#cbd2d9";
  function colour(v) {
    if (v === null || v === undefined) return NONE;
    for (var i = 0; i < STEPS.length; i++) { if (v >= STEPS[i][0]) return STEPS[i][1]; }
    return NONE;
  }

  function addDays(day, n) { return ymd(new Date(new Date(day + "T00:00:00").getTime() + n * DAY)); }

  function tileUrl() {  // the period as whole Beijing days, the last one included
    var r = range(), url = cfg.grid_tiles.url;
    if (r.since) url += "&hazards_since=" + r.since.slice(0, 10);
    if (r.until) url += "&hazards_until=" + addDays(r.until.slice(0, 10), -1);
    return url;
  }

  function drawTiledChoropleth() {
    if (choropleth) {  // a move keeps the tiles; a new period or category reloads them
      if (choropleth._url !== tileUrl()) choropleth.gridmapSetUrl(tileUrl());
      if (!map.hasLayer(choropleth)) choropleth.addTo(map);
    }
    else {
      var layer = {};
      for (var k in cfg.grid_tiles) layer[k] = cfg.grid_tiles[k];
      layer.url = tileUrl();
      layer.colour = { property: "per_1000", steps: STEPS, none: NONE };
      layer.popup = "<b>{name}</b>（{code}）<br>{hazards} 件 / {households} 户，每千户 {per_1000} 件";
      layer.extra = reportLink;
      choropleth = window.gridmapTiledGrids(map, layer);
      window.gridmapTiles = choropleth;
    }
    choropleth.bringToBack();
    showLegend();
  }

  function showLegend() {
    if (!legend) {
      legend = L.control({ position: "bottomright" });
      legend.onAdd = function () {
        var div = L.DomUtil.create("div", "heat-legend");
        div.style.cssText = "background:#fff;padding:6px 8px;border-radius:4px;font-size:12px;line-height:1.5";
        div.innerHTML = "<b>每千户问题数</b><br>" + [[20, "≥ 20"], [10, "10–20"], [5, "5–10"], [2, "2–5"], [0.1, "< 2"], [0, "0"]]
          .map(function (x) { return '<i style="display:inline-block;width:12px;height:12px;background:' + colour(x[0]) + '"></i> ' + x[1]; })
          .join("<br>");
        return div;
      };
    }
    legend.addTo(map);
  }

  function drawChoropleth() {
    if (cfg.grid_tiles) { drawTiledChoropleth(); return; }
    var ask = { zoom: Math.round(map.getZoom()) };
    if (cfg.map_crs === "gcj02") ask.display = "gcj02";  // Gaode basemap: grid outlines in GCJ-02
    fetch("/api/v1/hazards/grid-density?" + query(ask), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (fc) {
        if (choropleth) map.removeLayer(choropleth);
        if (!$("heat-choropleth").checked) return;
        choropleth = L.geoJSON(fc, {
          style: function (f) { return { color: "#52606d", weight: 1, fillColor: colour(f.properties.per_1000), fillOpacity: 0.55 }; },
          onEachFeature: function (f, layer) {
            var p = f.properties;
            layer.bindTooltip(window.gridmapText(p.name + "：" + p.hazards + " 件 / " + p.households + " 户" +
                              (p.per_1000 === null ? "" : "，每千户 " + p.per_1000 + " 件")));
          }
        }).addTo(map);
        choropleth.bringToBack();
        showLegend();
      });
  }

  $("heat-category").addEventListener("change", function () { this.form.submit(); });
  map.on("moveend", refresh);
  ["heat-since", "heat-until", "heat-week"].forEach(function (id) { $(id).addEventListener("change", refresh); });
  $("heat-week").addEventListener("input", refresh);
  $("heat-choropleth").addEventListener("change", function () {
    if (this.checked) drawChoropleth();
    else { if (choropleth) map.removeLayer(choropleth); if (legend) legend.remove(); }
  });
  function reportLink(latlng) {
    var href = "/hazards/new?lon=" + latlng.lng.toFixed(7) + "&lat=" + latlng.lat.toFixed(7) + "&crs=" + cfg.map_crs;
    return '<a class="report-here" href="' + href + '" target="_top">在此处上报问题</a>';
  }
  map.on("click", function (e) {
    if (map.gridmapTileClick && Date.now() - map.gridmapTileClick < 300) return;  // a grid's popup has the link
    L.popup().setLatLng(e.latlng).setContent(reportLink(e.latlng)).openOn(map);
  });
  range();
  refresh();
})();
