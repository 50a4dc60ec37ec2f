/**
 * The regulator dashboard's API against a whole running gateway: search by GTIN, lot,
 * organisation and district; statistics that match the data this test records (events per day,
 * inspection pass rate, recalls by district, anchoring lag); the charts as SVG; the organisation
 * list; who may call it (401 without a key, 403 for a producer); and a regulator's suspension of
 * an organisation, signed with the regulator's own key and visible on-chain.
 */
import { expect } from "chai";
import { XMLParser } from "fast-xml-parser";
import request from "supertest";

import { gtin14, uscc } from "../../server/domain/identifiers";
import { keys } from "../../server/store/keys";
import type { AnchorRecord } from "../../server/store/records";
import {
  ORGANISATIONS,
  PRODUCTS,
  bearer,
  createOrganisation,
  cstTime,
  dateIn,
  expectError,
  objectEvent,
  quantity,
  quiesce,
  registerBatch,
  registerProduct,
  startTestGateway,
  type BatchInput,
  type TestGateway,
  type TestOrg,
  waitFor,
} from "../helpers/gateway";

const HARDWARE = {
  name: "重庆大足锻造五金有限公司",
  uscc: uscc("91500111MA60D4NP9"),
  district: "大足区",
  roles: ["producer"],
} as const;
const KNIFE = {
  gtin: gtin14("0693885050009"),
  name: { zh: "大足锻打菜刀", en: "Dazu forged kitchen knife" },
  category: "hardware",
  standard: "QB/T 1924",
};
const CHARTS = ["events-per-day", "inspection-pass-rate", "recalls-by-district", "anchoring-lag"];

type Json = Record<string, unknown>;
const svgParser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", htmlEntities: true });

/** Every `<rect class="bar">` of a chart, as [label, value]. */
function bars(svg: string): [string, number][] {
  const found: [string, number][] = [];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === "object") {
      const n = node as Json;
      if (n["@class"] === "bar") found.push([String(n["@data-label"]), Number(n["@data-value"])]);
      Object.values(n).forEach(visit);
    }
  };
  visit(svgParser.parse(svg));
  return found;
}

