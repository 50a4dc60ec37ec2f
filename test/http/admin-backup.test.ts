/**
 * GET /api/v1/admin/backup over real HTTP, on a real LevelDB store of 16 MB or more (the route mounted as
 * app.ts mounts it, behind a stand-in for the key check): the platform admin gets a backup that
 * reads back whole; an organisation's key gets 403; the stream follows the client (a client that
 * stops reading holds the backup where it is, and a second backup meanwhile gets 409); a client
 * that goes away, or reads nothing for the idle time, releases it, and the next backup works.
 */
import { once } from "node:events";
import { readFileSync } from "node:fs";
import http, { type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import express from "express";
import type { Logger } from "pino";

import type { Caller } from "../../server/http/auth";
import { errorMiddleware } from "../../server/http/errors";
import { adminRoutes } from "../../server/http/routes/admin";
import { readBackup } from "../../server/store/backup";
import { keys } from "../../server/store/keys";
import { Store } from "../../server/store/store";

const VALUE = "x".repeat(1000);

/**
 * What a fresh loopback connection can hold while its client reads nothing: the sender's socket
 * buffer grows up to tcp_wmem's maximum, the receiver's stays near tcp_rmem's default (it grows
 * only as the client reads; so every request here opens its own connection, `agent: false`,
 * instead of reusing one that a whole backup has just widened).
 */
function loopbackBufferBytes(): number {
  const field = (file: string, i: number, fallback: number) => {
    try {
      return Number(readFileSync(`/proc/sys/net/ipv4/${file}`, "utf8").trim().split(/\s+/)[i]) || fallback;
    } catch {
      return fallback;
    }
  };
  return field("tcp_wmem", 2, 4 << 20) + field("tcp_rmem", 1, 128 << 10);
}

/** Entries of ~1 KB: at least 16 MB, and four times what the connection can hold, up to 64 MB. */
const WANTED = Math.max(16_000, Math.ceil((4 * loopbackBufferBytes()) / 1000 / 1000) * 1000);
const ENTRIES = Math.min(WANTED, 64_000);
/** Whether a client that stops reading stops the backup here (not on hosts with huge TCP buffers). */
const STALLS = WANTED === ENTRIES;

describe("GET /api/v1/admin/backup", function () {
  let dir: string;
  let store: Store;
  let server: http.Server;
  let base: string;
  const logged: string[] = [];

  before(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), "yutrace-admin-backup-"));
    store = await Store.open(path.join(dir, "store"));
    for (let i = 0; i < ENTRIES; i += 1000) {
      const ops = [];
      for (let j = i; j < i + 1000; j++) ops.push(Store.put(store.events, keys.event(`0x${j}`), { j, VALUE }));
      await store.write(ops);
    }
    const log = (level: string) => (a: unknown, b?: string) => logged.push(`${level} ${b ?? a}`);
    const logger = { info: log("info"), warn: log("warn"), error: log("error") } as unknown as Logger;
    const app = express();
    // Stands in for authenticate(): "admin" is the admin key, "org" an organisation's.
    app.use((req, res, next) => {
      const key = req.get("authorization");
      res.locals.caller = (key === "Bearer admin" ? { kind: "admin" } : { kind: "org", org: {} }) as Caller;
      next();
    });
    app.use("/api/v1", adminRoutes(store, logger));
    app.use(errorMiddleware(logger));
    server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async function () {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (key: string) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      http
        .get(`${base}/api/v1/admin/backup`, { agent: false, headers: { authorization: `Bearer ${key}` } }, resolve)
        .on("error", reject);
    });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("streams the whole store to the platform admin, as a file that reads back", async function () {
    const res = await get("admin");
    expect(res.statusCode).to.equal(200);
    expect(res.headers["content-type"]).to.equal("application/octet-stream");
    expect(res.headers["cache-control"]).to.equal("no-store");
    expect(res.headers["content-disposition"]).to.match(/^attachment; filename="yutrace-\d{8}T\d{6}Z\.ytbak"$/);
    let entries = 0;
    const summary = await readBackup(res, { onEntries: (batch) => void (entries += batch.length) });
    expect(entries).to.equal(ENTRIES);
    expect(summary.trailer.counts).to.deep.equal({ events: ENTRIES });
    expect(summary.bytes).to.be.greaterThan(ENTRIES * 1000);
    expect(logged.at(-1)).to.equal("info backup streamed");
  });

  it("answers 403 admin_required to an organisation's key", async function () {
    const res = await get("org");
    const body = JSON.parse(Buffer.concat(await res.toArray()).toString("utf8"));
    expect([res.statusCode, body.error.code]).to.deep.equal([403, "admin_required"]);
  });

  it("waits for a client that stops reading (409 backup_running meanwhile), and lets go of one that leaves", async function () {
    if (!STALLS) this.skip(); // this host's TCP buffers would hold more than a 64 MB backup
    const mark = logged.length;
    const slow = await get("admin");
    expect(slow.statusCode).to.equal(200);
    slow.pause();
    await sleep(500);
    // The connection holds a quarter of the backup at most: it is waiting, not done.
    expect(logged.slice(mark)).to.deep.equal([]);
    const second = await get("admin");
    const body = JSON.parse(Buffer.concat(await second.toArray()).toString("utf8"));
    expect([second.statusCode, body.error.code]).to.deep.equal([409, "backup_running"]);

    slow.destroy();
    for (let i = 0; i < 50 && logged.length === mark; i++) await sleep(50);
    expect(logged.slice(mark)).to.deep.equal(["warn backup abandoned: the client went away"]);

    const next = await get("admin");
    expect(next.statusCode).to.equal(200);
    expect((await readBackup(next)).trailer.entries).to.equal(ENTRIES);
  });

  it("lets go of a client that reads nothing for the idle time, freeing the snapshot for the next backup", async function () {
    if (!STALLS) this.skip(); // this host's TCP buffers would hold more than a 64 MB backup
    const warnings: string[] = [];
    const quiet = {
      info: () => undefined,
      error: () => undefined,
      warn: (a: unknown, b?: string) => warnings.push(`${b ?? a}`),
    };
    const app = express();
    app.use((_req, res, next) => {
      res.locals.caller = { kind: "admin" } as Caller;
      next();
    });
    app.use("/api/v1", adminRoutes(store, quiet as unknown as Logger, { idleMs: 300 }));
    app.use(errorMiddleware(quiet as unknown as Logger));
    const idleServer = app.listen(0, "127.0.0.1");
    await once(idleServer, "listening");
    const url = `http://127.0.0.1:${(idleServer.address() as AddressInfo).port}/api/v1/admin/backup`;
    const fetchBackup = () =>
      new Promise<IncomingMessage>((resolve, reject) => http.get(url, { agent: false }, resolve).on("error", reject));
    try {
      const stalled = await fetchBackup();
      expect(stalled.statusCode).to.equal(200);
      stalled.pause();
      const closed = once(stalled, "close");
      for (let i = 0; i < 60 && warnings.length === 0; i++) await sleep(50);
      expect(warnings).to.deep.equal(["backup abandoned: the client went away"]);
      stalled.destroy();
      await closed;
      const next = await fetchBackup();
      expect(next.statusCode).to.equal(200);
      expect((await readBackup(next)).trailer.entries).to.equal(ENTRIES);
    } finally {
      idleServer.closeAllConnections();
      await new Promise((resolve) => idleServer.close(resolve));
    }
  });
});
