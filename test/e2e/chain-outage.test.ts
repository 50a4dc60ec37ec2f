/**
 * The chain process killed under a running YuTrace (`npm start`'s own `hardhat node`, SIGKILL by
 * its PID), and its port held by this test for a while so the chain stays away: writes that need
 * the chain answer 503 with Retry-After, event submissions are still accepted into the journal,
 * /readyz says not ready; once the port is free the gateway starts a new node, replays its txlog
 * onto it, and every event — from before and during the outage — ends anchored, its proof
 * checked against the new chain without trusting the gateway. Then the gateway itself is killed with
 * SIGKILL: its chain goes with it (nothing is left holding the port) and it starts again on the
 * same folder with everything there.
 */
import { once } from "node:events";
import net from "node:net";
import { expect } from "chai";

import {
  api,
  connectChain,
  freshLocation,
  killYuTrace,
  ourChainNodes,
  readAdminApiKey,
  removeDataDir,
  startYuTrace,
  stopYuTrace,
  verifyEventOnChain,
  waitUntilAnchored,
  type YuTraceProcess,
} from "../helpers/e2e";
import { LOAD_GTIN, readings, registerLot, setUpProducer, type Accepted, type LoadSetup } from "../helpers/load";

/** Listens on 127.0.0.1:`port` (retrying while it is still taken) and cuts every connection. */
async function holdPort(port: number, timeoutMs = 5000): Promise<net.Server> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const server = net.createServer((socket) => socket.destroy());
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve());
      });
      return server;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

