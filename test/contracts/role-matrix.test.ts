/**
 * Who may call which write of TraceLedger: one `it` per (actor, write) cell of the POLICY table
 * below. Each cell starts from a fresh `deployWithBatchesFixture` state, sets up what the write
 * needs (a suspended organisation to reinstate, a held batch to release, a paused ledger to
 * unpause) and then asserts exactly what the contract does: the write's event, or its revert.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { id, type ContractTransactionResponse } from "ethers";

import type { TraceLedger } from "../../typechain-types";
import { gtin14, orgIdOf, uscc } from "../../server/domain/identifiers";
import { BatchStatus, GTINS, ROLES, batchIdOf, deployWithBatchesFixture } from "../helpers/ledger-fixture";

type Fixture = Awaited<ReturnType<typeof deployWithBatchesFixture>>;

// ---------------------------------------------------------------- the policy

const ACTORS = [
  "admin",
  "regulator",
  "producer",
  "otherProducer",
  "inspector",
  "logistics",
  "retailer",
  "anchorer",
  "outsider",
] as const;
type Actor = (typeof ACTORS)[number];

const WRITES = [
  "registerOrganisation",
  "rotateOrganisationAccount",
  "suspendOrganisation",
  "reinstateOrganisation",
  "registerProduct",
  "registerBatch",
  "commitSerials",
  "holdBatch",
  "releaseBatch",
  "recall",
  "anchor",
  "pause",
  "unpause",
] as const;
type Write = (typeof WRITES)[number];

type RoleKey = keyof typeof ROLES;

/** What a cell expects: the write goes through, or it reverts with this error. */
type Outcome =
  | "allowed"
  /** `AccessControlUnauthorizedAccount(actor, ROLES[role])` */
  | { readonly error: "AccessControlUnauthorizedAccount"; readonly role: RoleKey }
  /** `TraceLedgerNotBatchProducer(targetBatch, actor's orgId)` */
  | { readonly error: "TraceLedgerNotBatchProducer" }
  /** `TraceLedgerNotProductOwner(targetGtin, actor's orgId)` */
  | { readonly error: "TraceLedgerNotProductOwner" };

const OK = "allowed";
const needs = (role: RoleKey): Outcome => ({ error: "AccessControlUnauthorizedAccount", role });
const NOT_BATCH_PRODUCER: Outcome = { error: "TraceLedgerNotBatchProducer" };
const NOT_PRODUCT_OWNER: Outcome = { error: "TraceLedgerNotProductOwner" };

/**
 * The write policy, actor by actor. `needs(ROLE)` is the role the contract names when it refuses:
 * organisation admin, pause and unpause check DEFAULT_ADMIN_ROLE; suspension checks REGULATOR_ROLE
 * once the caller is not the admin; product, batch and serial writes check PRODUCER_ROLE; hold,
 * release and recall name REGULATOR_ROLE; anchoring checks ANCHORER_ROLE. A producer that holds the
 * role but not the target batch or product gets the ownership error instead.
 */
