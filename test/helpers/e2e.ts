/**
 * End-to-end helpers: run YuTrace exactly as `npm start` runs it (a `ts-node scripts/start.ts`
 * child with its own `hardhat node` grandchild), talk to it over HTTP, stop it, clean up after it
 * by PID, and check an event's evidence against the chain without trusting the gateway.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, id, recoverAddress, type TypedDataDomain } from "ethers";

import { TraceLedger__factory, type TraceLedger } from "../../typechain-types";
import { ledgerDomain, submissionDigest } from "../../server/chain/typed-data";
import { eventHash } from "../../server/domain/canonical";
import { freePort, portInUse } from "../../server/chain/local-node";
import { verifySubmissionProof } from "../../server/domain/merkle";
import type { EventView } from "../../server/services/queries";
import type { RoleName } from "../../server/store/records";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
export const RUNNING_LINE = "YuTrace (渝溯) is running";
const TS_NODE_BIN = require.resolve("ts-node/dist/bin.js", { paths: [PROJECT_ROOT] });

// ---------------------------------------------------------------- the `npm start` process

export interface YuTraceProcess {
  child: ChildProcess;
  dataDir: string;
  port: number;
  chainPort: number;
  /** The gateway's base URL for API calls. */
  url: string;
  /** The chain's JSON-RPC URL. */
  chainUrl: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** PIDs of the process's own children (its hardhat node), recorded once it was running. */
  childPids: number[];
}

export interface StartOptions {
  dataDir: string;
  port: number;
  chainPort: number;
  logLevel?: string;
  /** How long to wait for the "is running" line; default 180 s. */
  timeoutMs?: number;
  /** More environment for the process (wins over the defaults above). */
  env?: Record<string, string>;
  /** Options for node itself, e.g. ["--cpu-prof", "--cpu-prof-dir=…"] (benchmarks). */
  nodeArgs?: string[];
  /**
   * What runs the TypeScript: ts-node, as `npm start` does (default), or sucrase's register hook,
   * which starts in about half the time (for tests that start YuTrace many times).
   */
  transpiler?: "ts-node" | "sucrase";
}

/** A fresh data dir and two free ports, for a first start. */
export async function freshLocation(): Promise<{ dataDir: string; port: number; chainPort: number }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "yutrace-e2e-"));
  const port = await freePort();
  let chainPort = await freePort();
  while (chainPort === port) chainPort = await freePort();
  return { dataDir, port, chainPort };
}

/**
 * The V8 flags `npm start` gives the gateway (package.json; a test keeps the two the same): its old
 * space capped at 256 MB (BENCHMARKS.md: memory under scan load). Larger semi-spaces (32 MB) made
 * ingest ~10 % cheaper but put ~45 MB on the idle gateway's RSS, which the memory target has no
 * room for (BENCHMARKS.md, "Leaner event records").
 */
export const GATEWAY_NODE_FLAGS = ["--max-old-space-size=256"];

/** Starts `ts-node --transpile-only scripts/start.ts` as `npm start` does and waits until it is running. */
export async function startYuTrace(options: StartOptions): Promise<YuTraceProcess> {
  const { dataDir, port, chainPort } = options;
  const nodeArgs = [...GATEWAY_NODE_FLAGS, ...(options.nodeArgs ?? [])];
  const runner = options.transpiler === "sucrase" ? ["-r", "sucrase/register"] : [TS_NODE_BIN, "--transpile-only"];
  const child = spawn(process.execPath, [...nodeArgs, ...runner, "scripts/start.ts"], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      YUTRACE_DATA_DIR: dataDir,
      YUTRACE_PORT: String(port),
      YUTRACE_CHAIN_PORT: String(chainPort),
      YUTRACE_ANCHOR_INTERVAL_MS: "300",
      YUTRACE_LOG_LEVEL: options.logLevel ?? "warn",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const yt: YuTraceProcess = {
    child,
    dataDir,
    port,
    chainPort,
    url: `http://127.0.0.1:${port}`,
    chainUrl: `http://127.0.0.1:${chainPort}`,
    output: () => output,
    childPids: [],
  };
  try {
    await waitForOutput(yt, RUNNING_LINE, options.timeoutMs ?? 180_000);
  } catch (error) {
    await killYuTrace(yt);
    throw error;
  }
  yt.childPids = childrenOf(child.pid!);
  return yt;
}

/** Resolves once `text` appears in the output; rejects if the process exits first or time runs out. */
export function waitForOutput(yt: YuTraceProcess, text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      clearInterval(poll);
      yt.child.off("exit", onExit);
      if (error) reject(error);
      else resolve();
    };
    const onExit = (code: number | null, signal: string | null) =>
      done(new Error(`YuTrace exited (${signal ?? `code ${code}`}) before printing "${text}":\n${yt.output()}`));
    const timer = setTimeout(
      () => done(new Error(`YuTrace did not print "${text}" within ${timeoutMs} ms:\n${yt.output()}`)),
      timeoutMs,
    );
    const poll = setInterval(() => yt.output().includes(text) && done(), 100);
    if (yt.child.exitCode !== null || yt.child.signalCode !== null) {
      onExit(yt.child.exitCode, yt.child.signalCode);
      return;
    }
    yt.child.once("exit", onExit);
  });
}

