/**
 * Scan counting for item codes (一物一码 anti-counterfeit): how often and from how many places a
 * serial was scanned. Counted in memory and written without waiting for the disk, so a scan never
 * waits on anything slower than a map lookup — and never on the chain. Writes are coalesced: each
 * code's latest count waits in `dirty` while a write is on its way, and the next write takes every
 * waiting code in one batch. (One write a scan, chained, fell behind at ~9,000 scans a second on
 * two cores; the chain grew until the gateway ran out of heap.)
 */
import { keys } from "../store/keys";
import { Store } from "../store/store";

export interface ScanRecord {
  count: number;
  firstAt: string;
  lastAt: string;
  /** Distinct coarse network locations the code was scanned from (at most MAX_PLACES kept). */
  places: string[];
}

/** A code scanned more often than this, or from at least SUSPICIOUS_PLACES places, may be copied. */
export const SUSPICIOUS_SCANS = 20;
export const SUSPICIOUS_PLACES = 4;
const MAX_PLACES = 20;
const CACHE_LIMIT = 50_000;
/** Most codes one write takes; the rest wait for the next. */
export const SCAN_WRITE_BATCH = 5_000;

export function looksCopied(record: ScanRecord): boolean {
  return record.count > SUSPICIOUS_SCANS || record.places.length >= SUSPICIOUS_PLACES;
}

/** A coarse place for a client address: its IPv4 /16 or IPv6 /48 — never the full address. */
export function placeOf(ip: string | undefined): string {
  if (!ip) return "unknown";
  const v4 = /(\d+)\.(\d+)\.\d+\.\d+$/.exec(ip);
  if (v4) return `${v4[1]}.${v4[2]}.0.0/16`;
  return `${ip.split(":").slice(0, 3).join(":")}::/48`;
}

export class ScanCounter {
  private readonly cache = new Map<string, ScanRecord>();
  /** Each code's latest count not yet handed to a write: at most one entry a code. */
  private readonly dirty = new Map<string, ScanRecord>();
  /** The counts the write on its way holds. */
  private inFlight = new Map<string, ScanRecord>();
  /** The write loop while it runs: one at a time, so an older count never overwrites a newer one. */
  private writing: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly cacheLimit = CACHE_LIMIT,
  ) {}

  /** Counts one scan of `serial` of `batchId` from `place`; returns the record after it. */
  async record(batchId: string, serial: string, place: string, at = new Date()): Promise<ScanRecord> {
    const key = keys.scan(batchId, serial);
    let record = this.cache.get(key);
    if (!record) {
      const stored = this.unwritten(key) ?? ((await this.store.scans.get(key)) as ScanRecord | undefined);
      // Another scan may have counted it meanwhile: keep its count (kept, or on its way to disk).
      record = this.cache.get(key) ??
        this.unwritten(key) ??
        stored ?? {
          count: 0,
          firstAt: at.toISOString(),
          lastAt: at.toISOString(),
          places: [],
        };
      this.remember(key, record);
    }
    record.count += 1;
    // Scans that arrive together may be counted in any order: keep the earliest and latest times.
    if (at.toISOString() < record.firstAt) record.firstAt = at.toISOString();
    if (at.toISOString() > record.lastAt) record.lastAt = at.toISOString();
    if (!record.places.includes(place) && record.places.length < MAX_PLACES) record.places.push(place);
    const snapshot = { ...record, places: [...record.places] };
    // A code already waiting keeps its place: the longest-waiting codes are written first.
    this.dirty.set(key, snapshot);
    this.startWriting();
    return snapshot;
  }

  /** Resolves once every counted scan is on disk, or its write failed (shutdown, tests). */
  async flush(): Promise<void> {
    // Counts put back by a failed write wait for the next scan: try them once more now.
    if (this.dirty.size > 0) this.startWriting();
    while (this.writing) await this.writing;
  }

  /** How many codes' counts wait for a write (tests). */
  get waiting(): number {
    return this.dirty.size;
  }

  /** Starts the write loop unless it runs. */
  private startWriting(): void {
    if (this.writing) return;
    this.writing = this.drain().then((written) => {
      this.writing = null;
      // Counted after the loop's last look but before this ran: written now. After a failed
      // write, not: the next scan tries again.
      if (written && this.dirty.size > 0) this.startWriting();
    });
  }

  /**
   * Writes the waiting counts, a batch at a time, until none wait; false if a write failed. A
   * failed write puts its counts back (unless a newer count of the code waits already).
   */
  private async drain(): Promise<boolean> {
    while (this.dirty.size > 0) {
      const batch: [string, ScanRecord][] = [];
      for (const entry of this.dirty) {
        batch.push(entry);
        if (batch.length === SCAN_WRITE_BATCH) break;
      }
      for (const [key] of batch) this.dirty.delete(key);
      this.inFlight = new Map(batch);
      try {
        await this.store.write(
          batch.map(([key, snapshot]) => Store.put(this.store.scans, key, snapshot)),
          { quiet: true },
        );
      } catch {
        for (const [key, snapshot] of batch) if (!this.dirty.has(key)) this.dirty.set(key, snapshot);
        return false;
      } finally {
        this.inFlight = new Map();
      }
    }
    return true;
  }

  /**
   * A copy of the count of `key` that waits for the disk or is on its way there, if any: the code
   * was let go of by the cache meanwhile, and that count is newer than the stored one.
   */
  private unwritten(key: string): ScanRecord | undefined {
    const waiting = this.dirty.get(key) ?? this.inFlight.get(key);
    return waiting && { ...waiting, places: [...waiting.places] };
  }

  private remember(key: string, record: ScanRecord): void {
    if (this.cache.size >= this.cacheLimit) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, record);
  }
}
