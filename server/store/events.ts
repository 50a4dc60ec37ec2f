/**
 * Reading events back: an event's record (`evt:<eventId>`, events sublevel) says where it is —
 * submission and position — and what batches it names; its body is in the event-body database under
 * that position (`Store.eventBodies`), and what every event of a submission shares (organisation,
 * record time) is in the submission's info (`subinfo:<seq>`, journal). Records of earlier layouts
 * hold those fields themselves (and, before the body database, the body), and are read as they are.
 */
import { keys } from "./keys";
import type { EventRecord, SubmissionInfo } from "./records";
import type { Store } from "./store";

/**
 * An event record as stored: where the event is and the batches it names. Records written before
 * the compact layout also hold the event's id, organisation and record time, and records written
 * before the body database its body.
 */
export type StoredEventRecord = Pick<EventRecord, "submissionSeq" | "index" | "batchIds"> &
  Partial<Pick<EventRecord, "eventId" | "orgId" | "recordTime">> & { body?: unknown };

/** A stored record with its id, organisation and record time (see completeRecords); body maybe not yet. */
export type CompletedRecord = Omit<EventRecord, "body"> & { body?: unknown };

/** The record `evt:<eventId>` as ingest writes it: what the submission's info and the key do not say. */
export function compactRecord(submissionSeq: number, index: number, batchIds: string[]): StoredEventRecord {
  return { submissionSeq, index, batchIds };
}

/** The records of events `eventIds`, bodies included; undefined for an event the store does not have. */
export async function readEvents(store: Store, eventIds: readonly string[]): Promise<(EventRecord | undefined)[]> {
  if (eventIds.length === 0) return [];
  const records = (await store.events.getMany(eventIds.map((id) => keys.event(id)))) as (
    StoredEventRecord | undefined
  )[];
  return withBodies(store, await completeRecords(store, eventIds, records));
}

/**
 * `records` (of events `eventIds`, in order) with their id, organisation and record time: from the
 * key, and from their submissions' info, read in one batch, each submission once. Records of the
 * earlier layouts have them already. Throws if a submission's info is missing: the store lost data.
 */
export async function completeRecords(
  store: Store,
  eventIds: readonly string[],
  records: readonly (StoredEventRecord | undefined)[],
): Promise<(CompletedRecord | undefined)[]> {
  const seqs = new Set<number>();
  for (const record of records) if (record && record.orgId === undefined) seqs.add(record.submissionSeq);
  const infos = new Map<number, SubmissionInfo>();
  if (seqs.size > 0) {
    const read = (await store.journal.getMany([...seqs].map((seq) => keys.submissionInfo(seq)))) as (
      SubmissionInfo | undefined
    )[];
    [...seqs].forEach((seq, i) => {
      const info = read[i];
      if (!info) throw new Error(`the store has lost the info of submission ${seq}; restore it from a backup`);
      infos.set(seq, info);
    });
  }
  return records.map((record, i) => {
    if (!record) return undefined;
    const info = record.orgId === undefined ? infos.get(record.submissionSeq)! : undefined;
    return {
      ...record,
      eventId: record.eventId ?? eventIds[i]!,
      orgId: record.orgId ?? info!.orgId,
      recordTime: record.recordTime ?? info!.acceptedAt,
    };
  });
}

/** The record of event `eventId`, body included; undefined if the store does not have it. */
export async function readEvent(store: Store, eventId: string): Promise<EventRecord | undefined> {
  return (await readEvents(store, [eventId]))[0];
}

/**
 * `records` (completed: see completeRecords) with their bodies, read in one batch from the
 * event-body database. Throws if a record's body is missing: the store lost data and must be
 * restored from a backup.
 */
export async function withBodies(
  store: Store,
  records: readonly (CompletedRecord | undefined)[],
): Promise<(EventRecord | undefined)[]> {
  const without = records.filter((record): record is CompletedRecord => !!record && record.body === undefined);
  if (without.length === 0) return records as (EventRecord | undefined)[];
  const texts = await store.eventBodies.getMany(without.map((r) => keys.eventBody(r.submissionSeq, r.index)));
  const bodies = new Map<CompletedRecord, unknown>();
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
