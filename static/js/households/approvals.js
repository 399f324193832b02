/* The approvals page: approve or reject one pending household change with a reason, through
   the API (POST /api/v1/households/<code>/changes/<id>/approve|reject). */
(function () {
  "use strict";
  document.querySelectorAll("[data-change]").forEach(function (item) {
    var result = item.querySelector(".result");
    var buttons = item.querySelectorAll("button");
    function decide(verdict) {
      var note = item.querySelector("textarea.note").value.trim();
      if (verdict === "reject" && !note) { result.textContent = "驳回时请填写理由。"; result.hidden = false; return; }
      buttons.forEach(function (b) { b.disabled = true; });
      var url = "/api/v1/households/" + encodeURIComponent(item.dataset.household) + "/changes/" +
                item.dataset.change + "/" + verdict;
      window.householdSend("POST", url, { note: note }).then(function (res) {
        if (res.ok) {
          result.textContent = verdict === "approve" ? "已通过，住户现为第 " + res.body.version + " 版。" : "已驳回。";
          item.classList.add("decided");
        } else {
          buttons.forEach(function (b) { b.disabled = false; });
          result.textContent = res.body && res.body.error ? res.body.error.message : "提交失败（" + res.status + "）。";
        }
        result.hidden = false;
      }).catch(function () {
        buttons.forEach(function (b) { b.disabled = false; });
        result.textContent = "网络不通，请联网后再提交。";
        result.hidden = false;
      });
    }
    item.querySelector(".approve").addEventListener("click", function () { decide("approve"); });
    item.querySelector(".reject").addEventListener("click", function () { decide("reject"); });
  });
})();
