/**
 * `npm run bench ingest`: event ingest through POST /api/v1/events (submissions of 500, custodial
 * signing) sustained for a while, the time from 202 to anchored, and the gas per event — against
 * the usual EVM design (one NaiveEventLog transaction per event) through the same hardhat node.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import os from "node:os";
import { ContractFactory, Interface, JsonRpcProvider } from "ethers";

import { batchUri } from "../../server/domain/digital-link";
import { batchIdOf } from "../../server/domain/batch-id";
import { EVENT_BODIES_FOLDER } from "../../server/store/store";
import {
  cpuSnapshot,
  cpuUsed,
  processCpuMs,
  waitUntilQuiet,
  writeStallsIn,
  type CpuSnapshot,
  type CpuUsed,
} from "../lib/cpu";
import type { Figure } from "../lib/report";
import { progress } from "../lib/report";
import { BENCH_GTIN, call, createBatches, createOrg, ROOT, runDriver, startStack } from "../lib/stack";

export interface IngestOptions {
  quick: boolean;
}

interface IngestResult {
  events: number;
  submissions: number;
  seconds: number;
  eventsPerSecond: number;
  errors: Record<string, number>;
  acceptMs: { p50: number; p99: number; max: number };
  anchorLagMs: { n: number; unanchored: number; p50: number; p99: number; max: number };
  cpu: { atStart: CpuSnapshot; atEnd: CpuSnapshot; selfMs: number; loadEndedAt: number };
}

interface NaiveResult {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  gasPerEvent: number;
  errors: Record<string, number>;
  /** From sending each transaction to its receipt. */
  confirmMs: { p50: number; p99: number };
  /** Over the baseline's run, from its driver: every receipt is in, so all its work is. */
  cpu: CpuUsed;
}

const ANCHORED = new Interface([
  "event Anchored(uint64 indexed seq, bytes32 indexed root, uint32 leafCount, uint32 eventCount)",
]);

