/**
 * Configuration, read once from the environment and validated. A bad value stops start-up with
 * one message that lists every problem.
 *
 * Demo mode (the default when no YUTRACE_RPC_URL is given) runs a local chain with Hardhat's
 * well-known development accounts and an insecure built-in key-encryption key, and loads the
 * Chongqing demo dataset. Outside demo mode every secret must be configured.
 */
import path from "node:path";
import { z } from "zod/v4";

import { parseKeyEncryptionKey } from "./chain/custody";
import { defaultPrepareWorkers } from "./services/prepare-pool";

const port = z.coerce.number().int().min(1).max(65535);
const privateKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte private key");
const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

const schema = z.object({
  YUTRACE_RPC_URL: z
    .string()
    .url()
    .refine((url) => /^https?:|^wss?:/.test(url), "must be an http(s) or ws(s) URL")
    .optional(),
  YUTRACE_CHAIN_PORT: port.default(8545),
  YUTRACE_DATA_DIR: z.string().min(1).default("data"),
  YUTRACE_PORT: port.default(8080),
  YUTRACE_HOST: z.string().min(1).default("127.0.0.1"),
  YUTRACE_PUBLIC_URL: z
    .string()
    .url()
    .refine((url) => /^https?:\/\//.test(url) && !url.endsWith("/"), "must be an http(s) URL without a trailing /")
    .optional(),
  YUTRACE_ANCHOR_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(1000),
  YUTRACE_CONFIRMATIONS: z.coerce.number().int().min(0).max(100).default(0),
  YUTRACE_DEMO: bool.optional(),
  YUTRACE_DEMO_DATA: bool.default(true),
  YUTRACE_KEY_ENCRYPTION_KEY: z.string().optional(),
  YUTRACE_ADMIN_KEY: privateKey.optional(),
  YUTRACE_RELAYER_KEY: privateKey.optional(),
  YUTRACE_ADMIN_API_KEY: z
    .string()
    .regex(/^ytk_[A-Za-z0-9_-]{43}$/, "must be a key made by `npm run admin-key` (ytk_ + 43 characters)")
    .optional(),
  YUTRACE_LEDGER_ADDRESS: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/, "must be an address")
    .optional(),
  YUTRACE_DEPLOY_BLOCK: z.coerce.number().int().min(0).optional(),
  YUTRACE_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  YUTRACE_WRITE_RATE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(600),
  YUTRACE_INGEST_WORKERS: z.coerce.number().int().min(0).max(16).optional(),
  YUTRACE_CERTIFICATE_QUOTA_MB: z.coerce.number().int().min(1).max(1_000_000).default(1024),
  YUTRACE_HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  YUTRACE_HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  YUTRACE_HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
});

export interface Config {
  /** JSON-RPC URL of an existing chain; when absent we start a local `hardhat node`. */
  rpcUrl: string | null;
  /** Port of the local `hardhat node` on 127.0.0.1 (only when `rpcUrl` is absent). */
  chainPort: number;
  /** Absolute folder for the store and logs. */
  dataDir: string;
  port: number;
  host: string;
  /** Base of every Digital Link URI and link we print. */
  publicUrl: string;
  anchorIntervalMs: number;
  /** Blocks the indexer waits on top of a block before applying it. */
  confirmations: number;
  demo: boolean;
  /** In demo mode, whether `npm start` loads the Chongqing demo dataset on first start. */
  demoData: boolean;
  keyEncryptionKey: Buffer | null;
  adminKey: string | null;
  relayerKey: string | null;
  adminApiKey: string | null;
  ledgerAddress: string | null;
  deployBlock: number | null;
  logLevel: string;
  writeRateLimit: number;
  /** Worker threads that parse and hash event submissions; 0: on the main thread. */
  ingestWorkers: number;
  /**
   * Slow or idle clients are cut off: a request's headers must arrive within `headersMs`, the whole
   * request within `requestMs`; an idle keep-alive connection closes after `keepAliveMs`.
   */
  httpTimeouts: { headersMs: number; requestMs: number; keepAliveMs: number };
  /** Bytes of new certificate documents one organisation may upload per day (China Standard Time). */
  certificateQuotaBytes: number;
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
  const shown = (name: string) => (/KEY/.test(name) ? "(secret)" : JSON.stringify(set[name]));
  const parsed = schema.safeParse(set);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join(".")}=${shown(String(issue.path[0]))}: ${issue.message}`),
    );
  }
  const v = parsed.data;
  const demo = v.YUTRACE_DEMO ?? v.YUTRACE_RPC_URL === undefined;
  const problems: string[] = [];
  let keyEncryptionKey: Buffer | null = null;
  if (v.YUTRACE_KEY_ENCRYPTION_KEY !== undefined) {
    try {
      keyEncryptionKey = parseKeyEncryptionKey(v.YUTRACE_KEY_ENCRYPTION_KEY);
    } catch (error) {
      problems.push(`YUTRACE_KEY_ENCRYPTION_KEY=(secret): ${(error as Error).message}`);
    }
  } else if (!demo) {
    problems.push("YUTRACE_KEY_ENCRYPTION_KEY is required outside demo mode (32 bytes, hex or base64)");
  }
  if (!demo) {
    if (!v.YUTRACE_ADMIN_KEY) problems.push("YUTRACE_ADMIN_KEY is required outside demo mode");
    if (!v.YUTRACE_RELAYER_KEY) problems.push("YUTRACE_RELAYER_KEY is required outside demo mode");
    if (!v.YUTRACE_ADMIN_API_KEY) problems.push("YUTRACE_ADMIN_API_KEY is required outside demo mode");
  }
  if ((v.YUTRACE_LEDGER_ADDRESS === undefined) !== (v.YUTRACE_DEPLOY_BLOCK === undefined)) {
    problems.push("YUTRACE_LEDGER_ADDRESS and YUTRACE_DEPLOY_BLOCK go together");
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    rpcUrl: v.YUTRACE_RPC_URL ?? null,
    chainPort: v.YUTRACE_CHAIN_PORT,
    dataDir: path.resolve(cwd, v.YUTRACE_DATA_DIR),
    port: v.YUTRACE_PORT,
    host: v.YUTRACE_HOST,
    publicUrl: v.YUTRACE_PUBLIC_URL ?? `http://localhost:${v.YUTRACE_PORT}`,
    anchorIntervalMs: v.YUTRACE_ANCHOR_INTERVAL_MS,
    confirmations: v.YUTRACE_CONFIRMATIONS,
    demo,
    demoData: demo && v.YUTRACE_DEMO_DATA,
    keyEncryptionKey,
    adminKey: v.YUTRACE_ADMIN_KEY ?? null,
    relayerKey: v.YUTRACE_RELAYER_KEY ?? null,
    adminApiKey: v.YUTRACE_ADMIN_API_KEY ?? null,
    ledgerAddress: v.YUTRACE_LEDGER_ADDRESS ?? null,
    deployBlock: v.YUTRACE_DEPLOY_BLOCK ?? null,
    logLevel: v.YUTRACE_LOG_LEVEL,
    writeRateLimit: v.YUTRACE_WRITE_RATE_LIMIT,
    ingestWorkers: v.YUTRACE_INGEST_WORKERS ?? defaultPrepareWorkers(),
    certificateQuotaBytes: v.YUTRACE_CERTIFICATE_QUOTA_MB * 1024 * 1024,
    httpTimeouts: {
      headersMs: v.YUTRACE_HTTP_HEADERS_TIMEOUT_MS,
      requestMs: v.YUTRACE_HTTP_REQUEST_TIMEOUT_MS,
      keepAliveMs: v.YUTRACE_HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
  };
}
