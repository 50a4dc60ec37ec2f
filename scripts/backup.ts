/**
 * `npm run backup -- [--url http://127.0.0.1:8080] [--api-key-file data/admin-api-key.txt] [--out file.ytbak]`
 *
 * Backs up a RUNNING gateway's store: downloads `GET /api/v1/admin/backup` (a consistent snapshot,
 * streamed; see server/store/backup.ts) into a temporary file next to the output, checking it as it
 * arrives (framing, trailer, SHA-256), syncs it and only then moves it into place. A failed backup
 * leaves no file behind.
 */
import { constants } from "node:fs";
import { access, link, mkdir, open, readFile, unlink, type FileHandle } from "node:fs/promises";
import path from "node:path";

import { BACKUP_EXTENSION, BackupError, backupFileName, readBackup, type BackupSummary } from "../server/store/backup";
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

const USAGE = `usage: npm run backup -- [--url <gateway-url>] [--api-key-file <file>] [--out <file${BACKUP_EXTENSION}>]

  --url <url>            the running gateway (default http://127.0.0.1:$YUTRACE_PORT, or :8080)
  --api-key-file <file>  a file holding the platform admin's API key (default: $YUTRACE_ADMIN_API_KEY,
                         else <data dir>/admin-api-key.txt, the demo key)
  --out <file>           where to write the backup (default backups/yutrace-<snapshot time>${BACKUP_EXTENSION});
                         never overwritten

exit codes: 0 written and checked; 1 the backup failed (stream cut, damaged, refused by the gateway);
2 usage; 3 the gateway cannot be reached; 4 the key was refused; 5 the output cannot be written (disk full)`;

const EXIT = {
  ok: EXIT_OK,
  failed: EXIT_FAILED,
  usage: EXIT_USAGE,
  unreachable: 3,
  keyRefused: 4,
  cannotWrite: 5,
} as const;

interface Options {
  url: string;
  apiKey: string;
  /** Null: the default name, from the snapshot's time. */
  out: string | null;
}

async function parseArgs(argv: string[]): Promise<Options> {
  let url = `http://127.0.0.1:${process.env.YUTRACE_PORT || "8080"}`;
  let keyFile: string | null = null;
  let out: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    if (arg === "--url") url = value();
    else if (arg === "--api-key-file") keyFile = value();
    else if (arg === "--out") out = value();
    else if (arg === "--help" || arg === "-h") throw new UsageError("");
    else throw new UsageError(`unexpected argument ${arg}`);
  }
  try {
    new URL(url);
  } catch {
    throw new UsageError(`--url ${url} is not a URL`);
  }
  let apiKey: string;
  if (keyFile === null && process.env.YUTRACE_ADMIN_API_KEY) {
    apiKey = process.env.YUTRACE_ADMIN_API_KEY;
  } else {
    const file = keyFile ?? path.join(process.env.YUTRACE_DATA_DIR || "data", "admin-api-key.txt");
    try {
      apiKey = (await readFile(file, "utf8")).trim();
    } catch (error) {
      throw new Failure(
        EXIT.usage,
        `cannot read the admin API key from ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): ` +
          "give --api-key-file <file>, or set YUTRACE_ADMIN_API_KEY",
      );
    }
    if (!apiKey) throw new Failure(EXIT.usage, `${file} is empty: it should hold the platform admin's API key`);
  }
  if (out !== null && !out.endsWith(BACKUP_EXTENSION)) out += BACKUP_EXTENSION;
  return { url: url.replace(/\/+$/, ""), apiKey, out };
}

/** What a failed write means for the operator. */
function writeFailure(file: string, error: unknown, written: number): Failure {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new Failure(
      EXIT.cannotWrite,
      `the disk is full: ${mb(written)} of the backup were written to ${path.dirname(file)} before ${code}; ` +
        "the partial file was removed. Free some space or choose another --out",
    );
  }
  return new Failure(EXIT.cannotWrite, `cannot write ${file}: ${(error as Error).message}`);
}

async function requestBackup(options: Options): Promise<Response> {
  const url = `${options.url}/api/v1/admin/backup`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { Authorization: `Bearer ${options.apiKey}` } });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Failure(
      EXIT.unreachable,
      `cannot reach the gateway at ${options.url} (${cause?.code ?? cause?.message ?? (error as Error).message}): ` +
        "is it running? Is --url right?",
    );
  }
  if (res.status === 200) return res;
  const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  const said = body?.error ? `${body.error.code}: ${body.error.message}` : res.statusText;
  if (res.status === 401 || res.status === 403) {
    throw new Failure(
      EXIT.keyRefused,
      `the gateway refused the API key (${res.status} ${said}). A backup needs the platform admin's key: ` +
        "--api-key-file <file>, or YUTRACE_ADMIN_API_KEY",
    );
  }
  if (res.status === 404) {
    throw new Failure(
      EXIT.failed,
      `${options.url} has no backup endpoint (404): is it a YuTrace gateway, and new enough?`,
    );
  }
  throw new Failure(EXIT.failed, `the gateway answered ${res.status} (${said})`);
}

