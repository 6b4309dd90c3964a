// /docs: Swagger UI (served from the swagger-ui-py package by the service) over /openapi.json.
// A module of its own because the page's Content-Security-Policy allows no inline script.
window.ui = window.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [window.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
