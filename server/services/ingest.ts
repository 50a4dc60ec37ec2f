/**
 * Event ingest (DESIGN §3): validate every event of a submission, apply the bizStep and batch
 * state rules, hash, build the submission's Merkle root, sign it (custodial) or check the
 * organisation's own signature, and journal it with a synced write before answering 202. A
 * failing event rejects the whole submission (EPCIS capture "rollback").
 *
 * Submissions are processed one at a time: the state rules (custody, in particular) need to see
 * the result of the previous submission, and the per-organisation nonce must not race.
 */
import { Signature, verifyTypedData, type BaseWallet, type TypedDataDomain } from "ethers";

import { LEDGER_TYPES, submissionDigest } from "../chain/typed-data";
import { batchIdOfKey } from "../domain/batch-id";
import { canonicalize } from "../domain/canonical";
import { batchesOf, type RuleEvent, type TraceEvent } from "../domain/events";
import { orgIdOf } from "../domain/identifiers";
import { checkEvent, originalEventId, type EventProblem, type RuleLookups } from "../domain/rules";
import { HttpError } from "../http/errors";
import { keys } from "../store/keys";
import type {
  BatchRecord,
  BatchState,
  EventRecord,
  OrgRecord,
  PendingHold,
  SubmissionHeader,
  SubmissionRecord,
} from "../store/records";
import { Store, type Operation } from "../store/store";
import { compactRecord, readEvent, readEvents, submissionInfoOf } from "../store/events";
import { Mutex } from "../util/mutex";
import { blockingHold, blockingHolds } from "./holds";
import { parseJsonBody, prepareSubmission, type PreparedSubmission } from "./prepare";
import type { PreparePool } from "./prepare-pool";

export interface IngestDeps {
  store: Store;
  /** EIP-712 domain of the ledger: submissions are signed in it. */
  domain: TypedDataDomain;
  /** The custodial signing key of an organisation. */
  custodialSigner(orgId: string): Promise<BaseWallet>;
  now?: () => Date;
  /** Told after a submission is journaled, e.g. to put holds on-chain. */
  onAccepted?(submission: SubmissionHeader, holds: PendingHold[]): void;
  /** Worker threads for `submitJson`; without them it prepares on this thread. */
  preparer?: PreparePool;
}

export interface SubmissionInput {
  body: unknown;
  idempotencyKey: string | null;
}

export interface SubmissionAccepted {
  submission: { id: string; seq: number; status: "pending"; count: number; root: string; nonce: number };
  events: { index: number; eventId: string }[];
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

function checkIdempotencyKey(key: string | null): void {
  if (key !== null && !IDEMPOTENCY_KEY.test(key)) {
    throw new HttpError(400, "invalid_idempotency_key", "Idempotency-Key must be 1–200 printable ASCII characters");
  }
}

/**
 * What accepted submissions changed that may not be on disk yet: the next submission's rules must
 * see it (custody, duplicates, nonces, idempotency keys, holds) while the group commit writes it.
 */
interface Uncommitted {
  states: Map<string, BatchState>;
  events: Set<string>;
  idempotency: Map<string, { requestHash: string | null; result: SubmissionAccepted; committed: Promise<void> }>;
  heldBatches: Map<string, number>;
}

export class IngestService {
  private readonly mutex = new Mutex();
  private lastSeq: number | null = null;
  private readonly nonces = new Map<string, number>();
  private readonly commits: CommitQueue;
  private readonly uncommitted: Uncommitted = {
    states: new Map(),
    events: new Set(),
    idempotency: new Map(),
    heldBatches: new Map(),
  };

  constructor(private readonly deps: IngestDeps) {
    this.commits = new CommitQueue(deps.store);
  }

