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
import type { CpuUsed } from "../lib/cpu";
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
  cpu: CpuUsed;
}

interface NaiveResult {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  gasPerEvent: number;
  errors: Record<string, number>;
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

    // Several factories posting at once; with submissions prepared on a worker thread, 8 in flight
    // keep both the worker and the main thread busy (4 left the main thread waiting).
    const connections = Number(process.env.BENCH_INGEST_CONNECTIONS ?? 8);
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
        watch: { gateway: [stack.yt.child.pid!], chain: stack.yt.childPids },
      },
      (seconds + 180) * 1000,
    );
    if (Object.keys(result.errors).length > 0) progress(`ingest errors: ${JSON.stringify(result.errors)}`);
    progress(`ingest: ${Math.round(result.eventsPerSecond)} events/s; waiting until everything is anchored`);
    await waitUntilAnchored(stack.yt.url);

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
    const naive = await naiveBaseline(provider, stack.yt.chainUrl, naiveSeconds, batchIdOf(BENCH_GTIN, lots[0]!), {
      gateway: [stack.yt.child.pid!],
      chain: stack.yt.childPids,
    });
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
        baseline: null,
        note: `p50 ${Math.round(result.anchorLagMs.p50)} ms, max ${Math.round(result.anchorLagMs.max)} ms over ${result.anchorLagMs.n} submissions (${result.anchorLagMs.unanchored} not anchored); anchor interval 1 s`,
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
      ...cpuFigures(result, naive),
    ];
  } finally {
    await stack.stop();
  }
}

/**
 * Where the CPU went, from /proc (none elsewhere than Linux): what the machine spent per event in
 * the ingest run and in the baseline, and how many cores 100× the baseline would take at this run's
 * cost per event. Both runs have the machine to themselves; the machine's busy time counts every
 * process on it (gateway, hardhat node, load generator, this orchestrator).
 */
function cpuFigures(ingest: IngestResult, naive: NaiveResult): Figure[] {
  const busy = ingest.cpu.machineBusyMs;
  const naiveBusy = naive.cpu.machineBusyMs;
  if (busy === null || naiveBusy === null || ingest.events === 0 || naive.events === 0) return [];
  const cores = os.cpus().length;
  const perEvent = (busy * 1000) / ingest.events;
  const naivePerEvent = (naiveBusy * 1000) / naive.events;
  const us = (ms: number | null | undefined, events: number) =>
    ms == null ? "n/a" : `${Math.round((ms * 1000) / events)} µs`;
  const pct = (share: number | null) => (share === null ? "n/a" : `${Math.round(share * 100)} %`);
  const ofCore = (ms: number | null | undefined, seconds: number) =>
    ms == null ? "n/a" : `${Math.round(ms / (10 * seconds))} % of a core`;
  const needed = (100 * naive.eventsPerSecond * perEvent) / 1e6;
  // The gateway's main thread, its two busiest others (under this load the prepare worker and
  // LevelDB's compaction thread) and the rest (V8's and libuv's helpers).
  const threads = ({ cpu, events }: IngestResult) => {
    const gateway = cpu.threads.gateway;
    if (!gateway) return "n/a";
    const [first = 0, second = 0, ...rest] = gateway.others;
    const restMs = rest.reduce((a, b) => a + b, 0);
    return `main thread ${us(gateway.main, events)}, next two ${us(first, events)} and ${us(second, events)}, ${rest.length} others ${us(restMs, events)}`;
  };
  return [
    {
      part: "ingest",
      what: "CPU the machine spent per event accepted (every process: gateway, hardhat node, load generator), /proc",
      value: perEvent,
      unit: "µs",
      target: null,
      baseline: {
        what: "the same per event of one NaiveEventLog transaction per event",
        value: naivePerEvent,
        unit: "µs",
        ratio: naivePerEvent / perEvent,
      },
      note:
        `ingest: gateway ${us(ingest.cpu.processes.gateway, ingest.events)} (all its threads: ${threads(ingest)}), hardhat node ` +
        `${us(ingest.cpu.processes.chain, ingest.events)}, load generator ${us(ingest.cpu.self, ingest.events)}; ` +
        `machine busy ${pct(ingest.cpu.machineBusyShare)} of its ${cores} cores. Baseline: hardhat node ` +
        `${us(naive.cpu.processes.chain, naive.events)} (${ofCore(naive.cpu.processes.chain, naive.seconds)}), ` +
        `senders ${us(naive.cpu.self, naive.events)}; machine busy ${pct(naive.cpu.machineBusyShare)}`,
    },
    {
      part: "ingest",
      what: "cores that 100× the baseline's events/s would take at this run's CPU per event (100 × baseline events/s × CPU per event)",
      value: needed,
      unit: "cores",
      target: null,
      baseline: { what: "cores this machine has", value: cores, unit: "cores", ratio: needed / cores },
      note: `100 × ${Math.round(naive.eventsPerSecond)} events/s = ${Math.round(100 * naive.eventsPerSecond)} events/s at ${Math.round(perEvent)} µs an event; the ingest run had the machine ${pct(ingest.cpu.machineBusyShare)} busy`,
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
