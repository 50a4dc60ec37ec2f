/**
 * The bench's CPU accounts (bench/lib/cpu.ts), on this process and a worker thread of it: what the
 * ingest part's CPU figures are made of.
 */
import { spawnSync } from "node:child_process";
import { Worker } from "node:worker_threads";
import { expect } from "chai";

import { cpuSnapshot, cpuUsed, machineCpu, processCpuMs, threadCpuMs } from "../../bench/lib/cpu";

const linux = process.platform === "linux";

/** Keeps the calling thread busy until it has used `ms` of CPU by its own /proc count. */
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
  parentPort.postMessage(x);
`;

/** Runs a worker thread until it has used `ms` of CPU, and `then` while it is still there. */
function burnInWorker<T>(ms: number, then: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(BURN, { eval: true, workerData: { ms } });
    worker.once("message", () => {
      const result = then();
      void worker.terminate().then(() => resolve(result), reject);
    });
    worker.once("error", reject);
  });
}

function burnHere(ms: number): void {
  const start = processCpuMs(process.pid)!;
  let x = 0;
  while (processCpuMs(process.pid)! - start < ms) for (let i = 0; i < 1e5; i++) x += i;
  expect(x).to.be.greaterThan(0);
}

(linux ? describe : describe.skip)("bench CPU accounts (/proc)", () => {
  it("reads a process's CPU time, and null for a process that is gone", () => {
    const before = processCpuMs(process.pid);
    expect(before).to.be.a("number");
    burnHere(100);
    expect(processCpuMs(process.pid)! - before!).to.be.at.least(100);

    const gone = spawnSync(process.execPath, ["-e", ""]).pid;
    expect(processCpuMs(gone)).to.equal(null);
    expect(threadCpuMs(gone).size).to.equal(0);
  });

  it("lists the main thread by the process id among the threads", () => {
    const threads = threadCpuMs(process.pid);
    expect(threads.has(process.pid)).to.equal(true);
    expect(threads.size).to.be.greaterThan(1); // V8's and libuv's helpers at least
  });

  it("counts the machine's busy time within its total", () => {
    const before = machineCpu()!;
    burnHere(100);
    const after = machineCpu()!;
    expect(after.busyMs - before.busyMs).to.be.at.least(100);
    expect(after.totalMs - before.totalMs).to.be.at.least(after.busyMs - before.busyMs);
  });

  it("charges a worker thread's CPU to another thread than the main one, a thread started in between included", async () => {
    const watch = { self: [process.pid], none: [] };
    const before = cpuSnapshot(watch);
    const used = cpuUsed(before, await burnInWorker(300, () => cpuSnapshot(watch)));

    expect(used.processes.self).to.be.at.least(300);
    expect(used.processes.none).to.equal(null);
    const threads = used.threads.self!;
    expect(threads.others[0]).to.be.at.least(300);
    expect(threads.others).to.deep.equal([...threads.others].sort((a, b) => b - a));
    // The main thread only waited for the worker.
    expect(threads.main).to.be.a("number").and.lessThan(threads.others[0]!);
    expect(used.threads.none).to.equal(undefined);
    expect(used.machineBusyMs).to.be.at.least(300);
    expect(used.machineBusyShare).to.be.within(0, 1);
  });
});
