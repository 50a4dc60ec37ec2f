/**
 * Unit tests of server/domain/rules.ts: who may record which business step and the batch state
 * rules (DESIGN §3), checked by `checkEvent` against small in-memory lookups.
 */
import { expect } from "chai";
import { ZeroAddress, ZeroHash } from "ethers";

import { eventHash } from "../../server/domain/canonical";
import { checkEvent, MAX_CLOCK_SKEW_MS, STEP_RULES, type RuleLookups } from "../../server/domain/rules";
import {
  BIZ_STEPS,
  type BizStep,
  type ObjectEvent,
  type TransformationEvent,
  type TraceEvent,
} from "../../server/domain/events";
import { batchUri, type BatchKey } from "../../server/domain/digital-link";
import { batchIdOfKey } from "../../server/domain/batch-id";
import { orgIdOf, uscc } from "../../server/domain/identifiers";
import {
  PARTICIPANT_ROLES,
  type BatchRecord,
  type BatchState,
  type BatchStatusName,
  type OrgRecord,
  type RoleName,
} from "../../server/store/records";
import { ORGS } from "../helpers/ledger-fixture";

const BASE = "https://trace.example.cn";
const CHILI = { gtin: "06903885020023", lot: "JJ2026-11-A" };
const TALLOW = { gtin: "06903885030039", lot: "TL20261101" };
const HOTPOT = { gtin: "06903885010017", lot: "DZ20261120-01" };
const OIL = { gtin: "06922178001044", lot: "YY2026-10" };
const ids = {
  chili: batchIdOfKey(CHILI),
  tallow: batchIdOfKey(TALLOW),
  hotpot: batchIdOfKey(HOTPOT),
  oil: batchIdOfKey(OIL),
};

/** The time the gateway checks events at. */
const NOW = new Date("2026-11-25T10:00:00+08:00");
const EVENT_TIME = "2026-11-24T09:00:00+08:00";

function orgRecord(key: keyof typeof ORGS, roles: RoleName[]): OrgRecord {
  const { name, uscc: code } = ORGS[key];
  return {
    orgId: orgIdOf(code),
    name,
    uscc: code,
    district: "江津区",
    roles,
    account: ZeroAddress,
    custody: "custodial",
    suspended: false,
    createdAt: "2026-10-01T00:00:00.000Z",
  };
}

const orgs = {
  regulator: orgRecord("regulator", ["regulator"]),
  producer: orgRecord("producer", ["producer"]),
  otherProducer: orgRecord("otherProducer", ["producer"]),
  inspector: orgRecord("inspector", ["inspector"]),
  logistics: orgRecord("logistics", ["logistics"]),
  retailer: orgRecord("retailer", ["retailer"]),
};
/** A valid 统一社会信用代码 that no registered organisation has. */
const UNREGISTERED_USCC = uscc("91500105MA60ABCD1");

function batchRecord(key: BatchKey, producer: OrgRecord, productionDate: string, parents: string[] = []): BatchRecord {
  return {
    batchId: batchIdOfKey(key),
    gtin: key.gtin,
    lot: key.lot,
    producer: producer.orgId,
    status: "active",
    metadataHash: ZeroHash,
    metadata: { gtin: key.gtin, lot: key.lot, quantity: { value: 1000, unit: "KGM" }, productionDate },
    parents,
    registeredAt: `${productionDate}T12:00:00.000Z`,
    block: 1,
    txHash: ZeroHash,
    statusHistory: [],
  };
}

/** RuleLookups over maps; a batch with no recorded state is held by its producer, as in the store. */
class FakeLookups implements RuleLookups {
  readonly batches = new Map<string, BatchRecord>();
  readonly states = new Map<string, BatchState>();
  readonly orgs = new Map<string, OrgRecord>();

  constructor() {
    for (const org of Object.values(orgs)) this.orgs.set(org.uscc, org);
    for (const batch of [
      batchRecord(CHILI, orgs.producer, "2026-11-01"),
      batchRecord(TALLOW, orgs.producer, "2026-11-01"),
      batchRecord(HOTPOT, orgs.producer, "2026-11-20", [ids.chili, ids.tallow]),
      batchRecord(OIL, orgs.otherProducer, "2026-10-15"),
    ]) {
      this.batches.set(batch.batchId, batch);
    }
  }

