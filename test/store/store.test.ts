/**
 * The store's write path, on a real LevelDB in a temp folder: synced batches reach LevelDB with
 * `sync` set (without it being copied into every operation), events' bodies go to the event-body
 * database first and synced, records are read back with their bodies, and the generation read
 * caches compare against moves on every write but a quiet one.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Level } from "level";

import { readEvent, readEvents } from "../../server/store/events";
import { keys } from "../../server/store/keys";
import { EVENT_BODIES_FOLDER, Store } from "../../server/store/store";
import { recordGetMany } from "../helpers/store";

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

  it("writes events' bodies to the event-body database first, synced, then the records that refer to them", async function () {
    const order: string[] = [];
    const bodies = store.eventBodies as unknown as { _batch: (ops: unknown[], options: unknown) => Promise<void> };
    const original = bodies._batch.bind(bodies);
    const bodyBatches: { ops: Record<string, unknown>[]; sync: unknown }[] = [];
    bodies._batch = (ops, options) => {
      order.push("bodies");
      bodyBatches.push({ ops: ops as Record<string, unknown>[], sync: (options as { sync?: unknown }).sync });
      return original(ops, options);
    };
    const mainBatch = (store.db as unknown as { _batch: (ops: unknown[], options: unknown) => Promise<void> })._batch;
    (store.db as unknown as { _batch: typeof mainBatch })._batch = (ops, options) => {
      order.push("main");
      return mainBatch(ops, options);
    };
    const text = '{"bizStep":"shipping","readPoint":{"district":"江津区"}}';
    const record = { eventId: "0xaa", submissionSeq: 7, index: 1, orgId: "o", batchIds: ["0xbb"], recordTime: "t" };
    // Not synced by the caller: the bodies are synced all the same.
    await store.write([Store.put(store.events, keys.event("0xaa"), record), Store.putEventBody(7, 1, text)]);

    expect(order).to.deep.equal(["bodies", "main"]);
    expect(bodyBatches).to.have.length(1);
    expect(bodyBatches[0]!.sync).to.equal(true);
    expect(bodyBatches[0]!.ops.map((op) => [op.key, op.value])).to.deep.equal([["000000000007:0001", text]]);
    expect(batches).to.have.length(1);
    expect(batches[0]!.ops.map((op) => op.key)).to.deep.equal(["!events!evt:0xaa"]);
    expect(await store.eventBodies.get(keys.eventBody(7, 1))).to.equal(text);
    expect(await store.events.get(keys.event("0xaa"))).to.deep.equal(record);
    expect(await readEvent(store, "0xaa")).to.deep.equal({ ...record, body: JSON.parse(text) });
    expect(await readEvents(store, ["0xaa", "0xcc"])).to.deep.equal([{ ...record, body: JSON.parse(text) }, undefined]);
  });

  it("moves the journal generation on every write but a quiet one, and on writes made straight to the journal; refuses a quiet write to the journal", async function () {
    const start = store.journalGeneration;
    await store.write([Store.put(store.orgs, keys.org("0x01"), { name: "a" })]);
    expect(store.journalGeneration).to.equal(start + 1);
    await store.write([Store.put(store.scans, "scan:x", 1)], { quiet: true });
    expect(store.journalGeneration).to.equal(start + 1);
    await store.journal.put(keys.submission(1), { seq: 1 });
    await store.journal.del(keys.submission(1));
    await store.journal.batch([{ type: "put", key: keys.submission(2), value: { seq: 2 } }]);
    expect(store.journalGeneration).to.equal(start + 4);
    const refused = await store.write([Store.put(store.journal, keys.submission(3), { seq: 3 })], { quiet: true }).then(
      () => null,
      (error: Error) => error,
    );
    expect(refused?.message).to.equal("a quiet write must not touch the journal");
    expect(await store.journal.get(keys.submission(3))).to.equal(undefined);
  });

  it("writes none of the records when their bodies cannot be written", async function () {
    (store.eventBodies as unknown as { _batch: () => Promise<void> })._batch = () =>
      Promise.reject(new Error("disk full"));
    const record = { eventId: "0xaa", submissionSeq: 7, index: 0, orgId: "o", batchIds: [], recordTime: "t" };
    const write = store.write([Store.put(store.events, keys.event("0xaa"), record), Store.putEventBody(7, 0, "{}")]);
    expect(((await write.catch((e: unknown) => e)) as Error).message).to.equal("disk full");
    expect(batches).to.have.length(0);
    expect(await store.events.get(keys.event("0xaa"))).to.equal(undefined);
  });

  it("reads records that hold their own body as they are, and refuses a record whose body is lost", async function () {
    const legacy = {
      eventId: "0x01",
      submissionSeq: 1,
      index: 0,
      orgId: "o",
      batchIds: [],
      recordTime: "t",
      body: { a: 1 },
    };
    const lost = { eventId: "0x02", submissionSeq: 2, index: 3, orgId: "o", batchIds: [], recordTime: "t" };
    await store.write([
      Store.put(store.events, keys.event("0x01"), legacy),
      Store.put(store.events, keys.event("0x02"), lost),
    ]);
    expect(await readEvent(store, "0x01")).to.deep.equal(legacy);
    const refused = (await readEvents(store, ["0x01", "0x02"]).catch((e: unknown) => e)) as Error;
    expect(refused.message).to.contain("the store has lost the body of event 0x02 (submission 2, position 3)");
  });

  it("reads compact records with their submission's info (or header), next to records of the earlier layouts, each submission's once", async function () {
    const compact = (seq: number, index: number) => ({ submissionSeq: seq, index, batchIds: [`0xb${seq}`] });
    // Records of the layout before the compact one: id, organisation and record time in the record.
    const full = { eventId: "0x03", submissionSeq: 3, index: 0, orgId: "old", batchIds: [], recordTime: "t3" };
    await store.write([
      Store.put(store.journal, keys.submissionInfo(1), { orgId: "o1", acceptedAt: "t1" }),
      Store.put(store.journal, keys.submissionInfo(2), { orgId: "o2", acceptedAt: "t2" }),
      Store.put(store.events, keys.event("0x10"), compact(1, 0)),
      Store.put(store.events, keys.event("0x11"), compact(1, 1)),
      Store.put(store.events, keys.event("0x20"), compact(2, 0)),
      Store.put(store.events, keys.event("0x03"), full),
      Store.putEventBody(1, 0, '{"n":10}'),
      Store.putEventBody(1, 1, '{"n":11}'),
      Store.putEventBody(2, 0, '{"n":20}'),
      Store.putEventBody(3, 0, '{"n":3}'),
    ]);
    const { reads: infoReads } = recordGetMany(store.journal);

    const read = await readEvents(store, ["0x11", "0x03", "0xff", "0x20", "0x10"]);
    expect(read).to.deep.equal([
      { ...compact(1, 1), eventId: "0x11", orgId: "o1", recordTime: "t1", body: { n: 11 } },
      { ...full, body: { n: 3 } },
      undefined,
      { ...compact(2, 0), eventId: "0x20", orgId: "o2", recordTime: "t2", body: { n: 20 } },
      { ...compact(1, 0), eventId: "0x10", orgId: "o1", recordTime: "t1", body: { n: 10 } },
    ]);
    expect(infoReads).to.deep.equal([[keys.submissionInfo(1), keys.submissionInfo(2)]]);

    // An info is a copy of two fields of the header: read from the header when it is missing.
    await store.write([
      Store.put(store.events, keys.event("0x40"), compact(4, 0)),
      Store.putEventBody(4, 0, "{}"),
      Store.put(store.journal, keys.submission(4), { seq: 4, orgId: "o4", acceptedAt: "t4", eventIds: ["0x40"] }),
      Store.put(store.events, keys.event("0x50"), compact(5, 0)),
      Store.putEventBody(5, 0, "{}"),
    ]);
    expect(await readEvents(store, ["0x40"])).to.deep.equal([
      { ...compact(4, 0), eventId: "0x40", orgId: "o4", recordTime: "t4", body: {} },
    ]);
    const refused = (await readEvents(store, ["0x10", "0x50"]).catch((e: unknown) => e)) as Error;
    expect(refused.message).to.contain("the store has lost submission 5 (its header and info)");
  });

  it("keeps the event-body database in the store's folder, and reopens with it", async function () {
    await store.write([Store.putEventBody(1, 0, '{"x":"二"}')]);
    await store.close();
    store = await Store.open(dir);
    expect(await store.eventBodies.get(keys.eventBody(1, 0))).to.equal('{"x":"二"}');
    expect(path.dirname(store.eventBodies.location)).to.equal(dir);
  });

  it("closes the main database again when the event-body database cannot be opened", async function () {
    const other = await mkdtemp(path.join(os.tmpdir(), "yutrace-store-"));
    try {
      // A file where the event-body database's folder should be: LevelDB cannot open it.
      await writeFile(path.join(other, EVENT_BODIES_FOLDER), "not a folder");
      const failure = await Store.open(other).catch((e: unknown) => e);
      expect(failure).to.be.instanceOf(Error);
      // The main database was closed: its lock is free for the next opener.
      const main = new Level(other);
      await main.open();
      await main.close();
    } finally {
      await rm(other, { recursive: true, force: true });
    }
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
