/**
 * `npm run bench scale`: YuTrace with 1,000,000 events stored (quick: 20,000). Seeds them through
 * the real ingest code (bench/lib/seed.ts) into a gateway in this process, measuring read latency
 * as the store grows (10k → 100k → 1M); then restarts YuTrace as `npm start` runs it on that data
 * folder (its in-memory chain is gone: replay + index refresh), measures its memory idle and under
 * scan load (and again with V8's heap capped), and runs `npm run reindex` on it. Load comes from
 * driver processes.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import pino from "pino";

import { freePort } from "../../server/chain/local-node";
import { loadConfig } from "../../server/config";
import { startGateway } from "../../server/gateway";
import { Store } from "../../server/store/store";
import { killYuTrace, startYuTrace, stopYuTrace, type YuTraceProcess } from "../../test/helpers/e2e";
import type { LoadResult, SequentialResult } from "../drivers/autocannon";
import { waitUntilQuiet } from "../lib/cpu";
import type { Figure } from "../lib/report";
import { progress } from "../lib/report";
import { FIXED_BATCH_EVENTS, prepareSeed, type GrowResult, type Seeder } from "../lib/seed";
import { BENCH_GTIN, ROOT, runDriver } from "../lib/stack";

export interface ScaleOptions {
  quick: boolean;
}

interface Latency {
  events: number;
  trace: { p50: number; p99: number };
  page: { p50: number; p99: number };
}

/** A heap cap for the second memory run: V8 grows its heap lazily while memory is plentiful. */
const HEAP_CAP = "--max-old-space-size=256";
const TS_NODE_BIN = require.resolve("ts-node/dist/bin.js", { paths: [ROOT] });
const fmt = (n: number) => n.toLocaleString("en-US");

