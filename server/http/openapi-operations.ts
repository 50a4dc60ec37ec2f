/**
 * Builds OpenAPI operations from a short spec (openapi-paths.ts): the success response and every
 * error response the route can give, with the errors every API call can meet added here, once.
 * Also the shared parameters and headers.
 */
import { MAX_PAGE } from "../services/queries";
import { ERROR_EXAMPLES } from "./openapi-examples";
import { ref, type Schema } from "./openapi-schemas";

export type Method = "get" | "post" | "delete";

export interface OperationSpec {
  operationId: string;
  tag: "Health" | "Meta" | "Organisations" | "Products" | "Batches" | "Events";
  summary: string;
  description: string;
  parameters?: string[];
  body?: { schema: string; example: unknown };
  ok: { status: number; description: string; schema: string; example?: unknown; headers?: string[] };
  /** Error codes this operation answers with besides the ones every API call can. */
  errors: string[];
  /** Whether the call sends a ledger transaction (and so can meet an unreachable or paused chain). */
  chain?: boolean;
  /** Public: served outside the API-key check (health, this document, the ledger address). */
  public?: boolean;
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad request",
  401: "No valid API key",
  403: "Not allowed",
  404: "Not found",
  409: "Conflict",
  413: "Body too large",
  415: "Unsupported body encoding",
  422: "Rejected",
  429: "Too many writes",
  500: "Server error",
  503: "Ledger chain unavailable",
};

function errorResponses(codes: string[]): Record<string, Schema> {
  const byStatus = new Map<number, string[]>();
  for (const code of new Set(codes)) {
    const known = ERROR_EXAMPLES[code];
    if (!known) throw new Error(`openapi: error code ${code} has no example`);
    byStatus.set(known.status, [...(byStatus.get(known.status) ?? []), code]);
  }
  const responses: Record<string, Schema> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const examples = Object.fromEntries(
      list.map((code) => {
        const { message, details } = ERROR_EXAMPLES[code]!;
        return [code, { summary: code, value: { error: { code, message, ...(details ? { details } : {}) } } }];
      }),
    );
    const headers =
      status === 503
        ? { "Retry-After": { $ref: "#/components/headers/RetryAfter" } }
        : status === 429
          ? { RateLimit: { $ref: "#/components/headers/RateLimit" } }
          : undefined;
    responses[String(status)] = {
      description: `${STATUS_TEXT[status] ?? "Error"}: ${list.map((code) => `\`${code}\``).join(", ")}.`,
      ...(headers ? { headers } : {}),
      content: { "application/json": { schema: ref("Error"), examples } },
    };
  }
  return responses;
}

export function operation(method: Method, spec: OperationSpec): Schema {
  const errors = [...spec.errors];
  if (!spec.public) errors.push("unauthenticated", "invalid_api_key", "organisation_suspended", "internal_error");
  if (method !== "get") errors.push("rate_limited");
  if (spec.body) errors.push("malformed_json", "body_too_large", "unsupported_encoding");
  if (spec.chain) errors.push("ledger_rejected", "chain_unavailable", "ledger_paused");
  const headers = Object.fromEntries(
    (spec.ok.headers ?? []).map((name) => [name, { $ref: `#/components/headers/${name}` }]),
  );
  return {
    operationId: spec.operationId,
    tags: [spec.tag],
    summary: spec.summary,
    description: spec.description,
    ...(spec.public ? { security: [] } : {}),
    ...(spec.parameters
      ? { parameters: spec.parameters.map((name) => ({ $ref: `#/components/parameters/${name}` })) }
      : {}),
    ...(spec.body
      ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: ref(spec.body.schema), example: spec.body.example } },
          },
        }
      : {}),
    responses: {
      [String(spec.ok.status)]: {
        description: spec.ok.description,
        ...(spec.ok.headers ? { headers } : {}),
        content: {
          "application/json": {
            schema: ref(spec.ok.schema),
            ...(spec.ok.example === undefined ? {} : { example: spec.ok.example }),
          },
        },
      },
      ...errorResponses(errors),
    },
  };
}

export function parameters(): Record<string, Schema> {
  const path = (name: string, schema: string, description: string) => ({
    name,
    in: "path",
    required: true,
    description,
    schema: ref(schema),
  });
  const query = (name: string, schema: Schema, description: string, required = false) => ({
    name,
    in: "query",
    required,
    description,
    schema,
  });
  return {
    OrgId: path("orgId", "OrgId", "Organisation id (keccak256 of its 统一社会信用代码)."),
    BatchId: path("batchId", "BatchId", "Batch id (keccak256(abi.encode(gtin, lot)))."),
    GtinPath: path("gtin", "Gtin", "GTIN-14."),
    EventId: path("eventId", "EventId", "Event id."),
    SubmissionIdPath: path("id", "SubmissionId", "Submission id (its EIP-712 digest)."),
    GtinQuery: query("gtin", ref("Gtin"), "GTIN-14 of the product.", true),
    LotQuery: query("lot", ref("Lot"), "Batch/lot number (批号).", true),
    Limit: query("limit", { type: "integer", minimum: 1, maximum: MAX_PAGE, default: 50 }, "Page size."),
    Cursor: query("cursor", { type: "string", maxLength: 400 }, "`nextCursor` of the previous page."),
    Direction: query("direction", { type: "string", enum: ["up", "down"], default: "up" }, "up: inputs; down: uses."),
    Ancestors: query(
      "ancestors",
      { type: "string", enum: ["true", "false"], default: "false" },
      "true: include every batch it was made from, transitively.",
    ),
    IdempotencyKey: {
      name: "Idempotency-Key",
      in: "header",
      required: false,
      description: "1–200 printable ASCII characters, unique per submission of this organisation.",
      schema: { type: "string", pattern: "^[\\x21-\\x7e]{1,200}$" },
      example: "erp-2026-11-22-0042",
    },
  };
}

export const headerComponents: Record<string, Schema> = {
  Location: { description: "Where the created resource (or the submission) can be read.", schema: { type: "string" } },
  "Idempotent-Replayed": {
    description: "`true` when this 202 repeats the answer to an earlier request with the same Idempotency-Key.",
    schema: { type: "string", enum: ["true"] },
  },
  RetryAfter: { description: "Seconds to wait before retrying.", schema: { type: "integer" } },
  RateLimit: {
    description: "Remaining writes and seconds until the window resets (IETF RateLimit header, draft 7).",
    schema: { type: "string" },
  },
};

/**
 * Adds the error responses of `codes` to `op`, beside the ones `operation()` made: each code's status
 * and example message from `errors`, each status described by `statusText` and listing its codes.
 * For the path files whose routes answer codes of their own.
 */
export function withErrorExamples(
  op: Schema,
  errors: Record<string, { status: number; message: string }>,
  codes: string[],
  statusText: Record<number, string>,
): Schema {
  const responses = op.responses as Record<string, Schema>;
  for (const code of codes) {
    const { status, message } = errors[code]!;
    const response = (responses[String(status)] ??= {
      description: statusText[status] ?? "Error",
      content: { "application/json": { schema: ref("Error"), examples: {} } },
    }) as { description: string; content: Record<string, { examples: Record<string, unknown> }> };
    response.content["application/json"]!.examples[code] = { summary: code, value: { error: { code, message } } };
    const codesHere = Object.keys(response.content["application/json"]!.examples);
    response.description = `${response.description.split(":")[0]}: ${codesHere.map((c) => `\`${c}\``).join(", ")}.`;
  }
  return op;
}
