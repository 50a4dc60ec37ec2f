/**
 * EIP-712 types of TraceLedger, in ethers' `TypedDataField` form. They mirror
 * `contracts/libraries/LedgerTypes.sol` field for field; `test/contracts/typed-data.test.ts`
 * checks both give the same type hashes.
 */
import { TypedDataEncoder, id, type TypedDataDomain, type TypedDataField, type Signer } from "ethers";

export const LEDGER_DOMAIN_NAME = "YuTrace TraceLedger";
export const LEDGER_DOMAIN_VERSION = "1";

const batchAction: TypedDataField[] = [
  { name: "signer", type: "address" },
  { name: "batchId", type: "bytes32" },
  { name: "reasonHash", type: "bytes32" },
  { name: "nonce", type: "uint256" },
  { name: "deadline", type: "uint256" },
];

export const LEDGER_TYPES = {
  RegisterProduct: [
    { name: "signer", type: "address" },
    { name: "gtin", type: "uint64" },
    { name: "metadataHash", type: "bytes32" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  RegisterBatch: [
    { name: "signer", type: "address" },
    { name: "gtin", type: "uint64" },
    { name: "lot", type: "string" },
    { name: "metadataHash", type: "bytes32" },
    { name: "parents", type: "bytes32[]" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  CommitSerials: [
    { name: "signer", type: "address" },
    { name: "batchId", type: "bytes32" },
    { name: "root", type: "bytes32" },
    { name: "count", type: "uint32" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  HoldBatch: batchAction,
  ReleaseBatch: batchAction,
  Recall: batchAction,
  SuspendOrganisation: [
    { name: "signer", type: "address" },
    { name: "orgId", type: "bytes32" },
    { name: "reasonHash", type: "bytes32" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  ReinstateOrganisation: [
    { name: "signer", type: "address" },
    { name: "orgId", type: "bytes32" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  Submission: [
    { name: "org", type: "address" },
    { name: "root", type: "bytes32" },
    { name: "count", type: "uint32" },
    { name: "nonce", type: "uint256" },
  ],
} as const satisfies Record<string, TypedDataField[]>;

export type LedgerTypeName = keyof typeof LEDGER_TYPES;

/** The fields every `…BySig` request carries besides its own. */
export interface AuthorizationFields {
  signer: string;
  nonce: bigint;
  deadline: bigint;
}

/** The `Authorization` tuple a `…BySig` function takes. */
export interface Authorization extends AuthorizationFields {
  signature: string;
}

/** The EIP-712 domain of the TraceLedger deployed at `verifyingContract` on `chainId`. */
export function ledgerDomain(chainId: bigint | number, verifyingContract: string): TypedDataDomain {
  return { name: LEDGER_DOMAIN_NAME, version: LEDGER_DOMAIN_VERSION, chainId, verifyingContract };
}

/** `keccak256` of the EIP-712 type string of `name`, as the contract's `…_TYPEHASH` constants. */
export function typeHash(name: LedgerTypeName): string {
  return id(TypedDataEncoder.from({ [name]: [...LEDGER_TYPES[name]] }).encodeType(name));
}

/**
 * Signs the `…BySig` request `type` with `signer` and returns the `Authorization` tuple to pass.
 * `message` holds the request's own fields; signer, nonce and deadline come from `fields`.
 */
export async function signAuthorization(
  signer: Signer,
  domain: TypedDataDomain,
  type: Exclude<LedgerTypeName, "Submission">,
  message: Record<string, unknown>,
  fields: AuthorizationFields,
): Promise<Authorization> {
  const value = { ...message, signer: fields.signer, nonce: fields.nonce, deadline: fields.deadline };
  const signature = await signer.signTypedData(domain, { [type]: [...LEDGER_TYPES[type]] }, value);
  return { ...fields, signature };
}

/** The EIP-712 digest of a submission; equals the contract's `hashSubmission`. */
export function submissionDigest(
  domain: TypedDataDomain,
  submission: { org: string; root: string; count: number; nonce: bigint },
): string {
  return TypedDataEncoder.hash(domain, { Submission: [...LEDGER_TYPES.Submission] }, submission);
}
