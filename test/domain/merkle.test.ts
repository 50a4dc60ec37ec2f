/**
 * Unit and property tests of server/domain/merkle.ts: the sorted-pair Merkle trees of submissions
 * and anchors (DESIGN §3), checked against an independent reference, against OpenZeppelin's
 * SimpleMerkleTree, and against the contract's `verifyAnchoredLeaf` (OpenZeppelin MerkleProof).
 */
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import { concat, getBytes, hexlify, id, keccak256 } from "ethers";

import { createHash } from "node:crypto";

import {
  merkleNodes,
  merkleTree,
  submissionTree,
  verifyMerkleProof,
  verifySubmissionProof,
} from "../../server/domain/merkle";
import { deployLedgerFixture } from "../helpers/ledger-fixture";

/** keccak256 of the two nodes in ascending order: OpenZeppelin's `Hashes.commutativeKeccak256`. */
function hashPair(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

/** What MerkleProof.processProof computes: the root `proof` leads to from `leaf`. */
function processProof(leaf: string, proof: readonly string[]): string {
  return proof.reduce((node, sibling) => hashPair(node, sibling), leaf);
}

/**
 * An independent root in OpenZeppelin's layout: a complete binary tree stored as an array, the
 * leaves at its end in reverse order, each inner node `i` the pair hash of nodes 2i+1 and 2i+2.
 */
function referenceRoot(leaves: readonly string[], pair = hashPair): string {
  const tree = new Array<string>(2 * leaves.length - 1);
  leaves.forEach((leaf, i) => (tree[tree.length - 1 - i] = leaf));
  for (let i = tree.length - 1 - leaves.length; i >= 0; i--) tree[i] = pair(tree[2 * i + 1]!, tree[2 * i + 2]!);
  return tree[0]!;
}

/** SHA-256 of the two nodes in ascending order: the pairs of a submission's tree over its event ids. */
function sha256Pair(a: string, b: string): string {
  const [low, high] = BigInt(a) <= BigInt(b) ? [a, b] : [b, a];
  return `0x${createHash("sha256")
    .update(getBytes(concat([low, high])))
    .digest("hex")}`;
}

/** `hex` (32 bytes) with bit `bit` (0 = lowest of the last byte) flipped. */
function flipBit(hex: string, bit: number): string {
  const bytes = getBytes(hex);
  bytes[31 - Math.floor(bit / 8)]! ^= 1 << (bit % 8);
  return hexlify(bytes);
}

const leafArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => hexlify(bytes));
const leavesArb = (minLength: number, maxLength: number) =>
  fc.uniqueArray(leafArb, { minLength, maxLength, selector: (leaf) => leaf });

/** Distinct, recognisable leaves: the event hashes of "event 0", "event 1", … */
const eventHashes = (count: number) => Array.from({ length: count }, (_, i) => id(`event ${i}`));

