// The grid app's service worker (scope /grid): it keeps the app's shell, so /grid
// opens on a phone without a network and its drafts can be written. Everything is
// asked of the network first (the page is always current when there is one) and
// taken from the cache only when the network fails. Writes (the reports) are never
// touched: the page keeps them as drafts itself (static/grid.js).
"use strict";

var CACHE = "minhu-grid-1";
var SHELL = [
  "/grid",
  "/grid/manifest.webmanifest",
  "/static/minhu.css",
  "/static/minhu.js",
  "/static/grid.js",
  "/static/grid-192.png",
  "/static/grid-512.png"
];

// A page that sends the reader to the sign-in form is not the app: never keep it.
function keep(cache, request, response) {
  if (response.ok && !response.redirected && response.type === "basic") {
    return cache.put(request, response.clone()).then(function () { return response; });
  }
  return Promise.resolve(response);
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(SHELL.map(function (path) {
      return fetch(path, { credentials: "same-origin" }).then(function (response) {
        return keep(cache, path, response);
      }).catch(function () {});
    }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== CACHE; })
      .map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || SHELL.indexOf(url.pathname) < 0) return;
  // The app's own address, whatever its query: one cached copy.
  var entry = url.pathname;
  event.respondWith(caches.open(CACHE).then(function (cache) {
    return fetch(request).then(function (response) {
      return keep(cache, entry, response);
    }).catch(function () {
      return cache.match(entry).then(function (cached) {
        return cached || Response.error();
      });
    });
  }));
});
