/**
 * The EPCIS 2.0 interfaces over real HTTP on a real gateway: capture of EPCIS documents (a
 * hand-written JSON-LD document as another system would send it), the batch export and the query
 * by GTIN, each answer checked against GS1's EPCIS 2.0 JSON schema; import → export round trips;
 * bad documents refused with the event index and JSON path, leaving the store as it was; and the
 * demo dataset's exports.
 */
import { expect } from "chai";
import request, { type Response } from "supertest";

import { batchIdOf } from "../../server/domain/batch-id";
import { eventHash } from "../../server/domain/canonical";
import { batchUri } from "../../server/domain/digital-link";
import { URN, type EpcisEvent } from "../../server/domain/epcis";
import { fromEpcisEvent } from "../../server/domain/epcis-import";
import { gtin14 } from "../../server/domain/identifiers";
import { DEMO_PRODUCTS } from "../../server/demo/dataset";
import { loadDemoData } from "../../server/demo/load";
import { readEvent } from "../../server/store/events";
import { keys } from "../../server/store/keys";
import { expectValidEpcis } from "../helpers/epcis-schema";
import {
  ORGANISATIONS,
  PRODUCTS,
  bearer,
  createOrganisation,
  cstTime,
  dateIn,
  expectError,
  quiesce,
  registerBatch,
  registerProduct,
  startTestGateway,
  storeSnapshot,
  type TestGateway,
  type TestOrg,
} from "../helpers/gateway";

type Json = Record<string, unknown>;

const CHILI = { gtin: PRODUCTS.chili.gtin, lot: "CH-A" };
const HOTPOT_A = { gtin: PRODUCTS.hotpotBase.gtin, lot: "HP-A" };
const HOTPOT_B = { gtin: PRODUCTS.hotpotBase.gtin, lot: "HP-B" };
const CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", { yt: "https://yutrace.cn/epcis/" }];
const CERTIFICATE = "0x" + "c3".repeat(32);

const documentOf = (eventList: unknown[]): Json => ({
  "@context": CONTEXT,
  type: "EPCISDocument",
  schemaVersion: "2.0",
  creationDate: new Date().toISOString(),
  epcisBody: { eventList },
});
const eventListOf = (res: Response): EpcisEvent[] => res.body.epcisBody.eventList;
const queryEventsOf = (res: Response): EpcisEvent[] => res.body.epcisBody.queryResults.resultsBody.eventList;
const idOf = (event: EpcisEvent) =>
  (event["yt:eventHash"] as string | undefined) ?? String(event.eventID).slice(URN.event.length);

