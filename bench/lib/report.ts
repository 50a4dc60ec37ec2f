/**
 * Benchmark results: every figure with its target and the baseline it is compared to in the same
 * run, printed as a table and written as JSON (bench-results/, with the machine it ran on).
 */
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export interface Figure {
  /** The bench part, e.g. "ingest". */
  part: string;
  /** What was measured, in words. */
  what: string;
  value: number;
  unit: string;
  /** The target, e.g. { op: ">=", value: 10000 }; null when there is none. */
  target: { op: ">=" | "<="; value: number } | null;
  /** What it is compared to in the same run, and the ratio value ÷ baseline (or baseline ÷ value for times). */
  baseline: { what: string; value: number; unit: string; ratio: number } | null;
  /** Anything a reader needs to read the figure right. */
  note?: string;
}

export function meets(figure: Figure): boolean | null {
  if (!figure.target) return null;
  return figure.target.op === ">=" ? figure.value >= figure.target.value : figure.value <= figure.target.value;
}

export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

const fmt = (n: number): string =>
  Math.abs(n) >= 1000 ? Math.round(n).toLocaleString("en-US") : Number(n.toPrecision(3)).toString();

/** The figures as a Markdown table (the format BENCHMARKS.md uses). */
export function table(figures: Figure[]): string {
  const rows = figures.map((f) => {
    const ok = meets(f);
    const target = f.target ? `${f.target.op} ${fmt(f.target.value)} ${f.unit}` : "";
    const baseline = f.baseline
      ? `${fmt(f.baseline.value)} ${f.baseline.unit} (${f.baseline.what}); ratio ${fmt(f.baseline.ratio)}×`
      : "";
    return `| ${f.part} | ${f.what} | ${fmt(f.value)} ${f.unit} | ${target} | ${ok === null ? "" : ok ? "yes" : "**no**"} | ${baseline} |`;
  });
  return [
    "| part | what | measured | target | met | baseline in the same run |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

/** Prints the table and writes bench-results/<part>-<time>.json and bench-results/<part>-latest.json. */
export async function publish(name: string, figures: Figure[], extra: Record<string, unknown> = {}): Promise<string> {
  const dir = path.resolve(__dirname, "..", "..", "bench-results");
  await mkdir(dir, { recursive: true });
  const at = new Date().toISOString();
  const body = JSON.stringify({ name, at, machine: machine(), figures, ...extra }, null, 2) + "\n";
  const file = path.join(dir, `${name}-${at.replace(/[:.]/g, "-")}.json`);
  await writeFile(file, body);
  await writeFile(path.join(dir, `${name}-latest.json`), body);
  console.log(`\n${table(figures)}\n\nresults: ${path.relative(process.cwd(), file)}`);
  return file;
}

/** A small progress line on stderr for long steps. */
export function progress(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
