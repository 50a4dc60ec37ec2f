/**
 * Checks an evidence bundle against the chain (DESIGN §3, "Verifying"): for each event, that its
 * body hashes to its id (SHA-256 of its canonical JSON), that the id is in its submission's Merkle root, that the submission was
 * signed by an account of the organisation, that this account held a role allowed to record the
 * step at the anchor's block, that the submission is in a root anchored on-chain, and that the
 * batches it names exist on-chain. The batch's status and recalled ancestors come from the chain,
 * never from the bundle. The gateway's own report and the independent `npm run verify` both use it.
 */
import { getAddress, recoverAddress } from "ethers";

import { ledgerDomain, submissionDigest } from "../chain/typed-data";
import { batchIdOfKey } from "../domain/batch-id";
import { canonicalHash, eventHash } from "../domain/canonical";
import { batchesOf, traceEventSchema, type TraceEvent } from "../domain/events";
import { orgIdOf } from "../domain/identifiers";
import { verifyMerkleProof, verifySubmissionProof } from "../domain/merkle";
import { originalEventId, STEP_RULES } from "../domain/rules";
import { PARTICIPANT_ROLES, type RoleName } from "../store/records";
import { EVIDENCE_FORMAT, type EvidenceBundle, type SubmissionEvidence } from "./bundle";
import type { ChainBatchStatus, ChainView } from "./chain-view";

