/**
 * `npm run reindex`: the index rebuilt from the chain and the journal equals the one the running
 * gateway built, record for record — after the derived records were damaged or deleted. And the
 * lighter refresh start-up runs after a replay gives the same index as a full rebuild.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { promisify } from "node:util";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import pino from "pino";

import { freePort, startLocalNode } from "../../server/chain/local-node";
import { replayTxLog } from "../../server/chain/txlog";
import { loadConfig } from "../../server/config";
import { loadDemoData } from "../../server/demo/load";
import { startGateway, type Gateway } from "../../server/gateway";
import { rebuildIndex, refreshAfterReplay } from "../../server/index/rebuild";
import { readEvents } from "../../server/store/events";
import { keys } from "../../server/store/keys";
import type { AnchorOnChain, ChainIdentity, SubmissionAnchor, SubmissionHeader } from "../../server/store/records";
import { Store, type Operation } from "../../server/store/store";
import { eventsOf } from "../../server/services/ingest";

/** Everything the index holds, sublevel by sublevel (undo logs and block hashes aside). */
async function indexSnapshot(store: Store): Promise<Record<string, [string, unknown][]>> {
  const snapshot: Record<string, [string, unknown][]> = {};
  for (const name of ["events", "batches", "products", "orgs", "anchors"] as const) {
    snapshot[name] = (await store[name].iterator().all()) as [string, unknown][];
  }
  snapshot.eventBodies = await store.eventBodies.iterator().all();
  return snapshot;
}

