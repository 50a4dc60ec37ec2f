/**
 * Model-based property tests of TraceLedger: fast-check generates random sequences of participant
 * writes by random actors, runs them against the real contract on the in-process Hardhat network
 * and, after every step, compares what the chain holds with a small off-chain model.
 *
 * Invariants checked after each step:
 * (a) a call succeeds exactly when the model says the actor may make it (right role, active
 *     organisation, not paused, valid input); when it fails it reverts with the error the model
 *     predicts and the state read back (pause flag, suspensions, product owners, batch statuses,
 *     serial commitments, anchors) is unchanged;
 * (b) a batch once seen recalled stays Recalled;
 * (c) every accepted anchor root is found by getAnchor with seq 1, 2, 3… in acceptance order, and
 *     anchorCount is the number of accepted anchors;
 * (d) recalledAncestor(b) is true iff the model, walking parents, finds a recalled ancestor.
 *
 * A failing run prints fast-check's seed, path and shrunk command list; to replay it, run with
 * YUTRACE_FC_SEED=<seed> YUTRACE_FC_PATH=<path>. YUTRACE_FC_TALLY=1 prints how often each
 * operation succeeded, to tune the command weights.
 */
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroHash, hexlify, id } from "ethers";
import type { ContractTransactionReceipt, ContractTransactionResponse } from "ethers";

import type { TraceLedger } from "../../typechain-types";
import { gtin14, isValidGtin14, isValidLot } from "../../server/domain/identifiers";
import { BatchStatus, GTINS, ROLES, batchIdOf, deployWithBatchesFixture } from "../helpers/ledger-fixture";

type Fixture = Awaited<ReturnType<typeof deployWithBatchesFixture>>;

const ORG_NAMES = ["regulator", "producer", "otherProducer", "inspector", "logistics", "retailer"] as const;
type OrgName = (typeof ORG_NAMES)[number];
const ACTOR_NAMES = ["admin", ...ORG_NAMES, "anchorer", "outsider"] as const;
type ActorName = (typeof ACTOR_NAMES)[number];
type Role = keyof typeof ROLES;

/** Roles each fixture account holds; the fixture grants nothing else and no command grants roles. */
const ACTOR_ROLES: Record<ActorName, readonly Role[]> = {
  admin: ["ADMIN"],
  regulator: ["REGULATOR"],
  producer: ["PRODUCER"],
  otherProducer: ["PRODUCER"],
  inspector: ["INSPECTOR"],
  logistics: ["LOGISTICS"],
  retailer: ["RETAILER"],
  anchorer: ["ANCHORER"],
  outsider: [],
};

function has(actor: ActorName, role: Role): boolean {
  return ACTOR_ROLES[actor].includes(role);
}

function orgOf(actor: ActorName): OrgName | undefined {
  return (ORG_NAMES as readonly string[]).includes(actor) ? (actor as OrgName) : undefined;
}

const MAX_ANCESTOR_WALK = 256;

// ------------------------------------------------------------------ inputs

/** Valid GTINs nobody has registered yet; PRODUCT_GTINS adds the fixture's four products. */
const NEW_GTINS = [
  BigInt(gtin14("0690388504004")),
  BigInt(gtin14("0692217800203")),
  BigInt(gtin14("1690388501008")),
] as const;
const PRODUCT_GTINS: readonly bigint[] = [...Object.values(GTINS), ...NEW_GTINS];
/** Values registerProduct must refuse: a wrong check digit, zero, 15 digits, uint64 max. */
const BAD_GTINS: readonly bigint[] = [
  GTINS.chili - (GTINS.chili % 10n) + ((GTINS.chili + 1n) % 10n),
  0n,
  10n ** 14n,
  2n ** 64n - 1n,
];

const AI82_CHARS = `!"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz`;
/** A small pool (so that the same batch is registered twice now and then), the fixture's lots, random lots, bad lots. */
const LOT_POOL = ["JJ2026-11-A", "TL20261101", "DZ20261120-01", "L1", "2026/11:B", "(X)Y_z.9", "A".repeat(20)];
const BAD_LOTS = ["", "LOT 1", "批次1", "А1", "A".repeat(21), "#1", "L\u200b1"];

const UNKNOWN_PARENT = id("batch:never-registered");
const UNKNOWN_ORG_ID = id("org:never-registered");
const SERIAL_ROOTS = [id("serials:1"), id("serials:2"), id("serials:3")];
const ANCHOR_ROOTS = [id("anchor:1"), id("anchor:2"), id("anchor:3"), id("anchor:4")];

// ------------------------------------------------------------------ model

interface BatchModel {
  id: string;
  gtin: bigint;
  lot: string;
  producer: OrgName;
  status: bigint;
  parents: string[];
}

interface AnchorModel {
  root: string;
  leafCount: number;
  eventCount: number;
}

interface Model {
  paused: boolean;
  suspended: Set<OrgName>;
  products: Map<bigint, OrgName>;
  batches: BatchModel[];
  byId: Map<string, BatchModel>;
  serials: Map<string, number>;
  anchors: AnchorModel[];
  /** Batches a successful recall was observed for: (b) says they stay Recalled, whatever the model does. */
  recalledEver: Set<string>;
}

