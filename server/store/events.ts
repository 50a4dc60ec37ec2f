/**
 * Reading events back: an event's record (`evt:<eventId>`, events sublevel) says where it is —
 * submission and position — and what batches it names; its body is in the event-body database under
 * that position (`Store.eventBodies`), and what every event of a submission shares (organisation,
 * record time) is in the submission's info (`subinfo:<seq>`, journal). Records of earlier layouts
 * hold those fields themselves (and, before the body database, the body), and are read as they are.
 */
import { keys } from "./keys";
import type { EventRecord, SubmissionHeader, SubmissionInfo } from "./records";
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
  const records = await readRecords(store, eventIds);
  return (await withBodies(store, await completeRecords(store, eventIds, records))) as (EventRecord | undefined)[];
}

/**
 * The records of events `eventIds` as stored, each with its id (undefined for an event the store
 * does not have): for readers that complete them another way (completeRecords with the infos they
 * have) or want only their bodies (withBodies).
 */
export async function readRecords(
  store: Store,
  eventIds: readonly string[],
): Promise<(StoredEventRecord | undefined)[]> {
  const records = (await store.events.getMany(eventIds.map((id) => keys.event(id)))) as (
    StoredEventRecord | undefined
  )[];
  records.forEach((record, i) => record && (record.eventId ??= eventIds[i]!));
  return records;
}

/**
 * A submission's info: the copy of its header's organisation and record time that its events'
 * compact records leave to it.
 */
export function submissionInfoOf(header: Pick<SubmissionHeader, "orgId" | "acceptedAt">): SubmissionInfo {
  return { orgId: header.orgId, acceptedAt: header.acceptedAt };
}

/**
 * `records` (of events `eventIds`, in order) with their id, organisation and record time: from the
 * key, and from their submissions' info, read in one batch, each submission once (`infos` keeps
 * what was read across calls, for a scan). Records of the earlier layouts have them already. The
 * info is a copy of two fields of the submission's header, which is read instead if the info is
 * missing (and `npm run reindex` writes it again); throws if both are.
 */
export async function completeRecords(
  store: Store,
  eventIds: readonly string[],
  records: readonly (StoredEventRecord | undefined)[],
  infos: Map<number, SubmissionInfo> = new Map(),
): Promise<(CompletedRecord | undefined)[]> {
  const wanted = new Set<number>();
  for (const record of records) {
    if (record && record.orgId === undefined && !infos.has(record.submissionSeq)) wanted.add(record.submissionSeq);
  }
  if (wanted.size > 0) {
    const seqs = [...wanted];
    const read = (await store.journal.getMany(seqs.map((seq) => keys.submissionInfo(seq)))) as (
      SubmissionInfo | undefined
    )[];
    const lost = seqs.filter((_, i) => !read[i]);
    const headers = lost.length
      ? ((await store.journal.getMany(lost.map((seq) => keys.submission(seq)))) as (SubmissionHeader | undefined)[])
      : [];
    const fromHeaders = new Map(lost.map((seq, i) => [seq, headers[i]]));
    seqs.forEach((seq, i) => {
      const header = fromHeaders.get(seq);
      const info = read[i] ?? (header && submissionInfoOf(header));
      if (!info) {
        throw new Error(`the store has lost submission ${seq} (its header and info); restore it from a backup`);
      }
      infos.set(seq, info);
    });
  }
  // The records were decoded for this call: completed where they are.
  return records.map((record, i) => {
    if (!record || record.orgId !== undefined) return record as CompletedRecord | undefined;
    const info = infos.get(record.submissionSeq)!;
    record.eventId ??= eventIds[i]!;
    record.orgId = info.orgId;
    record.recordTime = info.acceptedAt;
    return record as CompletedRecord;
  });
}

/** The record of event `eventId`, body included; undefined if the store does not have it. */
export async function readEvent(store: Store, eventId: string): Promise<EventRecord | undefined> {
  return (await readEvents(store, [eventId]))[0];
}

/**
 * `records` with their bodies, read in one batch from the event-body database; a record that holds
 * its body (earlier layouts) keeps it. A record only needs its position here, and its id for the
 * error: completed (completeRecords) or not. Throws if a record's body is missing: the store lost
 * data and must be restored from a backup.
 */
export async function withBodies<R extends StoredEventRecord>(
  store: Store,
  records: readonly (R | undefined)[],
): Promise<((R & { body: unknown }) | undefined)[]> {
  const without = records.filter((record): record is R => !!record && record.body === undefined);
  if (without.length === 0) return records as ((R & { body: unknown }) | undefined)[];
  const texts = await store.eventBodies.getMany(without.map((r) => keys.eventBody(r.submissionSeq, r.index)));
  const bodies = new Map<R, unknown>();
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
    record && record.body === undefined ? { ...record, body: bodies.get(record) } : (record as R & { body: unknown }),
  );
}
