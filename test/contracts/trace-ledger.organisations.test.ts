/**
 * TraceLedger, direct (msg.sender) form: organisations, key rotation, suspension and the
 * organisation reads. Products/batches and anchors/serials/pause live in the sibling
 * `trace-ledger.*.test.ts` files; `…BySig` and the role matrix have their own files.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { id, ZeroAddress, ZeroHash, type ContractTransactionResponse } from "ethers";

import { gtin14, orgIdOf, uscc } from "../../server/domain/identifiers";
import { signAuthorization } from "../../server/chain/typed-data";
import {
  BatchStatus,
  GTINS,
  ROLES,
  deadlineIn,
  deployLedgerFixture,
  deployWithBatchesFixture,
} from "../helpers/ledger-fixture";

/** An organisation the fixture does not register: 重庆荣昌陶器厂 (荣昌 ceramics). */
const CERAMICS_ORG = orgIdOf(uscc("91500226MA5YH8K3X"));
/** A product no fixture organisation has registered (火锅礼盒, a hotpot gift box). */
const GIFT_BOX_GTIN = BigInt(gtin14("0690388504004"));
const REASON = id("reason:抽检不合格");

async function blockTimeOf(tx: ContractTransactionResponse): Promise<bigint> {
  const receipt = await tx.wait();
  const block = await ethers.provider.getBlock(receipt!.blockNumber);
  return BigInt(block!.timestamp);
}

