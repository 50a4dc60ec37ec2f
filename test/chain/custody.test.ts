/**
 * Custodial signing keys: sealed with AES-256-GCM under the key-encryption key, bound to their
 * organisation, and never opened with the wrong key, the wrong organisation or altered data.
 */
import { randomBytes } from "node:crypto";
import { expect } from "chai";
import { Wallet, verifyMessage } from "ethers";

import {
  DEMO_KEY_ENCRYPTION_KEY,
  KeyCustodyError,
  generateSigningKey,
  isDemoKeyEncryptionKey,
  openKey,
  parseKeyEncryptionKey,
  sealKey,
} from "../../server/chain/custody";
import { orgIdOf, uscc } from "../../server/domain/identifiers";

const ORG_ID = orgIdOf(uscc("91500113203151718"));
const OTHER_ORG_ID = orgIdOf(uscc("91500116MA5U4X1Q8"));

function thrown(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

describe("custodial signing keys", function () {
  const kek = randomBytes(32);

  it("generates distinct random keys that sign", async function () {
    const a = generateSigningKey();
    const b = generateSigningKey();
    expect(a).to.be.instanceOf(Wallet);
    expect(a.address).to.not.equal(b.address);
    expect(verifyMessage("渝溯", await a.signMessage("渝溯"))).to.equal(a.address);
  });

  it("seals to base64 of iv ‖ ciphertext ‖ tag and opens to the same account", function () {
    const key = generateSigningKey();
    const sealed = sealKey(key.privateKey, kek, ORG_ID);
    expect(Buffer.from(sealed, "base64")).to.have.length(12 + 32 + 16);
    expect(sealed).to.not.contain(key.privateKey.slice(2));
    const opened = openKey(sealed, kek, ORG_ID);
    expect(opened.address).to.equal(key.address);
    expect(opened.privateKey).to.equal(key.privateKey);
  });

  it("uses a fresh IV each time, so sealing one key twice gives different texts", function () {
    const key = generateSigningKey();
    expect(sealKey(key.privateKey, kek, ORG_ID)).to.not.equal(sealKey(key.privateKey, kek, ORG_ID));
  });

  it("refuses to open with the wrong key-encryption key", function () {
    const sealed = sealKey(generateSigningKey().privateKey, kek, ORG_ID);
    const error = thrown(() => openKey(sealed, randomBytes(32), ORG_ID));
    expect(error).to.be.instanceOf(KeyCustodyError);
    expect(error.message).to.contain("wrong key-encryption key");
  });

  it("refuses a sealed key whose ciphertext, tag or IV was altered", function () {
    const sealed = Buffer.from(sealKey(generateSigningKey().privateKey, kek, ORG_ID), "base64");
    for (const position of [0, 12, 30, 43, 59]) {
      const tampered = Buffer.from(sealed);
      tampered[position]! ^= 0x01;
      expect(thrown(() => openKey(tampered.toString("base64"), kek, ORG_ID))).to.be.instanceOf(KeyCustodyError);
    }
    const truncated = sealed.subarray(0, 50).toString("base64");
    expect(thrown(() => openKey(truncated, kek, ORG_ID)).message).to.contain("not in the expected form");
  });

  it("binds a sealed key to its organisation: another org id, or none, does not open it", function () {
    const sealed = sealKey(generateSigningKey().privateKey, kek, ORG_ID);
    expect(thrown(() => openKey(sealed, kek, OTHER_ORG_ID))).to.be.instanceOf(KeyCustodyError);
    expect(thrown(() => openKey(sealed, kek))).to.be.instanceOf(KeyCustodyError);
    const unbound = sealKey(generateSigningKey().privateKey, kek);
    expect(thrown(() => openKey(unbound, kek, ORG_ID))).to.be.instanceOf(KeyCustodyError);
  });

  it("refuses to seal something that is not a private key, or with a key-encryption key of the wrong size", function () {
    expect(thrown(() => sealKey("0x1234", kek)).message).to.contain("64 hex characters");
    expect(thrown(() => sealKey(generateSigningKey().privateKey, randomBytes(16))).message).to.contain("32 bytes");
  });

  describe("parseKeyEncryptionKey", function () {
    it("accepts 64 hex characters, with or without 0x, and base64 of 32 bytes", function () {
      const hex = kek.toString("hex");
      expect(parseKeyEncryptionKey(hex).equals(kek)).to.equal(true);
      expect(parseKeyEncryptionKey(`0x${hex.toUpperCase()}`).equals(kek)).to.equal(true);
      expect(parseKeyEncryptionKey(`  ${kek.toString("base64")}\n`).equals(kek)).to.equal(true);
    });

    it("rejects short keys in either form", function () {
      expect(thrown(() => parseKeyEncryptionKey(randomBytes(16).toString("hex"))).message).to.contain(
        "got 32 hex characters (need 64)",
      );
      expect(thrown(() => parseKeyEncryptionKey(randomBytes(24).toString("base64"))).message).to.contain(
        "base64 of 24 bytes",
      );
      expect(thrown(() => parseKeyEncryptionKey(""))).to.be.instanceOf(KeyCustodyError);
    });

    it("rejects patterned keys that are not random", function () {
      for (const weak of ["00".repeat(32), "ab".repeat(32), "0123456789abcdef".repeat(4)]) {
        expect(thrown(() => parseKeyEncryptionKey(weak)).message).to.contain("patterned");
      }
      expect(thrown(() => parseKeyEncryptionKey(Buffer.alloc(32, 7).toString("base64"))).message).to.contain(
        "patterned",
      );
    });

    it("rejects garbage without repeating the key in the message", function () {
      const secretish = "correct horse battery staple!";
      const error = thrown(() => parseKeyEncryptionKey(secretish));
      expect(error.message).to.contain("64 hex characters or base64 of 32 bytes");
      expect(error.message).to.not.contain(secretish);
      expect(thrown(() => parseKeyEncryptionKey(`${kek.toString("base64").slice(0, 43)}`))).to.be.instanceOf(
        KeyCustodyError,
      );
    });

    it("knows the demo key, which is a valid but public 32-byte key", function () {
      expect(DEMO_KEY_ENCRYPTION_KEY).to.have.length(32);
      expect(parseKeyEncryptionKey(DEMO_KEY_ENCRYPTION_KEY.toString("hex")).equals(DEMO_KEY_ENCRYPTION_KEY)).to.equal(
        true,
      );
      expect(isDemoKeyEncryptionKey(DEMO_KEY_ENCRYPTION_KEY)).to.equal(true);
      expect(isDemoKeyEncryptionKey(kek)).to.equal(false);
    });
  });
});
