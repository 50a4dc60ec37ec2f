/**
 * Reading events back: an event's record (`evt:<eventId>`, events sublevel) says where it is —
 * submission and position — and its body is in the event-body database under that position
 * (`Store.eventBodies`). Records written before the bodies moved there hold the body themselves,
 * and are read as they are.
 */
import { keys } from "./keys";
import type { EventRecord } from "./records";
import type { Store } from "./store";

/** An event record as stored: without its body, or with it in stores written before the move. */
export type StoredEventRecord = Omit<EventRecord, "body"> & { body?: unknown };

/** The records of events `eventIds`, bodies included; undefined for an event the store does not have. */
export async function readEvents(store: Store, eventIds: readonly string[]): Promise<(EventRecord | undefined)[]> {
  if (eventIds.length === 0) return [];
  const records = (await store.events.getMany(eventIds.map((id) => keys.event(id)))) as (
    StoredEventRecord | undefined
  )[];
  return withBodies(store, records);
}

/** The record of event `eventId`, body included; undefined if the store does not have it. */
export async function readEvent(store: Store, eventId: string): Promise<EventRecord | undefined> {
  return (await readEvents(store, [eventId]))[0];
}

/**
 * `records` with their bodies, read in one batch from the event-body database. Throws if a record's
 * body is missing: the store lost data and must be restored from a backup.
 */
export async function withBodies(
  store: Store,
  records: readonly (StoredEventRecord | undefined)[],
): Promise<(EventRecord | undefined)[]> {
  const without = records.filter((record): record is StoredEventRecord => !!record && record.body === undefined);
  if (without.length === 0) return records as (EventRecord | undefined)[];
  const texts = await store.eventBodies.getMany(without.map((r) => keys.eventBody(r.submissionSeq, r.index)));
  const bodies = new Map<StoredEventRecord, unknown>();
  without.forEach((record, i) => {
    const text = texts[i];
    if (text === undefined) {
      throw new Error(
        `the store has lost the body of event ${record.eventId} (submission ${record.submissionSeq}, position ` +
          `${record.index}); restore it from a backup`,
      );
    }
    bodies.set(record, JSON.parse(text));
  });
  return records.map((record) =>
    record && record.body === undefined ? { ...record, body: bodies.get(record) } : (record as EventRecord),
  );
}
