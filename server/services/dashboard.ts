/**
 * What the regulator dashboard reads: a search over batches and organisations, the statistics
 * behind its charts, and the list of organisations. Everything comes from the store, read as
 * streams (LevelDB iterators over one key family at a time), never from the chain.
 */
import { batchUri } from "../domain/digital-link";
import { rangeOf } from "../index/chain-records";
import { completeRecords, withBodies, type StoredEventRecord } from "../store/events";
import { keys } from "../store/keys";
import type {
  AnchorOnChain,
  AnchorRecord,
  BatchRecord,
  BatchStatusName,
  EventRecord,
  OrgRecord,
  ProductRecord,
  SubmissionHeader,
  SubmissionInfo,
} from "../store/records";
import type { Store, Sublevel } from "../store/store";

/** Most results of each kind a search answers with. */
export const MAX_SEARCH_RESULTS = 50;
/** Days the events-per-day series covers, ending today (China Standard Time). */
export const EVENT_DAYS = 30;
/** Most recent anchors the anchoring-lag statistics cover. */
export const LAG_ANCHORS = 50;
/** Largest page of the organisation list. */
export const MAX_ORG_PAGE = 200;

const CST_OFFSET_MS = 8 * 3600_000;
const DAY_MS = 86_400_000;

export type SearchMatch = "gtin" | "lot" | "batchId" | "product" | "producer" | "district";

import { readPage, type OrgSummary } from "./queries";
export type { OrgSummary };

export interface BatchHit {
  batchId: string;
  gtin: string;
  lot: string;
  status: BatchStatusName;
  product: { name: { zh: string; en?: string }; category: string } | null;
  producer: OrgSummary | null;
  /** Where the batch was made: its metadata's district, else its producer's. */
  district: string | null;
  productionDate: string | null;
  digitalLink: string;
  matched: SearchMatch[];
}

export interface OrganisationHit extends OrgRecord {
  matched: ("name" | "uscc" | "district" | "orgId")[];
}

export interface SearchResult {
  query: string;
  batches: BatchHit[];
  organisations: OrganisationHit[];
  /** Whether more batches or organisations matched than were returned. */
  truncated: boolean;
}

export interface PassRate {
  category: string;
  conformant: number;
  nonConformant: number;
  /** conformant / (conformant + nonConformant); null without inspections. */
  passRate: number | null;
}

export interface AnchorLag {
  seq: number;
  root: string;
  block: number;
  blockTime: string;
  submissions: number;
  events: number;
  /** Block time of the anchor minus the acceptance of its earliest submission. */
  lagMs: number;
}

export interface DashboardStats {
  generatedAt: string;
  totals: {
    organisations: number;
    suspendedOrganisations: number;
    products: number;
    batches: number;
    batchesByStatus: Record<BatchStatusName, number>;
    events: number;
    anchors: number;
  };
  /** Events per calendar day of their eventTime in China Standard Time (+08:00), oldest first. */
  eventsPerDay: { from: string; to: string; days: { date: string; events: number }[] };
  /** Inspections (bizStep inspecting) by the category of the inspected product. */
  inspectionPassRate: PassRate[];
  /** Recalled batches by where they were made. */
  recallsByDistrict: { district: string; recalls: number }[];
  anchoringLag: { anchors: AnchorLag[]; p50Ms: number | null; p95Ms: number | null; maxMs: number | null };
}

interface EventBody {
  eventTime?: string;
  bizStep?: string;
  disposition?: string;
  errorDeclaration?: unknown;
}

/** The calendar date of `ms` in China Standard Time, YYYY-MM-DD. */
export function cstDate(ms: number): string {
  return new Date(ms + CST_OFFSET_MS).toISOString().slice(0, 10);
}

/** The nearest-rank `q`-quantile of ascending `sorted`; null for none. */
export function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const unknownDistrict = "未知 unknown";

export class Dashboard {
  private inFlight: Promise<DashboardStats> | null = null;

  constructor(
    private readonly store: Store,
    private readonly publicUrl: string,
  ) {}

