/**
 * Onboarding and master data (DESIGN §2): organisations (on-chain roles, a custodial key kept
 * encrypted, an API key shown once), products and batches — each registered on-chain through the
 * organisation's EIP-712 signature relayed by the gateway, then read back through the indexer so
 * that the answer and every later read agree with the chain.
 */
import { getAddress, id, isAddress, verifyTypedData, type Wallet } from "ethers";

import { generateSigningKey, openKey, sealKey } from "../chain/custody";
import {
  ChainUnavailableError,
  LedgerRevertError,
  NonceMismatchError,
  TransactionRejectedError,
} from "../chain/errors";
import type { LedgerClient, OrgSigner } from "../chain/ledger-client";
import { LEDGER_TYPES, type LedgerTypeName } from "../chain/typed-data";
import { batchIdOf } from "../domain/batch-id";
import { canonicalHash } from "../domain/canonical";
import { isValidUscc, orgIdOf } from "../domain/identifiers";
import { HttpError } from "../http/errors";
import { keys } from "../store/keys";
import type {
  BatchMetadata,
  BatchRecord,
  OrgRecord,
  ProductMetadata,
  ProductRecord,
  RoleName,
  SigningKeyRecord,
} from "../store/records";
import { Store } from "../store/store";
import { issueApiKey } from "./api-keys";

export interface RegistryDeps {
  store: Store;
  ledger: LedgerClient;
  /** Waits until the indexer has applied block `block`. */
  indexed(block: number): Promise<void>;
  /** Key-encryption key for custodial signing keys. */
  kek: Buffer;
  /**
   * Runs a change of an organisation's account or standing (key rotation, suspension) with ingest
   * paused and every accepted submission anchored first: a submission's signer is checked at its
   * anchor's block, so none may be anchored after its signer changed.
   */
  accountChange?<T>(change: () => Promise<T>): Promise<T>;
}

export interface NewOrganisation {
  name: string;
  uscc: string;
  district: string;
  roles: RoleName[];
  /** Self-custody: the organisation's own account; the gateway then keeps no key for it. */
  account?: string;
}

/** How far ahead a self-custody authorization's deadline must be. */
export const MIN_DEADLINE_MARGIN_MS = 60_000;

/** A self-custody organisation's own signature of a ledger request, with the nonce and deadline it signed. */
export interface ClientAuthorization {
  nonce: number;
  deadline: number;
  signature: string;
}

export class Registry {
  constructor(private readonly deps: RegistryDeps) {}

  /** Registers an organisation on-chain and returns it with its API key (shown this once). */
  async createOrganisation(input: NewOrganisation): Promise<{ org: OrgRecord; apiKey: string }> {
    const { store, ledger } = this.deps;
    if (!isValidUscc(input.uscc))
      throw new HttpError(400, "invalid_uscc", `"${input.uscc}" is not a valid 统一社会信用代码`);
    const orgId = orgIdOf(input.uscc);
    if (await store.orgs.get(keys.org(orgId))) {
      throw new HttpError(409, "organisation_exists", `an organisation with 统一社会信用代码 ${input.uscc} exists`);
    }
    const custody = input.account ? "self" : "custodial";
    if (input.account && !isAddress(input.account))
      throw new HttpError(400, "invalid_account", "account is not an address");
    // A retried creation reuses the key made the first time, so the chain and the store agree.
    const sealed = (await store.keys.get(keys.signingKey(orgId))) as SigningKeyRecord | undefined;
    let account = input.account ?? sealed?.account;
    if (!account) {
      const wallet = generateSigningKey();
      account = wallet.address;
      const record: SigningKeyRecord = {
        orgId,
        account,
        sealed: sealKey(wallet.privateKey, this.deps.kek, orgId),
        createdAt: new Date().toISOString(),
      };
      await store.write([Store.put(store.keys, keys.signingKey(orgId), record)], { sync: true });
    }
    const org: OrgRecord = {
      orgId,
      name: input.name,
      uscc: input.uscc,
      district: input.district,
      roles: [...new Set(input.roles)],
      account,
      custody,
      suspended: false,
      createdAt: new Date().toISOString(),
    };
    // The profile goes in first so the indexer keeps it when it applies OrganisationRegistered.
    await store.write([Store.put(store.orgs, keys.org(orgId), org)], { sync: true });
    try {
      const sent = await ledger.registerOrganisation(orgId, account, org.roles);
      await this.deps.indexed(sent.blockNumber);
    } catch (error) {
      await store.write([Store.del(store.orgs, keys.org(orgId))], { sync: true });
      throw error;
    }
    const apiKey = await issueApiKey(store, orgId);
    return { org: (await store.orgs.get(keys.org(orgId))) as OrgRecord, apiKey };
  }