describe("rebuilding the index from the chain and the journal", function () {
  this.timeout(180_000);
  let dir: string;
  let gateway: Gateway;

  before(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), "yutrace-rebuild-"));
    const config = loadConfig({
      YUTRACE_DATA_DIR: dir,
      YUTRACE_PORT: String(await freePort()),
      YUTRACE_CHAIN_PORT: String(await freePort()),
      YUTRACE_ANCHOR_INTERVAL_MS: "200",
    });
    gateway = await startGateway(config, { logger: pino({ level: "silent" }) });
    await loadDemoData(gateway);
    await gateway.anchorer.flush();
    await gateway.indexer.syncTo(await gateway.ledger.provider.getBlockNumber());
    await gateway.anchorer.stop();
    await gateway.indexer.stop();
  });

  after(async function () {
    await gateway?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("reproduces every event, batch, product, organisation and proof after they were deleted, from either journal form", async function () {
    const { store } = gateway;
    const before = await indexSnapshot(store);
    expect(before.events!.length).to.be.greaterThan(40);
    expect(before.anchors!.some(([key]) => key.startsWith("proof:"))).to.equal(true);

    // Submissions as older journals kept them, their event records gone: every third with its
    // events in its header, every third at `subev:`; the rest as now (the event records are the events).
    const headers = (await store.journal.iterator(keys.submissionRange).all()) as [string, SubmissionHeader][];
    expect(headers.length).to.be.greaterThan(5);
    const legacy: Operation[] = [];
    // No journal before the compact event records had submission infos (`subinfo:`): none left,
    // also for the submissions as now, whose records are then read with their headers' fields.
    legacy.push(...headers.map(([, header]) => Store.del(store.journal, keys.submissionInfo(header.seq))));
    for (const [i, [key, header]] of headers.entries()) {
      if (i % 3 === 2) continue;
      const events = await eventsOf(store, header);
      expect(events).to.have.length(header.count);
      legacy.push(
        i % 3 === 0
          ? Store.put(store.journal, key, { ...header, events })
          : Store.put(store.journal, keys.submissionEvents(header.seq), events),
        ...header.eventIds.map((id) => Store.del(store.events, keys.event(id))),
      );
      await store.eventBodies.clear(keys.eventBodiesOf(header.seq));
    }
    await store.write(legacy);

    // Delete every derived record; metadata, reason texts, issued serials and event records are sources.
    const sources = ["meta:", "reason:", "item:", "itemlist:", "itemtree:", "evt:"];
    for (const name of ["events", "batches", "products", "anchors"] as const) {
      const derived = (await store[name].keys().all()).filter((key) => !sources.some((p) => key.startsWith(p)));
      await store.write(derived.map((key) => Store.del(store[name], key)));
    }
    const left = (await indexSnapshot(store)).events!.map(([key]) => key);
    expect(left.length).to.be.greaterThan(0);
    expect(left.every((key) => key.startsWith("evt:"))).to.equal(true);

    const identity = (await store.meta.get(keys.chain())) as ChainIdentity;
    const stages = new Set<string>();
    const result = await rebuildIndex(store, gateway.ledger.provider, identity, (p) => stages.add(p.stage));
    expect(result.submissions).to.equal((await store.journal.keys(keys.submissionRange).all()).length);
    expect([...stages]).to.deep.equal(["chain", "events", "anchors"]);
    expect(await indexSnapshot(store)).to.deep.equal(before);
    for (const [, header] of headers) {
      expect(await store.journal.get(keys.submissionInfo(header.seq))).to.deep.equal({
        orgId: header.orgId,
        acceptedAt: header.acceptedAt,
      });
      const records = await readEvents(store, header.eventIds);
      expect(records.map((r) => [r!.eventId, r!.orgId, r!.recordTime])).to.deep.equal(
        header.eventIds.map((id) => [id, header.orgId, header.acceptedAt]),
      );
    }
  });

  it("runs as `npm run reindex` on a stopped gateway: replays the local chain and rebuilds the same events", async function () {
    const { store } = gateway;
    const events = await store.events.iterator().all();
    const statuses = (await store.batches.values({ gte: "batch:", lt: "batch;" }).all()).map(
      (b: { batchId: string; status: string }) => [b.batchId, b.status],
    );
    await gateway.stop();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [require.resolve("ts-node/dist/bin.js"), "--transpile-only", "scripts/reindex.ts"],
      {
        cwd: path.join(__dirname, "..", ".."),
        env: { ...process.env, YUTRACE_DATA_DIR: dir, YUTRACE_CHAIN_PORT: String(await freePort()) },
      },
    );
    expect(stdout).to.contain("replaying the transaction log onto the local chain");
    expect(stdout).to.match(/index rebuilt in [\d.]+ s: \d+ submissions, \d+ anchors/);

    const reopened = await Store.open(path.join(dir, "store"));
    try {
      expect(await reopened.events.iterator().all()).to.deep.equal(events);
      const after = (await reopened.batches.values({ gte: "batch:", lt: "batch;" }).all()).map(
        (b: { batchId: string; status: string }) => [b.batchId, b.status],
      );
      expect(after).to.deep.equal(statuses);
    } finally {
      await reopened.close();
    }
  });

  it("after a replay onto a new chain, refreshes only what came from the chain and ends with the index a full rebuild gives", async function () {
    // The gateway was stopped by the previous test; its store is as `npm run reindex` left it.
    const store = await Store.open(path.join(dir, "store"));
    const node = await startLocalNode({ port: await freePort() });
    const provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    try {
      const identity = (await store.meta.get(keys.chain())) as ChainIdentity;
      const before = await indexSnapshot(store);
      await replayTxLog(store, provider);

      const result = await refreshAfterReplay(store, provider, identity);
      expect(result.submissions).to.equal((await store.journal.keys(keys.submissionRange).all()).length);
      expect(result.anchors).to.be.greaterThan(0);
      const refreshed = await indexSnapshot(store);
      // The records derived from the journal's events are kept as they were.
      expect(refreshed.events).to.deep.equal(before.events);
      const custody = (snapshot: typeof before) => snapshot.batches!.filter(([key]) => key.startsWith("state:"));
      expect(custody(refreshed)).to.deep.equal(custody(before));
      // Every proof carries its anchor's time on the new chain.
      const proofs = refreshed.anchors!.filter(([key]) => key.startsWith("proof:")) as [string, SubmissionAnchor][];
      expect(proofs).to.have.length(result.submissions);
      for (const [, proof] of proofs) {
        const onChain = (await store.anchors.get(keys.anchorOnChain(proof.root))) as AnchorOnChain;
        const block = await provider.getBlock(proof.block);
        expect(proof.blockTime).to.equal(onChain.blockTime);
        expect(proof.blockTime).to.equal(new Date(block!.timestamp * 1000).toISOString());
      }

      await rebuildIndex(store, provider, identity);
      expect(await indexSnapshot(store)).to.deep.equal(refreshed);
    } finally {
      provider.destroy();
      await node.stop();
      await store.close();
    }
  });
});
