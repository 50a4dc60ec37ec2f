/**
 * OpenAPI path items of routes/inspections.ts: certificate upload and download, pending holds and a
 * regulator's release. Built with `operation()` like openapi-paths.ts; the binary bodies and the
 * error codes only these routes answer with are added here.
 */
import { createHash } from "node:crypto";

import { orgIdOf, uscc } from "../domain/identifiers";
import { CERTIFICATE_TYPES, MAX_CERTIFICATE_BYTES, certificateUrl } from "../services/certificates";
import type { OpenApiExamples } from "./openapi-examples";
import { operation, withErrorExamples } from "./openapi-operations";
import { array, nullable, object, ref, type Schema } from "./openapi-schemas";

/** Error codes of these routes, with the status they come with and an example message. */
const ERRORS: Record<string, { status: number; message: string }> = {
  empty_certificate: { status: 400, message: "the certificate document is empty" },
  certificate_type_mismatch: {
    status: 400,
    message: "the body is sent as application/pdf but is not a PDF document (it must start with %PDF-)",
  },
  unknown_certificate: { status: 404, message: "no certificate with SHA-256 9f2b…c4 is on file" },
  certificate_corrupted: {
    status: 409,
    message:
      "the stored certificate no longer matches its SHA-256 9f2b…c4; it is not served. Upload the original again",
  },
  batch_not_held: { status: 409, message: "batch 0x5c1e…a9 is not on hold" },
  hold_pending: {
    status: 409,
    message: "a hold of this batch is still being put on-chain; release it once the batch shows as held",
  },
  certificate_too_large: { status: 413, message: `a certificate document is at most ${MAX_CERTIFICATE_BYTES} bytes` },
  certificate_quota_exceeded: {
    status: 429,
    message:
      "this organisation has uploaded 1073741000 bytes of certificates today (China Standard Time); at most 1073741824 a day",
  },
  unsupported_certificate_type: {
    status: 415,
    message: 'a certificate is sent as application/pdf, image/png, image/jpeg; not "text/html"',
  },
};

const STATUS_TEXT: Record<number, string> = {
  400: "Bad request",
  404: "Not found",
  409: "Conflict",
  413: "Body too large",
  415: "Unsupported media type",
  429: "Too many uploads",
};

const sha256Pattern = "^[0-9a-f]{64}$";
const certificateSchema = object(
  {
    sha256: { type: "string", pattern: sha256Pattern, description: "SHA-256 of the document: its id." },
    contentType: { type: "string", enum: [...CERTIFICATE_TYPES] },
    size: { type: "integer", minimum: 1, maximum: MAX_CERTIFICATE_BYTES },
    url: { type: "string", format: "uri", description: "Where anyone can download it (public)." },
  },
  ["sha256", "contentType", "size", "url"],
);
const holdSchema = object(
  {
    batchId: ref("BatchId"),
    orgId: { ...ref("OrgId"), description: "The inspecting organisation; its key signs the hold." },
    eventId: ref("EventId"),
    reason: { type: "string", description: "The hold's reason; its keccak256 goes on-chain." },
    requestedAt: { type: "string", format: "date-time" },
    state: {
      type: "string",
      enum: ["queued", "awaiting_signature", "refused"],
      description:
        "queued: going on-chain (retried while the chain is away); awaiting_signature: the inspecting " +
        "organisation keeps its own key, so the gateway cannot sign; refused: the ledger refused it.",
    },
    awaitingSignature: { type: "boolean" },
    refused: object({ ledgerError: { type: "string" }, message: { type: "string" } }, ["ledgerError", "message"]),
    attempts: { type: "integer", minimum: 0, description: "Failed attempts since the gateway started." },
    lastError: nullable({ type: "string" }),
  },
  ["batchId", "orgId", "eventId", "reason", "requestedAt", "state", "attempts", "lastError"],
);

/** Replaces the success answer of `op` (operation() only knows JSON component schemas). */
function answer(op: Schema, description: string, content: Record<string, Schema>, headers?: Schema): Schema {
  const responses = op.responses as Record<string, Schema>;
  const ok = Object.keys(responses).find((status) => status.startsWith("2"))!;
  responses[ok] = { description, ...(headers ? { headers } : {}), content };
  return op;
}

/** Adds the error responses of `codes` (from ERRORS) to `op`, beside the ones operation() made. */
const withErrors = (op: Schema, codes: (keyof typeof ERRORS)[]): Schema =>
  withErrorExamples(op, ERRORS, codes, STATUS_TEXT);