  async rotateApiKey(orgId: string): Promise<string> {
    await this.org(orgId);
    return issueApiKey(this.deps.store, orgId);
  }

  /** Gives a custodial organisation a new signing key, on-chain too; the old account is retired. */
  async rotateSigningKey(orgId: string): Promise<OrgRecord> {
    const { store, ledger } = this.deps;
    const org = await this.org(orgId);
    if (org.custody !== "custodial") {
      throw new HttpError(409, "self_custody", "this organisation keeps its own key; it rotates it itself");
    }
    const wallet = generateSigningKey();
    const sent = await this.changingAccounts(() => ledger.rotateOrganisationAccount(orgId, wallet.address));
    const record: SigningKeyRecord = {
      orgId,
      account: wallet.address,
      sealed: sealKey(wallet.privateKey, this.deps.kek, orgId),
      createdAt: new Date().toISOString(),
    };
    await store.write([Store.put(store.keys, keys.signingKey(orgId), record)], { sync: true });
    await this.deps.indexed(sent.blockNumber);
    return this.org(orgId);
  }

  /**
   * Suspends `orgId` on-chain: as the platform admin, or, with `actor`, as that regulator
   * organisation (its custodial key signs `suspendOrganisationBySig`; the relayer sends it).
   */
  async suspend(orgId: string, reason: string, actor?: OrgRecord): Promise<OrgRecord> {
    if ((await this.org(orgId)).suspended) {
      throw new HttpError(409, "organisation_already_suspended", "this organisation is suspended already");
    }
    const signer = actor ? await this.signer(actor) : null;
    const sent = await this.keeping(this.deps.store.orgs, keys.reason(id(reason)), reason, () =>
      this.changingAccounts(() =>
        signer
          ? this.deps.ledger.suspendOrganisationAs(signer, orgId, id(reason))
          : this.deps.ledger.suspendOrganisation(orgId, id(reason)),
      ),
    );
    await this.deps.indexed(sent.blockNumber);
    return this.org(orgId);
  }

  /** Lifts a suspension: as the platform admin, or, with `actor`, as that regulator organisation. */
  async reinstate(orgId: string, actor?: OrgRecord): Promise<OrgRecord> {
    if (!(await this.org(orgId)).suspended) {
      throw new HttpError(409, "organisation_not_suspended", "this organisation is not suspended");
    }
    const sent = actor
      ? await this.deps.ledger.reinstateOrganisationAs(await this.signer(actor), orgId)
      : await this.deps.ledger.reinstateOrganisation(orgId);
    await this.deps.indexed(sent.blockNumber);
    return this.org(orgId);
  }

  async registerProduct(
    org: OrgRecord,
    metadata: ProductMetadata,
    authorization?: ClientAuthorization,
  ): Promise<ProductRecord> {
    const { store, ledger } = this.deps;
    if (await store.products.get(keys.product(metadata.gtin))) {
      throw new HttpError(409, "product_exists", `product ${metadata.gtin} is registered already`);
    }
    const metadataHash = canonicalHash(metadata);
    const sent = await this.withMetadata(store.products, metadataHash, metadata, async () =>
      ledger.registerProduct(
        await this.requestSigner(org, "RegisterProduct", { gtin: BigInt(metadata.gtin), metadataHash }, authorization),
        BigInt(metadata.gtin),
        metadataHash,
      ),
    );
    await this.deps.indexed(sent.blockNumber);
    return (await store.products.get(keys.product(metadata.gtin))) as ProductRecord;
  }