const POLICY: Record<Actor, Record<Write, Outcome>> = {
  admin: {
    registerOrganisation: OK,
    rotateOrganisationAccount: OK,
    suspendOrganisation: OK,
    reinstateOrganisation: OK,
    registerProduct: needs("PRODUCER"),
    registerBatch: needs("PRODUCER"),
    commitSerials: needs("PRODUCER"),
    holdBatch: needs("REGULATOR"),
    releaseBatch: needs("REGULATOR"),
    recall: needs("REGULATOR"),
    anchor: needs("ANCHORER"),
    pause: OK,
    unpause: OK,
  },
  regulator: {
    registerOrganisation: needs("ADMIN"),
    rotateOrganisationAccount: needs("ADMIN"),
    suspendOrganisation: OK,
    reinstateOrganisation: OK,
    registerProduct: needs("PRODUCER"),
    registerBatch: needs("PRODUCER"),
    commitSerials: needs("PRODUCER"),
    holdBatch: OK,
    releaseBatch: OK,
    recall: OK,
    anchor: needs("ANCHORER"),
    pause: needs("ADMIN"),
    unpause: needs("ADMIN"),
  },
  producer: {
    registerOrganisation: needs("ADMIN"),
    rotateOrganisationAccount: needs("ADMIN"),
    suspendOrganisation: needs("REGULATOR"),
    reinstateOrganisation: needs("REGULATOR"),
    registerProduct: OK,
    registerBatch: OK,
    commitSerials: OK,
    holdBatch: OK,
    releaseBatch: needs("REGULATOR"),
    recall: OK,
    anchor: needs("ANCHORER"),
    pause: needs("ADMIN"),
    unpause: needs("ADMIN"),
  },
  otherProducer: {
    registerOrganisation: needs("ADMIN"),
    rotateOrganisationAccount: needs("ADMIN"),
    suspendOrganisation: needs("REGULATOR"),
    reinstateOrganisation: needs("REGULATOR"),
    registerProduct: OK,
    registerBatch: NOT_PRODUCT_OWNER,
    commitSerials: NOT_BATCH_PRODUCER,
    holdBatch: NOT_BATCH_PRODUCER,
    releaseBatch: needs("REGULATOR"),
    recall: NOT_BATCH_PRODUCER,
    anchor: needs("ANCHORER"),
    pause: needs("ADMIN"),
    unpause: needs("ADMIN"),
  },
  inspector: {
    registerOrganisation: needs("ADMIN"),
    rotateOrganisationAccount: needs("ADMIN"),
    suspendOrganisation: needs("REGULATOR"),
    reinstateOrganisation: needs("REGULATOR"),
    registerProduct: needs("PRODUCER"),
    registerBatch: needs("PRODUCER"),
    commitSerials: needs("PRODUCER"),
    holdBatch: OK,
    releaseBatch: needs("REGULATOR"),
    recall: needs("REGULATOR"),
    anchor: needs("ANCHORER"),
    pause: needs("ADMIN"),
    unpause: needs("ADMIN"),
  },
  logistics: {
    registerOrganisation: needs("ADMIN"),
    rotateOrganisationAccount: needs("ADMIN"),
    suspendOrganisation: needs("REGULATOR"),
    reinstateOrganisation: needs("REGULATOR"),
    registerProduct: needs("PRODUCER"),
    registerBatch: needs("PRODUCER"),
    commitSerials: needs("PRODUCER"),
    holdBatch: needs("REGULATOR"),
    releaseBatch: needs("REGULATOR"),
    recall: needs("REGULATOR"),
    anchor: needs("ANCHORER"),
    pause: needs("ADMIN"),
    unpause: needs("ADMIN"),
  },
  retailer: {
    registerOrganisation: needs("ADMIN"),
    rotateOrganisationAccount: needs("ADMIN"),
    suspendOrganisation: needs("REGULATOR"),
    reinstateOrganisation: needs("REGULATOR"),
    registerProduct: needs("PRODUCER"),
    registerBatch: needs("PRODUCER"),
    commitSerials: needs("PRODUCER"),
    holdBatch: needs("REGULATOR"),
    releaseBatch: needs("REGULATOR"),
    recall: needs("REGULATOR"),
    anchor: needs("ANCHORER"),
    pause: needs("ADMIN"),
    unpause: needs("ADMIN"),
  },
  anchorer: {
    registerOrganisation: needs("ADMIN"),
    rotateOrganisationAccount: needs("ADMIN"),
    suspendOrganisation: needs("REGULATOR"),
    reinstateOrganisation: needs("REGULATOR"),
    registerProduct: needs("PRODUCER"),
    registerBatch: needs("PRODUCER"),
    commitSerials: needs("PRODUCER"),
    holdBatch: needs("REGULATOR"),
    releaseBatch: needs("REGULATOR"),
    recall: needs("REGULATOR"),
    anchor: OK,
    pause: needs("ADMIN"),
    unpause: needs("ADMIN"),
  },
  outsider: {
    registerOrganisation: needs("ADMIN"),
    rotateOrganisationAccount: needs("ADMIN"),
    suspendOrganisation: needs("REGULATOR"),
    reinstateOrganisation: needs("REGULATOR"),
    registerProduct: needs("PRODUCER"),
    registerBatch: needs("PRODUCER"),
    commitSerials: needs("PRODUCER"),
    holdBatch: needs("REGULATOR"),
    releaseBatch: needs("REGULATOR"),
    recall: needs("REGULATOR"),
    anchor: needs("ANCHORER"),
    pause: needs("ADMIN"),
    unpause: needs("ADMIN"),
  },
};