function initialModel(f: Fixture): Model {
  const m: Model = {
    paused: false,
    suspended: new Set(),
    products: new Map([
      [GTINS.chili, "producer"],
      [GTINS.tallow, "producer"],
      [GTINS.hotpotBase, "producer"],
      [GTINS.rapeseedOil, "otherProducer"],
    ]),
    batches: [],
    byId: new Map(),
    serials: new Map(),
    anchors: [],
    recalledEver: new Set(),
  };
  const { chiliId, tallowId, hotpotId } = f.batchIds;
  addBatch(m, {
    id: chiliId,
    gtin: GTINS.chili,
    lot: f.lots.chiliLot,
    producer: "producer",
    status: BatchStatus.Active,
    parents: [],
  });
  addBatch(m, {
    id: tallowId,
    gtin: GTINS.tallow,
    lot: f.lots.tallowLot,
    producer: "producer",
    status: BatchStatus.Active,
    parents: [],
  });
  addBatch(m, {
    id: hotpotId,
    gtin: GTINS.hotpotBase,
    lot: f.lots.hotpotLot,
    producer: "producer",
    status: BatchStatus.Active,
    parents: [chiliId, tallowId],
  });
  return m;
}

function addBatch(m: Model, b: BatchModel): void {
  m.batches.push(b);
  m.byId.set(b.id, b);
}

/**
 * A reference to a batch that exists when the command runs: the `n`-th batch (modulo) among
 * those with status `pick` (or, for "own", made by the actor) if there are any, else among all.
 * The preference keeps releases, parents etc. from failing most of the time merely because no
 * batch is in the right state.
 */
interface BatchRef {
  n: number;
  pick: "any" | "active" | "held" | "own";
}

function batchAt(m: Model, ref: BatchRef, actor?: ActorName): BatchModel {
  const preferred = m.batches.filter((b) =>
    ref.pick === "active"
      ? b.status === BatchStatus.Active
      : ref.pick === "held"
        ? b.status === BatchStatus.Held
        : ref.pick === "own" && b.producer === (actor && orgOf(actor)),
  );
  const pool = preferred.length > 0 ? preferred : m.batches;
  return pool[ref.n % pool.length]!;
}

function showRef(ref: BatchRef): string {
  return `batch#${ref.n}${ref.pick === "any" ? "" : `/${ref.pick}`}`;
}

/** Why `actor` may not act with participant `role` (the contract's `_participant`), or null. */
function participantError(m: Model, actor: ActorName, role: Role): string | null {
  if (!has(actor, role)) return "AccessControlUnauthorizedAccount";
  const org = orgOf(actor);
  if (org === undefined) return "TraceLedgerNotAnOrganisation";
  if (m.suspended.has(org)) return "TraceLedgerOrganisationSuspended";
  return null;
}

/**
 * The model's own answer to "has `b` a recalled ancestor?": every ancestor with its smallest
 * depth (parents are depth 1), plus how many entries a walk that counts every path would visit.
 */
function modelLineage(
  m: Model,
  b: BatchModel,
): { recalledDepth: number | undefined; depth: Map<string, number>; pathEntries: number } {
  const depth = new Map<string, number>();
  let frontier = b.parents;
  for (let d = 1; frontier.length > 0; d++) {
    const next: string[] = [];
    for (const p of frontier) {
      if (depth.has(p)) continue;
      depth.set(p, d);
      next.push(...m.byId.get(p)!.parents);
    }
    frontier = next;
  }
  let recalledDepth: number | undefined;
  for (const [ancestor, d] of depth) {
    if (m.byId.get(ancestor)!.status === BatchStatus.Recalled && (recalledDepth === undefined || d < recalledDepth)) {
      recalledDepth = d;
    }
  }
  const memo = new Map<string, number>();
  const entries = (x: BatchModel): number => {
    const known = memo.get(x.id);
    if (known !== undefined) return known;
    const n = x.parents.reduce((sum, p) => sum + 1 + entries(m.byId.get(p)!), 0);
    memo.set(x.id, n);
    return n;
  };
  return { recalledDepth, depth, pathEntries: entries(b) };
}

// ------------------------------------------------------------------ calling the chain

type Outcome = { ok: true; receipt: ContractTransactionReceipt } | { ok: false; error: string };

/** The custom error's name a failed call or transaction reverted with. Anything else is rethrown. */
function revertName(ledger: TraceLedger, e: unknown): string {
  const err = e as { data?: unknown; message?: unknown };
  if (typeof err.data === "string" && err.data.startsWith("0x") && err.data.length >= 10) {
    const parsed = ledger.interface.parseError(err.data);
    if (parsed) return parsed.name;
  }
  const match = /reverted with custom error '(\w+)\(/.exec(String(err.message));
  if (match) return match[1]!;
  throw e;
}

