/**
 * The producer index behind `GET /me/batches` is built once for a store from before it existed, from
 * the batch records it holds, with the same keys the indexer writes; a store that has it is left alone.
 */

import { expect } from "chai";

import { batchIdOf } from "../../server/domain/batch-id";
import { ensureProducerIndex } from "../../server/index/producer-index";
import { keys } from "../../server/store/keys";
import type { BatchRecord } from "../../server/store/records";
import { Store } from "../../server/store/store";
import { storePerTest } from "../helpers/store";

const PRODUCER = `0x${"a1".repeat(32)}`;
const OTHER = `0x${"b2".repeat(32)}`;

function batch(lot: string, producer: string, block: number): BatchRecord {
  return {
    batchId: batchIdOf("06938850101018", lot),
    gtin: "06938850101018",
    lot,
    producer,
    status: "active",
    metadataHash: `0x${"00".repeat(32)}`,
    metadata: null,
    parents: [],
    registeredAt: "2026-11-20T00:00:00.000Z",
    block,
    txHash: `0x${"11".repeat(32)}`,
    statusHistory: [],
  };
}

describe("producer index migration", function () {
  let store: Store;
  storePerTest("producer-index", (opened) => (store = opened));

  it("indexes every batch of an older store once, as the indexer would, and marks the store", async function () {
    const records = [batch("A-1", PRODUCER, 7), batch("A-2", PRODUCER, 9), batch("B-1", OTHER, 8)];
    await store.write(records.map((record) => Store.put(store.batches, keys.batch(record.batchId), record)));
    expect(await ensureProducerIndex(store)).to.equal(3);
    const mine = await store.batches.keys(keys.producerBatchRange(PRODUCER)).all();
    expect(mine).to.deep.equal([
      keys.producerBatch(PRODUCER, 7, records[0]!.batchId),
      keys.producerBatch(PRODUCER, 9, records[1]!.batchId),
    ]);
    expect(await store.batches.values(keys.producerBatchRange(OTHER)).all()).to.deep.equal([records[2]!.batchId]);
    expect(await store.meta.get(keys.producerIndexVersion())).to.equal(1);
    // Marked: a batch written afterwards is the indexer's to index, not the migration's.
    const later = batch("A-3", PRODUCER, 12);
    await store.write([Store.put(store.batches, keys.batch(later.batchId), later)]);
    expect(await ensureProducerIndex(store)).to.equal(0);
    expect(await store.batches.keys(keys.producerBatchRange(PRODUCER)).all()).to.have.length(2);
  });

  it("marks an empty store without writing anything else", async function () {
    expect(await ensureProducerIndex(store)).to.equal(0);
    expect(await store.meta.get(keys.producerIndexVersion())).to.equal(1);
    expect(await store.batches.keys().all()).to.deep.equal([]);
  });
});