// ---------------------------------------------------------------- the writes

/** A new organisation to onboard: 重庆荣昌陶器 (Rongchang ceramics). */
const NEW_ORG_ID = orgIdOf(uscc("91500226MA60CT7Q1"));
/** A fresh account nobody signs with yet. */
const FRESH_ACCOUNT = ethers.getAddress(`0x${"c0".repeat(20)}`);
/** A GTIN-14 (valid check digit) that no product uses yet: 麻辣火锅蘸料 (hotpot dip). */
const FRESH_GTIN = BigInt(gtin14("0690388504004"));
const NEW_LOT = "DZ20261201-02";
const REASON = id("reason:role-matrix");
const SERIAL_ROOT = id("serials:hotpot:1-500");

/** The batch every batch write targets: the producer's hotpot base. */
const targetBatch = (f: Fixture): string => f.batchIds.hotpotId;

/** The organisation the actor signs for; zero for admin, anchorer and outsider, who have none. */
function orgOf(f: Fixture, actor: Actor): string {
  return actor in f.orgIds ? f.orgIds[actor as keyof Fixture["orgIds"]] : ethers.ZeroHash;
}

interface WriteSpec {
  /** Puts the ledger in the state the write needs, acting as whoever may. */
  setup?: (f: Fixture) => Promise<void>;
  /** Calls the write as `as`. */
  call: (ledger: TraceLedger, f: Fixture) => Promise<ContractTransactionResponse>;
  /** The batch or product a producer must own for the write (for the ownership errors). */
  subject?: (f: Fixture) => string | bigint;
  /** Asserts the event and state of a successful call by `actor`. */
  succeeded: (tx: ContractTransactionResponse, f: Fixture, actor: Actor) => Promise<void>;
}

