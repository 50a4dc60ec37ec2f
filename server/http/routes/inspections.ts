/**
 * Inspections: certificate documents (uploaded by a lab, a producer or a regulator before the
 * `inspecting` event that names them; served publicly by SHA-256 so consumer pages can link them),
 * the holds non-conformant inspections put on batches, and a regulator's release of a held batch.
 */
import express, { Router, type Request, type RequestHandler, type Response } from "express";
import { z } from "zod/v4";

import { batchUri } from "../../domain/digital-link";
import {
  FILE_EXTENSIONS,
  MAX_CERTIFICATE_BYTES,
  certificateType,
  type CertificateService,
} from "../../services/certificates";
import type { HoldService } from "../../services/holds";
import type { Queries } from "../../services/queries";
import { requireOrg, requireRegulatorOrAdmin } from "../auth";
import { declaresMoreThan, HttpError } from "../errors";
import { hex32, parse, reasonSchema } from "../schemas";

const sha256Schema = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, { message: "must be a SHA-256: 64 hex digits" })
  .transform((s) => s.toLowerCase());

const rawParser = express.raw({ type: () => true, limit: MAX_CERTIFICATE_BYTES });

/** The raw body (at most MAX_CERTIFICATE_BYTES); a larger one is 413 `certificate_too_large`. */
function rawBody(req: Request, res: Response): Promise<Buffer> {
  if (declaresMoreThan(req, MAX_CERTIFICATE_BYTES)) {
    return Promise.reject(
      new HttpError(413, "certificate_too_large", `a certificate document is at most ${MAX_CERTIFICATE_BYTES} bytes`),
    );
  }
  return new Promise((resolve, reject) =>
    rawParser(req, res, (error?: unknown) => {
      if ((error as { type?: string } | undefined)?.type === "entity.too.large") {
        reject(
          new HttpError(
            413,
            "certificate_too_large",
            `a certificate document is at most ${MAX_CERTIFICATE_BYTES} bytes`,
          ),
        );
      } else if (error) reject(error);
      else resolve(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    }),
  );
}

export function inspectionRoutes(
  certificates: CertificateService,
  holds: HoldService,
  queries: Queries,
  publicUrl: string,
): Router {
  const router = Router();

  /** Raw body, Content-Type application/pdf, image/png or image/jpeg. */
  router.post("/certificates", async (req, res) => {
    // Who and what type are checked before the body is read.
    const org = requireOrg(res, ["inspector", "producer", "regulator"]);
    const type = certificateType(req.get("content-type"));
    const { info, created } = await certificates.upload(await rawBody(req, res), type, org.orgId);
    const certificate = certificates.view(info);
    res
      .status(created ? 201 : 200)
      .location(certificate.url)
      .json({ certificate });
  });

  /** The holds waiting to go on-chain, or that the gateway cannot sign (regulators, the admin). */
  router.get("/holds", async (_req, res) => {
    requireRegulatorOrAdmin(res);
    res.json({ holds: await holds.list() });
  });

  router.post("/batches/:batchId/release", async (req, res) => {
    const org = requireOrg(res, ["regulator"]);
    const batchId = parse(hex32, req.params.batchId, "batch id");
    await queries.batch(batchId);
    const { reason } = parse(reasonSchema, req.body, "the release");
    const { batch, clearedHolds } = await holds.release(org, batchId, reason);
    res.json({ batch: { ...batch, digitalLink: batchUri(publicUrl, batch) }, clearedHolds });
  });

  return router;
}

/**
 * `GET /certificates/{sha256}`: public. The document with its type, a strong ETag (its SHA-256) and
 * its digest (RFC 9530 `Repr-Digest`, RFC 3230 `Digest`); 409 `certificate_corrupted` when the
 * stored bytes no longer match the hash.
 */
export function certificateDocument(certificates: CertificateService): RequestHandler {
  return async (req, res) => {
    const sha256 = parse(sha256Schema, req.params.sha256, "certificate SHA-256");
    const document = await certificates.document(sha256);
    if (!document) throw new HttpError(404, "unknown_certificate", `no certificate with SHA-256 ${sha256} is on file`);
    const { info, bytes } = document;
    const digest = Buffer.from(info.sha256, "hex").toString("base64");
    const extension = FILE_EXTENSIONS[info.contentType as keyof typeof FILE_EXTENSIONS] ?? "bin";
    res.setHeader("ETag", `"${info.sha256}"`);
    res.setHeader("Repr-Digest", `sha-256=:${digest}:`);
    res.setHeader("Digest", `sha-256=${digest}`);
    // Content-addressed: the bytes of this URL never change.
    res.setHeader("Cache-Control", "public, max-age=31536000, immutable");
    // A document, not a page of ours: no page CSP, so the browser's PDF or image viewer shows it.
    res.removeHeader("Content-Security-Policy");
    res.setHeader("Content-Disposition", `inline; filename="certificate-${info.sha256.slice(0, 16)}.${extension}"`);
    res.type(info.contentType).send(bytes);
  };
}
