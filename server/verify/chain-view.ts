/**
 * What the verifier reads from the ledger, through any JSON-RPC endpoint: a handful of view
 * functions declared here by hand, so the verifier needs neither the gateway nor this project's
 * build. Reads are cached for one verification (the chain below a block does not change).
 */
import { Contract, id, type Provider } from "ethers";

import type { RoleName } from "../store/records";

const LEDGER_VIEWS = [
  "function getBatch(bytes32 batchId) view returns (tuple(bytes32 producer, bytes32 metadataHash, uint64 gtin, uint64 registeredAt, uint8 status, bytes32[] parents))",
  "function getAnchor(bytes32 root) view returns (tuple(uint64 seq, uint64 blockNumber, uint64 blockTime, uint32 leafCount, uint32 eventCount))",
  "function organisationOf(address account) view returns (bytes32)",
  "function hasActiveRole(bytes32 role, address account) view returns (bool)",
  "function hashSubmission(address org, bytes32 root, uint32 count, uint256 nonce) view returns (bytes32)",
  "error TraceLedgerUnknownBatch(bytes32 batchId)",
  "error TraceLedgerUnknownAnchor(bytes32 root)",
] as const;

const STATUS = [null, "active", "held", "recalled"] as const;
/** Most settled facts a gateway keeps. */
const MAX_SETTLED = 50_000;
export type ChainBatchStatus = "active" | "held" | "recalled";

export interface ChainBatch {
  producer: string;
  metadataHash: string;
  status: ChainBatchStatus;
  parents: string[];
}

export interface ChainAnchor {
  seq: number;
  block: number;
  blockTime: string;
}

export class ChainView {
  private readonly ledger: Contract;
  private readonly cache = new Map<string, Promise<unknown>>();

  /**
   * `settled`, when given, keeps facts that cannot change across verifications (the chain id, roles
   * at a past block, an anchor once found); everything else is read again for each verification.
   */
  constructor(
    readonly provider: Provider,
    readonly address: string,
    private readonly settled?: Map<string, Promise<unknown>>,
  ) {
    this.ledger = new Contract(address, LEDGER_VIEWS, provider);
  }

  async chainId(): Promise<bigint> {
    return this.cached("chainId", async () => (await this.provider.getNetwork()).chainId, true);
  }

  async headBlock(): Promise<number> {
    return this.cached("head", () => this.provider.getBlockNumber());
  }

  /** Whether the address holds contract code that answers like a TraceLedger. */
  async isLedger(): Promise<boolean> {
    return this.cached(
      `isLedger:${this.address}`,
      async () => {
        if ((await this.provider.getCode(this.address)) === "0x") return false;
        try {
          await this.ledger.getFunction("hashSubmission").staticCall(this.address, `0x${"0".repeat(64)}`, 1, 0);
          return true;
        } catch {
          return false;
        }
      },
      true,
    );
  }

  /** The batch as the chain has it, or null if it was never registered. */
  batch(batchId: string): Promise<ChainBatch | null> {
    return this.cached(`batch:${batchId}`, async () => {
      const raw = await this.unknownAsNull("TraceLedgerUnknownBatch", () =>
        this.ledger.getFunction("getBatch")(batchId),
      );
      if (!raw) return null;
      return {
        producer: raw.producer as string,
        metadataHash: raw.metadataHash as string,
        status: STATUS[Number(raw.status)] ?? "active",
        parents: [...(raw.parents as string[])],
      };
    });
  }

  anchor(root: string): Promise<ChainAnchor | null> {
    // Settled once found; a root not anchored yet may be soon.
    const key = `anchor:${root}`;
    const known = this.settled?.get(key) as Promise<ChainAnchor | null> | undefined;
    if (known) return known;
    const read = this.cached(key, async () => {
      const raw = await this.unknownAsNull("TraceLedgerUnknownAnchor", () =>
        this.ledger.getFunction("getAnchor")(root),
      );
      if (!raw) return null;
      return {
        seq: Number(raw.seq),
        block: Number(raw.blockNumber),
        blockTime: new Date(Number(raw.blockTime) * 1000).toISOString(),
      };
    });
    read.then(
      (anchor) => anchor && this.settled?.set(key, read),
      () => undefined,
    );
    return read;
  }

  /** The organisation `account` signed for at `block`. */
  organisationOf(account: string, block: number): Promise<string> {
    return this.cached(
      `org:${account}:${block}`,
      () => this.ledger.getFunction("organisationOf")(account, { blockTag: block }),
      true,
    );
  }

  /** Whether `account` held `role` at `block` (and its organisation was not suspended then). */
  hasRole(role: RoleName, account: string, block: number): Promise<boolean> {
    const roleId = id(`${role.toUpperCase()}_ROLE`);
    return this.cached(
      `role:${role}:${account}:${block}`,
      () => this.ledger.getFunction("hasActiveRole")(roleId, account, { blockTag: block }),
      true,
    );
  }

  /**
   * Every ancestor of `batchId` by the chain's parent lists, breadth-first, with the recalled ones
   * among them (at most `limit` ancestors looked at, as the contract's own `recalledAncestor`
   * bounds its walk; `truncated` says the walk stopped there).
   */
  async ancestors(
    batchId: string,
    limit = 1024,
  ): Promise<{ ids: Set<string>; recalled: string[]; truncated: boolean }> {
    const seen = new Set<string>([batchId]);
    const ids = new Set<string>();
    const recalled: string[] = [];
    let frontier = [...((await this.batch(batchId))?.parents ?? [])];
    while (frontier.length > 0) {
      const next: string[] = [];
      const level = frontier.filter((id) => !seen.has(id) && (seen.add(id), true));
      if (ids.size + level.length > limit) return { ids, recalled, truncated: true };
      const batches = await Promise.all(level.map((id) => this.batch(id)));
      level.forEach((id, i) => {
        const batch = batches[i];
        if (!batch) return;
        ids.add(id);
        if (batch.status === "recalled") recalled.push(id);
        next.push(...batch.parents);
      });
      frontier = next;
    }
    return { ids, recalled, truncated: false };
  }

  private cached<T>(key: string, read: () => Promise<T>, settled = false): Promise<T> {
    const shared = settled ? this.settled : undefined;
    let value = (shared?.get(key) ?? this.cache.get(key)) as Promise<T> | undefined;
    if (!value) {
      value = read();
      this.cache.set(key, value);
      // A failed read (the node hiccuped) is not remembered.
      value.catch(() => this.cache.delete(key));
      if (shared) {
        if (shared.size >= MAX_SETTLED) shared.clear();
        shared.set(key, value);
        value.catch(() => shared.delete(key));
      }
    }
    return value;
  }

  private async unknownAsNull<T>(errorName: string, call: () => Promise<T>): Promise<T | null> {
    try {
      return await call();
    } catch (error) {
      const data = (error as { data?: string }).data;
      const parsed = typeof data === "string" ? safeParseError(this.ledger, data) : null;
      if (parsed === errorName) return null;
      throw error;
    }
  }
}

function safeParseError(ledger: Contract, data: string): string | null {
  try {
    return ledger.interface.parseError(data)?.name ?? null;
  } catch {
    return null;
  }
}
