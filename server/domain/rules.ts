/**
 * Who may record which business step, and the batch state rules (DESIGN §3), in one table.
 * `checkEvent` applies them to one event against the current state and returns either the
 * problems or the custody changes the event makes; the caller applies events of a submission in
 * order, so later events see the changes of earlier ones.
 */
import type { BatchRecord, BatchState, OrgRecord, RoleName } from "../store/records";
import { batchesOf, declaredEvent, type BizStep, type RuleEvent, type TraceEvent } from "./events";
import { batchIdOfKey } from "./batch-id";
import { eventHash } from "./canonical";

/** Who must be holding the batch for the step. */
type Custody =
  | "own-output" // the acting organisation produced the batch (commissioning, transforming outputs)
  | "custodian" // the acting organisation holds the batch
  | "destination" // the batch is in transit to the acting organisation
  | "custodian-or-carrier" // holds it, or it is in transit to it
  | "examiner" // a lab or regulator: any batch; a producer: only its own (as the ledger's holdBatch rule)
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
  inspecting: { roles: ["inspector", "producer", "regulator"], custody: "examiner", whileBlocked: true },
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
  holding: { roles: ["regulator", "inspector", "producer"], custody: "examiner", whileBlocked: true },
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
  org(orgId: string): Promise<OrgRecord | null>;
  /** A recorded event: who recorded it, and its body. */
  event(eventId: string): Promise<{ orgId: string; body: TraceEvent; recordTime: string } | null>;
  /** The event that declared `eventId` in error, if one did. */
  declaredBy(eventId: string): Promise<string | null>;
  /** The recorded events of a batch, in the order they were accepted. */
  batchEvents(batchId: string): Promise<{ eventId: string; orgId: string; body: TraceEvent }[]>;
}

/** The events of the submission being checked, for rules that look across it. */
export interface SubmissionContext {
  /** Every event of the submission with its id, in order. */
  events: { eventId: string; body: TraceEvent }[];
  /** The position of the event being checked. */
  index: number;
}

export interface CheckedEvent {
  batchIds: string[];
  /** New custody states to apply if the whole submission is accepted. */
  stateChanges: BatchState[];
}

/**
 * Checks `event` recorded by `org` at `now`; returns problems, or the custody changes it makes.
 * An event that declares no error may come as its rule view (`RuleEvent`).
 */
