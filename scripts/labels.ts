/**
 * `npm run labels -- <gtin> <lot> --out labels.pdf [--columns 4 --rows 10]`: prints the label sheet
 * of a batch's item serials from the store in YUTRACE_DATA_DIR. It reads the store directly, so run
 * it with the gateway stopped (LevelDB admits one process); with the gateway running, download
 * `GET /api/v1/batches/{batchId}/labels.pdf` instead.
 */
import { createWriteStream } from "node:fs";
import { parseArgs } from "node:util";

import { ConfigError, loadConfig } from "../server/config";
import { itemUri } from "../server/domain/digital-link";
import { HttpError } from "../server/http/errors";
import { parseLabelOptions, writeLabelSheet } from "../server/qr/label-sheet";
import { Queries } from "../server/services/queries";
import { SerialService } from "../server/services/serials";
import { Store } from "../server/store/store";

const USAGE = "usage: npm run labels -- <gtin> <lot> --out labels.pdf [--columns 4] [--rows 10]";

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { out: { type: "string" }, columns: { type: "string" }, rows: { type: "string" } },
  });
  const [gtin, lot] = positionals;
  if (positionals.length !== 2 || !gtin || !lot || !values.out) throw new Error(USAGE);
  const options = parseLabelOptions({ columns: values.columns, rows: values.rows });
  const config = loadConfig();
  const store = await Store.openForTool(config.dataDir);
  try {
    const queries = new Queries(store);
    const batch = await queries.batchByKey(gtin, lot);
    // Listing serials reads the store only; the ledger, indexer and signer are never called.
    const serials = new SerialService(
      store,
      null as never,
      async () => undefined,
      () => {
        throw new Error("the labels script issues no serials");
      },
    );
    const issued = await serials.list(batch.batchId);
    if (issued.length === 0) throw new Error(`no serials have been issued for batch ${gtin} ${lot}`);
    const name = (await queries.product(gtin)).metadata?.name;
    const labels = issued.map((serial) => ({ serial, uri: itemUri(config.publicUrl, { gtin, lot, serial }) }));

    const started = Date.now();
    await writeLabelSheet(
      createWriteStream(values.out),
      { labels, productName: name?.zh ?? name?.en ?? "", lot, gtin },
      { ...options, onProgress: progress },
    );
    process.stderr.write("\n");
    console.log(
      `${labels.length} labels written to ${values.out} in ${((Date.now() - started) / 1000).toFixed(1)} s (links on ${config.publicUrl})`,
    );
  } finally {
    await store.close();
  }
}

function progress(done: number, total: number): void {
  const width = 20;
  const filled = Math.round((done / total) * width);
  process.stderr.write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} pages`);
}

main().catch((error: unknown) => {
  const message =
    error instanceof ConfigError
      ? error.message
      : error instanceof HttpError
        ? `labels failed: ${error.message}`
        : `labels failed: ${(error as Error).message ?? error}`;
  console.error(message);
  process.exit(1);
});