  /** Runs `work` with no submission being accepted meanwhile (e.g. while an account changes). */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      await this.commits.idle();
      return work();
    });
  }

  /** Accepts a submission of `org`, or throws HttpError with every problem found. */
  async submit(org: OrgRecord, input: SubmissionInput): Promise<{ replayed: boolean; result: SubmissionAccepted }> {
    checkIdempotencyKey(input.idempotencyKey);
    return this.submitPrepared(org, prepareSubmission(input.body, input.idempotencyKey !== null), input.idempotencyKey);
  }

  /**
   * Accepts a submission sent as JSON text, prepared (parsed, checked against the schema, hashed)
   * on a worker thread when the service has a pool, else here.
   */
  async submitJson(
    org: OrgRecord,
    input: { raw: Uint8Array; idempotencyKey: string | null },
  ): Promise<{ replayed: boolean; result: SubmissionAccepted }> {
    checkIdempotencyKey(input.idempotencyKey);
    const withRequestHash = input.idempotencyKey !== null;
    const prepared = this.deps.preparer?.usable
      ? await this.deps.preparer.prepare(input.raw, withRequestHash)
      : prepareSubmission(parseJsonBody(input.raw), withRequestHash);
    return this.submitPrepared(org, prepared, input.idempotencyKey);
  }

  private async submitPrepared(
    org: OrgRecord,
    prepared: PreparedSubmission,
    idempotencyKey: string | null,
  ): Promise<{ replayed: boolean; result: SubmissionAccepted }> {
    const { requestHash } = prepared;
    const { replayed, result, committed } = await this.mutex.run(async () => {
      if (idempotencyKey !== null) {
        const key = keys.idempotency(org.orgId, idempotencyKey);
        const previous = this.uncommitted.idempotency.get(key) ?? (await this.deps.store.journal.get(key));
        if (previous) {
          if (previous.requestHash !== requestHash) {
            throw new HttpError(
              409,
              "idempotency_key_reused",
              "this Idempotency-Key was used before with a different request body",
              { submissionId: previous.result.submission.id },
            );
          }
          return {
            replayed: true,
            result: previous.result as SubmissionAccepted,
            committed: (previous.committed as Promise<void> | undefined) ?? Promise.resolve(),
          };
        }
      }
      return { replayed: false, ...(await this.accept(org, prepared, idempotencyKey, requestHash)) };
    });
    // The 202 waits for the synced write; the next submission need not (group commit).
    try {
      await committed;
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw new HttpError(503, "store_unavailable", "the submission could not be written; nothing was stored", {
        reason: (error as Error).message,
      });
    }
    return { replayed, result };
  }

  private async accept(
    org: OrgRecord,
    body: PreparedSubmission,
    idempotencyKey: string | null,
    requestHash: string | null,
  ): Promise<{ result: SubmissionAccepted; committed: Promise<void> }> {
    const now = (this.deps.now ?? (() => new Date()))();
    if (body.problems) {
      throw new HttpError(
        422,
        "events_rejected",
        `${body.problems.length} problem(s) in the submission; nothing was stored`,
        { problems: body.problems },
      );
    }
    // Each event's canonical JSON (its id is the SHA-256 of it, and it is what the store keeps,
    // written from `texts`). From a worker, the rules get the events' rule views, parsed here;
    // whole events only when one declares an error (its check compares events whole).
    const { texts, hashes } = body;
    const whole = body.events ?? (body.ruleViews ? null : (JSON.parse(`[${texts.join(",")}]`) as TraceEvent[]));
    const events: (TraceEvent | RuleEvent)[] = whole ?? (JSON.parse(body.ruleViews!) as RuleEvent[]);
    // Corrections read events and histories from the store: let everything before them land first.
    if (events.some((event) => event.errorDeclaration)) await this.commits.idle();
    // Duplicates first: a resent event must read as a duplicate, not as breaking custody rules.
    await this.refuseDuplicates(hashes);
    const overlay = new Map<string, BatchState>();
    const held = new Set<string>();
    const lookups = await this.lookups(overlay, held, body.batchIds.flat());
    const problems: (EventProblem & { index: number })[] = [];
    // The events around each one, for the rules that look across the submission (an error
    // declaration's): only with whole events, which every submission with a declaration has.
    const context = whole?.map((body, index) => ({ eventId: hashes[index]!, body }));
    const holds: PendingHold[] = [];
    for (const [index, event] of events.entries()) {
      const checked = await checkEvent(event, org, now, lookups, context && { events: context, index });
      const missing = await this.missingCertificate(event);
      if (missing) problems.push({ index, ...missing });
      if ("problems" in checked) {
        problems.push(...checked.problems.map((p) => ({ index, ...p })));
        continue;
      }
      for (const state of checked.stateChanges) overlay.set(state.batchId, state);
      if (isNonConformantInspection(event)) {
        for (const batchId of checked.batchIds) {
          held.add(batchId);
          holds.push({
            batchId,
            orgId: org.orgId,
            eventId: hashes[index]!,
            reason: event.certificationInfo
              ? `检验不合格 (${event.certificationInfo.standard}, ${event.certificationInfo.issuer})`
              : "检验不合格",
            requestedAt: now.toISOString(),
          });
        }
      }
    }
    if (problems.length > 0) {
      throw new HttpError(
        422,
        "events_rejected",
        `${problems.length} problem(s) in the submission; nothing was stored`,
        {
          problems,
        },
      );
    }

    // prepareSubmission gives the root of every submission it found no problems in.
    const root = body.root;
    if (root == null) throw new Error("a prepared submission without problems came without its Merkle root");
    const nonceKey = keys.submissionNonce(org.orgId);
    const nonce = await this.nextNonce(org.orgId);
    const submission = { org: org.account, root, count: hashes.length, nonce: BigInt(nonce) };
    const digest = submissionDigest(this.deps.domain, submission);
    const signature = await this.signature(org, body, submission, digest, nonce);

    const seq = (await this.currentSeq()) + 1;
    const recordTime = now.toISOString();
    const record: SubmissionRecord = {
      seq,
      digest,
      orgId: org.orgId,
      account: org.account,
      nonce,
      root,
      count: hashes.length,
      signature,
      signedBy: body.signature ? "client" : "custodial",
      eventIds: hashes,
      // Their rule views when a worker prepared them: each event is written from its canonical
      // JSON (`texts`) and indexed by `batchIds`, never from these.
      events,
      acceptedAt: recordTime,
      idempotencyKey,
      requestHash,
      stateChanges: [...overlay.values()],
    };
    const result: SubmissionAccepted = {
      submission: { id: digest, seq, status: "pending", count: hashes.length, root, nonce },
      events: hashes.map((eventId, index) => ({ index, eventId })),
    };
    const { journal } = this.deps.store;
    const ops: Operation[] = [
      ...journalSubmission(this.deps.store, record, texts, body.batchIds),
      Store.put(journal, keys.submissionByDigest(digest), seq),
      Store.put(journal, keys.pendingSubmission(seq), { digest, count: hashes.length }),
      Store.put(journal, keys.lastSubmissionSeq(), seq),
      Store.put(journal, nonceKey, nonce + 1),
      ...indexSubmission(this.deps.store, record, body.batchIds),
      ...holds.map((hold) => Store.put(journal, keys.pendingHold(hold.batchId, hold.eventId), hold)),
    ];
    if (idempotencyKey !== null) {
      ops.push(Store.put(journal, keys.idempotency(org.orgId, idempotencyKey), { requestHash, result }));
    }
    const committed = this.commits.commit(ops);
    this.lastSeq = seq;
    this.nonces.set(org.orgId, nonce + 1);
    const forget = this.remember(
      record,
      holds,
      idempotencyKey === null ? null : keys.idempotency(org.orgId, idempotencyKey),
      {
        requestHash,
        result,
        committed,
      },
    );
    const done = committed.then(
      () => {
        forget();
        const { events: _events, ...header } = record;
        this.deps.onAccepted?.(header, holds);
      },
      (error: unknown) => {
        forget();
        throw new HttpError(503, "store_unavailable", "the submission could not be written; nothing was stored", {
          reason: (error as Error).message,
        });
      },
    );
    return { result, committed: done };
  }

  /** Makes what `record` changed visible to the next submissions until it is on disk; returns the undo. */
  private remember(
    record: SubmissionRecord,
    holds: PendingHold[],
    idempotencyKey: string | null,
    idempotent: { requestHash: string | null; result: SubmissionAccepted; committed: Promise<void> },
  ): () => void {
    const { states, events, idempotency, heldBatches } = this.uncommitted;
    for (const state of record.stateChanges) states.set(state.batchId, state);
    for (const eventId of record.eventIds) events.add(eventId);
    if (idempotencyKey !== null) idempotency.set(idempotencyKey, idempotent);
    for (const hold of holds) heldBatches.set(hold.batchId, (heldBatches.get(hold.batchId) ?? 0) + 1);
    return () => {
      // A later submission may have changed the same batch again: keep its state.
      for (const state of record.stateChanges) if (states.get(state.batchId) === state) states.delete(state.batchId);
      for (const eventId of record.eventIds) events.delete(eventId);
      if (idempotencyKey !== null && idempotency.get(idempotencyKey) === idempotent) idempotency.delete(idempotencyKey);
      for (const hold of holds) {
        const left = (heldBatches.get(hold.batchId) ?? 1) - 1;
        if (left > 0) heldBatches.set(hold.batchId, left);
        else heldBatches.delete(hold.batchId);
      }
    };
  }

  /** The nonce organisation `orgId` signs its next submission with (self-custody clients ask for it). */
  async nextNonce(orgId: string): Promise<number> {
    return this.nonces.get(orgId) ?? ((await this.deps.store.journal.get(keys.submissionNonce(orgId))) as number) ?? 0;
  }

  private async signature(
    org: OrgRecord,
    body: Pick<PreparedSubmission, "signature" | "nonce">,
    submission: { org: string; root: string; count: number; nonce: bigint },
    digest: string,
    nonce: number,
  ): Promise<string> {
    if (body.signature === undefined) {
      if (org.custody !== "custodial") {
        throw new HttpError(
          400,
          "signature_required",
          "this organisation signs its own submissions: send signature and nonce",
        );
      }
      const signer = await this.deps.custodialSigner(org.orgId);
      return signer.signingKey.sign(digest).serialized;
    }
    if (body.nonce !== nonce) {
      throw new HttpError(409, "wrong_nonce", `the next submission nonce of this organisation is ${nonce}`, {
        expected: nonce,
        got: body.nonce ?? null,
      });
    }
    let recovered: string;
    try {
      Signature.from(body.signature);
      recovered = verifyTypedData(
        this.deps.domain,
        { Submission: [...LEDGER_TYPES.Submission] },
        submission,
        body.signature,
      );
    } catch {
      throw new HttpError(422, "invalid_signature", "the signature is not a valid secp256k1 signature");
    }
    if (recovered.toLowerCase() !== org.account.toLowerCase()) {
      throw new HttpError(422, "invalid_signature", "the signature is not from this organisation's account", {
        digest,
        expectedSigner: org.account,
        recoveredSigner: recovered,
      });
    }
    return body.signature;
  }

  private async refuseDuplicates(hashes: string[]): Promise<void> {
    const seen = new Set<string>();
    const duplicates: { index: number; eventId: string }[] = [];
    // Look at the unwritten ones before reading: one written meanwhile is then on disk for the read.
    const unwritten = hashes.map((hash) => this.uncommitted.events.has(hash));
    const stored = await this.deps.store.events.getMany(hashes.map((h) => keys.event(h)));
    hashes.forEach((hash, index) => {
      const recorded = stored[index] !== undefined || unwritten[index];
      if (seen.has(hash) || recorded) duplicates.push({ index, eventId: hash });
      seen.add(hash);
    });
    if (duplicates.length > 0) {
      throw new HttpError(409, "duplicate_event", `${duplicates.length} event(s) were recorded before`, { duplicates });
    }
  }

  private async currentSeq(): Promise<number> {
    if (this.lastSeq === null) this.lastSeq = (await this.deps.store.journal.get(keys.lastSubmissionSeq())) ?? 0;
    return this.lastSeq!;
  }

  /** An inspection's certificate must be on file before the event names it (its hash is checked then). */
  private async missingCertificate(event: TraceEvent | RuleEvent): Promise<EventProblem | null> {
    const hash = event.certificationInfo?.documentHash;
    if (event.bizStep !== "inspecting" || event.errorDeclaration || !hash) return null;
    if ((await this.deps.store.certificates.get(keys.certificate(hash))) !== undefined) return null;
    return {
      code: "certificate_not_uploaded",
      message: `no certificate with SHA-256 ${hash} was uploaded: POST it to /api/v1/certificates first`,
      path: "certificationInfo.documentHash",
    };
  }

  /**
   * The rules' view of the store. A batch with a hold waiting to go on-chain (`held`, or a pending
   * hold in the journal) reads as held, so nothing ships from it in the meantime. The records and
   * states of the batches the submission names (`named`) are read up front, in one read, with the
   * pending holds in another: a read per batch cost more on the main thread than the rules did.
   */
  private async lookups(
    overlay: Map<string, BatchState>,
    held: Set<string>,
    named: readonly string[],
  ): Promise<RuleLookups> {
    const { store } = this.deps;
    // Read once per submission: a submission of 500 readings usually names a few batches many times.
    const records = new Map<string, Promise<BatchRecord | null>>();
    const ancestors = new Map<string, Promise<string | null>>();
    const memo = new Map<string, Promise<unknown>>();
    const once = <T>(key: string, read: () => Promise<T>): Promise<T> => {
      let value = memo.get(key) as Promise<T> | undefined;
      if (!value) memo.set(key, (value = read()));
      return value;
    };
    const withHold = async (
      batchId: string,
      found: BatchRecord | null,
      holds: ReadonlySet<string> | null,
    ): Promise<BatchRecord | null> => {
      if (!found || found.status !== "active") return found;
      const pendingHold =
        this.uncommitted.heldBatches.has(batchId) ||
        (holds ? holds.has(batchId) : (await blockingHold(store, batchId)) !== null);
      return pendingHold ? { ...found, status: "held" as const } : found;
    };
    const stored = (batchId: string): Promise<BatchRecord | null> => {
      let record = records.get(batchId);
      if (!record) {
        record = (async () => {
          const found = ((await store.batches.get(keys.batch(batchId))) as BatchRecord | undefined) ?? null;
          return withHold(batchId, found, null);
        })();
        records.set(batchId, record);
      }
      return record;
    };
    const ids = [...new Set(named)];
    if (ids.length > 0) {
      // What unwritten submissions changed, taken before the reads: one may be written, and leave
      // `uncommitted`, while the reads are on their way, and they need not see its write.
      const unwrittenStates = new Map<string, BatchState>();
      for (const id of ids) {
        const state = this.uncommitted.states.get(id);
        if (state) unwrittenStates.set(id, state);
      }
      const unwrittenHolds = ids.filter((id) => this.uncommitted.heldBatches.has(id));
      const [found, holds] = await Promise.all([
        store.batches.getMany([...ids.map((id) => keys.batch(id)), ...ids.map((id) => keys.batchState(id))]),
        blockingHolds(store),
      ]);
      const blocked = holds && new Set([...holds, ...unwrittenHolds]);
      ids.forEach((batchId, i) => {
        records.set(batchId, withHold(batchId, (found[i] as BatchRecord | undefined) ?? null, blocked));
        memo.set(`state:${batchId}`, Promise.resolve(unwrittenStates.get(batchId) ?? found[ids.length + i]));
      });
    }
    const batch = async (batchId: string): Promise<BatchRecord | null> => {
      const record = await stored(batchId);
      return record && held.has(batchId) && record.status === "active" ? { ...record, status: "held" } : record;
    };
    const event = async (eventId: string) => {
      const record = await readEvent(store, eventId);
      return record ? { orgId: record.orgId, body: record.body as TraceEvent, recordTime: record.recordTime } : null;
    };
    return {
      org: (orgId) => once(`org:${orgId}`, async () => (await store.orgs.get(keys.org(orgId))) ?? null),
      event,
      declaredBy: async (eventId) => (await store.events.get(keys.declaration(eventId))) ?? null,
      // Read once per submission: every declaration about a batch replays its history.
      batchEvents: (batchId) =>
        once(`history:${batchId}`, async () => {
          const ids = (await store.events.values(keys.batchEventRange(batchId)).all()) as string[];
          const records = (await readEvents(store, ids)) as EventRecord[];
          return records.map((r) => ({ eventId: r.eventId, orgId: r.orgId, body: r.body as TraceEvent }));
        }),
      batch,
      state: async (batchId) => {
        // A stored state stays current for the whole submission: only submissions change it, one
        // at a time, and an unwritten one's is in `uncommitted` (looked at before the read, here or
        // when the named batches were read up front; read once: a submission of 500 readings
        // names a few batches 500 times).
        const known =
          overlay.get(batchId) ??
          this.uncommitted.states.get(batchId) ??
          (await once(`state:${batchId}`, () => store.batches.get(keys.batchState(batchId))));
        if (known) return known;
        const record = await batch(batchId);
        return { batchId, custodian: record?.producer ?? "", inTransitTo: null, lastEventTime: null };
      },
      recalledAncestor: (batchId) => {
        let found = ancestors.get(batchId);
        if (!found) ancestors.set(batchId, (found = findRecalledAncestor(batchId, stored)));
        return found;
      },
      orgByUscc: (uscc) =>
        once(`org:${orgIdOf(uscc)}`, async () => (await store.orgs.get(keys.org(orgIdOf(uscc)))) ?? null),
    };
  }
}

