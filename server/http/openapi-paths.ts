/**
 * Every route of the API as an OpenAPI path item: /healthz, /readyz, /api/openapi.json and
 * everything under /api/v1 (routes/*.ts). test/http/openapi.test.ts checks this list against the
 * routes the app registers, both ways.
 */
import { MAX_EVENTS_PER_SUBMISSION } from "../domain/events";
import type { OpenApiExamples } from "./openapi-examples";
import { operation } from "./openapi-operations";
import { ref, type Schema } from "./openapi-schemas";

const readiness = (ready: boolean) => ({
  status: ready ? "ready" : "not_ready",
  chainReachable: ready,
  indexerLag: ready ? 0 : null,
  pendingSubmissions: ready ? 3 : 12,
  lastAnchoredAt: "2026-11-22T06:01:00.000Z",
  anchorError: ready ? null : "the ledger chain cannot be reached",
});

export function paths(x: OpenApiExamples): Record<string, Record<string, Schema>> {
  return {
    "/healthz": {
      get: operation("get", {
        operationId: "getHealth",
        tag: "Health",
        summary: "Liveness",
        description: "The process is up. Checks nothing else.",
        public: true,
        ok: { status: 200, description: "Alive.", schema: "Health", example: { status: "ok" } },
        errors: [],
      }),
    },
    "/readyz": {
      get: {
        operationId: "getReadiness",
        tags: ["Health"],
        summary: "Readiness",
        description:
          "Ready when the ledger chain answers and the indexer is close enough behind its head; the same body " +
          "comes with 503 when not ready.",
        security: [],
        responses: {
          "200": {
            description: "Ready.",
            content: { "application/json": { schema: ref("Readiness"), example: readiness(true) } },
          },
          "503": {
            description: "Not ready: the chain is unreachable or the indexer lags.",
            content: { "application/json": { schema: ref("Readiness"), example: readiness(false) } },
          },
        },
      },
    },
    "/api/openapi.json": {
      get: operation("get", {
        operationId: "getOpenApiDocument",
        tag: "Meta",
        summary: "This document",
        description: "The OpenAPI 3.1 description of the API. The interactive reference is at /api/docs.",
        public: true,
        ok: { status: 200, description: "The document.", schema: "OpenApiDocument" },
        errors: [],
      }),
    },
    "/api/v1/ledger": {
      get: operation("get", {
        operationId: "getLedger",
        tag: "Meta",
        summary: "Where the ledger is",
        description:
          "Public. The chain id, TraceLedger contract address and deploy block, for anyone who verifies evidence " +
          "against the chain themselves instead of trusting this gateway.",
        public: true,
        ok: { status: 200, description: "The ledger.", schema: "Ledger", example: x.ledger },
        errors: [],
      }),
    },
    ...mePaths(x),
    ...organisationPaths(x),
    ...batchPaths(x),
    ...eventPaths(x),
  };
}

/** Errors of a request a self-custody organisation signs itself (and a custodial one must not). */
const selfSigned = [
  "signature_required",
  "invalid_signature",
  "signature_expired",
  "wrong_nonce",
  "unexpected_authorization",
];

function mePaths(x: OpenApiExamples): Record<string, Record<string, Schema>> {
  const orgOnly = ["organisation_required"];
  return {
    "/api/v1/me": {
      get: operation("get", {
        operationId: "getMe",
        tag: "Organisations",
        summary: "Who this key belongs to",
        description:
          "Caller: any key. The calling organisation's profile and the nonces a self-custody client signs with " +
          "(`submissionNonce` for submissions, `ledgerNonce` for ledger requests); `admin: true` for the admin key.",
        ok: {
          status: 200,
          description: "The caller.",
          schema: "Me",
          example: { admin: false, organisation: x.organisation, submissionNonce: 12 },
        },
        errors: [],
      }),
    },
    "/api/v1/me/products": {
      get: operation("get", {
        operationId: "listMyProducts",
        tag: "Products",
        summary: "The caller's products",
        description: "Caller: an organisation. The products it registered, by GTIN.",
        ok: { status: 200, description: "The products.", schema: "ProductList", example: { products: [x.product] } },
        errors: orgOnly,
      }),
    },
    "/api/v1/me/batches": {
      get: operation("get", {
        operationId: "listMyBatches",
        tag: "Batches",
        summary: "The caller's batches",
        description: "Caller: an organisation. The batches it produced, newest first, a page at a time.",
        parameters: ["Limit", "Cursor"],
        ok: {
          status: 200,
          description: "A page of batches.",
          schema: "BatchPage",
          example: { batches: [x.batch], nextCursor: null },
        },
        errors: ["invalid_request", "invalid_cursor", ...orgOnly],
      }),
    },
  };
}

