/**
 * The component schemas of what the API answers with (services/queries.ts, services/registry.ts,
 * routes/*.ts) and of the error body. Request schemas and shared helpers: openapi-schemas.ts.
 */
import { MAX_LINEAGE, MAX_PAGE } from "../services/queries";
import type { OrgRecord } from "../store/records";
import { array, hex32, membersOf, nullable, object, ref, withDescription, type Schema } from "./openapi-schemas";

const CUSTODY_KINDS = membersOf<OrgRecord["custody"]>({ custodial: true, self: true });
const isoTime = (description: string): Schema => ({ type: "string", format: "date-time", description });
const blockNumber: Schema = { type: "integer", minimum: 0, description: "Block number on the ledger chain." };
const txHash = hex32("Hash of the ledger transaction.");
/** A response body that wraps one record, e.g. `{"batch": Batch}`. */
const wrap = (field: string, schema: string): Schema => object({ [field]: ref(schema) }, [field]);

const batchRecordFields: Record<string, Schema> = {
  batchId: ref("BatchId"),
  gtin: ref("Gtin"),
  lot: ref("Lot"),
  producer: withDescription(ref("OrgId"), "The producing organisation."),
  status: ref("BatchStatus"),
  metadataHash: hex32("keccak256 of the canonical JSON of the batch metadata, as registered on-chain."),
  metadata: nullable(ref("BatchMetadata")),
  parents: array(ref("BatchId"), { description: "The batches this one was made from." }),
  registeredAt: isoTime("Block time of the registration."),
  block: blockNumber,
  txHash,
  statusHistory: array(ref("StatusChange")),
};
const batchRecordRequired = Object.keys(batchRecordFields);
const anchorRef = object(
  { root: ref("Hex32"), seq: { type: "integer" }, block: blockNumber, txHash, blockTime: isoTime("Block time.") },
  ["root", "seq", "block", "txHash", "blockTime"],
);

const digitalLink = {
  type: "string",
  format: "uri",
  description: "The batch's GS1 Digital Link URI on this gateway: the QR code payload and trace page.",
};

