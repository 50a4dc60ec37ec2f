/**
 * The component schemas of the OpenAPI document: request bodies mirroring schemas.ts and
 * domain/events.ts, the records the API answers with, and the error body. Enum lists come from
 * the code (and, where the code keeps them only inside a zod schema, from that schema), so the
 * document cannot drift from what the gateway accepts.
 */
import {
  BIZ_STEPS,
  CHONGQING_DISTRICTS,
  DISPOSITIONS,
  MAX_EVENTS_PER_SUBMISSION,
  UNITS,
  objectEventSchema,
} from "../domain/events";
import { PARTICIPANT_ROLES, type BatchStatusName } from "../store/records";
import { CATEGORIES } from "./schemas";
import { MAX_SERIALS_PER_REQUEST } from "../services/serials";

export type Schema = Record<string, unknown>;

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
export const nullable = (schema: Schema): Schema => ({ anyOf: [schema, { type: "null" }] });
export const object = (properties: Record<string, Schema>, required: string[], extra: Schema = {}): Schema => ({
  type: "object",
  properties,
  required,
  ...extra,
});
/** Request objects are strict: an unknown field is refused (a typo never silently drops data). */
const strictObject = (properties: Record<string, Schema>, required: string[], extra: Schema = {}): Schema =>
  object(properties, required, { additionalProperties: false, ...extra });
export const array = (items: Schema, extra: Schema = {}): Schema => ({ type: "array", items, ...extra });
export const withDescription = (schema: Schema, description: string): Schema => ({ ...schema, description });

/** Every member of a string union, listed once; the compiler refuses a missing or unknown one. */
export const membersOf = <T extends string>(all: Record<T, true>): T[] => Object.keys(all) as T[];
const BATCH_STATUSES = membersOf<BatchStatusName>({ active: true, held: true, recalled: true });

// Enums the code keeps only inside the event schema.
const common = objectEventSchema.shape;
const ACTIONS = common.action.options;
const PARTY_TYPES = common.sourceList.unwrap().element.shape.type.options;
const sensorReportShape = common.sensorElementList.unwrap().element.shape.sensorReport.element.shape;
const SENSOR_TYPES = sensorReportShape.type.options;
const SENSOR_UNITS = sensorReportShape.uom.options;
const ERROR_REASONS = common.errorDeclaration.unwrap().shape.reason.options;
const CERTIFICATION_RESULTS = common.certificationInfo.unwrap().shape.result.unwrap().options;

/** Text as schemas.ts and events.ts accept it: no control, zero-width or bidi-override characters. */
const SAFE_TEXT = "^[^\\u0000-\\u001f\\u007f\\u200b-\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufeff]+$";
export const text = (maxLength: number, description?: string): Schema => ({
  type: "string",
  minLength: 1,
  maxLength,
  pattern: SAFE_TEXT,
  ...(description ? { description } : {}),
});
const HEX32 = "^0x[0-9a-f]{64}$";
export const hex32 = (description: string): Schema => ({ type: "string", pattern: HEX32, description });

