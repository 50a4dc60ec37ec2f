/**
 * QR codes of Digital Link URIs: `/qr/01/{gtin}/10/{lot}?format=svg|png&size=&ecc=&margin=`. The
 * code decodes to exactly the batch's Digital Link on this gateway. Rendered once per options and
 * cached; answered with a strong ETag so printers and browsers revalidate instead of refetching.
 */
import { Router } from "express";

import { batchIdOf } from "../../domain/batch-id";
import { batchUri, parseDigitalLink } from "../../domain/digital-link";
import { parseQrOptions, qrEtag, qrPng, qrSvg } from "../../qr/qr";
import type { Queries } from "../../services/queries";
import { HttpError } from "../errors";

export function qrRoutes(queries: Queries, publicUrl: string): Router {
  const router = Router();

  router.get("/qr/01/:gtin/10/:lot", async (req, res) => {
    const key = parseDigitalLink(req.path.slice("/qr".length));
    if (!key) throw new HttpError(404, "not_in_yutrace", "this is not a Digital Link path of a batch");
    await queries.batch(batchIdOf(key.gtin, key.lot));
    const format = req.query.format ?? "svg";
    if (format !== "svg" && format !== "png") {
      throw new HttpError(400, "invalid_qr_options", 'format must be "svg" or "png"', [
        { path: "format", value: format, message: 'must be "svg" or "png"' },
      ]);
    }
    const options = parseQrOptions(req.query);
    const uri = batchUri(publicUrl, key);
    const etag = qrEtag(uri, format, options);
    res.setHeader("ETag", etag);
    res.setHeader("Cache-Control", "public, max-age=86400");
    if (req.get("if-none-match") === etag) {
      res.status(304).end();
      return;
    }
    if (format === "png") res.type("image/png").send(await qrPng(uri, options));
    else res.type("image/svg+xml").send(qrSvg(uri, options));
  });

  return router;
}
