/**
 * Tests of server/qr: the QR codes printed on packages (DESIGN §4) must scan back to exactly the
 * GS1 Digital Link URI, so PNGs are decoded with jsQR and SVGs are read back module by module.
 */
import { expect } from "chai";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import jsQR from "jsqr";
import { PNG } from "pngjs";

import { batchUri, itemUri, parseDigitalLink } from "../../server/domain/digital-link";
import { HttpError } from "../../server/http/errors";
import { QrCache } from "../../server/qr/qr-cache";
import {
  QR_ECC_LEVELS,
  parseQrOptions,
  qrDarkRuns,
  qrEtag,
  qrModules,
  qrPng,
  qrSvg,
  type QrModules,
  type QrOptionProblem,
} from "../../server/qr/qr";

const BASE = "https://trace.example.cn";
/** 江津 chili and 重庆火锅底料: GTIN-14s with valid check digits (as in test/domain/digital-link.test.ts). */
const CHILI = "06903885020023";
const HOTPOT = "06903885010017";

const PLAIN_BATCH = batchUri(BASE, { gtin: CHILI, lot: "JJ2026-11-A" });
const PLAIN_ITEM = itemUri(BASE, { gtin: HOTPOT, lot: "HG2026-03", serial: "K7Q2M9X4T8" });
/** Lots and serials whose characters must be percent-encoded in a Digital Link. */
const RESERVED = [
  { gtin: CHILI, lot: "A/B%1", serial: "Z9/8%7" },
  { gtin: HOTPOT, lot: "x&y(1)", serial: "s*'!(2)" },
  // The longest the GS1 rules allow: 20 characters, each one percent-encoded.
  { gtin: HOTPOT, lot: '!"%&\'()*+,/:;<=>?!"%', serial: "/////&&&&&(((((%%%%%" },
];

/** Reads a PNG back and scans it; null if no QR code is found. */
function scanPng(png: Buffer): { data: string; width: number; height: number } | null {
  const image = PNG.sync.read(png);
  const pixels = new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length);
  const code = jsQR(pixels, image.width, image.height, { inversionAttempts: "dontInvert" });
  return code === null ? null : { data: code.data, width: image.width, height: image.height };
}

/** The cells of the quiet zone and symbol that the SVG's path paints dark, as "row,col". */
function svgDarkCells(svg: string): { cells: Set<string>; extent: number; attributes: Record<string, string> } {
  expect(XMLValidator.validate(svg), "well-formed XML").to.equal(true);
  const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", parseAttributeValue: false }).parse(
    svg,
  ) as { svg: Record<string, string> & { path: { d: string } } };
  const viewBox = parsed.svg.viewBox!.split(" ").map(Number);
  expect(viewBox.slice(0, 2)).to.deep.equal([0, 0]);
  expect(viewBox[2]).to.equal(viewBox[3]);
  const d = parsed.svg.path.d;
  const run = /M(\d+) (\d+)h(\d+)v1H(\d+)z/g;
  expect(d.replace(run, ""), "the path has only run commands").to.equal("");
  const cells = new Set<string>();
  for (const [, x, y, length, back] of d.matchAll(run)) {
    // Assert once, outside the loop: every chai assertion is slow under hardhat-chai-matchers.
    if (back !== x) expect.fail(`run at ${x},${y} does not return to its start`);
    for (let i = 0; i < Number(length); i++) cells.add(`${Number(y)},${Number(x) + i}`);
  }
  return { cells, extent: viewBox[2]!, attributes: parsed.svg };
}

/** The dark cells of `modules` placed `margin` modules in, as "row,col". */
function expectedCells(modules: QrModules, margin: number): Set<string> {
  const cells = new Set<string>();
  for (let row = 0; row < modules.size; row++) {
    for (let col = 0; col < modules.size; col++) {
      if (modules.isDark(row, col)) cells.add(`${row + margin},${col + margin}`);
    }
  }
  return cells;
}

