/**
 * API keys: random, shown once, stored only as their SHA-256 (DESIGN §7). A key acts for one
 * organisation, or for the platform operator ("admin").
 */
import { createHash, randomBytes } from "node:crypto";

import { keys } from "../store/keys";
import type { ApiKeyRecord } from "../store/records";
import { Store } from "../store/store";

export const ADMIN = "admin";
const PREFIX = "ytk_";

export function newApiKey(): string {
  return PREFIX + randomBytes(32).toString("base64url");
}

export function hashApiKey(apiKey: string): string {
  return createHash("sha256").update(apiKey, "utf8").digest("hex");
}

/** Whether `text` has the shape of one of our keys (checked before any store lookup). */
export function looksLikeApiKey(text: string): boolean {
  return /^ytk_[A-Za-z0-9_-]{43}$/.test(text);
}

/** Issues a new key for `orgId`, revoking its previous one in the same write. Returns the key. */
export async function issueApiKey(store: Store, orgId: string): Promise<string> {
  const apiKey = newApiKey();
  const hash = hashApiKey(apiKey);
  const previous: string | undefined = await store.keys.get(keys.orgApiKey(orgId));
  const record: ApiKeyRecord = { hash, orgId, createdAt: new Date().toISOString() };
  await store.write(
    [
      ...(previous ? [Store.del(store.keys, keys.apiKey(previous))] : []),
      Store.put(store.keys, keys.apiKey(hash), record),
      Store.put(store.keys, keys.orgApiKey(orgId), hash),
    ],
    { sync: true },
  );
  return apiKey;
}

/** The record of `apiKey`, or null if it is unknown or revoked. */
export async function findApiKey(store: Store, apiKey: string): Promise<ApiKeyRecord | null> {
  if (!looksLikeApiKey(apiKey)) return null;
  return ((await store.keys.get(keys.apiKey(hashApiKey(apiKey)))) as ApiKeyRecord | undefined) ?? null;
}
