/**
 * `npm run verify -- <digital-link-url> --rpc <json-rpc-url> [--ledger 0x…] [--ancestors] [--json]`:
 * the independent verifier (cli/verify.ts; also `yutrace verify`).
 */
import { runVerifier } from "../cli/verify";

runVerifier(
  process.argv.slice(2),
  "usage: npm run verify -- <digital-link-url> --rpc <json-rpc-url> [--ledger <address>] [--ancestors] [--json]",
).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${(error as Error).message}`);
    process.exit(2);
  },
);
