/**
 * `yutrace import <file.csv>`: bulk import of batches or events.
 *
 * 1. Every row is checked before anything is sent: the file's encoding and CSV syntax, the header,
 *    each cell against the gateway's own schemas, repeated rows, and — asking the gateway — that
 *    the products, batches and certificates the rows name exist (and an input batch is active),
 *    that a batch row is not registered already with other data, and that the organisation may
 *    record each step. All problems are listed by row and column; with any, nothing is imported.
 *    The gateway's state rules (custody order, held or recalled batches) are checked when a
 *    submission is sent: a refusal stops the import there, naming its rows.
 * 2. `--dry-run` stops after the checks.
 * 3. Events go in submissions of `--chunk` rows (default 500), in file order. Each row's key is its
 *    event id (SHA-256 of the event's canonical JSON), and each submission's Idempotency-Key is
 *    derived from its rows' keys, so an import that was interrupted — killed, network lost, gateway
 *    restarted — is finished by running it again: every submission is sent again, and one recorded
 *    before is answered as a replay (or, recorded under another grouping, its events are refused as
 *    duplicates); the CLI checks either answer (the ids answered, the submission or events named)
 *    before it counts a row as recorded. Each row ends up recorded exactly once. A self-signed
 *    submission's nonce and signature are kept (imports/ next to the settings) before it is sent,
 *    so that a rerun resends the very body the gateway may have recorded.
 * 4. Batches are registered one request per row (four at a time; a row waits for rows above it
 *    that are its inputs). A batch's GTIN and lot are its key: a row registered before is found
 *    and compared (metadata and inputs), and counts as done if it is the same batch.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";

import type { Wallet } from "ethers";

import { batchIdOf } from "../server/domain/batch-id";
import { canonicalHash, canonicalSha256 } from "../server/domain/canonical";
import type { BatchKey } from "../server/domain/digital-link";
import type { TraceEvent } from "../server/domain/events";
import { STEP_RULES } from "../server/domain/rules";
import { batchText, findBatch, type BatchView } from "./batch-ref";
import { explain, GatewayError } from "./client";
import { removePrivateFile, writePrivateFile } from "./config";
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
import { eventIds, signSubmission } from "./signing";

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
  // By row, then column as the spreadsheet orders them (Z before AA).
  const column = (p: RowProblem) => (p.letter ?? "").padStart(3, " ");
  const sorted = [...problems].sort((a, b) => a.row - b.row || column(a).localeCompare(column(b)));
  const rows = new Set(sorted.map((p) => p.row)).size;
  return new CliError(
    `${file}: ${problems.length} problem(s) in ${rows} row(s); nothing was imported`,
    EXIT_FAILED,
    sorted.map(formatProblem),
  );
}

/** Where a problem of row `row` sits: the column of key `key`, as the file names and letters it. */
type At = (row: number, key: string) => Pick<RowProblem, "row" | "column" | "letter">;