const SPECS: Record<Write, WriteSpec> = {
  registerOrganisation: {
    call: (ledger) => ledger.registerOrganisation(NEW_ORG_ID, FRESH_ACCOUNT, [ROLES.RETAILER]),
    succeeded: async (tx, f) => {
      await expect(tx).to.emit(f.ledger, "OrganisationRegistered").withArgs(NEW_ORG_ID, FRESH_ACCOUNT);
      expect(await f.ledger.organisationOf(FRESH_ACCOUNT)).to.equal(NEW_ORG_ID);
      expect(await f.ledger.hasActiveRole(ROLES.RETAILER, FRESH_ACCOUNT)).to.equal(true);
    },
  },
  rotateOrganisationAccount: {
    call: (ledger, f) => ledger.rotateOrganisationAccount(f.orgIds.retailer, FRESH_ACCOUNT),
    succeeded: async (tx, f) => {
      await expect(tx)
        .to.emit(f.ledger, "OrganisationAccountRotated")
        .withArgs(f.orgIds.retailer, f.accounts.retailer.address, FRESH_ACCOUNT);
      expect(await f.ledger.hasRole(ROLES.RETAILER, f.accounts.retailer.address)).to.equal(false);
      expect(await f.ledger.hasRole(ROLES.RETAILER, FRESH_ACCOUNT)).to.equal(true);
    },
  },
  suspendOrganisation: {
    call: (ledger, f) => ledger.suspendOrganisation(f.orgIds.retailer, REASON),
    succeeded: async (tx, f, actor) => {
      await expect(tx).to.emit(f.ledger, "OrganisationSuspended").withArgs(f.orgIds.retailer, orgOf(f, actor), REASON);
      expect((await f.ledger.getOrganisation(f.orgIds.retailer)).suspended).to.equal(true);
    },
  },
  reinstateOrganisation: {
    setup: async (f) => {
      await f.ledger.connect(f.accounts.admin).suspendOrganisation(f.orgIds.retailer, REASON);
    },
    call: (ledger, f) => ledger.reinstateOrganisation(f.orgIds.retailer),
    succeeded: async (tx, f, actor) => {
      await expect(tx).to.emit(f.ledger, "OrganisationReinstated").withArgs(f.orgIds.retailer, orgOf(f, actor));
      expect((await f.ledger.getOrganisation(f.orgIds.retailer)).suspended).to.equal(false);
    },
  },
  registerProduct: {
    call: (ledger) => ledger.registerProduct(FRESH_GTIN, id("product:hotpot-dip")),
    succeeded: async (tx, f, actor) => {
      await expect(tx)
        .to.emit(f.ledger, "ProductRegistered")
        .withArgs(FRESH_GTIN, orgOf(f, actor), id("product:hotpot-dip"));
      expect((await f.ledger.getProduct(FRESH_GTIN)).owner).to.equal(orgOf(f, actor));
    },
  },
  registerBatch: {
    subject: () => GTINS.hotpotBase,
    call: (ledger, f) =>
      ledger.registerBatch(GTINS.hotpotBase, NEW_LOT, id("batch:hotpot-2"), [f.batchIds.chiliId, f.batchIds.tallowId]),
    succeeded: async (tx, f, actor) => {
      const batchId = batchIdOf(GTINS.hotpotBase, NEW_LOT);
      await expect(tx)
        .to.emit(f.ledger, "BatchRegistered")
        .withArgs(batchId, GTINS.hotpotBase, orgOf(f, actor), NEW_LOT, id("batch:hotpot-2"), [
          f.batchIds.chiliId,
          f.batchIds.tallowId,
        ]);
      expect((await f.ledger.getBatch(batchId)).status).to.equal(BatchStatus.Active);
    },
  },
  commitSerials: {
    subject: targetBatch,
    call: (ledger, f) => ledger.commitSerials(targetBatch(f), SERIAL_ROOT, 500),
    succeeded: async (tx, f) => {
      await expect(tx).to.emit(f.ledger, "SerialsCommitted").withArgs(targetBatch(f), SERIAL_ROOT, 500);
      expect(await f.ledger.serialCommitment(targetBatch(f), SERIAL_ROOT)).to.equal(500n);
    },
  },
  holdBatch: {
    subject: targetBatch,
    call: (ledger, f) => ledger.holdBatch(targetBatch(f), REASON),
    succeeded: async (tx, f, actor) => {
      await expect(tx)
        .to.emit(f.ledger, "BatchStatusChanged")
        .withArgs(targetBatch(f), BatchStatus.Held, orgOf(f, actor), BatchStatus.Active, REASON);
      expect((await f.ledger.getBatch(targetBatch(f))).status).to.equal(BatchStatus.Held);
    },
  },
  releaseBatch: {
    subject: targetBatch,
    setup: async (f) => {
      await f.ledger.connect(f.accounts.inspector).holdBatch(targetBatch(f), id("reason:hold-first"));
    },
    call: (ledger, f) => ledger.releaseBatch(targetBatch(f), REASON),
    succeeded: async (tx, f, actor) => {
      await expect(tx)
        .to.emit(f.ledger, "BatchStatusChanged")
        .withArgs(targetBatch(f), BatchStatus.Active, orgOf(f, actor), BatchStatus.Held, REASON);
      expect((await f.ledger.getBatch(targetBatch(f))).status).to.equal(BatchStatus.Active);
    },
  },
  recall: {
    subject: targetBatch,
    call: (ledger, f) => ledger.recall(targetBatch(f), REASON),
    succeeded: async (tx, f, actor) => {
      await expect(tx)
        .to.emit(f.ledger, "BatchStatusChanged")
        .withArgs(targetBatch(f), BatchStatus.Recalled, orgOf(f, actor), BatchStatus.Active, REASON);
      expect((await f.ledger.getBatch(targetBatch(f))).status).to.equal(BatchStatus.Recalled);
    },
  },
  anchor: {
    call: (ledger) => ledger.anchor(id("anchor:2026-11-20T10"), 3, 7),
    succeeded: async (tx, f) => {
      await expect(tx).to.emit(f.ledger, "Anchored").withArgs(1n, id("anchor:2026-11-20T10"), 3, 7);
      expect(await f.ledger.anchorCount()).to.equal(1n);
    },
  },
  pause: {
    call: (ledger) => ledger.pause(),
    succeeded: async (tx, f, actor) => {
      await expect(tx).to.emit(f.ledger, "Paused").withArgs(f.accounts[actor].address);
      expect(await f.ledger.paused()).to.equal(true);
    },
  },
  unpause: {
    setup: async (f) => {
      await f.ledger.connect(f.accounts.admin).pause();
    },
    call: (ledger) => ledger.unpause(),
    succeeded: async (tx, f, actor) => {
      await expect(tx).to.emit(f.ledger, "Unpaused").withArgs(f.accounts[actor].address);
      expect(await f.ledger.paused()).to.equal(false);
    },
  },
};

