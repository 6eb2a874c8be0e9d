// The counter page's service worker: the cashier page, its scripts and styles (jsQR
// included, so the camera reads cards offline) stay on the tablet, so a page reloaded or a
// tablet started while the network is down still scans. Online, the page always comes from
// the service (so its facts and its CSRF token are fresh) and is kept for the next outage.
// Rendered by counter/pages.py: VERSION changes with any file listed, which installs anew.
const VERSION = {{ version|tojson }};
const FILES = {{ files|tojson }};
const PAGE_PATH = {{ page_path|tojson }};
const FILE_CACHE = `cashier-files-${VERSION}`;
// Pages live apart from the files: a new version must not drop the page kept for an outage.
const PAGE_CACHE = "cashier-pages";
// A network that hangs is as good as none: after this long the kept page is shown.
const PAGE_TIMEOUT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(FILE_CACHE).then((cache) => cache.addAll(FILES))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names
      .filter((name) => name.startsWith("cashier-files-") && name !== FILE_CACHE)
      .map((name) => caches.delete(name))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === PAGE_PATH) {
    event.respondWith(pageFirstFromNetwork(request));
  } else if (FILES.includes(url.pathname)) {
    event.respondWith(caches.match(request, { cacheName: FILE_CACHE, ignoreSearch: true })
      .then((kept) => kept || fetch(request)));
  }
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then((value) => { clearTimeout(timer); resolve(value); },
      (error) => { clearTimeout(timer); reject(error); });
  });
}

async function pageFirstFromNetwork(request) {
  const cache = await caches.open(PAGE_CACHE);
  const answer = fetch(request);
  try {
    const response = await withTimeout(answer, PAGE_TIMEOUT_MS);
    // Only the page itself is kept: not a login page a lapsed session was sent to.
    if (response.ok && !response.redirected) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const kept = (await cache.match(request)) || (await cache.match(request, { ignoreSearch: true }));
    if (kept) return kept;
    return answer;
  }
}
