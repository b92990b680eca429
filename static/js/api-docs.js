// The interactive API description (/api/docs): Swagger UI on /api/openapi.json. Swagger UI comes from
// npm (swagger-ui-dist, copied into static/dist at set-up); nothing is loaded from another site: the
// validator badge, which would call one, is off.
(function () {
  "use strict";
  const status = document.getElementById("api-docs-status");
  if (typeof window.SwaggerUIBundle !== "function") {
    status.textContent =
      "Swagger UI is not installed on this server (run `make setup`). The description itself is at /api/openapi.json.";
    status.dataset.state = "missing";
    return;
  }
  window.SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    onComplete: function () {
      status.hidden = true;
      status.dataset.state = "ready";
    },
  });
})();
