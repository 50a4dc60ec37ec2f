/**
 * The gateway's LevelDB store: one database, one sublevel per concern (DESIGN §5), and a second one
 * for events' bodies (below). Records that belong together are written in one atomic `batch()` of
 * the main database; the journal is written with `sync: true` before a submission is acknowledged.
 *
 * Events' bodies — the bulk of the bytes ingest writes, never changed once written — are kept in a
 * second LevelDB, `<store>/events`, keyed by submission sequence number and position: its keys only
 * ever grow, so LevelDB moves its tables down the levels without rewriting them, where in the main
 * database every table of events was merged again and again with the randomly keyed records around
 * it (LevelDB's compaction took ~70 µs of CPU an event under ingest; ~37 µs with the bodies apart).
 * `write` puts a batch's bodies there first, synced, and then the main batch that refers to them:
 * a crash in between leaves bodies nothing refers to, which the next submission with that sequence
 * number overwrites; a record is never left without its body.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { Level } from "level";
import type { AbstractBatchOperation, AbstractSublevel } from "abstract-level";

import { keys } from "./keys";

export const SUBLEVELS = [
  "journal",
  "events",
  "batches",
  "products",
  "orgs",
  "anchors",
  "scans",
  "keys",
  "txlog",
  "meta",
  "certificates",
] as const;
export type SublevelName = (typeof SUBLEVELS)[number];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
export type Sublevel = AbstractSublevel<Level<string, Json>, string | Buffer | Uint8Array, string, Json>;
export type Operation = AbstractBatchOperation<Level<string, Json>, string, Json>;

/** Marks an operation for the event-body database (see `Store.putEventBody`). */
const EVENT_BODY = Symbol("event body");
type BodyOperation = { type: "put"; key: string; value: string; [EVENT_BODY]: true };
const isBody = (op: Operation): boolean => (op as Partial<BodyOperation>)[EVENT_BODY] === true;

/** The folder of the event-body database inside the store's folder (LevelDB leaves other names alone). */
export const EVENT_BODIES_FOLDER = "events";

/**
 * LevelDB batch options with `sync` as a non-enumerable property. abstract-level copies a batch's
 * options into each of its operations (`{ ...options, ...operation }`); with an enumerable `sync`
 * that copy leaves V8's fast path, and a batch of 1,000 operations took 13–18 ms of the main
 * thread instead of 4 ms (profiled; a quarter of ingest). classic-level reads `sync` from the
 * options object itself, own or not, so the write is still synced: strace shows one fdatasync per
 * batch, as with a plain `{ sync: true }`.
 */
function batchOptions(sync: boolean): object {
  return Object.defineProperty({}, "sync", { value: sync, enumerable: false });
}

export class Store {
  readonly db: Level<string, Json>;
  readonly journal: Sublevel;
  readonly events: Sublevel;
  readonly batches: Sublevel;
  readonly products: Sublevel;
  readonly orgs: Sublevel;
  readonly anchors: Sublevel;
  readonly scans: Sublevel;
  readonly keys: Sublevel;
  readonly txlog: Sublevel;
  readonly meta: Sublevel;
  /** Uploaded certificate documents by SHA-256 (binary values). */
  readonly certificates: Sublevel;
  /** Events' canonical JSON by `keys.eventBody(seq, index)`: the second database (see above). */
  readonly eventBodies: Level<string, string>;
  private writes = 0;
  /** Writes made straight to the journal sublevel, around `write` (see journalGeneration). */
  private journalWrites = 0;

  private constructor(
    db: Level<string, Json>,
    eventBodies: Level<string, string>,
    readonly location: string,
  ) {
    this.db = db;
    this.eventBodies = eventBodies;
    const sub = (name: SublevelName): Sublevel => db.sublevel<string, Json>(name, { valueEncoding: "json" });
    this.journal = sub("journal");
    this.events = sub("events");
    this.batches = sub("batches");
    this.products = sub("products");
    this.orgs = sub("orgs");
    this.anchors = sub("anchors");
    this.scans = sub("scans");
    this.keys = sub("keys");
    this.txlog = sub("txlog");
    this.meta = sub("meta");
    this.certificates = db.sublevel<string, Json>("certificates", { valueEncoding: "buffer" });
    // The sublevel's own event: only writes made on it directly (`journal.put`, `.del`, `.batch`),
    // not `write`'s batches of the whole database, which a listener on the database would slow
    // (abstract-level then copies every operation of every batch to emit it).
    this.journal.on("write", () => this.journalWrites++);
  }

