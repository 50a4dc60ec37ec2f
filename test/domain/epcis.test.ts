/**
 * Unit tests of server/domain/epcis.ts and epcis-import.ts: every export is valid EPCIS 2.0 per
 * GS1's own JSON schema, the import reverses the export exactly (fast-check over generated valid
 * events), well-known EPCIS spellings are read, and what cannot be kept is refused with the event
 * index and JSON path.
 */
import assert from "node:assert/strict";
import { expect } from "chai";
import fc from "fast-check";

import { eventHash } from "../../server/domain/canonical";
import { batchUri } from "../../server/domain/digital-link";
import {
  GLN_BASE,
  URN,
  epcisDocument,
  epcisQueryDocument,
  toEpcisEvent,
  type EpcisEvent,
  type StoredEvent,
} from "../../server/domain/epcis";
import {
  epcisEventList,
  fromEpcisEvent,
  fromEpcisEvents,
  lgtinToDigitalLink,
  type ImportProblem,
} from "../../server/domain/epcis-import";
import {
  BIZ_STEPS,
  CHONGQING_DISTRICTS,
  DISPOSITIONS,
  UNITS,
  traceEventSchema,
  type ObjectEvent,
  type TraceEvent,
  type TransformationEvent,
} from "../../server/domain/events";
import { gtin14, uscc } from "../../server/domain/identifiers";
import { hasUnsafeCharacters } from "../../server/domain/text";
import { ORGS } from "../helpers/ledger-fixture";
import { epcisSchemaErrors, expectValidEpcis } from "../helpers/epcis-schema";

const BASE = "https://trace.example.cn";
const CHILI = { gtin: "06903885020023", lot: "JJ2026-11-A" };
const TALLOW = { gtin: "06903885030039", lot: "TL20261101" };
const HOTPOT = { gtin: "06903885010017", lot: "DZ20261120-01" };
const RECORDED_AT = "2026-11-22T06:00:00.000Z";

const stored = (body: TraceEvent): StoredEvent => ({ eventId: eventHash(body), recordTime: RECORDED_AT, body });
/** The EPCIS form of `body` as a client receives it: through JSON. */
const exported = (body: TraceEvent): EpcisEvent => JSON.parse(JSON.stringify(toEpcisEvent(stored(body))));
const documentOf = (...bodies: TraceEvent[]) => epcisDocument(bodies.map(stored));

/** 德庄 ships 120 kg of 江津 chili to the cold-chain carrier, for 永辉 supermarkets: every field. */
function shipment(): ObjectEvent {
  return {
    type: "ObjectEvent",
    action: "OBSERVE",
    bizStep: "shipping",
    disposition: "in_transit",
    eventTime: "2026-11-20T08:30:00+08:00",
    eventTimeZoneOffset: "+08:00",
    quantityList: [{ epcClass: batchUri(BASE, CHILI), quantity: 120, uom: "KGM" }],
    readPoint: { id: "urn:epc:id:sgln:6903885.00001.1" },
    bizLocation: { id: "6903885000017", district: "江津区", name: "德庄江津生产基地" },
    sourceList: [{ type: "owning_party", source: ORGS.producer.uscc }],
    destinationList: [
      { type: "possessing_party", destination: ORGS.logistics.uscc },
      { type: "owning_party", destination: ORGS.retailer.uscc },
    ],
    sensorElementList: [
      {
        sensorMetadata: { time: "2026-11-20T08:29:00+08:00", deviceID: "TH-0042 冷藏车" },
        sensorReport: [
          { type: "Temperature", value: 3.5, uom: "CEL" },
          { type: "RelativeHumidity", value: 62, uom: "A93", time: "2026-11-20T08:29:30+08:00" },
        ],
      },
    ],
    comment: "冷链运输 0–4 °C",
  };
}

