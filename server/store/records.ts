/**
 * The shapes of what the store holds, one interface per record kind. Hex strings are 0x-prefixed
 * lower-case; times are ISO 8601 strings; block numbers are plain numbers.
 */

export const PARTICIPANT_ROLES = ["regulator", "producer", "inspector", "logistics", "retailer"] as const;
export type RoleName = (typeof PARTICIPANT_ROLES)[number];

export type BatchStatusName = "active" | "held" | "recalled";

/** orgs: `org:<orgId>` (off-chain profile + on-chain facts the indexer keeps current). */
export interface OrgRecord {
  orgId: string;
  name: string;
  uscc: string;
  district: string;
  roles: RoleName[];
  /** The account that signs for the organisation now (custodial or the organisation's own key). */
  account: string;
  custody: "custodial" | "self";
  suspended: boolean;
  createdAt: string;
}

/** keys: `signer:<orgId>`: a custodial private key, AES-256-GCM encrypted with the configured key. */
export interface SigningKeyRecord {
  orgId: string;
  account: string;
  /** base64 of iv (12 bytes) ‖ ciphertext ‖ auth tag (16 bytes). */
  sealed: string;
  createdAt: string;
}

/** keys: `api:<sha256 of the API key>`. The key itself is shown once and never stored. */
export interface ApiKeyRecord {
  hash: string;
  /** The organisation the key acts for, or "admin" for the platform operator. */
  orgId: string;
  createdAt: string;
}

/** products: `product:<gtin>`. On-chain facts from the indexer; names etc. from registration. */
export interface ProductRecord {
  gtin: string;
  owner: string;
  metadataHash: string;
  metadata: ProductMetadata | null;
  registeredAt: string;
  block: number;
  txHash: string;
}

export interface ProductMetadata {
  gtin: string;
  name: { zh: string; en?: string };
  category: string;
  /** 执行标准, e.g. "GB/T 23183" or a 团体标准 / 企业标准 code. */
  standard: string;
  brand?: string;
}

/** batches: `batch:<batchId>`. */
export interface BatchRecord {
  batchId: string;
  gtin: string;
  lot: string;
  producer: string;
  status: BatchStatusName;
  metadataHash: string;
  metadata: BatchMetadata | null;
  parents: string[];
  registeredAt: string;
  block: number;
  txHash: string;
  statusHistory: StatusChange[];
}

export interface BatchMetadata {
  gtin: string;
  lot: string;
  quantity: { value: number; unit: string };
  productionDate: string;
  expiryDate?: string;
  facility?: string;
  district?: string;
}

export interface StatusChange {
  status: BatchStatusName;
  previous: BatchStatusName;
  byOrg: string;
  reasonHash: string;
  block: number;
  txHash: string;
  at: string;
}

/** batches: `state:<batchId>`: custody as recorded by accepted events (off-chain). */
export interface BatchState {
  batchId: string;
  /** Organisation holding the batch now. */
  custodian: string;
  /** Set by a shipment, cleared by its receipt: only this organisation may receive. */
  inTransitTo: string | null;
  lastEventTime: string | null;
}

/**
 * An accepted submission, written with sync before the 202: its header (everything but `events`)
 * at journal `sub:<seq>`, its info (`subinfo:<seq>`: organisation and record time, what its events
 * share) and each event as its record (`evt:<eventId>`, events sublevel) in the same batch.
 * Journals written before kept the events in the header or at `subev:<seq>`; `readSubmission`
 * reads every form.
 */
export interface SubmissionRecord {
  seq: number;
  /** The EIP-712 Submission digest: the submission's id and its leaf in the anchor tree. */
  digest: string;
  orgId: string;
  account: string;
  nonce: number;
  root: string;
  count: number;
  signature: string;
  signedBy: "custodial" | "client";
  eventIds: string[];
  /**
   * The accepted events, canonical form, in order (their event records). With the header, the
   * source of truth. While ingest accepts a submission a worker prepared, its record in memory holds
   * the events' rule views (`RuleEvent`) here; the events are written from their canonical JSON.
   */
  events: unknown[];
  acceptedAt: string;
  idempotencyKey: string | null;
  /** SHA-256 of the canonical request body, kept when it came with an Idempotency-Key. */
  requestHash: string | null;
  /** Custody changes the submission made, applied in order (rebuilds `state:` records). */
  stateChanges: BatchState[];
}

