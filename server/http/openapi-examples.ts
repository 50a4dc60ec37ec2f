/**
 * Examples for the OpenAPI document: a batch of beef-tallow hotpot base (牛油火锅底料) made in
 * 巴南区 from 江津区 Sichuan pepper (花椒) and a tallow lot, inspected and shipped. Ids, hashes,
 * Merkle roots and the signature are computed with the gateway's own functions, so a client can
 * check its hashing against them. Also: one example error body per error code, with its status.
 */
import { SigningKey, computeAddress, id } from "ethers";

import { ledgerDomain, submissionDigest } from "../chain/typed-data";
import { batchIdOf } from "../domain/batch-id";
import { canonicalHash, eventHash } from "../domain/canonical";
import { batchUri } from "../domain/digital-link";
import type { TraceEvent } from "../domain/events";
import { orgIdOf } from "../domain/identifiers";
import { submissionTree } from "../domain/merkle";
import { keys } from "../store/keys";

export const EXAMPLE_GTIN = "06903885010017";
export const EXAMPLE_LOT = "DZ20261120-01";
const PEPPER = { gtin: "06901234500011", lot: "HJ20260905-03" }; // 江津花椒
const TALLOW = { gtin: "06920003000057", lot: "NY20261110-02" }; // 牛油
const PRODUCER_USCC = "91500113203151718G"; // 500113: 巴南区
const SUPPLIER_USCC = "91500116MA5U8Q3X2Q"; // 500116: 江津区
const CARRIER_USCC = "91500112MA60T2Y73H"; // 500112: 渝北区

const PRODUCER_ID = orgIdOf(PRODUCER_USCC);
const BATCH_ID = batchIdOf(EXAMPLE_GTIN, EXAMPLE_LOT);
const PEPPER_ID = batchIdOf(PEPPER.gtin, PEPPER.lot);
const TALLOW_ID = batchIdOf(TALLOW.gtin, TALLOW.lot);
// A made-up custodial key, only to sign the example submission.
const EXAMPLE_KEY = new SigningKey(id("YuTrace OpenAPI example signing key"));
const PRODUCER_ACCOUNT = computeAddress(EXAMPLE_KEY.publicKey);
const EXAMPLE_LEDGER = { chainId: "31337", address: "0x5FbDB2315678afecb367f032d93F642f64180aa3", deployBlock: 1 };
const EXAMPLE_DOMAIN = ledgerDomain(BigInt(EXAMPLE_LEDGER.chainId), EXAMPLE_LEDGER.address);
const placeholder = (label: string) => id(`YuTrace OpenAPI example: ${label}`);

/** The example POST /events body: produce the batch, inspect it, ship it. */
export function exampleSubmission(publicUrl: string): { events: TraceEvent[] } {
  const link = (key: { gtin: string; lot: string }) => batchUri(publicUrl, key);
  const plant = { id: "urn:epc:id:sgln:6903885.00001.0", district: "巴南区", name: "火锅底料二车间 炒制线" } as const;
  return {
    events: [
      {
        type: "TransformationEvent",
        eventTime: "2026-11-20T08:30:00+08:00",
        eventTimeZoneOffset: "+08:00",
        bizStep: "transforming",
        disposition: "active",
        inputQuantityList: [
          { epcClass: link(PEPPER), quantity: 300, uom: "KGM" },
          { epcClass: link(TALLOW), quantity: 4200, uom: "KGM" },
        ],
        outputQuantityList: [{ epcClass: link({ gtin: EXAMPLE_GTIN, lot: EXAMPLE_LOT }), quantity: 12000, uom: "H87" }],
        readPoint: plant,
        bizLocation: { district: "巴南区" },
      },
      {
        type: "ObjectEvent",
        action: "OBSERVE",
        eventTime: "2026-11-21T10:00:00+08:00",
        eventTimeZoneOffset: "+08:00",
        bizStep: "inspecting",
        disposition: "conformant",
        quantityList: [{ epcClass: link({ gtin: EXAMPLE_GTIN, lot: EXAMPLE_LOT }), quantity: 24, uom: "H87" }],
        readPoint: plant,
        certificationInfo: {
          documentHash: "9f2b6c1d4e8a7b3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4",
          issuer: "重庆市食品检验检测机构",
          standard: "Q/YWHG 0001S-2025",
          result: "conformant",
          certificateNumber: "CQJC-2026-SP-112101",
        },
        comment: "出厂检验合格",
      },
      {
        type: "ObjectEvent",
        action: "OBSERVE",
        eventTime: "2026-11-22T14:00:00+08:00",
        eventTimeZoneOffset: "+08:00",
        bizStep: "shipping",
        disposition: "in_transit",
        quantityList: [{ epcClass: link({ gtin: EXAMPLE_GTIN, lot: EXAMPLE_LOT }), quantity: 12000, uom: "H87" }],
        bizLocation: { district: "巴南区", name: "成品仓库" },
        sourceList: [{ type: "owning_party", source: PRODUCER_USCC }],
        destinationList: [{ type: "possessing_party", destination: CARRIER_USCC }],
        sensorElementList: [
          {
            sensorMetadata: { deviceID: "TH-BN-0021" },
            sensorReport: [
              { type: "Temperature", value: 18.5, uom: "CEL" },
              { type: "RelativeHumidity", value: 55, uom: "P1" },
            ],
          },
        ],
        comment: "常温运输，阴凉干燥处存放",
      },
    ],
  };
}

