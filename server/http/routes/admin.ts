/**
 * Operating the gateway (platform admin only): `GET /admin/backup` streams a consistent snapshot
 * of the whole store in the backup format of `store/backup.ts`. LevelDB lets one process in, so the
 * running gateway is the one that can read it; `npm run backup` downloads it, `npm run restore`
 * writes it into an empty data folder.
 */
import type { ServerResponse } from "node:http";
import { Router } from "express";
import type { Logger } from "pino";

import { BACKUP_MEDIA_TYPE, backupFileName, writeBackup } from "../../store/backup";
import type { Store } from "../../store/store";
import { requireAdmin } from "../auth";
import { HttpError } from "../errors";

/** The client went away while the backup was streamed to it. */
class ClientGone extends Error {}

/**
 * Writes `chunk` to `res`, resolving once it may take more (its 'drain'): the stream's backpressure.
 * A client that takes nothing for `idleMs` is let go: it would hold the store's snapshot open.
 */
function send(res: ServerResponse, chunk: Buffer, idleMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.destroyed || res.writableEnded) return reject(new ClientGone("the client went away"));
    if (res.write(chunk)) return resolve();
    const done = (error?: Error) => {
      clearTimeout(timer);
      res.off("drain", onDrain);
      res.off("close", onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new ClientGone("the client went away"));
    const timer = setTimeout(() => done(new ClientGone(`the client read nothing for ${idleMs} ms`)), idleMs);
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}

export function adminRoutes(store: Store, logger?: Logger, options: { idleMs?: number } = {}): Router {
  const idleMs = options.idleMs ?? 60_000;
  const router = Router();
  /** One backup at a time: each reads the whole store. */
  let running = false;

  router.get("/admin/backup", async (_req, res) => {
    requireAdmin(res);
    if (running) {
      throw new HttpError(409, "backup_running", "a backup is being made already; try again once it has finished");
    }
    running = true;
    const started = Date.now();
    try {
      const summary = await writeBackup(store, (chunk) => send(res, chunk, idleMs), {
        onHeader: ({ createdAt }) => {
          res.status(200);
          res.setHeader("Content-Type", BACKUP_MEDIA_TYPE);
          res.setHeader("Cache-Control", "no-store");
          // The snapshot's time names the file.
          res.setHeader("Content-Disposition", `attachment; filename="${backupFileName(createdAt)}"`);
        },
      });
      res.end();
      logger?.info(
        { entries: summary.trailer.entries, bytes: summary.bytes, ms: Date.now() - started },
        "backup streamed",
      );
    } catch (error) {
      if (error instanceof ClientGone) {
        logger?.warn({ ms: Date.now() - started, reason: error.message }, "backup abandoned: the client went away");
        res.destroy();
        return;
      }
      if (!res.headersSent) throw error;
      // Mid-stream: no error body can follow. Cut the connection; the client sees no trailer.
      logger?.error({ err: error }, "backup failed while streaming");
      res.destroy();
    } finally {
      running = false;
    }
  });

  return router;
}
