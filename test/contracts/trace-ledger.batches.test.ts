/**
 * TraceLedger, direct (msg.sender) form: products, batches and their lineage, batch status
 * (hold, release, recall) and `recalledAncestor`.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { id, ZeroHash, type ContractTransactionResponse } from "ethers";

import { gtin14 } from "../../server/domain/identifiers";
import {
  BatchStatus,
  GTINS,
  ROLES,
  batchIdOf,
  deployLedgerFixture,
  deployWithBatchesFixture,
} from "../helpers/ledger-fixture";

/** A product no fixture organisation has registered (火锅礼盒, a hotpot gift box). */
const GIFT_BOX_GTIN = BigInt(gtin14("0690388504004"));
const REASON = id("reason:酸价超标");

async function blockTimeOf(tx: ContractTransactionResponse): Promise<bigint> {
  const receipt = await tx.wait();
  const block = await ethers.provider.getBlock(receipt!.blockNumber);
  return BigInt(block!.timestamp);
}

/** The batches fixture plus a rapeseed-oil batch of `otherProducer` and a gift box made from the hotpot base. */
async function lineageFixture() {
  const base = await deployWithBatchesFixture();
  const { ledger, accounts, batchIds } = base;
  await ledger.connect(accounts.otherProducer).registerBatch(GTINS.rapeseedOil, "JJ-OIL-2026-09", id("oil"), []);
  await ledger.connect(accounts.producer).registerProduct(GIFT_BOX_GTIN, id("product:gift-box"));
  await ledger.connect(accounts.producer).registerBatch(GIFT_BOX_GTIN, "GB2026-12", id("gift"), [batchIds.hotpotId]);
  return {
    ...base,
    oilId: batchIdOf(GTINS.rapeseedOil, "JJ-OIL-2026-09"),
    giftId: batchIdOf(GIFT_BOX_GTIN, "GB2026-12"),
  };
}

/**
 * A lineage wider than MAX_ANCESTOR_WALK: 9 middle batches of 32 distinct leaf batches each
 * (9 + 288 = 297 ancestor entries) feed `wideId`; 8 middle batches listing the same 31 leaves
 * (8 + 8 × 31 = 256 entries, leaves counted once per path) feed `exactId`.
 */
async function wideLineageFixture() {
  const base = await deployWithBatchesFixture();
  const asProducer = base.ledger.connect(base.accounts.producer);
  const register = async (gtin: bigint, lot: string, parents: string[]) => {
    await asProducer.registerBatch(gtin, lot, ZeroHash, parents);
    return batchIdOf(gtin, lot);
  };
  const leaves: string[][] = [];
  const middles: string[] = [];
  for (let m = 0; m < 9; m++) {
    const row: string[] = [];
    for (let k = 0; k < 32; k++) row.push(await register(GTINS.chili, `L${m}-${k}`, []));
    leaves.push(row);
    middles.push(await register(GTINS.tallow, `M${m}`, row));
  }
  const wideId = await register(GTINS.hotpotBase, "WIDE", middles);
  const shared = leaves[0]!.slice(0, 31);
  const sharedMiddles: string[] = [];
  for (let m = 0; m < 8; m++) sharedMiddles.push(await register(GTINS.tallow, `S${m}`, shared));
  const exactId = await register(GTINS.hotpotBase, "EXACT", sharedMiddles);
  return { ...base, leaves, wideId, exactId, sharedMiddles };
}

