/**
 * `yutrace import <file.csv>`: bulk import of batches or events.
 *
 * 1. Every row is checked before anything is sent: the file's encoding and CSV syntax, the header,
 *    each cell against the gateway's own schemas, repeated rows, and — asking the gateway — that
 *    the products and batches the rows name exist and the organisation may record each step. All
 *    problems are listed by row and column; with any, nothing is imported.
 * 2. `--dry-run` stops there.
 * 3. Events go in submissions of up to 500 rows, in file order. Each row's key is its event id
 *    (SHA-256 of the event's canonical JSON), and each submission's Idempotency-Key is derived from
 *    its rows' keys, so an import that was interrupted — killed, network lost, gateway restarted —
 *    can be run again: submissions recorded before are answered as replays (or, recorded under
 *    another grouping, refused as duplicates and left out), the rest are sent. Each row ends up
 *    recorded exactly once. The ids the gateway answers are checked against the ones computed here.
 *    Progress is kept in the CLI's folder (imports/), so a rerun skips what was recorded, and a
 *    self-signed submission is resent with the very signature and nonce it was first sent with.
 * 4. Batches are registered one request per row (four at a time; a row waits for rows above it
 *    that are its inputs). A batch's GTIN and lot are its key: a row registered before is found
 *    and compared, and counts as done if it is the same batch.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";

import type { Wallet } from "ethers";

import { batchIdOf } from "../server/domain/batch-id";
import { canonicalHash } from "../server/domain/canonical";
import type { TraceEvent } from "../server/domain/events";
import { STEP_RULES } from "../server/domain/rules";
import { explain, GatewayError, type GatewayClient } from "./client";
import { writePrivateFile } from "./config";
import { columnLetter, CsvError, decodeCsv, parseCsv, type Encoding } from "./csv";
import { CliError, EXIT_FAILED, EXIT_USAGE } from "./errors";
import { Progress } from "./progress";
import {
  batchRow,
  eventRow,
  formatProblem,
  kindOf,
  mapHeader,
  type BatchRow,
  type EventRow,
  type ImportKind,
  type RowProblem,
} from "./rows";
import type { Session } from "./session";
import { eventIds, signRequest, signSubmission } from "./signing";

export interface ImportOptions {
  file: string;
  kind?: ImportKind;
  encoding: Encoding;
  dryRun: boolean;
  /** Events per submission. */
  chunk: number;
  signLocally: boolean;
}

export interface ImportSummary {
  kind: ImportKind;
  rows: number;
  /** Rows recorded by this run. */
  recorded: number;
  /** Rows found recorded before (an earlier, interrupted run). */
  already: number;
  submissions?: number;
  seconds: number;
}

const BATCH_CONCURRENCY = 4;
const LOOKUP_CONCURRENCY = 8;