  /**
   * Batches by GTIN (prefix, leading zeros optional), lot (substring), batch id, product name,
   * producer (name or 统一社会信用代码) or district; organisations by name, 统一社会信用代码 (prefix),
   * district or id. At most MAX_SEARCH_RESULTS of each.
   */
  async search(query: string, limit = MAX_SEARCH_RESULTS): Promise<SearchResult> {
    const q = query.trim();
    const lower = q.toLowerCase();
    const upper = q.toUpperCase();
    const orgs = new OrgCache(this.store);
    const organisations: OrganisationHit[] = [];
    const producers = new Set<string>();
    let truncated = false;
    for await (const [, value] of this.store.orgs.iterator(rangeOf(keys.org("")))) {
      const org = value as OrgRecord;
      orgs.remember(org);
      const matched: OrganisationHit["matched"] = [];
      if (org.name.toLowerCase().includes(lower)) matched.push("name");
      if (upper.length >= 2 && org.uscc.startsWith(upper)) matched.push("uscc");
      if (org.district.includes(q)) matched.push("district");
      if (org.orgId === lower) matched.push("orgId");
      if (matched.length === 0) continue;
      if (matched.some((m) => m !== "district")) producers.add(org.orgId);
      if (organisations.length < limit) organisations.push({ ...org, matched });
      else truncated = true;
    }

    const digits = /^\d+$/.test(q) && /[1-9]/.test(q) ? q.replace(/^0+/, "") : null;
    const products = new Map<string, ProductRecord | null>();
    const batches: BatchHit[] = [];
    for await (const [, value] of this.store.batches.iterator(rangeOf(keys.batch("")))) {
      const batch = value as BatchRecord;
      const producer = await orgs.get(batch.producer);
      let product = products.get(batch.gtin);
      if (product === undefined) {
        product = ((await this.store.products.get(keys.product(batch.gtin))) as ProductRecord | undefined) ?? null;
        products.set(batch.gtin, product);
      }
      const name = product?.metadata?.name;
      const district = batch.metadata?.district ?? producer?.district ?? null;
      const matched: SearchMatch[] = [];
      if (digits !== null && batch.gtin.replace(/^0+/, "").startsWith(digits)) matched.push("gtin");
      if (batch.lot.toLowerCase().includes(lower)) matched.push("lot");
      if (batch.batchId === lower) matched.push("batchId");
      if (name && (name.zh.includes(q) || (name.en ?? "").toLowerCase().includes(lower))) matched.push("product");
      if (producers.has(batch.producer)) matched.push("producer");
      if ((district ?? "").includes(q) || (producer?.district ?? "").includes(q)) matched.push("district");
      if (matched.length === 0) continue;
      if (batches.length >= limit) {
        truncated = true;
        break;
      }
      batches.push({
        batchId: batch.batchId,
        gtin: batch.gtin,
        lot: batch.lot,
        status: batch.status,
        product: product?.metadata ? { name: product.metadata.name, category: product.metadata.category } : null,
        producer: producer ? { orgId: producer.orgId, name: producer.name, district: producer.district } : null,
        district,
        productionDate: batch.metadata?.productionDate ?? null,
        digitalLink: batchUri(this.publicUrl, batch),
        matched,
      });
    }
    return { query: q, batches, organisations, truncated };
  }

  /** The dashboard's statistics; calls made while one is being computed share its answer. */
  stats(now = new Date()): Promise<DashboardStats> {
    if (!this.inFlight) {
      this.inFlight = this.computeStats(now).finally(() => {
        this.inFlight = null;
      });
    }
    return this.inFlight;
  }

  /** A page of organisations in id order; `cursor` is the `nextCursor` of the previous page. */
  async organisations(options: { limit?: number; cursor?: string | null } = {}): Promise<{
    organisations: OrgRecord[];
    nextCursor: string | null;
  }> {
    const { entries, nextCursor } = await readPage(this.store.orgs, rangeOf(keys.org("")), options, {
      max: MAX_ORG_PAGE,
      of: "list",
    });
    return { organisations: entries.map(([, org]) => org as OrgRecord), nextCursor };
  }

