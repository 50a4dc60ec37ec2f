/**
 * LedgerClient: everything the gateway sends to or reads from TraceLedger. Admin calls are signed
 * by the platform admin key; a participant's call is an EIP-712 request signed by the organisation
 * (usually its custodial key, see custody.ts) and relayed as `…BySig` by the relayer, which pays
 * the gas but cannot forge it. Every transaction goes through the store's txlog (txlog.ts):
 * estimated first, logged before it is broadcast, and then either mined or broadcast again.
 *
 * Errors: `LedgerRevertError` (the ledger refused; `txHash` null means nothing was sent),
 * `ChainUnavailableError` (no answer; with `txHash` the request is logged and in flight — call
 * `settle(txHash)`, or for anchors `findAnchor(root)`, to learn how it ended), and
 * `TransactionRejectedError` (the node refused a signed transaction; nothing changed).
 */
import {
  getAddress,
  id,
  type BaseWallet,
  type JsonRpcProvider,
  type Signer,
  type TransactionReceipt,
  type TypedDataDomain,
} from "ethers";

import { TraceLedger__factory, type TraceLedger } from "../../typechain-types";
import { batchIdOf } from "../domain/batch-id";
import type { RoleName } from "../store/records";
import type { Store } from "../store/store";
import { ChainUnavailableError, LedgerRevertError, NonceMismatchError, decodeLedgerError, withTimeout } from "./errors";
import { Mutex } from "../util/mutex";
import { DEFAULT_TX_TIMING, txJournalOf, type TxJournal, type TxTiming } from "./txlog";
import { ledgerDomain, signAuthorization, type Authorization, type LedgerTypeName } from "./typed-data";

/** The on-chain role of each participant role name. */
export const ROLE_IDS: Readonly<Record<RoleName, string>> = {
  regulator: id("REGULATOR_ROLE"),
  producer: id("PRODUCER_ROLE"),
  inspector: id("INSPECTOR_ROLE"),
  logistics: id("LOGISTICS_ROLE"),
  retailer: id("RETAILER_ROLE"),
};

export const ANCHORER_ROLE = id("ANCHORER_ROLE");

/**
 * Default validity of the `…BySig` requests this client signs: 10 years. The local chain is
 * rebuilt by replaying logged transactions, possibly long after they were signed; a request whose
 * deadline has passed would revert on replay and a product, batch or recall would be lost. The
 * gateway signs and relays in one step and the on-chain nonce makes each request single-use, so a
 * short deadline buys nothing here. On a chain that is never replayed, pass a short lifetime.
 */
export const DEFAULT_SIGNATURE_LIFETIME_SECONDS = 10 * 365 * 24 * 3600;

export interface LedgerClientOptions {
  /**
   * Best created with `{ staticNetwork: true, cacheTimeout: -1 }`: ethers otherwise serves an
   * identical read made within 250 ms from its cache, so a read right after a write can be stale.
   */
  provider: JsonRpcProvider;
  store: Store;
  ledgerAddress: string;
  /** Holds DEFAULT_ADMIN_ROLE: onboards organisations. */
  admin: BaseWallet;
  /** Holds ANCHORER_ROLE: anchors roots and pays the gas of relayed requests. */
  relayer: BaseWallet;
  /** Blocks that must include a transaction before a call returns; default 1. */
  confirmations?: number;
  /** Validity of the `…BySig` requests this client signs; see DEFAULT_SIGNATURE_LIFETIME_SECONDS. */
  signatureLifetimeSeconds?: number;
  /** Timeouts and polling; see `TxTiming`. */
  timing?: Partial<Omit<TxTiming, "confirmations">>;
}

/** A mined, successful transaction. */
export interface SentTransaction {
  txHash: string;
  blockNumber: number;
  receipt: TransactionReceipt;
}

/** An anchor as the chain holds it; `blockTime` is ISO 8601. */
export interface AnchorResult {
  seq: number;
  txHash: string;
  blockNumber: number;
  blockTime: string;
}