/** Paints SVG cells into an RGBA bitmap, `scale` px a module, and scans it. */
function scanCells(cells: Set<string>, extent: number, scale = 4): string | null {
  const width = extent * scale;
  const pixels = new Uint8ClampedArray(width * width * 4).fill(255);
  for (const cell of cells) {
    const [row, col] = cell.split(",").map(Number) as [number, number];
    for (let y = row * scale; y < (row + 1) * scale; y++) {
      for (let x = col * scale; x < (col + 1) * scale; x++)
        pixels.fill(0, (y * width + x) * 4, (y * width + x) * 4 + 3);
    }
  }
  return jsQR(pixels, width, width)?.data ?? null;
}

/** Runs `action` and returns the HttpError it throws. */
function httpErrorOf(action: () => unknown): HttpError {
  try {
    action();
  } catch (error) {
    expect(error).to.be.instanceOf(HttpError);
    return error as HttpError;
  }
  expect.fail("expected an HttpError");
}

describe("QR codes of Digital Link URIs", function () {
  describe("PNG", function () {
    for (const ecc of QR_ECC_LEVELS) {
      it(`scans back to exactly the batch and item URIs at level ${ecc}`, async function () {
        for (const uri of [PLAIN_BATCH, PLAIN_ITEM]) {
          const png = await qrPng(uri, { ecc }, new QrCache());
          expect(scanPng(png)?.data).to.equal(uri);
        }
      });
    }

    it("scans back to exactly the URI when lots and serials carry percent-encoded reserved characters", async function () {
      for (const key of RESERVED) {
        for (const uri of [batchUri(BASE, key), itemUri(BASE, key)]) {
          expect(uri).to.match(/%[0-9A-F]{2}/);
          for (const ecc of QR_ECC_LEVELS) {
            const scanned = scanPng(await qrPng(uri, { ecc, size: 512 }, new QrCache()));
            expect(scanned?.data, `${uri} at ${ecc}`).to.equal(uri);
          }
          const parsed = parseDigitalLink(uri);
          expect(parsed?.lot).to.equal(key.lot);
        }
      }
    });

    for (const size of [64, 100, 256, 777, 2048]) {
      it(`is exactly ${size} px square and scans at that size`, async function () {
        const uri = size === 64 ? PLAIN_BATCH : PLAIN_ITEM;
        const scanned = scanPng(await qrPng(uri, { size, ecc: "L" }, new QrCache()));
        expect(scanned).to.deep.equal({ data: uri, width: size, height: size });
      });
    }

    it("draws whole-pixel modules inside the requested quiet zone", async function () {
      const modules = qrModules(PLAIN_BATCH, "M");
      const extent = modules.size + 2 * 4;
      const image = PNG.sync.read(await qrPng(PLAIN_BATCH, { size: extent * 3 }, new QrCache()));
      const dark = (x: number, y: number) => image.data[(y * image.width + x) * 4] === 0;
      // The top-left finder pattern starts 4 modules (12 px) in.
      expect(dark(11, 11)).to.equal(false);
      expect(dark(12, 12)).to.equal(true);
      const wrong: string[] = [];
      for (let row = 0; row < modules.size; row++) {
        for (let col = 0; col < modules.size; col++) {
          if (dark(12 + col * 3 + 1, 12 + row * 3 + 1) !== modules.isDark(row, col)) wrong.push(`${row},${col}`);
        }
      }
      expect(wrong, "modules drawn wrong").to.deep.equal([]);
    });

    it("starts the symbol at the first pixel with margin 0", async function () {
      const modules = qrModules(PLAIN_BATCH, "M");
      const image = PNG.sync.read(await qrPng(PLAIN_BATCH, { size: modules.size * 2, margin: 0 }, new QrCache()));
      expect(image.data[0]).to.equal(0);
    });

    it("rejects a size too small for the code with 400 naming the smallest size", async function () {
      const longest = itemUri(BASE, RESERVED[2]!);
      const extent = qrModules(longest, "H").size + 8;
      expect(extent).to.be.greaterThan(64);
      let error: unknown;
      await qrPng(longest, { size: 64, ecc: "H" }, new QrCache()).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(HttpError);
      expect(error).to.include({ status: 400, code: "invalid_qr_options" });
      expect((error as HttpError).message).to.include(`at least ${extent} px`);
    });
  });

  describe("SVG", function () {
    it("is well-formed XML, size px wide and high, with a viewBox in modules and crisp edges", function () {
      const svg = qrSvg(PLAIN_ITEM, { size: 300 }, new QrCache());
      const { attributes, extent } = svgDarkCells(svg);
      expect(extent).to.equal(qrModules(PLAIN_ITEM, "M").size + 8);
      expect(attributes).to.include({
        xmlns: "http://www.w3.org/2000/svg",
        width: "300",
        height: "300",
        viewBox: `0 0 ${extent} ${extent}`,
        "shape-rendering": "crispEdges",
        role: "img",
        "aria-label": `QR code: ${PLAIN_ITEM}`,
        title: `QR code: ${PLAIN_ITEM}`,
      });
      expect(svg.match(/<path /g)).to.have.length(1);
    });

    it("paints exactly the dark modules of qrModules inside the margin, at every level and margin", function () {
      for (const uri of [PLAIN_BATCH, itemUri(BASE, RESERVED[0]!)]) {
        for (const ecc of QR_ECC_LEVELS) {
          for (const margin of [0, 4, 16]) {
            const modules = qrModules(uri, ecc);
            const { cells, extent } = svgDarkCells(qrSvg(uri, { ecc, margin }, new QrCache()));
            expect(extent).to.equal(modules.size + 2 * margin);
            // Compared as text: deep equality of long arrays is slow under hardhat-chai-matchers.
            expect([...cells].sort().join(" ")).to.equal([...expectedCells(modules, margin)].sort().join(" "));
          }
        }
      }
    });

    it("scans back to exactly the URI when its modules are painted", function () {
      for (const key of RESERVED) {
        const uri = itemUri(BASE, key);
        const { cells, extent } = svgDarkCells(qrSvg(uri, { ecc: "Q" }, new QrCache()));
        expect(scanCells(cells, extent)).to.equal(uri);
      }
    });

    it("merges horizontal neighbours into one run each", function () {
      const modules = qrModules(PLAIN_ITEM, "M");
      const runs = [...qrDarkRuns(modules)];
      const darkCount = expectedCells(modules, 0).size;
      expect(runs.reduce((sum, run) => sum + run.length, 0)).to.equal(darkCount);
      expect(runs.length).to.be.lessThan(darkCount * 0.7);
      // No two runs touch: each run ends at a light module or the edge.
      const touching = runs.filter(
        ({ row, col, length }) => modules.isDark(row, col - 1) || modules.isDark(row, col + length),
      );
      expect(touching).to.deep.equal([]);
      const { d } = /<path [^>]*d="(?<d>[^"]*)"/.exec(qrSvg(PLAIN_ITEM, {}, new QrCache()))!.groups!;
      expect(d!.match(/M/g)).to.have.length(runs.length);
    });

    it("escapes markup in the URI so the document stays well-formed", function () {
      const uri = `${BASE}/01/${CHILI}/10/L1?a=1&b="<x>"&c='y'`;
      const svg = qrSvg(uri, {}, new QrCache());
      const { attributes } = svgDarkCells(svg);
      expect(svg).not.to.include("<x>");
      expect(attributes.title).to.equal(`QR code: ${uri}`);
      expect(attributes["aria-label"]).to.equal(`QR code: ${uri}`);
    });
  });

  describe("module matrix", function () {
    it("is a QR symbol of 21 + 4k modules, light outside its bounds", function () {
      const modules = qrModules(PLAIN_BATCH, "M");
      expect((modules.size - 21) % 4).to.equal(0);
      // Finder patterns: dark 7×7 outlines in three corners, none in the bottom right.
      for (const [row, col] of [
        [0, 0],
        [0, modules.size - 7],
        [modules.size - 7, 0],
      ] as const) {
        expect(
          modules.isDark(row, col) && modules.isDark(row + 6, col + 6) && !modules.isDark(row + 1, col + 1),
        ).to.equal(true);
      }
      for (const [row, col] of [
        [-1, 0],
        [0, -1],
        [modules.size, 0],
        [0, modules.size],
      ]) {
        expect(modules.isDark(row!, col!)).to.equal(false);
      }
    });

    it("grows or stays the same size as the error-correction level rises", function () {
      for (const uri of [PLAIN_BATCH, PLAIN_ITEM, ...RESERVED.map((key) => itemUri(BASE, key))]) {
        const sizes = QR_ECC_LEVELS.map((ecc) => qrModules(uri, ecc).size);
        expect(sizes, uri).to.deep.equal([...sizes].sort((a, b) => a - b));
        expect(sizes[3], uri).to.be.greaterThan(sizes[0]!);
      }
    });

    it("rejects an empty URI", function () {
      expect(() => qrModules("")).to.throw(RangeError);
    });

    it("answers 422 qr_data_too_long for more data than a QR code holds", function () {
      const error = httpErrorOf(() => qrModules(`${BASE}/${"x".repeat(3000)}`, "L"));
      expect(error).to.include({ status: 422, code: "qr_data_too_long" });
    });
  });

  describe("options from a query string", function () {
    it("fills in size 256, ecc M and margin 4", function () {
      expect(parseQrOptions({})).to.deep.equal({ size: 256, ecc: "M", margin: 4 });
    });

    it("reads size, ecc (either case) and margin and leaves other keys to the route", function () {
      expect(parseQrOptions({ size: "1024", ecc: "q", margin: "0", linkType: "gs1:pip" })).to.deep.equal({
        size: 1024,
        ecc: "Q",
        margin: 0,
      });
      expect(Object.values(parseQrOptions({ size: "1024", margin: "0" })).map((v) => typeof v)).to.deep.equal([
        "number",
        "string",
        "number",
      ]);
      expect(parseQrOptions({ size: "64" }).size).to.equal(64);
      expect(parseQrOptions({ size: "2048" }).size).to.equal(2048);
    });

    const bad: [string, Record<string, unknown>, QrOptionProblem["path"], unknown][] = [
      ["size 10", { size: "10" }, "size", "10"],
      ["size 5000", { size: "5000" }, "size", "5000"],
      ["a non-numeric size", { size: "big" }, "size", "big"],
      ["a fractional size", { size: "256.5" }, "size", "256.5"],
      ["an empty size", { size: "" }, "size", ""],
      ["a size given twice", { size: ["256", "512"] }, "size", ["256", "512"]],
      ['ecc "X"', { ecc: "X" }, "ecc", "X"],
      ["margin -1", { margin: "-1" }, "margin", "-1"],
      ["margin 17", { margin: "17" }, "margin", "17"],
    ];
    for (const [what, query, path, value] of bad) {
      it(`rejects ${what} with 400 invalid_qr_options naming the value`, function () {
        const error = httpErrorOf(() => parseQrOptions(query));
        expect(error).to.include({ status: 400, code: "invalid_qr_options" });
        const details = error.details as QrOptionProblem[];
        expect(details).to.have.length(1);
        // hardhat-chai-matchers lets deep equality match 10 with "10", so the type is checked apart.
        expect(details[0]).to.deep.include({ path, value });
        expect(typeof details[0]!.value).to.equal(typeof value);
        expect(details[0]!.message).to.match(new RegExp(`^${path} must be`));
        expect(error.message).to.include(details[0]!.message);
      });
    }

    it("lists every bad value at once", function () {
      const error = httpErrorOf(() => parseQrOptions({ size: "abc", ecc: "X", margin: "-1" }));
      expect(error).to.include({ status: 400, code: "invalid_qr_options" });
      expect(error.details).to.deep.equal([
        { path: "size", value: "abc", message: 'size must be a whole number of pixels from 64 to 2048, got "abc"' },
        { path: "ecc", value: "X", message: 'ecc must be one of L, M, Q, H, got "X"' },
        { path: "margin", value: "-1", message: 'margin must be a whole number of modules from 0 to 16, got "-1"' },
      ]);
      expect((error.details as QrOptionProblem[]).map((p) => typeof p.value)).to.deep.equal([
        "string",
        "string",
        "string",
      ]);
      expect(error.message).to.include('got "abc"').and.include('got "X"').and.include('got "-1"');
    });

    it("rejects the same bad values when given in code", function () {
      const error = httpErrorOf(() => qrSvg(PLAIN_BATCH, { size: 10, margin: -1 }, new QrCache()));
      expect((error.details as QrOptionProblem[]).map((p) => p.path)).to.deep.equal(["size", "margin"]);
      expect(() => qrEtag(PLAIN_BATCH, "png", { size: 5000 })).to.throw(HttpError);
    });
  });

  describe("cache and ETags", function () {
    it("returns the very same PNG buffer and SVG on a repeat", async function () {
      const cache = new QrCache();
      const png = await qrPng(PLAIN_ITEM, { size: 512 }, cache);
      expect((await qrPng(PLAIN_ITEM, { size: 512 }, cache)) === png, "the same Buffer").to.equal(true);
      const svg = qrSvg(PLAIN_ITEM, {}, cache);
      expect(qrSvg(PLAIN_ITEM, { size: 256, ecc: "M", margin: 4 }, cache)).to.equal(svg);
      expect(cache.size).to.equal(2);
      expect(cache.bytes).to.equal(png.length + svg.length);
    });

    it("keeps one entry per URI, format, size, level and margin", async function () {
      const cache = new QrCache();
      qrSvg(PLAIN_ITEM, {}, cache);
      qrSvg(PLAIN_ITEM, { size: 512 }, cache);
      qrSvg(PLAIN_ITEM, { ecc: "H" }, cache);
      qrSvg(PLAIN_ITEM, { margin: 2 }, cache);
      qrSvg(PLAIN_BATCH, {}, cache);
      await qrPng(PLAIN_ITEM, {}, cache);
      expect(cache.size).to.equal(6);
    });

    it("uses the shared cache when given none", async function () {
      const png = await qrPng(PLAIN_BATCH, { size: 128 });
      expect((await qrPng(PLAIN_BATCH, { size: 128 })) === png, "the same Buffer").to.equal(true);
    });

    it("drops the least recently used entry beyond its entry limit", function () {
      const cache = new QrCache({ maxEntries: 2, maxBytes: 1_000 });
      cache.set("a", "1");
      cache.set("b", "2");
      expect(cache.get("a")).to.equal("1");
      cache.set("c", "3");
      expect([cache.get("a"), cache.get("b"), cache.get("c")]).to.deep.equal(["1", undefined, "3"]);
    });

    it("stays within its byte limit and keeps nothing larger than it", function () {
      const cache = new QrCache({ maxEntries: 100, maxBytes: 10 });
      cache.set("a", "xxxx");
      cache.set("b", Buffer.alloc(4));
      cache.set("c", "yyyy");
      expect(cache.get("a")).to.equal(undefined);
      expect(cache.bytes).to.equal(8);
      cache.set("huge", "z".repeat(11));
      expect(cache.get("huge")).to.equal(undefined);
      expect(cache.size).to.equal(2);
      cache.set("c", "yy");
      expect(cache.bytes).to.equal(6);
    });

    it("gives a stable, quoted SHA-256 ETag that differs across URI, format and options", function () {
      const etag = qrEtag(PLAIN_ITEM, "svg", {});
      expect(etag).to.match(/^"[0-9a-f]{32}"$/);
      expect(qrEtag(PLAIN_ITEM, "svg", { size: 256, ecc: "M", margin: 4 })).to.equal(etag);
      const others = [
        qrEtag(PLAIN_ITEM, "png", {}),
        qrEtag(PLAIN_ITEM, "svg", { size: 512 }),
        qrEtag(PLAIN_ITEM, "svg", { ecc: "H" }),
        qrEtag(PLAIN_ITEM, "svg", { margin: 2 }),
        qrEtag(PLAIN_BATCH, "svg", {}),
      ];
      expect(new Set([etag, ...others]).size).to.equal(6);
    });
  });

  it("renders 500 different item URIs as SVG", function () {
    const cache = new QrCache();
    const svgs = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const serial = `S${i.toString(36).toUpperCase().padStart(9, "0")}`;
      svgs.add(qrSvg(itemUri(BASE, { gtin: CHILI, lot: "JJ2026-11-A", serial }), {}, cache));
    }
    expect(svgs.size).to.equal(500);
    expect(cache.size).to.equal(500);
  });
});
