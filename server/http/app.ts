/**
 * The gateway's HTTP handler: `createApp` builds it from its parts; the gateway listens with it.
 * Consumer pages are answered first, without express (`ConsumerPages`: they are most of the
 * traffic, and express's own cost per request bounded their throughput); everything else goes
 * through the express app. Routes are thin: validation in schemas.ts, work in services/, errors in
 * errors.ts.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import express, { type Express } from "express";
import helmet from "helmet";
import { rateLimit } from "express-rate-limit";
import type { Logger } from "pino";

import type { IngestService } from "../services/ingest";
import type { Queries } from "../services/queries";
import type { Registry } from "../services/registry";
import type { TraceService } from "../services/trace";
import type { ScanCounter } from "../services/scans";
import type { SerialService } from "../services/serials";
import { hashApiKey } from "../services/api-keys";
import type { Store } from "../store/store";
import { authenticate } from "./auth";
import { MAX_BODY_BYTES } from "./schemas";
import { declaresMoreThan, errorMiddleware, HttpError } from "./errors";
import { apiDocsPage, docsAssetsDir, docsInitScript, openApiDocument } from "./openapi";
import { adminRoutes } from "./routes/admin";
import { batchRoutes } from "./routes/batches";
import { epcisRoutes } from "./routes/epcis";
import { eventRoutes } from "./routes/events";
import { meRoutes } from "./routes/me";
import { organisationRoutes } from "./routes/organisations";
import { labelRoutes } from "./routes/labels";
import { qrRoutes } from "./routes/qr";
import { ConsumerPages, PAGE_FAILURE, resolverRoutes, securityHeadersOf } from "./routes/resolver";
import { certificateDocument, inspectionRoutes } from "./routes/inspections";
import type { CertificateService } from "../services/certificates";
import type { HoldService } from "../services/holds";
import { regulatorPage, regulatorRoutes } from "./routes/regulator";
import type { Dashboard } from "../services/dashboard";
import { evidenceRoutes, verificationRoutes } from "./routes/verification";
import type { EvidenceService } from "../services/evidence";

export interface Health {
  chainReachable: boolean;
  indexerLag: number | null;
  pendingSubmissions: number;
  lastAnchoredAt: string | null;
  anchorError: string | null;
}

export interface AppDeps {
  store: Store;
  registry: Registry;
  ingest: IngestService;
  queries: Queries;
  trace: TraceService;
  serials: SerialService;
  scans: ScanCounter;
  dashboard: Dashboard;
  evidence: EvidenceService;
  certificates: CertificateService;
  holds: HoldService;
  logger: Logger;
  publicUrl: string;
  /** Where the ledger is, for anyone who wants to verify against the chain themselves. */
  ledger: { chainId: string; address: string; deployBlock: number };
  health(): Promise<Health>;
  /** Writes per API key per minute; default 600. */
  writeRateLimit?: number;
  /** Largest accepted JSON body; default 4 MB (1,000 events). */
  bodyLimit?: number;
  /** Most blocks the indexer may lag before /readyz says not ready; default 20. */
  maxIndexerLag?: number;
}

/** Whether a Content-Type names no charset or UTF-8. */
function isUtf8(contentType: string | undefined): boolean {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? "")?.[1];
  return charset === undefined || /^utf-?8$/i.test(charset);
}

