/**
 * Deploys TraceLedger to the network Hardhat was given and writes deployments/<network>.json.
 *
 *   npx hardhat run scripts/deploy.ts --network localhost
 *   YUTRACE_ANCHORER=0x… npm run deploy -- --network localhost
 *
 * The first signer of the network is the platform admin; YUTRACE_ANCHORER (default: the admin)
 * receives ANCHORER_ROLE. YUTRACE_DEPLOYMENTS_DIR (default: deployments/) is where the record goes. Code that needs a deployment calls `deployTraceLedger` from
 * server/chain/deploy.ts directly.
 */
import path from "node:path";
import hre from "hardhat";
import { isAddress } from "ethers";

import { deployTraceLedger, writeDeployment } from "../server/chain/deploy";

async function main(): Promise<void> {
  const [deployer] = await hre.ethers.getSigners();
  if (!deployer) throw new Error(`network "${hre.network.name}" has no account to deploy with`);
  const anchorer = process.env.YUTRACE_ANCHORER ?? deployer.address;
  if (!isAddress(anchorer)) throw new Error(`YUTRACE_ANCHORER "${anchorer}" is not an address`);
  const { deployment } = await deployTraceLedger(deployer, { network: hre.network.name, anchorer });
  const dir = process.env.YUTRACE_DEPLOYMENTS_DIR ?? path.join(__dirname, "..", "deployments");
  const file = await writeDeployment(dir, deployment);
  console.log(`TraceLedger deployed on ${deployment.network} (chain ${deployment.chainId})`);
  console.log(`  address       ${deployment.address}`);
  console.log(`  deploy block  ${deployment.deployBlock}`);
  console.log(`  admin         ${deployment.admin}`);
  console.log(`  anchorer      ${deployment.anchorer}`);
  console.log(`  written to    ${path.relative(process.cwd(), file)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