/** An inspection that found the batch non-conformant (its disposition or its certificate says so). */
export function isNonConformantInspection(event: TraceEvent | RuleEvent): boolean {
  if (event.bizStep !== "inspecting" || event.errorDeclaration) return false;
  return event.disposition === "non_conformant" || event.certificationInfo?.result === "non_conformant";
}

/**
 * The journal records of an accepted submission, all in its one synced write: its header
 * (`sub:<seq>`, journal), its info (`subinfo:<seq>`, journal), each event's record (`evt:<eventId>`,
 * events sublevel: looked up by id by every read) and each event's body (the one copy of it, in the
 * event-body database by submission and position), written from their canonical JSON (`texts`, in
 * order).
 */
export function journalSubmission(
  store: Store,
  record: SubmissionRecord,
  texts: readonly string[],
  batchIds?: string[][],
): Operation[] {
  const { events: _events, ...header } = record;
  return [
    Store.put(store.journal, keys.submission(record.seq), header),
    ...eventRecords(store, record, texts, batchIds),
  ];
}

/** The ids of the batches event `index` of `record` names: `batchIds[index]` when given (prepare computed them). */
function batchIdsAt(record: SubmissionRecord, index: number, batchIds?: string[][]): string[] {
  return batchIds?.[index] ?? batchesOf(record.events[index] as TraceEvent).all.map(batchIdOfKey);
}

