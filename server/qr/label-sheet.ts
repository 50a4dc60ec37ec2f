/**
 * Label sheets for item serials (一物一码, DESIGN §4): an A4 PDF, a grid of labels, each with the
 * item's Digital Link as a vector QR code (one filled rectangle per dark run, so printers get crisp
 * modules at any resolution) and the product name, lot and serial as text.
 *
 * The sheet is streamed page by page with back-pressure: memory stays flat however many serials a
 * batch has, and the event loop gets a turn between pages.
 */
import type { Writable } from "node:stream";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import PDFDocument from "pdfkit";

import { HttpError } from "../http/errors";
import { DEFAULT_QR_ECC, QR_ECC_LEVELS, qrDarkRuns, qrModules, type QrEcc, type QrModules } from "./qr";

export interface Label {
  /** The item's Digital Link, what the QR code holds. */
  uri: string;
  serial: string;
}

export interface LabelSheetInput {
  labels: Label[];
  productName: string;
  lot: string;
  gtin: string;
}

export interface LabelSheetOptions {
  /** Labels across a page, 1–8; default 4. */
  columns?: number;
  /** Labels down a page, 1–16; default 10. */
  rows?: number;
  /** Page margin in millimetres, 0–40; default 10. */
  marginMm?: number;
  /** Error-correction level of the QR codes; default "M". */
  ecc?: QrEcc;
  /** Compress page contents; default true. Tests turn it off to read the drawing operators. */
  compress?: boolean;
  /** Called once per page written, with pages done and pages in all. */
  onProgress?(done: number, total: number): void;
}

export type ResolvedLabelOptions = Required<Omit<LabelSheetOptions, "onProgress">>;

export interface LabelOptionProblem {
  path: "columns" | "rows" | "marginMm" | "ecc" | "compress" | "labels";
  message: string;
  value: unknown;
}

export const LABEL_COLUMNS = { min: 1, max: 8, default: 4 } as const;
export const LABEL_ROWS = { min: 1, max: 16, default: 10 } as const;
export const LABEL_MARGIN_MM = { min: 0, max: 40, default: 10 } as const;

const A4 = { width: 595.28, height: 841.89 } as const;
const MM = 72 / 25.4;
/** Light modules around the symbol, as ISO/IEC 18004 asks. */
const QUIET_ZONE = 4;
/** Below this width (pt) beside the QR code, the text goes under it instead. */
const MIN_SIDE_TEXT = 40;
/** Courier's advance is 600/1000 em for every character. */
const COURIER_ADVANCE = 0.6;
const LINE_GAP = 1.25;
const CODE_FONT = "Courier";

/**
 * Noto Sans SC (SIL OFL 1.1) from the npm package @expo-google-fonts/noto-sans-sc: pdfkit's standard
 * fonts have no Chinese glyphs. Loaded on first use, only for names that are not plain ASCII;
 * pdfkit embeds just the glyphs a sheet uses.
 */
const CJK_FONT_FILE = "@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf";
let cjkFont: Buffer | null = null;
function cjkFontData(): Buffer {
  cjkFont ??= readFileSync(require.resolve(CJK_FONT_FILE));
  return cjkFont;
}

/** Fills in defaults and checks ranges; a 400 `invalid_label_options` listing every problem otherwise. */
export function resolveLabelOptions(options: LabelSheetOptions): ResolvedLabelOptions {
  return checkOptions(options);
}

/**
 * The options of an HTTP query (`?columns=4&rows=10`); other keys are left to the route.
 * A 400 `invalid_label_options` listing every bad value otherwise.
 */
export function parseLabelOptions(query: Record<string, unknown>): ResolvedLabelOptions {
  const integer = (value: unknown) => (typeof value === "string" && /^-?\d{1,9}$/.test(value) ? Number(value) : value);
  return checkOptions({ columns: integer(query.columns), rows: integer(query.rows) }, query);
}

type RawOptions = { [K in keyof ResolvedLabelOptions]?: unknown };

