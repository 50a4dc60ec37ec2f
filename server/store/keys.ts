/**
 * Every store key is built here. Numbers that order records are zero-padded so that LevelDB's
 * byte order is their numeric order.
 */

const SEQ_WIDTH = 12;
const INDEX_WIDTH = 4;
const BLOCK_WIDTH = 12;

export const pad = (n: number | bigint, width: number): string => n.toString().padStart(width, "0");

export const keys = {
  /** journal: a submission by its sequence number, in acceptance order. */
  submission: (seq: number) => `sub:${pad(seq, SEQ_WIDTH)}`,
  submissionRange: { gte: "sub:", lt: "sub;" },
  /** journal: what a submission's events share (organisation, record time): `SubmissionInfo`. */
  submissionInfo: (seq: number) => `subinfo:${pad(seq, SEQ_WIDTH)}`,
  /** journal: a submission's events as an earlier layout kept them (read, never written). */
  submissionEvents: (seq: number) => `subev:${pad(seq, SEQ_WIDTH)}`,
  /** journal: a submission's sequence number by its digest (its public id). */
  submissionByDigest: (digest: string) => `digest:${digest}`,
  /** journal: the last submission sequence number handed out. */
  lastSubmissionSeq: () => "seq:last",
  /** journal: an organisation's idempotency key. */
  idempotency: (orgId: string, key: string) => `idem:${orgId}:${key}`,
  /** journal: an organisation's last submission nonce (for the EIP-712 Submission nonce). */
  submissionNonce: (orgId: string) => `nonce:${orgId}`,

  /** events: the event that declared an event in error (EPCIS errorDeclaration). */
  declaration: (eventId: string) => `declared:${eventId}`,
  /** journal: a hold the gateway must put on-chain after a non-conformant inspection. */
  pendingHold: (batchId: string, eventId: string) => `hold:${batchId}:${eventId}`,
  pendingHoldRange: { gte: "hold:", lt: "hold;" },
  pendingHoldsOf: (batchId: string) => ({ gte: `hold:${batchId}:`, lt: `hold:${batchId};` }),
  /** certificates: an uploaded certificate document by its SHA-256 (hex, no 0x), and its metadata. */
  certificate: (sha256: string) => `doc:${sha256.replace(/^0x/, "")}`,
  certificateInfo: (sha256: string) => `info:${sha256.replace(/^0x/, "")}`,
  /** certificates: bytes of new documents organisation `orgId` uploaded on `day` (YYYY-MM-DD, CST). */
  certificateQuota: (orgId: string, day: string) => `quota:${orgId}:${day}`,

  /** events: an event by its id; and a batch's events in the order they were accepted. */
  event: (eventId: string) => `evt:${eventId}`,
  /** event bodies (the second database, `Store.eventBodies`): the event at `index` of submission `seq`. */
  eventBody: (seq: number, index: number) => `${pad(seq, SEQ_WIDTH)}:${pad(index, INDEX_WIDTH)}`,
  eventBodiesOf: (seq: number) => ({ gte: `${pad(seq, SEQ_WIDTH)}:`, lt: `${pad(seq, SEQ_WIDTH)};` }),
  batchEvent: (batchId: string, seq: number, index: number) =>
    `be:${batchId}:${pad(seq, SEQ_WIDTH)}:${pad(index, INDEX_WIDTH)}`,
  batchEventRange: (batchId: string) => ({ gte: `be:${batchId}:`, lt: `be:${batchId};` }),

  /** journal: submissions waiting for an anchor, and which submissions each anchor covers. */
  pendingSubmission: (seq: number) => `pending:${pad(seq, SEQ_WIDTH)}`,
  pendingRange: { gte: "pending:", lt: "pending;" },
  anchorPlan: (root: string) => `anchor:${root}`,
  anchorPlanRange: { gte: "anchor:", lt: "anchor;" },
  /** journal: the root of the anchor plan being sent, if any (at most one at a time). */
  anchorInFlight: () => "inflight",

  /** anchors (derived): a submission's proof to its anchor, and an anchor's on-chain facts. */
  submissionAnchor: (seq: number) => `proof:${pad(seq, SEQ_WIDTH)}`,
  anchorOnChain: (root: string) => `onchain:${root}`,
  anchorBySeq: (anchorSeq: number) => `seq:${pad(anchorSeq, SEQ_WIDTH)}`,

  /** batches and their lineage (both directions). */
  batch: (batchId: string) => `batch:${batchId}`,
  child: (parentId: string, childId: string) => `child:${parentId}:${childId}`,
  /**
   * batches (derived): a producer's batches by the block they were registered in (one block's by
   * id). Made of the batch record's own fields, so the migration (producer-index.ts) and the
   * indexer write the same key.
   */
  producerBatch: (orgId: string, block: number, batchId: string) => `by:${orgId}:${pad(block, SEQ_WIDTH)}:${batchId}`,
  producerBatchRange: (orgId: string) => ({ gte: `by:${orgId}:`, lt: `by:${orgId};` }),
  childRange: (parentId: string) => ({ gte: `child:${parentId}:`, lt: `child:${parentId};` }),
  batchState: (batchId: string) => `state:${batchId}`,

  product: (gtin: string) => `product:${gtin}`,
  /** products / batches: off-chain metadata by its hash, stored before the registering transaction. */
  metadata: (metadataHash: string) => `meta:${metadataHash}`,
  /** batches / orgs: the text of a recall, hold or suspension reason by its keccak256 (on-chain). */
  reason: (reasonHash: string) => `reason:${reasonHash}`,
  serials: (batchId: string, root: string) => `serials:${batchId}:${root}`,
  /** batches (source): an issued item serial, its commitment's serial list and Merkle tree chunks. */
  serial: (batchId: string, serial: string) => `item:${batchId}:${serial}`,
  serialList: (batchId: string, root: string) => `itemlist:${batchId}:${root}`,
  serialTreeChunk: (root: string, chunk: number) => `itemtree:${root}:${pad(chunk, INDEX_WIDTH + 2)}`,
  /** scans: an item's scan counter. */
  scan: (batchId: string, serial: string) => `scan:${batchId}:${serial}`,
  serialsRange: (batchId: string) => ({ gte: `serials:${batchId}:`, lt: `serials:${batchId};` }),
  org: (orgId: string) => `org:${orgId}`,
  orgByAccount: (account: string) => `account:${account.toLowerCase()}`,

  /** keys: API-key hashes and encrypted custodial keys. */
  apiKey: (hash: string) => `api:${hash}`,
  orgApiKey: (orgId: string) => `org-api:${orgId}`,
  signingKey: (orgId: string) => `signer:${orgId}`,

  /** txlog: raw transactions in the order they were sent. */
  tx: (seq: number) => pad(seq, SEQ_WIDTH),
  txRange: { gte: "", lt: "~" },

  /** meta: indexer cursor, chain identity. */
  cursor: () => "cursor",
  /** meta: the version of the producer index (`by:`) the store holds; absent before it existed. */
  producerIndexVersion: () => "index:producer",
  chain: () => "chain",
  blockHash: (block: number) => `block:${pad(block, BLOCK_WIDTH)}`,
  blockHashRange: { gte: "block:", lt: "block;" },
  /** meta: what the indexer changed in a block, to roll it back on a reorg. */
  undo: (block: number) => `undo:${pad(block, BLOCK_WIDTH)}`,
  undoRange: { gte: "undo:", lt: "undo;" },
} as const;