describe("TraceLedger: products and batches", function () {
  describe("registerProduct", function () {
    it("registers a product owned by the producer's organisation", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployLedgerFixture);
      const tx = await ledger.connect(accounts.producer).registerProduct(GIFT_BOX_GTIN, id("gift"));
      await expect(tx).to.emit(ledger, "ProductRegistered").withArgs(GIFT_BOX_GTIN, orgIds.producer, id("gift"));
      const product = await ledger.getProduct(GIFT_BOX_GTIN);
      expect(product.owner).to.equal(orgIds.producer);
      expect(product.metadataHash).to.equal(id("gift"));
      expect(product.registeredAt).to.equal(await blockTimeOf(tx));
    });

    it("accepts the largest GTIN-14", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployLedgerFixture);
      const largest = BigInt(gtin14("9999999999999"));
      await expect(ledger.connect(accounts.producer).registerProduct(largest, ZeroHash))
        .to.emit(ledger, "ProductRegistered")
        .withArgs(largest, orgIds.producer, ZeroHash);
    });

    it("rejects a GTIN with a wrong check digit, zero, or 15 digits", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      const wrongCheckDigit = GIFT_BOX_GTIN - (GIFT_BOX_GTIN % 10n) + (((GIFT_BOX_GTIN % 10n) + 1n) % 10n);
      for (const gtin of [wrongCheckDigit, 0n, 10n ** 14n, 10n ** 14n + GIFT_BOX_GTIN, 2n ** 64n - 1n]) {
        await expect(ledger.connect(accounts.producer).registerProduct(gtin, id("p")))
          .to.be.revertedWithCustomError(ledger, "TraceLedgerInvalidGtin")
          .withArgs(gtin);
      }
    });

    it("rejects a GTIN another organisation already registered", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployWithBatchesFixture);
      await expect(ledger.connect(accounts.otherProducer).registerProduct(GTINS.chili, id("mine")))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerProductExists")
        .withArgs(GTINS.chili, orgIds.producer);
      expect((await ledger.getProduct(GTINS.chili)).metadataHash).to.equal(id("product:chili"));
    });

    it("is for producers with an organisation only", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      await expect(ledger.connect(accounts.retailer).registerProduct(GIFT_BOX_GTIN, id("p")))
        .to.be.revertedWithCustomError(ledger, "AccessControlUnauthorizedAccount")
        .withArgs(accounts.retailer.address, ROLES.PRODUCER);
      await ledger.grantRole(ROLES.PRODUCER, accounts.outsider.address);
      await expect(ledger.connect(accounts.outsider).registerProduct(GIFT_BOX_GTIN, id("p")))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerNotAnOrganisation")
        .withArgs(accounts.outsider.address);
    });

    it("getProduct reverts for an unknown GTIN", async function () {
      const { ledger } = await loadFixture(deployLedgerFixture);
      await expect(ledger.getProduct(GIFT_BOX_GTIN))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerUnknownProduct")
        .withArgs(GIFT_BOX_GTIN);
    });
  });

  describe("registerBatch", function () {
    it("registers a batch made from input batches and reads it back", async function () {
      const { ledger, orgIds, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      const lot = "DZ20261121-02";
      const parents = [batchIds.chiliId, batchIds.tallowId];
      const batchId = batchIdOf(GTINS.hotpotBase, lot);
      const asProducer = ledger.connect(accounts.producer);
      expect(await asProducer.registerBatch.staticCall(GTINS.hotpotBase, lot, id("m"), parents)).to.equal(batchId);

      const tx = await asProducer.registerBatch(GTINS.hotpotBase, lot, id("m"), parents);
      await expect(tx)
        .to.emit(ledger, "BatchRegistered")
        .withArgs(batchId, GTINS.hotpotBase, orgIds.producer, lot, id("m"), parents);
      const batch = await ledger.getBatch(batchId);
      expect(batch.producer).to.equal(orgIds.producer);
      expect(batch.metadataHash).to.equal(id("m"));
      expect(batch.gtin).to.equal(GTINS.hotpotBase);
      expect(batch.registeredAt).to.equal(await blockTimeOf(tx));
      expect(batch.status).to.equal(BatchStatus.Active);
      expect([...batch.parents]).to.deep.equal(parents);
    });

    it("registers a batch without parents, with a 20-character lot of every AI 82 punctuation mark", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployWithBatchesFixture);
      const lot = `!"%&'()*+,-./:;<=>?_`;
      expect(lot).to.have.length(20);
      const batchId = batchIdOf(GTINS.chili, lot);
      await expect(ledger.connect(accounts.producer).registerBatch(GTINS.chili, lot, ZeroHash, []))
        .to.emit(ledger, "BatchRegistered")
        .withArgs(batchId, GTINS.chili, orgIds.producer, lot, ZeroHash, []);
      const batch = await ledger.getBatch(batchId);
      expect(batch.status).to.equal(BatchStatus.Active);
      expect(batch.parents).to.have.length(0);
    });

    it("accepts another producer's batch as an input", async function () {
      const { ledger, orgIds, accounts, oilId } = await loadFixture(lineageFixture);
      const lot = "DZ-OIL-01";
      await expect(ledger.connect(accounts.producer).registerBatch(GTINS.hotpotBase, lot, id("m"), [oilId]))
        .to.emit(ledger, "BatchRegistered")
        .withArgs(batchIdOf(GTINS.hotpotBase, lot), GTINS.hotpotBase, orgIds.producer, lot, id("m"), [oilId]);
    });

    it("rejects an empty, too long, or non-AI 82 lot", async function () {
      const { ledger, accounts } = await loadFixture(deployWithBatchesFixture);
      const badLots = ["", "A".repeat(21), "DZ 2026", "DZ#2026", "重庆2026", "DZ$1", "DZ@1", "DZ[1", "DZ`1", "DZ{1"];
      for (const lot of badLots) {
        await expect(ledger.connect(accounts.producer).registerBatch(GTINS.chili, lot, id("m"), []))
          .to.be.revertedWithCustomError(ledger, "TraceLedgerInvalidLot")
          .withArgs(lot);
      }
    });

    it("rejects a GTIN that is not a registered product", async function () {
      const { ledger, accounts } = await loadFixture(deployWithBatchesFixture);
      for (const gtin of [GIFT_BOX_GTIN, 0n]) {
        await expect(ledger.connect(accounts.producer).registerBatch(gtin, "LOT1", id("m"), []))
          .to.be.revertedWithCustomError(ledger, "TraceLedgerUnknownProduct")
          .withArgs(gtin);
      }
    });

    it("does not let a producer register a batch of another producer's GTIN", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployWithBatchesFixture);
      await expect(ledger.connect(accounts.producer).registerBatch(GTINS.rapeseedOil, "FAKE-01", id("m"), []))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerNotProductOwner")
        .withArgs(GTINS.rapeseedOil, orgIds.producer);
    });

    it("rejects a lot that is already registered", async function () {
      const { ledger, accounts, lots, batchIds } = await loadFixture(deployWithBatchesFixture);
      await expect(ledger.connect(accounts.producer).registerBatch(GTINS.chili, lots.chiliLot, id("other"), []))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerBatchExists")
        .withArgs(batchIds.chiliId);
      expect((await ledger.getBatch(batchIds.chiliId)).metadataHash).to.equal(id("batch:chili"));
    });

    it("accepts 32 parents and rejects 33", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployWithBatchesFixture);
      const asProducer = ledger.connect(accounts.producer);
      const parents: string[] = [];
      for (let i = 0; i < 33; i++) {
        const lot = `JJ-P${i}`;
        await asProducer.registerBatch(GTINS.chili, lot, ZeroHash, []);
        parents.push(batchIdOf(GTINS.chili, lot));
      }
      await expect(asProducer.registerBatch(GTINS.hotpotBase, "DZ-33", ZeroHash, parents))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerTooManyParents")
        .withArgs(33, 32);

      const max = parents.slice(0, 32);
      await expect(asProducer.registerBatch(GTINS.hotpotBase, "DZ-32", ZeroHash, max))
        .to.emit(ledger, "BatchRegistered")
        .withArgs(batchIdOf(GTINS.hotpotBase, "DZ-32"), GTINS.hotpotBase, orgIds.producer, "DZ-32", ZeroHash, max);
      expect([...(await ledger.getBatch(batchIdOf(GTINS.hotpotBase, "DZ-32"))).parents]).to.deep.equal(max);
    });

    it("rejects a parent listed twice", async function () {
      const { ledger, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      const parents = [batchIds.chiliId, batchIds.tallowId, batchIds.chiliId];
      await expect(ledger.connect(accounts.producer).registerBatch(GTINS.hotpotBase, "DZ-DUP", id("m"), parents))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerDuplicateParent")
        .withArgs(batchIds.chiliId);
    });

    it("rejects an unknown parent, including the batch itself", async function () {
      const { ledger, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      const asProducer = ledger.connect(accounts.producer);
      const unknown = id("no such batch");
      await expect(asProducer.registerBatch(GTINS.hotpotBase, "DZ-X", id("m"), [batchIds.chiliId, unknown]))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerUnknownBatch")
        .withArgs(unknown);
      // The NatSpec of TraceLedgerDuplicateParent mentions "the batch itself", but a batch does not
      // exist yet while it is being registered, so listing itself is reported as an unknown batch.
      const self = batchIdOf(GTINS.hotpotBase, "DZ-SELF");
      await expect(asProducer.registerBatch(GTINS.hotpotBase, "DZ-SELF", id("m"), [self]))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerUnknownBatch")
        .withArgs(self);
    });

    it("rejects a held or recalled parent", async function () {
      const { ledger, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      const asProducer = ledger.connect(accounts.producer);
      await ledger.connect(accounts.inspector).holdBatch(batchIds.chiliId, REASON);
      await expect(asProducer.registerBatch(GTINS.hotpotBase, "DZ-H", id("m"), [batchIds.tallowId, batchIds.chiliId]))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerParentNotActive")
        .withArgs(batchIds.chiliId, BatchStatus.Held);
      await ledger.connect(accounts.regulator).recall(batchIds.tallowId, REASON);
      await expect(asProducer.registerBatch(GTINS.hotpotBase, "DZ-R", id("m"), [batchIds.tallowId]))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerParentNotActive")
        .withArgs(batchIds.tallowId, BatchStatus.Recalled);
    });

    it("is for producers with an organisation only", async function () {
      const { ledger, accounts } = await loadFixture(deployWithBatchesFixture);
      await expect(ledger.connect(accounts.regulator).registerBatch(GTINS.chili, "LOT1", id("m"), []))
        .to.be.revertedWithCustomError(ledger, "AccessControlUnauthorizedAccount")
        .withArgs(accounts.regulator.address, ROLES.PRODUCER);
      await ledger.grantRole(ROLES.PRODUCER, accounts.outsider.address);
      await expect(ledger.connect(accounts.outsider).registerBatch(GTINS.chili, "LOT1", id("m"), []))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerNotAnOrganisation")
        .withArgs(accounts.outsider.address);
    });

    it("getBatch reverts for an unknown batch", async function () {
      const { ledger } = await loadFixture(deployWithBatchesFixture);
      const unknown = batchIdOf(GTINS.chili, "NOPE");
      await expect(ledger.getBatch(unknown))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerUnknownBatch")
        .withArgs(unknown);
    });

    it("batchIdOf equals the off-chain batch id", async function () {
      const { ledger, lots, batchIds } = await loadFixture(deployWithBatchesFixture);
      expect(await ledger.batchIdOf(GTINS.chili, lots.chiliLot)).to.equal(batchIds.chiliId);
      for (const [gtin, lot] of [
        [GTINS.hotpotBase, "DZ20261120-01"],
        [GIFT_BOX_GTIN, `!"%&'()*+,-./:;<=>?_`],
        [1n, "x"],
        [2n ** 64n - 1n, "A".repeat(40)],
      ] as const) {
        expect(await ledger.batchIdOf(gtin, lot)).to.equal(batchIdOf(gtin, lot));
      }
    });
  });

  describe("holdBatch", function () {
    it("lets an inspector, a regulator and the batch's producer hold an active batch", async function () {
      const { ledger, orgIds, accounts, batchIds, oilId } = await loadFixture(lineageFixture);
      const cases = [
        { who: accounts.inspector, org: orgIds.inspector, batchId: batchIds.chiliId },
        { who: accounts.regulator, org: orgIds.regulator, batchId: batchIds.tallowId },
        { who: accounts.otherProducer, org: orgIds.otherProducer, batchId: oilId },
      ];
      for (const { who, org, batchId } of cases) {
        await expect(ledger.connect(who).holdBatch(batchId, REASON))
          .to.emit(ledger, "BatchStatusChanged")
          .withArgs(batchId, BatchStatus.Held, org, BatchStatus.Active, REASON);
        expect((await ledger.getBatch(batchId)).status).to.equal(BatchStatus.Held);
      }
    });

    it("rejects holding a held batch", async function () {
      const { ledger, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      await ledger.connect(accounts.inspector).holdBatch(batchIds.chiliId, REASON);
      await expect(ledger.connect(accounts.regulator).holdBatch(batchIds.chiliId, REASON))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerInvalidStatusTransition")
        .withArgs(batchIds.chiliId, BatchStatus.Held, BatchStatus.Held);
    });

    it("does not let a producer hold another producer's batch", async function () {
      const { ledger, orgIds, accounts, oilId } = await loadFixture(lineageFixture);
      await expect(ledger.connect(accounts.producer).holdBatch(oilId, REASON))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerNotBatchProducer")
        .withArgs(oilId, orgIds.producer);
    });

    it("rejects an unknown batch, other roles and accounts without an organisation", async function () {
      const { ledger, accounts } = await loadFixture(deployWithBatchesFixture);
      const unknown = id("no such batch");
      await expect(ledger.connect(accounts.inspector).holdBatch(unknown, REASON))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerUnknownBatch")
        .withArgs(unknown);
      for (const caller of [accounts.logistics, accounts.retailer, accounts.admin]) {
        await expect(ledger.connect(caller).holdBatch(unknown, REASON))
          .to.be.revertedWithCustomError(ledger, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, ROLES.REGULATOR);
      }
      await ledger.grantRole(ROLES.INSPECTOR, accounts.outsider.address);
      await expect(ledger.connect(accounts.outsider).holdBatch(unknown, REASON))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerNotAnOrganisation")
        .withArgs(accounts.outsider.address);
    });
  });

  describe("releaseBatch", function () {
    it("lets a regulator return a held batch to active", async function () {
      const { ledger, orgIds, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      await ledger.connect(accounts.inspector).holdBatch(batchIds.chiliId, REASON);
      await expect(ledger.connect(accounts.regulator).releaseBatch(batchIds.chiliId, id("复检合格")))
        .to.emit(ledger, "BatchStatusChanged")
        .withArgs(batchIds.chiliId, BatchStatus.Active, orgIds.regulator, BatchStatus.Held, id("复检合格"));
      expect((await ledger.getBatch(batchIds.chiliId)).status).to.equal(BatchStatus.Active);
    });

    it("rejects releasing an active batch", async function () {
      const { ledger, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      await expect(ledger.connect(accounts.regulator).releaseBatch(batchIds.chiliId, REASON))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerInvalidStatusTransition")
        .withArgs(batchIds.chiliId, BatchStatus.Active, BatchStatus.Active);
    });

    it("is for regulators only, even for the batch's producer or an inspector", async function () {
      const { ledger, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      await ledger.connect(accounts.inspector).holdBatch(batchIds.chiliId, REASON);
      for (const caller of [accounts.producer, accounts.inspector, accounts.admin]) {
        await expect(ledger.connect(caller).releaseBatch(batchIds.chiliId, REASON))
          .to.be.revertedWithCustomError(ledger, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, ROLES.REGULATOR);
      }
      await ledger.grantRole(ROLES.REGULATOR, accounts.outsider.address);
      await expect(ledger.connect(accounts.outsider).releaseBatch(batchIds.chiliId, REASON))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerNotAnOrganisation")
        .withArgs(accounts.outsider.address);
      expect((await ledger.getBatch(batchIds.chiliId)).status).to.equal(BatchStatus.Held);
    });

    it("rejects an unknown batch", async function () {
      const { ledger, accounts } = await loadFixture(deployWithBatchesFixture);
      const unknown = id("no such batch");
      await expect(ledger.connect(accounts.regulator).releaseBatch(unknown, REASON))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerUnknownBatch")
        .withArgs(unknown);
    });
  });

  describe("recall", function () {
    it("lets a regulator recall an active batch and the producer recall its held batch", async function () {
      const { ledger, orgIds, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      await expect(ledger.connect(accounts.regulator).recall(batchIds.chiliId, REASON))
        .to.emit(ledger, "BatchStatusChanged")
        .withArgs(batchIds.chiliId, BatchStatus.Recalled, orgIds.regulator, BatchStatus.Active, REASON);
      expect((await ledger.getBatch(batchIds.chiliId)).status).to.equal(BatchStatus.Recalled);

      await ledger.connect(accounts.inspector).holdBatch(batchIds.tallowId, REASON);
      await expect(ledger.connect(accounts.producer).recall(batchIds.tallowId, id("主动召回")))
        .to.emit(ledger, "BatchStatusChanged")
        .withArgs(batchIds.tallowId, BatchStatus.Recalled, orgIds.producer, BatchStatus.Held, id("主动召回"));
      expect((await ledger.getBatch(batchIds.tallowId)).status).to.equal(BatchStatus.Recalled);
    });

    it("never lets a recalled batch change again", async function () {
      const { ledger, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      const { chiliId } = batchIds;
      await ledger.connect(accounts.regulator).recall(chiliId, REASON);
      const attempts = [
        () => ledger.connect(accounts.regulator).releaseBatch(chiliId, REASON),
        () => ledger.connect(accounts.regulator).holdBatch(chiliId, REASON),
        () => ledger.connect(accounts.inspector).holdBatch(chiliId, REASON),
        () => ledger.connect(accounts.regulator).recall(chiliId, REASON),
        () => ledger.connect(accounts.producer).recall(chiliId, REASON),
        () => ledger.connect(accounts.producer).commitSerials(chiliId, id("serial-root"), 1),
      ];
      for (const attempt of attempts) {
        await expect(attempt()).to.be.revertedWithCustomError(ledger, "TraceLedgerBatchRecalled").withArgs(chiliId);
      }
      expect((await ledger.getBatch(chiliId)).status).to.equal(BatchStatus.Recalled);
    });

    it("is not for inspectors, and a producer recalls only its own batches", async function () {
      const { ledger, orgIds, accounts, oilId } = await loadFixture(lineageFixture);
      await expect(ledger.connect(accounts.inspector).recall(oilId, REASON))
        .to.be.revertedWithCustomError(ledger, "AccessControlUnauthorizedAccount")
        .withArgs(accounts.inspector.address, ROLES.REGULATOR);
      await expect(ledger.connect(accounts.producer).recall(oilId, REASON))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerNotBatchProducer")
        .withArgs(oilId, orgIds.producer);
      expect((await ledger.getBatch(oilId)).status).to.equal(BatchStatus.Active);
    });

    it("rejects an unknown batch and a regulator without an organisation", async function () {
      const { ledger, accounts } = await loadFixture(deployWithBatchesFixture);
      const unknown = id("no such batch");
      await expect(ledger.connect(accounts.regulator).recall(unknown, REASON))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerUnknownBatch")
        .withArgs(unknown);
      await ledger.grantRole(ROLES.REGULATOR, accounts.outsider.address);
      await expect(ledger.connect(accounts.outsider).recall(unknown, REASON))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerNotAnOrganisation")
        .withArgs(accounts.outsider.address);
    });
  });

  describe("recalledAncestor", function () {
    it("shows a recalled grand-parent lot from the grandchild", async function () {
      const { ledger, accounts, batchIds, giftId } = await loadFixture(lineageFixture);
      expect(await ledger.recalledAncestor(giftId)).to.deep.equal([false, ZeroHash]);
      await ledger.connect(accounts.regulator).recall(batchIds.chiliId, REASON);
      expect(await ledger.recalledAncestor(giftId)).to.deep.equal([true, batchIds.chiliId]);
      expect(await ledger.recalledAncestor(batchIds.hotpotId)).to.deep.equal([true, batchIds.chiliId]);
    });

    it("does not show a recall in a sibling lineage, nor the batch's own recall", async function () {
      const { ledger, accounts, batchIds } = await loadFixture(lineageFixture);
      const asProducer = ledger.connect(accounts.producer);
      await asProducer.registerBatch(GTINS.chili, "JJ2026-11-B", ZeroHash, []);
      const otherChili = batchIdOf(GTINS.chili, "JJ2026-11-B");
      await asProducer.registerBatch(GTINS.hotpotBase, "DZ-SIBLING", ZeroHash, [otherChili, batchIds.tallowId]);
      const sibling = batchIdOf(GTINS.hotpotBase, "DZ-SIBLING");

      await ledger.connect(accounts.regulator).recall(batchIds.chiliId, REASON);
      expect(await ledger.recalledAncestor(sibling)).to.deep.equal([false, ZeroHash]);
      expect(await ledger.recalledAncestor(batchIds.chiliId)).to.deep.equal([false, ZeroHash]);
    });

    it("reports the nearest recalled generation first", async function () {
      const { ledger, accounts, batchIds, giftId } = await loadFixture(lineageFixture);
      await ledger.connect(accounts.regulator).recall(batchIds.chiliId, REASON);
      await ledger.connect(accounts.regulator).recall(batchIds.hotpotId, REASON);
      expect(await ledger.recalledAncestor(giftId)).to.deep.equal([true, batchIds.hotpotId]);
    });

    it("does not count a held ancestor as recalled", async function () {
      const { ledger, accounts, batchIds, giftId } = await loadFixture(lineageFixture);
      await ledger.connect(accounts.inspector).holdBatch(batchIds.chiliId, REASON);
      expect(await ledger.recalledAncestor(giftId)).to.deep.equal([false, ZeroHash]);
    });

    it("reverts for an unknown batch", async function () {
      const { ledger } = await loadFixture(deployWithBatchesFixture);
      const unknown = id("no such batch");
      await expect(ledger.recalledAncestor(unknown))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerUnknownBatch")
        .withArgs(unknown);
    });

    it("reverts for a lineage wider than MAX_ANCESTOR_WALK, unless a recall is found within it", async function () {
      const { ledger, accounts, leaves, wideId } = await loadFixture(wideLineageFixture);
      await expect(ledger.recalledAncestor(wideId))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerLineageTooLarge")
        .withArgs(wideId, 256);
      // Recalled beyond the walk (leaves of the ninth middle batch): still too large.
      await ledger.connect(accounts.regulator).recall(leaves[8]![31]!, REASON);
      await expect(ledger.recalledAncestor(wideId))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerLineageTooLarge")
        .withArgs(wideId, 256);
      // Recalled within the walk: found.
      await ledger.connect(accounts.regulator).recall(leaves[3]![17]!, REASON);
      expect(await ledger.recalledAncestor(wideId)).to.deep.equal([true, leaves[3]![17]!]);
    });

    it("walks a lineage of exactly MAX_ANCESTOR_WALK entries, counting shared ancestors once per path", async function () {
      const { ledger, accounts, leaves, exactId, sharedMiddles } = await loadFixture(wideLineageFixture);
      expect(await ledger.recalledAncestor(exactId)).to.deep.equal([false, ZeroHash]);
      // One more entry is too many.
      const asProducer = ledger.connect(accounts.producer);
      await asProducer.registerBatch(GTINS.hotpotBase, "EXACT+1", ZeroHash, [...sharedMiddles, leaves[1]![0]!]);
      const tooWide = batchIdOf(GTINS.hotpotBase, "EXACT+1");
      await expect(ledger.recalledAncestor(tooWide))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerLineageTooLarge")
        .withArgs(tooWide, 256);
      // A recall of the last shared leaf is found through the first middle batch.
      await ledger.connect(accounts.regulator).recall(leaves[0]![30]!, REASON);
      expect(await ledger.recalledAncestor(exactId)).to.deep.equal([true, leaves[0]![30]!]);
    });
  });
});
