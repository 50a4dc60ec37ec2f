/**
 * QR codes of GS1 Digital Link URIs (DESIGN §4): SVG for pages, PNG for download and print, and the
 * raw module matrix for vector labels. Renderings are cached (see qr-cache.ts); `qrEtag` names a
 * rendering so HTTP clients can revalidate without fetching the body again.
 *
 * Digital Link QR codes are plain QR codes holding the URI (no GS1 FNC1 mode), so any phone camera
 * opens the trace page.
 */
import { createHash } from "node:crypto";
import { PNG } from "pngjs";
import { create as encodeQr } from "qrcode";

import { HttpError } from "../http/errors";
import { QrCache } from "./qr-cache";

export type QrEcc = "L" | "M" | "Q" | "H";
export type QrFormat = "svg" | "png";

export interface QrOptions {
  /** Image width and height in pixels, 64–2048; default 256. */
  size?: number;
  /** Error-correction level; default "M" (15 % of the code may be damaged). */
  ecc?: QrEcc;
  /** Quiet zone around the code in modules, 0–16; default 4 (what ISO/IEC 18004 asks for). */
  margin?: number;
}

export type ResolvedQrOptions = Required<QrOptions>;

export const QR_SIZE = { min: 64, max: 2048, default: 256 } as const;
export const QR_MARGIN = { min: 0, max: 16, default: 4 } as const;
export const QR_ECC_LEVELS: readonly QrEcc[] = ["L", "M", "Q", "H"];
export const DEFAULT_QR_ECC: QrEcc = "M";

/** Change when the bytes rendered for the same inputs change, so that old ETags stop matching. */
const RENDERER_VERSION = "yutrace-qr-1";

/** The symbol without its quiet zone: `size` × `size` modules. */
export interface QrModules {
  size: number;
  /** True for a dark module; false for a light one and for anything outside the symbol. */
  isDark(row: number, col: number): boolean;
}

/** One horizontal run of dark modules in a row, for vector renderers (SVG path, PDF rectangles). */
export interface QrRun {
  row: number;
  col: number;
  length: number;
}

export interface QrOptionProblem {
  path: "size" | "ecc" | "margin";
  message: string;
  value: unknown;
}

/** The cache used when a caller passes none. */
export const sharedQrCache = new QrCache();

/** The module matrix of `uri` at error-correction level `ecc`. */
export function qrModules(uri: string, ecc: QrEcc = DEFAULT_QR_ECC): QrModules {
  if (uri.length === 0) throw new RangeError("a QR code needs a non-empty URI");
  let data: Uint8Array;
  let size: number;
  try {
    ({ data, size } = encodeQr(uri, { errorCorrectionLevel: ecc }).modules);
  } catch (error) {
    // The only input-dependent failure: more data than a version 40 symbol holds at this level.
    throw new HttpError(422, "qr_data_too_long", `the URI is too long for a QR code at level ${ecc}`, {
      length: uri.length,
      ecc,
      reason: (error as Error).message,
    });
  }
  return {
    size,
    isDark: (row, col) => row >= 0 && col >= 0 && row < size && col < size && data[row * size + col] === 1,
  };
}

/** The dark modules row by row, neighbours merged into runs. */
export function* qrDarkRuns(modules: QrModules): Generator<QrRun> {
  for (let row = 0; row < modules.size; row++) {
    let col = 0;
    while (col < modules.size) {
      if (!modules.isDark(row, col)) {
        col++;
        continue;
      }
      const start = col;
      while (col < modules.size && modules.isDark(row, col)) col++;
      yield { row, col: start, length: col - start };
    }
  }
}

/** An SVG of `uri`: one path for all dark modules, a viewBox in modules, `size` px wide and high. */
export function qrSvg(uri: string, options: QrOptions = {}, cache: QrCache = sharedQrCache): string {
  const resolved = resolveQrOptions(options);
  return cache.getOrRender(cacheKey(uri, "svg", resolved), () =>
    renderSvg(uri, qrModules(uri, resolved.ecc), resolved),
  );
}

/**
 * A greyscale PNG of `uri`, exactly `size` px square. Modules are whole pixels (crisp for scanners
 * and printers), so any pixels left over widen the quiet zone evenly.
 */
export async function qrPng(uri: string, options: QrOptions = {}, cache: QrCache = sharedQrCache): Promise<Buffer> {
  const resolved = resolveQrOptions(options);
  return cache.getOrRender(cacheKey(uri, "png", resolved), () => renderPng(qrModules(uri, resolved.ecc), resolved));
}

/** A strong ETag for the rendering of `uri` in `format` with `options` (defaults filled in). */
export function qrEtag(uri: string, format: QrFormat, options: QrOptions = {}): string {
  const digest = createHash("sha256")
    .update(cacheKey(uri, format, resolveQrOptions(options)))
    .digest("hex");
  return `"${digest.slice(0, 32)}"`;
}

