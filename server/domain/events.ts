/**
 * The trace event accepted by `POST /api/v1/events`: a strict subset of GS1 EPCIS 2.0 ObjectEvent
 * and TransformationEvent with CBV 2.0 vocabulary (DESIGN §3). The schema is strict — unknown
 * fields are refused, nothing is added or rewritten — because the event's hash is taken over
 * exactly what the client sent (canonical JSON), so a client can compute the same hash.
 */
import { z } from "zod/v4";

import { hasUnsafeCharacters, UNSAFE_TEXT_MESSAGE } from "./text";

import { parseDigitalLink, type BatchKey } from "./digital-link";
import { isValidUscc } from "./identifiers";

/** CBV 2.0 business steps YuTrace accepts. */
export const BIZ_STEPS = [
  "commissioning",
  "transforming",
  "inspecting",
  "packing",
  "storing",
  "loading",
  "shipping",
  "departing",
  "arriving",
  "receiving",
  "accepting",
  "unloading",
  "sensor_reporting",
  "retail_selling",
  "holding",
  "destroying",
] as const;
export type BizStep = (typeof BIZ_STEPS)[number];

/** CBV 2.0 dispositions YuTrace accepts. */
export const DISPOSITIONS = [
  "active",
  "conformant",
  "non_conformant",
  "in_progress",
  "in_transit",
  "sellable_accessible",
  "sellable_not_accessible",
  "retail_sold",
  "recalled",
  "expired",
  "damaged",
  "destroyed",
  "container_closed",
] as const;

/** Districts and counties of Chongqing (重庆市辖区/县), for bizLocation. */
export const CHONGQING_DISTRICTS = [
  "渝中区", "江北区", "南岸区", "九龙坡区", "沙坪坝区", "大渡口区", "渝北区", "巴南区", "北碚区",
  "万州区", "黔江区", "涪陵区", "长寿区", "江津区", "合川区", "永川区", "南川区", "綦江区", "大足区",
  "璧山区", "铜梁区", "潼南区", "荣昌区", "开州区", "梁平区", "武隆区",
  "城口县", "丰都县", "垫江县", "忠县", "云阳县", "奉节县", "巫山县", "巫溪县", "石柱土家族自治县",
  "秀山土家族苗族自治县", "酉阳土家族苗族自治县", "彭水苗族土家族自治县",
] as const; // prettier-ignore

const MAX_TEXT = 200;
const text = (max = MAX_TEXT) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !hasUnsafeCharacters(s), { message: UNSAFE_TEXT_MESSAGE });

/** ISO 8601 date-time with an explicit offset, e.g. 2026-11-20T08:30:00+08:00. */
const dateTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/, {
    message: "must be an ISO 8601 date-time with offset, e.g. 2026-11-20T08:30:00+08:00",
    abort: true,
  })
  .refine(isRealDateTime, { message: "is not a real date-time" });

/** Whether the calendar date, time of day and offset exist (no 30 February, no hour 24, no +08:60). */
function isRealDateTime(s: string): boolean {
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(s);
  if (offset && (Number(offset[2]) > 14 || Number(offset[3]) > 59)) return false;
  const [y, m, d, hh, mm, ss] = s.split(/[-T:.Z+]/).map(Number) as number[];
  const date = new Date(Date.UTC(y!, m! - 1, d!));
  return (
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === m! - 1 &&
    date.getUTCDate() === d &&
    hh! <= 23 &&
    mm! <= 59 &&
    (Number.isNaN(ss) || ss! <= 59)
  );
}

const timeZoneOffset = z.string().regex(/^[+-](0\d|1[0-4]):[0-5]\d$/, { message: "must look like +08:00" });

/** A batch named by its GS1 Digital Link URI (EPCIS 2.0 `epcClass`). */
const epcClass = z
  .string()
  .max(400, { abort: true })
  .refine((s) => parseDigitalLink(s) !== null && !parseDigitalLink(s)!.serial, {
    message: "must be a GS1 Digital Link URI of a batch: https://{host}/01/{GTIN-14}/10/{lot}",
  });

