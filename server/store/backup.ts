/**
 * Backups of the store: a consistent snapshot of every key and value, as one stream
 * (`GET /api/v1/admin/backup`, `npm run backup`), and its reader (`npm run restore`).
 *
 * Consistency: LevelDB lets one process in, so the running gateway makes the backup. `writeBackup`
 * notes the time, then takes ONE LevelDB snapshot of the root database; the header's figures and
 * every entry are read from that snapshot (a few gets and one iterator), so the backup is the store
 * exactly as it was at one instant: every atomic batch is in it whole or not at all, and every
 * write that finished before `createdAt` — every submission answered 202 before then — is in it.
 * That is a state the store could have been left in by a crash at that instant, which start-up
 * already recovers from (the txlog is replayed onto a new local chain, the anchorer re-sends what
 * was in flight).
 *
 * The event-body database (`Store.eventBodies`) is read from a snapshot taken right after the root
 * database's: bodies are written before the records that refer to them, so every body a record in
 * the first snapshot needs is in the second.
 *
 * Format "yutrace-backup" version 2 (version 1, without event bodies, is still read), a `.ytbak` file:
 *
 *   header    one line of JSON (UTF-8, at most 64 KiB) ending in "\n": `BackupHeader`
 *   entries   in key order, each: key length (uint32 big-endian), key bytes,
 *             value length (uint32 big-endian), value bytes — raw, as LevelDB holds them
 *             (keys carry their sublevel's prefix, e.g. `!journal!sub:000000000001`); the
 *             event-body database's entries come last, their keys prefixed with the byte 0xFF
 *             (which no UTF-8 key starts with): `\xFF000000000001:0000`
 *   end       uint32 0xFFFFFFFF
 *   trailer   one line of JSON ending in "\n": `BackupTrailer` (entry counts, content bytes)
 *   checksum  "sha256:" + 64 lower-case hex digits + "\n": SHA-256 of every byte before this line
 *
 * Nothing may follow the checksum line. A truncated file lacks its end, trailer or checksum; an
 * altered byte anywhere changes the checksum (or breaks the framing first): `readBackup` refuses
 * both with a `BackupError`.
 */
import { createHash, type Hash } from "node:crypto";

import { keys } from "./keys";
import type { ChainIdentity } from "./records";
import type { Store } from "./store";

export const BACKUP_FORMAT = "yutrace-backup";
export const BACKUP_VERSION = 2;
/** Versions `readBackup` reads. */
const READABLE_VERSIONS = [1, 2];
export const BACKUP_EXTENSION = ".ytbak";
export const BACKUP_MEDIA_TYPE = "application/octet-stream";

const END_MARKER = 0xffffffff;
const MAX_LINE_BYTES = 64 * 1024;
/** Sanity bounds: the store's keys are short; its largest values are certificates (10 MB) and serial lists. */
const MAX_KEY_BYTES = 64 * 1024;
const MAX_VALUE_BYTES = 512 * 1024 * 1024;
const CHECKSUM_PREFIX = "sha256:";
const CHECKSUM_LINE_BYTES = CHECKSUM_PREFIX.length + 64 + 1;
/** The bytes every backup starts with: the header's first member. */
const MAGIC = Buffer.from(`{"format":"${BACKUP_FORMAT}"`, "utf8");

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: number;
  /**
   * Taken just before the snapshot: every write the gateway finished before this time (every 202
   * it answered) is in the backup; later ones may or may not be.
   */
  createdAt: string;
  /** Which chain and ledger the store belongs to (`meta` `chain`); null if it was never attached. */
  chain: ChainIdentity | null;
  /** From the same snapshot: the last submission sequence number and the last txlog sequence number. */
  counts: { lastSubmissionSeq: number; lastTxSeq: number };
}

export interface BackupTrailer {
  /** Entries in the file. */
  entries: number;
  /** Entries by sublevel name ("" for keys outside any sublevel). */
  counts: Record<string, number>;
  /** Bytes from the start of the file to the end marker, inclusive. */
  contentBytes: number;
}

export interface BackupSummary {
  header: BackupHeader;
  trailer: BackupTrailer;
  /** Hex SHA-256 from the checksum line. */
  sha256: string;
  /** Size of the whole file. */
  bytes: number;
}

export type BackupErrorKind = "not_a_backup" | "unsupported_version" | "truncated" | "damaged";

