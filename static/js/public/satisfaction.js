/* The resident's 回访 answer on the status page /r/status/<code>: a fresh proof-of-work challenge,
   solved here (sha256.js), then POST /api/v1/public/reports/<code>/satisfaction; the answer the
   server recorded is shown with textContent. */
(function () {
  "use strict";
  var form = document.getElementById("satisfaction-form");
  if (!form) return;
  var code = document.getElementById("satisfaction").getAttribute("data-tracking-code");
  function $(id) { return document.getElementById(id); }
  function json(response) {
    return response.json().then(function (body) { return { ok: response.ok, status: response.status, body: body }; },
      function () { return { ok: response.ok, status: response.status, body: {} }; });
  }
  function fail(res) {
    return new Error((res.body && res.body.error && res.body.error.message) || "提交失败，请稍后重试。");
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var chosen = form.querySelector("input[name=answer]:checked");
    if (!chosen) { $("satisfaction-error").textContent = "请选择满意程度。"; return; }
    $("satisfaction-submit").disabled = true;
    $("satisfaction-working").hidden = false;
    $("satisfaction-error").textContent = "";
    fetch("/api/v1/public/challenge").then(json).then(function (res) {
      if (!res.ok) throw fail(res);
      return gridmapSolve(res.body.challenge, res.body.bits).then(function (nonce) {
        return fetch("/api/v1/public/reports/" + encodeURIComponent(code) + "/satisfaction", {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ answer: chosen.value, comment: $("satisfaction-comment").value,
                                 challenge: res.body.challenge, nonce: nonce })
        }).then(json);
      });
    }).then(function (res) {
      if (!res.ok) throw fail(res);
      form.hidden = true;
      $("satisfaction-answer").textContent = res.body.satisfaction.answer_name || "";
      $("satisfaction-recorded").hidden = false;
      $("status").textContent = res.body.status_name;
      $("reply").textContent = res.body.reply;
    }).catch(function (err) {
      $("satisfaction-submit").disabled = false;
      $("satisfaction-working").hidden = true;
      $("satisfaction-error").textContent = err.message;
    });
  });
})();