/** UNECE Rec. 20 unit codes commonly used for consumer goods. */
export const UNITS = [
  "KGM",
  "GRM",
  "TNE",
  "LTR",
  "MLT",
  "H87",
  "XBX",
  "XCT",
  "XBO",
  "XPA",
  "PR",
  "MTR",
  "MTK",
] as const;

const quantityElement = z.object({ epcClass, quantity: z.number().positive().max(1e12), uom: z.enum(UNITS) }).strict();

const partyType = z.enum(["owning_party", "possessing_party", "location"]);
/** An organisation, by its 统一社会信用代码 (主体码). */
const organisationCode = z.string().refine(isValidUscc, { message: "must be a valid 统一社会信用代码" });
const sourceParty = z.object({ type: partyType, source: organisationCode }).strict();
const destinationParty = z.object({ type: partyType, destination: organisationCode }).strict();

const location = z
  .object({
    /** GLN as `urn:epc:id:sgln:…` or 13 digits. */
    id: z
      .string()
      .regex(/^(urn:epc:id:sgln:[0-9.]{13,}(\.[0-9A-Za-z]*)?|\d{13})$/, { message: "must be an SGLN URN or a GLN" })
      .optional(),
    district: z.enum(CHONGQING_DISTRICTS).optional(),
    name: text().optional(),
  })
  .strict()
  .refine((l) => l.id !== undefined || l.district !== undefined || l.name !== undefined, {
    message: "needs an id, a district or a name",
    // zod 4 runs an object's refinements after a member failed, without that member: not then.
    when: (payload) => payload.issues.length === 0,
  });

const sensorReport = z
  .object({
    type: z.enum(["Temperature", "RelativeHumidity", "Illuminance", "AbsoluteHumidity"]),
    value: z.number().finite(),
    uom: z.enum(["CEL", "FAH", "A93", "LUX", "P1"]),
    time: dateTime.optional(),
  })
  .strict();

const sensorElement = z
  .object({
    sensorMetadata: z.object({ time: dateTime.optional(), deviceID: text().optional() }).strict().optional(),
    sensorReport: z.array(sensorReport).min(1).max(100),
  })
  .strict();

const certification = z
  .object({
    /** SHA-256 of the certificate document (hex). */
    documentHash: z.string().regex(/^(0x)?[0-9a-f]{64}$/, { message: "must be a SHA-256 hex digest" }),
    issuer: text(),
    standard: text(),
    result: z.enum(["conformant", "non_conformant"]).optional(),
    certificateNumber: text(100).optional(),
  })
  .strict();

/** CBV 2.0 error reasons. */
export const ERROR_REASONS = ["incorrect_data", "did_not_occur"] as const;

/** A 0x-prefixed keccak256 event id, as the API returns it. */
const eventId = z
  .string()
  .regex(/^0x[0-9a-f]{64}$/, { message: "must be an event id: 0x and 64 lower-case hex digits" });

/**
 * EPCIS `errorDeclaration`: the event it is in repeats an earlier event exactly and declares that
 * event in error (DESIGN §3: corrections are new events, never edits). `correctiveEventIDs` name the
 * events that replace it, recorded before or in the same submission.
 */
const errorDeclaration = z
  .object({
    declarationTime: dateTime,
    reason: z.enum(ERROR_REASONS),
    correctiveEventIDs: z.array(eventId).min(1).max(10).optional(),
    /** Why, in words, shown next to the corrected event. */
    explanation: text(500).optional(),
  })
  .strict();

const common = {
  eventTime: dateTime,
  eventTimeZoneOffset: timeZoneOffset,
  bizStep: z.enum(BIZ_STEPS),
  disposition: z.enum(DISPOSITIONS).optional(),
  readPoint: location.optional(),
  bizLocation: location.optional(),
  sourceList: z.array(sourceParty).max(10).optional(),
  destinationList: z.array(destinationParty).max(10).optional(),
  sensorElementList: z.array(sensorElement).max(100).optional(),
  certificationInfo: certification.optional(),
  /** Free text shown to consumers, e.g. "冷链运输 0–4 °C". */
  comment: text(500).optional(),
  errorDeclaration: errorDeclaration.optional(),
};

