/**
 * Custodial signing keys: most organisations let the gateway keep their EIP-712 key (DESIGN §3), so
 * their private keys sit in the store's `keys` sublevel — never in clear. Each key is sealed with
 * AES-256-GCM under the key-encryption key (KEK) from the configuration, with the organisation id
 * as additional authenticated data, so a sealed key copied onto another organisation's record does
 * not open. Sealed form: base64 of iv (12 bytes) ‖ ciphertext (32 bytes) ‖ auth tag (16 bytes).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { SigningKey, Wallet, hexlify } from "ethers";

const IV_BYTES = 12;
const TAG_BYTES = 16;
const PRIVATE_KEY_BYTES = 32;
const KEK_BYTES = 32;
/** Fewer distinct byte values than this in a 32-byte key means it was typed or patterned, not random. */
const MIN_DISTINCT_KEK_BYTES = 16;

/**
 * A fixed key-encryption key for demos and tests ONLY. It is derived from a public string, so
 * anyone can open keys sealed with it: INSECURE. The gateway should warn loudly when it runs with
 * it (`isDemoKeyEncryptionKey`) and production configuration must supply its own random key.
 */
export const DEMO_KEY_ENCRYPTION_KEY: Buffer = createHash("sha256")
  .update("YuTrace demo key-encryption key - INSECURE, public, never use in production")
  .digest();

/** Thrown when a sealed key cannot be opened or a key-encryption key is unusable. */
export class KeyCustodyError extends Error {
  override readonly name = "KeyCustodyError";
}

/** A fresh random signing key for an organisation whose key the gateway keeps. */
export function generateSigningKey(): Wallet {
  for (;;) {
    const candidate = randomBytes(PRIVATE_KEY_BYTES);
    // Rejection sampling: 0 and values ≥ the secp256k1 order are not keys (odds about 2^-128).
    try {
      return new Wallet(new SigningKey(hexlify(candidate)));
    } catch {
      continue;
    }
  }
}

/**
 * Seals `privateKeyHex` (0x + 64 hex) under `kek`. `aad` — the organisation id — is authenticated
 * but not stored: `openKey` must be given the same value. A fresh random IV every time.
 */
export function sealKey(privateKeyHex: string, kek: Buffer, aad?: string): string {
  if (!/^0x[0-9a-fA-F]{64}$/.test(privateKeyHex)) {
    throw new KeyCustodyError("a private key to seal must be 0x followed by 64 hex characters");
  }
  requireKekLength(kek);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", kek, iv, { authTagLength: TAG_BYTES });
  if (aad !== undefined) cipher.setAAD(Buffer.from(aad, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(privateKeyHex.slice(2), "hex")), cipher.final()]);
  return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString("base64");
}

/**
 * Opens a key sealed by `sealKey` and returns its wallet. Throws `KeyCustodyError` if `kek` or
 * `aad` differ from sealing time or the sealed text was altered (GCM authenticates all three).
 */
export function openKey(sealed: string, kek: Buffer, aad?: string): Wallet {
  requireKekLength(kek);
  const bytes = Buffer.from(sealed, "base64");
  if (bytes.length !== IV_BYTES + PRIVATE_KEY_BYTES + TAG_BYTES || bytes.toString("base64") !== sealed) {
    throw new KeyCustodyError("the sealed signing key is not in the expected form (base64 of iv ‖ ciphertext ‖ tag)");
  }
  const iv = bytes.subarray(0, IV_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  const ciphertext = bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", kek, iv, { authTagLength: TAG_BYTES });
  if (aad !== undefined) decipher.setAAD(Buffer.from(aad, "utf8"));
  decipher.setAuthTag(tag);
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (error) {
    throw new KeyCustodyError(
      "cannot open the sealed signing key: wrong key-encryption key, wrong organisation, or the sealed data was altered",
      { cause: error },
    );
  }
  try {
    return new Wallet(new SigningKey(hexlify(plain)));
  } finally {
    plain.fill(0);
  }
}

/**
 * Parses the configured key-encryption key: 64 hex characters (optionally 0x-prefixed) or base64
 * of exactly 32 bytes. Short, patterned (fewer than 16 distinct bytes) or malformed keys are
 * refused with a message that never repeats the key itself.
 */
export function parseKeyEncryptionKey(text: string): Buffer {
  const value = text.trim();
  let key: Buffer;
  if (/^(0x)?[0-9a-fA-F]+$/.test(value)) {
    const hex = value.replace(/^0x/, "");
    if (hex.length !== 2 * KEK_BYTES) {
      throw new KeyCustodyError(
        `the key-encryption key must be 32 random bytes; got ${hex.length} hex characters (need 64)`,
      );
    }
    key = Buffer.from(hex, "hex");
  } else if (/^[A-Za-z0-9+/]+={0,2}$/.test(value)) {
    key = Buffer.from(value, "base64");
    if (key.length !== KEK_BYTES || key.toString("base64") !== value) {
      throw new KeyCustodyError(
        `the key-encryption key must be 32 random bytes; got base64 of ${key.length} bytes (need 44 characters)`,
      );
    }
  } else {
    throw new KeyCustodyError(
      "the key-encryption key must be 64 hex characters or base64 of 32 bytes (e.g. `openssl rand -hex 32`)",
    );
  }
  if (new Set(key).size < MIN_DISTINCT_KEK_BYTES) {
    throw new KeyCustodyError(
      "the key-encryption key looks patterned, not random; generate one with `openssl rand -hex 32`",
    );
  }
  return key;
}

/** Whether `kek` is the public demo key, so the gateway can refuse or warn outside demos. */
export function isDemoKeyEncryptionKey(kek: Buffer): boolean {
  return kek.length === KEK_BYTES && kek.equals(DEMO_KEY_ENCRYPTION_KEY);
}

function requireKekLength(kek: Buffer): void {
  if (kek.length !== KEK_BYTES) {
    throw new KeyCustodyError(`a key-encryption key is 32 bytes, got ${kek.length}`);
  }
}
