/**
 * CPU time from Linux's /proc, for the bench's accounts of where a run's CPU went: a process's
 * (every thread of it: for the gateway its main thread, prepare worker, LevelDB's and V8's threads),
 * each of its threads', and the whole machine's. Elsewhere than Linux the /proc readings are null
 * (threads: none) and the figures built on them are left out; only `self` (process.cpuUsage) works.
 * Snapshots are plain JSON, so a driver can take one and the bench part finish the account.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Linux's USER_HZ: /proc counts CPU time in 1/100 s on every architecture Node runs on. */
export const MS_PER_TICK = 10;

/**
 * CPU milliseconds (utime + stime) in the text of a /proc `stat` file: a process's (all threads) or a
 * thread's. The command name, in parentheses, may hold spaces and parentheses itself.
 */
export function parseStatCpuMs(stat: string): number | null {
  // Fields after the command name, from field 3 (state) on: utime is field 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ms = (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
  return Number.isFinite(ms) ? ms : null;
}

function statCpuMs(file: string): number | null {
  try {
    return parseStatCpuMs(readFileSync(file, "utf8"));
  } catch {
    return null;
  }
}

/** CPU milliseconds (user + system, all threads) process `pid` used so far, or null. */
export function processCpuMs(pid: number): number | null {
  return statCpuMs(`/proc/${pid}/stat`);
}

/** CPU milliseconds each thread of process `pid` used so far, as [thread id, ms] (the main thread's id is `pid`). */
export function threadCpuMs(pid: number): [number, number][] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const threads: [number, number][] = [];
  for (const tid of tids) {
    const ms = statCpuMs(`/proc/${pid}/task/${tid}/stat`);
    if (ms !== null) threads.push([Number(tid), ms]);
  }
  return threads;
}

/**
 * The machine's CPU milliseconds so far, summed over its logical CPUs: busy (user, nice, system,
 * irq, softirq), idle (idle and iowait) and stolen by the hypervisor (steal, left out of both).
 */
export interface MachineCpu {
  busyMs: number;
  idleMs: number;
  stealMs: number;
}

/** The first line of /proc/stat ("cpu  user nice system idle iowait irq softirq steal guest guest_nice"). */
export function parseMachineCpu(procStat: string): MachineCpu | null {
  const line = procStat.split("\n", 1)[0]!;
  if (!/^cpu\s/.test(line)) return null;
  // guest and guest_nice are already counted in user and nice.
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (ticks.length < 8 || ticks.some((n) => !Number.isFinite(n))) return null;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = ticks as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return {
    busyMs: (user + nice + system + irq + softirq) * MS_PER_TICK,
    idleMs: (idle + iowait) * MS_PER_TICK,
    stealMs: steal * MS_PER_TICK,
  };
}

export function machineCpu(): MachineCpu | null {
  try {
    return parseMachineCpu(readFileSync("/proc/stat", "utf8"));
  } catch {
    return null;
  }
}

/** CPU milliseconds (user + system) this process used so far: process.cpuUsage, which works everywhere. */
function selfCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** CPU readings of some processes by name, and of the machine, at one moment (plain JSON). */
export interface CpuSnapshot {
  /** CPU milliseconds of each watched process, summed over the pids given for it (null if one could not be read). */
  processes: Record<string, number | null>;
  /** The first process watched under each name, with its threads' CPU milliseconds. */
  threads: Record<string, { pid: number; cpu: [number, number][] }>;
  /** The snapshotting process's own CPU milliseconds (process.cpuUsage: works everywhere). */
  self: number;
  machine: MachineCpu | null;
}

export function cpuSnapshot(watch: Record<string, number[]>): CpuSnapshot {
  const processes: Record<string, number | null> = {};
  const threads: CpuSnapshot["threads"] = {};
  for (const [name, pids] of Object.entries(watch)) {
    if (pids.length > 0) threads[name] = { pid: pids[0]!, cpu: threadCpuMs(pids[0]!) };
    let sum: number | null = 0;
    for (const pid of pids) {
      const ms = processCpuMs(pid);
      sum = ms === null || sum === null ? null : sum + ms;
    }
    processes[name] = pids.length === 0 ? null : sum;
  }
  return { processes, threads, self: selfCpuMs(), machine: machineCpu() };
}