/** 德庄 makes hotpot base from chili and beef tallow, logging the wok temperature. */
function transformation(): TransformationEvent {
  return {
    type: "TransformationEvent",
    bizStep: "transforming",
    disposition: "active",
    eventTime: "2026-11-20T14:00:00.250+08:00",
    eventTimeZoneOffset: "+08:00",
    inputQuantityList: [
      { epcClass: batchUri(BASE, CHILI), quantity: 40, uom: "KGM" },
      { epcClass: `https://id.gs1.org/01/${TALLOW.gtin}/10/${TALLOW.lot}`, quantity: 60.5, uom: "KGM" },
    ],
    outputQuantityList: [{ epcClass: batchUri(BASE, HOTPOT), quantity: 400, uom: "XBX" }],
    bizLocation: { district: "九龙坡区", name: "炒料车间 2 号线" },
    sensorElementList: [
      {
        sensorMetadata: { deviceID: "WOK-07" },
        sensorReport: [
          { type: "Temperature", value: 182.5, uom: "CEL", time: "2026-11-20T13:40:00+08:00" },
          { type: "Temperature", value: 178, uom: "CEL", time: "2026-11-20T13:50:00+08:00" },
        ],
      },
    ],
  };
}

/** The lab's inspection, with its certificate. */
function inspection(): ObjectEvent {
  return {
    type: "ObjectEvent",
    action: "OBSERVE",
    bizStep: "inspecting",
    disposition: "conformant",
    eventTime: "2026-11-21T10:00:00+08:00",
    eventTimeZoneOffset: "+08:00",
    quantityList: [{ epcClass: batchUri(BASE, HOTPOT), quantity: 12, uom: "XBX" }],
    bizLocation: { district: "渝北区" },
    certificationInfo: {
      documentHash: "0x" + "ab".repeat(32),
      issuer: "重庆市食品药品检验检测研究院",
      standard: "GB/T 23183",
      result: "conformant",
      certificateNumber: "CQ-2026-118",
    },
  };
}

/** The shipment declared in error: it never happened, the corrected one replaces it. */
function declaration(): ObjectEvent {
  const corrected = { ...shipment(), quantityList: [{ epcClass: batchUri(BASE, CHILI), quantity: 100, uom: "KGM" }] };
  return {
    ...shipment(),
    errorDeclaration: {
      declarationTime: "2026-11-20T18:00:00+08:00",
      reason: "incorrect_data",
      correctiveEventIDs: [eventHash(corrected)],
      explanation: "数量录入错误：实际发运 100 kg",
    },
  };
}

const problemsOf = (epcis: unknown, index = 0): ImportProblem[] => {
  const result = fromEpcisEvent(epcis, index);
  expect(result.event, "no event comes back when there are problems").to.equal(null);
  return result.problems;
};

