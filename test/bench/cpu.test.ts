/**
 * The bench's CPU accounts (bench/lib/cpu.ts): the /proc parsers on fixed text, the account between
 * two snapshots on made-up readings, and the readings themselves on this process and a worker
 * thread of it — what the ingest part's CPU figures are made of.
 */
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { expect } from "chai";

import {
  cpuSnapshot,
  cpuUsed,
  machineCpu,
  MS_PER_TICK,
  parseMachineCpu,
  parseStatCpuMs,
  processCpuMs,
  threadCpuMs,
  waitUntilQuiet,
  writeStallsIn,
  type CpuSnapshot,
} from "../../bench/lib/cpu";

/** Each of utime and stime is rounded down to whole ticks: two ticks of slack. */
const ROUNDING = 2 * MS_PER_TICK;

describe("bench CPU accounts: parsing /proc", () => {
  it("reads utime + stime after the command name, whatever the name holds", () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
    const stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194304 100 0 0 0 123 45 0 0 20 0 11 0 957518 1 2 3";
    expect(parseStatCpuMs(stat)).to.equal((123 + 45) * MS_PER_TICK);
    expect(parseStatCpuMs("garbage")).to.equal(null);
  });

  it("counts the machine's busy time without steal, guest or idle", () => {
    //                 user nice system idle iowait irq softirq steal guest guest_nice
    const procStat = "cpu  100 5 50 1000 20 3 2 7 40 1\ncpu0 50 2 25 500 10 1 1 3 20 0\nintr 1 2 3\n";
    expect(parseMachineCpu(procStat)).to.deep.equal({
      busyMs: (100 + 5 + 50 + 3 + 2) * MS_PER_TICK,
      idleMs: (1000 + 20) * MS_PER_TICK,
      stealMs: 7 * MS_PER_TICK,
    });
    expect(parseMachineCpu("intr 1 2 3\n")).to.equal(null);
  });

  it("accounts between two snapshots: the main thread by its id, others busiest first, threads started and ended in between", () => {
    const before: CpuSnapshot = {
      processes: { gateway: 1000, chain: 50, gone: 10 },
      threads: {
        gateway: {
          pid: 10,
          cpu: [
            [10, 400],
            [11, 300],
            [12, 200],
            [14, 100],
          ],
        },
      },
      self: 5,
      machine: { busyMs: 1000, idleMs: 1000, stealMs: 0 },
    };
    const after: CpuSnapshot = {
      processes: { gateway: 2000, chain: 80, gone: null },
      // 12 ended; 13 started; 14 is an id used again by a new thread (its time went down).
      threads: {
        gateway: {
          pid: 10,
          cpu: [
            [10, 700],
            [11, 500],
            [13, 100],
            [14, 30],
          ],
        },
      },
      self: 25,
      machine: { busyMs: 1600, idleMs: 1400, stealMs: 30 },
    };
    const used = cpuUsed(before, after);
    expect(used.processes).to.deep.equal({ gateway: 1000, chain: 30, gone: null });
    expect(used.threads.gateway).to.deep.equal({
      main: 300,
      others: [200, 100, 30],
      ended: 1000 - (300 + 200 + 100 + 30),
    });
    expect(used.self).to.equal(20);
    expect(used.machineBusyMs).to.equal(600);
    expect(used.machineBusyShare).to.equal(0.6);
    expect(used.machineStealMs).to.equal(30);
  });

  it("counts a gap under a tick a thread as rounding, and a process watched under another pid from zero", () => {
    const at = (ms: number, cpu: [number, number][], pid = 10): CpuSnapshot => ({
      processes: { gateway: ms },
      threads: { gateway: { pid, cpu } },
      self: 0,
      machine: null,
    });
    // 3 threads: up to 30 ms of the process's time may be its threads' rounding.
    const rounded = cpuUsed(
      at(100, [
        [10, 50],
        [11, 40],
        [12, 0],
      ]),
      at(300, [
        [10, 120],
        [11, 150],
        [12, 5],
      ]),
    );
    expect(rounded.threads.gateway!.ended).to.equal(0);
    const ended = cpuUsed(
      at(100, [
        [10, 50],
        [11, 40],
        [12, 0],
      ]),
      at(400, [
        [10, 120],
        [11, 150],
        [12, 5],
      ]),
    );
    expect(ended.threads.gateway!.ended).to.equal(300 - (70 + 110 + 5));
    expect(ended.machineBusyMs).to.equal(null);
    expect(ended.machineBusyShare).to.equal(null);
    // A new gateway process: its threads count from zero, not from the old one's.
    const restarted = cpuUsed(
      at(100, [[10, 50]]),
      at(
        30,
        [
          [20, 25],
          [21, 5],
        ],
        20,
      ),
    );
    expect(restarted.threads.gateway).to.deep.include({ main: 25, others: [5] });
  });

  it("counts LevelDB's logged write stops, and nothing else, in its LOG", () => {
    const log = [
      "2026/11/27-01:56:06.488227 7f6f4d7fa6c0 Level-0 table #5: started",
      "2026/11/27-01:56:06.500795 7f6f4d7fa6c0 Level-0 table #5: 779398 bytes OK",
      "2026/11/27-01:56:17.331665 7f6f4fbff6c0 Current memtable full; waiting...",
      "2026/11/27-01:56:18.001000 7f6f4fbff6c0 Too many L0 files; waiting...",
      "2026/11/27-01:56:19.118548 7f6f4f3fe6c0 Current memtable full; waiting...",
      "2026/11/27-01:57:52.403494 7f7acabfc6c0 Compacting 1@1 + 1@2 files",
      "",
    ].join("\n");
    expect(writeStallsIn(log)).to.equal(3);
    expect(writeStallsIn("")).to.equal(0);
  });
});

