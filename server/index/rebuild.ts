/**
 * `npm run reindex`: rebuilds every derived record from the two sources of truth — the chain
 * (organisations, products, batches, lineage, recalls, serial commitments, anchors) and the
 * journal (events, their batch index, custody, and each submission's proof to its anchor).
 * Journal, keys, txlog and scan counters are never touched.
 */
import type { Provider } from "ethers";

import { merkleTree } from "../domain/merkle";
import { indexSubmission } from "../services/ingest";
import { keys } from "../store/keys";
import type { AnchorOnChain, AnchorRecord, ChainIdentity, SubmissionAnchor, SubmissionRecord } from "../store/records";
import { Store, type Operation } from "../store/store";
import { deleteRange, rangeOf } from "./chain-records";
import { reindexChain } from "./indexer";

export interface RebuildProgress {
  stage: "chain" | "events" | "anchors";
  done: number;
  total: number | null;
}

/** Rebuilds the index; returns how many submissions and anchors it went through. */
export async function rebuildIndex(
  store: Store,
  provider: Provider,
  identity: ChainIdentity,
  onProgress: (progress: RebuildProgress) => void = () => undefined,
): Promise<{ submissions: number; anchors: number }> {
  await reindexChain(store, provider, { ledgerAddress: identity.ledger, deployBlock: identity.deployBlock }, (p) =>
    onProgress({ stage: "chain", done: p.block, total: p.head }),
  );

  await deleteRange(store, store.events, { gte: "", lt: "\uffff" });
  await deleteRange(store, store.batches, rangeOf(keys.batchState("0x")));
  await deleteRange(store, store.anchors, rangeOf(keys.submissionAnchor(0)));

  let submissions = 0;
  let ops: Operation[] = [];
  const digests = new Map<number, string>();
  for await (const value of store.journal.values(keys.submissionRange)) {
    const record = value as SubmissionRecord;
    digests.set(record.seq, record.digest);
    ops.push(...indexSubmission(store, record));
    if (ops.length > 5000) {
      await store.write(ops);
      ops = [];
    }
    if (++submissions % 1000 === 0) onProgress({ stage: "events", done: submissions, total: null });
  }
  await store.write(ops);
  onProgress({ stage: "events", done: submissions, total: submissions });

  let anchors = 0;
  ops = [];
  for await (const value of store.journal.values(keys.anchorPlanRange)) {
    const plan = value as AnchorRecord;
    if (plan.status !== "anchored") continue;
    const tree = merkleTree(plan.submissionSeqs.map((seq) => digests.get(seq)!));
    // The chain's own facts win: after a replay the block times are new.
    const onChain = (await store.anchors.get(keys.anchorOnChain(plan.root))) as AnchorOnChain | undefined;
    plan.submissionSeqs.forEach((seq, index) => {
      const proof: SubmissionAnchor = {
        root: plan.root,
        proof: tree.proof(index),
        anchorSeq: onChain?.seq ?? plan.seq!,
        block: onChain?.block ?? plan.block!,
        txHash: onChain?.txHash ?? plan.txHash!,
        blockTime: onChain?.blockTime ?? plan.blockTime!,
      };
      ops.push(Store.put(store.anchors, keys.submissionAnchor(seq), proof));
    });
    if (ops.length > 5000) {
      await store.write(ops);
      ops = [];
    }
    anchors++;
  }
  await store.write(ops, { sync: true });
  onProgress({ stage: "anchors", done: anchors, total: anchors });
  return { submissions, anchors };
}
