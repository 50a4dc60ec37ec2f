/**
 * Puts many events into a running gateway's store, fast and through the real code: cold-chain
 * sensor readings (sensor_reporting) of one producer on a few hundred of its batches, in
 * submissions of 1,000 built exactly as IngestService builds them — event ids (eventHash), the
 * submission's Merkle tree, the custodial EIP-712 signature, the SubmissionRecord, its index
 * records (`indexSubmission`) and its pending-anchor marker — written in large LevelDB batches.
 * The real Anchorer then anchors them on the real chain, a few anchor transactions in all.
 *
 * What it skips is what makes IngestService slow per event: the event schema and the bizStep and
 * custody rules, run on every event. So the first few submissions go through IngestService itself
 * (sent together, as concurrent requests would be), and the loader's own build of each must equal
 * what IngestService journaled and indexed, record for record; after that the loader only makes
 * more events of the same shape (later times, the same batches) and checks the first of each
 * submission against the event schema.
 *
 * Nothing else may submit events to the gateway while it seeds: the loader hands out submission
 * sequence numbers and the organisation's nonces itself.
 */
import { isDeepStrictEqual } from "node:util";
import type { Wallet } from "ethers";

import { submissionDigest } from "../../server/chain/typed-data";
import { batchIdOf } from "../../server/domain/batch-id";
import { canonicalize, sha256Hex } from "../../server/domain/canonical";
import { batchUri } from "../../server/domain/digital-link";
import { traceEventSchema } from "../../server/domain/events";
import { submissionTree } from "../../server/domain/merkle";
import type { Gateway } from "../../server/gateway";
import { IngestService, indexSubmission, journalSubmission, readSubmission } from "../../server/services/ingest";
import { keys } from "../../server/store/keys";
import type { BatchState, OrgRecord, SubmissionRecord } from "../../server/store/records";
import { Store, type Operation } from "../../server/store/store";
import { progress } from "./report";
import { BENCH_GTIN, BENCH_ORGS } from "./stack";
import { sensorReading } from "./events";

export const SUBMISSION_SIZE = 1000;
/** Events of the fixed batch, all in the first submission: its trace page is the same at every size. */
export const FIXED_BATCH_EVENTS = 30;
/** Submissions per LevelDB batch (about 20,000 operations, 20 MB). */
const SUBMISSIONS_PER_WRITE = 10;

export interface SeedBatch {
  lot: string;
  batchId: string;
  /** Its Digital Link on the gateway. */
  link: string;
}

export interface Seeder {
  producer: OrgRecord;
  apiKey: string;
  /** The batch with exactly FIXED_BATCH_EVENTS events. */
  fixed: SeedBatch;
  /** The batches the readings go to, round-robin. */
  bulk: SeedBatch[];
  /** Item serials issued (and committed on-chain) for the fixed batch. */
  serials: string[];
  /** Events stored so far. */
  events(): number;
  /** Bytes (UTF-8) of the canonical JSON of the events stored so far: the data itself, before any store. */
  eventBytes(): number;
  /**
   * Adds events until `total` are stored, then anchors them (real Anchorer, real chain) and waits
   * for the indexer. The first `realSubmissions` submissions go through IngestService.
   */
  grow(total: number): Promise<GrowResult>;
}

export interface GrowResult {
  events: number;
  /** Seconds spent building and writing submissions, and anchoring them. */
  loadSeconds: number;
  anchorSeconds: number;
  /** Events per second through IngestService.submit (its first submissions), when it ran here. */
  ingestEventsPerSecond: number | null;
  ingestEvents: number;
  anchorTransactions: number;
}

/**
 * Registers the bench producer, its product, a fixed batch and `batches` bulk batches (each an
 * on-chain transaction), and issues `serials` item serials of the fixed batch.
 */
