/**
 * The backup format (server/store/backup.ts) on a real LevelDB in a temp folder: a backup holds
 * every key and value of every sublevel raw (binary certificates too) as of one snapshot, however
 * the store changes while it streams; it reads back whatever the chunking; and a file cut short
 * at any byte, or with any one byte altered, is refused.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Level } from "level";

import { readEvent } from "../../server/store/events";
import { keys } from "../../server/store/keys";
import type { ChainIdentity } from "../../server/store/records";
import { EVENT_BODIES_FOLDER, Store } from "../../server/store/store";
import {
  BackupError,
  backupFileName,
  readBackup,
  splitBackupEntries,
  sublevelOf,
  writeBackup,
  type BackupSummary,
} from "../../server/store/backup";

const CHAIN: ChainIdentity = {
  chainId: "31337",
  ledger: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  deployBlock: 1,
  genesisHash: `0x${"ab".repeat(32)}`,
};
const EVERY_BYTE = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

async function* chunksOf(bytes: Buffer, size: number | (() => number)): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length;) {
    const n = typeof size === "number" ? size : size();
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

/** Reads a backup held in memory, collecting its entries (as strings of hex, for comparing). */
async function read(bytes: Buffer, chunk: number | (() => number) = 64 * 1024) {
  const entries: [string, string][] = [];
  const summary = await readBackup(chunksOf(bytes, chunk), {
    onEntries: (batch) => {
      for (const [key, value] of batch) entries.push([key.toString("hex"), value.toString("hex")]);
    },
  });
  return { summary, entries };
}

/** Every raw key and value of a LevelDB folder, in key order, as hex. */
async function rawEntries(db: Level<string, unknown>): Promise<[string, string][]> {
  const all = await db.iterator<Buffer, Buffer>({ keyEncoding: "buffer", valueEncoding: "buffer" }).all();
  return all.map(([key, value]) => [key.toString("hex"), value.toString("hex")]);
}

/** A store's entries as a backup holds them: the root database's, then the event bodies' behind 0xFF. */
async function storeEntries(store: Store): Promise<[string, string][]> {
  const bodies = await rawEntries(store.eventBodies as unknown as Level<string, unknown>);
  return [...(await rawEntries(store.db)), ...bodies.map(([key, value]): [string, string] => [`ff${key}`, value])];
}

