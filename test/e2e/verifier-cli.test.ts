/**
 * `npm run verify` as a process: it downloads a demo batch's evidence from a real gateway and checks
 * it against the gateway's `hardhat node` through JSON-RPC. It passes for the demo batches, reports
 * the recall it reads from the chain, and exits non-zero once a stored event was tampered with, when
 * pinned to another ledger, or when it cannot reach the chain.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { expect } from "chai";

import { freePort } from "../../server/chain/local-node";
import { batchIdOf } from "../../server/domain/batch-id";
import { parseDigitalLink } from "../../server/domain/digital-link";
import { loadDemoData } from "../../server/demo/load";
import { keys } from "../../server/store/keys";
import type { StoredEventRecord } from "../../server/store/events";
import { quiesce, startTestGateway, type TestGateway } from "../helpers/gateway";

const ROOT = path.resolve(__dirname, "..", "..");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs scripts/verify.ts as `npm run verify` does (sucrase's require hook: starts in half ts-node's time). */
function verify(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["-r", "sucrase/register", path.join(ROOT, "scripts", "verify.ts"), ...args],
      { cwd: ROOT, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("independent verifier (npm run verify)", function () {
  this.timeout(180_000);
  let t: TestGateway;
  let links: Map<string, string>;
  let rpc: string;

  before(async function () {
    t = await startTestGateway();
    links = new Map((await loadDemoData(t.gateway)).links);
    await quiesce(t.gateway);
    rpc = t.gateway.chainUrl;
  });

  after(async function () {
    await t?.stop();
  });

  it("verifies the demo hotpot base batch and its inputs against the chain and exits 0", async function () {
    const run = await verify([
      links.get("hotpot base batch")!,
      "--rpc",
      rpc,
      "--ledger",
      t.gateway.ledger.address,
      "--ancestors",
    ]);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.match(/Verdict: VERIFIED — \d+ passed, 0 failed, 0 pending/);
    expect(run.stdout).to.contain(`ledger ${t.gateway.ledger.address}`);
    expect(run.stdout).to.not.contain("pin it with --ledger");
  });

  it("reads a recall from the chain: the recalled lot and a batch made from it", async function () {
    const recalled = await verify([links.get("recalled chili lot")!, "--rpc", rpc]);
    expect(recalled.code, recalled.stdout + recalled.stderr).to.equal(0);
    expect(recalled.stdout).to.contain("status recalled");
    expect(recalled.stdout).to.contain("THIS BATCH IS RECALLED (on-chain)");
    expect(recalled.stdout).to.contain("pin it with --ledger");
    const affected = await verify([links.get("affected by a recall")!, "--rpc", rpc, "--json"]);
    expect(affected.code, affected.stdout + affected.stderr).to.equal(0);
    const report = JSON.parse(affected.stdout);
    expect(report.verdict).to.equal("verified");
    const chili = parseDigitalLink(new URL(links.get("recalled chili lot")!).pathname)!;
    expect(report.recalledAncestors.map((a: { batchId: string }) => a.batchId)).to.deep.equal([
      batchIdOf(chili.gtin, chili.lot),
    ]);
  });

  it("fails (exit 1) and names the event after a stored event body is altered", async function () {
    const link = links.get("hotpot base batch")!;
    const key = parseDigitalLink(new URL(link).pathname)!;
    const batchId = batchIdOf(key.gtin, key.lot);
    const [eventId] = (await t.gateway.store.events.values(keys.batchEventRange(batchId)).all()) as string[];
    const record = (await t.gateway.store.events.get(keys.event(eventId!))) as StoredEventRecord;
    const bodyKey = keys.eventBody(record.submissionSeq, record.index);
    const stored = (await t.gateway.store.eventBodies.get(bodyKey))!;
    const altered = JSON.parse(stored);
    altered.eventTime = altered.eventTime.replace(/T\d\d/, "T03");
    await t.gateway.store.eventBodies.put(bodyKey, JSON.stringify(altered));
    try {
      const run = await verify([link, "--rpc", rpc, "--ledger", t.gateway.ledger.address]);
      expect(run.code, run.stdout + run.stderr).to.equal(1);
      expect(run.stdout).to.match(/Verdict: FAILED — \d+ passed, 1 failed/);
      expect(run.stdout).to.contain(`${eventId!.slice(0, 10)}…`);
      expect(run.stdout).to.match(/✘ hash: the body hashes to 0x[0-9a-f]{64}, not to the event id/);
    } finally {
      await t.gateway.store.eventBodies.put(bodyKey, stored);
    }
    const again = await verify([link, "--rpc", rpc]);
    expect(again.code).to.equal(0);
  });

  it("fails (exit 1) when pinned to a ledger the gateway's evidence is not from", async function () {
    const run = await verify([links.get("hotpot base batch")!, "--rpc", rpc, "--ledger", `0x${"12".repeat(20)}`]);
    expect(run.code).to.equal(1);
    expect(run.stdout).to.contain("no TraceLedger at");
    expect(run.stdout).to.contain("Verdict: FAILED");
  });

  it("exits 2 with a clear message when it cannot verify at all", async function () {
    const link = links.get("hotpot base batch")!;
    const deadRpc = await verify([link, "--rpc", `http://127.0.0.1:${await freePort()}`]);
    expect(deadRpc.code).to.equal(2);
    expect(deadRpc.stderr).to.match(/^error: /m);
    const usage = await verify([link]);
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.contain("give --rpc");
    const notALink = await verify([`${t.url}/products/123`, "--rpc", rpc]);
    expect(notALink.code).to.equal(2);
    expect(notALink.stderr).to.contain("not a GS1 Digital Link");
    const real = parseDigitalLink(new URL(link).pathname)!;
    const unknown = await verify([`${t.url}/01/${real.gtin}/10/NO-SUCH-LOT`, "--rpc", rpc]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.contain("does not know this batch");
  });
});
