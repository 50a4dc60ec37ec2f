/**
 * Anchoring (DESIGN §3 step 3): once per interval, every submission accepted since the last anchor
 * becomes a leaf (its EIP-712 digest) of one anchor tree, whose root goes on-chain in one
 * `anchor` transaction, whatever the load.
 *
 * Never loses or double-anchors a submission: the plan (root + the submissions it covers) is
 * journaled before the transaction is sent, a submission belongs to exactly one plan, and a plan
 * left "sending" by a crash or an outage is resumed — first by asking the chain whether its root is
 * already anchored — before any new plan is made.
 */
import type { Logger } from "pino";

import { LedgerRevertError } from "../chain/errors";
import { merkleTree } from "../domain/merkle";
import { Mutex } from "../util/mutex";
import { keys } from "../store/keys";
import type { AnchorRecord, SubmissionAnchor } from "../store/records";
import { Store, type Operation } from "../store/store";

/** What the anchorer needs from the chain. */
export interface AnchorChain {
  anchor(root: string, leafCount: number, eventCount: number): Promise<AnchoredOnChain>;
  /** The anchor of `root` if it is on-chain already. */
  findAnchor(root: string): Promise<AnchoredOnChain | null>;
}

export interface AnchoredOnChain {
  seq: number;
  txHash: string;
  blockNumber: number;
  blockTime: string;
}

export interface AnchorerOptions {
  store: Store;
  chain: AnchorChain;
  intervalMs: number;
  logger: Logger;
  /** Most submissions in one anchor; the rest wait for the next interval. */
  maxLeaves?: number;
  /** Longest wait between retries while the chain is down. */
  maxBackoffMs?: number;
}

interface Pending {
  digest: string;
  count: number;
}

export class Anchorer {
  private readonly lock = new Mutex();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private failures = 0;
  lastError: string | null = null;
  lastAnchoredAt: string | null = null;

  constructor(private readonly options: AnchorerOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Anchors until nothing is pending (tests, shutdown). Throws if the chain refuses. */
  async flush(): Promise<void> {
    for (;;) {
      await this.running;
      const anchored = await this.tick();
      if (!anchored) return;
    }
  }

  /** Submissions accepted but not yet anchored. */
  async pendingCount(): Promise<number> {
    return (await this.options.store.journal.keys(keys.pendingRange).all()).length;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .then(() => {
          this.failures = 0;
          this.lastError = null;
          this.schedule(this.options.intervalMs);
        })
        .catch((error: unknown) => {
          this.failures += 1;
          this.lastError = (error as Error).message;
          const backoff = Math.min(this.options.intervalMs * 2 ** this.failures, this.options.maxBackoffMs ?? 30_000);
          this.options.logger.warn({ err: error, retryInMs: backoff }, "anchoring failed; will retry");
          this.schedule(backoff);
        });
    }, delayMs);
  }

  /** One round: resume an unfinished plan, or plan and send a new one. Returns whether it anchored. */
  async tick(): Promise<boolean> {
    // One round at a time: `flush` (key rotation, shutdown) may run beside the timer's round.
    return this.lock.run(async () => {
      const plan = (await this.unfinishedPlan()) ?? (await this.newPlan());
      if (!plan) return false;
      const onChain = (await this.options.chain.findAnchor(plan.root)) ?? (await this.send(plan));
      await this.finish(plan, onChain);
      return true;
    });
  }

  private async send(plan: AnchorRecord): Promise<AnchoredOnChain> {
    try {
      return await this.options.chain.anchor(plan.root, plan.leafCount, plan.eventCount);
    } catch (error) {
      // Sent before a crash and mined, but not finished: the chain has it, so finish from there.
      if (error instanceof LedgerRevertError && error.errorName === "TraceLedgerAnchorExists") {
        const found = await this.options.chain.findAnchor(plan.root);
        if (found) return found;
      }
      throw error;
    }
  }

  private async unfinishedPlan(): Promise<AnchorRecord | null> {
    const { journal } = this.options.store;
    const root: string | undefined = await journal.get(keys.anchorInFlight());
    return root ? ((await journal.get(keys.anchorPlan(root))) as AnchorRecord) : null;
  }

  private async newPlan(): Promise<AnchorRecord | null> {
    const { store } = this.options;
    const entries = await store.journal
      .iterator({ ...keys.pendingRange, limit: this.options.maxLeaves ?? 50_000 })
      .all();
    if (entries.length === 0) return null;
    const seqs = entries.map(([key]) => Number(key.slice("pending:".length)));
    const pending = entries.map(([, value]) => value as Pending);
    const tree = merkleTree(pending.map((p) => p.digest));
    const plan: AnchorRecord = {
      root: tree.root,
      submissionSeqs: seqs,
      leafCount: seqs.length,
      eventCount: pending.reduce((sum, p) => sum + p.count, 0),
      status: "sending",
      seq: null,
      txHash: null,
      block: null,
      blockTime: null,
      createdAt: new Date().toISOString(),
    };
    await store.write(
      [
        Store.put(store.journal, keys.anchorPlan(plan.root), plan),
        Store.put(store.journal, keys.anchorInFlight(), plan.root),
      ],
      { sync: true },
    );
    return plan;
  }

  private async finish(plan: AnchorRecord, onChain: AnchoredOnChain): Promise<void> {
    const { store } = this.options;
    const digests = (await store.journal.getMany(plan.submissionSeqs.map((seq) => keys.pendingSubmission(seq)))) as (
      Pending | undefined
    )[];
    const tree = merkleTree(
      await Promise.all(
        plan.submissionSeqs.map(
          async (seq, i) => digests[i]?.digest ?? (await store.journal.get(keys.submission(seq))).digest,
        ),
      ),
    );
    if (tree.root !== plan.root) throw new Error(`anchor plan ${plan.root} no longer matches its submissions`);
    const ops: Operation[] = [];
    plan.submissionSeqs.forEach((seq, index) => {
      const proof: SubmissionAnchor = {
        root: plan.root,
        proof: tree.proof(index),
        anchorSeq: onChain.seq,
        block: onChain.blockNumber,
        txHash: onChain.txHash,
        blockTime: onChain.blockTime,
      };
      ops.push(Store.put(store.anchors, keys.submissionAnchor(seq), proof));
      ops.push(Store.del(store.journal, keys.pendingSubmission(seq)));
    });
    const anchored: AnchorRecord = {
      ...plan,
      status: "anchored",
      seq: onChain.seq,
      txHash: onChain.txHash,
      block: onChain.blockNumber,
      blockTime: onChain.blockTime,
      anchoredAt: new Date().toISOString(),
    };
    ops.push(Store.put(store.journal, keys.anchorPlan(plan.root), anchored));
    ops.push(Store.del(store.journal, keys.anchorInFlight()));
    await store.write(ops, { sync: true });
    this.lastAnchoredAt = onChain.blockTime;
    this.options.logger.info(
      {
        root: plan.root,
        seq: onChain.seq,
        submissions: plan.leafCount,
        events: plan.eventCount,
        block: onChain.blockNumber,
      },
      "anchored",
    );
  }
}
