/* The outbox: every write the phone makes (a check-in, a hazard report with its photos, a
   household added or edited, …) waits in IndexedDB until the server confirms it, and survives
   reloads and a phone with no signal. Each item is
     { client_id, kind, created_at, request, photos?, progress, refused?, last_error? }
   and is sent in the order it was made: on the page's start, on the "online" event, right after
   it is added, and every 60 s while something waits, with backoff (2 s doubling to 5 min) after a
   failure. The server stores each client_id once (a re-send answers with what was stored).
   The outbox is the browser's, not the user's: each item keeps its author (the panel's
   data-author, the logged-in user's id) and is sent only from a page of that user, so a phone
   passed to a colleague never sends one person's writes under another's name.

   What an answer means (Outbox.send):
     2xx                    confirmed: out of the outbox, into "done" (photo blobs deleted)
     401, 408, 429, 5xx,    kept and retried; the sync stops there so later items keep their order
     no network
     other 4xx              refused: kept with the API's own message (and a link where one helps),
                            never re-sent; the person reads why and discards it

   Adding a kind is one registration, in static/js/outbox-kinds.js:
     Outbox.register("visit", {
       label: "走访",                                   // what the list calls it
       describe: function (item) { return "…"; },     // one line for the list
       send: function (item, io) { return io.send("POST", "/api/v1/…", item.request); }
     });
   send() returns a promise of the server's answer; io.send/io.post refuse or retry by the rules
   above; io.save(item) keeps progress (e.g. which photos are stored) across an interrupted sync;
   io.blob(id) reads a photo stored with the item. A kind may add batch: { max, send(items, io) }
   (resolving to one {answer} or {refused} per item) to send runs of its items in one request. */
