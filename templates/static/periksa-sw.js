// The service worker of /periksa: after one visit the verifier works with no network. The
// page (with its embedded keys) is fetched fresh when the network answers and served from
// the cache when it does not; its scripts and style come from the cache, refreshed behind.
// The server prepends `const VERSION = "…";`, which changes with the files it caches.
'use strict';

var CACHE = 'periksa-' + VERSION;
var PAGE = '/periksa';
var ASSETS = ['/static/periksa.js', '/static/app.css', '/static/vendor/jsQR.js'];

self.addEventListener('install', function (event) {
  event.waitUntil(
    caches.open(CACHE)
      .then(function (cache) { return cache.addAll([PAGE].concat(ASSETS)); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener('activate', function (event) {
  event.waitUntil(
    caches.keys()
      .then(function (names) {
        return Promise.all(names.filter(function (n) {
          return n.indexOf('periksa-') === 0 && n !== CACHE;
        }).map(function (n) { return caches.delete(n); }));
      })
      .then(function () { return self.clients.claim(); })
  );
});

function timeout(ms) {
  return new Promise(function (_, reject) { setTimeout(function () { reject(new Error('timeout')); }, ms); });
}

self.addEventListener('fetch', function (event) {
  var url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) { return; }
  if (url.pathname === PAGE) {
    // Network first, for rotated keys; the cached page when the network fails or dawdles.
    event.respondWith(
      Promise.race([fetch(event.request), timeout(4000)]).then(function (res) {
        if (res.ok) {
          var copy = res.clone();
          caches.open(CACHE).then(function (cache) { cache.put(PAGE, copy); });
        }
        return res;
      }).catch(function () {
        return caches.match(PAGE).then(function (hit) {
          return hit || Response.error();
        });
      })
    );
    return;
  }
  if (ASSETS.indexOf(url.pathname) >= 0) {
    event.respondWith(
      caches.match(url.pathname).then(function (hit) {
        var fresh = fetch(event.request).then(function (res) {
          if (res.ok) {
            var copy = res.clone();
            caches.open(CACHE).then(function (cache) { cache.put(url.pathname, copy); });
          }
          return res;
        });
        if (hit) {
          fresh.catch(function () {});
          return hit;
        }
        return fresh;
      })
    );
  }
});