/** Every example of the document, for the gateway at `publicUrl`. */
export function openApiExamples(publicUrl: string) {
  const body = exampleSubmission(publicUrl);
  const eventIds = body.events.map((event) => eventHash(event));
  const tree = submissionTree(eventIds);
  const nonce = 7;
  const submission = { org: PRODUCER_ACCOUNT, root: tree.root, count: eventIds.length, nonce: BigInt(nonce) };
  const digest = submissionDigest(EXAMPLE_DOMAIN, submission);
  const anchor = {
    root: placeholder("anchor root"),
    proof: [placeholder("neighbour submission")],
    anchorSeq: 118,
    block: 20431,
    txHash: placeholder("anchor transaction"),
    blockTime: "2026-11-22T06:01:00.000Z",
  };
  const organisation = {
    orgId: PRODUCER_ID,
    name: "重庆渝味火锅食品有限公司",
    uscc: PRODUCER_USCC,
    district: "巴南区",
    roles: ["producer"],
    account: PRODUCER_ACCOUNT,
    custody: "custodial",
    suspended: false,
  };
  const batchMetadata = {
    gtin: EXAMPLE_GTIN,
    lot: EXAMPLE_LOT,
    quantity: { value: 12000, unit: "H87" },
    productionDate: "2026-11-20",
    expiryDate: "2027-11-19",
    facility: "巴南区界石镇 火锅底料二车间",
    district: "巴南区",
  };
  const batchRecord = (batchId: string, key: { gtin: string; lot: string }, producer: string, block: number) => ({
    batchId,
    gtin: key.gtin,
    lot: key.lot,
    producer,
    status: "active",
    metadataHash: placeholder(`metadata of ${key.lot}`),
    metadata: null,
    parents: [],
    registeredAt: "2026-11-20T00:05:12.000Z",
    block,
    txHash: placeholder(`registration of ${key.lot}`),
    statusHistory: [],
  });
  const batch = {
    ...batchRecord(BATCH_ID, { gtin: EXAMPLE_GTIN, lot: EXAMPLE_LOT }, PRODUCER_ID, 20388),
    metadataHash: canonicalHash(batchMetadata),
    metadata: batchMetadata,
    parents: [PEPPER_ID, TALLOW_ID],
    digitalLink: batchUri(publicUrl, { gtin: EXAMPLE_GTIN, lot: EXAMPLE_LOT }),
  };
  const supplier = orgIdOf(SUPPLIER_USCC);
  const producerSummary = { orgId: PRODUCER_ID, name: organisation.name, district: "巴南区" };
  /** Who holds a lineage batch, and how much was made: all at the producer, in these examples. */
  const held = (depth: number) => ({
    depth,
    custodian: PRODUCER_ID,
    holder: producerSummary,
    inTransitTo: null,
    quantity: { value: 1400, unit: "KGM" },
  });
  const recallChange = {
    status: "recalled",
    previous: "active",
    byOrg: orgIdOf("12500000450411269Q"),
    reasonHash: id("抽检发现过氧化值超标 (GB 2716)"),
    block: 20502,
    txHash: placeholder("recall transaction"),
    at: "2026-11-25T02:40:00.000Z",
  };
  const eventView = {
    eventId: eventIds[2],
    status: "anchored",
    event: body.events[2],
    recordTime: "2026-11-22T06:00:03.512Z",
    organisation: PRODUCER_ID,
    batchIds: [BATCH_ID],
    submission: {
      id: digest,
      seq: 42,
      root: tree.root,
      count: eventIds.length,
      nonce,
      signer: PRODUCER_ACCOUNT,
      signature: EXAMPLE_KEY.sign(digest).serialized,
    },
    proofs: { eventToSubmission: tree.proof(2), submissionToAnchor: anchor.proof },
    anchor: {
      root: anchor.root,
      seq: anchor.anchorSeq,
      block: anchor.block,
      txHash: anchor.txHash,
      blockTime: anchor.blockTime,
    },
    declaredInError: null,
    declares: null,
  };
  const product = {
    gtin: EXAMPLE_GTIN,
    name: { zh: "重庆牛油火锅底料 500克", en: "Chongqing beef-tallow hotpot base, 500 g" },
    category: "seasoning",
    standard: "Q/YWHG 0001S-2025",
    brand: "渝味",
  };
  return {
    ledger: EXAMPLE_LEDGER,
    newOrganisation: { name: organisation.name, uscc: PRODUCER_USCC, district: "巴南区", roles: ["producer"] },
    organisation,
    apiKey: "ytk_9QZxq1f3W0bV7mT2LkR8sYp4nC6uE5aH1jD0gK3oPwI",
    newProduct: product,
    product: {
      gtin: EXAMPLE_GTIN,
      owner: PRODUCER_ID,
      metadataHash: canonicalHash(product),
      metadata: product,
      registeredAt: "2026-11-18T02:14:40.000Z",
      block: 20311,
      txHash: placeholder("product registration"),
    },
    newBatch: { ...batchMetadata, inputs: [PEPPER, TALLOW] },
    batch,
    recalledBatch: { ...batch, status: "recalled", statusHistory: [recallChange] },
    custody: {
      batchId: BATCH_ID,
      custodian: PRODUCER_ID,
      inTransitTo: orgIdOf(CARRIER_USCC),
      lastEventTime: "2026-11-22T14:00:00+08:00",
    },
    recall: { reason: "抽检发现过氧化值超标 (GB 2716)，召回批次 DZ20261120-01" },
    suspension: { reason: "生产许可证被吊销" },
    submissionBody: body,
    accepted: {
      submission: { id: digest, seq: 42, status: "pending", count: eventIds.length, root: tree.root, nonce },
      events: eventIds.map((eventId, index) => ({ index, eventId })),
    },
    eventView,
    eventPage: { events: [eventView], nextCursor: Buffer.from(keys.batchEvent(BATCH_ID, 42, 2)).toString("base64url") },
    submission: {
      id: digest,
      seq: 42,
      status: "anchored",
      organisation: PRODUCER_ID,
      count: eventIds.length,
      root: tree.root,
      acceptedAt: "2026-11-22T06:00:03.512Z",
      eventIds,
      anchor,
    },
    lineage: {
      root: BATCH_ID,
      direction: "up",
      batches: [
        { ...batchRecord(PEPPER_ID, PEPPER, supplier, 19870), digitalLink: batchUri(publicUrl, PEPPER), ...held(1) },
        { ...batchRecord(TALLOW_ID, TALLOW, supplier, 20102), digitalLink: batchUri(publicUrl, TALLOW), ...held(1) },
      ],
      edges: [
        [PEPPER_ID, BATCH_ID],
        [TALLOW_ID, BATCH_ID],
      ],
      truncated: false,
    },
    drill: {
      batchId: PEPPER_ID,
      gtin: PEPPER.gtin,
      lot: PEPPER.lot,
      startedAt: "2026-11-25T03:00:00.000Z",
      tookMs: 3.4,
      affected: {
        batches: 2,
        organisations: 1,
        byStatus: { active: 2, held: 0, recalled: 0 },
        quantities: [{ unit: "KGM", value: 2800 }],
      },
      batches: [
        { ...batchRecord(PEPPER_ID, PEPPER, supplier, 19870), digitalLink: batchUri(publicUrl, PEPPER), ...held(0) },
        { ...batch, ...held(1) },
      ],
      holders: [{ ...producerSummary, batches: [PEPPER_ID, BATCH_ID] }],
      edges: [[PEPPER_ID, BATCH_ID]],
      truncated: false,
    },
    evidence: {
      format: "yutrace-evidence/1",
      generatedAt: "2026-11-25T03:00:00.000Z",
      gateway: publicUrl,
      ledger: EXAMPLE_LEDGER,
      batch: {
        batchId: BATCH_ID,
        gtin: EXAMPLE_GTIN,
        lot: EXAMPLE_LOT,
        digitalLink: batch.digitalLink,
        producer: PRODUCER_ID,
        metadata: batchMetadata,
        parents: [PEPPER_ID, TALLOW_ID],
        registered: { block: batch.block, txHash: batch.txHash },
      },
      ancestors: [],
      submissions: {
        [digest]: {
          id: digest,
          organisation: { orgId: PRODUCER_ID, uscc: PRODUCER_USCC, name: organisation.name },
          account: PRODUCER_ACCOUNT,
          root: tree.root,
          count: eventIds.length,
          nonce,
          signature: eventView.submission.signature,
          acceptedAt: "2026-11-22T06:00:03.512Z",
          anchor: { ...eventView.anchor, proof: anchor.proof },
        },
      },
      events: [
        {
          eventId: eventIds[2],
          batchId: BATCH_ID,
          body: body.events[2],
          recordTime: "2026-11-22T06:00:03.512Z",
          submission: digest,
          proof: tree.proof(2),
        },
      ],
      truncated: false,
    },
    verification: {
      batchId: BATCH_ID,
      gtin: EXAMPLE_GTIN,
      lot: EXAMPLE_LOT,
      digitalLink: batch.digitalLink,
      checkedAt: "2026-11-25T03:00:00.000Z",
      tookMs: 18,
      verdict: "verified",
      chain: { chainId: EXAMPLE_LEDGER.chainId, ledger: EXAMPLE_LEDGER.address, headBlock: 20611 },
      batch: {
        onChain: true,
        status: "active",
        registeredBlock: batch.block,
        metadataMatches: true,
        parentsMatch: true,
      },
      recalledAncestors: [],
      summary: { events: 1, passed: 1, failed: 0, pending: 0 },
      problems: [],
      warnings: [],
      events: [
        {
          eventId: eventIds[2],
          batchId: BATCH_ID,
          bizStep: (body.events[2] as { bizStep: string }).bizStep,
          eventTime: (body.events[2] as { eventTime: string }).eventTime,
          organisation: `${organisation.name} (${PRODUCER_USCC})`,
          declaredInError: null,
          verdict: "passed",
          checks: [
            { name: "hash", ok: true, detail: "the body hashes to the event id" },
            { name: "submission_proof", ok: true, detail: `in submission root ${tree.root}` },
            { name: "signature", ok: true, detail: `signed by ${PRODUCER_ACCOUNT}` },
            { name: "signer_role", ok: true, detail: `${organisation.name} held producer at block ${anchor.block}` },
            { name: "anchored", ok: true, detail: `anchor #${anchor.anchorSeq} in block ${anchor.block}` },
            { name: "batch_on_chain", ok: true, detail: "1 batch(es) registered on-chain" },
          ],
        },
      ],
    },
  };
}

