/**
 * The regulator dashboard's API as OpenAPI path items (routes/regulator.ts), the organisation list
 * (GET /api/v1/organisations, routes/organisations.ts) and the component schemas of their answers.
 * The page /regulator and its files are outside the API and not described here.
 */
import { EVENT_DAYS, LAG_ANCHORS, MAX_SEARCH_RESULTS } from "../services/dashboard";
import type { OpenApiExamples } from "./openapi-examples";
import { operation, type Method, type OperationSpec } from "./openapi-operations";
import { paths } from "./openapi-paths";
import { array, nullable, object, ref, withDescription, type Schema } from "./openapi-schemas";
import { CHARTS, type ChartName } from "./routes/regulator";

const caller = "Caller: a regulator's key or the platform admin key.";
const count = (description: string): Schema => ({ type: "integer", minimum: 0, description });
const milliseconds = (description: string): Schema => nullable({ type: "integer", minimum: 0, description });
const day: Schema = { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" };

/** An operation of the dashboard, listed under the Regulator tag. */
function regulatorOperation(method: Method, spec: Omit<OperationSpec, "tag">): Schema {
  return { ...operation(method, { ...spec, tag: "Meta" }), tags: ["Regulator"] };
}

const CHART_TEXT: Record<ChartName, { id: string; summary: string; description: string }> = {
  "events-per-day": {
    id: "chartEventsPerDay",
    summary: "Chart: events per day",
    description: `Bars: events per calendar day of their eventTime (UTC+8), the last ${EVENT_DAYS} days.`,
  },
  "inspection-pass-rate": {
    id: "chartInspectionPassRate",
    summary: "Chart: inspection pass rate by category",
    description: "Bars: the share of conformant inspections (%), by the inspected product's category.",
  },
  "recalls-by-district": {
    id: "chartRecallsByDistrict",
    summary: "Chart: recalls by district",
    description: "Bars: recalled batches by the district they were made in (else their producer's).",
  },
  "anchoring-lag": {
    id: "chartAnchoringLag",
    summary: "Chart: anchoring lag",
    description: `Line: seconds from a submission's acceptance to its anchor's block, the last ${LAG_ANCHORS} anchors, with p50 and p95.`,
  },
};

export function regulatorPaths(x: OpenApiExamples): Record<string, Record<string, Schema>> {
  const charts = Object.fromEntries(
    CHARTS.map((name) => {
      const text = CHART_TEXT[name];
      const op = regulatorOperation("get", {
        operationId: text.id,
        summary: text.summary,
        description: `${caller} ${text.description} An accessible SVG (role="img", a title, axis labels).`,
        ok: { status: 200, description: "The chart.", schema: "DashboardStats" },
        errors: ["role_not_allowed"],
      });
      const responses = op.responses as Record<string, Schema>;
      responses["200"] = {
        description: "The chart, as SVG.",
        content: { "image/svg+xml": { schema: { type: "string" } } },
      };
      return [`/api/v1/regulator/charts/${name}.svg`, { get: op }];
    }),
  );
  return {
    // The organisation list joins the path item of onboarding (openapi-paths.ts).
    "/api/v1/organisations": {
      ...paths(x)["/api/v1/organisations"],
      get: operation("get", {
        operationId: "listOrganisations",
        tag: "Organisations",
        summary: "List organisations",
        description: `${caller} Public profiles in organisation-id order, a page at a time; suspended ones too.`,
        parameters: ["Limit", "Cursor"],
        ok: {
          status: 200,
          description: "A page of organisations.",
          schema: "OrganisationPage",
          example: { organisations: [x.organisation], nextCursor: null },
        },
        errors: ["invalid_request", "invalid_cursor", "role_not_allowed"],
      }),
    },
    "/api/v1/regulator/search": {
      get: {
        ...regulatorOperation("get", {
          operationId: "regulatorSearch",
          summary: "Search batches and organisations",
          description:
            `${caller} \`q\` finds batches by GTIN (prefix), lot (part), batch id, product name, producer ` +
            "(name or 统一社会信用代码) or district (of the batch, or of its producer), and organisations by name, " +
            `统一社会信用代码 (prefix), district or id. At most ${MAX_SEARCH_RESULTS} of each.`,
          ok: { status: 200, description: "What matched.", schema: "RegulatorSearch", example: searchExample(x) },
          errors: ["invalid_request", "role_not_allowed"],
        }),
        parameters: [
          {
            name: "q",
            in: "query",
            required: true,
            description: "A GTIN, lot, name, 统一社会信用代码 or district, e.g. `巴南` or `DZ2026`.",
            schema: { type: "string", minLength: 1, maxLength: 100 },
          },
        ],
      },
    },
    "/api/v1/regulator/stats": {
      get: regulatorOperation("get", {
        operationId: "regulatorStats",
        summary: "Dashboard statistics",
        description:
          `${caller} Totals; events per day (last ${EVENT_DAYS} days, by eventTime in UTC+8); inspection pass rate ` +
          "by product category; recalled batches by district; anchoring lag (block time of an anchor minus the " +
          `acceptance of its earliest submission) of the last ${LAG_ANCHORS} anchors with p50, p95 and max. ` +
          "The dashboard also checks a key by calling this.",
        ok: { status: 200, description: "The statistics.", schema: "DashboardStats", example: statsExample() },
        errors: ["role_not_allowed"],
      }),
    },
    ...charts,
  };
}

export const regulatorSchemas: Record<string, Schema> = {
  OrganisationPage: object(
    {
      organisations: array(ref("Organisation")),
      nextCursor: nullable({ type: "string", description: "Pass as `cursor` for the next page." }),
    },
    ["organisations", "nextCursor"],
  ),
  BatchHit: object(
    {
      batchId: ref("BatchId"),
      gtin: ref("Gtin"),
      lot: ref("Lot"),
      status: ref("BatchStatus"),
      product: nullable(
        object(
          { name: object({ zh: { type: "string" }, en: { type: "string" } }, ["zh"]), category: ref("Category") },
          ["name", "category"],
        ),
      ),
      producer: nullable(
        object({ orgId: ref("OrgId"), name: { type: "string" }, district: ref("District") }, [
          "orgId",
          "name",
          "district",
        ]),
      ),
      district: nullable(withDescription(ref("District"), "The batch's district, else its producer's.")),
      productionDate: nullable(ref("Date")),
      digitalLink: { type: "string", format: "uri" },
      matched: array({ type: "string", enum: ["gtin", "lot", "batchId", "product", "producer", "district"] }),
    },
    ["batchId", "gtin", "lot", "status", "product", "producer", "district", "productionDate", "digitalLink", "matched"],
    { description: "A batch found by a search, and what of it matched." },
  ),
  OrganisationHit: {
    allOf: [
      ref("Organisation"),
      object({ matched: array({ type: "string", enum: ["name", "uscc", "district", "orgId"] }) }, ["matched"]),
    ],
  },
  RegulatorSearch: object(
    {
      query: { type: "string" },
      batches: array(ref("BatchHit"), { maxItems: MAX_SEARCH_RESULTS }),
      organisations: array(ref("OrganisationHit"), { maxItems: MAX_SEARCH_RESULTS }),
      truncated: { type: "boolean", description: "Whether more matched than were returned." },
    },
    ["query", "batches", "organisations", "truncated"],
  ),
  DashboardStats: object(
    {
      generatedAt: { type: "string", format: "date-time" },
      totals: object(
        {
          organisations: count("Organisations."),
          suspendedOrganisations: count("Suspended organisations."),
          products: count("Products."),
          batches: count("Batches."),
          batchesByStatus: object({ active: count("Active."), held: count("Held."), recalled: count("Recalled.") }, [
            "active",
            "held",
            "recalled",
          ]),
          events: count("Events, without error declarations."),
          anchors: count("Anchors on-chain."),
        },
        ["organisations", "suspendedOrganisations", "products", "batches", "batchesByStatus", "events", "anchors"],
      ),
      eventsPerDay: object(
        {
          from: day,
          to: day,
          days: array(object({ date: day, events: count("Events that day.") }, ["date", "events"]), {
            minItems: EVENT_DAYS,
            maxItems: EVENT_DAYS,
          }),
        },
        ["from", "to", "days"],
      ),
      inspectionPassRate: array(
        object(
          {
            category: { type: "string", description: "Product category, or `unknown`." },
            conformant: count("Conformant inspections."),
            nonConformant: count("Non-conformant inspections."),
            passRate: nullable({ type: "number", minimum: 0, maximum: 1 }),
          },
          ["category", "conformant", "nonConformant", "passRate"],
        ),
      ),
      recallsByDistrict: array(
        object({ district: { type: "string" }, recalls: count("Recalled batches.") }, ["district", "recalls"]),
      ),
      anchoringLag: object(
        {
          anchors: array(
            object(
              {
                seq: { type: "integer", minimum: 1 },
                root: ref("Hex32"),
                block: { type: "integer", minimum: 0 },
                blockTime: { type: "string", format: "date-time" },
                submissions: count("Submissions it covers."),
                events: count("Events it covers."),
                lagMs: count("Block time minus the acceptance of its earliest submission, ms."),
              },
              ["seq", "root", "block", "blockTime", "submissions", "events", "lagMs"],
            ),
            { maxItems: LAG_ANCHORS },
          ),
          p50Ms: milliseconds("Median lag."),
          p95Ms: milliseconds("95th percentile lag."),
          maxMs: milliseconds("Largest lag."),
        },
        ["anchors", "p50Ms", "p95Ms", "maxMs"],
      ),
    },
    ["generatedAt", "totals", "eventsPerDay", "inspectionPassRate", "recallsByDistrict", "anchoringLag"],
  ),
};

function searchExample(x: OpenApiExamples) {
  const { batch, organisation } = x;
  return {
    query: "巴南",
    batches: [
      {
        batchId: batch.batchId,
        gtin: batch.gtin,
        lot: batch.lot,
        status: batch.status,
        product: { name: x.newProduct.name, category: x.newProduct.category },
        producer: { orgId: organisation.orgId, name: organisation.name, district: organisation.district },
        district: batch.metadata.district,
        productionDate: batch.metadata.productionDate,
        digitalLink: batch.digitalLink,
        matched: ["district"],
      },
    ],
    organisations: [{ ...organisation, matched: ["district"] }],
    truncated: false,
  };
}

function statsExample() {
  const first = Date.parse("2026-10-24T00:00:00Z");
  const days = Array.from({ length: EVENT_DAYS }, (_, i) => ({
    date: new Date(first + i * 86_400_000).toISOString().slice(0, 10),
    events: [0, 3, 12, 7][i % 4]!,
  }));
  return {
    generatedAt: "2026-11-22T06:30:00.000Z",
    totals: {
      organisations: 10,
      suspendedOrganisations: 1,
      products: 6,
      batches: 8,
      batchesByStatus: { active: 6, held: 1, recalled: 1 },
      events: days.reduce((sum, d) => sum + d.events, 0),
      anchors: 118,
    },
    eventsPerDay: { from: days[0]!.date, to: days[days.length - 1]!.date, days },
    inspectionPassRate: [{ category: "seasoning", conformant: 11, nonConformant: 1, passRate: 11 / 12 }],
    recallsByDistrict: [{ district: "江津区", recalls: 1 }],
    anchoringLag: {
      anchors: [
        {
          seq: 118,
          root: "0x3f0c2c5b9e1d4f7a8b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a",
          block: 20431,
          blockTime: "2026-11-22T06:01:00.000Z",
          submissions: 3,
          events: 41,
          lagMs: 1150,
        },
      ],
      p50Ms: 1150,
      p95Ms: 1150,
      maxMs: 1150,
    },
  };
}
