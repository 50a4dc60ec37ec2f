/**
 * `npm start`: runs YuTrace locally. For now (before the gateway lands) it starts a local
 * `hardhat node` on 127.0.0.1 — or uses YUTRACE_RPC_URL — deploys TraceLedger if that chain has
 * none, prints where everything is, and stops cleanly on Ctrl-C.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { JsonRpcProvider } from "ethers";

import { ConfigError, loadConfig } from "../server/config";
import { deployTraceLedger, readDeployment, writeDeployment, type Deployment } from "../server/chain/deploy";
import { startLocalNode, type LocalNode } from "../server/chain/local-node";

const DEPLOYMENTS_DIR = path.join(__dirname, "..", "deployments");

async function main(): Promise<void> {
  const config = loadConfig();
  await mkdir(config.dataDir, { recursive: true });

  let node: LocalNode | null = null;
  let rpcUrl = config.rpcUrl;
  if (!rpcUrl) {
    console.log(`starting a local hardhat node on 127.0.0.1:${config.chainPort} …`);
    node = await startLocalNode({ port: config.chainPort, logFile: path.join(config.dataDir, "chain.log") });
    rpcUrl = node.url;
  }
  const stop = async (signal: string): Promise<void> => {
    console.log(`\n${signal}: stopping`);
    await node?.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));

  try {
    const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
    const network = node ? "localhost" : "rpc";
    const deployment = await ensureDeployment(provider, network);
    console.log("");
    console.log("YuTrace ledger is up");
    console.log(`  chain (JSON-RPC)   ${rpcUrl}  (chain id ${deployment.chainId})`);
    console.log(`  TraceLedger        ${deployment.address}  (deployed in block ${deployment.deployBlock})`);
    console.log(`  deployment record  ${path.relative(process.cwd(), path.join(DEPLOYMENTS_DIR, `${network}.json`))}`);
    console.log("");
    console.log("The HTTP gateway (API, QR pages, dashboard on :8080) is not built yet; until it is, this");
    console.log("command only runs the chain and the contract. Press Ctrl-C to stop.");
  } catch (error) {
    await node?.stop();
    throw error;
  }
}

/** The recorded deployment if its contract is on this chain, otherwise a fresh deployment. */
async function ensureDeployment(provider: JsonRpcProvider, network: string): Promise<Deployment> {
  const { chainId } = await provider.getNetwork();
  const recorded = await readDeployment(DEPLOYMENTS_DIR, network);
  if (recorded && recorded.chainId === chainId.toString() && (await provider.getCode(recorded.address)) !== "0x") {
    return recorded;
  }
  const deployer = await provider.getSigner(0);
  const { deployment } = await deployTraceLedger(deployer, { network, anchorer: await deployer.getAddress() });
  await writeDeployment(DEPLOYMENTS_DIR, deployment);
  return deployment;
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `start failed: ${(error as Error).message ?? error}`);
  process.exit(1);
});
