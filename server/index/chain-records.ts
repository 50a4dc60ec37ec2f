/**
 * Which store entries the indexer derives from the chain, so that a reindex clears exactly those
 * and nothing a user or the API wrote: the journal, keys, txlog, scans, metadata stored under
 * `meta:<hash>`, custody state, anchor proofs and organisation profiles stay.
 */
import { Store, type Operation, type Sublevel } from "../store/store";
import { keys } from "../store/keys";
import type { OrgRecord } from "../store/records";

/** Deletes are written in chunks so that a large index does not build one huge batch. */
const CHUNK = 1000;

/** The key prefix of a key family, taken from its builder in keys.ts so the layout stays in one place. */
const prefixOf = (sample: string): string => sample.slice(0, sample.indexOf(":") + 1);
export const rangeOf = (sample: string) => {
  const prefix = prefixOf(sample);
  return { gte: prefix, lt: `${prefix.slice(0, -1)};` };
};

/**
 * Clears every chain-derived record: products, batches, lineage edges, serial commitments, on-chain
 * anchors, account → organisation links and the indexer's cursor, block hashes and undo logs.
 * Organisation records keep their profile; only `suspended` is reset (the replay sets it and
 * `account` again from the chain). The cursor goes first, so an interrupted reindex restarts from
 * the deploy block when run again.
 */
export async function clearChainDerivedRecords(store: Store): Promise<void> {
  await store.write([Store.del(store.meta, keys.cursor())], { sync: true });
  await deleteRange(store, store.meta, keys.blockHashRange);
  await deleteRange(store, store.meta, keys.undoRange);
  await deleteRange(store, store.products, rangeOf(keys.product("0")));
  await deleteRange(store, store.batches, rangeOf(keys.batch("0x")));
  await deleteRange(store, store.batches, rangeOf(keys.child("0x", "0x")));
  await deleteRange(store, store.batches, rangeOf(keys.serials("0x", "0x")));
  await deleteRange(store, store.anchors, rangeOf(keys.anchorOnChain("0x")));
  await deleteRange(store, store.anchors, rangeOf(keys.anchorBySeq(0)));
  await deleteRange(store, store.orgs, rangeOf(keys.orgByAccount("0x")));

  const orgs = rangeOf(keys.org("0x"));
  let chunk: Operation[] = [];
  for await (const [key, org] of store.orgs.iterator(orgs) as AsyncIterable<[string, OrgRecord]>) {
    chunk.push(Store.put(store.orgs, key, { ...org, suspended: false }));
    if (chunk.length >= CHUNK) chunk = await flush(store, chunk);
  }
  await flush(store, chunk);
}

/** Deletes every key of `sublevel` in `range`, in chunks. */
export async function deleteRange(store: Store, sublevel: Sublevel, range: { gte: string; lt: string }): Promise<void> {
  for (;;) {
    const found = await sublevel.keys({ ...range, limit: CHUNK }).all();
    if (found.length === 0) return;
    await store.write(found.map((key) => Store.del(sublevel, key)));
  }
}

async function flush(store: Store, operations: Operation[]): Promise<Operation[]> {
  await store.write(operations);
  return [];
}