  async batch(batchId: string): Promise<BatchRecord | null> {
    return this.batches.get(batchId) ?? null;
  }

  async state(batchId: string): Promise<BatchState> {
    const producer = this.batches.get(batchId)?.producer ?? "";
    return this.states.get(batchId) ?? { batchId, custodian: producer, inTransitTo: null, lastEventTime: null };
  }

  async recalledAncestor(batchId: string): Promise<string | null> {
    const queue = [...(this.batches.get(batchId)?.parents ?? [])];
    while (queue.length > 0) {
      const parent = this.batches.get(queue.shift()!);
      if (!parent) continue;
      if (parent.status === "recalled") return parent.batchId;
      queue.push(...parent.parents);
    }
    return null;
  }

  async orgByUscc(code: string): Promise<OrgRecord | null> {
    return this.orgs.get(code) ?? null;
  }

  /** Recorded events, for the error-declaration rules: id → recorder and body. */
  readonly events = new Map<string, { orgId: string; body: TraceEvent; recordTime: string; batchIds: string[] }>();
  readonly declarations = new Map<string, string>();

  async org(orgId: string): Promise<OrgRecord | null> {
    return [...this.orgs.values()].find((org) => org.orgId === orgId) ?? null;
  }

  async event(eventId: string) {
    return this.events.get(eventId) ?? null;
  }

  async declaredBy(eventId: string): Promise<string | null> {
    return this.declarations.get(eventId) ?? null;
  }

  async batchEvents(batchId: string) {
    return [...this.events.entries()]
      .filter(([, e]) => e.batchIds.includes(batchId))
      .map(([eventId, e]) => ({ eventId, orgId: e.orgId, body: e.body }));
  }

  setStatus(batchId: string, status: BatchStatusName): void {
    this.batches.get(batchId)!.status = status;
  }

  /** Puts `batchId` in the hands of `custodian`, possibly in transit to `inTransitTo`. */
  hold(batchId: string, custodian: OrgRecord, inTransitTo: OrgRecord | null = null): void {
    this.states.set(batchId, {
      batchId,
      custodian: custodian.orgId,
      inTransitTo: inTransitTo?.orgId ?? null,
      lastEventTime: null,
    });
  }

  apply(changes: BatchState[]): void {
    for (const change of changes) this.states.set(change.batchId, change);
  }
}

const quantity = (key: BatchKey) => ({ epcClass: batchUri(BASE, key), quantity: 10, uom: "KGM" as const });

function objectEvent(bizStep: BizStep, batches: BatchKey[], extra: Partial<ObjectEvent> = {}): ObjectEvent {
  return {
    type: "ObjectEvent",
    action: bizStep === "commissioning" ? "ADD" : "OBSERVE",
    bizStep,
    eventTime: EVENT_TIME,
    eventTimeZoneOffset: "+08:00",
    quantityList: batches.map(quantity),
    ...extra,
  };
}

function shipTo(destination: OrgRecord, batches: BatchKey[] = [CHILI], extra: Partial<ObjectEvent> = {}): ObjectEvent {
  return objectEvent("shipping", batches, {
    disposition: "in_transit",
    destinationList: [{ type: "possessing_party", destination: destination.uscc }],
    ...extra,
  });
}

function transformation(inputs: BatchKey[], outputs: BatchKey[]): TransformationEvent {
  return {
    type: "TransformationEvent",
    bizStep: "transforming",
    eventTime: EVENT_TIME,
    eventTimeZoneOffset: "+08:00",
    inputQuantityList: inputs.map(quantity),
    outputQuantityList: outputs.map(quantity),
  };
}

type Result = Awaited<ReturnType<typeof checkEvent>>;

function codes(result: Result): string[] {
  return "problems" in result ? result.problems.map((p) => p.code) : [];
}

