/**
 * The evidence bundle (DESIGN §3, "Evidence for an event"): everything needed to check a batch's
 * history against the chain without trusting the gateway — each event's body, its proof to its
 * submission's root, the submission's signature and fields, the submission's proof to an anchored
 * root, and where the ledger is. The gateway serves it at `GET /api/v1/batches/{id}/evidence`; the
 * verifier (`verifyBundle`, `npm run verify`) checks it.
 */

export const EVIDENCE_FORMAT = "yutrace-evidence/1";

export interface BatchEvidence {
  batchId: string;
  gtin: string;
  lot: string;
  digitalLink: string;
  /** The producing organisation's id (keccak256 of its 统一社会信用代码). */
  producer: string;
  /** Off-chain batch metadata; its canonical hash is the batch's on-chain `metadataHash`. */
  metadata: unknown;
  /** Input batches, as the gateway indexed them (the verifier compares them with the chain's). */
  parents: string[];
  registered: { block: number; txHash: string };
}

export interface SubmissionEvidence {
  /** The EIP-712 Submission digest the gateway computed (the verifier computes its own). */
  id: string;
  organisation: { orgId: string; uscc: string; name: string };
  /** The account that signed the submission. */
  account: string;
  root: string;
  count: number;
  nonce: number;
  signature: string;
  acceptedAt: string;
  /** How the submission reaches an anchored root; null while it waits for the next anchor. */
  anchor: { root: string; proof: string[]; seq: number; block: number; txHash: string; blockTime: string } | null;
}

export interface EventEvidence {
  eventId: string;
  /** The batch of this bundle the event is listed under (the bundle's batch or an ancestor). */
  batchId: string;
  body: unknown;
  recordTime: string;
  /** The submission's id (key of `submissions`). */
  submission: string;
  /** Proof from the event's hash to the submission's root. */
  proof: string[];
}

export interface EvidenceBundle {
  format: typeof EVIDENCE_FORMAT;
  generatedAt: string;
  gateway: string;
  ledger: { chainId: string; address: string; deployBlock: number };
  batch: BatchEvidence;
  /** The batches it was made from, transitively, when asked for (`?ancestors=true`). */
  ancestors: BatchEvidence[];
  submissions: Record<string, SubmissionEvidence>;
  events: EventEvidence[];
  /** Set when the batch has more events than one bundle carries; the rest are not in it. */
  truncated: boolean;
}