async function attempt(ledger: TraceLedger, send: () => Promise<ContractTransactionResponse>): Promise<Outcome> {
  try {
    const receipt = await send().then((tx) => tx.wait());
    return { ok: true, receipt: receipt! };
  } catch (e) {
    return { ok: false, error: revertName(ledger, e) };
  }
}

/** Per operation: how often it succeeded and failed over all runs, to show the runs were not vacuous. */
const tally = new Map<string, { ok: number; failed: number }>();

/** What the latest step did: "ok" or the custom error it reverted with. */
let lastOutcome = "";

function expectOutcome(op: string, label: string, outcome: Outcome, expected: string | null): boolean {
  const t = tally.get(op) ?? { ok: 0, failed: 0 };
  tally.set(op, t);
  lastOutcome = outcome.ok ? "ok" : outcome.error;
  if (expected === null) {
    expect(
      outcome.ok,
      `${label}: the model says it succeeds, but it reverted ${outcome.ok ? "" : outcome.error}`,
    ).to.equal(true);
    t.ok++;
    return true;
  }
  expect(outcome.ok, `${label}: the model says it reverts ${expected}, but it succeeded`).to.equal(false);
  if (!outcome.ok) expect(outcome.error, `${label}: revert reason`).to.equal(expected);
  t.failed++;
  return false;
}

// ------------------------------------------------------------------ invariants

async function checkInvariants(m: Model, f: Fixture, label: string): Promise<void> {
  const { ledger, orgIds } = f;
  // (a) the state read back is the model's state (unchanged by every failed call).
  expect(await ledger.paused(), `${label}: paused`).to.equal(m.paused);
  for (const org of ORG_NAMES) {
    const { suspended } = await ledger.getOrganisation(orgIds[org]);
    expect(suspended, `${label}: ${org} suspended`).to.equal(m.suspended.has(org));
  }
  for (const gtin of PRODUCT_GTINS) {
    const owner = m.products.get(gtin);
    if (owner === undefined) {
      await expect(ledger.getProduct(gtin), `${label}: product ${gtin} absent`).to.be.revertedWithCustomError(
        ledger,
        "TraceLedgerUnknownProduct",
      );
    } else {
      expect((await ledger.getProduct(gtin)).owner, `${label}: owner of ${gtin}`).to.equal(orgIds[owner]);
    }
  }
  for (const b of m.batches) {
    expect((await ledger.getBatch(b.id)).status, `${label}: status of ${b.lot}`).to.equal(b.status);
  }

  // (b) recalled is final.
  for (const batchId of m.recalledEver) {
    expect((await ledger.getBatch(batchId)).status, `${label}: recalled batch ${batchId}`).to.equal(
      BatchStatus.Recalled,
    );
  }

  // (c) anchors: count, findable, seq 1, 2, 3… in acceptance order (and in increasing blocks).
  expect(await ledger.anchorCount(), `${label}: anchorCount`).to.equal(BigInt(m.anchors.length));
  let previousBlock = 0n;
  for (const [i, a] of m.anchors.entries()) {
    const got = await ledger.getAnchor(a.root);
    expect(got.seq, `${label}: seq of anchor ${a.root}`).to.equal(BigInt(i + 1));
    expect([got.leafCount, got.eventCount], `${label}: counts of anchor ${a.root}`).to.deep.equal([
      BigInt(a.leafCount),
      BigInt(a.eventCount),
    ]);
    expect(got.blockNumber > previousBlock, `${label}: anchor ${i + 1} is in a later block`).to.equal(true);
    previousBlock = got.blockNumber;
  }

  // (d) recalledAncestor agrees with the model's walk over parents.
  for (const b of m.batches) {
    const lineage = modelLineage(m, b);
    let result: [boolean, string];
    try {
      result = await ledger.recalledAncestor(b.id);
    } catch (e) {
      expect(revertName(ledger, e), `${label}: recalledAncestor(${b.lot}) reverted`).to.equal(
        "TraceLedgerLineageTooLarge",
      );
      expect(lineage.pathEntries, `${label}: lineage of ${b.lot} is really too large`).to.be.greaterThan(
        MAX_ANCESTOR_WALK,
      );
      continue;
    }
    const [recalled, ancestor] = result;
    expect(recalled, `${label}: recalledAncestor(${b.lot})`).to.equal(lineage.recalledDepth !== undefined);
    if (recalled) {
      expect(m.byId.get(ancestor)?.status, `${label}: the reported ancestor of ${b.lot} is recalled`).to.equal(
        BatchStatus.Recalled,
      );
      expect(
        lineage.depth.get(ancestor),
        `${label}: the reported ancestor of ${b.lot} is a nearest recalled one`,
      ).to.equal(lineage.recalledDepth);
    } else {
      expect(ancestor).to.equal(ZeroHash);
    }
  }
}

// ------------------------------------------------------------------ commands

class Step implements fc.AsyncCommand<Model, Fixture> {
  constructor(
    readonly label: string,
    readonly exec: (m: Model, f: Fixture) => Promise<void>,
  ) {}

  check(): boolean {
    return true; // every command may run in every state: the failures are under test too
  }

