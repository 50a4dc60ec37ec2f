/** Products and batches: registration by producers, reads, lineage and recalls. */
import { Router } from "express";

import { batchIdOf } from "../../domain/batch-id";
import { batchUri, itemUri } from "../../domain/digital-link";
import type { Queries } from "../../services/queries";
import type { Registry } from "../../services/registry";
import type { SerialService } from "../../services/serials";
import type { BatchRecord } from "../../store/records";
import { requireOrg } from "../auth";
import { HttpError } from "../errors";
import {
  gtinSchema,
  hex32,
  lineageQuerySchema,
  lotSchema,
  newBatchSchema,
  newProductSchema,
  pageQuerySchema,
  parse,
  reasonSchema,
  serialRequestSchema,
} from "../schemas";

export function batchRoutes(registry: Registry, queries: Queries, publicUrl: string, serials: SerialService): Router {
  const router = Router();
  const batchIdParam = (value: string) => parse(hex32, value, "batch id");
  const withLink = (batch: BatchRecord) => ({ ...batch, digitalLink: batchUri(publicUrl, batch) });

  router.post("/products", async (req, res) => {
    const org = requireOrg(res, ["producer"]);
    const { authorization, ...metadata } = parse(newProductSchema, req.body, "the product");
    const product = await registry.registerProduct(org, metadata, authorization);
    res.status(201).location(`/api/v1/products/${product.gtin}`).json({ product });
  });

  router.get("/products/:gtin", async (req, res) => {
    res.json({ product: await queries.product(parse(gtinSchema, req.params.gtin, "GTIN")) });
  });

  router.post("/batches", async (req, res) => {
    const org = requireOrg(res, ["producer"]);
    const input = parse(newBatchSchema, req.body, "the batch");
    const { inputs, authorization, ...metadata } = input;
    const batch = await registry.registerBatch(
      org,
      metadata,
      inputs.map((key) => batchIdOf(key.gtin, key.lot)),
      authorization,
    );
    res
      .status(201)
      .location(`/api/v1/batches/${batch.batchId}`)
      .json({ batch: withLink(batch) });
  });

  /** `GET /batches?gtin=…&lot=…` finds a batch by its GS1 keys. */
  router.get("/batches", async (req, res) => {
    const gtin = parse(gtinSchema, req.query.gtin, "query parameter gtin");
    const lot = parse(lotSchema, req.query.lot, "query parameter lot");
    res.json({ batch: withLink(await queries.batchByKey(gtin, lot)) });
  });

  router.get("/batches/:batchId", async (req, res) => {
    const batchId = batchIdParam(req.params.batchId);
    const batch = await queries.batch(batchId);
    res.json({ batch: withLink(batch), custody: await queries.custody(batchId) });
  });

  router.get("/batches/:batchId/events", async (req, res) => {
    const query = parse(pageQuerySchema, req.query, "the query");
    const page = await queries.batchEvents(batchIdParam(req.params.batchId), query);
    res.json(page);
  });

  router.get("/batches/:batchId/lineage", async (req, res) => {
    const { direction } = parse(lineageQuerySchema, req.query, "the query");
    const lineage = await queries.lineage(batchIdParam(req.params.batchId), direction);
    res.json({
      ...lineage,
      batches: lineage.batches.map((batch) => ({ ...batch, digitalLink: batchUri(publicUrl, batch) })),
    });
  });

  router.post("/batches/:batchId/recall", async (req, res) => {
    const org = requireOrg(res, ["regulator", "producer"]);
    const batchId = batchIdParam(req.params.batchId);
    const batch = await queries.batch(batchId);
    if (!org.roles.includes("regulator") && batch.producer !== org.orgId) {
      throw new HttpError(403, "not_batch_producer", "only a regulator or the batch's producer may recall it");
    }
    const { reason } = parse(reasonSchema, req.body, "the recall");
    res.json({ batch: withLink(await registry.recall(org, batchId, reason)) });
  });

  /** Issues item serials (一物一码) and answers them as CSV: serial, Digital Link. */
  router.post("/batches/:batchId/serials", async (req, res) => {
    const org = requireOrg(res, ["producer"]);
    const { count } = parse(serialRequestSchema, req.body, "the serial request");
    const batch = await queries.batch(batchIdParam(req.params.batchId));
    const { root, serials: issued } = await serials.issue(org, batch, count);
    res.status(201).setHeader("X-Serials-Root", root);
    res.type("text/csv; charset=utf-8").send(serialCsv(batch, issued, publicUrl));
  });

  router.get("/batches/:batchId/serials", async (req, res) => {
    const batch = await queries.batch(batchIdParam(req.params.batchId));
    const org = requireOrg(res);
    if (batch.producer !== org.orgId)
      throw new HttpError(403, "not_batch_producer", "only the batch's producer lists its serials");
    res.type("text/csv; charset=utf-8").send(serialCsv(batch, await serials.list(batch.batchId), publicUrl));
  });

  return router;
}

function serialCsv(batch: BatchRecord, serials: string[], publicUrl: string): string {
  const rows = serials.map((serial) => `${serial},${itemUri(publicUrl, { gtin: batch.gtin, lot: batch.lot, serial })}`);
  return ["serial,digital_link", ...rows].join("\r\n") + "\r\n";
}