/**
 * The event records and bodies of a submission, and its info, from the canonical JSON of its events
 * when given (and the batch ids of each event, when known). A record keeps what is the event's own
 * (position, batches); its id is the key, and its organisation and record time are the submission's.
 */
export function eventRecords(
  store: Store,
  record: SubmissionRecord,
  texts?: readonly string[],
  batchIds?: string[][],
): Operation[] {
  const ops: Operation[] = [putSubmissionInfo(store, record)];
  record.eventIds.forEach((eventId, index) => {
    const body = record.events[index] as TraceEvent;
    ops.push(
      Store.put(
        store.events,
        keys.event(eventId),
        compactRecord(record.seq, index, batchIdsAt(record, index, batchIds)),
      ),
      Store.putEventBody(record.seq, index, texts?.[index] ?? canonicalize(body)),
    );
  });
  return ops;
}

/** The `put` of a submission's info (`subinfo:<seq>`, journal): a copy of two fields of its header. */
export function putSubmissionInfo(store: Store, header: SubmissionHeader): Operation {
  return Store.put(store.journal, keys.submissionInfo(header.seq), submissionInfoOf(header));
}

/** The index records of an accepted submission (batch events, declarations, custody); `reindex` uses it too. */
export function indexSubmission(store: Store, record: SubmissionRecord, batchIds?: string[][]): Operation[] {
  const ops: Operation[] = [];
  record.eventIds.forEach((eventId, index) => {
    const body = record.events[index] as TraceEvent;
    if (body.errorDeclaration) ops.push(Store.put(store.events, keys.declaration(originalEventId(body)), eventId));
    for (const batchId of batchIdsAt(record, index, batchIds)) {
      ops.push(Store.put(store.events, keys.batchEvent(batchId, record.seq, index), eventId));
    }
  });
  for (const state of record.stateChanges) ops.push(Store.put(store.batches, keys.batchState(state.batchId), state));
  return ops;
}

