/**
 * `npm run bench bulk`: the factory's bulk jobs for item serials (一物一码). A PDF label sheet of
 * 10,000 serials (`GET /api/v1/batches/{id}/labels.pdf`, timed to its last byte) against encoding
 * the same number of QR codes as SVG on one thread; and a commit of 100,000 serials
 * (`POST /api/v1/batches/{id}/serials`, timed to its 201: serials, Merkle tree, store, on-chain
 * commitment) against building the same-sized StandardMerkleTree alone.
 */
import { batchIdOf } from "../../server/domain/batch-id";
import type { BulkBaselines } from "../drivers/bulk-baselines";
import type { Figure } from "../lib/report";
import { progress } from "../lib/report";
import { BENCH_GTIN, createBatches, createOrg, runDriver, startStack, type BenchOrg, type Stack } from "../lib/stack";

export interface BulkOptions {
  quick: boolean;
}

/**
 * `POST /api/v1/batches/{id}/serials {count}` as the batch's producer: the serials the CSV lists and
 * the milliseconds from sending to the last byte of the 201.
 */
export async function issueSerials(
  stack: Stack,
  producer: BenchOrg,
  batchId: string,
  count: number,
): Promise<{ serials: string[]; ms: number; root: string }> {
  const sent = performance.now();
  const res = await fetch(`${stack.yt.url}/api/v1/batches/${batchId}/serials`, {
    method: "POST",
    headers: { authorization: `Bearer ${producer.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ count }),
    signal: AbortSignal.timeout(300_000),
  });
  const csv = await res.text();
  const ms = performance.now() - sent;
  if (res.status !== 201) throw new Error(`POST serials (${count}) answered ${res.status}: ${csv.slice(0, 500)}`);
  const serials = csv
    .trim()
    .split("\r\n")
    .slice(1)
    .map((row) => row.split(",")[0]!);
  if (serials.length !== count) throw new Error(`asked for ${count} serials, the CSV lists ${serials.length}`);
  return { serials, ms, root: res.headers.get("x-serials-root") ?? "" };
}

/** A label sheet that sends nothing for this long has stalled. */
const STALL_MS = 30_000;

/**
 * Downloads the batch's label sheet, dropping each chunk as it comes: milliseconds to the last byte,
 * and bytes. Fails, saying where, when the download stalls.
 */
async function labelSheet(stack: Stack, producer: BenchOrg, batchId: string): Promise<{ ms: number; bytes: number }> {
  const abort = new AbortController();
  let bytes = 0;
  let stall = setTimeout(() => abort.abort(), STALL_MS);
  const sent = performance.now();
  try {
    const res = await fetch(`${stack.yt.url}/api/v1/batches/${batchId}/labels.pdf`, {
      headers: { authorization: `Bearer ${producer.apiKey}` },
      signal: abort.signal,
    });
    if (res.status !== 200 || !res.body) throw new Error(`GET labels.pdf answered ${res.status}: ${await res.text()}`);
    let tail = "";
    for await (const chunk of res.body) {
      clearTimeout(stall);
      stall = setTimeout(() => abort.abort(), STALL_MS);
      bytes += chunk.byteLength;
      tail = Buffer.from(chunk).subarray(-16).toString("latin1");
    }
    const ms = performance.now() - sent;
    if (!tail.includes("%%EOF")) throw new Error(`the label sheet (${bytes} bytes) does not end with %%EOF`);
    return { ms, bytes };
  } catch (error) {
    if (!abort.signal.aborted) throw error;
    throw new Error(`the label sheet stalled: nothing for ${STALL_MS / 1000} s after ${bytes} bytes`);
  } finally {
    clearTimeout(stall);
  }
}

export async function bulk(options: BulkOptions): Promise<Figure[]> {
  const labels = options.quick ? 500 : 10_000;
  const commit = options.quick ? 2_000 : 100_000;
  const stack = await startStack();
  try {
    const producer = await createOrg(stack, "producer");
    const [labelLot, commitLot] = await createBatches(stack, producer, 2);
    const labelBatch = batchIdOf(BENCH_GTIN, labelLot!);
    const commitBatch = batchIdOf(BENCH_GTIN, commitLot!);

    progress(`bulk: issuing ${labels} serials, then their A4 label sheet (4 × 10 a page)`);
    const issued = await issueSerials(stack, producer, labelBatch, labels);
    const sheet = await labelSheet(stack, producer, labelBatch);
    progress(`bulk: ${labels} labels in ${Math.round(sheet.ms)} ms; committing ${commit} serials in one request`);
    const committed = await issueSerials(stack, producer, commitBatch, commit);
    progress(`bulk: ${commit} serials committed in ${Math.round(committed.ms)} ms; baselines on one thread`);

    const baselines = await runDriver<BulkBaselines>(
      "bulk-baselines",
      {
        qr: { count: labels, publicUrl: stack.yt.url, gtin: BENCH_GTIN, lot: labelLot },
        tree: { count: commit, batchId: commitBatch },
      },
      600_000,
    );
    const qr = baselines.qr!;
    const tree = baselines.tree!;
    const pages = Math.ceil(labels / 40);
    return [
      {
        part: "bulk",
        what: `PDF label sheet of ${labels.toLocaleString("en-US")} serials, GET labels.pdf to the last byte`,
        value: sheet.ms / 1000,
        unit: "s",
        target: { op: "<=", value: 10 },
        baseline: {
          what: `${labels.toLocaleString("en-US")} QR codes as SVG with qrcode, one thread, no PDF`,
          value: qr.ms / 1000,
          unit: "s",
          ratio: qr.ms / sheet.ms,
        },
        note: `${pages} pages, ${(sheet.bytes / 2 ** 20).toFixed(1)} MiB; issuing the ${labels} serials took ${Math.round(issued.ms)} ms (not counted)`,
      },
      {
        part: "bulk",
        what: `serial commit of ${commit.toLocaleString("en-US")}, POST serials to its 201 (tree, store, on-chain root, CSV)`,
        value: committed.ms / 1000,
        unit: "s",
        target: { op: "<=", value: 10 },
        baseline: {
          what: `StandardMerkleTree of ${commit.toLocaleString("en-US")} (batchId, serial) leaves alone, one thread`,
          value: tree.ms / 1000,
          unit: "s",
          ratio: tree.ms / committed.ms,
        },
        note: `ratio = the share of the commit the tree alone would take; root ${committed.root.slice(0, 10)}…`,
      },
    ];
  } finally {
    await stack.stop();
  }
}
