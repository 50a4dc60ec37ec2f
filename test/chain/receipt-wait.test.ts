/**
 * Waiting for a receipt while the chain is away: the wait gives up with ChainUnavailableError
 * (naming the transaction, which stays logged) once the node has been unreachable for
 * `unreachableTimeoutMs` — counted from the first failed poll, whether the node refuses
 * connections or takes them and never answers — instead of holding the caller for the whole
 * `receiptTimeoutMs`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, id } from "ethers";

import { ChainUnavailableError } from "../../server/chain/errors";
import { freePort } from "../../server/chain/local-node";
import { DEFAULT_TX_TIMING, txJournalOf, type TxTiming } from "../../server/chain/txlog";
import type { TxLogRecord } from "../../server/store/records";
import { Store } from "../../server/store/store";

const RECORD: TxLogRecord = {
  seq: 1,
  raw: "0x",
  hash: id("a logged transaction"),
  from: "0x0000000000000000000000000000000000000001",
  nonce: 0,
  purpose: "anchor",
  sentAt: new Date().toISOString(),
};

describe("txlog: a receipt awaited while the chain is away", function () {
  this.timeout(30_000);
  let dir: string;
  let store: Store;
  const opened: { close(): void }[] = [];

  before(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), "yutrace-receipt-"));
    store = await Store.open(path.join(dir, "store"));
  });

  after(async function () {
    for (const thing of opened) thing.close();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** How `confirm` ends against `url`, and after how long. */
  async function confirmAgainst(url: string, timing: Partial<TxTiming>): Promise<{ error: unknown; ms: number }> {
    const provider = new JsonRpcProvider(url, 31337, { staticNetwork: true, cacheTimeout: -1 });
    const started = Date.now();
    try {
      await txJournalOf(store).confirm(provider, RECORD, { ...DEFAULT_TX_TIMING, ...timing });
      return { error: null, ms: Date.now() - started };
    } catch (error) {
      return { error, ms: Date.now() - started };
    } finally {
      provider.destroy();
    }
  }

  it("gives up after unreachableTimeoutMs when nothing listens, long before receiptTimeoutMs", async function () {
    const { error, ms } = await confirmAgainst(`http://127.0.0.1:${await freePort()}`, {
      pollIntervalMs: 50,
      unreachableTimeoutMs: 700,
      receiptTimeoutMs: 60_000,
    });
    expect(error).to.be.instanceOf(ChainUnavailableError);
    expect((error as ChainUnavailableError).txHash).to.equal(RECORD.hash);
    expect((error as Error).message)
      .to.include("went away")
      .and.include("stays in the txlog");
    expect(ms).to.be.within(700, 5_000);
  });

  it("counts from the start of the first poll when the node takes connections and never answers", async function () {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    opened.push({ close: () => (sockets.forEach((s) => s.destroy()), silent.close()) });
    const { port } = silent.address() as net.AddressInfo;
    const { error, ms } = await confirmAgainst(`http://127.0.0.1:${port}`, {
      pollIntervalMs: 50,
      rpcTimeoutMs: 600,
      unreachableTimeoutMs: 1_000,
      receiptTimeoutMs: 60_000,
    });
    expect(error).to.be.instanceOf(ChainUnavailableError);
    expect((error as ChainUnavailableError).txHash).to.equal(RECORD.hash);
    // Past the 1 s of unreachability (the second 600 ms poll ends after it), and given up then:
    // well short of the 60 s receipt timeout, with room for a slow machine.
    expect(ms).to.be.within(1_000, 10_000);
  });
});
