/**
 * Item serials (一物一码, DESIGN §4): random, unguessable serials for a batch, committed on-chain as
 * the root of an OpenZeppelin StandardMerkleTree over `(batchId, serial)` — the contract's
 * `serialLeaf` and `verifySerial` check the same leaves. The tree's nodes are stored in chunks so
 * that one serial's proof is a handful of reads, whatever the size of the commitment.
 */
import { randomBytes } from "node:crypto";
import type { BaseWallet } from "ethers";
import { keccak_256 } from "@noble/hashes/sha3";

import { merkleNodes, verifyMerkleProof } from "../domain/merkle";

import type { LedgerClient } from "../chain/ledger-client";
import { HttpError } from "../http/errors";
import { InFlight } from "./in-flight";
import { keys } from "../store/keys";
import type { BatchRecord, OrgRecord, SerialCommitmentRecord } from "../store/records";
import { Store, type Operation } from "../store/store";

/** Most serials one request makes. */
export const MAX_SERIALS_PER_REQUEST = 100_000;
/** 32 symbols without look-alikes (no I, L, O, U): 5 bits each; 13 of them carry 65 bits. */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
export const SERIAL_LENGTH = 13;
const CHUNK = 4096;

/**
 * The leaf of `serial` in its batch's tree; equals the contract's `serialLeaf(batchId, serial)`:
 * keccak256(keccak256(abi.encode(bytes32 batchId, string serial))), the ABI encoding written out
 * by hand (the generic encoder was most of the time of committing 100,000 serials).
 */
export function serialLeaf(batchId: string, serial: string): string {
  const text = Buffer.from(serial, "utf8");
  const words = Math.ceil(text.length / 32);
  const encoded = new Uint8Array(96 + words * 32);
  encoded.set(Buffer.from(batchId.slice(2), "hex"), 0);
  encoded[63] = 0x40; // offset of the string's data
  new DataView(encoded.buffer).setUint32(92, text.length); // its length (the low 4 bytes of the word)
  encoded.set(text, 96);
  return `0x${Buffer.from(keccak_256(keccak_256(encoded))).toString("hex")}`;
}

export function newSerial(): string {
  const bytes = randomBytes(SERIAL_LENGTH);
  let serial = "";
  for (const byte of bytes) serial += ALPHABET[byte & 31];
  return serial;
}

interface SerialEntry {
  root: string;
  /** Position of the leaf in the stored tree array (OpenZeppelin layout). */
  treeIndex: number;
}

export interface SerialCheck {
  genuine: boolean;
  /** Why not, when not genuine. */
  reason: "unknown_serial" | "not_committed" | "proof_failed" | null;
  root: string | null;
  proof: string[] | null;
  commitment: SerialCommitmentRecord | null;
}

/** Most serial checks kept between writes to the store. */
const CHECK_CACHE_LIMIT = 20_000;

export class SerialService {
  /** Checks made at store generation `generation`: valid until the store changes (scans do not change it). */
  private checks = { generation: -1, byKey: new Map<string, SerialCheck>() };
  private readonly checking = new InFlight<string, SerialCheck>();

  constructor(
    private readonly store: Store,
    private readonly ledger: LedgerClient,
    private readonly indexed: (block: number) => Promise<void>,
    private readonly signer: (org: OrgRecord) => Promise<BaseWallet>,
  ) {}

