/**
 * The hand-written ABI encoding of an item serial's leaf (server/services/serials.ts) against ethers'
 * generic encoder, which the contract's `serialLeaf` matches (test/contracts/…anchors.test.ts).
 */
import { expect } from "chai";
import fc from "fast-check";
import { AbiCoder, keccak256 } from "ethers";

import { serialLeaf } from "../../server/services/serials";

const coder = AbiCoder.defaultAbiCoder();
const reference = (batchId: string, serial: string) =>
  keccak256(keccak256(coder.encode(["bytes32", "string"], [batchId, serial])));

describe("serialLeaf", function () {
  it("equals keccak256(keccak256(abi.encode(batchId, serial))) for any serial, of any length", function () {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.string({ maxLength: 80 }), (bytes, serial) => {
        const batchId = `0x${Buffer.from(bytes).toString("hex")}`;
        expect(serialLeaf(batchId, serial)).to.equal(reference(batchId, serial));
      }),
      { numRuns: 300 },
    );
  });

  it("handles the edge lengths and multi-byte text", function () {
    const batchId = `0x${"ab".repeat(32)}`;
    for (const serial of ["", "A", "7K3M9QX2PTWAB", "渝-001", "x".repeat(32), "y".repeat(33), "荣昌陶".repeat(11)]) {
      expect(serialLeaf(batchId, serial), serial).to.equal(reference(batchId, serial));
    }
  });
});