describe("EPCIS 2.0 capture, query and export over HTTP", function () {
  this.timeout(180_000);
  let t: TestGateway;
  let producer: TestOrg;
  let chiliCoop: TestOrg;
  let carrier: TestOrg;
  let chiliId: string;
  let hotpotA: string;
  let link: (key: { gtin: string; lot: string }) => string;
  /** Event ids by name, as capture answered them. */
  const ids: Record<string, string> = {};

  const capture = (org: TestOrg, body: unknown, type = "application/ld+json") =>
    request(t.url)
      .post("/api/v1/epcis/capture")
      .set(bearer(org.apiKey))
      .set("Content-Type", type)
      .send(typeof body === "string" ? body : JSON.stringify(body));
  const get = (path: string, org: TestOrg = producer) => request(t.url).get(path).set(bearer(org.apiKey));

  /** The 江津 co-op's system sends its own EPCIS 2.0: LGTIN class URNs, CBV URIs, a GLN Digital Link. */
  const chiliDocument = () =>
    documentOf([
      {
        type: "ObjectEvent",
        eventTime: cstTime(-9, 8),
        eventTimeZoneOffset: "+08:00",
        action: "ADD",
        bizStep: "https://ref.gs1.org/cbv/BizStep-commissioning",
        disposition: "active",
        quantityList: [{ epcClass: "urn:epc:class:lgtin:6938850.020002.CH-A", quantity: 2000, uom: "KGM" }],
        readPoint: { id: "urn:epc:id:sgln:6938850.00001.0" },
        bizLocation: {
          id: "https://id.gs1.org/414/6938850000011",
          "yt:district": "江津区",
          "yt:name": "先锋镇辣椒基地",
        },
        certificationInfo: `urn:yutrace:certificate:${CERTIFICATE}`,
        "yt:certificate": {
          "yt:issuer": "江津区农产品质量安全检测站",
          "yt:standard": "NY/T 1062",
          "yt:result": "conformant",
        },
      },
      {
        type: "ObjectEvent",
        eventTime: cstTime(-9, 10),
        eventTimeZoneOffset: "+08:00",
        action: "OBSERVE",
        bizStep: "shipping",
        disposition: "in_transit",
        quantityList: [{ epcClass: "urn:epc:class:lgtin:6938850.020002.CH-A", quantity: 2000, uom: "KGM" }],
        destinationList: [{ type: "possessing_party", destination: `urn:yutrace:org:${producer.uscc}` }],
        "yt:comment": "发往巴南工厂",
      },
    ]);

  /** The factory receives the chili, makes hotpot base (logging the wok), stores it and ships two lots. */
  const factoryDocument = () =>
    documentOf([
      {
        type: "ObjectEvent",
        eventTime: cstTime(-8, 9),
        eventTimeZoneOffset: "+08:00",
        action: "OBSERVE",
        bizStep: "receiving",
        disposition: "in_progress",
        quantityList: [{ epcClass: link(CHILI), quantity: 2000, uom: "KGM" }],
      },
      {
        type: "TransformationEvent",
        eventTime: cstTime(-6, 14),
        eventTimeZoneOffset: "+08:00",
        bizStep: "yt:transforming",
        disposition: "active",
        inputQuantityList: [{ epcClass: link(CHILI), quantity: 600, uom: "KGM" }],
        outputQuantityList: [{ epcClass: link(HOTPOT_A), quantity: 5000, uom: "XBX" }],
        bizLocation: { id: `urn:yutrace:place:${encodeURIComponent("巴南区")}:`, "yt:district": "巴南区" },
        sensorElementList: [
          {
            sensorMetadata: { deviceID: "urn:yutrace:device:WOK-07" },
            sensorReport: [
              { type: "Temperature", value: 182.5, uom: "CEL", time: cstTime(-6, 13) },
              // Minutes only: not RFC 3339, but a time YuTrace accepts; it is kept as sent.
              { type: "gs1:Temperature", value: 178, uom: "CEL", time: `${dateIn(-6)}T13:50+08:00` },
            ],
          },
        ],
        "yt:comment": "炒料 180 °C",
      },
      {
        type: "ObjectEvent",
        eventTime: cstTime(-6, 18),
        eventTimeZoneOffset: "+08:00",
        action: "OBSERVE",
        bizStep: "storing",
        disposition: "sellable_not_accessible",
        quantityList: [{ epcClass: link(HOTPOT_A), quantity: 5000, uom: "XBX" }],
      },
      {
        type: "ObjectEvent",
        eventTime: cstTime(-6, 16),
        eventTimeZoneOffset: "+08:00",
        action: "ADD",
        bizStep: "commissioning",
        disposition: "active",
        quantityList: [{ epcClass: link(HOTPOT_B), quantity: 3000, uom: "XBX" }],
      },
      {
        type: "ObjectEvent",
        eventTime: cstTime(-5, 8),
        eventTimeZoneOffset: "+08:00",
        action: "OBSERVE",
        bizStep: "shipping",
        disposition: "in_transit",
        quantityList: [
          { epcClass: link(HOTPOT_A), quantity: 1200, uom: "XBX" },
          { epcClass: link(HOTPOT_B), quantity: 800, uom: "XBX" },
        ],
        destinationList: [{ type: "possessing_party", destination: `urn:yutrace:org:${carrier.uscc}` }],
      },
    ]);

  before(async function () {
    t = await startTestGateway();
    link = (key) => batchUri(t.gateway.config.publicUrl, key);
    producer = await createOrganisation(t, ORGANISATIONS.producer);
    chiliCoop = await createOrganisation(t, ORGANISATIONS.otherProducer);
    carrier = await createOrganisation(t, ORGANISATIONS.logistics);
    await registerProduct(t, chiliCoop, PRODUCTS.chili);
    await registerProduct(t, producer, PRODUCTS.hotpotBase);
    const made = (days: number) => ({ productionDate: dateIn(days), quantity: { value: 5000, unit: "XBX" } });
    chiliId = await registerBatch(t, chiliCoop, {
      ...CHILI,
      productionDate: dateIn(-10),
      quantity: { value: 2000, unit: "KGM" },
    });
    hotpotA = await registerBatch(t, producer, { ...HOTPOT_A, ...made(-6), inputs: [CHILI] });
    await registerBatch(t, producer, { ...HOTPOT_B, ...made(-6) });
  });

  after(async function () {
    await t?.stop();
  });

  describe("capture", function () {
    it("records a hand-written JSON-LD document and answers 202 with the event ids, like POST /events", async function () {
      const res = await capture(chiliCoop, chiliDocument()).set("Idempotency-Key", "coop-0001");
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      expect(res.headers.location).to.equal(`/api/v1/submissions/${res.body.submission.id}`);
      expect(res.body.submission).to.include({ status: "pending", count: 2 });
      [ids.commission, ids.ship] = res.body.events.map((e: { eventId: string }) => e.eventId);

      const stored = await get(`/api/v1/events/${ids.commission}`);
      expect(stored.body.event).to.deep.equal({
        type: "ObjectEvent",
        eventTime: cstTime(-9, 8),
        eventTimeZoneOffset: "+08:00",
        action: "ADD",
        bizStep: "commissioning",
        disposition: "active",
        quantityList: [{ epcClass: `https://id.gs1.org/01/${CHILI.gtin}/10/CH-A`, quantity: 2000, uom: "KGM" }],
        readPoint: { id: "urn:epc:id:sgln:6938850.00001.0" },
        bizLocation: { id: "6938850000011", district: "江津区", name: "先锋镇辣椒基地" },
        certificationInfo: {
          documentHash: CERTIFICATE,
          issuer: "江津区农产品质量安全检测站",
          standard: "NY/T 1062",
          result: "conformant",
        },
      });
      expect(eventHash(stored.body.event)).to.equal(ids.commission);
      expect((await get(`/api/v1/events/${ids.ship}`)).body.event.destinationList).to.deep.equal([
        { type: "possessing_party", destination: producer.uscc },
      ]);
    });

    it("answers a resent document with the same Idempotency-Key with the same 202, and refuses the key for another", async function () {
      const again = await capture(chiliCoop, chiliDocument()).set("Idempotency-Key", "coop-0001");
      expect(again.status).to.equal(202);
      expect(again.headers["idempotent-replayed"]).to.equal("true");
      expect(again.body.events.map((e: { eventId: string }) => e.eventId)).to.deep.equal([ids.commission, ids.ship]);
      const other = documentOf([
        { ...(chiliDocument().epcisBody as { eventList: Json[] }).eventList[1], "yt:comment": "改" },
      ]);
      expectError(await capture(chiliCoop, other).set("Idempotency-Key", "coop-0001"), 409, "idempotency_key_reused");
    });

    it("takes application/json too: a TransformationEvent with sensor readings and the rest of the factory's day", async function () {
      const res = await capture(producer, factoryDocument(), "application/json");
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      [ids.receive, ids.transform, ids.store, ids.commissionB, ids.shipAB] = res.body.events.map(
        (e: { eventId: string }) => e.eventId,
      );
      const transformation = (await get(`/api/v1/events/${ids.transform}`)).body.event;
      expect(transformation).to.deep.include({ bizStep: "transforming", comment: "炒料 180 °C" });
      expect(transformation.bizLocation).to.deep.equal({ district: "巴南区" });
      expect(transformation.sensorElementList).to.deep.equal([
        {
          sensorMetadata: { deviceID: "WOK-07" },
          sensorReport: [
            { type: "Temperature", value: 182.5, uom: "CEL", time: cstTime(-6, 13) },
            { type: "Temperature", value: 178, uom: "CEL", time: `${dateIn(-6)}T13:50+08:00` },
          ],
        },
      ]);
    });

    it("records an error declaration sent as EPCIS: the exported event with errorDeclaration, keeping its eventID", async function () {
      const history = await get(`/api/v1/batches/${hotpotA}/epcis`);
      const stored = eventListOf(history).find((e) => e.eventID === `${URN.event}${ids.store}`)!;
      const declaration = {
        ...stored,
        errorDeclaration: {
          declarationTime: cstTime(-1, 9),
          reason: "https://ref.gs1.org/cbv/ER-did_not_occur",
          "yt:explanation": "未入库：直接发运",
        },
      };
      const res = await capture(producer, documentOf([declaration]));
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      ids.declaration = res.body.events[0].eventId;
      const body = (await get(`/api/v1/events/${ids.declaration}`)).body.event;
      expect(body.errorDeclaration).to.deep.equal({
        declarationTime: cstTime(-1, 9),
        reason: "did_not_occur",
        explanation: "未入库：直接发运",
      });
    });

    it("refuses what YuTrace cannot keep with 422, naming each event's index and JSON path, and stores nothing", async function () {
      await quiesce(t.gateway);
      const before = await storeSnapshot(t.gateway);
      const good = (factoryDocument().epcisBody as { eventList: Json[] }).eventList[2]!;
      const res = await capture(
        producer,
        documentOf([
          good,
          { type: "AggregationEvent", eventTime: cstTime(-1, 8), eventTimeZoneOffset: "+08:00", action: "ADD" },
          { ...good, epcList: ["urn:epc:id:sgtin:6938850.010000.1"], "example:dock": "7" },
          { ...good, sourceList: [{ type: "owning_party", source: "https://id.gs1.org/417/6938850000011" }] },
        ]),
      );
      const error = expectError(res, 422, "events_rejected");
      const problems = (error.details as { problems: { index: number; path: string; code: string }[] }).problems;
      expect(problems.map((p) => [p.index, p.path, p.code])).to.deep.equal([
        [1, "epcisBody.eventList.1.type", "unsupported_event_type"],
        [2, "epcisBody.eventList.2.epcList", "unsupported_field"],
        [2, "epcisBody.eventList.2.example:dock", "unknown_field"],
        [3, "epcisBody.eventList.3.sourceList.0.source", "unsupported_party"],
      ]);
      await quiesce(t.gateway);
      expect(await storeSnapshot(t.gateway)).to.deep.equal(before);
    });

    it("names the EPCIS path of problems the event rules find, and refuses an event recorded before", async function () {
      await quiesce(t.gateway);
      const before = await storeSnapshot(t.gateway);
      const future = {
        ...(factoryDocument().epcisBody as { eventList: Json[] }).eventList[2]!,
        eventTime: cstTime(3, 8),
      };
      const res = await capture(producer, documentOf([future]));
      const problems = (expectError(res, 422, "events_rejected").details as { problems: Json[] }).problems;
      expect(problems).to.deep.include({
        index: 0,
        code: "event_in_future",
        message: "eventTime is in the future",
        path: "epcisBody.eventList.0.eventTime",
      });
      // Our own export, sent back: the same content is the same event.
      const exported = eventListOf(await get(`/api/v1/batches/${chiliId}/epcis`));
      const duplicate = await capture(chiliCoop, documentOf([exported[0]]));
      expectError(duplicate, 409, "duplicate_event");
      expect(duplicate.body.error.details.duplicates).to.deep.equal([{ index: 0, eventId: ids.commission }]);
      await quiesce(t.gateway);
      expect(await storeSnapshot(t.gateway)).to.deep.equal(before);
    });

    it("refuses bodies that are not EPCIS 2.0 documents with events, too many events, and the admin key", async function () {
      const notEpcis = expectError(
        await capture(producer, { ...documentOf([]), type: "EPCISQueryDocument" }),
        400,
        "invalid_request",
      );
      expect((notEpcis.details as { path: string }[]).map((p) => p.path)).to.deep.equal([
        "type",
        "epcisBody.eventList",
      ]);
      expectError(await capture(producer, "{not json"), 400, "malformed_json");
      expectError(await capture(producer, "<EPCISDocument/>", "application/xml"), 400, "invalid_request");
      const event = (factoryDocument().epcisBody as { eventList: Json[] }).eventList[2]!;
      const tooMany = await capture(producer, documentOf(Array.from({ length: 1001 }, () => event)));
      expectError(tooMany, 400, "too_many_events");
      const admin = await request(t.url).post("/api/v1/epcis/capture").set(bearer(t.adminKey)).send(chiliDocument());
      expectError(admin, 403, "organisation_required");
    });
  });

  describe("export of a batch", function () {
    it("is a valid EPCIS 2.0 document whose events read back to the recorded ones, with the ids capture gave", async function () {
      const res = await get(`/api/v1/batches/${chiliId}/epcis`);
      expect(res.status).to.equal(200);
      expect(res.type).to.equal("application/ld+json");
      expectValidEpcis(res.body, "the chili batch's export");
      const events = eventListOf(res);
      expect(events.map((e) => e.eventID)).to.deep.equal(
        [ids.commission, ids.ship, ids.receive, ids.transform].map((id) => `${URN.event}${id}`),
      );
      for (const event of events) {
        const id = idOf(event);
        const { event: body, problems } = fromEpcisEvent(event);
        expect(problems).to.deep.equal([]);
        expect(body).to.deep.equal((await get(`/api/v1/events/${id}`)).body.event);
        expect(eventHash(body)).to.equal(id);
      }
      expect(events[0]).to.deep.include({
        bizStep: "commissioning",
        certificationInfo: `${URN.certificate}${CERTIFICATE}`,
        bizLocation: {
          id: "https://id.gs1.org/414/6938850000011",
          "yt:district": "江津区",
          "yt:name": "先锋镇辣椒基地",
        },
      });
    });

    it("writes a TransformationEvent with sensors and an error declaration validly, the declaration with the declared eventID", async function () {
      const res = await get(`/api/v1/batches/${hotpotA}/epcis`);
      expectValidEpcis(res.body, "the hotpot batch's export");
      const events = eventListOf(res);
      expect(events.map(idOf)).to.deep.equal([ids.transform, ids.store, ids.shipAB, ids.declaration]);
      const transformation = events[0]!;
      expect(transformation).to.deep.include({ type: "TransformationEvent", bizStep: "yt:transforming" });
      expect(transformation.sensorElementList).to.have.length(1);
      const declaration = events[3]!;
      expect(declaration.eventID).to.equal(`${URN.event}${ids.store}`);
      expect(declaration["yt:eventHash"]).to.equal(ids.declaration);
      expect(declaration.errorDeclaration).to.deep.equal({
        declarationTime: cstTime(-1, 9),
        reason: "did_not_occur",
        "yt:explanation": "未入库：直接发运",
      });
    });

    it("is the document the Digital Link gives for ?linkType=gs1:epcis", async function () {
      const api = await get(`/api/v1/batches/${hotpotA}/epcis`);
      const resolver = await request(t.url).get(`${new URL(link(HOTPOT_A)).pathname}?linkType=gs1:epcis`);
      expect(resolver.status).to.equal(200);
      expect({ ...resolver.body, creationDate: null }).to.deep.equal({ ...api.body, creationDate: null });
    });

    it("answers 404 for a batch that does not exist and 400 for a bad id", async function () {
      expectError(await get(`/api/v1/batches/${batchIdOf(CHILI.gtin, "NOPE")}/epcis`), 404, "unknown_batch");
      expectError(await get("/api/v1/batches/0x12/epcis"), 400, "invalid_request");
    });
  });

  describe("query", function () {
    const query = (params: string, org: TestOrg = carrier) => get(`/api/v1/epcis/events?${params}`, org);
    const gtin = `gtin=${PRODUCTS.hotpotBase.gtin}`;

    it("answers a valid EPCISQueryDocument of every batch of the GTIN, each event once, in the order recorded", async function () {
      const res = await query(gtin);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.type).to.equal("application/ld+json");
      expectValidEpcis(res.body, "the query answer");
      expect(res.body["yt:nextCursor"]).to.equal(null);
      expect(res.headers.link).to.equal(undefined);
      expect(queryEventsOf(res).map(idOf)).to.deep.equal([
        ids.transform,
        ids.store,
        ids.commissionB,
        ids.shipAB,
        ids.declaration,
      ]);
      const chili = await query(`gtin=${CHILI.gtin}`, producer);
      expect(queryEventsOf(chili).map(idOf)).to.deep.equal([ids.commission, ids.ship, ids.receive, ids.transform]);
    });

    it("pages with limit and cursor (or perPage and nextPageToken), with a Link to the next page", async function () {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: Response = await query(`${gtin}&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
        expectValidEpcis(res.body, `page ${pages}`);
        seen.push(...queryEventsOf(res).map(idOf));
        cursor = res.body["yt:nextCursor"];
        if (cursor)
          expect(res.headers.link).to.equal(`</api/v1/epcis/events?${gtin}&limit=2&cursor=${cursor}>; rel="next"`);
        pages++;
      } while (cursor);
      expect(pages).to.equal(3);
      expect(seen).to.deep.equal([ids.transform, ids.store, ids.commissionB, ids.shipAB, ids.declaration]);
      const first = await query(`${gtin}&perPage=3`);
      const second = await query(`${gtin}&perPage=3&nextPageToken=${first.body["yt:nextCursor"]}`);
      expect(queryEventsOf(second).map(idOf)).to.deep.equal([ids.shipAB, ids.declaration]);
    });

    it("filters by lot, business step and event time, under our names or EPCIS's", async function () {
      const idsOf = async (params: string) => {
        const res = await query(params);
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        expectValidEpcis(res.body);
        return queryEventsOf(res).map(idOf);
      };
      expect(await idsOf(`${gtin}&lot=HP-B`)).to.deep.equal([ids.commissionB, ids.shipAB]);
      expect(await idsOf(`${gtin}&bizStep=shipping`)).to.deep.equal([ids.shipAB]);
      expect(await idsOf(`${gtin}&EQ_bizStep=yt:transforming,commissioning`)).to.deep.equal([
        ids.transform,
        ids.commissionB,
      ]);
      const from = encodeURIComponent(cstTime(-6, 15));
      const to = encodeURIComponent(cstTime(-5, 0));
      // The declaration repeats the stored event, event time included.
      expect(await idsOf(`${gtin}&from=${from}&to=${to}`)).to.deep.equal([ids.store, ids.commissionB, ids.declaration]);
      expect(await idsOf(`${gtin}&GE_eventTime=${from}&LT_eventTime=${to}&bizStep=commissioning`)).to.deep.equal([
        ids.commissionB,
      ]);
      // A + left unencoded arrives as a space; it is read as +.
      expect(await idsOf(`${gtin}&GE_eventTime=${cstTime(-5, 0)}`)).to.deep.equal([ids.shipAB]);
    });

    it("refuses a missing or unknown GTIN, an unknown lot, a bad cursor and doubled parameters", async function () {
      expectError(await query("lot=HP-A"), 400, "invalid_request");
      expectError(await query(`gtin=${gtin14("0693885099999")}`), 404, "unknown_product");
      expectError(await query(`${gtin}&lot=NOPE`), 404, "unknown_batch");
      expectError(await query(`${gtin}&cursor=bm9wZQ`), 400, "invalid_cursor");
      expectError(await query(`${gtin}&limit=2&perPage=2`), 400, "invalid_request");
      expectError(await query(`${gtin}&bizStep=picking`), 400, "invalid_request");
      expectError(await query(`${gtin}&from=yesterday`), 400, "invalid_request");
      expectError(await query(`${gtin}&colour=red`), 400, "invalid_request");
    });

    it("answers any key, the admin's too, and no request without one", async function () {
      const admin = await request(t.url).get(`/api/v1/epcis/events?${gtin}`).set(bearer(t.adminKey));
      expect(admin.status).to.equal(200);
      expectError(await request(t.url).get(`/api/v1/epcis/events?${gtin}`), 401, "unauthenticated");
    });
  });
});

describe("EPCIS 2.0 export of the demo dataset", function () {
  this.timeout(180_000);
  let t: TestGateway;

  before(async function () {
    t = await startTestGateway();
    await loadDemoData(t.gateway);
  });

  after(async function () {
    await t?.stop();
  });

  it("exports every demo batch as valid EPCIS 2.0 whose events read back exactly, ids included", async function () {
    const prefix = keys.batch("");
    const batches = (await t.gateway.store.batches.values({ gte: prefix, lt: `${prefix.slice(0, -1)};` }).all()) as {
      batchId: string;
      gtin: string;
    }[];
    expect(batches.length).to.be.at.least(8);
    let checked = 0;
    for (const batch of batches) {
      const res = await request(t.url).get(`/api/v1/batches/${batch.batchId}/epcis`).set(bearer(t.adminKey));
      expect(res.status).to.equal(200);
      expectValidEpcis(res.body, `the export of demo batch ${batch.batchId}`);
      for (const event of eventListOf(res)) {
        const id = idOf(event);
        const stored = (await readEvent(t.gateway.store, id))!;
        const { event: body, problems } = fromEpcisEvent(event);
        expect(problems).to.deep.equal([]);
        expect(body).to.deep.equal(stored.body);
        expect(eventHash(body)).to.equal(id);
        checked++;
      }
    }
    expect(checked).to.be.at.least(19);
    const hotpot = DEMO_PRODUCTS.find((p) => p.owner === "hotpotCo")!;
    const res = await request(t.url).get(`/api/v1/epcis/events?gtin=${hotpot.gtin}`).set(bearer(t.adminKey));
    expectValidEpcis(res.body, "the demo hotpot query");
    const types = queryEventsOf(res).map((e) => e.type);
    expect(types).to.include.members(["ObjectEvent", "TransformationEvent"]);
  });
});