  async registerBatch(
    org: OrgRecord,
    metadata: BatchMetadata,
    inputs: string[],
    authorization?: ClientAuthorization,
  ): Promise<BatchRecord> {
    const { store, ledger } = this.deps;
    const batchId = batchIdOf(metadata.gtin, metadata.lot);
    if (await store.batches.get(keys.batch(batchId))) {
      throw new HttpError(409, "batch_exists", `batch ${metadata.gtin}/${metadata.lot} is registered already`);
    }
    const product = (await store.products.get(keys.product(metadata.gtin))) as ProductRecord | undefined;
    if (!product) throw new HttpError(404, "unknown_product", `no product with GTIN ${metadata.gtin}`);
    if (product.owner !== org.orgId) {
      throw new HttpError(403, "not_product_owner", `product ${metadata.gtin} belongs to another organisation`);
    }
    const missing = (await store.batches.getMany(inputs.map((input) => keys.batch(input)))).flatMap((record, i) =>
      record ? [] : [inputs[i]],
    );
    if (missing.length > 0) throw new HttpError(404, "unknown_batch", "an input batch is not registered", { missing });
    const metadataHash = canonicalHash(metadata);
    const sent = await this.withMetadata(store.batches, metadataHash, metadata, async () =>
      ledger.registerBatch(
        await this.requestSigner(
          org,
          "RegisterBatch",
          { gtin: BigInt(metadata.gtin), lot: metadata.lot, metadataHash, parents: inputs },
          authorization,
        ),
        BigInt(metadata.gtin),
        metadata.lot,
        metadataHash,
        inputs,
      ),
    );
    await this.deps.indexed(sent.blockNumber);
    return (await store.batches.get(keys.batch(batchId))) as BatchRecord;
  }

  async recall(org: OrgRecord, batchId: string, reason: string): Promise<BatchRecord> {
    const { store } = this.deps;
    // The chain holds the reason's hash; its text is kept here for the consumer page.
    const signer = await this.signer(org);
    const sent = await this.keeping(store.batches, keys.reason(id(reason)), reason, () =>
      this.deps.ledger.recall(signer, batchId, id(reason)),
    );
    await this.deps.indexed(sent.blockNumber);
    return (await this.deps.store.batches.get(keys.batch(batchId))) as BatchRecord;
  }

  /** A regulator releases a held batch (Held → Active on-chain); the reason text is kept like a recall's. */
  async release(org: OrgRecord, batchId: string, reason: string): Promise<BatchRecord> {
    const { store } = this.deps;
    const signer = await this.signer(org);
    const sent = await this.keeping(store.batches, keys.reason(id(reason)), reason, () =>
      this.deps.ledger.releaseBatch(signer, batchId, id(reason)),
    );
    await this.deps.indexed(sent.blockNumber);
    return (await this.deps.store.batches.get(keys.batch(batchId))) as BatchRecord;
  }

  /** `keeping` for the metadata whose hash a registering transaction carries. */
  private withMetadata<T>(
    sublevel: Store["products"],
    metadataHash: string,
    metadata: unknown,
    send: () => Promise<T>,
  ): Promise<T> {
    return this.keeping(sublevel, keys.metadata(metadataHash), metadata, send);
  }

  /**
   * Stores `value` (text or metadata whose hash the transaction carries) before the transaction
   * (the indexer attaches it when it applies the block), and takes it back when the transaction
   * failed for good — refused, or never sent — and no other call still needs it. One that may still
   * land (in flight, or an error that leaves it unknown) keeps it.
   */
  private async keeping<T>(
    sublevel: Store["products"],
    key: string,
    value: unknown,
    send: () => Promise<T>,
  ): Promise<T> {
    const { store } = this.deps;
    const id = `${sublevel.prefix}${key}`;
    let use: KeptValue;
    for (;;) {
      const current = this.kept.get(id);
      if (current?.deleting) {
        await current.deleting; // taken back just now: start afresh once it is gone
        continue;
      }
      if (current) {
        use = current;
        break;
      }
      // Stored when absent; taken back only if this stored it and every user failed for good.
      const existed = (await sublevel.get(key)) !== undefined;
      if (this.kept.has(id)) continue; // another call registered it meanwhile
      use = { users: 0, created: !existed, keep: existed, written: null, deleting: null };
      this.kept.set(id, use);
      break;
    }
    use.users++;
    try {
      use.written ??= use.created ? store.write([Store.put(sublevel, key, value)], { sync: true }) : Promise.resolve();
      await use.written;
      const result = await send();
      use.keep = true;
      return result;
    } catch (error) {
      if (!failedForGood(error)) use.keep = true;
      throw error;
    } finally {
      if (--use.users === 0) {
        if (use.created && !use.keep) {
          // Registered until it is gone, so that a call arriving meanwhile waits and writes it again.
          const entry = use;
          entry.deleting = store
            .write([Store.del(sublevel, key)], { sync: true })
            .catch(() => undefined) // left in place: harmless, and the caller's own error is the one to report
            .finally(() => this.kept.get(id) === entry && this.kept.delete(id));
          await entry.deleting;
        } else {
          this.kept.delete(id);
        }
      }
    }
  }

