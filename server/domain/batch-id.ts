/**
 * The batch id, computed exactly as the contract does: `keccak256(abi.encode(uint64 gtin, string lot))`.
 */
import { AbiCoder, keccak256 } from "ethers";

import type { BatchKey } from "./digital-link";

const coder = AbiCoder.defaultAbiCoder();

export function batchIdOf(gtin: string | bigint, lot: string): string {
  return keccak256(coder.encode(["uint64", "string"], [BigInt(gtin), lot]));
}

export function batchIdOfKey(key: BatchKey): string {
  return batchIdOf(key.gtin, key.lot);
}
