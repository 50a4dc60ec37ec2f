import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, TASK_TEST_GET_TEST_FILES } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-toolbox";

/**
 * The exact compiler version. It must equal the version of the npm package `solc` pinned in
 * package.json: we compile with that package's soljson.js so that nothing is downloaded.
 */
export const SOLC_VERSION = "0.8.28";

// Hardhat normally downloads the compiler; this machine (and CI) has no network but the npm
// registry, so hand Hardhat the solc-js build that npm installed.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc") as { version(): string };
  const longVersion = solc.version().replace(/\.Emscripten\.clang$/, "");
  if (!longVersion.startsWith(`${SOLC_VERSION}+`)) {
    throw new Error(`npm package solc is ${longVersion}; pin solc@${SOLC_VERSION} in package.json`);
  }
  return { compilerPath: require.resolve("solc/soljson.js"), isSolcJs: true, version: SOLC_VERSION, longVersion };
});

// All test files in one order everywhere: Hardhat lists them as the file system does, unsorted.
// Files named on the command line run in the order given.
subtask(TASK_TEST_GET_TEST_FILES, async (args: { testFiles: string[] }, _hre, runSuper) => {
  const files = (await runSuper()) as string[];
  return args.testFiles.length === 0 ? files.sort() : files;
});

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun" },
  },
  networks: {
    hardhat: { chainId: 31337 },
    localhost: { url: "http://127.0.0.1:8545" },
    // Any EVM JSON-RPC chain (Besu QBFT, FISCO BCOS in EVM mode, geth): `--network rpc`.
    ...(process.env.YUTRACE_RPC_URL
      ? {
          rpc: {
            url: process.env.YUTRACE_RPC_URL,
            accounts: process.env.YUTRACE_DEPLOYER_KEY ? [process.env.YUTRACE_DEPLOYER_KEY] : "remote",
          },
        }
      : {}),
  },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
  gasReporter: { enabled: process.env.REPORT_GAS === "true", offline: true, currency: "USD" },
  mocha: { timeout: 120_000 },
};

export default config;
