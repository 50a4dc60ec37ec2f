/**
 * The GS1 Digital Link resolver on the demo data: the trace page, JSON, EPCIS 2.0, certificates,
 * the linkset, recall banners, languages and "not found in YuTrace".
 */
import { expect } from "chai";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import request from "supertest";

import { readFile } from "node:fs/promises";
import path from "node:path";

import { batchIdOf } from "../../server/domain/batch-id";
import { batchUri, parseDigitalLink } from "../../server/domain/digital-link";
import { SUSPICIOUS_SCANS } from "../../server/services/scans";
import { keys as storeKeys } from "../../server/store/keys";
import { Store } from "../../server/store/store";
import { DEMO_PRODUCTS } from "../../server/demo/dataset";
import { loadDemoData } from "../../server/demo/load";
import type { TraceView } from "../../server/services/trace";
import { startTestGateway, type TestGateway } from "../helpers/gateway";

describe("GS1 Digital Link resolver", function () {
  this.timeout(120_000);
  let t: TestGateway;
  let hotpot: string;
  let affected: string;
  let recalledChili: string;

  before(async function () {
    t = await startTestGateway();
    const { links } = await loadDemoData(t.gateway);
    const link = (label: string) => new URL(links.find(([l]) => l === label)![1]).pathname;
    hotpot = link("hotpot base batch");
    affected = link("affected by a recall");
    recalledChili = link("recalled chili lot");
  });

  after(async function () {
    await t?.stop();
  });

  const get = (path: string) => request(t.url).get(path);

  it("serves browsers the trace page in Chinese, with the history in plain words and no script", async function () {
    const res = await get(hotpot).set("Accept", "text/html");
    expect(res.status).to.equal(200);
    expect(res.type).to.equal("text/html");
    expect(res.text).to.contain('<html lang="zh-CN">');
    expect(res.text).to.contain("<h1>重庆老火锅底料 500g</h1>");
    for (const words of [
      "生产企业",
      "重庆巴南渝味火锅食品有限公司",
      "加工",
      "检验合格",
      "发货",
      "到货",
      "上架",
      "售出",
    ]) {
      expect(res.text, words).to.contain(words);
    }
    expect(res.text).to.contain("区块链验证");
    expect(res.text).to.match(/✔ \d+ 条记录已上链存证（最新于区块 #\d+）/);
    expect(res.text).to.contain("GB 2762-2022");
    expect(res.text).to.not.contain("<script");
    expect(res.text).to.not.contain("召回");
    expect(Buffer.byteLength(res.text)).to.be.lessThan(20_000);
  });

  it("switches to English with ?lang=en or an English Accept-Language", async function () {
    for (const res of [await get(`${hotpot}?lang=en`), await get(hotpot).set("Accept-Language", "en-GB,en;q=0.9")]) {
      expect(res.text).to.contain('<html lang="en">');
      expect(res.text).to.contain("<h1>Chongqing hotpot base 500 g</h1>");
      expect(res.text).to.contain("Passed inspection");
      expect(res.text).to.match(/records anchored on-chain/);
    }
    expect((await get(hotpot).set("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8")).text).to.contain('lang="zh-CN"');
  });

  it("shows a red recall banner on a batch made from a recalled lot, with the reason and what to do", async function () {
    const res = await get(affected);
    expect(res.status).to.equal(200);
    expect(res.text).to.contain('class="banner recall" role="alert"');
    expect(res.text).to.contain("本产品所用原料已被召回");
    expect(res.text).to.contain("抽检发现农药残留（毒死蜱）超标");
    expect(res.text).to.contain("请立即停止食用或使用");
    const own = await get(recalledChili);
    expect(own.text).to.contain("本批次产品已被召回");
  });

  it("answers JSON for Accept: application/json, with the recall and verification", async function () {
    const res = await get(affected).set("Accept", "application/json");
    expect(res.status).to.equal(200);
    const view = res.body as TraceView;
    expect(view.batch.digitalLink).to.equal(
      batchUri(t.gateway.config.publicUrl, { gtin: view.batch.gtin, lot: view.batch.lot }),
    );
    expect(view.recall).to.deep.include({ own: false, gtin: DEMO_PRODUCTS[0].gtin });
    expect(view.recall!.reason).to.contain("GB 2763-2021");
    expect(view.inputs.map((i) => i.productName)).to.deep.equal(["江津鲜红朝天椒", "荣昌火锅牛油"]);
    expect(view.verification.anchored).to.equal(view.timeline.length);
  });

  it("exports the batch's history as an EPCIS 2.0 document for ?linkType=gs1:epcis", async function () {
    const json = (await get(hotpot).set("Accept", "application/json")).body as TraceView;
    const res = await get(`${hotpot}?linkType=gs1:epcis`);
    expect(res.status).to.equal(200);
    expect(res.type).to.equal("application/ld+json");
    expect(res.body).to.deep.include({ type: "EPCISDocument", schemaVersion: "2.0" });
    const events = res.body.epcisBody.eventList as Record<string, unknown>[];
    expect(events).to.have.length(json.verification.events);
    for (const event of events) {
      expect(event.eventID).to.match(/^urn:yutrace:event:0x[0-9a-f]{64}$/);
      expect(event.recordTime).to.be.a("string");
      if (event.destinationList) {
        for (const d of event.destinationList as { destination: string }[])
          expect(d.destination).to.match(/^urn:yutrace:org:/);
      }
    }
    expect(events.some((e) => e.certificationInfo)).to.equal(true);
  });

  it("lists certificates for ?linkType=gs1:certificationInfo and every link for ?linkType=all", async function () {
    const certs = await get(`${hotpot}?linkType=gs1:certificationInfo`);
    expect(certs.status).to.equal(200);
    expect(certs.body.certificates).to.have.length(1);
    expect(certs.body.certificates[0]).to.deep.include({ standard: "GB 2762-2022", result: "conformant" });
    expect(certs.body.certificates[0].documentHash).to.match(/^[0-9a-f]{64}$/);

    const links = await get(`${hotpot}?linkType=all`);
    expect(links.type).to.equal("application/linkset+json");
    const set = links.body.linkset[0];
    expect(set.anchor).to.equal(`${t.gateway.config.publicUrl}${hotpot}`);
    expect(set["https://ref.gs1.org/voc/epcis"][0].href).to.equal(`${set.anchor}?linkType=gs1:epcis`);
    expect(set["https://ref.gs1.org/voc/pip"]).to.have.length(2);
  });

  it("gives each rendition of the trace page a strong ETag and answers 304 when it is unchanged", async function () {
    const zh = await get(hotpot);
    const en = await get(`${hotpot}?lang=en`);
    const json = await get(hotpot).set("Accept", "application/json");
    const tags = [zh, en, json].map((res) => res.headers.etag);
    for (const tag of tags) expect(tag).to.match(/^"[0-9a-f]{32}"$/);
    expect(new Set(tags).size).to.equal(3);
    const again = await get(hotpot).set("If-None-Match", tags[0]!);
    expect([again.status, again.text]).to.deep.equal([304, ""]);
    expect((await get(hotpot).set("If-None-Match", tags[1]!)).status).to.equal(200);
    expect(zh.headers["content-length"]).to.equal(String(Buffer.byteLength(zh.text)));
  });

  it("sends the consumer pages, answered before express, with exactly the security headers express sends", async function () {
    const viaExpress = await get("/healthz");
    const security = Object.keys(viaExpress.headers).filter(
      (name) =>
        name.startsWith("x-") || name.includes("policy") || name.startsWith("strict-") || name.startsWith("origin-"),
    );
    expect(security).to.include.members(["content-security-policy", "x-content-type-options", "x-frame-options"]);
    const item = `${hotpot}/21/NOT-ISSUED`;
    for (const res of [await get(hotpot), await get(hotpot).set("Accept", "application/json"), await get(item)]) {
      expect(res.status).to.equal(200);
      for (const name of security) expect([name, res.headers[name]]).to.deep.equal([name, viaExpress.headers[name]]);
      expect(res.headers).to.not.have.property("x-powered-by");
    }
    // HEAD: the headers and no body.
    const head = await request(t.url).head(hotpot);
    expect([head.status, head.headers["content-type"], head.text]).to.deep.equal([
      200,
      "text/html; charset=utf-8",
      undefined,
    ]);
    // Query parameters other than lang and a link type (a shared link's tracking tag) still get the page.
    expect((await get(`${hotpot}?from=wechat`)).text).to.contain("<h1>");
    // A link type on an item's link gets the item's page; a path express does not route, 404.
    const withLinkType = await get(`${item}?linkType=all`);
    expect([withLinkType.status, withLinkType.text.includes("此商品码未在该批次登记")]).to.deep.equal([200, true]);
    expect((await get(`/01/00000000000000/10/X/21/01${hotpot}`)).status).to.equal(404);
    expect((await get(`${hotpot}?linkType=all&linkType=all`).set("Accept", "application/json")).status).to.equal(200);
  });

  it("says 'not found in YuTrace' (404) for an unknown lot or a malformed GTIN", async function () {
    const unknown = `/01/${DEMO_PRODUCTS[2].gtin}/10/NOT-A-LOT`;
    const page = await get(unknown);
    expect(page.status).to.equal(404);
    expect(page.text).to.contain("未在渝溯中找到该产品");
    const json = await get(unknown).set("Accept", "application/json");
    expect(json.status).to.equal(404);
    expect(json.body.error.code).to.equal("not_in_yutrace");
    expect((await get("/01/06938850100036/10/BN1")).status).to.equal(404);
  });

  it("serves the batch's QR code as PNG that decodes to exactly its Digital Link, with a strong ETag", async function () {
    const uri = `${t.gateway.config.publicUrl}${hotpot}`;
    const res = await get(`/qr${hotpot}?format=png&size=300&ecc=Q`).buffer(true);
    expect(res.status).to.equal(200);
    expect(res.type).to.equal("image/png");
    const png = PNG.sync.read(res.body as Buffer);
    expect(png.width).to.equal(300);
    expect(jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data).to.equal(uri);
    const again = await get(`/qr${hotpot}?format=png&size=300&ecc=Q`).set("If-None-Match", res.headers.etag!);
    expect(again.status).to.equal(304);
    const svg = await get(`/qr${hotpot}`);
    expect(svg.type).to.equal("image/svg+xml");
    expect(svg.headers.etag).to.not.equal(res.headers.etag);
    expect((await get(`/qr${hotpot}?size=10&ecc=X`)).body.error.code).to.equal("invalid_qr_options");
    expect((await get(`/qr/01/${DEMO_PRODUCTS[2].gtin}/10/NOPE`)).status).to.equal(404);
  });

  describe("item codes (一物一码)", function () {
    let serials: string[];
    let batchId: string;

    before(async function () {
      const keys = JSON.parse(await readFile(path.join(t.gateway.config.dataDir, "demo-api-keys.json"), "utf8"));
      const key = parseDigitalLink(hotpot)!;
      batchId = batchIdOf(key.gtin, key.lot);
      const res = await request(t.url)
        .post(`/api/v1/batches/${batchId}/serials`)
        .set("Authorization", `Bearer ${keys.hotpotCo}`)
        .send({ count: 50 });
      expect(res.status).to.equal(201);
      expect(res.type).to.equal("text/csv");
      const rows = res.text.trim().split("\r\n");
      expect(rows[0]).to.equal("serial,digital_link");
      serials = rows.slice(1).map((row) => row.split(",")[0]!);
      expect(serials).to.have.length(50);
      expect(new Set(serials).size).to.equal(50);
      expect(rows[1]!.split(",")[1]).to.equal(`${t.gateway.config.publicUrl}${hotpot}/21/${serials[0]}`);
      expect(await t.gateway.ledger.ledger.serialCommitment(batchId, res.headers["x-serials-root"]!)).to.equal(50n);
    });

    it("shows an issued serial as genuine, with a proof the contract accepts, and counts the scan", async function () {
      const item = `${hotpot}/21/${serials[1]}`;
      const json = await get(item).set("Accept", "application/json");
      expect(json.status).to.equal(200);
      expect(json.body).to.deep.include({ serial: serials[1], genuine: true });
      expect(json.body.scans.count).to.equal(1);
      expect(
        await t.gateway.ledger.ledger.verifySerial(batchId, serials[1]!, json.body.root, json.body.proof),
      ).to.equal(true);
      const page = await get(item);
      expect(page.text).to.contain("正品验证通过");
      expect(page.text).to.contain("首次扫码时间");
      expect(page.text).to.contain("累计扫码次数: 2");
      expect(page.text).to.not.contain("可能已被复制");
    });

    it("serves an issued item's QR code, decoding to exactly its Digital Link, and none for a made-up serial", async function () {
      const res = await get(`/qr${hotpot}/21/${serials[5]}?format=png&size=256`).buffer(true);
      expect(res.status).to.equal(200);
      const png = PNG.sync.read(res.body as Buffer);
      expect(jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data).to.equal(
        `${t.gateway.config.publicUrl}${hotpot}/21/${serials[5]}`,
      );
      const fake = await get(`/qr${hotpot}/21/FAKE12345`);
      expect([fake.status, fake.body.error.code]).to.deep.equal([404, "unknown_serial"]);
    });

    it("reports an unknown or tampered serial as not genuine, and counts nothing for it", async function () {
      const tampered = serials[2]!.slice(0, -1) + (serials[2]!.endsWith("A") ? "B" : "A");
      for (const serial of [tampered, "FAKE12345"]) {
        const page = await get(`${hotpot}/21/${serial}`);
        expect(page.status).to.equal(200);
        expect(page.text).to.contain("此商品码未在该批次登记");
        const json = await get(`${hotpot}/21/${serial}`).set("Accept", "application/json");
        expect(json.body).to.deep.include({ genuine: false, scans: null });
      }
      // Another batch's serial is not genuine for this batch either.
      const other = await get(`${affected}/21/${serials[3]}`).set("Accept", "application/json");
      expect(other.body.genuine).to.equal(false);
      expect(await t.gateway.store.scans.keys().all()).to.have.length(1);
    });

    it("streams a print-ready PDF label sheet of the batch's serials to its producer only", async function () {
      const keys = JSON.parse(await readFile(path.join(t.gateway.config.dataDir, "demo-api-keys.json"), "utf8"));
      const pdf = await request(t.url)
        .get(`/api/v1/batches/${batchId}/labels.pdf?columns=5&rows=10`)
        .set("Authorization", `Bearer ${keys.hotpotCo}`)
        .buffer(true)
        .parse((res, done) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => done(null, Buffer.concat(chunks)));
        });
      expect(pdf.status).to.equal(200);
      expect(pdf.type).to.equal("application/pdf");
      expect(pdf.headers["content-disposition"]).to.contain("labels-");
      expect((pdf.body as Buffer).subarray(0, 5).toString()).to.equal("%PDF-");
      const other = await request(t.url)
        .get(`/api/v1/batches/${batchId}/labels.pdf`)
        .set("Authorization", `Bearer ${keys.tallowCo}`);
      expect(other.status).to.equal(403);
      const tallowBatch = parseDigitalLink(
        new URL((await get(hotpot).set("Accept", "application/json")).body.inputs[1].digitalLink).pathname,
      )!;
      const none = await request(t.url)
        .get(`/api/v1/batches/${batchIdOf(tallowBatch.gtin, tallowBatch.lot)}/labels.pdf`)
        .set("Authorization", `Bearer ${keys.tallowCo}`);
      expect([none.status, none.body.error.code]).to.deep.equal([409, "no_serials"]);
    });

    it("gives each item of a batch its own notice on the batch's page, whichever was scanned first", async function () {
      const pages = [];
      for (const serial of [serials[6]!, serials[7]!, serials[6]!])
        pages.push((await get(`${hotpot}/21/${serial}`)).text);
      expect(pages[0]).to.contain(`<code>${serials[6]}</code>`).and.contain("累计扫码次数: 1");
      expect(pages[1]).to.contain(`<code>${serials[7]}</code>`).and.contain("累计扫码次数: 1");
      expect(pages[1]).to.not.contain(serials[6]!);
      expect(pages[2]).to.contain(`<code>${serials[6]}</code>`).and.contain("累计扫码次数: 2");
      // The language link is relative to the page it is on, so it keeps the item's path.
      expect(pages[0]).to.contain('href="?lang=en"');
      expect(pages.every((page) => !page.includes("<!--yutrace:item-->"))).to.equal(true);
    });

    it("makes a page and an item's check once for scans that arrive together after the store changed", async function () {
      const store = t.gateway.store;
      const serial = serials[8]!;
      // Any write but a quiet one moves the store's generation: the page and check kept are stale.
      await store.write([Store.put(store.meta, "test:resolver-in-flight", 1)]);
      const generation = store.generation;
      const range = JSON.stringify(storeKeys.batchEventRange(batchId));
      const serialKey = storeKeys.serial(batchId, serial);
      const reads = { events: 0, serial: 0 };
      const values = store.events.values.bind(store.events);
      const getEntry = store.batches.get.bind(store.batches);
      store.events.values = ((options: object) => {
        if (JSON.stringify(options) === range) reads.events += 1;
        return values(options);
      }) as typeof store.events.values;
      store.batches.get = ((key: string) => {
        if (key === serialKey) reads.serial += 1;
        return getEntry(key);
      }) as typeof store.batches.get;
      let pages: request.Response[];
      try {
        pages = await Promise.all(
          Array.from({ length: 20 }, () => get(`${hotpot}/21/${serial}`).set("Accept", "application/json")),
        );
      } finally {
        delete (store.events as Partial<typeof store.events>).values;
        delete (store.batches as Partial<typeof store.batches>).get;
      }
      // Nothing in the background wrote meanwhile (then a second build would be right, not shared).
      expect(store.generation, "the store was written during the scans").to.equal(generation);
      expect(pages.map((p) => p.status)).to.deep.equal(Array(20).fill(200));
      expect(pages.every((p) => p.body.genuine === true)).to.equal(true);
      // Every scan is counted, though the check was made once.
      expect(pages.map((p) => p.body.scans.count).sort((a, b) => a - b)).to.deep.equal(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      expect(reads).to.deep.equal({ events: 1, serial: 1 });
    });

    it("warns that a code may be copied once it has been scanned suspiciously often", async function () {
      const item = `${hotpot}/21/${serials[4]}`;
      for (let i = 0; i < SUSPICIOUS_SCANS; i++) expect((await get(item)).text).to.not.contain("可能已被复制");
      const page = await get(item);
      expect(page.text).to.contain(`累计扫码次数: ${SUSPICIOUS_SCANS + 1}`);
      expect(page.text).to.contain("可能已被复制");
    });
  });

  it("shows an event accepted while its batch's page was being made to the next visitor", async function () {
    const store = t.gateway.store;
    const apiKeys = JSON.parse(await readFile(path.join(t.gateway.config.dataDir, "demo-api-keys.json"), "utf8"));
    const key = parseDigitalLink(hotpot)!;
    const batchId = batchIdOf(key.gtin, key.lot);
    const json = () => get(hotpot).set("Accept", "application/json");
    const before = (await json()).body.verification.events as number;
    await store.write([Store.put(store.meta, "test:resolver-page-during-write", 1)]);

    // The first visitor's page stops at its read of the batch's events until released.
    const range = JSON.stringify(storeKeys.batchEventRange(batchId));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const building = new Promise<void>((resolve) => (entered = resolve));
    const values = store.events.values.bind(store.events);
    let held = false;
    store.events.values = ((options: object) => {
      const iterator = values(options);
      if (!held && JSON.stringify(options) === range) {
        held = true;
        entered();
        const all = iterator.all.bind(iterator);
        iterator.all = async () => {
          await gate;
          return all();
        };
      }
      return iterator;
    }) as typeof store.events.values;
    try {
      const first = json().then((res) => res);
      await building;
      const reading = {
        type: "ObjectEvent",
        action: "OBSERVE",
        bizStep: "sensor_reporting",
        eventTime: new Date(Date.now() - 60_000).toISOString(),
        eventTimeZoneOffset: "+08:00",
        quantityList: [{ epcClass: `${t.gateway.config.publicUrl}${hotpot}`, quantity: 1, uom: "XBX" }],
        readPoint: { district: "渝中区", name: "山城优选 解放碑店 冷柜" },
      };
      const posted = await request(t.url)
        .post("/api/v1/events")
        .set("Authorization", `Bearer ${apiKeys.supermarket}`)
        .send({ events: [reading] });
      expect(posted.status, JSON.stringify(posted.body)).to.equal(202);
      // Asked after the 202: it must not wait for the page begun before the event was written
      // (which waits for `release`: joined to it, this request would never be answered).
      let timer: NodeJS.Timeout | undefined;
      const second = await Promise.race([
        json(),
        new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 20_000))),
      ]).finally(() => clearTimeout(timer));
      expect(second, "the page asked after the write waited for the one begun before it").to.not.equal(null);
      expect(held).to.equal(true);
      expect(second!.body.verification.events).to.equal(before + 1);
      release();
      expect((await first).status).to.equal(200);
    } finally {
      release();
      delete (store.events as Partial<typeof store.events>).values;
    }
    // The older page, finished last, did not take the newer one's place.
    expect((await json()).body.verification.events).to.equal(before + 1);
    await t.gateway.anchorer.flush();
  });
});
