/**
 * What every bench part needs: YuTrace as `npm start` runs it (its own `hardhat node` child and the
 * gateway, on free loopback ports, in a fresh data folder), and a Chongqing supply chain set up
 * through the API. Load comes from separate driver processes (bench/drivers/), never from here.
 */
import { fork } from "node:child_process";
import path from "node:path";

import { gtin14 } from "../../server/domain/identifiers";
import {
  api,
  freshLocation,
  killYuTrace,
  readAdminApiKey,
  removeDataDir,
  startYuTrace,
  stopYuTrace,
  type YuTraceProcess,
} from "../../test/helpers/e2e";
import { ORGANISATIONS } from "../../test/helpers/gateway";
import { progress } from "./report";

export const ROOT = path.resolve(__dirname, "..", "..");

export interface Stack {
  yt: YuTraceProcess;
  adminKey: string;
  stop(): Promise<void>;
}

/** Starts YuTrace (chain + gateway) in a fresh data folder; `env` adds configuration. */
export async function startStack(env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Stack> {
  const location = await freshLocation();
  progress(`starting hardhat node :${location.chainPort} and gateway :${location.port}`);
  const yt = await startYuTrace({
    ...location,
    logLevel: "error",
    env: { YUTRACE_DEMO_DATA: "false", ...env },
    nodeArgs,
  });
  const adminKey = await readAdminApiKey(location.dataDir);
  return {
    yt,
    adminKey,
    stop: async () => {
      // A gateway that died under load fails the part with what it said last, not only with the
      // load generator's connection errors.
      const { exitCode, signalCode } = yt.child;
      try {
        await stopYuTrace(yt, 60_000);
      } finally {
        await killYuTrace(yt);
        await removeDataDir(location.dataDir);
      }
      if (exitCode !== null || signalCode !== null) {
        throw new Error(
          `YuTrace exited during the bench (${signalCode ?? `code ${exitCode}`}); its last output:\n` +
            yt.output().slice(-6000),
        );
      }
    },
  };
}

/** Calls the API and fails loudly on anything but `expect`. */
export async function call<T>(
  stack: Pick<Stack, "yt">,
  method: "GET" | "POST",
  pathname: string,
  options: { key?: string; body?: unknown; expect?: number } = {},
): Promise<T> {
  const res = await api<T>(stack.yt, method, pathname, options);
  if (res.status !== (options.expect ?? (method === "POST" ? 201 : 200))) {
    throw new Error(`${method} ${pathname} answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return res.body;
}

export interface BenchOrg {
  orgId: string;
  uscc: string;
  apiKey: string;
  name: string;
}

/** The benchmark's organisations: the test suite's Chongqing fixtures. */
export const BENCH_ORGS = {
  producer: ORGANISATIONS.producer,
  carrier: ORGANISATIONS.logistics,
  retailer: ORGANISATIONS.retailer,
  regulator: ORGANISATIONS.regulator,
} as const;

export const BENCH_GTIN = gtin14("0693885010003");

export async function createOrg(stack: Stack, key: keyof typeof BENCH_ORGS): Promise<BenchOrg> {
  const input = BENCH_ORGS[key];
  const body = await call<{ organisation: { orgId: string }; apiKey: string }>(stack, "POST", "/api/v1/organisations", {
    key: stack.adminKey,
    body: { ...input, roles: [...input.roles] },
  });
  return { orgId: body.organisation.orgId, uscc: input.uscc, apiKey: body.apiKey, name: input.name };
}

/** The hotpot-base product of `producer`, and `count` batches of it (lots B00000…), produced 3 days ago. */
export async function createBatches(stack: Stack, producer: BenchOrg, count: number): Promise<string[]> {
  await call(stack, "POST", "/api/v1/products", {
    key: producer.apiKey,
    body: { gtin: BENCH_GTIN, name: { zh: "重庆老火锅底料 500g" }, category: "seasoning", standard: "Q/YWHG 0001S" },
  });
  const productionDate = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
  const lots: string[] = [];
  for (let i = 0; i < count; i++) {
    const lot = `B${String(i).padStart(5, "0")}`;
    await call(stack, "POST", "/api/v1/batches", {
      key: producer.apiKey,
      body: { gtin: BENCH_GTIN, lot, quantity: { value: 1000, unit: "XBX" }, productionDate, district: "巴南区" },
    });
    lots.push(lot);
  }
  return lots;
}

/**
 * Runs a driver (bench/drivers/<name>.ts) as its own Node process with `input`, and returns what it
 * prints as its last JSON line. Its other output (progress) goes to stderr.
 */
export function runDriver<T>(name: string, input: unknown, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, "..", "drivers", `${name}.ts`), [JSON.stringify(input)], {
      execArgv: ["-r", "ts-node/register/transpile-only"],
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
      stdio: ["ignore", "pipe", "inherit", "ipc"],
    });
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`driver ${name} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const last = out.trim().split("\n").pop() ?? "";
      if (code !== 0) return reject(new Error(`driver ${name} exited with ${code}: ${out.slice(-2000)}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`driver ${name} printed no JSON result: ${out.slice(-2000)}`));
      }
    });
  });
}
