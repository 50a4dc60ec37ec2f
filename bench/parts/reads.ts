/**
 * `npm run bench reads`: what shoppers and regulators read. A 30-event batch walked through the
 * supply chain by a producer, a cold-chain carrier and a supermarket, with item serials, is read
 * under autocannon load from a separate process — the consumer trace page as HTML and as JSON, and
 * the item page with scan counting — against `GET /healthz` under the same load (the framework's
 * ceiling on this machine). Then, one request at a time, the verification report of a 50-event
 * batch against its evidence bundle alone (store only, no chain reads), and the independent
 * verifier CLI as a process against the same process printing its usage.
 *
 * `BENCH_PROFILE_DIR=<folder>` runs the gateway under `--cpu-prof` and writes its profile there.
 */
import { execFile } from "node:child_process";
import path from "node:path";

import { batchIdOf } from "../../server/domain/batch-id";
import { batchUri } from "../../server/domain/digital-link";
import type { LoadResult, SequentialResult } from "../drivers/autocannon";
import type { Figure } from "../lib/report";
import { progress } from "../lib/report";
import {
  BENCH_GTIN,
  call,
  createBatches,
  createOrg,
  ROOT,
  runDriver,
  startStack,
  type BenchOrg,
  type Stack,
} from "../lib/stack";
import { issueSerials } from "./bulk";

export interface ReadsOptions {
  quick: boolean;
}

const CONNECTIONS = 50;
const SERIALS = 16;
const SEQUENTIAL = 30;
const CLI_RUNS = 5;
/** What a phone's browser sends. */
const BROWSER = { accept: "text/html,application/xhtml+xml,*/*;q=0.8", "accept-language": "zh-CN,zh;q=0.9" };
const JSON_ACCEPT = { accept: "application/json" };

type Actor = "producer" | "carrier" | "retailer";

const cpu = (result: { cpuMsPerRequest: number | null }) =>
  result.cpuMsPerRequest === null ? "n/a" : `${result.cpuMsPerRequest.toFixed(2)} ms`;