export async function runImport(session: Session, options: ImportOptions): Promise<ImportSummary> {
  const started = Date.now();
  const bytes = await readFile(options.file).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(
      `cannot read ${options.file}: ${error.code === "ENOENT" ? "no such file" : error.message}`,
      EXIT_USAGE,
    );
  });
  let table;
  let encoding;
  try {
    const decoded = decodeCsv(bytes, options.encoding);
    encoding = decoded.encoding;
    table = parseCsv(decoded.text);
  } catch (error) {
    if (error instanceof CsvError) {
      throw new CliError(`${options.file} cannot be read as CSV; nothing was imported`, EXIT_FAILED, [
        formatProblem({ row: error.row, message: error.message }),
      ]);
    }
    throw error;
  }
  const kind = options.kind ?? kindOf(table.header);
  if (!kind) {
    throw new CliError(
      `cannot tell what ${options.file} holds: a batches file has a production_date column, an events file a ` +
        "biz_step column (or say --type batches|events)",
      EXIT_USAGE,
    );
  }
  const name = path.basename(options.file);
  process.stderr.write(`${name}: ${table.records.length.toLocaleString("en-US")} ${kind} rows, ${encoding}\n`);

  // 1. Every row, locally.
  const { columns, problems } = mapHeader(table.header, kind);
  if (problems.length > 0) throw rowsRefused(options.file, problems);
  const rows: (BatchRow | EventRow)[] = [];
  for (const record of table.records) {
    const result = kind === "batches" ? batchRow(record, table, columns) : eventRow(record, table, columns);
    if (Array.isArray(result)) problems.push(...result);
    else rows.push(result);
  }
  if (rows.length === 0 && problems.length === 0)
    throw new CliError(`${options.file} has no rows to import`, EXIT_USAGE);
  problems.push(...(kind === "batches" ? repeatedBatches(rows as BatchRow[]) : repeatedEvents(rows as EventRow[])));

  // 1b. What the well-formed rows name, asking the gateway: every problem of the file in one report.
  const org = await session.organisation().catch((error: unknown) => {
    throw explain(error);
  });
  const links = new Map<string, string>();
  const at: At = (row, key) => {
    const index = columns.get(key);
    return index === undefined ? { row } : { row, column: table.header[index], letter: columnLetter(index) };
  };
  problems.push(
    ...(kind === "batches"
      ? await checkBatchReferences(session, rows as BatchRow[], at)
      : await checkEventReferences(session, rows as EventRow[], org.roles, links, at)),
  );
  if (problems.length > 0) throw rowsRefused(options.file, problems);
  const wallet = await session.signing(options.signLocally);

  if (options.dryRun) {
    process.stderr.write(`dry run: all ${rows.length.toLocaleString("en-US")} rows are valid; nothing was sent\n`);
    return { kind, rows: rows.length, recorded: 0, already: 0, seconds: (Date.now() - started) / 1000 };
  }
  const summary =
    kind === "batches"
      ? await importBatches(session, rows as BatchRow[], wallet)
      : await importEvents(session, options, bytes, rows as EventRow[], links, wallet);
  return { ...summary, seconds: (Date.now() - started) / 1000 };
}

function rowsRefused(file: string, problems: RowProblem[]): CliError {
  const sorted = [...problems].sort((a, b) => a.row - b.row || (a.letter ?? "").localeCompare(b.letter ?? ""));
  const rows = new Set(sorted.map((p) => p.row)).size;
  return new CliError(
    `${file}: ${problems.length} problem(s) in ${rows} row(s); nothing was imported`,
    EXIT_FAILED,
    sorted.map(formatProblem),
  );
}

const batchKey = (gtin: string, lot: string) => `${gtin}/${lot}`;

/** Where a problem of row `row` sits: the column of key `key`, as the file names and letters it. */
type At = (row: number, key: string) => Pick<RowProblem, "row" | "column" | "letter">;

function repeatedBatches(rows: BatchRow[]): RowProblem[] {
  const first = new Map<string, number>();
  const problems: RowProblem[] = [];
  for (const { row, body } of rows) {
    const key = batchKey(body.gtin, body.lot);
    const earlier = first.get(key);
    if (earlier !== undefined) problems.push({ row, message: `batch ${key} is also in row ${earlier}` });
    else first.set(key, row);
  }
  return problems;
}

function repeatedEvents(rows: EventRow[]): RowProblem[] {
  const first = new Map<string, number>();
  const problems: RowProblem[] = [];
  for (const { row, checked } of rows) {
    const [id] = eventIds([checked]);
    const earlier = first.get(id!);
    if (earlier !== undefined) problems.push({ row, message: `the same event as row ${earlier}` });
    else first.set(id!, row);
  }
  return problems;
}

/** Runs `work` over `items`, `limit` at a time, in order of start. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(runners);
}

interface BatchView {
  batchId: string;
  producer: string;
  metadataHash: string;
  status: string;
  digitalLink: string;
}

/** The registered batch `gtin`/`lot`, or null. */
async function findBatch(client: GatewayClient, gtin: string, lot: string): Promise<BatchView | null> {
  try {
    const query = new URLSearchParams({ gtin, lot });
    return (await client.get<{ batch: BatchView }>(`/api/v1/batches?${query}`)).body.batch;
  } catch (error) {
    if (error instanceof GatewayError && (error.code === "unknown_batch" || error.status === 404)) return null;
    if (error instanceof GatewayError && error.status === 400) return null; // not a valid key: the row check says why
    throw explain(error);
  }
}