function repeatedBatches(rows: BatchRow[]): RowProblem[] {
  const first = new Map<string, number>();
  const problems: RowProblem[] = [];
  for (const { row, body } of rows) {
    const key = batchText(body);
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

/** The registered batches of `keys` (GTIN/lot text), looked up `LOOKUP_CONCURRENCY` at a time. */
async function lookUp(session: Session, keys: BatchKey[], label: string): Promise<Map<string, BatchView | null>> {
  const found = new Map<string, BatchView | null>();
  const progress = keys.length > 50 ? new Progress(label, keys.length, "batches") : null;
  await pool(keys, LOOKUP_CONCURRENCY, async (key) => {
    found.set(batchText(key), await findBatch(session.client, key));
    progress?.tick();
  });
  progress?.finish();
  return found;
}

const unique = (keys: BatchKey[]): BatchKey[] => [...new Map(keys.map((k) => [batchText(k), k])).values()];

/** What a batch row registers: its metadata's hash and its parents, as the gateway computes them. */
function registration(body: BatchRow["body"]): { metadataHash: string; parents: string[] } {
  const { inputs, ...metadata } = body;
  return { metadataHash: canonicalHash(metadata), parents: inputs.map((input) => batchIdOf(input.gtin, input.lot)) };
}

/** Whether `existing` is the batch `body` registers (by this organisation, same metadata and inputs). */
function sameBatch(existing: BatchView, body: BatchRow["body"], orgId: string): boolean {
  const { metadataHash, parents } = registration(body);
  return (
    existing.producer === orgId && existing.metadataHash === metadataHash && existing.parents.join() === parents.join()
  );
}

async function checkBatchReferences(session: Session, rows: BatchRow[], at: At): Promise<RowProblem[]> {
  const org = await session.organisation();
  const products = (await session.client.get<{ products: { gtin: string }[] }>("/api/v1/me/products")).body.products;
  const own = new Set(products.map((p) => p.gtin));
  const problems: RowProblem[] = [];
  const inFile = new Map(rows.map(({ row, body }) => [batchText(body), row]));
  const outside = unique(rows.flatMap(({ body }) => body.inputs).filter((input) => !inFile.has(batchText(input))));
  const found = await lookUp(session, [...unique(rows.map(({ body }) => body)), ...outside], "checking batches");
  for (const { row, body } of rows) {
    if (!own.has(body.gtin)) {
      problems.push({
        ...at(row, "gtin"),
        message: `product ${body.gtin} is not registered by ${org.name}: add it first (yutrace products add)`,
      });
    }
    const existing = found.get(batchText(body));
    if (existing && !sameBatch(existing, body, org.orgId)) {
      problems.push({
        ...at(row, "lot"),
        message: `batch ${batchText(body)} is registered already, with other data${existing.producer === org.orgId ? "" : " and by another organisation"}`,
      });
    }
    for (const input of body.inputs) {
      const key = batchText(input);
      const line = inFile.get(key);
      const registered = found.get(key);
      if (line !== undefined && line >= row) {
        problems.push({
          ...at(row, "inputs"),
          message: `input ${key} is registered further down (row ${line}): move that row above`,
        });
      } else if (line === undefined && !registered) {
        problems.push({ ...at(row, "inputs"), message: `input batch ${key} is not registered` });
      } else if (line === undefined && registered && registered.status !== "active") {
        problems.push({
          ...at(row, "inputs"),
          message: `input batch ${key} is ${registered.status}: it cannot be used`,
        });
      }
    }
  }
  return problems;
}

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
    const allowed = STEP_RULES[checked.bizStep].roles;
    if (!allowed.some((role) => roles.includes(role))) {
      problems.push({
        ...at(row, "biz_step"),
        message: `${org.name} (${roles.join(", ")}) may not record ${checked.bizStep}: it needs the role ${allowed.join(" or ")}`,
      });
    }
  }
  const found = await lookUp(session, unique(rows.map(({ batch }) => batch)), "checking batches");
  for (const [key, batch] of found) if (batch) links.set(key, batch.digitalLink);
  for (const { row, batch } of rows) {
    if (!found.get(batchText(batch))) {
      problems.push({
        ...at(row, "lot"),
        message: `batch ${batchText(batch)} is not registered (import or add it first)`,
      });
    }
  }
  // Inspection reports the rows name must be on file (yutrace certificates upload).
  const documents = [
    ...new Set(
      rows.flatMap(({ checked }) =>
        checked.certificationInfo ? [checked.certificationInfo.documentHash.replace(/^0x/, "")] : [],
      ),
    ),
  ];
  const missing = new Set<string>();
  await pool(documents, LOOKUP_CONCURRENCY, async (sha256) => {
    try {
      await session.client.request("HEAD", `/certificates/${sha256}`, { retry: true });
    } catch (error) {
      if (error instanceof GatewayError && error.status === 404) missing.add(sha256);
      else throw explain(error);
    }
  });
  for (const { row, checked } of rows) {
    const sha256 = checked.certificationInfo?.documentHash.replace(/^0x/, "");
    if (sha256 && missing.has(sha256)) {
      problems.push({
        ...at(row, "cert_hash"),
        message: `no certificate ${sha256} on file: upload it first (yutrace certificates upload)`,
      });
    }
  }
  return problems;
}

// ---------------------------------------------------------------- batches

