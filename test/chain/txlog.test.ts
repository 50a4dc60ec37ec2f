/**
 * The txlog on real `hardhat node`s and a real LevelDB: a chain that is lost (the local chain lives
 * in memory) is rebuilt by replaying the log onto a fresh node — same address, same batches,
 * statuses and anchors; an unreachable node gives ChainUnavailableError and logs nothing; and a
 * broadcast lost on the way (before or after the node got it, or by a crash) ends mined, once,
 * with the same raw transaction. Faults come from a small HTTP proxy on 127.0.0.1 that cuts the
 * connection of an `eth_sendRawTransaction`.
 */
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { HDNodeWallet, JsonRpcProvider, id } from "ethers";

import { generateSigningKey } from "../../server/chain/custody";
import { ChainUnavailableError } from "../../server/chain/errors";
import { LedgerClient } from "../../server/chain/ledger-client";
import { startLocalNode, type LocalNode } from "../../server/chain/local-node";
import { deployLedgerLogged, replayTxLog, shouldReplay } from "../../server/chain/txlog";
import { gtin14, orgIdOf, uscc } from "../../server/domain/identifiers";
import { keys } from "../../server/store/keys";
import type { TxLogRecord } from "../../server/store/records";
import { Store } from "../../server/store/store";

const PHRASE = "test test test test test test test test test test test junk";
const admin = HDNodeWallet.fromPhrase(PHRASE);
const relayer = HDNodeWallet.fromPhrase(PHRASE, undefined, "m/44'/60'/0'/0/1");
const PRODUCER = orgIdOf(uscc("91500113203151718"));
const REGULATOR = orgIdOf(uscc("11500000MB1653215"));
const GTIN = { hotpotBase: BigInt(gtin14("0690388501001")), chili: BigInt(gtin14("0690388502002")) };
const ROOTS = [id("anchor 1"), id("anchor 2"), id("anchor 3")];

type CutMode = "pass" | "before-node" | "after-node";

/** Forwards JSON-RPC to the node; in a cut mode, hangs up on `eth_sendRawTransaction` before or after forwarding it. */
class CuttingProxy {
  mode: CutMode = "pass";
  private readonly server = http.createServer((req, res) => void this.forward(req, res));

  private constructor(readonly target: string) {}

  static async start(target: string): Promise<CuttingProxy> {
    const proxy = new CuttingProxy(target);
    proxy.server.listen(0, "127.0.0.1");
    await once(proxy.server, "listening");
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, "close");
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const sendsRaw = body.includes('"eth_sendRawTransaction"');
    if (sendsRaw && this.mode === "before-node") return void req.socket.destroy();
    const answer = await fetch(this.target, { method: "POST", headers: { "content-type": "application/json" }, body });
    const text = await answer.text();
    if (sendsRaw && this.mode === "after-node") return void req.socket.destroy();
    res.writeHead(answer.status, { "content-type": "application/json" }).end(text);
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the promise to reject");
}

const txlog = (store: Store) => store.values<TxLogRecord>(store.txlog, keys.txRange);

