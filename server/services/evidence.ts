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
import { completeRecords, readRecords, submissionInfoOf, withBodies } from "../store/events";
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
    // Each submission's digest once its evidence is in; its tree is used for a slice and let go
    // (a bundle of 10,000 events may span thousands of submissions, 32 KB of tree each).
    const digestBySeq = new Map<number, string>();
    // What a compact record leaves to its submission, from the headers read for the evidence.
    const infos = new Map<number, SubmissionInfo>();
    const events: EvidenceBundle["events"] = [];
    let truncated = false;
    for (const each of [batch, ...ancestors]) {
      const ids = (await store.events.values(keys.batchEventRange(each.batchId)).all()) as string[];
      const room = MAX_EVIDENCE_EVENTS - events.length;
      if (ids.length > room) truncated = true;
      const taken = ids.slice(0, Math.max(room, 0));
      const stored = await readRecords(store, taken);
      // Where each submission's events are among `stored`, submissions in the order first met.
      const positions = new Map<number, number[]>();
      stored.forEach((record, i) => {
        if (!record) return;
        let at = positions.get(record.submissionSeq);
        if (!at) positions.set(record.submissionSeq, (at = []));
        at.push(i);
      });
      const seqs = [...positions.keys()];
      const proofs: string[][] = [];
      // The bodies, and meanwhile the submissions a slice at a time: their evidence when not met
      // before, and their events' proofs.
      const [bodied] = await Promise.all([
        withBodies(store, stored),
        (async () => {
          for (let from = 0; from < seqs.length; from += SUBMISSIONS_AT_ONCE) {
            const slice = seqs.slice(from, from + SUBMISSIONS_AT_ONCE);
            const read = await this.submissions(slice, (seq) => !digestBySeq.has(seq));
            slice.forEach((seq, i) => {
              const { evidence, info, tree } = read[i]!;
              if (evidence) {
                submissions[evidence.id] = evidence;
                digestBySeq.set(seq, evidence.id);
                infos.set(seq, info);
              }
              for (const at of positions.get(seq)!) proofs[at] = tree.proof(stored[at]!.index);
            });
          }
        })(),
      ]);
      // Every submission's info is in hand: this reads nothing.
      const records = (await completeRecords(store, taken, bodied, infos)) as (EventRecord | undefined)[];
      records.forEach((record, i) => {
        if (!record) return;
        events.push({
          eventId: record.eventId,
          batchId: each.batchId,
          body: record.body,
          recordTime: record.recordTime,
          submission: digestBySeq.get(record.submissionSeq)!,
          proof: proofs[i]!,
        });
      });
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
   * The trees and infos of submissions `seqs`, in that order, and the evidence of those `wanted`
   * (headers, then their anchors and organisations: batched reads); null for the others.
   */
  private async submissions(
    seqs: readonly number[],
    wanted: (seq: number) => boolean,
  ): Promise<{ evidence: SubmissionEvidence | null; info: SubmissionInfo; tree: MerkleTree }[]> {
    if (seqs.length === 0) return [];
    const { store, queries } = this.deps;
    const needed = seqs.filter(wanted);
    const [headers, anchorList] = await Promise.all([
      queries.headers.getMany(seqs),
      store.anchors.getMany(needed.map((seq) => keys.submissionAnchor(seq))) as Promise<
        (SubmissionAnchor | undefined)[]
      >,
    ]);
    const anchors = new Map(needed.map((seq, i) => [seq, anchorList[i]]));
    const reads = seqs.map((seq, i) => {
      const read = headers[i];
      if (!read) {
        throw new Error(`the store has lost submission ${seq}, which an indexed event names; restore it from a backup`);
      }
      return read;
    });
    const orgIds = [...new Set(reads.filter((_, i) => anchors.has(seqs[i]!)).map((read) => read.header.orgId))];
    const orgs = (await store.orgs.getMany(orgIds.map((orgId) => keys.org(orgId)))) as (OrgRecord | undefined)[];
    const orgById = new Map(orgIds.map((orgId, i) => [orgId, orgs[i]]));
    return reads.map(({ header: record, tree }, i) => {
      const info = submissionInfoOf(record);
      if (!anchors.has(seqs[i]!)) return { evidence: null, info, tree };
      const org = orgById.get(record.orgId);
      const anchor = anchors.get(seqs[i]!);
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
      return { evidence, info, tree };
    });
  }
}
