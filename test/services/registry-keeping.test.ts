/**
 * What the registry stores before a transaction that names it by hash (metadata, a recall's or a
 * suspension's reason text), on a real LevelDB: it is taken back when the transaction failed for
 * good and nobody else needs it, kept when the transaction may still land or another call
 * succeeded, never taken back when it was there before, and written again for a call that comes
 * while it is being taken back.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";

import { ChainUnavailableError } from "../../server/chain/errors";
import { HttpError } from "../../server/http/errors";
import { Registry } from "../../server/services/registry";
import { Store } from "../../server/store/store";

type Keeping = <T>(sublevel: Store["batches"], key: string, value: unknown, send: () => Promise<T>) => Promise<T>;

const refused = () => new HttpError(409, "batch_recalled", "refused");
const inFlight = () => new ChainUnavailableError("the chain went away", { txHash: `0x${"ab".repeat(32)}` });
const notSent = () => new ChainUnavailableError("the chain is unreachable");
const later = <T>(ms: number, outcome: () => T | Promise<T>) =>
  new Promise<T>((resolve, reject) => setTimeout(() => Promise.resolve().then(outcome).then(resolve, reject), ms));

describe("Registry: values stored for a transaction, and taken back", function () {
  let dir: string;
  let store: Store;
  let keeping: Keeping;

  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), "yutrace-keeping-"));
    store = await Store.open(path.join(dir, "store"));
    const registry = new Registry({ store } as unknown as ConstructorParameters<typeof Registry>[0]);
    keeping = (registry as unknown as { keeping: Keeping }).keeping.bind(registry);
  });

  afterEach(async function () {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const stored = async (key: string) => (await store.batches.get(key)) as string | undefined;

  it("is there while the transaction runs, and stays when it succeeds", async function () {
    const seen = await keeping(store.batches, "reason:a", "微生物超标", async () => stored("reason:a"));
    expect(seen).to.equal("微生物超标");
    expect(await stored("reason:a")).to.equal("微生物超标");
  });

  it("is taken back when the transaction was refused or never sent", async function () {
    for (const [key, error] of [
      ["reason:refused", refused],
      ["reason:not-sent", notSent],
    ] as const) {
      const failure = await keeping(store.batches, key, "text", () => Promise.reject(error())).catch((e: unknown) => e);
      expect(failure).to.be.instanceOf(Error);
      expect(await stored(key), key).to.equal(undefined);
    }
  });

  it("stays when the transaction may still land", async function () {
    await keeping(store.batches, "reason:b", "text", () => Promise.reject(inFlight())).catch(() => undefined);
    expect(await stored("reason:b")).to.equal("text");
  });

  it("is never taken back when it was there before", async function () {
    await store.write([Store.put(store.batches, "reason:c", "earlier")], { sync: true });
    await keeping(store.batches, "reason:c", "earlier", () => Promise.reject(refused())).catch(() => undefined);
    expect(await stored("reason:c")).to.equal("earlier");
  });

  it("stays when one of two concurrent calls fails for good and the other succeeds", async function () {
    const failing = keeping(store.batches, "reason:d", "召回", () => later(50, () => Promise.reject(refused())));
    const succeeding = keeping(store.batches, "reason:d", "召回", () => later(100, () => "sent"));
    await failing.catch(() => undefined);
    expect(await succeeding).to.equal("sent");
    expect(await stored("reason:d")).to.equal("召回");
    // And the other way round: the failure last.
    const first = keeping(store.batches, "reason:e", "召回", () => later(20, () => "sent"));
    const last = keeping(store.batches, "reason:e", "召回", () => later(80, () => Promise.reject(refused())));
    await first;
    await last.catch(() => undefined);
    expect(await stored("reason:e")).to.equal("召回");
  });

  it("is written again for a call that comes while it is being taken back", async function () {
    const failing = keeping(store.batches, "reason:f", "text", () => Promise.reject(refused()));
    // Starts as the failure is being cleaned up: it must find the value there while it runs.
    const next = failing.catch(() =>
      keeping(store.batches, "reason:f", "text", async () => {
        expect(await stored("reason:f")).to.equal("text");
        return "sent";
      }),
    );
    const racing = later(0, () =>
      keeping(store.batches, "reason:f", "text", async () => {
        expect(await stored("reason:f")).to.equal("text");
        return "sent";
      }),
    );
    expect(await next).to.equal("sent");
    expect(await racing).to.equal("sent");
    expect(await stored("reason:f")).to.equal("text");
  });
});
