/**
 * `npm run bench -- <part>… | all [--quick]`: starts what each part needs (its own hardhat node and
 * gateway on loopback, a fresh data folder), drives load from separate processes, prints a table of
 * figures with their targets and same-run baselines, and writes them as JSON to bench-results/.
 * `--quick` runs each part for seconds, not minutes (CI's smoke run; timings are not asserted).
 */
import type { Figure } from "./lib/report";
import { progress, publish } from "./lib/report";
import { bulk } from "./parts/bulk";
import { ingest } from "./parts/ingest";
import { scale } from "./parts/scale";
import { reads } from "./parts/reads";

type Part = (options: { quick: boolean }) => Promise<Figure[]>;

export const PARTS: Record<string, Part> = {
  ingest,
  reads,
  bulk,
  scale,
};

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const names = args.filter((a) => !a.startsWith("--"));
  const unknown = names.filter((name) => name !== "all" && !Object.hasOwn(PARTS, name));
  if (names.length === 0 || unknown.length > 0) {
    if (unknown.length > 0) console.error(`unknown part: ${unknown.join(", ")}`);
    console.error(`usage: npm run bench -- <${Object.keys(PARTS).join("|")}|all>… [--quick]`);
    return 2;
  }
  const chosen = names.includes("all") ? Object.keys(PARTS) : names;
  const figures: Figure[] = [];
  for (const name of chosen) {
    progress(`bench ${name}${quick ? " (quick)" : ""}`);
    figures.push(...(await PARTS[name]!({ quick })));
  }
  await publish(names.includes("all") ? "all" : chosen.join("+"), figures, { quick });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
