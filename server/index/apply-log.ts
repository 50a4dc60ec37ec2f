/**
 * What each TraceLedger event means for the store's chain-derived records (DESIGN §2, §5). One
 * function per event; every write goes through `BlockChanges`, so it is part of the block's atomic
 * batch and of its undo log.
 */
import type { Interface, LogDescription } from "ethers";

import { ITraceLedger__factory } from "../../typechain-types";
import type {
  AnchoredEvent,
  BatchRegisteredEvent,
  BatchStatusChangedEvent,
  OrganisationAccountRotatedEvent,
  OrganisationRegisteredEvent,
  OrganisationReinstatedEvent,
  OrganisationSuspendedEvent,
  ProductRegisteredEvent,
  SerialsCommittedEvent,
} from "../../typechain-types/contracts/interfaces/ITraceLedger";
import { keys, pad } from "../store/keys";
import type {
  AnchorOnChain,
  BatchMetadata,
  BatchRecord,
  BatchStatusName,
  OrgRecord,
  ProductMetadata,
  ProductRecord,
  SerialCommitmentRecord,
  StatusChange,
} from "../store/records";
import type { BlockChanges } from "./block-changes";

/** TraceLedger's ABI, to decode its logs. */
export const ledgerInterface = ITraceLedger__factory.createInterface();

/** The events the index follows; role grants and pauses are read from the contract when needed. */
export const INDEXED_EVENTS = [
  "OrganisationRegistered",
  "OrganisationAccountRotated",
  "OrganisationSuspended",
  "OrganisationReinstated",
  "ProductRegistered",
  "BatchRegistered",
  "BatchStatusChanged",
  "SerialsCommitted",
  "Anchored",
] as const;

/** Topic 0 of every indexed event, for one `eth_getLogs` filter. */
export const INDEXED_TOPICS: string[] = INDEXED_EVENTS.map((name) => {
  const fragment = (ledgerInterface as Interface).getEvent(name);
  if (!fragment) throw new Error(`TraceLedger's ABI has no event ${name}: recompile the contracts`);
  return fragment.topicHash;
});

/** Where a log was found: every derived record names its block and transaction. */
export interface LogContext {
  block: number;
  txHash: string;
  /** The block's timestamp, ISO 8601. */
  time: string;
}

/**
 * The index disagrees with the chain's own history (e.g. a status change of a batch it never saw
 * registered). Retrying cannot fix it; rebuilding can.
 */
export class IndexInconsistencyError extends Error {
  constructor(what: string, at: LogContext) {
    super(`${what} (block ${at.block}, tx ${at.txHash}): the index is incomplete; rebuild it with \`npm run reindex\``);
    this.name = "IndexInconsistencyError";
  }
}

/** GTIN-14 as the store keys it: 14 digits, zero-padded. */
export const gtinKey = (gtin: bigint): string => pad(gtin, 14);

const STATUS_NAMES: Readonly<Record<string, BatchStatusName>> = { "1": "active", "2": "held", "3": "recalled" };

/** Applies one decoded TraceLedger log to the block's staged changes. */
export async function applyLedgerLog(changes: BlockChanges, event: LogDescription, at: LogContext): Promise<void> {
  // Shallow on purpose: a deep `toObject` turns an empty `bytes32[]` into `{}`.
  const args = event.args.toObject();
  switch (event.name) {
    case "OrganisationRegistered":
      return organisationRegistered(changes, args as OrganisationRegisteredEvent.OutputObject, at);
    case "OrganisationAccountRotated":
      return organisationAccountRotated(changes, args as OrganisationAccountRotatedEvent.OutputObject, at);
    case "OrganisationSuspended":
      return setSuspended(changes, (args as OrganisationSuspendedEvent.OutputObject).orgId, true, at);
    case "OrganisationReinstated":
      return setSuspended(changes, (args as OrganisationReinstatedEvent.OutputObject).orgId, false, at);
    case "ProductRegistered":
      return productRegistered(changes, args as ProductRegisteredEvent.OutputObject, at);
    case "BatchRegistered":
      return batchRegistered(changes, args as BatchRegisteredEvent.OutputObject, at);
    case "BatchStatusChanged":
      return batchStatusChanged(changes, args as BatchStatusChangedEvent.OutputObject, at);
    case "SerialsCommitted":
      return serialsCommitted(changes, args as SerialsCommittedEvent.OutputObject, at);
    case "Anchored":
      return anchored(changes, args as AnchoredEvent.OutputObject, at);
    default:
      return; // not an indexed event
  }
}

async function organisationRegistered(
  changes: BlockChanges,
  { orgId, account }: OrganisationRegisteredEvent.OutputObject,
  at: LogContext,
): Promise<void> {
  const existing = await changes.get<OrgRecord>("orgs", keys.org(orgId));
  const signer = account.toLowerCase();
  // Keep the profile the API wrote (name, 统一社会信用代码, district, roles, custody); the chain
  // decides only who signs and whether the organisation is suspended.
  const record: OrgRecord = existing
    ? { ...existing, account: signer, suspended: false }
    : {
        orgId,
        name: "",
        uscc: "",
        district: "",
        roles: [],
        account: signer,
        custody: "self",
        suspended: false,
        createdAt: at.time,
      };
  if (existing?.account && existing.account.toLowerCase() !== signer) {
    await releaseAccount(changes, existing.account, orgId);
  }
  await changes.put("orgs", keys.org(orgId), record);
  await changes.put("orgs", keys.orgByAccount(signer), orgId);
}