function checkOptions(raw: RawOptions, given: RawOptions = raw): ResolvedLabelOptions {
  const problems: LabelOptionProblem[] = [];
  const wholeIn = (path: "columns" | "rows", range: { min: number; max: number; default: number }, unit: string) => {
    const value = raw[path] ?? range.default;
    if (typeof value === "number" && Number.isInteger(value) && value >= range.min && value <= range.max) return value;
    problems.push({
      path,
      value: given[path],
      message: `${path} must be a whole number of ${unit} from ${range.min} to ${range.max}, got ${show(given[path])}`,
    });
    return range.default;
  };
  const columns = wholeIn("columns", LABEL_COLUMNS, "labels");
  const rows = wholeIn("rows", LABEL_ROWS, "labels");

  let marginMm = raw.marginMm ?? LABEL_MARGIN_MM.default;
  if (
    typeof marginMm !== "number" ||
    !Number.isFinite(marginMm) ||
    marginMm < LABEL_MARGIN_MM.min ||
    marginMm > LABEL_MARGIN_MM.max
  ) {
    problems.push({
      path: "marginMm",
      value: given.marginMm,
      message: `marginMm must be a number of millimetres from ${LABEL_MARGIN_MM.min} to ${LABEL_MARGIN_MM.max}, got ${show(given.marginMm)}`,
    });
    marginMm = LABEL_MARGIN_MM.default;
  }

  const ecc = raw.ecc ?? DEFAULT_QR_ECC;
  if (!QR_ECC_LEVELS.includes(ecc as QrEcc)) {
    problems.push({
      path: "ecc",
      value: given.ecc,
      message: `ecc must be one of ${QR_ECC_LEVELS.join(", ")}, got ${show(given.ecc)}`,
    });
  }
  const compress = raw.compress ?? true;
  if (typeof compress !== "boolean") {
    problems.push({ path: "compress", value: given.compress, message: `compress must be true or false` });
  }
  if (problems.length > 0) throw invalid(problems);
  return { columns, rows, marginMm: marginMm as number, ecc: ecc as QrEcc, compress: compress as boolean };
}

function invalid(problems: LabelOptionProblem[]): HttpError {
  return new HttpError(400, "invalid_label_options", problems.map((p) => p.message).join("; "), problems);
}

function show(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}

/** Where things go in one cell, relative to its top-left corner (pt). */
interface CellLayout {
  qr: { x: number; y: number; side: number };
  text: { x: number; y: number; width: number };
  nameSize: number;
  codeSize: number;
}

/**
 * QR code on the left and text beside it when the cell is wide enough, otherwise QR code on top
 * and text under it. The quiet zone is part of the QR square, so nothing prints inside it.
 */
function cellLayout(cellW: number, cellH: number, codeChars: number): CellLayout {
  const pad = Math.min(1.5 * MM, cellW * 0.05, cellH * 0.05);
  const side = Math.min(cellH - 2 * pad, cellW * 0.55);
  const sideText = cellW - side - pad;
  if (sideText >= MIN_SIDE_TEXT) {
    const codeSize = Math.min(8, sideText / (COURIER_ADVANCE * codeChars), (cellH - 2 * pad) / (3.2 * LINE_GAP));
    const nameSize = Math.min(9, codeSize * 1.15);
    const blockH = (nameSize + 2 * codeSize) * LINE_GAP;
    return {
      qr: { x: 0, y: (cellH - side) / 2, side },
      text: { x: side, y: (cellH - blockH) / 2, width: sideText },
      nameSize,
      codeSize,
    };
  }
  const textW = cellW - 2 * pad;
  const codeSize = Math.min(7, textW / (COURIER_ADVANCE * codeChars));
  const nameSize = Math.min(8, codeSize * 1.15);
  const blockH = (nameSize + 2 * codeSize) * LINE_GAP;
  const stackedSide = Math.max(0, Math.min(cellW - 2 * pad, cellH - 2 * pad - blockH));
  return {
    qr: { x: (cellW - stackedSide) / 2, y: pad, side: stackedSide },
    text: { x: pad, y: pad + stackedSide, width: textW },
    nameSize,
    codeSize,
  };
}

/** Numbers in content streams: three decimals are 1/1000 pt, far below any printer's dot. */
function num(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}

