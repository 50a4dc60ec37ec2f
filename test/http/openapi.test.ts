/**
 * The OpenAPI document: structurally valid OpenAPI 3.1, documenting exactly the routes the app
 * registers (both ways), with enums taken from the code, examples that the gateway's own schemas
 * accept, and every error code the API can answer with. Also the offline /api/docs page.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import express, { type Router } from "express";
import helmet from "helmet";
import pino from "pino";
import request from "supertest";

import { ChainUnavailableError } from "../../server/chain/errors";
import { eventHash } from "../../server/domain/canonical";
import {
  BIZ_STEPS,
  CHONGQING_DISTRICTS,
  DISPOSITIONS,
  MAX_EVENTS_PER_SUBMISSION,
  UNITS,
  traceEventSchema,
} from "../../server/domain/events";
import { submissionTree } from "../../server/domain/merkle";
import { createApp, type AppDeps } from "../../server/http/app";
import { toHttpError } from "../../server/http/errors";
import { ERROR_EXAMPLES } from "../../server/http/openapi-examples";
import { apiDocsPage, docsAssetsDir, docsInitScript, openApiDocument } from "../../server/http/openapi";
import { batchRoutes } from "../../server/http/routes/batches";
import { eventRoutes } from "../../server/http/routes/events";
import { inspectionRoutes } from "../../server/http/routes/inspections";
import { epcisRoutes } from "../../server/http/routes/epcis";
import { regulatorRoutes } from "../../server/http/routes/regulator";
import { evidenceRoutes, verificationRoutes } from "../../server/http/routes/verification";
import { labelRoutes } from "../../server/http/routes/labels";
import { meRoutes } from "../../server/http/routes/me";
import { organisationRoutes } from "../../server/http/routes/organisations";
import { adminRoutes } from "../../server/http/routes/admin";
import {
  CATEGORIES,
  newBatchSchema,
  newOrganisationSchema,
  newProductSchema,
  reasonSchema,
} from "../../server/http/schemas";
import { PARTICIPANT_ROLES } from "../../server/store/records";

type Json = Record<string, unknown>;

const PUBLIC_URL = "https://trace.example.cn";
const doc = openApiDocument(PUBLIC_URL) as Json & { paths: Record<string, Record<string, Json>>; components: Json };
const schemas = doc.components.schemas as Record<string, Json>;
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/** HTML pages the app serves beside the API; they are not operations of the document. */
const PAGES = ["/api/docs", "/api/docs/init.js"];

function resolve(pointer: string): unknown {
  expect(pointer.startsWith("#/"), `external $ref ${pointer}`).to.equal(true);
  return pointer
    .slice(2)
    .split("/")
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce<unknown>((node, part) => (node as Json | undefined)?.[part], doc);
}

const deref = <T = Json>(node: unknown): T => {
  const ref = (node as Json).$ref;
  return (typeof ref === "string" ? resolve(ref) : node) as T;
};

/** Calls `visit` on every object in `node`, with its JSON path. */
function walk(node: unknown, visit: (value: Json, where: string) => void, where = "#"): void {
  if (Array.isArray(node)) node.forEach((item, i) => walk(item, visit, `${where}/${i}`));
  else if (node !== null && typeof node === "object") {
    visit(node as Json, where);
    for (const [key, value] of Object.entries(node)) walk(value, visit, `${where}/${key}`);
  }
}

function operations(): { method: string; path: string; op: Json }[] {
  return Object.entries(doc.paths).flatMap(([p, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ method, path: p, op })),
  );
}

