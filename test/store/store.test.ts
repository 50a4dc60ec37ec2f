/**
 * The store's write path, on a real LevelDB in a temp folder: synced batches reach LevelDB with
 * `sync` set (without it being copied into every operation), values written as JSON text read
 * back like any other, and the generation read caches compare against moves on every write but a
 * quiet one.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";

import { Store } from "../../server/store/store";

describe("Store", function () {
  let dir: string;
  let store: Store;
  /** What reached classic-level's `_batch`: the operations and the options LevelDB reads. */
  let batches: { ops: Record<string, unknown>[]; options: { sync?: unknown } }[];

  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), "yutrace-store-"));
    store = await Store.open(dir);
    batches = [];
    const db = store.db as unknown as { _batch: (ops: unknown[], options: unknown) => Promise<void> };
    const original = db._batch.bind(db);
    db._batch = (ops, options) => {
      batches.push({ ops: ops as Record<string, unknown>[], options: options as { sync?: unknown } });
      return original(ops, options);
    };
  });

  afterEach(async function () {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("asks LevelDB to sync a synced write, and only that one, without copying the option into each operation", async function () {
    await store.write([Store.put(store.journal, "a", { n: 1 }), Store.put(store.events, "b", "x")], { sync: true });
    await store.write([Store.put(store.journal, "c", 2)]);
    await store.write([Store.put(store.journal, "d", 3)], { sync: false });
    expect(batches.map((b) => b.options.sync)).to.deep.equal([true, false, false]);
    for (const { ops } of batches) for (const op of ops) expect(op).to.not.have.property("sync");
    expect(await store.journal.get("a")).to.deep.equal({ n: 1 });
    expect(await store.events.get("b")).to.equal("x");
  });

  it("reads a value written as JSON text (putJson) back as JSON, in the sublevel it was put in", async function () {
    const text = '{"body":{"a":[1,"二"],"b":null},"seq":7}';
    await store.write([Store.putJson(store.events, "evt:1", text), Store.put(store.events, "evt:2", { seq: 8 })]);
    expect(await store.events.get("evt:1")).to.deep.equal(JSON.parse(text));
    expect(await store.events.getMany(["evt:1", "evt:2"])).to.deep.equal([JSON.parse(text), { seq: 8 }]);
    expect(await store.journal.get("evt:1")).to.equal(undefined);
  });

  it("moves its generation on every write but a quiet one", async function () {
    const start = store.generation;
    await store.write([Store.put(store.scans, "s", 1)], { quiet: true });
    expect(store.generation).to.equal(start);
    await store.write([Store.put(store.batches, "b", 1)]);
    expect(store.generation).to.equal(start + 1);
    await store.write([]);
    expect(store.generation).to.equal(start + 1);
  });
});
