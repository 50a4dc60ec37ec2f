/**
 * Scan counting for item codes (一物一码 anti-counterfeit): how often and from how many places a
 * serial was scanned. Counted in memory and written without waiting for the disk, so a scan never
 * waits on anything slower than a map lookup — and never on the chain.
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
  /** Writes go one after another, so an older count never overwrites a newer one. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: Store) {}

  /** Counts one scan of `serial` of `batchId` from `place`; returns the record after it. */
  async record(batchId: string, serial: string, place: string, at = new Date()): Promise<ScanRecord> {
    const key = keys.scan(batchId, serial);
    let record = this.cache.get(key);
    if (!record) {
      record = ((await this.store.scans.get(key)) as ScanRecord | undefined) ?? {
        count: 0,
        firstAt: at.toISOString(),
        lastAt: at.toISOString(),
        places: [],
      };
      // Another scan may have loaded it meanwhile: keep the one already in the map.
      record = this.cache.get(key) ?? record;
      this.remember(key, record);
    }
    record.count += 1;
    // Scans that arrive together may be counted in any order: keep the earliest and latest times.
    if (at.toISOString() < record.firstAt) record.firstAt = at.toISOString();
    if (at.toISOString() > record.lastAt) record.lastAt = at.toISOString();
    if (!record.places.includes(place) && record.places.length < MAX_PLACES) record.places.push(place);
    const snapshot = { ...record, places: [...record.places] };
    this.writes = this.writes
      .then(() => this.store.write([Store.put(this.store.scans, key, snapshot)], { quiet: true }))
      .catch(() => undefined);
    return snapshot;
  }

  /** Resolves once every counted scan is on disk (shutdown, tests). */
  async flush(): Promise<void> {
    await this.writes;
  }

  private remember(key: string, record: ScanRecord): void {
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, record);
  }
}
