/**
 * The read side of the API: batches, their events (paginated), an event with its status and
 * proofs, a submission's status, and lineage in both directions. Reads touch only the store, never
 * the chain, so they stay fast and work while the chain is away.
 */
import { batchIdOf } from "../domain/batch-id";
import type { TraceEvent } from "../domain/events";
import { originalEventId } from "../domain/rules";
import { HttpError } from "../http/errors";
import { SubmissionHeaders } from "./submission-headers";
import { keys } from "../store/keys";
import { completeRecords, readRecords, submissionInfoOf, withBodies } from "../store/events";
import type {
  BatchRecord,
  BatchState,
  EventRecord,
  OrgRecord,
  ProductRecord,
  SubmissionAnchor,
  SubmissionHeader,
  SubmissionInfo,
} from "../store/records";
import type { Store, Sublevel } from "../store/store";

export const MAX_PAGE = 200;
export const MAX_LINEAGE = 1000;

/**
 * One page of the entries of `range` in `sublevel`, `options.limit` of them (default 50, at most
 * `max`), after the key `options.cursor` names (before it, when `reverse`), and the cursor of the
 * next page (null on the last). A cursor is the last key of its page, base64url; one of another
 * range is refused (400 invalid_cursor, "this cursor is not for this {of}").
 */
export async function readPage(
  sublevel: Sublevel,
  range: { gte: string; lt: string },
  options: { limit?: number; cursor?: string | null },
  settings: { max: number; of: string; reverse?: boolean },
): Promise<{ entries: [string, unknown][]; nextCursor: string | null }> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), settings.max);
  let after: string | undefined;
  if (options.cursor) {
    after = Buffer.from(options.cursor, "base64url").toString("utf8");
    if (!after.startsWith(range.gte)) {
      throw new HttpError(400, "invalid_cursor", `this cursor is not for this ${settings.of}`);
    }
  }
  const bounds = settings.reverse
    ? { gte: range.gte, lt: after ?? range.lt, reverse: true }
    : after
      ? { gt: after, lt: range.lt }
      : range;
  const found = (await sublevel.iterator({ ...bounds, limit: limit + 1 }).all()) as [string, unknown][];
  const entries = found.slice(0, limit);
  const nextCursor =
    found.length > limit ? Buffer.from(entries[entries.length - 1]![0], "utf8").toString("base64url") : null;
  return { entries, nextCursor };
}

export interface EventView {
  eventId: string;
  status: "pending" | "anchored";
  event: unknown;
  recordTime: string;
  organisation: string;
  batchIds: string[];
  submission: {
    id: string;
    seq: number;
    root: string;
    count: number;
    nonce: number;
    signer: string;
    signature: string;
  };
  proofs: { eventToSubmission: string[]; submissionToAnchor: string[] | null };
  anchor: { root: string; seq: number; block: number; txHash: string; blockTime: string } | null;
  /** Set when a later event declared this one in error (EPCIS errorDeclaration). */
  declaredInError: {
    by: string;
    reason: string;
    declarationTime: string;
    correctiveEventIDs: string[];
    explanation: string | null;
  } | null;
  /** For an error declaration: the event it declares in error. */
  declares: string | null;
}

export interface OrgSummary {
  orgId: string;
  name: string;
  district: string;
}

export interface LineageBatch extends BatchRecord {
  depth: number;
  /** The organisation holding the batch now: the last custodian by the recorded events. */
  custodian: string;
  holder: OrgSummary | null;
  /** Set while a shipment of the batch is on its way to this organisation. */
  inTransitTo: OrgSummary | null;
  /** How much of the batch was made (its registered quantity). */
  quantity: { value: number; unit: string } | null;
}

export interface Lineage {
  root: string;
  direction: "up" | "down";
  batches: LineageBatch[];
  edges: [string, string][];
  truncated: boolean;
}

export class Queries {
  /**
   * Submission headers with their Merkle trees, kept by stored text and read again to compare once
   * the journal may have changed (the events page, evidence bundles).
   */
  readonly headers: SubmissionHeaders;

  constructor(private readonly store: Store) {
    this.headers = new SubmissionHeaders(store);
  }

  async batch(batchId: string): Promise<BatchRecord> {
    const record = (await this.store.batches.get(keys.batch(batchId))) as BatchRecord | undefined;
    if (!record) throw new HttpError(404, "unknown_batch", `no batch ${batchId}`);
    return record;
  }

  async batchByKey(gtin: string, lot: string): Promise<BatchRecord> {
    return this.batch(batchIdOf(gtin, lot));
  }

  async custody(batchId: string): Promise<BatchState | null> {
    return ((await this.store.batches.get(keys.batchState(batchId))) as BatchState | undefined) ?? null;
  }

  async product(gtin: string): Promise<ProductRecord> {
    const record = (await this.store.products.get(keys.product(gtin))) as ProductRecord | undefined;
    if (!record) throw new HttpError(404, "unknown_product", `no product with GTIN ${gtin}`);
    return record;
  }