function organisationPaths(x: OpenApiExamples): Record<string, Record<string, Schema>> {
  const admin = "Caller: the platform admin key.";
  const orgResponse = (description: string) => ({
    status: 200,
    description,
    schema: "OrganisationResponse",
    example: { organisation: x.organisation },
  });
  return {
    "/api/v1/organisations": {
      post: operation("post", {
        operationId: "createOrganisation",
        tag: "Organisations",
        summary: "Onboard an organisation",
        description:
          `${admin} Registers the organisation on-chain with its roles, keyed by its 统一社会信用代码 (主体码). ` +
          "Without `account` the gateway creates a signing key for it and keeps it encrypted (custodial). " +
          "Answers with its API key, shown this once.",
        body: { schema: "NewOrganisation", example: x.newOrganisation },
        ok: {
          status: 201,
          description: "Registered.",
          schema: "OrganisationCreated",
          example: { organisation: x.organisation, apiKey: x.apiKey },
          headers: ["Location"],
        },
        errors: ["invalid_request", "admin_required", "organisation_exists", "account_in_use"],
        chain: true,
      }),
    },
    "/api/v1/organisations/{orgId}": {
      get: operation("get", {
        operationId: "getOrganisation",
        tag: "Organisations",
        summary: "An organisation's public profile",
        description: "Caller: any key.",
        parameters: ["OrgId"],
        ok: orgResponse("The organisation."),
        errors: ["invalid_request", "unknown_organisation"],
      }),
    },
    "/api/v1/organisations/{orgId}/api-key": {
      post: operation("post", {
        operationId: "rotateApiKey",
        tag: "Organisations",
        summary: "Issue a new API key",
        description: `${admin} The previous key stops working at once. The new key is shown this once.`,
        parameters: ["OrgId"],
        ok: { status: 201, description: "Issued.", schema: "ApiKeyResponse", example: { apiKey: x.apiKey } },
        errors: ["invalid_request", "admin_required", "unknown_organisation"],
      }),
    },
    "/api/v1/organisations/{orgId}/signing-key": {
      post: operation("post", {
        operationId: "rotateSigningKey",
        tag: "Organisations",
        summary: "Rotate a custodial signing key",
        description: `${admin} Creates a new custodial key and moves the organisation's on-chain account to it.`,
        parameters: ["OrgId"],
        ok: { ...orgResponse("Rotated; `account` is the new one."), status: 201 },
        errors: ["invalid_request", "admin_required", "unknown_organisation", "self_custody", "account_in_use"],
        chain: true,
      }),
    },
    "/api/v1/organisations/{orgId}/suspension": {
      post: operation("post", {
        operationId: "suspendOrganisation",
        tag: "Organisations",
        summary: "Suspend an organisation",
        description:
          "Caller: the platform admin or a regulator (the regulator's own key signs the on-chain request). Its roles " +
          "stop working on-chain from that block, and its API key is refused (403).",
        parameters: ["OrgId"],
        body: { schema: "Reason", example: x.suspension },
        ok: orgResponse("Suspended."),
        errors: [
          "invalid_request",
          "role_not_allowed",
          "cannot_suspend_self",
          "unknown_organisation",
          "organisation_already_suspended",
        ],
        chain: true,
      }),
      delete: operation("delete", {
        operationId: "reinstateOrganisation",
        tag: "Organisations",
        summary: "Reinstate an organisation",
        description: "Caller: the platform admin or a regulator. Lifts a suspension.",
        parameters: ["OrgId"],
        ok: orgResponse("Reinstated."),
        errors: ["invalid_request", "role_not_allowed", "unknown_organisation", "organisation_not_suspended"],
        chain: true,
      }),
    },
  };
}

