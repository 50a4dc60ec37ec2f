/**
 * What a consumer sees when they scan a batch (DESIGN §4): the product, its producer, dates, the
 * events in order, the batches it was made from, inspection results, recall status (its own or an
 * ancestor's) and what was verified. Built from the store only, so a scan never waits on the chain.
 */
import { certificateUrl } from "./certificates";
import { blockingHold } from "./holds";
import { findRecalledAncestor } from "./ingest";
import { InFlight } from "./in-flight";
import { declarationsOf, type EventView } from "./queries";
import { batchUri } from "../domain/digital-link";
import type { TraceEvent } from "../domain/events";
import { orgIdOf } from "../domain/identifiers";
import { keys } from "../store/keys";
import { readEvents } from "../store/events";
import type {
  BatchRecord,
  EventRecord,
  OrgRecord,
  ProductMetadata,
  ProductRecord,
  StatusChange,
  SubmissionAnchor,
} from "../store/records";
import type { Store } from "../store/store";

/** Most events a trace view lists; older ones are summarised by count. */
export const MAX_TIMELINE = 200;

export interface TraceOrganisation {
  orgId: string;
  name: string;
  district: string;
}

export interface TimelineEntry {
  eventId: string;
  type: TraceEvent["type"];
  bizStep: TraceEvent["bizStep"];
  disposition: string | null;
  eventTime: string;
  place: { district: string | null; name: string | null };
  organisation: TraceOrganisation | null;
  /** Where the batch went, for shipments. */
  destination: TraceOrganisation | null;
  sensorReports: { type: string; value: number; uom: string }[];
  /** With `url`, where the certificate document is served, when it is on file. */
  certificate: (NonNullable<TraceEvent["certificationInfo"]> & { url: string | null }) | null;
  /** Set when the recorder later declared this event in error (EPCIS errorDeclaration). */
  correction: {
    reason: string;
    explanation: string | null;
    declarationTime: string;
    declaredBy: string;
    correctiveEventIds: string[];
  } | null;
  status: "pending" | "anchored";
  anchor: { block: number; blockTime: string; txHash: string } | null;
}

export interface RecallNotice {
  /** The batch itself, or the recalled batch it was made from. */
  batchId: string;
  gtin: string;
  lot: string;
  productName: string | null;
  own: boolean;
  reason: string | null;
  recalledAt: string | null;
  block: number | null;
}

export interface TraceView {
  batch: {
    batchId: string;
    gtin: string;
    lot: string;
    status: BatchRecord["status"];
    digitalLink: string;
    productionDate: string | null;
    expiryDate: string | null;
    quantity: { value: number; unit: string } | null;
    facility: string | null;
    district: string | null;
    registeredAt: string;
    block: number;
    txHash: string;
  };
  product: ProductMetadata | null;
  producer: TraceOrganisation | null;
  recall: RecallNotice | null;
  held: boolean;
  /** Why the batch is held (a non-conformant inspection, usually), when it is. */
  holdReason: string | null;
  inputs: {
    batchId: string;
    gtin: string;
    lot: string;
    productName: string | null;
    producer: string | null;
    status: string;
    digitalLink: string;
  }[];
  timeline: TimelineEntry[];
  moreEvents: number;
  verification: {
    /** All events of the batch; `anchored` and `pending` count those in the timeline. */
    events: number;
    anchored: number;
    pending: number;
    /** The latest block an event of this batch was anchored in. */
    lastAnchorBlock: number | null;
    lastAnchorTime: string | null;
    /** Every submission was signed by its organisation's account (checked when it was accepted). */
    signedByOrganisations: boolean;
    batchOnChain: { block: number; txHash: string };
  };
}

/** Most trace views kept in memory. */
const MAX_CACHED_VIEWS = 2000;

export class TraceService {
  private readonly views = new Map<string, { generation: number; view: TraceView | null }>();
  private readonly building = new InFlight<string, TraceView | null>();

  constructor(
    private readonly store: Store,
    private readonly publicUrl: string,
  ) {}

