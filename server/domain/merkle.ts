/**
 * Sorted-pair Merkle trees over bytes32 leaves, compatible with OpenZeppelin's `MerkleProof`
 * (and laid out exactly as `SimpleMerkleTree` of @openzeppelin/merkle-tree, so roots and proofs are
 * the same), which the contract uses to check proofs. Used twice: an anchor's tree over submission
 * digests (keccak256, checked on-chain), and a submission's tree over its event ids (SHA-256: it is
 * only ever checked off-chain, and Node hashes SHA-256 natively, ~20× faster than JavaScript keccak;
 * `submissionTree`, `verifySubmissionProof`).
 *
 * Built here rather than with SimpleMerkleTree because that class validates the whole tree on every
 * `getProof`, which made the proofs of a 1,000-event submission quadratic (profiled: a third of
 * ingest time). This builds the tree once, in O(n) hashes, and reads each proof in O(log n).
 */
import { createHash, hash as oneShotHash } from "node:crypto";
import { keccak_256 } from "@noble/hashes/sha3";

export type NodeHash = "keccak256" | "sha256";

export interface MerkleTree {
  root: string;
  /** Proof of the leaf at `index` (in the order the leaves were given). */
  proof(index: number): string[];
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;

function checkLeaf(hex: string): string {
  if (!HEX32.test(hex)) throw new TypeError(`a Merkle leaf must be 32 bytes of hex: ${hex}`);
  return hex;
}

const toBytes = (hex: string): Uint8Array => Buffer.from(checkLeaf(hex).slice(2), "hex");

const toHex = (bytes: Uint8Array): string =>
  `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;

/**
 * The hash of the two nodes in ascending byte order: with keccak256, OpenZeppelin's
 * `Hashes.commutativeKeccak256`. `pair` is 64 bytes of scratch space.
 */
function hashPair(a: Uint8Array, b: Uint8Array, hash: NodeHash, pair = new Uint8Array(64)): Uint8Array {
  const aFirst = Buffer.compare(a, b) <= 0;
  pair.set(aFirst ? a : b, 0);
  pair.set(aFirst ? b : a, 32);
  return hash === "keccak256" ? keccak_256(pair) : sha256(pair);
}

/** SHA-256 in one native call where Node has `crypto.hash` (20.12+). */
const sha256: (data: Uint8Array) => Uint8Array =
  typeof oneShotHash === "function"
    ? (data) => oneShotHash("sha256", data, "buffer")
    : (data) => createHash("sha256").update(data).digest();

/** Every node of the tree of `leaves` in OpenZeppelin's array layout (leaf i at length − 1 − i). */
export function merkleNodes(leaves: readonly string[], hash: NodeHash = "keccak256"): string[] {
  const nodes = buildTree(leaves, hash);
  return Array.from({ length: nodes.length / 32 }, (_, i) => toHex(nodeAt(nodes, i)));
}

const nodeAt = (nodes: Buffer, i: number): Buffer => nodes.subarray(i * 32, i * 32 + 32);

/**
 * OpenZeppelin's layout: a complete binary tree in an array, the leaves at its end in reverse
 * order, inner node i the pair hash of nodes 2i+1 and 2i+2. Node i is bytes 32i to 32i+32 of one
 * buffer (a tree of 500 leaves is 32 KB, not a thousand small allocations).
 */
function buildTree(leaves: readonly string[], hash: NodeHash): Buffer {
  if (leaves.length === 0) throw new RangeError("a Merkle tree needs at least one leaf");
  const count = 2 * leaves.length - 1;
  const nodes = Buffer.allocUnsafe(count * 32);
  leaves.forEach((leaf, i) => nodes.write(checkLeaf(leaf).slice(2), (count - 1 - i) * 32, 32, "hex"));
  const pair = new Uint8Array(64);
  for (let i = count - 1 - leaves.length; i >= 0; i--) {
    nodes.set(hashPair(nodeAt(nodes, 2 * i + 1), nodeAt(nodes, 2 * i + 2), hash, pair), i * 32);
  }
  return nodes;
}

/** The tree keeps its nodes (32 bytes each) and nothing else: not the leaves' strings it was given. */
export function merkleTree(leaves: readonly string[], hash: NodeHash = "keccak256"): MerkleTree {
  const nodes = buildTree(leaves, hash);
  const count = nodes.length / 32;
  const leafCount = leaves.length;
  return {
    root: toHex(nodeAt(nodes, 0)),
    proof: (index) => {
      if (!Number.isInteger(index) || index < 0 || index >= leafCount) {
        throw new RangeError(`no leaf ${index} in a tree of ${leafCount}`);
      }
      const proof: string[] = [];
      for (let i = count - 1 - index; i > 0; i = Math.floor((i - 1) / 2)) {
        proof.push(toHex(nodeAt(nodes, i % 2 === 1 ? i + 1 : i - 1)));
      }
      return proof;
    },
  };
}

/** Whether `proof` leads from `leaf` to `root`. */
export function verifyMerkleProof(
  root: string,
  leaf: string,
  proof: readonly string[],
  hash: NodeHash = "keccak256",
): boolean {
  try {
    let node = toBytes(leaf);
    for (const sibling of proof) node = hashPair(node, toBytes(sibling), hash);
    return toHex(node) === root.toLowerCase();
  } catch {
    return false;
  }
}

/** A submission's tree over its event ids (SHA-256 sorted pairs). */
export function submissionTree(eventIds: readonly string[]): MerkleTree {
  return merkleTree(eventIds, "sha256");
}

/** Whether `proof` leads from event id `eventId` to submission root `root`. */
export function verifySubmissionProof(root: string, eventId: string, proof: readonly string[]): boolean {
  return verifyMerkleProof(root, eventId, proof, "sha256");
}
