/**
 * The indexer against the in-process Hardhat chain and a real LevelDB: what it records for each
 * TraceLedger event, that a block's records and its cursor are written together, reorg rollback,
 * rebuilding with `reindexChain`, and riding out an unreachable chain.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { id, type ContractTransactionResponse, type Provider } from "ethers";
import pino from "pino";

import { Store, type Operation, type Sublevel } from "../../server/store/store";
import { keys } from "../../server/store/keys";
import type {
  AnchorOnChain,
  BatchMetadata,
  BatchRecord,
  Cursor,
  OrgRecord,
  ProductMetadata,
  ProductRecord,
  SerialCommitmentRecord,
} from "../../server/store/records";
import {
  Indexer,
  REORG_WINDOW,
  ReorgTooDeepError,
  SyncAbortedError,
  reindexChain,
  type IndexerOptions,
} from "../../server/index/indexer";
import { gtin14 } from "../../server/domain/identifiers";
import { GTINS, ORGS, batchIdOf, deployWithBatchesFixture } from "../helpers/ledger-fixture";

const GIFT_BOX_GTIN = BigInt(gtin14("0690388504004"));
const CHILI_METADATA: ProductMetadata = {
  gtin: gtin14("0690388502002"),
  name: { zh: "江津朝天椒", en: "Jiangjin chili" },
  category: "seasoning",
  standard: "GB/T 30382",
};
const HOTPOT_METADATA: BatchMetadata = {
  gtin: gtin14("0690388501001"),
  lot: "DZ20261120-01",
  quantity: { value: 1200, unit: "KGM" },
  productionDate: "2026-11-20",
  district: "九龙坡区",
};
const REASON = id("reason:酸价超标");

async function indexedLedgerFixture() {
  const base = await deployWithBatchesFixture();
  const deployed = await base.ledger.deploymentTransaction()!.wait();
  return { ...base, ledgerAddress: await base.ledger.getAddress(), deployBlock: deployed!.blockNumber };
}
type Fixture = Awaited<ReturnType<typeof indexedLedgerFixture>>;

async function mined(tx: Promise<ContractTransactionResponse>) {
  const receipt = await (await tx).wait();
  const block = await ethers.provider.getBlock(receipt!.blockNumber);
  return { block: receipt!.blockNumber, txHash: receipt!.hash, hash: block!.hash!, time: isoTime(block!.timestamp) };
}

const isoTime = (seconds: number) => new Date(seconds * 1000).toISOString();
const head = () => ethers.provider.getBlockNumber();

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

/** Every entry of a sublevel, as an object keyed by store key. */
async function dump(sublevel: Sublevel): Promise<Record<string, unknown>> {
  return Object.fromEntries(await sublevel.iterator().all());
}

/** The records the indexer derives, for comparing two index runs. */
async function derived(store: Store) {
  const [orgs, products, batches, anchors] = await Promise.all(
    [store.orgs, store.products, store.batches, store.anchors].map(dump),
  );
  return { orgs, products, batches, anchors, cursor: await store.meta.get(keys.cursor()) };
}

/** What the API writes before and besides the chain: profiles, metadata and the off-chain sublevels. */
async function seedOffChain(store: Store, fx: Fixture): Promise<void> {
  const producer: OrgRecord = {
    orgId: fx.orgIds.producer,
    name: ORGS.producer.name,
    uscc: ORGS.producer.uscc,
    district: "九龙坡区",
    roles: ["producer"],
    account: fx.accounts.producer.address.toLowerCase(),
    custody: "custodial",
    suspended: false,
    createdAt: "2026-11-01T00:00:00.000Z",
  };
  await store.write([
    Store.put(store.orgs, keys.org(fx.orgIds.producer), producer),
    Store.put(store.products, keys.metadata(id("product:chili")), CHILI_METADATA),
    Store.put(store.batches, keys.metadata(id("batch:hotpot")), HOTPOT_METADATA),
    Store.put(store.batches, keys.batchState(fx.batchIds.hotpotId), { custodian: fx.orgIds.producer }),
    Store.put(store.anchors, keys.submissionAnchor(1), { root: id("anchor"), proof: [] }),
    Store.put(store.journal, keys.submission(1), { seq: 1 }),
    Store.put(store.keys, keys.apiKey("abc"), { orgId: fx.orgIds.producer }),
    Store.put(store.txlog, keys.tx(1), { seq: 1, raw: "0x01" }),
    Store.put(store.scans, "serial:1", { count: 3 }),
    Store.put(store.meta, keys.chain(), { chainId: "31337" }),
  ]);
}

