// Starts Swagger UI on /api/v1/docs with the spec address the page names.
(function () {
  "use strict";
  const container = document.getElementById("swagger-ui-container");
  const config = Object.assign(
    { url: container.dataset.specUrl, dom_id: "#swagger-ui-container" },
    JSON.parse(container.dataset.config || "{}"),
  );
  window.ui = SwaggerUIBundle(config);
})();
