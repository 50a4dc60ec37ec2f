/**
 * The txlog: every raw transaction the gateway signs is written to the store's `txlog` sublevel
 * with `sync: true` BEFORE it is broadcast. A logged transaction either ends mined or is broadcast
 * again, byte for byte — it is never re-signed, and its nonce is never given to anything else. On
 * the in-memory local chain, replaying the log in order rebuilds the same ledger at the same
 * address (DESIGN §6).
 *
 * A send (`TxJournal.send`) runs under one lock per store:
 *  1. broadcast again every logged transaction the node has not acknowledged yet, in log order;
 *  2. estimate gas — a revert here is thrown as `LedgerRevertError` and nothing is logged;
 *  3. sign locally with the wallet's next nonce and gas limit = estimate × 1.25;
 *  4. append to the txlog (fsync) — from here on the transaction exists;
 *  5. broadcast. No answer: it stays pending and `ChainUnavailableError(txHash)` is thrown; step 1
 *     of the next send (or `LedgerClient.settle`, or `recover` at start-up) broadcasts it again.
 *     Refused and unknown to the node (e.g. insufficient funds): it can never be mined, so it is
 *     deleted from the log, the nonce is read again and `TransactionRejectedError` is thrown.
 * Receipts are awaited outside the lock; one not seen in time puts the transaction back in step 1.
 * One lock for all wallets, not one per wallet, so that the log order is the order in which the
 * node received the transactions: on an automining chain that is the mining order replay needs.
 * JSON-RPC goes through `provider.send`, because ethers caches identical calls for 250 ms.
 */
import { Transaction, id, type BaseWallet, type JsonRpcProvider, type TransactionReceipt } from "ethers";

import { TraceLedger__factory } from "../../typechain-types";
import { Store } from "../store/store";
import { keys } from "../store/keys";
import type { TxLogRecord } from "../store/records";
import {
  ChainUnavailableError,
  TransactionRejectedError,
  decodeLedgerError,
  describe,
  isChainUnreachable,
  revertOfMinedTransaction,
  withTimeout,
} from "./errors";
import { Mutex } from "../util/mutex";

/** How sending waits for the chain. */
export interface TxTiming {
  /** Blocks that must include a transaction before it counts as done; default 1. */
  confirmations: number;
  /** Longest wait for one JSON-RPC answer; default 30 s. */
  rpcTimeoutMs: number;
  /** Longest wait for a receipt before `ChainUnavailableError(txHash)`; default 120 s. */
  receiptTimeoutMs: number;
  /** Pause between receipt polls; default 250 ms. */
  pollIntervalMs: number;
  /**
   * How long the node may stay unreachable while a receipt is awaited before
   * `ChainUnavailableError(txHash)`; default 5 s. A chain that went away does not hold callers
   * (an API request, the anchorer) for the whole `receiptTimeoutMs`.
   */
  unreachableTimeoutMs: number;
}

export const DEFAULT_TX_TIMING: TxTiming = {
  confirmations: 1,
  rpcTimeoutMs: 30_000,
  receiptTimeoutMs: 120_000,
  pollIntervalMs: 250,
  unreachableTimeoutMs: 5_000,
};

const GAS_MARGIN_PERCENT = 125n;

/** A transaction to sign and send: `to` null deploys `data`. */
export interface TxRequest {
  to: string | null;
  data: string;
  /** What the transaction does, in the domain's words ("registerBatch", "anchor", …). */
  purpose: string;
}

/** The write-ahead sender of one store; get it with `txJournalOf`. */
export class TxJournal {
  private readonly lock = new Mutex();
  private nextSeq: number | null = null;
  /** Logged transactions the node has not acknowledged, by txlog seq. */
  private readonly pending = new Map<number, TxLogRecord>();
  /** Next nonce of each sending account (lower-case address), once known. */
  private readonly nonces = new Map<string, number>();
  /** Why nothing may be sent now (the local chain is being rebuilt), or null. */
  private unavailable: string | null = null;

