/**
 * Ingest load, from its own process: `concurrency` workers POST submissions of `size` cold-chain
 * sensor events (sensor_reporting, each on one of the producer's batches) to /api/v1/events for
 * `seconds`, with custodial signing. One submission in `sampleEvery` is followed until it reads as
 * anchored (polled every 100 ms) to measure the time from its 202 to its anchor. Prints one JSON
 * line with the counts, the latencies, and CPU snapshots of the watched processes and the machine
 * (bench/lib/cpu.ts) at the load's start and end, with this process's own CPU time over the load: the
 * bench part finishes the account once everything is anchored.
 */
import { cpuSnapshot } from "../lib/cpu";
import { quantile } from "../lib/report";
import { sensorReading } from "../lib/events";

interface Input {
  url: string;
  apiKey: string;
  /** Digital Links of the batches to report on. */
  batches: string[];
  seconds: number;
  size: number;
  concurrency: number;
  sampleEvery: number;
  /** Events are timed from here on, a millisecond apart (never in the future, after production). */
  timeBase: number;
  /** Processes whose CPU time to report, by name (e.g. the gateway, the hardhat node). */
  watch: Record<string, number[]>;
}

const input = JSON.parse(process.argv[2]!) as Input;
let counter = 0;

function submission(): string {
  const events = [];
  for (let i = 0; i < input.size; i++) {
    const n = counter++;
    events.push(sensorReading(n, input.batches[n % input.batches.length]!, input.timeBase));
  }
  return JSON.stringify({ events });
}

interface Tracked {
  id: string;
  acceptedAt: number;
  anchoredAt: number | null;
}

async function main(): Promise<void> {
  const headers = { authorization: `Bearer ${input.apiKey}`, "content-type": "application/json" };
  const accepted: number[] = [];
  const tracked: Tracked[] = [];
  const errors: Record<string, number> = {};
  let events = 0;
  let submissions = 0;
  const cpuBefore = cpuSnapshot(input.watch);
  const started = performance.now();
  const until = started + input.seconds * 1000;

  const worker = async () => {
    while (performance.now() < until) {
      const body = submission();
      const sent = performance.now();
      let res: Response;
      try {
        res = await fetch(`${input.url}/api/v1/events`, { method: "POST", headers, body });
      } catch (error) {
        errors[(error as Error).message] = (errors[(error as Error).message] ?? 0) + 1;
        continue;
      }
      const answer = (await res.json()) as { submission?: { id: string }; error?: { code: string } };
      if (res.status !== 202) {
        const code = `${res.status} ${answer.error?.code ?? ""}`;
        errors[code] = (errors[code] ?? 0) + 1;
        continue;
      }
      const now = performance.now();
      accepted.push(now - sent);
      submissions++;
      events += input.size;
      if (submissions % input.sampleEvery === 0)
        tracked.push({ id: answer.submission!.id, acceptedAt: now, anchoredAt: null });
    }
  };

  // Follow the sampled submissions until anchored.
  let following = true;
  const follower = (async () => {
    while (following || tracked.some((t) => t.anchoredAt === null)) {
      const open = tracked.filter((t) => t.anchoredAt === null);
      await Promise.all(
        open.map(async (t) => {
          const res = await fetch(`${input.url}/api/v1/submissions/${t.id}`, { headers });
          const body = (await res.json()) as { status?: string };
          if (body.status === "anchored") t.anchoredAt = performance.now();
        }),
      );
      if (!following && performance.now() > until + 60_000) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();

  await Promise.all(Array.from({ length: input.concurrency }, worker));
  const loadSeconds = (performance.now() - started) / 1000;
  const cpuAtEnd = cpuSnapshot(input.watch);
  const loadEndedAt = Date.now();
  following = false;
  await follower;

  const lags = tracked.filter((t) => t.anchoredAt !== null).map((t) => t.anchoredAt! - t.acceptedAt);
  lags.sort((a, b) => a - b);
  accepted.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      events,
      submissions,
      seconds: loadSeconds,
      eventsPerSecond: events / loadSeconds,
      errors,
      acceptMs: { p50: quantile(accepted, 0.5), p99: quantile(accepted, 0.99), max: accepted.at(-1) ?? NaN },
      anchorLagMs: {
        n: lags.length,
        unanchored: tracked.length - lags.length,
        p50: quantile(lags, 0.5),
        p99: quantile(lags, 0.99),
        max: lags.at(-1) ?? NaN,
      },
      cpu: { atStart: cpuBefore, atEnd: cpuAtEnd, selfMs: cpuAtEnd.self - cpuBefore.self, loadEndedAt },
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