describe("TraceLedger: organisations", function () {
  describe("registerOrganisation", function () {
    it("registers an organisation with its roles and reads it back", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      const { outsider } = accounts;
      const tx = await ledger.registerOrganisation(CERAMICS_ORG, outsider.address, [ROLES.LOGISTICS, ROLES.RETAILER]);
      await expect(tx).to.emit(ledger, "OrganisationRegistered").withArgs(CERAMICS_ORG, outsider.address);
      await expect(tx)
        .to.emit(ledger, "RoleGranted")
        .withArgs(ROLES.LOGISTICS, outsider.address, accounts.admin.address);

      const org = await ledger.getOrganisation(CERAMICS_ORG);
      expect(org.account).to.equal(outsider.address);
      expect(org.registeredAt).to.equal(await blockTimeOf(tx));
      expect(org.suspended).to.equal(false);
      expect(await ledger.organisationOf(outsider.address)).to.equal(CERAMICS_ORG);
      expect(await ledger.hasActiveRole(ROLES.LOGISTICS, outsider.address)).to.equal(true);
      expect(await ledger.hasActiveRole(ROLES.RETAILER, outsider.address)).to.equal(true);
      expect(await ledger.hasRole(ROLES.PRODUCER, outsider.address)).to.equal(false);
    });

    it("registers an organisation with no roles", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      await expect(ledger.registerOrganisation(CERAMICS_ORG, accounts.outsider.address, []))
        .to.emit(ledger, "OrganisationRegistered")
        .withArgs(CERAMICS_ORG, accounts.outsider.address);
      expect(await ledger.organisationOf(accounts.outsider.address)).to.equal(CERAMICS_ORG);
      expect(await ledger.hasActiveRole(ROLES.PRODUCER, accounts.outsider.address)).to.equal(false);
    });

    it("rejects a zero organisation id or a zero account", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      await expect(ledger.registerOrganisation(ZeroHash, accounts.outsider.address, [ROLES.RETAILER]))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerInvalidOrganisation")
        .withArgs(ZeroHash, accounts.outsider.address);
      await expect(ledger.registerOrganisation(CERAMICS_ORG, ZeroAddress, [ROLES.RETAILER]))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerInvalidOrganisation")
        .withArgs(CERAMICS_ORG, ZeroAddress);
    });

    it("rejects an organisation id that is already registered", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployLedgerFixture);
      await expect(ledger.registerOrganisation(orgIds.producer, accounts.outsider.address, [ROLES.PRODUCER]))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerOrganisationExists")
        .withArgs(orgIds.producer);
      expect((await ledger.getOrganisation(orgIds.producer)).account).to.equal(accounts.producer.address);
    });

    it("rejects an account that already signs for another organisation", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployLedgerFixture);
      await expect(ledger.registerOrganisation(CERAMICS_ORG, accounts.producer.address, [ROLES.RETAILER]))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerAccountInUse")
        .withArgs(accounts.producer.address, orgIds.producer);
    });

    it("rejects a role that is not a participant role", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      for (const role of [ROLES.ANCHORER, ROLES.ADMIN, id("AUDITOR_ROLE")]) {
        await expect(ledger.registerOrganisation(CERAMICS_ORG, accounts.outsider.address, [ROLES.RETAILER, role]))
          .to.be.revertedWithCustomError(ledger, "TraceLedgerInvalidRole")
          .withArgs(role);
      }
      expect(await ledger.organisationOf(accounts.outsider.address)).to.equal(ZeroHash);
    });

    it("is for the platform admin only", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      for (const caller of [accounts.regulator, accounts.anchorer, accounts.outsider]) {
        await expect(ledger.connect(caller).registerOrganisation(CERAMICS_ORG, accounts.outsider.address, []))
          .to.be.revertedWithCustomError(ledger, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, ROLES.ADMIN);
      }
    });
  });

  describe("rotateOrganisationAccount", function () {
    it("moves the roles and product ownership of an organisation to its new key", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployWithBatchesFixture);
      const { producer: oldKey, outsider: newKey } = accounts;
      const registeredAt = (await ledger.getOrganisation(orgIds.producer)).registeredAt;

      await expect(ledger.rotateOrganisationAccount(orgIds.producer, newKey.address))
        .to.emit(ledger, "OrganisationAccountRotated")
        .withArgs(orgIds.producer, oldKey.address, newKey.address);

      const org = await ledger.getOrganisation(orgIds.producer);
      expect(org.account).to.equal(newKey.address);
      expect(org.registeredAt).to.equal(registeredAt);
      expect(await ledger.organisationOf(newKey.address)).to.equal(orgIds.producer);
      expect(await ledger.organisationOf(oldKey.address)).to.equal(ZeroHash);
      expect(await ledger.hasRole(ROLES.PRODUCER, oldKey.address)).to.equal(false);
      expect(await ledger.hasActiveRole(ROLES.PRODUCER, newKey.address)).to.equal(true);

      // The old key can do nothing any more.
      await expect(ledger.connect(oldKey).registerBatch(GTINS.hotpotBase, "DZ20261201-01", id("b"), []))
        .to.be.revertedWithCustomError(ledger, "AccessControlUnauthorizedAccount")
        .withArgs(oldKey.address, ROLES.PRODUCER);
      await expect(ledger.connect(oldKey).registerProduct(GIFT_BOX_GTIN, id("p")))
        .to.be.revertedWithCustomError(ledger, "AccessControlUnauthorizedAccount")
        .withArgs(oldKey.address, ROLES.PRODUCER);

      // The organisation still owns its products: the new key registers a batch of its GTIN.
      expect((await ledger.getProduct(GTINS.hotpotBase)).owner).to.equal(orgIds.producer);
      const lot = "DZ20261201-01";
      const batchId = await ledger.batchIdOf(GTINS.hotpotBase, lot);
      await expect(ledger.connect(newKey).registerBatch(GTINS.hotpotBase, lot, id("b"), []))
        .to.emit(ledger, "BatchRegistered")
        .withArgs(batchId, GTINS.hotpotBase, orgIds.producer, lot, id("b"), []);
    });

    it("moves every participant role the organisation holds, and only those", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      const [oldKey, newKey] = [accounts.outsider, accounts.relayer];
      await ledger.registerOrganisation(CERAMICS_ORG, oldKey.address, [ROLES.INSPECTOR, ROLES.LOGISTICS]);
      const tx = await ledger.rotateOrganisationAccount(CERAMICS_ORG, newKey.address);
      await expect(tx).to.emit(ledger, "RoleRevoked").withArgs(ROLES.INSPECTOR, oldKey.address, accounts.admin.address);
      await expect(tx).to.emit(ledger, "RoleGranted").withArgs(ROLES.LOGISTICS, newKey.address, accounts.admin.address);
      for (const role of [ROLES.INSPECTOR, ROLES.LOGISTICS]) {
        expect(await ledger.hasRole(role, oldKey.address)).to.equal(false);
        expect(await ledger.hasRole(role, newKey.address)).to.equal(true);
      }
      for (const role of [ROLES.REGULATOR, ROLES.PRODUCER, ROLES.RETAILER]) {
        expect(await ledger.hasRole(role, newKey.address)).to.equal(false);
      }
    });

    it("retires the previous account so that it can never sign for another organisation", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployLedgerFixture);
      await ledger.rotateOrganisationAccount(orgIds.retailer, accounts.outsider.address);
      expect(await ledger.organisationOf(accounts.retailer.address)).to.equal(ZeroHash);
      await expect(ledger.registerOrganisation(CERAMICS_ORG, accounts.retailer.address, [ROLES.LOGISTICS]))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerAccountRetired")
        .withArgs(accounts.retailer.address);
      await expect(ledger.rotateOrganisationAccount(orgIds.producer, accounts.retailer.address))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerAccountRetired")
        .withArgs(accounts.retailer.address);
    });

    it("leaves a request signed by a rotated-away key unable to act for anyone", async function () {
      const { ledger, orgIds, accounts, domain } = await loadFixture(deployWithBatchesFixture);
      const oldKey = accounts.producer;
      const lot = "DZ20261202-01";
      const auth = await signAuthorization(
        oldKey,
        domain,
        "RegisterBatch",
        { gtin: GTINS.hotpotBase, lot, metadataHash: id("b"), parents: [] },
        { signer: oldKey.address, nonce: await ledger.nonces(oldKey.address), deadline: await deadlineIn() },
      );
      await ledger.rotateOrganisationAccount(orgIds.producer, accounts.outsider.address);
      await expect(ledger.connect(accounts.relayer).registerBatchBySig(GTINS.hotpotBase, lot, id("b"), [], auth))
        .to.be.revertedWithCustomError(ledger, "AccessControlUnauthorizedAccount")
        .withArgs(oldKey.address, ROLES.PRODUCER);
      await expect(ledger.registerOrganisation(CERAMICS_ORG, oldKey.address, [ROLES.PRODUCER]))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerAccountRetired")
        .withArgs(oldKey.address);
    });

    it("keeps a suspended organisation suspended under its new key", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployLedgerFixture);
      await ledger.suspendOrganisation(orgIds.producer, REASON);
      await ledger.rotateOrganisationAccount(orgIds.producer, accounts.outsider.address);
      expect((await ledger.getOrganisation(orgIds.producer)).suspended).to.equal(true);
      expect(await ledger.hasRole(ROLES.PRODUCER, accounts.outsider.address)).to.equal(true);
      expect(await ledger.hasActiveRole(ROLES.PRODUCER, accounts.outsider.address)).to.equal(false);
      await expect(ledger.connect(accounts.outsider).registerProduct(GTINS.chili, id("p")))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerOrganisationSuspended")
        .withArgs(orgIds.producer);
    });

    it("rejects an unknown organisation, a zero account and an account in use", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployLedgerFixture);
      await expect(ledger.rotateOrganisationAccount(CERAMICS_ORG, accounts.outsider.address))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerUnknownOrganisation")
        .withArgs(CERAMICS_ORG);
      await expect(ledger.rotateOrganisationAccount(orgIds.producer, ZeroAddress))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerInvalidOrganisation")
        .withArgs(orgIds.producer, ZeroAddress);
      await expect(ledger.rotateOrganisationAccount(orgIds.producer, accounts.regulator.address))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerAccountInUse")
        .withArgs(accounts.regulator.address, orgIds.regulator);
      await expect(ledger.rotateOrganisationAccount(orgIds.producer, accounts.producer.address))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerAccountInUse")
        .withArgs(accounts.producer.address, orgIds.producer);
    });

    it("is for the platform admin only", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployLedgerFixture);
      await expect(
        ledger.connect(accounts.producer).rotateOrganisationAccount(orgIds.producer, accounts.outsider.address),
      )
        .to.be.revertedWithCustomError(ledger, "AccessControlUnauthorizedAccount")
        .withArgs(accounts.producer.address, ROLES.ADMIN);
    });
  });

  describe("suspendOrganisation and reinstateOrganisation", function () {
    it("lets the platform admin suspend and reinstate, reported as organisation zero", async function () {
      const { ledger, orgIds } = await loadFixture(deployLedgerFixture);
      await expect(ledger.suspendOrganisation(orgIds.producer, REASON))
        .to.emit(ledger, "OrganisationSuspended")
        .withArgs(orgIds.producer, ZeroHash, REASON);
      expect((await ledger.getOrganisation(orgIds.producer)).suspended).to.equal(true);

      await expect(ledger.reinstateOrganisation(orgIds.producer))
        .to.emit(ledger, "OrganisationReinstated")
        .withArgs(orgIds.producer, ZeroHash);
      expect((await ledger.getOrganisation(orgIds.producer)).suspended).to.equal(false);
    });

    it("lets an active regulator suspend and reinstate, reported as its organisation", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployLedgerFixture);
      const asRegulator = ledger.connect(accounts.regulator);
      await expect(asRegulator.suspendOrganisation(orgIds.retailer, REASON))
        .to.emit(ledger, "OrganisationSuspended")
        .withArgs(orgIds.retailer, orgIds.regulator, REASON);
      expect((await ledger.getOrganisation(orgIds.retailer)).suspended).to.equal(true);
      await expect(asRegulator.reinstateOrganisation(orgIds.retailer))
        .to.emit(ledger, "OrganisationReinstated")
        .withArgs(orgIds.retailer, orgIds.regulator);
      expect((await ledger.getOrganisation(orgIds.retailer)).suspended).to.equal(false);
    });

    it("rejects an unknown organisation", async function () {
      const { ledger } = await loadFixture(deployLedgerFixture);
      await expect(ledger.suspendOrganisation(CERAMICS_ORG, REASON))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerUnknownOrganisation")
        .withArgs(CERAMICS_ORG);
      await expect(ledger.reinstateOrganisation(CERAMICS_ORG))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerUnknownOrganisation")
        .withArgs(CERAMICS_ORG);
    });

    it("rejects suspending a suspended organisation and reinstating an active one", async function () {
      const { ledger, orgIds } = await loadFixture(deployLedgerFixture);
      await expect(ledger.reinstateOrganisation(orgIds.producer))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerOrganisationNotSuspended")
        .withArgs(orgIds.producer);
      await ledger.suspendOrganisation(orgIds.producer, REASON);
      await expect(ledger.suspendOrganisation(orgIds.producer, id("again")))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerOrganisationSuspended")
        .withArgs(orgIds.producer);
    });

    it("rejects callers that are neither the admin nor a regulator", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployLedgerFixture);
      for (const caller of [accounts.producer, accounts.inspector, accounts.anchorer, accounts.outsider]) {
        await expect(ledger.connect(caller).suspendOrganisation(orgIds.retailer, REASON))
          .to.be.revertedWithCustomError(ledger, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, ROLES.REGULATOR);
        await expect(ledger.connect(caller).reinstateOrganisation(orgIds.retailer))
          .to.be.revertedWithCustomError(ledger, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, ROLES.REGULATOR);
      }
    });

    it("rejects a regulator role held by an account without an organisation", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployLedgerFixture);
      await ledger.grantRole(ROLES.REGULATOR, accounts.outsider.address);
      await expect(ledger.connect(accounts.outsider).suspendOrganisation(orgIds.retailer, REASON))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerNotAnOrganisation")
        .withArgs(accounts.outsider.address);
      await ledger.suspendOrganisation(orgIds.retailer, REASON);
      await expect(ledger.connect(accounts.outsider).reinstateOrganisation(orgIds.retailer))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerNotAnOrganisation")
        .withArgs(accounts.outsider.address);
    });
  });

  describe("suspension", function () {
    it("stops a suspended producer from doing anything until it is reinstated", async function () {
      const { ledger, orgIds, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      const asProducer = ledger.connect(accounts.producer);
      await ledger.connect(accounts.regulator).suspendOrganisation(orgIds.producer, REASON);

      expect(await ledger.hasRole(ROLES.PRODUCER, accounts.producer.address)).to.equal(true);
      expect(await ledger.hasActiveRole(ROLES.PRODUCER, accounts.producer.address)).to.equal(false);
      const attempts = [
        () => asProducer.registerProduct(GIFT_BOX_GTIN, id("p")),
        () => asProducer.registerBatch(GTINS.chili, "JJ2026-12-B", id("b"), []),
        () => asProducer.commitSerials(batchIds.chiliId, id("serial-root"), 10),
        () => asProducer.holdBatch(batchIds.chiliId, REASON),
        () => asProducer.recall(batchIds.chiliId, REASON),
      ];
      for (const attempt of attempts) {
        await expect(attempt())
          .to.be.revertedWithCustomError(ledger, "TraceLedgerOrganisationSuspended")
          .withArgs(orgIds.producer);
      }

      await ledger.connect(accounts.regulator).reinstateOrganisation(orgIds.producer);
      expect(await ledger.hasActiveRole(ROLES.PRODUCER, accounts.producer.address)).to.equal(true);
      const lot = "JJ2026-12-B";
      await expect(asProducer.registerBatch(GTINS.chili, lot, id("b"), []))
        .to.emit(ledger, "BatchRegistered")
        .withArgs(await ledger.batchIdOf(GTINS.chili, lot), GTINS.chili, orgIds.producer, lot, id("b"), []);
      await expect(asProducer.holdBatch(batchIds.chiliId, REASON))
        .to.emit(ledger, "BatchStatusChanged")
        .withArgs(batchIds.chiliId, BatchStatus.Held, orgIds.producer, BatchStatus.Active, REASON);
    });

    it("stops a suspended regulator from suspending, releasing, holding and recalling", async function () {
      const { ledger, orgIds, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      const asRegulator = ledger.connect(accounts.regulator);
      await asRegulator.holdBatch(batchIds.tallowId, REASON);
      await ledger.suspendOrganisation(orgIds.otherProducer, REASON);
      await ledger.suspendOrganisation(orgIds.regulator, REASON);

      expect(await ledger.hasActiveRole(ROLES.REGULATOR, accounts.regulator.address)).to.equal(false);
      const attempts = [
        () => asRegulator.suspendOrganisation(orgIds.retailer, REASON),
        () => asRegulator.reinstateOrganisation(orgIds.otherProducer),
        () => asRegulator.releaseBatch(batchIds.tallowId, REASON),
        () => asRegulator.holdBatch(batchIds.chiliId, REASON),
        () => asRegulator.recall(batchIds.chiliId, REASON),
      ];
      for (const attempt of attempts) {
        await expect(attempt())
          .to.be.revertedWithCustomError(ledger, "TraceLedgerOrganisationSuspended")
          .withArgs(orgIds.regulator);
      }
      expect((await ledger.getBatch(batchIds.chiliId)).status).to.equal(BatchStatus.Active);
      expect((await ledger.getBatch(batchIds.tallowId)).status).to.equal(BatchStatus.Held);
      expect((await ledger.getOrganisation(orgIds.retailer)).suspended).to.equal(false);
    });
  });

  describe("reads", function () {
    it("getOrganisation reverts for an unknown organisation", async function () {
      const { ledger } = await loadFixture(deployLedgerFixture);
      await expect(ledger.getOrganisation(CERAMICS_ORG))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerUnknownOrganisation")
        .withArgs(CERAMICS_ORG);
    });

    it("organisationOf returns the organisation of each fixture account and zero otherwise", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployLedgerFixture);
      expect(await ledger.organisationOf(accounts.regulator.address)).to.equal(orgIds.regulator);
      expect(await ledger.organisationOf(accounts.otherProducer.address)).to.equal(orgIds.otherProducer);
      expect(await ledger.organisationOf(accounts.admin.address)).to.equal(ZeroHash);
      expect(await ledger.organisationOf(accounts.outsider.address)).to.equal(ZeroHash);
    });

    it("hasActiveRole needs the role and, for participant roles, an active organisation", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      expect(await ledger.hasActiveRole(ROLES.INSPECTOR, accounts.inspector.address)).to.equal(true);
      expect(await ledger.hasActiveRole(ROLES.REGULATOR, accounts.inspector.address)).to.equal(false);
      // Non-participant roles need no organisation.
      expect(await ledger.hasActiveRole(ROLES.ANCHORER, accounts.anchorer.address)).to.equal(true);
      expect(await ledger.hasActiveRole(ROLES.ADMIN, accounts.admin.address)).to.equal(true);
      expect(await ledger.hasActiveRole(ROLES.ANCHORER, accounts.producer.address)).to.equal(false);
      // A participant role granted directly to an account without an organisation is not active.
      await ledger.grantRole(ROLES.PRODUCER, accounts.outsider.address);
      expect(await ledger.hasRole(ROLES.PRODUCER, accounts.outsider.address)).to.equal(true);
      expect(await ledger.hasActiveRole(ROLES.PRODUCER, accounts.outsider.address)).to.equal(false);
      await expect(ledger.connect(accounts.outsider).registerProduct(GTINS.chili, id("p")))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerNotAnOrganisation")
        .withArgs(accounts.outsider.address);
    });

    it("hasActiveRole at a past block reports what held then", async function () {
      const { ledger, orgIds, accounts } = await loadFixture(deployLedgerFixture);
      const before = await ethers.provider.getBlockNumber();
      await ledger.suspendOrganisation(orgIds.logistics, REASON);
      const account = accounts.logistics.address;
      expect(await ledger.hasActiveRole(ROLES.LOGISTICS, account, { blockTag: before })).to.equal(true);
      expect(await ledger.hasActiveRole(ROLES.LOGISTICS, account)).to.equal(false);
    });
  });
});