  constructor(readonly store: Store) {}

  /**
   * While `reason` is set, `send` and `flush` fail at once with `ChainUnavailableError`: the gateway
   * sets it while it rebuilds its local chain, so that nothing is sent to a chain that has not got
   * its history back yet. `replayTxLog` is not affected.
   */
  setUnavailable(reason: string | null): void {
    this.unavailable = reason;
  }

  private checkAvailable(): void {
    if (this.unavailable) throw new ChainUnavailableError(this.unavailable);
  }

  /** Estimates, signs, logs (fsync) and broadcasts `request` from `wallet`; see the file comment. */
  send(provider: JsonRpcProvider, wallet: BaseWallet, request: TxRequest, timing: TxTiming): Promise<TxLogRecord> {
    return this.lock.run(async () => {
      this.checkAvailable();
      await this.flushLocked(provider, timing);
      const from = wallet.address.toLowerCase();
      const call = { from, ...(request.to ? { to: request.to } : {}), data: request.data };
      const gas = BigInt(await rpc<string>(provider, "eth_estimateGas", [call], timing));
      const nonce = await this.nextNonce(provider, from, timing);
      const fees = await withTimeout(provider.getFeeData(), timing.rpcTimeoutMs, "fee data").catch(rethrowDecoded);
      const { chainId } = await provider.getNetwork();
      const raw = await wallet.signTransaction({
        chainId,
        nonce,
        to: request.to,
        data: request.data,
        value: 0n,
        gasLimit: (gas * GAS_MARGIN_PERCENT) / 100n,
        ...(fees.maxFeePerGas !== null
          ? { type: 2, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas }
          : { type: 0, gasPrice: fees.gasPrice ?? 0n }),
      });
      const seq = await this.allocateSeq();
      const hash = Transaction.from(raw).hash!;
      const record: TxLogRecord = {
        seq,
        raw,
        hash,
        from,
        nonce,
        purpose: request.purpose,
        sentAt: new Date().toISOString(),
      };
      await this.store.write([Store.put(this.store.txlog, keys.tx(seq), record)], { sync: true });
      this.pending.set(seq, record);
      this.nonces.set(from, nonce + 1);
      await this.broadcast(provider, record, timing);
      return record;
    });
  }

  /** Broadcasts again every logged transaction the node has not acknowledged; throws if it still cannot. */
  flush(provider: JsonRpcProvider, timing: TxTiming): Promise<void> {
    return this.lock.run(async () => {
      this.checkAvailable();
      await this.flushLocked(provider, timing);
    });
  }

  /**
   * At start-up: finds logged transactions of `accounts` that are not mined yet (nonce at or above
   * the account's mined count — a crash came between logging and broadcasting, or the node lost
   * them) and broadcasts them again, in log order.
   */
  recover(provider: JsonRpcProvider, accounts: string[], timing: TxTiming): Promise<void> {
    return this.lock.run(async () => {
      const mined = new Map<string, number>();
      for (const account of new Set(accounts.map((a) => a.toLowerCase()))) {
        mined.set(account, Number(await rpc<string>(provider, "eth_getTransactionCount", [account, "latest"], timing)));
      }
      for await (const record of this.store.txlog.values({ ...keys.txRange, reverse: true })) {
        const { from, nonce, seq } = record as TxLogRecord;
        const minedCount = mined.get(from);
        if (minedCount === undefined) continue;
        if (nonce >= minedCount) this.pending.set(seq, record as TxLogRecord);
        else mined.delete(from);
        if (mined.size === 0) break;
      }
      await this.flushLocked(provider, timing);
    });
  }

