/**
 * The GS1 Digital Link resolver on the demo data: the trace page, JSON, EPCIS 2.0, certificates,
 * the linkset, recall banners, languages and "not found in YuTrace".
 */
import { expect } from "chai";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import request from "supertest";

import { batchUri } from "../../server/domain/digital-link";
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
});