export type OpenApiExamples = ReturnType<typeof openApiExamples>;

export interface ErrorExample {
  status: number;
  message: string;
  details?: unknown;
}

/** Every error code the API answers with: its status and an example body. */
export const ERROR_EXAMPLES: Record<string, ErrorExample> = {
  invalid_request: {
    status: 400,
    message: "the batch is not valid",
    details: [{ path: "gtin", message: "must be a GTIN-14 with a valid check digit" }],
  },
  malformed_json: { status: 400, message: "the request body is not valid JSON" },
  bad_request: { status: 400, message: "bad request" },
  invalid_cursor: { status: 400, message: "this cursor is not for this batch" },
  invalid_submission: {
    status: 400,
    message: "the submission body is not valid",
    details: [{ path: "events", message: "a submission needs at least one event" }],
  },
  invalid_idempotency_key: { status: 400, message: "Idempotency-Key must be 1–200 printable ASCII characters" },
  too_many_events: { status: 400, message: "a submission holds at most 1000 events; this one has 1200" },
  signature_required: {
    status: 400,
    message: "this organisation signs its own submissions: send signature and nonce",
  },
  invalid_uscc: { status: 400, message: '"91500113203151718X" is not a valid 统一社会信用代码' },
  invalid_account: { status: 400, message: "account is not an address" },
  unauthenticated: { status: 401, message: "send an API key: Authorization: Bearer <key>" },
  invalid_api_key: { status: 401, message: "this API key is not valid (wrong, or rotated away)" },
  organisation_suspended: { status: 403, message: "this organisation is suspended" },
  organisation_required: { status: 403, message: "this call is made by an organisation's key" },
  admin_required: { status: 403, message: "this call needs the platform admin key" },
  store_unavailable: { status: 503, message: "the submission could not be written; nothing was stored" },
  cannot_suspend_self: { status: 409, message: "a regulator cannot suspend its own organisation" },
  role_not_allowed: { status: 403, message: "this call needs the role producer" },
  not_product_owner: { status: 403, message: `product ${EXAMPLE_GTIN} belongs to another organisation` },
  not_batch_producer: { status: 403, message: "only a regulator or the batch's producer may recall it" },
  not_an_organisation: { status: 403, message: "the ledger reverted with TraceLedgerNotAnOrganisation(…)" },
  not_found: { status: 404, message: "no route GET /api/v1/batch" },
  unknown_organisation: { status: 404, message: `no organisation ${PRODUCER_ID}` },
  unknown_product: { status: 404, message: `no product with GTIN ${EXAMPLE_GTIN}` },
  unknown_batch: { status: 404, message: `no batch ${BATCH_ID}` },
  unknown_anchor: { status: 404, message: "the ledger reverted with TraceLedgerUnknownAnchor(…)" },
  unknown_event: { status: 404, message: `no event ${placeholder("event")}` },
  unknown_submission: { status: 404, message: `no submission ${placeholder("submission")}` },
  organisation_already_suspended: { status: 409, message: "this organisation is suspended already" },
  organisation_not_suspended: { status: 409, message: "this organisation is not suspended" },
  organisation_exists: { status: 409, message: `an organisation with 统一社会信用代码 ${PRODUCER_USCC} exists` },
  account_in_use: { status: 409, message: "the ledger reverted with TraceLedgerAccountInUse(…)" },
  product_exists: { status: 409, message: `product ${EXAMPLE_GTIN} is registered already` },
  batch_exists: { status: 409, message: `batch ${EXAMPLE_GTIN}/${EXAMPLE_LOT} is registered already` },
  serials_exist: { status: 409, message: "the ledger reverted with TraceLedgerSerialsExist(…)" },
  anchor_exists: { status: 409, message: "the ledger reverted with TraceLedgerAnchorExists(…)" },
  self_custody: { status: 409, message: "this organisation keeps its own key; it rotates it itself" },
  duplicate_event: {
    status: 409,
    message: "1 event(s) were recorded before",
    details: { duplicates: [{ index: 0, eventId: placeholder("duplicate event") }] },
  },
  idempotency_key_reused: {
    status: 409,
    message: "this Idempotency-Key was used before with a different request body",
    details: { submissionId: placeholder("earlier submission") },
  },
  wrong_nonce: {
    status: 409,
    message: "the next submission nonce of this organisation is 7",
    details: { expected: 7, got: 6 },
  },
  body_too_large: { status: 413, message: "the request body is too large" },
  unsupported_encoding: { status: 415, message: 'unsupported content encoding "br"' },
  events_rejected: {
    status: 422,
    message: "2 problem(s) in the submission; nothing was stored",
    details: {
      problems: [
        { index: 0, code: "invalid_event", path: "eventTime", message: "is not a real date-time" },
        {
          index: 2,
          code: "batch_recalled",
          message: `batch ${EXAMPLE_GTIN}/${EXAMPLE_LOT} is recalled`,
        },
      ],
    },
  },
  invalid_signature: { status: 422, message: "the signature is not from this organisation's account" },
  signature_expired: { status: 422, message: "the authorization's deadline has passed; sign it again" },
  unexpected_authorization: {
    status: 400,
    message: "the gateway signs this organisation's requests with the key it keeps; send no authorization",
  },
  ledger_rejected: {
    status: 422,
    message: "the ledger reverted with Error(…)",
    details: { ledgerError: "Error", args: ["…"] },
  },
  input_not_active: {
    status: 422,
    message: "the ledger reverted with TraceLedgerParentNotActive(0x6b1e…639a, 3)",
    details: { ledgerError: "TraceLedgerParentNotActive", args: ["0x6b1e…639a", "3"] },
  },
  too_many_inputs: {
    status: 400,
    message: "the ledger reverted with TraceLedgerTooManyParents(33, 32)",
    details: { ledgerError: "TraceLedgerTooManyParents", args: ["33", "32"] },
  },
  duplicate_input: {
    status: 400,
    message: "the ledger reverted with TraceLedgerDuplicateParent(0x6b1e…639a)",
    details: { ledgerError: "TraceLedgerDuplicateParent", args: ["0x6b1e…639a"] },
  },
  invalid_gtin: {
    status: 400,
    message: "the ledger reverted with TraceLedgerInvalidGtin(6903885010018)",
    details: { ledgerError: "TraceLedgerInvalidGtin", args: ["6903885010018"] },
  },
  invalid_lot: {
    status: 400,
    message: "the ledger reverted with TraceLedgerInvalidLot(DZ 01)",
    details: { ledgerError: "TraceLedgerInvalidLot", args: ["DZ 01"] },
  },
  batch_recalled: {
    status: 409,
    message: "the ledger reverted with TraceLedgerBatchRecalled(0x6b1e…639a)",
    details: { ledgerError: "TraceLedgerBatchRecalled", args: ["0x6b1e…639a"] },
  },
  invalid_status_transition: {
    status: 409,
    message: "the ledger reverted with TraceLedgerInvalidStatusTransition(0x6b1e…639a, 1, 1)",
    details: { ledgerError: "TraceLedgerInvalidStatusTransition", args: ["0x6b1e…639a", "1", "1"] },
  },
  no_serials: { status: 409, message: "no serials have been issued for this batch; issue them first" },
  invalid_label_options: {
    status: 400,
    message: "columns must be an integer from 1 to 8",
    details: [{ path: "columns", value: "12", message: "columns must be an integer from 1 to 8" }],
  },
  too_deeply_nested: { status: 400, message: "the request body nests deeper than 32 levels" },
  rate_limited: { status: 429, message: "too many writes with this key; slow down" },
  internal_error: { status: 500, message: "something went wrong on our side; it has been logged" },
  chain_unavailable: { status: 503, message: "the ledger chain cannot be reached; try again shortly" },
  ledger_paused: {
    status: 503,
    message: "the ledger reverted with EnforcedPause()",
    details: { ledgerError: "EnforcedPause", args: [] },
  },
};