function batchPaths(x: OpenApiExamples): Record<string, Record<string, Schema>> {
  const producer = ["organisation_required", "role_not_allowed", "not_an_organisation"];
  const batchResponse = {
    status: 200,
    description: "The batch.",
    schema: "BatchResponse",
    example: { batch: x.batch },
  };
  return {
    "/api/v1/products": {
      post: operation("post", {
        operationId: "registerProduct",
        tag: "Products",
        summary: "Register a product",
        description:
          "Caller: a producer. Registers the GTIN on-chain as the caller's product, with its name, category and " +
          "执行标准 (the standard it is made to); the metadata's hash goes on-chain.",
        body: { schema: "NewProduct", example: x.newProduct },
        ok: {
          status: 201,
          description: "Registered.",
          schema: "ProductResponse",
          example: { product: x.product },
          headers: ["Location"],
        },
        errors: ["invalid_request", ...producer, "product_exists", "invalid_gtin", ...selfSigned],
        chain: true,
      }),
    },
    "/api/v1/products/{gtin}": {
      get: operation("get", {
        operationId: "getProduct",
        tag: "Products",
        summary: "A product",
        description: "Caller: any key.",
        parameters: ["GtinPath"],
        ok: { status: 200, description: "The product.", schema: "ProductResponse", example: { product: x.product } },
        errors: ["invalid_request", "unknown_product"],
      }),
    },
    "/api/v1/batches": {
      post: operation("post", {
        operationId: "registerBatch",
        tag: "Batches",
        summary: "Register a batch (追溯单元)",
        description:
          "Caller: the producer that owns the product. Registers the batch on-chain with the batches it was made " +
          "from (`inputs`), so a recall of any input reaches it. Answers with its GS1 Digital Link (the QR payload).",
        body: { schema: "NewBatch", example: x.newBatch },
        ok: { ...batchResponse, status: 201, description: "Registered.", headers: ["Location"] },
        errors: ["invalid_request", ...producer, "not_product_owner", "unknown_product", "unknown_batch"].concat([
          "batch_exists",
          "input_not_active",
          "too_many_inputs",
          "duplicate_input",
          "invalid_lot",
          ...selfSigned,
        ]),
        chain: true,
      }),
      get: operation("get", {
        operationId: "findBatch",
        tag: "Batches",
        summary: "Find a batch by GTIN and lot",
        description: "Caller: any key. `GET /api/v1/batches?gtin=06903885010017&lot=DZ20261120-01`.",
        parameters: ["GtinQuery", "LotQuery"],
        ok: batchResponse,
        errors: ["invalid_request", "unknown_batch"],
      }),
    },
    "/api/v1/batches/{batchId}": {
      get: operation("get", {
        operationId: "getBatch",
        tag: "Batches",
        summary: "A batch and who holds it",
        description: "Caller: any key. `custody` is null until an event about the batch is accepted.",
        parameters: ["BatchId"],
        ok: {
          status: 200,
          description: "The batch and its custody.",
          schema: "BatchWithCustody",
          example: { batch: x.batch, custody: x.custody },
        },
        errors: ["invalid_request", "unknown_batch"],
      }),
    },
    "/api/v1/batches/{batchId}/events": {
      get: operation("get", {
        operationId: "listBatchEvents",
        tag: "Batches",
        summary: "A batch's events",
        description: "Caller: any key. In the order they were accepted, a page at a time, each with its evidence.",
        parameters: ["BatchId", "Limit", "Cursor"],
        ok: { status: 200, description: "A page of events.", schema: "EventPage", example: x.eventPage },
        errors: ["invalid_request", "invalid_cursor", "unknown_batch"],
      }),
    },
    "/api/v1/batches/{batchId}/lineage": {
      get: operation("get", {
        operationId: "getLineage",
        tag: "Batches",
        summary: "What a batch was made from, or what was made from it",
        description:
          "Caller: any key. `up`: its input batches, transitively (a hotpot base's chili and tallow lots); " +
          "`down`: every batch made from it (whom a recall reaches).",
        parameters: ["BatchId", "Direction"],
        ok: { status: 200, description: "The lineage.", schema: "Lineage", example: x.lineage },
        errors: ["invalid_request", "unknown_batch"],
      }),
    },
    "/api/v1/batches/{batchId}/evidence": {
      get: operation("get", {
        operationId: "getEvidence",
        tag: "Batches",
        summary: "Evidence bundle: everything to verify a batch without the gateway",
        description:
          "Public. Every event of the batch (and, with `ancestors=true`, of every batch it was made from) with its " +
          "proof to its submission root, the submission's fields and EIP-712 signature, the proof to the anchored " +
          "root, and where the ledger is. Check it with `npm run verify -- <digital-link> --rpc <your node>`.",
        parameters: ["BatchId", "Ancestors"],
        ok: { status: 200, description: "The evidence.", schema: "EvidenceBundle", example: x.evidence },
        errors: ["invalid_request", "unknown_batch", "rate_limited"],
        public: true,
      }),
    },
    "/api/v1/batches/{batchId}/verification": {
      get: operation("get", {
        operationId: "getVerification",
        tag: "Batches",
        summary: "Verification report: each event checked against the chain",
        description:
          "Caller: any key. The evidence bundle checked against the ledger by the same code as the independent " +
          "verifier: per event the hash, the proof to the submission root, the signature, the signer's role at the " +
          "anchor's block, the anchored root and the batches on-chain; the batch's status and recalled ancestors " +
          "as the chain has them. A record altered in the gateway's store fails the checks of exactly the events it " +
          "touches.",
        parameters: ["BatchId", "Ancestors"],
        ok: { status: 200, description: "The report.", schema: "VerificationReport", example: x.verification },
        errors: ["invalid_request", "unknown_batch"],
        chain: true,
      }),
    },
    "/api/v1/batches/{batchId}/recall-drill": {
      post: operation("post", {
        operationId: "runRecallDrill",
        tag: "Batches",
        summary: "Recall drill (模拟召回): what a recall would reach, timed",
        description:
          "Caller: a regulator, or the batch's producer. Traces every batch made from this one, transitively, with " +
          "who holds each now and how much was made, and how long the trace took. Recalls nothing, writes nothing.",
        parameters: ["BatchId"],
        ok: { status: 200, description: "The drill report.", schema: "DrillReport", example: x.drill },
        errors: ["invalid_request", "organisation_required", "role_not_allowed", "not_batch_producer", "unknown_batch"],
      }),
    },
    "/api/v1/batches/{batchId}/serials": {
      post: csvResponse(
        operation("post", {
          operationId: "issueSerials",
          tag: "Batches",
          summary: "Issue item serials (一物一码)",
          description:
            "Caller: the batch's producer. Makes `count` random, unguessable serials (65 bits), commits their " +
            "Merkle root on-chain (`commitSerials`), keeps each serial's proof, and answers them as CSV " +
            "(`serial,digital_link`); the root is in `X-Serials-Root`.",
          parameters: ["BatchId"],
          body: { schema: "SerialRequest", example: { count: 1000 } },
          ok: { status: 201, description: "Issued and committed.", schema: "Reason", example: null },
          errors: ["invalid_request", "organisation_required", "role_not_allowed", "not_batch_producer"].concat([
            "unknown_batch",
            "batch_recalled",
            "self_custody",
          ]),
          chain: true,
        }),
      ),
      get: csvResponse(
        operation("get", {
          operationId: "listSerials",
          tag: "Batches",
          summary: "The batch's item serials",
          description: "Caller: the batch's producer. Every serial issued for the batch, as CSV.",
          parameters: ["BatchId"],
          ok: { status: 200, description: "The serials.", schema: "Reason", example: null },
          errors: ["invalid_request", "organisation_required", "not_batch_producer", "unknown_batch"],
        }),
      ),
    },
    "/api/v1/batches/{batchId}/labels.pdf": {
      get: fileResponse(
        operation("get", {
          operationId: "labelSheet",
          tag: "Batches",
          summary: "Print-ready PDF label sheet of the batch's item codes",
          description:
            "Caller: the batch's producer. A4 pages, a grid of labels (`columns` 1–8, `rows` 1–16), each with a " +
            "vector QR code of the item's Digital Link, the product name, lot and serial; streamed page by page.",
          parameters: ["BatchId"],
          ok: { status: 200, description: "The PDF.", schema: "Reason", example: null },
          errors: ["invalid_request", "organisation_required", "not_batch_producer", "unknown_batch"].concat([
            "no_serials",
            "invalid_label_options",
          ]),
        }),
        "application/pdf",
      ),
    },
    "/api/v1/batches/{batchId}/recall": {
      post: operation("post", {
        operationId: "recallBatch",
        tag: "Batches",
        summary: "Recall a batch",
        description:
          "Caller: a regulator (市场监管局), or the batch's producer. Recorded on-chain; every batch made from it " +
          "shows as affected, and shipping or selling it is refused from then on.",
        parameters: ["BatchId"],
        body: { schema: "Reason", example: x.recall },
        ok: { ...batchResponse, description: "Recalled.", example: { batch: x.recalledBatch } },
        errors: [
          "invalid_request",
          "organisation_required",
          "role_not_allowed",
          "not_batch_producer",
          "unknown_batch",
        ].concat(["self_custody", "not_an_organisation", "batch_recalled", "invalid_status_transition"]),
        chain: true,
      }),
    },
  };
}

