/**
 * The batch id, computed exactly as the contract does: `keccak256(abi.encode(uint64 gtin, string lot))`.
 */
import { AbiCoder, keccak256 } from "ethers";

import type { BatchKey } from "./digital-link";

const coder = AbiCoder.defaultAbiCoder();

/** Recently computed ids: ABI encoding and keccak cost ~50 µs, and ingest asks for the same few batches all the time. */
const recent = new Map<string, string>();
const RECENT_MAX = 50_000;

export function batchIdOf(gtin: string | bigint, lot: string): string {
  const key = `${gtin}/${lot}`;
  let batchId = recent.get(key);
  if (batchId === undefined) {
    batchId = keccak256(coder.encode(["uint64", "string"], [BigInt(gtin), lot]));
    if (recent.size >= RECENT_MAX) recent.clear();
    recent.set(key, batchId);
  }
  return batchId;
}

export function batchIdOfKey(key: BatchKey): string {
  return batchIdOf(key.gtin, key.lot);
}