export async function ingest(options: IngestOptions): Promise<Figure[]> {
  const seconds = options.quick ? 4 : Number(process.env.BENCH_INGEST_SECONDS ?? 60);
  const naiveSeconds = options.quick ? 3 : 20;
  // `BENCH_PROFILE_DIR=… npm run bench ingest` writes the gateway's CPU profile there.
  const profile = process.env.BENCH_PROFILE_DIR;
  const stack = await startStack(
    { YUTRACE_WRITE_RATE_LIMIT: "1000000", YUTRACE_ANCHOR_INTERVAL_MS: "1000" },
    profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [],
  );
  try {
    const producer = await createOrg(stack, "producer");
    const lots = await createBatches(stack, producer, options.quick ? 4 : 20);
    const provider = new JsonRpcProvider(stack.yt.chainUrl, undefined, { staticNetwork: true });
    const ledger = (await call<{ address: string }>(stack, "GET", "/api/v1/ledger")).address;
    const firstBlock = (await provider.getBlockNumber()) + 1;

    // Several factories posting at once: 8 in flight (4 left the main thread waiting; 16 gave the
    // same events/s as 8 on 2 cores).
    const connections = Number(process.env.BENCH_INGEST_CONNECTIONS ?? 8);
    // The processes whose CPU the account names: the gateway (all its threads) and its hardhat node.
    const watch = { gateway: [stack.yt.child.pid!], chain: stack.yt.childPids };
    progress(`ingest: ${seconds} s of submissions of 500 sensor events, ${connections} connections`);
    const result = await runDriver<IngestResult>(
      "ingest",
      {
        url: stack.yt.url,
        apiKey: producer.apiKey,
        batches: lots.map((lot) => batchUri(stack.yt.url, { gtin: BENCH_GTIN, lot })),
        seconds,
        size: 500,
        concurrency: connections,
        sampleEvery: 5,
        timeBase: Date.now() - 2 * 86_400_000,
        watch,
      },
      (seconds + 180) * 1000,
    );
    if (Object.keys(result.errors).length > 0) progress(`ingest errors: ${JSON.stringify(result.errors)}`);
    progress(`ingest: ${Math.round(result.eventsPerSecond)} events/s; waiting until everything is anchored`);
    await waitUntilAnchored(stack.yt.url);
    // The account runs until the gateway has anchored everything and finished the compactions the
    // load set off: until it uses under 10 % of a core (at most 60 s; no wait without /proc).
    const gatewayPid = stack.yt.child.pid!;
    const quiet = processCpuMs(gatewayPid) === null ? null : (await waitUntilQuiet(60, gatewayPid)) < 60;
    const ingestCpu: IngestCpu = {
      load: cpuUsed(result.cpu.atStart, result.cpu.atEnd),
      // The two snapshots are of different processes (the driver's, this one's): no `self` here.
      all: { ...cpuUsed(result.cpu.atStart, cpuSnapshot(watch)), self: NaN },
      tailSeconds: (Date.now() - result.cpu.loadEndedAt) / 1000,
      quiet,
      generatorMs: result.cpu.selfMs,
      stalls: {
        main: await writeStalls(path.join(stack.yt.dataDir, "store")),
        bodies: await writeStalls(path.join(stack.yt.dataDir, "store", EVENT_BODIES_FOLDER)),
      },
    };

    // Gas of every anchor the load caused, from the chain itself.
    const lastBlock = await provider.getBlockNumber();
    let anchorGas = 0n;
    let anchoredEvents = 0;
    let anchors = 0;
    for (let n = firstBlock; n <= lastBlock; n++) {
      const block = await provider.getBlock(n);
      for (const hash of block?.transactions ?? []) {
        const receipt = await provider.getTransactionReceipt(hash);
        if (!receipt || receipt.to?.toLowerCase() !== ledger.toLowerCase()) continue;
        const log = receipt.logs.map((l) => ANCHORED.parseLog(l)).find((parsed) => parsed?.name === "Anchored");
        if (!log) continue;
        anchors++;
        anchorGas += receipt.gasUsed;
        anchoredEvents += Number(log.args.eventCount);
      }
    }

    progress(`baseline: ${naiveSeconds} s of one NaiveEventLog transaction per event, 8 senders, same node`);
    const naive = await naiveBaseline(
      provider,
      stack.yt.chainUrl,
      naiveSeconds,
      batchIdOf(BENCH_GTIN, lots[0]!),
      watch,
    );
    provider.destroy();

    const gasPerEvent = Number(anchorGas) / Math.max(anchoredEvents, 1);
    return [
      {
        part: "ingest",
        what: `events accepted through POST /api/v1/events, submissions of 500, ${connections} connections, ${Math.round(result.seconds)} s sustained`,
        value: result.eventsPerSecond,
        unit: "events/s",
        target: { op: ">=", value: 10_000 },
        baseline: {
          what: "one NaiveEventLog transaction per event, same node",
          value: naive.eventsPerSecond,
          unit: "events/s",
          ratio: result.eventsPerSecond / naive.eventsPerSecond,
        },
        note: `${result.events} events in ${result.submissions} submissions; 202 p50 ${Math.round(result.acceptMs.p50)} ms, p99 ${Math.round(result.acceptMs.p99)} ms; errors ${JSON.stringify(result.errors)}`,
      },
      {
        part: "ingest",
        what: "time from 202 to anchored on-chain, p99 (sampled submissions, polled every 100 ms)",
        value: result.anchorLagMs.p99,
        unit: "ms",
        target: { op: "<=", value: 3000 },
        baseline: {
          what: "one NaiveEventLog transaction per event: from sending it to its receipt, p99 (hardhat mines a block per transaction)",
          value: naive.confirmMs.p99,
          unit: "ms",
          ratio: naive.confirmMs.p99 / result.anchorLagMs.p99,
        },
        note: `p50 ${Math.round(result.anchorLagMs.p50)} ms, max ${Math.round(result.anchorLagMs.max)} ms over ${result.anchorLagMs.n} submissions (${result.anchorLagMs.unanchored} not anchored); anchor interval 1 s. The baseline's p50 ${Math.round(naive.confirmMs.p50)} ms: it waits for a block for each event, where YuTrace answers 202 once the submission is stored (p99 ${Math.round(result.acceptMs.p99)} ms) and anchors what came in each second in one transaction`,
      },
      {
        part: "ingest",
        what: "gas per event at that load (anchor gas ÷ events anchored)",
        value: gasPerEvent,
        unit: "gas",
        target: { op: "<=", value: 100 },
        baseline: {
          what: "gas per event of one NaiveEventLog transaction per event",
          value: naive.gasPerEvent,
          unit: "gas",
          ratio: naive.gasPerEvent / gasPerEvent,
        },
        note: `${anchors} anchor transactions, ${anchoredEvents} events, ${anchorGas} gas`,
      },
      ...cpuFigures(result, ingestCpu, naive),
    ];
  } finally {
    await stack.stop();
  }
}