/** The accepted result; fails the test with the problems if the event was refused. */
function accepted(result: Result): { batchIds: string[]; stateChanges: BatchState[] } {
  if ("problems" in result) expect.fail(`refused: ${JSON.stringify(result.problems)}`);
  return result;
}

const state = (batchId: string, custodian: OrgRecord, inTransitTo: OrgRecord | null, lastEventTime = EVENT_TIME) => ({
  batchId,
  custodian: custodian.orgId,
  inTransitTo: inTransitTo?.orgId ?? null,
  lastEventTime,
});

describe("event rules", function () {
  let lookups: FakeLookups;
  const check = (event: TraceEvent, org: OrgRecord, now = NOW) => checkEvent(event, org, now, lookups);

  beforeEach(function () {
    lookups = new FakeLookups();
  });

  describe("the STEP_RULES table", function () {
    it("has a rule for every business step and no other", function () {
      expect(Object.keys(STEP_RULES)).to.have.members([...BIZ_STEPS]);
      expect(Object.keys(STEP_RULES)).to.have.length(BIZ_STEPS.length);
    });

    it("lets at least one participant role record each step, and names only participant roles", function () {
      for (const step of BIZ_STEPS) {
        expect(STEP_RULES[step].roles, step).to.not.be.empty;
        for (const role of STEP_RULES[step].roles) expect(PARTICIPANT_ROLES, `${step}: ${role}`).to.include(role);
      }
    });

    it("refuses role_not_allowed exactly for the roles outside a step's row", async function () {
      for (const step of BIZ_STEPS) {
        for (const role of PARTICIPANT_ROLES) {
          const org = { ...orgs.producer, roles: [role] };
          const result = await check(shipTo(orgs.logistics, [CHILI], { bizStep: step }), org);
          const allowed = (STEP_RULES[step].roles as readonly string[]).includes(role);
          expect(codes(result).includes("role_not_allowed"), `${step} by ${role}`).to.equal(!allowed);
        }
      }
    });

    it("refuses batch_recalled exactly for the steps that may not be recorded while a batch is blocked", async function () {
      lookups.setStatus(ids.chili, "recalled");
      const everyRole = { ...orgs.producer, roles: [...PARTICIPANT_ROLES] };
      for (const step of BIZ_STEPS) {
        const result = await check(shipTo(orgs.logistics, [CHILI], { bizStep: step }), everyRole);
        expect(codes(result).includes("batch_recalled"), step).to.equal(!STEP_RULES[step].whileBlocked);
      }
    });

    it("allows the expected steps while blocked: inspecting, storing, receiving, reporting, holding, destroying", function () {
      const whileBlocked = BIZ_STEPS.filter((step) => STEP_RULES[step].whileBlocked);
      expect(whileBlocked).to.have.members([
        "inspecting",
        "storing",
        "arriving",
        "receiving",
        "accepting",
        "unloading",
        "sensor_reporting",
        "holding",
        "destroying",
      ]);
    });
  });

  describe("commissioning", function () {
    it("lets a producer commission its own batch, leaving it in the producer's hands", async function () {
      const result = accepted(await check(objectEvent("commissioning", [CHILI]), orgs.producer));
      expect(result.batchIds).to.deep.equal([ids.chili]);
      expect(result.stateChanges).to.deep.equal([state(ids.chili, orgs.producer, null)]);
    });

    it("refuses commissioning another producer's batch with not_producer", async function () {
      const result = await check(objectEvent("commissioning", [CHILI]), orgs.otherProducer);
      expect(codes(result)).to.deep.equal(["not_producer"]);
    });

    it("refuses commissioning by a logistics company with role_not_allowed (and not_producer)", async function () {
      const result = await check(objectEvent("commissioning", [CHILI]), orgs.logistics);
      expect(codes(result)).to.deep.equal(["role_not_allowed", "not_producer"]);
      expect("problems" in result && result.problems[0]).to.deep.include({ code: "role_not_allowed", path: "bizStep" });
    });
  });

  describe("shipping and receiving", function () {
    it("a shipment by the custodian with a destination sets inTransitTo and keeps the custodian", async function () {
      const result = accepted(await check(shipTo(orgs.logistics), orgs.producer));
      expect(result.batchIds).to.deep.equal([ids.chili]);
      expect(result.stateChanges).to.deep.equal([state(ids.chili, orgs.producer, orgs.logistics)]);
    });

    it("ships to the possessing party when the owning party is listed first", async function () {
      const event = shipTo(orgs.logistics, [CHILI], {
        destinationList: [
          { type: "location", destination: orgs.inspector.uscc },
          { type: "owning_party", destination: orgs.retailer.uscc },
          { type: "possessing_party", destination: orgs.logistics.uscc },
        ],
      });
      expect(accepted(await check(event, orgs.producer)).stateChanges).to.deep.equal([
        state(ids.chili, orgs.producer, orgs.logistics),
      ]);
    });

    it("ships to the owning party when no possessing party is listed", async function () {
      const event = shipTo(orgs.logistics, [CHILI], {
        destinationList: [{ type: "owning_party", destination: orgs.retailer.uscc }],
      });
      expect(accepted(await check(event, orgs.producer)).stateChanges).to.deep.equal([
        state(ids.chili, orgs.producer, orgs.retailer),
      ]);
    });

    it("refuses a shipment without a destination with shipping_without_destination", async function () {
      const none = objectEvent("shipping", [CHILI]);
      const locationOnly = shipTo(orgs.logistics, [CHILI], {
        destinationList: [{ type: "location", destination: orgs.logistics.uscc }],
      });
      for (const event of [none, locationOnly]) {
        const result = await check(event, orgs.producer);
        expect(codes(result)).to.deep.equal(["shipping_without_destination"]);
        expect("problems" in result && result.problems[0]!.path).to.equal("destinationList");
      }
    });

    it("refuses a shipment to an unregistered 统一社会信用代码 with unknown_destination", async function () {
      const event = shipTo(orgs.logistics, [CHILI], {
        destinationList: [{ type: "possessing_party", destination: UNREGISTERED_USCC }],
      });
      const result = await check(event, orgs.producer);
      expect(codes(result)).to.deep.equal(["unknown_destination"]);
      expect("problems" in result && result.problems[0]!.message).to.contain(UNREGISTERED_USCC);
    });

    it("refuses a shipment by an organisation that does not hold the batch with not_custodian", async function () {
      expect(codes(await check(shipTo(orgs.retailer), orgs.logistics))).to.deep.equal(["not_custodian"]);
    });

    it("refuses shipping a batch that is already in transit, even by its custodian", async function () {
      lookups.hold(ids.chili, orgs.producer, orgs.logistics);
      expect(codes(await check(shipTo(orgs.retailer), orgs.producer))).to.deep.equal(["not_custodian"]);
    });

    it("receiving by the destination of the shipment makes it the custodian and clears inTransitTo", async function () {
      lookups.hold(ids.chili, orgs.producer, orgs.logistics);
      const result = accepted(await check(objectEvent("receiving", [CHILI]), orgs.logistics));
      expect(result.stateChanges).to.deep.equal([state(ids.chili, orgs.logistics, null)]);
    });

    it("accepting by the destination moves custody like receiving", async function () {
      lookups.hold(ids.chili, orgs.producer, orgs.logistics);
      const result = accepted(await check(objectEvent("accepting", [CHILI]), orgs.logistics));
      expect(result.stateChanges).to.deep.equal([state(ids.chili, orgs.logistics, null)]);
    });

    it("refuses receiving by anyone but the destination with not_destination", async function () {
      lookups.hold(ids.chili, orgs.producer, orgs.logistics);
      expect(codes(await check(objectEvent("receiving", [CHILI]), orgs.retailer))).to.deep.equal(["not_destination"]);
      expect(codes(await check(objectEvent("receiving", [CHILI]), orgs.producer))).to.deep.equal(["not_destination"]);
    });

    it("refuses a shipment to an organisation that cannot receive goods (a lab) with destination_cannot_receive", async function () {
      expect(codes(await check(shipTo(orgs.inspector), orgs.producer))).to.deep.equal(["destination_cannot_receive"]);
      expect(codes(await check(shipTo(orgs.regulator), orgs.producer))).to.deep.equal(["destination_cannot_receive"]);
    });

    it("refuses a receipt dated before the shipment with receipt_before_shipment", async function () {
      lookups.states.set(ids.chili, {
        batchId: ids.chili,
        custodian: orgs.producer.orgId,
        inTransitTo: orgs.logistics.orgId,
        lastEventTime: "2026-11-24T12:00:00+08:00",
      });
      const early = objectEvent("receiving", [CHILI], { eventTime: "2026-11-24T11:59:00+08:00" });
      expect(codes(await check(early, orgs.logistics))).to.deep.equal(["receipt_before_shipment"]);
      const onTime = objectEvent("receiving", [CHILI], { eventTime: "2026-11-24T12:30:00+08:00" });
      expect(codes(await check(onTime, orgs.logistics))).to.deep.equal([]);
    });

    it("refuses destroying a batch someone else holds, unless a regulator does it", async function () {
      expect(codes(await check(objectEvent("destroying", [CHILI]), orgs.retailer))).to.deep.equal(["not_custodian"]);
      accepted(await check(objectEvent("destroying", [CHILI]), orgs.regulator));
    });

    it("refuses receiving a batch that was never shipped with not_destination", async function () {
      expect(codes(await check(objectEvent("receiving", [CHILI]), orgs.producer))).to.deep.equal(["not_destination"]);
    });

    it("arriving leaves custody as it was", async function () {
      lookups.hold(ids.chili, orgs.producer, orgs.logistics);
      const result = accepted(await check(objectEvent("arriving", [CHILI]), orgs.logistics));
      expect(result.stateChanges).to.deep.equal([state(ids.chili, orgs.producer, orgs.logistics)]);
    });

    it("follows a batch from producer to carrier to retailer to sale when each change is applied", async function () {
      const steps: [TraceEvent, OrgRecord, BatchState][] = [
        [objectEvent("commissioning", [CHILI]), orgs.producer, state(ids.chili, orgs.producer, null)],
        [shipTo(orgs.logistics), orgs.producer, state(ids.chili, orgs.producer, orgs.logistics)],
        [objectEvent("receiving", [CHILI]), orgs.logistics, state(ids.chili, orgs.logistics, null)],
        [objectEvent("sensor_reporting", [CHILI]), orgs.logistics, state(ids.chili, orgs.logistics, null)],
        [shipTo(orgs.retailer), orgs.logistics, state(ids.chili, orgs.logistics, orgs.retailer)],
        [objectEvent("receiving", [CHILI]), orgs.retailer, state(ids.chili, orgs.retailer, null)],
        [objectEvent("retail_selling", [CHILI]), orgs.retailer, state(ids.chili, orgs.retailer, null)],
      ];
      for (const [index, [event, org, expected]] of steps.entries()) {
        const result = accepted(await check(event, org));
        expect(result.stateChanges, `step ${index} (${event.bizStep})`).to.deep.equal([expected]);
        lookups.apply(result.stateChanges);
      }
      // The producer no longer holds the batch.
      expect(codes(await check(shipTo(orgs.logistics), orgs.producer))).to.deep.equal(["not_custodian"]);
    });
  });

  describe("recalled and held batches", function () {
    it("refuses shipping a recalled batch with batch_recalled", async function () {
      lookups.setStatus(ids.chili, "recalled");
      const result = await check(shipTo(orgs.logistics), orgs.producer);
      expect(codes(result)).to.deep.equal(["batch_recalled"]);
      expect("problems" in result && result.problems[0]!.message).to.contain(`${CHILI.gtin}/${CHILI.lot}`);
    });

    it("refuses shipping a held batch with batch_held", async function () {
      lookups.setStatus(ids.chili, "held");
      expect(codes(await check(shipTo(orgs.logistics), orgs.producer))).to.deep.equal(["batch_held"]);
    });

    it("refuses shipping a batch made from a recalled batch with input_recalled", async function () {
      lookups.setStatus(ids.chili, "recalled");
      const result = await check(shipTo(orgs.logistics, [HOTPOT]), orgs.producer);
      expect(codes(result)).to.deep.equal(["input_recalled"]);
      expect("problems" in result && result.problems[0]!.message).to.contain(ids.chili);
    });

    it("refuses selling a batch whose grandparent is recalled", async function () {
      const soup = { gtin: "06903885010017", lot: "SOUP-1" };
      lookups.batches.set(batchIdOfKey(soup), batchRecord(soup, orgs.producer, "2026-11-21", [ids.hotpot]));
      lookups.hold(batchIdOfKey(soup), orgs.retailer);
      lookups.setStatus(ids.tallow, "recalled");
      expect(codes(await check(objectEvent("retail_selling", [soup]), orgs.retailer))).to.deep.equal([
        "input_recalled",
      ]);
    });

    it("allows inspecting, holding and destroying a recalled batch, without changing custody", async function () {
      lookups.setStatus(ids.chili, "recalled");
      const cases: [BizStep, OrgRecord][] = [
        ["inspecting", orgs.inspector],
        ["holding", orgs.regulator],
        ["destroying", orgs.producer],
        ["destroying", orgs.regulator],
      ];
      for (const [step, org] of cases) {
        const result = accepted(await check(objectEvent(step, [CHILI]), org));
        expect(result.stateChanges, `${step} by ${org.name}`).to.deep.equal([state(ids.chili, orgs.producer, null)]);
      }
    });

    it("allows receiving a recalled batch that was shipped to the receiver (a return)", async function () {
      lookups.setStatus(ids.chili, "recalled");
      lookups.hold(ids.chili, orgs.retailer, orgs.producer);
      const result = accepted(await check(objectEvent("receiving", [CHILI]), orgs.producer));
      expect(result.stateChanges).to.deep.equal([state(ids.chili, orgs.producer, null)]);
    });

    it("allows holding a batch that is already held", async function () {
      lookups.setStatus(ids.chili, "held");
      expect(codes(await check(objectEvent("holding", [CHILI]), orgs.regulator))).to.deep.equal([]);
    });
  });

  describe("event time", function () {
    it("refuses an event before the batch's production date (a day starting at 00:00 +08:00)", async function () {
      for (const eventTime of ["2026-10-31T23:59:59+08:00", "2026-10-31T15:59:59Z", "2026-01-01T00:00:00+08:00"]) {
        const result = await check(objectEvent("commissioning", [CHILI], { eventTime }), orgs.producer);
        expect(codes(result), eventTime).to.deep.equal(["before_production"]);
        expect("problems" in result && result.problems[0]!.path).to.equal("eventTime");
      }
    });

    it("accepts an event from the first instant of the production day, in any offset", async function () {
      for (const eventTime of ["2026-11-01T00:00:00+08:00", "2026-10-31T16:00:00Z", "2026-10-31T11:00:00-05:00"]) {
        const result = await check(objectEvent("commissioning", [CHILI], { eventTime }), orgs.producer);
        expect(codes(result), eventTime).to.deep.equal([]);
      }
    });

    it("refuses an event more than 5 minutes in the future with event_in_future", async function () {
      expect(MAX_CLOCK_SKEW_MS).to.equal(300_000);
      const late = await check(
        objectEvent("inspecting", [CHILI], { eventTime: "2026-11-25T10:05:01+08:00" }),
        orgs.inspector,
      );
      expect(codes(late)).to.deep.equal(["event_in_future"]);
      expect("problems" in late && late.problems[0]).to.deep.include({ code: "event_in_future", path: "eventTime" });
    });

    it("accepts an event up to exactly 5 minutes in the future", async function () {
      for (const eventTime of ["2026-11-25T10:05:00+08:00", "2026-11-25T02:04:59.999Z"]) {
        const result = await check(objectEvent("inspecting", [CHILI], { eventTime }), orgs.inspector);
        expect(codes(result), eventTime).to.deep.equal([]);
      }
    });

    it("sets lastEventTime to the event's own eventTime string", async function () {
      const eventTime = "2026-11-24T01:00:00Z";
      const result = accepted(await check(objectEvent("inspecting", [CHILI], { eventTime }), orgs.inspector));
      expect(result.stateChanges).to.deep.equal([state(ids.chili, orgs.producer, null, eventTime)]);
    });
  });

  describe("unknown batches", function () {
    it("refuses an event about an unregistered batch with unknown_batch", async function () {
      const unknown = { gtin: CHILI.gtin, lot: "NOT-REGISTERED" };
      const result = await check(objectEvent("inspecting", [unknown]), orgs.inspector);
      expect(codes(result)).to.deep.equal(["unknown_batch"]);
      expect("problems" in result && result.problems[0]).to.deep.include({
        code: "unknown_batch",
        path: "quantityList",
      });
    });

    it("reports the unknown batch among known ones, once per unknown batch", async function () {
      const unknown = { gtin: CHILI.gtin, lot: "NOT-REGISTERED" };
      const result = await check(objectEvent("inspecting", [CHILI, unknown, TALLOW, unknown]), orgs.inspector);
      expect(codes(result)).to.deep.equal(["unknown_batch"]);
    });
  });

  describe("retail selling", function () {
    it("lets a retailer that holds the batch sell it", async function () {
      lookups.hold(ids.chili, orgs.retailer);
      const result = accepted(await check(objectEvent("retail_selling", [CHILI]), orgs.retailer));
      expect(result.stateChanges).to.deep.equal([state(ids.chili, orgs.retailer, null)]);
    });

    it("refuses a sale by a retailer that does not hold the batch, or to which it is still in transit", async function () {
      expect(codes(await check(objectEvent("retail_selling", [CHILI]), orgs.retailer))).to.deep.equal([
        "not_custodian",
      ]);
      lookups.hold(ids.chili, orgs.logistics, orgs.retailer);
      expect(codes(await check(objectEvent("retail_selling", [CHILI]), orgs.retailer))).to.deep.equal([
        "not_custodian",
      ]);
    });

    it("refuses a sale by a producer that holds the batch with role_not_allowed", async function () {
      expect(codes(await check(objectEvent("retail_selling", [CHILI]), orgs.producer))).to.deep.equal([
        "role_not_allowed",
      ]);
    });
  });

  describe("transformation", function () {
    it("lets a producer holding the inputs make its own output; only the output's state changes", async function () {
      const result = accepted(await check(transformation([CHILI, TALLOW], [HOTPOT]), orgs.producer));
      expect(result.batchIds).to.deep.equal([ids.chili, ids.tallow, ids.hotpot]);
      expect(result.stateChanges).to.deep.equal([state(ids.hotpot, orgs.producer, null)]);
    });

    it("accepts an input produced by another organisation once the producer holds it", async function () {
      lookups.hold(ids.oil, orgs.producer);
      const result = accepted(await check(transformation([CHILI, OIL], [HOTPOT]), orgs.producer));
      expect(result.batchIds).to.deep.equal([ids.chili, ids.oil, ids.hotpot]);
    });

    it("refuses an input the producer does not hold with not_custodian", async function () {
      lookups.hold(ids.chili, orgs.producer, orgs.logistics);
      expect(codes(await check(transformation([CHILI, TALLOW], [HOTPOT]), orgs.producer))).to.deep.equal([
        "not_custodian",
      ]);
      expect(codes(await check(transformation([OIL], [HOTPOT]), orgs.producer))).to.deep.equal(["not_custodian"]);
    });

    it("refuses an output produced by another organisation with not_producer", async function () {
      lookups.hold(ids.oil, orgs.producer);
      expect(codes(await check(transformation([CHILI], [OIL]), orgs.producer))).to.deep.equal(["not_producer"]);
    });

    it("refuses a transformation by a non-producer with role_not_allowed", async function () {
      lookups.hold(ids.chili, orgs.logistics);
      expect(codes(await check(transformation([CHILI], [HOTPOT]), orgs.logistics))).to.deep.equal([
        "role_not_allowed",
        "not_producer",
      ]);
    });

    it("refuses a recalled input, and reports the output as made from it", async function () {
      lookups.setStatus(ids.chili, "recalled");
      expect(codes(await check(transformation([CHILI, TALLOW], [HOTPOT]), orgs.producer))).to.deep.equal([
        "batch_recalled",
        "input_recalled",
      ]);
    });
  });

  describe("several problems at once", function () {
    it("lists every problem of an event, in order: role, time, destination, then each batch", async function () {
      lookups.setStatus(ids.chili, "held");
      const event = shipTo(orgs.logistics, [CHILI, { gtin: CHILI.gtin, lot: "NOPE" }], {
        eventTime: "2026-12-01T00:00:00+08:00",
        destinationList: [{ type: "possessing_party", destination: UNREGISTERED_USCC }],
      });
      expect(codes(await check(event, orgs.inspector))).to.deep.equal([
        "role_not_allowed",
        "event_in_future",
        "unknown_destination",
        "batch_held",
        "not_custodian",
        "unknown_batch",
      ]);
    });
  });

  describe("inspections and holds", function () {
    const certificate = (result: "conformant" | "non_conformant") => ({
      documentHash: "ab".repeat(32),
      issuer: "重庆市食品质量检验检测中心",
      standard: "GB 2762",
      result,
    });

    it("lets a lab or a regulator inspect any batch, and a producer only its own", async function () {
      const inspection = objectEvent("inspecting", [OIL], { disposition: "non_conformant" });
      expect(codes(await check(inspection, orgs.inspector))).to.deep.equal([]);
      expect(codes(await check(inspection, orgs.regulator))).to.deep.equal([]);
      expect(codes(await check(inspection, orgs.otherProducer))).to.deep.equal([]);
      // A rival producer's "inspection" must not put someone else's batch on hold.
      expect(codes(await check(inspection, orgs.producer))).to.deep.equal(["not_producer"]);
      expect(codes(await check(objectEvent("holding", [OIL]), orgs.producer))).to.deep.equal(["not_producer"]);
    });

    it("refuses a disposition that contradicts the certificate's result", async function () {
      const mismatch = objectEvent("inspecting", [CHILI], {
        disposition: "conformant",
        certificationInfo: certificate("non_conformant"),
      });
      expect(codes(await check(mismatch, orgs.inspector))).to.deep.equal(["inconsistent_result"]);
      const agreeing = objectEvent("inspecting", [CHILI], {
        disposition: "non_conformant",
        certificationInfo: certificate("non_conformant"),
      });
      expect(codes(await check(agreeing, orgs.inspector))).to.deep.equal([]);
    });
  });

  describe("error declarations", function () {
    it("gives custody back to the shipper when a shipment is declared in error after its receipt", async function () {
      const shipment = shipTo(orgs.logistics);
      const receipt = objectEvent("receiving", [CHILI]);
      const shipmentId = eventHash(shipment);
      lookups.events.set(shipmentId, {
        orgId: orgs.producer.orgId,
        body: shipment,
        recordTime: NOW.toISOString(),
        batchIds: [ids.chili],
      });
      lookups.events.set(eventHash(receipt), {
        orgId: orgs.logistics.orgId,
        body: receipt,
        recordTime: NOW.toISOString(),
        batchIds: [ids.chili],
      });
      lookups.hold(ids.chili, orgs.logistics);
      const declaration = {
        ...shipment,
        errorDeclaration: { declarationTime: EVENT_TIME, reason: "did_not_occur" as const },
      };
      const result = accepted(await check(declaration, orgs.producer));
      expect(result.stateChanges).to.deep.equal([
        { batchId: ids.chili, custodian: orgs.producer.orgId, inTransitTo: null, lastEventTime: null },
      ]);
      // Only the recorder may declare its event in error.
      expect(codes(await check(declaration, orgs.logistics))).to.deep.equal(["not_own_event"]);
    });
  });
});