  async org(orgId: string): Promise<OrgRecord> {
    const record = (await this.store.orgs.get(keys.org(orgId))) as OrgRecord | undefined;
    if (!record) throw new HttpError(404, "unknown_organisation", `no organisation ${orgId}`);
    return record;
  }

  /** The products organisation `orgId` registered, by GTIN (products are few: a scan). */
  async productsOf(orgId: string): Promise<ProductRecord[]> {
    const products: ProductRecord[] = [];
    const range = { gte: keys.product(""), lt: keys.product("\uffff") };
    for await (const value of this.store.products.values(range)) {
      const product = value as ProductRecord;
      if (product.owner === orgId) products.push(product);
    }
    return products;
  }

  /** A page of the batches organisation `orgId` produced, newest first. `cursor` comes from the last page. */
  async batchesOf(
    orgId: string,
    options: { limit?: number; cursor?: string | null },
  ): Promise<{ batches: BatchRecord[]; nextCursor: string | null }> {
    const { entries, nextCursor } = await readPage(this.store.batches, keys.producerBatchRange(orgId), options, {
      max: MAX_PAGE,
      of: "list",
      reverse: true,
    });
    const records = (await this.store.batches.getMany(entries.map(([, batchId]) => keys.batch(batchId as string)))) as (
      BatchRecord | undefined
    )[];
    return { batches: records.filter((record): record is BatchRecord => record !== undefined), nextCursor };
  }

  /** A page of the batch's events in the order they were accepted. `cursor` comes from the last page. */
  async batchEvents(
    batchId: string,
    options: { limit?: number; cursor?: string | null },
  ): Promise<{ events: EventView[]; nextCursor: string | null }> {
    await this.batch(batchId);
    const { entries, nextCursor } = await readPage(this.store.events, keys.batchEventRange(batchId), options, {
      max: MAX_PAGE,
      of: "batch",
    });
    const views = await this.views(entries.map(([, eventId]) => eventId as string));
    const missing = views.findIndex((view) => !view);
    if (missing >= 0) throw new Error(`the index lists event ${entries[missing]![1]} but its record is missing`);
    return { events: views as EventView[], nextCursor };
  }

  async event(eventId: string): Promise<EventView> {
    const [view] = await this.views([eventId]);
    if (!view) throw new HttpError(404, "unknown_event", `no event ${eventId}`);
    return view;
  }

  /**
   * Views of events `eventIds` (undefined for one the store does not have) with their submissions,
   * anchors and declarations, in two rounds of batched reads: the records, then what they point to
   * (bodies, submission headers, anchors, declarations), each submission once. A page's events
   * mostly share a few submissions. The headers also give the organisation and record time that a
   * compact record leaves to its submission, so its `subinfo:` copy is not read here.
   */
  private async views(eventIds: readonly string[]): Promise<(EventView | undefined)[]> {
    const stored = await readRecords(this.store, eventIds);
    const seqs = [...new Set(stored.flatMap((record) => (record ? [record.submissionSeq] : [])))];
    const [bodied, headers, anchors, declarations] = await Promise.all([
      withBodies(this.store, stored),
      this.headers.getMany(seqs),
      this.store.anchors.getMany(seqs.map((seq) => keys.submissionAnchor(seq))) as Promise<
        (SubmissionAnchor | undefined)[]
      >,
      declarationsOf(this.store, eventIds),
    ]);
    const bySeq = new Map(seqs.map((seq, i) => [seq, { read: headers[i], anchor: anchors[i] }]));
    const infos = new Map<number, SubmissionInfo>();
    for (const [seq, { read }] of bySeq) {
      if (!read) {
        const record = stored.find((each) => each?.submissionSeq === seq)!;
        throw new Error(
          `the store has lost submission ${seq}, which event ${record.eventId} names; restore it from a backup`,
        );
      }
      infos.set(seq, submissionInfoOf(read.header));
    }
    // Every submission's info is in hand: this reads nothing.
    const records = (await completeRecords(this.store, eventIds, bodied, infos)) as (EventRecord | undefined)[];
    return records.map((record, i) => {
      if (!record) return undefined;
      const { read, anchor } = bySeq.get(record.submissionSeq)!;
      const submission = read!.header;
      return {
        eventId: record.eventId,
        status: anchor ? "anchored" : "pending",
        event: record.body,
        recordTime: record.recordTime,
        organisation: record.orgId,
        batchIds: record.batchIds,
        submission: {
          id: submission.digest,
          seq: submission.seq,
          root: submission.root,
          count: submission.count,
          nonce: submission.nonce,
          signer: submission.account,
          signature: submission.signature,
        },
        proofs: {
          eventToSubmission: read!.tree.proof(record.index),
          submissionToAnchor: anchor?.proof ?? null,
        },
        anchor: anchor
          ? {
              root: anchor.root,
              seq: anchor.anchorSeq,
              block: anchor.block,
              txHash: anchor.txHash,
              blockTime: anchor.blockTime,
            }
          : null,
        declaredInError: declarations[i]!,
        declares: (record.body as TraceEvent).errorDeclaration ? originalEventId(record.body as TraceEvent) : null,
      };
    });
  }

