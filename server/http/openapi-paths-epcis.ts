/**
 * The EPCIS 2.0 interfaces (routes/epcis.ts) as OpenAPI path items under the EPCIS tag: capture,
 * query and a batch's export. EPCIS documents are JSON-LD (application/ld+json); their schemas are
 * given inline here, in outline — the full definition is GS1's EPCIS 2.0 JSON schema, which every
 * export validates against (test/domain/epcis.test.ts).
 */
import { eventHash } from "../domain/canonical";
import { epcisDocument, epcisQueryDocument, type StoredEvent } from "../domain/epcis";
import { BIZ_STEPS, MAX_EVENTS_PER_SUBMISSION } from "../domain/events";
import { MAX_PAGE } from "../services/queries";
import type { OpenApiExamples } from "./openapi-examples";
import { operation, type Method, type OperationSpec } from "./openapi-operations";
import { array, ref, type Schema } from "./openapi-schemas";
import { MAX_EXPORT, MAX_QUERY_BATCHES } from "./routes/epcis";

const LD_JSON = "application/ld+json";
const RECORDED_AT = "2026-11-22T06:00:03.512Z";
const CREATED_AT = "2026-11-22T08:00:00.000Z";

const MAPPING =
  "Our events are EPCIS 2.0 ObjectEvents and TransformationEvents (CBV 2.0), mapped exactly both ways: " +
  "`eventID` `urn:yutrace:event:{event id}` (an error declaration carries the declared event's eventID and " +
  "its own id in `yt:eventHash`); organisations `urn:yutrace:org:{统一社会信用代码}`; a GLN place " +
  "`https://id.gs1.org/414/{gln}`, an SGLN URN as it is, a place without GLN `urn:yutrace:place:{district}:{name}` " +
  "with `yt:district` / `yt:name`; sensor devices `urn:yutrace:device:{id}`; certificates " +
  "`urn:yutrace:certificate:{SHA-256}` with `yt:certificate`; the step `transforming` (not in CBV 2.0) as " +
  "`yt:transforming`; `yt:comment`; values EPCIS cannot write exactly (times without seconds, offsets past " +
  "±14:00, epcClass that is not a URI) in `yt:asRecorded`. The `yt:` prefix is https://yutrace.cn/epcis/.";

const uri: Schema = { type: "string", format: "uri" };
const time: Schema = { type: "string", format: "date-time" };
const quantityList = array(
  {
    type: "object",
    properties: { epcClass: uri, quantity: { type: "number" }, uom: { type: "string" } },
    required: ["epcClass"],
  },
  { minItems: 1 },
);
const epcisEvent: Schema = {
  type: "object",
  description: "An EPCIS 2.0 ObjectEvent or TransformationEvent of batches (quantity lists of epcClass).",
  properties: {
    type: { type: "string", enum: ["ObjectEvent", "TransformationEvent"] },
    eventTime: time,
    eventTimeZoneOffset: { type: "string", pattern: "^[+-]((0\\d|1[0-3]):[0-5]\\d|14:00)$" },
    eventID: uri,
    recordTime: time,
    action: { type: "string", enum: ["ADD", "OBSERVE", "DELETE"] },
    quantityList,
    inputQuantityList: quantityList,
    outputQuantityList: quantityList,
    bizStep: { type: "string", description: "CBV 2.0 short name or URI; yt:transforming." },
    disposition: { type: "string" },
    readPoint: { type: "object", properties: { id: uri }, required: ["id"] },
    bizLocation: { type: "object", properties: { id: uri }, required: ["id"] },
    certificationInfo: uri,
    errorDeclaration: { type: "object", properties: { declarationTime: time }, required: ["declarationTime"] },
  },
  required: ["type", "eventTime", "eventTimeZoneOffset"],
};
const context: Schema = { type: "array", description: "The EPCIS 2.0 JSON-LD context and the yt: prefix." };
const header = {
  "@context": context,
  schemaVersion: { type: "string", pattern: "^2(\\.\\d+)*$" },
  creationDate: time,
};

function epcisDocumentSchema(minItems: number, maxItems?: number): Schema {
  return {
    type: "object",
    description: "An EPCIS 2.0 EPCISDocument (GS1 EPCIS 2.0 JSON schema).",
    properties: {
      ...header,
      type: { const: "EPCISDocument" },
      epcisBody: {
        type: "object",
        properties: { eventList: array(epcisEvent, { minItems, ...(maxItems ? { maxItems } : {}) }) },
        required: ["eventList"],
      },
    },
    required: ["@context", "type", "schemaVersion", "creationDate", "epcisBody"],
  };
}