export async function reads(options: ReadsOptions): Promise<Figure[]> {
  const seconds = options.quick ? 2 : 20;
  const warmupSeconds = options.quick ? 1 : 3;
  // `BENCH_PROFILE_DIR=… npm run bench reads` writes the gateway's CPU profile there.
  const profile = process.env.BENCH_PROFILE_DIR;
  const stack = await startStack({}, profile ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(profile)}`] : []);
  try {
    const orgs = {
      producer: await createOrg(stack, "producer"),
      carrier: await createOrg(stack, "carrier"),
      retailer: await createOrg(stack, "retailer"),
    };
    const regulator = await createOrg(stack, "regulator");
    const [lot30, lot50] = await createBatches(stack, orgs.producer, 2);
    const batch30 = batchIdOf(BENCH_GTIN, lot30!);
    const batch50 = batchIdOf(BENCH_GTIN, lot50!);
    const certificate = await uploadCertificate(stack, orgs.producer);
    progress("reads: recording a 30-event and a 50-event supply chain, issuing item serials");
    await recordSupplyChain(stack, orgs, lot30!, 30, certificate);
    await recordSupplyChain(stack, orgs, lot50!, 50, certificate);
    const { serials } = await issueSerials(stack, orgs.producer, batch30, SERIALS);
    await waitUntilAnchored(stack, regulator, [batch30, batch50]);

    const page = `/01/${BENCH_GTIN}/10/${lot30}`;
    const items = serials.map((serial) => `${page}/21/${serial}`);
    await checkPages(stack, page, items[0]!);

    progress(`reads: ${CONNECTIONS} connections, ${seconds} s per page after ${warmupSeconds} s warm-up`);
    const load = { kind: "load", connections: CONNECTIONS, seconds, warmupSeconds } as const;
    const auth = { accept: "application/json", authorization: `Bearer ${regulator.apiKey}` };
    const results = await runDriver<Record<string, LoadResult | SequentialResult>>(
      "autocannon",
      {
        url: stack.yt.url,
        gatewayPid: process.platform === "linux" ? (stack.yt.child.pid ?? null) : null,
        jobs: [
          { ...load, name: "healthz", paths: ["/healthz"], headers: JSON_ACCEPT },
          { ...load, name: "html", paths: [page], headers: BROWSER },
          { ...load, name: "json", paths: [page], headers: JSON_ACCEPT },
          { ...load, name: "item", paths: items, headers: BROWSER },
          {
            kind: "sequential",
            name: "evidence",
            path: `/api/v1/batches/${batch50}/evidence`,
            headers: JSON_ACCEPT,
            count: SEQUENTIAL,
            warmup: 3,
          },
          {
            kind: "sequential",
            name: "verification",
            path: `/api/v1/batches/${batch50}/verification`,
            headers: auth,
            count: SEQUENTIAL,
            warmup: 3,
          },
        ],
      },
      (4 * (seconds + warmupSeconds) + 300) * 1000,
    );
    const healthz = results.healthz as LoadResult;
    const html = results.html as LoadResult;
    const json = results.json as LoadResult;
    const item = results.item as LoadResult;
    const evidence = results.evidence as SequentialResult;
    const verification = results.verification as SequentialResult;

    progress(`reads: independent verifier CLI, ${CLI_RUNS} runs, and ${CLI_RUNS} runs of --help`);
    const ledger = (await call<{ address: string }>(stack, "GET", "/api/v1/ledger")).address;
    const link = batchUri(stack.yt.url, { gtin: BENCH_GTIN, lot: lot50! });
    const cli = await verifierRuns(link, stack.yt.chainUrl, ledger);

    const pageFigures = (name: string, what: string, result: LoadResult, target: number): Figure[] => [
      {
        part: "reads",
        what: `${what}, ${CONNECTIONS} connections, ${Math.round(result.seconds)} s`,
        value: result.requestsPerSecond,
        unit: "req/s",
        target: { op: ">=", value: target },
        baseline: {
          what: "GET /healthz, same load",
          value: healthz.requestsPerSecond,
          unit: "req/s",
          ratio: result.requestsPerSecond / healthz.requestsPerSecond,
        },
        note: `${result.requests} requests, ${Math.round(result.bytesPerRequest)} bytes each; latency p50 ${result.latencyMs.p50} ms; gateway CPU ${cpu(result)} a request (healthz ${cpu(healthz)})`,
      },
      {
        part: "reads",
        what: `${name}: p99 latency at that load`,
        value: result.latencyMs.p99,
        unit: "ms",
        target: { op: "<=", value: 50 },
        baseline: {
          what: "GET /healthz p99, same load",
          value: healthz.latencyMs.p99,
          unit: "ms",
          ratio: healthz.latencyMs.p99 / Math.max(result.latencyMs.p99, 1),
        },
        note: `max ${result.latencyMs.max} ms; autocannon latencies are whole milliseconds`,
      },
    ];

    return [
      ...pageFigures("trace page HTML", `consumer trace page HTML, GET /01/{gtin}/10/{lot} (30 events)`, html, 3000),
      ...pageFigures("trace page JSON", "consumer trace page JSON (Accept: application/json)", json, 3000),
      ...pageFigures(
        "item page",
        `item page with scan counting, GET …/21/{serial} over ${SERIALS} serials`,
        item,
        2000,
      ),
      {
        part: "reads",
        what: `verification report of a 50-event batch, p99 of ${verification.count} sequential requests`,
        value: verification.latencyMs.p99,
        unit: "ms",
        target: { op: "<=", value: 100 },
        baseline: {
          what: "evidence bundle alone (store only), p99",
          value: evidence.latencyMs.p99,
          unit: "ms",
          ratio: evidence.latencyMs.p99 / verification.latencyMs.p99,
        },
        note: `ratio = the share of the report the store alone takes; gateway CPU ${cpu(verification)} a report, ${cpu(evidence)} a bundle`,
      },
      {
        part: "reads",
        what: "verification report of a 50-event batch, p50",
        value: verification.latencyMs.p50,
        unit: "ms",
        target: null,
        baseline: {
          what: "evidence bundle alone, p50",
          value: evidence.latencyMs.p50,
          unit: "ms",
          ratio: evidence.latencyMs.p50 / verification.latencyMs.p50,
        },
        note: `min ${verification.latencyMs.min.toFixed(1)} ms, max ${verification.latencyMs.max.toFixed(1)} ms; report ${verification.bytes} bytes, bundle ${evidence.bytes} bytes`,
      },
      {
        part: "reads",
        what: `independent verifier CLI on the 50-event batch, process wall time, median of ${CLI_RUNS}`,
        value: cli.verifyMs,
        unit: "ms",
        target: { op: "<=", value: 2000 },
        baseline: {
          what: "the same process with --help (start-up only)",
          value: cli.helpMs,
          unit: "ms",
          ratio: cli.helpMs / cli.verifyMs,
        },
        note: `ratio = the share of the run that is start-up (node, ts-node, imports); runs ${cli.verifyRuns.map(Math.round).join(", ")} ms`,
      },
    ];
  } finally {
    await stack.stop();
  }
}

/** The lab report the producer's inspection names; its SHA-256. */
async function uploadCertificate(stack: Stack, producer: BenchOrg): Promise<string> {
  const res = await fetch(`${stack.yt.url}/api/v1/certificates`, {
    method: "POST",
    headers: { authorization: `Bearer ${producer.apiKey}`, "content-type": "application/pdf" },
    body: Buffer.from(
      "%PDF-1.7\n% 渝味火锅底料 出厂检验报告 YW-BENCH-0001: 酸价、过氧化值、铅 均符合 GB 2716-2018\n%%EOF\n",
    ),
  });
  const body = (await res.json()) as { certificate?: { sha256: string } };
  if (res.status !== 201 || !body.certificate) throw new Error(`certificate upload answered ${res.status}`);
  return body.certificate.sha256;
}

/** China Standard Time, as a factory's system writes it. */
const cst = (ms: number) => `${new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19)}+08:00`;

/**
 * `count` events (at least 12) of one lot through the API, each organisation's in one submission:
 * the producer commissions, inspects, stores and ships it to the carrier (owned by the supermarket),
 * the carrier receives it, reports the cold room's temperature and ships it on, the supermarket
 * receives, stores and sells it. Sensor readings fill the count: a quarter at the factory, half on
 * the road, a quarter in the shop.
 */
async function recordSupplyChain(
  stack: Stack,
  orgs: Record<Actor, BenchOrg>,
  lot: string,
  count: number,
  certificate: string,
): Promise<void> {
  const readings = count - 12;
  const atFactory = Math.floor(readings / 4);
  const inShop = Math.floor(readings / 4);
  const onRoad = readings - atFactory - inShop;
  const epcClass = batchUri(stack.yt.url, { gtin: BENCH_GTIN, lot });
  const start = Date.now() - 2.5 * 86_400_000;
  const step = (2.4 * 86_400_000) / count;
  let n = 0;
  const event = (bizStep: string, quantity: number, extra: Record<string, unknown>) => ({
    type: "ObjectEvent",
    action: bizStep === "commissioning" ? "ADD" : "OBSERVE",
    bizStep,
    eventTime: cst(start + n++ * step),
    eventTimeZoneOffset: "+08:00",
    quantityList: [{ epcClass, quantity, uom: "XBX" }],
    ...extra,
  });
  const place = {
    producer: { district: "巴南区", name: "渝味火锅底料厂 2 号冷库" },
    carrier: { district: "沙坪坝区", name: "渝冷冷藏车 渝A·C2087" },
    retailer: { district: "渝中区", name: "山城优选 解放碑店" },
  };
  const reading = (who: Actor, i: number) =>
    event("sensor_reporting", 1000, {
      bizLocation: place[who],
      sensorElementList: [
        {
          sensorMetadata: { deviceID: `${who}-probe-${i % 4}` },
          sensorReport: [
            { type: "Temperature", value: 2 + (i % 30) / 10, uom: "CEL" },
            { type: "RelativeHumidity", value: 55 + (i % 10), uom: "A93" },
          ],
        },
      ],
    });
  const to = (who: Actor, type = "possessing_party") => ({ type, destination: orgs[who].uscc });

  const submissions: [Actor, object[]][] = [
    [
      "producer",
      [
        event("commissioning", 1000, { disposition: "active", bizLocation: place.producer }),
        event("inspecting", 12, {
          disposition: "conformant",
          bizLocation: place.producer,
          certificationInfo: {
            documentHash: certificate,
            issuer: orgs.producer.name,
            standard: "GB 2716-2018",
            result: "conformant",
            certificateNumber: "YW-BENCH-0001",
          },
        }),
        event("storing", 1000, { disposition: "sellable_not_accessible", bizLocation: place.producer }),
        ...Array.from({ length: atFactory }, (_, i) => reading("producer", i)),
        event("shipping", 1000, {
          disposition: "in_transit",
          bizLocation: place.producer,
          destinationList: [to("carrier"), to("retailer", "owning_party")],
        }),
      ],
    ],
    [
      "carrier",
      [
        event("receiving", 1000, { disposition: "in_transit", bizLocation: place.carrier }),
        ...Array.from({ length: onRoad }, (_, i) => reading("carrier", i)),
        event("shipping", 1000, {
          disposition: "in_transit",
          bizLocation: place.carrier,
          destinationList: [to("retailer")],
        }),
      ],
    ],
    [
      "retailer",
      [
        event("receiving", 1000, { disposition: "sellable_accessible", bizLocation: place.retailer }),
        event("storing", 1000, { disposition: "sellable_accessible", bizLocation: place.retailer }),
        ...Array.from({ length: inShop }, (_, i) => reading("retailer", i)),
        ...Array.from({ length: 4 }, () =>
          event("retail_selling", 24, { disposition: "retail_sold", bizLocation: place.retailer }),
        ),
      ],
    ],
  ];
  for (const [who, events] of submissions) {
    await call(stack, "POST", "/api/v1/events", { key: orgs[who].apiKey, body: { events }, expect: 202 });
  }
  if (n !== count) throw new Error(`made ${n} events, meant ${count}`);
}

/** Polls the batches' events until every one is anchored (the verifier exits 1 on pending events). */
async function waitUntilAnchored(stack: Stack, reader: BenchOrg, batchIds: string[]): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (const batchId of batchIds) {
    for (;;) {
      const page = await call<{ events: { status: string }[] }>(
        stack,
        "GET",
        `/api/v1/batches/${batchId}/events?limit=200`,
        { key: reader.apiKey },
      );
      if (page.events.length > 0 && page.events.every((e) => e.status === "anchored")) break;
      if (Date.now() > deadline) throw new Error(`events of ${batchId} still pending after 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** The pages answer as a shopper would see them before any load is measured. */
