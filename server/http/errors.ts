/**
 * The one error type the gateway answers with, and the one place that turns any error into a
 * response: `{"error":{"code","message","details"}}`. No stack trace leaves the server.
 */
import type { IncomingMessage } from "node:http";
import type { ErrorRequestHandler } from "express";
import type { Logger } from "pino";

import {
  ChainUnavailableError,
  LedgerRevertError,
  NonceMismatchError,
  TransactionRejectedError,
} from "../chain/errors";
import { SyncAbortedError } from "../index/indexer";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** Contract custom errors by what they mean for a client. */
const REVERT_STATUS: Record<string, [number, string]> = {
  TraceLedgerUnknownBatch: [404, "unknown_batch"],
  TraceLedgerUnknownProduct: [404, "unknown_product"],
  TraceLedgerUnknownOrganisation: [404, "unknown_organisation"],
  TraceLedgerUnknownAnchor: [404, "unknown_anchor"],
  TraceLedgerProductExists: [409, "product_exists"],
  TraceLedgerBatchExists: [409, "batch_exists"],
  TraceLedgerOrganisationExists: [409, "organisation_exists"],
  TraceLedgerAccountInUse: [409, "account_in_use"],
  TraceLedgerSerialsExist: [409, "serials_exist"],
  TraceLedgerAnchorExists: [409, "anchor_exists"],
  TraceLedgerNotProductOwner: [403, "not_product_owner"],
  TraceLedgerNotBatchProducer: [403, "not_batch_producer"],
  TraceLedgerOrganisationSuspended: [403, "organisation_suspended"],
  TraceLedgerOrganisationNotSuspended: [409, "organisation_not_suspended"],
  TraceLedgerNotAnOrganisation: [403, "not_an_organisation"],
  AccessControlUnauthorizedAccount: [403, "role_not_allowed"],
  TraceLedgerParentNotActive: [422, "input_not_active"],
  TraceLedgerBatchRecalled: [409, "batch_recalled"],
  TraceLedgerInvalidStatusTransition: [409, "invalid_status_transition"],
  TraceLedgerInvalidGtin: [400, "invalid_gtin"],
  TraceLedgerInvalidLot: [400, "invalid_lot"],
  TraceLedgerTooManyParents: [400, "too_many_inputs"],
  TraceLedgerDuplicateParent: [400, "duplicate_input"],
  EnforcedPause: [503, "ledger_paused"],
  TraceLedgerInvalidNonce: [409, "wrong_nonce"],
  TraceLedgerInvalidSignature: [422, "invalid_signature"],
  TraceLedgerSignatureExpired: [422, "signature_expired"],
};

/** Maps any error to an HttpError; anything unexpected becomes a 500 without internals. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof ChainUnavailableError) {
    return new HttpError(503, "chain_unavailable", "the ledger chain cannot be reached; try again shortly");
  }
  if (error instanceof TransactionRejectedError || error instanceof SyncAbortedError) {
    return new HttpError(
      503,
      "chain_unavailable",
      "the ledger chain did not take the transaction in time; try again shortly",
    );
  }
  if (error instanceof NonceMismatchError) {
    return new HttpError(409, "wrong_nonce", `${error.message}; sign again with it`, {
      expected: Number(error.expected),
      got: Number(error.got),
    });
  }
  if (error instanceof LedgerRevertError) {
    const [status, code] = REVERT_STATUS[error.errorName] ?? [422, "ledger_rejected"];
    return new HttpError(status, code, error.message, { ledgerError: error.errorName, args: error.args });
  }
  const e = error as { type?: string; status?: number; expose?: boolean; message?: string };
  if (e?.type === "entity.parse.failed")
    return new HttpError(400, "malformed_json", "the request body is not valid JSON");
  if (e?.type === "entity.too.large") return new HttpError(413, "body_too_large", "the request body is too large");
  if (e?.type === "encoding.unsupported" || e?.type === "charset.unsupported") {
    return new HttpError(415, "unsupported_encoding", e.message ?? "unsupported body encoding");
  }
  // A path that does not decode (`%zz`): the router's error carries 400, a page's own decode none.
  if (error instanceof URIError) {
    return new HttpError(400, "invalid_request", "the URL is not validly percent-encoded");
  }
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 500) {
    return new HttpError(e.status, "bad_request", e.expose && e.message ? e.message : "bad request");
  }
  return new HttpError(500, "internal_error", "something went wrong on our side; it has been logged");
}

export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const httpError = toHttpError(error);
    if (httpError.status >= 500)
      logger.error({ err: error, method: req.method, url: req.originalUrl }, "request failed");
    if (res.headersSent) return;
    const body: { error: { code: string; message: string; details?: unknown } } = {
      error: { code: httpError.code, message: httpError.message },
    };
    if (httpError.details !== undefined) body.error.details = httpError.details;
    if (httpError.status === 503) res.setHeader("Retry-After", "5");
    // Refused before its body was read (no key, say): close the connection after the answer
    // rather than let Node read the rest of the body to keep it alive.
    if (httpError.status < 500 && !req.complete) res.setHeader("Connection", "close");
    res.status(httpError.status).json(body);
  };
}

/**
 * Whether the request declares a body longer than `limit` bytes, so that it can be refused as it
 * is, without reading it (body parsers read a refused body to its end first). `errorMiddleware`
 * closes the connection after such a refusal, so the rest of the body is never read.
 */
export function declaresMoreThan(req: IncomingMessage, limit: number): boolean {
  const declared = Number(req.headers["content-length"]);
  return Number.isFinite(declared) && declared > limit;
}