  /**
   * The trace view of batch `batchId`, or null if YuTrace does not know it. Views are kept until the
   * store changes (its write generation moves): a scanned page is read far more often than written.
   */
  async batch(batchId: string): Promise<TraceView | null> {
    const generation = this.store.generation;
    const cached = this.views.get(batchId);
    if (cached && cached.generation === generation) return cached.view;
    // Requests at the same generation that arrive while the view is being made wait for that one.
    return this.building.run(batchId, generation, async () => {
      const view = await this.build(batchId);
      // Kept only if nothing was written meanwhile: a build begun after that write is newer.
      if (this.store.generation === generation) {
        if (this.views.size >= MAX_CACHED_VIEWS) this.views.clear();
        this.views.set(batchId, { generation, view });
      }
      return view;
    });
  }

  private async build(batchId: string): Promise<TraceView | null> {
    const batch = await this.batchRecord(batchId);
    if (!batch) return null;
    const product = await this.productMetadata(batch.gtin);
    const orgCache = new Map<string, TraceOrganisation | null>();
    const org = async (orgId: string | undefined): Promise<TraceOrganisation | null> => {
      if (!orgId) return null;
      if (!orgCache.has(orgId)) {
        const record = (await this.store.orgs.get(keys.org(orgId))) as OrgRecord | undefined;
        orgCache.set(orgId, record ? { orgId, name: record.name, district: record.district } : null);
      }
      return orgCache.get(orgId)!;
    };

    const eventIds = (await this.store.events.values(keys.batchEventRange(batchId)).all()) as string[];
    const shown = eventIds.slice(-MAX_TIMELINE);
    const records = (await readEvents(this.store, shown)) as EventRecord[];
    const seqs = [...new Set(records.map((r) => r.submissionSeq))];
    const anchors = (await this.store.anchors.getMany(seqs.map((seq) => keys.submissionAnchor(seq)))) as (
      SubmissionAnchor | undefined
    )[];
    const anchorOf = new Map(seqs.map((seq, i) => [seq, anchors[i] ?? null]));

    // One read for all the "declared in error" marks; the declarations themselves only where there are any.
    const declared = await declarationsOf(
      this.store,
      records.map((r) => r.eventId),
    );
    const timeline: TimelineEntry[] = [];
    for (const [i, record] of records.entries()) {
      const event = record.body as TraceEvent;
      // A declaration repeats the event it corrects: it shows as the mark on that event, not twice.
      if (event.errorDeclaration) continue;
      const anchor = anchorOf.get(record.submissionSeq) ?? null;
      const where = event.bizLocation ?? event.readPoint;
      const to = event.destinationList?.find((d) => d.type === "possessing_party") ?? event.destinationList?.[0];
      timeline.push({
        eventId: record.eventId,
        type: event.type,
        bizStep: event.bizStep,
        disposition: event.disposition ?? null,
        eventTime: event.eventTime,
        place: { district: where?.district ?? null, name: where?.name ?? null },
        organisation: await org(record.orgId),
        destination: to ? await this.orgByUscc(to.destination) : null,
        sensorReports: (event.sensorElementList ?? []).flatMap((s) =>
          s.sensorReport.map((r) => ({ type: r.type, value: r.value, uom: r.uom })),
        ),
        certificate: event.certificationInfo
          ? { ...event.certificationInfo, url: await this.certificateLink(event.certificationInfo.documentHash) }
          : null,
        status: anchor ? "anchored" : "pending",
        anchor: anchor ? { block: anchor.block, blockTime: anchor.blockTime, txHash: anchor.txHash } : null,
        correction: correctionOf(declared[i]!),
      });
    }
    timeline.sort((a, b) => Date.parse(a.eventTime) - Date.parse(b.eventTime));

    const inputs = [];
    for (const parentId of batch.parents) {
      const parent = await this.batchRecord(parentId);
      if (!parent) continue;
      inputs.push({
        batchId: parent.batchId,
        gtin: parent.gtin,
        lot: parent.lot,
        productName: (await this.productMetadata(parent.gtin))?.name.zh ?? null,
        producer: (await org(parent.producer))?.name ?? null,
        status: parent.status,
        digitalLink: batchUri(this.publicUrl, parent),
      });
    }

    const anchored = timeline.filter((t) => t.anchor);
    const last = anchored.reduce<TimelineEntry | null>(
      (a, t) => (!a || t.anchor!.block > a.anchor!.block ? t : a),
      null,
    );
    const metadata = batch.metadata;
    const hold = await this.holdNotice(batch);
    return {
      batch: {
        batchId: batch.batchId,
        gtin: batch.gtin,
        lot: batch.lot,
        status: batch.status,
        digitalLink: batchUri(this.publicUrl, batch),
        productionDate: metadata?.productionDate ?? null,
        expiryDate: metadata?.expiryDate ?? null,
        quantity: metadata?.quantity ?? null,
        facility: metadata?.facility ?? null,
        district: metadata?.district ?? null,
        registeredAt: batch.registeredAt,
        block: batch.block,
        txHash: batch.txHash,
      },
      product,
      producer: await org(batch.producer),
      recall: await this.recallNotice(batch),
      held: hold !== null,
      holdReason: hold?.reason ?? null,
      inputs,
      timeline,
      moreEvents: eventIds.length - shown.length,
      verification: {
        events: eventIds.length,
        anchored: anchored.length,
        pending: timeline.length - anchored.length,
        lastAnchorBlock: last?.anchor?.block ?? null,
        lastAnchorTime: last?.anchor?.blockTime ?? null,
        signedByOrganisations: true,
        batchOnChain: { block: batch.block, txHash: batch.txHash },
      },
    };
  }