/** The ingest run's CPU: snapshots from the driver (load start and end) and from here (all anchored, quiet). */
interface IngestCpu {
  /** The load alone: the machine's busy share, the gateway's threads, the load generator's own time. */
  load: CpuUsed;
  /** From the load's start until every submission was anchored and the gateway quiet. */
  all: CpuUsed;
  /** Seconds from the load's end (the driver's last snapshot) until everything was anchored and the gateway quiet. */
  tailSeconds: number;
  /** Whether the gateway was quiet within 60 s of that (null: not known, without /proc). */
  quiet: boolean | null;
  /** The load generator's own CPU milliseconds over the load. */
  generatorMs: number;
  /** Writes each LevelDB database stopped since the gateway started (null: no LOG to read). */
  stalls: { main: number | null; bodies: number | null };
}

async function writeStalls(folder: string): Promise<number | null> {
  try {
    return writeStallsIn(await readFile(path.join(folder, "LOG"), "utf8"));
  } catch {
    return null;
  }
}

/**
 * Where the CPU went, from /proc (no figures elsewhere than Linux): what an event accepted cost the
 * gateway, its main thread (which accepts submissions one at a time) and the whole machine, against
 * what 100× the baseline's events/s would allow and what one transaction per event costs. The
 * gateway's and the machine's figures run until every submission is anchored and the gateway is
 * quiet, so anchoring and the compactions the load set off are in them.
 */
function cpuFigures(ingest: IngestResult, cpu: IngestCpu, naive: NaiveResult): Figure[] {
  const gatewayMs = cpu.all.processes.gateway;
  const mainMs = cpu.load.threads.gateway?.main ?? null;
  const busyMs = cpu.all.machineBusyMs;
  const naiveBusyMs = naive.cpu.machineBusyMs;
  if (gatewayMs == null || mainMs === null || busyMs === null || naiveBusyMs === null) return [];
  if (ingest.events === 0 || naive.events === 0) return [];
  const cpus = os.availableParallelism();
  const perEvent = (ms: number | null | undefined, events: number) => (ms == null ? NaN : (ms * 1000) / events);
  const us = (ms: number | null | undefined, events: number) =>
    ms == null ? "n/a" : `${Math.round(perEvent(ms, events))} µs`;
  const pct = (share: number | null) => (share === null ? "n/a" : `${Math.round(share * 100)} %`);
  const ofCore = (ms: number | null | undefined, seconds: number) =>
    ms == null ? "n/a" : `${Math.round(ms / (10 * seconds))} % of a core`;
  // 100× the baseline's events/s leaves this much CPU an event: on every logical CPU, or on one thread.
  const target = 100 * naive.eventsPerSecond;
  const budgetAll = (cpus * 1e6) / target;
  const budgetOne = 1e6 / target;
  const saturated = (cpu.load.machineBusyShare ?? 0) >= 0.9;
  const stalled = (cpu.stalls.main ?? 0) + (cpu.stalls.bodies ?? 0) > 0;
  const unsaturated = stalled
    ? " (not saturated: part of the time the writes waited on LevelDB, below)"
    : " (not saturated: part of the time something else than the CPU bounded events/s)";
  const busy = `the machine was busy ${pct(cpu.load.machineBusyShare)} of its ${cpus} logical CPUs' time during the load${saturated ? "" : unsaturated}, steal ${cpu.load.machineStealMs ?? "n/a"} ms`;
  const tail =
    `${cpu.tailSeconds.toFixed(1)} s from the load's end until all was anchored and ` +
    (cpu.quiet === false ? "the gateway still not quiet after 60 s" : "the gateway quiet");
  const threads = cpu.load.threads.gateway;
  const [first, second, ...others] = threads?.others ?? [];
  const load = ingest.events;
  // The machine's count (/proc/stat) and the processes' differ by a few per cent: a "rest" below
  // zero is that difference, not CPU.
  const rest = (busy: number, used: CpuUsed, own: number, events: number) => {
    const ms = busy - Object.values(used.processes).reduce<number>((sum, p) => sum + (p ?? 0), own);
    return ms > 0 ? us(ms, events) : "none";
  };
  const gatewayNaive = naive.cpu.processes.gateway;
  return [
    {
      part: "ingest",
      what: "gateway CPU per event accepted, all its threads, from the load's start until all is anchored and it is quiet (/proc)",
      value: perEvent(gatewayMs, load),
      unit: "µs",
      target: null,
      baseline: {
        what: `what 100× the baseline's events/s would leave an event on all ${cpus} logical CPUs: ${cpus} s ÷ ${Math.round(target)} events`,
        value: budgetAll,
        unit: "µs",
        ratio: budgetAll / perEvent(gatewayMs, load),
      },
      note:
        `during the load: main thread ${us(mainMs, load)}, the next two ${us(first, load)} and ${us(second, load)} ` +
        `(presumably the prepare worker and LevelDB's compaction thread: Node names no thread), ${others.length} ` +
        `others (V8's and libuv's helpers) ${us(
          others.reduce((a, b) => a + b, 0),
          load,
        )}, threads ended ${us(threads?.ended, load)}; after it, ` +
        `${tail}: ${us(gatewayMs - (cpu.load.processes.gateway ?? 0), load)}; ${busy}; LevelDB stopped writes ` +
        `${cpu.stalls.main ?? "n/a"} times in the main database and ${cpu.stalls.bodies ?? "n/a"} in the events' ` +
        `bodies' (their LOGs; one background thread for both)`,
    },
    {
      part: "ingest",
      what: "gateway main thread CPU per event accepted during the load (it accepts submissions one at a time)",
      value: perEvent(mainMs, load),
      unit: "µs",
      target: null,
      baseline: {
        what: `what 100× the baseline's events/s would leave an event on one thread: 1 s ÷ ${Math.round(target)} events`,
        value: budgetOne,
        unit: "µs",
        ratio: budgetOne / perEvent(mainMs, load),
      },
      note: `the main thread was busy ${ofCore(mainMs, ingest.seconds)} during the load`,
    },
    {
      part: "ingest",
      what: "machine CPU per event accepted: every process on it (gateway, hardhat node, load generator, the bench), from the load's start until all is anchored and the gateway quiet (/proc)",
      value: perEvent(busyMs, load),
      unit: "µs",
      target: null,
      baseline: {
        what: "the same per event of one NaiveEventLog transaction per event, over the baseline's run (to its last receipt)",
        value: perEvent(naiveBusyMs, naive.events),
        unit: "µs",
        ratio: perEvent(naiveBusyMs, naive.events) / perEvent(busyMs, load),
      },
      note:
        `ingest: gateway ${us(gatewayMs, load)}, hardhat node ${us(cpu.all.processes.chain, load)}, load generator ` +
        `${us(cpu.generatorMs, load)}, the rest (the bench's polling, other processes) ` +
        `${rest(busyMs, cpu.all, cpu.generatorMs, load)}. Baseline: hardhat node ` +
        `${us(naive.cpu.processes.chain, naive.events)} (${ofCore(naive.cpu.processes.chain, naive.seconds)}), senders ` +
        `${us(naive.cpu.self, naive.events)}, gateway (indexing the baseline's blocks) ${us(gatewayNaive, naive.events)}, ` +
        `the rest ${rest(naiveBusyMs, naive.cpu, naive.cpu.self, naive.events)}; machine busy ` +
        `${pct(naive.cpu.machineBusyShare)}`,
    },
  ];
}