  async run(m: Model, f: Fixture): Promise<void> {
    await this.exec(m, f);
    await checkInvariants(m, f, this.label);
  }

  toString(): string {
    return this.label;
  }
}

async function registerProduct(m: Model, f: Fixture, actor: ActorName, gtin: bigint, label: string): Promise<void> {
  const expected = m.paused
    ? "EnforcedPause"
    : (participantError(m, actor, "PRODUCER") ??
      (!isValidGtin14(String(gtin).padStart(14, "0"))
        ? "TraceLedgerInvalidGtin"
        : m.products.has(gtin)
          ? "TraceLedgerProductExists"
          : null));
  const outcome = await attempt(f.ledger, () => f.ledger.connect(f.accounts[actor]).registerProduct(gtin, id(label)));
  if (expectOutcome("registerProduct", label, outcome, expected)) m.products.set(gtin, orgOf(actor)!);
}

async function registerBatch(
  m: Model,
  f: Fixture,
  actor: ActorName,
  gtinChoice: bigint | "own",
  lot: string,
  parentRefs: readonly (BatchRef | "unknown")[],
  label: string,
): Promise<void> {
  const org = orgOf(actor);
  const gtin = gtinChoice === "own" ? ownProduct(m, org) : gtinChoice;
  const parents = parentRefs.map((ref) => (ref === "unknown" ? UNKNOWN_PARENT : batchAt(m, ref).id));
  const batchId = batchIdOf(gtin, lot);
  const parentError = (): string | null => {
    for (const [i, p] of parents.entries()) {
      const parent = m.byId.get(p);
      if (parent === undefined) return "TraceLedgerUnknownBatch";
      if (parent.status !== BatchStatus.Active) return "TraceLedgerParentNotActive";
      if (parents.slice(0, i).includes(p)) return "TraceLedgerDuplicateParent";
    }
    return null;
  };
  const expected = m.paused
    ? "EnforcedPause"
    : (participantError(m, actor, "PRODUCER") ??
      (!m.products.has(gtin)
        ? "TraceLedgerUnknownProduct"
        : m.products.get(gtin) !== org
          ? "TraceLedgerNotProductOwner"
          : !isValidLot(lot)
            ? "TraceLedgerInvalidLot"
            : m.byId.has(batchId)
              ? "TraceLedgerBatchExists"
              : parentError()));
  const known = m.byId.get(batchId);
  const outcome = await attempt(f.ledger, () =>
    f.ledger.connect(f.accounts[actor]).registerBatch(gtin, lot, id(label), parents),
  );
  if (expectOutcome("registerBatch", label, outcome, expected)) {
    addBatch(m, { id: batchId, gtin, lot, producer: org!, status: BatchStatus.Active, parents });
    const got = await f.ledger.getBatch(batchId);
    expect([got.producer, got.gtin, [...got.parents]], `${label}: stored batch`).to.deep.equal([
      f.orgIds[org!],
      gtin,
      parents,
    ]);
  } else if (known === undefined) {
    await expect(f.ledger.getBatch(batchId), `${label}: no batch was created`).to.be.revertedWithCustomError(
      f.ledger,
      "TraceLedgerUnknownBatch",
    );
  }
}

async function commitSerials(
  m: Model,
  f: Fixture,
  actor: ActorName,
  ref: BatchRef,
  root: string,
  count: number,
  label: string,
): Promise<void> {
  const b = batchAt(m, ref, actor);
  const key = `${b.id}:${root}`;
  const expected = m.paused
    ? "EnforcedPause"
    : (participantError(m, actor, "PRODUCER") ??
      (b.producer !== orgOf(actor)
        ? "TraceLedgerNotBatchProducer"
        : b.status === BatchStatus.Recalled
          ? "TraceLedgerBatchRecalled"
          : root === ZeroHash || count === 0
            ? "TraceLedgerInvalidSerialCommitment"
            : m.serials.has(key)
              ? "TraceLedgerSerialsExist"
              : null));
  const outcome = await attempt(f.ledger, () => f.ledger.connect(f.accounts[actor]).commitSerials(b.id, root, count));
  if (expectOutcome("commitSerials", label, outcome, expected)) m.serials.set(key, count);
  expect(await f.ledger.serialCommitment(b.id, root), `${label}: serial commitment`).to.equal(
    BigInt(m.serials.get(key) ?? 0),
  );
}

/** The contract's `_statusAuthority`: regulators (and inspectors for holds) act on any batch, producers on their own. */
function statusAuthorityError(m: Model, actor: ActorName, b: BatchModel, inspectorMay: boolean): string | null {
  const anyBatch = has(actor, "REGULATOR") || (inspectorMay && has(actor, "INSPECTOR"));
  if (!anyBatch && !has(actor, "PRODUCER")) return "AccessControlUnauthorizedAccount";
  const org = orgOf(actor);
  if (org === undefined) return "TraceLedgerNotAnOrganisation";
  if (m.suspended.has(org)) return "TraceLedgerOrganisationSuspended";
  if (!anyBatch && b.producer !== org) return "TraceLedgerNotBatchProducer";
  return null;
}

