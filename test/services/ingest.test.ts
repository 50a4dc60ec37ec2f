/**
 * Event ingest against a real LevelDB store: accepted submissions are journaled with their events
 * indexed; any bad event rejects the whole submission and stores nothing.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Wallet, verifyTypedData, type BaseWallet, type Provider, type TypedDataDomain } from "ethers";

import { LEDGER_TYPES, ledgerDomain, submissionDigest } from "../../server/chain/typed-data";
import { canonicalize, eventHash } from "../../server/domain/canonical";
import { batchIdOf } from "../../server/domain/batch-id";
import { gtin14, orgIdOf, uscc } from "../../server/domain/identifiers";
import { submissionTree, verifySubmissionProof } from "../../server/domain/merkle";
import { HttpError } from "../../server/http/errors";
import { IngestService, readSubmission, type SubmissionAccepted } from "../../server/services/ingest";
import { PreparePool } from "../../server/services/prepare-pool";
import { Queries } from "../../server/services/queries";
import { EvidenceService } from "../../server/services/evidence";
import { sensorReading } from "../../bench/lib/events";
import { readEvent } from "../../server/store/events";
import { keys } from "../../server/store/keys";
import type { BatchRecord, OrgRecord, RoleName, SubmissionRecord } from "../../server/store/records";
import { Store } from "../../server/store/store";
import { recordGetMany } from "../helpers/store";

const GTIN = gtin14("0690388501001");
const LOT = "DZ20261120-01";
const BATCH = batchIdOf(GTIN, LOT);
const EPC_CLASS = `https://id.gs1.org/01/${GTIN}/10/${LOT}`;

function org(name: string, code17: string, roles: RoleName[], wallet: BaseWallet): OrgRecord {
  const code = uscc(code17);
  return {
    orgId: orgIdOf(code),
    name,
    uscc: code,
    district: "江津区",
    roles,
    account: wallet.address,
    custody: "custodial",
    suspended: false,
    createdAt: "2026-11-01T00:00:00.000Z",
  };
}

const keysByOrg = new Map<string, BaseWallet>();
const producerKey = Wallet.createRandom();
const logisticsKey = Wallet.createRandom();
const retailerKey = Wallet.createRandom();
const PRODUCER = org("重庆德庄农产品开发有限公司", "91500113203151718", ["producer"], producerKey);
const LOGISTICS = org("重庆冷链物流有限公司", "91500112MA60T2Y73", ["logistics"], logisticsKey);
const RETAILER = org("重庆永辉超市有限公司", "91500000709400742", ["retailer"], retailerKey);
keysByOrg.set(PRODUCER.orgId, producerKey);
keysByOrg.set(LOGISTICS.orgId, logisticsKey);
keysByOrg.set(RETAILER.orgId, retailerKey);

const batch: BatchRecord = {
  batchId: BATCH,
  gtin: GTIN,
  lot: LOT,
  producer: PRODUCER.orgId,
  status: "active",
  metadataHash: "0x" + "11".repeat(32),
  metadata: { gtin: GTIN, lot: LOT, quantity: { value: 5000, unit: "XBX" }, productionDate: "2026-11-20" },
  parents: [],
  registeredAt: "2026-11-20T00:00:00.000Z",
  block: 5,
  txHash: "0x" + "22".repeat(32),
  statusHistory: [],
};

function shipping(time = "2026-11-21T09:00:00+08:00", to = RETAILER.uscc) {
  return {
    type: "ObjectEvent",
    action: "OBSERVE",
    bizStep: "shipping",
    disposition: "in_transit",
    eventTime: time,
    eventTimeZoneOffset: "+08:00",
    quantityList: [{ epcClass: EPC_CLASS, quantity: 200, uom: "XBX" }],
    destinationList: [{ type: "possessing_party", destination: to }],
    bizLocation: { district: "巴南区" },
  };
}

function commissioning(time = "2026-11-20T18:00:00+08:00") {
  return {
    ...shipping(time),
    bizStep: "commissioning",
    disposition: "active",
    action: "ADD",
    destinationList: undefined,
  };
}

async function rejection(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error("expected the submission to be rejected");
}

/** A store in `dir` with the three organisations and the batch. */
async function storeWithFixtures(dir: string): Promise<Store> {
  const store = await Store.open(dir);
  await store.write([
    ...[PRODUCER, LOGISTICS, RETAILER].map((o) => Store.put(store.orgs, keys.org(o.orgId), o)),
    Store.put(store.batches, keys.batch(BATCH), batch),
  ]);
  return store;
}