describe("EPCIS 2.0", function () {
  describe("the schema check", function () {
    it("is GS1's schema and refuses what EPCIS 2.0 refuses", function () {
      const document = documentOf(transformation()) as { epcisBody: { eventList: EpcisEvent[] } };
      expectValidEpcis(document);
      const broken = (change: (event: EpcisEvent) => void) => {
        const copy = JSON.parse(JSON.stringify(document));
        change(copy.epcisBody.eventList[0]);
        return epcisSchemaErrors(copy);
      };
      // CBV 2.0 has no "transforming" step; an extension field needs a namespace; times need seconds.
      expect(broken((e) => (e.bizStep = "transforming")).join()).to.contain("bizStep");
      expect(broken((e) => (e.comment = "x")).join()).to.contain("property name");
      expect(broken((e) => (e.eventTime = "2026-11-20T14:00+08:00")).join()).to.contain('format "date-time"');
      expect(broken((e) => (e.eventTimeZoneOffset = "+14:30")).join()).to.contain("eventTimeZoneOffset");
      expect(broken((e) => (e.eventID = "not a uri")).join()).to.contain('format "uri"');
    });
  });

  describe("export", function () {
    it("writes a valid document of an ObjectEvent with every field, mapping codes to URIs", function () {
      expectValidEpcis(documentOf(shipment(), inspection()));
      const event = exported(shipment());
      expect(event.eventID).to.equal(`${URN.event}${eventHash(shipment())}`);
      expect(event.recordTime).to.equal(RECORDED_AT);
      expect(event.readPoint).to.deep.equal({ id: "urn:epc:id:sgln:6903885.00001.1" });
      expect(event.bizLocation).to.deep.equal({
        id: `${GLN_BASE}6903885000017`,
        "yt:district": "江津区",
        "yt:name": "德庄江津生产基地",
      });
      expect(event.sourceList).to.deep.equal([
        { type: "owning_party", source: `urn:yutrace:org:${ORGS.producer.uscc}` },
      ]);
      expect((event.destinationList as { destination: string }[]).map((d) => d.destination)).to.deep.equal([
        `urn:yutrace:org:${ORGS.logistics.uscc}`,
        `urn:yutrace:org:${ORGS.retailer.uscc}`,
      ]);
      const [sensor] = event.sensorElementList as { sensorMetadata: { deviceID: string }; sensorReport: unknown[] }[];
      expect(sensor!.sensorMetadata.deviceID).to.equal(`${URN.device}${encodeURIComponent("TH-0042 冷藏车")}`);
      expect(sensor!.sensorReport[0]).to.deep.equal({ type: "Temperature", value: 3.5, uom: "CEL" });
      expect(event["yt:comment"]).to.equal("冷链运输 0–4 °C");
      expect(event).not.to.have.property("yt:asRecorded");
    });

    it("writes the certificate as a URI with its details in yt:certificate", function () {
      const event = exported(inspection());
      expect(event.certificationInfo).to.equal(`${URN.certificate}0x${"ab".repeat(32)}`);
      expect(event["yt:certificate"]).to.deep.equal({
        "yt:issuer": "重庆市食品药品检验检测研究院",
        "yt:standard": "GB/T 23183",
        "yt:result": "conformant",
        "yt:certificateNumber": "CQ-2026-118",
      });
    });

    it("writes a TransformationEvent with sensors, its non-CBV step in yt: and a place without GLN as a URN", function () {
      const document = documentOf(transformation());
      expectValidEpcis(document);
      const event = exported(transformation());
      expect(event).not.to.have.property("action");
      expect(event.bizStep).to.equal("yt:transforming");
      expect(event.bizLocation).to.deep.equal({
        id: `${URN.place}${encodeURIComponent("九龙坡区")}:${encodeURIComponent("炒料车间 2 号线")}`,
        "yt:district": "九龙坡区",
        "yt:name": "炒料车间 2 号线",
      });
      expect((event.inputQuantityList as unknown[]).length).to.equal(2);
      expect(event.eventTime).to.equal("2026-11-20T14:00:00.250+08:00");
    });

    it("gives an error declaration the eventID of the event it declares in error and its own id in yt:eventHash", function () {
      const document = documentOf(shipment(), declaration());
      expectValidEpcis(document);
      const event = exported(declaration());
      expect(event.eventID).to.equal(`${URN.event}${eventHash(shipment())}`);
      expect(event["yt:eventHash"]).to.equal(eventHash(declaration()));
      expect(event.errorDeclaration).to.deep.equal({
        declarationTime: "2026-11-20T18:00:00+08:00",
        reason: "incorrect_data",
        correctiveEventIDs: [`${URN.event}${declaration().errorDeclaration!.correctiveEventIDs![0]}`],
        "yt:explanation": "数量录入错误：实际发运 100 kg",
      });
      expect(exported(shipment())).not.to.have.property("yt:eventHash");
    });

    it("writes every business step, disposition, unit and district validly", function () {
      const bodies = BIZ_STEPS.map((bizStep, i) => ({
        ...shipment(),
        bizStep,
        disposition: DISPOSITIONS[i % DISPOSITIONS.length]!,
        quantityList: [{ epcClass: batchUri(BASE, CHILI), quantity: i + 1, uom: UNITS[i % UNITS.length]! }],
        bizLocation: { district: CHONGQING_DISTRICTS[i % CHONGQING_DISTRICTS.length]! },
      }));
      expectValidEpcis(documentOf(...bodies));
      for (const body of bodies) expect(fromEpcisEvent(exported(body)).event).to.deep.equal(body);
    });

    it("keeps values EPCIS cannot write exactly in yt:asRecorded, and reads them back", function () {
      const body: ObjectEvent = {
        ...shipment(),
        eventTime: "2026-11-20T08:30+14:30",
        eventTimeZoneOffset: "+14:30",
        quantityList: [
          { epcClass: `/01/${CHILI.gtin}/10/${CHILI.lot}`, quantity: 1, uom: "KGM" },
          { epcClass: `https://例子.cn/01/${HOTPOT.gtin}/10/A"<B>`, quantity: 2, uom: "XBX" },
        ],
        sensorElementList: [
          { sensorMetadata: { deviceID: "探头\uD800" }, sensorReport: [{ type: "Temperature", value: 4, uom: "CEL" }] },
        ],
      };
      expect(traceEventSchema.safeParse(body).success).to.equal(true);
      expectValidEpcis(documentOf(body));
      const event = exported(body);
      expect(event.eventTime).to.equal("2026-11-20T08:30:00+14:30");
      expect(event.eventTimeZoneOffset).to.equal("+14:00");
      expect((event.quantityList as { epcClass: string }[]).map((q) => q.epcClass)).to.deep.equal([
        `https://id.gs1.org/01/${CHILI.gtin}/10/${CHILI.lot}`,
        `https://id.gs1.org/01/${HOTPOT.gtin}/10/A%22%3CB%3E`,
      ]);
      expect(event["yt:asRecorded"]).to.deep.equal({
        eventTime: "2026-11-20T08:30+14:30",
        eventTimeZoneOffset: "+14:30",
        "quantityList.0.epcClass": `/01/${CHILI.gtin}/10/${CHILI.lot}`,
        "quantityList.1.epcClass": `https://例子.cn/01/${HOTPOT.gtin}/10/A"<B>`,
        "sensorElementList.0.sensorMetadata.deviceID": "探头\uD800",
      });
      const back = fromEpcisEvent(event);
      expect(back.problems).to.deep.equal([]);
      expect(eventHash(back.event)).to.equal(eventHash(body));
    });

    it("writes a query answer as a valid EPCISQueryDocument with the next cursor", function () {
      const document = epcisQueryDocument([stored(shipment()), stored(declaration())], "bmV4dA");
      expectValidEpcis(document);
      expect(document).to.deep.include({ type: "EPCISQueryDocument", "yt:nextCursor": "bmV4dA" });
      const results = (
        document.epcisBody as { queryResults: { queryName: string; resultsBody: { eventList: unknown[] } } }
      ).queryResults;
      expect(results.queryName).to.equal("SimpleEventQuery");
      expect(results.resultsBody.eventList).to.have.length(2);
      expectValidEpcis(epcisQueryDocument([], null));
    });
  });

  describe("import reverses export", function () {
    it("gives back each hand-written event exactly", function () {
      for (const body of [shipment(), transformation(), inspection(), declaration()]) {
        const back = fromEpcisEvent(exported(body));
        expect(back.problems).to.deep.equal([]);
        expect(back.event).to.deep.equal(body);
      }
    });

    it("gives back every valid event exactly, from a valid export (property)", function () {
      fc.assert(
        fc.property(traceEvents, (body) => {
          // node:assert in the hot loop: hardhat's chai plugins make every chai assertion costly.
          const document = documentOf(body);
          const errors = epcisSchemaErrors(document);
          assert.deepEqual(errors, [], `${JSON.stringify(body)}\n${errors.join("\n")}`);
          const [epcis] = (JSON.parse(JSON.stringify(document)) as { epcisBody: { eventList: EpcisEvent[] } }).epcisBody
            .eventList;
          const back = fromEpcisEvent(epcis);
          assert.deepEqual(back.problems, []);
          assert.deepEqual(back.event, body);
          assert.equal(eventHash(back.event), eventHash(body));
        }),
        { numRuns: 300 },
      );
    });

    it("reads a whole document back in order", function () {
      const bodies = [transformation(), inspection(), shipment(), declaration()];
      const list = epcisEventList(JSON.parse(JSON.stringify(documentOf(...bodies))));
      expect(list).to.have.property("eventList");
      const { events, problems } = fromEpcisEvents((list as { eventList: unknown[] }).eventList);
      expect(problems).to.deep.equal([]);
      expect(events).to.deep.equal(bodies);
    });
  });

  describe("import of EPCIS from elsewhere", function () {
    it("reads CBV 2.0 vocabulary URIs, EPCIS 1.x URNs, LGTIN class URNs and gs1: measurement types", function () {
      const epcis = {
        type: "ObjectEvent",
        eventTime: "2026-11-20T08:30:00.000+08:00",
        eventTimeZoneOffset: "+08:00",
        eventID: "ni:///sha-256;c5b9b7b7e3b1f6f1b0f3a2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3?ver=CBV2.0",
        epcList: [],
        action: "OBSERVE",
        bizStep: "https://ref.gs1.org/cbv/BizStep-receiving",
        disposition: "https://ref.gs1.org/cbv/Disp-in_progress",
        quantityList: [{ epcClass: "urn:epc:class:lgtin:6903885.002002.JJ2026-11-A", quantity: 120, uom: "KGM" }],
        readPoint: { id: "https://id.gs1.org/414/6903885000017" },
        sourceList: [
          { type: "https://ref.gs1.org/cbv/SDT-owning_party", source: `urn:yutrace:org:${ORGS.producer.uscc}` },
        ],
        sensorElementList: [{ sensorReport: [{ type: "gs1:Temperature", value: 3.9, uom: "CEL" }] }],
      };
      expect(epcisSchemaErrors({ ...documentOf(), epcisBody: { eventList: [epcis] } })).to.deep.equal([]);
      const { event, problems } = fromEpcisEvent(epcis);
      expect(problems).to.deep.equal([]);
      expect(event).to.deep.equal({
        type: "ObjectEvent",
        action: "OBSERVE",
        eventTime: "2026-11-20T08:30:00.000+08:00",
        eventTimeZoneOffset: "+08:00",
        bizStep: "receiving",
        disposition: "in_progress",
        quantityList: [{ epcClass: `https://id.gs1.org/01/${CHILI.gtin}/10/${CHILI.lot}`, quantity: 120, uom: "KGM" }],
        readPoint: { id: "6903885000017" },
        sourceList: [{ type: "owning_party", source: ORGS.producer.uscc }],
        sensorElementList: [{ sensorReport: [{ type: "Temperature", value: 3.9, uom: "CEL" }] }],
      });
    });

    it("reads the EPCIS 1.x vocabulary URNs of converted data too", function () {
      const epcis: EpcisEvent = {
        ...exported(declaration()),
        bizStep: "urn:epcglobal:cbv:bizstep:shipping",
        disposition: "urn:epcglobal:cbv:disp:in_transit",
        sourceList: [{ type: "urn:epcglobal:cbv:sdt:owning_party", source: `urn:yutrace:org:${ORGS.producer.uscc}` }],
      };
      (epcis.errorDeclaration as Record<string, unknown>).reason = "urn:epcglobal:cbv:er:incorrect_data";
      expect(fromEpcisEvent(epcis).event).to.deep.equal(declaration());
    });

    it("turns LGTIN class URNs into Digital Links, with the GTIN's check digit", function () {
      expect(lgtinToDigitalLink("urn:epc:class:lgtin:6903885.002002.JJ2026-11-A")).to.equal(
        `https://id.gs1.org/01/${gtin14("0690388502002")}/10/JJ2026-11-A`,
      );
      expect(lgtinToDigitalLink("urn:epc:class:lgtin:4012345.012345.A%2FB")).to.equal(
        "https://id.gs1.org/01/04012345123456/10/A%2FB",
      );
      expect(lgtinToDigitalLink("urn:epc:class:lgtin:4012345.0123.LOT")).to.equal(null);
      expect(lgtinToDigitalLink("urn:epc:idpat:sgtin:4012345.012345.*")).to.equal(null);
    });
  });

  describe("import refuses", function () {
    const base = () => exported(shipment());

    it("events other than ObjectEvent and TransformationEvent, naming the index", function () {
      const problems = problemsOf(
        { type: "AggregationEvent", action: "ADD", parentID: "urn:epc:id:sscc:0614141.1234567890" },
        4,
      );
      expect(problems).to.have.length(1);
      expect(problems[0]).to.deep.include({
        index: 4,
        path: "epcisBody.eventList.4.type",
        code: "unsupported_event_type",
      });
      expect(problems[0]!.message).to.contain("AggregationEvent");
    });

    it("serialised EPCs, business transactions and lot master data, saying why", function () {
      const problems = problemsOf(
        {
          ...base(),
          epcList: ["urn:epc:id:sgtin:6903885.002002.1001"],
          bizTransactionList: [{ type: "po", bizTransaction: "urn:epcglobal:cbv:bt:6903885000017:PO-1" }],
          ilmd: { "yt:lot": "x" },
        },
        2,
      );
      expect(problems.map((p) => [p.path, p.code])).to.deep.equal([
        ["epcisBody.eventList.2.epcList", "unsupported_field"],
        ["epcisBody.eventList.2.bizTransactionList", "unsupported_field"],
        ["epcisBody.eventList.2.ilmd", "unsupported_field"],
      ]);
      expect(problems[0]!.message).to.contain("quantityList");
    });

    it("extension fields it does not know, wherever they are", function () {
      const event = base();
      event["example:temperatureLog"] = "https://example.com/log";
      (event.bizLocation as Record<string, unknown>)["example:dock"] = "7";
      (event.sensorElementList as { sensorReport: Record<string, unknown>[] }[])[0]!.sensorReport[0]!.exception =
        "ALARM_CONDITION";
      expect(problemsOf(event, 1).map((p) => [p.path, p.code])).to.deep.equal([
        ["epcisBody.eventList.1.example:temperatureLog", "unknown_field"],
        ["epcisBody.eventList.1.bizLocation.example:dock", "unknown_field"],
        ["epcisBody.eventList.1.sensorElementList.0.sensorReport.0.exception", "unknown_field"],
      ]);
    });

    it("parties, places, certificates and corrections it cannot name", function () {
      const event = {
        ...base(),
        sourceList: [{ type: "owning_party", source: "https://id.gs1.org/417/6903885000017" }],
        readPoint: { id: "https://example.com/dock/7" },
        certificationInfo: ["https://example.com/cert/1", "https://example.com/cert/2"],
        errorDeclaration: { declarationTime: "2026-11-20T18:00:00+08:00", correctiveEventIDs: ["urn:uuid:1"] },
      };
      expect(problemsOf(event).map((p) => [p.path, p.code])).to.deep.equal([
        ["epcisBody.eventList.0.readPoint.id", "unsupported_place"],
        ["epcisBody.eventList.0.sourceList.0.source", "unsupported_party"],
        ["epcisBody.eventList.0.certificationInfo", "unsupported_certificate"],
        ["epcisBody.eventList.0.errorDeclaration.correctiveEventIDs.0", "unsupported_event_id"],
      ]);
    });

    it("what our event schema refuses, at the field's EPCIS path", function () {
      const event = exported(inspection());
      delete (event.quantityList as Record<string, unknown>[])[0]!.uom;
      delete (event["yt:certificate"] as Record<string, unknown>)["yt:issuer"];
      event.bizStep = "urn:epcglobal:cbv:bizstep:picking";
      event.bizLocation = { id: `${GLN_BASE}6903885000017`, "yt:district": "成都市" };
      event["yt:comment"] = "";
      const paths = problemsOf(event, 3).map((p) => p.path);
      expect(paths).to.have.members([
        "epcisBody.eventList.3.quantityList.0.uom",
        "epcisBody.eventList.3.yt:certificate.yt:issuer",
        "epcisBody.eventList.3.bizStep",
        "epcisBody.eventList.3.bizLocation.yt:district",
        "epcisBody.eventList.3.yt:comment",
      ]);
    });

    it("an event changed after export (its YuTrace eventID or yt:eventHash no longer match)", function () {
      const changed = { ...base(), disposition: "damaged" };
      expect(problemsOf(changed).map((p) => [p.path, p.code])).to.deep.equal([
        ["epcisBody.eventList.0.eventID", "event_id_mismatch"],
      ]);
      const declared = exported(declaration());
      (declared.errorDeclaration as Record<string, unknown>).reason = "did_not_occur";
      expect(problemsOf(declared).map((p) => p.path)).to.deep.equal(["epcisBody.eventList.0.yt:eventHash"]);
      const other = { ...exported(declaration()), eventID: `${URN.event}${eventHash(inspection())}` };
      expect(problemsOf(other)[0]!.message).to.contain("declares in error");
    });

    it("yt:asRecorded values that are not what the document says, or replace nothing", function () {
      const event = { ...base(), "yt:asRecorded": { eventTime: "2026-11-21T08:30+08:00", "readPoint.id": "x" } };
      expect(problemsOf(event).map((p) => [p.path, p.code])).to.deep.equal([
        ["epcisBody.eventList.0.yt:asRecorded", "as_recorded_mismatch"],
        ["epcisBody.eventList.0.yt:asRecorded.readPoint.id", "as_recorded_mismatch"],
      ]);
    });

    it("a place URN that does not name its yt:district and yt:name", function () {
      const event = exported(transformation());
      (event.bizLocation as Record<string, unknown>)["yt:name"] = "别的车间";
      expect(problemsOf(event).map((p) => p.code)).to.deep.equal(["place_mismatch"]);
    });

    it("documents that are not EPCIS 2.0 EPCISDocuments with events", function () {
      const problems = (document: unknown) =>
        (epcisEventList(document) as { problems: { path: string }[] }).problems.map((p) => p.path);
      expect(problems([])).to.deep.equal([""]);
      expect(problems({ ...documentOf(shipment()), type: "EPCISQueryDocument" })).to.deep.equal(["type"]);
      expect(problems({ ...documentOf(shipment()), schemaVersion: "1.2" })).to.deep.equal(["schemaVersion"]);
      expect(problems(documentOf())).to.deep.equal(["epcisBody.eventList"]);
      expect(
        problems({ ...documentOf(shipment()), epcisHeader: { epcisMasterData: { vocabularyList: [] } }, extra: 1 }),
      ).to.deep.equal(["extra", "epcisHeader"]);
    });

    it("every event of a list, and none of its events when one is bad", function () {
      const { events, problems } = fromEpcisEvents([base(), { type: "TransactionEvent" }, base(), "x"]);
      expect(events).to.deep.equal([]);
      expect(problems.map((p) => p.index)).to.deep.equal([1, 3]);
    });
  });
});