/** A backup file that cannot be used, and why. */
export class BackupError extends Error {
  constructor(
    readonly kind: BackupErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "BackupError";
  }
}

/** The file name of a backup made at `createdAt`: `yutrace-YYYYMMDDTHHMMSSZ.ytbak`. */
export function backupFileName(createdAt: string): string {
  return `yutrace-${createdAt.replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}${BACKUP_EXTENSION}`;
}

/** The first byte of an event-body database entry's key in a backup (see the format above). */
export const EVENT_BODY_KEY_PREFIX = 0xff;
/** What the trailer's counts call the event-body database's entries. */
export const EVENT_BODY_COUNT = "event-bodies";

/**
 * The sublevel a raw backup key belongs to: `!journal!sub:…` → "journal"; `EVENT_BODY_COUNT` for
 * the event-body database's entries; "" for other keys.
 */
export function sublevelOf(key: Uint8Array): string {
  if (key[0] === EVENT_BODY_KEY_PREFIX) return EVENT_BODY_COUNT;
  if (key[0] !== 0x21) return "";
  const end = key.indexOf(0x21, 1);
  return end > 0 ? Buffer.from(key.buffer, key.byteOffset + 1, end - 1).toString("utf8") : "";
}

/**
 * Entries read from a backup, split by the database they belong to: the root database's as they
 * are, the event-body database's without their 0xFF prefix.
 */
export function splitBackupEntries(entries: readonly [Buffer, Buffer][]): {
  root: [Buffer, Buffer][];
  eventBodies: [Buffer, Buffer][];
} {
  const root: [Buffer, Buffer][] = [];
  const eventBodies: [Buffer, Buffer][] = [];
  for (const [key, value] of entries) {
    if (key[0] === EVENT_BODY_KEY_PREFIX) eventBodies.push([key.subarray(1), value]);
    else root.push([key, value]);
  }
  return { root, eventBodies };
}

/** The root-database key of `key` in sublevel `name`, as LevelDB holds it. */
const rootKey = (name: string, key: string) => Buffer.from(`!${name}!${key}`, "utf8");

// ---------------------------------------------------------------- writing

export interface WriteBackupOptions {
  /** Entries read from LevelDB at a time; default 1,000. */
  readBatch?: number;
  /** Bytes gathered before a chunk goes to `sink`; default 256 KiB. */
  chunkBytes?: number;
  /** Called after each chunk with the entries and bytes so far. */
  onProgress?(entries: number, bytes: number): void;
  /** Called with the header once it is read from the snapshot, before the first chunk. */
  onHeader?(header: BackupHeader): void;
}

/**
 * Writes a backup of `store` to `sink`, one chunk at a time: `sink` resolving is the backpressure
 * (it should resolve once the chunk is taken, e.g. on a socket's 'drain'), so at most one chunk
 * and one read batch are in memory. A `sink` that rejects stops the backup; the snapshot and the
 * iterator are released either way.
 */