/** Writes the sheet to `out` and ends it; resolves when `out` has taken every byte. */
export async function writeLabelSheet(
  out: NodeJS.WritableStream,
  input: LabelSheetInput,
  options: LabelSheetOptions = {},
): Promise<void> {
  const { columns, rows, marginMm, ecc, compress } = resolveLabelOptions(options);
  if (input.labels.length === 0) {
    throw invalid([{ path: "labels", value: 0, message: "a label sheet needs at least one label" }]);
  }
  const perPage = columns * rows;
  const total = Math.ceil(input.labels.length / perPage);
  const margin = marginMm * MM;
  const cellW = (A4.width - 2 * margin) / columns;
  const cellH = (A4.height - 2 * margin) / rows;
  const lotLine = `LOT ${input.lot}`;
  const longestSerial = input.labels.reduce((max, label) => Math.max(max, label.serial.length), 0);
  const layout = cellLayout(cellW, cellH, Math.max(lotLine.length, 3 + longestSerial));

  const doc = new PDFDocument({
    size: "A4",
    margin: 0,
    autoFirstPage: false,
    compress,
    info: { Title: `YuTrace labels ${input.gtin} ${input.lot}`, Creator: "YuTrace", Subject: input.productName },
  });
  const nameFont = /^[\x20-\x7e]*$/.test(input.productName) ? "Helvetica-Bold" : "name";
  if (nameFont === "name") doc.registerFont("name", cjkFontData());
  const name = fitText(doc, nameFont, layout.nameSize, input.productName, layout.text.width);

  // Back-pressure by hand: pdfkit pushes whatever is drawn, so wait for `out` between pages.
  let failure: Error | null = null;
  let finished = false;
  const fail = (error: Error) => (failure ??= error);
  const onClose = () => {
    if (!finished) fail(new Error("the output closed before the label sheet was written"));
  };
  out.on("error", fail);
  out.on("close", onClose);
  let full = false;
  doc.on("data", (chunk: Buffer) => {
    if (failure === null && !out.write(chunk)) full = true;
  });
  doc.on("error", fail);
  const ended = once(doc, "end");

  const pages = Array.from({ length: total }, (_, page) => input.labels.slice(page * perPage, (page + 1) * perPage));
  const encoder = new QrEncoder(ecc, input.labels.length);
  // Pages whose QR codes are being made, a few ahead of the page being drawn.
  const encoded = new Map<number, Promise<QrModules[]>>();
  let queued = 0;
  const encodeAhead = (upTo: number) => {
    for (; queued < Math.min(upTo, total); queued++) {
      const symbols = encoder.encode(pages[queued]!.map((label) => label.uri));
      symbols.catch(() => undefined); // awaited in turn below
      encoded.set(queued, symbols);
    }
  };

  try {
    for (let page = 0; page < total; page++) {
      encodeAhead(page + 1 + 2 * encoder.workers);
      const symbols = await encoded.get(page)!;
      encoded.delete(page);
      doc.addPage({ size: "A4", margin: 0 });
      pages[page]!.forEach((label, i) => {
        const x = margin + (i % columns) * cellW;
        const y = margin + Math.floor(i / columns) * cellH;
        drawQr(doc, symbols[i]!, x + layout.qr.x, y + layout.qr.y, layout.qr.side);
        drawText(doc, layout, x + layout.text.x, y + layout.text.y, nameFont, name, lotLine, `SN ${label.serial}`);
      });
      if (page === total - 1) doc.end();
      else await new Promise(setImmediate);
      // Wait only while the socket needs it: a drain that already fired would never come again.
      if (full && failure === null && (out as Writable).writableNeedDrain) await drained(out);
      full = false;
      if (failure) throw failure;
      options.onProgress?.(page + 1, total);
    }
    await ended;
    if (failure) throw failure;
    finished = true;
    const done = once(out, "finish");
    out.end();
    await done;
  } finally {
    await encoder.close();
    finished = true;
    out.removeListener("error", fail);
    out.removeListener("close", onClose);
    doc.removeAllListeners("data");
  }
}

/** Sheets with fewer labels encode on the calling thread: starting workers costs more. */
const WORKER_THRESHOLD = 400;

/**
 * The QR encoder (the `qrcode` package, ~1 ms a symbol, most of it choosing the mask) spread over
 * worker threads for large sheets. Workers make the same call as `qrModules`, so the symbols are the
 * ones the QR routes render; any symbol a worker cannot make is redone by `qrModules` on this
 * thread, which throws its usual error.
 */
class QrEncoder {
  readonly workers: number;
  private readonly pool: Worker[] = [];
  private readonly pending = new Map<number, (result: (Uint8Array | null)[] | Error) => void>();
  private nextId = 0;

