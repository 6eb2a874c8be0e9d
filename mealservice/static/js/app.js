// Page scripts call the API with the session cookie, so every unsafe call carries the
// page's CSRF token; the service refuses such calls without it.
window.mealservice = {
  csrfToken() {
    return document.querySelector('meta[name="csrf-token"]').content;
  },
  api(path, options = {}) {
    const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const method = (options.method || "GET").toUpperCase();
    if (!["GET", "HEAD", "OPTIONS"].includes(method)) headers["X-CSRFToken"] = this.csrfToken();
    return fetch(path, Object.assign({}, options, { method, headers, credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body) }));
  },
};

// A signed-out browser keeps no names on a shared tablet: the counter's day roster (elders'
// names) goes at logout, and on any page shown to nobody signed in, in case a request of
// the counter page wrote it again as it was left. The offline queue stays: scans not yet
// sent are meals already handed out.
function forgetNames() {
  for (const key of Object.keys(localStorage)) {
    if (key.startsWith("mealservice.offline-roster.") || key.startsWith("mealservice.served-today.")) {
      localStorage.removeItem(key);
    }
  }
}

document.addEventListener("submit", (event) => {
  if (event.target.matches("form[data-logout]")) forgetNames();
});

document.addEventListener("DOMContentLoaded", () => {
  if (!document.body.hasAttribute("data-signed-in")) forgetNames();
  // A table that scrolls sideways on a phone takes the keyboard's focus, so it can be
  // scrolled without a pointer (axe: scrollable-region-focusable).
  for (const table of document.querySelectorAll("table")) {
    if (getComputedStyle(table).overflowX === "auto" && !table.hasAttribute("tabindex")) {
      table.tabIndex = 0;
    }
  }
  const nearMe = document.getElementById("near-me");
  if (nearMe) {
    nearMe.addEventListener("click", () => {
      if (!navigator.geolocation) { alert(nearMe.dataset.missing); return; }
      navigator.geolocation.getCurrentPosition((position) => {
        const form = document.getElementById("canteen-filters");
        form.elements.near.value = position.coords.latitude.toFixed(6) + "," + position.coords.longitude.toFixed(6);
        form.submit();
      }, () => alert(nearMe.dataset.missing));
    });
  }
});
