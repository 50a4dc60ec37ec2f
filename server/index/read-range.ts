/**
 * Reads a range of blocks' TraceLedger logs so that everything returned belongs to one chain that
 * extends the indexed cursor, even if the chain reorganises while it is being read.
 */
import type { Block, Log, Provider } from "ethers";

import type { Cursor } from "../store/records";
import { INDEXED_TOPICS } from "./apply-log";

/** The chain moved while a range was being read; the next round sees the reorg and rolls it back. */
export class ChainMovedError extends Error {
  override name = "ChainMovedError";
}

/** A block of the range with its ledger logs in log order. */
export interface BlockLogs {
  block: Block;
  logs: Log[];
}

/**
 * The blocks of `from..to` that hold ledger logs, ascending, and the header of `to`. Reads the
 * range's end, the logs and their blocks, then the cursor block and the end again: if both are
 * unchanged and every log names the block read, all of it is one chain. (Not via `parentHash`:
 * Hardhat's `hardhat_mine` blocks report a zero parent hash.)
 */
export async function readLedgerRange(
  provider: Provider,
  ledgerAddress: string,
  cursor: Cursor,
  to: number,
): Promise<{ last: Block; withLogs: BlockLogs[] }> {
  const last = await requireBlock(provider, to);
  const logs = await provider.getLogs({
    address: ledgerAddress,
    topics: [INDEXED_TOPICS],
    fromBlock: cursor.block + 1,
    toBlock: to,
  });
  const byBlock = groupByBlock(logs);
  const blocks = new Map<number, Block>([[to, last]]);
  const missing = [...byBlock.keys()].filter((n) => !blocks.has(n));
  await forEachLimited(missing, 8, async (n) => void blocks.set(n, await requireBlock(provider, n)));
  for (const [n, blockLogs] of byBlock) {
    if (blockLogs.some((log) => log.blockHash !== blocks.get(n)!.hash)) {
      throw new ChainMovedError(`the logs of block ${n} came from another fork`);
    }
  }
  if ((await provider.getBlock(cursor.block))?.hash !== cursor.hash) {
    throw new ChainMovedError(`block ${cursor.block} was replaced`);
  }
  if ((await requireBlock(provider, to)).hash !== last.hash) throw new ChainMovedError(`block ${to} was replaced`);
  return { last, withLogs: [...byBlock].map(([n, blockLogs]) => ({ block: blocks.get(n)!, logs: blockLogs })) };
}

/** Block `n`, which must exist: a missing block means the chain just got shorter. */
export async function requireBlock(provider: Provider, n: number): Promise<Block> {
  const block = await provider.getBlock(n);
  if (!block?.hash) throw new ChainMovedError(`block ${n} is not on the chain`);
  return block;
}

/** The logs grouped by block, blocks ascending, each block's logs in log order. */
function groupByBlock(logs: readonly Log[]): Map<number, Log[]> {
  const sorted = logs.filter((log) => !log.removed).sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  const byBlock = new Map<number, Log[]>();
  for (const log of sorted) byBlock.set(log.blockNumber, [...(byBlock.get(log.blockNumber) ?? []), log]);
  return byBlock;
}

/** Runs `work` over `items` with at most `limit` at a time, to fetch headers without flooding the node. */
async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
}
