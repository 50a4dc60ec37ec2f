/**
 * What accepting a submission needs of the request alone: the body's shape, each event checked
 * against the schema, each event's canonical JSON (RFC 8785), its SHA-256 id and the batches it
 * names, and the submission's Merkle root. It reads nothing and writes nothing, so it runs on
 * worker threads (prepare-pool.ts) while the main thread applies the rules and writes: profiled,
 * it was about a third of the main thread's time under ingest load.
 * Without workers (YUTRACE_INGEST_WORKERS=0, and for JSON bodies parsed by express) it runs inline.
 */
import { z } from "zod/v4";

import { canonicalSha256, canonicalize, exceedsDepth, sha256Hex } from "../domain/canonical";
import { batchIdOfKey } from "../domain/batch-id";
import { MAX_EVENTS_PER_SUBMISSION, batchesOf, traceEventSchema, type TraceEvent } from "../domain/events";
import { submissionTree } from "../domain/merkle";
import type { EventProblem } from "../domain/rules";
import { HttpError } from "../http/errors";

const bodySchema = z
  .object({
    events: z.array(z.unknown()).min(1, "a submission needs at least one event"),
    /** Self-custody: the organisation's EIP-712 signature of Submission{org, root, count, nonce}. */
    signature: z
      .string()
      .regex(/^0x[0-9a-fA-F]{130}$/, "must be a 65-byte hex signature")
      .optional(),
    nonce: z.number().int().min(0).optional(),
  })
  .strict();

/** Far deeper than any valid submission (about 7 levels), far shallower than the stack allows. */
const MAX_JSON_DEPTH = 32;

export interface PreparedSubmission {
  /** Self-custody: the client's signature and the nonce it signed. */
  signature?: string;
  nonce?: number;
  /** SHA-256 of the canonical request body, when it came with an Idempotency-Key. */
  requestHash: string | null;
  /**
   * Problems of the events themselves. They are answered (422) after the Idempotency-Key is looked
   * at, so that a retry reads as a retry whatever its events.
   */
  problems: (EventProblem & { index: number })[] | null;
  /** Each event's canonical JSON and its id (0x SHA-256 of it); empty when there are problems. */
  texts: string[];
  hashes: string[];
  /** The root of the submission's tree over `hashes`; null when there are problems. */
  root: string | null;
  /** The ids of the batches each event names (inputs and outputs); empty when there are problems. */
  batchIds: string[][];
  /** The events, when prepared on this thread. */
  events?: TraceEvent[];
  /**
   * From a worker: the JSON of the events' rule views (`RuleEvent[]`), which is all the main thread
   * parses; null when an event declares an error (then it parses the events whole from `texts`).
   */
  ruleViews?: string | null;
}

/**
 * Parses a request body sent as JSON as express.json({ strict: true }) does: an empty body is `{}`,
 * a leading byte-order mark is dropped; 400 if it is not a JSON object or array.
 */
export function parseJsonBody(raw: Uint8Array): unknown {
  let text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "malformed_json", "the request body is not valid JSON");
  }
  if (body === null || typeof body !== "object") {
    throw new HttpError(400, "malformed_json", "the request body is not valid JSON");
  }
  return body;
}

/** Checks and hashes a submission's body; throws HttpError (400) when the body itself is wrong. */
export function prepareSubmission(body: unknown, withRequestHash: boolean): PreparedSubmission {
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    throw new HttpError(400, "invalid_submission", "the submission body is not valid", zodDetails(parsed.error));
  }
  const { events, signature, nonce } = parsed.data;
  if (events.length > MAX_EVENTS_PER_SUBMISSION) {
    throw new HttpError(
      400,
      "too_many_events",
      `a submission holds at most ${MAX_EVENTS_PER_SUBMISSION} events; this one has ${events.length}`,
    );
  }
  if (exceedsDepth(body, MAX_JSON_DEPTH)) {
    throw new HttpError(400, "too_deeply_nested", `the request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  const problems: (EventProblem & { index: number })[] = [];
  events.forEach((event, index) => {
    const checked = traceEventSchema.safeParse(event);
    if (!checked.success) {
      problems.push(...zodDetails(checked.error).map((p) => ({ index, code: "invalid_event", ...p })));
    }
  });
  // Only a retried request needs comparing (requestHash): SHA-256 (native) of the canonical body.
  // JSON numbers beyond a double (1e400) parse as Infinity, which has no canonical form.
  const canonical = <T>(make: () => T): T => {
    try {
      return make();
    } catch (error) {
      throw new HttpError(400, "invalid_submission", "the submission body is not valid", [
        { path: "", message: (error as Error).message },
      ]);
    }
  };
  if (problems.length > 0) {
    const requestHash = withRequestHash ? canonical(() => canonicalSha256(body)) : null;
    return { signature, nonce, requestHash, problems, texts: [], hashes: [], root: null, batchIds: [] };
  }
  // Hash what the client sent: zod strict objects return the same fields and values.
  const texts = canonical(() => events.map((event) => canonicalize(event)));
  const requestHash = withRequestHash ? `0x${sha256Hex(canonicalBody(texts, nonce, signature))}` : null;
  const hashes = texts.map((text) => `0x${sha256Hex(text)}`);
  const root = submissionTree(hashes).root;
  const batchIds = (events as TraceEvent[]).map((event) => batchesOf(event).all.map(batchIdOfKey));
  return {
    signature,
    nonce,
    requestHash,
    problems: null,
    texts,
    hashes,
    root,
    batchIds,
    events: events as TraceEvent[],
  };
}

/**
 * The canonical JSON (RFC 8785) of a submission body `{ events, nonce?, signature? }` from its events'
 * canonical JSON: the same text as `canonicalize(body)` (members in name order — events, nonce,
 * signature — and the schema allows no others) without writing every event a second time.
 */
export function canonicalBody(texts: readonly string[], nonce?: number, signature?: string): string {
  let body = `{"events":[${texts.join(",")}]`;
  if (nonce !== undefined) body += `,"nonce":${canonicalize(nonce)}`;
  if (signature !== undefined) body += `,"signature":${canonicalize(signature)}`;
  return `${body}}`;
}

export function zodDetails(error: z.core.$ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }));
}
