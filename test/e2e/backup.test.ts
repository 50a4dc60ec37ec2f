/**
 * Backups end to end, with the real parts: YuTrace started as `npm start` starts it (its own
 * `hardhat node`, free ports, a temp data folder) with the demo data; `npm run backup` run as a
 * process while a retailer keeps submitting events; YuTrace stopped; `npm run restore` into a new
 * folder; YuTrace started on it (new ports, new chain: the txlog is replayed). Then every batch in
 * the backup verifies with the independent verifier against the new chain, every event answered
 * 202 before the backup's snapshot time is there, none sent after it is, and the certificate bytes
 * come back whole. Also: a truncated or altered file, or a store that is not empty, is refused by
 * restore, which then writes nothing; a backup with a wrong key, or of a gateway that is down,
 * fails with its exit code and a clear message.
 *
 * The `it`s run in order.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { access, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Level } from "level";

import { freePort } from "../../server/chain/local-node";
import { batchIdOf } from "../../server/domain/batch-id";
import { batchUri } from "../../server/domain/digital-link";
import type { EventView } from "../../server/services/queries";
import { readBackup, type BackupSummary } from "../../server/store/backup";
import type { BatchRecord } from "../../server/store/records";
import {
  PROJECT_ROOT,
  allBatchEvents,
  api,
  freshLocation,
  killYuTrace,
  readAdminApiKey,
  readDemoApiKeys,
  removeDataDir,
  startYuTrace,
  stopYuTrace,
  type YuTraceProcess,
} from "../helpers/e2e";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `npm run <script> -- <args>` as a process group of its own, killed (by its id) if it overruns. */
function npmRun(script: string, args: string[], timeoutMs = 120_000): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", "--silent", script, "--", ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, YUTRACE_ADMIN_API_KEY: "", YUTRACE_DATA_DIR: "" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Every entry of a backup file, keys as text, with its summary. */
async function readBackupFile(file: string): Promise<{ summary: BackupSummary; entries: Map<string, Buffer> }> {
  const entries = new Map<string, Buffer>();
  const summary = await readBackup(createReadStream(file) as AsyncIterable<Buffer>, {
    onEntries: (batch) => {
      for (const [key, value] of batch) entries.set(key.toString("utf8"), value);
    },
  });
  return { summary, entries };
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );
const cst = (ms: number) => `${new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19)}+08:00`;
const DAY_MS = 86_400_000;

interface Sent {
  eventIds: string[];
  bodies: unknown[];
  sentAt: number;
  answeredAt: number;
  status: number;
}

