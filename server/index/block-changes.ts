/**
 * The changes one block makes to the index, staged in memory so that they, the block's undo log
 * and the cursor reach LevelDB in one atomic batch. Every key a block touches remembers the value
 * it had before the block, so a reorg can put the store back exactly as it was.
 */
import { Store, type Operation, type SublevelName } from "../store/store";

/** The sublevels whose records the indexer derives from the chain. */
export type IndexedSublevel = Extract<SublevelName, "orgs" | "products" | "batches" | "anchors">;

/** meta `undo:<block>` holds a list of these: a key the block wrote and its value before (null: absent). */
export interface UndoEntry {
  sublevel: IndexedSublevel;
  key: string;
  previous: unknown;
}

interface StagedValue {
  sublevel: IndexedSublevel;
  key: string;
  /** `undefined` stages a delete. */
  value: unknown;
}

/** Reads see the block's own earlier writes; writes are only staged until `operations()` is written. */
export class BlockChanges {
  private readonly staged = new Map<string, StagedValue>();
  private readonly undo: UndoEntry[] = [];

  constructor(private readonly store: Store) {}

  /** The value of `key` as of this block so far, or null. */
  async get<T>(sublevel: IndexedSublevel, key: string): Promise<T | null> {
    const staged = this.staged.get(stagedId(sublevel, key));
    if (staged) return staged.value === undefined ? null : (structuredClone(staged.value) as T);
    const stored: unknown = await this.store[sublevel].get(key);
    return stored === undefined ? null : (stored as T);
  }

  async put(sublevel: IndexedSublevel, key: string, value: unknown): Promise<void> {
    await this.stage(sublevel, key, structuredClone(value));
  }

  async del(sublevel: IndexedSublevel, key: string): Promise<void> {
    await this.stage(sublevel, key, undefined);
  }

  /** The staged writes, one operation per key. */
  operations(): Operation[] {
    return [...this.staged.values()].map(({ sublevel, key, value }) =>
      value === undefined ? Store.del(this.store[sublevel], key) : Store.put(this.store[sublevel], key, value),
    );
  }

  /** What rolling this block back must restore, in the order the keys were first touched. */
  undoLog(): UndoEntry[] {
    return [...this.undo];
  }

  private async stage(sublevel: IndexedSublevel, key: string, value: unknown): Promise<void> {
    const id = stagedId(sublevel, key);
    if (!this.staged.has(id)) {
      // First touch in this block: the stored value is what a rollback must bring back.
      const previous: unknown = await this.store[sublevel].get(key);
      this.undo.push({ sublevel, key, previous: previous === undefined ? null : previous });
    }
    this.staged.set(id, { sublevel, key, value });
  }
}

/** The operations that undo a block: restore each touched key's previous value, or delete it. */
export function undoOperations(store: Store, undo: readonly UndoEntry[]): Operation[] {
  return [...undo]
    .reverse()
    .map(({ sublevel, key, previous }) =>
      previous === null ? Store.del(store[sublevel], key) : Store.put(store[sublevel], key, previous),
    );
}

const stagedId = (sublevel: IndexedSublevel, key: string): string => `${sublevel}\u0000${key}`;