const queryDocumentSchema: Schema = {
  type: "object",
  description: "An EPCIS 2.0 EPCISQueryDocument (GS1 EPCIS 2.0 JSON schema).",
  properties: {
    ...header,
    type: { const: "EPCISQueryDocument" },
    epcisBody: {
      type: "object",
      properties: {
        queryResults: {
          type: "object",
          properties: {
            queryName: { const: "SimpleEventQuery" },
            resultsBody: {
              type: "object",
              properties: { eventList: array(epcisEvent, { maxItems: MAX_PAGE }) },
              required: ["eventList"],
            },
          },
          required: ["queryName", "resultsBody"],
        },
      },
      required: ["queryResults"],
    },
    "yt:nextCursor": {
      anyOf: [{ type: "string" }, { type: "null" }],
      description: "`cursor` of the next page; null on the last page.",
    },
  },
  required: ["@context", "type", "schemaVersion", "creationDate", "epcisBody", "yt:nextCursor"],
};

/** An operation listed under the EPCIS tag, whose documents are JSON-LD with inline schemas. */
function epcisOperation(
  method: Method,
  spec: Omit<OperationSpec, "tag" | "body" | "ok"> & {
    body?: { schema: Schema; example: unknown };
    ok: { status: number; description: string; schema: Schema | string; example?: unknown; headers?: Schema };
    query?: Schema[];
  },
): Schema {
  const { ok, body, query: queryParameters, ...rest } = spec;
  // operation() adds the error responses; the EPCIS documents and the tag are put in after.
  const op = operation(method, {
    ...rest,
    tag: "Events",
    ...(body ? { body: { schema: "EventSubmission", example: undefined } } : {}),
    ok: { status: ok.status, description: ok.description, schema: typeof ok.schema === "string" ? ok.schema : "Error" },
  });
  const responses = op.responses as Record<string, Schema>;
  const content = (schema: Schema | string, example: unknown) => ({
    schema: typeof schema === "string" ? ref(schema) : schema,
    ...(example === undefined ? {} : { example }),
  });
  responses[String(ok.status)] = {
    description: ok.description,
    ...(ok.headers ? { headers: ok.headers } : {}),
    content:
      typeof ok.schema === "string"
        ? { "application/json": content(ok.schema, ok.example) }
        : { [LD_JSON]: content(ok.schema, ok.example) },
  };
  return {
    ...op,
    tags: ["EPCIS"],
    ...(queryParameters
      ? { parameters: [...((op.parameters as Schema[] | undefined) ?? []), ...queryParameters] }
      : {}),
    ...(body
      ? {
          requestBody: {
            required: true,
            content: { [LD_JSON]: content(body.schema, body.example), "application/json": { schema: body.schema } },
          },
        }
      : {}),
  };
}

const query = (name: string, schema: Schema, description: string, required = false): Schema => ({
  name,
  in: "query",
  required,
  description,
  schema,
});