async function checkPages(stack: Stack, page: string, item: string): Promise<void> {
  const html = await fetch(`${stack.yt.url}${page}`, { headers: BROWSER });
  const text = await html.text();
  if (html.status !== 200 || !html.headers.get("content-type")?.startsWith("text/html") || !text.includes("<html")) {
    throw new Error(`trace page answered ${html.status} ${html.headers.get("content-type")}`);
  }
  const view = await call<{ timeline: unknown[]; verification: { events: number; anchored: number } }>(
    stack,
    "GET",
    page,
  );
  if (view.verification.events !== 30 || view.verification.anchored !== 30) {
    throw new Error(`trace view: ${JSON.stringify(view.verification)}, meant 30 anchored events`);
  }
  const scanned = await call<{ genuine: boolean }>(stack, "GET", item);
  if (!scanned.genuine) throw new Error(`item ${item} does not read as genuine`);
}

interface CliTimes {
  verifyMs: number;
  helpMs: number;
  verifyRuns: number[];
}

/** `scripts/verify.ts` as `npm run verify` runs it, alternating with `--help`; medians of the wall times. */
async function verifierRuns(link: string, rpc: string, ledger: string): Promise<CliTimes> {
  const verifyRuns: number[] = [];
  const helpRuns: number[] = [];
  for (let i = 0; i < CLI_RUNS; i++) {
    const help = await verifier(["--help"]);
    if (help.code !== 2) throw new Error(`verify --help exited ${help.code}: ${help.output}`);
    helpRuns.push(help.ms);
    const run = await verifier([link, "--rpc", rpc, "--ledger", ledger]);
    if (run.code !== 0 || !run.output.includes("Verdict: VERIFIED")) {
      throw new Error(`the verifier exited ${run.code}:\n${run.output}`);
    }
    verifyRuns.push(run.ms);
  }
  const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
  return { verifyMs: median(verifyRuns), helpMs: median(helpRuns), verifyRuns };
}

function verifier(args: string[]): Promise<{ code: number; ms: number; output: string }> {
  return new Promise((resolve) => {
    const started = performance.now();
    execFile(
      process.execPath,
      ["-r", "sucrase/register", path.join(ROOT, "scripts", "verify.ts"), ...args],
      { cwd: ROOT, timeout: 60_000 },
      (error, stdout, stderr) => {
        const ms = performance.now() - started;
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, ms, output: stdout + stderr });
      },
    );
  });
}
