#!/usr/bin/env node
// `yutrace`, the factory command line (cli/main.ts), run from its TypeScript source: TypeScript is
// turned into JavaScript by sucrase (which keeps line numbers) and the result is kept in
// node_modules/.cache/yutrace-cli, so that each command after the first starts without compiling.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const Module = require("node:module");
const path = require("node:path");

const root = path.join(__dirname, "..");
const cacheDir = path.join(root, "node_modules", ".cache", "yutrace-cli");
// What the output depends on besides the source: the compiler and its options.
const compiler = `sucrase ${require("sucrase/package.json").version} imports,typescript`;
let sucrase = null;

Module._extensions[".ts"] = function compileTypeScript(module, filename) {
  const source = fs.readFileSync(filename, "utf8");
  const key = crypto.createHash("sha256").update(`${compiler}\0${filename}\0${source}`).digest("hex").slice(0, 40);
  const cached = path.join(cacheDir, `${key}.js`);
  let code;
  try {
    code = fs.readFileSync(cached, "utf8");
  } catch {
    sucrase ??= require("sucrase");
    code = sucrase.transform(source, { transforms: ["imports", "typescript"], filePath: filename }).code;
    try {
      fs.mkdirSync(cacheDir, { recursive: true });
      // Versions of edited files pile up: start afresh now and then.
      if (fs.readdirSync(cacheDir).length > 2000) fs.rmSync(cacheDir, { recursive: true, force: true });
      fs.mkdirSync(cacheDir, { recursive: true });
      const temporary = `${cached}.${process.pid}.tmp`;
      fs.writeFileSync(temporary, code);
      fs.renameSync(temporary, cached); // whole or not at all, whoever else is writing it
    } catch {
      // a read-only install: compile each time
    }
  }
  module._compile(code, filename);
};

require("../cli/main.ts")
  .main(process.argv.slice(2))
  .then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`error: ${error && error.message ? error.message : error}\n`);
      process.exit(1);
    },
  );
