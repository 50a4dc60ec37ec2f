/**
 * The CLI's own settings (`yutrace login`): the gateway URL, the organisation's API key, an
 * optional JSON-RPC endpoint for `verify` and the signing key file for self-custody. One JSON file,
 * readable by its owner only (mode 600), as an API key is a password.
 *
 * Where: --config, else YUTRACE_CONFIG, else $XDG_CONFIG_HOME/yutrace/config.json (~/.config/…).
 * YUTRACE_GATEWAY and YUTRACE_API_KEY override what the file says (for scripts and CI).
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { CliError, EXIT_USAGE } from "./errors";

export interface CliConfig {
  gateway?: string;
  apiKey?: string;
  /** JSON-RPC endpoint of the ledger's chain, the default of `yutrace verify --rpc`. */
  rpc?: string;
  /** The self-custody signing key (`yutrace keys generate`). */
  keyFile?: string;
}

/** The folder the CLI keeps its files in (config, key, import progress). */
export function configDir(configFile: string): string {
  return path.dirname(configFile);
}

export function configPath(explicit?: string): string {
  if (explicit) return path.resolve(explicit);
  if (process.env.YUTRACE_CONFIG) return path.resolve(process.env.YUTRACE_CONFIG);
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config");
  return path.join(base, "yutrace", "config.json");
}

export async function readConfig(file: string): Promise<CliConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`, EXIT_USAGE);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    throw new CliError(`${file} is not valid JSON; run yutrace login again or fix it`, EXIT_USAGE);
  }
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new CliError(`${file} does not hold a settings object; run yutrace login again`, EXIT_USAGE);
  }
  return config as CliConfig;
}

/** Whether others than the owner may read `file` (an API key in it would then be exposed). */
export async function readableByOthers(file: string): Promise<boolean> {
  if (process.platform === "win32") return false;
  try {
    return ((await stat(file)).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

/** Writes `config` whole or not at all: a temporary file (mode 600), synced, renamed over the old one. */
export async function writeConfig(file: string, config: CliConfig): Promise<void> {
  await writePrivateFile(file, `${JSON.stringify(config, null, 2)}\n`);
}

/** Writes a file only its owner can read, atomically (temporary file, fsync, rename). */
export async function writePrivateFile(file: string, content: string, options: { exclusive?: boolean } = {}) {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  if (options.exclusive) {
    // Never replace a key: fail if the file exists.
    const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(file, 0o600);
    return;
  }
  const temporary = `${file}.${randomBytes(4).toString("hex")}${TEMPORARY_SUFFIX}`;
  const handle = await open(temporary, "w", 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await handle.close();
  await chmod(temporary, 0o600); // whatever the umask
  await rename(temporary, file);
}

const TEMPORARY_SUFFIX = ".tmp";

/**
 * Removes a file written by writePrivateFile, and the temporary files of writes to it that a killed
 * process left behind (`<file>.<random>.tmp`).
 */
export async function removePrivateFile(file: string): Promise<void> {
  await rm(file, { force: true });
  const prefix = `${path.basename(file)}.`;
  for (const name of await readdir(path.dirname(file)).catch(() => [] as string[])) {
    if (name.startsWith(prefix) && name.endsWith(TEMPORARY_SUFFIX)) {
      await rm(path.join(path.dirname(file), name), { force: true });
    }
  }
}

/** The self-custody key file: as set by login or keys generate --out, else next to the settings. */
export function keyFilePath(configFile: string, config: CliConfig): string {
  return config.keyFile ?? path.join(configDir(configFile), "signing-key.json");
}

/** The settings with the environment's overrides applied. */
export function effective(config: CliConfig): CliConfig {
  return {
    ...config,
    ...(process.env.YUTRACE_GATEWAY ? { gateway: process.env.YUTRACE_GATEWAY } : {}),
    ...(process.env.YUTRACE_API_KEY ? { apiKey: process.env.YUTRACE_API_KEY } : {}),
  };
}
