/**
 * The regulator's side of a batch's history, against a real gateway (its own `hardhat node`, a
 * LevelDB in a temp folder, real HTTP): the evidence bundle, the verification report and each of
 * its checks — including what tampering with the store does to it —, corrections by EPCIS
 * errorDeclaration, lineage down with holders and quantities, the recall drill, and a recall that
 * reaches a grandchild batch and its consumer page.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import request from "supertest";

import { eventHash } from "../../server/domain/canonical";
import { keys } from "../../server/store/keys";
import { Store } from "../../server/store/store";
import { readEvent, type StoredEventRecord } from "../../server/store/events";
import type { SubmissionAnchor, SubmissionRecord } from "../../server/store/records";
import type { EvidenceBundle } from "../../server/verify/bundle";
import type { VerificationReport } from "../../server/verify/verify-bundle";
import {
  bearer,
  createOrganisation,
  cstTime,
  dateIn,
  destination,
  expectError,
  objectEvent,
  ORGANISATIONS,
  PRODUCTS,
  quantity,
  quiesce,
  registerBatch,
  registerProduct,
  startTestGateway,
  storeSnapshot,
  transformationEvent,
  type TestGateway,
  type TestOrg,
} from "../helpers/gateway";
import { recordGetMany } from "../helpers/store";

describe("regulator: evidence, verification, corrections, lineage and recalls", function () {
  this.timeout(180_000);

  let t: TestGateway;
  let producer: TestOrg;
  let farm: TestOrg;
  let carrier: TestOrg;
  let shop: TestOrg;
  let regulator: TestOrg;
  const ids = { chili: "", hotpot: "", giftBox: "" };
  const lots = { chili: "JJ20261101", hotpot: "HG20261120", giftBox: "LH20261121" };
  /** Event ids by what they are. */
  const events: Record<string, string> = {};

  const api = () => request(t.url);
  const verification = async (batchId: string, key = regulator.apiKey): Promise<VerificationReport> => {
    const res = await api().get(`/api/v1/batches/${batchId}/verification`).set(bearer(key));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body as VerificationReport;
  };
  const submit = async (org: TestOrg, list: Record<string, unknown>[]): Promise<string[]> => {
    const res = await api().post("/api/v1/events").set(bearer(org.apiKey)).send({ events: list });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return res.body.events.map((e: { eventId: string }) => e.eventId);
  };
  const key = (name: keyof typeof lots) => ({
    gtin: { chili: PRODUCTS.chili.gtin, hotpot: PRODUCTS.hotpotBase.gtin, giftBox: PRODUCTS.giftBox.gtin }[name],
    lot: lots[name],
  });

  before(async function () {
    t = await startTestGateway();
    producer = await createOrganisation(t, ORGANISATIONS.producer);
    farm = await createOrganisation(t, ORGANISATIONS.otherProducer);
    carrier = await createOrganisation(t, ORGANISATIONS.logistics);
    shop = await createOrganisation(t, ORGANISATIONS.retailer);
    regulator = await createOrganisation(t, ORGANISATIONS.regulator);
    await registerProduct(t, farm, PRODUCTS.chili);
    await registerProduct(t, producer, PRODUCTS.hotpotBase);
    await registerProduct(t, producer, PRODUCTS.giftBox);
    const base = { productionDate: dateIn(-3), district: "江津区" };
    ids.chili = await registerBatch(t, farm, { ...key("chili"), ...base, quantity: { value: 800, unit: "KGM" } });
    ids.hotpot = await registerBatch(t, producer, {
      ...key("hotpot"),
      productionDate: dateIn(-2),
      district: "巴南区",
      quantity: { value: 2000, unit: "KGM" },
      inputs: [key("chili")],
    });
    ids.giftBox = await registerBatch(t, producer, {
      ...key("giftBox"),
      productionDate: dateIn(-1),
      district: "巴南区",
      quantity: { value: 500, unit: "XBX" },
      inputs: [key("hotpot")],
    });
    const q = (name: keyof typeof lots, amount: number, uom: string) => quantity(t.url, key(name), amount, uom);
    [events.harvest, events.toProducer] = await submit(farm, [
      objectEvent("commissioning", cstTime(-3, 8), [q("chili", 800, "KGM")]),
      objectEvent("shipping", cstTime(-3, 14), [q("chili", 800, "KGM")], { destinationList: destination(producer) }),
    ]);
    [events.received, events.made] = await submit(producer, [
      objectEvent("receiving", cstTime(-2, 9), [q("chili", 800, "KGM")]),
      transformationEvent(cstTime(-2, 10), [q("chili", 300, "KGM")], [q("hotpot", 2000, "KGM")]),
    ]);
    [events.boxed, events.shipped] = await submit(producer, [
      transformationEvent(cstTime(-1, 9), [q("hotpot", 250, "KGM")], [q("giftBox", 500, "XBX")]),
      objectEvent("shipping", cstTime(-1, 15), [q("giftBox", 500, "XBX")], { destinationList: destination(carrier) }),
    ]);
    [events.carried] = await submit(carrier, [objectEvent("receiving", cstTime(-1, 16), [q("giftBox", 500, "XBX")])]);
    await quiesce(t.gateway);
  });

  after(async function () {
    await t?.stop();
  });

  describe("evidence bundle", function () {
    it("is public and carries each event with its proofs, signature, anchor and the ledger's address", async function () {
      const res = await api().get(`/api/v1/batches/${ids.hotpot}/evidence`);
      expect(res.status).to.equal(200);
      const bundle = res.body;
      expect(bundle.format).to.equal("yutrace-evidence/1");
      expect(bundle.ledger.address).to.equal(t.gateway.ledger.address);
      expect(bundle.batch).to.include({ batchId: ids.hotpot, gtin: PRODUCTS.hotpotBase.gtin, lot: lots.hotpot });
      expect(bundle.batch.parents).to.deep.equal([ids.chili]);
      expect(bundle.events.map((e: { eventId: string }) => e.eventId)).to.deep.equal([events.made, events.boxed]);
      for (const event of bundle.events) {
        expect(eventHash(event.body)).to.equal(event.eventId);
        const submission = bundle.submissions[event.submission];
        expect(submission.signature).to.match(/^0x[0-9a-f]{130}$/);
        expect(submission.account).to.equal(producer.account);
        expect(submission.anchor.proof).to.be.an("array");
        expect(submission.anchor.block).to.be.a("number");
      }
      expect(bundle.ancestors).to.deep.equal([]);
    });

    it("adds the ancestors' events with ?ancestors=true, and refuses other query values", async function () {
      const res = await api().get(`/api/v1/batches/${ids.giftBox}/evidence?ancestors=true`);
      expect(res.status).to.equal(200);
      expect(res.body.ancestors.map((b: { batchId: string }) => b.batchId)).to.deep.equal([ids.hotpot, ids.chili]);
      const byBatch = (batchId: string) =>
        res.body.events
          .filter((e: { batchId: string }) => e.batchId === batchId)
          .map((e: { eventId: string }) => e.eventId);
      expect(byBatch(ids.chili)).to.include.members([events.harvest, events.toProducer, events.received]);
      expectError(await api().get(`/api/v1/batches/${ids.giftBox}/evidence?ancestors=yes`), 400, "invalid_request");
      expectError(await api().get(`/api/v1/batches/0x${"ab".repeat(32)}/evidence`), 404, "unknown_batch");
    });
    it("takes each event's record time from its submission's header, read once, not from the submission infos", async function () {
      const { store } = t.gateway;
      // A write moves the journal generation: every header is read again to compare, once.
      await store.write([Store.put(store.meta, "test:evidence-headers", 1)]);
      const recorded = recordGetMany(store.journal);
      let bundle: EvidenceBundle;
      try {
        const res = await api().get(`/api/v1/batches/${ids.giftBox}/evidence?ancestors=true`);
        expect(res.status).to.equal(200);
        bundle = res.body as EvidenceBundle;
      } finally {
        recorded.restore();
      }
      const journalReads = recorded.reads.flat();
      expect(bundle.events.length).to.be.greaterThan(5);
      for (const event of bundle.events) {
        const submission = bundle.submissions[event.submission]!;
        expect(event.recordTime).to.equal(submission.acceptedAt);
        const stored = (await readEvent(store, event.eventId))!;
        expect(event.recordTime).to.equal(stored.recordTime);
        expect(submission.organisation.orgId).to.equal(stored.orgId);
      }
      expect(journalReads.filter((key) => key.startsWith("subinfo:"))).to.deep.equal([]);
      const headerReads = journalReads.filter((key) => key.startsWith("sub:"));
      expect(headerReads.length).to.equal(Object.keys(bundle.submissions).length);
      expect(new Set(headerReads).size).to.equal(headerReads.length);
    });
  });

  describe("verification report", function () {
    it("passes every check of every event of an untouched batch", async function () {
      const report = await verification(ids.giftBox);
      expect(report.verdict).to.equal("verified");
      expect(report.problems).to.deep.equal([]);
      expect(report.batch).to.deep.include({
        onChain: true,
        status: "active",
        metadataMatches: true,
        parentsMatch: true,
      });
      expect(report.summary).to.deep.equal({ events: 3, passed: 3, failed: 0, pending: 0 });
      for (const event of report.events) {
        expect(event.checks.map((c) => c.name)).to.deep.equal([
          "hash",
          "submission_proof",
          "signature",
          "signer_role",
          "anchored",
          "batch_on_chain",
        ]);
        expect(
          event.checks.every((c) => c.ok === true),
          JSON.stringify(event.checks),
        ).to.equal(true);
      }
      expect(report.chain.ledger).to.equal(t.gateway.ledger.address);
    });

    it("needs an API key", async function () {
      expectError(await api().get(`/api/v1/batches/${ids.giftBox}/verification`), 401, "unauthenticated");
    });

    /** Changes one stored record, checks the report, and puts the record back. */
    async function tampered(
      sublevel: "eventBodies" | "journal" | "anchors" | "batches" | "orgs",
      storeKey: string,
      change: (value: Record<string, unknown>) => void,
      check: (report: VerificationReport) => void,
      batchId = ids.giftBox,
    ): Promise<void> {
      const { store } = t.gateway;
      // Event bodies are JSON text in their own database.
      const level =
        sublevel === "eventBodies"
          ? {
              get: async (key: string) => JSON.parse((await store.eventBodies.get(key)) ?? "null") as unknown,
              put: (key: string, value: unknown) => store.eventBodies.put(key, JSON.stringify(value)),
            }
          : store[sublevel];
      const original = await level.get(storeKey);
      expect(original, `store record ${storeKey}`).to.not.equal(undefined);
      const copy = JSON.parse(JSON.stringify(original));
      change(copy);
      await level.put(storeKey, copy);
      try {
        check(await verification(batchId));
      } finally {
        await level.put(storeKey, original);
      }
      expect((await verification(batchId)).verdict).to.equal("verified");
    }
    const failedChecks = (report: VerificationReport, eventId: string) =>
      report.events
        .find((e) => e.eventId === eventId)!
        .checks.filter((c) => c.ok === false)
        .map((c) => c.name);
    const failedEvents = (report: VerificationReport) =>
      report.events.filter((e) => e.verdict === "failed").map((e) => e.eventId);

    it("fails the hash of exactly the event whose stored body was altered", async function () {
      const shipped = (await t.gateway.store.events.get(keys.event(events.shipped))) as StoredEventRecord;
      await tampered(
        "eventBodies",
        keys.eventBody(shipped.submissionSeq, shipped.index),
        (body) => {
          (body as { quantityList: { quantity: number }[] }).quantityList[0]!.quantity = 50;
        },
        (report) => {
          expect(report.verdict).to.equal("failed");
          expect(failedEvents(report)).to.deep.equal([events.shipped]);
          expect(failedChecks(report, events.shipped)).to.include("hash");
        },
      );
    });

    it("fails the submission proof of exactly the event whose proof the journal no longer gives", async function () {
      // Proofs come from the journal's list of the submission's event ids: alter the entry of
      // boxed's sibling (shipped) and boxed's proof no longer reaches the root; shipped's does.
      const boxed = (await t.gateway.store.events.get(keys.event(events.boxed))) as StoredEventRecord;
      await tampered(
        "journal",
        keys.submission(boxed.submissionSeq),
        (submission) => {
          const { eventIds } = submission as unknown as SubmissionRecord;
          eventIds[eventIds.indexOf(events.shipped)] = `0x${"11".repeat(32)}`;
        },
        (report) => {
          expect(failedEvents(report)).to.deep.equal([events.boxed]);
          expect(failedChecks(report, events.boxed)).to.deep.equal(["submission_proof"]);
        },
      );
    });

    it("fails the signature of exactly the events of the submission whose signature was altered", async function () {
      const record = (await t.gateway.store.events.get(keys.event(events.boxed))) as StoredEventRecord;
      const forged = Wallet.createRandom().signingKey.sign(`0x${"22".repeat(32)}`).serialized;
      await tampered(
        "journal",
        keys.submission(record.submissionSeq),
        (submission) => {
          (submission as unknown as SubmissionRecord).signature = forged;
        },
        (report) => {
          // boxed and shipped were one submission; the carrier's receipt was another.
          expect(failedEvents(report).sort()).to.deep.equal([events.boxed, events.shipped].sort());
          expect(failedChecks(report, events.boxed)).to.deep.equal(["signature"]);
          expect(report.events.find((e) => e.eventId === events.carried)!.verdict).to.equal("passed");
        },
      );
    });

    it("fails the anchor check of the events whose stored anchor proof was altered", async function () {
      const record = (await t.gateway.store.events.get(keys.event(events.carried))) as StoredEventRecord;
      await tampered(
        "anchors",
        keys.submissionAnchor(record.submissionSeq),
        (anchor) => {
          (anchor as unknown as SubmissionAnchor).proof = [`0x${"33".repeat(32)}`];
        },
        (report) => {
          expect(failedEvents(report)).to.deep.equal([events.carried]);
          expect(failedChecks(report, events.carried)).to.deep.equal(["anchored"]);
        },
      );
    });

    it("fails the anchor check when the stored root was never anchored", async function () {
      const record = (await t.gateway.store.events.get(keys.event(events.carried))) as StoredEventRecord;
      await tampered(
        "anchors",
        keys.submissionAnchor(record.submissionSeq),
        (anchor) => {
          (anchor as unknown as SubmissionAnchor).root = `0x${"44".repeat(32)}`;
        },
        (report) => {
          const check = report.events
            .find((e) => e.eventId === events.carried)!
            .checks.find((c) => c.name === "anchored")!;
          expect(check.ok).to.equal(false);
          expect(check.detail).to.match(/not anchored on-chain/);
        },
      );
    });

    it("fails the signer's role when the signer is claimed for another organisation", async function () {
      await tampered(
        "orgs",
        keys.org(carrier.orgId),
        (org) => {
          org.uscc = shop.uscc;
        },
        (report) => {
          expect(failedEvents(report)).to.deep.equal([events.carried]);
          expect(failedChecks(report, events.carried)).to.deep.equal(["signer_role"]);
        },
      );
    });

    it("fails the batch when its stored metadata no longer hashes to the on-chain metadataHash", async function () {
      await tampered(
        "batches",
        keys.batch(ids.giftBox),
        (batch) => {
          (batch.metadata as { quantity: { value: number } }).quantity.value = 5000;
        },
        (report) => {
          expect(report.verdict).to.equal("failed");
          expect(report.batch.metadataMatches).to.equal(false);
          expect(report.problems.join(" ")).to.match(/metadataHash/);
          expect(report.summary.failed).to.equal(0);
        },
      );
    });

    it("reports events waiting for an anchor as pending and the verdict as incomplete", async function () {
      t.gateway.anchorer.stop();
      try {
        const [stored] = await submit(carrier, [
          objectEvent("storing", cstTime(0, 1), [quantity(t.url, key("giftBox"), 500, "XBX")], {
            bizLocation: { district: "沙坪坝区", name: "渝冷沙坪坝冷库" },
          }),
        ]);
        const report = await verification(ids.giftBox);
        expect(report.verdict).to.equal("incomplete");
        const event = report.events.find((e) => e.eventId === stored)!;
        expect(event.verdict).to.equal("pending");
        expect(event.checks.find((c) => c.name === "anchored")!.ok).to.equal(null);
        expect(event.checks.filter((c) => c.name !== "anchored").every((c) => c.ok === true)).to.equal(true);
        events.stored = stored!;
      } finally {
        t.gateway.anchorer.start();
      }
      await quiesce(t.gateway);
      expect((await verification(ids.giftBox)).verdict).to.equal("verified");
    });
  });

  describe("corrections (EPCIS errorDeclaration)", function () {
    let original: Record<string, unknown>;
    let declarationId: string;
    let correctiveId: string;

    it("accepts an organisation's declaration that its own event was wrong, with the corrective event", async function () {
      const q = quantity(t.url, key("giftBox"), 500, "XBX");
      // The carrier sends the boxes to the wrong shop: the producer instead of the retailer.
      original = objectEvent("shipping", cstTime(0, 2), [q], { destinationList: destination(producer) });
      [events.wrongShipment] = await submit(carrier, [original]);
      const corrective = objectEvent("shipping", cstTime(0, 2, 5), [q], { destinationList: destination(shop) });
      correctiveId = eventHash(corrective);
      const declaration = {
        ...original,
        errorDeclaration: {
          declarationTime: cstTime(0, 3),
          reason: "incorrect_data",
          correctiveEventIDs: [correctiveId],
          explanation: "收货方填错：应为山城优选超市",
        },
      };
      const ids2 = await submit(carrier, [declaration, corrective]);
      declarationId = ids2[0]!;
      expect(ids2[1]).to.equal(correctiveId);
      await quiesce(t.gateway);
    });

    it("keeps the original, shows both, and moves custody as if the wrong shipment never happened", async function () {
      const res = await api().get(`/api/v1/batches/${ids.giftBox}/events?limit=200`).set(bearer(regulator.apiKey));
      const listed = res.body.events.map((e: { eventId: string }) => e.eventId);
      expect(listed).to.include.members([events.wrongShipment, declarationId, correctiveId]);
      const view = await api().get(`/api/v1/events/${events.wrongShipment}`).set(bearer(regulator.apiKey));
      expect(view.body.declaredInError).to.deep.include({ by: declarationId, reason: "incorrect_data" });
      const declaration = await api().get(`/api/v1/events/${declarationId}`).set(bearer(regulator.apiKey));
      expect(declaration.body.declares).to.equal(events.wrongShipment);
      // The producer was the wrong destination: it may not receive; the shop may.
      const receipt = (org: TestOrg) =>
        api()
          .post("/api/v1/events")
          .set(bearer(org.apiKey))
          .send({ events: [objectEvent("receiving", cstTime(0, 4), [quantity(t.url, key("giftBox"), 500, "XBX")])] });
      const refused = expectError(await receipt(producer), 422, "events_rejected");
      expect(JSON.stringify(refused.details)).to.contain("not_destination");
      expect((await receipt(shop)).status).to.equal(202);
    });

    it("reads correctly on the consumer page: the wrong shipment struck through with the reason, shown once", async function () {
      const json = await api().get(`/01/${PRODUCTS.giftBox.gtin}/10/${lots.giftBox}`).set("Accept", "application/json");
      const timeline = json.body.timeline as { eventId: string; correction: { reason: string } | null }[];
      expect(timeline.map((e) => e.eventId)).to.not.include(declarationId);
      expect(timeline.find((e) => e.eventId === events.wrongShipment)!.correction).to.deep.include({
        reason: "incorrect_data",
        explanation: "收货方填错：应为山城优选超市",
        declaredBy: declarationId,
        correctiveEventIds: [correctiveId],
      });
      expect(timeline.find((e) => e.eventId === correctiveId)!.correction).to.equal(null);
      const html = await api().get(`/01/${PRODUCTS.giftBox.gtin}/10/${lots.giftBox}?lang=zh`);
      expect(html.text).to.contain("此记录已由记录企业更正: 记录内容有误 — 收货方填错：应为山城优选超市");
      expect(html.text.match(/<del>/g)).to.have.length(1);
      const en = await api().get(`/01/${PRODUCTS.giftBox.gtin}/10/${lots.giftBox}?lang=en`);
      expect(en.text).to.contain("Corrected by the company that recorded it: the record was wrong");
    });

    it("verifies the declaration and marks the declared event in the report", async function () {
      await quiesce(t.gateway);
      const report = await verification(ids.giftBox);
      expect(report.verdict).to.equal("verified");
      expect(report.events.find((e) => e.eventId === events.wrongShipment)!.declaredInError).to.equal(declarationId);
      expect(report.events.find((e) => e.eventId === correctiveId)!.declaredInError).to.equal(null);
    });

    it("refuses declarations of another organisation's event, of an unknown event, or twice — and stores nothing", async function () {
      await quiesce(t.gateway);
      const before = await storeSnapshot(t.gateway);
      const declare = (org: TestOrg, event: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
        api()
          .post("/api/v1/events")
          .set(bearer(org.apiKey))
          .send({
            events: [
              { ...event, errorDeclaration: { declarationTime: cstTime(0, 5), reason: "did_not_occur", ...extra } },
            ],
          });
      const codes = (error: { details?: unknown }) =>
        (error.details as { problems: { code: string }[] }).problems.map((p) => p.code);
      expect(codes(expectError(await declare(producer, original), 422, "events_rejected"))).to.deep.equal([
        "not_own_event",
        "already_declared",
      ]);
      expect(
        codes(expectError(await declare(carrier, { ...original, comment: "never sent" }), 422, "events_rejected")),
      ).to.deep.equal(["unknown_original_event"]);
      expect(codes(expectError(await declare(carrier, original), 422, "events_rejected"))).to.deep.equal([
        "already_declared",
      ]);
      const unknownCorrective = await declare(
        farm,
        objectEvent("commissioning", cstTime(-3, 8), [quantity(t.url, key("chili"), 800, "KGM")]),
        { correctiveEventIDs: [`0x${"55".repeat(32)}`] },
      );
      expect(codes(expectError(unknownCorrective, 422, "events_rejected"))).to.deep.equal(["unknown_corrective_event"]);
      expect(await storeSnapshot(t.gateway)).to.deep.equal(before);
    });
  });

  describe("lineage, recall drill and recall", function () {
    it("lists every batch made from a batch, transitively, with its holder and quantity", async function () {
      const res = await api().get(`/api/v1/batches/${ids.chili}/lineage?direction=down`).set(bearer(regulator.apiKey));
      expect(res.status).to.equal(200);
      const byId = new Map(res.body.batches.map((b: { batchId: string }) => [b.batchId, b]));
      expect([...byId.keys()]).to.deep.equal([ids.hotpot, ids.giftBox]);
      expect(byId.get(ids.hotpot)).to.deep.include({ depth: 1, quantity: { value: 2000, unit: "KGM" } });
      expect((byId.get(ids.hotpot) as { holder: { name: string } }).holder.name).to.equal(producer.name);
      expect(byId.get(ids.giftBox)).to.deep.include({ depth: 2, quantity: { value: 500, unit: "XBX" } });
      expect((byId.get(ids.giftBox) as { holder: { name: string } }).holder.name).to.equal(shop.name);
      expect(res.body.edges).to.deep.equal([
        [ids.chili, ids.hotpot],
        [ids.hotpot, ids.giftBox],
      ]);
    });

    it("runs a recall drill that reports what a recall would reach, and recalls nothing", async function () {
      const before = await storeSnapshot(t.gateway);
      const res = await api().post(`/api/v1/batches/${ids.chili}/recall-drill`).set(bearer(regulator.apiKey));
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.tookMs).to.be.a("number").that.is.at.least(0);
      expect(res.body.affected.batches).to.equal(3);
      expect(res.body.affected.byStatus).to.deep.equal({ active: 3, held: 0, recalled: 0 });
      expect(res.body.affected.quantities).to.deep.equal([
        { unit: "KGM", value: 2800 },
        { unit: "XBX", value: 500 },
      ]);
      const holders = res.body.holders.map((h: { name: string; batches: string[] }) => [h.name, h.batches]);
      expect(holders).to.deep.equal([
        [producer.name, [ids.chili, ids.hotpot]],
        [shop.name, [ids.giftBox]],
      ]);
      expect(res.body.batches[0]).to.include({ batchId: ids.chili, depth: 0 });
      expect(await storeSnapshot(t.gateway)).to.deep.equal(before);
      for (const id of Object.values(ids)) {
        expect((await t.gateway.ledger.ledger.getBatch(id)).status).to.equal(1n);
      }
    });

    it("lets only a regulator or the batch's own producer run a drill", async function () {
      expectError(
        await api().post(`/api/v1/batches/${ids.chili}/recall-drill`).set(bearer(producer.apiKey)),
        403,
        "not_batch_producer",
      );
      expectError(
        await api().post(`/api/v1/batches/${ids.chili}/recall-drill`).set(bearer(carrier.apiKey)),
        403,
        "role_not_allowed",
      );
      const own = await api().post(`/api/v1/batches/${ids.chili}/recall-drill`).set(bearer(farm.apiKey));
      expect(own.status).to.equal(200);
    });

    it("recalls a raw material and reaches the grandchild: its report, evidence and consumer page show it", async function () {
      const recall = await api()
        .post(`/api/v1/batches/${ids.chili}/recall`)
        .set(bearer(regulator.apiKey))
        .send({ reason: "辣椒批次检出苏丹红，召回" });
      expect(recall.status, JSON.stringify(recall.body)).to.equal(200);
      expect((await t.gateway.ledger.ledger.getBatch(ids.chili)).status).to.equal(3n);
      const [recalled, ancestor] = await t.gateway.ledger.ledger.recalledAncestor(ids.giftBox);
      expect([recalled, ancestor]).to.deep.equal([true, ids.chili]);

      const report = await verification(ids.giftBox);
      expect(report.verdict).to.equal("verified");
      expect(report.batch.status).to.equal("active");
      expect(report.recalledAncestors).to.deep.equal([{ batchId: ids.chili, gtin: null, lot: null }]);
      const withAncestors = await api()
        .get(`/api/v1/batches/${ids.giftBox}/verification?ancestors=true`)
        .set(bearer(regulator.apiKey));
      expect(withAncestors.body.recalledAncestors).to.deep.equal([
        { batchId: ids.chili, gtin: PRODUCTS.chili.gtin, lot: lots.chili },
      ]);

      const page = await api().get(`/01/${PRODUCTS.giftBox.gtin}/10/${lots.giftBox}`).set("Accept", "application/json");
      expect(page.body.recall).to.deep.include({ batchId: ids.chili, own: false, reason: "辣椒批次检出苏丹红，召回" });
      const html = await api().get(`/01/${PRODUCTS.giftBox.gtin}/10/${lots.giftBox}`).set("Accept", "text/html");
      expect(html.text).to.contain("辣椒批次检出苏丹红，召回");
    });

    it("counts the recalled batch in a drill afterwards, and its descendants as still active", async function () {
      const fromChili = await api().post(`/api/v1/batches/${ids.chili}/recall-drill`).set(bearer(regulator.apiKey));
      expect(fromChili.body.affected.byStatus).to.deep.equal({ active: 2, held: 0, recalled: 1 });
      const fromHotpot = await api().post(`/api/v1/batches/${ids.hotpot}/recall-drill`).set(bearer(regulator.apiKey));
      expect(fromHotpot.body.affected.batches).to.equal(2);
      expect(fromHotpot.body.affected.byStatus).to.deep.equal({ active: 2, held: 0, recalled: 0 });
    });
  });
});