/**
 * Submission `seq` as journaled, events included; undefined if there is none. The events come from
 * their records; journals written before that kept them in the header or at `subev:<seq>`.
 */
export async function readSubmission(store: Store, seq: number): Promise<SubmissionRecord | undefined> {
  const header = (await store.journal.get(keys.submission(seq))) as SubmissionRecord | undefined;
  return header && { ...header, events: await eventsOf(store, header) };
}

/** The events of a submission (see readSubmission); throws if the store lost one. */
export async function eventsOf(store: Store, header: SubmissionHeader & { events?: unknown[] }): Promise<unknown[]> {
  if (header.events) return header.events;
  const legacy = (await store.journal.get(keys.submissionEvents(header.seq))) as unknown[] | undefined;
  if (legacy) return legacy;
  const records = await readEvents(store, header.eventIds);
  return records.map((record, index) => {
    if (!record) {
      throw new Error(
        `the store has lost event ${header.eventIds[index]} of submission ${header.seq}; restore it from a backup`,
      );
    }
    return record.body;
  });
}

/** Breadth-first search for a recalled ancestor in the store's batch records. */
export async function findRecalledAncestor(
  batchId: string,
  batch: (batchId: string) => Promise<BatchRecord | null>,
): Promise<string | null> {
  const seen = new Set<string>([batchId]);
  const queue = [...((await batch(batchId))?.parents ?? [])];
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const record = await batch(id);
    if (!record) continue;
    if (record.status === "recalled") return id;
    queue.push(...record.parents);
  }
  return null;
}

/**
 * Writes accepted submissions to the journal in order, with one synced LevelDB batch for all that
 * arrived while the previous write was on its way (group commit): the next submission's checks and
 * hashing overlap the write before it. After a failed write nothing more is written: the store is
 * in trouble and the gateway must be looked at.
 */
class CommitQueue {
  private queue: { ops: Operation[]; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private writing: Promise<void> | null = null;
  private failure: unknown = null;

  constructor(private readonly store: Store) {}

  commit(ops: Operation[]): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, resolve, reject });
      this.kick();
    });
  }

  /** Resolves once everything queued so far is written. */
  async idle(): Promise<void> {
    while (this.writing) await this.writing.catch(() => undefined);
  }

  private kick(): void {
    if (this.writing) return;
    this.writing = this.drain().finally(() => {
      this.writing = null;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && this.failure === null) {
      const group = this.queue.splice(0);
      try {
        await this.store.write(
          group.flatMap((entry) => entry.ops),
          { sync: true },
        );
        for (const entry of group) entry.resolve();
      } catch (error) {
        this.failure = error;
        for (const entry of [...group, ...this.queue.splice(0)]) entry.reject(error);
      }
    }
  }
}
