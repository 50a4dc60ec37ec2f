/**
 * The `…BySig` forms of the participant writes: a participant signs an EIP-712 request with
 * `signAuthorization` and the gateway's `relayer` (an account with no role and no organisation)
 * submits it. The write must act as the SIGNER, use up the signer's nonce, and refuse every
 * request the signer did not make for this chain, this ledger and this nonce before its deadline.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  AbiCoder,
  TypedDataEncoder,
  concat,
  dataSlice,
  getBytes,
  id,
  toBeHex,
  zeroPadValue,
  type ContractTransactionResponse,
  type TypedDataDomain,
} from "ethers";

import type { TraceLedger } from "../../typechain-types";
import { gtin14 } from "../../server/domain/identifiers";
import {
  LEDGER_TYPES,
  ledgerDomain,
  signAuthorization,
  type Authorization,
  type LedgerTypeName,
} from "../../server/chain/typed-data";
import {
  BatchStatus,
  GTINS,
  ONE_HOUR,
  ROLES,
  batchIdOf,
  deadlineIn,
  deployWithBatchesFixture,
} from "../helpers/ledger-fixture";

type Fixture = Awaited<ReturnType<typeof deployWithBatchesFixture>>;
type OrgName = keyof Fixture["orgIds"];
type SigType = Exclude<LedgerTypeName, "Submission">;
type Message = Record<string, unknown>;

/** The order of the secp256k1 group: `s` and `n - s` are both valid for raw `ecrecover`. */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

// ---------------------------------------------------------------- the requests

/** One `…BySig` request of one signer, ready to sign and send; built per test from the fixture. */
interface Request {
  type: SigType;
  signer: HardhatEthersSigner;
  /** The request's own fields (what the signer signs besides signer, nonce and deadline). */
  message: Message;
  /** The same request after the relayer changed one field, by what was changed. */
  tampered: Record<string, Message>;
  /** Submits `message` with `auth` as the relayer. */
  send(message: Message, auth: Authorization): Promise<ContractTransactionResponse>;
  /** Asserts the event and state of a successful `send` of `message`. */
  succeeded(tx: ContractTransactionResponse): Promise<void>;
}

interface BySigCase {
  fn: string;
  signer: OrgName;
  /** An organisation whose valid signature is refused for lack of `role`. */
  lacksRole: { account: OrgName; role: keyof typeof ROLES };
  prepare(f: Fixture): Promise<Request>;
}

/** Builds a `BySigCase` whose request fields have the type `M` (checked against `send`). */
function bySig<M extends Message>(def: {
  fn: string;
  type: SigType;
  signer: OrgName;
  lacksRole: BySigCase["lacksRole"];
  setup?: (f: Fixture) => Promise<void>;
  message: (f: Fixture) => M;
  tamper: Record<string, (m: M, f: Fixture) => M>;
  send: (ledger: TraceLedger, m: M, auth: Authorization) => Promise<ContractTransactionResponse>;
  succeeded: (tx: ContractTransactionResponse, f: Fixture, m: M) => Promise<void>;
}): BySigCase {
  return {
    fn: def.fn,
    signer: def.signer,
    lacksRole: def.lacksRole,
    prepare: async (f) => {
      await def.setup?.(f);
      const message = def.message(f);
      const tampered: Record<string, Message> = {};
      for (const [what, change] of Object.entries(def.tamper)) tampered[what] = change(message, f);
      const relayed = f.ledger.connect(f.accounts.relayer);
      return {
        type: def.type,
        signer: f.accounts[def.signer],
        message,
        tampered,
        // Every `Message` passed back here is `message` or one of `tampered`, so it is an `M`.
        send: (m, auth) => def.send(relayed, m as M, auth),
        succeeded: (tx) => def.succeeded(tx, f, message),
      };
    },
  };
}

const REASON = id("reason:by-sig");
const NEW_GTIN = BigInt(gtin14("0690388504004"));
const NEW_LOT = "DZ20261201-02";
const SERIAL_ROOT = id("serials:hotpot:1-500");

