/**
 * End to end through `npm start`: a new 重庆火锅底料 supply chain — 江津 chili and 荣昌 tallow into a
 * 巴南 factory, a lab, a cold-chain carrier and a supermarket — recorded over HTTP with API keys,
 * then every event's evidence checked against the chain directly, without trusting the gateway.
 *
 * The `it`s run in order and build on each other, like the supply chain they walk.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { expect } from "chai";
import { ZeroHash, getAddress } from "ethers";

import { batchIdOf } from "../../server/domain/batch-id";
import { canonicalHash, eventHash } from "../../server/domain/canonical";
import { batchUri, parseDigitalLink } from "../../server/domain/digital-link";
import { gtin14, orgIdOf, uscc } from "../../server/domain/identifiers";
import type { EventView } from "../../server/services/queries";
import type { BatchRecord, ProductRecord, RoleName } from "../../server/store/records";
import {
  ON_CHAIN_STATUS,
  PROJECT_ROOT,
  RUNNING_LINE,
  allBatchEvents,
  api,
  chainListening,
  connectChain,
  freshLocation,
  killYuTrace,
  onChainAnchorTime,
  ourChainNodes,
  printedLinks,
  readAdminApiKey,
  readDemoApiKeys,
  removeDataDir,
  roleId,
  startYuTrace,
  stopYuTrace,
  verifyEventOnChain,
  waitUntilAnchored,
  type ChainView,
  type YuTraceProcess,
} from "../helpers/e2e";

type OrgKey = "chiliCoop" | "tallowCo" | "hotpotCo" | "lab" | "coldChain" | "supermarket";
type LotKey = "chili" | "tallow" | "hotpot";

interface Organisation {
  orgId: string;
  name: string;
  uscc: string;
  district: string;
  roles: RoleName[];
  account: string;
  custody: string;
  suspended: boolean;
}

interface Accepted {
  submission: { id: string; seq: number; status: string; count: number; root: string; nonce: number };
  events: { index: number; eventId: string }[];
}

const NEW_ORGANISATIONS: Record<OrgKey, { name: string; uscc: string; district: string; role: RoleName }> = {
  chiliCoop: { name: "重庆市江津区红土地辣椒种植专业合作社", uscc: uscc("93500116MA7EJ2C3K"), district: "江津区", role: "producer" },
  tallowCo: { name: "重庆荣昌黄牛油脂加工有限公司", uscc: uscc("91500153MA7RC8T2N"), district: "荣昌区", role: "producer" },
  hotpotCo: { name: "重庆巴南山城火锅底料有限公司", uscc: uscc("91500113MA7BN4H6P"), district: "巴南区", role: "producer" },
  lab: { name: "重庆两江食品安全检测有限公司", uscc: uscc("91500112MA7L3A8Q5"), district: "渝北区", role: "inspector" },
  coldChain: { name: "重庆沙坪坝鲜达冷链运输有限公司", uscc: uscc("91500106MA7LL5W9D"), district: "沙坪坝区", role: "logistics" },
  supermarket: { name: "重庆渝中好邻居连锁超市有限公司", uscc: uscc("91500103MA7CQ6Y2G"), district: "渝中区", role: "retailer" },
}; // prettier-ignore

const PRODUCTS: Record<LotKey, { owner: OrgKey; body: Record<string, unknown> }> = {
  chili: {
    owner: "chiliCoop",
    body: { gtin: gtin14("0697712000101"), name: { zh: "江津二荆条干辣椒", en: "Jiangjin erjingtiao dried chili" }, category: "seasoning", standard: "GB/T 30382", brand: "红土地" },
  },
  tallow: {
    owner: "tallowCo",
    body: { gtin: gtin14("0697712000202"), name: { zh: "荣昌精炼牛油", en: "Rongchang refined beef tallow" }, category: "seasoning", standard: "GB 10146", brand: "黄牛" },
  },
  hotpot: {
    owner: "hotpotCo",
    body: { gtin: gtin14("0697712000303"), name: { zh: "山城牛油火锅底料 400g", en: "Shancheng tallow hotpot base 400 g" }, category: "seasoning", standard: "SB/T 10415", brand: "山城" },
  },
}; // prettier-ignore

const DAY_MS = 86_400_000;
const now = new Date();
/** The UTC calendar date `offset` days from now, YYYY-MM-DD. */
const date = (offset: number) => new Date(now.getTime() + offset * DAY_MS).toISOString().slice(0, 10);
/** A China Standard Time event time on that date; with offset ≤ -1 always in the past. */
const at = (offset: number, hour: number) => `${date(offset)}T${String(hour).padStart(2, "0")}:00:00+08:00`;

