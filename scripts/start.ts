/**
 * `npm start`: the whole of YuTrace on this machine — a local `hardhat node` (unless
 * YUTRACE_RPC_URL is set), TraceLedger deployed or replayed, the store in ./data, the Chongqing
 * demo dataset on first start (demo mode), and the gateway on :8080. Ctrl-C stops everything.
 */
import path from "node:path";

import { ConfigError, loadConfig } from "../server/config";
import { loadDemoData } from "../server/demo/load";
import { startGateway } from "../server/gateway";

async function main(): Promise<void> {
  const config = loadConfig();
  const gateway = await startGateway(config);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping YuTrace …`);
    await gateway.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  const demo = config.demoData ? await loadDemoData(gateway) : null;
  const line = (label: string, value: string) => console.log(`  ${label.padEnd(20)} ${value}`);
  console.log("\nYuTrace (渝溯) is running\n");
  line("gateway", gateway.url);
  line("API reference", `${gateway.url}/api/docs`);
  line("OpenAPI document", `${gateway.url}/api/openapi.json`);
  line("regulator dashboard", `${gateway.url}/regulator`);
  line("readiness", `${gateway.url}/readyz`);
  line("chain (JSON-RPC)", gateway.chainUrl);
  line("TraceLedger", gateway.ledger.address);
  const dataFile = (name: string) => path.join(path.relative(process.cwd(), config.dataDir) || ".", name);
  if (gateway.demoAdminApiKey) line("admin API key", `in ${dataFile("admin-api-key.txt")} (demo mode)`);
  if (demo) {
    console.log("\nDemo data (重庆火锅底料 supply chain):");
    for (const [label, value] of demo.links) line(label, value);
  }
  console.log("\nPress Ctrl-C to stop.");
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `start failed: ${(error as Error).message ?? error}`);
  process.exit(1);
});