/** Ctrl-C: SIGINT, then wait for the exit (SIGKILL everything after `graceMs`). */
export async function stopYuTrace(
  yt: YuTraceProcess,
  graceMs = 30_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const { child } = yt;
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  child.kill("SIGINT");
  const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), graceMs).unref());
  const result = await Promise.race([exited, timeout]);
  if (result === null) {
    await killYuTrace(yt);
    throw new Error(`YuTrace did not exit within ${graceMs} ms of SIGINT; killed it:\n${yt.output()}`);
  }
  return { code: result[0], signal: result[1] };
}

/** Last resort (for `after`): SIGKILL the process and the children it had, if they are still alive. */
export async function killYuTrace(yt: YuTraceProcess | undefined): Promise<void> {
  if (!yt) return;
  const { child } = yt;
  const alive = child.exitCode === null && child.signalCode === null;
  const pids = new Set([...yt.childPids, ...(alive ? childrenOf(child.pid!) : [])]);
  if (alive) {
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  }
  // Only PIDs we saw as this process's children, and only while they still run our chain's node.
  for (const pid of pids) {
    if (ourChainNodes(yt).includes(pid)) process.kill(pid, "SIGKILL");
  }
}

/** PIDs of the direct children of `pid` (`pgrep -P`). */
export function childrenOf(pid: number): number[] {
  return pgrep(["-P", String(pid)]).map((line) => Number(line.trim()));
}

