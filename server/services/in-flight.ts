/**
 * Concurrent requests for the same cold view share one build. Without it, 50 connections asking for
 * a page nobody has asked for since the store changed start 50 builds of it, each reading the same
 * records: measured under the bench's scan load after a restart, 20,000–30,000 keys read a second
 * for four seconds instead of a few thousand once (BENCHMARKS.md, "One build of a cold page").
 *
 * The callers that joined a build share its outcome: if it fails, they all get its error (and the
 * next call builds again); while it is pending, they all wait for it.
 */
export class InFlight<K, V> {
  private readonly pending = new Map<K, { generation: number; promise: Promise<V> }>();

  /**
   * The promise of `make()` for `key`, shared with every call for the same `key` made at the same
   * store `generation` while it is pending. A call at another generation starts its own: what a
   * build started before a write read may be stale.
   */
  run(key: K, generation: number, make: () => Promise<V>): Promise<V> {
    const current = this.pending.get(key);
    if (current && current.generation === generation) return current.promise;
    const promise = make().finally(() => {
      if (this.pending.get(key)?.promise === promise) this.pending.delete(key);
    });
    this.pending.set(key, { generation, promise });
    return promise;
  }

  /** How many builds are pending (tests). */
  get size(): number {
    return this.pending.size;
  }
}