  /** Opens (creating if needed) the store in folder `location`. */
  static async open(location: string): Promise<Store> {
    await mkdir(location, { recursive: true });
    const db = new Level<string, Json>(location, {
      valueEncoding: "json",
      // LevelDB's defaults (4 MB memtable, 2 MB tables) kept its compaction thread busy for over
      // half a core under ingest load (perf: DoCompactionWork, snappy, crc32c); larger ones rewrite
      // the data fewer times: ~7,000 → ~9,900 events/s on 2 cores, for up to 32 MB of memtables.
      writeBufferSize: 16 * 1024 * 1024,
      maxFileSize: 16 * 1024 * 1024,
    });
    await db.open();
    // Keys that only grow: its tables move down LevelDB's levels untouched, so small memtables cost
    // nothing more in compaction, and with a small block cache they keep the gateway's memory down
    // (pages are served from views kept rendered; bodies are read a page of events at a time).
    const eventBodies = new Level<string, string>(path.join(location, EVENT_BODIES_FOLDER), {
      valueEncoding: "utf8",
      writeBufferSize: 4 * 1024 * 1024,
      maxFileSize: 16 * 1024 * 1024,
      cacheSize: 4 * 1024 * 1024,
    });
    try {
      await eventBodies.open();
    } catch (error) {
      await db.close();
      throw error;
    }
    return new Store(db, eventBodies, location);
  }

  /**
   * Opens the store of a gateway's data folder from a command-line tool. LevelDB lets one process
   * in at a time, so a running gateway makes this fail: say so.
   */
  static async openForTool(dataDir: string): Promise<Store> {
    try {
      return await Store.open(path.join(dataDir, "store"));
    } catch (error) {
      throw new Error(
        `cannot open the store in ${dataDir} (is the gateway still running?): ${(error as Error).message}`,
      );
    }
  }

  /**
   * Writes `operations`: events' bodies (`putEventBody`) first, in one synced batch of the event-body
   * database, then the rest atomically in one batch of the main database; `sync` forces that one to
   * disk before resolving. If the bodies cannot be written, nothing else is. Every write but a
   * `quiet` one (scan counters) moves the store's `generation`, which read caches compare against.
   */
  async write(operations: Operation[], options: { sync?: boolean; quiet?: boolean } = {}): Promise<void> {
    if (operations.length === 0) return;
    // The journal's read caches trust `journalGeneration`, which a quiet write does not move.
    if (options.quiet && operations.some((op) => (op as { sublevel?: unknown }).sublevel === this.journal)) {
      throw new Error("a quiet write must not touch the journal");
    }
    try {
      const bodies: { type: "put"; key: string; value: string }[] = [];
      const rest: Operation[] = [];
      for (const op of operations) {
        if (isBody(op)) bodies.push({ type: "put", key: op.key, value: (op as unknown as BodyOperation).value });
        else rest.push(op);
      }
      // First, and synced whatever `sync` says: the records written next refer to them.
      if (bodies.length > 0) await this.eventBodies.batch(bodies, batchOptions(true));
      await this.db.batch(rest, batchOptions(options.sync ?? false));
    } finally {
      if (!options.quiet) this.writes++;
    }
  }

  /** Counts the writes so far: a cached view made at one generation is current while it holds. */
  get generation(): number {
    return this.writes;
  }

  /**
   * `generation`, and writes made straight to the journal sublevel as well, around `write` (the
   * gateway makes none; tests that tamper with a record do): while it holds, no journal record has
   * changed. (`journal.clear()` is not counted: nothing clears the journal.)
   */
  get journalGeneration(): number {
    return this.writes + this.journalWrites;
  }

  /** A `put` operation on sublevel `sublevel`, for `write`. */
  static put(sublevel: Sublevel, key: string, value: unknown): Operation {
    return { type: "put", sublevel, key, value } as Operation;
  }

  /**
   * A `put` of an event's body (its canonical JSON) in the event-body database, for `write`: the
   * event at `index` of submission `seq`. Bodies are written once and never deleted.
   */
  static putEventBody(seq: number, index: number, json: string): Operation {
    const op: BodyOperation = { type: "put", key: keys.eventBody(seq, index), value: json, [EVENT_BODY]: true };
    return op as unknown as Operation;
  }

  /** Whether `op` is a `putEventBody` (it has no sublevel: it goes to the event-body database). */
  static isEventBody(op: Operation): boolean {
    return isBody(op);
  }

  /** A `del` operation on sublevel `sublevel`, for `write`. */
  static del(sublevel: Sublevel, key: string): Operation {
    return { type: "del", sublevel, key } as Operation;
  }

  /** Every value in `sublevel` whose key is in `range`, in key order. */
  async values<T>(
    sublevel: Sublevel,
    range: { gte?: string; lt?: string; limit?: number; reverse?: boolean },
  ): Promise<T[]> {
    return (await sublevel.values(range).all()) as T[];
  }

  async close(): Promise<void> {
    await Promise.all([this.db.close(), this.eventBodies.close()]);
  }
}
