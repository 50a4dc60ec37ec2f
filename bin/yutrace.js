#!/usr/bin/env node
// `yutrace`, the factory command line (cli/main.ts), run from its TypeScript source.
"use strict";
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS launcher */
require("sucrase/register");
require("../cli/main.ts")
  .main(process.argv.slice(2))
  .then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`error: ${error && error.message ? error.message : error}\n`);
      process.exit(1);
    },
  );
