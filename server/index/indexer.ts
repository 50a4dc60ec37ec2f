/**
 * Follows TraceLedger's logs into the store (DESIGN §1 `index/`, §5). The chain is the source of
 * truth; the store is a read model of it that survives crashes and reorgs and can be rebuilt. Each
 * block's records, its undo log, its hash and the cursor go to LevelDB in one atomic batch, so the
 * store never holds half a block and a reorg can be rolled back exactly.
 */
import type { Block, Log, Provider } from "ethers";

import { Store, type Operation } from "../store/store";
import { keys } from "../store/keys";
import type { Cursor } from "../store/records";
import { IndexInconsistencyError, applyLedgerLog, ledgerInterface } from "./apply-log";
import { BlockChanges } from "./block-changes";
import { clearChainDerivedRecords } from "./chain-records";
import { readLedgerRange } from "./read-range";
import { ReorgTooDeepError, pruneOperations, rollBack } from "./reorg";

export { REORG_WINDOW, ReorgTooDeepError } from "./reorg";
export { IndexInconsistencyError } from "./apply-log";

/** The pino methods the indexer uses (a pino logger fits). */
export interface IndexerLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface IndexerOptions {
  store: Store;
  provider: Provider;
  ledgerAddress: string;
  /** The block TraceLedger was deployed in; indexing starts there. */
  deployBlock: number;
  /** Blocks a block needs on top of it before it is indexed (0 on the local chain). */
  confirmations?: number;
  pollIntervalMs?: number;
  /** Most blocks one `eth_getLogs` covers. */
  batchBlocks?: number;
  /** The longest wait between retries while the chain is unreachable. */
  maxBackoffMs?: number;
  logger?: IndexerLogger;
}

/** `syncTo` gave up: the indexer was stopped, or the caller's timeout passed. */
export class SyncAbortedError extends Error {
  constructor(
    readonly block: number,
    readonly reason: "stopped" | "timeout",
  ) {
    super(`block ${block} was not indexed: ${reason === "stopped" ? "the indexer stopped" : "timed out"}`);
    this.name = "SyncAbortedError";
  }
}

const silent: IndexerLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Keeps the store's chain-derived records (organisations, products, batches, lineage, serial
 * commitments, on-chain anchors) in step with TraceLedger. Run `start()` in the gateway; the API
 * calls `syncTo(receipt.blockNumber)` after mining a transaction so its next read sees the result.
 */
export class Indexer {
  private readonly store: Store;
  private readonly provider: Provider;
  private readonly ledgerAddress: string;
  private readonly deployBlock: number;
  private readonly confirmations: number;
  private readonly pollIntervalMs: number;
  private readonly batchBlocks: number;
  private readonly maxBackoffMs: number;
  private readonly logger: IndexerLogger;
  /** Rounds run one at a time, whoever asks (the loop, `syncTo`, a reindex). */
  private queue: Promise<unknown> = Promise.resolve();
  private loop: Promise<void> | null = null;
  private stopping = false;
  private readonly sleepers = new Set<() => void>();

  constructor(options: IndexerOptions) {
    const { deployBlock, confirmations = 0, pollIntervalMs = 500, batchBlocks = 2000 } = options;
    const problems = [
      !Number.isSafeInteger(deployBlock) || deployBlock < 0 ? `deployBlock ${deployBlock} is not a block number` : "",
      !Number.isSafeInteger(confirmations) || confirmations < 0 ? `confirmations ${confirmations} must be ≥ 0` : "",
      !(pollIntervalMs > 0) ? `pollIntervalMs ${pollIntervalMs} must be > 0` : "",
      !Number.isSafeInteger(batchBlocks) || batchBlocks < 1 ? `batchBlocks ${batchBlocks} must be ≥ 1` : "",
    ].filter(Boolean);
    if (problems.length > 0) throw new RangeError(`invalid indexer options: ${problems.join("; ")}`);
    this.store = options.store;
    this.provider = options.provider;
    this.ledgerAddress = options.ledgerAddress;
    this.deployBlock = deployBlock;
    this.confirmations = confirmations;
    this.pollIntervalMs = pollIntervalMs;
    this.batchBlocks = batchBlocks;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.logger = options.logger ?? silent;
  }

