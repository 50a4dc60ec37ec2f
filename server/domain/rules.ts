/**
 * Who may record which business step, and the batch state rules (DESIGN §3), in one table.
 * `checkEvent` applies them to one event against the current state and returns either the
 * problems or the custody changes the event makes; the caller applies events of a submission in
 * order, so later events see the changes of earlier ones.
 */
import type { BatchRecord, BatchState, OrgRecord, RoleName } from "../store/records";
import { batchesOf, type BizStep, type TraceEvent } from "./events";
import { batchIdOfKey } from "./batch-id";

/** Who must be holding the batch for the step. */
type Custody =
  | "own-output" // the acting organisation produced the batch (commissioning, transforming outputs)
  | "custodian" // the acting organisation holds the batch
  | "destination" // the batch is in transit to the acting organisation
  | "custodian-or-carrier" // holds it, or it is in transit to it
  | "any";

interface StepRule {
  roles: readonly RoleName[];
  custody: Custody;
  /** Whether the step may be recorded for a recalled or held batch (or one with a recalled input). */
  whileBlocked: boolean;
}

/** The permission and state rules, by CBV business step. */
export const STEP_RULES: Record<BizStep, StepRule> = {
  commissioning: { roles: ["producer"], custody: "own-output", whileBlocked: false },
  transforming: { roles: ["producer"], custody: "own-output", whileBlocked: false },
  packing: { roles: ["producer"], custody: "custodian", whileBlocked: false },
  inspecting: { roles: ["inspector", "producer", "regulator"], custody: "any", whileBlocked: true },
  storing: { roles: ["producer", "logistics", "retailer"], custody: "custodian", whileBlocked: true },
  loading: { roles: ["producer", "logistics", "retailer"], custody: "custodian", whileBlocked: false },
  shipping: { roles: ["producer", "logistics", "retailer"], custody: "custodian", whileBlocked: false },
  departing: { roles: ["producer", "logistics", "retailer"], custody: "custodian-or-carrier", whileBlocked: false },
  arriving: { roles: ["producer", "logistics", "retailer"], custody: "destination", whileBlocked: true },
  receiving: { roles: ["producer", "logistics", "retailer"], custody: "destination", whileBlocked: true },
  accepting: { roles: ["producer", "logistics", "retailer"], custody: "destination", whileBlocked: true },
  unloading: { roles: ["producer", "logistics", "retailer"], custody: "custodian-or-carrier", whileBlocked: true },
  sensor_reporting: {
    roles: ["producer", "logistics", "retailer"],
    custody: "custodian-or-carrier",
    whileBlocked: true,
  },
  retail_selling: { roles: ["retailer"], custody: "custodian", whileBlocked: false },
  holding: { roles: ["regulator", "inspector", "producer"], custody: "any", whileBlocked: true },
  destroying: { roles: ["producer", "logistics", "retailer", "regulator"], custody: "custodian", whileBlocked: true },
};

/** How far in the future an event time may be (clock skew between a factory and us). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export interface EventProblem {
  code: string;
  message: string;
  path?: string;
}

/** What the rules need to look up; the ingest service provides it over the store. */
export interface RuleLookups {
  batch(batchId: string): Promise<BatchRecord | null>;
  /** The custody state, including changes made by earlier events of the same submission. */
  state(batchId: string): Promise<BatchState>;
  /** The nearest recalled ancestor of `batchId`, or null. */
  recalledAncestor(batchId: string): Promise<string | null>;
  orgByUscc(uscc: string): Promise<OrgRecord | null>;
}

export interface CheckedEvent {
  batchIds: string[];
  /** New custody states to apply if the whole submission is accepted. */
  stateChanges: BatchState[];
}

