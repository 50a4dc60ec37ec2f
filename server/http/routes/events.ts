/** Event capture (`POST /events`, 202) and event and submission reads. */
import { Router } from "express";

import type { IngestService } from "../../services/ingest";
import type { Queries } from "../../services/queries";
import { requireOrg } from "../auth";
import { hex32, parse } from "../schemas";

export function eventRoutes(ingest: IngestService, queries: Queries): Router {
  const router = Router();

  router.post("/events", async (req, res) => {
    const org = requireOrg(res, ["producer", "inspector", "logistics", "retailer", "regulator"]);
    const idempotencyKey = req.get("idempotency-key") ?? null;
    // app.ts leaves a UTF-8 JSON body unparsed here: it is parsed and checked off the main thread.
    const { replayed, result } = Buffer.isBuffer(req.body)
      ? await ingest.submitJson(org, { raw: req.body, idempotencyKey })
      : await ingest.submit(org, { body: req.body, idempotencyKey });
    res.setHeader("Location", `/api/v1/submissions/${result.submission.id}`);
    if (replayed) res.setHeader("Idempotent-Replayed", "true");
    res.status(202).json(result);
  });

  router.get("/events/:eventId", async (req, res) => {
    res.json(await queries.event(parse(hex32, req.params.eventId, "event id")));
  });

  router.get("/submissions/:id", async (req, res) => {
    res.json(await queries.submission(parse(hex32, req.params.id, "submission id")));
  });

  return router;
}
