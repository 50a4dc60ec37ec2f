/**
 * `npm run restore -- <backup.ytbak> [--data-dir data]`
 *
 * Brings a backup made by `npm run backup` back into a data folder, for `npm start`:
 *  1. reads the whole file and checks it (header, framing, trailer, SHA-256) before writing anything;
 *  2. refuses a data folder whose store holds anything (or is in use: a gateway runs on it);
 *  3. writes every entry, raw, in LevelDB batches into `<data>/store.restoring` (event bodies into
 *     its event-body database), the last batches synced, checking the file again on the way (so a
 *     file changed meanwhile is caught too);
 *  4. only then renames it to `<data>/store`: a failed restore never leaves a half-written store
 *     that a gateway could start on.
 */
import { createReadStream } from "node:fs";
import { readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Level } from "level";

import { BackupError, readBackup, splitBackupEntries, type BackupSummary } from "../server/store/backup";
import { EVENT_BODIES_FOLDER } from "../server/store/store";
import {
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  Failure,
  UsageError,
  count,
  mb,
  runCommand,
  shown,
  syncFolder,
} from "./lib/cli";

const USAGE = `usage: npm run restore -- <backup-file> [--data-dir <folder>]

  <backup-file>        a backup written by \`npm run backup\`
  --data-dir <folder>  the data folder to restore into (default $YUTRACE_DATA_DIR, or data); its
                       store must be new or empty

exit codes: 0 restored; 1 refused or failed (a damaged file, a store that is not empty, a write error):
nothing is left in the store; 2 usage`;

const EXIT = { ok: EXIT_OK, failed: EXIT_FAILED, usage: EXIT_USAGE } as const;
const READ_CHUNK = 1024 * 1024;

type RawLevel = Level<Buffer, Buffer>;

interface Options {
  file: string;
  dataDir: string;
}

function parseArgs(argv: string[]): Options {
  let file: string | null = null;
  let dataDir = process.env.YUTRACE_DATA_DIR || "data";
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--data-dir") {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new UsageError("--data-dir needs a value");
      dataDir = next;
    } else if (arg === "--help" || arg === "-h") throw new UsageError("");
    else if (arg.startsWith("--")) throw new UsageError(`unknown option ${arg}`);
    else if (file === null) file = arg;
    else throw new UsageError(`unexpected argument ${arg}`);
  }
  if (file === null) throw new UsageError("give the backup file");
  return { file, dataDir: path.resolve(dataDir) };
}

/** A progress line: rewritten in place on a terminal, a line every 10 s otherwise. */
function progress(): { show(text: string, force?: boolean): void; done(): void } {
  const tty = process.stdout.isTTY === true;
  let last = Date.now();
  let any = false;
  return {
    show(text, force = false) {
      const now = Date.now();
      if (!force && now - last < (tty ? 250 : 10_000)) return;
      last = now;
      any = true;
      if (tty) process.stdout.write(`\r  ${text.padEnd(68)}`);
      else console.log(`  ${text}`);
    },
    done() {
      if (tty && any) process.stdout.write("\n");
    },
  };
}

/** Reads the whole backup through the checker, giving it the entries if asked. */
async function readBackupFile(
  file: string,
  size: number,
  label: string,
  onEntries?: (entries: [Buffer, Buffer][]) => Promise<void>,
): Promise<BackupSummary> {
  const bar = progress();
  let read = 0;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for await (const chunk of createReadStream(file, { highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) {
      read += chunk.length;
      bar.show(`${label} ${mb(read)} of ${mb(size)} (${Math.floor((read / Math.max(size, 1)) * 100)}%)`);
      yield chunk;
    }
  }
  try {
    const summary = await readBackup(chunks(), { onEntries });
    bar.show(`${label} ${mb(read)} of ${mb(size)} (100%)`, true);
    return summary;
  } finally {
    bar.done();
  }
}

/**
 * Whether the LevelDB folder `folder` is missing or holds no entry. Decided from its files, without
 * opening it (opening a LevelDB store rewrites its log into a table): only a store with no table
 * and empty logs is opened, to be sure that no gateway is using it.
 */
async function isEmptyStore(folder: string): Promise<boolean> {
  const files = await readdir(folder).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw error;
  });
  if (files === null || files.length === 0) return true;
  if (!files.includes("CURRENT")) {
    throw new Failure(EXIT.failed, `refused: ${shown(folder)} holds files but no LevelDB store; nothing was written`);
  }
  for (const name of files) {
    if (/\.(ldb|sst)$/.test(name)) return false;
    if (name.endsWith(".log") && (await stat(path.join(folder, name))).size > 0) return false;
  }
  const db: RawLevel = new Level<Buffer, Buffer>(folder, {
    keyEncoding: "buffer",
    valueEncoding: "buffer",
    createIfMissing: false,
  });
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code === "LEVEL_LOCKED") {
      throw new Failure(
        EXIT.failed,
        `refused: the store in ${shown(folder)} is in use (is a gateway running on it?); nothing was written`,
      );
    }
    throw new Failure(EXIT.failed, `cannot open the store in ${shown(folder)}: ${(error as Error).message}`);
  }
  try {
    return (await db.keys({ limit: 1 }).all()).length === 0;
  } finally {
    await db.close();
  }
}

