/**
 * Holds after non-conformant inspections (DESIGN §2: a lab's non-conformant result puts the batch
 * `Held` on-chain until a regulator releases or recalls it). Ingest journals a `PendingHold` with
 * the submission; this service puts it on-chain — `holdBatch` signed by the inspecting
 * organisation's custodial key and relayed — waits until the indexer applied the block, and only
 * then deletes the record. One hold at a time; while the chain is away it retries with backoff and
 * never drops a hold; holds left by a crash are taken up again on start. Until then the ingest rules
 * treat the batch as held, so nothing ships from it.
 */
import { id, type Signer } from "ethers";
import type { Logger } from "pino";

import { ChainUnavailableError, LedgerRevertError, decodeLedgerError, describe, withTimeout } from "../chain/errors";
import type { LedgerClient, SentTransaction } from "../chain/ledger-client";
import { HttpError } from "../http/errors";
import { keys } from "../store/keys";
import type { BatchRecord, OrgRecord, PendingHold } from "../store/records";
import { Store } from "../store/store";
import { Mutex } from "../util/mutex";

/** A pending hold with what stopped it going on-chain, if anything but the chain being away. */
export interface QueuedHold extends PendingHold {
  /** The inspecting organisation keeps its own key: the gateway cannot sign the hold for it. */
  awaitingSignature?: boolean;
  /** The ledger refused the hold (e.g. the inspector lost its role); a regulator decides. */
  refused?: { ledgerError: string; message: string };
}

/**
 * The hold that blocks `batchId` while it waits to go on-chain, if any. A hold the ledger refused
 * does not block: it waits for a regulator's decision instead (it may come from a lab that lost its
 * role, which must not freeze someone else's batch).
 */
export async function blockingHold(store: Store, batchId: string): Promise<QueuedHold | null> {
  const holds = (await store.journal.values(keys.pendingHoldsOf(batchId)).all()) as QueuedHold[];
  return holds.find((hold) => !hold.refused) ?? null;
}

/**
 * The batches a pending hold blocks (as `blockingHold`), from one read of every pending hold; null
 * when more than `limit` are pending (then ask `blockingHold` batch by batch). Holds wait until
 * they are on-chain, or, refused or awaiting a self-custody inspector's signature, until a
 * regulator acts: usually a few, and ingest reads them once a submission.
 */
export async function blockingHolds(store: Store, limit = 100): Promise<Set<string> | null> {
  const holds = (await store.journal.values({ ...keys.pendingHoldRange, limit: limit + 1 }).all()) as QueuedHold[];
  if (holds.length > limit) return null;
  return new Set(holds.filter((hold) => !hold.refused).map((hold) => hold.batchId));
}

/** A pending hold as `GET /api/v1/holds` lists it. */
export interface HoldView extends QueuedHold {
  state: "queued" | "awaiting_signature" | "refused";
  /** Failed attempts to put it on-chain since the gateway started, and the last failure. */
  attempts: number;
  lastError: string | null;
}

export interface HoldDeps {
  store: Store;
  ledger: Pick<LedgerClient, "holdBatch" | "settle" | "ledger" | "provider">;
  /** Signing keys and the regulator's release. */
  registry: {
    signer(orgId: string): Promise<Signer>;
    release(org: OrgRecord, batchId: string, reason: string): Promise<BatchRecord>;
  };
  /** Waits until the indexer has applied block `block`. */
  indexed(block: number): Promise<void>;
  logger: Logger;
  /** First and longest wait between attempts while the chain is away; default 1 s and 30 s. */
  retry?: { initialMs?: number; maxMs?: number };
}

/** TraceLedger's BatchStatus enum. */
const ON_CHAIN = { held: 2n, recalled: 3n } as const;
/** Reverts that mean the batch is held or recalled already: nothing left to do. */
const ALREADY_DONE = new Set(["TraceLedgerInvalidStatusTransition", "TraceLedgerBatchRecalled"]);
/** Reverts worth retrying: the ledger is paused for an incident, or a nonce raced. */
const RETRYABLE_REVERTS = new Set(["EnforcedPause", "TraceLedgerInvalidNonce"]);

const holdKey = (hold: PendingHold) => keys.pendingHold(hold.batchId, hold.eventId);

export class HoldService {
  /** One hold attempt or release at a time. */
  private readonly lock = new Mutex();
  private stopped = true;
  private running: Promise<void> | null = null;
  /** More holds were journaled while a round ran. */
  private again = false;
  private wake: (() => void) | null = null;
  private readonly failures = new Map<string, { attempts: number; lastError: string; txHash: string | null }>();

  constructor(private readonly deps: HoldDeps) {}

