/**
 * A bounded least-recently-used cache of rendered QR codes, so that a package scanned or printed
 * again is not re-encoded. Bounded by entry count and by bytes: a 2048 px PNG is far larger than a
 * small SVG, and the cache must not grow the gateway's memory without limit.
 */

export interface QrCacheLimits {
  /** Most entries kept. */
  maxEntries: number;
  /** Most bytes kept (string length for SVG, buffer length for PNG). */
  maxBytes: number;
}

export const DEFAULT_QR_CACHE_LIMITS: QrCacheLimits = { maxEntries: 2_000, maxBytes: 64 * 1024 * 1024 };

type Rendered = string | Buffer;

export class QrCache {
  // A Map iterates in insertion order: re-inserting on a hit moves the key to the newest end.
  private readonly _entries = new Map<string, Rendered>();
  private _bytes = 0;

  constructor(readonly limits: QrCacheLimits = DEFAULT_QR_CACHE_LIMITS) {
    if (!(limits.maxEntries >= 1) || !(limits.maxBytes >= 1)) {
      throw new RangeError(`QrCache limits must be positive, got ${JSON.stringify(limits)}`);
    }
  }

  /** Entries held now. */
  get size(): number {
    return this._entries.size;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this._bytes;
  }

  get<T extends Rendered>(key: string): T | undefined {
    const value = this._entries.get(key);
    if (value === undefined) return undefined;
    this._entries.delete(key);
    this._entries.set(key, value);
    return value as T;
  }

  set(key: string, value: Rendered): void {
    const cost = byteCost(value);
    // One value larger than the whole budget is returned to its caller but not kept.
    if (cost > this.limits.maxBytes) return;
    this.delete(key);
    this._entries.set(key, value);
    this._bytes += cost;
    for (const [oldest, old] of this._entries) {
      if (this._entries.size <= this.limits.maxEntries && this._bytes <= this.limits.maxBytes) break;
      this._entries.delete(oldest);
      this._bytes -= byteCost(old);
    }
  }

  /** Returns the cached value for `key`, rendering and keeping it on a miss. */
  getOrRender<T extends Rendered>(key: string, render: () => T): T {
    const hit = this.get<T>(key);
    if (hit !== undefined) return hit;
    const value = render();
    this.set(key, value);
    return value;
  }

  delete(key: string): void {
    const old = this._entries.get(key);
    if (old === undefined) return;
    this._entries.delete(key);
    this._bytes -= byteCost(old);
  }

  clear(): void {
    this._entries.clear();
    this._bytes = 0;
  }
}

/** SVG is ASCII, so a string's length is its size in bytes. */
function byteCost(value: Rendered): number {
  return value.length;
}
