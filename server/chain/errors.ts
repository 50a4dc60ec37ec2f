/**
 * What can go wrong when the gateway talks to the chain, as three error kinds the HTTP layer maps
 * by kind: the JSON-RPC endpoint is unreachable (503), the ledger refused the request with one of
 * its custom errors (mapped by `errorName`: not-found 404, exists 409, unauthorized 403, …), or the
 * node refused a signed transaction for reasons of its own (funds, fees, nonce). Everything an
 * ethers call throws goes through `decodeLedgerError` once, so no caller parses ethers errors.
 */
import { Transaction, isError, type JsonRpcProvider, type TransactionReceipt } from "ethers";

import { TraceLedger__factory } from "../../typechain-types";

const ledgerInterface = TraceLedger__factory.createInterface();

/** `errorName` of a revert whose data matches no error of TraceLedger (or that carried no data). */
export const UNKNOWN_REVERT = "UnknownRevert";

/** An error argument as JSON can carry it: numbers as decimal strings, bytes as 0x-hex, tuples as arrays. */
export type LedgerErrorArg = string | boolean | LedgerErrorArg[];

/**
 * The JSON-RPC endpoint could not be reached, or did not answer in time. When a transaction was
 * already written to the txlog (and maybe broadcast), `txHash` names it: its outcome is unknown,
 * it will be re-broadcast, and `LedgerClient.settle(txHash)` finds out how it ended.
 */
export class ChainUnavailableError extends Error {
  override readonly name = "ChainUnavailableError";
  readonly txHash: string | null;

  constructor(message: string, options: { txHash?: string | null; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.txHash = options.txHash ?? null;
  }
}

/**
 * A self-custody request was signed with a nonce other than the account's next one (the ledger's,
 * or the one after a request of that account still in flight): refused before it is sent, so it
 * costs no transaction.
 */
export class NonceMismatchError extends Error {
  override readonly name = "NonceMismatchError";

  constructor(
    readonly expected: bigint,
    readonly got: bigint,
  ) {
    super(`the next ledger nonce of this account is ${expected}`);
  }
}

/**
 * The ledger reverted: a TraceLedger custom error (`TraceLedgerUnknownBatch`, …), an OpenZeppelin
 * one (`AccessControlUnauthorizedAccount`, `EnforcedPause`, …), `Error`/`Panic`, or `UnknownRevert`.
 * `txHash` is set when a mined transaction reverted, null when the revert showed in gas estimation
 * (then nothing was logged or sent).
 */
export class LedgerRevertError extends Error {
  override readonly name = "LedgerRevertError";
  readonly txHash: string | null;

  constructor(
    readonly errorName: string,
    readonly args: LedgerErrorArg[],
    /** The raw revert data, 0x-hex ("0x" when the revert carried none). */
    readonly data: string,
    options: { txHash?: string | null; message?: string; cause?: unknown } = {},
  ) {
    super(options.message ?? `the ledger reverted with ${errorName}(${args.map(formatArg).join(", ")})`, {
      cause: options.cause,
    });
    this.txHash = options.txHash ?? null;
  }
}

/**
 * The node refused a signed transaction that passed gas estimation (insufficient funds, fee too
 * low, nonce already used by a transaction the gateway did not send). The transaction was removed
 * from the txlog, since it can never be mined; nothing on the ledger changed.
 */
export class TransactionRejectedError extends Error {
  override readonly name = "TransactionRejectedError";