  /** The recall that concerns `batch`: its own, else the nearest recalled ancestor's. */
  private async recallNotice(batch: BatchRecord): Promise<RecallNotice | null> {
    let recalled: BatchRecord | null = batch.status === "recalled" ? batch : null;
    if (!recalled) {
      const ancestorId = await findRecalledAncestor(batch.batchId, (id) => this.batchRecord(id));
      recalled = ancestorId ? await this.batchRecord(ancestorId) : null;
    }
    if (!recalled) return null;
    const change = [...recalled.statusHistory].reverse().find((c: StatusChange) => c.status === "recalled");
    const reason = change
      ? ((await this.store.batches.get(keys.reason(change.reasonHash))) as string | undefined)
      : undefined;
    return {
      batchId: recalled.batchId,
      gtin: recalled.gtin,
      lot: recalled.lot,
      productName: (await this.productMetadata(recalled.gtin))?.name.zh ?? null,
      own: recalled.batchId === batch.batchId,
      reason: reason ?? null,
      recalledAt: change?.at ?? null,
      block: change?.block ?? null,
    };
  }

  /** Where the certificate with SHA-256 `hash` is served, if it was uploaded. */
  private async certificateLink(hash: string): Promise<string | null> {
    const info = await this.store.certificates.get(keys.certificateInfo(hash), { valueEncoding: "json" });
    return info === undefined ? null : certificateUrl(this.publicUrl, hash);
  }

  /**
   * Whether `batch` is held, and why: on-chain, or with a non-conformant inspection's hold still on
   * its way on-chain (it reads as held already, as it does for shipping).
   */
  private async holdNotice(batch: BatchRecord): Promise<{ reason: string | null } | null> {
    if (batch.status === "held") {
      const change = [...batch.statusHistory].reverse().find((c: StatusChange) => c.status === "held");
      const reason = change
        ? ((await this.store.batches.get(keys.reason(change.reasonHash))) as string | undefined)
        : undefined;
      return { reason: reason ?? null };
    }
    if (batch.status !== "active") return null;
    const pending = await blockingHold(this.store, batch.batchId);
    return pending ? { reason: pending.reason } : null;
  }

  private async batchRecord(batchId: string): Promise<BatchRecord | null> {
    return ((await this.store.batches.get(keys.batch(batchId))) as BatchRecord | undefined) ?? null;
  }

  private async productMetadata(gtin: string): Promise<ProductMetadata | null> {
    const product = (await this.store.products.get(keys.product(gtin))) as ProductRecord | undefined;
    return product?.metadata ?? null;
  }

  private async orgByUscc(uscc: string): Promise<TraceOrganisation | null> {
    const record = (await this.store.orgs.get(keys.org(orgIdOf(uscc)))) as OrgRecord | undefined;
    return record ? { orgId: record.orgId, name: record.name, district: record.district } : null;
  }
}

/** How the trace page shows a declaration that an event was in error. */
function correctionOf(declaration: EventView["declaredInError"]): TimelineEntry["correction"] {
  if (!declaration) return null;
  return {
    reason: declaration.reason,
    explanation: declaration.explanation,
    declarationTime: declaration.declarationTime,
    declaredBy: declaration.by,
    correctiveEventIds: declaration.correctiveEventIDs,
  };
}
