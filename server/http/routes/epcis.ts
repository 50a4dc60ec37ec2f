/**
 * The EPCIS 2.0 interfaces: capture (`POST /epcis/capture`: an EPCISDocument, recorded through the
 * same ingest as `POST /events`), a query by GTIN (`GET /epcis/events`: an EPCISQueryDocument)
 * and a batch's whole history (`GET /batches/{batchId}/epcis`: an EPCISDocument, as the resolver's
 * `?linkType=gs1:epcis`). Formats: domain/epcis.ts (export) and domain/epcis-import.ts (import).
 */
import express, { Router, type Request } from "express";
import { z } from "zod/v4";

import { epcisDocument, epcisQueryDocument, type StoredEvent } from "../../domain/epcis";
import { bizStepOf, epcisEventList, epcisPath, fromEpcisEvents } from "../../domain/epcis-import";
import { BIZ_STEPS, MAX_EVENTS_PER_SUBMISSION, type BizStep, type TraceEvent } from "../../domain/events";
import type { IngestService } from "../../services/ingest";
import { MAX_PAGE, type Queries } from "../../services/queries";
import { keys } from "../../store/keys";
import { readEvents } from "../../store/events";
import type { BatchRecord } from "../../store/records";
import type { Store } from "../../store/store";
import { requireOrg } from "../auth";
import { HttpError } from "../errors";
import { MAX_BODY_BYTES, gtinSchema, hex32, lotSchema, parse } from "../schemas";

/** EPCIS 2.0 JSON is sent as JSON or as JSON-LD. */
export const EPCIS_MEDIA_TYPES = ["application/json", "application/ld+json"];
/** Most events the export of one batch carries (as the resolver's). */
export const MAX_EXPORT = 10_000;
/** Most batches a query by GTIN alone searches; name a lot beyond. */
export const MAX_QUERY_BATCHES = 1000;
/** Most batch records read to find a GTIN's batches (a linear scan: there is no GTIN index yet). */
const MAX_BATCH_SCAN = 200_000;
/** Most event positions one query page reads before it answers with what it found and a cursor. */
const MAX_SCAN = 5000;
/** Events read at once while scanning: what the page still needs, at least 32, at most this. */
const READ_CHUNK = 256;

export function epcisRoutes(ingest: IngestService, queries: Queries, store: Store, bodyLimit = MAX_BODY_BYTES): Router {
  const router = Router();

  router.post(
    "/epcis/capture",
    express.json({ type: EPCIS_MEDIA_TYPES, limit: bodyLimit, strict: true }),
    async (req, res) => {
      const org = requireOrg(res, ["producer", "inspector", "logistics", "retailer", "regulator"]);
      if (req.body === undefined) {
        throw new HttpError(
          400,
          "invalid_request",
          "send the EPCISDocument as application/json or application/ld+json",
        );
      }
      const list = epcisEventList(req.body);
      if ("problems" in list) {
        throw new HttpError(
          400,
          "invalid_request",
          "the body is not an EPCIS 2.0 EPCISDocument with events",
          list.problems,
        );
      }
      if (list.eventList.length > MAX_EVENTS_PER_SUBMISSION) {
        throw new HttpError(
          400,
          "too_many_events",
          `a submission holds at most ${MAX_EVENTS_PER_SUBMISSION} events; this one has ${list.eventList.length}`,
        );
      }
      const { events, problems } = fromEpcisEvents(list.eventList);
      if (problems.length > 0) {
        throw new HttpError(
          422,
          "events_rejected",
          `${problems.length} problem(s) in the EPCIS document; nothing was stored`,
          { problems },
        );
      }
      let accepted: Awaited<ReturnType<IngestService["submit"]>>;
      try {
        accepted = await ingest.submit(org, { body: { events }, idempotencyKey: req.get("idempotency-key") ?? null });
      } catch (error) {
        throw withEpcisPaths(error);
      }
      const { replayed, result } = accepted;
      res.setHeader("Location", `/api/v1/submissions/${result.submission.id}`);
      if (replayed) res.setHeader("Idempotent-Replayed", "true");
      res.status(202).json(result);
    },
  );

  router.get("/epcis/events", async (req, res) => {
    const query = epcisQuery(req);
    const { events, nextCursor } = await queryEvents(store, queries, query);
    if (nextCursor) res.setHeader("Link", `<${nextLink(req, nextCursor)}>; rel="next"`);
    res.type("application/ld+json").json(epcisQueryDocument(events, nextCursor));
  });

  router.get("/batches/:batchId/epcis", async (req, res) => {
    const batchId = parse(hex32, req.params.batchId, "batch id");
    const events = await batchHistory(queries, batchId);
    res.type("application/ld+json").json(epcisDocument(events));
  });

  return router;
}

/** Ingest's problems name fields of our events: name them in the EPCIS document instead. */
function withEpcisPaths(error: unknown): unknown {
  if (!(error instanceof HttpError) || error.code !== "events_rejected") return error;
  const details = error.details as { problems: { index: number; path?: string }[] };
  const problems = details.problems.map((problem) => ({
    ...problem,
    path: [`epcisBody.eventList.${problem.index}`, problem.path ? epcisPath(problem.path.split(".")) : ""]
      .filter(Boolean)
      .join("."),
  }));
  return new HttpError(error.status, error.code, error.message, { ...details, problems });
}

