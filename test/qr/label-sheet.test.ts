/**
 * Tests of server/qr/label-sheet.ts: the A4 sheets printed for item serials (一物一码). Pages are
 * read back from uncompressed output: the QR code of a label is rebuilt from its `re` operators and
 * scanned with jsQR, so what is printed is what a phone opens.
 */
import { Writable } from "node:stream";
import { expect } from "chai";
import jsQR from "jsqr";

import { itemUri } from "../../server/domain/digital-link";
import { HttpError } from "../../server/http/errors";
import { parseLabelOptions, writeLabelSheet, type LabelSheetOptions } from "../../server/qr/label-sheet";
import { qrDarkRuns, qrModules } from "../../server/qr/qr";
import { newSerial } from "../../server/services/serials";

const BASE = "https://trace.example.cn";
const HOTPOT = "06903885010017";
const LOT = "HG2026-03";

function sheetInput(count: number) {
  const labels = Array.from({ length: count }, () => {
    const serial = newSerial();
    return { serial, uri: itemUri(BASE, { gtin: HOTPOT, lot: LOT, serial }) };
  });
  return { labels, productName: "重庆火锅底料（麻辣）", lot: LOT, gtin: HOTPOT };
}

/** The whole sheet as bytes, and how many bytes arrived in each write. */
async function render(input: ReturnType<typeof sheetInput>, options: LabelSheetOptions = {}) {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  await writeLabelSheet(out, input, { compress: false, ...options });
  return Buffer.concat(chunks).toString("latin1");
}

/** The text of every TJ/Tj operator in standard-font (hex-encoded WinAnsi) strings. */
function shownTexts(pdf: string): string[] {
  const texts: string[] = [];
  for (const [, operand] of pdf.matchAll(/(\[[^\]]*\]|<[0-9a-f]*>) ?T[Jj]/g)) {
    const hex = [...operand!.matchAll(/<([0-9a-f]*)>/g)].map((m) => m[1]).join("");
    texts.push(Buffer.from(hex, "hex").toString("latin1"));
  }
  return texts;
}

/** The first QR code drawn: its module runs as written in the content stream. */
function firstQrRuns(pdf: string): { row: number; col: number; length: number }[] {
  const match = /q [\d.]+ 0 0 [\d.]+ [\d.]+ [\d.]+ cm\n((?:\d+ \d+ \d+ 1 re\n)+)f\nQ/.exec(pdf);
  expect(match, "a QR code drawn as rectangles").to.not.equal(null);
  return match![1]!
    .trim()
    .split("\n")
    .map((line) => {
      const [col, row, length] = line.split(" ").map(Number);
      return { row: row!, col: col!, length: length! };
    });
}

/** Paints runs into an RGBA bitmap, `scale` px a module, with a 4-module quiet zone, and scans it. */
function scanRuns(runs: { row: number; col: number; length: number }[], scale = 4): string | null {
  const size = Math.max(...runs.map((r) => Math.max(r.col + r.length, r.row + 1)));
  const width = (size + 8) * scale;
  const pixels = new Uint8ClampedArray(width * width * 4).fill(255);
  for (const run of runs) {
    for (let y = (run.row + 4) * scale; y < (run.row + 5) * scale; y++) {
      for (let x = (run.col + 4) * scale; x < (run.col + 4 + run.length) * scale; x++) {
        pixels.fill(0, (y * width + x) * 4, (y * width + x) * 4 + 3);
      }
    }
  }
  return jsQR(pixels, width, width, { inversionAttempts: "dontInvert" })?.data ?? null;
}

async function rejection(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(HttpError);
    return error as HttpError;
  }
  throw new Error("expected a rejection");
}

describe("label sheets", () => {
  it("puts 45 labels on two A4 pages of a 4 × 10 grid, with every serial as text and no images", async () => {
    const input = sheetInput(45);
    const pdf = await render(input, { columns: 4, rows: 10 });
    expect(pdf.startsWith("%PDF-")).to.equal(true);
    expect(pdf.match(/\/Type \/Page\b(?!s)/g)).to.have.length(2);
    expect(pdf).to.include("/MediaBox [0 0 595.28 841.89]");
    const texts = shownTexts(pdf);
    for (const { serial } of input.labels) expect(texts).to.include(`SN ${serial}`);
    expect(texts.filter((t) => t === `LOT ${LOT}`)).to.have.length(45);
    expect(pdf).to.not.match(/\/Subtype \/Image/);
    // The Chinese product name is set in an embedded CJK font, not dropped.
    expect(pdf).to.match(/\/FontFile2/);
  });

  it("draws each QR code as one rectangle per dark run, and it scans back to the item's URI", async () => {
    const input = sheetInput(3);
    const pdf = await render(input);
    const runs = firstQrRuns(pdf);
    expect(runs).to.deep.equal([...qrDarkRuns(qrModules(input.labels[0]!.uri))]);
    expect(scanRuns(runs)).to.equal(input.labels[0]!.uri);
  });

  it("draws the same QR codes on large sheets, whose codes are made on worker threads", async () => {
    const input = sheetInput(450);
    const pdf = await render(input, { columns: 8, rows: 16, ecc: "Q" });
    const runs = firstQrRuns(pdf);
    expect(runs).to.deep.equal([...qrDarkRuns(qrModules(input.labels[0]!.uri, "Q"))]);
    expect(pdf.match(/ 1 re\nf\nQ/g)).to.have.length(450);
  });

  it("rejects bad options with a 400 invalid_label_options listing every problem", async () => {
    const error = await rejection(render(sheetInput(1), { columns: 9, rows: 0, marginMm: -1, ecc: "X" as never }));
    expect(error.status).to.equal(400);
    expect(error.code).to.equal("invalid_label_options");
    expect((error.details as { path: string }[]).map((p) => p.path)).to.deep.equal([
      "columns",
      "rows",
      "marginMm",
      "ecc",
    ]);
    const query = await rejection(Promise.resolve().then(() => parseLabelOptions({ columns: "four", rows: "2.5" })));
    expect(query.details).to.deep.equal([
      { path: "columns", value: "four", message: 'columns must be a whole number of labels from 1 to 8, got "four"' },
      { path: "rows", value: "2.5", message: 'rows must be a whole number of labels from 1 to 16, got "2.5"' },
    ]);
    expect(parseLabelOptions({ columns: "2", rows: "5" })).to.include({ columns: 2, rows: 5 });
    const empty = await rejection(render({ ...sheetInput(1), labels: [] }));
    expect(empty.code).to.equal("invalid_label_options");
  });

  it("reports progress once per page, in order", async () => {
    const seen: [number, number][] = [];
    await render(sheetInput(81), { columns: 4, rows: 10, onProgress: (done, total) => seen.push([done, total]) });
    expect(seen).to.deep.equal([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });

  it("writes a sheet of 10,000 labels (250 pages)", async function () {
    this.timeout(120_000);
    const input = sheetInput(10_000);
    let bytes = 0;
    let pages = 0;
    const out = new Writable({
      write(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        done();
      },
    });
    const started = Date.now();
    await writeLabelSheet(out, input, { onProgress: (done) => (pages = done) });
    console.log(`      10,000 labels: ${pages} pages, ${(bytes / 1e6).toFixed(1)} MB in ${Date.now() - started} ms`);
    expect(pages).to.equal(250);
  });
});