  private async computeStats(now: Date): Promise<DashboardStats> {
    const orgs = new OrgCache(this.store);
    let organisations = 0;
    let suspendedOrganisations = 0;
    for await (const [, value] of this.store.orgs.iterator(rangeOf(keys.org("")))) {
      const org = value as OrgRecord;
      orgs.remember(org);
      organisations++;
      if (org.suspended) suspendedOrganisations++;
    }

    const categories = new Map<string, string>();
    let products = 0;
    for await (const [, value] of this.store.products.iterator(rangeOf(keys.product("")))) {
      const product = value as ProductRecord;
      products++;
      categories.set(product.gtin, product.metadata?.category ?? "unknown");
    }

    const batchesByStatus: Record<BatchStatusName, number> = { active: 0, held: 0, recalled: 0 };
    const batchCategory = new Map<string, string>();
    const recalls = new Map<string, number>();
    for await (const [, value] of this.store.batches.iterator(rangeOf(keys.batch("")))) {
      const batch = value as BatchRecord;
      batchesByStatus[batch.status]++;
      batchCategory.set(batch.batchId, categories.get(batch.gtin) ?? "unknown");
      if (batch.status === "recalled") {
        const district = batch.metadata?.district ?? (await orgs.get(batch.producer))?.district ?? unknownDistrict;
        recalls.set(district, (recalls.get(district) ?? 0) + 1);
      }
    }

    const today = cstDate(now.getTime());
    const first = cstDate(Date.parse(`${today}T00:00:00Z`) - (EVENT_DAYS - 1) * DAY_MS);
    const perDay = new Map<string, number>();
    for (let i = 0; i < EVENT_DAYS; i++) perDay.set(cstDate(Date.parse(`${first}T00:00:00Z`) + i * DAY_MS), 0);
    const declared = await keySet(this.store.events, rangeOf(keys.declaration("")), keys.declaration(""));
    const inspections = new Map<string, { conformant: number; nonConformant: number }>();
    let events = 0;
    for await (const record of this.eventRecords()) {
      const body = record.body as EventBody;
      // An error declaration repeats an earlier event: it is not something that happened again.
      if (body.errorDeclaration) continue;
      events++;
      const ms = Date.parse(body.eventTime ?? "");
      if (Number.isFinite(ms)) {
        const date = cstDate(ms);
        const count = perDay.get(date);
        if (count !== undefined) perDay.set(date, count + 1);
      }
      if (body.bizStep !== "inspecting" || declared.has(record.eventId)) continue;
      const passed = body.disposition === "conformant";
      if (!passed && body.disposition !== "non_conformant") continue;
      for (const category of new Set(record.batchIds.map((id) => batchCategory.get(id) ?? "unknown"))) {
        const tally = inspections.get(category) ?? { conformant: 0, nonConformant: 0 };
        if (passed) tally.conformant++;
        else tally.nonConformant++;
        inspections.set(category, tally);
      }
    }

    const { anchors, total: anchorTotal } = await this.anchorLags();
    const lags = anchors.map((a) => a.lagMs).sort((a, b) => a - b);
    return {
      generatedAt: now.toISOString(),
      totals: {
        organisations,
        suspendedOrganisations,
        products,
        batches: batchesByStatus.active + batchesByStatus.held + batchesByStatus.recalled,
        batchesByStatus,
        events,
        anchors: anchorTotal,
      },
      eventsPerDay: { from: first, to: today, days: [...perDay].map(([date, count]) => ({ date, events: count })) },
      inspectionPassRate: [...inspections]
        .map(([category, { conformant, nonConformant }]) => ({
          category,
          conformant,
          nonConformant,
          passRate: conformant + nonConformant > 0 ? conformant / (conformant + nonConformant) : null,
        }))
        .sort((a, b) => a.category.localeCompare(b.category)),
      recallsByDistrict: [...recalls]
        .map(([district, count]) => ({ district, recalls: count }))
        .sort((a, b) => b.recalls - a.recalls || a.district.localeCompare(b.district, "zh-CN")),
      anchoringLag: {
        anchors,
        p50Ms: quantile(lags, 0.5),
        p95Ms: quantile(lags, 0.95),
        maxMs: lags.length > 0 ? lags[lags.length - 1]! : null,
      },
    };
  }

