/**
 * Sorted-pair Merkle trees over bytes32 leaves, compatible with OpenZeppelin's `MerkleProof`
 * (and `SimpleMerkleTree` of @openzeppelin/merkle-tree), which the contract uses to check proofs.
 * Used twice: a submission's tree over its event hashes, and an anchor's tree over submission
 * digests.
 */
import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";

export interface MerkleTree {
  root: string;
  /** Proof of the leaf at `index` (in the order the leaves were given). */
  proof(index: number): string[];
}

/** Builds the tree of `leaves` (0x-prefixed 32-byte hex). At least one leaf. */
export function merkleTree(leaves: readonly string[]): MerkleTree {
  if (leaves.length === 0) throw new RangeError("a Merkle tree needs at least one leaf");
  const tree = SimpleMerkleTree.of([...leaves], { sortLeaves: false });
  return { root: tree.root, proof: (index) => tree.getProof(index) };
}

/** Whether `proof` leads from `leaf` to `root`. */
export function verifyMerkleProof(root: string, leaf: string, proof: readonly string[]): boolean {
  return SimpleMerkleTree.verify(root, leaf, [...proof]);
}