export async function scale(options: ScaleOptions): Promise<Figure[]> {
  const sizes = options.quick ? [2_000, 20_000] : [10_000, 100_000, 1_000_000];
  const total = sizes.at(-1)!;
  // Sequential requests at each size: 200 of each, so a p99 is not just the one slowest request.
  // 1,000 requests a size: the p99 is then the tenth slowest, not the second (which varied from run to run).
  const reads = options.quick ? { trace: 30, page: 10 } : { trace: 1000, page: 1000 };
  const warmReads = options.quick ? { trace: 5, page: 5 } : { trace: 300, page: 300 };
  const loadSeconds = options.quick ? 3 : 20;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "yutrace-scale-"));
  const port = await freePort();
  let chainPort = await freePort();
  while (chainPort === port) chainPort = await freePort();
  let yt: YuTraceProcess | undefined;
  try {
    // ---- 1. seeding, and read latency as the store grows
    progress(`scale: gateway in this process on :${port}, hardhat node :${chainPort}`);
    const config = loadConfig(
      {
        YUTRACE_DATA_DIR: dataDir,
        YUTRACE_PORT: String(port),
        YUTRACE_CHAIN_PORT: String(chainPort),
        YUTRACE_LOG_LEVEL: "silent",
        YUTRACE_DEMO_DATA: "false",
        // Anchored when the seeder asks (a few anchor transactions), not every second.
        YUTRACE_ANCHOR_INTERVAL_MS: "3600000",
      },
      dataDir,
    );
    const gateway = await startGateway(config, { logger: pino({ level: "silent" }) });
    let seeder: Seeder;
    const grown: GrowResult[] = [];
    const latencies: Latency[] = [];
    try {
      seeder = await prepareSeed(gateway, {
        batches: options.quick ? 20 : 200,
        serials: 1000,
        realSubmissions: options.quick ? 2 : 5,
      });
      for (const size of sizes) {
        progress(`scale: seeding to ${fmt(size)} events`);
        grown.push(await seeder.grow(size));
        const g = grown.at(-1)!;
        progress(
          `scale: ${fmt(g.events)} events; loading ${g.loadSeconds.toFixed(1)} s, anchoring ${g.anchorSeconds.toFixed(1)} s (${g.anchorTransactions} tx)`,
        );
        // Read latency of the store, not of LevelDB compacting what was just loaded, nor of V8
        // collecting what the loader (which shares this process with the gateway) left behind: each
        // size is read with a heap of ~80 MB. Without it (--trace-gc, 17:36 run) the reads at 1M ran
        // with ~350 MB of old space, against ~100 MB at 10k, and young collections of 4-8 ms instead
        // of 2-4. It did not settle the events page's p99 at 1M (BENCHMARKS.md).
        const waited = await waitUntilQuiet(options.quick ? 10 : 180);
        // The same reads once first, not measured: on the tables the loader left (900,000 events in
        // ~30 s, four times ingest's target rate) they set off LevelDB's compactions, which then ran
        // beside the measured reads at 1M (leveldb.stats before and after, 23:56 experiment:
        // ~470 MB compacted during one pass). Measured once LevelDB is done with them.
        await readLatency(gateway.url, seeder, size, warmReads, "warm-up");
        const compacted = await settleStore(gateway.store, options.quick ? 10 : 180);
        const heap = collectGarbage();
        progress(
          `scale: ${fmt(g.events)} events; the gateway's process was quiet after ${waited.toFixed(1)} s, ` +
            `and LevelDB ${compacted.toFixed(1)} s after a warm-up pass; ` +
            `V8 heap ${mb(heap.before)} -> ${mb(heap.after)} MB after a full collection`,
        );
        latencies.push(await readLatency(gateway.url, seeder, size, reads));
      }
    } finally {
      await gateway.stop();
    }
    const seedSeconds = grown.reduce((sum, g) => sum + g.loadSeconds + g.anchorSeconds, 0);
    const anchorTransactions = grown.reduce((sum, g) => sum + g.anchorTransactions, 0);
    const storeBytes = await folderBytes(path.join(dataDir, "store"));
    const ingestRate = grown[0]!.ingestEventsPerSecond!;
    progress(`scale: ${fmt(total)} events seeded in ${seedSeconds.toFixed(0)} s; store ${mb(storeBytes)} MB`);

    // ---- 2. restart as `npm start` runs it: new in-memory chain, replay, index refresh
    progress("scale: restarting YuTrace (scripts/start.ts) on the same data folder");
    const restartStarted = performance.now();
    yt = await startYuTrace({
      dataDir,
      port,
      chainPort,
      logLevel: "info",
      timeoutMs: 600_000,
      env: { YUTRACE_DEMO_DATA: "false" },
    });
    const traceUrl = `${yt.url}/01/${BENCH_GTIN}/10/${seeder.fixed.lot}`;
    await untilReady(yt.url, 600_000);
    const timeline = await fetchJson<{ timeline: { status: string }[] }>(traceUrl, { accept: "application/json" });
    const restartSeconds = (performance.now() - restartStarted) / 1000;
    if (timeline.timeline.length !== FIXED_BATCH_EVENTS || timeline.timeline.some((t) => t.status !== "anchored")) {
      throw new Error(`after the restart the fixed batch shows ${JSON.stringify(timeline.timeline.length)} events`);
    }
    const startLog = logEntries(yt.output());
    const replayMs = startLog.find((e) => e.msg === "ledger rebuilt from the transaction log")?.ms ?? NaN;
    const refreshMs = startLog.find((e) => e.msg === "index refreshed after the replay")?.ms ?? NaN;
    progress(`scale: ready after ${restartSeconds.toFixed(1)} s (replay ${ms(replayMs)}, index ${ms(refreshMs)})`);

    // ---- 3. memory: idle right after start, then under scan load; again with V8's heap capped
    const memory = await memoryUnderLoad(yt, seeder, loadSeconds);
    await stopYuTrace(yt, 60_000);
    yt = undefined;
    progress(`scale: the same with NODE_OPTIONS=${HEAP_CAP}`);
    yt = await startYuTrace({
      dataDir,
      port,
      chainPort,
      timeoutMs: 600_000,
      env: { YUTRACE_DEMO_DATA: "false", NODE_OPTIONS: HEAP_CAP },
    });
    await untilReady(yt.url, 600_000);
    const capped = await memoryUnderLoad(yt, seeder, loadSeconds);
    await stopYuTrace(yt, 60_000);
    yt = undefined;

    // ---- 4. npm run reindex on the stopped gateway's data folder, and the I/O floor
    progress(`scale: npm run reindex of ${fmt(total)} events`);
    const reindexStarted = performance.now();
    const reindexOut = await reindex(dataDir);
    const reindexSeconds = (performance.now() - reindexStarted) / 1000;
    const rebuildSeconds = Number(/index rebuilt in ([\d.]+) s/.exec(reindexOut)?.[1] ?? NaN);
    const replayed = /replaying/.test(reindexOut);
    progress(`scale: reindex took ${reindexSeconds.toFixed(1)} s (rebuild ${rebuildSeconds} s)`);
    const floor = await readJournal(dataDir);
    progress(`scale: reading the journal once took ${floor.seconds.toFixed(1)} s (${mb(floor.bytes)} MB of JSON)`);

    // ---- figures
    const first = latencies[0]!;
    const last = latencies.at(-1)!;
    const curve = (pick: (l: Latency) => number) =>
      latencies.map((l) => `${fmt(l.events)}: ${pick(l).toFixed(1)} ms`).join(", ");
    const growth = (what: string, count: number, pick: (l: Latency) => number, label: string): Figure => ({
      part: "scale",
      what: `${what} with ${fmt(last.events)} events stored (${count} sequential requests)`,
      value: pick(last),
      unit: "ms",
      target: { op: "<=", value: 1.5 * pick(first) },
      baseline: {
        what: `the same with ${fmt(first.events)} events stored; ratio = growth`,
        value: pick(first),
        unit: "ms",
        ratio: pick(last) / pick(first),
      },
      note: `${label} by store size: ${curve(pick)}`,
    });
    const memoryNote = (m: Memory) =>
      `at the peak ${mb(m.peak.anon)} MB anonymous (V8 heap and native) + ${mb(m.peak.file)} MB file-backed ` +
      `(the node binary and LevelDB's memory-mapped tables), idle ${mb(m.idle.anon)} + ${mb(m.idle.file)} MB; ${Math.round(m.load.requestsPerSecond)} req/s, p50 ${m.load.latencyMs.p50} ms, ` +
      `p99 ${m.load.latencyMs.p99} ms (item pages of issued serials and trace pages of 5 batches, HTML); sampled every 200 ms`;
    return [
      {
        part: "scale",
        what: `seeding ${fmt(total)} events (bench/lib/seed.ts: real records, LevelDB batches, real anchors)`,
        value: seedSeconds,
        unit: "s",
        target: null,
        baseline: {
          what: "the same events through IngestService.submit (first submissions)",
          value: total / ingestRate,
          unit: "s",
          ratio: total / ingestRate / seedSeconds,
        },
        note: `${Math.round(total / seedSeconds)} events/s against ${Math.round(ingestRate)} events/s through IngestService.submit; ${anchorTransactions} anchor transactions; the baseline is extrapolated from ${fmt(grown[0]!.ingestEvents)} events`,
      },
      {
        part: "scale",
        what: `store size on disk with ${fmt(total)} events`,
        value: storeBytes / 2 ** 20,
        unit: "MB",
        target: null,
        baseline: {
          what: "the events' canonical JSON alone (the texts their ids hash), uncompressed",
          value: seeder.eventBytes() / 2 ** 20,
          unit: "MB",
          ratio: storeBytes / seeder.eventBytes(),
        },
        note: `${Math.round(storeBytes / total)} bytes per event (journal, event index, proofs), LevelDB as left by the loader`,
      },
      {
        part: "scale",
        what: `restart with ${fmt(total)} events stored: scripts/start.ts until /readyz is 200 and a trace page is served`,
        value: restartSeconds,
        unit: "s",
        target: { op: "<=", value: 60 },
        baseline: {
          what: "replay + full rebuildIndex, start-up's steps before (npm run reindex in this run)",
          value: reindexSeconds,
          unit: "s",
          ratio: reindexSeconds / restartSeconds,
        },
        note: `replay ${ms(replayMs)}, index refresh after the replay ${ms(refreshMs)}; the rest is Node, ts-node and hardhat node start-up`,
      },
      {
        part: "scale",
        what: `npm run reindex of ${fmt(total)} events (gateway stopped)`,
        value: reindexSeconds,
        unit: "s",
        target: { op: "<=", value: 120 },
        baseline: {
          what: "reading and decoding every journal record once",
          value: floor.seconds,
          unit: "s",
          ratio: floor.seconds / reindexSeconds,
        },
        note: `rebuildIndex ${rebuildSeconds} s${replayed ? " after a replay onto a new local chain" : ""}; journal ${fmt(floor.records)} records, ${mb(floor.bytes)} MB of JSON`,
      },
      {
        part: "scale",
        what: `gateway RSS with ${fmt(total)} events stored, started as npm start does (V8 heap capped at 256 MB), peak under scan load (50 connections, ${loadSeconds} s)`,
        value: mib(memory.peak.rss),
        unit: "MB",
        target: { op: "<=", value: 500 },
        baseline: {
          what: "RSS of the same gateway idle right after start",
          value: mib(memory.idle.rss),
          unit: "MB",
          ratio: memory.peak.rss / memory.idle.rss,
        },
        note: memoryNote(memory),
      },
      {
        part: "scale",
        what: `the same with the heap cap given again through NODE_OPTIONS=${HEAP_CAP} (npm start already passes it)`,
        value: mib(capped.peak.rss),
        unit: "MB",
        target: null,
        baseline: {
          what: "RSS of that gateway idle right after start",
          value: mib(capped.idle.rss),
          unit: "MB",
          ratio: capped.peak.rss / capped.idle.rss,
        },
        note: memoryNote(capped),
      },
      growth(
        `trace page JSON of a fixed ${FIXED_BATCH_EVENTS}-event batch, p50`,
        reads.trace,
        (l) => l.trace.p50,
        "p50",
      ),
      growth(
        `trace page JSON of a fixed ${FIXED_BATCH_EVENTS}-event batch, p99`,
        reads.trace,
        (l) => l.trace.p99,
        "p99",
      ),
      growth(
        "first GET /api/v1/batches/{id}/events?limit=50 of a growing batch, p50",
        reads.page,
        (l) => l.page.p50,
        "p50",
      ),
      growth(
        "first GET /api/v1/batches/{id}/events?limit=50 of a growing batch, p99",
        reads.page,
        (l) => l.page.p99,
        "p99",
      ),
    ];
  } finally {
    if (yt) await killYuTrace(yt);
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** A full V8 collection of this process, now; the heap used before and after it. */
function collectGarbage(): { before: number; after: number } {
  let gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    v8.setFlagsFromString("--expose-gc");
    gc = vm.runInNewContext("gc") as () => void;
    v8.setFlagsFromString("--no-expose-gc");
  }
  const before = process.memoryUsage().heapUsed;
  gc();
  return { before, after: process.memoryUsage().heapUsed };
}