async function organisationAccountRotated(
  changes: BlockChanges,
  { orgId, previousAccount, account }: OrganisationAccountRotatedEvent.OutputObject,
  at: LogContext,
): Promise<void> {
  const org = await requireOrg(changes, orgId, at);
  const signer = account.toLowerCase();
  // The previous account is retired on-chain: it signs for no one any more.
  await releaseAccount(changes, previousAccount, orgId);
  await changes.put("orgs", keys.org(orgId), { ...org, account: signer });
  await changes.put("orgs", keys.orgByAccount(signer), orgId);
}

async function setSuspended(changes: BlockChanges, orgId: string, suspended: boolean, at: LogContext) {
  const org = await requireOrg(changes, orgId, at);
  await changes.put("orgs", keys.org(orgId), { ...org, suspended });
}

async function productRegistered(
  changes: BlockChanges,
  { gtin, owner, metadataHash }: ProductRegisteredEvent.OutputObject,
  at: LogContext,
): Promise<void> {
  const record: ProductRecord = {
    gtin: gtinKey(gtin),
    owner,
    metadataHash,
    metadata: await changes.get<ProductMetadata>("products", keys.metadata(metadataHash)),
    registeredAt: at.time,
    block: at.block,
    txHash: at.txHash,
  };
  await changes.put("products", keys.product(record.gtin), record);
}

async function batchRegistered(
  changes: BlockChanges,
  { batchId, gtin, producer, lot, metadataHash, parents }: BatchRegisteredEvent.OutputObject,
  at: LogContext,
): Promise<void> {
  const record: BatchRecord = {
    batchId,
    gtin: gtinKey(gtin),
    lot,
    producer,
    status: "active",
    metadataHash,
    metadata: await changes.get<BatchMetadata>("batches", keys.metadata(metadataHash)),
    parents: Array.from(parents),
    registeredAt: at.time,
    block: at.block,
    txHash: at.txHash,
    statusHistory: [],
  };
  await changes.put("batches", keys.batch(batchId), record);
  await changes.put("batches", keys.producerBatch(producer, at.block, batchId), batchId);
  // The reverse lineage edge, so a recall can find everything made from a lot.
  for (const parent of parents) await changes.put("batches", keys.child(parent, batchId), batchId);
}

async function batchStatusChanged(
  changes: BlockChanges,
  { batchId, status, byOrg, previous, reasonHash }: BatchStatusChangedEvent.OutputObject,
  at: LogContext,
): Promise<void> {
  const batch = await changes.get<BatchRecord>("batches", keys.batch(batchId));
  if (!batch) throw new IndexInconsistencyError(`batch ${batchId} changed status but was never indexed`, at);
  const next = statusName(status, batchId, at);
  const change: StatusChange = {
    status: next,
    previous: statusName(previous, batchId, at),
    byOrg,
    reasonHash,
    ...stamp(at),
  };
  const record: BatchRecord = { ...batch, status: next, statusHistory: [...batch.statusHistory, change] };
  await changes.put("batches", keys.batch(batchId), record);
}

async function serialsCommitted(
  changes: BlockChanges,
  { batchId, root, count }: SerialsCommittedEvent.OutputObject,
  at: LogContext,
): Promise<void> {
  const record: SerialCommitmentRecord = { batchId, root, count: Number(count), block: at.block, txHash: at.txHash };
  await changes.put("batches", keys.serials(batchId, root), record);
}

async function anchored(
  changes: BlockChanges,
  { seq, root, leafCount, eventCount }: AnchoredEvent.OutputObject,
  at: LogContext,
): Promise<void> {
  const record: AnchorOnChain = {
    root,
    seq: Number(seq),
    leafCount: Number(leafCount),
    eventCount: Number(eventCount),
    block: at.block,
    txHash: at.txHash,
    blockTime: at.time,
  };
  await changes.put("anchors", keys.anchorOnChain(root), record);
  await changes.put("anchors", keys.anchorBySeq(record.seq), root);
}

async function requireOrg(changes: BlockChanges, orgId: string, at: LogContext): Promise<OrgRecord> {
  const org = await changes.get<OrgRecord>("orgs", keys.org(orgId));
  if (!org) throw new IndexInconsistencyError(`organisation ${orgId} is not indexed`, at);
  return org;
}

/** Drops `account → orgId` unless the account now maps to another organisation. */
async function releaseAccount(changes: BlockChanges, account: string, orgId: string): Promise<void> {
  const key = keys.orgByAccount(account);
  if ((await changes.get<string>("orgs", key)) === orgId) await changes.del("orgs", key);
}

function statusName(value: bigint, batchId: string, at: LogContext): BatchStatusName {
  const name = STATUS_NAMES[value.toString()];
  if (!name) throw new IndexInconsistencyError(`batch ${batchId} has unknown status ${value}`, at);
  return name;
}

const stamp = (at: LogContext) => ({ block: at.block, txHash: at.txHash, at: at.time });