  /** Makes `count` serials for `batch`, commits their root on-chain, stores the tree; returns them. */
  async issue(org: OrgRecord, batch: BatchRecord, count: number): Promise<{ root: string; serials: string[] }> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_SERIALS_PER_REQUEST) {
      throw new HttpError(400, "invalid_request", `count must be 1 to ${MAX_SERIALS_PER_REQUEST}`);
    }
    if (batch.producer !== org.orgId)
      throw new HttpError(403, "not_batch_producer", "only the batch's producer issues serials");
    if (batch.status === "recalled") throw new HttpError(409, "batch_recalled", "the batch is recalled");
    const unique = new Set<string>();
    while (unique.size < count) unique.add(newSerial());
    const serials = [...unique];
    const nodes = merkleNodes(serials.map((serial) => serialLeaf(batch.batchId, serial)));
    const root = nodes[0]!;
    // Stored before the transaction: a crash after it was mined still leaves the proofs behind.
    const ops: Operation[] = [];
    for (let i = 0; i < nodes.length; i += CHUNK) {
      ops.push(Store.put(this.store.batches, keys.serialTreeChunk(root, i / CHUNK), nodes.slice(i, i + CHUNK)));
    }
    serials.forEach((serial, i) => {
      // OpenZeppelin's layout: leaf i sits at the end of the array, in reverse order.
      const entry: SerialEntry = { root, treeIndex: nodes.length - 1 - i };
      ops.push(Store.put(this.store.batches, keys.serial(batch.batchId, serial), entry));
    });
    ops.push(Store.put(this.store.batches, keys.serialList(batch.batchId, root), serials));
    for (let i = 0; i < ops.length; i += 20_000) await this.store.write(ops.slice(i, i + 20_000), { sync: true });
    const sent = await this.ledger.commitSerials(await this.signer(org), batch.batchId, root, count);
    await this.indexed(sent.blockNumber);
    return { root, serials };
  }

  /** All serials issued for `batchId`, in issue order. */
  async list(batchId: string): Promise<string[]> {
    const commitments = (await this.store.batches.values(keys.serialsRange(batchId)).all()) as SerialCommitmentRecord[];
    const lists = await this.store.batches.getMany(commitments.map((c) => keys.serialList(batchId, c.root)));
    return lists.flatMap((list) => (list as string[] | undefined) ?? []);
  }

  /**
   * Whether `serial` is a committed item of `batchId`, with its proof. Kept until the store next
   * changes: a popular item is scanned again and again, and its proof costs three reads, a JSON
   * parse of a 4,096-node chunk of the tree and a dozen keccak256s (profiled on item pages).
   */
  async check(batchId: string, serial: string): Promise<SerialCheck> {
    const generation = this.store.generation;
    if (this.checks.generation !== generation) this.checks = { generation, byKey: new Map() };
    const key = `${batchId}/${serial}`;
    const known = this.checks.byKey.get(key);
    if (known) return known;
    // Scans of the same item at the same generation that arrive while it is being checked wait for it.
    return this.checking.run(key, generation, async () => {
      const checked = await this.checkInStore(batchId, serial);
      // Kept only if nothing was written meanwhile (then the next request checks again).
      if (this.checks.generation === generation && this.store.generation === generation) {
        if (this.checks.byKey.size >= CHECK_CACHE_LIMIT) this.checks.byKey.clear();
        this.checks.byKey.set(key, checked);
      }
      return checked;
    });
  }

  private async checkInStore(batchId: string, serial: string): Promise<SerialCheck> {
    const entry = (await this.store.batches.get(keys.serial(batchId, serial))) as SerialEntry | undefined;
    if (!entry) return { genuine: false, reason: "unknown_serial", root: null, proof: null, commitment: null };
    const commitment = ((await this.store.batches.get(keys.serials(batchId, entry.root))) ??
      null) as SerialCommitmentRecord | null;
    if (!commitment) return { genuine: false, reason: "not_committed", root: entry.root, proof: null, commitment };
    const proof = await this.proof(entry);
    const genuine = verifyMerkleProof(entry.root, serialLeaf(batchId, serial), proof);
    return { genuine, reason: genuine ? null : "proof_failed", root: entry.root, proof, commitment };
  }

  /** Sibling hashes from the leaf to the root, read from the stored tree (OpenZeppelin layout). */
  private async proof(entry: SerialEntry): Promise<string[]> {
    const indices: number[] = [];
    for (let i = entry.treeIndex; i > 0; i = Math.floor((i - 1) / 2)) indices.push(i % 2 === 1 ? i + 1 : i - 1);
    const chunks = [...new Set(indices.map((i) => Math.floor(i / CHUNK)))];
    const loaded = (await this.store.batches.getMany(
      chunks.map((c) => keys.serialTreeChunk(entry.root, c)),
    )) as string[][];
    const byChunk = new Map(chunks.map((c, i) => [c, loaded[i]!]));
    return indices.map((i) => byChunk.get(Math.floor(i / CHUNK))![i % CHUNK]!);
  }
}
