/**
 * The CLI's private files (settings, import state): written whole or not at all through a temporary
 * file, and removed with the temporary files a killed write left behind.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";

import { removePrivateFile, writePrivateFile } from "../../cli/config";

describe("CLI private files", function () {
  let dir: string;

  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), "yutrace-private-"));
  });

  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes a file only its owner reads, leaving no temporary file", async function () {
    const file = path.join(dir, "state.json");
    await writePrivateFile(file, "one\n");
    await writePrivateFile(file, "two\n");
    expect(await readFile(file, "utf8")).to.equal("two\n");
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
    expect(await readdir(dir)).to.deep.equal(["state.json"]);
  });

  it("removes the file and what killed writes to it left, and nothing else", async function () {
    const file = path.join(dir, "state.json");
    await writePrivateFile(file, "{}\n");
    // What a write killed before its rename leaves: `<file>.<random>.tmp`.
    await writeFile(path.join(dir, "state.json.0a1b2c3d.tmp"), "{");
    await writeFile(path.join(dir, "state.json.ffffffff.tmp"), "");
    // Other files: another state's leftover, and names that only look alike.
    for (const name of ["other.json.0a1b2c3d.tmp", "state.json.bak", "state.jsonl.0a1b2c3d.tmp"]) {
      await writeFile(path.join(dir, name), "keep");
    }
    await removePrivateFile(file);
    expect((await readdir(dir)).sort()).to.deep.equal([
      "other.json.0a1b2c3d.tmp",
      "state.json.bak",
      "state.jsonl.0a1b2c3d.tmp",
    ]);
    await removePrivateFile(file); // nothing left to remove: no error
    await removePrivateFile(path.join(dir, "missing", "state.json")); // nor without its folder
  });
});
