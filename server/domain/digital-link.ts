/**
 * GS1 Digital Link URIs for batches (`…/01/{gtin}/10/{lot}`) and items (`…/21/{serial}`): built for
 * QR codes and parsed wherever an event names a batch (EPCIS 2.0 accepts Digital Link URIs as
 * `epcClass`). Any host is accepted when parsing; GS1 keys are what identify the batch.
 */
import { isValidGtin14, isValidLot } from "./identifiers";

export interface BatchKey {
  gtin: string;
  lot: string;
}

export interface ItemKey extends BatchKey {
  serial: string;
}

/** GS1 Digital Link percent-encoding: everything but unreserved characters is encoded. */
export function encodeGs1Component(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The batch URI on `base` (e.g. "https://trace.example.cn"). */
export function batchUri(base: string, key: BatchKey): string {
  return `${base.replace(/\/+$/, "")}/01/${key.gtin}/10/${encodeGs1Component(key.lot)}`;
}

/** The item URI on `base`. */
export function itemUri(base: string, key: ItemKey): string {
  return `${batchUri(base, key)}/21/${encodeGs1Component(key.serial)}`;
}

const parsed = new Map<string, Readonly<BatchKey & { serial?: string }> | null>();
const PARSED_MAX = 50_000;

/** Parses a Digital Link URI (or a bare path) naming a batch or an item; null if it names neither. */
export function parseDigitalLink(uri: string): Readonly<BatchKey & { serial?: string }> | null {
  // Ingest reads the same few batch links thousands of times a second: remember recent answers.
  let key = parsed.get(uri);
  if (key === undefined) {
    key = parseUncached(uri);
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(uri, key ? Object.freeze(key) : null);
  }
  return key;
}

function parseUncached(uri: string): (BatchKey & { serial?: string }) | null {
  // Read the path as written: URL parsers drop "." and ".." segments, which are valid lots.
  const raw = /^(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*)?(\/[^?#]*)(?:[?#].*)?$/.exec(uri);
  if (!raw) return null;
  const path = raw[1]!;
  const match = /^(?:\/.*)?\/01\/(\d{14})\/10\/([^/]+)(?:\/21\/([^/]+))?\/?$/.exec(path);
  if (!match) return null;
  let lot: string;
  let serial: string | undefined;
  try {
    lot = decodeURIComponent(match[2]!);
    serial = match[3] === undefined ? undefined : decodeURIComponent(match[3]);
  } catch {
    return null;
  }
  if (!isValidGtin14(match[1]!) || !isValidLot(lot)) return null;
  if (serial !== undefined && !isValidLot(serial)) return null;
  return serial === undefined ? { gtin: match[1]!, lot } : { gtin: match[1]!, lot, serial };
}
