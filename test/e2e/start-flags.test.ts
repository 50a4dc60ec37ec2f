/**
 * `npm start` and the tests and benchmarks that start YuTrace as it does (test/helpers/e2e.ts) give
 * the gateway the same V8 flags: the memory and ingest figures in BENCHMARKS.md are measured with
 * the helper's, and hold for `npm start` only while the two agree.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";

import { GATEWAY_NODE_FLAGS } from "../helpers/e2e";

describe("npm start's V8 flags", function () {
  it("are the ones the tests and benchmarks start the gateway with", function () {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    const node = / node ((?:--\S+ )*)-r ts-node\/register\/transpile-only scripts\/start\.ts$/.exec(pkg.scripts.start!);
    expect(node, `npm start runs: ${pkg.scripts.start}`).to.not.equal(null);
    expect(node![1]!.split(" ").filter(Boolean)).to.deep.equal(GATEWAY_NODE_FLAGS);
    expect(GATEWAY_NODE_FLAGS).to.include("--max-old-space-size=256");
  });
});
