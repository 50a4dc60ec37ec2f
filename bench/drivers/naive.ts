/**
 * The baseline, from its own process: the usual EVM design, one `NaiveEventLog.recordEvent`
 * transaction per event, sent through the same `hardhat node` by `senders` of its unlocked accounts
 * at once for `seconds` (each waits for its receipt, as an API that confirms writes must). Prints
 * one JSON line with the events recorded, the gas they used, the time from sending each to its
 * receipt, and the CPU the watched processes, this one and the whole machine used meanwhile.
 */
import { Contract, JsonRpcProvider } from "ethers";

import { cpuSnapshot, cpuUsed } from "../lib/cpu";
import { quantile } from "../lib/report";

interface Input {
  rpc: string;
  address: string;
  /** Hardhat's unlocked accounts to send from (not the gateway's admin or relayer). */
  accounts: string[];
  seconds: number;
  batchId: string;
  /** A realistic event body (the same cold-chain reading YuTrace ingests). */
  eventJson: string;
  /** Processes whose CPU time to report, by name (e.g. the hardhat node). */
  watch: Record<string, number[]>;
}

const input = JSON.parse(process.argv[2]!) as Input;

async function main(): Promise<void> {
  const provider = new JsonRpcProvider(input.rpc, undefined, { staticNetwork: true, batchMaxCount: 1 });
  let events = 0;
  let gas = 0n;
  /** Each recorded event's time from sending its transaction to its receipt, ms. */
  const confirmed: number[] = [];
  const errors: Record<string, number> = {};
  const cpuBefore = cpuSnapshot(input.watch);
  const started = performance.now();
  const until = started + input.seconds * 1000;
  let n = 0;
  await Promise.all(
    input.accounts.map(async (account) => {
      const signer = await provider.getSigner(account);
      const log = new Contract(input.address, ["function recordEvent(bytes32,string)"], signer);
      while (performance.now() < until) {
        const json = input.eventJson.replace("__N__", String(n++));
        try {
          const sent = performance.now();
          const tx = await log.getFunction("recordEvent")(input.batchId, json);
          const receipt = await tx.wait();
          confirmed.push(performance.now() - sent);
          gas += receipt!.gasUsed;
          events++;
        } catch (error) {
          const message = (error as Error).message.slice(0, 80);
          errors[message] = (errors[message] ?? 0) + 1;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuUsed(cpuBefore, cpuSnapshot(input.watch));
  confirmed.sort((a, b) => a - b);
  provider.destroy();
  console.log(
    JSON.stringify({
      events,
      seconds,
      eventsPerSecond: events / seconds,
      gasPerEvent: events > 0 ? Number(gas) / events : NaN,
      confirmMs: { p50: quantile(confirmed, 0.5), p99: quantile(confirmed, 0.99) },
      errors,
      cpu,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