describe("backups: npm run backup while YuTrace runs, npm run restore into a new folder, every proof verifies", function () {
  this.timeout(600_000);

  let work: string;
  let source: { dataDir: string; port: number; chainPort: number } | undefined;
  let target: { dataDir: string; port: number; chainPort: number } | undefined;
  let first: YuTraceProcess | undefined;
  let second: YuTraceProcess | undefined;
  let adminKey: string;
  let demoKeys: Record<string, string>;
  let hotpotLink: string;
  let backupFile: string;
  let backup: { summary: BackupSummary; entries: Map<string, Buffer> };
  const sent: Sent[] = [];

  before(async function () {
    work = await mkdtemp(path.join(os.tmpdir(), "yutrace-backups-"));
    source = await freshLocation();
    first = await startYuTrace(source);
    adminKey = await readAdminApiKey(source.dataDir);
    demoKeys = await readDemoApiKeys(source.dataDir);
    const link = /^ {2}hotpot base batch\s+(http\S+)$/m.exec(first.output())?.[1];
    expect(link, "the printed hotpot base batch link").to.be.a("string");
    hotpotLink = batchUri(`http://localhost:${source.port}`, parseLink(link!));
  });

  after(async function () {
    await killYuTrace(first);
    await killYuTrace(second);
    await removeDataDir(source?.dataDir);
    await removeDataDir(target?.dataDir);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("refuses a wrong key (exit 4), an organisation's key (exit 4) and a gateway that is down (exit 3), writing nothing", async function () {
    const wrongKey = path.join(work, "wrong-key.txt");
    await writeFile(wrongKey, `ytk_${"A".repeat(43)}\n`);
    const out = path.join(work, "refused", "x.ytbak");
    const wrong = await npmRun("backup", ["--url", first!.url, "--api-key-file", wrongKey, "--out", out]);
    expect(wrong.code, wrong.stdout + wrong.stderr).to.equal(4);
    expect(wrong.stderr).to.contain("the gateway refused the API key (401 invalid_api_key");
    expect(wrong.stderr).to.contain("needs the platform admin's key");

    const regulatorKey = path.join(work, "regulator-key.txt");
    await writeFile(regulatorKey, demoKeys.regulator!);
    const org = await npmRun("backup", ["--url", first!.url, "--api-key-file", regulatorKey, "--out", out]);
    expect(org.code, org.stdout + org.stderr).to.equal(4);
    expect(org.stderr).to.contain("(403 admin_required");

    const down = `http://127.0.0.1:${await freePort()}`;
    const adminKeyFile = path.join(source!.dataDir, "admin-api-key.txt");
    const unreachable = await npmRun("backup", ["--url", down, "--api-key-file", adminKeyFile, "--out", out]);
    expect(unreachable.code, unreachable.stdout + unreachable.stderr).to.equal(3);
    expect(unreachable.stderr).to.contain(`cannot reach the gateway at ${down}`);
    expect(await readdir(path.join(work, "refused")).catch(() => [])).to.deep.equal([]);

    const http = await api<{ error: { code: string } }>(first!, "GET", "/api/v1/admin/backup", {
      key: demoKeys.hotpotCo,
    });
    expect([http.status, http.body.error.code]).to.deep.equal([403, "admin_required"]);
    expect((await api(first!, "GET", "/api/v1/admin/backup")).status).to.equal(401);
  });

  it("backs up the running gateway with npm run backup while a retailer keeps submitting events", async function () {
    backupFile = path.join(work, "backups", "demo.ytbak");
    const base = Date.now() - DAY_MS;
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    let n = 0;
    let backupDone = false;
    let sentAfterBackup = 0;
    const submitOne = async () => {
      const from = n;
      n += 4;
      const bodies = [0, 1, 2, 3].map((k) => ({
        type: "ObjectEvent",
        action: "OBSERVE",
        bizStep: "retail_selling",
        eventTime: cst(base + (from + k) * 1000),
        eventTimeZoneOffset: "+08:00",
        quantityList: [{ epcClass: hotpotLink, quantity: 1, uom: "XBX" }],
        disposition: "retail_sold",
        bizLocation: { district: "渝中区", name: "解放碑店" },
      }));
      const sentAt = Date.now();
      const res = await api<{ events: { eventId: string }[] }>(first!, "POST", "/api/v1/events", {
        key: demoKeys.supermarket,
        body: { events: bodies },
      });
      sent.push({
        eventIds: res.status === 202 ? res.body.events.map((e) => e.eventId) : [],
        bodies,
        sentAt,
        answeredAt: Date.now(),
        status: res.status,
      });
    };
    // Bounded: at most 200 submissions of 4 events, one every ~25 ms, until 3 were sent after the backup.
    const submitter = (async () => {
      for (let i = 0; i < 200 && sentAfterBackup < 3; i++) {
        const afterBackup = backupDone;
        await submitOne();
        if (afterBackup) sentAfterBackup++;
        await sleep(25);
      }
    })();
    // The backup starts once submissions are flowing (the first one starts the prepare workers).
    const deadline = Date.now() + 60_000;
    while (sent.length < 3 && Date.now() < deadline) await sleep(50);
    const adminKeyFile = path.join(source!.dataDir, "admin-api-key.txt");
    const run = await npmRun("backup", ["--url", first!.url, "--api-key-file", adminKeyFile, "--out", backupFile]);
    backupDone = true;
    await submitter;

    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.match(/backup written: .*demo\.ytbak/);
    expect(run.stdout).to.match(/\d[\d,]* entries \(.*journal [\d,]+.*\)/);
    expect(run.stdout).to.match(/bytes \([\d.]+ MB\) in [\d.]+ s/);
    expect(
      sent.every((s) => s.status === 202),
      JSON.stringify(sent.map((s) => s.status)),
    ).to.equal(true);
    expect(await readdir(path.dirname(backupFile))).to.deep.equal(["demo.ytbak"]);

    backup = await readBackupFile(backupFile);
    const { header } = backup.summary;
    const createdAt = Date.parse(header.createdAt);
    const before = sent.filter((s) => s.answeredAt < createdAt);
    const after = sent.filter((s) => s.sentAt > createdAt);
    console.log(
      `      npm run backup: ${run.ms} ms; ${sent.length} submissions sent meanwhile: ${before.length} answered ` +
        `before the snapshot, ${after.length} sent after it, ${sent.length - before.length - after.length} in flight`,
    );
    expect(before.length, "submissions answered before the snapshot").to.be.greaterThan(0);
    expect(after.length, "submissions sent after the snapshot").to.be.greaterThan(0);
    const has = (eventId: string) => backup.entries.has(`!events!evt:${eventId}`);
    for (const s of before) expect(s.eventIds.every(has), `answered 202 before ${header.createdAt}`).to.equal(true);
    for (const s of after) expect(s.eventIds.some(has), `sent after ${header.createdAt}`).to.equal(false);
    // A submission in flight at the snapshot is in the backup whole, or not at all.
    for (const s of sent) expect(new Set(s.eventIds.map(has)).size, "one submission, one write").to.equal(1);
    expect(header.chain!.ledger).to.equal(
      (await api<{ address: string }>(first!, "GET", "/api/v1/ledger")).body.address,
    );
  });

  it("refuses to restore into the data folder of the running gateway", async function () {
    const run = await npmRun("restore", [backupFile, "--data-dir", source!.dataDir]);
    expect(run.code, run.stdout + run.stderr).to.equal(1);
    expect(run.stderr).to.match(/refused: .*store already holds a store \(a gateway may be running on it\)/);
    expect(run.stderr).to.contain("nothing was written");
  });

  it("stops YuTrace", async function () {
    const { code } = await stopYuTrace(first!);
    expect(code).to.equal(0);
  });

  it("refuses a truncated file and a file with one byte altered, with a clear message, writing nothing", async function () {
    const bytes = await readFile(backupFile);
    const truncated = path.join(work, "truncated.ytbak");
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const cut = await npmRun("restore", [truncated, "--data-dir", path.join(work, "from-truncated")]);
    expect(cut.code, cut.stdout + cut.stderr).to.equal(1);
    expect(cut.stderr).to.match(
      /refused: .*truncated\.ytbak: the file ends in the middle of an entry.*it is truncated/,
    );
    expect(cut.stderr).to.contain("Nothing was written");
    expect(await exists(path.join(work, "from-truncated", "store"))).to.equal(false);
    expect(await exists(path.join(work, "from-truncated", "store.restoring"))).to.equal(false);

    const altered = Buffer.from(bytes);
    altered[bytes.indexOf('"bizStep"') + 2]! ^= 0x01;
    const flipped = path.join(work, "flipped.ytbak");
    await writeFile(flipped, altered);
    const bad = await npmRun("restore", [flipped, "--data-dir", path.join(work, "from-flipped")]);
    expect(bad.code, bad.stdout + bad.stderr).to.equal(1);
    expect(bad.stderr).to.match(/refused: .*flipped\.ytbak: its content does not match its checksum/);
    expect(bad.stderr).to.contain("Nothing was written");
    expect(await exists(path.join(work, "from-flipped", "store"))).to.equal(false);
  });

  it("refuses to restore into a data folder whose store is not empty", async function () {
    const listing = async () => (await readdir(path.join(source!.dataDir, "store"))).sort();
    const before = await listing();
    const run = await npmRun("restore", [backupFile, "--data-dir", source!.dataDir]);
    expect(run.code, run.stdout + run.stderr).to.equal(1);
    expect(run.stderr).to.match(/refused: .*store already holds a store .*Restore only into a new data folder/);
    expect(await exists(path.join(source!.dataDir, "store.restoring"))).to.equal(false);
    expect(await listing()).to.deep.equal(before);
  });

  it("restores into a new folder with npm run restore", async function () {
    target = await freshLocation();
    // A store that was created but holds nothing (a gateway that never got going) may be replaced.
    const empty = new Level(path.join(target.dataDir, "store"));
    await empty.open();
    await empty.close();
    const run = await npmRun("restore", [backupFile, "--data-dir", target.dataDir]);
    console.log(`      npm run restore: ${run.ms} ms`);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.contain(`restored ${backup.summary.trailer.entries.toLocaleString("en-US")} entries`);
    expect(run.stdout).to.contain("YUTRACE_KEY_ENCRYPTION_KEY");
    expect(await readdir(target.dataDir)).to.deep.equal(["store"]);
  });

  it("starts on the restored folder (new ports): the txlog is replayed onto the new chain, the old keys work", async function () {
    second = await startYuTrace({ ...target!, logLevel: "info" });
    const output = second.output();
    expect(output).to.contain("the local chain is new: replaying the transaction log");
    expect(output).to.not.contain("loading the Chongqing demo dataset");
    expect(output).to.not.contain("TraceLedger deployed");
    const ledger = await api<{ chainId: string; address: string; deployBlock: number }>(
      second,
      "GET",
      "/api/v1/ledger",
    );
    expect(ledger.body).to.deep.equal({
      chainId: backup.summary.header.chain!.chainId,
      address: backup.summary.header.chain!.ledger,
      deployBlock: backup.summary.header.chain!.deployBlock,
    });
    // The admin key file is not in the backup: a new one was made; the old key is in the store and works.
    const newAdminKey = await readAdminApiKey(target!.dataDir);
    expect(newAdminKey).to.not.equal(adminKey);
    for (const key of [adminKey, newAdminKey, demoKeys.supermarket!]) {
      expect((await api(second, "GET", `/api/v1/batches/${batchIdOfLink(hotpotLink)}`, { key })).status).to.equal(200);
    }
  });

  it("serves every event answered 202 before the snapshot, with its body; none sent after it", async function () {
    const createdAt = Date.parse(backup.summary.header.createdAt);
    for (const s of sent.filter((x) => x.answeredAt < createdAt)) {
      for (const [i, eventId] of s.eventIds.entries()) {
        const view = await api<EventView>(second!, "GET", `/api/v1/events/${eventId}`, { key: adminKey });
        expect(view.status, eventId).to.equal(200);
        expect(view.body.event).to.deep.equal(s.bodies[i]);
      }
    }
    for (const s of sent.filter((x) => x.sentAt > createdAt)) {
      const view = await api(second!, "GET", `/api/v1/events/${s.eventIds[0]}`, { key: adminKey });
      expect(view.status).to.equal(404);
    }
    const backedUp = [...backup.entries.keys()].filter((k) => k.startsWith("!events!evt:")).length;
    expect(backedUp).to.be.greaterThan(21);
  });

  it("verifies every batch of the backup with npm run verify against the new chain, once every event is anchored", async function () {
    const batches = [...backup.entries]
      .filter(([key]) => key.startsWith("!batches!batch:"))
      .map(([, value]) => JSON.parse(value.toString("utf8")) as BatchRecord);
    expect(batches.length).to.be.greaterThanOrEqual(8);
    const ledger = backup.summary.header.chain!.ledger;
    let events = 0;
    for (const batch of batches) {
      const deadline = Date.now() + 30_000;
      let views = await allBatchEvents(second!, adminKey, batch.batchId);
      while (views.some((e) => e.status !== "anchored")) {
        expect(Date.now(), `events of ${batch.lot} anchored on the new chain`).to.be.below(deadline);
        await new Promise((resolve) => setTimeout(resolve, 250));
        views = await allBatchEvents(second!, adminKey, batch.batchId);
      }
      const backedUp = [...backup.entries.keys()].filter((k) => k.startsWith(`!events!be:${batch.batchId}:`)).length;
      expect(views.length, `events of ${batch.lot}`).to.equal(backedUp);
      events += views.length;
      const link = batchUri(second!.url, { gtin: batch.gtin, lot: batch.lot });
      const run = await npmRun("verify", [link, "--rpc", second!.chainUrl, "--ledger", ledger]);
      expect(run.code, `${batch.gtin}/${batch.lot}:\n${run.stdout}${run.stderr}`).to.equal(0);
      expect(run.stdout).to.match(/Verdict: VERIFIED — \d+ passed, 0 failed, 0 pending/);
    }
    console.log(`      ${batches.length} batches, ${events} events verified by npm run verify`);

    const hotpot = batchIdOfLink(hotpotLink);
    const report = await api<{ verdict: string; summary: { events: number; failed: number; pending: number } }>(
      second!,
      "GET",
      `/api/v1/batches/${hotpot}/verification?ancestors=true`,
      { key: adminKey },
    );
    expect(report.status).to.equal(200);
    expect(report.body.verdict).to.equal("verified");
    expect(report.body.summary).to.include({ failed: 0, pending: 0 });
    expect(report.body.summary.events).to.be.greaterThan(sent.length);
  });

  it("serves the backed-up certificate documents byte for byte", async function () {
    const documents = [...backup.entries].filter(([key]) => key.startsWith("!certificates!doc:"));
    expect(documents.length).to.be.greaterThan(0);
    for (const [key, value] of documents) {
      const sha256 = key.slice("!certificates!doc:".length);
      const res = await fetch(`${second!.url}/certificates/${sha256}`);
      expect(res.status).to.equal(200);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.equals(value)).to.equal(true);
      expect(createHash("sha256").update(body).digest("hex")).to.equal(sha256);
    }
  });

  it("stops the restored YuTrace", async function () {
    const { code } = await stopYuTrace(second!);
    expect(code).to.equal(0);
  });
});

function parseLink(link: string): { gtin: string; lot: string } {
  const match = /\/01\/(\d{14})\/10\/([^/?#]+)/.exec(link);
  expect(match, link).to.not.equal(null);
  return { gtin: match![1]!, lot: decodeURIComponent(match![2]!) };
}

function batchIdOfLink(link: string): string {
  const { gtin, lot } = parseLink(link);
  return batchIdOf(gtin, lot);
}