async function closeServer(server: net.Server | undefined): Promise<void> {
  if (!server?.listening) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe("end to end: the chain process killed under a running YuTrace", function () {
  this.timeout(240_000);

  let location: Awaited<ReturnType<typeof freshLocation>> | undefined;
  let yt: YuTraceProcess | undefined;
  let blocker: net.Server | undefined;
  let adminKey: string;
  let setup: LoadSetup;
  const accepted: string[] = [];

  const submit = async (first: number, count: number) => {
    const res = await api<Accepted>(yt!, "POST", "/api/v1/events", {
      key: setup.apiKey,
      body: { events: readings(setup, first, count) },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    accepted.push(...res.body.events.map((e) => e.eventId));
    return res.body;
  };

  before(async function () {
    location = await freshLocation();
    yt = await startYuTrace({ ...location, logLevel: "info", env: { YUTRACE_DEMO_DATA: "false" } });
    adminKey = await readAdminApiKey(location.dataDir);
    setup = await setUpProducer(yt, adminKey, "OUTAGE01");
    await submit(0, 20);
    await waitUntilAnchored(yt, setup.apiKey, setup.batchId);
  });

  after(async function () {
    await closeServer(blocker);
    await killYuTrace(yt);
    await removeDataDir(location?.dataDir);
  });

  it("answers 503 for chain writes, keeps journaling events, and replays onto a new chain once it can", async function () {
    const [chainPid, ...others] = ourChainNodes(yt!);
    expect(chainPid, "the hardhat node of this start").to.be.a("number");
    expect(others).to.deep.equal([]);
    process.kill(chainPid!, "SIGKILL");
    blocker = await holdPort(yt!.chainPort);

    // Writes that need the chain: a clear 503 with Retry-After.
    const registered = await fetch(`${yt!.url}/api/v1/batches`, {
      method: "POST",
      headers: { authorization: `Bearer ${setup.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        gtin: LOAD_GTIN,
        lot: "OUTAGE02",
        quantity: { value: 10, unit: "XBX" },
        productionDate: new Date().toISOString().slice(0, 10),
      }),
    });
    const registeredBody = (await registered.json()) as { error: { code: string } };
    expect(registered.status, JSON.stringify(registeredBody)).to.equal(503);
    expect(registeredBody.error.code).to.equal("chain_unavailable");
    expect(registered.headers.get("retry-after")).to.equal("5");

    // Event submissions are still accepted, and stay pending.
    const during = [await submit(1000, 50), await submit(2000, 50), await submit(3000, 50)];
    const ready = await api<{ status: string; chainReachable: boolean }>(yt!, "GET", "/readyz");
    expect(ready.status).to.equal(503);
    expect(ready.body.chainReachable).to.equal(false);
    const pending = await api<{ status: string }>(yt!, "GET", `/api/v1/submissions/${during[0]!.submission.id}`, {
      key: setup.apiKey,
    });
    expect(pending.body.status).to.equal("pending");

    // The gateway keeps trying to bring the chain back while the port is taken.
    await waitForLog(yt!, "the local chain could not be started again; retrying", 20_000);

    await closeServer(blocker);
    await waitForLog(yt!, "the local chain is back", 60_000);

    // Everything accepted, before and during the outage, ends anchored, exactly once.
    const events = await waitUntilAnchored(yt!, setup.apiKey, setup.batchId, 60_000);
    const ids = events.map((e) => e.eventId);
    expect(new Set(ids).size, "no event listed twice").to.equal(ids.length);
    expect([...ids].sort()).to.deep.equal([...accepted].sort());

    // Proofs checked against the new chain itself.
    const [newChainPid] = ourChainNodes(yt!);
    expect(newChainPid).to.be.a("number").and.not.equal(chainPid);
    const chain = await connectChain(yt!);
    try {
      for (const view of pick(events, 12)) await verifyEventOnChain(view, chain, "producer");
    } finally {
      chain.provider.destroy();
    }

    // The chain takes writes again, and the gateway is ready.
    const batchId = await registerLot(yt!, setup.apiKey, "OUTAGE02");
    expect(batchId).to.match(/^0x[0-9a-f]{64}$/);
    const readyAgain = await api<{ status: string }>(yt!, "GET", "/readyz");
    expect(readyAgain.status, JSON.stringify(readyAgain.body)).to.equal(200);
    const report = await api<{ verdict: string }>(yt!, "GET", `/api/v1/batches/${setup.batchId}/verification`, {
      key: setup.apiKey,
    });
    expect(report.status).to.equal(200);
    expect(report.body.verdict).to.equal("verified");
  });

  it("stops the replayed chain with itself", async function () {
    const { code } = await stopYuTrace(yt!);
    expect(code).to.equal(0);
    expect(ourChainNodes(yt!)).to.deep.equal([]);
  });

  it("takes its chain with it when killed with SIGKILL, and starts again on the same folder", async function () {
    yt = await startYuTrace({ ...location!, logLevel: "info", env: { YUTRACE_DEMO_DATA: "false" } });
    const [chainPid] = ourChainNodes(yt);
    expect(chainPid, "the new start's hardhat node").to.be.a("number");
    const exited = once(yt.child, "exit");
    yt.child.kill("SIGKILL");
    await exited;
    // Nothing of the gateway's ran on the kill: its node notices the gateway is gone by itself.
    const deadline = Date.now() + 10_000;
    while (ourChainNodes(yt).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(ourChainNodes(yt), "hardhat nodes left on the chain port").to.deep.equal([]);

    yt = await startYuTrace({ ...location!, logLevel: "info", env: { YUTRACE_DEMO_DATA: "false" } });
    const events = await waitUntilAnchored(yt, setup.apiKey, setup.batchId, 60_000);
    expect(events.map((e) => e.eventId).sort()).to.deep.equal([...accepted].sort());
    const report = await api<{ verdict: string }>(yt, "GET", `/api/v1/batches/${setup.batchId}/verification`, {
      key: setup.apiKey,
    });
    expect(report.body.verdict).to.equal("verified");
    expect((await stopYuTrace(yt)).code).to.equal(0);
  });
});

function pick<T>(items: T[], count: number): T[] {
  const step = Math.max(1, Math.floor(items.length / count));
  return items.filter((_, i) => i % step === 0).slice(0, count);
}

async function waitForLog(yt: YuTraceProcess, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!yt.output().includes(text)) {
    if (Date.now() > deadline) throw new Error(`no "${text}" in YuTrace's log within ${timeoutMs} ms:\n${yt.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
