/**
 * Unit and property tests of server/domain/canonical.ts: the RFC 8785 (JCS) canonical form and
 * the event hash built on it (DESIGN §3). Vectors are from RFC 8785 (§3.2.2, §3.2.3, Appendix B).
 */
import { expect } from "chai";
import fc from "fast-check";
import { id, keccak256, toUtf8Bytes } from "ethers";

import { canonicalHash, canonicalize } from "../../server/domain/canonical";

/** The IEEE 754 double with the given 16-hex-digit bit pattern. */
function double(bits: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bits}`));
  return view.getFloat64(0);
}

/** Compares strings by UTF-16 code units, spelled out (RFC 8785 §3.2.3). */
function compareUtf16(a: string, b: string): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** An independent JCS serialisation of a JSON value, for the property tests. */
function referenceJcs(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(referenceJcs).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.keys(value)
      .sort(compareUtf16)
      .map((key) => `${JSON.stringify(key)}:${referenceJcs((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(",")}}`;
  }
  if (typeof value === "number" && Object.is(value, -0)) return "0";
  return JSON.stringify(value);
}

/** A small deterministic PRNG (mulberry32), to shuffle keys from a fast-check seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The same JSON value with the keys of every object inserted in a random order. */
function shuffleKeys(value: unknown, random: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, random));
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    for (let i = entries.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [entries[i], entries[j]] = [entries[j]!, entries[i]!];
    }
    // fromEntries defines own properties, so a "__proto__" key stays a key.
    return Object.fromEntries(entries.map(([k, v]) => [k, shuffleKeys(v, random)]));
  }
  return value;
}

/** `value` with every -0 replaced by 0 (JSON has no negative zero). */
function withoutNegativeZero(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutNegativeZero(v)]));
  }
  return Object.is(value, -0) ? 0 : value;
}

/** JSON leaf values for fc.object (its defaults include undefined, NaN and the infinities). */
const jsonLeaves = [
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ unit: "grapheme" }),
  fc.constant(null),
];

describe("canonical JSON (RFC 8785)", function () {
  describe("property sorting", function () {
    it("sorts keys by UTF-16 code units, as in the RFC 8785 §3.2.3 example", function () {
      const input = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\ud83d\ude00": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
      };
      expect(canonicalize(input)).to.equal(
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis",' +
          '"€":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
      );
    });

    it("puts an emoji key (a surrogate pair) before U+FB33, although its code point is higher", function () {
      expect(canonicalize({ "\ufb33": 1, "\u{1f600}": 2 })).to.equal('{"\u{1f600}":2,"\ufb33":1}');
    });

    it("sorts integer-like keys as strings, not in JavaScript's numeric property order", function () {
      expect(canonicalize({ 9: "nine", 10: "ten", a: "a", 1: "one" })).to.equal(
        '{"1":"one","10":"ten","9":"nine","a":"a"}',
      );
    });

    it("sorts the keys of nested objects, including objects inside arrays, and keeps array order", function () {
      const input = { z: [{ b: 2, a: 1 }, [3, 1, 2], { 区: "江津", a: null }], a: { y: true, x: false } };
      expect(canonicalize(input)).to.equal(
        '{"a":{"x":false,"y":true},"z":[{"a":1,"b":2},[3,1,2],{"a":null,"区":"江津"}]}',
      );
    });

    it("writes no whitespace between tokens", function () {
      expect(canonicalize({ a: [1, { b: "c d" }], e: {} })).to.equal('{"a":[1,{"b":"c d"}],"e":{}}');
    });
  });

  describe("numbers (ECMAScript Number serialisation)", function () {
    it("serialises the RFC 8785 §3.2.2 example exactly", function () {
      // The example's JSON text and canonical output, verbatim.
      const input = String.raw`{
        "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
        "literals": [null, true, false]
      }`;
      const output = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
      expect(canonicalize(JSON.parse(input))).to.equal(output);
      expect(canonicalHash(JSON.parse(input))).to.equal(id(output));
    });

    it("writes 1.0 as 1, -0 as 0, 1e21 as 1e+21, 0.000001 as 0.000001 and 1e-7 as 1e-7", function () {
      expect(canonicalize(1.0)).to.equal("1");
      expect(canonicalize(-0)).to.equal("0");
      expect(canonicalize([-0, 0])).to.equal("[0,0]");
      expect(canonicalize(1e21)).to.equal("1e+21");
      expect(canonicalize(1e20)).to.equal("100000000000000000000");
      expect(canonicalize(0.000001)).to.equal("0.000001");
      expect(canonicalize(1e-7)).to.equal("1e-7");
      expect(canonicalize(-1.5e-7)).to.equal("-1.5e-7");
    });

    it("serialises the IEEE 754 vectors of RFC 8785 Appendix B", function () {
      const vectors: [string, string][] = [
        ["0000000000000000", "0"],
        ["8000000000000000", "0"],
        ["0000000000000001", "5e-324"],
        ["8000000000000001", "-5e-324"],
        ["7fefffffffffffff", "1.7976931348623157e+308"],
        ["ffefffffffffffff", "-1.7976931348623157e+308"],
        ["4340000000000000", "9007199254740992"],
        ["c340000000000000", "-9007199254740992"],
        ["4430000000000000", "295147905179352830000"],
        ["44b52d02c7e14af5", "9.999999999999997e+22"],
        ["44b52d02c7e14af6", "1e+23"],
        ["44b52d02c7e14af7", "1.0000000000000001e+23"],
        ["444b1ae4d6e2ef4e", "999999999999999700000"],
        ["444b1ae4d6e2ef4f", "999999999999999900000"],
        ["444b1ae4d6e2ef50", "1e+21"],
        ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
        ["3eb0c6f7a0b5ed8d", "0.000001"],
        ["41b3de4355555553", "333333333.3333332"],
        ["41b3de4355555554", "333333333.33333325"],
        ["41b3de4355555555", "333333333.3333333"],
        ["41b3de4355555556", "333333333.3333334"],
        ["41b3de4355555557", "333333333.33333343"],
        ["becbf647612f3696", "-0.0000033333333333333333"],
        ["43143ff3c1cb0959", "1424953923781206.2"],
      ];
      for (const [bits, expected] of vectors) {
        expect(canonicalize(double(bits)), bits).to.equal(expected);
        expect(canonicalize({ n: double(bits) }), bits).to.equal(`{"n":${expected}}`);
      }
    });

    it("refuses NaN and the infinities (RFC 8785 Appendix B), at the top level and nested", function () {
      for (const bad of [NaN, Infinity, -Infinity, double("7fffffffffffffff"), double("7ff0000000000000")]) {
        expect(() => canonicalize(bad), String(bad)).to.throw();
        expect(() => canonicalize({ quantity: bad }), String(bad)).to.throw();
        expect(() => canonicalize([1, [bad]]), String(bad)).to.throw();
        expect(() => canonicalHash({ quantity: bad }), String(bad)).to.throw();
      }
    });
  });

  describe("strings", function () {
    it('uses the two-character escapes for \\b \\t \\n \\f \\r " and \\\\', function () {
      expect(canonicalize('\b\t\n\f\r"\\')).to.equal('"\\b\\t\\n\\f\\r\\"\\\\"');
    });

    it("escapes the other control characters as lower-case \\u00xx", function () {
      expect(canonicalize("\u0000\u0001\u000b\u000e\u001f")).to.equal('"\\u0000\\u0001\\u000b\\u000e\\u001f"');
    });

    it("leaves /, DEL, U+2028 and non-ASCII text unescaped", function () {
      expect(canonicalize("a/b\u007f\u2028重庆火锅 €😀")).to.equal('"a/b\u007f\u2028重庆火锅 €😀"');
    });

    it("escapes keys the same way as values", function () {
      expect(canonicalize({ 'say "hi"\n': "x\ty" })).to.equal('{"say \\"hi\\"\\n":"x\\ty"}');
    });
  });

  describe("values JSON cannot carry", function () {
    it("throws a TypeError for undefined, a function or a symbol at the top level", function () {
      expect(() => canonicalize(undefined)).to.throw(TypeError, "value has no JSON form");
      expect(() => canonicalize(() => 1)).to.throw(TypeError, "value has no JSON form");
      expect(() => canonicalize(Symbol("s"))).to.throw(TypeError, "value has no JSON form");
    });

    it("names where the value sits that JSON cannot carry", function () {
      expect(() => canonicalize({ a: [1, { b: NaN }] })).to.throw(
        TypeError,
        "value has no JSON form: value.a[1].b is NaN",
      );
      expect(() => canonicalize([{ gtin: 1n }])).to.throw(TypeError, "value[0].gtin is a bigint");
      expect(() => canonicalize({ ok: 1, f: () => 1 })).to.throw(TypeError, "value.f is a function");
    });

    it("throws for a bigint", function () {
      expect(() => canonicalize(1n)).to.throw(TypeError);
      expect(() => canonicalize({ gtin: 6903885020023n })).to.throw(TypeError);
    });

    it("leaves out an undefined property and writes an undefined array element as null, as JSON.stringify does", function () {
      expect(canonicalize({ b: 1, a: undefined })).to.equal('{"b":1}');
      expect(canonicalize({ a: undefined })).to.equal("{}");
      expect(canonicalize([1, undefined])).to.equal("[1,null]");
      expect(canonicalHash({ b: 1, a: undefined })).to.equal(canonicalHash({ b: 1 }));
    });

    it("throws on a function nested in an object or array instead of writing invalid JSON", function () {
      // The documented contract: "Throws on values JSON cannot carry (NaN, functions…)".
      const attempts: [string, () => string][] = [
        ["object property", () => canonicalize({ a: () => 1 })],
        ["array element", () => canonicalize([() => 1])],
      ];
      for (const [where, attempt] of attempts) {
        let written: string | undefined;
        try {
          written = attempt();
        } catch {
          continue;
        }
        expect.fail(`a function as ${where} was written as ${written} instead of throwing`);
      }
    });

    it("serialises a value with toJSON (a Date) through toJSON", function () {
      const at = new Date("2026-11-20T00:30:00.000Z");
      expect(canonicalize({ at })).to.equal('{"at":"2026-11-20T00:30:00.000Z"}');
    });
  });

  describe("canonicalHash", function () {
    it("is keccak256 of the UTF-8 bytes of the canonical form", function () {
      expect(canonicalHash({})).to.equal(id("{}"));
      expect(canonicalHash({ b: 1, a: "江津" })).to.equal(keccak256(toUtf8Bytes('{"a":"江津","b":1}')));
      expect(canonicalHash([1.0, -0, 1e21])).to.equal(id("[1,0,1e+21]"));
    });

    it("is 0x-prefixed lower-case hex of 32 bytes", function () {
      expect(canonicalHash({ bizStep: "shipping" })).to.match(/^0x[0-9a-f]{64}$/);
    });

    it("hashes a multi-byte character as its UTF-8 bytes, not its UTF-16 code units", function () {
      // "区" is U+533A: UTF-8 e5 8c ba.
      expect(canonicalHash("区")).to.equal(keccak256(new Uint8Array([0x22, 0xe5, 0x8c, 0xba, 0x22])));
    });

    it("changes when a value changes", function () {
      expect(canonicalHash({ quantity: 1 })).to.not.equal(canonicalHash({ quantity: 2 }));
      expect(canonicalHash({ quantity: 1 })).to.not.equal(canonicalHash({ quantity: "1" }));
      expect(canonicalHash([1, 2])).to.not.equal(canonicalHash([2, 1]));
    });
  });

  describe("properties over random JSON", function () {
    it("the order in which keys were inserted does not change the canonical form or the hash", function () {
      fc.assert(
        fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
          const shuffled = shuffleKeys(value, prng(seed));
          expect(canonicalize(shuffled)).to.equal(canonicalize(value));
          expect(canonicalHash(shuffled)).to.equal(canonicalHash(value));
        }),
        { numRuns: 300 },
      );
    });

    it("the key order of random objects does not change the hash", function () {
      fc.assert(
        fc.property(fc.object({ maxDepth: 3, values: jsonLeaves }), fc.integer(), (value, seed) => {
          const reversed = Object.fromEntries(Object.entries(value).reverse());
          expect(canonicalHash(reversed)).to.equal(canonicalHash(value));
          expect(canonicalHash(shuffleKeys(value, prng(seed)))).to.equal(canonicalHash(value));
        }),
        { numRuns: 300 },
      );
    });

    it("agrees with an independent JCS serialisation", function () {
      fc.assert(
        fc.property(fc.jsonValue(), (value) => {
          expect(canonicalize(value)).to.equal(referenceJcs(value));
        }),
        { numRuns: 300 },
      );
    });

    it("is JSON that parses back to the same value, and canonicalising it again changes nothing", function () {
      fc.assert(
        fc.property(fc.jsonValue(), (value) => {
          const text = canonicalize(value);
          expect(JSON.parse(text)).to.deep.equal(withoutNegativeZero(value));
          expect(canonicalize(JSON.parse(text))).to.equal(text);
        }),
        { numRuns: 300 },
      );
    });
  });
});
