/**
 * QR codes of Digital Link URIs: `/qr/01/{gtin}/10/{lot}[/21/{serial}]?format=svg|png&size=&ecc=&margin=`.
 * The code decodes to exactly the batch's (or issued item's) Digital Link on this gateway. Rendered once per options and
 * cached; answered with a strong ETag so printers and browsers revalidate instead of refetching.
 */
import { Router, type Request, type Response } from "express";

import { batchIdOf } from "../../domain/batch-id";
import { batchUri, itemUri, parseDigitalLink } from "../../domain/digital-link";
import { parseQrOptions, qrEtag, qrPng, qrSvg } from "../../qr/qr";
import type { Queries } from "../../services/queries";
import type { SerialService } from "../../services/serials";
import { HttpError } from "../errors";

export function qrRoutes(queries: Queries, serials: SerialService, publicUrl: string): Router {
  const router = Router();

  const serve = async (req: Request, res: Response): Promise<void> => {
    const key = parseDigitalLink(req.path.slice("/qr".length));
    if (!key) throw new HttpError(404, "not_in_yutrace", "this is not a Digital Link path of a batch or item");
    const batchId = batchIdOf(key.gtin, key.lot);
    await queries.batch(batchId);
    // Codes are made only for serials that were issued: no QR codes for made-up items.
    if (key.serial !== undefined && !(await serials.check(batchId, key.serial)).genuine) {
      throw new HttpError(404, "unknown_serial", "this serial was not issued for this batch");
    }
    const format = req.query.format ?? "svg";
    if (format !== "svg" && format !== "png") {
      throw new HttpError(400, "invalid_qr_options", 'format must be "svg" or "png"', [
        { path: "format", value: format, message: 'must be "svg" or "png"' },
      ]);
    }
    const options = parseQrOptions(req.query);
    const uri =
      key.serial === undefined ? batchUri(publicUrl, key) : itemUri(publicUrl, { ...key, serial: key.serial });
    const etag = qrEtag(uri, format, options);
    res.setHeader("ETag", etag);
    res.setHeader("Cache-Control", "public, max-age=86400");
    if (req.get("if-none-match") === etag) {
      res.status(304).end();
      return;
    }
    if (format === "png") res.type("image/png").send(await qrPng(uri, options));
    else res.type("image/svg+xml").send(qrSvg(uri, options));
  };
  router.get("/qr/01/:gtin/10/:lot", serve);
  router.get("/qr/01/:gtin/10/:lot/21/:serial", serve);

  return router;
}
