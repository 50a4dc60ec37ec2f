/**
 * The caller's own view (`/me`): who the API key belongs to, the nonces a self-custody client signs
 * with, and the caller's products and batches (what the factory CLI lists).
 */
import { Router } from "express";

import { batchUri } from "../../domain/digital-link";
import type { IngestService } from "../../services/ingest";
import type { Queries } from "../../services/queries";
import type { Registry } from "../../services/registry";
import { caller, requireOrg } from "../auth";
import { pageQuerySchema, parse } from "../schemas";
import { publicOrganisation } from "./organisations";

export function meRoutes(queries: Queries, ingest: IngestService, registry: Registry, publicUrl: string): Router {
  const router = Router();

  router.get("/me", async (_req, res) => {
    res.setHeader("Cache-Control", "no-store");
    const who = caller(res);
    if (who.kind === "admin") {
      res.json({ admin: true, organisation: null });
      return;
    }
    const { org } = who;
    const submissionNonce = await ingest.nextNonce(org.orgId);
    // A self-custody client signs its ledger requests with the ledger's nonce; null while the chain is away.
    const ledgerNonce = org.custody === "self" ? await registry.ledgerNonce(org).then(Number, () => null) : undefined;
    res.json({ admin: false, organisation: publicOrganisation(org), submissionNonce, ledgerNonce });
  });

  router.get("/me/products", async (_req, res) => {
    const org = requireOrg(res);
    res.setHeader("Cache-Control", "no-store");
    res.json({ products: await queries.productsOf(org.orgId) });
  });

  router.get("/me/batches", async (req, res) => {
    const org = requireOrg(res);
    const page = await queries.batchesOf(org.orgId, parse(pageQuerySchema, req.query, "the query"));
    res.setHeader("Cache-Control", "no-store");
    res.json({
      batches: page.batches.map((batch) => ({ ...batch, digitalLink: batchUri(publicUrl, batch) })),
      nextCursor: page.nextCursor,
    });
  });

  return router;
}
