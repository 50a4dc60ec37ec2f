/**
 * Worker threads that prepare submissions (prepare.ts: parse, schema, canonical JSON, SHA-256 ids,
 * the submission's root, each event's batch ids; here also the events' rule views) off the main
 * thread, which then only applies the rules, signs and writes. Each request goes to
 * the worker with the fewest waiting; a worker that dies fails what it held (500, logged) and is
 * replaced.
 */
import { availableParallelism } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";

import { HttpError } from "../http/errors";
import type { PreparedSubmission } from "./prepare";

export interface PrepareRequest {
  id: number;
  raw: Uint8Array;
  withRequestHash: boolean;
}

export type PrepareReply =
  | { id: number; prepared: Omit<PreparedSubmission, "events"> }
  | { id: number; refused: { status: number; code: string; message: string; details?: unknown } }
  | { id: number; failed: string };

interface Pending {
  resolve(prepared: PreparedSubmission): void;
  reject(error: Error): void;
}

/** One worker per core but the main thread's, at least one and at most four. */
export function defaultPrepareWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/**
 * Loads the TypeScript worker with sucrase (milliseconds, where ts-node would load the TypeScript
 * compiler into every worker), whatever the main thread was started with.
 */
const BOOTSTRAP = `require("sucrase/register/ts");
require(${JSON.stringify(path.join(__dirname, "prepare-worker.ts"))});`;

/** Workers that die this many times in a row without ever answering put the pool out of use. */
const MAX_FAILED_STARTS = 3;

export class PreparePool {
  private readonly workers: { worker: Worker; pending: Map<number, Pending> }[] = [];
  private nextId = 1;
  private closing = false;
  private failedStarts = 0;
  private broken: Error | null = null;

  /**
   * `onCrash` hears of every worker that died. `bootstrap` is the code a worker runs (tests give
   * one that fails).
   */
  constructor(
    private readonly wanted: number,
    private readonly onCrash: (error: Error) => void = () => undefined,
    private readonly bootstrap = BOOTSTRAP,
  ) {
    if (!Number.isInteger(wanted) || wanted < 1)
      throw new RangeError(`a prepare pool needs 1 or more workers, not ${wanted}`);
  }

  /** Workers running: none until the first submission (a gateway that only serves scans needs none). */
  get size(): number {
    return this.workers.length;
  }

  /**
   * False once workers kept dying before answering anything (they cannot load, say): the pool is
   * not respawned in a loop, and callers prepare on their own thread.
   */
  get usable(): boolean {
    return this.broken === null && !this.closing;
  }

  /** Prepares the submission whose JSON body is `raw`; rejects with HttpError when the request is at fault. */
  prepare(raw: Uint8Array, withRequestHash: boolean): Promise<PreparedSubmission> {
    if (this.closing) return Promise.reject(new Error("the prepare pool is closed"));
    if (this.broken) return Promise.reject(this.broken);
    while (this.workers.length < this.wanted) this.workers.push(this.spawn());
    const slot = this.workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, raw, withRequestHash } satisfies PrepareRequest);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
  }

  private spawn(): { worker: Worker; pending: Map<number, Pending> } {
    // No inherited -r hooks: the bootstrap brings its own.
    // Its old space is small: it holds one submission at a time (4 MB of JSON at most). Its young
    // generation is V8's default size (48 MB: 16 MB semi-spaces, up to ~22 MB more resident than
    // 16 MB): nearly all it allocates dies within a submission, and with 16 MB (5 MB semi-spaces)
    // preparing took ~10 % longer (BENCHMARKS.md, "Leaner event records").
    const worker = new Worker(this.bootstrap, {
      eval: true,
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 48 },
    });
    const slot = { worker, pending: new Map<number, Pending>() };
    let answered = false;
    worker.on("message", (reply: PrepareReply) => {
      answered = true;
      this.failedStarts = 0;
      const pending = slot.pending.get(reply.id);
      if (!pending) return;
      slot.pending.delete(reply.id);
      if ("prepared" in reply) pending.resolve(reply.prepared);
      else if ("refused" in reply) {
        const { status, code, message, details } = reply.refused;
        pending.reject(new HttpError(status, code, message, details));
      } else pending.reject(new Error(`preparing the submission failed: ${reply.failed}`));
    });
    const fail = (error: Error) => {
      for (const pending of slot.pending.values()) pending.reject(error);
      slot.pending.clear();
      if (this.closing) return;
      this.onCrash(error);
      const index = this.workers.indexOf(slot);
      if (index < 0) return;
      if (!answered && ++this.failedStarts >= MAX_FAILED_STARTS) {
        this.broken = new Error(`prepare workers keep dying before they answer: ${error.message}`);
        this.workers.splice(index, 1);
        return;
      }
      this.workers[index] = this.spawn();
    };
    worker.on("error", (error) => fail(error));
    worker.on("exit", (code) => {
      if (this.workers.includes(slot)) fail(new Error(`a prepare worker exited with code ${code}`));
    });
    // Waiting for replies must not keep the process alive on its own.
    worker.unref();
    return slot;
  }
}