/** What was used between two snapshots: CPU ms by process (and `self`), by thread, and the machine's. */
export interface CpuUsed {
  /** CPU milliseconds each watched process used in between; null where one reading failed. */
  processes: Record<string, number | null>;
  /**
   * The threads of the first process watched under each name: its main thread's CPU milliseconds,
   * the others', busiest first (threads there at the second reading; one started in between counts
   * from zero), and what threads that ended in between used (the process's time less its threads').
   */
  threads: Record<string, { main: number | null; others: number[]; ended: number | null }>;
  /** CPU milliseconds of the process that took the snapshots (the same process both times). */
  self: number;
  /** CPU milliseconds the whole machine was busy in between (every process on it), or null. */
  machineBusyMs: number | null;
  /** The machine's busy share of its logical CPUs' time in between (steal left out), 0–1, or null. */
  machineBusyShare: number | null;
  /** CPU milliseconds the hypervisor took from the machine in between, or null. */
  machineStealMs: number | null;
}

export function cpuUsed(before: CpuSnapshot, after: CpuSnapshot): CpuUsed {
  const processes: Record<string, number | null> = {};
  for (const name of Object.keys(after.processes)) {
    const a = before.processes[name];
    const b = after.processes[name];
    processes[name] = a == null || b == null ? null : b - a;
  }
  const threads: CpuUsed["threads"] = {};
  for (const [name, { pid, cpu }] of Object.entries(after.threads)) {
    const earlier = new Map(before.threads[name]?.pid === pid ? before.threads[name]!.cpu : []);
    let main: number | null = null;
    const others: number[] = [];
    for (const [tid, ms] of cpu) {
      // A thread started in between counts from zero; a thread id used again after one ended, too.
      const was = earlier.get(tid) ?? 0;
      const used = ms >= was ? ms - was : ms;
      if (tid === pid) main = used;
      else others.push(used);
    }
    const all = processes[name];
    const counted = (main ?? 0) + others.reduce((x, y) => x + y, 0);
    // Each thread's time is rounded down to whole ticks: a gap under a tick a thread is rounding.
    const gap = all == null || main === null ? null : all - counted;
    const ended = gap === null ? null : gap < MS_PER_TICK * cpu.length ? 0 : gap;
    threads[name] = { main, others: others.sort((x, y) => y - x), ended };
  }
  const m0 = before.machine;
  const m1 = after.machine;
  const busy = m0 && m1 ? m1.busyMs - m0.busyMs : null;
  const idle = m0 && m1 ? m1.idleMs - m0.idleMs : null;
  return {
    processes,
    threads,
    self: after.self - before.self,
    machineBusyMs: busy,
    machineBusyShare: busy !== null && idle !== null && busy + idle > 0 ? busy / (busy + idle) : null,
    machineStealMs: m0 && m1 ? m1.stealMs - m0.stealMs : null,
  };
}

/**
 * Waits until a process (this one by default) uses under 10 % of a core over half a second, or
 * `maxSeconds` passed; returns the seconds waited. Fails if the process is gone.
 */
export async function waitUntilQuiet(maxSeconds: number, pid?: number): Promise<number> {
  const started = performance.now();
  const cpuMs = (): number => {
    if (pid === undefined) return selfCpuMs();
    const ms = processCpuMs(pid);
    if (ms === null) throw new Error(`process ${pid} is gone (or its CPU time cannot be read)`);
    return ms;
  };
  while ((performance.now() - started) / 1000 < maxSeconds) {
    const before = cpuMs();
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (cpuMs() - before < 50) break;
  }
  return (performance.now() - started) / 1000;
}

/**
 * How many times a LevelDB database stopped its writers, from the text of its `LOG` (since it was
 * opened): "Current memtable full; waiting..." (the memtable before is still being written out) and
 * "Too many L0 files; waiting...". Under ingest the writes, the group commit and every 202 wait
 * meanwhile. Not counted: the 1 ms LevelDB sleeps a write from 8 level-0
 * tables on, which it does not log. A database shares its one background thread with every other
 * LevelDB database in the process.
 */
export function writeStallsIn(log: string): number {
  return log.split("\n").filter((line) => line.trimEnd().endsWith("; waiting...")).length;
}