async function checkBatchReferences(session: Session, rows: BatchRow[], at: At): Promise<RowProblem[]> {
  const org = await session.organisation();
  const products = (await session.client.get<{ products: { gtin: string }[] }>("/api/v1/me/products")).body.products;
  const own = new Set(products.map((p) => p.gtin));
  const problems: RowProblem[] = [];
  const inFile = new Map(rows.map(({ row, body }) => [batchKey(body.gtin, body.lot), row]));
  const outside = new Map<string, RowProblem[]>();
  for (const { row, body } of rows) {
    if (!own.has(body.gtin)) {
      problems.push({
        ...at(row, "gtin"),
        message: `product ${body.gtin} is not registered by ${org.name}: add it first (yutrace products add)`,
      });
    }
    for (const input of body.inputs) {
      const key = batchKey(input.gtin, input.lot);
      const line = inFile.get(key);
      if (line !== undefined && line >= row) {
        problems.push({
          ...at(row, "inputs"),
          message: `input ${key} is registered further down (row ${line}): move that row above`,
        });
      } else if (line === undefined) {
        const problem = { ...at(row, "inputs"), message: `input batch ${key} is not registered` };
        outside.set(key, [...(outside.get(key) ?? []), problem]);
      }
    }
  }
  await pool([...outside.keys()], LOOKUP_CONCURRENCY, async (key) => {
    const [gtin, lot] = splitKey(key);
    if (await findBatch(session.client, gtin, lot)) outside.delete(key);
  });
  for (const list of outside.values()) problems.push(...list);
  return problems;
}

const splitKey = (key: string): [string, string] => [key.slice(0, 14), key.slice(15)];

async function checkEventReferences(
  session: Session,
  rows: EventRow[],
  roles: readonly string[],
  links: Map<string, string>,
  at: At,
): Promise<RowProblem[]> {
  const problems: RowProblem[] = [];
  const org = await session.organisation();
  for (const { row, checked } of rows) {
    const step = checked.bizStep;
    const allowed = STEP_RULES[step].roles;
    if (!allowed.some((role) => roles.includes(role))) {
      problems.push({
        ...at(row, "biz_step"),
        message: `${org.name} (${roles.join(", ")}) may not record ${step}: it needs the role ${allowed.join(" or ")}`,
      });
    }
  }
  const keys = [...new Set(rows.map(({ batch }) => batchKey(batch.gtin, batch.lot)))];
  const missing = new Set<string>();
  const progress = keys.length > 50 ? new Progress("checking batches", keys.length, "batches") : null;
  await pool(keys, LOOKUP_CONCURRENCY, async (key) => {
    const [gtin, lot] = splitKey(key);
    const batch = await findBatch(session.client, gtin, lot);
    if (batch) links.set(key, batch.digitalLink);
    else missing.add(key);
    progress?.tick();
  });
  progress?.finish();
  for (const { row, batch } of rows) {
    const key = batchKey(batch.gtin, batch.lot);
    if (missing.has(key)) {
      problems.push({ ...at(row, "lot"), message: `batch ${key} is not registered (import or add it first)` });
    }
  }
  return problems;
}

// ---------------------------------------------------------------- batches