  /** Every event record with its body, in event-id order, read a thousand at a time. */
  private async *eventRecords(): AsyncGenerator<EventRecord> {
    const iterator = this.store.events.iterator(rangeOf(keys.event("")));
    const idAt = keys.event("").length;
    // Records in id order come from all submissions at once: each submission's info is read once.
    const infos = new Map<number, SubmissionInfo>();
    try {
      for (;;) {
        const chunk = (await iterator.nextv(1000)) as [string, StoredEventRecord][];
        if (chunk.length === 0) return;
        const ids = chunk.map(([key]) => key.slice(idAt));
        const records = await completeRecords(
          this.store,
          ids,
          chunk.map(([, record]) => record),
          infos,
        );
        yield* (await withBodies(this.store, records)) as EventRecord[];
      }
    } finally {
      await iterator.close();
    }
  }

  /**
   * The last LAG_ANCHORS anchors on-chain, oldest first, each with its lag: when it was confirmed minus
   * the acceptance time of the earliest submission it covers (sequence numbers follow acceptance,
   * so that is the submission with the smallest one). Anchors this gateway did not plan are left out.
   */
  private async anchorLags(): Promise<{ anchors: AnchorLag[]; total: number }> {
    const range = rangeOf(keys.anchorBySeq(0));
    const latest = await this.store.anchors.iterator({ ...range, reverse: true, limit: LAG_ANCHORS }).all();
    const [last] = latest;
    const total = last ? Number(last[0].slice(range.gte.length)) : 0;
    const anchors: AnchorLag[] = [];
    for (const [, root] of latest.reverse()) {
      const onChain = (await this.store.anchors.get(keys.anchorOnChain(root as string))) as AnchorOnChain | undefined;
      const plan = (await this.store.journal.get(keys.anchorPlan(root as string))) as AnchorRecord | undefined;
      if (!onChain || !plan || plan.submissionSeqs.length === 0) continue;
      const first = (await this.store.journal.get(keys.submission(Math.min(...plan.submissionSeqs)))) as
        SubmissionHeader | undefined;
      if (!first) continue;
      anchors.push({
        seq: onChain.seq,
        root: onChain.root,
        block: onChain.block,
        blockTime: onChain.blockTime,
        submissions: plan.submissionSeqs.length,
        events: onChain.eventCount,
        // By the gateway's clock when it has it (block times are whole seconds and, on a local chain,
        // run ahead of the wall clock); else by the block time.
        lagMs: Math.max(0, Date.parse(plan.anchoredAt ?? onChain.blockTime) - Date.parse(first.acceptedAt)),
      });
    }
    return { anchors, total };
  }
}

/** Organisations by id, read once each. */
class OrgCache {
  private readonly known = new Map<string, OrgRecord | null>();

  constructor(private readonly store: Store) {}

  remember(org: OrgRecord): void {
    this.known.set(org.orgId, org);
  }

  async get(orgId: string): Promise<OrgRecord | null> {
    let org = this.known.get(orgId);
    if (org === undefined) {
      org = ((await this.store.orgs.get(keys.org(orgId))) as OrgRecord | undefined) ?? null;
      this.known.set(orgId, org);
    }
    return org;
  }
}

/** The keys of `range` in `sublevel`, without `prefix`. */
async function keySet(sublevel: Sublevel, range: { gte: string; lt: string }, prefix: string): Promise<Set<string>> {
  const set = new Set<string>();
  for await (const key of sublevel.keys(range)) set.add(key.slice(prefix.length));
  return set;
}
