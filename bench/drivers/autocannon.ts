/**
 * Read load, from its own process. Runs `jobs` one after another against the gateway and prints one
 * JSON line with a result per job:
 * - `load`: autocannon with `connections` open connections for `seconds` (after `warmupSeconds` of
 *   the same load, not counted), cycling through `paths`;
 * - `sequential`: `count` requests one after another on one kept-alive connection (after `warmup`
 *   not counted), each timed from send to last byte. With node:http, not fetch: undici's fetch
 *   added ~0.4 ms on average to a 100 KB page's p50 and 2-4 ms to its p99 (client-side work and
 *   garbage, on the two cores the gateway has), which the figures are not about.
 * Every job fails the driver on a connection error or an unexpected status, so a figure can never be
 * made of 404s. With `gatewayPid`, each result also has the CPU time the gateway process spent per
 * request (Linux /proc), which other load on the machine hardly moves.
 */
import http from "node:http";
import autocannon from "autocannon";

import { processCpuMs } from "../lib/cpu";
import { quantile } from "../lib/report";

interface LoadJob {
  kind: "load";
  name: string;
  paths: string[];
  headers: Record<string, string>;
  connections: number;
  seconds: number;
  warmupSeconds: number;
}

interface SequentialJob {
  kind: "sequential";
  name: string;
  path: string;
  headers: Record<string, string>;
  count: number;
  warmup: number;
}

interface Input {
  url: string;
  /** The gateway's process, to read its CPU time from /proc; null when not on Linux. */
  gatewayPid: number | null;
  jobs: (LoadJob | SequentialJob)[];
}

export interface LoadResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  bytesPerRequest: number;
  /** CPU milliseconds (user + system) of the gateway process per request; null without /proc. */
  cpuMsPerRequest: number | null;
}

export interface SequentialResult {
  count: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; min: number };
  bytes: number;
  cpuMsPerRequest: number | null;
}

const input = JSON.parse(process.argv[2]!) as Input;

/** CPU milliseconds the gateway process used so far (utime + stime), or null. */
const gatewayCpuMs = (): number | null => (input.gatewayPid === null ? null : processCpuMs(input.gatewayPid));

const perRequest = (before: number | null, after: number | null, requests: number): number | null =>
  before === null || after === null || requests === 0 ? null : (after - before) / requests;

/** Request errors by kind (error code or message), for the failure message. */
const requestErrors = new Map<string, number>();

function cannon(job: LoadJob, seconds: number): Promise<autocannon.Result> {
  requestErrors.clear();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: input.url,
        connections: job.connections,
        duration: seconds,
        headers: job.headers,
        // Static requests, built once: each connection cycles through the paths.
        requests: job.paths.map((path) => ({ method: "GET", path })),
        timeout: 10,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on("reqError", (error: Error & { code?: string }) => {
      const kind = error.code ?? error.message;
      requestErrors.set(kind, (requestErrors.get(kind) ?? 0) + 1);
    });
    // Stops by itself after `seconds`; this is only a backstop.
    const backstop = setTimeout(() => instance.stop(), (seconds + 30) * 1000);
    instance.on("done", () => clearTimeout(backstop));
  });
}

async function load(job: LoadJob): Promise<LoadResult> {
  if (job.warmupSeconds > 0) await cannon(job, job.warmupSeconds);
  const cpuBefore = gatewayCpuMs();
  const result = await cannon(job, job.seconds);
  const cpuAfter = gatewayCpuMs();
  const bad = result.errors + result.timeouts + result.non2xx;
  if (bad > 0) {
    throw new Error(
      `${job.name}: ${result.errors} errors (${JSON.stringify(Object.fromEntries(requestErrors))}), ` +
        `${result.timeouts} timeouts, ${result.non2xx} non-2xx answers (${JSON.stringify(result.statusCodeStats)})`,
    );
  }
  const requests = result["2xx"];
  return {
    requests,
    seconds: result.duration,
    requestsPerSecond: requests / result.duration,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.mean,
    },
    bytesPerRequest: result.throughput.total / Math.max(requests, 1),
    cpuMsPerRequest: perRequest(cpuBefore, cpuAfter, requests),
  };
}

/** GET `url` on `agent`: the status and the body's length, once its last byte is in. */
function get(
  url: string,
  headers: Record<string, string>,
  agent: http.Agent,
): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    // 30 s for the whole answer, as fetch had with AbortSignal.timeout (a request's `timeout` is idle time).
    const deadline = setTimeout(() => req.destroy(new Error(`no whole answer from ${url} in 30 s`)), 30_000);
    const req = http.get(url, { headers, agent }, (res) => {
      let bytes = 0;
      res.on("data", (chunk: Buffer) => (bytes += chunk.length));
      res.on("end", () => {
        clearTimeout(deadline);
        resolve({ status: res.statusCode ?? 0, bytes });
      });
      res.on("error", (error) => {
        clearTimeout(deadline);
        reject(error);
      });
    });
    req.on("error", (error) => {
      clearTimeout(deadline);
      reject(error);
    });
  });
}

async function sequential(job: SequentialJob): Promise<SequentialResult> {
  const times: number[] = [];
  let bytes = 0;
  let cpuBefore: number | null = null;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < job.warmup + job.count; i++) {
      if (i === job.warmup) cpuBefore = gatewayCpuMs();
      const sent = performance.now();
      const res = await get(`${input.url}${job.path}`, job.headers, agent);
      const took = performance.now() - sent;
      if (res.status !== 200) throw new Error(`${job.name}: ${job.path} answered ${res.status}`);
      if (i >= job.warmup) {
        times.push(took);
        bytes = res.bytes;
      }
    }
  } finally {
    agent.destroy();
  }
  const cpuAfter = gatewayCpuMs();
  times.sort((a, b) => a - b);
  return {
    count: times.length,
    latencyMs: {
      p50: quantile(times, 0.5),
      p90: quantile(times, 0.9),
      p99: quantile(times, 0.99),
      max: times.at(-1)!,
      min: times[0]!,
    },
    bytes,
    cpuMsPerRequest: perRequest(cpuBefore, cpuAfter, times.length),
  };
}

async function main(): Promise<void> {
  const results: Record<string, LoadResult | SequentialResult> = {};
  for (const job of input.jobs) {
    process.stderr.write(
      job.kind === "load"
        ? `  ${job.name}: ${job.connections} connections, ${job.warmupSeconds} s warm-up + ${job.seconds} s\n`
        : `  ${job.name}: ${job.warmup} warm-up + ${job.count} sequential requests\n`,
    );
    results[job.name] = job.kind === "load" ? await load(job) : await sequential(job);
  }
  console.log(JSON.stringify(results));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
