/**
 * The gateway's EIP-712 types (`server/chain/typed-data.ts`) and the contract's
 * (`contracts/libraries/LedgerTypes.sol`) must stay equal, or every `…BySig` request and every
 * anchored submission the gateway signs would be rejected on-chain.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { readFileSync } from "node:fs";
import path from "node:path";
import { id } from "ethers";

import {
  LEDGER_DOMAIN_NAME,
  LEDGER_DOMAIN_VERSION,
  LEDGER_TYPES,
  submissionDigest,
  typeHash,
  type LedgerTypeName,
} from "../../server/chain/typed-data";
import { deployLedgerFixture } from "../helpers/ledger-fixture";

const LEDGER_TYPES_SOL = path.join(__dirname, "..", "..", "contracts", "libraries", "LedgerTypes.sol");

/**
 * The `bytes32 … NAME_TYPEHASH = keccak256("…" "…");` constants of a Solidity source, by constant
 * name, each with its type string (adjacent string literals concatenated, as Solidity does).
 */
function solidityTypeStrings(source: string): Map<string, string> {
  const constants = new Map<string, string>();
  const declaration = /bytes32\s+internal\s+constant\s+(\w+_TYPEHASH)\s*=\s*keccak256\(\s*((?:"[^"\\]*"\s*)+)\)\s*;/g;
  for (const [, name, literals] of source.matchAll(declaration)) {
    const parts = [...literals!.matchAll(/"([^"\\]*)"/g)].map((m) => m[1]!);
    constants.set(name!, parts.join(""));
  }
  return constants;
}

/** `RegisterProduct` → `REGISTER_PRODUCT_TYPEHASH`. */
function constantNameOf(typeName: string): string {
  return `${typeName.replace(/(?<=[a-z])(?=[A-Z])/g, "_").toUpperCase()}_TYPEHASH`;
}

describe("EIP-712 typed data", function () {
  const source = readFileSync(LEDGER_TYPES_SOL, "utf8");
  const solidity = solidityTypeStrings(source);
  const names = Object.keys(LEDGER_TYPES) as LedgerTypeName[];

  it("finds every keccak256 type string of LedgerTypes.sol", function () {
    const declared = source.match(/_TYPEHASH\s*=\s*keccak256\(/g) ?? [];
    expect(declared.length).to.be.greaterThan(0);
    expect(solidity.size).to.equal(declared.length);
    // The two-literal RegisterBatch string came out whole.
    expect(solidity.get("REGISTER_BATCH_TYPEHASH")).to.equal(
      "RegisterBatch(address signer,uint64 gtin,string lot,bytes32 metadataHash," +
        "bytes32[] parents,uint256 nonce,uint256 deadline)",
    );
  });

  it("has one Solidity constant per TypeScript type, and no other", function () {
    expect([...solidity.keys()].sort()).to.deep.equal(names.map(constantNameOf).sort());
  });

  for (const name of names) {
    it(`typeHash("${name}") equals keccak256 of ${constantNameOf(name)}`, function () {
      const typeString = solidity.get(constantNameOf(name));
      expect(typeString, `${constantNameOf(name)} in LedgerTypes.sol`).to.be.a("string");
      expect(typeString!.startsWith(`${name}(`)).to.equal(true);
      expect(typeHash(name)).to.equal(id(typeString!));
    });
  }

  it("eip712Domain() is YuTrace TraceLedger, version 1, this chain and this contract", async function () {
    const { ledger, chainId } = await loadFixture(deployLedgerFixture);
    const domain = await ledger.eip712Domain();
    expect(domain.fields).to.equal("0x0f"); // name, version, chainId, verifyingContract
    expect(domain.name).to.equal("YuTrace TraceLedger");
    expect(domain.version).to.equal("1");
    expect(domain.chainId).to.equal(chainId);
    expect(domain.chainId).to.equal((await ethers.provider.getNetwork()).chainId);
    expect(domain.verifyingContract).to.equal(await ledger.getAddress());
    expect(domain.salt).to.equal(ethers.ZeroHash);
    expect([...domain.extensions]).to.deep.equal([]);
    expect([domain.name, domain.version]).to.deep.equal([LEDGER_DOMAIN_NAME, LEDGER_DOMAIN_VERSION]);
  });

  it("hashSubmission() equals the gateway's submissionDigest in the fixture's domain", async function () {
    const { ledger, domain, accounts } = await loadFixture(deployLedgerFixture);
    const submission = { org: accounts.producer.address, root: id("submission:root"), count: 12, nonce: 7n };
    expect(await ledger.hashSubmission(submission.org, submission.root, submission.count, submission.nonce)).to.equal(
      submissionDigest(domain, submission),
    );
  });
});