/** A batch's events in the order they were accepted, at most MAX_EXPORT. */
export async function batchHistory(queries: Queries, batchId: string): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<Queries["batchEvents"]>> = await queries.batchEvents(batchId, {
      limit: MAX_PAGE,
      cursor,
    });
    events.push(...page.events.map((e) => ({ eventId: e.eventId, recordTime: e.recordTime, body: e.event })));
    cursor = page.nextCursor;
  } while (cursor && events.length < MAX_EXPORT);
  return events;
}

// ---------------------------------------------------------------- the query

/** ISO 8601 date-time with an offset; a `+` that arrived as a space (unencoded in the URL) is read as `+`. */
const queryTime = z
  .string()
  .transform((s) => s.replace(/ (\d{2}:\d{2})$/, "+$1"))
  .refine(
    (s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !isNaN(Date.parse(s)),
    {
      message: "must be an ISO 8601 date-time with offset, e.g. 2026-11-20T00:00:00+08:00 (encode + as %2B)",
    },
  );
const queryParameters = z
  .object({
    gtin: gtinSchema,
    lot: lotSchema.optional(),
    from: queryTime.optional(),
    GE_eventTime: queryTime.optional(),
    to: queryTime.optional(),
    LT_eventTime: queryTime.optional(),
    bizStep: z.string().max(1000).optional(),
    EQ_bizStep: z.string().max(1000).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).optional(),
    perPage: z.coerce.number().int().min(1).max(MAX_PAGE).optional(),
    cursor: z.string().max(400).optional(),
    nextPageToken: z.string().max(400).optional(),
  })
  .strict();

/** EPCIS 2.0 query parameter names our short names may also be given as. */
const ALIASES = [
  ["from", "GE_eventTime"],
  ["to", "LT_eventTime"],
  ["bizStep", "EQ_bizStep"],
  ["limit", "perPage"],
  ["cursor", "nextPageToken"],
] as const;

export interface EpcisQuery {
  gtin: string;
  lot: string | null;
  from: number | null;
  to: number | null;
  bizSteps: BizStep[] | null;
  limit: number;
  cursor: string | null;
}

function epcisQuery(req: Request): EpcisQuery {
  const q = parse(queryParameters, req.query, "the query");
  for (const [name, alias] of ALIASES) {
    if (q[name] !== undefined && q[alias] !== undefined) {
      throw new HttpError(400, "invalid_request", "the query is not valid", [
        { path: alias, message: `is the same as ${name}: give one of them` },
      ]);
    }
  }
  const steps = q.bizStep ?? q.EQ_bizStep;
  const bizSteps = steps === undefined ? null : steps.split(",").map((s) => bizStepOf(s.trim()));
  const unknown = bizSteps?.filter((s) => !BIZ_STEPS.includes(s as BizStep)) ?? [];
  if (unknown.length > 0) {
    throw new HttpError(400, "invalid_request", "the query is not valid", [
      { path: "bizStep", message: `${unknown.join(", ")}: not a business step YuTrace records` },
    ]);
  }
  const time = (value: string | undefined) => (value === undefined ? null : Date.parse(value));
  return {
    gtin: q.gtin,
    lot: q.lot ?? null,
    from: time(q.from ?? q.GE_eventTime),
    to: time(q.to ?? q.LT_eventTime),
    bizSteps: bizSteps as BizStep[] | null,
    limit: q.limit ?? q.perPage ?? 50,
    cursor: q.cursor ?? q.nextPageToken ?? null,
  };
}

/** This request's URL with `cursor` set to the next page's. */
function nextLink(req: Request, cursor: string): string {
  const url = new URL(req.originalUrl, "http://gateway");
  url.searchParams.delete("nextPageToken");
  url.searchParams.set("cursor", cursor);
  return `${url.pathname}${url.search}`;
}

/**
 * A page of the events of a GTIN's batches (or of one lot), in the order they were accepted, each
 * once (an event may name several of the batches). The batches' event lists are merged by their
 * position (submission sequence, index); the cursor is the position of the last event read.
 */
