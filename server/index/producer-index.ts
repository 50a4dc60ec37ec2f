/**
 * The producer index (`by:{orgId}:{block}:{batchId}`, behind `GET /me/batches`) is written by
 * the indexer as it applies `BatchRegistered`. A store from before it existed (or restored from such
 * a backup) is given it once at start-up from the batch records it holds; the meta key
 * `index:producer` then says it is there.
 */
import { keys } from "../store/keys";
import type { BatchRecord } from "../store/records";
import { Store, type Operation } from "../store/store";

const VERSION = 1;
const BATCH = 1000;

/** Builds the producer index if the store lacks it; returns how many batches it indexed (0: none needed). */
export async function ensureProducerIndex(store: Store): Promise<number> {
  if ((await store.meta.get(keys.producerIndexVersion())) === VERSION) return 0;
  let ops: Operation[] = [];
  let count = 0;
  for await (const value of store.batches.values({ gte: keys.batch(""), lt: keys.batch("\uffff") })) {
    const batch = value as BatchRecord;
    ops.push(Store.put(store.batches, keys.producerBatch(batch.producer, batch.block, batch.batchId), batch.batchId));
    count++;
    if (ops.length >= BATCH) {
      await store.write(ops);
      ops = [];
    }
  }
  ops.push(Store.put(store.meta, keys.producerIndexVersion(), VERSION));
  await store.write(ops, { sync: true });
  return count;
}
