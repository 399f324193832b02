/* A grid layer drawn from vector tiles (GET /tiles/grids/{z}/{x}/{y}.pbf, Leaflet.VectorGrid), one
   way for every map above the tile threshold (gridmap/maps/tiled.py builds `cfg`):
     url         the tile URL template ({z}/{x}/{y}; query string allowed)
     colour      {property, classes: {value: colour}} or {property, steps: [[min, colour], ...], none}
     popup       HTML template with {property} placeholders (values are escaped; `names` maps a
                 property's values to words, `percent` lists properties shown as percentages)
     link        URL template with {code} (the grid's 民情地图), a link in the popup
     skip        {property, value}: features with that value are not drawn (e.g. the edited community)
     search      URL the typed text is appended to, answering a grid FeatureCollection (optional)
     extra       function(latlng) → HTML appended to a clicked grid's popup (optional)
   window.gridmapTiledGrids(map, cfg) adds the layer and returns it; layer.gridmapSetUrl(url) reloads. */
(function () {
  "use strict";

  function esc(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function colourOf(spec, p) {
    var v = p[spec.property];
    if (spec.classes) return spec.classes[v] || spec.none || "#9ca3af";
    if (v === null || v === undefined) return spec.none || "#cbd2d9";
    for (var i = 0; i < spec.steps.length; i++) { if (v >= spec.steps[i][0]) return spec.steps[i][1]; }
    return spec.none || "#cbd2d9";
  }

  function classify(p) {  // households against target, as the tile's `fill` (search results lack it)
    var n = p.households || 0;
    return n <= 0 ? "empty" : n < p.target_min ? "under" : n > p.target_max ? "over" : "within";
  }

  window.gridmapTiledGrids = function (map, cfg) {
    var names = cfg.names || {}, percent = cfg.percent || [];
    function value(p, key) {
      var v = p[key];
      if (v === null || v === undefined) return "—";
      if (names[key] && names[key][v] !== undefined) return names[key][v];
      if (percent.indexOf(key) >= 0) return (Math.round(v * 1000) / 10) + "%";
      return v;
    }
    function popup(p) {
      var html = cfg.popup.replace(/\{(\w+)\}/g, function (_m, key) { return esc(value(p, key)); });
      if (cfg.link) {
        var a = document.createElement("a");
        a.href = cfg.link.replace("{code}", encodeURIComponent(p.code));
        a.target = "_top"; a.className = "gridmap-grid-link"; a.textContent = cfg.words.grid_detail;
        html += "<br>" + a.outerHTML;
      }
      return '<div class="gridmap-popup">' + html + "</div>";
    }
    var styles = {};
    styles.grids = function (p) {
      if (cfg.skip && p[cfg.skip.property] === cfg.skip.value) return [];
      return {fill: true, fillColor: colourOf(cfg.colour, p), fillOpacity: cfg.opacity || 0.55,
              color: "#374151", weight: 1};
    };
    // Fit the area first: a layer added at the page's starting view (zoom 5) would ask for tiles
    // holding every grid of the city, wasted once the map jumps to the area (scripts/bench/citymap).
    if (cfg.bounds) {
      map.fitBounds([[cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]], {padding: [20, 20]});
    }
    // Canvas tiles; none asked for mid-zoom, none kept beyond the view (Leaflet keeps two rows): a
    // city-wide tile holds thousands of grids, so every tile kept costs the tab memory.
    var layer = L.vectorGrid.protobuf(cfg.url, {
      rendererFactory: L.canvas.tile, interactive: true, maxNativeZoom: cfg.max_native_zoom || 18,
      updateWhenZooming: false, keepBuffer: 0,
      getFeatureId: function (f) { return f.properties.code; }, vectorTileLayerStyles: styles
    }).addTo(map);
    layer.on("click", function (e) {
      map.gridmapTileClick = Date.now();  // the map's own click handler may ask whether a grid took it
      var html = popup(e.layer.properties) + (cfg.extra ? "<br>" + cfg.extra(e.latlng) : "");
      L.popup().setLatLng(e.latlng).setContent(html).openOn(map);
    });
    layer.gridmapSetUrl = function (url) { layer.setUrl(url); };
    layer.gridmapPopup = popup;
    if (cfg.search) addSearch(map, cfg, popup);
    return layer;
  };

  function addSearch(map, cfg, popup) {
    var box = L.control({position: "topright"});
    box.onAdd = function () {
      var div = L.DomUtil.create("div", "gridmap-search");
      div.innerHTML = '<input type="search" class="gridmap-search-input"><span class="result" role="status"></span>';
      var input = div.querySelector("input"), result = div.querySelector(".result");
      input.placeholder = cfg.words.search; input.setAttribute("aria-label", cfg.words.search);
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      input.addEventListener("keydown", function (ev) {
        if (ev.key !== "Enter" || !input.value.trim()) { return; }
        fetch(cfg.search + encodeURIComponent(input.value.trim()), {credentials: "same-origin"})
          .then(function (r) { return r.json(); })
          .then(function (body) {
            var f = (body.features || []).filter(function (x) { return x.geometry; })[0];
            if (!f) { result.textContent = cfg.words.not_found; return; }
            result.textContent = f.properties.name + " " + f.properties.code;
            var shape = L.geoJSON(f.geometry), p = {};
            for (var k in f.properties) p[k] = f.properties[k];
            if (p.fill === undefined && p.target_min !== undefined) p.fill = classify(p);
            map.fitBounds(shape.getBounds(), {maxZoom: 16});
            L.popup().setLatLng(shape.getBounds().getCenter()).setContent(popup(p)).openOn(map);
          });
      });
      return div;
    };
    box.addTo(map);
  }
})();
