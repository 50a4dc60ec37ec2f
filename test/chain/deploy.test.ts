/**
 * Deploying TraceLedger to a real `hardhat node` over JSON-RPC: from code, and through
 * `hardhat run scripts/deploy.ts`, which must write a deployment record a client can use.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { JsonRpcProvider, Wallet, id } from "ethers";

import { TraceLedger__factory } from "../../typechain-types";
import { deployTraceLedger, readDeployment, writeDeployment } from "../../server/chain/deploy";
import { portInUse, startLocalNode, type LocalNode } from "../../server/chain/local-node";

const run = promisify(execFile);
const ROOT = path.join(__dirname, "..", "..");

describe("deploying TraceLedger to a hardhat node over JSON-RPC", function () {
  this.timeout(180_000);
  let node: LocalNode;
  let provider: JsonRpcProvider;
  let dir: string;

  before(async function () {
    node = await startLocalNode();
    provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
    dir = await mkdtemp(path.join(os.tmpdir(), "yutrace-deploy-"));
  });

  after(async function () {
    provider?.destroy();
    await node?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("deploys from code, grants the anchorer and records address, chain id and deploy block", async function () {
    const deployer = await provider.getSigner(0);
    const anchorer = Wallet.createRandom().address;
    const { ledger, deployment } = await deployTraceLedger(deployer, { network: "e2e", anchorer });

    expect(deployment.chainId).to.equal("31337");
    expect(deployment.admin).to.equal(await deployer.getAddress());
    expect(await provider.getCode(deployment.address)).to.not.equal("0x");
    const receipt = await provider.getTransactionReceipt(deployment.deployTx);
    expect(receipt!.blockNumber).to.equal(deployment.deployBlock);
    expect(receipt!.contractAddress).to.equal(deployment.address);
    expect(await ledger.hasRole(id("ANCHORER_ROLE"), anchorer)).to.equal(true);
    expect(await ledger.hasRole(await ledger.DEFAULT_ADMIN_ROLE(), deployment.admin)).to.equal(true);

    const file = await writeDeployment(dir, deployment);
    expect(path.basename(file)).to.equal("e2e.json");
    expect(await readDeployment(dir, "e2e")).to.deep.equal(deployment);
    expect(await readDeployment(dir, "nowhere")).to.equal(null);
  });

  it("deploys with `hardhat run scripts/deploy.ts --network rpc` and writes a usable record", async function () {
    const anchorer = Wallet.createRandom().address;
    const { stdout } = await run(
      process.execPath,
      [require.resolve("hardhat/internal/cli/bootstrap"), "run", "scripts/deploy.ts", "--network", "rpc"],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          YUTRACE_RPC_URL: node.url,
          YUTRACE_ANCHORER: anchorer,
          YUTRACE_DEPLOYMENTS_DIR: dir,
          HARDHAT_DISABLE_TELEMETRY_PROMPT: "true",
        },
      },
    );
    expect(stdout).to.contain("TraceLedger deployed on rpc (chain 31337)");
    const deployment = await readDeployment(dir, "rpc");
    expect(deployment).to.not.equal(null);
    expect(stdout).to.contain(deployment!.address);
    const ledger = TraceLedger__factory.connect(deployment!.address, provider);
    expect(await ledger.hasRole(id("ANCHORER_ROLE"), anchorer)).to.equal(true);
    expect(await ledger.anchorCount()).to.equal(0n);
  });

  it("refuses to start a second node on a port that is in use", async function () {
    expect(await portInUse(node.port)).to.equal(true);
    let error: unknown;
    try {
      await startLocalNode({ port: node.port });
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.contain(`port ${node.port} on 127.0.0.1 is already in use`);
  });

  it("stops the node it started, by its own PID", async function () {
    const second = await startLocalNode();
    expect(await portInUse(second.port)).to.equal(true);
    await second.stop();
    expect(await portInUse(second.port)).to.equal(false);
    expect(() => process.kill(second.pid, 0)).to.throw();
  });
});