export async function writeBackup(
  store: Store,
  sink: (chunk: Buffer) => Promise<void>,
  options: WriteBackupOptions = {},
): Promise<BackupSummary> {
  const readBatch = options.readBatch ?? 1000;
  const chunkBytes = options.chunkBytes ?? 256 * 1024;
  // The time first, then the snapshot: whatever finished before `createdAt` is in the snapshot.
  const createdAt = new Date().toISOString();
  const snapshot = store.db.snapshot();
  let bodySnapshot: ReturnType<Store["eventBodies"]["snapshot"]> | undefined;
  try {
    // Second: every body a record in `snapshot` refers to was written before it (see above).
    bodySnapshot = store.eventBodies.snapshot();
    const read = { snapshot };
    const chain = ((await store.meta.get(keys.chain(), read)) as ChainIdentity | undefined) ?? null;
    const lastSubmissionSeq = Number((await store.journal.get(keys.lastSubmissionSeq(), read)) ?? 0);
    const [lastTx] = await store.txlog.keys({ ...keys.txRange, reverse: true, limit: 1, ...read }).all();
    const header: BackupHeader = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      createdAt,
      chain,
      counts: { lastSubmissionSeq, lastTxSeq: lastTx === undefined ? 0 : Number(lastTx) },
    };
    options.onHeader?.(header);

    const hash = createHash("sha256");
    let bytes = 0;
    let entries = 0;
    const counts: Record<string, number> = {};
    let parts: Buffer[] = [];
    let pending = 0;
    const flush = async () => {
      if (pending === 0) return;
      const chunk = parts.length === 1 ? parts[0]! : Buffer.concat(parts, pending);
      parts = [];
      pending = 0;
      hash.update(chunk);
      bytes += chunk.length;
      await sink(chunk);
      options.onProgress?.(entries, bytes);
    };
    const push = (part: Buffer) => {
      parts.push(part);
      pending += part.length;
    };

    push(Buffer.from(JSON.stringify(header) + "\n", "utf8"));
    const copy = async (db: Store["db"], read: object, prefix: Buffer | null) => {
      const iterator = db.iterator<Buffer, Buffer>({ keyEncoding: "buffer", valueEncoding: "buffer", ...read });
      try {
        for (;;) {
          const batch = await iterator.nextv(readBatch);
          if (batch.length === 0) break;
          for (const [key, value] of batch) {
            const keyLength = key.length + (prefix?.length ?? 0);
            const frame = Buffer.allocUnsafe(8 + keyLength + value.length);
            frame.writeUInt32BE(keyLength, 0);
            if (prefix) prefix.copy(frame, 4);
            key.copy(frame, 4 + (prefix?.length ?? 0));
            frame.writeUInt32BE(value.length, 4 + keyLength);
            value.copy(frame, 8 + keyLength);
            push(frame);
            entries++;
            const name = prefix ? EVENT_BODY_COUNT : sublevelOf(key);
            counts[name] = (counts[name] ?? 0) + 1;
          }
          if (pending >= chunkBytes) await flush();
        }
      } finally {
        await iterator.close();
      }
    };
    await copy(store.db, { snapshot }, null);
    const bodies = store.eventBodies as unknown as Store["db"];
    await copy(bodies, { snapshot: bodySnapshot }, Buffer.from([EVENT_BODY_KEY_PREFIX]));
    const end = Buffer.alloc(4);
    end.writeUInt32BE(END_MARKER, 0);
    push(end);
    await flush();

    const trailer: BackupTrailer = { entries, counts, contentBytes: bytes };
    const trailerLine = Buffer.from(JSON.stringify(trailer) + "\n", "utf8");
    hash.update(trailerLine);
    const sha256 = hash.digest("hex");
    const checksumLine = Buffer.from(`${CHECKSUM_PREFIX}${sha256}\n`, "utf8");
    const tail = Buffer.concat([trailerLine, checksumLine]);
    bytes += tail.length;
    await sink(tail);
    options.onProgress?.(entries, bytes);
    return { header, trailer, sha256, bytes };
  } finally {
    await Promise.all([snapshot.close(), bodySnapshot?.close()]);
  }
}

// ---------------------------------------------------------------- reading