describe("store backups (format)", function () {
  let dir: string;
  let store: Store;

  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), "yutrace-backup-"));
    store = await Store.open(path.join(dir, "store"));
    await store.write([
      Store.put(store.meta, keys.chain(), CHAIN),
      Store.put(store.meta, keys.cursor(), { block: 12, hash: `0x${"cd".repeat(32)}` }),
      Store.put(store.journal, keys.lastSubmissionSeq(), 3),
      ...[1, 2, 3].map((seq) => Store.put(store.journal, keys.submission(seq), { seq, note: `提交 ${seq}` })),
      ...[1, 2, 3, 4].map((seq) => Store.put(store.txlog, keys.tx(seq), { seq, raw: `0x${seq}` })),
      Store.put(store.events, keys.event(`0x${"01".repeat(32)}`), { submissionSeq: 1, index: 0 }),
      Store.putEventBody(1, 0, '{"bizStep":"shipping","地点":"江津区"}'),
      Store.putEventBody(1, 1, "{}"),
      Store.put(store.keys, keys.apiKey("f".repeat(64)), { orgId: "admin" }),
      Store.put(store.certificates, keys.certificate("9f".repeat(32)), EVERY_BYTE),
      Store.put(store.certificates, keys.certificate("00".repeat(32)), Buffer.alloc(0)),
    ]);
  });

  afterEach(async function () {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function backup(options: Parameters<typeof writeBackup>[2] = {}, during?: () => Promise<void>) {
    const chunks: Buffer[] = [];
    const summary = await writeBackup(
      store,
      async (chunk) => {
        chunks.push(chunk);
        await during?.();
      },
      options,
    );
    return { summary, bytes: Buffer.concat(chunks), chunks };
  }

  it("holds every key and value of every sublevel raw, with a header and trailer that describe them", async function () {
    const before = Date.now();
    const { summary, bytes } = await backup();
    const { summary: back, entries } = await read(bytes);
    expect(entries).to.deep.equal(await storeEntries(store));
    expect(back).to.deep.equal(summary);
    expect(summary.bytes).to.equal(bytes.length);
    expect(summary.header).to.include({ format: "yutrace-backup", version: 2 });
    expect(summary.header.chain).to.deep.equal(CHAIN);
    expect(summary.header.counts).to.deep.equal({ lastSubmissionSeq: 3, lastTxSeq: 4 });
    expect(Date.parse(summary.header.createdAt)).to.be.within(before, Date.now());
    expect(summary.trailer.entries).to.equal(entries.length);
    expect(summary.trailer.counts).to.deep.equal({
      certificates: 2,
      "event-bodies": 2,
      events: 1,
      journal: 4,
      keys: 1,
      meta: 2,
      txlog: 4,
    });
    // The header is the first line, readable as text; the checksum the last.
    const text = bytes.toString("latin1");
    expect(JSON.parse(text.slice(0, text.indexOf("\n")))).to.deep.equal(summary.header);
    expect(text.endsWith(`sha256:${summary.sha256}\n`)).to.equal(true);
    expect(backupFileName("2026-11-22T06:01:02.345Z")).to.equal("yutrace-20261122T060102Z.ytbak");
    expect(sublevelOf(Buffer.from("!journal!sub:1"))).to.equal("journal");
    expect(sublevelOf(Buffer.from("plain"))).to.equal("");
    expect(sublevelOf(Buffer.from("\xff000000000001:0000", "latin1"))).to.equal("event-bodies");
  });

  it("is the store as of one snapshot, whatever is written while it streams", async function () {
    for (let i = 0; i < 300; i++) {
      await store.write([Store.put(store.events, keys.event(`0x${i.toString(16).padStart(64, "0")}`), { i })]);
    }
    const expected = await storeEntries(store);
    let n = 0;
    // Tiny chunks and read batches: the sink is awaited hundreds of times, and writes each time.
    const { bytes, chunks } = await backup({ readBatch: 7, chunkBytes: 512 }, async () => {
      n++;
      await store.write([
        Store.put(store.journal, keys.submission(1000 + n), { late: n }),
        Store.put(store.journal, keys.lastSubmissionSeq(), 1000 + n),
        Store.put(store.txlog, keys.tx(100 + n), { late: n }),
        Store.putEventBody(1000 + n, 0, `{"late":${n}}`),
        Store.del(store.events, keys.event(`0x${(n % 300).toString(16).padStart(64, "0")}`)),
      ]);
    });
    expect(chunks.length).to.be.greaterThan(20);
    const { summary, entries } = await read(bytes);
    expect(entries).to.deep.equal(expected);
    expect(summary.header.counts).to.deep.equal({ lastSubmissionSeq: 3, lastTxSeq: 4 });
  });

  it("reads back the same whatever the chunking of the source", async function () {
    const { bytes } = await backup();
    const whole = await read(bytes, bytes.length);
    expect((await read(bytes, 1)).entries).to.deep.equal(whole.entries);
    expect((await read(bytes, 3)).summary).to.deep.equal(whole.summary);
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 97) + 1;
    expect((await read(bytes, random)).entries).to.deep.equal(whole.entries);
  });

  it("restored raw into a new LevelDB, reads back through the Store like the original", async function () {
    const { bytes } = await backup();
    const target = path.join(dir, "restored");
    const db = new Level<Buffer, Buffer>(target, { keyEncoding: "buffer", valueEncoding: "buffer" });
    const bodies = new Level<Buffer, Buffer>(path.join(target, EVENT_BODIES_FOLDER), {
      keyEncoding: "buffer",
      valueEncoding: "buffer",
    });
    await db.open();
    await bodies.open();
    const puts = (list: [Buffer, Buffer][]) => list.map(([key, value]) => ({ type: "put" as const, key, value }));
    await readBackup(chunksOf(bytes, 100), {
      onEntries: async (batch) => {
        const { root, eventBodies } = splitBackupEntries(batch);
        await Promise.all([db.batch(puts(root)), bodies.batch(puts(eventBodies))]);
      },
    });
    await Promise.all([db.close(), bodies.close()]);
    const restored = await Store.open(target);
    try {
      expect(await storeEntries(restored)).to.deep.equal(await storeEntries(store));
      expect(await restored.eventBodies.get(keys.eventBody(1, 0))).to.equal('{"bizStep":"shipping","地点":"江津区"}');
      expect(await restored.meta.get(keys.chain())).to.deep.equal(CHAIN);
      expect(await restored.certificates.get(keys.certificate("9f".repeat(32)))).to.deep.equal(EVERY_BYTE);
      expect(await restored.journal.get(keys.submission(2))).to.deep.equal({ seq: 2, note: "提交 2" });
    } finally {
      await restored.close();
    }
  });

  it("reads a version 1 backup, from before event bodies had their own database: records keep their bodies", async function () {
    // A version 1 file: a store whose event record holds its body, no event-body entries, version 1
    // in the header and the checksum made again over the changed bytes.
    const body = { bizStep: "shipping", 地点: "江津区" };
    const record = {
      eventId: `0x${"02".repeat(32)}`,
      submissionSeq: 2,
      index: 0,
      orgId: "o",
      batchIds: [],
      recordTime: "t",
    };
    await store.write([Store.put(store.events, keys.event(record.eventId), { ...record, body })]);
    await store.eventBodies.clear();
    const { bytes } = await backup();
    const text = bytes.toString("latin1");
    const withoutChecksum = text.slice(0, text.lastIndexOf("sha256:")).replace('"version":2', '"version":1');
    const sha256 = createHash("sha256").update(Buffer.from(withoutChecksum, "latin1")).digest("hex");
    const v1 = Buffer.from(`${withoutChecksum}sha256:${sha256}\n`, "latin1");

    const { summary, entries } = await read(v1);
    expect(summary.header.version).to.equal(1);
    expect(summary.trailer.counts).to.not.have.property("event-bodies");
    const target = path.join(dir, "restored-v1");
    const db = new Level<Buffer, Buffer>(target, { keyEncoding: "buffer", valueEncoding: "buffer" });
    await db.batch(
      entries.map(([key, value]) => ({
        type: "put" as const,
        key: Buffer.from(key, "hex"),
        value: Buffer.from(value, "hex"),
      })),
    );
    await db.close();
    const restored = await Store.open(target);
    try {
      expect(await readEvent(restored, record.eventId)).to.deep.equal({ ...record, body });
    } finally {
      await restored.close();
    }
  });

  it("refuses a file cut short at any byte", async function () {
    const { bytes } = await backup();
    const kinds = new Set<string>();
    for (let length = 0; length < bytes.length; length++) {
      const error = await read(bytes.subarray(0, length), 50).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, `cut to ${length} bytes`).to.be.instanceOf(BackupError);
      kinds.add((error as BackupError).kind);
    }
    expect([...kinds]).to.deep.equal(["truncated"]);
  });

  it("refuses a file with any one byte altered, or with bytes added", async function () {
    const { bytes } = await backup();
    for (let at = 0; at < bytes.length; at++) {
      for (const flip of [0x01, 0x80]) {
        const altered = Buffer.from(bytes);
        altered[at]! ^= flip;
        const error = await read(altered, 4096).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error, `byte ${at} ^ ${flip}`).to.be.instanceOf(BackupError);
      }
    }
    const longer = await read(Buffer.concat([bytes, Buffer.from("\n")])).catch((e: unknown) => e);
    expect(longer).to.be.instanceOf(BackupError).with.property("kind", "damaged");
  });

  it("names what is wrong: a value altered (checksum), not a backup, a newer version", async function () {
    const { bytes } = await backup();
    const altered = Buffer.from(bytes);
    altered[bytes.indexOf("江津区") + 1]! ^= 0x01;
    const checksum = (await read(altered).catch((e: unknown) => e)) as BackupError;
    expect(checksum.kind).to.equal("damaged");
    expect(checksum.message).to.match(
      /does not match its checksum \(SHA-256 [0-9a-f]{64}, the file says [0-9a-f]{64}\)/,
    );
    const other = (await read(Buffer.from("PK\u0003\u0004 a zip file")).catch((e: unknown) => e)) as BackupError;
    expect(other.kind).to.equal("not_a_backup");
    const newer = Buffer.from(bytes.toString("latin1").replace('"version":2', '"version":3'), "latin1");
    expect(((await read(newer).catch((e: unknown) => e)) as BackupError).kind).to.equal("unsupported_version");
    const summary: BackupSummary = (await read(bytes)).summary;
    expect(summary.sha256).to.match(/^[0-9a-f]{64}$/);
  });
});