/** The contract's `_setStatus`: Active → Held, Held → Active, Active/Held → Recalled; Recalled is final. */
function transitionError(b: BatchModel, to: bigint): string | null {
  if (b.status === BatchStatus.Recalled) return "TraceLedgerBatchRecalled";
  if (to === BatchStatus.Held && b.status !== BatchStatus.Active) return "TraceLedgerInvalidStatusTransition";
  if (to === BatchStatus.Active && b.status !== BatchStatus.Held) return "TraceLedgerInvalidStatusTransition";
  return null;
}

/** A product `org` owns (the newest), else one it does not. */
function ownProduct(m: Model, org: OrgName | undefined): bigint {
  const owned = [...m.products].filter(([, owner]) => owner === org).map(([gtin]) => gtin);
  return owned.at(-1) ?? PRODUCT_GTINS[0]!;
}

type StatusOp = "holdBatch" | "releaseBatch" | "recall";

async function changeStatus(
  m: Model,
  f: Fixture,
  op: StatusOp,
  actor: ActorName,
  ref: BatchRef,
  label: string,
): Promise<void> {
  const b = batchAt(m, ref, actor);
  const to = op === "holdBatch" ? BatchStatus.Held : op === "releaseBatch" ? BatchStatus.Active : BatchStatus.Recalled;
  const authority =
    op === "releaseBatch"
      ? participantError(m, actor, "REGULATOR")
      : statusAuthorityError(m, actor, b, op === "holdBatch");
  const expected = m.paused ? "EnforcedPause" : (authority ?? transitionError(b, to));
  const ledger = f.ledger.connect(f.accounts[actor]);
  const outcome = await attempt(f.ledger, () => ledger[op](b.id, id(label)));
  if (expectOutcome(op, label, outcome, expected)) {
    b.status = to;
    if (to === BatchStatus.Recalled) m.recalledEver.add(b.id);
  }
}

async function suspension(
  m: Model,
  f: Fixture,
  op: SuspensionOp,
  actor: ActorName,
  targetChoice: SuspensionTarget,
  label: string,
): Promise<void> {
  const target = targetChoice === "aSuspendedOne" ? ([...m.suspended].at(0) ?? "retailer") : targetChoice;
  const authority = has(actor, "ADMIN") ? null : participantError(m, actor, "REGULATOR");
  const suspend = op === "suspendOrganisation";
  const expected = m.paused
    ? "EnforcedPause"
    : (authority ??
      (target === "unknown"
        ? "TraceLedgerUnknownOrganisation"
        : suspend && m.suspended.has(target)
          ? "TraceLedgerOrganisationSuspended"
          : !suspend && !m.suspended.has(target)
            ? "TraceLedgerOrganisationNotSuspended"
            : null));
  const orgId = target === "unknown" ? UNKNOWN_ORG_ID : f.orgIds[target];
  const ledger = f.ledger.connect(f.accounts[actor]);
  const outcome = await attempt(f.ledger, () =>
    suspend ? ledger.suspendOrganisation(orgId, id(label)) : ledger.reinstateOrganisation(orgId),
  );
  if (expectOutcome(op, label, outcome, expected) && target !== "unknown") {
    if (suspend) m.suspended.add(target);
    else m.suspended.delete(target);
  }
}

async function anchor(
  m: Model,
  f: Fixture,
  actor: ActorName,
  root: string,
  leafCount: number,
  eventCount: number,
  label: string,
): Promise<void> {
  const expected = !has(actor, "ANCHORER")
    ? "AccessControlUnauthorizedAccount"
    : m.paused
      ? "EnforcedPause"
      : root === ZeroHash || leafCount === 0 || eventCount < leafCount
        ? "TraceLedgerInvalidAnchor"
        : m.anchors.some((a) => a.root === root)
          ? "TraceLedgerAnchorExists"
          : null;
  const outcome = await attempt(f.ledger, () =>
    f.ledger.connect(f.accounts[actor]).anchor(root, leafCount, eventCount),
  );
  if (expectOutcome("anchor", label, outcome, expected) && outcome.ok) {
    m.anchors.push({ root, leafCount, eventCount });
    const events = outcome.receipt.logs
      .map((log) => f.ledger.interface.parseLog(log))
      .filter((e) => e?.name === "Anchored");
    expect(
      events.map((e) => [e!.args.seq, e!.args.root]),
      `${label}: Anchored event`,
    ).to.deep.equal([[BigInt(m.anchors.length), root]]);
  }
}

async function pauseOp(m: Model, f: Fixture, op: "pause" | "unpause", actor: ActorName, label: string): Promise<void> {
  const expected = !has(actor, "ADMIN")
    ? "AccessControlUnauthorizedAccount"
    : op === "pause" && m.paused
      ? "EnforcedPause"
      : op === "unpause" && !m.paused
        ? "ExpectedPause"
        : null;
  const ledger = f.ledger.connect(f.accounts[actor]);
  const outcome = await attempt(f.ledger, () => (op === "pause" ? ledger.pause() : ledger.unpause()));
  if (expectOutcome(op, label, outcome, expected)) m.paused = op === "pause";
}

