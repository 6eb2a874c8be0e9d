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

document.addEventListener("DOMContentLoaded", () => {
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
