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
import { completeRecords, withBodies, type StoredEventRecord } from "../store/events";
import type { BatchRecord, EventRecord, OrgRecord, SubmissionAnchor, SubmissionInfo } from "../store/records";
import type { Store } from "../store/store";
import { EVIDENCE_FORMAT, type BatchEvidence, type EvidenceBundle, type SubmissionEvidence } from "../verify/bundle";
import { ChainView } from "../verify/chain-view";
import { verifyBundle, type VerificationReport } from "../verify/verify-bundle";
import type { Queries } from "./queries";

/** Most events one bundle carries (the batch's first ones, then its ancestors'). */
export const MAX_EVIDENCE_EVENTS = 10_000;

/** Submissions whose headers a bundle reads at once. */
const SUBMISSIONS_AT_ONCE = 64;

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
    // What a compact record leaves to its submission, from the headers read for the evidence.
    const infos = new Map<number, SubmissionInfo>();
    const events: EvidenceBundle["events"] = [];
    let truncated = false;
    for (const each of [batch, ...ancestors]) {
      const ids = (await store.events.values(keys.batchEventRange(each.batchId)).all()) as string[];
      const room = MAX_EVIDENCE_EVENTS - events.length;
      if (ids.length > room) truncated = true;
      const taken = ids.slice(0, Math.max(room, 0));
      const stored = (await store.events.getMany(taken.map((id) => keys.event(id)))) as (
        StoredEventRecord | undefined
      )[];
      stored.forEach((record, i) => record && (record.eventId ??= taken[i]!));
      const fresh = [
        ...new Set(
          stored.flatMap((record) =>
            record && !submissionBySeq.has(record.submissionSeq) ? [record.submissionSeq] : [],
          ),
        ),
      ];
      // Bodies, and the submissions not met before (each in batched reads), at once.
      const [bodied, read] = await Promise.all([withBodies(store, stored), this.submissionsInSlices(fresh)]);
      fresh.forEach((seq, i) => {
        const { evidence, tree } = read[i]!;
        submissions[evidence.id] = evidence;
        submissionBySeq.set(seq, { digest: evidence.id, tree });
        infos.set(seq, { orgId: evidence.organisation.orgId, acceptedAt: evidence.acceptedAt });
      });
      // Every submission's info is in hand: this reads nothing.
      const records = (await completeRecords(store, taken, bodied, infos)) as (EventRecord | undefined)[];
      for (const record of records) {
        if (!record) continue;
        const submission = submissionBySeq.get(record.submissionSeq)!;
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

  /**
   * `submissions` of `seqs`, a slice at a time: a bundle of 10,000 events may span thousands of
   * submissions, whose headers (~34 KB of text each for 500 events) are not all read at once.
   */
  private async submissionsInSlices(
    seqs: readonly number[],
  ): Promise<{ evidence: SubmissionEvidence; tree: MerkleTree }[]> {
    const read: { evidence: SubmissionEvidence; tree: MerkleTree }[] = [];
    for (let from = 0; from < seqs.length; from += SUBMISSIONS_AT_ONCE) {
      read.push(...(await this.submissions(seqs.slice(from, from + SUBMISSIONS_AT_ONCE))));
    }
    return read;
  }

  /** The evidence of submissions `seqs`, in that order: their headers, anchors and organisations in three batched reads. */
  private async submissions(seqs: readonly number[]): Promise<{ evidence: SubmissionEvidence; tree: MerkleTree }[]> {
    if (seqs.length === 0) return [];
    const { store, queries } = this.deps;
    const [headers, anchors] = await Promise.all([
      queries.headers.getMany(seqs),
      store.anchors.getMany(seqs.map((seq) => keys.submissionAnchor(seq))) as Promise<(SubmissionAnchor | undefined)[]>,
    ]);
    const reads = seqs.map((seq, i) => {
      const read = headers[i];
      if (!read) {
        throw new Error(`the store has lost submission ${seq}, which an indexed event names; restore it from a backup`);
      }
      return read;
    });
    const orgIds = [...new Set(reads.map((read) => read.header.orgId))];
    const orgs = (await store.orgs.getMany(orgIds.map((orgId) => keys.org(orgId)))) as (OrgRecord | undefined)[];
    const orgById = new Map(orgIds.map((orgId, i) => [orgId, orgs[i]]));
    return reads.map(({ header: record, tree }, i) => {
      const org = orgById.get(record.orgId);
      const anchor = anchors[i];
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
      return { evidence, tree };
    });
  }
}