// ------------------------------------------------------------------ arbitraries

/** Mostly an actor who plausibly may make the call, sometimes anybody. */
function actorArb(...likely: ActorName[]): fc.Arbitrary<ActorName> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...likely), weight: 4 },
    { arbitrary: fc.constantFrom(...ACTOR_NAMES), weight: 1 },
  );
}

function batchRefArb(...picks: BatchRef["pick"][]): fc.Arbitrary<BatchRef> {
  return fc.record({ n: fc.nat({ max: 63 }), pick: fc.constantFrom(...picks) });
}
const lotArb = fc.oneof(
  { arbitrary: fc.constantFrom(...LOT_POOL), weight: 4 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...AI82_CHARS), minLength: 1, maxLength: 20 }), weight: 2 },
  { arbitrary: fc.constantFrom(...BAD_LOTS), weight: 1 },
);
const parentsArb = fc.array(
  fc.oneof(
    { arbitrary: batchRefArb("active", "active", "any"), weight: 12 },
    { arbitrary: fc.constant("unknown" as const), weight: 1 },
  ),
  { maxLength: 3 },
);
const serialRootArb = fc.oneof(
  { arbitrary: fc.constantFrom(...SERIAL_ROOTS), weight: 5 },
  { arbitrary: fc.constant(ZeroHash), weight: 1 },
);
const serialCountArb = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 100_000 }), weight: 5 },
  { arbitrary: fc.constant(0), weight: 1 },
);
function targetArb(suspendedWeight: number): fc.Arbitrary<OrgName | "unknown" | "aSuspendedOne"> {
  return fc.oneof(
    { arbitrary: fc.constantFrom<OrgName | "unknown">(...ORG_NAMES, "unknown"), weight: 2 },
    { arbitrary: fc.constant("aSuspendedOne" as const), weight: suspendedWeight },
  );
}
const anchorRootArb = fc.oneof(
  { arbitrary: fc.constantFrom(...ANCHOR_ROOTS), weight: 3 },
  { arbitrary: fc.constant(ZeroHash), weight: 1 },
  { arbitrary: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => hexlify(bytes)), weight: 2 },
);

type SuspensionOp = "suspendOrganisation" | "reinstateOrganisation";
type SuspensionTarget = OrgName | "unknown" | "aSuspendedOne";

/** One command per operation; the arbitraries below and the hand-written scenario both build them. */
const step = {
  registerProduct(actor: ActorName, gtin: bigint): Step {
    const label = `registerProduct(${actor}, ${gtin})`;
    return new Step(label, (m, f) => registerProduct(m, f, actor, gtin, label));
  },
  registerBatch(actor: ActorName, gtin: bigint | "own", lot: string, refs: readonly (BatchRef | "unknown")[]): Step {
    const shown = refs.map((r) => (r === "unknown" ? r : showRef(r))).join(", ");
    const label = `registerBatch(${actor}, ${gtin}, ${JSON.stringify(lot)}, [${shown}])`;
    return new Step(label, (m, f) => registerBatch(m, f, actor, gtin, lot, refs, label));
  },
  commitSerials(actor: ActorName, ref: BatchRef, root: string, count: number): Step {
    const label = `commitSerials(${actor}, ${showRef(ref)}, ${root.slice(0, 10)}, ${count})`;
    return new Step(label, (m, f) => commitSerials(m, f, actor, ref, root, count, label));
  },
  status(op: StatusOp, actor: ActorName, ref: BatchRef): Step {
    const label = `${op}(${actor}, ${showRef(ref)})`;
    return new Step(label, (m, f) => changeStatus(m, f, op, actor, ref, label));
  },
  suspension(op: SuspensionOp, actor: ActorName, target: SuspensionTarget): Step {
    const label = `${op}(${actor}, ${target})`;
    return new Step(label, (m, f) => suspension(m, f, op, actor, target, label));
  },
  anchor(actor: ActorName, root: string, leafCount: number, eventCount: number): Step {
    const label = `anchor(${actor}, ${root.slice(0, 10)}, ${leafCount}, ${eventCount})`;
    return new Step(label, (m, f) => anchor(m, f, actor, root, leafCount, eventCount, label));
  },
  pause(op: "pause" | "unpause", actor: ActorName): Step {
    const label = `${op}(${actor})`;
    return new Step(label, (m, f) => pauseOp(m, f, op, actor, label));
  },
};

const registerProductCmd = fc
  .tuple(
    actorArb("producer", "otherProducer"),
    fc.oneof(fc.constantFrom(...NEW_GTINS), fc.constantFrom(...PRODUCT_GTINS, ...BAD_GTINS)),
  )
  .map(([actor, gtin]) => step.registerProduct(actor, gtin));

const registerBatchCmd = fc
  .tuple(
    actorArb("producer", "otherProducer"),
    fc.oneof(fc.constant("own" as const), fc.constantFrom(...PRODUCT_GTINS)),
    lotArb,
    parentsArb,
  )
  .map(([actor, gtin, lot, refs]) => step.registerBatch(actor, gtin, lot, refs));