function eventPaths(x: OpenApiExamples): Record<string, Record<string, Schema>> {
  return {
    "/api/v1/events": {
      post: operation("post", {
        operationId: "submitEvents",
        tag: "Events",
        summary: "Record events (EPCIS capture)",
        description:
          `Caller: an organisation with a role the events' bizSteps allow. 1–${MAX_EVENTS_PER_SUBMISSION} events, ` +
          "accepted or rejected as a whole: every problem of every event is listed (422 `events_rejected`). " +
          "Accepted events are journaled durably, signed as one EIP-712 submission and answered with 202; " +
          "their Merkle root is anchored on-chain within the anchor interval (follow `Location`). " +
          "Send an `Idempotency-Key` to retry safely: the same key and body answers the same 202 again " +
          "(`Idempotent-Replayed: true`); the same key with another body is a 409.",
        parameters: ["IdempotencyKey"],
        body: { schema: "EventSubmission", example: x.submissionBody },
        ok: {
          status: 202,
          description: "Accepted and journaled; anchoring is pending.",
          schema: "SubmissionAccepted",
          example: x.accepted,
          headers: ["Location", "Idempotent-Replayed"],
        },
        errors: ["invalid_submission", "invalid_idempotency_key", "too_many_events", "too_deeply_nested"].concat(
          ["signature_required"],
          ["organisation_required", "role_not_allowed", "duplicate_event", "idempotency_key_reused", "wrong_nonce"],
          ["events_rejected", "invalid_signature", "store_unavailable"],
        ),
      }),
    },
    "/api/v1/events/{eventId}": {
      get: operation("get", {
        operationId: "getEvent",
        tag: "Events",
        summary: "An event and its evidence",
        description:
          "Caller: any key. The event as sent, its Merkle proof to the submission root, the organisation's " +
          "signature, and once anchored the proof to the on-chain anchor root and its transaction.",
        parameters: ["EventId"],
        ok: { status: 200, description: "The event.", schema: "EventView", example: x.eventView },
        errors: ["invalid_request", "unknown_event"],
      }),
    },
    "/api/v1/submissions/{id}": {
      get: operation("get", {
        operationId: "getSubmission",
        tag: "Events",
        summary: "A submission's status",
        description: "Caller: any key. `pending` until its root is anchored on-chain, then `anchored` with the proof.",
        parameters: ["SubmissionIdPath"],
        ok: { status: 200, description: "The submission.", schema: "Submission", example: x.submission },
        errors: ["invalid_request", "unknown_submission"],
      }),
    },
  };
}

/** An operation whose success answer is CSV (`serial,digital_link` rows) instead of JSON. */
function csvResponse(op: Schema): Schema {
  const responses = op.responses as Record<string, Record<string, unknown>>;
  const ok = Object.keys(responses).find((status) => status.startsWith("2"))!;
  responses[ok] = {
    description: responses[ok]!.description,
    content: {
      "text/csv": {
        schema: { type: "string" },
        example:
          "serial,digital_link\r\nK7W2M9QX4TB1R,https://trace.example.cn/01/06903885010017/10/DZ20261120-01/21/K7W2M9QX4TB1R\r\n",
      },
    },
  };
  return op;
}

/** An operation whose success answer is a file of `mediaType` (e.g. a PDF). */
function fileResponse(op: Schema, mediaType: string): Schema {
  const responses = op.responses as Record<string, Record<string, unknown>>;
  const ok = Object.keys(responses).find((status) => status.startsWith("2"))!;
  responses[ok] = {
    description: responses[ok]!.description,
    content: { [mediaType]: { schema: { type: "string", format: "binary" } } },
  };
  return op;
}
