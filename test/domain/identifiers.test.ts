/**
 * Unit and property tests of the identifier rules in server/domain/identifiers.ts (GTIN-14,
 * GS1 AI 10 lots, 统一社会信用代码), and a check that the contract's Gs1 library applies the
 * same GTIN and lot rules as the gateway.
 */
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { id, keccak256, toUtf8Bytes } from "ethers";

import type { TraceLedger } from "../../typechain-types";
import {
  gs1CheckDigit,
  gtin14,
  isValidGtin14,
  isValidLot,
  isValidUscc,
  orgIdOf,
  uscc,
  usccCheckChar,
} from "../../server/domain/identifiers";
import { GTINS, batchIdOf, deployLedgerFixture, deployWithBatchesFixture } from "../helpers/ledger-fixture";

/** GS1 AI 82, spelled out character by character (independently of the implementation's regex). */
const AI82 = [
  ..."!\"%&'()*+,-./",
  ..."0123456789",
  ...":;<=>?",
  ..."ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  "_",
  ..."abcdefghijklmnopqrstuvwxyz",
];
/** Printable ASCII outside AI 82. */
const FORBIDDEN_ASCII = [" ", "#", "$", "@", "[", "\\", "]", "^", "`", "{", "|", "}", "~"];
/** Other characters a lot must not hold: control characters, DEL, non-ASCII look-alikes. */
const FORBIDDEN_OTHER = ["\u0000", "\t", "\n", "\u007f", "批", "А", "\u200b", "\u00a0", "Ａ", "０", "é", "\u{1F336}"];

/** The 统一社会信用代码 alphabet: digits and capitals without I, O, S, V, Z. */
const USCC_ALPHABET = [..."0123456789ABCDEFGHJKLMNPQRTUWXY"];

/** An independent reference for the GB 32100 check character: weights 3^i mod 31. */
function referenceUsccCheck(first17: string): string {
  let sum = 0;
  let weight = 1;
  for (const c of first17) {
    sum += USCC_ALPHABET.indexOf(c) * weight;
    weight = (weight * 3) % 31;
  }
  return USCC_ALPHABET[(31 - (sum % 31)) % 31]!;
}

const digitsArb = (length: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: length, maxLength: length });
const usccBodyArb = fc.string({ unit: fc.constantFrom(...USCC_ALPHABET), minLength: 17, maxLength: 17 });

/** The custom error a call reverted with (the Hardhat network attaches the revert data). */
function revertName(ledger: TraceLedger, e: unknown): string {
  const err = e as { data?: unknown; message?: unknown };
  if (typeof err.data === "string" && err.data.startsWith("0x") && err.data.length >= 10) {
    const parsed = ledger.interface.parseError(err.data);
    if (parsed) return parsed.name;
  }
  const match = /reverted with custom error '(\w+)\(/.exec(String(err.message));
  if (match) return match[1]!;
  throw e;
}

async function outcome(ledger: TraceLedger, call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return "ok";
  } catch (e) {
    return revertName(ledger, e);
  }
}

