/* Service worker of the patrol page: the page and its assets open with no network.
   Served as /patrol/sw.js (scope /patrol). API calls are never cached or answered here:
   the outbox (static/js/outbox.js, IndexedDB) keeps every write until the server confirms them. */
"use strict";
var CACHE = "gridmap-patrol-v2";
var SHELL = ["/patrol", "/static/css/gridmap.css", "/static/js/outbox.js", "/static/js/outbox-kinds.js", "/static/js/patrol/app.js"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(SHELL.map(function (url) {
      return fetch(url, { credentials: "same-origin" }).then(function (response) {
        if (response.ok && !response.redirected) return cache.put(url, response);
      }).catch(function () { /* cached on the next visit */ });
    }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("gridmap-patrol-") === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.indexOf("/api/") === 0) return;
  if (request.mode === "navigate" && url.pathname === "/patrol") {
    // Network first (fresh CSRF token and user), the cached page when offline.
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put("/patrol", copy); });
      }
      return response;
    }).catch(function () {
      return caches.match("/patrol").then(function (hit) { return hit || Response.error(); });
    }));
    return;
  }
  if (SHELL.indexOf(url.pathname) >= 0) {
    // Cache first, refreshed in the background.
    event.respondWith(caches.open(CACHE).then(function (cache) {
      return cache.match(url.pathname).then(function (hit) {
        var network = fetch(request).then(function (response) {
          if (response.ok) cache.put(url.pathname, response.clone());
          return response;
        });
        if (hit) { network.catch(function () {}); return hit; }
        return network;
      });
    }));
  }
});