/** Refuses if another process holds the LevelDB folder `folder` open (another restore writing it). */
async function refuseIfInUse(folder: string): Promise<void> {
  const db: RawLevel = new Level<Buffer, Buffer>(folder, { createIfMissing: false });
  try {
    await db.open();
    await db.close();
  } catch (error) {
    if ((error as { cause?: { code?: string } }).cause?.code === "LEVEL_LOCKED") {
      throw new Failure(EXIT.failed, `refused: ${shown(folder)} is in use: is another restore writing into it?`);
    }
    // Not a store that opens (a restore stopped while creating it): removed below.
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const { file, dataDir } = options;
  const size = await stat(file).then(
    (s) => {
      if (!s.isFile()) throw new Failure(EXIT.usage, `${file} is not a file`);
      return s.size;
    },
    (error: NodeJS.ErrnoException) => {
      throw new Failure(EXIT.usage, `cannot read ${file}: ${error.code ?? error.message}`);
    },
  );
  const started = Date.now();

  // 1. Only into a new or empty store (asked first: it is quick) …
  const storeDir = path.join(dataDir, "store");
  const refuseStore = () =>
    new Failure(
      EXIT.failed,
      `refused: ${shown(storeDir)} already holds a store (a gateway may be running on it). Restore only into ` +
        `a new data folder (--data-dir), or stop the gateway and move ${shown(storeDir)} away first; ` +
        "nothing was written",
    );
  if (!(await isEmptyStore(storeDir))) throw refuseStore();

  // 2. … and the whole file must be sound before anything is written.
  console.log(`checking ${file} …`);
  let checked: BackupSummary;
  try {
    checked = await readBackupFile(file, size, "checking");
  } catch (error) {
    if (error instanceof BackupError) {
      throw new Failure(EXIT.failed, `refused: ${file}: ${error.message}. Nothing was written`);
    }
    throw error;
  }
  const { header } = checked;
  console.log(
    `  a backup of ${header.createdAt}: ${count(checked.trailer.entries)} entries, ${mb(checked.bytes)}, ` +
      `sha256 ${checked.sha256}`,
  );

  // 3. Write it beside the store, then move it into place (if the store is still empty).
  const restoring = path.join(dataDir, "store.restoring");
  if (
    await stat(restoring).then(
      () => true,
      () => false,
    )
  ) {
    await refuseIfInUse(restoring);
    console.log(`  removing ${shown(restoring)}, left by a restore that did not finish`);
    await rm(restoring, { recursive: true, force: true });
  }
  // New, raw: the main database, and the event-body database inside its folder.
  const rawLevel = (folder: string): RawLevel =>
    new Level<Buffer, Buffer>(folder, {
      keyEncoding: "buffer",
      valueEncoding: "buffer",
      createIfMissing: true,
      errorIfExists: true,
      writeBufferSize: 16 * 1024 * 1024,
      maxFileSize: 16 * 1024 * 1024,
    });
  const db = rawLevel(restoring);
  const bodies = rawLevel(path.join(restoring, EVENT_BODIES_FOLDER));
  let written = 0;
  try {
    await db.open();
    await bodies.open();
    console.log(`restoring into ${shown(storeDir)} …`);
    // Each batch is written when the next arrives, so that the last one can be the synced write.
    let held: [Buffer, Buffer][] | null = null;
    // The last entry written to each database: the synced write at the end puts it again when the
    // last batch has nothing for that database (LevelDB skips an empty batch, sync or not), so that
    // both are on disk before the store is moved into place.
    const lastWritten: { root?: [Buffer, Buffer]; bodies?: [Buffer, Buffer] } = {};
    const put = async (entries: [Buffer, Buffer][], sync: boolean) => {
      const { root, eventBodies } = splitBackupEntries(entries);
      const write = async (target: RawLevel, list: [Buffer, Buffer][], which: "root" | "bodies") => {
        const known = lastWritten[which];
        const chosen = list.length === 0 && sync && known ? [known] : list;
        if (chosen.length === 0) return;
        await target.batch(
          chosen.map(([key, value]) => ({ type: "put" as const, key, value })),
          { sync },
        );
        lastWritten[which] = chosen.at(-1);
      };
      await Promise.all([write(db, root, "root"), write(bodies, eventBodies, "bodies")]);
    };
    const restored = await readBackupFile(file, size, "restoring", async (entries) => {
      if (held) {
        await put(held, false);
        written += held.length;
      }
      held = entries;
    });
    if (restored.sha256 !== checked.sha256) {
      throw new Failure(EXIT.failed, `refused: ${file} changed while it was being restored; nothing was left`);
    }
    const last = held as [Buffer, Buffer][] | null;
    if (last) {
      await put(last, true);
      written += last.length;
    }
    let stored = 0;
    for (const each of [db, bodies]) {
      const keysOf = each.keys();
      try {
        for (let batch = await keysOf.nextv(10_000); batch.length > 0; batch = await keysOf.nextv(10_000)) {
          stored += batch.length;
        }
      } finally {
        await keysOf.close();
      }
    }
    if (stored !== checked.trailer.entries) {
      throw new Failure(EXIT.failed, `the new store holds ${stored} entries, not ${checked.trailer.entries}`);
    }
    await bodies.close();
    await db.close();
    if (!(await isEmptyStore(storeDir))) throw refuseStore();
    // None, or an empty store (checked just now): moved aside first, so that there is never a
    // moment with neither it nor the restored store in place.
    const aside = `${storeDir}.empty-${process.pid}`;
    const hadStore = await rename(storeDir, aside).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return false;
        throw error;
      },
    );
    await rename(restoring, storeDir);
    await syncFolder(dataDir);
    if (hadStore) await rm(aside, { recursive: true, force: true });
  } catch (error) {
    await bodies.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    await rm(restoring, { recursive: true, force: true }).catch(() => undefined);
    if (error instanceof Failure) throw error;
    if (error instanceof BackupError) {
      throw new Failure(EXIT.failed, `refused: ${file}: ${error.message}. Nothing was left in ${shown(storeDir)}`);
    }
    const code = (error as NodeJS.ErrnoException).code ?? (error as { cause?: { code?: string } }).cause?.code;
    throw new Failure(
      EXIT.failed,
      `restoring failed after ${count(written)} entries (${code ?? (error as Error).message}); ` +
        `nothing was left in ${shown(storeDir)}`,
    );
  }

  const seconds = (Date.now() - started) / 1000;
  console.log(`restored ${count(written)} entries into ${shown(storeDir)} in ${seconds.toFixed(1)} s (synced)`);
  console.log(`  the store as it was at ${header.createdAt}`);
  if (header.chain) console.log(`  chain ${header.chain.chainId}, ledger ${header.chain.ledger}`);
  console.log(`
next: start the gateway on it, with the configuration the backed-up gateway had:
  YUTRACE_DATA_DIR=${shown(dataDir)} npm start
  - on the local chain the gateway replays the txlog (${count(header.counts.lastTxSeq)} transactions) onto its new
    hardhat node: the same ledger at the same address, then anchors what was still waiting;
  - the same YUTRACE_KEY_ENCRYPTION_KEY: the custodial signing keys are in the store, encrypted with it
    (demo mode: the built-in demo key);
  - API keys are in the store as hashes: every key that worked still works. Files beside the store are
    not in the backup: in demo mode copy admin-api-key.txt and demo-api-keys.json from the old data
    folder, or the gateway makes a new admin key file on its first start (the old admin key works too).`);
}

runCommand("restore", USAGE, main);