/** A small JSON Schema 2020-12 checker for the keywords the document uses. */
function validate(schema: unknown, value: unknown, at = "$"): string[] {
  const s = deref(schema);
  const problems: string[] = [];
  const fail = (message: string) => problems.push(`${at}: ${message}`);
  if (s.anyOf && !(s.anyOf as unknown[]).some((sub) => validate(sub, value, at).length === 0)) fail("matches no anyOf");
  if (s.oneOf && (s.oneOf as unknown[]).filter((sub) => validate(sub, value, at).length === 0).length !== 1) {
    fail("does not match exactly one oneOf");
  }
  if (s.not && validate(s.not, value, at).length === 0) fail("matches not");
  if ("const" in s && s.const !== value) fail(`is not ${String(s.const)}`);
  if (s.enum && !(s.enum as unknown[]).includes(value)) fail(`${JSON.stringify(value)} is not in the enum`);
  const types = s.type === undefined ? null : ([] as unknown[]).concat(s.type);
  const typeOf =
    value === null ? "null" : Array.isArray(value) ? "array" : Number.isInteger(value) ? "integer" : typeof value;
  if (types && !types.includes(typeOf) && !(typeOf === "integer" && types.includes("number"))) {
    return [...problems, `${at}: is ${typeOf}, not ${types.join("|")}`];
  }
  if (typeof value === "string") {
    const length = [...value].length;
    if (typeof s.minLength === "number" && length < s.minLength) fail("too short");
    if (typeof s.maxLength === "number" && length > s.maxLength) fail("too long");
    if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(value)) fail(`does not match ${s.pattern}`);
  }
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) fail("below minimum");
    if (typeof s.maximum === "number" && value > s.maximum) fail("above maximum");
    if (typeof s.exclusiveMinimum === "number" && value <= s.exclusiveMinimum) fail("not above exclusiveMinimum");
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === "number" && value.length < s.minItems) fail("too few items");
    if (typeof s.maxItems === "number" && value.length > s.maxItems) fail("too many items");
    const prefix = (s.prefixItems as unknown[] | undefined) ?? [];
    value.forEach((item, i) => {
      const sub = i < prefix.length ? prefix[i] : s.items;
      if (sub) problems.push(...validate(sub, item, `${at}[${i}]`));
    });
  }
  if (typeOf === "object") {
    const object = value as Json;
    const properties = (s.properties as Record<string, unknown> | undefined) ?? {};
    for (const key of (s.required as string[] | undefined) ?? []) if (!(key in object)) fail(`misses ${key}`);
    if (typeof s.minProperties === "number" && Object.keys(object).length < s.minProperties) fail("too few properties");
    for (const [key, item] of Object.entries(object)) {
      if (properties[key]) problems.push(...validate(properties[key], item, `${at}.${key}`));
      else if (s.additionalProperties === false) fail(`has unknown property ${key}`);
    }
  }
  return problems;
}

/** Method and path of every route a router registers, `:param` written `{param}`. */
function routesOf(router: Router, prefix = ""): string[] {
  // A route with several handlers (a body parser, then the handler) is one route.
  return router.stack.flatMap((layer) =>
    layer.route
      ? [
          ...new Set(
            layer.route.stack.map(
              (handler) => `${handler.method.toUpperCase()} ${prefix}${layer.route!.path.replace(/:(\w+)/g, "{$1}")}`,
            ),
          ),
        ]
      : [],
  );
}

function stubApp() {
  const deps = { logger: pino({ level: "silent" }), publicUrl: PUBLIC_URL } as unknown as AppDeps;
  return createApp(deps);
}