  constructor(
    private readonly ecc: QrEcc,
    labels: number,
  ) {
    this.workers = labels < WORKER_THRESHOLD ? 0 : Math.max(1, Math.min(4, availableParallelism()));
    for (let i = 0; i < this.workers; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { qrcode: require.resolve("qrcode") } });
      worker.on("message", ({ id, symbols }: { id: number; symbols: (Uint8Array | null)[] }) =>
        this.settle(id, symbols),
      );
      worker.on("error", (error) => this.pending.forEach((_, id) => this.settle(id, error)));
      this.pool.push(worker);
    }
  }

  async encode(uris: string[]): Promise<QrModules[]> {
    if (this.workers === 0) return uris.map((uri) => qrModules(uri, this.ecc));
    const id = this.nextId++;
    const result = await new Promise<(Uint8Array | null)[] | Error>((resolve) => {
      this.pending.set(id, resolve);
      this.pool[id % this.workers]!.postMessage({ id, uris, ecc: this.ecc });
    });
    if (result instanceof Error) throw result;
    return result.map((data, i) => (data === null ? qrModules(uris[i]!, this.ecc) : matrix(data)));
  }

  async close(): Promise<void> {
    await Promise.all(this.pool.map((worker) => worker.terminate()));
  }

  private settle(id: number, result: (Uint8Array | null)[] | Error): void {
    this.pending.get(id)?.(result);
    this.pending.delete(id);
  }
}

/** A module matrix as the workers send it: one byte a module, row by row. */
function matrix(data: Uint8Array): QrModules {
  const size = Math.round(Math.sqrt(data.length));
  return {
    size,
    isDark: (row, col) => row >= 0 && col >= 0 && row < size && col < size && data[row * size + col] === 1,
  };
}

/** Plain JavaScript, so workers start without TypeScript; the same `create` call as `qrModules`. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { create } = require(workerData.qrcode);
parentPort.on("message", ({ id, uris, ecc }) => {
  const symbols = uris.map((uri) => {
    try {
      return Uint8Array.from(create(uri, { errorCorrectionLevel: ecc }).modules.data);
    } catch {
      return null;
    }
  });
  parentPort.postMessage({ id, symbols }, symbols.filter((s) => s !== null).map((s) => s.buffer));
});
`;

/** Resolves when `out` drains, closes or fails (the caller tells which). */
function drained(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const event of ["drain", "close", "error"]) out.removeListener(event, done);
      resolve();
    };
    for (const event of ["drain", "close", "error"]) out.on(event, done);
  });
}

/**
 * The symbol with its quiet zone in a `side`-pt square at (x, y): the content stream is scaled to
 * modules, so each dark run is one `col row length 1 re` of whole numbers.
 */
function drawQr(doc: PDFKit.PDFDocument, modules: QrModules, x: number, y: number, side: number): void {
  const module = side / (modules.size + 2 * QUIET_ZONE);
  const origin = QUIET_ZONE * module;
  const ops = [`q ${num(module)} 0 0 ${num(module)} ${num(x + origin)} ${num(y + origin)} cm`];
  for (const run of qrDarkRuns(modules)) ops.push(`${run.col} ${run.row} ${run.length} 1 re`);
  ops.push("f", "Q");
  doc.addContent(ops.join("\n"));
}

function drawText(
  doc: PDFKit.PDFDocument,
  layout: CellLayout,
  x: number,
  y: number,
  nameFont: string,
  name: string,
  lotLine: string,
  serialLine: string,
): void {
  let top = y;
  if (name.length > 0) {
    doc.font(nameFont).fontSize(layout.nameSize).text(name, x, top, { lineBreak: false });
    top += layout.nameSize * LINE_GAP;
  }
  doc.font(CODE_FONT).fontSize(layout.codeSize);
  doc.text(lotLine, x, top, { lineBreak: false });
  doc.text(serialLine, x, top + layout.codeSize * LINE_GAP, { lineBreak: false });
}

/** `text` as it fits in `width`, cut short with an ellipsis when it does not. */
function fitText(doc: PDFKit.PDFDocument, font: string, size: number, text: string, width: number): string {
  doc.font(font).fontSize(size);
  if (doc.widthOfString(text) <= width) return text;
  const chars = [...text];
  while (chars.length > 0 && doc.widthOfString(`${chars.join("")}…`) > width) chars.pop();
  return chars.length > 0 ? `${chars.join("")}…` : "";
}
