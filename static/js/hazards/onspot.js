/* The report page's 现场已解决 option (grid workers): a problem found and fixed in one step is
   sent with its photos before (the page's photo field) and after the fix to
   POST /api/v1/hazards/on-the-spot, stored closed. report.js calls gridmapOnSpot.submit when
   the box is ticked. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var box = $("on-the-spot");

  box.addEventListener("change", function () {
    $("after-photo-field").hidden = !box.checked;
    $("submit").textContent = box.checked ? "提交（现场已解决）" : "提交上报";
  });

  function submit(body, csrf, errorText) {
    var before = $("photo").files, after = $("after-photo").files;
    if (!before.length || !after.length) {
      return Promise.reject(new Error("现场已解决需要处置前和处置后的照片各至少一张。"));
    }
    var form = new FormData();
    Object.keys(body).forEach(function (key) {
      if (body[key] !== null && body[key] !== undefined) form.append(key, String(body[key]));
    });
    for (var i = 0; i < before.length; i++) form.append("before", before[i]);
    for (var j = 0; j < after.length; j++) form.append("after", after[j]);
    return fetch("/api/v1/hazards/on-the-spot", { method: "POST", credentials: "same-origin",
                                                  headers: { "X-CSRF-Token": csrf }, body: form })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b }; }); })
      .then(function (res) {
        if (!res.ok) throw new Error(errorText(res.body, res.status));
        return res.body;
      });
  }

  window.gridmapOnSpot = { active: function () { return box.checked; }, submit: submit };
})();
