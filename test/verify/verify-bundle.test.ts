/**
 * The verifier against a lying gateway: bundles served by a real gateway (its own `hardhat node`,
 * LevelDB, HTTP), then altered in memory the way a dishonest operator could — events moved to
 * another batch, made-up ancestors, anchors left out, batches that are not on-chain — and checked
 * with `verifyBundle` against the chain. Also: key rotation and suspension leave earlier events
 * verifiable (the gateway anchors them before the account changes).
 */
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import request from "supertest";

import type { EvidenceBundle } from "../../server/verify/bundle";
import { ChainView } from "../../server/verify/chain-view";
import { verifyBundle, type VerificationReport } from "../../server/verify/verify-bundle";
import {
  bearer,
  createOrganisation,
  cstTime,
  dateIn,
  destination,
  objectEvent,
  ORGANISATIONS,
  PRODUCTS,
  quantity,
  quiesce,
  registerBatch,
  registerProduct,
  startTestGateway,
  transformationEvent,
  type TestGateway,
  type TestOrg,
} from "../helpers/gateway";

describe("verifier against a lying gateway", function () {
  this.timeout(180_000);
  let t: TestGateway;
  let provider: JsonRpcProvider;
  let producer: TestOrg;
  let farm: TestOrg;
  let admin: string;
  const ids = { chili: "", hotpot: "", tallow: "" };
  const keyOf = {
    chili: { gtin: PRODUCTS.chili.gtin, lot: "JJ-V1" },
    tallow: { gtin: PRODUCTS.tallow.gtin, lot: "RC-V1" },
    hotpot: { gtin: PRODUCTS.hotpotBase.gtin, lot: "HG-V1" },
  };

  const api = () => request(t.url);
  const bundleOf = async (batchId: string, ancestors = false): Promise<EvidenceBundle> => {
    const res = await api().get(`/api/v1/batches/${batchId}/evidence${ancestors ? "?ancestors=true" : ""}`);
    expect(res.status).to.equal(200);
    return res.body as EvidenceBundle;
  };
  const verify = (bundle: EvidenceBundle): Promise<VerificationReport> =>
    verifyBundle(bundle, new ChainView(provider, t.gateway.ledger.address));
  const failed = (report: VerificationReport) =>
    report.events.flatMap((e) => e.checks.filter((c) => c.ok === false).map((c) => `${e.eventId}:${c.name}`));
  const submit = async (org: TestOrg, events: Record<string, unknown>[]) => {
    const res = await api().post("/api/v1/events").set(bearer(org.apiKey)).send({ events });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return res.body.events.map((e: { eventId: string }) => e.eventId) as string[];
  };

  before(async function () {
    t = await startTestGateway();
    admin = t.adminKey;
    provider = new JsonRpcProvider(t.gateway.chainUrl, undefined, { staticNetwork: true });
    producer = await createOrganisation(t, ORGANISATIONS.producer);
    farm = await createOrganisation(t, ORGANISATIONS.otherProducer);
    await registerProduct(t, farm, PRODUCTS.chili);
    await registerProduct(t, farm, PRODUCTS.tallow);
    await registerProduct(t, producer, PRODUCTS.hotpotBase);
    const base = { productionDate: dateIn(-3), quantity: { value: 100, unit: "KGM" } };
    ids.chili = await registerBatch(t, farm, { ...keyOf.chili, ...base });
    ids.tallow = await registerBatch(t, farm, { ...keyOf.tallow, ...base });
    ids.hotpot = await registerBatch(t, producer, { ...keyOf.hotpot, ...base, inputs: [keyOf.chili] });
    const q = (key: { gtin: string; lot: string }) => quantity(t.url, key, 100, "KGM");
    await submit(farm, [
      objectEvent("commissioning", cstTime(-3, 8), [q(keyOf.chili)]),
      objectEvent("commissioning", cstTime(-3, 9), [q(keyOf.tallow)]),
      objectEvent("shipping", cstTime(-3, 14), [q(keyOf.chili)], { destinationList: destination(producer) }),
    ]);
    await submit(producer, [
      objectEvent("receiving", cstTime(-2, 9), [q(keyOf.chili)]),
      transformationEvent(cstTime(-2, 10), [q(keyOf.chili)], [q(keyOf.hotpot)]),
    ]);
    await quiesce(t.gateway);
  });

  after(async function () {
    provider?.destroy();
    await t?.stop();
  });

  it("verifies the untouched bundles, with and without ancestors", async function () {
    expect((await verify(await bundleOf(ids.hotpot))).verdict).to.equal("verified");
    const withAncestors = await verify(await bundleOf(ids.hotpot, true));
    expect(withAncestors.verdict).to.equal("verified");
    expect(withAncestors.summary.events).to.equal(5);
  });

  it("fails an event moved under a batch it does not name", async function () {
    const bundle = await bundleOf(ids.hotpot);
    const tallow = await bundleOf(ids.tallow);
    const moved = { ...tallow.events[0]!, batchId: ids.hotpot };
    bundle.events.push(moved);
    Object.assign(bundle.submissions, tallow.submissions);
    const report = await verify(bundle);
    expect(report.verdict).to.equal("failed");
    expect(failed(report)).to.deep.equal([`${moved.eventId}:batch_on_chain`]);
    expect(report.events.at(-1)!.checks.find((c) => c.name === "batch_on_chain")!.detail).to.match(/does not name/);
  });

  it("fails an event listed under a batch that is not one of the batch's inputs on-chain", async function () {
    const bundle = await bundleOf(ids.hotpot);
    const tallow = await bundleOf(ids.tallow);
    // The tallow lot's own event, listed as the event of a claimed ancestor: tallow is no input of it.
    bundle.events.push(tallow.events[0]!);
    bundle.ancestors.push(tallow.batch);
    Object.assign(bundle.submissions, tallow.submissions);
    const report = await verify(bundle);
    expect(report.verdict).to.equal("failed");
    expect(report.problems.join(" ")).to.match(/is not an input of the batch on-chain/);
    expect(failed(report)).to.deep.equal([`${tallow.events[0]!.eventId}:batch_on_chain`]);
  });

  it("fails an ancestor whose metadata or id the gateway changed", async function () {
    const bundle = await bundleOf(ids.hotpot, true);
    (bundle.ancestors[0]!.metadata as { quantity: { value: number } }).quantity.value = 1;
    expect((await verify(bundle)).problems.join(" ")).to.match(/metadata does not hash/);
    const renamed = await bundleOf(ids.hotpot, true);
    renamed.ancestors[0]!.lot = "JJ-FAKE";
    expect((await verify(renamed)).problems.join(" ")).to.match(/batch id does not match/);
  });

  it("does not call a bundle verified when the anchors were left out", async function () {
    const bundle = await bundleOf(ids.hotpot);
    for (const submission of Object.values(bundle.submissions)) submission.anchor = null;
    const report = await verify(bundle);
    expect(report.verdict).to.equal("incomplete");
    expect(report.summary.pending).to.equal(report.summary.events);
  });

  it("fails an event naming a batch that is not on-chain", async function () {
    const bundle = await bundleOf(ids.hotpot);
    const event = bundle.events[0]!;
    const body = event.body as { inputQuantityList: { epcClass: string }[] };
    body.inputQuantityList[0]!.epcClass = body.inputQuantityList[0]!.epcClass.replace("JJ-V1", "JJ-NOWHERE");
    const report = await verify(bundle);
    const checks = report.events[0]!.checks;
    expect(checks.find((c) => c.name === "batch_on_chain")).to.deep.include({ ok: false });
    expect(checks.find((c) => c.name === "batch_on_chain")!.detail).to.contain("JJ-NOWHERE");
    expect(checks.find((c) => c.name === "hash")!.ok).to.equal(false);
  });

  it("keeps events verifiable across a key rotation and a suspension of their signer", async function () {
    t.gateway.anchorer.stop();
    let stored: string;
    try {
      [stored] = await submit(producer, [
        objectEvent("storing", cstTime(0, 1), [quantity(t.url, keyOf.hotpot, 100, "KGM")], {
          bizLocation: { district: "巴南区", name: "渝味成品库" },
        }),
      ]);
      // Not anchored yet; the rotation anchors it first, under the old account.
      const rotated = await api().post(`/api/v1/organisations/${producer.orgId}/signing-key`).set(bearer(admin));
      expect(rotated.status, JSON.stringify(rotated.body)).to.equal(201);
      expect(rotated.body.organisation.account).to.not.equal(producer.account);
    } finally {
      t.gateway.anchorer.start();
    }
    const suspended = await api()
      .post(`/api/v1/organisations/${producer.orgId}/suspension`)
      .set(bearer(admin))
      .send({ reason: "许可证到期" });
    expect(suspended.status, JSON.stringify(suspended.body)).to.equal(200);
    await quiesce(t.gateway);
    const report = await verify(await bundleOf(ids.hotpot));
    expect(report.verdict, JSON.stringify(failed(report))).to.equal("verified");
    expect(report.events.map((e) => e.eventId)).to.include(stored!);
    await api().delete(`/api/v1/organisations/${producer.orgId}/suspension`).set(bearer(admin)).expect(200);
  });
});
