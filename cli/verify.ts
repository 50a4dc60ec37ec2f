/**
 * The independent verifier (`npm run verify`, `yutrace verify`): downloads a batch's evidence
 * bundle from the gateway named by the Digital Link and checks every event against the chain
 * through the given JSON-RPC endpoint. The batch id is computed from the link, the chain id is the
 * endpoint's, and the batch's status and recalled ancestors are read from the chain: nothing the
 * gateway says about status is trusted. Pin the ledger with --ledger (from your regulator or
 * consortium) so that a gateway cannot point you at a ledger of its own. Exit codes: 0 verified,
 * 1 a check failed, 2 could not verify at all.
 */
import { getAddress, isAddress, JsonRpcProvider } from "ethers";

import { batchIdOf } from "../server/domain/batch-id";
import { parseDigitalLink } from "../server/domain/digital-link";
import type { EvidenceBundle } from "../server/verify/bundle";
import { ChainView } from "../server/verify/chain-view";
import { verifyBundle, type VerificationReport } from "../server/verify/verify-bundle";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "./errors";

const OPTIONS = `
  <digital-link-url>  the batch's QR code link, e.g. https://trace.example.cn/01/06938850100030/10/HG20261120
  --rpc <url>         a JSON-RPC endpoint of the ledger's chain (your own node, not the gateway's word)
  --ledger <address>  the TraceLedger address to trust (default: the one the bundle names, with a warning)
  --ancestors         also verify the events of every batch it was made from
  --allow-pending     exit 0 although some events wait for their anchor (default: exit 1)
  --json              print the report as JSON

exit codes: 0 verified; 1 a check failed, or not everything could be checked; 2 could not verify at all`;

interface Options {
  url: string;
  rpc: string;
  ledger: string | null;
  ancestors: boolean;
  allowPending: boolean;
  json: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: string[], defaults: { rpc?: string }): Options {
  const options: Partial<Options> = {
    ancestors: false,
    allowPending: false,
    json: false,
    ledger: null,
    rpc: defaults.rpc,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    if (arg === "--rpc") options.rpc = value();
    else if (arg === "--ledger") options.ledger = value();
    else if (arg === "--ancestors") options.ancestors = true;
    else if (arg === "--allow-pending") options.allowPending = true;
    else if (arg === "--json") options.json = true;
    else if (arg === "--help" || arg === "-h") throw new UsageError("");
    else if (arg.startsWith("--")) throw new UsageError(`unknown option ${arg}`);
    else if (!options.url) options.url = arg;
    else throw new UsageError(`unexpected argument ${arg}`);
  }
  if (!options.url) throw new UsageError("give the batch's Digital Link URL");
  if (!options.rpc) throw new UsageError("give --rpc <json-rpc-url>: the chain to check against");
  if (options.ledger !== null && !isAddress(options.ledger)) throw new UsageError("--ledger is not an address");
  return options as Options;
}