export const objectEventSchema = z
  .object({
    type: z.literal("ObjectEvent"),
    action: z.enum(["ADD", "OBSERVE", "DELETE"]),
    quantityList: z.array(quantityElement).min(1).max(100),
    ...common,
  })
  .strict();

export const transformationEventSchema = z
  .object({
    type: z.literal("TransformationEvent"),
    inputQuantityList: z.array(quantityElement).min(1).max(32),
    outputQuantityList: z.array(quantityElement).min(1).max(32),
    ...common,
  })
  .strict();

export const traceEventSchema = z.discriminatedUnion("type", [objectEventSchema, transformationEventSchema], {
  message: 'type must be "ObjectEvent" or "TransformationEvent"',
});

export type ObjectEvent = z.infer<typeof objectEventSchema>;
export type TransformationEvent = z.infer<typeof transformationEventSchema>;
export type TraceEvent = z.infer<typeof traceEventSchema>;

export type ErrorDeclaration = z.infer<typeof errorDeclaration>;

/** The event an error declaration repeats: `event` without its `errorDeclaration`. */
export function declaredEvent(event: TraceEvent): TraceEvent | null {
  if (!event.errorDeclaration) return null;
  const { errorDeclaration: _declaration, ...original } = event;
  return original as TraceEvent;
}

/** The fields of an event that declares no error which the ingest rules read (rules.ts, ingest.ts). */
export const RULE_FIELDS = [
  "type",
  "bizStep",
  "disposition",
  "eventTime",
  "quantityList",
  "inputQuantityList",
  "outputQuantityList",
  "destinationList",
  "certificationInfo",
] as const;

type RuleField = (typeof RULE_FIELDS)[number];

/**
 * What the rules see of an event that declares no error: its `RULE_FIELDS` alone. A worker sends
 * these instead of whole events (a sensor reading's is about 40 % of it), so the main thread parses
 * less; `checkEvent` and ingest take them, and the type keeps them from reading any other field.
 */
export type RuleEvent =
  | (Pick<ObjectEvent, Extract<RuleField, keyof ObjectEvent>> & { errorDeclaration?: undefined })
  | (Pick<TransformationEvent, Extract<RuleField, keyof TransformationEvent>> & { errorDeclaration?: undefined });

/**
 * `event`'s rule view (`RuleEvent`). An error declaration has none: its check compares it whole
 * with the event it repeats.
 */
export function ruleView(event: TraceEvent): RuleEvent {
  if (event.errorDeclaration) throw new TypeError("an error declaration is checked whole: it has no rule view");
  const view: Record<string, unknown> = {};
  for (const field of RULE_FIELDS) {
    const value = (event as Record<string, unknown>)[field];
    if (value !== undefined) view[field] = value;
  }
  return view as RuleEvent;
}

/** Most events in one submission. */
export const MAX_EVENTS_PER_SUBMISSION = 1000;

/** The batches an event is about, in order, without repeats: inputs first for a transformation. */
export function batchesOf(event: TraceEvent | RuleEvent): { inputs: BatchKey[]; outputs: BatchKey[]; all: BatchKey[] } {
  const unique = (list: BatchKey[]): BatchKey[] => {
    const seen = new Set<string>();
    return list.filter((k) => {
      const id = `${k.gtin}/${k.lot}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  };
  const keysOf = (list: { epcClass: string }[]) => unique(list.map((q) => parseDigitalLink(q.epcClass)!));
  const inputs = event.type === "TransformationEvent" ? keysOf(event.inputQuantityList) : [];
  const outputs = event.type === "TransformationEvent" ? keysOf(event.outputQuantityList) : keysOf(event.quantityList);
  return { inputs, outputs, all: unique([...inputs, ...outputs]) };
}