async function importBatches(session: Session, rows: BatchRow[], wallet: Wallet | null) {
  const org = await session.organisation();
  const progress = new Progress("importing batches", rows.length, "rows");
  const done = new Map<string, Promise<boolean>>();
  const failures: RowProblem[] = [];
  let recorded = 0;
  let already = 0;
  const registerRow = async ({ row, body }: BatchRow): Promise<boolean> => {
    const waits = body.inputs.map((input) => done.get(batchKey(input.gtin, input.lot)));
    for (const [i, wait] of waits.entries()) {
      if (wait && !(await wait)) {
        failures.push({
          row,
          message: `not sent: its input ${batchKey(body.inputs[i]!.gtin, body.inputs[i]!.lot)} failed`,
        });
        return false;
      }
    }
    const { inputs, ...metadata } = body;
    const metadataHash = canonicalHash(metadata);
    for (let attempt = 1; ; attempt++) {
      try {
        const authorization = wallet
          ? await signRequest(
              wallet,
              await session.domain(),
              "RegisterBatch",
              {
                gtin: BigInt(body.gtin),
                lot: body.lot,
                metadataHash,
                parents: inputs.map((input) => batchIdOf(input.gtin, input.lot)),
              },
              Number((await session.freshMe()).ledgerNonce),
            )
          : undefined;
        await session.client.post("/api/v1/batches", authorization ? { ...body, authorization } : body, {
          retry: true,
          onRetry: (why, ms) => progress.note(`row ${row}: ${why}; trying again in ${Math.ceil(ms / 1000)} s`),
        });
        recorded++;
        return true;
      } catch (error) {
        if (error instanceof GatewayError && error.code === "batch_exists") {
          const existing = await findBatch(session.client, body.gtin, body.lot);
          if (existing && existing.producer === org.orgId && existing.metadataHash === metadataHash) {
            already++;
            return true;
          }
          failures.push({
            row,
            message: `batch ${batchKey(body.gtin, body.lot)} is registered already, with other data`,
          });
          return false;
        }
        if (error instanceof GatewayError && error.code === "wrong_nonce" && attempt < 3) continue;
        if (error instanceof GatewayError) {
          failures.push({ row, message: `${error.code}: ${error.message}` });
          return false;
        }
        throw error;
      } finally {
        progress.tick();
      }
    }
  };
  for (const row of rows) {
    let settle!: (ok: boolean) => void;
    done.set(batchKey(row.body.gtin, row.body.lot), new Promise((resolve) => (settle = resolve)));
    (row as BatchRow & { settle?: (ok: boolean) => void }).settle = settle;
  }
  await pool(rows, wallet ? 1 : BATCH_CONCURRENCY, async (row) => {
    const settle = (row as BatchRow & { settle: (ok: boolean) => void }).settle;
    try {
      settle(await registerRow(row));
    } catch (error) {
      settle(false);
      throw error;
    }
  });
  progress.finish();
  if (failures.length > 0) {
    throw new CliError(
      `${recorded + already} of ${rows.length} batches are registered; ${failures.length} row(s) failed. ` +
        "Fix them and run the same import again: rows registered already are recognised.",
      EXIT_FAILED,
      failures.sort((a, b) => a.row - b.row).map(formatProblem),
    );
  }
  return { kind: "batches" as const, rows: rows.length, recorded, already };
}

// ---------------------------------------------------------------- events

interface ImportState {
  file: string;
  gateway: string;
  orgId: string;
  fileSha256: string;
  chunk: number;
  /** Submissions recorded, by chunk number. */
  recorded: Record<string, { submissionId: string; events: number; already: boolean }>;
  /** Self-custody: the signed body's nonce and signature of a chunk, saved before it is sent. */
  signed: Record<string, { nonce: number; signature: string; ids: string }>;
}

async function importEvents(
  session: Session,
  options: ImportOptions,
  bytes: Buffer,
  rows: EventRow[],
  links: Map<string, string>,
  wallet: Wallet | null,
) {
  const org = await session.organisation();
  const fileSha256 = createHash("sha256").update(bytes).digest("hex");
  const stateId = createHash("sha256")
    .update(`${session.client.base.origin}|${org.orgId}|${fileSha256}|${options.chunk}`)
    .digest("hex")
    .slice(0, 32);
  const stateFile = path.join(session.dir, "imports", `${stateId}.json`);
  const state: ImportState = (await readState(stateFile)) ?? {
    file: path.resolve(options.file),
    gateway: session.client.base.origin,
    orgId: org.orgId,
    fileSha256,
    chunk: options.chunk,
    recorded: {},
    signed: {},
  };
  const save = () => writePrivateFile(stateFile, `${JSON.stringify(state)}\n`);

  const events = rows.map(({ batch, event }) => event(links.get(batchKey(batch.gtin, batch.lot))!));
  const chunks: number[][] = [];
  for (let i = 0; i < rows.length; i += options.chunk) {
    chunks.push(Array.from({ length: Math.min(options.chunk, rows.length - i) }, (_, k) => i + k));
  }
  const before = Object.keys(state.recorded).length;
  if (before > 0) {
    process.stderr.write(`resuming: ${before} of ${chunks.length} submissions were recorded by an earlier run\n`);
  }
  const progress = new Progress("importing events", rows.length, "events");
  let recorded = 0;
  let already = 0;
  let done = 0;
  for (const [k, indexes] of chunks.entries()) {
    const previous = state.recorded[k];
    if (previous) {
      already += indexes.length;
      progress.tick(indexes.length);
      continue;
    }
    const outcome = await sendChunk(session, state, save, k, indexes, events, rows, wallet, progress);
    state.recorded[k] = {
      submissionId: outcome.submissionId,
      events: indexes.length,
      already: outcome.already === indexes.length,
    };
    state.signed = without(state.signed, String(k));
    await save();
    recorded += indexes.length - outcome.already;
    already += outcome.already;
    done++;
    progress.tick(indexes.length);
  }
  progress.finish();
  return { kind: "events" as const, rows: rows.length, recorded, already, submissions: done };
}

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => k !== key));
}