/** Identifiers and vocabularies. */
const identifiers: Record<string, Schema> = {
  Gtin: {
    type: "string",
    pattern: "^\\d{14}$",
    description: "GTIN-14 (全球贸易项目代码) with a valid GS1 mod-10 check digit.",
    examples: ["06903885010017"],
  },
  Lot: {
    type: "string",
    minLength: 1,
    maxLength: 20,
    pattern: '^[!"%-?A-Z_a-z]+$',
    not: { enum: [".", ".."] },
    description: "Batch/lot number (批号), GS1 AI 10: 1–20 characters of the GS1 AI 82 set.",
    examples: ["DZ20261120-01"],
  },
  Uscc: {
    type: "string",
    pattern: "^[0-9A-HJ-NP-RTUW-Y]{18}$",
    description: "统一社会信用代码 (unified social credit code, GB 32100-2015) with a valid check character.",
    examples: ["91500113203151718G"],
  },
  Hex32: { type: "string", pattern: HEX32, description: "32 bytes as 0x and 64 lower-case hex digits." },
  OrgId: hex32("Organisation id: keccak256 of its UTF-8 统一社会信用代码 (主体码, GB/T 38155)."),
  BatchId: hex32("Batch (追溯单元) id: keccak256(abi.encode(uint64 gtin, string lot)), as the contract computes it."),
  EventId: hex32("Event id: SHA-256 of the RFC 8785 (JCS) canonical JSON of the event exactly as it was sent."),
  SubmissionId: hex32("Submission id: the EIP-712 digest of Submission{org, root, count, nonce}."),
  Address: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$", description: "An EVM account address." },
  Date: { type: "string", format: "date", pattern: "^\\d{4}-\\d{2}-\\d{2}$", examples: ["2026-11-20"] },
  EventDateTime: {
    type: "string",
    pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$",
    description: "ISO 8601 date-time with an explicit offset; a real calendar date and time.",
    examples: ["2026-11-20T08:30:00+08:00"],
  },
  District: {
    type: "string",
    enum: [...CHONGQING_DISTRICTS],
    description: "A district or county of Chongqing (重庆市辖区/县).",
  },
  Role: {
    type: "string",
    enum: [...PARTICIPANT_ROLES],
    description:
      "Participant role: regulator (监管部门, 市场监管局), producer (生产企业), inspector (检验检测机构), " +
      "logistics (物流企业), retailer (零售商).",
  },
  Category: {
    type: "string",
    enum: [...CATEGORIES],
    description: "Product category: the industries of Chongqing's consumer-goods plan (渝府办发〔2020〕49号).",
  },
  Unit: { type: "string", enum: [...UNITS], description: "UNECE Recommendation 20 unit code." },
  BizStep: { type: "string", enum: [...BIZ_STEPS], description: "GS1 CBV 2.0 business step (业务步骤)." },
  Disposition: { type: "string", enum: [...DISPOSITIONS], description: "GS1 CBV 2.0 disposition (状态)." },
  BatchStatus: { type: "string", enum: BATCH_STATUSES, description: "On-chain status of a batch." },
};

/** Request bodies of the registry routes (schemas.ts). */
const requests: Record<string, Schema> = {
  NewOrganisation: strictObject(
    {
      name: text(100, "Registered name (企业名称)."),
      uscc: ref("Uscc"),
      district: ref("District"),
      roles: array(ref("Role"), { minItems: 1, maxItems: 5 }),
      account: withDescription(
        ref("Address"),
        "Self-custody: the organisation's own signing account. Without it the gateway creates and keeps an " +
          "encrypted key for the organisation (custodial, the default).",
      ),
    },
    ["name", "uscc", "district", "roles"],
  ),
  Reason: strictObject({ reason: text(500, "Why; its keccak256 goes on-chain with the change.") }, ["reason"]),
  SerialRequest: strictObject(
    {
      count: {
        type: "integer",
        minimum: 1,
        maximum: MAX_SERIALS_PER_REQUEST,
        description: "How many item serials (一物一码) to make.",
      },
    },
    ["count"],
  ),
  Authorization: strictObject(
    {
      nonce: { type: "integer", minimum: 0, description: "The ledger nonce of the account (`GET /api/v1/me`)." },
      deadline: { type: "integer", minimum: 0, description: "Unix seconds after which the signature is void." },
      signature: { type: "string", pattern: "^0x[0-9a-fA-F]{130}$" },
    },
    ["nonce", "deadline", "signature"],
    {
      description:
        "Self-custody only: the organisation's EIP-712 signature of the ledger request (`RegisterProduct`, " +
        "`RegisterBatch`; domain from `GET /api/v1/ledger`, types in contracts/libraries/LedgerTypes.sol). " +
        "`metadataHash` is keccak256 of the RFC 8785 canonical JSON of the request body without `authorization` " +
        "and `inputs`, as the gateway reads it (text trimmed); a batch's `parents` are its inputs' batch ids " +
        "(keccak256(abi.encode(gtin, lot))). `nonce` is `ledgerNonce` of `GET /api/v1/me`; `deadline` must be at " +
        "least a minute ahead. The gateway checks signer, deadline and nonce, then relays it.",
    },
  ),
  NewProduct: strictObject(
    {
      gtin: ref("Gtin"),
      name: strictObject({ zh: text(100), en: text(100) }, ["zh"]),
      category: ref("Category"),
      standard: text(100, "执行标准: the standard the product is made to (GB, GB/T, 团体标准 or 企业标准 code)."),
      brand: text(100),
      authorization: ref("Authorization"),
    },
    ["gtin", "name", "category", "standard"],
  ),
  NewBatch: strictObject(
    {
      gtin: ref("Gtin"),
      lot: ref("Lot"),
      quantity: strictObject({ value: { type: "number", exclusiveMinimum: 0, maximum: 1e12 }, unit: ref("Unit") }, [
        "value",
        "unit",
      ]),
      productionDate: withDescription(ref("Date"), "生产日期."),
      expiryDate: withDescription(ref("Date"), "保质期至; not before productionDate."),
      facility: text(200, "Production site or line."),
      district: ref("District"),
      inputs: array(strictObject({ gtin: ref("Gtin"), lot: ref("Lot") }, ["gtin", "lot"]), {
        maxItems: 32,
        default: [],
        description:
          "The registered batches this batch was made from (its parents), e.g. a hotpot base's chili and tallow lots.",
      }),
      authorization: ref("Authorization"),
    },
    ["gtin", "lot", "quantity", "productionDate"],
    { description: "A batch (追溯单元) to register on-chain; the caller must own the product." },
  ),
};

