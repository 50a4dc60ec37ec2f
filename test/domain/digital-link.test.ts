/**
 * Unit and property tests of server/domain/digital-link.ts: building and parsing the GS1 Digital
 * Link URIs of batches and items (DESIGN §4), with GS1 percent-encoding of lots and serials.
 */
import { expect } from "chai";
import fc from "fast-check";

import { batchUri, encodeGs1Component, itemUri, parseDigitalLink } from "../../server/domain/digital-link";
import { batchIdOfKey } from "../../server/domain/batch-id";
import { GTINS, batchIdOf } from "../helpers/ledger-fixture";

const BASE = "https://trace.example.cn";
/** 江津 chili and 重庆火锅底料: GTIN-14s with valid check digits (see test/helpers/ledger-fixture.ts). */
const CHILI = "06903885020023";
const HOTPOT = "06903885010017";

/** GS1 AI 82, spelled out character by character. */
const AI82 = [
  ..."!\"%&'()*+,-./",
  ..."0123456789",
  ...":;<=>?",
  ..."ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  "_",
  ..."abcdefghijklmnopqrstuvwxyz",
];
const ai82Arb = fc.string({ unit: fc.constantFrom(...AI82), minLength: 1, maxLength: 20 });
/** URL parsers remove the path segments "." and ".." (RFC 3986 §5.2.4), so they get their own test. */
const notDotSegment = (s: string) => s !== "." && s !== "..";
const gtinArb = fc.constantFrom(CHILI, HOTPOT, "06922178001044", "95012345678903", "00012345600012");