async function main(): Promise<void> {
  const options = await parseArgs(process.argv.slice(2));
  const folder = path.resolve(options.out ? path.dirname(options.out) : "backups");
  if (options.out) {
    const exists = await access(options.out, constants.F_OK).then(
      () => true,
      () => false,
    );
    if (exists) throw new Failure(EXIT.usage, `${options.out} exists already; a backup never overwrites a file`);
  }
  try {
    await mkdir(folder, { recursive: true });
  } catch (error) {
    throw writeFailure(folder, error, 0);
  }

  const started = Date.now();
  const res = await requestBackup(options);
  const partial = path.join(folder, `.yutrace-backup-${process.pid}-${started}.partial`);
  let file: FileHandle | null = null;
  let finished = false;
  const removePartial = async () => {
    await file?.close().catch(() => undefined);
    file = null;
    await unlink(partial).catch(() => undefined);
  };
  const interrupted = () => {
    void removePartial().then(() => {
      console.error("\ninterrupted: no backup was written");
      process.exit(130);
    });
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);

  try {
    try {
      file = await open(partial, "wx", 0o600);
    } catch (error) {
      throw writeFailure(partial, error, 0);
    }
    let received = 0;
    let entries = 0;
    let lastShown = started;
    const tty = process.stdout.isTTY === true;
    const show = (force = false) => {
      const now = Date.now();
      if (!force && now - lastShown < (tty ? 250 : 10_000)) return;
      lastShown = now;
      const seconds = Math.max((now - started) / 1000, 0.001);
      const line = `  received ${mb(received)}, ${count(entries)} entries, ${mb(received / seconds)}/s`;
      if (tty) process.stdout.write(`\r${line.padEnd(70)}`);
      else console.log(line);
    };
    const body = res.body;
    if (!body) throw new Failure(EXIT.failed, "the gateway sent no body");
    /** The download, written to the partial file chunk by chunk before the checker reads it. */
    async function* saved(): AsyncGenerator<Uint8Array> {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        try {
          // writeFile loops until every byte is written (a bare write may store fewer on a full disk).
          await file!.writeFile(chunk);
        } catch (error) {
          throw writeFailure(partial, error, received);
        }
        received += chunk.length;
        yield chunk;
        show(); // the checker has read it
      }
    }
    console.log(`backing up the store of ${options.url} …`);
    let summary: BackupSummary;
    try {
      summary = await readBackup(saved(), {
        onEntries: (batch) => {
          entries += batch.length;
        },
      });
    } catch (error) {
      if (error instanceof Failure) throw error;
      if (error instanceof BackupError) {
        throw new Failure(
          EXIT.failed,
          `the backup stream is unusable: ${error.message}. The gateway may have stopped or failed ` +
            "while sending it (see its log); nothing was written",
        );
      }
      throw new Failure(
        EXIT.failed,
        `the download broke off after ${mb(received)} (${(error as Error).message}): the gateway stopped or ` +
          "the connection dropped; nothing was written",
      );
    }
    show(true);
    if (tty) process.stdout.write("\n");
    try {
      await file.sync();
      await file.close();
      file = null;
    } catch (error) {
      throw writeFailure(partial, error, received);
    }
    const out = options.out ?? path.join(folder, backupFileName(summary.header.createdAt));
    try {
      // A link, not a rename: it fails instead of replacing a file that appeared meanwhile.
      await link(partial, out);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") {
        throw new Failure(EXIT.usage, `${out} exists already; a backup never overwrites a file`);
      }
      throw writeFailure(out, error, received);
    }
    await unlink(partial);
    await syncFolder(folder);
    finished = true;

    const seconds = (Date.now() - started) / 1000;
    const { header, trailer } = summary;
    const bySublevel = Object.entries(trailer.counts)
      .map(([name, n]) => `${name || "(root)"} ${count(n)}`)
      .join(", ");
    console.log(`backup written: ${shown(out)}`);
    console.log(`  snapshot of the store at ${header.createdAt}`);
    console.log(`  ${count(trailer.entries)} entries (${bySublevel})`);
    console.log(`  ${count(summary.bytes)} bytes (${mb(summary.bytes)}) in ${seconds.toFixed(1)} s`);
    if (header.chain) console.log(`  chain ${header.chain.chainId}, ledger ${header.chain.ledger}`);
    console.log(`  sha256 ${summary.sha256}`);
    console.log(`restore it with: npm run restore -- ${shown(out)} --data-dir <empty folder>`);
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    if (!finished) await removePartial();
  }
}

runCommand("backup", USAGE, main);
