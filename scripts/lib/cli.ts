/** What the operator commands (`npm run backup`, `npm run restore`) share: failures, exit, output. */
import { open } from "node:fs/promises";
import path from "node:path";

import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../../cli/errors";

/** Exit codes every command uses (those of `yutrace` too); a command may add its own from 3 on. */
export { EXIT_FAILED, EXIT_OK, EXIT_USAGE };

/** A failure with its exit code and a message for the operator. */
export class Failure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A wrong command line: the usage follows the message. */
export class UsageError extends Failure {
  constructor(message: string) {
    super(EXIT_USAGE, message);
  }
}

/** A path as the operator should read it: relative below the working folder, absolute elsewhere. */
export const shown = (p: string): string => {
  const relative = path.relative(process.cwd(), p);
  return relative && !relative.startsWith("..") ? relative : path.resolve(p);
};
export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
export const count = (n: number): string => n.toLocaleString("en-US");

/** Syncs a folder's entries (a new or renamed file in it) to disk, where the file system can. */
export async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, "r");
  try {
    await handle.sync();
  } catch {
    // Some file systems cannot sync a directory; the files themselves are synced.
  } finally {
    await handle.close();
  }
}

/** Runs `main` and exits: 0, a `Failure`'s own code (with the usage after a `UsageError`), or 1. */
export function runCommand(what: string, usage: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(EXIT_OK),
    (error: unknown) => {
      if (error instanceof Failure) {
        if (error.message) console.error(`error: ${error.message}`);
        if (error instanceof UsageError) console.error(`${error.message ? "\n" : ""}${usage}`);
        process.exit(error.code);
      }
      console.error(`error: ${what} failed: ${(error as Error).message ?? error}`);
      process.exit(EXIT_FAILED);
    },
  );
}