async function waitUntilAnchored(url: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const res = await fetch(`${url}/readyz`);
    const body = (await res.json()) as { pendingSubmissions: number };
    if (body.pendingSubmissions === 0) return;
    if (Date.now() > deadline) throw new Error(`still ${body.pendingSubmissions} submissions pending after 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function naiveBaseline(
  provider: JsonRpcProvider,
  rpc: string,
  seconds: number,
  batchId: string,
  watch: Record<string, number[]>,
): Promise<NaiveResult> {
  const artifact = JSON.parse(
    await readFile(path.join(ROOT, "artifacts/contracts/bench/NaiveEventLog.sol/NaiveEventLog.json"), "utf8"),
  ) as { abi: unknown[]; bytecode: string };
  // Hardhat's unlocked accounts 10–17: the gateway uses its own admin and relayer accounts.
  const accounts = (await provider.send("eth_accounts", [])) as string[];
  const senders = accounts.slice(10, 18);
  const deployer = await provider.getSigner(senders[0]!);
  const log = await new ContractFactory(artifact.abi as never, artifact.bytecode, deployer).deploy();
  await log.waitForDeployment();
  const eventJson = JSON.stringify({
    type: "ObjectEvent",
    action: "OBSERVE",
    bizStep: "sensor_reporting",
    eventTime: "2026-11-20T08:00:00.__N__+08:00",
    eventTimeZoneOffset: "+08:00",
    quantityList: [{ epcClass: `https://localhost/01/${BENCH_GTIN}/10/B00000`, quantity: 1000, uom: "XBX" }],
    readPoint: { district: "巴南区", name: "渝味冷库 2 号库" },
    sensorElementList: [
      {
        sensorMetadata: { deviceID: "cold-room-1" },
        sensorReport: [
          { type: "Temperature", value: 2.4, uom: "CEL" },
          { type: "RelativeHumidity", value: 61, uom: "A93" },
        ],
      },
    ],
  });
  return runDriver<NaiveResult>(
    "naive",
    { rpc, address: await log.getAddress(), accounts: senders, seconds, batchId, eventJson, watch },
    (seconds + 120) * 1000,
  );
}
