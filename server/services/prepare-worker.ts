/**
 * A worker thread of the PreparePool: parses and prepares the submissions it is sent
 * (prepare.ts) and answers each with the result or the HTTP error to give.
 */
import { parentPort } from "node:worker_threads";

import { ruleView } from "../domain/events";
import { HttpError } from "../http/errors";
import { parseJsonBody, prepareSubmission } from "./prepare";
import type { PrepareReply, PrepareRequest } from "./prepare-pool";

parentPort!.on("message", ({ id, raw, withRequestHash }: PrepareRequest) => {
  let reply: PrepareReply;
  try {
    const { events, ...prepared } = prepareSubmission(parseJsonBody(raw), withRequestHash);
    const whole = !events || events.some((event) => event.errorDeclaration);
    reply = { id, prepared: { ...prepared, ruleViews: whole ? null : JSON.stringify(events.map(ruleView)) } };
  } catch (error) {
    reply =
      error instanceof HttpError
        ? { id, refused: { status: error.status, code: error.code, message: error.message, details: error.details } }
        : { id, failed: (error as Error).stack ?? String(error) };
  }
  parentPort!.postMessage(reply);
});