type RequestType = Exclude<LedgerTypeName, "Submission">;

/**
 * Who signs a participant request: the organisation's key (custodial), or the authorization the
 * organisation signed itself and sent (self-custody), which is relayed as it is.
 */
export type OrgSigner = Signer | Authorization;

export class LedgerClient {
  /** TraceLedger, read-only (connected to the provider, not to a signer). */
  readonly ledger: TraceLedger;
  /** The EIP-712 domain organisations sign requests and submissions in. */
  readonly domain: TypedDataDomain;
  private readonly journal: TxJournal;
  private readonly signerLocks = new Map<string, Mutex>();
  /** Next `…BySig` nonce of each organisation account, as far as this client has used them. */
  private readonly signerNonces = new Map<string, bigint>();

  private constructor(
    readonly provider: JsonRpcProvider,
    readonly address: string,
    readonly chainId: bigint,
    private readonly admin: BaseWallet,
    private readonly relayer: BaseWallet,
    store: Store,
    private readonly timing: TxTiming,
    private readonly signatureLifetime: bigint,
  ) {
    this.ledger = TraceLedger__factory.connect(address, provider);
    this.domain = ledgerDomain(chainId, address);
    this.journal = txJournalOf(store);
  }

  /**
   * Connects to the TraceLedger at `ledgerAddress` and broadcasts again any logged transaction of
   * the admin or relayer that a crash or an outage left unmined. Fails if there is no code there:
   * deploy first (`deployLedgerLogged`) or, on a fresh local chain, replay the txlog.
   */
  static async connect(options: LedgerClientOptions): Promise<LedgerClient> {
    const timing = { ...DEFAULT_TX_TIMING, ...options.timing, confirmations: options.confirmations ?? 1 };
    const { provider } = options;
    const { chainId } = await read(withTimeout(provider.getNetwork(), timing.rpcTimeoutMs, "eth_chainId"));
    const address = getAddress(options.ledgerAddress);
    const lifetime = BigInt(options.signatureLifetimeSeconds ?? DEFAULT_SIGNATURE_LIFETIME_SECONDS);
    const client = new LedgerClient(
      provider,
      address,
      chainId,
      options.admin,
      options.relayer,
      options.store,
      timing,
      lifetime,
    );
    if (!(await client.hasCode())) {
      throw new Error(
        `no TraceLedger at ${address} on chain ${chainId}: deploy it (deployLedgerLogged) or, on a fresh local ` +
          "chain, replay the txlog first (shouldReplay, replayTxLog)",
      );
    }
    await client.journal.recover(provider, [options.admin.address, options.relayer.address], timing);
    return client;
  }

  // ------------------------------------------------------------ organisations (platform admin)

  /** Onboards organisation `orgId` (keccak of its 统一社会信用代码) signing with `account`, with `roleNames`. */
  registerOrganisation(orgId: string, account: string, roleNames: RoleName[]): Promise<SentTransaction> {
    const roles = roleNames.map((name) => {
      if (!Object.hasOwn(ROLE_IDS, name)) throw new RangeError(`"${name}" is not a participant role`);
      return ROLE_IDS[name];
    });
    const data = this.ledger.interface.encodeFunctionData("registerOrganisation", [orgId, account, roles]);
    return this.send(this.admin, "registerOrganisation", data);
  }

  /** Moves `orgId` and its roles to a new signing `account`; the old one is retired for good. */
  rotateOrganisationAccount(orgId: string, account: string): Promise<SentTransaction> {
    const data = this.ledger.interface.encodeFunctionData("rotateOrganisationAccount", [orgId, account]);
    return this.send(this.admin, "rotateOrganisationAccount", data);
  }

  /** Suspends `orgId` as platform admin (a regulator would sign `suspendOrganisationBySig`). */
  suspendOrganisation(orgId: string, reasonHash: string): Promise<SentTransaction> {
    const data = this.ledger.interface.encodeFunctionData("suspendOrganisation", [orgId, reasonHash]);
    return this.send(this.admin, "suspendOrganisation", data);
  }