  /** Starts following the chain in the background; errors are logged and retried, never thrown. */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.run();
  }

  /** Stops the loop and waits for the round in progress, so the store can be closed after it. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of this.sleepers) wake();
    await this.loop;
    await this.queue;
    this.loop = null;
  }

  /**
   * One round: rolls back a reorg if the cursor block left the chain, then indexes up to
   * `batchBlocks` new blocks. Returns the range indexed, or null when already at the head.
   */
  syncOnce(): Promise<{ from: number; to: number } | null> {
    const round = this.queue.then(() => this.round());
    this.queue = round.catch(() => undefined);
    return round;
  }

  /**
   * Resolves once block `block` is indexed, so that the API can read what it has just written.
   * Waits through an unreachable chain; rejects when the index needs a rebuild (`ReorgTooDeepError`,
   * `IndexInconsistencyError`), on `stop()`, or after `timeoutMs` if given (`SyncAbortedError`).
   */
  async syncTo(block: number, options: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    let failures = 0;
    for (;;) {
      // Always run a round first, even if the cursor is past `block`: the round notices a reorg
      // that replaced the indexed block with the one the caller has just mined.
      let progressed = false;
      try {
        progressed = (await this.syncOnce()) !== null;
        failures = 0;
      } catch (error) {
        if (needsReindex(error)) throw error;
        failures += 1;
        this.logger.warn({ err: error, block, failures }, "indexer: waiting for the chain");
      }
      const cursor = await this.cursor();
      if (cursor && cursor.block >= block) return;
      if (this.stopping) throw new SyncAbortedError(block, "stopped");
      if (Date.now() >= deadline) throw new SyncAbortedError(block, "timeout");
      if (!progressed) {
        await this.sleep(Math.min(failures > 0 ? this.backoff(failures) : this.pollIntervalMs, deadline - Date.now()));
      }
    }
  }

  /** The last block fully applied, or null before the first round. */
  async cursor(): Promise<Cursor | null> {
    return ((await this.store.meta.get(keys.cursor())) as Cursor | undefined) ?? null;
  }

  /** How many blocks the index is behind the chain head (for health checks and the dashboard). */
  async lag(): Promise<number> {
    const [head, cursor] = await Promise.all([this.provider.getBlockNumber(), this.cursor()]);
    return Math.max(0, head - (cursor?.block ?? this.deployBlock - 1));
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        const range = await this.syncOnce();
        if (failures > 0) this.logger.info({ failures }, "indexer: chain reachable again");
        failures = 0;
        if (range) continue; // more blocks may be waiting
        await this.sleep(this.pollIntervalMs);
      } catch (error) {
        failures += 1;
        const retryInMs = this.backoff(failures);
        if (needsReindex(error)) this.logger.error({ err: error }, error.message);
        else this.logger.warn({ err: error, failures, retryInMs }, "indexer: sync failed; retrying");
        await this.sleep(retryInMs);
      }
    }
  }

  private async round(): Promise<{ from: number; to: number } | null> {
    const stored = await this.cursor();
    const cursor = stored ? await this.followReorg(stored) : await this.startBeforeDeployBlock();
    const head = await this.provider.getBlockNumber();
    const from = cursor.block + 1;
    const to = Math.min(head - this.confirmations, from + this.batchBlocks - 1);
    if (to < from) return null;
    await this.indexRange(cursor, to);
    return { from, to };
  }

  /** The first cursor is the block before the deploy block, so even the first block can be rolled back. */
  private async startBeforeDeployBlock(): Promise<Cursor> {
    const number = Math.max(this.deployBlock, 1) - 1;
    const base = await this.provider.getBlock(number);
    if (!base?.hash) {
      throw new Error(
        `block ${number} (before the deploy block) is not on the chain yet: check deployBlock and the chain`,
      );
    }
    const cursor: Cursor = { block: number, hash: base.hash };
    await this.commit(cursor, []);
    return cursor;
  }

  private async followReorg(cursor: Cursor): Promise<Cursor> {
    const onChain = await this.provider.getBlock(cursor.block);
    if (onChain?.hash === cursor.hash) return cursor;
    const ancestor = await rollBack(this.store, this.provider, cursor);
    this.logger.warn(
      { from: cursor.block, to: ancestor.block },
      "indexer: chain reorganised; rolled back to the last common block",
    );
    return ancestor;
  }

  private async indexRange(cursor: Cursor, to: number): Promise<void> {
    const { last, withLogs } = await readLedgerRange(this.provider, this.ledgerAddress, cursor, to);
    for (const { block, logs } of withLogs) await this.applyBlock(block, logs);
    if (withLogs.at(-1)?.block.number !== to) await this.commit({ block: to, hash: last.hash! }, []);
  }

  private async applyBlock(block: Block, logs: Log[]): Promise<void> {
    const changes = new BlockChanges(this.store);
    const time = new Date(block.timestamp * 1000).toISOString();
    for (const log of logs) {
      const event = ledgerInterface.parseLog({ topics: [...log.topics], data: log.data });
      if (event) await applyLedgerLog(changes, event, { block: block.number, txHash: log.transactionHash, time });
    }
    const undo = Store.put(this.store.meta, keys.undo(block.number), changes.undoLog());
    await this.commit({ block: block.number, hash: block.hash! }, [...changes.operations(), undo]);
  }

  /** Writes a block's operations with its hash, the cursor and the pruning of old undo data, atomically. */
  private async commit(cursor: Cursor, operations: Operation[]): Promise<void> {
    await this.store.write([
      ...operations,
      Store.put(this.store.meta, keys.blockHash(cursor.block), cursor.hash),
      Store.put(this.store.meta, keys.cursor(), cursor),
      ...(await pruneOperations(this.store, cursor.block)),
    ]);
  }

  private backoff(failures: number): number {
    return Math.min(this.pollIntervalMs * 2 ** Math.min(failures - 1, 20), this.maxBackoffMs);
  }

  /** Waits `ms`, or less if `stop()` is called. */
  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, ms));
      this.sleepers.add(wake);
    });
  }
}

