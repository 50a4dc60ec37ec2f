/**
 * Evidence and verification (DESIGN §3): a batch's evidence bundle is public — anyone may check it
 * against the chain with `npm run verify` — while the gateway's own verification report and the
 * recall drill, which read the chain or trace the whole lineage, need an API key (the drill a
 * regulator's or the batch producer's).
 */
import { Router } from "express";
import { rateLimit } from "express-rate-limit";
import { z } from "zod/v4";

import type { EvidenceService } from "../../services/evidence";
import type { Queries } from "../../services/queries";
import { recallDrill } from "../../services/recall-drill";
import { batchUri } from "../../domain/digital-link";
import { requireOrg } from "../auth";
import { HttpError } from "../errors";
import { hex32, parse } from "../schemas";

const evidenceQuerySchema = z
  .object({
    ancestors: z
      .enum(["true", "false"])
      .default("false")
      .transform((v) => v === "true"),
  })
  .strict();

/** Public: mounted before authentication. A bundle can be large, so each address gets `perMinute`. */
export function evidenceRoutes(evidence: EvidenceService, perMinute = 120): Router {
  const router = Router();
  const limit = rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: "draft-7",
    legacyHeaders: false,
    handler: (_req, _res, next) =>
      next(new HttpError(429, "rate_limited", "too many evidence requests from this address; slow down")),
  });
  router.get("/batches/:batchId/evidence", limit, async (req, res) => {
    const batchId = parse(hex32, req.params.batchId, "batch id");
    const { ancestors } = parse(evidenceQuerySchema, req.query, "the query");
    res.setHeader("Cache-Control", "no-store");
    res.json(await evidence.bundle(batchId, { ancestors }));
  });
  return router;
}

/** Behind authentication: the verification report (any key) and the recall drill (regulators). */
export function verificationRoutes(evidence: EvidenceService, queries: Queries, publicUrl: string): Router {
  const router = Router();
  router.get("/batches/:batchId/verification", async (req, res) => {
    const batchId = parse(hex32, req.params.batchId, "batch id");
    const { ancestors } = parse(evidenceQuerySchema, req.query, "the query");
    res.setHeader("Cache-Control", "no-store");
    res.json(await evidence.verify(batchId, { ancestors }));
  });

  router.post("/batches/:batchId/recall-drill", async (req, res) => {
    const org = requireOrg(res, ["regulator", "producer"]);
    const batchId = parse(hex32, req.params.batchId, "batch id");
    const batch = await queries.batch(batchId);
    // A producer drills its own batches (a mock recall is part of its own quality system).
    if (!org.roles.includes("regulator") && batch.producer !== org.orgId) {
      throw new HttpError(403, "not_batch_producer", "only a regulator or the batch's producer may run a recall drill");
    }
    const report = await recallDrill(queries, batchId);
    res.json({
      ...report,
      batches: report.batches.map((batch) => ({ ...batch, digitalLink: batchUri(publicUrl, batch) })),
    });
  });
  return router;
}
