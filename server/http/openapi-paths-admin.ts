/**
 * OpenAPI path items of routes/admin.ts: the store backup. Built with `operation()` like
 * openapi-paths.ts and listed under the Admin tag; the binary answer and the error code only this
 * route answers with are added here.
 */
import { BACKUP_FORMAT, BACKUP_MEDIA_TYPE, BACKUP_VERSION } from "../store/backup";
import type { OpenApiExamples } from "./openapi-examples";
import { operation, withErrorExamples } from "./openapi-operations";
import type { Schema } from "./openapi-schemas";

/** Error codes of these routes, with the status they come with and an example message. */
const ERRORS: Record<string, { status: number; message: string }> = {
  backup_running: {
    status: 409,
    message: "a backup is being made already; try again once it has finished",
  },
};

const STATUS_TEXT: Record<number, string> = { 409: "Conflict" };

/** Adds the error responses of `codes` (from ERRORS) to `op`, beside the ones operation() made. */
const withErrors = (op: Schema, codes: (keyof typeof ERRORS)[]): Schema =>
  withErrorExamples(op, ERRORS, codes, STATUS_TEXT);

export function adminPaths(_x: OpenApiExamples): Record<string, Record<string, Schema>> {
  const backup: Schema = {
    ...operation("get", {
      operationId: "downloadBackup",
      tag: "Meta",
      summary: "Back up the store",
      description:
        "Caller: the platform admin key only (403 `admin_required` for any other key). Streams a consistent " +
        "snapshot of the whole store — journal, event records and bodies, txlog, keys (API-key hashes, custodial " +
        "keys as stored: encrypted), certificates, metadata and the derived index — as the LevelDB snapshot of the " +
        "main database taken when the request arrives and the event-body database's taken right after it: every " +
        "submission answered 202 before the header's `createdAt` is in it. The gateway " +
        "keeps serving meanwhile; one backup runs at a time. " +
        `Format \`${BACKUP_FORMAT}\` version ${BACKUP_VERSION}: a JSON header line (format, version, createdAt, ` +
        "the chain identity, the last submission and txlog sequence numbers), then every entry as uint32 " +
        "big-endian key length, key, uint32 value length, value, in key order (the event bodies last, their keys " +
        "behind a 0xFF byte); the end marker 0xFFFFFFFF; a JSON " +
        "trailer line with the entry counts; and `sha256:<hex>` of everything before it. A stream cut short " +
        "lacks the trailer. `npm run backup` downloads and checks it; `npm run restore` writes it into an empty " +
        "data folder.",
      ok: { status: 200, description: "The backup.", schema: "Reason" },
      errors: ["admin_required"],
    }),
    tags: ["Admin"],
  };
  (backup.responses as Record<string, Schema>)["200"] = {
    description: "The backup, streamed.",
    headers: {
      "Content-Disposition": {
        description: 'attachment; filename="yutrace-<createdAt as YYYYMMDDTHHMMSSZ>.ytbak"',
        schema: { type: "string" },
      },
    },
    content: { [BACKUP_MEDIA_TYPE]: { schema: { type: "string", format: "binary" } } },
  };
  withErrors(backup, ["backup_running"]);
  return { "/api/v1/admin/backup": { get: backup } };
}