  reinstateOrganisation(orgId: string): Promise<SentTransaction> {
    const data = this.ledger.interface.encodeFunctionData("reinstateOrganisation", [orgId]);
    return this.send(this.admin, "reinstateOrganisation", data);
  }

  /** Lets `account` anchor too, e.g. a standby relayer. */
  grantAnchorer(account: string): Promise<SentTransaction> {
    const data = this.ledger.interface.encodeFunctionData("grantRole", [ANCHORER_ROLE, account]);
    return this.send(this.admin, "grantAnchorer", data);
  }

  /**
   * The next `…BySig` nonce of `account`: the ledger's, or the one after this client's last request
   * of that account still in flight, whichever is larger.
   */
  async nonceOf(account: string): Promise<bigint> {
    const onChain = await this.query(this.ledger.nonces(account), "nonces");
    const local = this.signerNonces.get(getAddress(account)) ?? 0n;
    return onChain > local ? onChain : local;
  }

  // ------------------------------------------------------------ participant requests (relayed BySig)
  // `orgSigner` is the organisation's key (custodial: `openKey`); the relayer submits and pays.

  registerProduct(orgSigner: OrgSigner, gtin: bigint, metadataHash: string): Promise<SentTransaction> {
    return this.relay(orgSigner, "RegisterProduct", { gtin, metadataHash }, (auth) =>
      this.ledger.interface.encodeFunctionData("registerProductBySig", [gtin, metadataHash, auth]),
    );
  }

  /** Registers batch `lot` of `gtin` made from `parents`; `batchId` = keccak256(abi.encode(gtin, lot)). */
  async registerBatch(
    orgSigner: OrgSigner,
    gtin: bigint,
    lot: string,
    metadataHash: string,
    parents: string[],
  ): Promise<SentTransaction & { batchId: string }> {
    const sent = await this.relay(orgSigner, "RegisterBatch", { gtin, lot, metadataHash, parents }, (auth) =>
      this.ledger.interface.encodeFunctionData("registerBatchBySig", [gtin, lot, metadataHash, parents, auth]),
    );
    return { ...sent, batchId: batchIdOf(gtin, lot) };
  }

  commitSerials(orgSigner: Signer, batchId: string, root: string, count: number): Promise<SentTransaction> {
    return this.relay(orgSigner, "CommitSerials", { batchId, root, count }, (auth) =>
      this.ledger.interface.encodeFunctionData("commitSerialsBySig", [batchId, root, count, auth]),
    );
  }

  holdBatch(orgSigner: Signer, batchId: string, reasonHash: string): Promise<SentTransaction> {
    return this.relay(orgSigner, "HoldBatch", { batchId, reasonHash }, (auth) =>
      this.ledger.interface.encodeFunctionData("holdBatchBySig", [batchId, reasonHash, auth]),
    );
  }

  releaseBatch(orgSigner: Signer, batchId: string, reasonHash: string): Promise<SentTransaction> {
    return this.relay(orgSigner, "ReleaseBatch", { batchId, reasonHash }, (auth) =>
      this.ledger.interface.encodeFunctionData("releaseBatchBySig", [batchId, reasonHash, auth]),
    );
  }

  recall(orgSigner: Signer, batchId: string, reasonHash: string): Promise<SentTransaction> {
    return this.relay(orgSigner, "Recall", { batchId, reasonHash }, (auth) =>
      this.ledger.interface.encodeFunctionData("recallBySig", [batchId, reasonHash, auth]),
    );
  }

  /** Suspends `orgId` as the regulator organisation whose key `orgSigner` is (`suspendOrganisationBySig`). */
  suspendOrganisationAs(orgSigner: Signer, orgId: string, reasonHash: string): Promise<SentTransaction> {
    return this.relay(orgSigner, "SuspendOrganisation", { orgId, reasonHash }, (auth) =>
      this.ledger.interface.encodeFunctionData("suspendOrganisationBySig", [orgId, reasonHash, auth]),
    );
  }

