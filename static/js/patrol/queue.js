/* The check-in queue: every check-in waits in IndexedDB until the server confirms it. */
(function (global) {
  "use strict";
  var DB_NAME = "gridmap-patrol";
  var STORES = ["queue", "done"];
  var opening = null;

  function open() {
    if (opening) return opening;
    opening = new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        STORES.forEach(function (name) {
          if (!request.result.objectStoreNames.contains(name)) {
            request.result.createObjectStore(name, { keyPath: "id" });
          }
        });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { opening = null; reject(request.error); };
    });
    return opening;
  }

  function run(store, mode, action) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(store, mode);
        var result;
        var req = action(tx.objectStore(store));
        if (req) req.onsuccess = function () { result = req.result; };
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function byTime(a, b) { return a.recorded_at < b.recorded_at ? -1 : a.recorded_at > b.recorded_at ? 1 : 0; }

  // UUIDv7 (RFC 9562): the first 48 bits are the Unix time in milliseconds, the rest random.
  // Time-ordered ids land at the growing end of the server's unique index on check-in ids
  // (a few hot pages) instead of on a random page of an index of tens of millions.
  function uuid() {
    var b = crypto.getRandomValues(new Uint8Array(16)), ms = Date.now();
    for (var i = 5; i >= 0; i--) { b[i] = ms % 256; ms = Math.floor(ms / 256); }
    b[6] = (b[6] & 0x0f) | 0x70; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  global.PatrolQueue = {
    uuid: uuid,
    add: function (item) { return run("queue", "readwrite", function (s) { return s.put(item); }); },
    all: function () { return run("queue", "readonly", function (s) { return s.getAll(); }).then(function (r) { return (r || []).sort(byTime); }); },
    // Confirmed by the server: out of the queue and into the "done" list, in one transaction.
    confirm: function (id, answer) {
      return open().then(function (db) {
        return new Promise(function (resolve, reject) {
          var tx = db.transaction(STORES, "readwrite");
          var queue = tx.objectStore("queue");
          var get = queue.get(id);
          get.onsuccess = function () {
            var item = get.result;
            if (!item) return;
            item.answer = answer;
            item.confirmed_at = new Date().toISOString();
            tx.objectStore("done").put(item);
            queue.delete(id);
          };
          tx.oncomplete = function () { resolve(); };
          tx.onerror = tx.onabort = function () { reject(tx.error); };
        });
      });
    },
    update: function (item) { return run("queue", "readwrite", function (s) { return s.put(item); }); },
    done: function () { return run("done", "readonly", function (s) { return s.getAll(); }).then(function (r) { return (r || []).sort(byTime).reverse(); }); }
  };
})(window);
