/** How the CLI fails: a message for the user (no stack), details to list under it, and an exit code. */
export const EXIT_OK = 0;
/** The work failed: refused by the gateway, rows with problems, a check that did not pass. */
export const EXIT_FAILED = 1;
/** The command line itself is wrong, or something it needs (login, key) is missing. */
export const EXIT_USAGE = 2;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILED,
    /** Lines printed under the message, e.g. every bad row of a CSV file. */
    readonly lines: string[] = [],
  ) {
    super(message);
  }
}
