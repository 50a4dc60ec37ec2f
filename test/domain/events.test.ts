/**
 * Unit tests of server/domain/events.ts: the strict EPCIS 2.0 / CBV 2.0 subset accepted by
 * `POST /api/v1/events` (DESIGN §3), and `batchesOf`.
 */
import { expect } from "chai";

import {
  BIZ_STEPS,
  CHONGQING_DISTRICTS,
  DISPOSITIONS,
  UNITS,
  batchesOf,
  objectEventSchema,
  traceEventSchema,
  transformationEventSchema,
  type ObjectEvent,
  type TransformationEvent,
} from "../../server/domain/events";
import { batchUri, itemUri } from "../../server/domain/digital-link";
import { ORGS } from "../helpers/ledger-fixture";

const BASE = "https://trace.example.cn";
const CHILI = { gtin: "06903885020023", lot: "JJ2026-11-A" };
const TALLOW = { gtin: "06903885030039", lot: "TL20261101" };
const HOTPOT = { gtin: "06903885010017", lot: "DZ20261120-01" };

/** 德庄 ships 120 kg of 江津 chili to the cold-chain carrier, for 永辉 supermarkets. */
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
        sensorMetadata: { time: "2026-11-20T08:29:00+08:00", deviceID: "TH-0042" },
        sensorReport: [
          { type: "Temperature", value: 3.5, uom: "CEL" },
          { type: "RelativeHumidity", value: 62, uom: "A93", time: "2026-11-20T08:29:30+08:00" },
        ],
      },
    ],
    certificationInfo: {
      documentHash: "0x" + "ab".repeat(32),
      issuer: "重庆市食品药品检验检测研究院",
      standard: "GB/T 23183",
      result: "conformant",
      certificateNumber: "CQ-2026-118",
    },
    comment: "冷链运输 0–4 °C",
  };
}

/** 德庄 makes hotpot base from chili and beef tallow. */
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
    bizLocation: { district: "九龙坡区" },
  };
}