export function inspectionPaths(x: OpenApiExamples): Record<string, Record<string, Schema>> {
  const base = new URL(x.batch.digitalLink).origin;
  const sha256 = createHash("sha256").update("%PDF-1.7 YW-2026-0815").digest("hex");
  const certificate = { sha256, contentType: "application/pdf", size: 48213, url: certificateUrl(base, sha256) };
  const inspector = orgIdOf(uscc("12500000MB0P2715X"));
  const binary = { schema: { type: "string", format: "binary" } };

  const upload = operation("post", {
    operationId: "uploadCertificate",
    tag: "Events",
    summary: "Upload an inspection certificate",
    description:
      "Caller: an inspector, producer or regulator. The raw document as the body (Content-Type application/pdf, " +
      `image/png or image/jpeg; at most ${MAX_CERTIFICATE_BYTES} bytes). Upload it before the \`inspecting\` event ` +
      "that names it: the event's `certificationInfo.documentHash` must be its SHA-256 (otherwise the event is " +
      "rejected with `certificate_not_uploaded`). 201 when stored, 200 when that document was on file already.",
    ok: { status: 201, description: "Stored.", schema: "Reason" },
    errors: ["organisation_required", "role_not_allowed"],
  });
  upload.requestBody = {
    required: true,
    content: Object.fromEntries(CERTIFICATE_TYPES.map((type) => [type, binary])),
  };
  const created = { "application/json": { schema: object({ certificate: certificateSchema }, ["certificate"]) } };
  answer(upload, "Stored (200 with the same body: that document was on file already).", {
    "application/json": { ...created["application/json"], example: { certificate } },
  });
  (upload.responses as Record<string, Schema>)["200"] = {
    description: "That document was on file already.",
    content: { "application/json": { ...created["application/json"], example: { certificate } } },
  };
  withErrors(upload, [
    "empty_certificate",
    "certificate_type_mismatch",
    "certificate_too_large",
    "certificate_quota_exceeded",
  ]);
  withErrors(upload, ["unsupported_certificate_type"]);

  const download = operation("get", {
    operationId: "getCertificate",
    tag: "Events",
    summary: "Download a certificate",
    description:
      "Public (consumer pages link it). The document with its Content-Type, a strong ETag (its SHA-256) and its " +
      "digest in `Repr-Digest` (RFC 9530) and `Digest` (RFC 3230). The stored bytes are hashed again on every " +
      "request: if they no longer match, 409 `certificate_corrupted` instead of the document.",
    public: true,
    ok: { status: 200, description: "The document.", schema: "Reason" },
    errors: ["invalid_request"],
  });
  download.parameters = [
    {
      name: "sha256",
      in: "path",
      required: true,
      description: "SHA-256 of the document, 64 hex digits.",
      schema: { type: "string", pattern: "^[0-9a-fA-F]{64}$" },
    },
  ];
  answer(download, "The document.", Object.fromEntries(CERTIFICATE_TYPES.map((type) => [type, binary])), {
    ETag: { description: "The SHA-256 in quotes.", schema: { type: "string" } },
    "Repr-Digest": { description: "sha-256=:base64 of the SHA-256:", schema: { type: "string" } },
  });
  withErrors(download, ["unknown_certificate", "certificate_corrupted"]);

  const holds = operation("get", {
    operationId: "listPendingHolds",
    tag: "Batches",
    summary: "Holds not yet on-chain",
    description:
      "Caller: a regulator or the platform admin. The holds non-conformant inspections put on batches that are " +
      "not on-chain yet: queued (the chain may be away), awaiting a self-custody organisation's signature, or " +
      "refused by the ledger. Until it is cleared, such a batch reads as held: nothing ships from it.",
    ok: { status: 200, description: "The holds.", schema: "Reason" },
    errors: ["organisation_required", "role_not_allowed"],
  });
  answer(holds, "The holds.", {
    "application/json": {
      schema: object({ holds: array(holdSchema) }, ["holds"]),
      example: {
        holds: [
          {
            batchId: x.batch.batchId,
            orgId: inspector,
            eventId: x.eventView.eventId,
            reason: `检验不合格 non-conformant inspection: GB 4806.4-2016 (event ${x.eventView.eventId})`,
            requestedAt: "2026-11-23T03:10:00.000Z",
            state: "queued",
            attempts: 2,
            lastError: "the chain's JSON-RPC endpoint is unreachable: connect ECONNREFUSED 127.0.0.1:8545",
          },
        ],
      },
    },
  });

  const release = operation("post", {
    operationId: "releaseBatch",
    tag: "Batches",
    summary: "Release a held batch",
    description:
      "Caller: a regulator (市场监管局). Held → Active on-chain (`releaseBatch`, signed with the regulator's key), " +
      "with a reason. Holds the gateway could not put on-chain (`awaiting_signature`, `refused`) are cleared with " +
      "it (`clearedHolds`). 409 `batch_not_held` when the batch is not held; `hold_pending` while its hold is " +
      "still on its way on-chain.",
    parameters: ["BatchId"],
    body: { schema: "Reason", example: { reason: "复检合格（报告 YW-2026-0901），解除暂扣" } },
    ok: { status: 200, description: "Released.", schema: "Reason" },
    errors: ["invalid_request", "organisation_required", "role_not_allowed", "unknown_batch", "self_custody"].concat([
      "batch_recalled",
      "not_an_organisation",
    ]),
    chain: true,
  });
  answer(release, "Released.", {
    "application/json": {
      schema: object(
        {
          batch: ref("Batch"),
          clearedHolds: { type: "integer", minimum: 0, description: "Pending holds cleared with the release." },
        },
        ["batch", "clearedHolds"],
      ),
      example: { batch: x.batch, clearedHolds: 0 },
    },
  });
  withErrors(release, ["batch_not_held", "hold_pending"]);

  return {
    "/api/v1/certificates": { post: upload },
    "/certificates/{sha256}": { get: download },
    "/api/v1/holds": { get: holds },
    "/api/v1/batches/{batchId}/release": { post: release },
  };
}