describe("GS1 Digital Link URIs", function () {
  describe("building", function () {
    it("batchUri is {base}/01/{gtin}/10/{lot}", function () {
      expect(batchUri(BASE, { gtin: CHILI, lot: "JJ2026-11-A" })).to.equal(
        "https://trace.example.cn/01/06903885020023/10/JJ2026-11-A",
      );
    });

    it("itemUri appends /21/{serial} to the batch URI", function () {
      expect(itemUri(BASE, { gtin: CHILI, lot: "JJ2026-11-A", serial: "K7Q2M9X4T8" })).to.equal(
        "https://trace.example.cn/01/06903885020023/10/JJ2026-11-A/21/K7Q2M9X4T8",
      );
    });

    it("drops trailing slashes of the base and keeps a path prefix", function () {
      expect(batchUri("https://trace.example.cn///", { gtin: CHILI, lot: "L1" })).to.equal(
        "https://trace.example.cn/01/06903885020023/10/L1",
      );
      expect(batchUri("https://example.cn/yutrace/", { gtin: CHILI, lot: "L1" })).to.equal(
        "https://example.cn/yutrace/01/06903885020023/10/L1",
      );
    });

    it("percent-encodes every GS1 reserved character of a lot and leaves - . _ and alphanumerics alone", function () {
      const cases: [string, string][] = [
        ["A/B", "A%2FB"],
        ["50%", "50%25"],
        ["x&y", "x%26y"],
        ["(1)", "%281%29"],
        ["a+b", "a%2Bb"],
        ["!*'", "%21%2A%27"],
        ['a"b', "a%22b"],
        ["1,2", "1%2C2"],
        ["k:v;w", "k%3Av%3Bw"],
        ["<=>?", "%3C%3D%3E%3F"],
        ["A-1.b_2", "A-1.b_2"],
      ];
      for (const [lot, encoded] of cases) {
        expect(encodeGs1Component(lot), lot).to.equal(encoded);
        expect(batchUri(BASE, { gtin: CHILI, lot }), lot).to.equal(`${BASE}/01/${CHILI}/10/${encoded}`);
      }
    });

    it("encodes a serial the same way as a lot", function () {
      expect(itemUri(BASE, { gtin: CHILI, lot: "A/B", serial: "x&y(1)" })).to.equal(
        `${BASE}/01/${CHILI}/10/A%2FB/21/x%26y%281%29`,
      );
    });

    it("encodes every AI 82 character so that the URI holds only unreserved characters and %XX", function () {
      for (const c of AI82) {
        const encoded = encodeGs1Component(c);
        expect(encoded, c).to.match(/^([A-Za-z0-9\-._~]|%[0-9A-F]{2})+$/);
        expect(decodeURIComponent(encoded), c).to.equal(c);
      }
    });
  });

  describe("parsing", function () {
    it("parses a batch URI into its GTIN and lot", function () {
      expect(parseDigitalLink(`${BASE}/01/${CHILI}/10/JJ2026-11-A`)).to.deep.equal({
        gtin: CHILI,
        lot: "JJ2026-11-A",
      });
    });

    it("parses an item URI into its GTIN, lot and serial", function () {
      expect(parseDigitalLink(`${BASE}/01/${CHILI}/10/JJ2026-11-A/21/K7Q2M9X4T8`)).to.deep.equal({
        gtin: CHILI,
        lot: "JJ2026-11-A",
        serial: "K7Q2M9X4T8",
      });
    });

    it("round-trips lots and serials holding GS1 reserved characters", function () {
      for (const lot of ["A/B", "50%", "x&y", "(1)", "a+b", "!*'", '"q"', "a,b;c:d", "<=>?", "%25", "%"]) {
        expect(parseDigitalLink(batchUri(BASE, { gtin: CHILI, lot })), lot).to.deep.equal({ gtin: CHILI, lot });
        expect(parseDigitalLink(itemUri(BASE, { gtin: CHILI, lot: "L1", serial: lot })), lot).to.deep.equal({
          gtin: CHILI,
          lot: "L1",
          serial: lot,
        });
      }
    });

    it("accepts any host, a path prefix, a trailing slash and a query", function () {
      const expected = { gtin: CHILI, lot: "L1" };
      for (const uri of [
        `https://id.gs1.org/01/${CHILI}/10/L1`,
        `http://localhost:8080/01/${CHILI}/10/L1`,
        `https://example.cn/yutrace/dl/01/${CHILI}/10/L1`,
        `${BASE}/01/${CHILI}/10/L1/`,
        `${BASE}/01/${CHILI}/10/L1?linkType=gs1:epcis`,
      ]) {
        expect(parseDigitalLink(uri), uri).to.deep.equal(expected);
      }
    });

    it("accepts bare paths /01/…/10/… with or without a query", function () {
      expect(parseDigitalLink(`/01/${CHILI}/10/L1`)).to.deep.equal({ gtin: CHILI, lot: "L1" });
      expect(parseDigitalLink(`/01/${CHILI}/10/A%2FB?linkType=gs1:epcis`)).to.deep.equal({ gtin: CHILI, lot: "A/B" });
      expect(parseDigitalLink(`/01/${CHILI}/10/L1/21/S9`)).to.deep.equal({ gtin: CHILI, lot: "L1", serial: "S9" });
    });

    it("reports the serial of an item URI, so a caller expecting a batch can tell it is not one", function () {
      const parsed = parseDigitalLink(`${BASE}/01/${CHILI}/10/L1/21/S9`);
      expect(parsed).to.not.equal(null);
      expect(parsed!.serial).to.equal("S9");
      expect(parseDigitalLink(`${BASE}/01/${CHILI}/10/L1`)).to.not.have.property("serial");
    });

    it("rejects a GTIN with a wrong check digit", function () {
      expect(parseDigitalLink(`${BASE}/01/06903885020024/10/L1`)).to.equal(null);
      expect(parseDigitalLink(`${BASE}/01/06903885020022/10/L1`)).to.equal(null);
    });

    it("rejects a GTIN that is not 14 digits, and the all-zero GTIN", function () {
      for (const gtin of ["6903885020023", "006903885020023", "690388502002", "0690388502002A", "00000000000000"]) {
        expect(parseDigitalLink(`${BASE}/01/${gtin}/10/L1`), gtin).to.equal(null);
      }
    });

    it("rejects a lot longer than 20 characters after decoding, and accepts 20 encoded ones", function () {
      expect(parseDigitalLink(`${BASE}/01/${CHILI}/10/${"A".repeat(21)}`)).to.equal(null);
      expect(parseDigitalLink(`${BASE}/01/${CHILI}/10/${"%41".repeat(21)}`)).to.equal(null);
      expect(parseDigitalLink(`${BASE}/01/${CHILI}/10/L1/21/${"S".repeat(21)}`)).to.equal(null);
      expect(parseDigitalLink(`${BASE}/01/${CHILI}/10/${"%2F".repeat(20)}`)).to.deep.equal({
        gtin: CHILI,
        lot: "/".repeat(20),
      });
    });

    it("rejects bad percent-encoding", function () {
      for (const lot of ["50%", "%G1", "%2", "A%", "%E6%89"]) {
        expect(parseDigitalLink(`${BASE}/01/${CHILI}/10/${lot}`), lot).to.equal(null);
        expect(parseDigitalLink(`/01/${CHILI}/10/${lot}`), lot).to.equal(null);
        expect(parseDigitalLink(`${BASE}/01/${CHILI}/10/L1/21/${lot}`), `serial ${lot}`).to.equal(null);
      }
    });

    it("rejects lots that decode to characters outside AI 82", function () {
      for (const lot of ["%E6%89%B9", "%20", "%23", "%00", "A%0A", "%7E", "~"]) {
        expect(parseDigitalLink(`${BASE}/01/${CHILI}/10/${lot}`), lot).to.equal(null);
      }
    });

    it("rejects URIs without a /10/ lot, or with an empty lot or serial", function () {
      for (const uri of [
        `${BASE}/01/${CHILI}`,
        `${BASE}/01/${CHILI}/`,
        `${BASE}/01/${CHILI}/21/S9`,
        `${BASE}/01/${CHILI}/10/`,
        `${BASE}/01/${CHILI}/10//21/S9`,
        `${BASE}/01/${CHILI}/10/L1/21/`,
        `${BASE}/01/${CHILI}/10/L1/22/X`,
        `${BASE}/10/L1`,
      ]) {
        expect(parseDigitalLink(uri), uri).to.equal(null);
      }
    });

    it("rejects strings that are not URIs or paths", function () {
      for (const uri of ["", "not a uri", `01/${CHILI}/10/L1`, `urn:epc:class:lgtin:6903885.002002.L1`]) {
        expect(parseDigitalLink(uri), uri).to.equal(null);
      }
    });

    it("names the batch whose id the contract computes", function () {
      const key = parseDigitalLink(`${BASE}/01/${CHILI}/10/JJ2026-11-A`)!;
      expect(batchIdOfKey(key)).to.equal(batchIdOf(GTINS.chili, "JJ2026-11-A"));
    });
  });

  describe("round trips", function () {
    it("parse(batchUri(x)) is x for any valid lot other than the dot segments '.' and '..'", function () {
      fc.assert(
        fc.property(gtinArb, ai82Arb.filter(notDotSegment), (gtin, lot) => {
          expect(parseDigitalLink(batchUri(BASE, { gtin, lot }))).to.deep.equal({ gtin, lot });
        }),
        { numRuns: 500 },
      );
    });

    it("parse(itemUri(x)) is x for any valid lot and serial other than '.' and '..'", function () {
      fc.assert(
        fc.property(gtinArb, ai82Arb.filter(notDotSegment), ai82Arb.filter(notDotSegment), (gtin, lot, serial) => {
          expect(parseDigitalLink(itemUri(BASE, { gtin, lot, serial }))).to.deep.equal({ gtin, lot, serial });
        }),
        { numRuns: 500 },
      );
    });

    it("parse(build(x)) is x for any valid lot and serial on a bare path", function () {
      fc.assert(
        fc.property(gtinArb, ai82Arb, ai82Arb, (gtin, lot, serial) => {
          expect(parseDigitalLink(batchUri("", { gtin, lot }))).to.deep.equal({ gtin, lot });
          expect(parseDigitalLink(itemUri("", { gtin, lot, serial }))).to.deep.equal({ gtin, lot, serial });
        }),
        { numRuns: 500, examples: [[CHILI, ".", ".."]] },
      );
    });

    it("round-trips the valid lots and serials '.' and '..' through an https URI", function () {
      // "." and ".." are AI 82 lots, but URL parsing removes them as dot segments: the batch URI of
      // lot "." does not parse, and the item URI with serial ".." parses as the batch, without serial.
      const cases = [
        { gtin: CHILI, lot: "." },
        { gtin: CHILI, lot: ".." },
        { gtin: CHILI, lot: "L1", serial: "." },
        { gtin: CHILI, lot: "L1", serial: ".." },
      ];
      for (const key of cases) {
        const uri = key.serial === undefined ? batchUri(BASE, key) : itemUri(BASE, { ...key, serial: key.serial });
        expect(parseDigitalLink(uri), uri).to.deep.equal(key);
      }
    });
  });
});