const CASES: BySigCase[] = [
  bySig({
    fn: "suspendOrganisationBySig",
    type: "SuspendOrganisation",
    signer: "regulator",
    lacksRole: { account: "producer", role: "REGULATOR" },
    message: (f) => ({ orgId: f.orgIds.retailer, reasonHash: REASON }),
    tamper: {
      orgId: (m, f) => ({ ...m, orgId: f.orgIds.otherProducer }),
      reasonHash: (m) => ({ ...m, reasonHash: id("reason:other") }),
    },
    send: (ledger, m, auth) => ledger.suspendOrganisationBySig(m.orgId, m.reasonHash, auth),
    succeeded: async (tx, f, m) => {
      await expect(tx).to.emit(f.ledger, "OrganisationSuspended").withArgs(m.orgId, f.orgIds.regulator, m.reasonHash);
      expect((await f.ledger.getOrganisation(m.orgId)).suspended).to.equal(true);
    },
  }),
  bySig({
    fn: "reinstateOrganisationBySig",
    type: "ReinstateOrganisation",
    signer: "regulator",
    lacksRole: { account: "inspector", role: "REGULATOR" },
    setup: async (f) => {
      await f.ledger.connect(f.accounts.admin).suspendOrganisation(f.orgIds.retailer, REASON);
      await f.ledger.connect(f.accounts.admin).suspendOrganisation(f.orgIds.otherProducer, REASON);
    },
    message: (f) => ({ orgId: f.orgIds.retailer }),
    tamper: { orgId: (m, f) => ({ ...m, orgId: f.orgIds.otherProducer }) },
    send: (ledger, m, auth) => ledger.reinstateOrganisationBySig(m.orgId, auth),
    succeeded: async (tx, f, m) => {
      await expect(tx).to.emit(f.ledger, "OrganisationReinstated").withArgs(m.orgId, f.orgIds.regulator);
      expect((await f.ledger.getOrganisation(m.orgId)).suspended).to.equal(false);
    },
  }),
  bySig({
    fn: "registerProductBySig",
    type: "RegisterProduct",
    signer: "producer",
    lacksRole: { account: "retailer", role: "PRODUCER" },
    message: () => ({ gtin: NEW_GTIN, metadataHash: id("product:hotpot-dip") }),
    tamper: {
      gtin: (m) => ({ ...m, gtin: BigInt(gtin14("0690388505001")) }),
      metadataHash: (m) => ({ ...m, metadataHash: id("product:forged") }),
    },
    send: (ledger, m, auth) => ledger.registerProductBySig(m.gtin, m.metadataHash, auth),
    succeeded: async (tx, f, m) => {
      await expect(tx).to.emit(f.ledger, "ProductRegistered").withArgs(m.gtin, f.orgIds.producer, m.metadataHash);
      const product = await f.ledger.getProduct(m.gtin);
      expect(product.owner).to.equal(f.orgIds.producer);
      expect(product.metadataHash).to.equal(m.metadataHash);
    },
  }),
  bySig({
    fn: "registerBatchBySig",
    type: "RegisterBatch",
    signer: "producer",
    lacksRole: { account: "logistics", role: "PRODUCER" },
    message: (f) => ({
      gtin: GTINS.hotpotBase,
      lot: NEW_LOT,
      metadataHash: id("batch:hotpot-2"),
      parents: [f.batchIds.chiliId, f.batchIds.tallowId],
    }),
    tamper: {
      gtin: (m) => ({ ...m, gtin: GTINS.chili }),
      lot: (m) => ({ ...m, lot: "DZ20261201-03" }),
      metadataHash: (m) => ({ ...m, metadataHash: id("batch:forged") }),
      "parents (one dropped)": (m) => ({ ...m, parents: m.parents.slice(0, 1) }),
      "parents (reordered)": (m) => ({ ...m, parents: [...m.parents].reverse() }),
    },
    send: (ledger, m, auth) => ledger.registerBatchBySig(m.gtin, m.lot, m.metadataHash, m.parents, auth),
    succeeded: async (tx, f, m) => {
      const batchId = batchIdOf(m.gtin, m.lot);
      await expect(tx)
        .to.emit(f.ledger, "BatchRegistered")
        .withArgs(batchId, m.gtin, f.orgIds.producer, m.lot, m.metadataHash, m.parents);
      const batch = await f.ledger.getBatch(batchId);
      expect(batch.producer).to.equal(f.orgIds.producer);
      expect(batch.status).to.equal(BatchStatus.Active);
      expect([...batch.parents]).to.deep.equal(m.parents);
    },
  }),
  bySig({
    fn: "commitSerialsBySig",
    type: "CommitSerials",
    signer: "producer",
    lacksRole: { account: "inspector", role: "PRODUCER" },
    message: (f) => ({ batchId: f.batchIds.hotpotId, root: SERIAL_ROOT, count: 500 }),
    tamper: {
      batchId: (m, f) => ({ ...m, batchId: f.batchIds.chiliId }),
      root: (m) => ({ ...m, root: id("serials:forged") }),
      count: (m) => ({ ...m, count: 5000 }),
    },
    send: (ledger, m, auth) => ledger.commitSerialsBySig(m.batchId, m.root, m.count, auth),
    succeeded: async (tx, f, m) => {
      await expect(tx).to.emit(f.ledger, "SerialsCommitted").withArgs(m.batchId, m.root, m.count);
      expect(await f.ledger.serialCommitment(m.batchId, m.root)).to.equal(BigInt(m.count));
    },
  }),
  bySig({
    fn: "holdBatchBySig",
    type: "HoldBatch",
    signer: "inspector",
    lacksRole: { account: "logistics", role: "REGULATOR" },
    message: (f) => ({ batchId: f.batchIds.hotpotId, reasonHash: REASON }),
    tamper: {
      batchId: (m, f) => ({ ...m, batchId: f.batchIds.chiliId }),
      reasonHash: (m) => ({ ...m, reasonHash: id("reason:other") }),
    },
    send: (ledger, m, auth) => ledger.holdBatchBySig(m.batchId, m.reasonHash, auth),
    succeeded: async (tx, f, m) => {
      await expect(tx)
        .to.emit(f.ledger, "BatchStatusChanged")
        .withArgs(m.batchId, BatchStatus.Held, f.orgIds.inspector, BatchStatus.Active, m.reasonHash);
      expect((await f.ledger.getBatch(m.batchId)).status).to.equal(BatchStatus.Held);
    },
  }),
  bySig({
    fn: "releaseBatchBySig",
    type: "ReleaseBatch",
    signer: "regulator",
    lacksRole: { account: "inspector", role: "REGULATOR" },
    setup: async (f) => {
      await f.ledger.connect(f.accounts.inspector).holdBatch(f.batchIds.hotpotId, id("reason:hold-first"));
      await f.ledger.connect(f.accounts.inspector).holdBatch(f.batchIds.chiliId, id("reason:hold-first"));
    },
    message: (f) => ({ batchId: f.batchIds.hotpotId, reasonHash: REASON }),
    tamper: {
      batchId: (m, f) => ({ ...m, batchId: f.batchIds.chiliId }),
      reasonHash: (m) => ({ ...m, reasonHash: id("reason:other") }),
    },
    send: (ledger, m, auth) => ledger.releaseBatchBySig(m.batchId, m.reasonHash, auth),
    succeeded: async (tx, f, m) => {
      await expect(tx)
        .to.emit(f.ledger, "BatchStatusChanged")
        .withArgs(m.batchId, BatchStatus.Active, f.orgIds.regulator, BatchStatus.Held, m.reasonHash);
      expect((await f.ledger.getBatch(m.batchId)).status).to.equal(BatchStatus.Active);
    },
  }),
  bySig({
    fn: "recallBySig",
    type: "Recall",
    signer: "producer",
    lacksRole: { account: "inspector", role: "REGULATOR" },
    message: (f) => ({ batchId: f.batchIds.hotpotId, reasonHash: REASON }),
    tamper: {
      batchId: (m, f) => ({ ...m, batchId: f.batchIds.chiliId }),
      reasonHash: (m) => ({ ...m, reasonHash: id("reason:other") }),
    },
    send: (ledger, m, auth) => ledger.recallBySig(m.batchId, m.reasonHash, auth),
    succeeded: async (tx, f, m) => {
      await expect(tx)
        .to.emit(f.ledger, "BatchStatusChanged")
        .withArgs(m.batchId, BatchStatus.Recalled, f.orgIds.producer, BatchStatus.Active, m.reasonHash);
      expect((await f.ledger.getBatch(m.batchId)).status).to.equal(BatchStatus.Recalled);
    },
  }),
];