(function (global) {
  "use strict";
  var DB_NAME = "gridmap-outbox";
  var STORES = ["items", "blobs", "done"];
  var KEEP_DONE = 50;
  var kinds = {}, listeners = [], opening = null, lastCreated = 0;
  var backoff = 0, retryTimer = null, syncing = null, status = "";
  var csrfMeta = document.querySelector("meta[name=csrf-token]");
  var panel = document.getElementById("outbox");
  var author = panel && panel.dataset.author ? panel.dataset.author : null;
  function ours(item) { return !item.author || item.author === author; }

  function open() {
    if (opening) return opening;
    opening = new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains("items")) db.createObjectStore("items", { keyPath: "client_id" });
        if (!db.objectStoreNames.contains("blobs")) db.createObjectStore("blobs", { keyPath: "id" });
        if (!db.objectStoreNames.contains("done")) db.createObjectStore("done", { keyPath: "client_id" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { opening = null; reject(request.error); };
    });
    return opening;
  }

  // One transaction over ``stores``; ``action(tx)`` may return a request whose result is resolved.
  function run(stores, mode, action) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(stores, mode), result, req = action(tx);
        if (req) req.onsuccess = function () { result = req.result; };
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function byTime(a, b) { return a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0; }

  // UUIDv7 (RFC 9562): the first 48 bits are the Unix time in milliseconds, the rest random.
  // Time-ordered ids land at the growing end of the server's unique indexes (a few hot pages).
  function uuid() {
    var b = crypto.getRandomValues(new Uint8Array(16)), ms = Date.now();
    for (var i = 5; i >= 0; i--) { b[i] = ms % 256; ms = Math.floor(ms / 256); }
    b[6] = (b[6] & 0x0f) | 0x70; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function changed(text) {
    if (text !== undefined) status = text;
    listeners.forEach(function (fn) { try { fn(status); } catch (e) { /* a listener's own problem */ } });
  }

  // --- the network rules -----------------------------------------------------------
  function Refusal(message, detail) { this.refused = true; this.message = message; this.detail = detail || {}; }
  function Retry(message) { this.retry = true; this.message = message; }

  function send(method, url, body) {
    var headers = { "X-CSRF-Token": csrfMeta ? csrfMeta.content : "" };
    var form = body instanceof FormData;
    if (!form) headers["Content-Type"] = "application/json";
    return fetch(url, { method: method, credentials: "same-origin", headers: headers,
                        body: form ? body : JSON.stringify(body) })
      .catch(function () { throw new Retry("网络不通"); })
      .then(function (r) {
        return r.json().catch(function () { return null; }).then(function (answer) {
          if (r.ok) return answer;
          var error = (answer && answer.error) || {};
          if (r.status === 401) throw new Retry("登录已过期，请重新登录；数据仍保存在手机上。");
          if (r.status >= 500 || r.status === 408 || r.status === 429) throw new Retry("服务器暂时无法处理（" + r.status + "）");
          throw new Refusal(error.message || ("提交未被接受（" + r.status + "）"),
                            { status: r.status, code: error.code, details: error.details });
        });
      });
  }

  var io = {
    send: send,
    post: function (url, body) { return send("POST", url, body); },
    refuse: function (message, detail) { return new Refusal(message, detail); },
    save: function (item) { return run(["items"], "readwrite", function (tx) { return tx.objectStore("items").put(item); }); },
    blob: function (id) {
      return run(["blobs"], "readonly", function (tx) { return tx.objectStore("blobs").get(id); })
        .then(function (row) { return row ? row.blob : null; });
    },
    dropBlob: function (id) { return run(["blobs"], "readwrite", function (tx) { tx.objectStore("blobs").delete(id); }); }
  };

  // --- the outbox ------------------------------------------------------------------
  function waiting() {
    return run(["items"], "readonly", function (tx) { return tx.objectStore("items").getAll(); })
      .then(function (rows) { return (rows || []).sort(byTime); });
  }

  function done(kind) {
    return run(["done"], "readonly", function (tx) { return tx.objectStore("done").getAll(); }).then(function (rows) {
      return (rows || []).filter(function (i) { return !kind || i.kind === kind; }).sort(byTime).reverse();
    });
  }

  // Confirmed: out of the outbox and into "done" in one transaction, its photos' blobs deleted.
  function confirm(item, answer) {
    return run(STORES, "readwrite", function (tx) {
      item.answer = answer;
      item.confirmed_at = new Date().toISOString();
      (item.photos || []).forEach(function (p) { tx.objectStore("blobs").delete(p.client_id); });
      tx.objectStore("done").put(item);
      tx.objectStore("items").delete(item.client_id);
    }).then(trimDone);
  }

  function trimDone() {
    return done().then(function (rows) {
      var old = rows.slice(KEEP_DONE);
      if (!old.length) return;
      return run(["done"], "readwrite", function (tx) {
        old.forEach(function (i) { tx.objectStore("done").delete(i.client_id); });
      });
    });
  }

  function refuse(item, refusal) {
    var spec = kinds[item.kind] || {};
    item.refused = { message: refusal.message, at: new Date().toISOString(),
                     link: spec.link ? spec.link(item, refusal) : null };
    if (spec.explain) item.refused.message = spec.explain(item, refusal) || refusal.message;
    return io.save(item);
  }

  // Add a write: ``photos`` is a list of Blobs (files) kept in IndexedDB until the server has them;
  // ``clientId`` when the request already carries its id (a check-in's ``id``), else a new UUIDv7.
  function add(kind, request, photos, clientId) {
    if (!kinds[kind]) return Promise.reject(new Error("unknown outbox kind " + kind));
    // Items are sent in the order they were made: two made in one millisecond still get distinct,
    // increasing times (their ids are random within the millisecond).
    var at = Math.max(Date.now(), lastCreated + 1);
    lastCreated = at;
    var item = { client_id: clientId || uuid(), kind: kind, created_at: new Date(at).toISOString(),
                 author: author, request: request, progress: {}, photos: [] };
    var blobs = (photos || []).map(function (blob) {
      var entry = { client_id: uuid(), name: blob.name || "photo", type: blob.type, done: false };
      item.photos.push(entry);
      return { id: entry.client_id, blob: blob };
    });
    return run(["items", "blobs"], "readwrite", function (tx) {
      blobs.forEach(function (b) { tx.objectStore("blobs").put(b); });
      tx.objectStore("items").put(item);
    }).then(function () { changed(); return item; });
  }

  function discard(clientId) {
    return run(["items"], "readonly", function (tx) { return tx.objectStore("items").get(clientId); }).then(function (item) {
      if (!item) return;
      return run(["items", "blobs"], "readwrite", function (tx) {
        (item.photos || []).forEach(function (p) { tx.objectStore("blobs").delete(p.client_id); });
        tx.objectStore("items").delete(clientId);
      });
    }).then(function () { changed(); });
  }

  function schedule(reason) {
    if (retryTimer) return;
    var delay = Math.min(300000, 2000 * Math.pow(2, backoff)) * (0.75 + Math.random() / 2);
    backoff = Math.min(backoff + 1, 10);
    changed((reason ? reason + "；" : "") + Math.round(delay / 1000) + " 秒后重试（联网后立即重试）。");
    retryTimer = setTimeout(function () { retryTimer = null; sync(); }, delay);
  }

  // The next run to send: the first waiting item, with the items of its kind right after it
  // when that kind sends in batches.
  function nextRun(items) {
    var pending = items.filter(function (i) { return !i.refused && kinds[i.kind] && ours(i); });
    if (!pending.length) return [];
    var spec = kinds[pending[0].kind], run = [pending[0]];
    if (spec.batch) {
      for (var k = 1; k < pending.length && run.length < spec.batch.max && pending[k].kind === pending[0].kind; k++) {
        run.push(pending[k]);
      }
    }
    return run;
  }

  function sendRun(items) {
    var spec = kinds[items[0].kind];
    if (spec.batch) {
      return spec.batch.send(items, io).then(function (results) {
        return Promise.all(items.map(function (item, k) {
          var r = results[k];
          if (!r) return null;
          return r.refused ? refuse(item, r.refused) : confirm(item, r.answer);
        }));
      });
    }
    var item = items[0];
    return spec.send(item, io).then(function (answer) { return confirm(item, answer); }, function (e) {
      if (e && e.refused) return refuse(item, e);
      throw e;
    });
  }

  // Send everything that waits, in order; one sync at a time (a second call joins the first).
  function sync() {
    if (syncing) return syncing;
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    function step() {
      return waiting().then(function (items) {
        var next = nextRun(items);
        if (!next.length) return null;
        changed("正在上传……");
        return sendRun(next).then(step);
      });
    }
    syncing = step().then(function () {
      syncing = null;
      backoff = 0;
      return waiting().then(function (items) {
        var refused = items.filter(function (i) { return i.refused; }).length;
        changed(refused ? "其余已全部上传；" + refused + " 条未被接受，见下方原因。" : "全部已上传。");
      });
    }, function (e) {
      syncing = null;
      schedule(e && e.message ? "上传失败：" + e.message : "上传失败");
    });
    return syncing;
  }

  // --- the list on the page ----------------------------------------------------------
  function describe(item) {
    var spec = kinds[item.kind];
    var when = new Date(item.created_at);
    var hhmm = ("0" + when.getHours()).slice(-2) + ":" + ("0" + when.getMinutes()).slice(-2);
    return hhmm + " " + (spec ? spec.label : item.kind) + " · " + (spec && spec.describe ? spec.describe(item) : "");
  }

  // Fill ``list`` (a <ul>) with what waits and ``count`` with how many; refused items carry
  // their reason, a link where one helps, and a button to discard them.
  function render(list, count) {
    return waiting().then(function (items) {
      if (count) count.textContent = String(items.length);
      if (!list) return items;
      list.replaceChildren();
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.dataset.id = item.client_id;
        li.dataset.kind = item.kind;
        li.textContent = describe(item) + (item.refused ? " — 未被接受：" + item.refused.message
          : ours(item) ? " — 等待上传" : " — 另一用户的记录，待其登录后上传");
        if (item.refused) {
          li.className = "bad refused";
          if (item.refused.link) {
            var a = document.createElement("a");
            a.href = item.refused.link.href;
            a.textContent = " " + item.refused.link.text;
            li.appendChild(a);
          }
          var drop = document.createElement("button");
          drop.type = "button";
          drop.className = "discard";
          drop.textContent = "删除";
          drop.addEventListener("click", function () { discard(item.client_id); });
          li.appendChild(drop);
        }
        list.appendChild(li);
      });
      return items;
    });
  }

  global.addEventListener("online", function () { backoff = 0; sync(); });
  setInterval(function () { if (navigator.onLine && !retryTimer) sync(); }, 60000);

  global.Outbox = {
    uuid: uuid,
    register: function (kind, spec) { kinds[kind] = spec; },
    add: add,
    sync: sync,
    waiting: waiting,
    done: done,
    discard: discard,
    render: render,
    describe: describe,
    onChange: function (fn) { listeners.push(fn); },
    status: function () { return status; },
    io: io
  };
})(window);