/**
 * Waits until LevelDB has stopped compacting the store (the `leveldb.stats` of both its databases
 * the same over a second, and the process quiet: the stats move when a compaction ends), or
 * `maxSeconds` passed; returns the seconds waited.
 */
async function settleStore(store: Store, maxSeconds: number): Promise<number> {
  const started = performance.now();
  const left = () => maxSeconds - (performance.now() - started) / 1000;
  // Both databases (the events' bodies have their own). classic-level has getProperty; the `level`
  // package's types do not say so.
  const stats = () =>
    [store.db, store.eventBodies]
      .map((db) => (db as unknown as { getProperty(name: string): string }).getProperty("leveldb.stats"))
      .join("\n");
  for (;;) {
    await waitUntilQuiet(Math.max(left(), 0));
    const before = stats();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (stats() === before || left() <= 0) break;
  }
  return (performance.now() - started) / 1000;
}

/** p50/p99 of the fixed batch's trace JSON and of the first events page of a bulk batch, sequentially. */
async function readLatency(
  url: string,
  seeder: Seeder,
  events: number,
  count: { trace: number; page: number },
  pass = "measured",
): Promise<Latency> {
  const bulk = seeder.bulk[0]!;
  const { trace, page } = await runDriver<{ trace: SequentialResult; page: SequentialResult }>(
    "autocannon",
    {
      url,
      jobs: [
        {
          kind: "sequential",
          name: "trace",
          path: `/01/${BENCH_GTIN}/10/${seeder.fixed.lot}`,
          headers: { accept: "application/json" },
          count: count.trace,
          warmup: 5,
        },
        {
          kind: "sequential",
          name: "page",
          path: `/api/v1/batches/${bulk.batchId}/events?limit=50`,
          headers: { authorization: `Bearer ${seeder.apiKey}` },
          count: count.page,
          warmup: 2,
        },
      ],
    },
    600_000,
  );
  const pick = (r: SequentialResult) => ({ p50: r.latencyMs.p50, p99: r.latencyMs.p99 });
  progress(
    `scale: ${fmt(events)} events, ${pass}: trace p50 ${trace.latencyMs.p50.toFixed(1)} ms p99 ${trace.latencyMs.p99.toFixed(1)} ms; ` +
      `events page p50 ${page.latencyMs.p50.toFixed(1)} ms p99 ${page.latencyMs.p99.toFixed(1)} ms`,
  );
  return { events, trace: pick(trace), page: pick(page) };
}