  /**
   * Waits until `record` is mined with enough confirmations. Status 0 throws `LedgerRevertError`
   * (decoded by calling the same request at that block); no receipt in time throws
   * `ChainUnavailableError(txHash)` and queues it to be broadcast again (the node may have lost it).
   */
  async confirm(provider: JsonRpcProvider, record: TxLogRecord, timing: TxTiming): Promise<TransactionReceipt> {
    const receipt = await waitForReceipt(provider, record, timing).catch((error: unknown) => {
      if (error instanceof ChainUnavailableError) this.pending.set(record.seq, record);
      throw error;
    });
    if (receipt.status === 1) return receipt;
    throw await revertOfMinedTransaction(provider, record.raw, receipt);
  }

  /** The logged transaction `txHash`, or null (never logged, or refused and removed). */
  async find(txHash: string): Promise<TxLogRecord | null> {
    const hash = txHash.toLowerCase();
    for (const record of this.pending.values()) if (record.hash === hash) return record;
    for await (const record of this.store.txlog.values({ ...keys.txRange, reverse: true })) {
      if ((record as TxLogRecord).hash === hash) return record as TxLogRecord;
    }
    return null;
  }

  /** Runs `task` while no transaction is being sent through this store (used by replay). */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.lock.run(task);
  }

  private async flushLocked(provider: JsonRpcProvider, timing: TxTiming): Promise<void> {
    const waiting = [...this.pending.values()].sort((a, b) => a.seq - b.seq);
    for (const [index, record] of waiting.entries()) {
      try {
        await this.broadcast(provider, record, timing);
      } catch (error) {
        if (error instanceof TransactionRejectedError) continue; // removed from the log; nothing to wait for
        if (!(error instanceof ChainUnavailableError)) throw error;
        throw new ChainUnavailableError(
          `the chain is unreachable: ${waiting.length - index} logged transaction(s) wait to be broadcast again ` +
            `(first: ${record.hash}, ${record.purpose}); ${error.message}`,
          { cause: error },
        );
      }
    }
  }

  private async broadcast(provider: JsonRpcProvider, record: TxLogRecord, timing: TxTiming): Promise<void> {
    try {
      await rpc(provider, "eth_sendRawTransaction", [record.raw], timing);
      this.pending.delete(record.seq);
      return;
    } catch (error) {
      if (isChainUnreachable(error)) {
        throw new ChainUnavailableError(
          `could not broadcast ${record.purpose} transaction ${record.hash}: ${describe(error)}; ` +
            "it is in the txlog and will be broadcast again",
          { txHash: record.hash, cause: error },
        );
      }
      // The node answered but refused. It may already hold this very transaction: an earlier
      // broadcast got through, or (on an automining node) it was mined and reverted.
      const known = await rpc(provider, "eth_getTransactionByHash", [record.hash], timing).catch((e: unknown) => {
        const message = `could not learn whether the chain holds ${record.hash}: ${describe(e)}`;
        throw new ChainUnavailableError(message, { txHash: record.hash, cause: e });
      });
      this.pending.delete(record.seq);
      if (known) return;
      this.nonces.delete(record.from);
      await this.store.write([Store.del(this.store.txlog, keys.tx(record.seq))], { sync: true });
      throw new TransactionRejectedError(
        `the chain refused ${record.purpose} transaction ${record.hash}: ${describe(error)}; it was removed from the txlog`,
        record.hash,
        { cause: error },
      );
    }
  }

  private async nextNonce(provider: JsonRpcProvider, from: string, timing: TxTiming): Promise<number> {
    const known = this.nonces.get(from);
    if (known !== undefined) return known;
    let next = Number(await rpc<string>(provider, "eth_getTransactionCount", [from, "pending"], timing));
    for (const record of this.pending.values()) if (record.from === from) next = Math.max(next, record.nonce + 1);
    this.nonces.set(from, next);
    return next;
  }

  private async allocateSeq(): Promise<number> {
    if (this.nextSeq === null) {
      const [last] = await this.store.txlog.keys({ ...keys.txRange, reverse: true, limit: 1 }).all();
      this.nextSeq = last === undefined ? 1 : Number(last) + 1;
    }
    return this.nextSeq++;
  }
}