describe("regulator dashboard API", function () {
  this.timeout(180_000);
  let t: TestGateway;
  const api = () => request(t.url);
  let producer: TestOrg; // 巴南区
  let chiliCoop: TestOrg; // 江津区
  let hardware: TestOrg; // 大足区
  let inspector: TestOrg;
  let regulator: TestOrg;
  const lots = {
    chiliA: { gtin: PRODUCTS.chili.gtin, lot: "JJTEST-A" },
    chiliB: { gtin: PRODUCTS.chili.gtin, lot: "JJTEST-B" },
    hotpotA: { gtin: PRODUCTS.hotpotBase.gtin, lot: "BNTEST-A" },
    hotpotB: { gtin: PRODUCTS.hotpotBase.gtin, lot: "BNTEST-B" },
    knifeA: { gtin: KNIFE.gtin, lot: "DZTEST-A" },
    knifeB: { gtin: KNIFE.gtin, lot: "DZTEST-B" },
  };
  const ids = {} as Record<keyof typeof lots, string>;
  /** One "now" for every date the test writes, so that a midnight passing mid-run moves none of them. */
  let NOW: Date;
  /** Event times sent, by their calendar date in UTC+8. */
  const sentPerDay = new Map<string, number>();
  let eventsSent = 0;
  const submissions: string[] = [];

  /** A chart, its body read as text. */
  const svgOf = (chart: string) =>
    api()
      .get(`/api/v1/regulator/charts/${chart}.svg`)
      .set(bearer(regulator.apiKey))
      .buffer(true)
      .parse((res, done) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => done(null, text));
      });

  async function submit(org: TestOrg, events: Json[]): Promise<void> {
    const res = await api().post("/api/v1/events").set(bearer(org.apiKey)).send({ events });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    submissions.push(res.body.submission.id);
    for (const event of events) {
      const day = String(event.eventTime).slice(0, 10); // times are written in +08:00
      sentPerDay.set(day, (sentPerDay.get(day) ?? 0) + 1);
      eventsSent++;
    }
  }

  before(async function () {
    NOW = new Date();
    t = await startTestGateway();
    producer = await createOrganisation(t, ORGANISATIONS.producer);
    chiliCoop = await createOrganisation(t, ORGANISATIONS.otherProducer);
    hardware = await createOrganisation(t, { ...HARDWARE, roles: [...HARDWARE.roles] });
    inspector = await createOrganisation(t, ORGANISATIONS.inspector);
    regulator = await createOrganisation(t, ORGANISATIONS.regulator);
    await registerProduct(t, chiliCoop, PRODUCTS.chili);
    await registerProduct(t, producer, PRODUCTS.hotpotBase);
    await registerProduct(t, hardware, KNIFE);

    const batch = (key: keyof typeof lots, extra: Partial<BatchInput> = {}): BatchInput => ({
      ...lots[key],
      quantity: { value: 100, unit: "KGM" },
      productionDate: dateIn(-45, NOW),
      ...extra,
    });
    ids.chiliA = await registerBatch(t, chiliCoop, batch("chiliA", { district: "江津区" }));
    ids.chiliB = await registerBatch(t, chiliCoop, batch("chiliB", { district: "江津区" }));
    // No district of their own: they count under their producer's, 巴南区.
    ids.hotpotA = await registerBatch(t, producer, batch("hotpotA", { inputs: [lots.chiliA] }));
    ids.hotpotB = await registerBatch(t, producer, batch("hotpotB"));
    ids.knifeA = await registerBatch(t, hardware, batch("knifeA", { district: "大足区" }));
    ids.knifeB = await registerBatch(t, hardware, batch("knifeB", { district: "大足区" }));

    const q = (key: keyof typeof lots) => [quantity(t.url, lots[key], 1, "KGM")];
    const made = (key: keyof typeof lots, time: string) =>
      objectEvent("commissioning", time, q(key), { disposition: "active" });
    const inspected = (key: keyof typeof lots, time: string, disposition: string) =>
      objectEvent("inspecting", time, q(key), { disposition });
    // One event 40 days back: counted in the totals, outside the 30-day series.
    await submit(chiliCoop, [made("chiliA", cstTime(-40, 9, 0, NOW)), made("chiliB", cstTime(-5, 10, 0, NOW))]);
    await submit(producer, [made("hotpotA", cstTime(-2, 9, 0, NOW))]);
    await submit(hardware, [made("knifeA", cstTime(-2, 11, 0, NOW)), made("knifeB", cstTime(-2, 12, 0, NOW))]);
    await submit(inspector, [
      inspected("hotpotA", cstTime(-1, 10, 0, NOW), "conformant"),
      inspected("chiliA", cstTime(-1, 11, 0, NOW), "conformant"),
      inspected("knifeA", cstTime(-1, 12, 0, NOW), "conformant"),
      inspected("knifeB", cstTime(-1, 13, 0, NOW), "non_conformant"),
    ]);
    for (const key of ["chiliB", "hotpotB"] as const) {
      const res = await api()
        .post(`/api/v1/batches/${ids[key]}/recall`)
        .set(bearer(regulator.apiKey))
        .send({ reason: "抽检不合格，责令召回" });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
    }
    // The non-conformant inspection's hold goes on-chain in the background.
    await waitFor(
      "the hold of DZTEST-B",
      async () => {
        const res = await api().get(`/api/v1/batches/${ids.knifeB}`).set(bearer(regulator.apiKey));
        return res.body.batch?.status === "held" ? true : undefined;
      },
      30_000,
    );
    await quiesce(t.gateway, 30_000);
  });

  after(async function () {
    await t?.stop();
  });

  describe("who may call it", function () {
    const paths = [
      "/api/v1/regulator/search?q=JJ",
      "/api/v1/regulator/stats",
      ...CHARTS.map((c) => `/api/v1/regulator/charts/${c}.svg`),
      "/api/v1/organisations",
    ];

    it("asks for a key (401) and refuses a producer's key (403 role_not_allowed)", async function () {
      for (const path of paths) {
        expectError(await api().get(path), 401, "unauthenticated");
        expectError(await api().get(path).set(bearer("ytk_not-a-key")), 401, "invalid_api_key");
        expectError(await api().get(path).set(bearer(producer.apiKey)), 403, "role_not_allowed");
      }
    });

    it("answers a regulator's key and the admin key, and tells caches not to keep it", async function () {
      for (const path of paths) {
        for (const key of [regulator.apiKey, t.adminKey]) {
          const res = await api().get(path).set(bearer(key));
          expect(res.status, `${path}: ${JSON.stringify(res.body).slice(0, 200)}`).to.equal(200);
          expect(res.headers["cache-control"], path).to.equal("no-store");
        }
      }
    });

    it("refuses an empty or unknown query parameter (400)", async function () {
      expectError(await api().get("/api/v1/regulator/search?q=").set(bearer(regulator.apiKey)), 400, "invalid_request");
      expectError(await api().get("/api/v1/regulator/search").set(bearer(regulator.apiKey)), 400, "invalid_request");
      const extra = await api().get("/api/v1/regulator/search?q=JJ&x=1").set(bearer(regulator.apiKey));
      expectError(extra, 400, "invalid_request");
    });
  });

  describe("search", function () {
    const search = async (q: string) => {
      const res = await api().get("/api/v1/regulator/search").query({ q }).set(bearer(regulator.apiKey));
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      return res.body as {
        query: string;
        batches: { batchId: string; lot: string; matched: string[]; district: string; digitalLink: string }[];
        organisations: (Json & { orgId: string; matched: string[] })[];
        truncated: boolean;
      };
    };
    const lotsOf = (found: Awaited<ReturnType<typeof search>>) => found.batches.map((b) => b.lot).sort();

    it("finds batches by GTIN prefix, with or without the leading zero", async function () {
      for (const q of ["069388505", "69388505", KNIFE.gtin]) {
        const found = await search(q);
        expect(lotsOf(found), q).to.deep.equal(["DZTEST-A", "DZTEST-B"]);
        expect(found.batches.every((b) => b.matched.includes("gtin"))).to.equal(true);
      }
    });

    it("finds batches by part of their lot, in any case", async function () {
      const found = await search("jjtest");
      expect(lotsOf(found)).to.deep.equal(["JJTEST-A", "JJTEST-B"]);
      expect(found.batches[0]!.matched).to.include("lot");
      expect(found.batches[0]!.digitalLink).to.match(/\/01\/06938850200025\/10\/JJTEST-[AB]$/);
      expect(found.organisations).to.deep.equal([]);
    });

    it("finds an organisation by name, and its batches as its producer", async function () {
      const found = await search("椒香");
      expect(found.organisations.map((o) => o.orgId)).to.deep.equal([chiliCoop.orgId]);
      expect(found.organisations[0]!.matched).to.deep.equal(["name"]);
      expect(Object.keys(found.organisations[0]!).sort()).to.deep.equal(
        ["orgId", "name", "uscc", "district", "roles", "account", "custody", "suspended", "matched"].sort(),
      );
      expect(lotsOf(found)).to.deep.equal(["JJTEST-A", "JJTEST-B"]);
      expect(found.batches.every((b) => b.matched.includes("producer"))).to.equal(true);
    });

    it("finds an organisation by the start of its 统一社会信用代码", async function () {
      const found = await search(regulator.uscc.slice(0, 10));
      expect(found.organisations.map((o) => o.orgId)).to.deep.equal([regulator.orgId]);
      expect(found.organisations[0]!.matched).to.deep.equal(["uscc"]);
    });

    it("finds by district: the batch's own, else its producer's, and the organisations there", async function () {
      const dazu = await search("大足");
      expect(lotsOf(dazu)).to.deep.equal(["DZTEST-A", "DZTEST-B"]);
      expect(dazu.organisations.map((o) => o.orgId)).to.deep.equal([hardware.orgId]);
      // 大足 is in the company's name too.
      expect(dazu.organisations[0]!.matched).to.deep.equal(["name", "district"]);
      expect(dazu.batches.every((b) => b.matched.includes("district"))).to.equal(true);

      const banan = await search("巴南区");
      expect(lotsOf(banan)).to.deep.equal(["BNTEST-A", "BNTEST-B"]);
      expect(banan.batches.every((b) => b.district === "巴南区" && b.matched.includes("district"))).to.equal(true);
      expect(banan.organisations.map((o) => o.orgId)).to.deep.equal([producer.orgId]);
    });

    it("finds nothing for a query that matches nothing", async function () {
      const found = await search("不存在的批次");
      expect(found).to.deep.equal({ query: "不存在的批次", batches: [], organisations: [], truncated: false });
    });
  });

  describe("statistics", function () {
    let stats: {
      totals: Json & { batchesByStatus: Json };
      eventsPerDay: { from: string; to: string; days: { date: string; events: number }[] };
      inspectionPassRate: Json[];
      recallsByDistrict: Json[];
      anchoringLag: {
        anchors: { seq: number; lagMs: number; submissions: number; blockTime: string }[];
        p50Ms: number;
        p95Ms: number;
        maxMs: number;
      };
    };

    /** Today in UTC+8 just before and just after the statistics were read (a midnight may pass). */
    const todays: string[] = [];
    const todayInChina = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);

    before(async function () {
      todays.push(todayInChina());
      const res = await api().get("/api/v1/regulator/stats").set(bearer(regulator.apiKey));
      expect(res.status).to.equal(200);
      stats = res.body;
      todays.push(todayInChina());
    });

    it("counts organisations, products, batches by status and events", function () {
      expect(stats.totals).to.deep.include({ organisations: 5, suspendedOrganisations: 0, products: 3, batches: 6 });
      // knifeB's non-conformant inspection put it on hold; two batches were recalled.
      expect(stats.totals.batchesByStatus).to.deep.equal({ active: 3, held: 1, recalled: 2 });
      expect(stats.totals.events).to.equal(eventsSent);
      expect(stats.totals.anchors).to.be.at.least(1);
    });

    it("counts events per day of their event time in UTC+8, over the last 30 days, zeros included", function () {
      const { days } = stats.eventsPerDay;
      expect(days).to.have.length(30);
      expect(days[0]!.date).to.equal(stats.eventsPerDay.from);
      expect(days[29]!.date).to.equal(stats.eventsPerDay.to);
      for (let i = 1; i < days.length; i++) {
        expect(Date.parse(days[i]!.date) - Date.parse(days[i - 1]!.date)).to.equal(86_400_000);
      }
      expect(stats.eventsPerDay.to).to.be.oneOf(todays);
      const inWindow = [...sentPerDay].filter(([date]) => date >= stats.eventsPerDay.from);
      expect(inWindow.length).to.equal(sentPerDay.size - 1, "one day lies 40 days back");
      for (const [date, count] of inWindow) {
        expect(days.find((d) => d.date === date)?.events, date).to.equal(count);
      }
      expect(days.reduce((sum, d) => sum + d.events, 0)).to.equal(eventsSent - 1);
      expect(sentPerDay.get(dateIn(-1, NOW))).to.equal(4);
    });

    it("gives the inspection pass rate by the inspected product's category", function () {
      expect(stats.inspectionPassRate).to.deep.equal([
        { category: "hardware", conformant: 1, nonConformant: 1, passRate: 0.5 },
        { category: "seasoning", conformant: 2, nonConformant: 0, passRate: 1 },
      ]);
    });

    it("counts recalled batches by their district, else their producer's", function () {
      expect(stats.recallsByDistrict).to.deep.equal([
        { district: "巴南区", recalls: 1 },
        { district: "江津区", recalls: 1 },
      ]);
    });

    it("measures anchoring lag from the earliest submission's acceptance to the anchor's confirmation", async function () {
      const lag = stats.anchoringLag;
      expect(lag.anchors.length).to.be.at.least(1);
      const accepted = new Map<number, { first: number; count: number; blockTime: string; root: string }>();
      for (const id of submissions) {
        const res = await api().get(`/api/v1/submissions/${id}`).set(bearer(regulator.apiKey));
        expect(res.body.status).to.equal("anchored");
        const { anchorSeq, blockTime, root } = res.body.anchor;
        const known = accepted.get(anchorSeq);
        const at = Date.parse(res.body.acceptedAt);
        accepted.set(anchorSeq, {
          first: Math.min(known?.first ?? Infinity, at),
          count: (known?.count ?? 0) + 1,
          blockTime,
          root,
        });
      }
      expect(lag.anchors.map((a) => a.seq).sort((a, b) => a - b)).to.deep.equal(
        [...accepted.keys()].sort((a, b) => a - b),
      );
      for (const anchor of lag.anchors) {
        const mine = accepted.get(anchor.seq)!;
        expect(anchor.submissions).to.equal(mine.count);
        expect(anchor.blockTime).to.equal(mine.blockTime);
        // By the gateway's clock at confirmation: a local chain's block times run ahead of it.
        const plan = (await t.gateway.store.journal.get(keys.anchorPlan(mine.root))) as AnchorRecord;
        expect(plan.anchoredAt).to.be.a("string");
        expect(anchor.lagMs).to.equal(Math.max(0, Date.parse(plan.anchoredAt!) - mine.first));
        expect(anchor.lagMs).to.be.below(30_000);
      }
      const sorted = lag.anchors.map((a) => a.lagMs).sort((a, b) => a - b);
      expect(lag.maxMs).to.equal(sorted[sorted.length - 1]);
      expect(lag.p50Ms).to.equal(sorted[Math.ceil(0.5 * sorted.length) - 1]);
      expect(lag.p95Ms).to.equal(sorted[Math.ceil(0.95 * sorted.length) - 1]);
      expect(lag.p50Ms).to.be.at.most(lag.p95Ms);
    });

    it("draws the charts from the same numbers, as SVG images", async function () {
      for (const chart of CHARTS) {
        const res = await svgOf(chart);
        expect(res.status).to.equal(200);
        expect(res.headers["content-type"]).to.match(/^image\/svg\+xml/);
        const root = svgParser.parse(res.body as string).svg as Json;
        expect(root["@role"], chart).to.equal("img");
        expect(root["@aria-label"], chart).to.be.a("string").and.not.empty;
      }
      const svg = async (chart: string) => (await svgOf(chart)).body as string;
      const perDay = bars(await svg("events-per-day"));
      expect(perDay.map(([, value]) => value)).to.deep.equal(stats.eventsPerDay.days.map((d) => d.events));
      expect(bars(await svg("recalls-by-district"))).to.deep.equal([
        ["巴南区", 1],
        ["江津区", 1],
      ]);
      expect(bars(await svg("inspection-pass-rate"))).to.deep.equal([
        ["五金", 50],
        ["调味品", 100],
      ]);
    });
  });

  describe("organisations", function () {
    it("lists every organisation's public profile, a page at a time", async function () {
      const seen: Json[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 10; page++) {
        const res: request.Response = await api()
          .get("/api/v1/organisations")
          .query(cursor ? { limit: 2, cursor } : { limit: 2 })
          .set(bearer(regulator.apiKey));
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        expect(res.body.organisations.length).to.be.at.most(2);
        seen.push(...res.body.organisations);
        cursor = res.body.nextCursor;
        if (!cursor) break;
      }
      expect(seen.map((o) => o.orgId).sort()).to.deep.equal(
        [producer, chiliCoop, hardware, inspector, regulator].map((o) => o.orgId).sort(),
      );
      expect(Object.keys(seen[0]!).sort()).to.deep.equal(
        ["orgId", "name", "uscc", "district", "roles", "account", "custody", "suspended"].sort(),
      );
      expectError(
        await api().get("/api/v1/organisations?cursor=bm90LWEtY3Vyc29y").set(bearer(regulator.apiKey)),
        400,
        "invalid_cursor",
      );
    });
  });

  describe("the page", function () {
    it("serves /regulator to anyone, with its script and stylesheet as files: no inline script", async function () {
      const page = await api().get("/regulator").expect(200);
      expect(page.headers["content-type"]).to.match(/^text\/html/);
      expect(page.headers["content-security-policy"]).to.include("script-src 'self'");
      expect(page.text).to.include('<html lang="zh-CN">').and.include("市场监管驾驶舱");
      const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts.map((m) => /src="([^"]+)"/.exec(m[1]!)?.[1])).to.deep.equal(["/regulator/app.js"]);
      expect(scripts.every((m) => m[2]!.trim() === "")).to.equal(true);
      expect(page.text).to.include('href="/regulator/app.css"');
      expect(page.text).not.to.match(/https?:\/\//);
      const script = await api().get("/regulator/app.js").expect(200);
      expect(script.headers["content-type"]).to.match(/javascript/);
      expect(script.text).to.include("/regulator/stats");
      const css = await api().get("/regulator/app.css").expect(200);
      expect(css.headers["content-type"]).to.match(/^text\/css/);
      expect(css.text).not.to.match(/@import|@font-face|url\(/);
    });
  });

  describe("suspension by a regulator", function () {
    it("suspends an organisation on-chain with the regulator's signature, and reinstates it", async function () {
      const { ledger } = t.gateway.ledger;
      const path = `/api/v1/organisations/${hardware.orgId}/suspension`;
      expectError(await api().post(path).set(bearer(producer.apiKey)).send({ reason: "x" }), 403, "role_not_allowed");

      const suspended = await api().post(path).set(bearer(regulator.apiKey)).send({ reason: "生产许可证被吊销" });
      expect(suspended.status, JSON.stringify(suspended.body)).to.equal(200);
      expect(suspended.body.organisation).to.include({ orgId: hardware.orgId, suspended: true });
      expect((await ledger.getOrganisation(hardware.orgId)).suspended).to.equal(true);
      // Signed by the regulator, not by the platform admin (who would be organisation zero).
      const [log] = await ledger.queryFilter(ledger.filters.OrganisationSuspended(hardware.orgId));
      expect(log!.args.byOrg).to.equal(regulator.orgId);
      expectError(
        await api().get("/api/v1/regulator/stats").set(bearer(hardware.apiKey)),
        403,
        "organisation_suspended",
      );
      const stats = await api().get("/api/v1/regulator/stats").set(bearer(regulator.apiKey));
      expect(stats.body.totals.suspendedOrganisations).to.equal(1);

      const reinstated = await api().delete(path).set(bearer(regulator.apiKey));
      expect(reinstated.status, JSON.stringify(reinstated.body)).to.equal(200);
      expect(reinstated.body.organisation.suspended).to.equal(false);
      expect((await ledger.getOrganisation(hardware.orgId)).suspended).to.equal(false);
      const [back] = await ledger.queryFilter(ledger.filters.OrganisationReinstated(hardware.orgId));
      expect(back!.args.byOrg).to.equal(regulator.orgId);
      const again = await api().get(`/api/v1/organisations/${hardware.orgId}`).set(bearer(hardware.apiKey));
      expect(again.status).to.equal(200);
    });
  });
});
