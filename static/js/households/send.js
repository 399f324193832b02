/* The one way a household page writes: JSON through fetch to the API, answered as
   {ok, status, body}. Kept to one function so an offline outbox can take writes over later. */
(function () {
  "use strict";
  var meta = document.querySelector("meta[name=csrf-token]");
  window.householdSend = function (method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": meta ? meta.content : "" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return null; })
        .then(function (b) { return { ok: r.ok, status: r.status, body: b }; });
    });
  };
})();