  async submission(digest: string): Promise<{
    id: string;
    seq: number;
    status: "pending" | "anchored";
    organisation: string;
    count: number;
    root: string;
    acceptedAt: string;
    eventIds: string[];
    anchor: SubmissionAnchor | null;
  }> {
    const seq = (await this.store.journal.get(keys.submissionByDigest(digest))) as number | undefined;
    if (seq === undefined) throw new HttpError(404, "unknown_submission", `no submission ${digest}`);
    const record = (await this.store.journal.get(keys.submission(seq))) as SubmissionHeader;
    const anchor = ((await this.store.anchors.get(keys.submissionAnchor(seq))) as SubmissionAnchor | undefined) ?? null;
    return {
      id: digest,
      seq,
      status: anchor ? "anchored" : "pending",
      organisation: record.orgId,
      count: record.count,
      root: record.root,
      acceptedAt: record.acceptedAt,
      eventIds: record.eventIds,
      anchor,
    };
  }

  /**
   * The batches this one was made from (`up`) or that were made from it (`down`), transitively,
   * breadth-first, each with its depth; at most MAX_LINEAGE batches.
   */
  async lineage(batchId: string, direction: "up" | "down"): Promise<Lineage> {
    await this.batch(batchId);
    const seen = new Set<string>([batchId]);
    const batches: LineageBatch[] = [];
    const edges: [string, string][] = [];
    let frontier = [batchId];
    let truncated = false;
    for (let depth = 1; frontier.length > 0 && !truncated; depth++) {
      const next: string[] = [];
      for (const id of frontier) {
        const related = direction === "up" ? (await this.batch(id)).parents : await this.children(id);
        for (const other of related) {
          edges.push(direction === "up" ? [other, id] : [id, other]);
          if (seen.has(other)) continue;
          if (batches.length >= MAX_LINEAGE) {
            truncated = true;
            break;
          }
          seen.add(other);
          const record = ((await this.store.batches.get(keys.batch(other))) as BatchRecord | undefined) ?? null;
          if (!record) continue;
          batches.push({ ...record, depth, ...(await this.holding(record)) });
          next.push(other);
        }
      }
      frontier = next;
    }
    return { root: batchId, direction, batches, edges, truncated };
  }

  /** Who holds `batch` now (its last custodian, by the recorded events) and how much was made. */
  async holding(batch: BatchRecord): Promise<Pick<LineageBatch, "custodian" | "holder" | "inTransitTo" | "quantity">> {
    const state = await this.custody(batch.batchId);
    const custodian = state?.custodian || batch.producer;
    return {
      custodian,
      holder: await this.orgSummary(custodian),
      inTransitTo: state?.inTransitTo ? await this.orgSummary(state.inTransitTo) : null,
      quantity: batch.metadata?.quantity ?? null,
    };
  }

  private async orgSummary(orgId: string): Promise<OrgSummary | null> {
    const org = (await this.store.orgs.get(keys.org(orgId))) as OrgRecord | undefined;
    return org ? { orgId, name: org.name, district: org.district } : null;
  }

  private async children(batchId: string): Promise<string[]> {
    const childKeys = await this.store.batches.keys(keys.childRange(batchId)).all();
    return childKeys.map((key) => key.slice(key.lastIndexOf(":") + 1));
  }
}

/** The declaration that `eventId` was in error (EPCIS errorDeclaration), if a later event made one. */
export async function declarationOf(store: Store, eventId: string): Promise<EventView["declaredInError"]> {
  return (await declarationsOf(store, [eventId]))[0]!;
}

/** `declarationOf` for many events, in two batched reads. */
export async function declarationsOf(
  store: Store,
  eventIds: readonly string[],
): Promise<EventView["declaredInError"][]> {
  const by = (await store.events.getMany(eventIds.map((id) => keys.declaration(id)))) as (string | undefined)[];
  const declarers = by.filter((id): id is string => !!id);
  if (declarers.length === 0) return eventIds.map(() => null);
  // Only their bodies are wanted: not their organisations and record times (completeRecords).
  const records = await withBodies(store, await readRecords(store, declarers));
  const bodies = new Map(declarers.map((id, i) => [id, records[i]?.body as TraceEvent | undefined]));
  return by.map((declarer) => {
    const declaration = declarer ? bodies.get(declarer)?.errorDeclaration : undefined;
    if (!declarer || !declaration) return null;
    return {
      by: declarer,
      reason: declaration.reason,
      declarationTime: declaration.declarationTime,
      correctiveEventIDs: declaration.correctiveEventIDs ?? [],
      explanation: declaration.explanation ?? null,
    };
  });
}