  /** Starts working through the pending holds, including those marked before (they are tried again). */
  start(): void {
    this.stopped = false;
    this.kick(true);
  }

  /** Ingest journaled new holds. */
  notify(): void {
    if (!this.stopped) this.kick(false);
  }

  /** Stops after the hold in hand; a pending hold stays journaled for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    while (this.running) await this.running;
  }

  /** Resolves once no round is running: every hold that could be signed is on-chain (demo, tests). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Every pending hold, oldest batch key first. */
  async list(): Promise<HoldView[]> {
    const holds = (await this.deps.store.journal.values(keys.pendingHoldRange).all()) as QueuedHold[];
    return holds.map((hold) => {
      const failure = this.failures.get(holdKey(hold));
      return {
        ...hold,
        state: hold.awaitingSignature ? "awaiting_signature" : hold.refused ? "refused" : "queued",
        attempts: failure?.attempts ?? 0,
        lastError: failure?.lastError ?? null,
      };
    });
  }

  /** The pending holds of batch `batchId`. */
  async pendingOf(batchId: string): Promise<QueuedHold[]> {
    return (await this.deps.store.journal.values(keys.pendingHoldsOf(batchId)).all()) as QueuedHold[];
  }

  /**
   * A regulator releases batch `batchId` on-chain. Holds the gateway could not put on-chain
   * (awaiting a self-custody signature, or refused by the ledger) are cleared with it — then the
   * batch may not be held on-chain at all, which is fine. A hold still on its way answers 409
   * `hold_pending`; releasing a batch that is not held, 409 `batch_not_held`.
   */
  async release(
    org: OrgRecord,
    batchId: string,
    reason: string,
  ): Promise<{ batch: BatchRecord; clearedHolds: number }> {
    // Not while a hold of it is being sent: the release would race the hold, or be undone by it.
    return this.lock.run(() => this.releaseNow(org, batchId, reason));
  }

  private async releaseNow(
    org: OrgRecord,
    batchId: string,
    reason: string,
  ): Promise<{ batch: BatchRecord; clearedHolds: number }> {
    const pending = await this.pendingOf(batchId);
    if (pending.some((hold) => !hold.awaitingSignature && !hold.refused)) {
      throw new HttpError(
        409,
        "hold_pending",
        "a hold of this batch is still being put on-chain; release it once the batch shows as held",
      );
    }
    let batch: BatchRecord;
    try {
      batch = await this.deps.registry.release(org, batchId, reason);
    } catch (error) {
      const notHeld = error instanceof LedgerRevertError && error.errorName === "TraceLedgerInvalidStatusTransition";
      if (!notHeld) throw error;
      if (pending.length === 0) {
        throw new HttpError(409, "batch_not_held", `batch ${batchId} is not on hold`, {
          ledgerError: error.errorName,
          args: error.args,
        });
      }
      batch = (await this.deps.store.batches.get(keys.batch(batchId))) as BatchRecord;
    }
    if (pending.length > 0) {
      await this.deps.store.write(
        pending.map((hold) => Store.del(this.deps.store.journal, holdKey(hold))),
        { sync: true },
      );
      this.deps.logger.info({ batchId, cleared: pending.length, by: org.orgId }, "a regulator cleared pending holds");
    }
    return { batch, clearedHolds: pending.length };
  }