export const CHECK_NAMES = [
  "hash",
  "submission_proof",
  "signature",
  "signer_role",
  "anchored",
  "batch_on_chain",
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

/** One check of one event: passed (true), failed (false) or not possible yet (null: not anchored). */
export interface Check {
  name: CheckName;
  ok: boolean | null;
  detail: string;
}

export interface EventReport {
  eventId: string;
  batchId: string;
  bizStep: string | null;
  eventTime: string | null;
  organisation: string | null;
  /** Declared in error by a verified errorDeclaration in the bundle (the event id of it), else null. */
  declaredInError: string | null;
  verdict: "passed" | "failed" | "pending";
  checks: Check[];
}

export interface VerificationReport {
  batchId: string;
  gtin: string;
  lot: string;
  digitalLink: string;
  checkedAt: string;
  tookMs: number;
  verdict: "verified" | "failed" | "incomplete";
  chain: { chainId: string; ledger: string; headBlock: number };
  batch: {
    onChain: boolean;
    status: ChainBatchStatus | null;
    registeredBlock: number;
    metadataMatches: boolean;
    parentsMatch: boolean;
  };
  recalledAncestors: { batchId: string; gtin: string | null; lot: string | null }[];
  summary: { events: number; passed: number; failed: number; pending: number };
  /** Problems with the bundle as a whole (wrong chain, not a ledger, batch missing on-chain, …): failed. */
  problems: string[];
  /** What could not be checked in full (a truncated bundle, an ancestry too large to walk): incomplete. */
  warnings: string[];
  events: EventReport[];
}

interface SubmissionChecks {
  digest: string;
  signature: Check;
  anchored: Promise<Check>;
  /** The block roles are checked at: the anchor's, or the head for a pending submission. */
  block: number;
  signerOrg: Promise<string | null>;
}

/** Verifies `bundle` against the ledger `chain` reads from; never throws for bad evidence, only for RPC failures. */
export async function verifyBundle(bundle: EvidenceBundle, chain: ChainView): Promise<VerificationReport> {
  const started = performance.now();
  const problems: string[] = [];
  const [chainId, headBlock, isLedger] = await Promise.all([chain.chainId(), chain.headBlock(), chain.isLedger()]);
  if (bundle.format !== EVIDENCE_FORMAT) problems.push(`unknown bundle format ${String(bundle.format)}`);
  if (!isLedger) problems.push(`no TraceLedger at ${chain.address} on chain ${chainId}`);
  if (String(bundle.ledger?.chainId) !== chainId.toString()) {
    problems.push(`the bundle is for chain ${bundle.ledger?.chainId}; the RPC endpoint serves chain ${chainId}`);
  }
  if (getAddress(bundle.ledger.address) !== getAddress(chain.address)) {
    problems.push(`the bundle names ledger ${bundle.ledger.address}; checking against ${chain.address}`);
  }
  const domain = ledgerDomain(chainId, chain.address);

  const root = bundle.batch;
  const onChain = isLedger ? await chain.batch(root.batchId) : null;
  if (!onChain) problems.push(`batch ${root.gtin}/${root.lot} is not registered on-chain`);
  if (safeBatchId(root) !== root.batchId) problems.push("the bundle's batch id does not match its GTIN and lot");
  const metadataMatches = !!onChain && safeHash(root.metadata) === onChain.metadataHash;
  const parentsMatch = !!onChain && sameSet(onChain.parents, root.parents);
  if (onChain && !metadataMatches) problems.push("the batch metadata does not hash to the on-chain metadataHash");
  if (onChain && !parentsMatch) problems.push("the batch's input batches differ from the on-chain parents");
  const warnings: string[] = [];
  const lineage = onChain
    ? await chain.ancestors(root.batchId)
    : { ids: new Set<string>(), recalled: [], truncated: false };
  if (lineage.truncated) {
    warnings.push(
      `the batch has more than ${lineage.ids.size} ancestors on-chain; recalled inputs beyond were not looked for`,
    );
  }
  if (bundle.truncated) warnings.push("the bundle was truncated by the gateway: not every event was checked");
  const known = new Map([root, ...(bundle.ancestors ?? [])].map((b) => [b.batchId, b]));
  // Ancestors the bundle lists must be what the chain says they are.
  for (const ancestor of bundle.ancestors ?? []) {
    const label = `ancestor ${ancestor.gtin}/${ancestor.lot}`;
    if (safeBatchId(ancestor) !== ancestor.batchId)
      problems.push(`${label}: its batch id does not match its GTIN and lot`);
    else if (!lineage.ids.has(ancestor.batchId) && !lineage.truncated) {
      problems.push(`${label} is not an input of the batch on-chain`);
    } else {
      const chainBatch = await chain.batch(ancestor.batchId);
      if (chainBatch && safeHash(ancestor.metadata) !== chainBatch.metadataHash) {
        problems.push(`${label}: its metadata does not hash to the on-chain metadataHash`);
      }
    }
  }
  const listable = new Set([root.batchId, ...lineage.ids]);

  const submissionChecks = new Map<string, SubmissionChecks>();
  const checksOf = (id: string, submission: SubmissionEvidence | undefined): SubmissionChecks | null => {
    if (!submission || !Object.hasOwn(bundle.submissions, id)) return null;
    let checks = submissionChecks.get(id);
    if (!checks) {
      checks = checkSubmission(submission, domain, chain, headBlock, isLedger);
      submissionChecks.set(id, checks);
    }
    return checks;
  };

  // Declarations are trusted only once they verify themselves, so look at every event first.
  const submissions = bundle.submissions ?? {};
  for (const [id, submission] of Object.entries(submissions)) checksOf(id, submission);
  const bodies = bundle.events.map((event) => parseEvent(event.body));
  const reports = await Promise.all(
    bundle.events.map((event, i) =>
      checkEvent(
        event,
        bodies[i]!,
        bundle,
        checksOf(event.submission, submissions[event.submission]),
        chain,
        isLedger,
        listable,
      ),
    ),
  );
  // A declaration counts once it verified in full, and only from the organisation that recorded the original.
  const recorder = new Map(
    bundle.events.map((event) => [event.eventId, submissions[event.submission]?.organisation?.uscc ?? null]),
  );
  const declared = new Map<string, string>();
  reports.forEach((report, i) => {
    const event = bundle.events[i]!;
    const body = bodies[i]!;
    if (!body?.errorDeclaration || report.verdict !== "passed") return;
    const original = originalEventId(body);
    const by = submissions[event.submission]?.organisation?.uscc ?? null;
    if (by !== null && recorder.get(original) === by) declared.set(original, report.eventId);
  });
  for (const report of reports) report.declaredInError = declared.get(report.eventId) ?? null;

  const summary = {
    events: reports.length,
    passed: reports.filter((r) => r.verdict === "passed").length,
    failed: reports.filter((r) => r.verdict === "failed").length,
    pending: reports.filter((r) => r.verdict === "pending").length,
  };
  const verdict =
    problems.length > 0 || summary.failed > 0
      ? "failed"
      : summary.pending > 0 || warnings.length > 0
        ? "incomplete"
        : "verified";
  return {
    batchId: root.batchId,
    gtin: root.gtin,
    lot: root.lot,
    digitalLink: root.digitalLink,
    checkedAt: new Date().toISOString(),
    tookMs: Math.round(performance.now() - started),
    verdict,
    chain: { chainId: chainId.toString(), ledger: chain.address, headBlock },
    batch: {
      onChain: !!onChain,
      status: onChain?.status ?? null,
      registeredBlock: root.registered.block,
      metadataMatches,
      parentsMatch,
    },
    recalledAncestors: lineage.recalled.map((batchId) => ({
      batchId,
      gtin: known.get(batchId)?.gtin ?? null,
      lot: known.get(batchId)?.lot ?? null,
    })),
    summary,
    problems,
    warnings,
    events: reports,
  };
}

function checkSubmission(
  submission: SubmissionEvidence,
  domain: ReturnType<typeof ledgerDomain>,
  chain: ChainView,
  headBlock: number,
  isLedger: boolean,
): SubmissionChecks {
  let digest = "";
  let signature: Check;
  try {
    digest = submissionDigest(domain, {
      org: submission.account,
      root: submission.root,
      count: submission.count,
      nonce: BigInt(submission.nonce),
    });
    const recovered = recoverSigner(digest, submission.signature);
    signature =
      getAddress(recovered) === getAddress(submission.account)
        ? { name: "signature", ok: true, detail: `signed by ${recovered}` }
        : { name: "signature", ok: false, detail: `signed by ${recovered}, not by ${submission.account}` };
  } catch (error) {
    signature = { name: "signature", ok: false, detail: `not a valid signature: ${(error as Error).message}` };
  }
  const anchor = submission.anchor;
  const block = anchor?.block ?? headBlock;
  const anchored: Promise<Check> = !anchor
    ? Promise.resolve({ name: "anchored", ok: null, detail: "waiting for the next anchor" })
    : !isLedger || !digest
      ? Promise.resolve({ name: "anchored", ok: false, detail: "cannot be checked" })
      : chain.anchor(anchor.root).then((onChain): Check => {
          if (!onChain) return { name: "anchored", ok: false, detail: `root ${anchor.root} is not anchored on-chain` };
          if (!verifyMerkleProof(anchor.root, digest, anchor.proof)) {
            return { name: "anchored", ok: false, detail: "the submission is not in the anchored root (bad proof)" };
          }
          if (onChain.block !== anchor.block) {
            return { name: "anchored", ok: false, detail: `anchored in block ${onChain.block}, not ${anchor.block}` };
          }
          return { name: "anchored", ok: true, detail: `anchor #${onChain.seq} in block ${onChain.block}` };
        });
  const signerOrg = isLedger
    ? chain.organisationOf(submission.account, block).then((org) => (/^0x0+$/.test(org) ? null : org))
    : Promise.resolve(null);
  // Promises, so that the reads of all submissions go out together.
  anchored.catch(() => undefined);
  signerOrg.catch(() => undefined);
  return { digest, signature, anchored, block, signerOrg };
}

async function checkEvent(
  event: EvidenceBundle["events"][number],
  body: TraceEvent | null,
  bundle: EvidenceBundle,
  submission: SubmissionChecks | null,
  chain: ChainView,
  isLedger: boolean,
  listable: Set<string>,
): Promise<EventReport> {
  const evidence = bundle.submissions?.[event.submission];
  const checks: Check[] = [];
  const hash = safeEventHash(event.body);
  checks.push(
    hash === event.eventId
      ? { name: "hash", ok: true, detail: "the body hashes to the event id" }
      : { name: "hash", ok: false, detail: `the body hashes to ${hash}, not to the event id` },
  );
  if (!submission || !evidence) {
    const missing = `submission ${event.submission} is not in the bundle`;
    for (const name of CHECK_NAMES.slice(1)) checks.push({ name, ok: false, detail: missing });
    return report(event, body, checks);
  }
  checks.push(
    hash && verifySubmissionProof(evidence.root, hash, event.proof ?? [])
      ? { name: "submission_proof", ok: true, detail: `in submission root ${evidence.root}` }
      : { name: "submission_proof", ok: false, detail: "the event is not in its submission's root (bad proof)" },
  );
  checks.push(submission.signature);
  checks.push(await signerRole(body, evidence, submission, chain));
  checks.push(await submission.anchored);
  checks.push(await batchesOnChain(event, body, chain, isLedger, listable));
  // The name is the gateway's word; the 统一社会信用代码 is what signer_role checked on-chain.
  const who = evidence.organisation ? `${evidence.organisation.name} (${evidence.organisation.uscc})` : null;
  return report(event, body, checks, who);
}

async function signerRole(
  body: TraceEvent | null,
  evidence: SubmissionEvidence,
  submission: SubmissionChecks,
  chain: ChainView,
): Promise<Check> {
  const name = "signer_role";
  if (!body) return { name, ok: false, detail: "the event body is not a valid YuTrace event" };
  const orgId = await submission.signerOrg;
  const claimed = safeOrgId(evidence.organisation?.uscc);
  if (!orgId)
    return { name, ok: false, detail: `${evidence.account} signed for no organisation at block ${submission.block}` };
  if (orgId !== claimed) {
    return {
      name,
      ok: false,
      detail: `${evidence.account} signed for another organisation than ${evidence.organisation?.name}`,
    };
  }
  // A declaration restates an event; any participant role of the recorder will do.
  const roles: readonly RoleName[] = body.errorDeclaration ? PARTICIPANT_ROLES : STEP_RULES[body.bizStep].roles;
  for (const role of roles) {
    if (await chain.hasRole(role, evidence.account, submission.block)) {
      return { name, ok: true, detail: `${evidence.organisation.name} held ${role} at block ${submission.block}` };
    }
  }
  return {
    name,
    ok: false,
    detail: `at block ${submission.block} ${evidence.account} held none of ${roles.join(", ")} (or was suspended)`,
  };
}

async function batchesOnChain(
  event: EvidenceBundle["events"][number],
  body: TraceEvent | null,
  chain: ChainView,
  isLedger: boolean,
  listable: Set<string>,
): Promise<Check> {
  const name = "batch_on_chain";
  if (!body || !isLedger) return { name, ok: false, detail: "cannot be checked" };
  const keys = batchesOf(body).all;
  // An event listed under a batch must name it, and that batch must be this one or one of its inputs.
  if (!keys.some((key) => batchIdOfKey(key) === event.batchId)) {
    return { name, ok: false, detail: `listed under batch ${event.batchId}, which the event does not name` };
  }
  if (!listable.has(event.batchId)) {
    return {
      name,
      ok: false,
      detail: `listed under batch ${event.batchId}, which is not this batch or one of its inputs on-chain`,
    };
  }
  const missing = [];
  for (const key of keys) if (!(await chain.batch(batchIdOfKey(key)))) missing.push(`${key.gtin}/${key.lot}`);
  return missing.length === 0
    ? { name, ok: true, detail: `${keys.length} batch(es) registered on-chain` }
    : { name, ok: false, detail: `not on-chain: ${missing.join(", ")}` };
}

function report(
  event: EvidenceBundle["events"][number],
  body: TraceEvent | null,
  checks: Check[],
  organisation: string | null = null,
): EventReport {
  const failed = checks.some((c) => c.ok === false);
  const pending = checks.some((c) => c.ok === null);
  return {
    eventId: event.eventId,
    batchId: event.batchId,
    bizStep: body?.bizStep ?? null,
    eventTime: body?.eventTime ?? null,
    organisation,
    declaredInError: null,
    verdict: failed ? "failed" : pending ? "pending" : "passed",
    checks,
  };
}

function parseEvent(body: unknown): TraceEvent | null {
  const parsed = traceEventSchema.safeParse(body);
  return parsed.success ? (body as TraceEvent) : null;
}

/**
 * Signers recovered before, by digest and signature: recovery is a pure function and costs ~3 ms in
 * JavaScript, and a gateway verifies the same submissions again and again.
 */
const recoveredSigners = new Map<string, string>();
const MAX_RECOVERED = 20_000;

function recoverSigner(digest: string, signature: string): string {
  const key = `${digest}:${signature}`;
  let signer = recoveredSigners.get(key);
  if (signer === undefined) {
    signer = recoverAddress(digest, signature);
    if (recoveredSigners.size >= MAX_RECOVERED) recoveredSigners.clear();
    recoveredSigners.set(key, signer);
  }
  return signer;
}

function safeEventHash(value: unknown): string | null {
  try {
    return eventHash(value);
  } catch {
    return null;
  }
}

function safeHash(value: unknown): string | null {
  try {
    return canonicalHash(value);
  } catch {
    return null;
  }
}

function safeBatchId(key: { gtin: string; lot: string }): string | null {
  try {
    return batchIdOfKey(key);
  } catch {
    return null;
  }
}

function safeOrgId(uscc: unknown): string | null {
  try {
    return typeof uscc === "string" ? orgIdOf(uscc) : null;
  } catch {
    return null;
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a.map((x) => x.toLowerCase()));
  return left.size === new Set(b).size && b.every((x) => left.has(x.toLowerCase()));
}