export async function prepareSeed(
  gateway: Gateway,
  options: { batches: number; serials: number; realSubmissions: number },
): Promise<Seeder> {
  const { org, apiKey } = await gateway.registry.createOrganisation({
    ...BENCH_ORGS.producer,
    roles: ["producer"],
  });
  await gateway.registry.registerProduct(org, {
    gtin: BENCH_GTIN,
    name: { zh: "重庆老火锅底料 500g" },
    category: "seasoning",
    standard: "Q/YWHG 0001S",
  });
  const productionDate = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
  const register = async (lot: string): Promise<SeedBatch> => {
    const metadata = { gtin: BENCH_GTIN, lot, quantity: { value: 1000, unit: "XBX" }, productionDate };
    await gateway.registry.registerBatch(org, { ...metadata, district: "巴南区" }, []);
    return { lot, batchId: batchIdOf(BENCH_GTIN, lot), link: batchUri(gateway.url, { gtin: BENCH_GTIN, lot }) };
  };
  const fixed = await register("F00000");
  const bulk: SeedBatch[] = [];
  const started = performance.now();
  for (let i = 0; i < options.batches; i++) {
    bulk.push(await register(`B${String(i).padStart(5, "0")}`));
    if ((i + 1) % 100 === 0) progress(`scale: ${i + 1}/${options.batches} batches registered on-chain`);
  }
  progress(`scale: ${options.batches + 1} batches in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const issued = await fetch(`${gateway.url}/api/v1/batches/${fixed.batchId}/serials`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json", accept: "text/csv" },
    body: JSON.stringify({ count: options.serials }),
  });
  if (issued.status !== 201) throw new Error(`issuing serials answered ${issued.status}: ${await issued.text()}`);
  const serials = serialsOf(await issued.text());
  if (serials.length !== options.serials)
    throw new Error(`asked for ${options.serials} serials, got ${serials.length}`);

  const producer = (await gateway.store.orgs.get(keys.org(org.orgId))) as OrgRecord;
  return new Loader(gateway, producer, apiKey, fixed, bulk, serials, options.realSubmissions);
}

/** The serials of the CSV answer of POST /batches/{id}/serials (`serial,digital_link` rows). */
function serialsOf(csv: string): string[] {
  const [header, ...rows] = csv.trim().split(/\r?\n/);
  if (header !== "serial,digital_link") throw new Error(`unexpected serials CSV header: ${header}`);
  return rows.map((row) => row.split(",")[0]!);
}

class Loader implements Seeder {
  private stored = 0;
  private storedBytes = 0;
  private readonly timeBase = Date.now() - 2 * 86_400_000;
  private signer: Wallet | null = null;
  private custody: Map<string, BatchState> | null = null;

  constructor(
    private readonly gateway: Gateway,
    readonly producer: OrgRecord,
    readonly apiKey: string,
    readonly fixed: SeedBatch,
    readonly bulk: SeedBatch[],
    readonly serials: string[],
    private readonly realSubmissions: number,
  ) {}

  events(): number {
    return this.stored;
  }

  eventBytes(): number {
    return this.storedBytes;
  }

  async grow(total: number): Promise<GrowResult> {
    const started = performance.now();
    let ingestSeconds = 0;
    let ingestEvents = 0;
    const done = this.stored / SUBMISSION_SIZE;
    const real = Math.max(0, Math.min(Math.ceil((total - this.stored) / SUBMISSION_SIZE), this.realSubmissions - done));
    if (real > 0) {
      ingestSeconds = await this.submitThroughIngest(real);
      ingestEvents = real * SUBMISSION_SIZE;
    }
    let lastReport = this.stored;
    while (this.stored < total) {
      const count = Math.min(SUBMISSIONS_PER_WRITE, Math.ceil((total - this.stored) / SUBMISSION_SIZE));
      await this.load(count);
      if (this.stored - lastReport >= 100_000 || this.stored >= total) {
        const seconds = (performance.now() - started) / 1000;
        progress(
          `scale: ${this.stored.toLocaleString("en-US")} events stored (${Math.round(this.stored / seconds)}/s)`,
        );
        lastReport = this.stored;
      }
    }
    const loadSeconds = (performance.now() - started) / 1000;

    const anchorStarted = performance.now();
    const before = await this.anchorCount();
    await this.gateway.anchorer.flush();
    await this.gateway.indexer.syncTo(await this.gateway.ledger.provider.getBlockNumber(), { timeoutMs: 60_000 });
    const pending = await this.gateway.anchorer.pendingCount();
    if (pending !== 0) throw new Error(`${pending} submissions still wait for an anchor`);
    return {
      events: this.stored,
      loadSeconds,
      anchorSeconds: (performance.now() - anchorStarted) / 1000,
      ingestEventsPerSecond: ingestEvents > 0 ? ingestEvents / ingestSeconds : null,
      ingestEvents,
      anchorTransactions: (await this.anchorCount()) - before,
    };
  }

  private async anchorCount(): Promise<number> {
    return (await this.gateway.store.anchors.keys({ gte: "onchain:", lt: "onchain;" }).all()).length;
  }

  /** The events of a submission starting at event `first`: the first one carries the fixed batch's readings. */
  private eventsFrom(first: number): unknown[] {
    const events: unknown[] = [];
    for (let n = first; n < first + SUBMISSION_SIZE; n++) {
      const batch = n < FIXED_BATCH_EVENTS ? this.fixed : this.bulk[n % this.bulk.length]!;
      events.push(sensorReading(n, batch.link, this.timeBase));
    }
    return events;
  }

  /**
   * `count` submissions sent together through IngestService (its own instance, so that the
   * gateway's keeps no stale sequence number or nonce), each checked against the loader's build of
   * the same events. Returns the seconds IngestService took.
   */
  private async submitThroughIngest(count: number): Promise<number> {
    const { store, ledger, registry } = this.gateway;
    const ingest = new IngestService({ store, domain: ledger.domain, custodialSigner: (id) => registry.signer(id) });
    const submissions = Array.from({ length: count }, (_, i) => this.eventsFrom(this.stored + i * SUBMISSION_SIZE));
    const bodies = submissions.map((events) => JSON.parse(JSON.stringify({ events })) as unknown);
    const started = performance.now();
    const answers = await Promise.all(
      bodies.map((body) => ingest.submit(this.producer, { body, idempotencyKey: null })),
    );
    const seconds = (performance.now() - started) / 1000;
    // Newest first: a custody record holds what the last submission naming its batch wrote.
    const checked = new Set<string>();
    for (const [i, { result }] of [...answers.entries()].reverse()) {
      const journaled = (await readSubmission(store, result.submission.seq))!;
      const custody = new Map<string, BatchState>();
      for (const state of journaled.stateChanges) custody.set(state.batchId, state);
      const built = await this.build(submissions[i]!, journaled.seq, journaled.nonce, journaled.acceptedAt, custody);
      if (!isDeepStrictEqual(built.record, journaled)) {
        throw new Error(`the loader's submission ${journaled.seq} differs from what IngestService journaled`);
      }
      for (const op of built.ops) {
        if (checked.has(op.key)) continue;
        checked.add(op.key);
        // An event's body goes to the event-body database, as the text IngestService wrote.
        const body = Store.isEventBody(op);
        const stored: unknown = body ? await store.eventBodies.get(op.key) : await op.sublevel!.get(op.key);
        const written: unknown = op.type === "put" ? op.value : undefined;
        if (op.type === "put" && !isDeepStrictEqual(stored, written)) {
          throw new Error(`the loader's record ${op.key} differs from what IngestService stored`);
        }
      }
    }
    this.stored += count * SUBMISSION_SIZE;
    return seconds;
  }

  /** Builds and writes `count` submissions in one LevelDB batch. */
  private async load(count: number): Promise<void> {
    const { store } = this.gateway;
    const custody = (this.custody ??= await this.custodyStates());
    let seq: number = (await store.journal.get(keys.lastSubmissionSeq())) ?? 0;
    const nonceKey = keys.submissionNonce(this.producer.orgId);
    let nonce: number = (await store.journal.get(nonceKey)) ?? 0;
    const ops: Operation[] = [];
    for (let s = 0; s < count; s++) {
      const events = this.eventsFrom(this.stored);
      const problem = traceEventSchema.safeParse(events[0]);
      if (!problem.success) throw new Error(`the loader made an invalid event: ${problem.error.message}`);
      const built = await this.build(events, ++seq, nonce++, new Date().toISOString(), custody);
      ops.push(...built.ops);
      this.stored += events.length;
    }
    ops.push(Store.put(store.journal, keys.lastSubmissionSeq(), seq), Store.put(store.journal, nonceKey, nonce));
    await store.write(ops, { sync: true });
  }

  /** Each batch's custody as stored (the producer holds them all; readings only move lastEventTime). */
  private async custodyStates(): Promise<Map<string, BatchState>> {
    const states = new Map<string, BatchState>();
    for (const batch of [this.fixed, ...this.bulk]) {
      const state = (await this.gateway.store.batches.get(keys.batchState(batch.batchId))) as BatchState | undefined;
      states.set(
        batch.batchId,
        state ?? { batchId: batch.batchId, custodian: this.producer.orgId, inTransitTo: null, lastEventTime: null },
      );
    }
    return states;
  }

  /** A submission's journal record and every store operation IngestService writes with it. */
  private async build(
    events: unknown[],
    seq: number,
    nonce: number,
    acceptedAt: string,
    custody: Map<string, BatchState>,
  ): Promise<{ record: SubmissionRecord; ops: Operation[] }> {
    const { store, ledger, registry } = this.gateway;
    const org = this.producer;
    const texts = events.map((event) => canonicalize(event));
    // Every stored submission is built here once: the loader's, and IngestService's to compare.
    for (const text of texts) this.storedBytes += Buffer.byteLength(text);
    const eventIds = texts.map((text) => `0x${sha256Hex(text)}`);
    const tree = submissionTree(eventIds);
    const digest = submissionDigest(ledger.domain, {
      org: org.account,
      root: tree.root,
      count: eventIds.length,
      nonce: BigInt(nonce),
    });
    this.signer ??= await registry.signer(org.orgId);
    // The states this submission leaves: as IngestService's overlay Map, in the order its events
    // first name each batch, each with the time of its batch's last reading.
    const changes = new Map<string, BatchState>();
    for (const event of events) {
      const { epcClass, time } = readingOf(event);
      const batchId = this.batchIdOfLink(epcClass);
      changes.set(batchId, { ...custody.get(batchId)!, lastEventTime: time });
    }
    for (const state of changes.values()) custody.set(state.batchId, state);
    const record: SubmissionRecord = {
      seq,
      digest,
      orgId: org.orgId,
      account: org.account,
      nonce,
      root: tree.root,
      count: eventIds.length,
      signature: this.signer.signingKey.sign(digest).serialized,
      signedBy: "custodial",
      eventIds,
      events,
      acceptedAt,
      idempotencyKey: null,
      requestHash: null,
      stateChanges: [...changes.values()],
    };
    const { journal } = store;
    const ops: Operation[] = [
      ...journalSubmission(store, record, texts),
      Store.put(journal, keys.submissionByDigest(digest), seq),
      Store.put(journal, keys.pendingSubmission(seq), { digest, count: eventIds.length }),
      ...indexSubmission(store, record),
    ];
    return { record, ops };
  }

  private readonly links = new Map<string, string>();

  private batchIdOfLink(link: string): string {
    let batchId = this.links.get(link);
    if (batchId === undefined) {
      const batch = [this.fixed, ...this.bulk].find((b) => b.link === link);
      if (!batch) throw new Error(`no seeded batch ${link}`);
      this.links.set(link, (batchId = batch.batchId));
    }
    return batchId;
  }
}

function readingOf(event: unknown): { epcClass: string; time: string } {
  const e = event as { quantityList: { epcClass: string }[]; eventTime: string };
  return { epcClass: e.quantityList[0]!.epcClass, time: e.eventTime };
}