  constructor(
    message: string,
    readonly txHash: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
  }
}

/**
 * Turns whatever an ethers call threw into `ChainUnavailableError` (endpoint down, refused, timed
 * out, HTTP 5xx) or `LedgerRevertError` (revert data decoded with TraceLedger's ABI); any other
 * error is returned as it was.
 */
export function decodeLedgerError(error: unknown): Error {
  if (
    error instanceof LedgerRevertError ||
    error instanceof ChainUnavailableError ||
    error instanceof TransactionRejectedError
  ) {
    return error;
  }
  if (isChainUnreachable(error)) {
    return new ChainUnavailableError(`the chain's JSON-RPC endpoint is unreachable: ${describe(error)}`, {
      cause: error,
    });
  }
  const data = revertData(error, 0);
  if (data !== null && data !== "0x") return revertFromData(data, { cause: error });
  if (data === "0x" || isError(error, "CALL_EXCEPTION")) {
    return new LedgerRevertError(UNKNOWN_REVERT, [], "0x", {
      cause: error,
      message: `the ledger reverted without a reason (${describe(error)})`,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** A `LedgerRevertError` for revert `data`, decoded with TraceLedger's ABI when it matches. */
export function revertFromData(
  data: string,
  options: { txHash?: string | null; cause?: unknown } = {},
): LedgerRevertError {
  const parsed = ledgerInterface.parseError(data);
  if (!parsed) return new LedgerRevertError(UNKNOWN_REVERT, [data], data, options);
  return new LedgerRevertError(parsed.name, Array.from(parsed.args, plainArg), data, options);
}

/**
 * Why a mined transaction (signed `raw`) reverted: the same call made at its block, decoded; if that
 * call does not revert (the state it met is gone), a generic `UnknownRevert` naming the block.
 */
export async function revertOfMinedTransaction(
  provider: JsonRpcProvider,
  raw: string,
  receipt: TransactionReceipt,
): Promise<LedgerRevertError> {
  const tx = Transaction.from(raw);
  const request = { from: tx.from, to: tx.to, data: tx.data, gasLimit: tx.gasLimit, blockTag: receipt.blockNumber };
  try {
    await withTimeout(provider.call(request), 30_000, "eth_call");
  } catch (error) {
    const decoded = decodeLedgerError(error);
    if (decoded instanceof LedgerRevertError && decoded.errorName !== UNKNOWN_REVERT) {
      return new LedgerRevertError(decoded.errorName, decoded.args, decoded.data, { txHash: tx.hash, cause: error });
    }
  }
  const outOfGas = receipt.gasUsed === tx.gasLimit ? ", having used all its gas" : "";
  return new LedgerRevertError(UNKNOWN_REVERT, [], "0x", {
    txHash: tx.hash,
    message: `transaction ${tx.hash} reverted in block ${receipt.blockNumber}${outOfGas}`,
  });
}

const UNREACHABLE_CODES = new Set([
  // ethers
  "NETWORK_ERROR",
  "TIMEOUT",
  "SERVER_ERROR",
  // Node sockets and undici
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** Whether `error` (or what caused it) says the endpoint could not be reached or did not answer. */
export function isChainUnreachable(error: unknown, depth = 0): boolean {
  if (error instanceof ChainUnavailableError) return true;
  if (depth > 4 || typeof error !== "object" || error === null) return false;
  const { code, cause, error: inner } = error as { code?: unknown; cause?: unknown; error?: unknown };
  if (typeof code === "string" && UNREACHABLE_CODES.has(code)) return true;
  return isChainUnreachable(cause, depth + 1) || isChainUnreachable(inner, depth + 1);
}

/**
 * Resolves like `promise`, or rejects with `ChainUnavailableError` after `ms`: an endpoint that does
 * not answer counts as unavailable (ethers would otherwise wait five minutes).
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ChainUnavailableError(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One line for an error from ethers or Node: the node's own JSON-RPC message when there is one
 * (ethers often only says "could not coalesce error"), without the payload ethers appends.
 */
export function describe(error: unknown): string {
  if (typeof error !== "object" || error === null) return String(error);
  const {
    shortMessage,
    message,
    code,
    info,
    error: rpcError,
  } = error as {
    shortMessage?: string;
    message?: string;
    code?: string;
    info?: { error?: { message?: unknown } };
    error?: { message?: unknown };
  };
  const nodeMessage = [rpcError?.message, info?.error?.message].find((m): m is string => typeof m === "string");
  const text = nodeMessage ?? shortMessage ?? message ?? String(error);
  return code && !text.includes(code) ? `${text} (${code})` : text;
}

/** The revert data somewhere in an ethers / JSON-RPC error: `.data`, `.error`, `.info.error`, `.cause`. */
function revertData(error: unknown, depth: number): string | null {
  if (depth > 5 || typeof error !== "object" || error === null) return null;
  const { data, error: inner, info, cause } = error as Record<string, unknown>;
  if (typeof data === "string" && /^0x(?:[0-9a-fA-F]{2})*$/.test(data)) return data.toLowerCase();
  for (const next of [data, inner, (info as { error?: unknown } | undefined)?.error, cause]) {
    const found = revertData(next, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

function plainArg(value: unknown): LedgerErrorArg {
  if (typeof value === "bigint" || typeof value === "number") return value.toString();
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (Array.isArray(value)) return Array.from(value as unknown[], plainArg);
  return String(value);
}

function formatArg(arg: LedgerErrorArg): string {
  return Array.isArray(arg) ? `[${arg.map(formatArg).join(", ")}]` : String(arg);
}
