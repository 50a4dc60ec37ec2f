/**
 * The OpenAPI 3.1 description of the API (served at /api/openapi.json) and the interactive
 * reference page at /api/docs, which runs Swagger UI from the `swagger-ui-dist` package: no CDN,
 * no inline script (helmet's CSP forbids it). Routes: openapi-paths.ts, built by
 * openapi-operations.ts; schemas: openapi-schemas.ts and openapi-responses.ts; examples and the
 * error-code catalogue: openapi-examples.ts.
 */
import { openApiExamples } from "./openapi-examples";
import { headerComponents, parameters } from "./openapi-operations";
import { paths } from "./openapi-paths";
import { adminPaths } from "./openapi-paths-admin";
import { epcisPaths } from "./openapi-paths-epcis";
import { inspectionPaths } from "./openapi-paths-inspections";
import { regulatorPaths, regulatorSchemas } from "./openapi-paths-regulator";
import { responseSchemas } from "./openapi-responses";
import { requestSchemas } from "./openapi-schemas";

const DESCRIPTION = `YuTrace (渝溯): a blockchain-backed product quality traceability ledger for Chongqing consumer goods.

Producers register products and batches (追溯单元) on-chain; everyone in the chain after them records what
happens to a batch as GS1 EPCIS 2.0 events (CBV 2.0 vocabulary). Events are kept off-chain and proven by
Merkle roots anchored on-chain; each batch has a GS1 Digital Link (the QR code) such as
\`/01/06903885010017/10/DZ20261120-01\`.

**Authentication.** Every /api/v1 call carries an API key: \`Authorization: Bearer ytk_…\` (or \`X-API-Key: ytk_…\`).
Keys belong to an organisation (identified by its 统一社会信用代码) or to the platform admin.

**Errors.** Every error has the body \`{"error":{"code","message","details"}}\`; branch on \`code\`. A 503 carries
\`Retry-After\`. Writes are rate limited per key (429 \`rate_limited\`).`;

const cache = new Map<string, Record<string, unknown>>();

/** The OpenAPI 3.1 document for the gateway reachable at `publicUrl`; built once per URL, so do not change it. */
export function openApiDocument(publicUrl: string): Record<string, unknown> {
  const base = publicUrl.replace(/\/+$/, "");
  let document = cache.get(base);
  if (!document) {
    document = {
      openapi: "3.1.0",
      info: {
        title: "YuTrace API (渝溯)",
        version: "1",
        description: DESCRIPTION,
        license: { name: "Apache-2.0", identifier: "Apache-2.0" },
      },
      servers: [{ url: base }],
      security: [{ bearerApiKey: [] }, { headerApiKey: [] }],
      tags: [
        { name: "Organisations", description: "Onboarding, keys and suspension (platform admin)." },
        { name: "Products", description: "Products by GTIN, with their 执行标准." },
        { name: "Batches", description: "Batches (追溯单元): registration, lineage and recalls." },
        { name: "Events", description: "EPCIS 2.0 event capture and evidence." },
        { name: "EPCIS", description: "EPCIS 2.0 documents (JSON-LD): capture, query by GTIN, a batch's export." },
        { name: "Health", description: "Liveness and readiness probes." },
        { name: "Meta", description: "This description, and where the ledger is." },
        { name: "Regulator", description: "The regulator dashboard: search, statistics, charts (regulator or admin)." },
        { name: "Admin", description: "Operating the gateway: store backups (platform admin)." },
      ],
      paths: {
        ...paths(openApiExamples(base)),
        ...epcisPaths(openApiExamples(base)),
        ...regulatorPaths(openApiExamples(base)),
        ...inspectionPaths(openApiExamples(base)),
        ...adminPaths(openApiExamples(base)),
      },
      components: {
        securitySchemes: {
          bearerApiKey: {
            type: "http",
            scheme: "bearer",
            bearerFormat: "ytk_…",
            description: "Authorization: Bearer ytk_…",
          },
          headerApiKey: { type: "apiKey", in: "header", name: "X-API-Key", description: "The same key in X-API-Key." },
        },
        schemas: {
          ...requestSchemas,
          ...responseSchemas,
          ...regulatorSchemas,
        },
        parameters: parameters(),
        headers: headerComponents,
      },
    };
    cache.set(base, document);
  }
  return document;
}

/** The /api/docs page: Swagger UI from /api/docs/assets, started by /api/docs/init.js. */
export function apiDocsPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>YuTrace API reference · 渝溯</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/api/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
`;
}

/** The script behind /api/docs/init.js. `validatorUrl: "none"`: the page must not call out to the internet. */
export function docsInitScript(): string {
  return `"use strict";
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: "none",
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
  });
});
`;
}

/** The folder of swagger-ui-dist's static files, served at /api/docs/assets. */
export function docsAssetsDir(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require("swagger-ui-dist") as { getAbsoluteFSPath(): string }).getAbsoluteFSPath();
}
