/**
 * CPU time from Linux's /proc, for the bench's accounts of where a run's CPU went: a process's
 * (every thread of it: for the gateway its main thread, prepare worker, LevelDB's and V8's threads)
 * and the whole machine's. Elsewhere than Linux every reading is null and the figures built on them
 * are left out.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Linux's USER_HZ: /proc counts CPU time in 1/100 s on every architecture Node runs on. */
const MS_PER_TICK = 10;

/** CPU milliseconds (user + system) of a /proc `stat` file: a process's (all threads) or a thread's. */
function statCpuMs(file: string): number | null {
  try {
    const stat = readFileSync(file, "utf8");
    // Fields after the command name in parentheses, from field 3 (state): utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
  } catch {
    return null;
  }
}

/** CPU milliseconds (user + system, all threads) process `pid` used so far, or null. */
export function processCpuMs(pid: number): number | null {
  return statCpuMs(`/proc/${pid}/stat`);
}

/** CPU milliseconds each thread of process `pid` used so far, by thread id (the main thread's is `pid`). */
export function threadCpuMs(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    const ms = statCpuMs(`/proc/${pid}/task/${tid}/stat`);
    if (ms !== null) threads.set(Number(tid), ms);
  }
  return threads;
}

/** The machine's CPU milliseconds so far, summed over its cores: busy, and in all (busy + idle). */
export interface MachineCpu {
  busyMs: number;
  totalMs: number;
}

/** The first line of /proc/stat (every core): user nice system idle iowait irq softirq steal …; or null. */
export function machineCpu(): MachineCpu | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (ticks.length < 8 || ticks.some((n) => !Number.isFinite(n))) return null;
    const total = ticks.reduce((a, b) => a + b, 0);
    const idle = ticks[3]! + ticks[4]!;
    return { busyMs: (total - idle) * MS_PER_TICK, totalMs: total * MS_PER_TICK };
  } catch {
    return null;
  }
}

/** CPU readings of some processes by name, and of the machine, at one moment. */
export interface CpuSnapshot {
  /** CPU milliseconds of each watched process (null if it could not be read). */
  processes: Record<string, number | null>;
  /** The first process watched under each name, with its threads' CPU milliseconds by thread id. */
  threads: Record<string, { pid: number; cpu: Map<number, number> }>;
  /** This process's own CPU milliseconds (process.cpuUsage: works everywhere). */
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
  const { user, system } = process.cpuUsage();
  return { processes, threads, self: (user + system) / 1000, machine: machineCpu() };
}

/** What was used between two snapshots: CPU ms by process (and `self`), and the machine's busy share. */
export interface CpuUsed {
  /** CPU milliseconds each watched process used in between; null where one reading failed. */
  processes: Record<string, number | null>;
  /**
   * The threads of the first process watched under each name: its main thread's CPU milliseconds,
   * and the others', busiest first (threads there at the second reading; one started in between
   * counts from zero, one that ended in between is only in `processes`).
   */
  threads: Record<string, { main: number | null; others: number[] }>;
  self: number;
  /** CPU milliseconds the whole machine was busy in between (every process on it), or null. */
  machineBusyMs: number | null;
  /** The machine's busy share of all its cores in between, 0–1, or null. */
  machineBusyShare: number | null;
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
    const earlier = before.threads[name]?.cpu ?? new Map<number, number>();
    let main: number | null = null;
    const others: number[] = [];
    for (const [tid, ms] of cpu) {
      // A thread started in between counts from zero.
      const used = ms - (earlier.get(tid) ?? 0);
      if (tid === pid) main = used;
      else others.push(used);
    }
    threads[name] = { main, others: others.sort((x, y) => y - x) };
  }
  const m0 = before.machine;
  const m1 = after.machine;
  const total = m0 && m1 ? m1.totalMs - m0.totalMs : null;
  return {
    processes,
    threads,
    self: after.self - before.self,
    machineBusyMs: m0 && m1 ? m1.busyMs - m0.busyMs : null,
    machineBusyShare: m0 && m1 && total! > 0 ? (m1.busyMs - m0.busyMs) / total! : null,
  };
}