async function fetchBundle(url: URL, batchId: string, ancestors: boolean): Promise<EvidenceBundle> {
  const evidenceUrl = new URL(`/api/v1/batches/${batchId}/evidence${ancestors ? "?ancestors=true" : ""}`, url.origin);
  let res: Response;
  try {
    res = await fetch(evidenceUrl, { headers: { Accept: "application/json" }, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new Error(`cannot reach the gateway at ${url.origin}: ${(error as Error).message}`);
  }
  if (res.status === 404) throw new Error(`the gateway at ${url.origin} does not know this batch`);
  if (!res.ok) throw new Error(`the gateway answered ${res.status} for ${evidenceUrl}`);
  return (await res.json()) as EvidenceBundle;
}

const mark = (ok: boolean | null) => (ok === true ? "✔" : ok === false ? "✘" : "…");

function printReport(report: VerificationReport, warnings: string[]): void {
  const out: string[] = [];
  out.push(`YuTrace verification of ${report.gtin} / ${report.lot}`);
  out.push(`  batch id ${report.batchId}`);
  out.push(`  chain ${report.chain.chainId}, ledger ${report.chain.ledger}, head block ${report.chain.headBlock}`);
  for (const warning of warnings) out.push(`  ! ${warning}`);
  out.push("");
  out.push(
    `Batch: ${report.batch.onChain ? `on-chain, status ${report.batch.status}` : "NOT on-chain"}; ` +
      `metadata ${report.batch.metadataMatches ? "matches" : "DOES NOT match"}; ` +
      `inputs ${report.batch.parentsMatch ? "match" : "DO NOT match"}`,
  );
  if (report.recalledAncestors.length > 0) {
    const names = report.recalledAncestors.map((a) => (a.gtin ? `${a.gtin}/${a.lot}` : a.batchId));
    out.push(`  RECALLED INPUTS: ${names.join(", ")}`);
  }
  for (const problem of report.problems) out.push(`  ✘ ${problem}`);
  for (const warning of report.warnings) out.push(`  ! ${warning}`);
  out.push("");
  out.push(`Events (${report.summary.events}):`);
  for (const event of report.events) {
    const failed = event.checks.filter((c) => c.ok === false);
    const note = event.declaredInError ? `  [declared in error by ${event.declaredInError.slice(0, 10)}…]` : "";
    out.push(
      `  ${mark(event.verdict === "passed" ? true : event.verdict === "failed" ? false : null)} ` +
        `${event.eventTime ?? "?"}  ${event.bizStep ?? "?"}  ${event.organisation ?? ""}  ${event.eventId.slice(0, 10)}…${note}`,
    );
    for (const check of failed) out.push(`      ✘ ${check.name}: ${check.detail}`);
    if (event.verdict === "pending") out.push("      … not anchored yet");
  }
  out.push("");
  const { passed, failed, pending } = report.summary;
  out.push(`Verdict: ${report.verdict.toUpperCase()} — ${passed} passed, ${failed} failed, ${pending} pending`);
  if (report.batch.status === "recalled") out.push("THIS BATCH IS RECALLED (on-chain). Do not use it.");
  else if (report.recalledAncestors.length > 0) out.push("THIS BATCH WAS MADE FROM A RECALLED BATCH (on-chain).");
  else if (report.batch.status === "held") out.push("This batch is on hold (on-chain).");
  console.log(out.join("\n"));
}

/**
 * Runs the verifier with command-line arguments `argv`; `usage` is the first line of its help (how
 * it is invoked: npm run verify, yutrace verify). Resolves to the exit code.
 */
export async function runVerifier(argv: string[], usage: string, defaults: { rpc?: string } = {}): Promise<number> {
  const USAGE = `${usage}\n${OPTIONS}`;
  let options: Options;
  try {
    options = parseArgs(argv, defaults);
  } catch (error) {
    if (error instanceof UsageError) {
      if (error.message) console.error(`error: ${error.message}\n`);
      console.error(USAGE);
      return EXIT_USAGE;
    }
    throw error;
  }
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    console.error(`error: ${options.url} is not a URL\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const key = parseDigitalLink(url.pathname);
  if (!key) {
    console.error(`error: ${options.url} is not a GS1 Digital Link of a batch (…/01/{GTIN}/10/{lot})`);
    return EXIT_USAGE;
  }
  const batchId = batchIdOf(key.gtin, key.lot);
  const bundle = await fetchBundle(url, batchId, options.ancestors);
  const warnings: string[] = [];
  if (bundle.batch?.batchId !== batchId) throw new Error("the gateway sent the evidence of another batch");
  const ledger = options.ledger ? getAddress(options.ledger) : getAddress(bundle.ledger.address);
  if (!options.ledger) warnings.push(`ledger address taken from the gateway (${ledger}); pin it with --ledger`);
  const provider = new JsonRpcProvider(options.rpc, undefined, { staticNetwork: false });
  try {
    const report = await verifyBundle(bundle, new ChainView(provider, ledger));
    if (options.json) console.log(JSON.stringify({ ...report, notes: warnings }, null, 2));
    else printReport(report, warnings);
    if (report.verdict === "verified") return EXIT_OK;
    // Incomplete only because events wait for their anchor: fine when asked for.
    const onlyPending = report.verdict === "incomplete" && report.warnings.length === 0;
    return onlyPending && options.allowPending ? EXIT_OK : EXIT_FAILED;
  } finally {
    provider.destroy();
  }
}
