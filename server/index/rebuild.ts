/**
 * Rebuilding derived records from the two sources of truth — the chain (organisations, products,
 * batches, lineage, recalls, serial commitments, anchors) and the journal (submissions and their
 * event records; from them each batch's events, declarations, custody, and each submission's proof
 * to its anchor). Journal, event records, keys, txlog and scan counters are never touched, but for
 * each submission's info (`subinfo:`, a copy of two fields of its header), written again, and the
 * event records of journals from before the records were the events' copy, made from them.
 *
 * - `rebuildIndex` (`npm run reindex`) rebuilds all of them, after damage, a restore or a change
 *   to what is derived.
 * - `refreshAfterReplay` (start-up, after the txlog was replayed onto a new local chain) re-derives
 *   only what came from the chain. A replay reproduces the same blocks, transactions, addresses and
 *   logs; only block hashes and times are new. The records derived from the journal (events, batch
 *   event lists, custody, declarations) hold none of those, so they stay; what changes is the
 *   chain-derived index and the anchor proofs, which carry their anchor's block time.
 */
import type { Provider } from "ethers";

import { merkleTree } from "../domain/merkle";
import { eventRecords, eventsOf, indexSubmission, putSubmissionInfo } from "../services/ingest";
import { keys } from "../store/keys";
import type { AnchorOnChain, AnchorRecord, ChainIdentity, SubmissionAnchor, SubmissionHeader } from "../store/records";
import { Store, type Operation } from "../store/store";
import { rangeOf } from "./chain-records";
import { reindexChain } from "./indexer";

export interface RebuildProgress {
  stage: "chain" | "events" | "anchors";
  done: number;
  total: number | null;
}

type OnProgress = (progress: RebuildProgress) => void;

/** Operations per LevelDB batch while rebuilding (about 20 MB). */
const WRITE_CHUNK = 20_000;

/** Rebuilds the whole index; returns how many submissions and anchors it went through. */
export async function rebuildIndex(
  store: Store,
  provider: Provider,
  identity: ChainIdentity,
  onProgress: OnProgress = () => undefined,
): Promise<{ submissions: number; anchors: number }> {
  // Nothing is cleared if an event the index needs is missing: better an old index than none.
  for await (const value of store.journal.values(keys.submissionRange))
    await eventsOf(store, value as SubmissionHeader);
  await rebuildChainRecords(store, provider, identity, onProgress);

  // Cleared in LevelDB itself: a million events' keys deleted one by one from JavaScript took
  // longer than writing them again. The event records (`evt:`) are not index but the journal's own
  // copy of each event, written in the submission's synced batch.
  await store.events.clear(rangeOf(keys.batchEvent("0x", 0, 0)));
  await store.events.clear(rangeOf(keys.declaration("0x")));
  await store.batches.clear(rangeOf(keys.batchState("0x")));
  await store.anchors.clear(rangeOf(keys.submissionAnchor(0)));

  let submissions = 0;
  const writer = new PipelinedWriter(store);
  const digests = new Map<number, string>();
  for await (const value of store.journal.values(keys.submissionRange)) {
    const header = value as SubmissionHeader & { events?: unknown[] };
    const legacy =
      header.events !== undefined || (await store.journal.get(keys.submissionEvents(header.seq))) !== undefined;
    const record = { ...header, events: await eventsOf(store, header) };
    digests.set(record.seq, record.digest);
    // Journals from before the event records were the events' copy keep them themselves: the
    // event records are made from those.
    // Each submission's info (organisation, record time) is a copy of its header's: written again.
    await writer.add([
      ...(legacy ? eventRecords(store, record) : [putSubmissionInfo(store, header)]),
      ...indexSubmission(store, record),
    ]);
    if (++submissions % 1000 === 0) onProgress({ stage: "events", done: submissions, total: null });
  }
  await writer.flush();
  onProgress({ stage: "events", done: submissions, total: submissions });

  const anchors = await rebuildAnchorProofs(store, digests, onProgress);
  return { submissions, anchors };
}