/** The zod issues of `value`, as `path: code`. */
function issues(value: unknown): string[] {
  const result = traceEventSchema.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.code}`);
}

/** The distinct paths at which `value` is refused ([] if it is accepted). */
function refusedPaths(value: unknown): string[] {
  const result = traceEventSchema.safeParse(value);
  return result.success ? [] : [...new Set(result.error.issues.map((i) => i.path.join(".")))];
}

/** The shipment with `changes` applied, typed loosely so that invalid events can be built. */
function shipmentWith(changes: Record<string, unknown>): unknown {
  return { ...shipment(), ...changes };
}

describe("trace events (EPCIS 2.0 subset)", function () {
  describe("valid events", function () {
    it("accepts a shipment with destinations, sensors, a certificate and a Digital Link epcClass", function () {
      expect(issues(shipment())).to.deep.equal([]);
    });

    it("accepts a transformation of two input batches into one output batch", function () {
      expect(issues(transformation())).to.deep.equal([]);
    });

    it("returns exactly the event it was given: nothing added, dropped or rewritten", function () {
      for (const event of [shipment(), transformation()]) {
        expect(traceEventSchema.parse(event)).to.deep.equal(event);
      }
      const minimal = {
        type: "ObjectEvent",
        action: "ADD",
        bizStep: "commissioning",
        eventTime: "2026-11-20T08:30Z",
        eventTimeZoneOffset: "+00:00",
        quantityList: [{ epcClass: `/01/${CHILI.gtin}/10/${CHILI.lot}`, quantity: 1, uom: "H87" }],
      };
      expect(traceEventSchema.parse(minimal)).to.deep.equal(minimal);
      expect(Object.keys(traceEventSchema.parse(minimal))).to.have.members(Object.keys(minimal));
    });

    it("tells the two event types apart by their type", function () {
      expect(objectEventSchema.safeParse(shipment()).success).to.equal(true);
      expect(objectEventSchema.safeParse(transformation()).success).to.equal(false);
      expect(transformationEventSchema.safeParse(transformation()).success).to.equal(true);
      expect(transformationEventSchema.safeParse(shipment()).success).to.equal(false);
      expect(refusedPaths(shipmentWith({ type: "AggregationEvent" }))).to.deep.equal(["type"]);
    });

    it("accepts every listed business step, disposition, unit and Chongqing district", function () {
      for (const bizStep of BIZ_STEPS) expect(issues(shipmentWith({ bizStep })), bizStep).to.deep.equal([]);
      for (const disposition of DISPOSITIONS) {
        expect(issues(shipmentWith({ disposition })), disposition).to.deep.equal([]);
      }
      for (const uom of UNITS) {
        const quantityList = [{ epcClass: batchUri(BASE, CHILI), quantity: 1, uom }];
        expect(issues(shipmentWith({ quantityList })), uom).to.deep.equal([]);
      }
      expect(CHONGQING_DISTRICTS).to.have.length(38);
      for (const district of CHONGQING_DISTRICTS) {
        expect(issues(shipmentWith({ bizLocation: { district } })), district).to.deep.equal([]);
      }
    });

    it("accepts event times with Z, a negative offset, no seconds and nanoseconds", function () {
      for (const eventTime of [
        "2026-11-20T00:30:00Z",
        "2026-11-19T19:30:00-05:00",
        "2026-11-20T08:30+08:00",
        "2026-11-20T08:30:00.123456789+08:00",
      ]) {
        expect(issues(shipmentWith({ eventTime })), eventTime).to.deep.equal([]);
      }
    });
  });

  describe("strictness: unknown fields are refused everywhere", function () {
    it("refuses an unknown field at the top level", function () {
      expect(issues(shipmentWith({ eventID: "ni:///sha-256;abc" }))).to.deep.equal([": unrecognized_keys"]);
      expect(issues({ ...transformation(), quantityList: shipment().quantityList })).to.deep.equal([
        ": unrecognized_keys",
      ]);
    });

    it("refuses an unknown field in a quantity element", function () {
      const quantityList = [{ epcClass: batchUri(BASE, CHILI), quantity: 1, uom: "KGM", price: 12 }];
      expect(issues(shipmentWith({ quantityList }))).to.deep.equal(["quantityList.0: unrecognized_keys"]);
      const outputQuantityList = [{ epcClass: batchUri(BASE, HOTPOT), quantity: 1, uom: "XBX", note: "x" }];
      expect(issues({ ...transformation(), outputQuantityList })).to.deep.equal([
        "outputQuantityList.0: unrecognized_keys",
      ]);
    });

    it("refuses an unknown field in a location", function () {
      expect(issues(shipmentWith({ bizLocation: { district: "江津区", street: "鼎山街道" } }))).to.deep.equal([
        "bizLocation: unrecognized_keys",
      ]);
      expect(issues(shipmentWith({ readPoint: { id: "6903885000017", x: 1 } }))).to.deep.equal([
        "readPoint: unrecognized_keys",
      ]);
    });

    it("refuses an unknown field in a party, a sensor element, a sensor report or the certificate", function () {
      const event = shipment();
      const cases: [unknown, string][] = [
        [{ ...event, sourceList: [{ ...event.sourceList![0]!, name: "德庄" }] }, "sourceList.0"],
        [{ ...event, destinationList: [{ ...event.destinationList![0]!, gln: "x" }] }, "destinationList.0"],
        [{ ...event, sensorElementList: [{ ...event.sensorElementList![0]!, extra: 1 }] }, "sensorElementList.0"],
        [
          { ...event, sensorElementList: [{ sensorReport: [{ type: "Temperature", value: 4, uom: "CEL", x: 1 }] }] },
          "sensorElementList.0.sensorReport.0",
        ],
        [
          { ...event, sensorElementList: [{ sensorMetadata: { bizRules: "x" }, sensorReport: [] }] },
          "sensorElementList.0.sensorMetadata",
        ],
        [{ ...event, certificationInfo: { ...event.certificationInfo!, url: "https://x" } }, "certificationInfo"],
      ];
      for (const [value, path] of cases) {
        expect(issues(value), path).to.include(`${path}: unrecognized_keys`);
      }
    });

    it("refuses a __proto__ member sent in JSON", function () {
      const text = JSON.stringify(shipment()).replace('{"type"', '{"__proto__":{"admin":true},"type"');
      expect(issues(JSON.parse(text))).to.deep.equal([": unrecognized_keys"]);
    });
  });

  describe("field rules", function () {
    it("refuses an event time without an offset, a plain date or other non-ISO forms", function () {
      for (const eventTime of [
        "2026-11-20T08:30:00",
        "2026-11-20",
        "2026-11-20 08:30:00+08:00",
        "2026-11-20T08:30:00+0800",
        "2026-11-20T08:30:00+08",
        "20261120T083000+08:00",
        "2026-11-20T08:30:00z",
        "Fri, 20 Nov 2026 08:30:00 +0800",
        "1795134600000",
      ]) {
        expect(refusedPaths(shipmentWith({ eventTime })), eventTime).to.deep.equal(["eventTime"]);
      }
    });

    it("refuses an event time with an impossible month, hour, minute, second or offset", function () {
      for (const eventTime of [
        "2026-13-01T08:30:00+08:00",
        "2026-00-10T08:30:00+08:00",
        "2026-11-20T25:00:00+08:00",
        "2026-11-20T08:60:00+08:00",
        "2026-11-20T08:30:60+08:00",
        "2026-11-20T08:30:00+08:60",
      ]) {
        expect(refusedPaths(shipmentWith({ eventTime })), eventTime).to.deep.equal(["eventTime"]);
      }
    });

    it("refuses an event time on a day that does not exist in its month (2026-02-30)", function () {
      // Date.parse accepts these and rolls them over into the next month (2026-03-02, 2026-05-01).
      for (const eventTime of ["2026-02-30T08:30:00+08:00", "2026-04-31T08:30:00+08:00", "2026-02-29T08:30:00+08:00"]) {
        expect(refusedPaths(shipmentWith({ eventTime })), eventTime).to.deep.equal(["eventTime"]);
      }
      expect(issues(shipmentWith({ eventTime: "2028-02-29T08:30:00+08:00" })), "a leap day").to.deep.equal([]);
    });

    it("refuses an eventTimeZoneOffset that is not ±hh:mm within ±14:59", function () {
      for (const eventTimeZoneOffset of ["08:00", "+8:00", "+0800", "+15:00", "+08:60", "Z", "Asia/Shanghai"]) {
        expect(refusedPaths(shipmentWith({ eventTimeZoneOffset })), eventTimeZoneOffset).to.deep.equal([
          "eventTimeZoneOffset",
        ]);
      }
    });

    it("refuses business steps and dispositions outside the CBV lists, including their URN forms", function () {
      for (const bizStep of ["ship", "Shipping", "urn:epcglobal:cbv:bizstep:shipping", "recalling", ""]) {
        expect(refusedPaths(shipmentWith({ bizStep })), bizStep).to.deep.equal(["bizStep"]);
      }
      for (const disposition of ["sold", "IN_TRANSIT", "urn:epcglobal:cbv:disp:in_transit", ""]) {
        expect(refusedPaths(shipmentWith({ disposition })), disposition).to.deep.equal(["disposition"]);
      }
      expect(refusedPaths(shipmentWith({ action: "UPDATE" }))).to.deep.equal(["action"]);
    });

    it("refuses a quantity that is zero, negative, not a number or above 10^12", function () {
      for (const quantity of [0, -1, -0.001, "1", null, 1e12 + 1]) {
        const quantityList = [{ epcClass: batchUri(BASE, CHILI), quantity, uom: "KGM" }];
        expect(refusedPaths(shipmentWith({ quantityList })), String(quantity)).to.deep.equal([
          "quantityList.0.quantity",
        ]);
      }
      const smallest = [{ epcClass: batchUri(BASE, CHILI), quantity: 0.001, uom: "KGM" }];
      expect(issues(shipmentWith({ quantityList: smallest }))).to.deep.equal([]);
    });

    it("refuses a unit of measure outside the listed UNECE codes", function () {
      for (const uom of ["KG", "kg", "KGM ", "斤", "C62", ""]) {
        const quantityList = [{ epcClass: batchUri(BASE, CHILI), quantity: 1, uom }];
        expect(refusedPaths(shipmentWith({ quantityList })), uom).to.deep.equal(["quantityList.0.uom"]);
      }
    });

    it("refuses an epcClass that names an item (with a serial) instead of a batch", function () {
      const quantityList = [{ epcClass: itemUri(BASE, { ...CHILI, serial: "K7Q2M9X4T8" }), quantity: 1, uom: "H87" }];
      expect(refusedPaths(shipmentWith({ quantityList }))).to.deep.equal(["quantityList.0.epcClass"]);
    });

    it("refuses an epcClass that is not a Digital Link of a valid GTIN and lot", function () {
      for (const epcClass of [
        "urn:epc:class:lgtin:6903885.002002.JJ2026-11-A",
        `${BASE}/01/06903885020024/10/${CHILI.lot}`,
        `${BASE}/01/${CHILI.gtin}`,
        `${BASE}/01/${CHILI.gtin}/10/${"L".repeat(21)}`,
        `${BASE}/${"x".repeat(400)}/01/${CHILI.gtin}/10/${CHILI.lot}`,
      ]) {
        const quantityList = [{ epcClass, quantity: 1, uom: "H87" }];
        expect(refusedPaths(shipmentWith({ quantityList })), epcClass.slice(0, 60)).to.deep.equal([
          "quantityList.0.epcClass",
        ]);
      }
    });

    it("refuses an invalid 统一社会信用代码 as source or destination", function () {
      const wrongCheck = ORGS.producer.uscc.slice(0, 17) + (ORGS.producer.uscc[17] === "0" ? "1" : "0");
      for (const code of [wrongCheck, ORGS.producer.uscc.toLowerCase(), ORGS.producer.uscc.slice(0, 17), ""]) {
        expect(
          refusedPaths(shipmentWith({ sourceList: [{ type: "owning_party", source: code }] })),
          code,
        ).to.deep.equal(["sourceList.0.source"]);
        expect(
          refusedPaths(shipmentWith({ destinationList: [{ type: "possessing_party", destination: code }] })),
          code,
        ).to.deep.equal(["destinationList.0.destination"]);
      }
    });

    it("refuses a party type outside owning_party, possessing_party and location", function () {
      const sourceList = [{ type: "owner", source: ORGS.producer.uscc }];
      expect(refusedPaths(shipmentWith({ sourceList }))).to.deep.equal(["sourceList.0.type"]);
    });

    it("refuses a comment with zero-width, bidirectional-override or control characters", function () {
      for (const comment of [
        "冷链\u200b运输",
        "合格\u202e品格合",
        "\u2066isolate\u2069",
        "\ufeff冷链",
        "line\nbreak",
        "tab\there",
        "del\u007f",
      ]) {
        expect(refusedPaths(shipmentWith({ comment })), JSON.stringify(comment)).to.deep.equal(["comment"]);
      }
    });

    it("refuses an empty comment and one over 500 characters, and accepts 500", function () {
      expect(refusedPaths(shipmentWith({ comment: "" }))).to.deep.equal(["comment"]);
      expect(refusedPaths(shipmentWith({ comment: "辣".repeat(501) }))).to.deep.equal(["comment"]);
      expect(issues(shipmentWith({ comment: "辣".repeat(500) }))).to.deep.equal([]);
    });

    it("refuses a location with no id, district or name", function () {
      expect(issues(shipmentWith({ bizLocation: {} }))).to.deep.equal(["bizLocation: custom"]);
      expect(issues(shipmentWith({ readPoint: {} }))).to.deep.equal(["readPoint: custom"]);
    });

    it("refuses a district outside Chongqing and a malformed GLN", function () {
      expect(refusedPaths(shipmentWith({ bizLocation: { district: "成都市武侯区" } }))).to.deep.equal([
        "bizLocation.district",
      ]);
      expect(refusedPaths(shipmentWith({ bizLocation: { district: "江津" } }))).to.deep.equal(["bizLocation.district"]);
      for (const id of ["690388500001", "urn:epc:id:sgln:6903885", "GLN6903885000017"]) {
        expect(refusedPaths(shipmentWith({ bizLocation: { id } })), id).to.deep.equal(["bizLocation.id"]);
      }
    });

    it("accepts 100 quantity elements and refuses 101, and refuses an empty list", function () {
      const element = { epcClass: batchUri(BASE, CHILI), quantity: 1, uom: "H87" };
      expect(issues(shipmentWith({ quantityList: Array(100).fill(element) }))).to.deep.equal([]);
      expect(issues(shipmentWith({ quantityList: Array(101).fill(element) }))).to.deep.equal(["quantityList: too_big"]);
      expect(issues(shipmentWith({ quantityList: [] }))).to.deep.equal(["quantityList: too_small"]);
    });

    it("refuses a transformation with more than 32 inputs or outputs, or none", function () {
      const element = { epcClass: batchUri(BASE, CHILI), quantity: 1, uom: "KGM" };
      expect(issues({ ...transformation(), inputQuantityList: Array(32).fill(element) })).to.deep.equal([]);
      expect(issues({ ...transformation(), inputQuantityList: Array(33).fill(element) })).to.deep.equal([
        "inputQuantityList: too_big",
      ]);
      expect(issues({ ...transformation(), outputQuantityList: [] })).to.deep.equal(["outputQuantityList: too_small"]);
    });

    it("refuses more than 10 sources or destinations", function () {
      const party = { type: "owning_party", source: ORGS.producer.uscc };
      expect(issues(shipmentWith({ sourceList: Array(10).fill(party) }))).to.deep.equal([]);
      expect(issues(shipmentWith({ sourceList: Array(11).fill(party) }))).to.deep.equal(["sourceList: too_big"]);
    });

    it("refuses a certificate whose document hash is not 64 lower-case hex digits", function () {
      for (const documentHash of [
        "ab".repeat(31),
        "AB".repeat(32),
        "0x" + "ab".repeat(33),
        "sha256:" + "ab".repeat(32),
      ]) {
        const certificationInfo = { ...shipment().certificationInfo!, documentHash };
        expect(refusedPaths(shipmentWith({ certificationInfo })), documentHash).to.deep.equal([
          "certificationInfo.documentHash",
        ]);
      }
    });

    it("refuses a sensor value that is not a finite number", function () {
      const sensorElementList = [{ sensorReport: [{ type: "Temperature", value: "3.5", uom: "CEL" }] }];
      expect(refusedPaths(shipmentWith({ sensorElementList }))).to.deep.equal([
        "sensorElementList.0.sensorReport.0.value",
      ]);
    });

    it("refuses an event without its required fields", function () {
      for (const field of ["eventTime", "eventTimeZoneOffset", "bizStep", "action", "quantityList"]) {
        const event = Object.fromEntries(Object.entries(shipment()).filter(([key]) => key !== field));
        expect(refusedPaths(event), field).to.deep.equal([field]);
      }
    });
  });

  describe("batchesOf", function () {
    it("returns the batches of an object event as outputs and all, with no inputs", function () {
      expect(batchesOf(shipment())).to.deep.equal({ inputs: [], outputs: [CHILI], all: [CHILI] });
    });

    it("returns the inputs then the outputs of a transformation, whatever the host of the URI", function () {
      expect(batchesOf(transformation())).to.deep.equal({
        inputs: [CHILI, TALLOW],
        outputs: [HOTPOT],
        all: [CHILI, TALLOW, HOTPOT],
      });
    });

    it("decodes percent-encoded lots", function () {
      const lot = "A/B(50%)";
      const quantityList = [{ epcClass: batchUri(BASE, { gtin: CHILI.gtin, lot }), quantity: 1, uom: "H87" as const }];
      expect(quantityList[0]!.epcClass).to.contain("/10/A%2FB%2850%25%29");
      expect(batchesOf({ ...shipment(), quantityList }).all).to.deep.equal([{ gtin: CHILI.gtin, lot }]);
    });

    it("lists a batch named twice, under different hosts, once in all", function () {
      const event: ObjectEvent = {
        ...shipment(),
        quantityList: [
          { epcClass: batchUri(BASE, CHILI), quantity: 10, uom: "XBX" },
          { epcClass: batchUri(BASE, TALLOW), quantity: 5, uom: "KGM" },
          { epcClass: `/01/${CHILI.gtin}/10/${CHILI.lot}`, quantity: 120, uom: "KGM" },
        ],
      };
      expect(batchesOf(event).all).to.deep.equal([CHILI, TALLOW]);
    });

    it("lists a batch that is both input and output of a transformation once in all, as an input", function () {
      const event: TransformationEvent = {
        ...transformation(),
        outputQuantityList: [
          { epcClass: batchUri(BASE, HOTPOT), quantity: 400, uom: "XBX" },
          { epcClass: batchUri(BASE, CHILI), quantity: 2, uom: "KGM" },
        ],
      };
      expect(batchesOf(event).all).to.deep.equal([CHILI, TALLOW, HOTPOT]);
    });

    it("lists a batch named twice in a quantity list once in inputs and once in outputs", function () {
      const chiliTwice = [
        { epcClass: batchUri(BASE, CHILI), quantity: 10, uom: "XBX" as const },
        { epcClass: batchUri(BASE, CHILI), quantity: 120, uom: "KGM" as const },
      ];
      const object = batchesOf({ ...shipment(), quantityList: chiliTwice });
      const transform = batchesOf({ ...transformation(), inputQuantityList: chiliTwice });
      expect({ outputs: object.outputs, inputs: transform.inputs }).to.deep.equal({
        outputs: [CHILI],
        inputs: [CHILI],
      });
    });
  });
});