  /** Lifts the suspension of `orgId` as the regulator organisation whose key `orgSigner` is. */
  reinstateOrganisationAs(orgSigner: Signer, orgId: string): Promise<SentTransaction> {
    return this.relay(orgSigner, "ReinstateOrganisation", { orgId }, (auth) =>
      this.ledger.interface.encodeFunctionData("reinstateOrganisationBySig", [orgId, auth]),
    );
  }

  // ------------------------------------------------------------ anchors

  /** Anchors `root` (sent by the relayer, which holds ANCHORER_ROLE). */
  async anchor(root: string, leafCount: number, eventCount: number): Promise<AnchorResult> {
    const data = this.ledger.interface.encodeFunctionData("anchor", [root, leafCount, eventCount]);
    const { receipt } = await this.send(this.relayer, "anchor", data);
    const event = receipt.logs
      .filter((log) => log.address === this.address)
      .map((log) => this.ledger.interface.parseLog(log))
      .find((parsed) => parsed?.name === "Anchored");
    if (!event) throw new Error(`anchor transaction ${receipt.hash} emitted no Anchored event`);
    const block = await this.query(this.provider.getBlock(receipt.blockNumber), "eth_getBlockByNumber");
    return {
      seq: Number(event.args.seq),
      txHash: receipt.hash,
      blockNumber: receipt.blockNumber,
      blockTime: new Date(block!.timestamp * 1000).toISOString(),
    };
  }

  /** The anchor of `root` if it is on-chain (with the transaction that made it), else null. */
  async findAnchor(root: string): Promise<AnchorResult | null> {
    let anchor: Awaited<ReturnType<TraceLedger["getAnchor"]>>;
    try {
      anchor = await withTimeout(this.ledger.getAnchor(root), this.timing.rpcTimeoutMs, "getAnchor");
    } catch (error) {
      const decoded = decodeLedgerError(error);
      if (decoded instanceof LedgerRevertError && decoded.errorName === "TraceLedgerUnknownAnchor") return null;
      throw decoded;
    }
    const blockNumber = Number(anchor.blockNumber);
    const filter = this.ledger.filters.Anchored(undefined, root);
    const [log] = await this.query(this.ledger.queryFilter(filter, blockNumber, blockNumber), "eth_getLogs");
    if (!log) throw new Error(`anchor of ${root} is recorded in block ${blockNumber} but no Anchored log is there`);
    const blockTime = new Date(Number(anchor.blockTime) * 1000).toISOString();
    return { seq: Number(anchor.seq), txHash: log.transactionHash, blockNumber, blockTime };
  }

  // ------------------------------------------------------------ in-flight transactions and health

  /**
   * How logged transaction `txHash` ended: broadcasts it again if the node never acknowledged it,
   * then waits for it. Throws `LedgerRevertError` if it reverted, `ChainUnavailableError` while the
   * chain is still away, and an error if the txlog does not hold it (never sent, or refused).
   */
  async settle(txHash: string): Promise<SentTransaction> {
    const record = await this.journal.find(txHash);
    if (!record) {
      throw new Error(`transaction ${txHash} is not in the txlog: it was never sent, or the chain refused it`);
    }
    await this.journal.flush(this.provider, this.timing);
    const receipt = await this.journal.confirm(this.provider, record, this.timing);
    return { txHash: record.hash, blockNumber: receipt.blockNumber, receipt };
  }

  /** Whether the JSON-RPC endpoint answers `eth_blockNumber` within `timeoutMs`. */
  async isReachable(timeoutMs = 2000): Promise<boolean> {
    try {
      await withTimeout(this.provider.send("eth_blockNumber", []), timeoutMs, "eth_blockNumber");
      return true;
    } catch {
      return false;
    }
  }