describe("Indexer", function () {
  this.timeout(40_000);
  let dirs: string[];
  let stores: Store[];
  let indexers: Indexer[];

  beforeEach(function () {
    dirs = [];
    stores = [];
    indexers = [];
  });

  afterEach(async function () {
    for (const indexer of indexers) await indexer.stop();
    for (const store of stores) await store.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function openStore(): Promise<Store> {
    const dir = await mkdtemp(path.join(os.tmpdir(), "yutrace-indexer-"));
    dirs.push(dir);
    const store = await Store.open(dir);
    stores.push(store);
    return store;
  }

  function indexerFor(store: Store, fx: Fixture, options: Partial<IndexerOptions> = {}): Indexer {
    const indexer = new Indexer({
      store,
      provider: ethers.provider,
      ledgerAddress: fx.ledgerAddress,
      deployBlock: fx.deployBlock,
      pollIntervalMs: 10,
      ...options,
    });
    indexers.push(indexer);
    return indexer;
  }

  it("indexes organisations, products, batches and lineage with the values on chain and stored metadata", async function () {
    const fx = await loadFixture(indexedLedgerFixture);
    const store = await openStore();
    await seedOffChain(store, fx);
    const indexer = indexerFor(store, fx);
    await indexer.syncTo(await head());

    const producer = (await store.orgs.get(keys.org(fx.orgIds.producer))) as OrgRecord;
    expect(producer).to.include({ name: ORGS.producer.name, custody: "custodial", suspended: false });
    expect(producer.account).to.equal(fx.accounts.producer.address.toLowerCase());
    const [registered] = await fx.ledger.queryFilter(fx.ledger.filters.OrganisationRegistered(fx.orgIds.regulator));
    const registeredAt = isoTime((await registered!.getBlock()).timestamp);
    expect(await store.orgs.get(keys.org(fx.orgIds.regulator))).to.deep.equal({
      orgId: fx.orgIds.regulator,
      name: "",
      uscc: "",
      district: "",
      roles: [],
      account: fx.accounts.regulator.address.toLowerCase(),
      custody: "self",
      suspended: false,
      createdAt: registeredAt,
    });
    expect(await store.orgs.get(keys.orgByAccount(fx.accounts.inspector.address))).to.equal(fx.orgIds.inspector);

    const [chiliEvent] = await fx.ledger.queryFilter(fx.ledger.filters.ProductRegistered(GTINS.chili));
    expect(await store.products.get(keys.product(gtin14("0690388502002")))).to.deep.equal({
      gtin: gtin14("0690388502002"),
      owner: fx.orgIds.producer,
      metadataHash: id("product:chili"),
      metadata: CHILI_METADATA,
      registeredAt: isoTime((await chiliEvent!.getBlock()).timestamp),
      block: chiliEvent!.blockNumber,
      txHash: chiliEvent!.transactionHash,
    } satisfies ProductRecord);
    const tallow = (await store.products.get(keys.product(gtin14("0690388503003")))) as ProductRecord;
    expect(tallow.metadata).to.equal(null);

    const [hotpotEvent] = await fx.ledger.queryFilter(fx.ledger.filters.BatchRegistered(fx.batchIds.hotpotId));
    expect(await store.batches.get(keys.batch(fx.batchIds.hotpotId))).to.deep.equal({
      batchId: fx.batchIds.hotpotId,
      gtin: gtin14("0690388501001"),
      lot: fx.lots.hotpotLot,
      producer: fx.orgIds.producer,
      status: "active",
      metadataHash: id("batch:hotpot"),
      metadata: HOTPOT_METADATA,
      parents: [fx.batchIds.chiliId, fx.batchIds.tallowId],
      registeredAt: isoTime((await hotpotEvent!.getBlock()).timestamp),
      block: hotpotEvent!.blockNumber,
      txHash: hotpotEvent!.transactionHash,
      statusHistory: [],
    } satisfies BatchRecord);
    const chili = (await store.batches.get(keys.batch(fx.batchIds.chiliId))) as BatchRecord;
    expect(chili).to.include({ lot: fx.lots.chiliLot, metadata: null, status: "active" });
    expect(await store.batches.values(keys.childRange(fx.batchIds.chiliId)).all()).to.deep.equal([
      fx.batchIds.hotpotId,
    ]);
    expect(await store.batches.values(keys.childRange(fx.batchIds.tallowId)).all()).to.deep.equal([
      fx.batchIds.hotpotId,
    ]);
    expect(await store.batches.values(keys.childRange(fx.batchIds.hotpotId)).all()).to.deep.equal([]);
  });

  it("follows a batch through hold, release and recall, keeping the history", async function () {
    const fx = await loadFixture(indexedLedgerFixture);
    const { ledger, accounts, orgIds, batchIds } = fx;
    const store = await openStore();
    const indexer = indexerFor(store, fx);
    const hold = await mined(ledger.connect(accounts.inspector).holdBatch(batchIds.hotpotId, REASON));
    await indexer.syncTo(hold.block);
    expect(((await store.batches.get(keys.batch(batchIds.hotpotId))) as BatchRecord).status).to.equal("held");

    const release = await mined(ledger.connect(accounts.regulator).releaseBatch(batchIds.hotpotId, id("retested")));
    const recall = await mined(ledger.connect(accounts.regulator).recall(batchIds.hotpotId, id("recall")));
    await indexer.syncTo(recall.block);
    const batch = (await store.batches.get(keys.batch(batchIds.hotpotId))) as BatchRecord;
    expect(batch.status).to.equal("recalled");
    const entry = (at: typeof hold) => ({ block: at.block, txHash: at.txHash, at: at.time });
    expect(batch.statusHistory).to.deep.equal([
      { status: "held", previous: "active", byOrg: orgIds.inspector, reasonHash: REASON, ...entry(hold) },
      { status: "active", previous: "held", byOrg: orgIds.regulator, reasonHash: id("retested"), ...entry(release) },
      { status: "recalled", previous: "active", byOrg: orgIds.regulator, reasonHash: id("recall"), ...entry(recall) },
    ]);
  });

  it("records serial commitments, anchors, suspension, reinstatement and account rotation", async function () {
    const fx = await loadFixture(indexedLedgerFixture);
    const { ledger, accounts, orgIds, batchIds } = fx;
    const store = await openStore();
    const indexer = indexerFor(store, fx);
    const serialRoot = id("serials:DZ20261120-01");
    const serials = await mined(ledger.connect(accounts.producer).commitSerials(batchIds.hotpotId, serialRoot, 500));
    const anchorRoot = id("anchor:1");
    const anchor = await mined(ledger.connect(accounts.anchorer).anchor(anchorRoot, 3, 42));
    const suspend = await mined(ledger.connect(accounts.regulator).suspendOrganisation(orgIds.retailer, REASON));
    await indexer.syncTo(suspend.block);

    expect(await store.batches.get(keys.serials(batchIds.hotpotId, serialRoot))).to.deep.equal({
      batchId: batchIds.hotpotId,
      root: serialRoot,
      count: 500,
      block: serials.block,
      txHash: serials.txHash,
    } satisfies SerialCommitmentRecord);
    expect(await store.anchors.get(keys.anchorOnChain(anchorRoot))).to.deep.equal({
      root: anchorRoot,
      seq: 1,
      leafCount: 3,
      eventCount: 42,
      block: anchor.block,
      txHash: anchor.txHash,
      blockTime: anchor.time,
    } satisfies AnchorOnChain);
    expect(await store.anchors.get(keys.anchorBySeq(1))).to.equal(anchorRoot);
    expect(((await store.orgs.get(keys.org(orgIds.retailer))) as OrgRecord).suspended).to.equal(true);

    await ledger.connect(accounts.regulator).reinstateOrganisation(orgIds.retailer);
    const rotate = await mined(ledger.rotateOrganisationAccount(orgIds.retailer, accounts.outsider.address));
    await indexer.syncTo(rotate.block);
    const retailer = (await store.orgs.get(keys.org(orgIds.retailer))) as OrgRecord;
    expect(retailer).to.include({ suspended: false, account: accounts.outsider.address.toLowerCase() });
    expect(await store.orgs.get(keys.orgByAccount(accounts.outsider.address))).to.equal(orgIds.retailer);
    expect(await store.orgs.get(keys.orgByAccount(accounts.retailer.address))).to.equal(undefined);
  });

  it("applies several logs of one block in order, remembering each key once for the undo log", async function () {
    const fx = await loadFixture(indexedLedgerFixture);
    const store = await openStore();
    const indexer = indexerFor(store, fx);
    await indexer.syncTo(await head());
    const lot = "JJ2026-12-B";
    const batchId = batchIdOf(GTINS.chili, lot);
    await network.provider.send("evm_setAutomine", [false]);
    try {
      await fx.ledger.connect(fx.accounts.producer).registerBatch(GTINS.chili, lot, id("batch:chili-b"), []);
      await fx.ledger.connect(fx.accounts.inspector).holdBatch(batchId, REASON);
      await network.provider.send("evm_mine");
    } finally {
      await network.provider.send("evm_setAutomine", [true]);
    }
    const block = await head();
    expect((await ethers.provider.getBlock(block))!.transactions).to.have.length(2);
    await indexer.syncTo(block);

    const batch = (await store.batches.get(keys.batch(batchId))) as BatchRecord;
    expect(batch).to.include({ lot, status: "held", block });
    expect(batch.statusHistory.map((change) => [change.previous, change.status])).to.deep.equal([["active", "held"]]);
    // The producer's list of batches names it under this block.
    const listed = (await store.batches.keys(keys.producerBatchRange(batch.producer)).all()).filter((key) =>
      key.endsWith(batchId),
    );
    expect(listed).to.have.length(1);
    expect(listed[0]).to.equal(keys.producerBatch(batch.producer, block, batchId));
    expect(await store.meta.get(keys.undo(block))).to.deep.equal([
      { sublevel: "batches", key: keys.batch(batchId), previous: null },
      { sublevel: "batches", key: listed[0], previous: null },
    ]);
  });

  it("writes a block's records, undo log, block hash and cursor in one batch", async function () {
    const fx = await loadFixture(indexedLedgerFixture);
    const store = await openStore();
    const indexer = indexerFor(store, fx);
    await indexer.syncTo(await head());
    const batches: Operation[][] = [];
    const write = store.write.bind(store);
    store.write = (operations, options) => {
      batches.push(operations);
      return write(operations, options);
    };

    const gift = await mined(fx.ledger.connect(fx.accounts.producer).registerProduct(GIFT_BOX_GTIN, id("gift")));
    expect(await indexer.syncOnce()).to.deep.equal({ from: gift.block, to: gift.block });

    const productKey = keys.product(gtin14("0690388504004"));
    expect(batches).to.have.length(1);
    const summary = batches[0]!.map((op) => [op.type, op.sublevel === store.meta ? "meta" : "products", op.key]);
    expect(summary).to.have.deep.members([
      ["put", "products", productKey],
      ["put", "meta", keys.undo(gift.block)],
      ["put", "meta", keys.blockHash(gift.block)],
      ["put", "meta", keys.cursor()],
    ]);
    const cursor: Cursor = { block: gift.block, hash: gift.hash };
    expect(await indexer.cursor()).to.deep.equal(cursor);
    expect(await store.meta.get(keys.blockHash(gift.block))).to.equal(gift.hash);
    expect(await store.meta.get(keys.undo(gift.block))).to.deep.equal([
      { sublevel: "products", key: productKey, previous: null },
    ]);
    expect(await indexer.lag()).to.equal(0);
  });

  it("resolves syncTo once the running loop has indexed the block", async function () {
    const fx = await loadFixture(indexedLedgerFixture);
    const store = await openStore();
    const indexer = indexerFor(store, fx, { logger: pino({ level: "silent" }) });
    indexer.start();
    const gift = await mined(fx.ledger.connect(fx.accounts.producer).registerProduct(GIFT_BOX_GTIN, id("gift")));
    await indexer.syncTo(gift.block, { timeoutMs: 10_000 });
    expect(await store.products.get(keys.product(gtin14("0690388504004")))).to.include({ txHash: gift.txHash });
    expect((await indexer.cursor())!.block).to.be.at.least(gift.block);
  });

  it("rolls back a reorg: the recall and anchor vanish and the hold of the new chain is indexed", async function () {
    const fx = await loadFixture(indexedLedgerFixture);
    const { ledger, accounts, batchIds } = fx;
    const store = await openStore();
    const indexer = indexerFor(store, fx);
    await indexer.syncTo(await head());
    const snapshot = await network.provider.send("evm_snapshot");
    const recall = await mined(ledger.connect(accounts.regulator).recall(batchIds.hotpotId, id("recall")));
    const anchorRoot = id("anchor:orphaned");
    const anchor = await mined(ledger.connect(accounts.anchorer).anchor(anchorRoot, 1, 1));
    await indexer.syncTo(anchor.block);
    expect(((await store.batches.get(keys.batch(batchIds.hotpotId))) as BatchRecord).status).to.equal("recalled");

    await network.provider.send("evm_revert", [snapshot]);
    const hold = await mined(ledger.connect(accounts.inspector).holdBatch(batchIds.hotpotId, REASON));
    expect(hold.block).to.equal(recall.block);
    await indexer.syncTo(hold.block);

    const batch = (await store.batches.get(keys.batch(batchIds.hotpotId))) as BatchRecord;
    expect(batch.status).to.equal("held");
    expect(batch.statusHistory.map((change) => [change.status, change.txHash])).to.deep.equal([["held", hold.txHash]]);
    expect(await store.anchors.get(keys.anchorOnChain(anchorRoot))).to.equal(undefined);
    expect(await store.anchors.get(keys.anchorBySeq(1))).to.equal(undefined);
    expect(await indexer.cursor()).to.deep.equal({ block: hold.block, hash: hold.hash });
    expect(await store.meta.get(keys.blockHash(anchor.block))).to.equal(undefined);
    expect(await store.meta.get(keys.undo(anchor.block))).to.equal(undefined);
  });

  it("refuses a reorg deeper than its undo window with a pointer to reindex, which then recovers", async function () {
    const fx = await loadFixture(indexedLedgerFixture);
    const store = await openStore();
    const indexer = indexerFor(store, fx, { batchBlocks: 10 });
    await indexer.syncTo(await head());
    const snapshot = await network.provider.send("evm_snapshot");
    await network.provider.send("hardhat_mine", ["0xc8"]);
    const tip = await head();
    await indexer.syncTo(tip);
    const keptBlocks = (await store.meta.keys(keys.blockHashRange).all()).map((key) => Number(key.split(":")[1]));
    expect(keptBlocks[0]).to.be.within(tip - REORG_WINDOW - 10, tip - REORG_WINDOW);
    const undoBlocks = (await store.meta.keys(keys.undoRange).all()).map((key) => Number(key.split(":")[1]));
    expect(undoBlocks.every((block) => block > keptBlocks[0]!)).to.equal(true);

    await network.provider.send("evm_revert", [snapshot]);
    await fx.ledger.connect(fx.accounts.inspector).holdBatch(fx.batchIds.hotpotId, REASON);
    await network.provider.send("hardhat_mine", ["0xc9"]);
    const error = await rejectionOf(indexer.syncTo(await head()));
    expect(error).to.be.instanceOf(ReorgTooDeepError);
    expect(error.message).to.match(/npm run reindex/);

    const cursor = await reindexChain(store, ethers.provider, fx);
    const newTip = await ethers.provider.getBlock(await head());
    expect(cursor).to.deep.equal({ block: newTip!.number, hash: newTip!.hash });
    expect(((await store.batches.get(keys.batch(fx.batchIds.hotpotId))) as BatchRecord).status).to.equal("held");
  });

  it("reindexChain rebuilds exactly what live indexing recorded and keeps off-chain data", async function () {
    const fx = await loadFixture(indexedLedgerFixture);
    const { ledger, accounts, orgIds, batchIds } = fx;
    await ledger.connect(accounts.inspector).holdBatch(batchIds.chiliId, REASON);
    await ledger.connect(accounts.producer).recall(batchIds.chiliId, id("recall"));
    await ledger.connect(accounts.producer).commitSerials(batchIds.hotpotId, id("serials"), 10);
    await ledger.connect(accounts.anchorer).anchor(id("anchor:1"), 2, 5);
    await ledger.connect(accounts.regulator).suspendOrganisation(orgIds.logistics, REASON);
    await ledger.rotateOrganisationAccount(orgIds.retailer, accounts.outsider.address);

    const live = await openStore();
    await seedOffChain(live, fx);
    const indexer = indexerFor(live, fx, { batchBlocks: 3 });
    await indexer.syncTo(await head());
    const expected = await derived(live);
    const offChain = async (store: Store) =>
      Promise.all([store.journal, store.keys, store.txlog, store.scans].map(dump));
    const offChainBefore = await offChain(live);

    await reindexChain(live, ethers.provider, fx);
    expect(await derived(live)).to.deep.equal(expected);
    expect(await offChain(live)).to.deep.equal(offChainBefore);
    expect(await live.meta.get(keys.chain())).to.deep.equal({ chainId: "31337" });

    const emptied = await openStore();
    await seedOffChain(emptied, fx);
    const progress: number[] = [];
    await reindexChain(emptied, ethers.provider, fx, ({ block }) => progress.push(block));
    expect(await derived(emptied)).to.deep.equal(expected);
    expect(progress.at(-1)).to.equal(await head());
  });

  it("rides out a provider that keeps failing, then catches up", async function () {
    const fx = await loadFixture(indexedLedgerFixture);
    const store = await openStore();
    const warnings: string[] = [];
    const logger = {
      info: () => undefined,
      error: () => undefined,
      warn: (_: object, msg: string) => warnings.push(msg),
    };
    const flaky = failingFirst(ethers.provider, 5);
    const indexer = indexerFor(store, fx, { provider: flaky.provider, logger, maxBackoffMs: 40 });
    indexer.start();
    await indexer.syncTo(await head(), { timeoutMs: 10_000 });
    expect(flaky.failures()).to.equal(5);
    expect(warnings).to.not.be.empty;
    expect(await store.batches.get(keys.batch(fx.batchIds.hotpotId))).to.include({ status: "active" });
  });

  it("ends a syncTo still waiting for an unreachable chain when the indexer stops", async function () {
    const fx = await loadFixture(indexedLedgerFixture);
    const store = await openStore();
    const down = failingFirst(ethers.provider, Infinity);
    const indexer = indexerFor(store, fx, { provider: down.provider, maxBackoffMs: 20 });
    indexer.start();
    const waiting = rejectionOf(indexer.syncTo(await head()));
    while (down.failures() < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await indexer.stop();
    const error = await waiting;
    expect(error).to.be.instanceOf(SyncAbortedError);
    expect(error.message).to.match(/the indexer stopped/);
    expect(await indexer.cursor()).to.equal(null);
  });
});

/** `inner`, except that its first `count` chain reads fail the way an unreachable node does. */
function failingFirst(inner: Provider, count: number) {
  let failed = 0;
  const reads = new Set(["getBlockNumber", "getBlock", "getLogs"]);
  const provider = new Proxy(inner, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (reads.has(String(property)) && failed < count) {
          failed += 1;
          return Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:8545"));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { provider, failures: () => failed };
}