const journals = new WeakMap<Store, TxJournal>();

/** The one journal of `store`: everything that sends through one store shares its lock and nonces. */
export function txJournalOf(store: Store): TxJournal {
  let journal = journals.get(store);
  if (!journal) journals.set(store, (journal = new TxJournal(store)));
  return journal;
}

/**
 * Broadcasts every logged transaction again, in log order, each mined before the next, onto a fresh
 * chain of the same chain id — which rebuilds the same ledger at the same address (DESIGN §6).
 * Refuses, before sending anything more, when a transaction's nonce is not what the chain expects
 * (the chain is not fresh, or an account sent transactions the log does not hold). Block times
 * are the replay's own, not the original ones. `reverted` counts transactions mined with status 0.
 */
export async function replayTxLog(
  store: Store,
  provider: JsonRpcProvider,
  options: { onProgress?(done: number, total: number): void; timing?: Partial<TxTiming> } = {},
): Promise<{ replayed: number; reverted: number }> {
  const timing = { ...DEFAULT_TX_TIMING, ...options.timing };
  return txJournalOf(store).exclusive(async () => {
    const { chainId } = await provider.getNetwork();
    const total = (await store.txlog.keys(keys.txRange).all()).length;
    const nextNonce = new Map<string, number>();
    let replayed = 0;
    let reverted = 0;
    for await (const value of store.txlog.values(keys.txRange)) {
      const record = value as TxLogRecord;
      const tx = Transaction.from(record.raw);
      if (tx.chainId !== chainId) {
        throw new Error(`txlog #${record.seq} was signed for chain ${tx.chainId}, not this chain ${chainId}`);
      }
      const expected =
        nextNonce.get(record.from) ??
        Number(await rpc<string>(provider, "eth_getTransactionCount", [record.from, "latest"], timing));
      if (record.nonce !== expected) {
        throw new Error(
          `txlog #${record.seq} (${record.purpose}) uses nonce ${record.nonce} of ${record.from} but the chain ` +
            `expects ${expected}: replay only onto a fresh chain, with accounts only the gateway uses`,
        );
      }
      try {
        await rpc(provider, "eth_sendRawTransaction", [record.raw], timing);
      } catch (error) {
        if (isChainUnreachable(error)) throw error;
        // An automining node answers a reverting transaction with an error, yet mines it.
        if (!(await rpc(provider, "eth_getTransactionByHash", [record.hash], timing))) {
          throw new Error(`replay stopped at txlog #${record.seq} (${record.purpose}): ${describe(error)}`, {
            cause: error,
          });
        }
      }
      if ((await waitForReceipt(provider, record, timing)).status !== 1) reverted++;
      nextNonce.set(record.from, expected + 1);
      options.onProgress?.(++replayed, total);
    }
    return { replayed, reverted };
  });
}

/**
 * Whether to replay: the txlog holds transactions but the chain has no code at `ledgerAddress`
 * (a new in-memory chain). Only ever ask this of a chain the gateway started itself.
 */
export async function shouldReplay(store: Store, provider: JsonRpcProvider, ledgerAddress: string): Promise<boolean> {
  const first = await store.txlog.keys({ ...keys.txRange, limit: 1 }).all();
  if (first.length === 0) return false;
  return (await rpc<string>(provider, "eth_getCode", [ledgerAddress, "latest"], DEFAULT_TX_TIMING)) === "0x";
}

/**
 * Deploys TraceLedger with `admin` as platform admin and grants ANCHORER_ROLE to `relayer`, both
 * as logged raw transactions, so that a replay onto a fresh chain deploys it at the same address.
 * Refuses if either account already sent transactions this store did not log: a replay could not
 * reproduce them, and the address (derived from the admin's nonce) would differ.
 */