export async function checkEvent(
  event: TraceEvent | RuleEvent,
  org: OrgRecord,
  now: Date,
  lookups: RuleLookups,
  context?: SubmissionContext,
): Promise<{ problems: EventProblem[] } | CheckedEvent> {
  if (event.errorDeclaration) {
    return checkDeclaration(event, org, now, lookups, context ?? { events: [], index: 0 });
  }
  const problems: EventProblem[] = [];
  const rule = STEP_RULES[event.bizStep];
  if (!rule.roles.some((role) => org.roles.includes(role))) {
    problems.push({
      code: "role_not_allowed",
      message: `${event.bizStep} may be recorded by ${rule.roles.join(", ")}; this organisation is ${org.roles.join(", ")}`,
      path: "bizStep",
    });
  }
  const result = event.certificationInfo?.result;
  const verdict =
    event.disposition === "conformant" || event.disposition === "non_conformant" ? event.disposition : null;
  if (result && verdict && result !== verdict) {
    problems.push({
      code: "inconsistent_result",
      message: `disposition ${verdict} contradicts certificationInfo.result ${result}`,
      path: "disposition",
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
    case "examiner":
      return org.roles.includes("inspector") || batch.producer === org.orgId
        ? null
        : { code: "not_producer", message: "a producer inspects or holds only its own batches" };
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
  event: TraceEvent | RuleEvent,
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

/**
 * An error declaration repeats an event `org` recorded earlier and adds `errorDeclaration`. It is
 * not a new happening, so the step rules do not apply; instead: the original exists, is the
 * organisation's own, is not declared in error already, and the corrective events exist. The
 * batches' custody is worked out again from their history without the declared event.
 */
async function checkDeclaration(
  event: TraceEvent,
  org: OrgRecord,
  now: Date,
  lookups: RuleLookups,
  context: SubmissionContext,
): Promise<{ problems: EventProblem[] } | CheckedEvent> {
  const problems: EventProblem[] = [];
  const declaration = event.errorDeclaration!;
  const originalId = originalEventId(event);
  const original = await lookups.event(originalId);
  const earlier = context.events.slice(0, context.index);
  if (!original) {
    problems.push({
      code: "unknown_original_event",
      message:
        `no recorded event ${originalId}: an errorDeclaration repeats the original event exactly ` +
        "(every field as first sent) and adds errorDeclaration",
      path: "errorDeclaration",
    });
    return { problems };
  }
  if (original.orgId !== org.orgId) {
    problems.push({
      code: "not_own_event",
      message: `event ${originalId} was recorded by another organisation; only its recorder may declare it in error`,
      path: "errorDeclaration",
    });
  }
  const declaredBefore =
    (await lookups.declaredBy(originalId)) ??
    earlier.find((e) => e.body.errorDeclaration && originalEventId(e.body) === originalId)?.eventId ??
    null;
  if (declaredBefore) {
    problems.push({
      code: "already_declared",
      message: `event ${originalId} was declared in error already, by event ${declaredBefore}`,
      path: "errorDeclaration",
    });
  }
  const declaredAt = Date.parse(declaration.declarationTime);
  if (declaredAt > now.getTime() + MAX_CLOCK_SKEW_MS) {
    problems.push({
      code: "event_in_future",
      message: "errorDeclaration.declarationTime is in the future",
      path: "errorDeclaration.declarationTime",
    });
  }
  const inSubmission = new Set(context.events.map((e) => e.eventId));
  for (const [i, corrective] of (declaration.correctiveEventIDs ?? []).entries()) {
    if (corrective === originalId) {
      problems.push({
        code: "invalid_corrective_event",
        message: "an event cannot correct itself",
        path: `errorDeclaration.correctiveEventIDs.${i}`,
      });
    } else if (!inSubmission.has(corrective) && !(await lookups.event(corrective))) {
      problems.push({
        code: "unknown_corrective_event",
        message: `corrective event ${corrective} is neither recorded nor in this submission`,
        path: `errorDeclaration.correctiveEventIDs.${i}`,
      });
    }
  }
  if (problems.length > 0) return { problems };

  const batchIds = batchesOf(event).all.map(batchIdOfKey);
  const stateChanges: BatchState[] = [];
  for (const batchId of batchIds) {
    const history = [
      ...(await lookups.batchEvents(batchId)),
      ...earlier.map((e) => ({ ...e, orgId: org.orgId })).filter((e) => touches(e.body, batchId)),
    ];
    const declared = new Set<string>([originalId]);
    for (const entry of history) {
      if (entry.body.errorDeclaration) declared.add(originalEventId(entry.body));
    }
    for (const entry of history) if (await lookups.declaredBy(entry.eventId)) declared.add(entry.eventId);
    stateChanges.push(await replayCustody(batchId, history, declared, lookups));
  }
  return { batchIds, stateChanges };
}

/** The id of the event an error declaration repeats. */
export function originalEventId(event: TraceEvent): string {
  return eventHash(declaredEvent(event) ?? event);
}

function touches(event: TraceEvent, batchId: string): boolean {
  return batchesOf(event).all.some((key) => batchIdOfKey(key) === batchId);
}

/** The custody of `batchId` after `history`, leaving out the events in `declared` and declarations. */
async function replayCustody(
  batchId: string,
  history: { eventId: string; orgId: string; body: TraceEvent }[],
  declared: Set<string>,
  lookups: RuleLookups,
): Promise<BatchState> {
  const batch = await lookups.batch(batchId);
  let state: BatchState = { batchId, custodian: batch?.producer ?? "", inTransitTo: null, lastEventTime: null };
  for (const entry of history) {
    if (declared.has(entry.eventId) || entry.body.errorDeclaration) continue;
    const org = await lookups.org(entry.orgId);
    if (!org) continue;
    const isInput =
      entry.body.type === "TransformationEvent" &&
      batchesOf(entry.body).inputs.some((key) => batchIdOfKey(key) === batchId);
    if (isInput) continue;
    const destination = await shipmentDestination(entry.body, lookups);
    // Without the declared shipment, a receipt of it no longer receives anything.
    const receipt = entry.body.bizStep === "receiving" || entry.body.bizStep === "accepting";
    if (receipt && state.inTransitTo !== org.orgId) continue;
    const change = custodyChange(entry.body.bizStep, state, org, destination);
    if (change) state = { ...change, lastEventTime: entry.body.eventTime };
  }
  return state;
}

/** The organisation a recorded shipment went to (no checks: it was accepted). */
async function shipmentDestination(event: TraceEvent, lookups: RuleLookups): Promise<OrgRecord | null> {
  if (event.bizStep !== "shipping") return null;
  const list = event.destinationList ?? [];
  const chosen = list.find((d) => d.type === "possessing_party") ?? list.find((d) => d.type === "owning_party");
  return chosen ? lookups.orgByUscc(chosen.destination) : null;
}