const linux = process.platform === "linux";

/** A worker that keeps its thread busy until it has used `ms` of CPU by its own /proc count, then waits. */
const BURN = `
  const { readFileSync } = require("node:fs");
  const { workerData, parentPort } = require("node:worker_threads");
  const cpu = () => {
    const stat = readFileSync("/proc/thread-self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  };
  const start = cpu();
  let x = 0;
  while (cpu() - start < workerData.ms) for (let i = 0; i < 1e5; i++) x += i;
  // Stays (its port listened to) until terminated, so that its thread is still there to be read.
  parentPort.on("message", () => undefined);
  parentPort.postMessage(x);
`;

/**
 * Runs a worker thread until it has used `ms` of CPU, and `then` while its thread is still there;
 * `meanwhile` runs from its start.
 */
async function burnInWorker<T>(ms: number, then: () => T, meanwhile?: () => Promise<void>): Promise<T> {
  const worker = new Worker(BURN, { eval: true, workerData: { ms } });
  const done = new Promise<T>((resolve, reject) => {
    worker.once("message", () => {
      const result = then();
      void worker.terminate().then(() => resolve(result), reject);
    });
    worker.once("error", reject);
  });
  await meanwhile?.();
  return done;
}

/** Keeps this thread busy until process.cpuUsage() has counted `ms` more. */
function burnHere(ms: number): void {
  const cpu = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  const start = cpu();
  let x = 0;
  while (cpu() - start < ms) for (let i = 0; i < 1e5; i++) x += i;
  expect(x).to.be.greaterThan(0);
}

(linux ? describe : describe.skip)("bench CPU accounts: reading /proc", () => {
  it("reads this process's CPU time as process.cpuUsage() counts it", () => {
    burnHere(50);
    const usage = () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1000;
    };
    const low = usage();
    const proc = processCpuMs(process.pid)!;
    const high = usage();
    expect(proc).to.be.within(low - ROUNDING, high + ROUNDING);
  });

  it("reads null, and no threads, for a process id that is never handed out", () => {
    const pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8"));
    expect(processCpuMs(pidMax)).to.equal(null);
    expect(threadCpuMs(pidMax)).to.deep.equal([]);
    expect(cpuSnapshot({ gone: [pidMax] }).processes.gone).to.equal(null);
  });

  it("lists the main thread, by the process's id, among the threads", () => {
    const tids = threadCpuMs(process.pid).map(([tid]) => tid);
    expect(tids).to.include(process.pid);
    expect(tids.length).to.be.greaterThan(1); // V8's and libuv's helpers at least
  });

  it("counts this process's work in the machine's busy time", () => {
    const before = machineCpu()!;
    burnHere(100);
    const after = machineCpu()!;
    expect(after.busyMs - before.busyMs).to.be.at.least(100 - ROUNDING);
  });

  it("charges a worker thread's CPU to another thread than the main one, a thread started in between included", async () => {
    const watch = { self: [process.pid], none: [] };
    const before = cpuSnapshot(watch);
    const used = cpuUsed(before, await burnInWorker(300, () => cpuSnapshot(watch)));

    expect(used.processes.self).to.be.at.least(300 - ROUNDING);
    expect(used.processes.none).to.equal(null);
    const threads = used.threads.self!;
    expect(threads.others[0]).to.be.at.least(300 - ROUNDING);
    // The main thread only waited for the worker.
    expect(threads.main).to.be.a("number").and.lessThan(threads.others[0]!);
    expect(used.threads.none).to.equal(undefined);
    expect(used.machineBusyShare).to.be.within(0, 1);
  });

  it("waits until a process is quiet, and fails for one that is gone", async () => {
    // Idle: done after the first half second, by /proc and by process.cpuUsage().
    // (Up to 5 s: the test process may still be busy from earlier files, e.g. collecting garbage.)
    expect(await waitUntilQuiet(8, process.pid)).to.be.within(0.4, 5);
    expect(await waitUntilQuiet(8)).to.be.within(0.4, 5);
    // Busy on a worker thread for 1.5 s of CPU: not quiet before it is done.
    let waited = 0;
    await burnInWorker(
      1500,
      () => undefined,
      async () => {
        waited = await waitUntilQuiet(10, process.pid);
      },
    );
    expect(waited).to.be.at.least(1);
    const pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8"));
    let failure: unknown;
    await waitUntilQuiet(5, pidMax).catch((error: unknown) => (failure = error));
    expect(failure).to.be.instanceOf(Error);
    expect((failure as Error).message).to.match(new RegExp(`process ${pidMax} is gone`));
  });
});
