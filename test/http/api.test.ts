/**
 * The HTTP API's happy paths against a whole running gateway (its own hardhat node, ledger,
 * indexer and anchorer): one Chongqing hotpot-base supply chain told in order — onboarding,
 * key rotation and suspension, products, batches with lineage, events with idempotent retries,
 * anchoring with proofs checked off-chain and on-chain, pagination, custody hand-overs and a
 * regulator's recall. Each test builds on the ones before it, as the chain itself does.
 */
import { expect } from "chai";
import { ZeroHash, getAddress, id, recoverAddress } from "ethers";
import request from "supertest";

import { ROLE_IDS } from "../../server/chain/ledger-client";
import { submissionDigest } from "../../server/chain/typed-data";
import { batchIdOf } from "../../server/domain/batch-id";
import { canonicalHash, eventHash } from "../../server/domain/canonical";
import { batchUri } from "../../server/domain/digital-link";
import { verifySubmissionProof } from "../../server/domain/merkle";
import type { Gateway } from "../../server/gateway";
import type { RoleName } from "../../server/store/records";
import {
  ORGANISATIONS,
  PRODUCTS,
  bearer,
  cstTime,
  dateIn,
  destination,
  expectError,
  objectEvent,
  pdfBytes,
  quantity,
  registerBatch,
  registerProduct,
  startTestGateway,
  transformationEvent,
  uploadCertificate,
  waitFor,
  type BatchInput,
  type OrgKey,
  type TestGateway,
  type TestOrg,
} from "../helpers/gateway";
import type { EventView } from "../../server/services/queries";

const BatchStatus = { Active: 1n, Recalled: 3n } as const;
const NOW = new Date();
const compact = (offsetDays: number) => dateIn(offsetDays, NOW).replaceAll("-", "");
const at = (offsetDays: number, hour: number, minute = 0) => cstTime(offsetDays, hour, minute, NOW);

const LOTS = {
  chili: { gtin: PRODUCTS.chili.gtin, lot: `JJ${compact(-24)}` },
  tallow: { gtin: PRODUCTS.tallow.gtin, lot: `RC${compact(-22)}` },
  hotpot: { gtin: PRODUCTS.hotpotBase.gtin, lot: `BN${compact(-15)}-A` },
  giftBox: { gtin: PRODUCTS.giftBox.gtin, lot: `GB${compact(-12)}` },
} as const;
type LotKey = keyof typeof LOTS;
const batchId = (key: LotKey) => batchIdOf(LOTS[key].gtin, LOTS[key].lot);

const BATCHES: Record<LotKey, BatchInput> = {
  chili: {
    ...LOTS.chili,
    quantity: { value: 2000, unit: "KGM" },
    productionDate: dateIn(-24, NOW),
    expiryDate: dateIn(160, NOW),
    facility: "江津区先锋镇辣椒基地",
    district: "江津区",
  },
  tallow: {
    ...LOTS.tallow,
    quantity: { value: 800, unit: "KGM" },
    productionDate: dateIn(-22, NOW),
    district: "荣昌区",
  },
  hotpot: {
    ...LOTS.hotpot,
    quantity: { value: 5000, unit: "XBX" },
    productionDate: dateIn(-15, NOW),
    expiryDate: dateIn(350, NOW),
    facility: "巴南区界石镇火锅底料车间 2 号线",
    district: "巴南区",
    inputs: [LOTS.chili, LOTS.tallow],
  },
  giftBox: {
    ...LOTS.giftBox,
    quantity: { value: 1200, unit: "XBX" },
    productionDate: dateIn(-12, NOW),
    district: "巴南区",
    inputs: [LOTS.hotpot],
  },
};