/**
 * After a replay of the txlog onto a new local chain: rebuilds the chain-derived records and the
 * anchor proofs, and keeps every record derived from the journal's events (see the file comment).
 * Its cost follows the number of blocks and submissions, not of events. Returns how many
 * submissions and anchors it went through.
 */
export async function refreshAfterReplay(
  store: Store,
  provider: Provider,
  identity: ChainIdentity,
  onProgress: OnProgress = () => undefined,
): Promise<{ submissions: number; anchors: number }> {
  await rebuildChainRecords(store, provider, identity, onProgress);
  await store.anchors.clear(rangeOf(keys.submissionAnchor(0)));
  // Each submission's digest from the journal's digest → seq index (one small record a submission).
  const digests = new Map<number, string>();
  const byDigest = rangeOf(keys.submissionByDigest("0x"));
  for await (const [key, seq] of store.journal.iterator(byDigest) as AsyncIterable<[string, number]>) {
    digests.set(seq, key.slice(byDigest.gte.length));
  }
  const anchors = await rebuildAnchorProofs(store, digests, onProgress);
  return { submissions: digests.size, anchors };
}

async function rebuildChainRecords(
  store: Store,
  provider: Provider,
  identity: ChainIdentity,
  onProgress: OnProgress,
): Promise<void> {
  await reindexChain(store, provider, { ledgerAddress: identity.ledger, deployBlock: identity.deployBlock }, (p) =>
    onProgress({ stage: "chain", done: p.block, total: p.head }),
  );
}

/**
 * Every anchored submission's proof to its anchor root, from the journal's anchor plans and the
 * submissions' digests (`digests`: seq → digest). The chain's own facts win: after a replay the
 * block times are new. Returns how many anchors it went through.
 */
async function rebuildAnchorProofs(
  store: Store,
  digests: Map<number, string>,
  onProgress: OnProgress,
): Promise<number> {
  let anchors = 0;
  const writer = new PipelinedWriter(store);
  for await (const value of store.journal.values(keys.anchorPlanRange)) {
    const plan = value as AnchorRecord;
    if (plan.status !== "anchored") continue;
    const tree = merkleTree(plan.submissionSeqs.map((seq) => digests.get(seq)!));
    const onChain = (await store.anchors.get(keys.anchorOnChain(plan.root))) as AnchorOnChain | undefined;
    await writer.add(
      plan.submissionSeqs.map((seq, index) => {
        const proof: SubmissionAnchor = {
          root: plan.root,
          proof: tree.proof(index),
          anchorSeq: onChain?.seq ?? plan.seq!,
          block: onChain?.block ?? plan.block!,
          txHash: onChain?.txHash ?? plan.txHash!,
          blockTime: onChain?.blockTime ?? plan.blockTime!,
        };
        return Store.put(store.anchors, keys.submissionAnchor(seq), proof);
      }),
    );
    anchors++;
  }
  await writer.flush({ sync: true });
  onProgress({ stage: "anchors", done: anchors, total: anchors });
  return anchors;
}

/**
 * Writes operations in large batches while the next ones are being built: LevelDB writes a batch
 * on its own thread, so one batch in flight overlaps the JavaScript work of the next.
 */
class PipelinedWriter {
  private ops: Operation[] = [];
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly store: Store) {}

  async add(operations: Operation[]): Promise<void> {
    for (const op of operations) this.ops.push(op);
    if (this.ops.length < WRITE_CHUNK) return;
    await this.inFlight;
    this.inFlight = this.store.write(this.ops);
    // Its failure is thrown by the next add() or flush(), not reported as unhandled meanwhile.
    this.inFlight.catch(() => undefined);
    this.ops = [];
  }

  async flush(options: { sync?: boolean } = {}): Promise<void> {
    await this.inFlight;
    await this.store.write(this.ops, options);
    this.ops = [];
  }
}