export async function queryEvents(
  store: Store,
  queries: Queries,
  query: EpcisQuery,
): Promise<{ events: StoredEvent[]; nextCursor: string | null }> {
  const after = query.cursor === null ? null : decodeCursor(query.cursor);
  const batchIds = await batchesOf(store, queries, query);
  const streams = new BatchEventStreams(store, batchIds, after);
  try {
    const events: StoredEvent[] = [];
    let last: string | null = null;
    // Events are read a chunk at a time (two batched reads: records, then bodies); the cursor is
    // the position of the last one looked at, so events read ahead and not looked at come next time.
    for (let scanned = 0; scanned < MAX_SCAN;) {
      const chunk: { position: string; eventId: string }[] = [];
      const want = Math.min(READ_CHUNK, MAX_SCAN - scanned, Math.max(query.limit - events.length, 32));
      while (chunk.length < want) {
        const next = await streams.next();
        if (!next) break;
        chunk.push(next);
      }
      if (chunk.length === 0) return { events, nextCursor: null };
      const records = await readEvents(
        store,
        chunk.map((next) => next.eventId),
      );
      for (const [i, record] of records.entries()) {
        scanned++;
        last = chunk[i]!.position;
        if (record && matches(record.body as TraceEvent, query)) {
          events.push({ eventId: record.eventId, recordTime: record.recordTime, body: record.body });
        }
        if (events.length === query.limit) {
          const more = i < chunk.length - 1 || !(await streams.done());
          return { events, nextCursor: more ? encodeCursor(last) : null };
        }
      }
    }
    return { events, nextCursor: (await streams.done()) ? null : encodeCursor(last!) };
  } finally {
    await streams.close();
  }
}

function matches(event: TraceEvent, query: EpcisQuery): boolean {
  const time = Date.parse(event.eventTime);
  if (query.from !== null && time < query.from) return false;
  if (query.to !== null && time >= query.to) return false;
  return query.bizSteps === null || query.bizSteps.includes(event.bizStep);
}

async function batchesOf(store: Store, queries: Queries, query: EpcisQuery): Promise<string[]> {
  if (query.lot !== null) return [(await queries.batchByKey(query.gtin, query.lot)).batchId];
  await queries.product(query.gtin);
  const prefix = keys.batch("");
  const found: string[] = [];
  let scanned = 0;
  const records = store.batches.iterator({ gte: prefix, lt: prefixEnd(prefix) });
  try {
    for (;;) {
      const chunk = (await records.nextv(500)) as [string, BatchRecord][];
      if (chunk.length === 0) return found;
      scanned += chunk.length;
      for (const [, batch] of chunk) if (batch.gtin === query.gtin) found.push(batch.batchId);
      if (found.length > MAX_QUERY_BATCHES || scanned > MAX_BATCH_SCAN) {
        throw new HttpError(400, "invalid_request", "the query is not valid", [
          { path: "lot", message: `GTIN ${query.gtin} has too many batches to query at once: name a lot` },
        ]);
      }
    }
  } finally {
    await records.close();
  }
}

/** The first key after every key starting with `prefix`. */
const prefixEnd = (prefix: string) =>
  prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

const encodeCursor = (position: string) => Buffer.from(position, "utf8").toString("base64url");

function decodeCursor(cursor: string): { seq: number; index: number } {
  const match = /^(\d{1,15}):(\d{1,6})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!match) throw new HttpError(400, "invalid_cursor", "this cursor is not one this query gave");
  return { seq: Number(match[1]), index: Number(match[2]) };
}

/**
 * The event lists of several batches as one list in acceptance order. Each list is read in chunks
 * through its own iterator; `position` is the key's `{seq}:{index}` suffix, ordered as the keys are.
 */
class BatchEventStreams {
  private readonly heads: { position: string; eventId: string; stream: number }[] = [];
  private readonly streams: {
    iterator: ReturnType<Store["events"]["iterator"]>;
    buffer: [string, string][];
    prefix: number;
  }[];
  private started = false;
  private lastPosition: string | null = null;

  constructor(store: Store, batchIds: string[], after: { seq: number; index: number } | null) {
    this.streams = batchIds.map((batchId) => {
      const range = keys.batchEventRange(batchId);
      const from = after ? { gt: keys.batchEvent(batchId, after.seq, after.index) } : { gte: range.gte };
      return { iterator: store.events.iterator({ ...from, lt: range.lt }), buffer: [], prefix: range.gte.length };
    });
  }

  /** The next event of any batch, each event once; null when every list is read. */
  async next(): Promise<{ position: string; eventId: string } | null> {
    if (await this.done()) return null;
    const head = this.heads.shift()!;
    this.lastPosition = head.position;
    await this.advance(head.stream);
    return head;
  }

  /** Whether every list is read. */
  async done(): Promise<boolean> {
    if (!this.started) {
      this.started = true;
      for (let i = 0; i < this.streams.length; i++) await this.advance(i);
    }
    // An event another batch named already, at the same position: skip it.
    while (this.heads.length > 0 && this.heads[0]!.position === this.lastPosition) {
      await this.advance(this.heads.shift()!.stream);
    }
    return this.heads.length === 0;
  }

  private async advance(i: number): Promise<void> {
    const stream = this.streams[i]!;
    if (stream.buffer.length === 0) stream.buffer = (await stream.iterator.nextv(64)) as [string, string][];
    const entry = stream.buffer.shift();
    if (!entry) return;
    const head = { position: entry[0].slice(stream.prefix), eventId: entry[1], stream: i };
    // Insert in order (binary search): few batches, short pages.
    let lo = 0;
    let hi = this.heads.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.heads[mid]!.position <= head.position) lo = mid + 1;
      else hi = mid;
    }
    this.heads.splice(lo, 0, head);
  }

  async close(): Promise<void> {
    await Promise.all(this.streams.map((s) => s.iterator.close()));
  }
}
