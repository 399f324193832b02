/* The report page's 现场已解决 option (grid workers): a problem found and fixed in one step goes,
   with its photos before (the page's photo field) and after the fix, into the outbox as one "fix"
   (static/js/outbox-kinds.js: POST /api/v1/hazards/on-the-spot, stored closed, once per client id;
   kept on the phone while there is no signal). report.js asks gridmapOnSpot.item when the box is ticked. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var box = $("on-the-spot");

  box.addEventListener("change", function () {
    $("after-photo-field").hidden = !box.checked;
    $("submit").textContent = box.checked ? "提交（现场已解决）" : "提交上报";
  });

  // The outbox item for the report's fields: {request, photos}, or {error} without both stages' photos.
  function item(fields) {
    var before = Array.prototype.slice.call($("photo").files), after = Array.prototype.slice.call($("after-photo").files);
    if (!before.length || !after.length) return { error: "现场已解决需要处置前和处置后的照片各至少一张。" };
    return { request: { fields: fields, before: before.length }, photos: before.concat(after) };
  }

  window.gridmapOnSpot = { active: function () { return box.checked; }, item: item };
})();