export function createApp(deps: AppDeps): { app: Express; handle: RequestListener } {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);
  // No upgrade-insecure-requests: a demo or LAN gateway on plain http must still load its own pages.
  const security = helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } });
  app.use(security);
  const pages = new ConsumerPages(
    deps.trace,
    deps.publicUrl,
    { serials: deps.serials, scans: deps.scans },
    securityHeadersOf(security),
  );
  const maxBody = deps.bodyLimit ?? MAX_BODY_BYTES;
  const json = express.json({ limit: maxBody, strict: true });
  // Event submissions (up to 1,000 events) stay bytes for IngestService.submitJson, which parses
  // them on a worker thread; only UTF-8 (JSON's default), other charsets go through express.json.
  // Bodies are read only once the caller is known (the API router, after authentication and the
  // write rate limit): nobody without a key makes the gateway read or parse megabytes of JSON.
  const raw = express.raw({ type: "application/json", limit: maxBody });
  const bodies: express.RequestHandler = (req, res, next) => {
    if (req.is(["application/json", "application/ld+json"]) && declaresMoreThan(req, maxBody)) {
      return next(new HttpError(413, "body_too_large", "the request body is too large"));
    }
    if (req.method === "POST" && req.path === "/events" && isUtf8(req.get("content-type"))) raw(req, res, next);
    else json(req, res, next);
  };

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    const health = await deps.health();
    const ready =
      health.chainReachable && health.indexerLag !== null && health.indexerLag <= (deps.maxIndexerLag ?? 20);
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not_ready", ...health });
  });
  app.get("/api/openapi.json", (_req, res) => {
    res.json(openApiDocument(deps.publicUrl));
  });
  app.get("/api/docs", (_req, res) => {
    res.type("html").send(apiDocsPage());
  });
  // Swagger UI from the npm package, served here: the reference works with no internet.
  app.get("/api/docs/init.js", (_req, res) => {
    res.type("js").send(docsInitScript());
  });
  app.use("/api/docs/assets", express.static(docsAssetsDir(), { immutable: true, maxAge: "1d", index: false }));

  const writes = rateLimit({
    windowMs: 60_000,
    limit: deps.writeRateLimit ?? 600,
    standardHeaders: "draft-7",
    legacyHeaders: false,
    // Runs after authentication, so every request here carries a valid key: limit per key.
    keyGenerator: (req) => hashApiKey(req.get("authorization") ?? req.get("x-api-key") ?? "anonymous"),
    skip: (req) => req.method === "GET" || req.method === "HEAD",
    handler: (_req, _res, next) => next(new HttpError(429, "rate_limited", "too many writes with this key; slow down")),
  });

  app.get("/api/v1/ledger", (_req, res) => {
    res.json(deps.ledger);
  });

  app.use("/api/v1", evidenceRoutes(deps.evidence));
  const api = express.Router();
  api.use(authenticate(deps.store));
  api.use(writes);
  api.use(bodies);
  api.use(meRoutes(deps.queries, deps.ingest, deps.registry, deps.publicUrl));
  api.use(organisationRoutes(deps.registry, deps.queries, deps.dashboard));
  api.use(epcisRoutes(deps.ingest, deps.queries, deps.store, maxBody));
  api.use(batchRoutes(deps.registry, deps.queries, deps.publicUrl, deps.serials));
  api.use(labelRoutes(deps.serials, deps.queries, deps.publicUrl));
  api.use(eventRoutes(deps.ingest, deps.queries));
  api.use(inspectionRoutes(deps.certificates, deps.holds, deps.queries, deps.publicUrl));
  api.use(regulatorRoutes(deps.dashboard));
  api.use(verificationRoutes(deps.evidence, deps.queries, deps.publicUrl));
  api.use(adminRoutes(deps.store, deps.logger));
  app.use("/api/v1", api);
  // Public, outside /api/v1: consumer pages link inspection certificates here.
  app.get("/certificates/:sha256", certificateDocument(deps.certificates));
  app.use(resolverRoutes(pages, deps.trace, deps.queries, deps.publicUrl));
  app.use(qrRoutes(deps.queries, deps.serials, deps.publicUrl));
  app.use(regulatorPage());

  app.use((req, _res, next) => next(new HttpError(404, "not_found", `no route ${req.method} ${req.path}`)));
  app.use(errorMiddleware(deps.logger));

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (!req.url?.startsWith("/01/")) {
      app(req, res);
      return;
    }
    // Declined: express answers (its route calls `answer` again). Failed before writing anything:
    // express's route reports the failure through its error handling.
    pages.answer(req, res).then(
      (answered) => answered || app(req, res),
      (error: unknown) => {
        if (res.headersSent) return res.destroy();
        (req as IncomingMessage & { [PAGE_FAILURE]?: unknown })[PAGE_FAILURE] = error;
        app(req, res);
      },
    );
  };
  return { app, handle };
}