/** What shoppers scan: item pages of issued serials, and trace pages of the fixed and four bulk batches. */
function scanPaths(seeder: Seeder): string[] {
  const items = seeder.serials.slice(0, 20).map((serial) => `/01/${BENCH_GTIN}/10/${seeder.fixed.lot}/21/${serial}`);
  const traces = [seeder.fixed, ...seeder.bulk.slice(0, 4)].map((batch) => `/01/${BENCH_GTIN}/10/${batch.lot}`);
  return [...items, ...traces];
}

async function untilReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/readyz`).catch(() => null);
    await res?.arrayBuffer();
    if (res?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`/readyz not 200 within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function fetchJson<T>(url: string, headers: Record<string, string>): Promise<T> {
  const res = await fetch(url, { headers });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** The gateway's JSON log lines. */
function logEntries(output: string): { msg?: string; ms?: number }[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { msg?: string; ms?: number }];
      } catch {
        return [];
      }
    });
}

interface RssSample {
  rss: number;
  anon: number;
  file: number;
}

interface Memory {
  idle: RssSample;
  peak: RssSample;
  load: LoadResult;
}

/** Peak RSS of the gateway process idle for 2 s, then while a driver process scans it for `seconds`. */
async function memoryUnderLoad(yt: YuTraceProcess, seeder: Seeder, seconds: number): Promise<Memory> {
  const pid = yt.child.pid!;
  // A gateway opened on a store another process just wrote compacts it first: LevelDB reads the
  // tables it merges through memory maps, which count as the process's file-backed RSS (page cache
  // the kernel can take back) until they are deleted. Measure the steady state, after that.
  const waited = await waitUntilQuiet(180, pid);
  progress(`scale: the gateway's process was quiet after ${waited.toFixed(1)} s`);
  const idleSampler = rssSampler(pid);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const idle = await idleSampler.stop();
  progress(`scale: memory under scan load, ${seconds} s at 50 connections`);
  const sampler = rssSampler(pid);
  const { scan } = await runDriver<{ scan: LoadResult }>(
    "autocannon",
    {
      url: yt.url,
      jobs: [
        {
          kind: "load",
          name: "scan",
          paths: scanPaths(seeder),
          headers: {},
          connections: 50,
          seconds,
          warmupSeconds: 0,
        },
      ],
    },
    (seconds + 120) * 1000,
  );
  const loaded = await sampler.stop();
  const peakOf = (samples: RssSample[]) => samples.reduce((a, b) => (b.rss > a.rss ? b : a));
  const memory = { idle: peakOf(idle), peak: peakOf(loaded), load: scan };
  progress(`scale: RSS idle ${mb(memory.idle.rss)} MB, peak under load ${mb(memory.peak.rss)} MB`);
  return memory;
}