// ---------------------------------------------------------------- the cells

function describeOutcome(outcome: Outcome): string {
  if (outcome === OK) return "";
  if (outcome.error === "AccessControlUnauthorizedAccount") return ` (${outcome.error}: ${outcome.role} role)`;
  return ` (${outcome.error})`;
}

describe("TraceLedger role matrix", function () {
  for (const actor of ACTORS) {
    describe(actor, function () {
      for (const write of WRITES) {
        const outcome = POLICY[actor][write];
        const spec = SPECS[write];
        const title = `${actor} ${outcome === OK ? "may" : "may not"} ${write}${describeOutcome(outcome)}`;

        it(title, async function () {
          const f = await loadFixture(deployWithBatchesFixture);
          await spec.setup?.(f);
          const account: HardhatEthersSigner = f.accounts[actor];
          const tx = spec.call(f.ledger.connect(account), f);

          if (outcome === OK) {
            await spec.succeeded(await tx, f, actor);
          } else if (outcome.error === "AccessControlUnauthorizedAccount") {
            await expect(tx)
              .to.be.revertedWithCustomError(f.ledger, outcome.error)
              .withArgs(account.address, ROLES[outcome.role]);
          } else {
            if (!spec.subject) throw new Error(`${write} has no batch or product to own`);
            await expect(tx)
              .to.be.revertedWithCustomError(f.ledger, outcome.error)
              .withArgs(spec.subject(f), orgOf(f, actor));
          }
        });
      }
    });
  }
});

describe("TraceLedger admin writes while paused", function () {
  async function pausedFixture() {
    const f = await loadFixture(deployWithBatchesFixture);
    await f.ledger.connect(f.accounts.admin).pause();
    expect(await f.ledger.paused()).to.equal(true);
    return f;
  }

  it("admin may registerOrganisation while paused (documented: incident response)", async function () {
    const f = await pausedFixture();
    await SPECS.registerOrganisation.succeeded(
      await SPECS.registerOrganisation.call(f.ledger.connect(f.accounts.admin), f),
      f,
      "admin",
    );
  });

  it("admin may rotateOrganisationAccount while paused", async function () {
    const f = await pausedFixture();
    await SPECS.rotateOrganisationAccount.succeeded(
      await SPECS.rotateOrganisationAccount.call(f.ledger.connect(f.accounts.admin), f),
      f,
      "admin",
    );
  });

  it("admin may not suspendOrganisation while paused (EnforcedPause)", async function () {
    const f = await pausedFixture();
    await expect(SPECS.suspendOrganisation.call(f.ledger.connect(f.accounts.admin), f)).to.be.revertedWithCustomError(
      f.ledger,
      "EnforcedPause",
    );
  });
});
