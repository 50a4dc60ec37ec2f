/**
 * Reorg handling for the indexer: finding the last block the index and the chain still share,
 * rolling back what the index applied above it, and keeping just enough block hashes and undo logs
 * to do so within a fixed window.
 */
import type { Provider } from "ethers";

import { Store, type Operation } from "../store/store";
import { keys } from "../store/keys";
import type { Cursor } from "../store/records";
import { undoOperations, type UndoEntry } from "./block-changes";

/** How many blocks back the indexer can roll back by itself; deeper reorgs need a reindex. */
export const REORG_WINDOW = 128;

/** The chain replaced blocks older than the undo window: only `npm run reindex` can recover. */
export class ReorgTooDeepError extends Error {
  constructor(
    readonly cursorBlock: number,
    readonly oldestKeptBlock: number | null,
  ) {
    super(
      `the chain reorganised deeper than the index can undo: indexed to block ${cursorBlock}, and no kept ` +
        `block hash down to block ${oldestKeptBlock ?? cursorBlock} is still on the chain (undo window ` +
        `${REORG_WINDOW} blocks); stop the gateway and rebuild the index with \`npm run reindex\``,
    );
    this.name = "ReorgTooDeepError";
  }
}

/**
 * Undoes, newest first and in one atomic batch per block, every indexed block the chain no longer
 * has, and returns the cursor of the last common block. A crash midway leaves a consistent cursor
 * whose block is still orphaned, so the next round simply carries on rolling back.
 */
export async function rollBack(store: Store, provider: Provider, cursor: Cursor): Promise<Cursor> {
  const range = { gte: keys.blockHashRange.gte, lte: keys.blockHash(cursor.block), reverse: true };
  const kept = (await store.meta.iterator(range).all()) as [string, string][];
  const orphaned: Cursor[] = [];
  let ancestor: Cursor | null = null;
  for (const [key, hash] of kept) {
    const block = blockNumberOf(key);
    if ((await provider.getBlock(block))?.hash === hash) {
      ancestor = { block, hash };
      break;
    }
    orphaned.push({ block, hash });
  }
  if (!ancestor) throw new ReorgTooDeepError(cursor.block, orphaned.at(-1)?.block ?? null);

  for (const [i, { block }] of orphaned.entries()) {
    const undo = ((await store.meta.get(keys.undo(block))) ?? []) as UndoEntry[];
    await store.write([
      ...undoOperations(store, undo),
      Store.del(store.meta, keys.undo(block)),
      Store.del(store.meta, keys.blockHash(block)),
      Store.put(store.meta, keys.cursor(), orphaned[i + 1] ?? ancestor),
    ]);
  }
  return ancestor;
}

/**
 * The deletes that drop block hashes and undo logs older than the window, to go in the batch that
 * moves the cursor to `block`. It keeps the newest hash at or below the window's edge: that is the
 * block a reorg just inside the window rolls back to, and every undo log above it is still there
 * (a block with an undo log always has a hash too).
 */
export async function pruneOperations(store: Store, block: number): Promise<Operation[]> {
  const edge = block - REORG_WINDOW;
  if (edge < 0) return [];
  const meta = store.meta;
  const hashRange = { gte: keys.blockHashRange.gte, lte: keys.blockHash(edge), reverse: true, limit: 1 };
  const [anchor] = await meta.keys(hashRange).all();
  if (anchor === undefined) return [];
  const hashes = await meta.keys({ gte: keys.blockHashRange.gte, lt: anchor }).all();
  const undos = await meta.keys({ gte: keys.undoRange.gte, lte: keys.undo(blockNumberOf(anchor)) }).all();
  return [...hashes, ...undos].map((key) => Store.del(meta, key));
}

/** Block number of a meta `block:<n>` or `undo:<n>` key. */
const blockNumberOf = (key: string): number => Number(key.slice(key.indexOf(":") + 1));