/** Samples VmRSS, and its anonymous and file-backed parts, of `pid` every 200 ms until `stop()`. */
function rssSampler(pid: number): { stop(): Promise<RssSample[]> } {
  const samples: RssSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const status = await readFile(`/proc/${pid}/status`, "utf8");
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status)?.[1]) * 1024;
      const sample = { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") };
      if (Number.isFinite(sample.rss)) samples.push(sample);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      if (samples.length === 0) throw new Error(`no RSS samples of process ${pid}`);
      return samples;
    },
  };
}

/** Runs `npm run reindex` (without its compile step) on `dataDir`; returns what it printed. */
function reindex(dataDir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    void freePort().then((chainPort) =>
      execFile(
        process.execPath,
        [TS_NODE_BIN, "--transpile-only", "scripts/reindex.ts"],
        {
          cwd: ROOT,
          env: { ...process.env, YUTRACE_DATA_DIR: dataDir, YUTRACE_CHAIN_PORT: String(chainPort) },
          maxBuffer: 64 * 2 ** 20,
          timeout: 900_000,
        },
        (error, stdout, stderr) =>
          error ? reject(new Error(`reindex failed: ${error.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
  });
}

/** The I/O floor of a rebuild: every journal record read and decoded once. */
async function readJournal(dataDir: string): Promise<{ seconds: number; records: number; bytes: number }> {
  const store = await Store.openForTool(dataDir);
  try {
    const started = performance.now();
    let records = 0;
    let bytes = 0;
    for await (const value of store.journal.values({ valueEncoding: "utf8" })) {
      bytes += (value as string).length;
      JSON.parse(value as string);
      records++;
    }
    return { seconds: (performance.now() - started) / 1000, records, bytes };
  } finally {
    await store.close();
  }
}

async function folderBytes(dir: string): Promise<number> {
  let bytes = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    bytes += entry.isDirectory() ? await folderBytes(file) : (await stat(file)).size;
  }
  return bytes;
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const mib = (bytes: number) => bytes / 2 ** 20;
const ms = (n: number) => (Number.isFinite(n) ? `${(n / 1000).toFixed(1)} s` : "n/a");
