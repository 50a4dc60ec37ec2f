/**
 * A local `hardhat node` child process on loopback: what `npm start` runs when no
 * `YUTRACE_RPC_URL` is given, and what the end-to-end tests run. The child is always ours, so we
 * stop it by its own PID, and never touch a chain we did not start.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { once } from "node:events";
import net from "node:net";
import path from "node:path";

const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
const EXIT_WITH_PARENT = path.join(__dirname, "exit-with-parent.js");

export interface LocalNode {
  url: string;
  port: number;
  pid: number;
  /** Settles when the node exits, for whatever reason (a stop, a crash, a kill). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops the node (SIGTERM, then SIGKILL after `graceMs`) and waits for it to exit. */
  stop(graceMs?: number): Promise<void>;
}

export interface LocalNodeOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** File that receives the node's own output (every RPC call and transaction); discarded if omitted. */
  logFile?: string;
  /** How long to wait for the node to answer JSON-RPC; default 60 s. */
  readyTimeoutMs?: number;
}

/** A port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}

/** Whether something already listens on 127.0.0.1:`port`. */
export async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Answers `eth_chainId` from `url`, or throws. */
export async function rpcChainId(url: string, timeoutMs = 2000): Promise<bigint> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.json()) as { result?: string };
  if (!body.result) throw new Error(`${url} answered eth_chainId without a result`);
  return BigInt(body.result);
}

/** Starts `hardhat node` on 127.0.0.1 and resolves once it answers JSON-RPC. */
export async function startLocalNode(options: LocalNodeOptions = {}): Promise<LocalNode> {
  const port = options.port || (await freePort());
  if (await portInUse(port)) {
    throw new Error(`port ${port} on 127.0.0.1 is already in use; stop what runs there or pick another port`);
  }
  const hardhatCli = require.resolve("hardhat/internal/cli/bootstrap", { paths: [PROJECT_ROOT] });
  // The node writes its log straight to the file: hardhat logs every RPC call, and piping that
  // through this process cost the gateway ~4 % of its CPU under ingest load (profiled).
  const log = options.logFile ? openSync(options.logFile, "a") : null;
  let child: ChildProcess;
  try {
    // With its stdin a pipe from this process and exit-with-parent.js watching it, the node ends
    // when this process does, however it ends.
    child = spawn(
      process.execPath,
      ["-r", EXIT_WITH_PARENT, hardhatCli, "node", "--hostname", "127.0.0.1", "--port", String(port)],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" },
        stdio: ["pipe", log ?? "ignore", log ?? "ignore"],
      },
    );
    // Never written to; not to keep this process alive either.
    child.stdin!.on("error", () => undefined);
    (child.stdin as unknown as { unref?: () => void }).unref?.();
  } finally {
    // The child holds its own copy of the descriptor.
    if (log !== null) closeSync(log);
  }
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  try {
    await waitUntilReady(child, url, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await stopChild(child, 2000);
    throw error;
  }
  return { url, port, pid: child.pid!, exited, stop: (graceMs = 5000) => stopChild(child, graceMs) };
}

async function waitUntilReady(child: ChildProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: string | null = null;
  child.once("exit", (code, signal) => (exited = `exited with ${signal ?? `code ${code}`}`));
  for (;;) {
    if (exited) throw new Error(`hardhat node ${exited} before it answered on ${url}`);
    try {
      await rpcChainId(url, 1000);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`hardhat node did not answer on ${url} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