// ---------------------------------------------------------------- signing helpers

interface SignOptions {
  /** The key that signs; the request's signer when omitted. */
  by?: HardhatEthersSigner;
  /** The account `auth.signer` claims; the request's signer when omitted. */
  claims?: string;
  nonce?: bigint;
  deadline?: bigint;
  domain?: TypedDataDomain;
  message?: Message;
}

/** Signs `req` (or a variant of it) and returns the `Authorization` tuple. */
async function sign(f: Fixture, req: Request, opts: SignOptions = {}): Promise<Authorization> {
  return signAuthorization(opts.by ?? req.signer, opts.domain ?? f.domain, req.type, opts.message ?? req.message, {
    signer: opts.claims ?? req.signer.address,
    nonce: opts.nonce ?? (await f.ledger.nonces(req.signer.address)),
    deadline: opts.deadline ?? (await deadlineIn(ONE_HOUR)),
  });
}

/** The digest the ledger computes for `message` under `auth`, in the ledger's own domain. */
function digestOf(f: Fixture, req: Request, message: Message, auth: Authorization): string {
  return TypedDataEncoder.hash(
    f.domain,
    { [req.type]: [...LEDGER_TYPES[req.type]] },
    { ...message, signer: auth.signer, nonce: auth.nonce, deadline: auth.deadline },
  );
}

