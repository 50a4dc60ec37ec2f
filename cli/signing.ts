/**
 * Self-custody (DESIGN §3): the factory keeps its own secp256k1 key and signs for itself. For a
 * submission the CLI canonicalizes each event (RFC 8785), hashes it (SHA-256: the event id), builds
 * the submission's Merkle tree and signs EIP-712 `Submission{org, root, count, nonce}`; for a
 * product or batch it signs the ledger request (`RegisterProduct`, `RegisterBatch`) with the
 * ledger's nonce and a deadline. The gateway checks the signature and relays; it never sees the key.
 * A gateway that changed an event would change its id and the root, and the signature would no
 * longer match: verification (`yutrace verify`) catches it.
 *
 * The key file is an Ethereum keystore (scrypt + AES, as wallets use) when a passphrase is given
 * (YUTRACE_KEY_PASSPHRASE), else the plain key; either way readable by its owner only.
 */
import { readFile } from "node:fs/promises";

import { Wallet, type HDNodeWallet, type TypedDataDomain } from "ethers";

import { LEDGER_TYPES, ledgerDomain, submissionDigest } from "../server/chain/typed-data";
import { canonicalSha256 } from "../server/domain/canonical";
import type { TraceEvent } from "../server/domain/events";
import { submissionTree } from "../server/domain/merkle";
import { writePrivateFile } from "./config";
import { CliError, EXIT_USAGE } from "./errors";

export interface KeyFile {
  /** The account the key signs as: what the operator registers the organisation with. */
  address: string;
  /** Present when not encrypted. */
  privateKey?: string;
  /** An Ethereum keystore (v3), when encrypted. */
  keystore?: unknown;
  createdAt: string;
}

export async function generateKey(file: string, passphrase: string | undefined): Promise<KeyFile> {
  const wallet: HDNodeWallet = Wallet.createRandom();
  const record: KeyFile = passphrase
    ? {
        address: wallet.address,
        keystore: JSON.parse(await wallet.encrypt(passphrase)),
        createdAt: new Date().toISOString(),
      }
    : { address: wallet.address, privateKey: wallet.privateKey, createdAt: new Date().toISOString() };
  try {
    await writePrivateFile(file, `${JSON.stringify(record, null, 2)}\n`, { exclusive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new CliError(
        `${file} exists: a key is never overwritten. Give another --out, or move it away first.`,
        EXIT_USAGE,
      );
    }
    throw error;
  }
  return record;
}

export async function readKeyFile(file: string): Promise<KeyFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new CliError(
      missing
        ? `no signing key at ${file}: run yutrace keys generate`
        : `cannot read ${file}: ${(error as Error).message}`,
      EXIT_USAGE,
    );
  }
  try {
    const record = JSON.parse(text) as KeyFile;
    if (typeof record.address !== "string" || (!record.privateKey && !record.keystore)) throw new Error("shape");
    return record;
  } catch {
    throw new CliError(`${file} is not a YuTrace key file`, EXIT_USAGE);
  }
}

export async function loadWallet(file: string): Promise<Wallet> {
  const record = await readKeyFile(file);
  if (record.privateKey) return new Wallet(record.privateKey);
  const passphrase = process.env.YUTRACE_KEY_PASSPHRASE;
  if (!passphrase) throw new CliError(`${file} is encrypted: set YUTRACE_KEY_PASSPHRASE`, EXIT_USAGE);
  try {
    const wallet = await Wallet.fromEncryptedJson(JSON.stringify(record.keystore), passphrase);
    return new Wallet(wallet.privateKey);
  } catch {
    throw new CliError(`cannot open ${file}: wrong YUTRACE_KEY_PASSPHRASE`, EXIT_USAGE);
  }
}

/** The ledger's EIP-712 domain, from the gateway's `GET /api/v1/ledger`. */
export function domainOf(ledger: { chainId: string; address: string }): TypedDataDomain {
  return ledgerDomain(BigInt(ledger.chainId), ledger.address);
}

/** Each event's id as the gateway computes it: SHA-256 of its canonical JSON. */
export function eventIds(events: readonly TraceEvent[]): string[] {
  return events.map((event) => canonicalSha256(event));
}

/** A signed submission body: the events, the organisation's signature over their root, and the nonce. */
export function signSubmission(
  wallet: Wallet,
  domain: TypedDataDomain,
  events: TraceEvent[],
  nonce: number,
): { body: { events: TraceEvent[]; signature: string; nonce: number }; ids: string[]; root: string } {
  const ids = eventIds(events);
  const { root } = submissionTree(ids);
  const digest = submissionDigest(domain, { org: wallet.address, root, count: ids.length, nonce: BigInt(nonce) });
  return { body: { events, signature: wallet.signingKey.sign(digest).serialized, nonce }, ids, root };
}

/** The `authorization` of a self-custody `RegisterProduct` or `RegisterBatch` request. */
export async function signRequest(
  wallet: Wallet,
  domain: TypedDataDomain,
  type: "RegisterProduct" | "RegisterBatch",
  message: Record<string, unknown>,
  nonce: number,
  lifetimeSeconds = 3600,
): Promise<{ nonce: number; deadline: number; signature: string }> {
  const deadline = Math.floor(Date.now() / 1000) + lifetimeSeconds;
  const value = { ...message, signer: wallet.address, nonce: BigInt(nonce), deadline: BigInt(deadline) };
  const signature = await wallet.signTypedData(domain, { [type]: [...LEDGER_TYPES[type]] }, value);
  return { nonce, deadline, signature };
}