describe("OpenAPI document", () => {
  describe("is valid OpenAPI 3.1", () => {
    it("declares version 3.1, a server on the public URL and both ways of sending the API key", () => {
      expect(doc.openapi).to.equal("3.1.0");
      expect(doc.servers).to.deep.equal([{ url: PUBLIC_URL }]);
      const schemes = doc.components.securitySchemes as Record<string, Json>;
      expect(schemes.bearerApiKey).to.include({ type: "http", scheme: "bearer" });
      expect(schemes.headerApiKey).to.include({ type: "apiKey", in: "header", name: "X-API-Key" });
      expect(JSON.parse(JSON.stringify(doc))).to.deep.equal(doc, "holds only JSON values (no undefined)");
    });

    it("resolves every $ref inside the document", () => {
      const refs: string[] = [];
      walk(doc, (node, where) => {
        if (typeof node.$ref === "string") {
          refs.push(node.$ref);
          expect(resolve(node.$ref), `${where} → ${node.$ref}`).to.be.an("object");
        }
      });
      expect(refs.length).to.be.greaterThan(100);
    });

    it("gives every operation a unique operationId, a tag, a success response and described responses", () => {
      const ids = operations().map(({ op }) => op.operationId);
      expect(ids.every((id) => typeof id === "string" && /^[a-z][A-Za-z]+$/.test(id))).to.equal(true);
      expect(new Set(ids).size).to.equal(ids.length);
      const tags = (doc.tags as Json[]).map((tag) => tag.name);
      for (const { method, path: p, op } of operations()) {
        const where = `${method.toUpperCase()} ${p}`;
        expect(
          (op.tags as string[]).every((tag) => tags.includes(tag)),
          where,
        ).to.equal(true);
        const responses = op.responses as Record<string, Json>;
        expect(
          Object.keys(responses).some((status) => /^2\d\d$/.test(status)),
          where,
        ).to.equal(true);
        for (const [status, response] of Object.entries(responses)) {
          expect(status, where).to.match(/^([1-5]\d\d|[1-5]XX|default)$/);
          expect(deref(response).description, `${where} ${status}`).to.be.a("string").and.not.empty;
        }
      }
    });

    it("declares every path parameter of a template, and no path parameter that is not in it", () => {
      for (const { method, path: p, op } of operations()) {
        const inTemplate = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        const declared = ((op.parameters as unknown[] | undefined) ?? []).map((param) => deref(param));
        const pathParams = declared.filter((param) => param.in === "path");
        expect(pathParams.map((param) => param.name).sort(), `${method} ${p}`).to.deep.equal(inTemplate.sort());
        expect(pathParams.every((param) => param.required === true)).to.equal(true);
      }
    });

    it("has schema keywords that make sense: compilable patterns, required fields that exist, non-empty enums", () => {
      walk(doc, (node, where) => {
        if (typeof node.pattern === "string")
          expect(() => new RegExp(node.pattern as string, "u"), where).not.to.throw();
        if (Array.isArray(node.enum)) {
          expect(node.enum, where).not.to.be.empty;
          expect(new Set(node.enum).size, where).to.equal(node.enum.length);
        }
        if (Array.isArray(node.required) && node.properties) {
          for (const key of node.required) expect(node.properties, where).to.have.property(key as string);
        }
      });
    });

    it("names only declared security schemes", () => {
      const schemes = Object.keys(doc.components.securitySchemes as Json);
      const requirements = [doc.security, ...operations().map(({ op }) => op.security)].flatMap(
        (list) => (list as Json[] | undefined) ?? [],
      );
      for (const requirement of requirements) expect(schemes).to.include.members(Object.keys(requirement));
    });
  });

  describe("documents exactly the routes the app serves", () => {
    const documented = operations().map(({ method, path: p }) => `${method.toUpperCase()} ${p}`);
    // Routes of routes/*.ts sit behind the API-key check; app.ts's own routes do not.
    const keyed = [
      ...routesOf(meRoutes({} as never, {} as never, {} as never, PUBLIC_URL), "/api/v1"),
      ...routesOf(organisationRoutes({} as never, {} as never), "/api/v1"),
      ...routesOf(batchRoutes({} as never, {} as never, PUBLIC_URL, {} as never), "/api/v1"),
      ...routesOf(eventRoutes({} as never, {} as never), "/api/v1"),
      ...routesOf(labelRoutes({} as never, {} as never, PUBLIC_URL), "/api/v1"),
      ...routesOf(inspectionRoutes({} as never, {} as never, {} as never, PUBLIC_URL), "/api/v1"),
      ...routesOf(verificationRoutes({} as never, {} as never, PUBLIC_URL), "/api/v1"),
      ...routesOf(regulatorRoutes({} as never), "/api/v1"),
      ...routesOf(epcisRoutes({} as never, {} as never, {} as never), "/api/v1"),
      ...routesOf(adminRoutes({} as never, {} as never), "/api/v1"),
    ];
    const open = [
      ...routesOf(stubApp().app.router).filter((route) => !PAGES.includes(route.split(" ")[1]!)),
      // Public routers mounted under /api/v1 before the key check.
      ...routesOf(evidenceRoutes({} as never), "/api/v1"),
    ];

    it("finds the routes of routes/*.ts and of app.ts", () => {
      expect(keyed).to.include.members(["GET /api/v1/batches/{batchId}/lineage", "POST /api/v1/events"]);
      expect(open).to.include.members(["GET /healthz", "GET /readyz", "GET /api/openapi.json"]);
    });

    it("lists every route the app serves except the HTML pages, and none that it does not serve", () => {
      expect([...documented].sort()).to.deep.equal([...keyed, ...open].sort());
    });

    it("asks for an API key on the routes behind the key check, and on no other", () => {
      for (const { method, path: p, op } of operations()) {
        const route = `${method.toUpperCase()} ${p}`;
        if (keyed.includes(route)) expect(op.security, route).to.equal(undefined);
        else expect(op.security, route).to.deep.equal([]);
      }
      expect(doc.security).to.deep.equal([{ bearerApiKey: [] }, { headerApiKey: [] }]);
    });
  });

  describe("agrees with the code", () => {
    it("takes its enums from the code", () => {
      expect(schemas.BizStep!.enum).to.deep.equal([...BIZ_STEPS]);
      expect(schemas.Disposition!.enum).to.deep.equal([...DISPOSITIONS]);
      expect(schemas.Unit!.enum).to.deep.equal([...UNITS]);
      expect(schemas.District!.enum).to.deep.equal([...CHONGQING_DISTRICTS]);
      expect(schemas.Category!.enum).to.deep.equal([...CATEGORIES]);
      expect(schemas.Role!.enum).to.deep.equal([...PARTICIPANT_ROLES]);
      expect(schemas.District!.enum).to.include.members(["江津区", "巴南区"]);
    });

    it("has an example POST /events body whose every event the event schema accepts", () => {
      const body = requestExample("/api/v1/events") as { events: unknown[] };
      expect(Object.keys(body)).to.deep.equal(["events"]);
      expect(body.events.length).to.be.within(1, MAX_EVENTS_PER_SUBMISSION);
      for (const event of body.events) {
        const parsed = traceEventSchema.safeParse(event);
        expect(parsed.success, JSON.stringify(parsed.error?.issues)).to.equal(true);
        expect(parsed.data, "the schema keeps the event as sent").to.deep.equal(event);
      }
      const types = body.events.map((event) => (event as Json).type);
      expect(types).to.include.members(["ObjectEvent", "TransformationEvent"]);
      expect(JSON.stringify(body)).to.include("/01/06903885010017/10/DZ20261120-01");
    });

    it("answers the example submission with the event ids and Merkle root the gateway computes", () => {
      const body = requestExample("/api/v1/events") as { events: unknown[] };
      const accepted = successExample("/api/v1/events", "post") as {
        submission: { root: string; count: number };
        events: { index: number; eventId: string }[];
      };
      const ids = body.events.map((event) => eventHash(event));
      expect(accepted.events).to.deep.equal(ids.map((eventId, index) => ({ index, eventId })));
      expect(accepted.submission).to.include({ root: submissionTree(ids).root, count: ids.length });
    });

    it("has registry request examples that the request schemas accept", () => {
      const cases: [string, string, { safeParse(value: unknown): { success: boolean } }][] = [
        ["/api/v1/organisations", "post", newOrganisationSchema],
        ["/api/v1/products", "post", newProductSchema],
        ["/api/v1/batches", "post", newBatchSchema],
        ["/api/v1/batches/{batchId}/recall", "post", reasonSchema],
        ["/api/v1/organisations/{orgId}/suspension", "post", reasonSchema],
      ];
      for (const [p, method, schema] of cases) {
        expect(schema.safeParse(requestExample(p, method)).success, `${method} ${p}`).to.equal(true);
      }
    });

    it("has examples that match their own schemas: bodies, responses, errors and parameters", () => {
      let checked = 0;
      walk(doc, (node, where) => {
        if (where.startsWith("#/components/schemas")) {
          for (const example of (node.examples as unknown[] | undefined) ?? []) {
            expect(validate(node, example), where).to.deep.equal([]);
            checked++;
          }
          return;
        }
        if (!node.schema) return;
        if ("example" in node) {
          expect(validate(node.schema, node.example), where).to.deep.equal([]);
          checked++;
        }
        if (node.examples && !Array.isArray(node.examples)) {
          for (const [name, example] of Object.entries(node.examples as Record<string, Json>)) {
            expect(validate(node.schema, example.value), `${where} ${name}`).to.deep.equal([]);
            checked++;
          }
        }
      });
      expect(checked).to.be.greaterThan(150);
    });

    it("documents every error code the API code throws, with the status it throws it with", () => {
      const sources = ["http/auth.ts", "http/app.ts", "http/schemas.ts", "http/routes/organisations.ts"]
        .concat(["http/routes/batches.ts", "http/routes/events.ts", "http/errors.ts"])
        .concat(["services/ingest.ts", "services/queries.ts", "services/registry.ts", "services/api-keys.ts"]);
      const thrown = new Map<string, number>();
      for (const file of sources) {
        const text = readFileSync(path.join(__dirname, "../../server", file), "utf8");
        for (const m of text.matchAll(/HttpError\(\s*(\d{3}),\s*"([a-z_]+)"/g)) thrown.set(m[2]!, Number(m[1]));
        for (const m of text.matchAll(/\[(\d{3}), "([a-z_]+)"\]/g)) thrown.set(m[2]!, Number(m[1]));
      }
      expect(thrown.size).to.be.greaterThan(30);
      for (const [code, status] of thrown) {
        expect(ERROR_EXAMPLES[code], `code ${code}`).to.not.equal(undefined);
        expect(ERROR_EXAMPLES[code]!.status, `status of ${code}`).to.equal(status);
      }
    });

    it("documents the codes of errors mapped from body parsing and the chain as errors.ts maps them", () => {
      const mapped = [
        toHttpError({ type: "entity.parse.failed" }),
        toHttpError({ type: "entity.too.large" }),
        toHttpError({ type: "encoding.unsupported", message: "unsupported" }),
        toHttpError(new ChainUnavailableError("down")),
        toHttpError(new Error("boom")),
      ];
      for (const error of mapped) expect(ERROR_EXAMPLES[error.code]?.status, error.code).to.equal(error.status);
    });

    it("documents 422 events_rejected on POST /events with the per-event problems list", () => {
      const rejected = operationOf("/api/v1/events", "post").responses as Record<string, Json>;
      const examples = (rejected["422"]!.content as Record<string, Json>)["application/json"]!.examples as Json;
      const value = (examples.events_rejected as { value: { error: { details: { problems: Json[] } } } }).value;
      for (const problem of value.error.details.problems) {
        expect(validate(schemas.EventProblem, problem)).to.deep.equal([]);
      }
      const responses = Object.keys(rejected);
      expect(responses).to.include.members(["202", "400", "401", "403", "409", "413", "422", "429"]);
    });
  });

  describe("interactive reference page", () => {
    // The wiring app.ts gets: the page, its start-up script and swagger-ui-dist's files.
    const docsApp = express();
    docsApp.use(helmet());
    docsApp.get("/api/openapi.json", (_req, res) => void res.json(openApiDocument(PUBLIC_URL)));
    docsApp.get("/api/docs", (_req, res) => void res.type("html").send(apiDocsPage()));
    docsApp.get("/api/docs/init.js", (_req, res) => void res.type("js").send(docsInitScript()));
    docsApp.use("/api/docs/assets", express.static(docsAssetsDir(), { immutable: true, maxAge: "7d", index: false }));

    it("loads only same-origin files and no inline script, so helmet's CSP lets it run offline", async () => {
      const page = await request(docsApp).get("/api/docs").expect(200);
      expect(page.headers["content-security-policy"]).to.include("script-src 'self'");
      const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts.map((m) => /src="([^"]+)"/.exec(m[1]!)?.[1])).to.deep.equal([
        "/api/docs/assets/swagger-ui-bundle.js",
        "/api/docs/init.js",
      ]);
      expect(scripts.every((m) => m[2]!.trim() === "")).to.equal(true);
      expect(page.text).to.include('href="/api/docs/assets/swagger-ui.css"');
      expect(page.text).not.to.match(/https?:\/\//);
    });

    it("serves the Swagger UI files from the installed package and starts it on /api/openapi.json", async () => {
      for (const file of ["swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"]) {
        expect(existsSync(path.join(docsAssetsDir(), file)), file).to.equal(true);
        await request(docsApp).get(`/api/docs/assets/${file}`).expect(200);
      }
      // The package's own index.html would start the Petstore demo from the internet: not served.
      await request(docsApp).get("/api/docs/assets/").expect(404);
      const init = await request(docsApp)
        .get("/api/docs/init.js")
        .expect(200)
        .expect("content-type", /javascript/);
      expect(init.text).to.include('url: "/api/openapi.json"').and.include('validatorUrl: "none"');
      const served = await request(docsApp).get("/api/openapi.json").expect(200);
      expect(served.body.paths).to.have.property("/api/v1/events");
    });
  });
});

function operationOf(p: string, method = "post"): Json {
  const op = doc.paths[p]?.[method];
  expect(op, `${method} ${p}`).to.be.an("object");
  return op!;
}

function requestExample(p: string, method = "post"): unknown {
  const body = operationOf(p, method).requestBody as { content: Record<string, { example: unknown }> };
  return body.content["application/json"]!.example;
}

function successExample(p: string, method: string): unknown {
  const responses = operationOf(p, method).responses as Record<
    string,
    { content: Record<string, { example: unknown }> }
  >;
  const status = Object.keys(responses).find((s) => s.startsWith("2"))!;
  return responses[status]!.content["application/json"]!.example;
}