/** PIDs of running `hardhat node` processes on this start's chain port (`pgrep -af "bootstrap.js node"`). */
export function ourChainNodes(yt: Pick<YuTraceProcess, "chainPort">): number[] {
  return pgrep(["-af", "bootstrap.js node"])
    .filter((line) => line.includes(`--port ${yt.chainPort}`))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

function pgrep(args: string[]): string[] {
  try {
    return execFileSync("pgrep", args, { encoding: "utf8" }).split("\n").filter(Boolean);
  } catch {
    return []; // pgrep exits with 1 when nothing matches
  }
}

/** Removes a data dir made by `freshLocation`. */
export async function removeDataDir(dataDir: string | undefined): Promise<void> {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}

export async function readAdminApiKey(dataDir: string): Promise<string> {
  return (await readFile(path.join(dataDir, "admin-api-key.txt"), "utf8")).trim();
}

export async function readDemoApiKeys(dataDir: string): Promise<Record<string, string>> {
  return JSON.parse(await readFile(path.join(dataDir, "demo-api-keys.json"), "utf8")) as Record<string, string>;
}

/** The `label  http…` lines `npm start` printed, by label. */
export function printedLinks(output: string): Map<string, string> {
  const links = new Map<string, string>();
  for (const match of output.matchAll(/^ {2}(\S.*?)\s+(https?:\/\/\S+)$/gm)) links.set(match[1]!, match[2]!);
  return links;
}

/** Whether the chain port still answers: false once the hardhat node is gone. */
export const chainListening = (yt: Pick<YuTraceProcess, "chainPort">) => portInUse(yt.chainPort);

// ---------------------------------------------------------------- HTTP

export interface ApiResponse<T> {
  status: number;
  body: T;
}

/** One JSON API call; `key` goes in `Authorization: Bearer`. */
export async function api<T = unknown>(
  yt: Pick<YuTraceProcess, "url">,
  method: "GET" | "POST",
  pathname: string,
  options: { key?: string; body?: unknown } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${yt.url}${pathname}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Every event of a batch, following `nextCursor` through the pages. */
export async function allBatchEvents(
  yt: Pick<YuTraceProcess, "url">,
  key: string,
  batchId: string,
): Promise<EventView[]> {
  const events: EventView[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `?limit=200&cursor=${cursor}` : "?limit=200";
    const page = await api<{ events: EventView[]; nextCursor: string | null }>(
      yt,
      "GET",
      `/api/v1/batches/${batchId}/events${query}`,
      { key },
    );
    expect(page.status, JSON.stringify(page.body)).to.equal(200);
    events.push(...page.body.events);
    cursor = page.body.nextCursor;
  } while (cursor);
  return events;
}

/** Polls until every event of `batchId` is anchored; returns them. Fails after `timeoutMs`. */
export async function waitUntilAnchored(
  yt: Pick<YuTraceProcess, "url">,
  key: string,
  batchId: string,
  timeoutMs = 20_000,
): Promise<EventView[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await allBatchEvents(yt, key, batchId);
    if (events.length > 0 && events.every((e) => e.status === "anchored")) return events;
    if (Date.now() > deadline) {
      const pending = events.filter((e) => e.status !== "anchored").map((e) => e.eventId);
      throw new Error(`events of ${batchId} still pending after ${timeoutMs} ms: ${pending.join(", ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// ---------------------------------------------------------------- the chain, read directly

export interface ChainView {
  provider: JsonRpcProvider;
  ledger: TraceLedger;
  domain: TypedDataDomain;
  chainId: bigint;
}

/** Connects to the chain directly, to the ledger the gateway names at the public `GET /api/v1/ledger`. */
export async function connectChain(yt: YuTraceProcess): Promise<ChainView> {
  const { status, body } = await api<{ chainId: string; address: string; deployBlock: number }>(
    yt,
    "GET",
    "/api/v1/ledger",
  );
  expect(status).to.equal(200);
  const provider = new JsonRpcProvider(yt.chainUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const { chainId } = await provider.getNetwork();
  expect(body.chainId).to.equal(chainId.toString());
  expect(await provider.getCode(body.address)).to.not.equal("0x");
  return {
    provider,
    ledger: TraceLedger__factory.connect(body.address, provider),
    domain: ledgerDomain(chainId, body.address),
    chainId,
  };
}

export const roleId = (role: RoleName) => id(`${role.toUpperCase()}_ROLE`);

/** The contract's `BatchStatus` enum. */
export const ON_CHAIN_STATUS = { active: 1n, held: 2n, recalled: 3n } as const;

/**
 * Checks one event's evidence the way an outside verifier would (DESIGN §3): body → id, id → submission
 * root, submission → EIP-712 digest → signer (the organisation's account on-chain, holding `role` at the
 * anchor's block), digest → anchored root on-chain, and the anchor's seq and block as the chain has them.
 */
export async function verifyEventOnChain(view: EventView, chain: ChainView, role: RoleName): Promise<void> {
  const what = `event ${view.eventId}`;
  expect(view.status, what).to.equal("anchored");
  expect(eventHash(view.event), `${what}: canonical hash of the body`).to.equal(view.eventId);

  const { submission, proofs, anchor } = view;
  expect(verifySubmissionProof(submission.root, view.eventId, proofs.eventToSubmission), `${what}: proof to submission`)
    .to.be.true;

  const digest = submissionDigest(chain.domain, {
    org: submission.signer,
    root: submission.root,
    count: submission.count,
    nonce: BigInt(submission.nonce),
  });
  expect(digest, `${what}: submission digest`).to.equal(submission.id);
  expect(
    await chain.ledger.hashSubmission(submission.signer, submission.root, submission.count, submission.nonce),
    `${what}: the contract's hashSubmission`,
  ).to.equal(digest);

  const account = (await chain.ledger.getOrganisation(view.organisation)).account;
  expect(recoverAddress(digest, submission.signature), `${what}: recovered signer`).to.equal(account);
  expect(account.toLowerCase(), `${what}: signer named by the gateway`).to.equal(submission.signer.toLowerCase());

  expect(anchor, `${what}: anchor`).to.not.equal(null);
  expect(
    await chain.ledger.hasActiveRole(roleId(role), submission.signer, { blockTag: anchor!.block }),
    `${what}: ${role} role of the signer at block ${anchor!.block}`,
  ).to.be.true;
  expect(
    await chain.ledger.verifyAnchoredLeaf(anchor!.root, digest, proofs.submissionToAnchor!),
    `${what}: anchored leaf`,
  ).to.be.true;
  const onChain = await chain.ledger.getAnchor(anchor!.root);
  expect(onChain.seq, `${what}: anchor seq`).to.equal(BigInt(anchor!.seq));
  expect(onChain.blockNumber, `${what}: anchor block`).to.equal(BigInt(anchor!.block));
  const receipt = await chain.provider.getTransactionReceipt(anchor!.txHash);
  expect(receipt?.blockNumber, `${what}: anchor transaction's block`).to.equal(anchor!.block);
  expect(receipt?.status, `${what}: anchor transaction's status`).to.equal(1);
}

/** The anchor's block time as the chain has it, in the API's ISO form. */
export async function onChainAnchorTime(chain: ChainView, root: string): Promise<string> {
  const { blockTime } = await chain.ledger.getAnchor(root);
  return new Date(Number(blockTime) * 1000).toISOString();
}
