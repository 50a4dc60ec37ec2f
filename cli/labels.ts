/**
 * `yutrace labels <batch> --count N --out labels.pdf`: issues N item serials (一物一码) for the
 * batch on the gateway — committed on-chain there — and prints them as an A4 label sheet made here,
 * one QR code of each item's Digital Link per label, with a progress bar. Without --count it prints
 * the serials issued before. The PDF is written to a temporary file and renamed when complete, so
 * an interrupted run never leaves a half sheet under the name asked for.
 */
import { createWriteStream } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { finished } from "node:stream/promises";

import { HttpError } from "../server/http/errors";
import { parseLabelOptions, writeLabelSheet } from "../server/qr/label-sheet";
import { MAX_SERIALS_PER_REQUEST } from "../server/services/serials";
import { explain } from "./client";
import { resolveBatch } from "./batch-ref";
import { CliError, EXIT_USAGE } from "./errors";
import { Progress } from "./progress";
import type { Session } from "./session";

export interface LabelOptions {
  out: string;
  count?: string;
  columns?: string;
  rows?: string;
}

export async function labels(session: Session, ref: string, options: LabelOptions): Promise<void> {
  let layout;
  try {
    layout = parseLabelOptions({ columns: options.columns, rows: options.rows });
  } catch (error) {
    if (error instanceof HttpError) throw new CliError(error.message, EXIT_USAGE);
    throw error;
  }
  const count = options.count === undefined ? null : Number(options.count);
  if (count !== null && (!Number.isInteger(count) || count < 1 || count > 1_000_000)) {
    throw new CliError(`--count must be a whole number from 1 to 1,000,000, got ${options.count}`, EXIT_USAGE);
  }
  const batch = await resolveBatch(session.client, ref);
  const started = Date.now();
  let labels: { serial: string; uri: string }[] = [];
  try {
    if (count !== null) {
      const issuing = new Progress("issuing serials", count, "serials");
      while (labels.length < count) {
        const n = Math.min(count - labels.length, MAX_SERIALS_PER_REQUEST);
        const answer = await session.client.post<string>(`/api/v1/batches/${batch.batchId}/serials`, { count: n });
        labels.push(...fromCsv(answer.body));
        issuing.set(labels.length);
      }
      issuing.finish();
    } else {
      labels = fromCsv(
        (await session.client.get<string>(`/api/v1/batches/${batch.batchId}/serials`, { accept: "text/csv" })).body,
      );
      if (labels.length === 0)
        throw new CliError(`no serials issued for ${batch.gtin}/${batch.lot} yet: give --count N`);
    }
  } catch (error) {
    const failure = explain(error);
    if (count !== null && labels.length > 0 && failure instanceof Error) {
      throw new CliError(
        `${labels.length} of ${count} new serials were issued before this failed: ${failure.message}. ` +
          `Print the issued ones with: yutrace labels ${ref} --out ${options.out}`,
      );
    }
    throw failure;
  }
  const product = await session.client
    .get<{ product: { metadata?: { name?: { zh?: string; en?: string } } | null } }>(`/api/v1/products/${batch.gtin}`)
    .then(
      (answer) => answer.body.product.metadata?.name,
      () => undefined,
    );

  const temporary = `${options.out}.partial`;
  const out = createWriteStream(temporary);
  const perPage = layout.columns * layout.rows;
  const printing = new Progress("printing labels", Math.ceil(labels.length / perPage), "pages");
  try {
    await writeLabelSheet(
      out,
      { labels, productName: product?.zh ?? product?.en ?? "", lot: batch.lot, gtin: batch.gtin },
      { ...layout, onProgress: (done) => printing.set(done) },
    );
    await finished(out);
    await rename(temporary, options.out);
  } catch (error) {
    out.destroy();
    await unlink(temporary).catch(() => undefined);
    if (count === null) throw error;
    throw new CliError(
      `the ${count} new serials are issued, but the sheet could not be written: ${(error as Error).message}. ` +
        `Print them with: yutrace labels ${ref} --out ${options.out}`,
    );
  }
  printing.finish();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `${labels.length.toLocaleString("en-US")} labels of ${batch.gtin}/${batch.lot} written to ${options.out} in ${seconds} s` +
      `${count !== null ? ` (${count.toLocaleString("en-US")} new serials, committed on-chain)` : ""}\n`,
  );
}

/** The gateway's serial CSV (serial,digital_link) as labels. */
function fromCsv(csv: string): { serial: string; uri: string }[] {
  return csv
    .split(/\r?\n/)
    .slice(1)
    .filter(Boolean)
    .map((line) => {
      const comma = line.indexOf(",");
      return { serial: line.slice(0, comma), uri: line.slice(comma + 1) };
    });
}