/**
 * Rebuilds the chain-derived index from the deploy block: after a reorg deeper than the undo
 * window, a restore from backup, or a change to what the indexer records. Only chain-derived
 * records are cleared (see `clearChainDerivedRecords`); journal, keys, txlog, scans, metadata and
 * organisation profiles are kept. Run it with the gateway stopped. Returns the final cursor.
 */
export async function reindexChain(
  store: Store,
  provider: Provider,
  options: { ledgerAddress: string; deployBlock: number; confirmations?: number; batchBlocks?: number },
  onProgress?: (progress: { block: number; head: number }) => void,
): Promise<Cursor> {
  await clearChainDerivedRecords(store);
  const { ledgerAddress, deployBlock, confirmations, batchBlocks } = options;
  const indexer = new Indexer({ store, provider, ledgerAddress, deployBlock, confirmations, batchBlocks });
  let head = await provider.getBlockNumber();
  for (let range = await indexer.syncOnce(); range; range = await indexer.syncOnce()) {
    head = Math.max(head, range.to);
    onProgress?.({ block: range.to, head });
  }
  const cursor = await indexer.cursor();
  if (!cursor) throw new Error("reindex finished without a cursor");
  return cursor;
}

/** Errors that retrying cannot fix: the index must be rebuilt. */
const needsReindex = (error: unknown): error is Error =>
  error instanceof ReorgTooDeepError || error instanceof IndexInconsistencyError;