export function epcisPaths(x: OpenApiExamples): Record<string, Record<string, Schema>> {
  const stored: StoredEvent[] = x.submissionBody.events.map((body) => ({
    eventId: eventHash(body),
    recordTime: RECORDED_AT,
    body,
  }));
  const document = epcisDocument(stored, new Date(CREATED_AT));
  const queryDocument = epcisQueryDocument(stored.slice(1), null, new Date(CREATED_AT));
  const bizSteps = `one or more of ${BIZ_STEPS.join(", ")} (comma-separated; CBV URIs too)`;
  const eventTime: Schema = { type: "string", format: "date-time", examples: ["2026-11-20T00:00:00+08:00"] };
  return {
    "/api/v1/epcis/capture": {
      post: epcisOperation("post", {
        operationId: "captureEpcis",
        summary: "Record events from an EPCIS 2.0 document (EPCIS capture)",
        description:
          "Caller: an organisation with a role the events' bizSteps allow. The body is an EPCIS 2.0 `EPCISDocument` " +
          `(application/ld+json or application/json) of 1–${MAX_EVENTS_PER_SUBMISSION} ObjectEvents and ` +
          "TransformationEvents naming batches in quantity lists (`epcClass`: a GS1 Digital Link or LGTIN URN). " +
          "Each becomes one YuTrace event and the whole document is recorded exactly like `POST /api/v1/events` " +
          "(same rules, same 202, same `Idempotency-Key`; custodial signing). What YuTrace cannot keep — epcList, " +
          "aggregation, bizTransactionList, ilmd, unknown extension fields — is refused with 422 " +
          "`events_rejected`, each problem naming the event's index and the JSON path " +
          "(`epcisBody.eventList.{index}.…`); nothing is stored then. An `eventID` of the form " +
          "`urn:yutrace:event:…` must match the event's content; other eventIDs are replaced by the YuTrace id " +
          "(listed in the answer by index). " +
          MAPPING,
        parameters: ["IdempotencyKey"],
        body: { schema: epcisDocumentSchema(1, MAX_EVENTS_PER_SUBMISSION), example: document },
        ok: {
          status: 202,
          description: "Accepted and journaled; anchoring is pending. The same answer as POST /api/v1/events.",
          schema: "SubmissionAccepted",
          example: x.accepted,
          headers: {
            Location: { $ref: "#/components/headers/Location" },
            "Idempotent-Replayed": { $ref: "#/components/headers/Idempotent-Replayed" },
          },
        },
        errors: ["invalid_request", "invalid_idempotency_key", "too_many_events", "too_deeply_nested"].concat(
          ["signature_required", "organisation_required", "role_not_allowed"],
          ["duplicate_event", "idempotency_key_reused", "events_rejected", "store_unavailable"],
        ),
      }),
    },
    "/api/v1/epcis/events": {
      get: epcisOperation("get", {
        operationId: "queryEpcisEvents",
        summary: "Query events of a GTIN as EPCIS 2.0",
        description:
          "Caller: any key. The events of every batch of a GTIN (or of one lot), each once, in the order they " +
          "were accepted, as an EPCIS 2.0 `EPCISQueryDocument` (SimpleEventQuery). Filters: event time in " +
          "[from, to), business steps. EPCIS 2.0 parameter names are accepted too: `GE_eventTime`, `LT_eventTime`, " +
          `\`EQ_bizStep\`, \`perPage\`, \`nextPageToken\`. A page reads at most a few thousand events; follow ` +
          "`yt:nextCursor` (or the `Link: rel=next` header) until it is null — a page may hold fewer events than " +
          `\`limit\` and still have a next one. Without a lot, a GTIN may have at most ${MAX_QUERY_BATCHES} batches.`,
        query: [
          query("gtin", ref("Gtin"), "GTIN-14 of the product.", true),
          query("lot", ref("Lot"), "One batch/lot (批号) of it; all its batches without."),
          query("from", eventTime, "Events at or after this time (GE_eventTime). Encode + as %2B."),
          query("to", eventTime, "Events before this time (LT_eventTime)."),
          query("bizStep", { type: "string", maxLength: 1000 }, `Business steps (EQ_bizStep): ${bizSteps}.`),
          query("limit", { type: "integer", minimum: 1, maximum: MAX_PAGE, default: 50 }, "Page size (perPage)."),
          query("cursor", { type: "string", maxLength: 400 }, "`yt:nextCursor` of the previous page (nextPageToken)."),
          query("GE_eventTime", eventTime, "EPCIS name of `from`."),
          query("LT_eventTime", eventTime, "EPCIS name of `to`."),
          query("EQ_bizStep", { type: "string", maxLength: 1000 }, "EPCIS name of `bizStep`."),
          query("perPage", { type: "integer", minimum: 1, maximum: MAX_PAGE }, "EPCIS name of `limit`."),
          query("nextPageToken", { type: "string", maxLength: 400 }, "EPCIS name of `cursor`."),
        ],
        ok: {
          status: 200,
          description: "One page of events.",
          schema: queryDocumentSchema,
          example: queryDocument,
          headers: {
            Link: { description: '`<…&cursor=…>; rel="next"` while there is a next page.', schema: { type: "string" } },
          },
        },
        errors: ["invalid_request", "invalid_cursor", "unknown_product", "unknown_batch"],
      }),
    },
    "/api/v1/batches/{batchId}/epcis": {
      get: epcisOperation("get", {
        operationId: "getBatchEpcis",
        summary: "A batch's history as EPCIS 2.0",
        description:
          `Caller: any key. Every event of the batch (at most ${MAX_EXPORT}) in the order they were accepted, as ` +
          "an EPCIS 2.0 `EPCISDocument`: the same document as the Digital Link's `?linkType=gs1:epcis`. " +
          MAPPING,
        parameters: ["BatchId"],
        ok: { status: 200, description: "The batch's history.", schema: epcisDocumentSchema(0), example: document },
        errors: ["invalid_request", "unknown_batch"],
      }),
    },
  };
}