const LOTS: Record<LotKey, { gtin: string; lot: string }> = {
  chili: { gtin: PRODUCTS.chili.body.gtin as string, lot: `JJ${date(-10).replaceAll("-", "")}-E` },
  tallow: { gtin: PRODUCTS.tallow.body.gtin as string, lot: `RC${date(-9).replaceAll("-", "")}-E` },
  hotpot: { gtin: PRODUCTS.hotpot.body.gtin as string, lot: `BN${date(-6).replaceAll("-", "")}-E` },
};
const batchId = (key: LotKey) => batchIdOf(LOTS[key].gtin, LOTS[key].lot);

/** The lab's report, uploaded as its certificate document before the inspection names it. */
const REPORT = Buffer.from(
  "%PDF-1.7\n% 重庆两江食品安全检测有限公司 检验报告 LJ-E2E-0001: 山城牛油火锅底料, 酸价、过氧化值、铅、苯并[a]芘 均符合 GB 2716-2018、GB 2762-2022\n%%EOF\n",
  "utf8",
);
const REPORT_SHA256 = createHash("sha256").update(REPORT).digest("hex");

describe("a new hotpot-base supply chain, end to end through `npm start` and the chain", function () {
  this.timeout(300_000);

  let yt: YuTraceProcess | undefined;
  let chain: ChainView;
  let adminKey: string;
  let demoKeys: Record<string, string>;
  let publicUrl: string;
  let dataDir: string | undefined;
  let startedInMs: number;
  let lastSubmissionAt = 0;
  const orgs = {} as Record<OrgKey, Organisation>;
  const apiKeys = {} as Record<OrgKey, string>;
  /** Who recorded each event we submitted, by event id. */
  const recordedBy = new Map<string, OrgKey>();

  const epc = (key: LotKey, quantity: number, uom: string) => ({
    epcClass: batchUri(publicUrl, LOTS[key]),
    quantity,
    uom,
  });
  const objectEvent = (bizStep: string, time: string, quantityList: object[], extra: object = {}) => ({
    type: "ObjectEvent",
    action: bizStep === "commissioning" ? "ADD" : "OBSERVE",
    bizStep,
    eventTime: time,
    eventTimeZoneOffset: "+08:00",
    quantityList,
    ...extra,
  });
  const to = (key: OrgKey, type = "possessing_party") => ({ type, destination: orgs[key].uscc });

  /** Submits `events` as `who`, expects 202 and event ids equal to our own canonical hashes. */
  async function submit(who: OrgKey, events: object[]): Promise<Accepted> {
    const response = await api<Accepted>(yt!, "POST", "/api/v1/events", { key: apiKeys[who], body: { events } });
    expect(response.status, JSON.stringify(response.body)).to.equal(202);
    expect(response.body.submission.status).to.equal("pending");
    expect(response.body.submission.count).to.equal(events.length);
    expect(response.body.events.map((e) => e.eventId)).to.deep.equal(events.map((e) => eventHash(e)));
    for (const { eventId } of response.body.events) recordedBy.set(eventId, who);
    lastSubmissionAt = Date.now();
    return response.body;
  }

  async function registerBatch(who: OrgKey, key: LotKey, body: Record<string, unknown>): Promise<BatchRecord> {
    const response = await api<{ batch: BatchRecord & { digitalLink: string } }>(yt!, "POST", "/api/v1/batches", {
      key: apiKeys[who],
      body: { ...LOTS[key], ...body },
    });
    expect(response.status, JSON.stringify(response.body)).to.equal(201);
    const { batch } = response.body;
    expect(batch.batchId).to.equal(batchId(key));
    expect(batch.producer).to.equal(orgs[who].orgId);
    expect(batch.status).to.equal("active");
    expect(batch.digitalLink).to.equal(batchUri(publicUrl, LOTS[key]));
    const { inputs: _inputs, ...metadata }: Record<string, unknown> = { ...LOTS[key], ...body };
    const onChain = await chain.ledger.getBatch(batch.batchId);
    expect(onChain.producer).to.equal(orgs[who].orgId);
    expect(onChain.gtin).to.equal(BigInt(LOTS[key].gtin));
    expect(onChain.status).to.equal(ON_CHAIN_STATUS.active);
    expect(onChain.metadataHash, "on-chain hash of the batch metadata we sent").to.equal(canonicalHash(metadata));
    return batch;
  }

  before(async function () {
    const location = await freshLocation();
    dataDir = location.dataDir;
    const started = Date.now();
    yt = await startYuTrace(location);
    startedInMs = Date.now() - started;
    adminKey = await readAdminApiKey(yt.dataDir);
    demoKeys = await readDemoApiKeys(yt.dataDir);
    publicUrl = `http://localhost:${yt.port}`;
    chain = await connectChain(yt);
  });

  after(async function () {
    chain?.provider.destroy();
    await killYuTrace(yt);
    await removeDataDir(dataDir);
  });

  it("starts like `npm start`: its own hardhat node, TraceLedger deployed, the demo loaded, ready", async function () {
    const output = yt!.output();
    expect(output).to.contain(RUNNING_LINE);
    expect(output).to.contain(`chain (JSON-RPC)     ${yt!.chainUrl}`);
    expect(output).to.contain(`TraceLedger          ${await chain.ledger.getAddress()}`);
    expect(output).to.contain("Demo data (重庆火锅底料 supply chain):");
    expect(startedInMs, "first start, demo included").to.be.below(180_000);
    expect(yt!.childPids.filter((pid) => ourChainNodes(yt!).includes(pid))).to.have.length(1);
    expect(chain.chainId).to.equal(31337n);
    expect(adminKey).to.match(/^ytk_[A-Za-z0-9_-]{43}$/);
    expect(Object.keys(demoKeys)).to.have.members([
      "regulator", "chiliCoop", "tallowCo", "hotpotCo", "lab", "coldChain", "supermarket", "ceramics", "hardware", "shoes",
    ]); // prettier-ignore
    const ready = await api<{ status: string; chainReachable: boolean }>(yt!, "GET", "/readyz");
    expect(ready.status).to.equal(200);
    expect(ready.body).to.include({ status: "ready", chainReachable: true });
    expect(await chain.ledger.anchorCount(), "the demo's events are anchored").to.be.greaterThan(0n);
  });

  it("prints where the admin API key file is, in the data dir it was given", async function () {
    const line = yt!
      .output()
      .split("\n")
      .find((l) => l.trimStart().startsWith("admin API key"));
    expect(line, "an admin API key line").to.not.equal(undefined);
    expect(line).to.contain(path.join(path.relative(PROJECT_ROOT, yt!.dataDir), "admin-api-key.txt"));
  });

  it("shows the demo's recalled chili lot as Recalled on-chain, and the hotpot lot made from it as affected", async function () {
    const links = printedLinks(yt!.output());
    const recalledKey = parseDigitalLink(links.get("recalled chili lot") ?? "");
    const affectedKey = parseDigitalLink(links.get("affected by a recall") ?? "");
    const cleanKey = parseDigitalLink(links.get("hotpot base batch") ?? "");
    expect(recalledKey && affectedKey && cleanKey, "the three demo batch links").to.be.ok;
    const recalled = batchIdOf(recalledKey!.gtin, recalledKey!.lot);
    const affected = batchIdOf(affectedKey!.gtin, affectedKey!.lot);
    const clean = batchIdOf(cleanKey!.gtin, cleanKey!.lot);

    expect((await chain.ledger.getBatch(recalled)).status).to.equal(ON_CHAIN_STATUS.recalled);
    expect((await chain.ledger.getBatch(affected)).parents).to.include(recalled);
    const [isAffected, ancestor] = await chain.ledger.recalledAncestor(affected);
    expect(isAffected).to.be.true;
    expect(ancestor).to.equal(recalled);
    expect([...(await chain.ledger.recalledAncestor(clean))]).to.deep.equal([false, ZeroHash]);

    const query = `/api/v1/batches?gtin=${recalledKey!.gtin}&lot=${encodeURIComponent(recalledKey!.lot)}`;
    const viaApi = await api<{ batch: BatchRecord }>(yt!, "GET", query, { key: adminKey });
    expect(viaApi.status).to.equal(200);
    expect(viaApi.body.batch).to.include({ batchId: recalled, status: "recalled" });
    expect(viaApi.body.batch.statusHistory.map((s) => s.status)).to.deep.equal(["recalled"]);

    // The demo factory still holds the recalled lot; the gateway refuses to let it ship it.
    const shipRecalled = await api<{ error: { code: string; details: { problems: { code: string }[] } } }>(
      yt!,
      "POST",
      "/api/v1/events",
      {
        key: demoKeys.hotpotCo,
        body: {
          events: [
            objectEvent(
              "shipping",
              at(-1, 8),
              [{ epcClass: links.get("recalled chili lot"), quantity: 10, uom: "KGM" }],
              {
                destinationList: [{ type: "possessing_party", destination: uscc("91500103MA5U8BK41") }],
              },
            ),
          ],
        },
      },
    );
    expect(shipRecalled.status).to.equal(422);
    expect(shipRecalled.body.error.details.problems.map((p) => p.code)).to.include("batch_recalled");
  });

  it("onboards six Chongqing organisations with the admin key, each on-chain with its role", async function () {
    for (const [key, o] of Object.entries(NEW_ORGANISATIONS) as [OrgKey, (typeof NEW_ORGANISATIONS)[OrgKey]][]) {
      const response = await api<{ organisation: Organisation; apiKey: string }>(yt!, "POST", "/api/v1/organisations", {
        key: adminKey,
        body: { name: o.name, uscc: o.uscc, district: o.district, roles: [o.role] },
      });
      expect(response.status, JSON.stringify(response.body)).to.equal(201);
      const { organisation, apiKey } = response.body;
      expect(organisation).to.include({
        orgId: orgIdOf(o.uscc),
        uscc: o.uscc,
        district: o.district,
        custody: "custodial",
      });
      expect(organisation.roles).to.deep.equal([o.role]);
      expect(apiKey).to.match(/^ytk_[A-Za-z0-9_-]{43}$/);
      const onChain = await chain.ledger.getOrganisation(organisation.orgId);
      expect(onChain.account).to.equal(getAddress(organisation.account));
      expect(onChain.suspended).to.be.false;
      expect(await chain.ledger.hasActiveRole(roleId(o.role), organisation.account)).to.be.true;
      orgs[key] = organisation;
      apiKeys[key] = apiKey;
    }
    const refused = await api<{ error: { code: string } }>(yt!, "POST", "/api/v1/organisations", {
      key: apiKeys.hotpotCo,
      body: { name: "冒名企业", uscc: uscc("91500113MA7BN4H7P"), district: "巴南区", roles: ["regulator"] },
    });
    expect(refused.status).to.equal(403);
    expect(refused.body.error.code).to.equal("admin_required");
  });

  it("registers chili, tallow and hotpot-base products with valid GTIN-14s, owned on-chain by their producers", async function () {
    for (const { owner, body } of Object.values(PRODUCTS)) {
      const response = await api<{ product: ProductRecord }>(yt!, "POST", "/api/v1/products", {
        key: apiKeys[owner],
        body,
      });
      expect(response.status, JSON.stringify(response.body)).to.equal(201);
      expect(response.body.product).to.include({ gtin: body.gtin, owner: orgs[owner].orgId });
      const onChain = await chain.ledger.getProduct(BigInt(body.gtin as string));
      expect(onChain.owner).to.equal(orgs[owner].orgId);
      expect(onChain.metadataHash, "on-chain hash of the product metadata we sent").to.equal(canonicalHash(body));
    }
  });

  it("registers the chili and tallow lots, commissions them and ships them to the 巴南 factory", async function () {
    await registerBatch("chiliCoop", "chili", {
      quantity: { value: 1800, unit: "KGM" },
      productionDate: date(-10),
      expiryDate: date(170),
      district: "江津区",
      facility: "江津区先锋镇红土地辣椒烘干房",
    });
    await registerBatch("tallowCo", "tallow", {
      quantity: { value: 900, unit: "KGM" },
      productionDate: date(-9),
      expiryDate: date(355),
      district: "荣昌区",
      facility: "荣昌区广顺街道炼油二车间",
    });
    await submit("chiliCoop", [
      objectEvent("commissioning", at(-10, 17), [epc("chili", 1800, "KGM")], {
        disposition: "active",
        bizLocation: { district: "江津区", name: "先锋镇红土地辣椒基地" },
      }),
      objectEvent("shipping", at(-8, 8), [epc("chili", 1800, "KGM")], {
        disposition: "in_transit",
        destinationList: [to("hotpotCo")],
        bizLocation: { district: "江津区" },
      }),
    ]);
    await submit("tallowCo", [
      objectEvent("commissioning", at(-9, 16), [epc("tallow", 900, "KGM")], {
        disposition: "active",
        bizLocation: { district: "荣昌区" },
      }),
      objectEvent("shipping", at(-8, 9), [epc("tallow", 900, "KGM")], {
        disposition: "in_transit",
        destinationList: [to("hotpotCo")],
        bizLocation: { district: "荣昌区" },
      }),
    ]);
    const custody = await api<{ custody: { custodian: string; inTransitTo: string | null } }>(
      yt!,
      "GET",
      `/api/v1/batches/${batchId("chili")}`,
      { key: apiKeys.hotpotCo },
    );
    expect(custody.body.custody).to.include({ custodian: orgs.chiliCoop.orgId, inTransitTo: orgs.hotpotCo.orgId });
  });

  it("refuses a receipt by anyone but the shipment's destination", async function () {
    const response = await api<{ error: { code: string; details: { problems: { code: string }[] } } }>(
      yt!,
      "POST",
      "/api/v1/events",
      {
        key: apiKeys.supermarket,
        body: { events: [objectEvent("receiving", at(-7, 9), [epc("chili", 1800, "KGM")])] },
      },
    );
    expect(response.status).to.equal(422);
    expect(response.body.error.details.problems.map((p) => p.code)).to.deep.equal(["not_destination"]);
  });

  it("records the factory's receipt, registers the hotpot-base lot made from both and its transformation", async function () {
    await submit("hotpotCo", [
      objectEvent("receiving", at(-7, 10), [epc("chili", 1800, "KGM"), epc("tallow", 900, "KGM")], {
        disposition: "in_progress",
        bizLocation: { district: "巴南区", name: "原料仓" },
      }),
    ]);
    const hotpot = await registerBatch("hotpotCo", "hotpot", {
      quantity: { value: 6000, unit: "XBX" },
      productionDate: date(-6),
      expiryDate: date(359),
      district: "巴南区",
      facility: "巴南区界石镇火锅底料车间 1 号线",
      inputs: [LOTS.chili, LOTS.tallow],
    });
    expect(hotpot.parents).to.deep.equal([batchId("chili"), batchId("tallow")]);
    await submit("hotpotCo", [
      {
        type: "TransformationEvent",
        bizStep: "transforming",
        eventTime: at(-6, 14),
        eventTimeZoneOffset: "+08:00",
        inputQuantityList: [epc("chili", 720, "KGM"), epc("tallow", 480, "KGM")],
        outputQuantityList: [epc("hotpot", 6000, "XBX")],
        disposition: "active",
        bizLocation: { district: "巴南区", name: "火锅底料车间 1 号线" },
      },
    ]);
  });

  it("records the lab's conformant inspection with the SHA-256 of its report", async function () {
    const upload = await fetch(`${yt!.url}/api/v1/certificates`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKeys.lab}`, "content-type": "application/pdf" },
      body: REPORT,
    });
    expect(upload.status).to.equal(201);
    expect(((await upload.json()) as { certificate: { sha256: string } }).certificate.sha256).to.equal(REPORT_SHA256);
    const inspection = objectEvent("inspecting", at(-5, 11), [epc("hotpot", 12, "XBX")], {
      disposition: "conformant",
      bizLocation: { district: "渝北区" },
      certificationInfo: {
        documentHash: REPORT_SHA256,
        issuer: orgs.lab.name,
        standard: "GB 2762-2022",
        result: "conformant",
        certificateNumber: "LJ-E2E-0001",
      },
    });
    const accepted = await submit("lab", [inspection]);
    const view = await api<EventView>(yt!, "GET", `/api/v1/events/${accepted.events[0]!.eventId}`, {
      key: apiKeys.lab,
    });
    expect(view.status).to.equal(200);
    expect(view.body.event).to.deep.equal(inspection);
    expect(view.body.organisation).to.equal(orgs.lab.orgId);
    expect(view.body.batchIds).to.deep.equal([batchId("hotpot")]);
  });

  it("takes the hotpot base through the cold chain to the supermarket and records its retail sale", async function () {
    await submit("hotpotCo", [
      objectEvent("shipping", at(-4, 7), [epc("hotpot", 1500, "XBX")], {
        disposition: "in_transit",
        destinationList: [to("coldChain"), to("supermarket", "owning_party")],
        bizLocation: { district: "巴南区" },
      }),
    ]);
    await submit("coldChain", [
      objectEvent("receiving", at(-4, 9), [epc("hotpot", 1500, "XBX")], {
        disposition: "in_transit",
        bizLocation: { district: "巴南区" },
      }),
      objectEvent("sensor_reporting", at(-4, 12), [epc("hotpot", 1500, "XBX")], {
        bizLocation: { district: "沙坪坝区" },
        sensorElementList: [
          {
            sensorMetadata: { deviceID: "XD-COLD-12" },
            sensorReport: [
              { type: "Temperature", value: 3.8, uom: "CEL" },
              { type: "RelativeHumidity", value: 58, uom: "A93" },
            ],
          },
        ],
      }),
      objectEvent("shipping", at(-3, 6), [epc("hotpot", 1500, "XBX")], {
        disposition: "in_transit",
        destinationList: [to("supermarket")],
        bizLocation: { district: "沙坪坝区" },
      }),
    ]);
    await submit("supermarket", [
      objectEvent("receiving", at(-3, 9), [epc("hotpot", 1500, "XBX")], {
        disposition: "sellable_accessible",
        bizLocation: { district: "渝中区", name: "较场口店" },
      }),
    ]);
    await submit("supermarket", [
      objectEvent("retail_selling", at(-1, 19), [epc("hotpot", 48, "XBX")], {
        disposition: "retail_sold",
        bizLocation: { district: "渝中区", name: "较场口店" },
      }),
    ]);
    const custody = await api<{ custody: { custodian: string; inTransitTo: string | null } }>(
      yt!,
      "GET",
      `/api/v1/batches/${batchId("hotpot")}`,
      { key: apiKeys.supermarket },
    );
    expect(custody.body.custody).to.include({ custodian: orgs.supermarket.orgId, inTransitTo: null });
  });

  it("anchors every event of the hotpot lot within 20 s of the last submission", async function () {
    const events = await waitUntilAnchored(yt!, adminKey, batchId("hotpot"), 20_000 - (Date.now() - lastSubmissionAt));
    expect(events.map((e) => (e.event as { bizStep: string }).bizStep)).to.deep.equal([
      "transforming",
      "inspecting",
      "shipping",
      "receiving",
      "sensor_reporting",
      "shipping",
      "receiving",
      "retail_selling",
    ]);
    expect(events.every((e) => e.status === "anchored")).to.be.true;
  });

  it("proves every event of the three lots against the chain: body, submission, signer and role, anchor", async function () {
    const seen = new Map<string, EventView>();
    for (const key of ["chili", "tallow", "hotpot"] as const) {
      for (const view of await waitUntilAnchored(yt!, adminKey, batchId(key))) seen.set(view.eventId, view);
    }
    expect([...seen.keys()]).to.have.members([...recordedBy.keys()]);
    expect(seen.size).to.equal(13);
    const anchorRoots = new Set<string>();
    for (const view of seen.values()) {
      const who = recordedBy.get(view.eventId)!;
      expect(view.organisation, `organisation of ${view.eventId}`).to.equal(orgs[who].orgId);
      await verifyEventOnChain(view, chain, NEW_ORGANISATIONS[who].role);
      expect(view.anchor!.blockTime, "the anchor's block time").to.equal(
        await onChainAnchorTime(chain, view.anchor!.root),
      );
      anchorRoots.add(view.anchor!.root);
    }
    expect(anchorRoots.size, "anchors used").to.be.at.least(1);
  });

  it("has the three lots on-chain with their producers, the hotpot lot with chili and tallow as parents", async function () {
    const chili = await chain.ledger.getBatch(batchId("chili"));
    const tallow = await chain.ledger.getBatch(batchId("tallow"));
    const hotpot = await chain.ledger.getBatch(batchId("hotpot"));
    expect(chili.producer).to.equal(orgs.chiliCoop.orgId);
    expect(tallow.producer).to.equal(orgs.tallowCo.orgId);
    expect(hotpot.producer).to.equal(orgs.hotpotCo.orgId);
    expect([...chili.parents]).to.deep.equal([]);
    expect([...tallow.parents]).to.deep.equal([]);
    expect([...hotpot.parents]).to.deep.equal([batchId("chili"), batchId("tallow")]);
    for (const batch of [chili, tallow, hotpot]) expect(batch.status).to.equal(ON_CHAIN_STATUS.active);
    expect([...(await chain.ledger.recalledAncestor(batchId("hotpot")))]).to.deep.equal([false, ZeroHash]);

    const lineage = await api<{ batches: { batchId: string; depth: number }[] }>(
      yt!,
      "GET",
      `/api/v1/batches/${batchId("hotpot")}/lineage?direction=up`,
      { key: adminKey },
    );
    expect(lineage.body.batches.map((b) => [b.batchId, b.depth])).to.deep.equal([
      [batchId("chili"), 1],
      [batchId("tallow"), 1],
    ]);
    expect((await allBatchEvents(yt!, adminKey, batchId("chili"))).length).to.equal(4);
  });

  it("stops on SIGINT and takes its own hardhat node with it", async function () {
    const { code, signal } = await stopYuTrace(yt!);
    expect(yt!.output()).to.contain("SIGINT: stopping YuTrace");
    expect({ code, signal }).to.deep.equal({ code: 0, signal: null });
    expect(await chainListening(yt!)).to.be.false;
    expect(ourChainNodes(yt!)).to.deep.equal([]);
  });
});