/** The EPCIS 2.0 / CBV 2.0 event of domain/events.ts. */
const location = strictObject(
  {
    id: {
      type: "string",
      pattern: "^(urn:epc:id:sgln:[0-9.]{13,}(\\.[0-9A-Za-z]*)?|\\d{13})$",
      description: "GLN as an SGLN URN or 13 digits.",
    },
    district: ref("District"),
    name: text(200),
  },
  [],
  { minProperties: 1, description: "A place: needs an id, a district or a name." },
);
const commonEventFields: Record<string, Schema> = {
  eventTime: ref("EventDateTime"),
  eventTimeZoneOffset: { type: "string", pattern: "^[+-](0\\d|1[0-4]):[0-5]\\d$", examples: ["+08:00"] },
  bizStep: ref("BizStep"),
  disposition: ref("Disposition"),
  readPoint: ref("Location"),
  bizLocation: ref("Location"),
  sourceList: array(ref("SourceParty"), { maxItems: 10 }),
  destinationList: array(ref("DestinationParty"), {
    maxItems: 10,
    description: "A shipment names where it goes: its possessing_party (else owning_party) must be able to receive.",
  }),
  sensorElementList: array(ref("SensorElement"), { maxItems: 100 }),
  certificationInfo: ref("CertificationInfo"),
  comment: text(500, "Free text shown to consumers, e.g. 冷链运输 0–4 °C."),
  errorDeclaration: ref("ErrorDeclaration"),
};
const commonRequired = ["type", "eventTime", "eventTimeZoneOffset", "bizStep"];
const party = (field: "source" | "destination"): Schema =>
  strictObject(
    {
      type: { type: "string", enum: [...PARTY_TYPES] },
      [field]: withDescription(ref("Uscc"), "The organisation, by its 统一社会信用代码 (主体码)."),
    },
    ["type", field],
  );