const commitSerialsCmd = fc
  .tuple(actorArb("producer", "otherProducer"), batchRefArb("own", "own", "any"), serialRootArb, serialCountArb)
  .map(([actor, ref, root, count]) => step.commitSerials(actor, ref, root, count));

function statusCmd(op: StatusOp, picks: BatchRef["pick"][], ...likely: ActorName[]) {
  return fc.tuple(actorArb(...likely), batchRefArb(...picks)).map(([actor, ref]) => step.status(op, actor, ref));
}

function suspensionCmd(op: SuspensionOp) {
  return fc
    .tuple(actorArb("admin", "regulator"), targetArb(op === "reinstateOrganisation" ? 6 : 0))
    .map(([actor, target]) => step.suspension(op, actor, target));
}

const anchorCmd = fc
  .tuple(actorArb("anchorer"), anchorRootArb, fc.nat({ max: 3 }), fc.nat({ max: 6 }))
  .map(([actor, root, leafCount, eventCount]) => step.anchor(actor, root, leafCount, eventCount));

function pauseCmd(op: "pause" | "unpause") {
  return actorArb("admin").map((actor) => step.pause(op, actor));
}

/** Repeated entries make an operation more frequent; pausing is rare so that most steps are not all EnforcedPause. */
const holdCmd = statusCmd("holdBatch", ["active", "own", "any"], "regulator", "inspector", "producer", "otherProducer");
const releaseCmd = statusCmd("releaseBatch", ["held", "held", "any"], "regulator");
const recallCmd = statusCmd("recall", ["active", "held", "own", "any"], "regulator", "producer", "otherProducer");
const COMMANDS = [
  registerProductCmd,
  registerProductCmd,
  registerBatchCmd,
  registerBatchCmd,
  registerBatchCmd,
  registerBatchCmd,
  commitSerialsCmd,
  commitSerialsCmd,
  holdCmd,
  holdCmd,
  releaseCmd,
  releaseCmd,
  releaseCmd,
  recallCmd,
  suspensionCmd("suspendOrganisation"),
  suspensionCmd("reinstateOrganisation"),
  suspensionCmd("reinstateOrganisation"),
  suspensionCmd("reinstateOrganisation"),
  anchorCmd,
  anchorCmd,
  registerBatchCmd,
  registerProductCmd,
  holdCmd,
  recallCmd,
  pauseCmd("pause"),
  pauseCmd("unpause"),
  pauseCmd("unpause"),
  pauseCmd("unpause"),
  pauseCmd("unpause"),
];

const NUM_RUNS = 30;
const MAX_COMMANDS = 30;
const SEED = process.env.YUTRACE_FC_SEED === undefined ? undefined : Number(process.env.YUTRACE_FC_SEED);
const PATH = process.env.YUTRACE_FC_PATH;

const OPERATIONS = [
  "registerProduct",
  "registerBatch",
  "commitSerials",
  "holdBatch",
  "releaseBatch",
  "recall",
  "suspendOrganisation",
  "reinstateOrganisation",
  "anchor",
  "pause",
  "unpause",
] as const;

const nth = (n: number): BatchRef => ({ n, pick: "any" });

/**
 * Fixture batches: #0 chili, #1 tallow, #2 hotpot base (made from #0 and #1); the scenario adds
 * #3 and #4. Each step with the outcome it must have; the model has to agree too.
 */