/** `(s, v)` → `(n - s, v ^ 1)`: the other signature raw `ecrecover` accepts for the same digest. */
function malleate(signature: string): string {
  const bytes = getBytes(signature);
  expect(bytes.length).to.equal(65);
  const s = BigInt(dataSlice(signature, 32, 64));
  const v = bytes[64]!;
  expect([27, 28]).to.include(v);
  return concat([dataSlice(signature, 0, 32), zeroPadValue(toBeHex(SECP256K1_N - s), 32), toBeHex(v === 27 ? 28 : 27)]);
}

/** What the EVM's ecrecover precompile (no low-s rule) returns for `signature` over `digest`. */
async function rawEcrecover(digest: string, signature: string): Promise<string> {
  const data = AbiCoder.defaultAbiCoder().encode(
    ["bytes32", "uint8", "bytes32", "bytes32"],
    [digest, getBytes(signature)[64]!, dataSlice(signature, 0, 32), dataSlice(signature, 32, 64)],
  );
  const out = await ethers.provider.call({ to: "0x0000000000000000000000000000000000000001", data });
  return ethers.getAddress(dataSlice(out, 12, 32));
}

// ---------------------------------------------------------------- the tests

describe("TraceLedger …BySig", function () {
  for (const c of CASES) {
    describe(c.fn, function () {
      async function prepared() {
        const f = await loadFixture(deployWithBatchesFixture);
        return { f, req: await c.prepare(f) };
      }

      it(`relayed for the ${c.signer}, acts as the ${c.signer}'s organisation and uses up its nonce`, async function () {
        const { f, req } = await prepared();
        const { relayer } = f.accounts;
        expect(await f.ledger.organisationOf(relayer.address)).to.equal(ethers.ZeroHash);
        expect(await f.ledger.nonces(req.signer.address)).to.equal(0n);

        const auth = await sign(f, req);
        const tx = await req.send(req.message, auth);
        expect(tx.from).to.equal(relayer.address);
        await req.succeeded(tx);

        expect(await f.ledger.nonces(req.signer.address)).to.equal(1n);
        expect(await f.ledger.nonces(relayer.address)).to.equal(0n);
      });

      it("is valid up to and including the block whose timestamp is the deadline", async function () {
        const { f, req } = await prepared();
        const deadline = (await time.latest()) + 600;
        const auth = await sign(f, req, { deadline: BigInt(deadline) });
        await time.setNextBlockTimestamp(deadline);
        const tx = await req.send(req.message, auth);
        await req.succeeded(tx);
        expect((await tx.getBlock())!.timestamp).to.equal(deadline);
      });

      it("rejects a signature by another key claiming the signer (TraceLedgerInvalidSignature)", async function () {
        const { f, req } = await prepared();
        const auth = await sign(f, req, { by: f.accounts.relayer });
        await expect(req.send(req.message, auth))
          .to.be.revertedWithCustomError(f.ledger, "TraceLedgerInvalidSignature")
          .withArgs(req.signer.address, digestOf(f, req, req.message, auth));
      });

      it("rejects an expired request (TraceLedgerSignatureExpired)", async function () {
        const { f, req } = await prepared();
        const deadline = await deadlineIn(ONE_HOUR);
        const auth = await sign(f, req, { deadline });
        await time.increaseTo(deadline + 1n);
        // Pin the block the request lands in, so the reported timestamp is exact.
        const landsAt = deadline + 2n;
        await time.setNextBlockTimestamp(landsAt);
        await expect(req.send(req.message, auth))
          .to.be.revertedWithCustomError(f.ledger, "TraceLedgerSignatureExpired")
          .withArgs(req.signer.address, deadline, landsAt);
      });

      it("rejects a replay of the same signed request (TraceLedgerInvalidNonce)", async function () {
        const { f, req } = await prepared();
        const auth = await sign(f, req);
        await req.send(req.message, auth);
        await expect(req.send(req.message, auth))
          .to.be.revertedWithCustomError(f.ledger, "TraceLedgerInvalidNonce")
          .withArgs(req.signer.address, 0n, 1n);
        expect(await f.ledger.nonces(req.signer.address)).to.equal(1n);
      });

      it("rejects a future nonce (TraceLedgerInvalidNonce)", async function () {
        const { f, req } = await prepared();
        const auth = await sign(f, req, { nonce: 1n });
        await expect(req.send(req.message, auth))
          .to.be.revertedWithCustomError(f.ledger, "TraceLedgerInvalidNonce")
          .withArgs(req.signer.address, 1n, 0n);
        expect(await f.ledger.nonces(req.signer.address)).to.equal(0n);
      });

      it("rejects a request signed for another chain id (TraceLedgerInvalidSignature)", async function () {
        const { f, req } = await prepared();
        const domain = ledgerDomain(f.chainId + 1n, await f.ledger.getAddress());
        const auth = await sign(f, req, { domain });
        await expect(req.send(req.message, auth))
          .to.be.revertedWithCustomError(f.ledger, "TraceLedgerInvalidSignature")
          .withArgs(req.signer.address, digestOf(f, req, req.message, auth));
      });

      it("rejects a request signed for another TraceLedger (TraceLedgerInvalidSignature)", async function () {
        const { f, req } = await prepared();
        const other = await ethers.deployContract("TraceLedger", [f.accounts.admin.address]);
        const otherAddress = await other.getAddress();
        expect(otherAddress).to.not.equal(await f.ledger.getAddress());
        const auth = await sign(f, req, { domain: ledgerDomain(f.chainId, otherAddress) });
        await expect(req.send(req.message, auth))
          .to.be.revertedWithCustomError(f.ledger, "TraceLedgerInvalidSignature")
          .withArgs(req.signer.address, digestOf(f, req, req.message, auth));
      });

      it("rejects a deadline the relayer extended after signing (TraceLedgerInvalidSignature)", async function () {
        const { f, req } = await prepared();
        const signed = await sign(f, req);
        const auth = { ...signed, deadline: signed.deadline + ONE_HOUR };
        await expect(req.send(req.message, auth))
          .to.be.revertedWithCustomError(f.ledger, "TraceLedgerInvalidSignature")
          .withArgs(req.signer.address, digestOf(f, req, req.message, auth));
      });

      it("rejects a request whose fields the relayer altered after signing (TraceLedgerInvalidSignature)", async function () {
        const { f, req } = await prepared();
        const whats = Object.keys(req.tampered);
        expect(whats).to.not.be.empty;
        for (const what of whats) {
          const altered = req.tampered[what]!;
          expect(altered, what).to.not.deep.equal(req.message);
          const auth = await sign(f, req);
          await expect(req.send(altered, auth), `altered ${what}`)
            .to.be.revertedWithCustomError(f.ledger, "TraceLedgerInvalidSignature")
            .withArgs(req.signer.address, digestOf(f, req, altered, auth));
        }
      });

      it("rejects the malleated (high-s) twin of a valid signature (TraceLedgerInvalidSignature)", async function () {
        const { f, req } = await prepared();
        const auth = await sign(f, req);
        const digest = digestOf(f, req, req.message, auth);
        const twin = malleate(auth.signature);
        expect(twin).to.not.equal(auth.signature);
        // Raw ecrecover accepts both; the ledger must accept only the canonical one.
        expect(await rawEcrecover(digest, auth.signature)).to.equal(req.signer.address);
        expect(await rawEcrecover(digest, twin)).to.equal(req.signer.address);

        await expect(req.send(req.message, { ...auth, signature: twin }))
          .to.be.revertedWithCustomError(f.ledger, "TraceLedgerInvalidSignature")
          .withArgs(req.signer.address, digest);
        const tx = await req.send(req.message, auth);
        await req.succeeded(tx);
      });

      it(`rejects a valid signature by the ${c.lacksRole.account}, who lacks the role (AccessControlUnauthorizedAccount)`, async function () {
        const { f, req } = await prepared();
        const account = f.accounts[c.lacksRole.account];
        const auth = await sign(f, req, { by: account, claims: account.address, nonce: 0n });
        await expect(req.send(req.message, auth))
          .to.be.revertedWithCustomError(f.ledger, "AccessControlUnauthorizedAccount")
          .withArgs(account.address, ROLES[c.lacksRole.role]);
      });

      it(`rejects a request signed by a suspended ${c.signer} (TraceLedgerOrganisationSuspended)`, async function () {
        const { f, req } = await prepared();
        const auth = await sign(f, req);
        await f.ledger.connect(f.accounts.admin).suspendOrganisation(f.orgIds[c.signer], id("reason:suspended"));
        await expect(req.send(req.message, auth))
          .to.be.revertedWithCustomError(f.ledger, "TraceLedgerOrganisationSuspended")
          .withArgs(f.orgIds[c.signer]);
      });

      it("rejects a valid request while the ledger is paused (EnforcedPause)", async function () {
        const { f, req } = await prepared();
        const auth = await sign(f, req);
        await f.ledger.connect(f.accounts.admin).pause();
        await expect(req.send(req.message, auth)).to.be.revertedWithCustomError(f.ledger, "EnforcedPause");
        expect(await f.ledger.nonces(req.signer.address)).to.equal(0n);
      });
    });
  }

  it("keeps one nonce sequence per signer, shared by all their …BySig requests", async function () {
    const f = await loadFixture(deployWithBatchesFixture);
    const { producer, otherProducer, relayer } = f.accounts;
    const relayed = f.ledger.connect(relayer);
    const deadline = await deadlineIn();

    const product = { gtin: NEW_GTIN, metadataHash: id("product:hotpot-dip") };
    const auth0 = await signAuthorization(producer, f.domain, "RegisterProduct", product, {
      signer: producer.address,
      nonce: 0n,
      deadline,
    });
    const batch = { gtin: NEW_GTIN, lot: NEW_LOT, metadataHash: id("batch:dip"), parents: [] as string[] };
    const auth1 = await signAuthorization(producer, f.domain, "RegisterBatch", batch, {
      signer: producer.address,
      nonce: 1n,
      deadline,
    });
    const other = { gtin: BigInt(gtin14("0692217800203")), metadataHash: id("product:oil-5l") };
    const otherAuth0 = await signAuthorization(otherProducer, f.domain, "RegisterProduct", other, {
      signer: otherProducer.address,
      nonce: 0n,
      deadline,
    });

    // Nonce 1 cannot go before nonce 0.
    await expect(relayed.registerBatchBySig(batch.gtin, batch.lot, batch.metadataHash, batch.parents, auth1))
      .to.be.revertedWithCustomError(f.ledger, "TraceLedgerInvalidNonce")
      .withArgs(producer.address, 1n, 0n);
    await relayed.registerProductBySig(product.gtin, product.metadataHash, auth0);
    await expect(relayed.registerBatchBySig(batch.gtin, batch.lot, batch.metadataHash, batch.parents, auth1))
      .to.emit(f.ledger, "BatchRegistered")
      .withArgs(batchIdOf(NEW_GTIN, NEW_LOT), NEW_GTIN, f.orgIds.producer, NEW_LOT, batch.metadataHash, []);
    await expect(relayed.registerProductBySig(other.gtin, other.metadataHash, otherAuth0))
      .to.emit(f.ledger, "ProductRegistered")
      .withArgs(other.gtin, f.orgIds.otherProducer, other.metadataHash);

    expect(await f.ledger.nonces(producer.address)).to.equal(2n);
    expect(await f.ledger.nonces(otherProducer.address)).to.equal(1n);
  });

  it("does not let a signature for one request type authorise another of the same shape", async function () {
    const f = await loadFixture(deployWithBatchesFixture);
    const { regulator, relayer } = f.accounts;
    const request = { batchId: f.batchIds.hotpotId, reasonHash: REASON };
    const fields = { signer: regulator.address, nonce: 0n, deadline: await deadlineIn() };
    const holdAuth = await signAuthorization(regulator, f.domain, "HoldBatch", request, fields);

    const recallDigest = TypedDataEncoder.hash(
      f.domain,
      { Recall: [...LEDGER_TYPES.Recall] },
      { ...request, ...fields },
    );
    await expect(f.ledger.connect(relayer).recallBySig(request.batchId, request.reasonHash, holdAuth))
      .to.be.revertedWithCustomError(f.ledger, "TraceLedgerInvalidSignature")
      .withArgs(regulator.address, recallDigest);
    await expect(f.ledger.connect(relayer).holdBatchBySig(request.batchId, request.reasonHash, holdAuth))
      .to.emit(f.ledger, "BatchStatusChanged")
      .withArgs(request.batchId, BatchStatus.Held, f.orgIds.regulator, BatchStatus.Active, REASON);
  });
});