/** Fills in defaults and checks ranges; a 400 `invalid_qr_options` listing every problem otherwise. */
export function resolveQrOptions(options: QrOptions): ResolvedQrOptions {
  return checkOptions({ size: options.size, ecc: options.ecc, margin: options.margin });
}

/**
 * The options of an HTTP query (`?size=512&ecc=Q&margin=2`); other keys are left to the route.
 * A 400 `invalid_qr_options` listing every bad value otherwise.
 */
export function parseQrOptions(query: Record<string, unknown>): ResolvedQrOptions {
  const integer = (value: unknown) => (typeof value === "string" && /^-?\d{1,9}$/.test(value) ? Number(value) : value);
  return checkOptions({ size: integer(query.size), ecc: query.ecc, margin: integer(query.margin) }, query);
}

type RawOptions = { size?: unknown; ecc?: unknown; margin?: unknown };

/** Checks `raw`; problems name the values as the caller gave them (`given`: the query's strings). */
function checkOptions(raw: RawOptions, given: RawOptions = raw): ResolvedQrOptions {
  const problems: QrOptionProblem[] = [];
  const inRange = (value: unknown, range: { min: number; max: number }) =>
    typeof value === "number" && Number.isInteger(value) && value >= range.min && value <= range.max;

  const size = raw.size ?? QR_SIZE.default;
  if (!inRange(size, QR_SIZE)) {
    problems.push({
      path: "size",
      value: given.size,
      message: `size must be a whole number of pixels from ${QR_SIZE.min} to ${QR_SIZE.max}, got ${show(given.size)}`,
    });
  }
  const ecc = typeof raw.ecc === "string" ? raw.ecc.toUpperCase() : (raw.ecc ?? DEFAULT_QR_ECC);
  if (!QR_ECC_LEVELS.includes(ecc as QrEcc)) {
    problems.push({
      path: "ecc",
      value: given.ecc,
      message: `ecc must be one of ${QR_ECC_LEVELS.join(", ")}, got ${show(given.ecc)}`,
    });
  }
  const margin = raw.margin ?? QR_MARGIN.default;
  if (!inRange(margin, QR_MARGIN)) {
    problems.push({
      path: "margin",
      value: given.margin,
      message: `margin must be a whole number of modules from ${QR_MARGIN.min} to ${QR_MARGIN.max}, got ${show(given.margin)}`,
    });
  }
  if (problems.length > 0) throw invalidOptions(problems);
  return { size: size as number, ecc: ecc as QrEcc, margin: margin as number };
}

function invalidOptions(problems: QrOptionProblem[]): HttpError {
  return new HttpError(
    400,
    "invalid_qr_options",
    `the QR code options are not valid: ${problems.map((p) => p.message).join("; ")}`,
    problems,
  );
}

/** A bad value for a message: quoted, cut short (it is echoed back to the client). */
function show(value: unknown): string {
  if (Array.isArray(value)) return "more than one value";
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function cacheKey(uri: string, format: QrFormat, { size, ecc, margin }: ResolvedQrOptions): string {
  // The URI goes last: it is the only part that may contain the separator.
  return [RENDERER_VERSION, format, size, ecc, margin, uri].join("\n");
}

function renderSvg(uri: string, modules: QrModules, { size, margin }: ResolvedQrOptions): string {
  const extent = modules.size + 2 * margin;
  let path = "";
  for (const { row, col, length } of qrDarkRuns(modules)) {
    const x = col + margin;
    path += `M${x} ${row + margin}h${length}v1H${x}z`;
  }
  const label = escapeXml(`QR code: ${uri}`);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${extent} ${extent}"` +
    ` shape-rendering="crispEdges" role="img" aria-label="${label}"><title>${label}</title>` +
    `<rect width="${extent}" height="${extent}" fill="#fff"/><path fill="#000" d="${path}"/></svg>`
  );
}

function renderPng(modules: QrModules, { size, margin }: ResolvedQrOptions): Buffer {
  const extent = modules.size + 2 * margin;
  const scale = Math.floor(size / extent);
  if (scale < 1) {
    throw invalidOptions([
      {
        path: "size",
        value: size,
        message: `size must be at least ${extent} px for this code (${modules.size} modules and a margin of ${margin}), got ${size}`,
      },
    ]);
  }
  const origin = Math.floor((size - scale * extent) / 2) + margin * scale;
  const pixels = Buffer.alloc(size * size, 0xff);
  for (const { row, col, length } of qrDarkRuns(modules)) {
    const left = origin + col * scale;
    for (let y = origin + row * scale; y < origin + (row + 1) * scale; y++) {
      pixels.fill(0, y * size + left, y * size + left + length * scale);
    }
  }
  // pngjs packs any {width, height, data}; a PNG instance would allocate an unused RGBA buffer.
  return PNG.sync.write({ width: size, height: size, data: pixels } as PNG, {
    colorType: 0,
    inputColorType: 0,
    inputHasAlpha: false,
  });
}

const XML_ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ENTITIES[c]!);
}