const SCENARIO: readonly [Step, string][] = [
  [step.registerProduct("producer", NEW_GTINS[0]), "ok"],
  [step.registerProduct("logistics", NEW_GTINS[1]), "AccessControlUnauthorizedAccount"],
  [step.registerProduct("otherProducer", NEW_GTINS[0]), "TraceLedgerProductExists"],
  [step.registerProduct("otherProducer", BAD_GTINS[0]!), "TraceLedgerInvalidGtin"],
  [step.registerBatch("producer", NEW_GTINS[0], "L1", [nth(0), nth(2)]), "ok"],
  [step.registerBatch("otherProducer", GTINS.chili, "X1", []), "TraceLedgerNotProductOwner"],
  [step.registerBatch("producer", GTINS.chili, "批次1", []), "TraceLedgerInvalidLot"],
  [step.registerBatch("producer", GTINS.chili, "X1", [nth(1), nth(1)]), "TraceLedgerDuplicateParent"],
  [step.commitSerials("producer", nth(3), SERIAL_ROOTS[0]!, 10), "ok"],
  [step.commitSerials("producer", nth(3), SERIAL_ROOTS[0]!, 10), "TraceLedgerSerialsExist"],
  [step.commitSerials("otherProducer", nth(3), SERIAL_ROOTS[1]!, 10), "TraceLedgerNotBatchProducer"],
  [step.status("holdBatch", "inspector", nth(0)), "ok"],
  [step.status("holdBatch", "retailer", nth(1)), "AccessControlUnauthorizedAccount"],
  [step.registerBatch("producer", GTINS.tallow, "T2", [nth(0)]), "TraceLedgerParentNotActive"],
  [step.status("releaseBatch", "inspector", nth(0)), "AccessControlUnauthorizedAccount"],
  [step.status("releaseBatch", "regulator", nth(0)), "ok"],
  [step.status("releaseBatch", "regulator", nth(0)), "TraceLedgerInvalidStatusTransition"],
  [step.status("recall", "regulator", nth(1)), "ok"],
  [step.status("holdBatch", "regulator", nth(1)), "TraceLedgerBatchRecalled"],
  [step.status("releaseBatch", "regulator", nth(1)), "TraceLedgerBatchRecalled"],
  [step.status("recall", "otherProducer", nth(0)), "TraceLedgerNotBatchProducer"],
  [step.suspension("suspendOrganisation", "regulator", "producer"), "ok"],
  [step.registerBatch("producer", NEW_GTINS[0], "L2", []), "TraceLedgerOrganisationSuspended"],
  [step.suspension("suspendOrganisation", "producer", "otherProducer"), "AccessControlUnauthorizedAccount"],
  [step.suspension("reinstateOrganisation", "admin", "producer"), "ok"],
  [step.suspension("reinstateOrganisation", "admin", "producer"), "TraceLedgerOrganisationNotSuspended"],
  [step.anchor("anchorer", ANCHOR_ROOTS[0]!, 2, 3), "ok"],
  [step.anchor("anchorer", ANCHOR_ROOTS[0]!, 1, 1), "TraceLedgerAnchorExists"],
  [step.anchor("anchorer", ANCHOR_ROOTS[1]!, 2, 1), "TraceLedgerInvalidAnchor"],
  [step.anchor("outsider", ANCHOR_ROOTS[1]!, 1, 1), "AccessControlUnauthorizedAccount"],
  [step.anchor("anchorer", ANCHOR_ROOTS[1]!, 1, 1), "ok"],
  [step.pause("pause", "regulator"), "AccessControlUnauthorizedAccount"],
  [step.pause("pause", "admin"), "ok"],
  [step.status("holdBatch", "regulator", nth(2)), "EnforcedPause"],
  [step.anchor("anchorer", ANCHOR_ROOTS[2]!, 1, 1), "EnforcedPause"],
  [step.pause("pause", "admin"), "EnforcedPause"],
  [step.pause("unpause", "admin"), "ok"],
  [step.pause("unpause", "admin"), "ExpectedPause"],
  [step.registerBatch("producer", NEW_GTINS[0], "L2", [nth(2), nth(3)]), "ok"],
  [step.status("recall", "producer", nth(4)), "ok"],
];

// ------------------------------------------------------------------ tests

describe("TraceLedger invariants under random operation sequences", function () {
  this.timeout(120_000);

  it("a hand-written scenario takes every operation down a success and a failure path, as the model predicts", async function () {
    const f = await loadFixture(deployWithBatchesFixture);
    const model = initialModel(f);
    tally.clear();
    await checkInvariants(model, f, "initial state");
    for (const [s, expected] of SCENARIO) {
      await s.run(model, f);
      expect(lastOutcome, s.label).to.equal(expected);
    }
    for (const op of OPERATIONS) {
      const t = tally.get(op) ?? { ok: 0, failed: 0 };
      expect([t.ok > 0, t.failed > 0], `${op} both succeeded and was refused`).to.deep.equal([true, true]);
    }
    // The lineage the scenario built: #4 comes from #2 (hotpot), which comes from the recalled tallow.
    const [recalled, ancestor] = await f.ledger.recalledAncestor(model.batches[4]!.id);
    expect([recalled, ancestor]).to.deep.equal([true, f.batchIds.tallowId]);
  });

  it("only authorised, active, unpaused actors change state; recalls are final; anchors count 1, 2, 3…; recalledAncestor matches the lineage", async function () {
    tally.clear();
    await fc.assert(
      fc.asyncProperty(fc.commands(COMMANDS, { maxCommands: MAX_COMMANDS, size: "max" }), async (cmds) => {
        const f = await loadFixture(deployWithBatchesFixture);
        const model = initialModel(f);
        await checkInvariants(model, f, "initial state");
        await fc.asyncModelRun(() => ({ model, real: f }), cmds);
      }),
      { numRuns: NUM_RUNS, seed: SEED, path: PATH },
    );

    const counts = [...tally].map(([op, t]) => `${op} ${t.ok}/${t.ok + t.failed}`);
    if (process.env.YUTRACE_FC_TALLY) console.log(`      succeeded/attempted: ${counts.join(", ")}`);
    // The property is only as strong as the paths the runs took: they must have changed the state
    // many times and been refused many times, not just bounced off a pause.
    const totals = [...tally.values()].reduce((a, t) => ({ ok: a.ok + t.ok, failed: a.failed + t.failed }), {
      ok: 0,
      failed: 0,
    });
    expect(totals.ok, "successful steps over all runs").to.be.greaterThan((5 * NUM_RUNS) / 2);
    expect(totals.failed, "refused steps over all runs").to.be.greaterThan((5 * NUM_RUNS) / 2);
  });
});