  private kick(all: boolean): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain(all)
      .catch((error: unknown) => this.deps.logger.error({ err: error }, "putting holds on-chain failed"))
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopped) this.kick(false);
      });
  }

  /** Rounds until no new hold arrived during the last one. */
  private async drain(all: boolean): Promise<void> {
    do {
      this.again = false;
      const holds = (await this.deps.store.journal.values(keys.pendingHoldRange).all()) as QueuedHold[];
      for (const hold of holds) {
        if (this.stopped) return;
        if (!all && (hold.awaitingSignature || hold.refused)) continue;
        await this.putOnChain(hold);
      }
      all = false;
    } while (this.again && !this.stopped);
  }

  /** Tries `hold` until it is on-chain, found done already, or cannot be signed or is refused. */
  private async putOnChain(hold: QueuedHold): Promise<void> {
    const key = holdKey(hold);
    for (;;) {
      if (this.stopped) return;
      const retryInMs = await this.lock.run(() => this.tryOnce(hold, key));
      if (retryInMs === null) return;
      await this.sleep(retryInMs);
    }
  }

  /** One attempt under the lock; the delay before the next one, or null when there is none to make. */
  private async tryOnce(hold: QueuedHold, key: string): Promise<number | null> {
    // A regulator's release may have cleared it meanwhile.
    if ((await this.deps.store.journal.get(key)) === undefined) {
      this.failures.delete(key);
      return null;
    }
    const failure = this.failures.get(key);
    try {
      await this.attempt(hold, failure?.txHash ?? null);
      this.failures.delete(key);
      return null;
    } catch (error) {
      if (error instanceof HttpError && error.code === "self_custody") {
        await this.mark(hold, { awaitingSignature: true });
        this.deps.logger.warn(
          { batchId: hold.batchId, orgId: hold.orgId, eventId: hold.eventId },
          "the inspecting organisation keeps its own key: its hold cannot be signed by the gateway; a regulator must decide",
        );
        return null;
      }
      if (error instanceof LedgerRevertError && !RETRYABLE_REVERTS.has(error.errorName)) {
        await this.mark(hold, { refused: { ledgerError: error.errorName, message: error.message } });
        this.deps.logger.warn(
          { batchId: hold.batchId, err: error },
          "the ledger refused a hold; a regulator must decide",
        );
        return null;
      }
      const attempts = (failure?.attempts ?? 0) + 1;
      const txHash = (error as { txHash?: string | null }).txHash ?? failure?.txHash ?? null;
      this.failures.set(key, { attempts, lastError: describe(error), txHash });
      const delay = this.backoff(attempts);
      this.deps.logger.warn(
        { batchId: hold.batchId, attempts, retryInMs: delay, err: error },
        "a hold is not on-chain yet; retrying",
      );
      return delay;
    }
  }

  /** One try; `inFlight` is a hold transaction sent before whose outcome is unknown. */
  private async attempt(hold: QueuedHold, inFlight: string | null): Promise<void> {
    const { store, ledger } = this.deps;
    let sent: SentTransaction | null = null;
    try {
      if (inFlight) sent = await ledger.settle(inFlight).catch(this.unlessLogged);
      if (!sent) {
        const status = await this.statusOnChain(hold.batchId);
        if (status === ON_CHAIN.held || status === ON_CHAIN.recalled) return this.alreadyDone(hold);
        const reasonHash = id(hold.reason);
        // The chain holds the reason's hash; its text is kept for pages and the dashboard.
        await store.write([Store.put(store.batches, keys.reason(reasonHash), hold.reason)], { sync: true });
        sent = await ledger.holdBatch(await this.deps.registry.signer(hold.orgId), hold.batchId, reasonHash);
      }
    } catch (error) {
      if (error instanceof LedgerRevertError && ALREADY_DONE.has(error.errorName)) return this.alreadyDone(hold);
      throw error;
    }
    await this.deps.indexed(sent.blockNumber);
    await this.done(hold, null);
  }

  /** How an earlier transaction ended matters only if it was mined or the chain is still away; else try afresh. */
  private readonly unlessLogged = (error: unknown): null => {
    if (error instanceof ChainUnavailableError || error instanceof LedgerRevertError) throw error;
    return null;
  };

  /** The batch is held or recalled on-chain already: once the store shows it too, the record can go. */
  private async alreadyDone(hold: QueuedHold): Promise<void> {
    const head = await withTimeout(this.deps.ledger.provider.getBlockNumber(), 30_000, "eth_blockNumber").catch(
      (error: unknown) => {
        throw decodeLedgerError(error);
      },
    );
    await this.deps.indexed(head);
    await this.done(hold, "held or recalled already");
  }

  private async statusOnChain(batchId: string): Promise<bigint> {
    try {
      const batch = await withTimeout(this.deps.ledger.ledger.getBatch(batchId), 30_000, "getBatch");
      return batch.status;
    } catch (error) {
      throw decodeLedgerError(error);
    }
  }

  private async done(hold: QueuedHold, skipped: string | null): Promise<void> {
    await this.deps.store.write([Store.del(this.deps.store.journal, holdKey(hold))], { sync: true });
    this.deps.logger.info(
      { batchId: hold.batchId, eventId: hold.eventId, ...(skipped ? { skipped } : {}) },
      skipped ? "pending hold dropped: the batch is held or recalled on-chain already" : "batch held on-chain",
    );
  }

  private async mark(hold: QueuedHold, change: Partial<QueuedHold>): Promise<void> {
    const { awaitingSignature: _a, refused: _r, ...plain } = hold;
    const record: QueuedHold = { ...plain, ...change };
    await this.deps.store.write([Store.put(this.deps.store.journal, holdKey(hold), record)], { sync: true });
    this.failures.delete(holdKey(hold));
  }

  private backoff(attempts: number): number {
    const initial = this.deps.retry?.initialMs ?? 1000;
    const max = this.deps.retry?.maxMs ?? 30_000;
    return Math.min(max, initial * 2 ** Math.min(attempts - 1, 20));
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = null;
  }
}