describe("identifiers", function () {
  describe("GTIN-14 (GS1 mod-10 check digit)", function () {
    it("accepts known valid GTIN-14s", function () {
      for (const gtin of ["06901234567892", "00012345600012", "95012345678903"]) {
        expect(isValidGtin14(gtin), gtin).to.equal(true);
      }
    });

    it("computes the check digits of known GTINs", function () {
      expect(gs1CheckDigit("0690123456789")).to.equal(2);
      expect(gs1CheckDigit("0001234560001")).to.equal(2);
      expect(gs1CheckDigit("9501234567890")).to.equal(3);
      // GTIN-13 / EAN-13 and GTIN-12 / UPC-A bodies give the same digit as their GTIN-14 form.
      expect(gs1CheckDigit("690123456789")).to.equal(2);
      expect(gs1CheckDigit("01234560001")).to.equal(2);
      // A body whose weighted sum is a multiple of ten has check digit 0, not 10.
      expect(gs1CheckDigit("0000000000000")).to.equal(0);
      expect(gs1CheckDigit("0000000000055")).to.equal(0); // 5·3 + 5 = 20
    });

    it("rejects a wrong check digit, a wrong length, non-digits and all zeros", function () {
      for (const gtin of [
        "06901234567891",
        "06901234567893",
        "6901234567892",
        "006901234567892",
        "0690123456789A",
        " 6901234567892",
        "06901234567892\n",
        "０６９０１２３４５６７８９２",
        "00000000000000",
        "",
      ]) {
        expect(isValidGtin14(gtin), JSON.stringify(gtin)).to.equal(false);
      }
    });

    it("gtin14 completes any 13 digits into a valid GTIN-14 that starts with them", function () {
      fc.assert(
        fc.property(
          digitsArb(13).filter((d) => !/^0+$/.test(d)),
          (body) => {
            const gtin = gtin14(body);
            expect(gtin).to.have.length(14);
            expect(gtin.startsWith(body)).to.equal(true);
            expect(isValidGtin14(gtin)).to.equal(true);
          },
        ),
      );
    });

    it("gtin14 refuses a body that is not 13 digits", function () {
      for (const body of ["", "690123456789", "06901234567890", "069012345678A", "0690 23456789"]) {
        expect(() => gtin14(body), JSON.stringify(body)).to.throw(RangeError);
      }
    });

    it("changing any single digit of a valid GTIN-14 makes it invalid", function () {
      fc.assert(
        fc.property(digitsArb(13), fc.nat({ max: 13 }), fc.integer({ min: 1, max: 9 }), (body, position, delta) => {
          const gtin = gtin14(body);
          const digit = (Number(gtin[position]) + delta) % 10;
          const changed = gtin.slice(0, position) + String(digit) + gtin.slice(position + 1);
          expect(changed).to.not.equal(gtin);
          expect(isValidGtin14(changed), `${gtin} → ${changed}`).to.equal(false);
        }),
      );
    });

    it("swapping two adjacent, differing digits of the body is caught unless they differ by 5", function () {
      fc.assert(
        fc.property(digitsArb(13), fc.nat({ max: 11 }), (body, i) => {
          fc.pre(body[i] !== body[i + 1]);
          const swapped = body.slice(0, i) + body[i + 1] + body[i] + body.slice(i + 2);
          const gtin = gtin14(body);
          const caught = !isValidGtin14(swapped + gtin[13]);
          expect(caught).to.equal(Math.abs(Number(body[i]) - Number(body[i + 1])) !== 5);
        }),
      );
    });
  });

  describe("lot numbers (GS1 AI 10 over AI 82)", function () {
    it("accepts every character of GS1 AI 82, alone and together", function () {
      expect(AI82).to.have.length(82);
      for (const c of AI82) expect(isValidLot(c), JSON.stringify(c)).to.equal(true);
      for (let i = 0; i < AI82.length; i += 20) {
        const lot = AI82.slice(i, i + 20).join("");
        expect(isValidLot(lot), lot).to.equal(true);
      }
    });

    it("rejects printable ASCII outside AI 82: space # $ @ [ \\ ] ^ ` { | } ~", function () {
      for (const c of FORBIDDEN_ASCII) {
        expect(isValidLot(c), JSON.stringify(c)).to.equal(false);
        expect(isValidLot(`LOT${c}1`), JSON.stringify(`LOT${c}1`)).to.equal(false);
      }
    });

    it("rejects non-ASCII and control characters, including look-alikes", function () {
      for (const lot of [
        "批次1",
        "А1",
        "A\u200b1",
        "A\u00001",
        "LOT1\n",
        "LOT\t1",
        "LOT1\u007f",
        "ＬＯＴ１",
        "LOT-é",
      ]) {
        expect(isValidLot(lot), JSON.stringify(lot)).to.equal(false);
      }
    });

    it("accepts 1 to 20 characters and rejects empty and 21-character lots", function () {
      expect(isValidLot("A")).to.equal(true);
      expect(isValidLot("A".repeat(20))).to.equal(true);
      expect(isValidLot("")).to.equal(false);
      expect(isValidLot("A".repeat(21))).to.equal(false);
    });

    it("a lot is valid exactly when it has 1–20 characters, all from AI 82", function () {
      const charArb = fc.oneof(
        { arbitrary: fc.constantFrom(...AI82), weight: 8 },
        { arbitrary: fc.constantFrom(...FORBIDDEN_ASCII, ...FORBIDDEN_OTHER), weight: 1 },
      );
      fc.assert(
        fc.property(fc.array(charArb, { maxLength: 24 }), (chars) => {
          const lot = chars.join("");
          const expected = chars.length >= 1 && chars.length <= 20 && chars.every((c) => AI82.includes(c));
          expect(isValidLot(lot), JSON.stringify(lot)).to.equal(expected);
        }),
        { numRuns: 500 },
      );
    });
  });

  describe("统一社会信用代码 (GB 32100-2015)", function () {
    const KNOWN = "91350100M000100Y43";

    it("computes the check character of a known code", function () {
      expect(usccCheckChar(KNOWN.slice(0, 17))).to.equal("3");
      expect(uscc(KNOWN.slice(0, 17))).to.equal(KNOWN);
      expect(isValidUscc(KNOWN)).to.equal(true);
    });

    it("rejects a known code with any other check character", function () {
      for (const c of USCC_ALPHABET.filter((c) => c !== "3")) {
        expect(isValidUscc(KNOWN.slice(0, 17) + c), c).to.equal(false);
      }
    });

    it("rejects lowercase, the letters I O Z S V and a wrong length", function () {
      expect(isValidUscc(KNOWN.toLowerCase())).to.equal(false);
      expect(isValidUscc("91350100m000100Y43")).to.equal(false);
      for (const letter of ["I", "O", "Z", "S", "V"]) {
        // In the body, and as the check character.
        expect(isValidUscc(KNOWN.replace("M", letter)), `body ${letter}`).to.equal(false);
        expect(isValidUscc(KNOWN.slice(0, 17) + letter), `check ${letter}`).to.equal(false);
        expect(() => usccCheckChar(KNOWN.slice(0, 17).replace("M", letter)), letter).to.throw(RangeError);
      }
      expect(isValidUscc(KNOWN.slice(0, 17))).to.equal(false);
      expect(isValidUscc(KNOWN + "0")).to.equal(false);
      expect(isValidUscc("")).to.equal(false);
      expect(isValidUscc(` ${KNOWN}`)).to.equal(false);
      expect(isValidUscc(`${KNOWN}\n`)).to.equal(false);
    });

    it("uscc refuses a body that is not 17 characters", function () {
      expect(() => uscc(KNOWN.slice(0, 16))).to.throw(RangeError);
      expect(() => uscc(KNOWN)).to.throw(RangeError);
    });

    it("uscc of any 17 valid characters is valid, and its check character is the GB 32100 one", function () {
      fc.assert(
        fc.property(usccBodyArb, (body) => {
          const code = uscc(body);
          expect(code).to.have.length(18);
          expect(code[17]).to.equal(referenceUsccCheck(body));
          expect(isValidUscc(code), code).to.equal(true);
        }),
        { numRuns: 300 },
      );
    });

    it("changing the check character of a valid code makes it invalid", function () {
      fc.assert(
        fc.property(usccBodyArb, fc.integer({ min: 1, max: 30 }), (body, shift) => {
          const code = uscc(body);
          const other = USCC_ALPHABET[(USCC_ALPHABET.indexOf(code[17]!) + shift) % 31]!;
          expect(isValidUscc(body + other), `${code} → ${body + other}`).to.equal(false);
        }),
        { numRuns: 300 },
      );
    });

    it("changing any single character of the body makes a valid code invalid", function () {
      fc.assert(
        fc.property(usccBodyArb, fc.nat({ max: 16 }), fc.integer({ min: 1, max: 30 }), (body, position, shift) => {
          const code = uscc(body);
          const c = USCC_ALPHABET[(USCC_ALPHABET.indexOf(code[position]!) + shift) % 31]!;
          const changed = code.slice(0, position) + c + code.slice(position + 1);
          expect(isValidUscc(changed), `${code} → ${changed}`).to.equal(false);
        }),
        { numRuns: 300 },
      );
    });

    it("orgIdOf is keccak256 of the code's UTF-8 bytes", function () {
      expect(orgIdOf(KNOWN)).to.equal(keccak256(toUtf8Bytes(KNOWN)));
      expect(orgIdOf(KNOWN)).to.equal(id(KNOWN));
      expect(orgIdOf(KNOWN)).to.not.equal(orgIdOf(KNOWN.toLowerCase()));
      fc.assert(
        fc.property(usccBodyArb, (body) => {
          const code = uscc(body);
          expect(orgIdOf(code)).to.equal(keccak256(toUtf8Bytes(code)));
        }),
      );
    });
  });

  describe("the contract's Gs1 library agrees with the gateway's rules", function () {
    this.timeout(60_000);

    const LIMIT = 10n ** 14n;
    const UINT64_MAX = 2n ** 64n - 1n;
    const validGtinArb = digitsArb(13).map((body) => BigInt(gtin14(body)));
    /** Valid GTINs, their near neighbours, wrong check digits, edges around 10^14 and 2^64, any uint64. */
    const gtinValueArb = fc.oneof(
      validGtinArb,
      fc.tuple(validGtinArb, fc.integer({ min: -3, max: 3 })).map(([g, d]) => {
        const v = g + BigInt(d);
        return v < 0n ? 0n : v;
      }),
      fc.tuple(validGtinArb, fc.nat({ max: 9 })).map(([g, d]) => g - (g % 10n) + BigInt(d)),
      fc.tuple(validGtinArb, fc.nat({ max: 9 })).map(([g, d]) => g * 10n + BigInt(d)),
      fc.constantFrom(0n, 1n, 7n, LIMIT - 1n, LIMIT - 2n, LIMIT, LIMIT + 1n, LIMIT + 4n, UINT64_MAX),
      fc.bigInt({ min: 0n, max: UINT64_MAX }),
    );

    it("registerProduct refuses a GTIN with TraceLedgerInvalidGtin exactly when isValidGtin14 does (simulated calls)", async function () {
      const { ledger, accounts } = await loadFixture(deployLedgerFixture);
      const asProducer = ledger.connect(accounts.producer);
      const seen = { valid: 0, invalid: 0 };
      await fc.assert(
        fc.asyncProperty(gtinValueArb, async (gtin) => {
          const valid = isValidGtin14(String(gtin).padStart(14, "0"));
          const got = await outcome(ledger, () => asProducer.registerProduct.staticCall(gtin, id("product")));
          expect(got, `registerProduct(${gtin})`).to.equal(valid ? "ok" : "TraceLedgerInvalidGtin");
          seen[valid ? "valid" : "invalid"]++;
        }),
        { numRuns: 300 },
      );
      expect(seen.valid, "valid GTINs tried").to.be.greaterThan(30);
      expect(seen.invalid, "invalid GTINs tried").to.be.greaterThan(30);
    });

    it("registerProduct transactions register exactly the GTINs isValidGtin14 accepts", async function () {
      await fc.assert(
        fc.asyncProperty(gtinValueArb, async (gtin) => {
          const { ledger, accounts, orgIds } = await loadFixture(deployLedgerFixture);
          const valid = isValidGtin14(String(gtin).padStart(14, "0"));
          const got = await outcome(ledger, () =>
            ledger
              .connect(accounts.producer)
              .registerProduct(gtin, id("product"))
              .then((tx) => tx.wait()),
          );
          expect(got, `registerProduct(${gtin})`).to.equal(valid ? "ok" : "TraceLedgerInvalidGtin");
          if (valid) expect((await ledger.getProduct(gtin)).owner).to.equal(orgIds.producer);
        }),
        { numRuns: 60 },
      );
    });

    const lotArb = fc.oneof(
      fc.array(fc.constantFrom(...AI82), { maxLength: 22 }),
      fc.array(
        fc.oneof(
          { arbitrary: fc.constantFrom(...AI82), weight: 6 },
          { arbitrary: fc.constantFrom(...FORBIDDEN_ASCII, ...FORBIDDEN_OTHER), weight: 1 },
        ),
        { maxLength: 22 },
      ),
    );

    it("registerBatch refuses a lot with TraceLedgerInvalidLot exactly when isValidLot does", async function () {
      const seen = { valid: 0, invalid: 0 };
      await fc.assert(
        fc.asyncProperty(lotArb, async (chars) => {
          const lot = chars.join("");
          const { ledger, accounts, lots } = await loadFixture(deployWithBatchesFixture);
          const valid = isValidLot(lot);
          const got = await outcome(ledger, () =>
            ledger
              .connect(accounts.producer)
              .registerBatch(GTINS.chili, lot, id("batch"), [])
              .then((tx) => tx.wait()),
          );
          const expected = !valid ? "TraceLedgerInvalidLot" : lot === lots.chiliLot ? "TraceLedgerBatchExists" : "ok";
          expect(got, `registerBatch(chili, ${JSON.stringify(lot)})`).to.equal(expected);
          if (expected === "ok") {
            expect((await ledger.getBatch(batchIdOf(GTINS.chili, lot))).gtin).to.equal(GTINS.chili);
          }
          seen[valid ? "valid" : "invalid"]++;
        }),
        { numRuns: 100 },
      );
      expect(seen.valid, "valid lots tried").to.be.greaterThan(10);
      expect(seen.invalid, "invalid lots tried").to.be.greaterThan(10);
    });
  });
});