describe("HTTP API: the supply chain of a Chongqing hotpot base, end to end", function () {
  this.timeout(120_000);

  let t: TestGateway;
  let gateway: Gateway;
  const orgs = {} as Record<OrgKey, TestOrg>;
  /** Ids of the hotpot batch's events, in the order they were accepted. */
  const hotpotEvents: string[] = [];
  const q = (key: LotKey, amount: number, uom: string) => quantity(gateway.config.publicUrl, LOTS[key], amount, uom);
  const api = () => request(t.url);

  /** `POST /api/v1/events` as `org`; expects 202 and returns the body. */
  async function submit(
    org: TestOrg,
    events: object[],
  ): Promise<{ submission: { id: string }; events: { eventId: string }[] }> {
    const res = await api().post("/api/v1/events").set(bearer(org.apiKey)).send({ events });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return res.body;
  }

  async function getEvent(eventId: string): Promise<EventView> {
    const res = await api().get(`/api/v1/events/${eventId}`).set(bearer(orgs.regulator.apiKey));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body as EventView;
  }

  before(async function () {
    t = await startTestGateway();
    gateway = t.gateway;
  });

  after(async function () {
    await t?.stop();
  });

  describe("organisations", function () {
    it("creates a producer, another producer, an inspector, a carrier, a retailer and a regulator, each registered on-chain", async function () {
      for (const key of Object.keys(ORGANISATIONS) as OrgKey[]) {
        const input = ORGANISATIONS[key];
        const res = await api()
          .post("/api/v1/organisations")
          .set(bearer(t.adminKey))
          .send({ ...input, roles: [...input.roles] });
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        const org = res.body.organisation;
        expect(res.headers.location).to.equal(`/api/v1/organisations/${org.orgId}`);
        expect(org).to.deep.include({
          orgId: id(input.uscc),
          name: input.name,
          uscc: input.uscc,
          district: input.district,
          roles: [...input.roles],
          custody: "custodial",
          suspended: false,
        });
        expect(res.body.apiKey).to.match(/^ytk_[A-Za-z0-9_-]{43}$/);
        orgs[key] = {
          orgId: org.orgId,
          uscc: org.uscc,
          name: org.name,
          account: org.account,
          roles: org.roles,
          apiKey: res.body.apiKey,
        };

        const onChain = await gateway.ledger.ledger.getOrganisation(org.orgId);
        expect(onChain.account).to.equal(getAddress(org.account));
        expect(onChain.suspended).to.equal(false);
        expect(await gateway.ledger.ledger.organisationOf(org.account)).to.equal(org.orgId);
        const role = ROLE_IDS[input.roles[0] as RoleName];
        expect(await gateway.ledger.ledger.hasActiveRole(role, org.account)).to.equal(true);
      }
      const accounts = new Set(Object.values(orgs).map((o) => o.account));
      expect(accounts.size).to.equal(6);
    });

    it("shows an API key only once: GET /organisations/{id} returns the public profile without it", async function () {
      const { producer, inspector } = orgs;
      const res = await api().get(`/api/v1/organisations/${producer.orgId}`).set(bearer(inspector.apiKey));
      expect(res.status).to.equal(200);
      expect(res.body.organisation).to.deep.equal({
        orgId: producer.orgId,
        name: ORGANISATIONS.producer.name,
        uscc: ORGANISATIONS.producer.uscc,
        district: "巴南区",
        roles: ["producer"],
        account: producer.account,
        custody: "custodial",
        suspended: false,
      });
      expect(res.text).not.to.include(producer.apiKey);
      expect(res.text).not.to.include("apiKey");
    });

    it("rotates an API key: the old key is refused with 401 invalid_api_key and the new one works", async function () {
      const { inspector } = orgs;
      const res = await api().post(`/api/v1/organisations/${inspector.orgId}/api-key`).set(bearer(t.adminKey));
      expect(res.status).to.equal(201);
      expect(res.body.apiKey).to.match(/^ytk_[A-Za-z0-9_-]{43}$/);
      expect(res.body.apiKey).not.to.equal(inspector.apiKey);

      const old = await api().get(`/api/v1/organisations/${inspector.orgId}`).set(bearer(inspector.apiKey));
      expectError(old, 401, "invalid_api_key");
      inspector.apiKey = res.body.apiKey;
      const fresh = await api().get(`/api/v1/organisations/${inspector.orgId}`).set("X-API-Key", inspector.apiKey);
      expect(fresh.status).to.equal(200);
      expect(fresh.body.organisation.orgId).to.equal(inspector.orgId);
    });

    it("rotates a signing key: the organisation moves to a new account on-chain and the old account loses its role", async function () {
      const { retailer } = orgs;
      const oldAccount = retailer.account;
      const res = await api().post(`/api/v1/organisations/${retailer.orgId}/signing-key`).set(bearer(t.adminKey));
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      const newAccount: string = res.body.organisation.account;
      expect(newAccount).to.match(/^0x[0-9a-f]{40}$/);
      expect(newAccount).not.to.equal(oldAccount);

      const ledger = gateway.ledger.ledger;
      expect((await ledger.getOrganisation(retailer.orgId)).account).to.equal(getAddress(newAccount));
      expect(await ledger.hasActiveRole(ROLE_IDS.retailer, oldAccount)).to.equal(false);
      expect(await ledger.hasActiveRole(ROLE_IDS.retailer, newAccount)).to.equal(true);
      expect(await ledger.organisationOf(oldAccount)).to.equal(ZeroHash);
      expect(await ledger.organisationOf(newAccount)).to.equal(retailer.orgId);
      const profile = await api().get(`/api/v1/organisations/${retailer.orgId}`).set(bearer(retailer.apiKey));
      expect(profile.body.organisation.account).to.equal(newAccount);
      retailer.account = newAccount;
    });

    it("suspends an organisation (its key gets 403 organisation_suspended) and reinstates it (its key works again)", async function () {
      const { otherProducer } = orgs;
      const path = `/api/v1/organisations/${otherProducer.orgId}`;
      const suspended = await api()
        .post(`${path}/suspension`)
        .set(bearer(t.adminKey))
        .send({ reason: "未按期提交年度质量报告" });
      expect(suspended.status, JSON.stringify(suspended.body)).to.equal(200);
      expect(suspended.body.organisation.suspended).to.equal(true);
      expect((await gateway.ledger.ledger.getOrganisation(otherProducer.orgId)).suspended).to.equal(true);
      expect(await gateway.ledger.ledger.hasActiveRole(ROLE_IDS.producer, otherProducer.account)).to.equal(false);
      expectError(await api().get(path).set(bearer(otherProducer.apiKey)), 403, "organisation_suspended");

      const reinstated = await api().delete(`${path}/suspension`).set(bearer(t.adminKey));
      expect(reinstated.status, JSON.stringify(reinstated.body)).to.equal(200);
      expect(reinstated.body.organisation.suspended).to.equal(false);
      expect((await gateway.ledger.ledger.getOrganisation(otherProducer.orgId)).suspended).to.equal(false);
      expect(await gateway.ledger.ledger.hasActiveRole(ROLE_IDS.producer, otherProducer.account)).to.equal(true);
      const again = await api().get(path).set(bearer(otherProducer.apiKey));
      expect(again.status).to.equal(200);
      expect(again.body.organisation.suspended).to.equal(false);
    });
  });

  describe("products and batches", function () {
    it("registers a product for its producer, on-chain too, and reads it back by GTIN", async function () {
      const { producer } = orgs;
      const res = await registerProduct(t, producer, PRODUCTS.hotpotBase);
      const gtin = PRODUCTS.hotpotBase.gtin;
      expect(res.headers.location).to.equal(`/api/v1/products/${gtin}`);
      expect(res.body.product).to.deep.include({ gtin, owner: producer.orgId });
      expect(res.body.product.metadata).to.deep.equal(PRODUCTS.hotpotBase);
      expect(res.body.product.metadataHash).to.equal(canonicalHash(PRODUCTS.hotpotBase));

      const onChain = await gateway.ledger.ledger.getProduct(BigInt(gtin));
      expect(onChain.owner).to.equal(producer.orgId);
      expect(onChain.metadataHash).to.equal(res.body.product.metadataHash);

      const read = await api().get(`/api/v1/products/${gtin}`).set(bearer(orgs.retailer.apiKey));
      expect(read.status).to.equal(200);
      expect(read.body.product).to.deep.equal(res.body.product);

      await registerProduct(t, producer, PRODUCTS.giftBox);
      await registerProduct(t, orgs.otherProducer, PRODUCTS.chili);
      await registerProduct(t, orgs.otherProducer, PRODUCTS.tallow);
    });

    it("registers batches with their input batches and finds them by id and by GTIN and lot", async function () {
      const { producer, otherProducer } = orgs;
      await registerBatch(t, otherProducer, BATCHES.chili);
      await registerBatch(t, otherProducer, BATCHES.tallow);

      const res = await api().post("/api/v1/batches").set(bearer(producer.apiKey)).send(BATCHES.hotpot);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      const hotpot = batchId("hotpot");
      expect(res.headers.location).to.equal(`/api/v1/batches/${hotpot}`);
      const { inputs: _inputs, ...metadata } = BATCHES.hotpot;
      expect(res.body.batch).to.deep.include({
        batchId: hotpot,
        gtin: LOTS.hotpot.gtin,
        lot: LOTS.hotpot.lot,
        producer: producer.orgId,
        status: "active",
        parents: [batchId("chili"), batchId("tallow")],
        digitalLink: batchUri(gateway.config.publicUrl, LOTS.hotpot),
      });
      expect(res.body.batch.metadata).to.deep.equal(metadata);
      await registerBatch(t, producer, BATCHES.giftBox);

      const onChain = await gateway.ledger.ledger.getBatch(hotpot);
      expect(onChain.producer).to.equal(producer.orgId);
      expect(onChain.status).to.equal(BatchStatus.Active);
      expect([...onChain.parents]).to.deep.equal([batchId("chili"), batchId("tallow")]);
      expect(onChain.metadataHash).to.equal(res.body.batch.metadataHash);

      const byId = await api().get(`/api/v1/batches/${hotpot}`).set(bearer(orgs.inspector.apiKey));
      expect(byId.status).to.equal(200);
      expect(byId.body.batch).to.deep.equal(res.body.batch);
      expect(byId.body.custody).to.equal(null);

      const byKey = await api()
        .get("/api/v1/batches")
        .query({ gtin: LOTS.hotpot.gtin, lot: LOTS.hotpot.lot })
        .set(bearer(orgs.inspector.apiKey));
      expect(byKey.status).to.equal(200);
      expect(byKey.body.batch).to.deep.equal(res.body.batch);
    });

    it("lists lineage up and down transitively, each batch with its depth", async function () {
      const key = orgs.regulator.apiKey;
      const up = await api()
        .get(`/api/v1/batches/${batchId("giftBox")}/lineage`)
        .set(bearer(key));
      expect(up.status).to.equal(200);
      expect(up.body.root).to.equal(batchId("giftBox"));
      expect(up.body.direction).to.equal("up");
      expect(up.body.truncated).to.equal(false);
      const depths = (body: { batches: { batchId: string; depth: number }[] }) =>
        body.batches.map((b) => [b.batchId, b.depth]);
      expect(depths(up.body)).to.deep.equal([
        [batchId("hotpot"), 1],
        [batchId("chili"), 2],
        [batchId("tallow"), 2],
      ]);
      expect(up.body.edges).to.deep.equal([
        [batchId("hotpot"), batchId("giftBox")],
        [batchId("chili"), batchId("hotpot")],
        [batchId("tallow"), batchId("hotpot")],
      ]);

      const down = await api()
        .get(`/api/v1/batches/${batchId("chili")}/lineage`)
        .query({ direction: "down" })
        .set(bearer(key));
      expect(down.status).to.equal(200);
      expect(depths(down.body)).to.deep.equal([
        [batchId("hotpot"), 1],
        [batchId("giftBox"), 2],
      ]);
      expect(down.body.batches[1].custodian).to.equal(orgs.producer.orgId);
    });
  });

  describe("events", function () {
    it("accepts a submission with 202 and a Location, and replays the identical body for a retry with the same Idempotency-Key", async function () {
      const { otherProducer, producer } = orgs;
      const events = [
        objectEvent("commissioning", at(-24, 17), [q("chili", 2000, "KGM")], {
          disposition: "active",
          bizLocation: { district: "江津区", name: "先锋镇辣椒基地" },
        }),
        objectEvent("commissioning", at(-22, 16), [q("tallow", 800, "KGM")], {
          disposition: "active",
          bizLocation: { district: "荣昌区" },
        }),
        objectEvent("shipping", at(-20, 8), [q("chili", 2000, "KGM"), q("tallow", 800, "KGM")], {
          disposition: "in_transit",
          destinationList: destination(producer),
          bizLocation: { district: "江津区" },
        }),
      ];
      const idempotencyKey = `jj-${compact(-20)}-shipment`;
      const send = () =>
        api()
          .post("/api/v1/events")
          .set(bearer(otherProducer.apiKey))
          .set("Idempotency-Key", idempotencyKey)
          .send({ events });

      const first = await send();
      expect(first.status, JSON.stringify(first.body)).to.equal(202);
      expect(first.headers["idempotent-replayed"]).to.equal(undefined);
      const { submission } = first.body;
      expect(first.headers.location).to.equal(`/api/v1/submissions/${submission.id}`);
      expect(submission).to.deep.include({ status: "pending", count: 3, nonce: 0 });
      const located = await api().get(first.headers.location).set(bearer(otherProducer.apiKey));
      expect(located.status).to.equal(200);
      expect(located.body).to.deep.include({ id: submission.id, seq: submission.seq, count: 3 });
      expect(first.body.events).to.deep.equal(events.map((event, index) => ({ index, eventId: eventHash(event) })));

      const retry = await send();
      expect(retry.status).to.equal(202);
      expect(retry.headers["idempotent-replayed"]).to.equal("true");
      expect(retry.headers.location).to.equal(first.headers.location);
      expect(retry.text).to.equal(first.text);

      const custody = await api()
        .get(`/api/v1/batches/${batchId("chili")}`)
        .set(bearer(producer.apiKey));
      expect(custody.body.custody).to.deep.equal({
        batchId: batchId("chili"),
        custodian: otherProducer.orgId,
        inTransitTo: producer.orgId,
        lastEventTime: at(-20, 8),
      });
    });

    it("lets the destination receive the inputs and record the transformation into the hotpot base", async function () {
      const body = await submit(orgs.producer, [
        objectEvent("receiving", at(-19, 10), [q("chili", 2000, "KGM"), q("tallow", 800, "KGM")], {
          disposition: "in_progress",
          bizLocation: { district: "巴南区", name: "原料仓" },
        }),
        transformationEvent(
          at(-15, 14),
          [q("chili", 600, "KGM"), q("tallow", 400, "KGM")],
          [q("hotpot", 5000, "XBX")],
          {
            bizLocation: { district: "巴南区", name: "火锅底料车间 2 号线" },
          },
        ),
      ]);
      hotpotEvents.push(body.events[1]!.eventId);
      const chili = await api()
        .get(`/api/v1/batches/${batchId("chili")}`)
        .set(bearer(orgs.producer.apiKey));
      expect(chili.body.custody).to.deep.include({ custodian: orgs.producer.orgId, inTransitTo: null });
    });

    it("shows an event as pending, then anchored with proofs that verify off-chain and on-chain", async function () {
      const { inspector } = orgs;
      const report = "重庆市食品质量检验检测中心 检验报告 YW-2026-0815: 重庆老火锅底料 符合 GB 2762";
      const certificate = await uploadCertificate(t, inspector, pdfBytes(report));
      const event = objectEvent("inspecting", at(-14, 11), [q("hotpot", 12, "XBX")], {
        disposition: "conformant",
        bizLocation: { district: "渝北区" },
        certificationInfo: {
          documentHash: certificate.sha256,
          issuer: inspector.name,
          standard: "GB 2762-2022",
          result: "conformant",
          certificateNumber: "YW-2026-0815",
        },
      });
      // Anchoring is paused while the event is posted, so that its pending state can be seen.
      await gateway.anchorer.stop();
      let eventId: string;
      try {
        const body = await submit(inspector, [event]);
        eventId = body.events[0]!.eventId;
        const pending = await getEvent(eventId);
        expect(pending.status).to.equal("pending");
        expect(pending.anchor).to.equal(null);
        expect(pending.proofs.submissionToAnchor).to.equal(null);
        expect(pending.event).to.deep.equal(event);
        expect(pending.organisation).to.equal(inspector.orgId);
        expect(pending.batchIds).to.deep.equal([batchId("hotpot")]);
      } finally {
        gateway.anchorer.start();
      }
      hotpotEvents.push(eventId);

      const view = await waitFor(
        "the event to be anchored",
        async () => {
          const current = await getEvent(eventId);
          return current.status === "anchored" ? current : undefined;
        },
        10_000,
      );
      const { submission, proofs, anchor } = view;
      expect(anchor).to.be.an("object");
      expect(view.eventId).to.equal(eventHash(view.event));
      expect(submission.signer).to.equal(inspector.account);
      expect(submission.count).to.equal(1);

      // 1. event → submission root.
      expect(verifySubmissionProof(submission.root, eventId, proofs.eventToSubmission)).to.equal(true);
      // 2. the submission digest, signed by the inspector's account.
      const digest = submissionDigest(gateway.ledger.domain, {
        org: submission.signer,
        root: submission.root,
        count: submission.count,
        nonce: BigInt(submission.nonce),
      });
      expect(digest).to.equal(submission.id);
      expect(
        await gateway.ledger.ledger.hashSubmission(
          submission.signer,
          submission.root,
          submission.count,
          submission.nonce,
        ),
      ).to.equal(digest);
      expect(recoverAddress(digest, submission.signature)).to.equal(getAddress(inspector.account));
      // 3. submission digest → anchored root, checked by the contract.
      expect(proofs.submissionToAnchor).to.be.an("array");
      expect(await gateway.ledger.ledger.verifyAnchoredLeaf(anchor!.root, digest, proofs.submissionToAnchor!)).to.equal(
        true,
      );
      const onChain = await gateway.ledger.ledger.getAnchor(anchor!.root);
      expect(onChain.seq).to.equal(BigInt(anchor!.seq));
      expect(onChain.blockNumber).to.equal(BigInt(anchor!.block));
      const receipt = await gateway.ledger.provider.getTransactionReceipt(anchor!.txHash);
      expect(receipt?.status).to.equal(1);
      expect(receipt?.blockNumber).to.equal(anchor!.block);
    });

    it("reports a submission by its id with its events and anchor", async function () {
      const { inspector } = orgs;
      const event = await getEvent(hotpotEvents[1]!);
      const res = await api().get(`/api/v1/submissions/${event.submission.id}`).set(bearer(inspector.apiKey));
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.include({
        id: event.submission.id,
        seq: event.submission.seq,
        status: "anchored",
        organisation: inspector.orgId,
        count: 1,
        root: event.submission.root,
        eventIds: [event.eventId],
      });
      expect(res.body.anchor).to.deep.include({
        root: event.anchor!.root,
        anchorSeq: event.anchor!.seq,
        block: event.anchor!.block,
        txHash: event.anchor!.txHash,
      });
      expect(res.body.anchor.proof).to.deep.equal(event.proofs.submissionToAnchor);
      expect(Date.parse(res.body.acceptedAt)).to.be.closeTo(Date.now(), 60_000);
    });

    it("pages through a batch's events with limit=2 and nextCursor, in order, without repeats, ending with null", async function () {
      const body = await submit(orgs.producer, [
        objectEvent("storing", at(-14, 16), [q("hotpot", 5000, "XBX")], {
          disposition: "sellable_not_accessible",
          bizLocation: { district: "巴南区", name: "成品冷库" },
        }),
        objectEvent("sensor_reporting", at(-13, 9), [q("hotpot", 5000, "XBX")], {
          bizLocation: { district: "巴南区", name: "成品冷库" },
          sensorElementList: [
            {
              sensorMetadata: { deviceID: "BN-COLD-02" },
              sensorReport: [
                { type: "Temperature", value: 3.6, uom: "CEL" },
                { type: "RelativeHumidity", value: 58, uom: "A93" },
              ],
            },
          ],
        }),
        transformationEvent(at(-12, 14), [q("hotpot", 1200, "XBX")], [q("giftBox", 1200, "XBX")], {
          bizLocation: { district: "巴南区", name: "礼盒包装线" },
        }),
      ]);
      hotpotEvents.push(...body.events.map((e) => e.eventId));
      expect(hotpotEvents).to.have.length(5);

      const seen: string[] = [];
      const pageSizes: number[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 10; page++) {
        const query: Record<string, string> = cursor ? { limit: "2", cursor } : { limit: "2" };
        const res = await api()
          .get(`/api/v1/batches/${batchId("hotpot")}/events`)
          .query(query)
          .set(bearer(orgs.retailer.apiKey));
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        pageSizes.push(res.body.events.length);
        seen.push(...res.body.events.map((e: EventView) => e.eventId));
        for (const e of res.body.events as EventView[]) expect(e.batchIds).to.include(batchId("hotpot"));
        cursor = res.body.nextCursor;
        if (cursor === null) break;
        expect(cursor).to.be.a("string").that.is.not.empty;
      }
      expect(pageSizes).to.deep.equal([2, 2, 1]);
      expect(seen).to.deep.equal(hotpotEvents);
      expect(new Set(seen).size).to.equal(seen.length);
    });

    it("hands the gift boxes over from producer to carrier to retailer, whose receipt is signed by its rotated key", async function () {
      const { producer, logistics, retailer } = orgs;
      await submit(producer, [
        objectEvent("shipping", at(-11, 7), [q("giftBox", 1200, "XBX")], {
          disposition: "in_transit",
          destinationList: [...destination(logistics), ...destination(retailer, "owning_party")],
          bizLocation: { district: "巴南区" },
        }),
      ]);
      await submit(logistics, [
        objectEvent("receiving", at(-11, 9), [q("giftBox", 1200, "XBX")], {
          disposition: "in_transit",
          bizLocation: { district: "巴南区" },
        }),
        objectEvent("shipping", at(-10, 6), [q("giftBox", 1200, "XBX")], {
          disposition: "in_transit",
          destinationList: destination(retailer),
          bizLocation: { district: "沙坪坝区" },
        }),
      ]);
      const received = await submit(retailer, [
        objectEvent("receiving", at(-10, 9), [q("giftBox", 1200, "XBX")], {
          disposition: "sellable_not_accessible",
          bizLocation: { district: "渝中区", name: "解放碑店仓库" },
        }),
      ]);

      const res = await api()
        .get(`/api/v1/batches/${batchId("giftBox")}`)
        .set(bearer(retailer.apiKey));
      expect(res.body.custody).to.deep.equal({
        batchId: batchId("giftBox"),
        custodian: retailer.orgId,
        inTransitTo: null,
        lastEventTime: at(-10, 9),
      });
      const view = await getEvent(received.events[0]!.eventId);
      expect(view.submission.signer).to.equal(retailer.account);
      expect(recoverAddress(view.submission.id, view.submission.signature)).to.equal(getAddress(retailer.account));
    });
  });

  describe("recall", function () {
    const reason = "抽检发现农药残留（毒死蜱）超标，依据 GB 2763-2021 责令召回";

    it("lets a regulator recall a batch: Recalled on-chain and in the store, with who and why", async function () {
      const { regulator } = orgs;
      const chili = batchId("chili");
      const res = await api().post(`/api/v1/batches/${chili}/recall`).set(bearer(regulator.apiKey)).send({ reason });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.batch.status).to.equal("recalled");
      expect(res.body.batch.statusHistory.at(-1)).to.deep.include({
        status: "recalled",
        previous: "active",
        byOrg: regulator.orgId,
        reasonHash: id(reason),
      });
      const ledger = gateway.ledger.ledger;
      expect((await ledger.getBatch(chili)).status).to.equal(BatchStatus.Recalled);
      const [recalled, ancestor] = await ledger.recalledAncestor(batchId("giftBox"));
      expect(recalled).to.equal(true);
      expect(ancestor).to.equal(chili);
    });

    it("shows the recalled input in the lineage of the batches made from it", async function () {
      const res = await api()
        .get(`/api/v1/batches/${batchId("hotpot")}/lineage`)
        .set(bearer(orgs.retailer.apiKey));
      expect(res.status).to.equal(200);
      const statuses = Object.fromEntries(
        (res.body.batches as { batchId: string; status: string }[]).map((b) => [b.batchId, b.status]),
      );
      expect(statuses).to.deep.equal({ [batchId("chili")]: "recalled", [batchId("tallow")]: "active" });
    });

    it("refuses a later shipment of a batch made from the recalled lot with input_recalled", async function () {
      const { producer, logistics } = orgs;
      const res = await api()
        .post("/api/v1/events")
        .set(bearer(producer.apiKey))
        .send({
          events: [
            objectEvent("shipping", at(-1, 8), [q("hotpot", 500, "XBX")], {
              disposition: "in_transit",
              destinationList: destination(logistics),
            }),
          ],
        });
      const error = expectError(res, 422, "events_rejected");
      expect((error.details as { problems: { code: string; index: number }[] }).problems).to.deep.include({
        index: 0,
        code: "input_recalled",
        message: `batch ${LOTS.hotpot.gtin}/${LOTS.hotpot.lot} was made from recalled batch ${batchId("chili")}`,
      });
      const page = await api()
        .get(`/api/v1/batches/${batchId("hotpot")}/events`)
        .set(bearer(producer.apiKey));
      expect(page.body.events.map((e: EventView) => e.eventId)).to.deep.equal(hotpotEvents);
    });
  });

  describe("service endpoints", function () {
    it("answers /healthz with ok and /readyz with 200 ready", async function () {
      const health = await api().get("/healthz");
      expect(health.status).to.equal(200);
      expect(health.body).to.deep.equal({ status: "ok" });
      const ready = await api().get("/readyz");
      expect(ready.status, JSON.stringify(ready.body)).to.equal(200);
      expect(ready.body).to.deep.include({ status: "ready", chainReachable: true, anchorError: null });
      expect(ready.body.indexerLag).to.be.a("number").within(0, 20);
    });

    it("names the chain, the ledger contract and its deploy block at GET /api/v1/ledger", async function () {
      const res = await api().get("/api/v1/ledger");
      expect(res.status).to.equal(200);
      expect(res.body).to.have.all.keys("chainId", "address", "deployBlock");
      expect(res.body.chainId).to.equal(gateway.ledger.chainId.toString());
      expect(res.body.address).to.equal(gateway.ledger.address);
      expect(res.body.deployBlock).to.be.a("number").greaterThan(0);
      const code = await gateway.ledger.provider.getCode(res.body.address);
      expect(code).not.to.equal("0x");
    });

    it("serves the OpenAPI document as JSON, version 3.1.0", async function () {
      const res = await api().get("/api/openapi.json");
      expect(res.status).to.equal(200);
      expect(res.headers["content-type"]).to.match(/^application\/json/);
      expect(res.body.openapi).to.equal("3.1.0");
      expect(res.body.paths).to.have.property("/api/v1/events");
    });
  });
});