/**
 * journal `subinfo:<seq>`: what every event of a submission shares, read with the events' records
 * (the header, with its event ids, is ~115 bytes an event; this is one small record a submission).
 * A copy of the header's `orgId` and `acceptedAt`: read from the header when missing, and written
 * again by `npm run reindex`.
 */
export interface SubmissionInfo {
  orgId: string;
  acceptedAt: string;
}

/** journal `sub:<seq>`: a submission without its events. */
export type SubmissionHeader = Omit<SubmissionRecord, "events">;

/**
 * An event as read (`readEvents`, server/store/events.ts). Its record `evt:<eventId>` (events
 * sublevel, written with its submission's header) keeps only where it is (submission and position)
 * and the batches it names; the id is the key, the organisation and record time are the submission's
 * (`SubmissionInfo`), and the body is in the event-body database (`Store.eventBodies`). Records
 * written before that layout hold those fields, and before the body database the body, themselves.
 */
export interface EventRecord {
  eventId: string;
  submissionSeq: number;
  /** Position in the submission: its proof to the submission's root comes from the submission's `eventIds`. */
  index: number;
  orgId: string;
  batchIds: string[];
  /** The event (from the event-body database when read through `readEvents`). */
  body: unknown;
  recordTime: string;
}

/** journal: `hold:<batchId>:<eventId>`: a hold to put on-chain for a non-conformant inspection. */
export interface PendingHold {
  batchId: string;
  /** The organisation whose inspection found the batch non-conformant; it signs the hold. */
  orgId: string;
  eventId: string;
  /** The hold's reason text; its keccak256 goes on-chain. */
  reason: string;
  requestedAt: string;
}

/** certificates: `info:<sha256>`: who uploaded a certificate document, and what it is. */
export interface CertificateInfo {
  sha256: string;
  contentType: string;
  size: number;
  uploadedBy: string;
  uploadedAt: string;
}

/** journal: `anchor:<root>`: which submissions an anchor covers (source of truth for proofs). */
export interface AnchorRecord {
  root: string;
  submissionSeqs: number[];
  leafCount: number;
  eventCount: number;
  status: "sending" | "anchored";
  seq: number | null;
  txHash: string | null;
  block: number | null;
  blockTime: string | null;
  createdAt: string;
  /**
   * When the gateway saw the anchor confirmed, by its own clock. A local chain's block times run
   * ahead of the wall clock when many blocks come within a second, so lags are measured with this.
   */
  anchoredAt?: string;
}

/** anchors: `proof:<submission seq>`: how a submission's digest reaches an anchored root. */
export interface SubmissionAnchor {
  root: string;
  proof: string[];
  anchorSeq: number;
  block: number;
  txHash: string;
  blockTime: string;
}

/** anchors: `onchain:<root>`: an anchor as the indexer saw it on-chain. */
export interface AnchorOnChain {
  root: string;
  seq: number;
  leafCount: number;
  eventCount: number;
  block: number;
  txHash: string;
  blockTime: string;
}

/** batches: `serials:<batchId>:<root>`: an on-chain serial commitment. */
export interface SerialCommitmentRecord {
  batchId: string;
  root: string;
  count: number;
  block: number;
  txHash: string;
}

/** txlog: `<seq>`: a raw signed transaction the gateway sent, in order. */
export interface TxLogRecord {
  seq: number;
  raw: string;
  hash: string;
  from: string;
  nonce: number;
  purpose: string;
  sentAt: string;
}

/** meta: `cursor`: the last block the indexer has fully applied. */
export interface Cursor {
  block: number;
  hash: string;
}

/** meta: `chain`: which chain and ledger this store belongs to. */
export interface ChainIdentity {
  chainId: string;
  ledger: string;
  deployBlock: number;
  genesisHash: string;
}