/** Checks `event` recorded by `org` at `now`; returns problems, or the custody changes it makes. */
export async function checkEvent(
  event: TraceEvent,
  org: OrgRecord,
  now: Date,
  lookups: RuleLookups,
): Promise<{ problems: EventProblem[] } | CheckedEvent> {
  const problems: EventProblem[] = [];
  const rule = STEP_RULES[event.bizStep];
  if (!rule.roles.some((role) => org.roles.includes(role))) {
    problems.push({
      code: "role_not_allowed",
      message: `${event.bizStep} may be recorded by ${rule.roles.join(", ")}; this organisation is ${org.roles.join(", ")}`,
      path: "bizStep",
    });
  }
  const eventTime = Date.parse(event.eventTime);
  if (eventTime > now.getTime() + MAX_CLOCK_SKEW_MS) {
    problems.push({ code: "event_in_future", message: "eventTime is in the future", path: "eventTime" });
  }

  const { inputs, outputs, all } = batchesOf(event);
  const inputIds = new Set(inputs.map(batchIdOfKey));
  const batchIds = all.map(batchIdOfKey);
  const stateChanges: BatchState[] = [];
  const destination = await destinationOf(event, lookups, problems);

  for (const [i, key] of all.entries()) {
    const batchId = batchIds[i]!;
    const label = `batch ${key.gtin}/${key.lot}`;
    const batch = await lookups.batch(batchId);
    if (!batch) {
      problems.push({ code: "unknown_batch", message: `${label} is not registered`, path: "quantityList" });
      continue;
    }
    const productionDate = batch.metadata?.productionDate;
    if (productionDate && eventTime < Date.parse(`${productionDate}T00:00:00+08:00`)) {
      problems.push({
        code: "before_production",
        message: `eventTime is before the production date ${productionDate} of ${label}`,
        path: "eventTime",
      });
    }
    if (!rule.whileBlocked) {
      const blocked = await blockReason(batch, lookups);
      if (blocked) problems.push({ code: blocked.code, message: `${label} ${blocked.message}` });
    }
    const state = await lookups.state(batchId);
    const isInput = inputIds.has(batchId);
    const custody = isInput && event.type === "TransformationEvent" ? "custodian" : rule.custody;
    const custodyProblem = checkCustody(custody, batch, state, org);
    if (custodyProblem) problems.push({ code: custodyProblem.code, message: `${label}: ${custodyProblem.message}` });
    const receipt = event.bizStep === "receiving" || event.bizStep === "accepting";
    if (receipt && !custodyProblem && state.lastEventTime && eventTime < Date.parse(state.lastEventTime)) {
      problems.push({
        code: "receipt_before_shipment",
        message: `${label}: received at ${event.eventTime}, before its last recorded event at ${state.lastEventTime}`,
        path: "eventTime",
      });
    }
    const change = custodyChange(event.bizStep, state, org, destination);
    if (change && !isInput) stateChanges.push({ ...change, lastEventTime: event.eventTime });
  }
  if (outputs.length === 0 && all.length === 0) {
    problems.push({ code: "no_batch", message: "the event names no batch", path: "quantityList" });
  }
  return problems.length > 0 ? { problems } : { batchIds, stateChanges };
}

async function blockReason(
  batch: BatchRecord,
  lookups: RuleLookups,
): Promise<{ code: string; message: string } | null> {
  if (batch.status === "recalled") return { code: "batch_recalled", message: "is recalled" };
  if (batch.status === "held") return { code: "batch_held", message: "is on hold" };
  const ancestor = await lookups.recalledAncestor(batch.batchId);
  if (ancestor) return { code: "input_recalled", message: `was made from recalled batch ${ancestor}` };
  return null;
}

/** Regulators act on any batch, whoever holds it, except for producing it. */
function checkCustody(
  custody: Custody,
  batch: BatchRecord,
  state: BatchState,
  org: OrgRecord,
): { code: string; message: string } | null {
  if (custody !== "own-output" && org.roles.includes("regulator")) return null;
  switch (custody) {
    case "any":
      return null;
    case "own-output":
      return batch.producer === org.orgId
        ? null
        : { code: "not_producer", message: "produced by another organisation" };
    case "custodian":
      return state.custodian === org.orgId && state.inTransitTo === null
        ? null
        : { code: "not_custodian", message: "this organisation does not hold the batch" };
    case "destination":
      return state.inTransitTo === org.orgId
        ? null
        : { code: "not_destination", message: "the last shipment of the batch is not addressed to this organisation" };
    case "custodian-or-carrier":
      return state.custodian === org.orgId || state.inTransitTo === org.orgId
        ? null
        : { code: "not_custodian", message: "this organisation neither holds the batch nor is it in transit to it" };
  }
}

/** The organisation a shipment goes to: its possessing party, else its owning party. */
async function destinationOf(
  event: TraceEvent,
  lookups: RuleLookups,
  problems: EventProblem[],
): Promise<OrgRecord | null> {
  const list = event.destinationList ?? [];
  if (event.bizStep !== "shipping") return null;
  const chosen = list.find((d) => d.type === "possessing_party") ?? list.find((d) => d.type === "owning_party") ?? null;
  if (!chosen) {
    problems.push({
      code: "shipping_without_destination",
      message: "a shipment needs a destinationList entry of type possessing_party or owning_party",
      path: "destinationList",
    });
    return null;
  }
  const org = await lookups.orgByUscc(chosen.destination);
  if (!org) {
    problems.push({
      code: "unknown_destination",
      message: `no organisation with 统一社会信用代码 ${chosen.destination}`,
      path: "destinationList",
    });
    return null;
  }
  // Only someone who may record the receipt can take the batch over; anyone else would strand it.
  if (!STEP_RULES.receiving.roles.some((role) => org.roles.includes(role))) {
    problems.push({
      code: "destination_cannot_receive",
      message: `${org.name} (${org.roles.join(", ")}) cannot receive goods; ship to a producer, carrier or retailer`,
      path: "destinationList",
    });
    return null;
  }
  return org;
}

function custodyChange(
  step: BizStep,
  state: BatchState,
  org: OrgRecord,
  destination: OrgRecord | null,
): Omit<BatchState, "lastEventTime"> | null {
  switch (step) {
    case "shipping":
      return destination
        ? { batchId: state.batchId, custodian: state.custodian, inTransitTo: destination.orgId }
        : null;
    case "receiving":
    case "accepting":
      return { batchId: state.batchId, custodian: org.orgId, inTransitTo: null };
    default:
      return { batchId: state.batchId, custodian: state.custodian, inTransitTo: state.inTransitTo };
  }
}