async function importBatches(session: Session, rows: BatchRow[], wallet: Wallet | null) {
  const org = await session.organisation();
  const progress = new Progress("importing batches", rows.length, "rows");
  const settled = new Map<string, { done: Promise<boolean>; settle: (ok: boolean) => void }>();
  for (const { body } of rows) {
    let settle!: (ok: boolean) => void;
    const done = new Promise<boolean>((resolve) => (settle = resolve));
    settled.set(batchText(body), { done, settle });
  }
  const failures: RowProblem[] = [];
  let recorded = 0;
  let already = 0;
  const registerRow = async ({ row, body }: BatchRow): Promise<boolean> => {
    for (const input of body.inputs) {
      const wait = settled.get(batchText(input))?.done;
      if (wait && !(await wait)) {
        failures.push({ row, message: `not sent: its input ${batchText(input)} failed` });
        return false;
      }
    }
    const { metadataHash, parents } = registration(body);
    for (let attempt = 1; ; attempt++) {
      try {
        const authorization = wallet
          ? await session.authorize(wallet, "RegisterBatch", {
              gtin: BigInt(body.gtin),
              lot: body.lot,
              metadataHash,
              parents,
            })
          : undefined;
        await session.client.post("/api/v1/batches", authorization ? { ...body, authorization } : body, {
          retry: true,
          onRetry: (why, ms) => progress.note(`row ${row}: ${why}; trying again in ${Math.ceil(ms / 1000)} s`),
        });
        recorded++;
        return true;
      } catch (error) {
        if (error instanceof GatewayError && error.code === "batch_exists") {
          const existing = await findBatch(session.client, body);
          if (existing && sameBatch(existing, body, org.orgId)) {
            already++;
            return true;
          }
          failures.push({ row, message: `batch ${batchText(body)} is registered already, with other data` });
          return false;
        }
        if (error instanceof GatewayError && error.code === "wrong_nonce" && attempt < 3) continue;
        if (error instanceof GatewayError) {
          failures.push({ row, message: `${error.code}: ${error.message}` });
          return false;
        }
        throw error;
      }
    }
  };
  await pool(rows, wallet ? 1 : BATCH_CONCURRENCY, async (row) => {
    const { settle } = settled.get(batchText(row.body))!;
    try {
      settle(await registerRow(row));
    } catch (error) {
      settle(false);
      throw error;
    } finally {
      progress.tick();
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

/**
 * What an import of one file by one organisation keeps between runs (imports/ next to the
 * settings): for self-signed submissions, the nonce and signature of each one sent, so that a rerun
 * resends the very body. Removed when the import has finished.
 */
interface ImportState {
  version: 1;
  file: string;
  /** Self-custody: a chunk's nonce and signature, saved before it is sent, by chunk number. */
  signed: Record<string, { nonce: number; signature: string; ids: string }>;
  /** Chunks recorded (for the "resuming" note only: every chunk is sent again and checked). */
  recorded: number[];
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
  const state = (await readState(stateFile)) ?? {
    version: 1,
    file: path.resolve(options.file),
    signed: {},
    recorded: [],
  };
  const save = () => writePrivateFile(stateFile, `${JSON.stringify(state)}\n`);

  const events = rows.map(({ batch, event }) => event(links.get(batchText(batch))!));
  const chunks: number[][] = [];
  for (let i = 0; i < rows.length; i += options.chunk) {
    chunks.push(Array.from({ length: Math.min(options.chunk, rows.length - i) }, (_, k) => i + k));
  }
  if (state.recorded.length > 0) {
    process.stderr.write(
      `resuming: ${state.recorded.length} of ${chunks.length} submissions were recorded by an earlier run ` +
        "(sent again, and checked)\n",
    );
  }
  const progress = new Progress("importing events", rows.length, "events");
  let recorded = 0;
  let already = 0;
  for (const [k, indexes] of chunks.entries()) {
    const outcome = await sendChunk(session, org.orgId, state, save, k, indexes, events, rows, wallet, progress);
    if (!state.recorded.includes(k)) state.recorded.push(k);
    state.signed = without(state.signed, String(k));
    await save();
    recorded += indexes.length - outcome.already;
    already += outcome.already;
    progress.tick(indexes.length);
  }
  progress.finish();
  // With any temporary file a run killed while it saved its state left behind.
  await removePrivateFile(stateFile);
  return { kind: "events" as const, rows: rows.length, recorded, already, submissions: chunks.length };
}

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => k !== key));
}

/** The saved state, or null when there is none or it is not one (then it is started afresh). */
async function readState(file: string): Promise<ImportState | null> {
  try {
    const state = JSON.parse(await readFile(file, "utf8")) as ImportState;
    const valid =
      state?.version === 1 &&
      Array.isArray(state.recorded) &&
      state.recorded.every(Number.isInteger) &&
      state.signed !== null &&
      typeof state.signed === "object" &&
      Object.values(state.signed).every(
        (s) => Number.isInteger(s?.nonce) && typeof s.signature === "string" && typeof s.ids === "string",
      );
    return valid ? state : null;
  } catch {
    return null;
  }
}

type EventViewAnswer = { eventId: string; event: unknown; organisation: string };

/**
 * Checks the gateway's claim that the events `ids` were recorded before: each is there, by this
 * organisation, and its body hashes to its id. An event with the same content recorded by another
 * organisation is not this row's record: that row is refused.
 */
async function confirmRecorded(session: Session, orgId: string, ids: string[]): Promise<string[]> {
  const foreign: string[] = [];
  await pool(ids, LOOKUP_CONCURRENCY, async (id) => {
    let view: EventViewAnswer;
    try {
      view = (await session.client.get<EventViewAnswer>(`/api/v1/events/${id}`)).body;
    } catch (error) {
      throw new CliError(
        `the gateway says event ${id} was recorded before, but does not show it: ${(error as Error).message}`,
      );
    }
    if (canonicalSha256(view.event) !== id) {
      throw new CliError(
        `the gateway shows event ${id} with a body that does not hash to it: report this to your platform operator`,
      );
    }
    if (view.organisation !== orgId) foreign.push(id);
  });
  return foreign;
}

/**
 * Sends chunk `k` (rows `indexes`) until it is recorded. Returns how many of its events were
 * recorded before this run (replayed, or refused as duplicates and confirmed).
 */
async function sendChunk(
  session: Session,
  orgId: string,
  state: ImportState,
  save: () => Promise<void>,
  k: number,
  indexes: number[],
  events: TraceEvent[],
  rows: EventRow[],
  wallet: Wallet | null,
  progress: Progress,
): Promise<{ already: number }> {
  let pending = indexes;
  let already = 0;
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
    const rowsOf = (list: number[]) => `rows ${rows[list[0]!]!.row}–${rows[list[list.length - 1]!]!.row}`;
    try {
      const answer = await session.client.post<{
        submission: { id: string };
        events: { index: number; eventId: string }[];
      }>("/api/v1/events", body, {
        idempotencyKey,
        retry: true,
        onRetry: (why, ms) => progress.note(`submission ${k + 1}: ${why}; trying again in ${Math.ceil(ms / 1000)} s`),
      });
      // A new record or a replay, the gateway's ids must be those of the events sent.
      if (answer.body.events.map((e) => e.eventId).join() !== ids.join()) {
        throw new CliError(
          `the gateway answered submission ${k + 1} (${rowsOf(pending)}) with event ids other than those of the ` +
            "events sent: it did not record them as sent. Stop and report this to your platform operator.",
        );
      }
      if (answer.headers.get("idempotent-replayed") === "true") already += pending.length;
      return { already };
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      const details = error.details as Record<string, unknown> | undefined;
      if (error.code === "duplicate_event") {
        // Recorded before, under another grouping: confirm them, leave them out, send the rest.
        const duplicates = ((details?.duplicates ?? []) as { index: number }[]).map((d) => d.index);
        const named = duplicates.filter((i) => Number.isInteger(i) && i >= 0 && i < pending.length);
        if (named.length === 0) throw explain(error);
        const foreign = new Set(
          await confirmRecorded(
            session,
            orgId,
            named.map((i) => ids[i]!),
          ),
        );
        if (foreign.size > 0) {
          const lines = named
            .filter((i) => foreign.has(ids[i]!))
            .map((i) =>
              formatProblem({
                row: rows[pending[i]!]!.row,
                message: `the same event was recorded by another organisation (${ids[i]})`,
              }),
            );
          throw new CliError(
            `submission ${k + 1} (${rowsOf(pending)}) holds events another organisation recorded`,
            EXIT_FAILED,
            lines,
          );
        }
        already += named.length;
        const drop = new Set(named);
        pending = pending.filter((_, i) => !drop.has(i));
        continue;
      }
      if (error.code === "idempotency_key_reused" && typeof details?.submissionId === "string") {
        // These events were recorded before with another body (a self-signed one with another nonce): check.
        const earlier = await session.client
          .get<{ eventIds: string[]; organisation: string }>(`/api/v1/submissions/${details.submissionId}`)
          .catch((failure: unknown) => {
            throw explain(failure);
          });
        if (earlier.body.organisation !== orgId || earlier.body.eventIds.join() !== ids.join()) {
          throw new CliError(
            `the gateway says submission ${k + 1} (${rowsOf(pending)}) was recorded as ${details.submissionId}, ` +
              "which holds other events: report this to your platform operator",
          );
        }
        already += pending.length;
        return { already };
      }
      if (error.code === "wrong_nonce" && wallet) {
        state.signed = without(state.signed, String(k));
        continue;
      }
      if (error.code === "events_rejected") {
        const problems = (
          (details?.problems ?? []) as { index: number; code: string; message: string; path?: string }[]
        ).map((p) => ({
          row: rows[pending[p.index]!]?.row ?? 0,
          message: `${p.code}: ${p.message}${p.path ? ` (${p.path})` : ""}`,
        }));
        const firstRow = rows[pending[0]!]!.row;
        throw new CliError(
          `the gateway refused submission ${k + 1} (${rowsOf(pending)}); the rows above row ${firstRow} are ` +
            "recorded. Fix these rows and run the same import again: recorded rows are not recorded twice.",
          EXIT_FAILED,
          problems.map(formatProblem),
        );
      }
      throw explain(error);
    }
  }
  return { already };
}
