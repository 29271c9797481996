// Renders the server's own OpenAPI document with Swagger UI, without
// asking any other site (no online validator badge).
window.ui = SwaggerUIBundle({
  url: "/openapi.yaml",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
});
