/**
 * Deploys TraceLedger with any ethers signer and records where it went, so that scripts, the
 * gateway and tests all deploy the same way. `scripts/deploy.ts` is the command-line entry.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Signer } from "ethers";

import { TraceLedger__factory, type TraceLedger } from "../../typechain-types";

/** Where a TraceLedger lives: everything a client needs to find it and index it from the start. */
export interface Deployment {
  network: string;
  chainId: string;
  address: string;
  deployBlock: number;
  deployTx: string;
  admin: string;
  anchorer: string | null;
  deployedAt: string;
}

export interface DeployOptions {
  /** Name written into the deployment record (e.g. "localhost", "besu-cq"). */
  network: string;
  /** Account given ANCHORER_ROLE right after deployment; none if omitted. */
  anchorer?: string;
  /** Blocks to wait for before the deployment counts as done (production chains); default 1. */
  confirmations?: number;
}

/** Deploys TraceLedger with `deployer` as platform admin and optionally grants the anchorer role. */
export async function deployTraceLedger(
  deployer: Signer,
  options: DeployOptions,
): Promise<{ ledger: TraceLedger; deployment: Deployment }> {
  const admin = await deployer.getAddress();
  const ledger = await new TraceLedger__factory(deployer).deploy(admin);
  const deployTx = ledger.deploymentTransaction();
  if (!deployTx) throw new Error("TraceLedger deployment returned no transaction");
  const receipt = await deployTx.wait(options.confirmations ?? 1);
  if (!receipt) throw new Error(`TraceLedger deployment ${deployTx.hash} has no receipt`);
  if (options.anchorer) {
    const grant = await ledger.grantRole(await ledger.ANCHORER_ROLE(), options.anchorer);
    await grant.wait(options.confirmations ?? 1);
  }
  const { chainId } = await deployer.provider!.getNetwork();
  const deployment: Deployment = {
    network: options.network,
    chainId: chainId.toString(),
    address: await ledger.getAddress(),
    deployBlock: receipt.blockNumber,
    deployTx: receipt.hash,
    admin,
    anchorer: options.anchorer ?? null,
    deployedAt: new Date().toISOString(),
  };
  return { ledger, deployment };
}

/** `deployments/<network>.json` under `dir`. */
export function deploymentPath(dir: string, network: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(network)) throw new Error(`network name "${network}" must be [A-Za-z0-9_-]+`);
  return path.join(dir, `${network}.json`);
}

/** Writes the deployment record atomically (temp file + rename), so a crash never leaves half a file. */
export async function writeDeployment(dir: string, deployment: Deployment): Promise<string> {
  const file = deploymentPath(dir, deployment.network);
  await mkdir(dir, { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(deployment, null, 2) + "\n");
  await rename(temp, file);
  return file;
}

/** The deployment record of `network`, or null if there is none. */
export async function readDeployment(dir: string, network: string): Promise<Deployment | null> {
  try {
    return JSON.parse(await readFile(deploymentPath(dir, network), "utf8")) as Deployment;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}
