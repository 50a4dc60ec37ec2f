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

function toBytes(hex: string): Uint8Array {
  if (!HEX32.test(hex)) throw new TypeError(`a Merkle leaf must be 32 bytes of hex: ${hex}`);
  return Buffer.from(hex.slice(2), "hex");
}

const toHex = (bytes: Uint8Array): string => `0x${Buffer.from(bytes).toString("hex")}`;

/**
 * The hash of the two nodes in ascending byte order: with keccak256, OpenZeppelin's
 * `Hashes.commutativeKeccak256`.
 */
function hashPair(a: Uint8Array, b: Uint8Array, hash: NodeHash): Uint8Array {
  const pair = new Uint8Array(64);
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

/** Builds the tree of `leaves` (0x-prefixed 32-byte hex). At least one leaf. */
/** Every node of the tree of `leaves` in OpenZeppelin's array layout (leaf i at length − 1 − i). */
export function merkleNodes(leaves: readonly string[], hash: NodeHash = "keccak256"): string[] {
  return buildTree(leaves, hash).map(toHex);
}

/**
 * OpenZeppelin's layout: a complete binary tree in an array, the leaves at its end in reverse
 * order, inner node i the pair hash of nodes 2i+1 and 2i+2.
 */
function buildTree(leaves: readonly string[], hash: NodeHash): Uint8Array[] {
  if (leaves.length === 0) throw new RangeError("a Merkle tree needs at least one leaf");
  const tree = new Array<Uint8Array>(2 * leaves.length - 1);
  leaves.forEach((leaf, i) => (tree[tree.length - 1 - i] = toBytes(leaf)));
  for (let i = tree.length - 1 - leaves.length; i >= 0; i--) {
    tree[i] = hashPair(tree[2 * i + 1]!, tree[2 * i + 2]!, hash);
  }
  return tree;
}

export function merkleTree(leaves: readonly string[], hash: NodeHash = "keccak256"): MerkleTree {
  const tree = buildTree(leaves, hash);
  const hex = new Map<number, string>();
  const hexAt = (i: number): string => {
    let value = hex.get(i);
    if (value === undefined) hex.set(i, (value = toHex(tree[i]!)));
    return value;
  };
  return {
    root: hexAt(0),
    proof: (index) => {
      if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
        throw new RangeError(`no leaf ${index} in a tree of ${leaves.length}`);
      }
      const proof: string[] = [];
      for (let i = tree.length - 1 - index; i > 0; i = Math.floor((i - 1) / 2)) {
        proof.push(hexAt(i % 2 === 1 ? i + 1 : i - 1));
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

const submissionTrees = new WeakMap<readonly string[], MerkleTree>();

/**
 * The proof of the event at `index` of a submission whose event ids are `eventIds`, to the
 * submission's root. Proofs are not stored with each event (they were ~40 % of what ingest wrote):
 * they come from the journal's list of event ids, the tree built once per list read.
 */
export function submissionProof(eventIds: readonly string[], index: number): string[] {
  let tree = submissionTrees.get(eventIds);
  if (!tree) submissionTrees.set(eventIds, (tree = submissionTree(eventIds)));
  return tree.proof(index);
}

/** Whether `proof` leads from event id `eventId` to submission root `root`. */
export function verifySubmissionProof(root: string, eventId: string, proof: readonly string[]): boolean {
  return verifyMerkleProof(root, eventId, proof, "sha256");
}