export async function deployLedgerLogged(
  store: Store,
  provider: JsonRpcProvider,
  admin: BaseWallet,
  relayer: BaseWallet,
  timing: Partial<TxTiming> = {},
): Promise<{ address: string; deployBlock: number; deployTx: string }> {
  const t = { ...DEFAULT_TX_TIMING, ...timing };
  const journal = txJournalOf(store);
  await requireOnlyLoggedTransactions(store, provider, [admin.address, relayer.address], t);
  const { data } = await new TraceLedger__factory().getDeployTransaction(admin.address);
  const deploy = await journal.send(provider, admin, { to: null, data, purpose: "deploy" }, t);
  const receipt = await journal.confirm(provider, deploy, t);
  const address = receipt.contractAddress!;
  const ledger = TraceLedger__factory.createInterface();
  const grant = ledger.encodeFunctionData("grantRole", [id("ANCHORER_ROLE"), relayer.address]);
  const granting = await journal.send(provider, admin, { to: address, data: grant, purpose: "grantAnchorer" }, t);
  await journal.confirm(provider, granting, t);
  return { address, deployBlock: receipt.blockNumber, deployTx: deploy.hash };
}

async function requireOnlyLoggedTransactions(
  store: Store,
  provider: JsonRpcProvider,
  accounts: string[],
  timing: TxTiming,
): Promise<void> {
  const logged = new Map(accounts.map((a) => [a.toLowerCase(), 0]));
  for await (const { from } of store.txlog.values(keys.txRange)) {
    if (logged.has(from)) logged.set(from, logged.get(from)! + 1);
  }
  for (const [account, count] of logged) {
    const sent = Number(await rpc<string>(provider, "eth_getTransactionCount", [account, "pending"], timing));
    if (sent === count) continue;
    throw new Error(
      `account ${account} has sent ${sent} transaction(s) on this chain but the txlog holds ${count}: a replay ` +
        "could not reproduce them; use a fresh chain and accounts only the gateway uses",
    );
  }
}

async function waitForReceipt(
  provider: JsonRpcProvider,
  record: TxLogRecord,
  timing: TxTiming,
): Promise<TransactionReceipt> {
  const deadline = Date.now() + timing.receiptTimeoutMs;
  let unreachableSince: number | null = null;
  for (;;) {
    // From the start of the first failed poll: a node that hangs fails a poll only after rpcTimeoutMs.
    const polled = Date.now();
    try {
      const receipt = await withTimeout(provider.getTransactionReceipt(record.hash), timing.rpcTimeoutMs, "receipt");
      unreachableSince = null;
      if (receipt) {
        if (timing.confirmations <= 1) return receipt;
        const head = await withTimeout(provider.getBlockNumber(), timing.rpcTimeoutMs, "eth_blockNumber");
        if (head - receipt.blockNumber + 1 >= timing.confirmations) return receipt;
      }
    } catch (error) {
      if (!isChainUnreachable(error)) throw decodeLedgerError(error);
      unreachableSince ??= polled;
      if (Date.now() - unreachableSince >= timing.unreachableTimeoutMs) {
        throw new ChainUnavailableError(
          `the chain went away while ${record.purpose} transaction ${record.hash} awaited its receipt; ` +
            "it stays in the txlog and will be broadcast again",
          { txHash: record.hash, cause: error },
        );
      }
    }
    if (Date.now() >= deadline) {
      throw new ChainUnavailableError(
        `${record.purpose} transaction ${record.hash} was not confirmed within ${timing.receiptTimeoutMs} ms; ` +
          "it stays in the txlog and will be broadcast again",
        { txHash: record.hash },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, timing.pollIntervalMs));
  }
}

/** A raw JSON-RPC call (not cached by ethers) with a timeout; failures decoded (`decodeLedgerError`). */
function rpc<T = unknown>(provider: JsonRpcProvider, method: string, params: unknown[], timing: TxTiming): Promise<T> {
  return withTimeout(provider.send(method, params) as Promise<T>, timing.rpcTimeoutMs, method).catch(rethrowDecoded);
}

function rethrowDecoded(error: unknown): never {
  throw decodeLedgerError(error);
}
