/**
 * TraceLedger, direct (msg.sender) form: item-serial commitments, anchors and Merkle proofs,
 * pause, and the remaining reads (hashSubmission, supportsInterface, constants).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { SimpleMerkleTree, StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { MaxUint256, ZeroAddress, ZeroHash, getBytes, hexlify, id, randomBytes } from "ethers";

import { gtin14, orgIdOf, uscc } from "../../server/domain/identifiers";
import { ledgerDomain, submissionDigest } from "../../server/chain/typed-data";
import { ITraceLedger__factory } from "../../typechain-types";
import {
  BatchStatus,
  GTINS,
  ROLES,
  batchIdOf,
  deployLedgerFixture,
  deployWithBatchesFixture,
} from "../helpers/ledger-fixture";

const REASON = id("reason:封存");

function randomLeaves(count: number): string[] {
  return Array.from({ length: count }, () => hexlify(randomBytes(32)));
}

/** `leaf` with its lowest bit flipped. */
function flipBit(leaf: string): string {
  const bytes = getBytes(leaf);
  bytes[31]! ^= 1;
  return hexlify(bytes);
}

/** Serial numbers (一物一码) of `count` items of a batch. */
function serials(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(6, "0")}`);
}

describe("TraceLedger: serials, anchors and pause", function () {
  describe("commitSerials", function () {
    it("commits serial roots of a batch, several per batch", async function () {
      const { ledger, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      const asProducer = ledger.connect(accounts.producer);
      const [first, second] = [id("serial-root-1"), id("serial-root-2")];
      expect(await ledger.serialCommitment(batchIds.chiliId, first)).to.equal(0n);
      await expect(asProducer.commitSerials(batchIds.chiliId, first, 500))
        .to.emit(ledger, "SerialsCommitted")
        .withArgs(batchIds.chiliId, first, 500);
      await expect(asProducer.commitSerials(batchIds.chiliId, second, 2 ** 32 - 1))
        .to.emit(ledger, "SerialsCommitted")
        .withArgs(batchIds.chiliId, second, 2 ** 32 - 1);
      expect(await ledger.serialCommitment(batchIds.chiliId, first)).to.equal(500n);
      expect(await ledger.serialCommitment(batchIds.chiliId, second)).to.equal(2n ** 32n - 1n);
      expect(await ledger.serialCommitment(batchIds.tallowId, first)).to.equal(0n);
    });

    it("commits serials of a held batch", async function () {
      const { ledger, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      await ledger.connect(accounts.inspector).holdBatch(batchIds.chiliId, REASON);
      await expect(ledger.connect(accounts.producer).commitSerials(batchIds.chiliId, id("root"), 3))
        .to.emit(ledger, "SerialsCommitted")
        .withArgs(batchIds.chiliId, id("root"), 3);
    });

    it("rejects a zero root or a zero count", async function () {
      const { ledger, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      const asProducer = ledger.connect(accounts.producer);
      await expect(asProducer.commitSerials(batchIds.chiliId, ZeroHash, 5))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerInvalidSerialCommitment")
        .withArgs(batchIds.chiliId, ZeroHash, 5);
      await expect(asProducer.commitSerials(batchIds.chiliId, id("root"), 0))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerInvalidSerialCommitment")
        .withArgs(batchIds.chiliId, id("root"), 0);
    });

    it("rejects a root already committed for the batch", async function () {
      const { ledger, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      const asProducer = ledger.connect(accounts.producer);
      await asProducer.commitSerials(batchIds.chiliId, id("root"), 5);
      await expect(asProducer.commitSerials(batchIds.chiliId, id("root"), 6))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerSerialsExist")
        .withArgs(batchIds.chiliId, id("root"));
      expect(await ledger.serialCommitment(batchIds.chiliId, id("root"))).to.equal(5n);
    });

    it("rejects an unknown batch, a recalled batch and another producer's batch", async function () {
      const { ledger, orgIds, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      const unknown = id("no such batch");
      await expect(ledger.connect(accounts.producer).commitSerials(unknown, id("root"), 1))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerUnknownBatch")
        .withArgs(unknown);
      await ledger.connect(accounts.regulator).recall(batchIds.tallowId, REASON);
      await expect(ledger.connect(accounts.producer).commitSerials(batchIds.tallowId, id("root"), 1))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerBatchRecalled")
        .withArgs(batchIds.tallowId);
      await expect(ledger.connect(accounts.otherProducer).commitSerials(batchIds.chiliId, id("root"), 1))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerNotBatchProducer")
        .withArgs(batchIds.chiliId, orgIds.otherProducer);
    });

    it("is for producers with an organisation only", async function () {
      const { ledger, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      for (const caller of [accounts.regulator, accounts.inspector]) {
        await expect(ledger.connect(caller).commitSerials(batchIds.chiliId, id("root"), 1))
          .to.be.revertedWithCustomError(ledger, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, ROLES.PRODUCER);
      }
      await ledger.grantRole(ROLES.PRODUCER, accounts.outsider.address);
      await expect(ledger.connect(accounts.outsider).commitSerials(batchIds.chiliId, id("root"), 1))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerNotAnOrganisation")
        .withArgs(accounts.outsider.address);
    });

    it("proves each committed serial of a batch with a StandardMerkleTree", async function () {
      const { ledger, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      const { hotpotId, chiliId } = batchIds;
      const items = serials("DZ20261120", 25);
      const tree = StandardMerkleTree.of(
        items.map((serial) => [hotpotId, serial]),
        ["bytes32", "string"],
      );
      for (const serial of items.slice(0, 3)) {
        expect(await ledger.serialLeaf(hotpotId, serial)).to.equal(tree.leafHash([hotpotId, serial]));
      }
      await ledger.connect(accounts.producer).commitSerials(hotpotId, tree.root, items.length);
      // The same root committed for another batch still does not prove the first batch's serials there.
      await ledger.connect(accounts.producer).commitSerials(chiliId, tree.root, items.length);

      for (const [i, [, serial]] of tree.entries()) {
        expect(await ledger.verifySerial(hotpotId, serial, tree.root, tree.getProof(i))).to.equal(true);
      }
      const proof = tree.getProof(0);
      const serial = tree.at(0)![1];
      expect(await ledger.verifySerial(hotpotId, "DZ20261120-999999", tree.root, proof)).to.equal(false);
      expect(await ledger.verifySerial(chiliId, serial, tree.root, proof)).to.equal(false);

      // A valid tree whose root was never committed proves nothing.
      const uncommitted = StandardMerkleTree.of(
        items.slice(0, 5).map((s) => [hotpotId, s]),
        ["bytes32", "string"],
      );
      const uncommittedProof = uncommitted.getProof(0);
      expect(uncommitted.verify(0, uncommittedProof)).to.equal(true);
      expect(await ledger.verifySerial(hotpotId, uncommitted.at(0)![1], uncommitted.root, uncommittedProof)).to.equal(
        false,
      );
    });
  });

  describe("anchor", function () {
    it("anchors roots with sequence numbers from 1 and reads them back", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      const asAnchorer = ledger.connect(accounts.anchorer);
      expect(await ledger.anchorCount()).to.equal(0n);

      const roots = [id("root-1"), id("root-2"), id("root-3")];
      const counts = [
        [1, 1],
        [4, 9],
        [2 ** 32 - 1, 2 ** 32 - 1],
      ] as const;
      for (let i = 0; i < roots.length; i++) {
        const [leafCount, eventCount] = counts[i]!;
        expect(await asAnchorer.anchor.staticCall(roots[i]!, leafCount, eventCount)).to.equal(BigInt(i + 1));
        const tx = await asAnchorer.anchor(roots[i]!, leafCount, eventCount);
        await expect(tx)
          .to.emit(ledger, "Anchored")
          .withArgs(i + 1, roots[i]!, leafCount, eventCount);
        const receipt = await tx.wait();
        const block = await ethers.provider.getBlock(receipt!.blockNumber);
        const a = await ledger.getAnchor(roots[i]!);
        expect(a.seq).to.equal(BigInt(i + 1));
        expect(a.blockNumber).to.equal(BigInt(receipt!.blockNumber));
        expect(a.blockTime).to.equal(BigInt(block!.timestamp));
        expect(a.leafCount).to.equal(BigInt(leafCount));
        expect(a.eventCount).to.equal(BigInt(eventCount));
        expect(await ledger.anchorCount()).to.equal(BigInt(i + 1));
      }
    });

    it("rejects a zero root, zero leaves, or fewer events than leaves", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      const asAnchorer = ledger.connect(accounts.anchorer);
      for (const [root, leafCount, eventCount] of [
        [ZeroHash, 1, 1],
        [id("root"), 0, 0],
        [id("root"), 0, 5],
        [id("root"), 3, 2],
      ] as const) {
        await expect(asAnchorer.anchor(root, leafCount, eventCount))
          .to.be.revertedWithCustomError(ledger, "TraceLedgerInvalidAnchor")
          .withArgs(root, leafCount, eventCount);
      }
      expect(await ledger.anchorCount()).to.equal(0n);
    });

    it("rejects a root that is already anchored", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      const asAnchorer = ledger.connect(accounts.anchorer);
      await asAnchorer.anchor(id("root-1"), 1, 1);
      await asAnchorer.anchor(id("root-2"), 1, 1);
      await expect(asAnchorer.anchor(id("root-1"), 2, 2))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerAnchorExists")
        .withArgs(id("root-1"), 1);
      expect(await ledger.anchorCount()).to.equal(2n);
    });

    it("is for the anchorer only", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      for (const caller of [accounts.admin, accounts.regulator, accounts.relayer]) {
        await expect(ledger.connect(caller).anchor(id("root"), 1, 1))
          .to.be.revertedWithCustomError(ledger, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, ROLES.ANCHORER);
      }
    });

    it("getAnchor reverts for a root that was never anchored", async function () {
      const { ledger } = await loadFixture(deployLedgerFixture);
      await expect(ledger.getAnchor(id("root")))
        .to.be.revertedWithCustomError(ledger, "TraceLedgerUnknownAnchor")
        .withArgs(id("root"));
    });

    for (const size of [1, 2, 7, 100]) {
      it(`proves every leaf of an anchored sorted-pair tree of ${size} leaf${size === 1 ? "" : "s"}, and nothing else`, async function () {
        const { ledger, accounts } = await loadFixture(deployLedgerFixture);
        const leaves = randomLeaves(size);
        const tree = SimpleMerkleTree.of(leaves);
        await ledger.connect(accounts.anchorer).anchor(tree.root, size, size * 3);

        for (let i = 0; i < size; i++) {
          expect(await ledger.verifyAnchoredLeaf(tree.root, leaves[i]!, tree.getProof(i))).to.equal(true);
        }
        const proof = tree.getProof(size - 1);
        expect(await ledger.verifyAnchoredLeaf(tree.root, flipBit(leaves[size - 1]!), proof)).to.equal(false);

        const other = SimpleMerkleTree.of([...leaves, hexlify(randomBytes(32))]);
        const otherProof = other.getProof(0);
        expect(other.verify(0, otherProof)).to.equal(true);
        expect(await ledger.verifyAnchoredLeaf(other.root, leaves[0]!, otherProof)).to.equal(false);
      });
    }
  });

  describe("pause", function () {
    it("lets the admin pause and unpause", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      expect(await ledger.paused()).to.equal(false);
      await expect(ledger.pause()).to.emit(ledger, "Paused").withArgs(accounts.admin.address);
      expect(await ledger.paused()).to.equal(true);
      await expect(ledger.pause()).to.be.revertedWithCustomError(ledger, "EnforcedPause");
      await expect(ledger.unpause()).to.emit(ledger, "Unpaused").withArgs(accounts.admin.address);
      expect(await ledger.paused()).to.equal(false);
      await expect(ledger.unpause()).to.be.revertedWithCustomError(ledger, "ExpectedPause");
    });

    it("is for the admin only", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      for (const caller of [accounts.regulator, accounts.anchorer]) {
        await expect(ledger.connect(caller).pause())
          .to.be.revertedWithCustomError(ledger, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, ROLES.ADMIN);
      }
      await ledger.pause();
      await expect(ledger.connect(accounts.regulator).unpause())
        .to.be.revertedWithCustomError(ledger, "AccessControlUnauthorizedAccount")
        .withArgs(accounts.regulator.address, ROLES.ADMIN);
    });

    it("rejects every write while paused, keeps answering reads, and lets the admin onboard", async function () {
      const { ledger, orgIds, accounts, batchIds } = await loadFixture(deployWithBatchesFixture);
      const { producer, regulator, anchorer } = accounts;
      const leaves = randomLeaves(3);
      const tree = SimpleMerkleTree.of(leaves);
      await ledger.connect(anchorer).anchor(tree.root, 3, 3);
      await ledger.connect(regulator).holdBatch(batchIds.tallowId, REASON);
      await ledger.connect(regulator).suspendOrganisation(orgIds.retailer, REASON);
      await ledger.pause();

      const newGtin = BigInt(gtin14("0690388504004"));
      const writes = [
        () => ledger.connect(producer).registerProduct(newGtin, id("p")),
        () => ledger.connect(producer).registerBatch(GTINS.chili, "JJ-PAUSED", id("b"), []),
        () => ledger.connect(producer).commitSerials(batchIds.chiliId, id("root"), 1),
        () => ledger.connect(regulator).holdBatch(batchIds.chiliId, REASON),
        () => ledger.connect(regulator).releaseBatch(batchIds.tallowId, REASON),
        () => ledger.connect(regulator).recall(batchIds.chiliId, REASON),
        () => ledger.connect(regulator).suspendOrganisation(orgIds.logistics, REASON),
        () => ledger.connect(regulator).reinstateOrganisation(orgIds.retailer),
        () => ledger.suspendOrganisation(orgIds.logistics, REASON),
        () => ledger.connect(anchorer).anchor(id("paused-root"), 1, 1),
      ];
      for (const write of writes) {
        await expect(write()).to.be.revertedWithCustomError(ledger, "EnforcedPause");
      }

      expect((await ledger.getBatch(batchIds.chiliId)).status).to.equal(BatchStatus.Active);
      expect((await ledger.getBatch(batchIds.tallowId)).status).to.equal(BatchStatus.Held);
      expect((await ledger.getProduct(GTINS.chili)).owner).to.equal(orgIds.producer);
      expect((await ledger.getAnchor(tree.root)).seq).to.equal(1n);
      expect(await ledger.recalledAncestor(batchIds.hotpotId)).to.deep.equal([false, ZeroHash]);
      expect(await ledger.verifyAnchoredLeaf(tree.root, leaves[1]!, tree.getProof(1))).to.equal(true);
      expect(await ledger.hasActiveRole(ROLES.PRODUCER, producer.address)).to.equal(true);

      // Documented: the admin still onboards organisations and rotates keys while paused.
      const ceramics = orgIdOf(uscc("91500226MA5YH8K3X"));
      await expect(ledger.registerOrganisation(ceramics, accounts.outsider.address, [ROLES.PRODUCER]))
        .to.emit(ledger, "OrganisationRegistered")
        .withArgs(ceramics, accounts.outsider.address);
      await expect(ledger.rotateOrganisationAccount(orgIds.inspector, accounts.relayer.address))
        .to.emit(ledger, "OrganisationAccountRotated")
        .withArgs(orgIds.inspector, accounts.inspector.address, accounts.relayer.address);

      await ledger.unpause();
      await expect(ledger.connect(producer).registerProduct(newGtin, id("p")))
        .to.emit(ledger, "ProductRegistered")
        .withArgs(newGtin, orgIds.producer, id("p"));
      await expect(ledger.connect(regulator).recall(batchIds.chiliId, REASON))
        .to.emit(ledger, "BatchStatusChanged")
        .withArgs(batchIds.chiliId, BatchStatus.Recalled, orgIds.regulator, BatchStatus.Active, REASON);
      await expect(ledger.connect(anchorer).anchor(id("paused-root"), 1, 1))
        .to.emit(ledger, "Anchored")
        .withArgs(2, id("paused-root"), 1, 1);
    });
  });

  describe("other reads", function () {
    it("hashSubmission equals the gateway's EIP-712 submission digest", async function () {
      const { ledger, domain, chainId, accounts } = await loadFixture(deployLedgerFixture);
      const submissions = [
        { org: accounts.producer.address, root: id("events"), count: 12, nonce: 0n },
        { org: accounts.logistics.address, root: hexlify(randomBytes(32)), count: 2 ** 32 - 1, nonce: MaxUint256 },
        { org: ZeroAddress, root: ZeroHash, count: 0, nonce: 7n },
      ];
      for (const s of submissions) {
        expect(await ledger.hashSubmission(s.org, s.root, s.count, s.nonce)).to.equal(submissionDigest(domain, s));
      }
      const otherLedger = ledgerDomain(chainId, accounts.relayer.address);
      const s = submissions[0]!;
      expect(await ledger.hashSubmission(s.org, s.root, s.count, s.nonce)).to.not.equal(
        submissionDigest(otherLedger, s),
      );
    });

    it("exposes the EIP-712 domain the gateway uses", async function () {
      const { ledger, domain } = await loadFixture(deployLedgerFixture);
      const d = await ledger.eip712Domain();
      expect([d.name, d.version, d.chainId, d.verifyingContract]).to.deep.equal([
        domain.name,
        domain.version,
        domain.chainId,
        domain.verifyingContract,
      ]);
    });

    it("supportsInterface answers for IAccessControl, ERC-165 and ITraceLedger only", async function () {
      const { ledger } = await loadFixture(deployLedgerFixture);
      let traceLedgerId = 0n;
      ITraceLedger__factory.createInterface().forEachFunction((f) => {
        traceLedgerId ^= BigInt(f.selector);
      });
      const iTraceLedger = "0x" + traceLedgerId.toString(16).padStart(8, "0");
      expect(await ledger.supportsInterface("0x7965db0b")).to.equal(true);
      expect(await ledger.supportsInterface("0x01ffc9a7")).to.equal(true);
      expect(await ledger.supportsInterface(iTraceLedger)).to.equal(true);
      expect(await ledger.supportsInterface("0xffffffff")).to.equal(false);
      expect(await ledger.supportsInterface("0x00000000")).to.equal(false);
    });

    it("exposes the role ids and limits", async function () {
      const { ledger } = await loadFixture(deployLedgerFixture);
      expect(await ledger.REGULATOR_ROLE()).to.equal(ROLES.REGULATOR);
      expect(await ledger.PRODUCER_ROLE()).to.equal(ROLES.PRODUCER);
      expect(await ledger.INSPECTOR_ROLE()).to.equal(ROLES.INSPECTOR);
      expect(await ledger.LOGISTICS_ROLE()).to.equal(ROLES.LOGISTICS);
      expect(await ledger.RETAILER_ROLE()).to.equal(ROLES.RETAILER);
      expect(await ledger.ANCHORER_ROLE()).to.equal(ROLES.ANCHORER);
      expect(await ledger.DEFAULT_ADMIN_ROLE()).to.equal(ROLES.ADMIN);
      expect(await ledger.MAX_PARENTS()).to.equal(32n);
      expect(await ledger.MAX_ANCESTOR_WALK()).to.equal(256n);
    });

    it("serialLeaf is the double-hashed ABI encoding of (batchId, serial)", async function () {
      const { ledger } = await loadFixture(deployLedgerFixture);
      const batchId = batchIdOf(GTINS.chili, "JJ2026-11-A");
      const inner = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "string"], [batchId, "渝-001"]),
      );
      expect(await ledger.serialLeaf(batchId, "渝-001")).to.equal(ethers.keccak256(inner));
    });
  });
});