  /** Whether the chain has code at the ledger address (false on a fresh chain that needs a replay). */
  async hasCode(): Promise<boolean> {
    const send = this.provider.send("eth_getCode", [this.address, "latest"]) as Promise<string>;
    return (await this.query(send, "eth_getCode")) !== "0x";
  }

  // ------------------------------------------------------------ sending

  /** Awaits a read with the RPC timeout, turning ethers failures into the chain errors. */
  private query<T>(promise: Promise<T>, what: string): Promise<T> {
    return read(withTimeout(promise, this.timing.rpcTimeoutMs, what));
  }

  private async send(wallet: BaseWallet, purpose: string, data: string): Promise<SentTransaction> {
    const record = await this.journal.send(this.provider, wallet, { to: this.address, data, purpose }, this.timing);
    const receipt = await this.journal.confirm(this.provider, record, this.timing);
    return { txHash: record.hash, blockNumber: receipt.blockNumber, receipt };
  }

  /**
   * Signs request `type` with `orgSigner` and relays it. One request per organisation account at a
   * time, so its `…BySig` nonces are used in order: the next nonce is the larger of the ledger's and
   * the one after this client's last request still in flight.
   */
  private async relay(
    orgSigner: OrgSigner,
    type: RequestType,
    message: Record<string, unknown>,
    encode: (auth: Authorization) => string,
  ): Promise<SentTransaction> {
    const signer = getAddress("signature" in orgSigner ? orgSigner.signer : await orgSigner.getAddress());
    let lock = this.signerLocks.get(signer);
    if (!lock) this.signerLocks.set(signer, (lock = new Mutex()));
    const purpose = type.charAt(0).toLowerCase() + type.slice(1);
    if ("signature" in orgSigner) {
      // Signed by the organisation itself (self-custody): relayed as it is, once its nonce is the
      // next one — checked under the account's lock, so two requests with one nonce never both go.
      return lock.run(async () => {
        const expected = await this.nonceOf(signer);
        if (orgSigner.nonce !== expected) throw new NonceMismatchError(expected, orgSigner.nonce);
        try {
          const sent = await this.send(this.relayer, purpose, encode(orgSigner));
          this.signerNonces.set(signer, orgSigner.nonce + 1n);
          return sent;
        } catch (error) {
          // Logged and in flight: its nonce is taken until it settles.
          if (error instanceof ChainUnavailableError && error.txHash !== null) {
            this.signerNonces.set(signer, orgSigner.nonce + 1n);
          }
          throw error;
        }
      });
    }
    return lock.run(async () => {
      for (let attempt = 1; ; attempt++) {
        const onChain = await this.query(this.ledger.nonces(signer), "nonces");
        const local = this.signerNonces.get(signer) ?? 0n;
        const nonce = onChain > local ? onChain : local;
        const latest = await this.query(this.provider.getBlock("latest"), "eth_getBlockByNumber");
        const deadline = BigInt(latest!.timestamp) + this.signatureLifetime;
        const auth = await signAuthorization(orgSigner, this.domain, type, message, { signer, nonce, deadline });
        try {
          const sent = await this.send(this.relayer, purpose, encode(auth));
          this.signerNonces.set(signer, nonce + 1n);
          return sent;
        } catch (error) {
          // A request logged and in flight holds its nonce; any other failure left it unused.
          const inFlight = error instanceof ChainUnavailableError && error.txHash !== null;
          this.signerNonces.set(signer, inFlight ? nonce + 1n : nonce);
          const staleNonce = error instanceof LedgerRevertError && error.errorName === "TraceLedgerInvalidNonce";
          if (!staleNonce || error.txHash !== null || attempt > 1) throw error;
          // An earlier in-flight request was dropped after all: take the ledger's count and sign again.
          this.signerNonces.set(signer, BigInt(error.args[2] as string));
        }
      }
    });
  }
}

/** Awaits a read, turning ethers failures into the chain errors. */
async function read<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw decodeLedgerError(error);
  }
}