  /** Values `keeping` has stored for calls still running, by sublevel and key. */
  private readonly kept = new Map<string, KeptValue>();

  private changingAccounts<T>(change: () => Promise<T>): Promise<T> {
    return this.deps.accountChange ? this.deps.accountChange(change) : change();
  }

  /** The ledger's next `…BySig` nonce of `org`'s account. */
  ledgerNonce(org: OrgRecord): Promise<bigint> {
    return this.deps.ledger.nonceOf(org.account);
  }

  /**
   * Who signs `org`'s request `type`: its custodial key, or — self-custody — the authorization it
   * sent, checked here (signer, nonce, deadline) so that a wrong one is refused before it costs a
   * transaction.
   */
  private async requestSigner(
    org: OrgRecord,
    type: Exclude<LedgerTypeName, "Submission">,
    message: Record<string, unknown>,
    authorization: ClientAuthorization | undefined,
  ): Promise<OrgSigner> {
    if (org.custody === "custodial") {
      if (authorization) {
        throw new HttpError(
          400,
          "unexpected_authorization",
          "the gateway signs this organisation's requests with the key it keeps; send no authorization",
        );
      }
      return this.signer(org);
    }
    if (!authorization) {
      throw new HttpError(
        400,
        "signature_required",
        "this organisation signs its own requests: send authorization {nonce, deadline, signature}",
      );
    }
    const { nonce, deadline, signature } = authorization;
    const fields = { signer: getAddress(org.account), nonce: BigInt(nonce), deadline: BigInt(deadline) };
    let recovered: string;
    try {
      recovered = verifyTypedData(
        this.deps.ledger.domain,
        { [type]: [...LEDGER_TYPES[type]] },
        { ...message, ...fields },
        signature,
      );
    } catch {
      throw new HttpError(422, "invalid_signature", "the signature is not a valid secp256k1 signature");
    }
    if (recovered !== fields.signer) {
      throw new HttpError(422, "invalid_signature", `the ${type} signature is not from this organisation's account`, {
        expectedSigner: fields.signer,
        recoveredSigner: recovered,
      });
    }
    // A minute's margin, so that it cannot expire between here and its block.
    if (deadline * 1000 < Date.now() + MIN_DEADLINE_MARGIN_MS) {
      throw new HttpError(
        422,
        "signature_expired",
        "the authorization's deadline has passed or is less than a minute away; sign it again",
        { deadline },
      );
    }
    // The nonce is checked where it is used, under the account's lock (LedgerClient.relay).
    return { ...fields, signature };
  }

  /** The custodial signing key of `org`. */
  async signer(org: OrgRecord | string): Promise<Wallet> {
    const orgId = typeof org === "string" ? org : org.orgId;
    const record = (await this.deps.store.keys.get(keys.signingKey(orgId))) as SigningKeyRecord | undefined;
    if (!record) throw new HttpError(409, "self_custody", "the gateway keeps no signing key for this organisation");
    return openKey(record.sealed, this.deps.kek, orgId);
  }

  private async org(orgId: string): Promise<OrgRecord> {
    const org = (await this.deps.store.orgs.get(keys.org(orgId))) as OrgRecord | undefined;
    if (!org) throw new HttpError(404, "unknown_organisation", `no organisation ${orgId}`);
    return org;
  }
}

/** A value `Registry.keeping` stored for the calls using it. */
interface KeptValue {
  users: number;
  /** This stored it (it was not in the store before). */
  created: boolean;
  /** Some call succeeded, or may still: the value stays. */
  keep: boolean;
  written: Promise<void> | null;
  /** Being taken back: set once the last user failed for good. */
  deleting: Promise<unknown> | null;
}

/** Whether a transaction's failure is final with nothing on its way to the chain. */
function failedForGood(error: unknown): boolean {
  if (
    error instanceof HttpError ||
    error instanceof LedgerRevertError ||
    error instanceof TransactionRejectedError ||
    error instanceof NonceMismatchError
  ) {
    return true;
  }
  return error instanceof ChainUnavailableError && error.txHash === null;
}