describe("event ingest", function () {
  let dir: string;
  let store: Store;
  let ingest: IngestService;
  const domain: TypedDataDomain = ledgerDomain(31337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3");

  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), "yutrace-ingest-"));
    store = await storeWithFixtures(dir);
    ingest = new IngestService({
      store,
      domain,
      custodialSigner: async (orgId) => keysByOrg.get(orgId)!,
      now: () => new Date("2026-11-25T12:00:00+08:00"),
    });
  });

  afterEach(async function () {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function storedKeys(): Promise<number> {
    return (await store.db.keys().all()).length;
  }

  it("journals an accepted submission with its events, signed by the organisation's custodial key", async function () {
    const events = [commissioning(), shipping()];
    const { replayed, result } = await ingest.submit(PRODUCER, { body: { events }, idempotencyKey: null });
    expect(replayed).to.equal(false);

    const hashes = events.map((e) => eventHash(JSON.parse(JSON.stringify(e))));
    expect(result.events.map((e) => e.eventId)).to.deep.equal(hashes);
    const root = submissionTree(hashes).root;
    expect(result.submission).to.deep.include({ seq: 1, status: "pending", count: 2, root, nonce: 0 });
    const digest = submissionDigest(domain, { org: PRODUCER.account, root, count: 2, nonce: 0n });
    expect(result.submission.id).to.equal(digest);

    const record = (await readSubmission(store, 1))!;
    expect(record.digest).to.equal(digest);
    expect(record.signedBy).to.equal("custodial");
    const signer = verifyTypedData(
      domain,
      { Submission: [...LEDGER_TYPES.Submission] },
      { org: PRODUCER.account, root, count: 2, nonce: 0 },
      record.signature,
    );
    expect(signer).to.equal(PRODUCER.account);
    expect(await store.journal.get(keys.pendingSubmission(1))).to.deep.equal({ digest, count: 2 });

    // The event's record says where it is and what batches it names, nothing more; its body, the
    // canonical JSON as hashed, is in the event-body database under that position, and what the
    // submission's events share is its info (readEvent puts them together).
    const stored = await store.events.get(keys.event(hashes[1]!));
    expect(stored).to.deep.equal({ submissionSeq: 1, index: 1, batchIds: [BATCH] });
    expect(await store.eventBodies.get(keys.eventBody(1, 1))).to.equal(canonicalize(events[1]));
    expect(await store.journal.get(keys.submissionInfo(1))).to.deep.equal({
      orgId: PRODUCER.orgId,
      acceptedAt: record.acceptedAt,
    });
    const event = (await readEvent(store, hashes[1]!))!;
    expect(event).to.deep.equal({
      ...stored,
      eventId: hashes[1],
      orgId: PRODUCER.orgId,
      recordTime: record.acceptedAt,
      body: JSON.parse(canonicalize(events[1])),
    });
    expect(event.batchIds).to.deep.equal([BATCH]);
    expect(event.submissionSeq).to.equal(1);
    expect(event.index).to.equal(1);
    // Written from their canonical JSON, once: the journal keeps the submission's header, and the
    // event records are the events (readSubmission puts them together again).
    expect((await store.journal.get(keys.submission(1))).events).to.equal(undefined);
    expect(await store.journal.get(keys.submissionEvents(1))).to.equal(undefined);
    expect(record.events).to.deep.equal(JSON.parse(JSON.stringify(events)));
    expect(event.body).to.deep.equal(JSON.parse(JSON.stringify(events[1])));
    expect(Object.keys(event.body as object)).to.deep.equal(Object.keys(event.body as object).sort());
    expect(verifySubmissionProof(root, hashes[1]!, submissionTree(record.eventIds).proof(event.index))).to.equal(true);
    const batchEvents = await store.events.values(keys.batchEventRange(BATCH)).all();
    expect(batchEvents).to.deep.equal(hashes);
    expect(await store.batches.get(keys.batchState(BATCH))).to.deep.equal({
      batchId: BATCH,
      custodian: PRODUCER.orgId,
      inTransitTo: RETAILER.orgId,
      lastEventTime: "2026-11-21T09:00:00+08:00",
    });
  });

  it("shows its events from their records, bodies and submission headers, reading no submission info", async function () {
    const events = [commissioning(), shipping()];
    await ingest.submit(PRODUCER, { body: { events }, idempotencyKey: null });
    const hashes = events.map((e) => eventHash(JSON.parse(JSON.stringify(e))));
    const header = (await readSubmission(store, 1))!;
    const queries = new Queries(store);
    const { reads } = recordGetMany(store.journal);

    const page = await queries.batchEvents(BATCH, { limit: 50 });
    expect(page.nextCursor).to.equal(null);
    expect(page.events.map((view) => view.eventId)).to.deep.equal(hashes);
    page.events.forEach((view, i) => {
      expect(view.organisation).to.equal(PRODUCER.orgId);
      expect(view.recordTime).to.equal(header.acceptedAt);
      expect(view.event).to.deep.equal(JSON.parse(JSON.stringify(events[i])));
      expect(view.batchIds).to.deep.equal([BATCH]);
      expect(view.status).to.equal("pending");
      expect(view.submission).to.deep.include({ id: header.digest, seq: 1, count: 2, nonce: 0 });
      expect(verifySubmissionProof(header.root, hashes[i]!, view.proofs.eventToSubmission)).to.equal(true);
    });
    expect(await queries.event(hashes[1]!)).to.deep.equal(page.events[1]);
    // The header holds the organisation and record time: its copy `subinfo:1` is not read.
    expect([...new Set(reads.flat())]).to.deep.equal([keys.submission(1)]);

    const unknown = (await queries.event(`0x${"ab".repeat(32)}`).catch((e: unknown) => e)) as HttpError;
    expect(unknown).to.be.instanceOf(HttpError);
    expect(unknown.status).to.equal(404);
    await store.journal.del(keys.submission(1));
    const lost = (await queries.event(hashes[0]!).catch((e: unknown) => e)) as Error;
    expect(lost.message).to.equal(
      `the store has lost submission 1, which event ${hashes[0]} names; restore it from a backup`,
    );
  });

  it("gives an evidence bundle across more submissions than it reads at once, each proof leading to its root", async function () {
    const count = 70; // over the 64 submissions the bundle reads at once
    const timeBase = Date.parse("2026-11-21T00:00:00+08:00");
    for (let n = 0; n < count; n++) {
      await ingest.submit(PRODUCER, {
        body: { events: [sensorReading(n, EPC_CLASS, timeBase)] },
        idempotencyKey: null,
      });
    }
    const evidence = new EvidenceService({
      store,
      queries: new Queries(store),
      publicUrl: "http://localhost:8080",
      ledger: { chainId: "31337", address: "0x5FbDB2315678afecb367f032d93F642f64180aa3", deployBlock: 0 },
      provider: undefined as unknown as Provider, // a bundle reads only the store
    });
    const bundle = await evidence.bundle(BATCH);
    expect(bundle.events.length).to.equal(count);
    expect(Object.keys(bundle.submissions).length).to.equal(count);
    for (const event of bundle.events) {
      const submission = bundle.submissions[event.submission]!;
      expect(verifySubmissionProof(submission.root, event.eventId, event.proof), event.eventId).to.equal(true);
      expect(event.recordTime).to.equal(submission.acceptedAt);
      expect(submission.organisation.orgId).to.equal(PRODUCER.orgId);
      expect(submission.anchor).to.equal(null);
    }
  });

  it("numbers submissions and nonces in order", async function () {
    const first = await ingest.submit(PRODUCER, { body: { events: [commissioning()] }, idempotencyKey: null });
    const second = await ingest.submit(PRODUCER, { body: { events: [shipping()] }, idempotencyKey: null });
    expect([first.result.submission.seq, second.result.submission.seq]).to.deep.equal([1, 2]);
    expect([first.result.submission.nonce, second.result.submission.nonce]).to.deep.equal([0, 1]);
  });

  it("returns the original result for a retried Idempotency-Key and refuses it with another body", async function () {
    const body = { events: [commissioning()] };
    const first = await ingest.submit(PRODUCER, { body, idempotencyKey: "erp-2026-11-20-0001" });
    const again = await ingest.submit(PRODUCER, { body, idempotencyKey: "erp-2026-11-20-0001" });
    expect(again.replayed).to.equal(true);
    expect(again.result).to.deep.equal(first.result);
    const error = await rejection(
      ingest.submit(PRODUCER, { body: { events: [shipping()] }, idempotencyKey: "erp-2026-11-20-0001" }),
    );
    expect([error.status, error.code]).to.deep.equal([409, "idempotency_key_reused"]);
  });

  it("refuses an event recorded before with 409 duplicate_event", async function () {
    await ingest.submit(PRODUCER, { body: { events: [commissioning()] }, idempotencyKey: null });
    const before = await storedKeys();
    const error = await rejection(
      ingest.submit(PRODUCER, { body: { events: [commissioning()] }, idempotencyKey: null }),
    );
    expect([error.status, error.code]).to.deep.equal([409, "duplicate_event"]);
    expect(await storedKeys()).to.equal(before);
  });

  it("rejects the whole submission when one event breaks a rule, listing it by index", async function () {
    const before = await storedKeys();
    const events = [
      commissioning(),
      shipping("2026-11-19T09:00:00+08:00"),
      { ...shipping(), bizStep: "retail_selling" },
    ];
    const error = await rejection(ingest.submit(PRODUCER, { body: { events }, idempotencyKey: null }));
    expect([error.status, error.code]).to.deep.equal([422, "events_rejected"]);
    const problems = (error.details as { problems: { index: number; code: string }[] }).problems;
    expect(problems.map((p) => [p.index, p.code])).to.deep.equal([
      [1, "before_production"],
      [2, "role_not_allowed"],
    ]);
    expect(await storedKeys()).to.equal(before);
  });

  it("refuses to ship a batch with a hold pending in the journal, whether a few or over a hundred holds are pending", async function () {
    const pending = (batchId: string, n: number) => ({
      batchId,
      orgId: LOGISTICS.orgId,
      eventId: `0x${n.toString(16).padStart(64, "0")}`,
      reason: "检验不合格",
      requestedAt: "2026-11-24T08:00:00.000Z",
    });
    await ingest.submit(PRODUCER, { body: { events: [commissioning()] }, idempotencyKey: null });
    const own = pending(BATCH, 0);
    await store.write([Store.put(store.journal, keys.pendingHold(BATCH, own.eventId), own)]);
    const ship = () =>
      ingest.submit(PRODUCER, { body: { events: [shipping("2026-11-21T10:00:00+08:00")] }, idempotencyKey: null });
    for (const count of [1, 101]) {
      // Other batches' holds; over 100 pending, ingest asks batch by batch instead of reading them all.
      const others = Array.from({ length: count }, (_, n) =>
        pending(`0x${(n + 1).toString(16).padStart(64, "0")}`, n + 1),
      );
      await store.write(others.map((h) => Store.put(store.journal, keys.pendingHold(h.batchId, h.eventId), h)));
      const before = await storedKeys();
      const error = await rejection(ship());
      const problems = (error.details as { problems: { code: string }[] }).problems;
      expect(
        problems.map((p) => p.code),
        `${count} other holds pending`,
      ).to.deep.equal(["batch_held"]);
      expect(await storedKeys()).to.equal(before);
    }
    // The others do not block this batch once its own hold is gone.
    await store.write([Store.del(store.journal, keys.pendingHold(BATCH, own.eventId))]);
    expect((await ship()).replayed).to.equal(false);
  });

  describe("a submission whose write lands while the next one reads its batches", function () {
    /**
     * Submits `first`, holding its write back; then `second`, whose read of the batches sees the
     * store before `first` and answers only after `first` is written (and gone from what ingest
     * keeps of unwritten submissions). Returns how `second` ended.
     */
    async function race(first: unknown[], second: unknown[]): Promise<HttpError | null> {
      let letWriteGo!: () => void;
      const writeGate = new Promise<void>((resolve) => (letWriteGo = resolve));
      const write = store.write.bind(store);
      let writeHeld = false;
      store.write = async (...args: Parameters<Store["write"]>) => {
        if (!writeHeld) {
          writeHeld = true;
          await writeGate;
        }
        return write(...args);
      };
      const firstDone = ingest.submit(PRODUCER, { body: { events: first }, idempotencyKey: null });
      while (!writeHeld) await new Promise((resolve) => setImmediate(resolve));

      let readDone!: () => void;
      const readStarted = new Promise<void>((resolve) => (readDone = resolve));
      let letReadGo!: () => void;
      const readGate = new Promise<void>((resolve) => (letReadGo = resolve));
      const getMany = store.batches.getMany.bind(store.batches);
      store.batches.getMany = (async (...args: Parameters<typeof getMany>) => {
        const found = await getMany(...args);
        readDone();
        await readGate;
        return found;
      }) as typeof getMany;
      const secondDone = ingest.submit(PRODUCER, { body: { events: second }, idempotencyKey: null }).then(
        () => null,
        (error: unknown) => {
          if (error instanceof HttpError) return error;
          throw error;
        },
      );
      await readStarted;
      letWriteGo();
      await firstDone;
      letReadGo();
      return secondDone;
    }

    beforeEach(async function () {
      await ingest.submit(PRODUCER, { body: { events: [commissioning()] }, idempotencyKey: null });
    });

    it("keeps the shipment: no stale custody is written back", async function () {
      const reading = {
        ...shipping("2026-11-21T10:00:00+08:00"),
        bizStep: "sensor_reporting",
        disposition: undefined,
        destinationList: undefined,
      };
      expect(await race([shipping()], [reading])).to.equal(null);
      expect(await store.batches.get(keys.batchState(BATCH)), "still in transit to the retailer").to.deep.include({
        custodian: PRODUCER.orgId,
        inTransitTo: RETAILER.orgId,
      });
    });

    it("sees the hold a non-conformant inspection asked for: nothing ships", async function () {
      const inspection = {
        ...shipping("2026-11-21T08:00:00+08:00"),
        bizStep: "inspecting",
        disposition: "non_conformant",
        destinationList: undefined,
      };
      const error = await race([inspection], [shipping()]);
      expect(
        (error?.details as { problems: { code: string }[] } | undefined)?.problems.map((p) => p.code),
      ).to.deep.equal(["batch_held"]);
    });
  });

  it("lets only the destination of the last shipment receive, and then makes it the custodian", async function () {
    await ingest.submit(PRODUCER, { body: { events: [shipping()] }, idempotencyKey: null });
    const receiving = { ...shipping("2026-11-22T10:00:00+08:00"), bizStep: "receiving", destinationList: undefined };
    const error = await rejection(ingest.submit(LOGISTICS, { body: { events: [receiving] }, idempotencyKey: null }));
    expect(error.code).to.equal("events_rejected");
    expect((error.details as { problems: { code: string }[] }).problems[0]!.code).to.equal("not_destination");
    await ingest.submit(RETAILER, { body: { events: [receiving] }, idempotencyKey: null });
    expect((await store.batches.get(keys.batchState(BATCH))).custodian).to.equal(RETAILER.orgId);
  });

  describe("submissions arriving together (group commit)", function () {
    it("lets a submission build on one whose write is still on its way", async function () {
      const receiving = { ...shipping("2026-11-22T10:00:00+08:00"), bizStep: "receiving", destinationList: undefined };
      // Sent without waiting: the receipt's checks must see the shipment before it is on disk.
      const [shipped, received] = await Promise.all([
        ingest.submit(PRODUCER, { body: { events: [commissioning(), shipping()] }, idempotencyKey: null }),
        ingest.submit(RETAILER, { body: { events: [receiving] }, idempotencyKey: null }),
      ]);
      expect([shipped.result.submission.seq, received.result.submission.seq]).to.deep.equal([1, 2]);
      expect((await store.batches.get(keys.batchState(BATCH))).custodian).to.equal(RETAILER.orgId);
      const journaled = await store.journal.values(keys.submissionRange).all();
      expect(journaled.map((r: SubmissionRecord) => r.seq)).to.deep.equal([1, 2]);
    });

    it("refuses an event sent twice at once, and answers a retry of an unwritten request with its result", async function () {
      const body = { events: [commissioning()] };
      const [first, duplicate, retry] = await Promise.allSettled([
        ingest.submit(PRODUCER, { body, idempotencyKey: "erp-1" }),
        ingest.submit(PRODUCER, { body, idempotencyKey: null }),
        ingest.submit(PRODUCER, { body, idempotencyKey: "erp-1" }),
      ]);
      expect(first.status).to.equal("fulfilled");
      expect(duplicate.status).to.equal("rejected");
      expect(((duplicate as PromiseRejectedResult).reason as HttpError).code).to.equal("duplicate_event");
      expect(retry.status).to.equal("fulfilled");
      const original = (first as PromiseFulfilledResult<{ result: unknown }>).value.result;
      expect((retry as PromiseFulfilledResult<{ replayed: boolean; result: unknown }>).value).to.deep.equal({
        replayed: true,
        result: original,
      });
    });

    it("numbers nonces of submissions accepted together in order", async function () {
      const results = await Promise.all(
        ["2026-11-20T18:00:00+08:00", "2026-11-20T18:01:00+08:00", "2026-11-20T18:02:00+08:00"].map((time) =>
          ingest.submit(PRODUCER, { body: { events: [commissioning(time)] }, idempotencyKey: null }),
        ),
      );
      expect(results.map((r) => r.result.submission.nonce)).to.deep.equal([0, 1, 2]);
      expect(await store.journal.get(keys.submissionNonce(PRODUCER.orgId))).to.equal(3);
    });
  });

  it("refuses malformed submissions with 400 and a list of problems", async function () {
    for (const [body, code] of [
      [{}, "invalid_submission"],
      [{ events: [] }, "invalid_submission"],
      [{ events: [commissioning()], extra: 1 }, "invalid_submission"],
      [{ events: Array.from({ length: 1001 }, () => commissioning()) }, "too_many_events"],
    ] as const) {
      const error = await rejection(ingest.submit(PRODUCER, { body, idempotencyKey: null }));
      expect([error.status, error.code]).to.deep.equal([400, code]);
    }
    const error = await rejection(ingest.submit(PRODUCER, { body: { events: [commissioning()] }, idempotencyKey: "" }));
    expect(error.code).to.equal("invalid_idempotency_key");
  });

  it("accepts a self-signed submission only with the right nonce and the organisation's signature", async function () {
    const self = { ...PRODUCER, custody: "self" as const };
    const events = [commissioning()];
    const root = submissionTree([eventHash(events[0])]).root;
    const value = { org: self.account, root, count: 1, nonce: 0 };
    const types = { Submission: [...LEDGER_TYPES.Submission] };
    const wrong = await Wallet.createRandom().signTypedData(domain, types, value);
    const bad = await rejection(
      ingest.submit(self, { body: { events, signature: wrong, nonce: 0 }, idempotencyKey: null }),
    );
    expect([bad.status, bad.code]).to.deep.equal([422, "invalid_signature"]);
    const missing = await rejection(ingest.submit(self, { body: { events }, idempotencyKey: null }));
    expect(missing.code).to.equal("signature_required");

    const signature = await producerKey.signTypedData(domain, types, value);
    const stale = await rejection(ingest.submit(self, { body: { events, signature, nonce: 3 }, idempotencyKey: null }));
    expect([stale.status, stale.code]).to.deep.equal([409, "wrong_nonce"]);
    const { result } = await ingest.submit(self, { body: { events, signature, nonce: 0 }, idempotencyKey: null });
    expect(((await store.journal.get(keys.submission(result.submission.seq))) as SubmissionRecord).signedBy).to.equal(
      "client",
    );
  });

  describe("submissions prepared on a worker thread (the rules see the events' rule views)", function () {
    let pool: PreparePool;
    let inlineDir: string;
    let inlineStore: Store;

    before(function () {
      pool = new PreparePool(1);
    });

    after(async function () {
      await pool.close();
    });

    beforeEach(async function () {
      inlineDir = await mkdtemp(path.join(os.tmpdir(), "yutrace-ingest-inline-"));
      inlineStore = await storeWithFixtures(inlineDir);
    });

    afterEach(async function () {
      await inlineStore.close();
      await rm(inlineDir, { recursive: true, force: true });
    });

    it("accepts and refuses exactly what the main thread does, with the same problems, states and holds", async function () {
      const inline = new IngestService({
        store: inlineStore,
        domain,
        custodialSigner: async (orgId) => keysByOrg.get(orgId)!,
        now: () => new Date("2026-11-25T12:00:00+08:00"),
      });
      const worker = new IngestService({
        store,
        domain,
        custodialSigner: async (orgId) => keysByOrg.get(orgId)!,
        now: () => new Date("2026-11-25T12:00:00+08:00"),
        preparer: pool,
      });
      const at = (time: string) => `2026-11-2${time}+08:00`;
      const receiving = (time: string) => ({ ...shipping(at(time)), bizStep: "receiving", destinationList: undefined });
      const inspection = (time: string, extra: Record<string, unknown>) => ({
        ...shipping(at(time)),
        bizStep: "inspecting",
        destinationList: undefined,
        ...extra,
      });
      const steps: [OrgRecord, unknown[]][] = [
        [PRODUCER, [commissioning(), shipping(at("1T09:00:00"))]],
        [LOGISTICS, [receiving("1T10:00:00")]], // not the destination
        [RETAILER, [receiving("1T11:00:00")]],
        [PRODUCER, [{ ...shipping(at("1T12:00:00")), bizStep: "retail_selling" }]], // role, custody
        [RETAILER, [{ ...shipping(at("1T13:00:00")), destinationList: undefined }]], // no destination
        [RETAILER, [shipping(at("1T14:00:00"), uscc("91500000MA5U0000X"))]], // unknown destination
        [RETAILER, [shipping(at("9T14:00:00"))]], // in the future
        [
          PRODUCER,
          [
            inspection("2T09:00:00", {
              certificationInfo: { documentHash: "ab".repeat(32), issuer: "重庆市质检院", standard: "GB 2760" },
            }),
          ],
        ], // certificate not uploaded
        [PRODUCER, [inspection("2T10:00:00", { disposition: "non_conformant" })]], // a hold
        [RETAILER, [shipping(at("2T11:00:00"), LOGISTICS.uscc)]], // held
        [PRODUCER, [inspection("2T12:00:00", { disposition: "conformant", certificationInfo: undefined })]],
      ];
      const outcome = async (submit: () => Promise<{ result: SubmissionAccepted }>) => {
        try {
          const { result } = await submit();
          return { accepted: result.events.map((e) => e.eventId) };
        } catch (error) {
          if (!(error instanceof HttpError)) throw error;
          return { refused: [error.status, error.code, error.details] };
        }
      };
      const outcomes: { inline: unknown; worker: unknown }[] = [];
      for (const [org, events] of steps) {
        // As the request body arrives: JSON (what is undefined is absent).
        const json = JSON.stringify({ events });
        outcomes.push({
          inline: await outcome(() => inline.submit(org, { body: JSON.parse(json), idempotencyKey: null })),
          worker: await outcome(() =>
            worker.submitJson(org, { raw: new TextEncoder().encode(json), idempotencyKey: null }),
          ),
        });
      }
      outcomes.forEach(({ inline, worker }, i) => expect(worker, `step ${i}`).to.deep.equal(inline));
      // The scenario does what its comments say: some accepted, some refused for each reason.
      const codes = outcomes.map(({ inline }) =>
        "accepted" in (inline as object)
          ? "accepted"
          : ((inline as { refused: [number, string, { problems?: { code: string }[] }] }).refused[2].problems ?? [])
              .map((p) => p.code)
              .join("+"),
      );
      expect(codes).to.deep.equal([
        "accepted",
        "not_destination",
        "accepted",
        "role_not_allowed+not_custodian",
        "shipping_without_destination",
        "unknown_destination",
        "event_in_future",
        "certificate_not_uploaded",
        "accepted",
        "batch_held",
        "accepted",
      ]);
      for (const key of [keys.batchState(BATCH)]) {
        expect(await store.batches.get(key)).to.deep.equal(await inlineStore.batches.get(key));
      }
      const holds = async (s: Store) => s.journal.keys(keys.pendingHoldRange).all();
      expect(await holds(store)).to.deep.equal(await holds(inlineStore));
      expect(await holds(store)).to.have.length(1);
    });
  });
});
