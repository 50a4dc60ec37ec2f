/**
 * Printable label sheets of a batch's item serials (一物一码): `GET /batches/:batchId/labels.pdf`
 * streams an A4 PDF, one vector QR code of each item's Digital Link per label. Only the batch's
 * producer may print them, as only it may list the serials.
 */
import { Router } from "express";

import { itemUri } from "../../domain/digital-link";
import { parseLabelOptions, writeLabelSheet } from "../../qr/label-sheet";
import type { Queries } from "../../services/queries";
import type { SerialService } from "../../services/serials";
import { requireOrg } from "../auth";
import { HttpError } from "../errors";
import { hex32, parse } from "../schemas";

export function labelRoutes(serials: SerialService, queries: Queries, publicUrl: string): Router {
  const router = Router();

  router.get("/batches/:batchId/labels.pdf", async (req, res) => {
    const org = requireOrg(res);
    const options = parseLabelOptions(req.query);
    const batch = await queries.batch(parse(hex32, req.params.batchId, "batch id"));
    if (batch.producer !== org.orgId)
      throw new HttpError(403, "not_batch_producer", "only the batch's producer prints its labels");
    const issued = await serials.list(batch.batchId);
    if (issued.length === 0) {
      throw new HttpError(409, "no_serials", "no serials have been issued for this batch; issue them first", {
        batchId: batch.batchId,
      });
    }
    const product = await queries.product(batch.gtin);
    const name = product.metadata?.name;
    const labels = issued.map((serial) => ({
      serial,
      uri: itemUri(publicUrl, { gtin: batch.gtin, lot: batch.lot, serial }),
    }));

    res.type("application/pdf");
    res.setHeader("Content-Disposition", `attachment; filename="${fileName(batch.gtin, batch.lot)}"`);
    res.setHeader("Cache-Control", "private, no-store");
    try {
      await writeLabelSheet(
        res,
        { labels, productName: name?.zh ?? name?.en ?? "", lot: batch.lot, gtin: batch.gtin },
        options,
      );
    } catch (error) {
      if (!res.headersSent) throw error;
      // Mid-stream there is no error body to send: cut the download short so it cannot pass as whole.
      const clientLeft = res.destroyed || req.destroyed;
      res.destroy();
      if (!clientLeft) throw error;
    }
  });

  return router;
}

/** `labels-{gtin}-{lot}.pdf`, with lot characters that are unsafe in a quoted file name replaced. */
function fileName(gtin: string, lot: string): string {
  return `labels-${gtin}-${lot.replace(/[^A-Za-z0-9._-]/g, "_")}.pdf`;
}