export const responseSchemas: Record<string, Schema> = {
  Organisation: object(
    {
      orgId: ref("OrgId"),
      name: { type: "string" },
      uscc: ref("Uscc"),
      district: ref("District"),
      roles: array(ref("Role")),
      account: withDescription(ref("Address"), "The account that signs for the organisation now."),
      custody: {
        type: "string",
        enum: CUSTODY_KINDS,
        description: "custodial: the gateway keeps its key; self: it does.",
      },
      suspended: { type: "boolean" },
    },
    ["orgId", "name", "uscc", "district", "roles", "account", "custody", "suspended"],
    { description: "The public view of an organisation (no keys)." },
  ),
  ApiKey: {
    type: "string",
    pattern: "^ytk_[A-Za-z0-9_-]{43}$",
    description:
      "An API key. Shown this once: the gateway stores only its SHA-256. Issuing one revokes the previous key.",
  },
  ProductMetadata: object(
    {
      gtin: ref("Gtin"),
      name: object({ zh: { type: "string" }, en: { type: "string" } }, ["zh"]),
      category: ref("Category"),
      standard: { type: "string", description: "执行标准." },
      brand: { type: "string" },
    },
    ["gtin", "name", "category", "standard"],
  ),
  Product: object(
    {
      gtin: ref("Gtin"),
      owner: withDescription(ref("OrgId"), "The producer that registered the product."),
      metadataHash: hex32("keccak256 of the canonical JSON of the product metadata, as registered on-chain."),
      metadata: nullable(ref("ProductMetadata")),
      registeredAt: isoTime("Block time of the registration."),
      block: blockNumber,
      txHash,
    },
    ["gtin", "owner", "metadataHash", "metadata", "registeredAt", "block", "txHash"],
  ),
  BatchMetadata: object(
    {
      gtin: ref("Gtin"),
      lot: ref("Lot"),
      quantity: object({ value: { type: "number" }, unit: ref("Unit") }, ["value", "unit"]),
      productionDate: ref("Date"),
      expiryDate: ref("Date"),
      facility: { type: "string" },
      district: ref("District"),
    },
    ["gtin", "lot", "quantity", "productionDate"],
  ),
  StatusChange: object(
    {
      status: ref("BatchStatus"),
      previous: ref("BatchStatus"),
      byOrg: ref("OrgId"),
      reasonHash: hex32("keccak256 of the reason text."),
      block: blockNumber,
      txHash,
      at: isoTime("Block time of the change."),
    },
    ["status", "previous", "byOrg", "reasonHash", "block", "txHash", "at"],
  ),
  Batch: object({ ...batchRecordFields, digitalLink }, [...batchRecordRequired, "digitalLink"], {
    description: "A batch (追溯单元) as the ledger and the indexer know it.",
  }),
  Custody: object(
    {
      batchId: ref("BatchId"),
      custodian: withDescription(ref("OrgId"), "The organisation holding the batch now."),
      inTransitTo: nullable(withDescription(ref("OrgId"), "Set by a shipment; only this organisation may receive.")),
      lastEventTime: nullable(ref("EventDateTime")),
    },
    ["batchId", "custodian", "inTransitTo", "lastEventTime"],
    { description: "Custody as recorded by accepted events (off-chain)." },
  ),
  LineageBatch: object(
    {
      ...batchRecordFields,
      digitalLink,
      depth: { type: "integer", minimum: 0, description: "Steps from the root batch (0: the root, in a drill)." },
      custodian: withDescription(ref("OrgId"), "The organisation holding it now (last custodian)."),
      holder: nullable(ref("OrgSummary")),
      inTransitTo: nullable(withDescription(ref("OrgSummary"), "Where a shipment of it is going.")),
      quantity: nullable(
        object({ value: { type: "number" }, unit: ref("Unit") }, ["value", "unit"], {
          description: "How much of it was made.",
        }),
      ),
    },
    [...batchRecordRequired, "digitalLink", "depth", "custodian", "holder", "inTransitTo", "quantity"],
  ),
  OrgSummary: object({ orgId: ref("OrgId"), name: { type: "string" }, district: { type: "string" } }, [
    "orgId",
    "name",
    "district",
  ]),
  DrillReport: object(
    {
      batchId: ref("BatchId"),
      gtin: ref("Gtin"),
      lot: ref("Lot"),
      startedAt: isoTime("When the drill started."),
      tookMs: { type: "number", minimum: 0, description: "How long the trace took." },
      affected: object(
        {
          batches: { type: "integer", minimum: 1 },
          organisations: { type: "integer", minimum: 0 },
          byStatus: object({ active: { type: "integer" }, held: { type: "integer" }, recalled: { type: "integer" } }, [
            "active",
            "held",
            "recalled",
          ]),
          quantities: array(object({ unit: ref("Unit"), value: { type: "number" } }, ["unit", "value"])),
        },
        ["batches", "organisations", "byStatus", "quantities"],
      ),
      batches: array(ref("LineageBatch"), { description: "The batch itself (depth 0) and every batch made from it." }),
      holders: array(
        object(
          {
            orgId: ref("OrgId"),
            name: { type: "string" },
            district: { type: "string" },
            batches: array(ref("BatchId")),
          },
          ["orgId", "name", "district", "batches"],
        ),
      ),
      edges: array({ type: "array", prefixItems: [ref("BatchId"), ref("BatchId")], minItems: 2, maxItems: 2 }),
      truncated: { type: "boolean" },
    },
    ["batchId", "gtin", "lot", "startedAt", "tookMs", "affected", "batches", "holders", "edges", "truncated"],
    { description: "What a recall of the batch would reach (模拟召回). Nothing was recalled." },
  ),
  EvidenceBundle: object(
    {
      format: { const: "yutrace-evidence/1" },
      generatedAt: isoTime("When the bundle was made."),
      gateway: { type: "string", format: "uri" },
      ledger: object({ chainId: { type: "string" }, address: ref("Address"), deployBlock: blockNumber }, [
        "chainId",
        "address",
        "deployBlock",
      ]),
      batch: ref("BatchEvidence"),
      ancestors: array(ref("BatchEvidence")),
      submissions: {
        type: "object",
        additionalProperties: ref("SubmissionEvidence"),
        description: "By submission id.",
      },
      events: array(
        object(
          {
            eventId: ref("EventId"),
            batchId: ref("BatchId"),
            body: ref("TraceEvent"),
            recordTime: isoTime("When the gateway accepted it."),
            submission: ref("SubmissionId"),
            proof: array(ref("Hex32"), { description: "From the event id to the submission root." }),
          },
          ["eventId", "batchId", "body", "recordTime", "submission", "proof"],
        ),
      ),
      truncated: { type: "boolean" },
    },
    ["format", "generatedAt", "gateway", "ledger", "batch", "ancestors", "submissions", "events", "truncated"],
    { description: "Everything needed to check a batch's history against the chain without the gateway." },
  ),
  BatchEvidence: object(
    {
      batchId: ref("BatchId"),
      gtin: ref("Gtin"),
      lot: ref("Lot"),
      digitalLink,
      producer: ref("OrgId"),
      metadata: nullable(ref("BatchMetadata")),
      parents: array(ref("BatchId")),
      registered: object({ block: blockNumber, txHash }, ["block", "txHash"]),
    },
    ["batchId", "gtin", "lot", "digitalLink", "producer", "metadata", "parents", "registered"],
  ),
  SubmissionEvidence: object(
    {
      id: ref("SubmissionId"),
      organisation: object({ orgId: ref("OrgId"), uscc: ref("Uscc"), name: { type: "string" } }, [
        "orgId",
        "uscc",
        "name",
      ]),
      account: ref("Address"),
      root: ref("Hex32"),
      count: { type: "integer" },
      nonce: { type: "integer" },
      signature: { type: "string" },
      acceptedAt: isoTime("When the gateway accepted it."),
      anchor: nullable(
        object(
          {
            root: ref("Hex32"),
            proof: array(ref("Hex32")),
            seq: { type: "integer" },
            block: blockNumber,
            txHash,
            blockTime: isoTime("Block time."),
          },
          ["root", "proof", "seq", "block", "txHash", "blockTime"],
        ),
      ),
    },
    ["id", "organisation", "account", "root", "count", "nonce", "signature", "acceptedAt", "anchor"],
  ),
  VerificationReport: object(
    {
      batchId: ref("BatchId"),
      gtin: ref("Gtin"),
      lot: ref("Lot"),
      digitalLink,
      checkedAt: isoTime("When the checks ran."),
      tookMs: { type: "number" },
      verdict: {
        type: "string",
        enum: ["verified", "failed", "incomplete"],
        description: "incomplete: every check passed but some events wait for their anchor.",
      },
      chain: object({ chainId: { type: "string" }, ledger: ref("Address"), headBlock: blockNumber }, [
        "chainId",
        "ledger",
        "headBlock",
      ]),
      batch: object(
        {
          onChain: { type: "boolean" },
          status: nullable(ref("BatchStatus")),
          registeredBlock: blockNumber,
          metadataMatches: { type: "boolean" },
          parentsMatch: { type: "boolean" },
        },
        ["onChain", "status", "registeredBlock", "metadataMatches", "parentsMatch"],
        { description: "Read from the chain." },
      ),
      recalledAncestors: array(
        object({ batchId: ref("BatchId"), gtin: nullable(ref("Gtin")), lot: nullable(ref("Lot")) }, [
          "batchId",
          "gtin",
          "lot",
        ]),
        { description: "Recalled batches it was made from, read from the chain." },
      ),
      summary: object(
        {
          events: { type: "integer" },
          passed: { type: "integer" },
          failed: { type: "integer" },
          pending: { type: "integer" },
        },
        ["events", "passed", "failed", "pending"],
      ),
      problems: array(
        { type: "string" },
        { description: "Problems with the evidence as a whole: the verdict is failed." },
      ),
      warnings: array(
        { type: "string" },
        {
          description: "What could not be checked in full (a truncated bundle or ancestry): the verdict is incomplete.",
        },
      ),
      events: array(
        object(
          {
            eventId: ref("EventId"),
            batchId: ref("BatchId"),
            bizStep: nullable({ type: "string" }),
            eventTime: nullable({ type: "string" }),
            organisation: nullable({ type: "string" }),
            declaredInError: nullable(withDescription(ref("EventId"), "The verified declaration that it was wrong.")),
            verdict: { type: "string", enum: ["passed", "failed", "pending"] },
            checks: array(
              object(
                {
                  name: {
                    type: "string",
                    enum: ["hash", "submission_proof", "signature", "signer_role", "anchored", "batch_on_chain"],
                  },
                  ok: { type: ["boolean", "null"], description: "null: not possible yet (not anchored)." },
                  detail: { type: "string" },
                },
                ["name", "ok", "detail"],
              ),
            ),
          },
          ["eventId", "batchId", "bizStep", "eventTime", "organisation", "declaredInError", "verdict", "checks"],
        ),
      ),
    },
    [
      "batchId",
      "gtin",
      "lot",
      "digitalLink",
      "checkedAt",
      "tookMs",
      "verdict",
      "chain",
      "batch",
      "recalledAncestors",
      "summary",
      "problems",
      "warnings",
      "events",
    ],
    { description: "The batch's evidence checked against the chain, event by event." },
  ),
  Lineage: object(
    {
      root: ref("BatchId"),
      direction: { type: "string", enum: ["up", "down"] },
      batches: array(ref("LineageBatch"), { maxItems: MAX_LINEAGE }),
      edges: array(
        { type: "array", prefixItems: [ref("BatchId"), ref("BatchId")], minItems: 2, maxItems: 2 },
        { description: "[input batch, batch made from it] pairs." },
      ),
      truncated: { type: "boolean", description: `Whether the walk stopped at ${MAX_LINEAGE} batches.` },
    },
    ["root", "direction", "batches", "edges", "truncated"],
    { description: "The batches a batch was made from (up) or that were made from it (down), transitively." },
  ),
  EventView: object(
    {
      eventId: ref("EventId"),
      status: {
        type: "string",
        enum: ["pending", "anchored"],
        description: "anchored once its submission's root is on-chain.",
      },
      event: ref("TraceEvent"),
      recordTime: isoTime("When the gateway accepted the event."),
      organisation: withDescription(ref("OrgId"), "The organisation that recorded it."),
      batchIds: array(ref("BatchId")),
      submission: object(
        {
          id: ref("SubmissionId"),
          seq: { type: "integer" },
          root: hex32("Merkle root of the submission's event ids (SHA-256 sorted-pair tree in OpenZeppelin's layout)."),
          count: { type: "integer" },
          nonce: { type: "integer" },
          signer: ref("Address"),
          signature: { type: "string", description: "The organisation's EIP-712 signature of the submission." },
        },
        ["id", "seq", "root", "count", "nonce", "signer", "signature"],
      ),
      proofs: object(
        {
          eventToSubmission: array(ref("Hex32")),
          submissionToAnchor: nullable(array(ref("Hex32"))),
        },
        ["eventToSubmission", "submissionToAnchor"],
      ),
      anchor: nullable(anchorRef),
      declaredInError: nullable(
        object(
          {
            by: ref("EventId"),
            reason: { type: "string" },
            declarationTime: ref("EventDateTime"),
            correctiveEventIDs: array(ref("EventId")),
            explanation: nullable({ type: "string" }),
          },
          ["by", "reason", "declarationTime", "correctiveEventIDs", "explanation"],
          { description: "Set when a later event declared this one in error." },
        ),
      ),
      declares: nullable(withDescription(ref("EventId"), "For an error declaration: the event it declares in error.")),
    },
    [
      "eventId",
      "status",
      "event",
      "recordTime",
      "organisation",
      "batchIds",
      "submission",
      "proofs",
      "anchor",
      "declaredInError",
      "declares",
    ],
    { description: "An event with the evidence that proves it: its submission, Merkle proofs and anchor." },
  ),
  EventPage: object(
    {
      events: array(ref("EventView"), { maxItems: MAX_PAGE }),
      nextCursor: nullable({ type: "string", description: "Pass as cursor for the next page; null on the last." }),
    },
    ["events", "nextCursor"],
  ),
  SubmissionAnchor: object(
    {
      root: hex32("The anchor root on-chain."),
      proof: array(ref("Hex32"), { description: "From the submission id to the anchor root." }),
      anchorSeq: { type: "integer" },
      block: blockNumber,
      txHash,
      blockTime: isoTime("Block time of the anchor."),
    },
    ["root", "proof", "anchorSeq", "block", "txHash", "blockTime"],
  ),
  Submission: object(
    {
      id: ref("SubmissionId"),
      seq: { type: "integer" },
      status: { type: "string", enum: ["pending", "anchored"] },
      organisation: ref("OrgId"),
      count: { type: "integer" },
      root: ref("Hex32"),
      acceptedAt: isoTime("When the submission was journaled."),
      eventIds: array(ref("EventId")),
      anchor: nullable(ref("SubmissionAnchor")),
    },
    ["id", "seq", "status", "organisation", "count", "root", "acceptedAt", "eventIds", "anchor"],
  ),
  SubmissionAccepted: object(
    {
      submission: object(
        {
          id: ref("SubmissionId"),
          seq: { type: "integer" },
          status: { const: "pending" },
          count: { type: "integer" },
          root: ref("Hex32"),
          nonce: { type: "integer" },
        },
        ["id", "seq", "status", "count", "root", "nonce"],
      ),
      events: array(object({ index: { type: "integer" }, eventId: ref("EventId") }, ["index", "eventId"])),
    },
    ["submission", "events"],
  ),
  Health: object({ status: { const: "ok" } }, ["status"]),
  Readiness: object(
    {
      status: { type: "string", enum: ["ready", "not_ready"] },
      chainReachable: { type: "boolean" },
      indexerLag: nullable({ type: "integer", description: "Blocks the indexer is behind the chain head." }),
      pendingSubmissions: { type: "integer", description: "Accepted submissions not yet anchored." },
      lastAnchoredAt: nullable({ type: "string", format: "date-time" }),
      anchorError: nullable({ type: "string" }),
    },
    ["status", "chainReachable", "indexerLag", "pendingSubmissions", "lastAnchoredAt", "anchorError"],
  ),
  Error: object(
    {
      error: object(
        {
          code: { type: "string", description: "Stable, machine-readable: branch on this, not on message." },
          message: { type: "string", description: "For people; may change." },
          details: {
            description:
              "Depends on code: invalid_request, invalid_submission → ValidationProblem[]; events_rejected → " +
              "{problems: EventProblem[]}; duplicate_event → {duplicates: [{index, eventId}]}; ledger errors → " +
              "{ledgerError, args}.",
          },
        },
        ["code", "message"],
      ),
    },
    ["error"],
    { description: 'Every error: {"error":{"code","message","details"}}. No stack traces.' },
  ),
  ValidationProblem: object({ path: { type: "string" }, message: { type: "string" } }, ["path", "message"]),
  EventProblem: object(
    {
      index: { type: "integer", description: "Position of the event in the submission." },
      code: { type: "string", examples: ["invalid_event", "batch_recalled", "not_custodian", "before_production"] },
      message: { type: "string" },
      path: { type: "string" },
    },
    ["index", "code", "message"],
  ),
  OrganisationResponse: wrap("organisation", "Organisation"),
  OrganisationCreated: object({ organisation: ref("Organisation"), apiKey: ref("ApiKey") }, ["organisation", "apiKey"]),
  ApiKeyResponse: wrap("apiKey", "ApiKey"),
  ProductResponse: wrap("product", "Product"),
  ProductList: object({ products: array(ref("Product")) }, ["products"]),
  BatchPage: object({ batches: array(ref("Batch")), nextCursor: nullable({ type: "string" }) }, [
    "batches",
    "nextCursor",
  ]),
  Me: object(
    {
      admin: { type: "boolean", description: "Whether the key is the platform admin key." },
      organisation: nullable(ref("Organisation")),
      submissionNonce: {
        type: "integer",
        minimum: 0,
        description: "The nonce of the organisation's next Submission (self-custody clients sign it).",
      },
      ledgerNonce: nullable({
        type: "integer",
        minimum: 0,
        description:
          "Self-custody only: the ledger's next `…BySig` nonce of the organisation's account (null while the chain " +
          "cannot be reached).",
      }),
    },
    ["admin", "organisation"],
  ),
  BatchResponse: wrap("batch", "Batch"),
  BatchWithCustody: object({ batch: ref("Batch"), custody: nullable(ref("Custody")) }, ["batch", "custody"]),
  Ledger: object(
    {
      chainId: { type: "string", pattern: "^\\d+$", description: "EIP-155 chain id, in decimal." },
      address: withDescription(ref("Address"), "The TraceLedger contract."),
      deployBlock: { ...blockNumber, description: "The block the contract was deployed in: read its logs from here." },
    },
    ["chainId", "address", "deployBlock"],
  ),
  OpenApiDocument: { type: "object", description: "An OpenAPI 3.1 document." },
};