describe("Merkle trees (sorted pairs, OpenZeppelin-compatible)", function () {
  it("a tree of one leaf has that leaf as its root and an empty proof", function () {
    const [leaf] = eventHashes(1) as [string];
    const tree = merkleTree([leaf]);
    expect(tree.root).to.equal(leaf);
    expect(tree.proof(0)).to.deep.equal([]);
    expect(verifyMerkleProof(tree.root, leaf, [])).to.equal(true);
    expect(verifyMerkleProof(tree.root, id("other"), [])).to.equal(false);
  });

  it("a tree of two leaves has the hash of the sorted pair as its root, each leaf proven by the other", function () {
    const [a, b] = eventHashes(2) as [string, string];
    const [low, high] = BigInt(a) < BigInt(b) ? [a, b] : [b, a];
    const tree = merkleTree([a, b]);
    expect(tree.root).to.equal(keccak256(concat([low, high])));
    expect(tree.proof(0)).to.deep.equal([b]);
    expect(tree.proof(1)).to.deep.equal([a]);
    expect(merkleTree([b, a]).root, "pairs are sorted, so two leaves in either order").to.equal(tree.root);
  });

  it("a tree of three leaves pairs the first two given and hashes their node with the third", function () {
    const [a, b, c] = eventHashes(3) as [string, string, string];
    const tree = merkleTree([a, b, c]);
    expect(tree.root).to.equal(hashPair(hashPair(a, b), c));
    expect(tree.proof(0)).to.deep.equal([b, c]);
    expect(tree.proof(1)).to.deep.equal([a, c]);
    expect(tree.proof(2)).to.deep.equal([hashPair(a, b)]);
  });

  it("refuses an empty list of leaves with a RangeError", function () {
    expect(() => merkleTree([])).to.throw(RangeError, "at least one leaf");
  });

  it("for every size from 1 to 33, every leaf's proof verifies and leads to the root", function () {
    for (let size = 1; size <= 33; size++) {
      fc.assert(
        fc.property(leavesArb(size, size), (leaves) => {
          const tree = merkleTree(leaves);
          expect(tree.root).to.match(/^0x[0-9a-f]{64}$/);
          leaves.forEach((leaf, index) => {
            const proof = tree.proof(index);
            expect(proof.length, `size ${size}`).to.be.at.most(Math.ceil(Math.log2(size)));
            expect(verifyMerkleProof(tree.root, leaf, proof), `size ${size}, leaf ${index}`).to.equal(true);
            expect(processProof(leaf, proof), `size ${size}, leaf ${index}`).to.equal(tree.root);
          });
        }),
        { numRuns: 4 },
      );
    }
  });

  it("has the root of an independent computation in OpenZeppelin's tree layout", function () {
    fc.assert(
      fc.property(leavesArb(1, 40), (leaves) => {
        expect(merkleTree(leaves).root).to.equal(referenceRoot(leaves));
      }),
      { numRuns: 200 },
    );
  });

  it("has the same root and proofs as OpenZeppelin's SimpleMerkleTree of the leaves in the given order", function () {
    fc.assert(
      fc.property(leavesArb(1, 40), (leaves) => {
        const tree = merkleTree(leaves);
        const oz = SimpleMerkleTree.of(leaves, { sortLeaves: false });
        expect(tree.root).to.equal(oz.root);
        leaves.forEach((leaf, index) => expect(tree.proof(index)).to.deep.equal(oz.getProof(leaf)));
      }),
      { numRuns: 100 },
    );
  });

  it("proof(index) proves the leaf at that index of the list as given, even when the leaves are not sorted", function () {
    const leaves = eventHashes(9).sort().reverse();
    const tree = merkleTree(leaves);
    leaves.forEach((leaf, index) => {
      expect(verifyMerkleProof(tree.root, leaf, tree.proof(index)), `leaf ${index}`).to.equal(true);
      leaves.forEach((other, j) => {
        if (j !== index) {
          expect(verifyMerkleProof(tree.root, other, tree.proof(index)), `leaf ${j}, proof ${index}`).to.equal(false);
        }
      });
    });
  });

  it("a leaf with one bit flipped does not verify", function () {
    fc.assert(
      fc.property(leavesArb(1, 33), fc.nat(), fc.nat({ max: 255 }), (leaves, pick, bit) => {
        const index = pick % leaves.length;
        const tree = merkleTree(leaves);
        const forged = flipBit(leaves[index]!, bit);
        expect(verifyMerkleProof(tree.root, forged, tree.proof(index))).to.equal(false);
      }),
      { numRuns: 300 },
    );
  });

  it("a proof with one bit flipped in any of its hashes does not verify", function () {
    fc.assert(
      fc.property(leavesArb(2, 33), fc.nat(), fc.nat(), fc.nat({ max: 255 }), (leaves, pick, step, bit) => {
        const index = pick % leaves.length;
        const tree = merkleTree(leaves);
        const proof = tree.proof(index);
        const at = step % proof.length;
        const forged = proof.map((node, i) => (i === at ? flipBit(node, bit) : node));
        expect(verifyMerkleProof(tree.root, leaves[index]!, forged)).to.equal(false);
      }),
      { numRuns: 300 },
    );
  });

  it("a proof does not verify against a root with one bit flipped, nor with a hash left out", function () {
    const leaves = eventHashes(12);
    const tree = merkleTree(leaves);
    for (let index = 0; index < leaves.length; index++) {
      const proof = tree.proof(index);
      expect(verifyMerkleProof(flipBit(tree.root, index), leaves[index]!, proof)).to.equal(false);
      expect(verifyMerkleProof(tree.root, leaves[index]!, proof.slice(0, -1))).to.equal(false);
    }
  });

  it("a repeated leaf is proven at each of its positions", function () {
    const [a, b] = eventHashes(2) as [string, string];
    const leaves = [a, b, a];
    const tree = merkleTree(leaves);
    leaves.forEach((leaf, index) => expect(verifyMerkleProof(tree.root, leaf, tree.proof(index))).to.equal(true));
  });

  it("does not change the array of leaves it was given", function () {
    const leaves = eventHashes(5).reverse();
    const copy = [...leaves];
    merkleTree(leaves).proof(3);
    expect(leaves).to.deep.equal(copy);
  });

  it("merkleNodes lists every node in OpenZeppelin's layout: the root first, the leaves last in reverse", function () {
    const leaves = eventHashes(5);
    const nodes = merkleNodes(leaves);
    expect(nodes).to.have.length(9);
    expect(nodes[0]).to.equal(referenceRoot(leaves));
    expect(nodes.slice(4)).to.deep.equal([...leaves].reverse());
    expect(nodes[3]).to.equal(hashPair(nodes[7]!, nodes[8]!));
  });

  it("refuses a leaf that is not 32 bytes of hex", function () {
    expect(() => merkleTree([eventHashes(1)[0]!, "0x1234"])).to.throw(TypeError, "32 bytes of hex");
    expect(() => merkleTree([`0x${"g".repeat(64)}`])).to.throw(TypeError, "32 bytes of hex");
  });

  describe("submission trees (SHA-256)", function () {
    it("has the root of an independent SHA-256 computation, and every proof verifies", function () {
      fc.assert(
        fc.property(leavesArb(1, 40), (leaves) => {
          const tree = submissionTree(leaves);
          expect(tree.root).to.equal(referenceRoot(leaves, sha256Pair));
          leaves.forEach((leaf, index) => {
            expect(verifySubmissionProof(tree.root, leaf, tree.proof(index))).to.equal(true);
          });
        }),
        { numRuns: 100 },
      );
    });
  });

  describe("against the contract", function () {
    it("the ledger's verifyAnchoredLeaf accepts every proof of an anchored tree and refuses a forged leaf", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      for (const size of [1, 2, 3, 7, 16, 33]) {
        const leaves = eventHashes(size).map((h) => keccak256(concat([h, id(`size ${size}`)])));
        const tree = merkleTree(leaves);
        await ledger.connect(accounts.anchorer).anchor(tree.root, size, size);
        for (const [index, leaf] of leaves.entries()) {
          const proof = tree.proof(index);
          expect(await ledger.verifyAnchoredLeaf(tree.root, leaf, proof), `size ${size}, leaf ${index}`).to.equal(true);
          expect(await ledger.verifyAnchoredLeaf(tree.root, flipBit(leaf, index), proof)).to.equal(false);
        }
      }
    });
  });
});
