/**
 * LedgerClient against a real `hardhat node` over JSON-RPC, with a real LevelDB txlog: a logged
 * deployment, custodial organisations, relayed `…BySig` requests, anchors, decoded reverts that
 * send nothing, concurrent sends with distinct nonces, and a request that expires in the mempool.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { HDNodeWallet, JsonRpcProvider, Transaction, Wallet, id } from "ethers";

import { generateSigningKey, openKey, sealKey } from "../../server/chain/custody";
import { LedgerRevertError, TransactionRejectedError } from "../../server/chain/errors";
import { ANCHORER_ROLE, LedgerClient, ROLE_IDS } from "../../server/chain/ledger-client";
import { startLocalNode, type LocalNode } from "../../server/chain/local-node";
import { deployLedgerLogged } from "../../server/chain/txlog";
import { gtin14, orgIdOf, uscc } from "../../server/domain/identifiers";
import { keys } from "../../server/store/keys";
import type { SigningKeyRecord, TxLogRecord } from "../../server/store/records";
import { Store } from "../../server/store/store";

const PHRASE = "test test test test test test test test test test test junk";
const ORG = {
  producer: orgIdOf(uscc("91500113203151718")),
  otherProducer: orgIdOf(uscc("91500116MA5U4X1Q8")),
  regulator: orgIdOf(uscc("11500000MB1653215")),
};
const GTIN = {
  hotpotBase: BigInt(gtin14("0690388501001")),
  chili: BigInt(gtin14("0690388502002")),
  tallow: BigInt(gtin14("0690388503003")),
  rapeseedOil: BigInt(gtin14("0692217800104")),
  sichuanPepper: BigInt(gtin14("0690388504004")),
  doubanjiang: BigInt(gtin14("0690388505005")),
};
const BatchStatus = { Active: 1n, Held: 2n, Recalled: 3n };

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the promise to reject");
}

describe("LedgerClient against a hardhat node", function () {
  this.timeout(120_000);
  const admin = HDNodeWallet.fromPhrase(PHRASE);
  const relayer = HDNodeWallet.fromPhrase(PHRASE, undefined, "m/44'/60'/0'/0/1");
  const kek = randomBytes(32);
  let node: LocalNode;
  let provider: JsonRpcProvider;
  let dir: string;
  let store: Store;
  let client: LedgerClient;
  let signers: Record<keyof typeof ORG, Wallet>;
  let hotpotBatch: string;
  const purposes: string[] = [];

  async function txlog(): Promise<TxLogRecord[]> {
    return store.values<TxLogRecord>(store.txlog, keys.txRange);
  }

  before(async function () {
    node = await startLocalNode();
    provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    dir = await mkdtemp(path.join(os.tmpdir(), "yutrace-ledger-client-"));
    store = await Store.open(path.join(dir, "store"));
  });

  after(async function () {
    provider?.destroy();
    await store?.close();
    await node?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("deploys TraceLedger by logged raw transactions and grants the relayer ANCHORER_ROLE", async function () {
    const { address, deployBlock, deployTx } = await deployLedgerLogged(store, provider, admin, relayer);
    purposes.push("deploy", "grantAnchorer");
    expect((await provider.getTransactionReceipt(deployTx))!.contractAddress).to.equal(address);
    expect(deployBlock).to.equal(1);

    client = await LedgerClient.connect({ provider, store, ledgerAddress: address, admin, relayer });
    expect(client.address).to.equal(address);
    expect(client.chainId).to.equal(31337n);
    expect(client.domain.verifyingContract).to.equal(address);
    expect(await client.hasCode()).to.equal(true);
    expect(await client.isReachable()).to.equal(true);
    expect(await client.ledger.hasRole(ANCHORER_ROLE, relayer.address)).to.equal(true);
    expect(await client.ledger.hasRole(id("ANCHORER_ROLE"), admin.address)).to.equal(false);
  });

  it("registers organisations whose custodial keys are sealed, stored and opened again to sign", async function () {
    for (const orgId of Object.values(ORG)) {
      const key = generateSigningKey();
      const record: SigningKeyRecord = {
        orgId,
        account: key.address,
        sealed: sealKey(key.privateKey, kek, orgId),
        createdAt: new Date().toISOString(),
      };
      await store.write([Store.put(store.keys, keys.signingKey(orgId), record)], { sync: true });
    }
    const open = async (name: keyof typeof ORG): Promise<Wallet> => {
      const record = (await store.keys.get(keys.signingKey(ORG[name]))) as SigningKeyRecord;
      return openKey(record.sealed, kek, ORG[name]);
    };
    signers = {
      producer: await open("producer"),
      otherProducer: await open("otherProducer"),
      regulator: await open("regulator"),
    };
    await client.registerOrganisation(ORG.producer, signers.producer.address, ["producer"]);
    await client.registerOrganisation(ORG.otherProducer, signers.otherProducer.address, ["producer"]);
    const sent = await client.registerOrganisation(ORG.regulator, signers.regulator.address, ["regulator"]);
    purposes.push("registerOrganisation", "registerOrganisation", "registerOrganisation");

    expect(sent.receipt.status).to.equal(1);
    expect(sent.blockNumber).to.equal(sent.receipt.blockNumber);
    expect((await client.ledger.getOrganisation(ORG.producer)).account).to.equal(signers.producer.address);
    expect(await client.ledger.hasActiveRole(ROLE_IDS.producer, signers.producer.address)).to.equal(true);
    expect(await client.ledger.hasActiveRole(ROLE_IDS.regulator, signers.regulator.address)).to.equal(true);
  });

  it("registers products and a batch made from input batches, relayed with the producer's signature", async function () {
    const metadataHash = id("重庆火锅底料 500 g");
    const product = await client.registerProduct(signers.producer, GTIN.hotpotBase, metadataHash);
    await client.registerProduct(signers.producer, GTIN.chili, id("江津 chili"));
    const chili = await client.registerBatch(signers.producer, GTIN.chili, "CHILI-2024-09", id("chili lot"), []);
    const hotpot = await client.registerBatch(signers.producer, GTIN.hotpotBase, "HB240901", id("hotpot lot"), [
      chili.batchId,
    ]);
    purposes.push("registerProduct", "registerProduct", "registerBatch", "registerBatch");
    hotpotBatch = hotpot.batchId;

    expect((await provider.getTransaction(product.txHash))!.from).to.equal(relayer.address);
    expect((await client.ledger.getProduct(GTIN.hotpotBase)).owner).to.equal(ORG.producer);
    expect(hotpot.batchId).to.equal(await client.ledger.batchIdOf(GTIN.hotpotBase, "HB240901"));
    const batch = await client.ledger.getBatch(hotpot.batchId);
    expect(batch.producer).to.equal(ORG.producer);
    expect(batch.status).to.equal(BatchStatus.Active);
    expect(batch.parents).to.deep.equal([chili.batchId]);
    expect(await client.ledger.nonces(signers.producer.address)).to.equal(4n);
  });

  it("commits serials, holds, releases (regulator) and recalls a batch", async function () {
    const root = id("serial root");
    await client.commitSerials(signers.producer, hotpotBatch, root, 1000);
    await client.holdBatch(signers.producer, hotpotBatch, id("non-conformant peroxide value"));
    expect((await client.ledger.getBatch(hotpotBatch)).status).to.equal(BatchStatus.Held);
    await client.releaseBatch(signers.regulator, hotpotBatch, id("re-test passed"));
    expect((await client.ledger.getBatch(hotpotBatch)).status).to.equal(BatchStatus.Active);
    await client.recall(signers.producer, hotpotBatch, id("recall notice 2024-17"));
    purposes.push("commitSerials", "holdBatch", "releaseBatch", "recall");

    expect(await client.ledger.serialCommitment(hotpotBatch, root)).to.equal(1000);
    expect((await client.ledger.getBatch(hotpotBatch)).status).to.equal(BatchStatus.Recalled);
  });

  it("anchors roots with sequence numbers 1 then 2, and finds them again", async function () {
    const first = await client.anchor(id("anchor root 1"), 3, 40);
    const second = await client.anchor(id("anchor root 2"), 1, 1);
    purposes.push("anchor", "anchor");

    expect(first.seq).to.equal(1);
    expect(second.seq).to.equal(2);
    expect(second.blockNumber).to.equal(first.blockNumber + 1);
    const onChain = await client.ledger.getAnchor(id("anchor root 2"));
    expect(second.blockTime).to.equal(new Date(Number(onChain.blockTime) * 1000).toISOString());
    expect(await client.findAnchor(id("anchor root 1"))).to.deep.equal(first);
    expect(await client.findAnchor(id("never anchored"))).to.equal(null);
  });

  it("throws TraceLedgerInvalidGtin with its argument for an invalid GTIN, and logs and sends nothing", async function () {
    const before = await txlog();
    const blockBefore = await provider.getBlockNumber();
    const error = await rejection(client.registerProduct(signers.producer, 12345n, id("bad")));

    expect(error).to.be.instanceOf(LedgerRevertError);
    const revert = error as LedgerRevertError;
    expect(revert.errorName).to.equal("TraceLedgerInvalidGtin");
    expect(revert.args).to.deep.equal(["12345"]);
    expect(revert.txHash).to.equal(null);
    expect(revert.message).to.contain("TraceLedgerInvalidGtin(12345)");
    expect(await txlog()).to.deep.equal(before);
    expect(await provider.getBlockNumber()).to.equal(blockBefore);
  });

  it("throws TraceLedgerNotProductOwner for a batch of another producer's GTIN, and logs nothing", async function () {
    const before = await txlog();
    const error = await rejection(
      client.registerBatch(signers.otherProducer, GTIN.hotpotBase, "FAKE-1", id("copy"), []),
    );

    expect(error).to.be.instanceOf(LedgerRevertError);
    expect((error as LedgerRevertError).errorName).to.equal("TraceLedgerNotProductOwner");
    expect((error as LedgerRevertError).args).to.deep.equal([GTIN.hotpotBase.toString(), ORG.otherProducer]);
    expect(await txlog()).to.deep.equal(before);
    // The refused request did not use up the organisation's nonce: its next request goes through.
    await client.registerProduct(signers.otherProducer, GTIN.rapeseedOil, id("菜籽油 5 L"));
    purposes.push("registerProduct");
  });

  it("decodes a refused admin call (organisation registered twice) and logs nothing", async function () {
    const before = await txlog();
    const error = await rejection(client.registerOrganisation(ORG.producer, Wallet.createRandom().address, []));
    expect((error as LedgerRevertError).errorName).to.equal("TraceLedgerOrganisationExists");
    expect((error as LedgerRevertError).args).to.deep.equal([ORG.producer]);
    expect(await txlog()).to.deep.equal(before);
  });

  it("suspends, reinstates and rotates an organisation, and grants the anchorer role (admin calls)", async function () {
    await client.suspendOrganisation(ORG.otherProducer, id("licence withdrawn"));
    expect((await client.ledger.getOrganisation(ORG.otherProducer)).suspended).to.equal(true);
    await client.reinstateOrganisation(ORG.otherProducer);
    expect((await client.ledger.getOrganisation(ORG.otherProducer)).suspended).to.equal(false);
    const rotated = generateSigningKey();
    await client.rotateOrganisationAccount(ORG.otherProducer, rotated.address);
    expect(await client.ledger.organisationOf(rotated.address)).to.equal(ORG.otherProducer);
    const standby = Wallet.createRandom().address;
    await client.grantAnchorer(standby);
    expect(await client.ledger.hasRole(ANCHORER_ROLE, standby)).to.equal(true);
    purposes.push("suspendOrganisation", "reinstateOrganisation", "rotateOrganisationAccount", "grantAnchorer");
  });

  it("relays several requests of one organisation at once, using its nonces in order", async function () {
    const nonceBefore = await client.ledger.nonces(signers.producer.address);
    await Promise.all([
      client.registerProduct(signers.producer, GTIN.tallow, id("牛油")),
      client.registerProduct(signers.producer, GTIN.sichuanPepper, id("花椒")),
      client.registerProduct(signers.producer, GTIN.doubanjiang, id("豆瓣酱")),
    ]);
    purposes.push("registerProduct", "registerProduct", "registerProduct");
    expect(await client.ledger.nonces(signers.producer.address)).to.equal(nonceBefore + 3n);
    for (const gtin of [GTIN.tallow, GTIN.sichuanPepper, GTIN.doubanjiang]) {
      expect((await client.ledger.getProduct(gtin)).owner).to.equal(ORG.producer);
    }
  });

  it("mines 20 anchors sent at once, each with its own relayer nonce", async function () {
    const before = (await txlog()).length;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.anchor(id(`concurrent root ${i}`), 1, i + 1)),
    );
    purposes.push(...Array<string>(20).fill("anchor"));

    expect(new Set(results.map((r) => r.seq)).size).to.equal(20);
    expect(results.map((r) => r.seq).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 3));
    expect(await client.ledger.anchorCount()).to.equal(22n);
    const logged = (await txlog()).slice(before);
    expect(logged).to.have.length(20);
    const nonces = logged.map((r) => r.nonce);
    expect(nonces).to.deep.equal(Array.from({ length: 20 }, (_, i) => nonces[0]! + i));
  });

  it("removes a transaction the node refuses (an unfunded relayer) from the txlog, and says why", async function () {
    const unfunded = HDNodeWallet.createRandom();
    await client.grantAnchorer(unfunded.address);
    purposes.push("grantAnchorer");
    const poorClient = await LedgerClient.connect({
      provider,
      store,
      ledgerAddress: client.address,
      admin,
      relayer: unfunded,
    });
    const before = await txlog();
    const error = await rejection(poorClient.anchor(id("cannot pay"), 1, 1));

    expect(error).to.be.instanceOf(TransactionRejectedError);
    expect(error.message).to.contain("enough funds").and.to.contain("removed from the txlog");
    expect(await provider.getTransaction((error as TransactionRejectedError).txHash)).to.equal(null);
    expect(await txlog()).to.deep.equal(before);
    expect(await client.findAnchor(id("cannot pay"))).to.equal(null);
  });

  it("has logged every transaction in order, with its sender, nonce and purpose, all mined", async function () {
    const logged = await txlog();
    expect(logged.map((r) => r.purpose)).to.deep.equal(purposes);
    expect(logged.map((r) => r.seq)).to.deep.equal(Array.from({ length: logged.length }, (_, i) => i + 1));
    const nextNonce = new Map<string, number>();
    for (const record of logged) {
      const tx = Transaction.from(record.raw);
      expect(tx.hash).to.equal(record.hash);
      expect(tx.from!.toLowerCase()).to.equal(record.from);
      expect(tx.nonce).to.equal(record.nonce);
      expect(record.nonce).to.equal(nextNonce.get(record.from) ?? 0);
      nextNonce.set(record.from, record.nonce + 1);
      expect((await provider.getTransactionReceipt(record.hash))!.status).to.equal(1);
    }
    expect(record(logged, "deploy").from).to.equal(admin.address.toLowerCase());
    expect(record(logged, "anchor").from).to.equal(relayer.address.toLowerCase());
    expect(record(logged, "registerBatch").from).to.equal(relayer.address.toLowerCase());
  });

  it("reports a request that expired while waiting to be mined as a mined revert, then goes on", async function () {
    const shortLived = await LedgerClient.connect({
      provider,
      store,
      ledgerAddress: client.address,
      admin,
      relayer,
      signatureLifetimeSeconds: 60,
    });
    const gtin = BigInt(gtin14("0690388506006"));
    const before = (await txlog()).length;
    await provider.send("evm_setAutomine", [false]);
    let pending: Promise<unknown>;
    try {
      pending = shortLived.registerProduct(signers.producer, gtin, id("麻辣 late"));
      pending.catch(() => undefined);
      for (let inMempool = false; !inMempool; await new Promise((r) => setTimeout(r, 50))) {
        const logged = await txlog();
        inMempool = logged.length > before && (await provider.send("eth_getTransactionByHash", [logged.at(-1)!.hash]));
      }
      await provider.send("evm_increaseTime", [3600]);
      await provider.send("evm_mine", []);
    } finally {
      await provider.send("evm_setAutomine", [true]);
    }
    const error = (await rejection(pending)) as LedgerRevertError;
    const expired = (await txlog()).at(-1)!;
    expect(error).to.be.instanceOf(LedgerRevertError);
    expect(error.errorName).to.equal("TraceLedgerSignatureExpired");
    expect(error.args[0]).to.equal(signers.producer.address);
    expect(error.txHash).to.equal(expired.hash);
    expect((await provider.getTransactionReceipt(expired.hash))!.status).to.equal(0);

    // The reverted request did not use the producer's nonce; the next one does, and succeeds.
    const nonce = await shortLived.ledger.nonces(signers.producer.address);
    await shortLived.registerProduct(signers.producer, gtin, id("麻辣 on time"));
    expect(await shortLived.ledger.nonces(signers.producer.address)).to.equal(nonce + 1n);
    expect((await shortLived.ledger.getProduct(gtin)).metadataHash).to.equal(id("麻辣 on time"));
  });
});

function record(logged: TxLogRecord[], purpose: string): TxLogRecord {
  return logged.find((r) => r.purpose === purpose)!;
}