describe("txlog: write-ahead transaction log and replay", function () {
  this.timeout(120_000);
  let nodeA: LocalNode | undefined;
  let nodeB: LocalNode | undefined;
  let providerA: JsonRpcProvider;
  let providerB: JsonRpcProvider;
  let dir: string;
  let store: Store;
  let clientA: LedgerClient;
  let ledgerAddress: string;
  let batches: string[];
  let snapshot: unknown;

  /** Everything the replay must reproduce; registration and anchor times are the replay's own. */
  async function ledgerState(client: LedgerClient) {
    const { ledger } = client;
    return {
      organisations: await Promise.all(
        [PRODUCER, REGULATOR].map(async (o) => (await ledger.getOrganisation(o)).account),
      ),
      products: await Promise.all([GTIN.hotpotBase, GTIN.chili].map(async (g) => (await ledger.getProduct(g)).owner)),
      batches: await Promise.all(
        batches.map(async (b) => {
          const { producer, metadataHash, gtin, status, parents } = await ledger.getBatch(b);
          return {
            producer,
            metadataHash,
            gtin,
            status,
            parents: [...parents],
            ancestor: [...(await ledger.recalledAncestor(b))],
          };
        }),
      ),
      anchors: await Promise.all(
        ROOTS.map(async (r) => {
          const { seq, blockNumber, leafCount, eventCount } = await ledger.getAnchor(r);
          return { seq, blockNumber, leafCount, eventCount };
        }),
      ),
      anchorCount: await ledger.anchorCount(),
      producerNonce: await ledger.nonces((await ledger.getOrganisation(PRODUCER)).account),
    };
  }

  before(async function () {
    nodeA = await startLocalNode();
    providerA = new JsonRpcProvider(nodeA.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    dir = await mkdtemp(path.join(os.tmpdir(), "yutrace-txlog-"));
    store = await Store.open(path.join(dir, "store"));
  });

  after(async function () {
    providerA?.destroy();
    providerB?.destroy();
    await store?.close();
    await nodeA?.stop();
    await nodeB?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("records a working ledger on node A: deploy, organisations, batches, a hold, a recall, anchors", async function () {
    ({ address: ledgerAddress } = await deployLedgerLogged(store, providerA, admin, relayer));
    clientA = await LedgerClient.connect({ provider: providerA, store, ledgerAddress, admin, relayer });
    expect(await shouldReplay(store, providerA, ledgerAddress)).to.equal(false);
    const producer = generateSigningKey();
    const regulator = generateSigningKey();
    await clientA.registerOrganisation(PRODUCER, producer.address, ["producer"]);
    await clientA.registerOrganisation(REGULATOR, regulator.address, ["regulator"]);
    await clientA.registerProduct(producer, GTIN.chili, id("chili"));
    await clientA.registerProduct(producer, GTIN.hotpotBase, id("hotpot base"));
    const chili = await clientA.registerBatch(producer, GTIN.chili, "C-01", id("chili lot"), []);
    const hotpot = await clientA.registerBatch(producer, GTIN.hotpotBase, "H-01", id("hotpot lot"), [chili.batchId]);
    await clientA.holdBatch(producer, hotpot.batchId, id("inspection pending"));
    await clientA.recall(regulator, chili.batchId, id("aflatoxin above GB 2761"));
    for (const [i, root] of ROOTS.entries()) await clientA.anchor(root, i + 1, 10 * (i + 1));
    batches = [chili.batchId, hotpot.batchId];
    snapshot = await ledgerState(clientA);
    expect((await txlog(store)).length).to.equal(13);
  });

  it("throws ChainUnavailableError when the node is gone, and logs nothing", async function () {
    await nodeA!.stop();
    nodeA = undefined;
    const before = await txlog(store);
    const error = await rejection(clientA.anchor(id("while the node is down"), 1, 1));
    expect(error).to.be.instanceOf(ChainUnavailableError);
    expect((error as ChainUnavailableError).txHash).to.equal(null);
    expect(await clientA.isReachable(500)).to.equal(false);
    expect(await txlog(store)).to.deep.equal(before);
  });

  it("replays the txlog onto a fresh node B: same address, same ledger state", async function () {
    nodeB = await startLocalNode();
    providerB = new JsonRpcProvider(nodeB.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    expect(await shouldReplay(store, providerB, ledgerAddress)).to.equal(true);
    const progress: [number, number][] = [];
    const result = await replayTxLog(store, providerB, { onProgress: (done, total) => progress.push([done, total]) });

    expect(result).to.deep.equal({ replayed: 13, reverted: 0 });
    expect(progress.at(-1)).to.deep.equal([13, 13]);
    expect(await providerB.getCode(ledgerAddress)).to.not.equal("0x");
    expect(await shouldReplay(store, providerB, ledgerAddress)).to.equal(false);
    const clientB = await LedgerClient.connect({ provider: providerB, store, ledgerAddress, admin, relayer });
    const state = await ledgerState(clientB);
    expect(state).to.deep.equal(snapshot);
    expect(state.batches[0]!.status).to.equal(3n); // the chili lot stays recalled
    expect(state.batches[1]!.ancestor).to.deep.equal([true, batches[0]]);

    // The gateway carries on where it stopped, on the rebuilt chain.
    expect((await clientB.anchor(id("after replay"), 1, 1)).seq).to.equal(4);
  });

  it("refuses to replay onto a chain whose accounts already sent other transactions", async function () {
    const error = await rejection(replayTxLog(store, providerB));
    expect(error.message).to.match(/uses nonce 0 of 0x[0-9a-f]{40} but the chain expects \d+/);
  });

  describe("a broadcast lost on the way", function () {
    let proxy: CuttingProxy;
    let viaProxy: JsonRpcProvider;
    let client: LedgerClient;

    before(async function () {
      proxy = await CuttingProxy.start(nodeB!.url);
      viaProxy = new JsonRpcProvider(proxy.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
      client = await LedgerClient.connect({ provider: viaProxy, store, ledgerAddress, admin, relayer });
    });

    after(async function () {
      viaProxy?.destroy();
      await proxy?.close();
    });

    it("before the node got it: the logged transaction is broadcast again, unchanged, before the next one", async function () {
      proxy.mode = "before-node";
      const error = (await rejection(client.anchor(id("lost 1"), 1, 1))) as ChainUnavailableError;
      expect(error).to.be.instanceOf(ChainUnavailableError);
      const lost = (await txlog(store)).at(-1)!;
      expect(error.txHash).to.equal(lost.hash);
      expect(lost.purpose).to.equal("anchor");
      expect(await providerB.getTransaction(lost.hash)).to.equal(null);

      proxy.mode = "pass";
      const next = await client.anchor(id("next 1"), 1, 1);
      const first = await client.findAnchor(id("lost 1"));
      expect(first!.txHash).to.equal(lost.hash);
      expect(next.seq).to.equal(first!.seq + 1);
      expect((await client.settle(lost.hash)).blockNumber).to.equal(first!.blockNumber);
    });

    it("after the node got it: nothing is sent twice, and settle finds the outcome", async function () {
      const countBefore = await client.ledger.anchorCount();
      proxy.mode = "after-node";
      const error = (await rejection(client.anchor(id("lost 2"), 1, 1))) as ChainUnavailableError;
      expect(error.txHash).to.not.equal(null);
      expect((await providerB.getTransactionReceipt(error.txHash!))!.status).to.equal(1); // the node did mine it
      proxy.mode = "pass";
      const settled = await client.settle(error.txHash!);
      expect(settled.receipt.status).to.equal(1);
      await client.anchor(id("next 2"), 1, 1);
      expect(await client.ledger.anchorCount()).to.equal(countBefore + 2n);
      const logged = await txlog(store);
      expect(logged.filter((r) => r.hash === error.txHash)).to.have.length(1);
      const relayerNonces = logged.filter((r) => r.from === relayer.address.toLowerCase()).map((r) => r.nonce);
      expect(new Set(relayerNonces).size).to.equal(relayerNonces.length);
    });

    it("across a restart: a transaction logged but never received is broadcast when the gateway connects again", async function () {
      proxy.mode = "before-node";
      const error = (await rejection(client.anchor(id("lost 3"), 1, 1))) as ChainUnavailableError;
      expect(await providerB.getTransaction(error.txHash!)).to.equal(null);
      // The gateway stops; a new process opens the same store.
      await store.close();
      store = await Store.open(path.join(dir, "store"));
      proxy.mode = "pass";
      const restarted = await LedgerClient.connect({ provider: viaProxy, store, ledgerAddress, admin, relayer });
      expect((await restarted.findAnchor(id("lost 3")))!.txHash).to.equal(error.txHash);
      expect((await restarted.anchor(id("after restart"), 1, 1)).seq).to.equal(
        (await restarted.findAnchor(id("lost 3")))!.seq + 1,
      );
    });
  });
});