/** Pulls bytes from an async source, hashing every byte once it has been consumed. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private hashedTo = 0;
  /** Bytes of the source dropped from `buf` before its start. */
  private base = 0;
  /** Null once the digest is taken: bytes after that are not hashed. */
  private hash: Hash | null = createHash("sha256");

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** Bytes consumed so far. */
  get offset(): number {
    return this.base + this.pos;
  }

  get available(): number {
    return this.buf.length - this.pos;
  }

  /** Makes `n` bytes available; false if the source ends first. */
  async fill(n: number): Promise<boolean> {
    while (this.available < n) {
      const next = await this.source.next();
      if (next.done) return false;
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      this.hashConsumed();
      const rest = this.buf.subarray(this.pos);
      this.base += this.pos;
      this.buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
      this.pos = 0;
      this.hashedTo = 0;
    }
    return true;
  }

  /** Whether the source has no byte left. */
  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }

  /** The next `n` bytes (available), without consuming them. */
  peek(n: number): Buffer {
    return this.buf.subarray(this.pos, this.pos + n);
  }

  take(n: number): Buffer {
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  uint32(): number {
    const value = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  /** A line of at most `max` bytes (without its "\n"), or null if the source ends before one. */
  async line(max: number, what: string): Promise<Buffer | null> {
    for (let scanned = 0; ;) {
      const at = this.buf.indexOf(0x0a, this.pos + scanned);
      if (at >= 0 && at - this.pos < max) {
        const line = this.buf.subarray(this.pos, at);
        this.pos = at + 1;
        return line;
      }
      scanned = this.available;
      if (scanned >= max) throw new BackupError("damaged", `the ${what} line is longer than ${max} bytes`);
      if (!(await this.fill(scanned + 1))) return null;
    }
  }

  /** Hashes what was consumed since the last call. */
  hashConsumed(): void {
    if (this.hash && this.pos > this.hashedTo) this.hash.update(this.buf.subarray(this.hashedTo, this.pos));
    this.hashedTo = this.pos;
  }

  /** SHA-256 (hex) of every byte consumed so far; later bytes are not hashed. */
  digest(): string {
    this.hashConsumed();
    const digest = this.hash!.digest("hex");
    this.hash = null;
    return digest;
  }
}

export interface ReadBackupOptions {
  /**
   * Gets the entries in file order, a batch at a time (as much as one read of the source holds).
   * The buffers stay valid after the call. Only ever given entries of a file whose framing holds
   * so far: the checksum is known only at the end, so a caller that writes them must be able to
   * throw the result away when `readBackup` rejects.
   */
  onEntries?(entries: [key: Buffer, value: Buffer][]): Promise<void> | void;
  /** Called with the header as soon as it has been read. */
  onHeader?(header: BackupHeader): Promise<void> | void;
}

/**
 * Reads and checks a whole backup from `source` (a file's read stream, an HTTP body): header,
 * framing, key order, trailer counts, the checksum, and that the header agrees with the entries.
 * Resolves with the summary; rejects with a `BackupError` saying what is wrong.
 */
export async function readBackup(
  source: AsyncIterable<Uint8Array>,
  options: ReadBackupOptions = {},
): Promise<BackupSummary> {
  const reader = new ByteReader(source[Symbol.asyncIterator]());
  const header = await readHeader(reader);
  await options.onHeader?.(header);

  const counts: Record<string, number> = {};
  let entries = 0;
  let previous: Buffer | null = null;
  let batch: [Buffer, Buffer][] = [];
  let chainValue: Buffer | null = null;
  let lastSubmissionSeq: Buffer | null = null;
  let lastTxKey: Buffer | null = null;
  const txPrefix = rootKey("txlog", "");
  const chainKey = rootKey("meta", keys.chain());
  const seqKey = rootKey("journal", keys.lastSubmissionSeq());
  const deliver = async () => {
    if (batch.length === 0) return;
    const ready = batch;
    batch = [];
    await options.onEntries?.(ready);
  };
  const need = async (n: number, what: string) => {
    if (reader.available >= n) return;
    await deliver();
    if (!(await reader.fill(n))) {
      throw new BackupError(
        "truncated",
        `the file ends in the middle of ${what}, after ${entries} entries (${reader.offset} bytes), ` +
          "without its end marker, trailer and checksum: it is truncated (an interrupted download or copy?)",
      );
    }
  };

  for (;;) {
    await need(4, "an entry");
    const keyLength = reader.uint32();
    if (keyLength === END_MARKER) break;
    if (keyLength === 0 || keyLength > MAX_KEY_BYTES) {
      throw new BackupError(
        "damaged",
        `entry ${entries + 1} at byte ${reader.offset - 4} has a key of ${keyLength} bytes`,
      );
    }
    await need(keyLength + 4, "an entry");
    const key = reader.take(keyLength);
    const valueLength = reader.uint32();
    if (valueLength > MAX_VALUE_BYTES) {
      throw new BackupError(
        "damaged",
        `entry ${entries + 1} at byte ${reader.offset - 4} claims a value of ${valueLength} bytes`,
      );
    }
    await need(valueLength, "an entry");
    const value = reader.take(valueLength);
    if (previous && Buffer.compare(previous, key) >= 0) {
      throw new BackupError("damaged", `entry ${entries + 1} at byte ${reader.offset} is out of key order`);
    }
    if (header.version === 1 && key[0] === EVENT_BODY_KEY_PREFIX) {
      throw new BackupError("damaged", `entry ${entries + 1} is an event body, which version 1 backups do not hold`);
    }
    previous = key;
    entries++;
    const name = sublevelOf(key);
    counts[name] = (counts[name] ?? 0) + 1;
    if (name === "meta" && key.equals(chainKey)) chainValue = value;
    else if (name === "journal" && key.equals(seqKey)) lastSubmissionSeq = value;
    else if (name === "txlog" && key.subarray(0, txPrefix.length).equals(txPrefix)) lastTxKey = key;
    batch.push([key, value]);
  }
  await deliver();
  const contentBytes = reader.offset;

  const trailerLine = await reader.line(MAX_LINE_BYTES, "trailer");
  if (trailerLine === null) {
    throw new BackupError(
      "truncated",
      `the file ends after its ${entries} entries, before its trailer: it is truncated`,
    );
  }
  const sha256 = reader.digest();
  const checksumLine = await reader.line(CHECKSUM_LINE_BYTES, "checksum");
  if (checksumLine === null) {
    throw new BackupError("truncated", "the file ends before its checksum line: it is truncated");
  }
  const bytes = reader.offset;
  if (!(await reader.atEnd())) {
    throw new BackupError("damaged", `there are bytes after the checksum line (at byte ${bytes})`);
  }
  const claimed = /^sha256:([0-9a-f]{64})$/.exec(checksumLine.toString("latin1"))?.[1];
  if (!claimed) throw new BackupError("damaged", "the checksum line is malformed");
  if (claimed !== sha256) {
    throw new BackupError(
      "damaged",
      `its content does not match its checksum (SHA-256 ${sha256}, the file says ${claimed}): ` +
        "bytes were altered or lost",
    );
  }

  // The checksum holds: what follows can only fail for a file made wrongly, not one damaged later.
  let trailer: BackupTrailer;
  try {
    trailer = JSON.parse(trailerLine.toString("utf8")) as BackupTrailer;
  } catch {
    throw new BackupError("damaged", "the trailer is not JSON");
  }
  const sameCounts = JSON.stringify(sortKeys(trailer.counts ?? {})) === JSON.stringify(sortKeys(counts));
  if (trailer.entries !== entries || trailer.contentBytes !== contentBytes || !sameCounts) {
    throw new BackupError(
      "damaged",
      `the trailer says ${trailer.entries} entries in ${trailer.contentBytes} bytes, ` +
        `the file holds ${entries} in ${contentBytes}`,
    );
  }
  const storedChain = chainValue ? (JSON.parse(chainValue.toString("utf8")) as ChainIdentity) : null;
  if (JSON.stringify(storedChain) !== JSON.stringify(header.chain)) {
    throw new BackupError("damaged", "the header's chain identity is not the one in the entries");
  }
  const seq = lastSubmissionSeq ? Number(JSON.parse(lastSubmissionSeq.toString("utf8"))) : 0;
  const txSeq = lastTxKey ? Number(lastTxKey.subarray(txPrefix.length).toString("utf8")) : 0;
  if (seq !== header.counts.lastSubmissionSeq || txSeq !== header.counts.lastTxSeq) {
    throw new BackupError("damaged", "the header's counts do not match the entries (not one snapshot?)");
  }
  return { header, trailer, sha256, bytes };
}

async function readHeader(reader: ByteReader): Promise<BackupHeader> {
  const notABackup = () =>
    new BackupError("not_a_backup", `it is not a YuTrace backup (it does not start with ${MAGIC.toString()})`);
  if (!(await reader.fill(MAGIC.length))) {
    const start = reader.peek(reader.available);
    if (start.length === 0) throw new BackupError("truncated", "the file is empty");
    if (MAGIC.subarray(0, start.length).equals(start)) {
      throw new BackupError("truncated", "the file ends inside its header: it is truncated");
    }
    throw notABackup();
  }
  if (!reader.peek(MAGIC.length).equals(MAGIC)) throw notABackup();
  const line = await reader.line(MAX_LINE_BYTES, "header");
  if (line === null) throw new BackupError("truncated", "the file ends inside its header: it is truncated");
  let header: BackupHeader;
  try {
    header = JSON.parse(line.toString("utf8")) as BackupHeader;
  } catch {
    throw new BackupError("damaged", "its header is not JSON");
  }
  if (header.format !== BACKUP_FORMAT) throw notABackup();
  if (!READABLE_VERSIONS.includes(header.version)) {
    throw new BackupError(
      "unsupported_version",
      `it is a version ${header.version} backup; this YuTrace reads versions ${READABLE_VERSIONS.join(" and ")}`,
    );
  }
  if (typeof header.createdAt !== "string" || !header.counts || header.chain === undefined) {
    throw new BackupError("damaged", "its header lacks createdAt, chain or counts");
  }
  return header;
}

function sortKeys(record: Record<string, number>): [string, number][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
