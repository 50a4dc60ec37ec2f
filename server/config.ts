/**
 * Configuration, read once from the environment and validated. A bad value stops start-up with
 * one message that lists every problem.
 */
import path from "node:path";
import { z } from "zod";

const port = z.coerce.number().int().min(1).max(65535);

const schema = z.object({
  YUTRACE_RPC_URL: z
    .string()
    .url()
    .refine((url) => /^https?:|^wss?:/.test(url), "must be an http(s) or ws(s) URL")
    .optional(),
  YUTRACE_CHAIN_PORT: port.default(8545),
  YUTRACE_DATA_DIR: z.string().min(1).default("data"),
});

export interface Config {
  /** JSON-RPC URL of an existing chain; when absent we start a local `hardhat node`. */
  rpcUrl: string | null;
  /** Port of the local `hardhat node` on 127.0.0.1 (only when `rpcUrl` is absent). */
  chainPort: number;
  /** Absolute folder for the store and logs. */
  dataDir: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Reads and validates the configuration; throws `ConfigError` listing every bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = schema.safeParse(set);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (issue) => `${issue.path.join(".")}=${JSON.stringify(set[String(issue.path[0])])}: ${issue.message}`,
      ),
    );
  }
  const values = parsed.data;
  return {
    rpcUrl: values.YUTRACE_RPC_URL ?? null,
    chainPort: values.YUTRACE_CHAIN_PORT,
    dataDir: path.resolve(cwd, values.YUTRACE_DATA_DIR),
  };
}
