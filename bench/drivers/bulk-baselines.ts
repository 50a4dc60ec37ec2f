/**
 * The bulk baselines, from their own process, on one thread each:
 * - `qr`: `count` item Digital Links (random serials of the gateway's format) encoded as SVG with the
 *   `qrcode` package, one after another — what a label sheet costs without the worker pool and PDF;
 * - `tree`: `count` random serials hashed into an OpenZeppelin StandardMerkleTree over
 *   `(bytes32 batchId, string serial)` — the same leaves the gateway commits, the tree alone.
 * Serials are made before the clock starts. Prints one JSON line with the milliseconds each took.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import QRCode from "qrcode";

import { itemUri } from "../../server/domain/digital-link";
import { newSerial } from "../../server/services/serials";

interface Input {
  qr: { count: number; publicUrl: string; gtin: string; lot: string } | null;
  tree: { count: number; batchId: string } | null;
}

export interface BulkBaselines {
  qr: { count: number; ms: number; svgBytes: number } | null;
  tree: { count: number; ms: number; root: string } | null;
}

const input = JSON.parse(process.argv[2]!) as Input;

function serials(count: number): string[] {
  const unique = new Set<string>();
  while (unique.size < count) unique.add(newSerial());
  return [...unique];
}

async function qr(job: NonNullable<Input["qr"]>): Promise<NonNullable<BulkBaselines["qr"]>> {
  const uris = serials(job.count).map((serial) => itemUri(job.publicUrl, { gtin: job.gtin, lot: job.lot, serial }));
  let svgBytes = 0;
  const started = performance.now();
  for (const uri of uris) {
    // The label sheet's error-correction level (M); toString is synchronous work behind a promise.
    svgBytes += (await QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M" })).length;
  }
  return { count: job.count, ms: performance.now() - started, svgBytes };
}

function tree(job: NonNullable<Input["tree"]>): NonNullable<BulkBaselines["tree"]> {
  const values = serials(job.count).map((serial) => [job.batchId, serial]);
  const started = performance.now();
  // sortLeaves: false, as the gateway keeps its leaves in issue order.
  const built = StandardMerkleTree.of(values, ["bytes32", "string"], { sortLeaves: false });
  const root = built.root;
  return { count: job.count, ms: performance.now() - started, root };
}

async function main(): Promise<void> {
  const result: BulkBaselines = { qr: null, tree: null };
  if (input.qr) result.qr = await qr(input.qr);
  if (input.tree) result.tree = tree(input.tree);
  console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
