/**
 * Builds a batch's evidence bundle from the store (server/verify/bundle.ts), and the gateway's own
 * verification report: the bundle checked against the chain by the same code the independent
 * verifier runs. What the store holds is evidence to check, never the answer: a tampered event,
 * proof or signature in the store fails its checks.
 */
import type { Provider } from "ethers";

import { ChainUnavailableError } from "../chain/errors";

import { batchUri } from "../domain/digital-link";
import type { MerkleTree } from "../domain/merkle";
import { keys } from "../store/keys";
import { readEvents } from "../store/events";
import type { BatchRecord, OrgRecord, SubmissionAnchor } from "../store/records";
import type { Store } from "../store/store";
import { EVIDENCE_FORMAT, type BatchEvidence, type EvidenceBundle, type SubmissionEvidence } from "../verify/bundle";
import { ChainView } from "../verify/chain-view";
import { verifyBundle, type VerificationReport } from "../verify/verify-bundle";
import type { Queries } from "./queries";

/** Most events one bundle carries (the batch's first ones, then its ancestors'). */
export const MAX_EVIDENCE_EVENTS = 10_000;

export interface EvidenceDeps {
  store: Store;
  queries: Queries;
  publicUrl: string;
  ledger: { chainId: string; address: string; deployBlock: number };
  provider: Provider;
}

export class EvidenceService {
  /** Chain facts that cannot change (roles at past blocks, anchors once found), kept across reports. */
  private readonly settled = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: EvidenceDeps) {}

  async bundle(batchId: string, options: { ancestors?: boolean } = {}): Promise<EvidenceBundle> {
    const { store, queries, publicUrl } = this.deps;
    const batch = await queries.batch(batchId);
    const ancestors = options.ancestors ? ((await queries.lineage(batchId, "up")).batches as BatchRecord[]) : [];
    const submissions: Record<string, SubmissionEvidence> = {};
    const submissionBySeq = new Map<number, { digest: string; tree: MerkleTree }>();
    const events: EvidenceBundle["events"] = [];
    let truncated = false;
    for (const each of [batch, ...ancestors]) {
      const ids = (await store.events.values(keys.batchEventRange(each.batchId)).all()) as string[];
      const room = MAX_EVIDENCE_EVENTS - events.length;
      if (ids.length > room) truncated = true;
      const records = await readEvents(store, ids.slice(0, Math.max(room, 0)));
      for (const record of records) {
        if (!record) continue;
        let submission = submissionBySeq.get(record.submissionSeq);
        if (submission === undefined) {
          const { evidence, tree } = await this.submission(record.submissionSeq);
          submission = { digest: evidence.id, tree };
          submissions[evidence.id] = evidence;
          submissionBySeq.set(record.submissionSeq, submission);
        }
        events.push({
          eventId: record.eventId,
          batchId: each.batchId,
          body: record.body,
          recordTime: record.recordTime,
          submission: submission.digest,
          proof: submission.tree.proof(record.index),
        });
      }
    }
    const evidenceOf = (record: BatchRecord): BatchEvidence => ({
      batchId: record.batchId,
      gtin: record.gtin,
      lot: record.lot,
      digitalLink: batchUri(publicUrl, record),
      producer: record.producer,
      metadata: record.metadata,
      parents: record.parents,
      registered: { block: record.block, txHash: record.txHash },
    });
    return {
      format: EVIDENCE_FORMAT,
      generatedAt: new Date().toISOString(),
      gateway: publicUrl,
      ledger: this.deps.ledger,
      batch: evidenceOf(batch),
      ancestors: ancestors.map(evidenceOf),
      submissions,
      events,
      truncated,
    };
  }

  /** The batch's evidence checked against the gateway's chain. */
  async verify(batchId: string, options: { ancestors?: boolean } = {}): Promise<VerificationReport> {
    const started = performance.now();
    const bundle = await this.bundle(batchId, options);
    let report: VerificationReport;
    try {
      report = await verifyBundle(bundle, new ChainView(this.deps.provider, this.deps.ledger.address, this.settled));
    } catch (error) {
      // The evidence is in hand; only reading the chain failed: 503, try again.
      throw new ChainUnavailableError(`cannot read the ledger chain to verify: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return { ...report, tookMs: Math.round(performance.now() - started) };
  }

  private async submission(seq: number): Promise<{ evidence: SubmissionEvidence; tree: MerkleTree }> {
    const { store, queries } = this.deps;
    const [read] = await queries.headers.getMany([seq]);
    if (!read) throw new Error(`the journal has no submission ${seq}, which an indexed event names`);
    const record = read.header;
    const org = (await store.orgs.get(keys.org(record.orgId))) as OrgRecord | undefined;
    const anchor = (await store.anchors.get(keys.submissionAnchor(seq))) as SubmissionAnchor | undefined;
    const evidence: SubmissionEvidence = {
      id: record.digest,
      organisation: { orgId: record.orgId, uscc: org?.uscc ?? "", name: org?.name ?? "" },
      account: record.account,
      root: record.root,
      count: record.count,
      nonce: record.nonce,
      signature: record.signature,
      acceptedAt: record.acceptedAt,
      anchor: anchor
        ? {
            root: anchor.root,
            proof: anchor.proof,
            seq: anchor.anchorSeq,
            block: anchor.block,
            txHash: anchor.txHash,
            blockTime: anchor.blockTime,
          }
        : null,
    };
    return { evidence, tree: read.tree };
  }
}