async function readState(file: string): Promise<ImportState | null> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as ImportState;
  } catch {
    return null;
  }
}

/**
 * Sends chunk `k` (rows `indexes`) until it is recorded. Returns the submission and how many of its
 * events were recorded before this run (replayed, or refused as duplicates).
 */
async function sendChunk(
  session: Session,
  state: ImportState,
  save: () => Promise<void>,
  k: number,
  indexes: number[],
  events: TraceEvent[],
  rows: EventRow[],
  wallet: Wallet | null,
  progress: Progress,
): Promise<{ submissionId: string; already: number }> {
  let pending = indexes;
  let already = 0;
  let submissionId = "";
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > 10) throw new CliError(`submission ${k + 1} could not be recorded after 10 attempts`);
    const batch = pending.map((i) => events[i]!);
    const ids = eventIds(batch);
    const idsHash = createHash("sha256").update(ids.join(",")).digest("hex");
    const idempotencyKey = `yutrace-import-${idsHash}`;
    let body: unknown = { events: batch };
    if (wallet) {
      let saved = state.signed[k];
      if (!saved || saved.ids !== idsHash) {
        const nonce = (await session.freshMe()).submissionNonce ?? 0;
        const signed = signSubmission(wallet, await session.domain(), batch, nonce);
        saved = { nonce, signature: signed.body.signature, ids: idsHash };
        state.signed[k] = saved;
        await save(); // before sending: a rerun must resend this very body
      }
      body = { events: batch, signature: saved.signature, nonce: saved.nonce };
    }
    try {
      const answer = await session.client.post<{
        submission: { id: string };
        events: { index: number; eventId: string }[];
      }>("/api/v1/events", body, {
        idempotencyKey,
        retry: true,
        onRetry: (why, ms) => progress.note(`submission ${k + 1}: ${why}; trying again in ${Math.ceil(ms / 1000)} s`),
      });
      const answered = answer.body.events.map((e) => e.eventId);
      if (answered.join() !== ids.join()) {
        throw new CliError(
          `the gateway answered submission ${k + 1} with event ids other than those of the events sent: ` +
            "it did not record them as sent. Stop and report this to your platform operator.",
        );
      }
      if (answer.headers.get("idempotent-replayed") === "true") already += pending.length;
      submissionId = answer.body.submission.id;
      return { submissionId, already };
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      const details = error.details as Record<string, unknown> | undefined;
      if (error.code === "duplicate_event") {
        // Recorded before, under another grouping: leave those out, send the rest.
        const duplicates = new Set(((details?.duplicates ?? []) as { index: number }[]).map((d) => d.index));
        already += duplicates.size;
        pending = pending.filter((_, i) => !duplicates.has(i));
        continue;
      }
      if (error.code === "idempotency_key_reused" && typeof details?.submissionId === "string") {
        // These very events were recorded with another signature (a nonce that moved on): done.
        already += pending.length;
        return { submissionId: details.submissionId, already };
      }
      if (error.code === "wrong_nonce" && wallet) {
        state.signed = without(state.signed, String(k));
        continue;
      }
      if (error.code === "events_rejected") {
        const problems = (
          (details?.problems ?? []) as { index: number; code: string; message: string; path?: string }[]
        ).map((p) => ({
          row: rows[pending[p.index]!]!.row,
          message: `${p.code}: ${p.message}${p.path ? ` (${p.path})` : ""}`,
        }));
        const firstRow = rows[pending[0]!]!.row;
        throw new CliError(
          `the gateway refused submission ${k + 1} (rows ${firstRow}–${rows[pending[pending.length - 1]!]!.row}); ` +
            `the rows above row ${firstRow} are recorded. Fix these rows and run the same import again: ` +
            "recorded rows are not sent twice.",
          EXIT_FAILED,
          problems.map(formatProblem),
        );
      }
      throw explain(error);
    }
  }
  return { submissionId, already };
}