const events: Record<string, Schema> = {
  QuantityElement: strictObject(
    {
      epcClass: {
        type: "string",
        format: "uri",
        maxLength: 400,
        description: "The batch as a GS1 Digital Link URI: https://{host}/01/{GTIN-14}/10/{lot} (any host).",
      },
      quantity: { type: "number", exclusiveMinimum: 0, maximum: 1e12 },
      uom: ref("Unit"),
    },
    ["epcClass", "quantity", "uom"],
  ),
  Location: location,
  SourceParty: party("source"),
  DestinationParty: party("destination"),
  SensorReport: strictObject(
    {
      type: { type: "string", enum: [...SENSOR_TYPES] },
      value: { type: "number" },
      uom: { type: "string", enum: [...SENSOR_UNITS], description: "CEL °C, FAH °F, A93 g/m³, LUX lux, P1 %." },
      time: ref("EventDateTime"),
    },
    ["type", "value", "uom"],
  ),
  SensorElement: strictObject(
    {
      sensorMetadata: strictObject({ time: ref("EventDateTime"), deviceID: text(200) }, []),
      sensorReport: array(ref("SensorReport"), { minItems: 1, maxItems: 100 }),
    },
    ["sensorReport"],
  ),
  CertificationInfo: strictObject(
    {
      documentHash: {
        type: "string",
        pattern: "^(0x)?[0-9a-f]{64}$",
        description: "SHA-256 of the certificate document.",
      },
      issuer: text(200, "Who issued it, e.g. an accredited lab (检验检测机构)."),
      standard: text(200, "The standard tested against (执行标准 or a GB food-safety standard)."),
      result: { type: "string", enum: [...CERTIFICATION_RESULTS] },
      certificateNumber: text(100, "检验报告编号."),
    },
    ["documentHash", "issuer", "standard"],
  ),
  ErrorDeclaration: strictObject(
    {
      declarationTime: ref("EventDateTime"),
      reason: { type: "string", enum: [...ERROR_REASONS] },
      correctiveEventIDs: array(hex32("An event id."), {
        minItems: 1,
        maxItems: 10,
        description: "The events that replace the erroneous one, recorded before or in the same submission.",
      }),
      explanation: text(500, "Why, in words; shown next to the corrected event."),
    },
    ["declarationTime", "reason"],
    {
      description:
        "EPCIS errorDeclaration. The event carrying it repeats an event the organisation recorded earlier, every " +
        "field exactly as first sent, and declares that event in error; the original stays in the history, marked.",
    },
  ),
  ObjectEvent: strictObject(
    {
      type: { const: "ObjectEvent" },
      action: { type: "string", enum: [...ACTIONS] },
      quantityList: array(ref("QuantityElement"), { minItems: 1, maxItems: 100 }),
      ...commonEventFields,
    },
    [...commonRequired, "action", "quantityList"],
    { description: "EPCIS 2.0 ObjectEvent: something happened to one or more batches (inspection, shipment, sale…)." },
  ),
  TransformationEvent: strictObject(
    {
      type: { const: "TransformationEvent" },
      inputQuantityList: array(ref("QuantityElement"), { minItems: 1, maxItems: 32 }),
      outputQuantityList: array(ref("QuantityElement"), { minItems: 1, maxItems: 32 }),
      ...commonEventFields,
    },
    [...commonRequired, "inputQuantityList", "outputQuantityList"],
    { description: "EPCIS 2.0 TransformationEvent: input batches were made into output batches (生产加工)." },
  ),
  TraceEvent: {
    oneOf: [ref("ObjectEvent"), ref("TransformationEvent")],
    discriminator: {
      propertyName: "type",
      mapping: {
        ObjectEvent: "#/components/schemas/ObjectEvent",
        TransformationEvent: "#/components/schemas/TransformationEvent",
      },
    },
    description:
      "A trace event. Its id is the SHA-256 of its RFC 8785 canonical JSON, exactly as sent: nothing is added or " +
      "rewritten, so a client computes the same id.",
  },
  EventSubmission: strictObject(
    {
      events: array(ref("TraceEvent"), { minItems: 1, maxItems: MAX_EVENTS_PER_SUBMISSION }),
      signature: {
        type: "string",
        pattern: "^0x[0-9a-fA-F]{130}$",
        description: "Self-custody only: the organisation's EIP-712 signature of Submission{org, root, count, nonce}.",
      },
      nonce: {
        type: "integer",
        minimum: 0,
        description: "Self-custody only: the organisation's next submission nonce.",
      },
    },
    ["events"],
    { description: "A submission: 1–1000 events of one organisation, accepted or rejected as a whole." },
  ),
};

/** Identifiers, vocabularies, request bodies and the trace event. */
export const requestSchemas: Record<string, Schema> = { ...identifiers, ...requests, ...events };