// ---------------------------------------------------------------- generated valid events

const AI82 = `!"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz`;
const USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const digits = (n: number) => fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: n, maxLength: n });
const text = (max: number) =>
  fc
    .oneof(
      fc.string({ unit: "binary", minLength: 1, maxLength: Math.min(max, 40) }),
      fc.constantFrom("巴南区 原料仓", "冷链运输 0–4 °C", "GB 2762-2022", "Q/YWHG 0001S", "a:b/c?d#e%f"),
    )
    .filter((s) => s.length <= max && !hasUnsafeCharacters(s));
const gtin = digits(13)
  .filter((d) => !/^0+$/.test(d))
  .map(gtin14);
const lot = fc.string({ unit: fc.constantFrom(...AI82), minLength: 1, maxLength: 20 });
/** Digital Links on various hosts, bare paths, with queries, and lots written raw where a URI would encode them. */
const epcClass = fc
  .tuple(
    fc.constantFrom(BASE, "http://localhost:8080", "https://id.gs1.org", "https://例子.cn/trace", "", "HTTPS://X.CN"),
    gtin,
    lot,
    fc.boolean(),
    fc.constantFrom("", "?linkType=all", "#top", "?a b"),
  )
  .map(([base, g, l, raw, tail]) =>
    raw && !/[%/?#]/.test(l)
      ? `${base}/01/${g}/10/${l}${tail}`
      : `${batchUri(base || "/", { gtin: g, lot: l })}${tail}`,
  );
const time = fc
  .tuple(
    fc.integer({ min: 2000, max: 2099 }),
    fc.integer({ min: 1, max: 12 }),
    fc.integer({ min: 1, max: 28 }),
    fc.integer({ min: 0, max: 23 }),
    fc.integer({ min: 0, max: 59 }),
    fc.constantFrom("", ":00", ":59", ":07.5", ":30.123456789"),
    fc.constantFrom("Z", "+08:00", "-05:30", "+14:00", "+14:45", "-14:59", "+00:00"),
  )
  .map(([y, mo, d, h, mi, s, z]) => {
    const p = (n: number) => String(n).padStart(2, "0");
    return `${y}-${p(mo)}-${p(d)}T${p(h)}:${p(mi)}${s}${z}`;
  });
const offset = fc
  .tuple(fc.constantFrom("+", "-"), fc.integer({ min: 0, max: 14 }), fc.integer({ min: 0, max: 59 }))
  .map(([sign, h, m]) => `${sign}${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`);
const quantity = fc.record({
  epcClass,
  quantity: fc.double({ min: Number.MIN_VALUE, max: 1e12, noNaN: true }),
  uom: fc.constantFrom(...UNITS),
});
const place = fc
  .record(
    {
      id: fc.oneof(
        digits(13),
        fc
          .tuple(digits(7), digits(5), fc.constantFrom("0", "12", "A7"))
          .map(([c, l, e]) => `urn:epc:id:sgln:${c}.${l}.${e}`),
      ),
      district: fc.constantFrom(...CHONGQING_DISTRICTS),
      name: text(200),
    },
    { requiredKeys: [] },
  )
  .filter((p) => Object.keys(p).length > 0);
const organisation = fc.string({ unit: fc.constantFrom(...USCC_CHARS), minLength: 17, maxLength: 17 }).map(uscc);
const partyType = fc.constantFrom("owning_party" as const, "possessing_party" as const, "location" as const);
const hex64 = fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 64, maxLength: 64 });
const sensorElement = fc.record(
  {
    sensorMetadata: fc.record({ time, deviceID: text(200) }, { requiredKeys: [] }),
    sensorReport: fc.array(
      fc.record(
        {
          type: fc.constantFrom(
            "Temperature" as const,
            "RelativeHumidity" as const,
            "Illuminance" as const,
            "AbsoluteHumidity" as const,
          ),
          value: fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => (v === 0 ? 0 : v)),
          uom: fc.constantFrom("CEL" as const, "FAH" as const, "A93" as const, "LUX" as const, "P1" as const),
          time,
        },
        { requiredKeys: ["type", "value", "uom"] },
      ),
      { minLength: 1, maxLength: 3 },
    ),
  },
  { requiredKeys: ["sensorReport"] },
);
const common = {
  eventTime: time,
  eventTimeZoneOffset: offset,
  bizStep: fc.constantFrom(...BIZ_STEPS),
  disposition: fc.constantFrom(...DISPOSITIONS),
  readPoint: place,
  bizLocation: place,
  sourceList: fc.array(fc.record({ type: partyType, source: organisation }), { minLength: 1, maxLength: 3 }),
  destinationList: fc.array(fc.record({ type: partyType, destination: organisation }), { minLength: 1, maxLength: 3 }),
  sensorElementList: fc.array(sensorElement, { minLength: 1, maxLength: 2 }),
  certificationInfo: fc.record(
    {
      documentHash: fc.tuple(fc.constantFrom("", "0x"), hex64).map(([prefix, hex]) => prefix + hex),
      issuer: text(200),
      standard: text(200),
      result: fc.constantFrom("conformant" as const, "non_conformant" as const),
      certificateNumber: text(100),
    },
    { requiredKeys: ["documentHash", "issuer", "standard"] },
  ),
  comment: text(500),
  errorDeclaration: fc.record(
    {
      declarationTime: time,
      reason: fc.constantFrom("incorrect_data" as const, "did_not_occur" as const),
      correctiveEventIDs: fc.array(
        hex64.map((h) => `0x${h}`),
        { minLength: 1, maxLength: 3 },
      ),
      explanation: text(500),
    },
    { requiredKeys: ["declarationTime", "reason"] },
  ),
};
const objectEvents = fc.record(
  {
    type: fc.constant("ObjectEvent" as const),
    action: fc.constantFrom("ADD" as const, "OBSERVE" as const, "DELETE" as const),
    quantityList: fc.array(quantity, { minLength: 1, maxLength: 3 }),
    ...common,
  },
  { requiredKeys: ["type", "action", "quantityList", "eventTime", "eventTimeZoneOffset", "bizStep"] },
);
const transformationEvents = fc.record(
  {
    type: fc.constant("TransformationEvent" as const),
    inputQuantityList: fc.array(quantity, { minLength: 1, maxLength: 3 }),
    outputQuantityList: fc.array(quantity, { minLength: 1, maxLength: 3 }),
    ...common,
  },
  { requiredKeys: ["type", "inputQuantityList", "outputQuantityList", "eventTime", "eventTimeZoneOffset", "bizStep"] },
);
/** Valid events (the event schema accepts them), optional fields present or not. */
const traceEvents = fc
  .oneof(objectEvents, transformationEvents)
  // As a client sends them: plain JSON objects (fast-check's records have no prototype).
  .map((event) => JSON.parse(JSON.stringify(event)) as unknown)
  .filter((event) => traceEventSchema.safeParse(event).success) as fc.Arbitrary<TraceEvent>;
