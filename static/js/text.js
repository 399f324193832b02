/* User text (names, notes) for Leaflet tooltips and popups: an element holding the text as
   textContent. Leaflet puts a string content into innerHTML, so never pass it user text. */
window.gridmapText = function (text) {
  "use strict";
  var span = document.createElement("span");
  span.textContent = text;
  return span;
};
