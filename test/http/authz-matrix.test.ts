/**
 * The authorization matrix of the whole HTTP API against a running gateway (its own hardhat node,
 * ledger, indexer and anchorer): OWASP API1 (object level), API3 (property level) and API5
 * (function level). Every operation of the OpenAPI document the app serves has a row here — a new
 * operation without one fails the first test — and every row is sent by every kind of caller: the
 * platform admin, a regulator, a producer, a rival producer, a lab, a carrier, a retailer, nobody,
 * a malformed key, an unknown key, a key rotated away and a suspended organisation. Each answer is
 * the exact 2xx, 401 or 403 (with its error code) the row expects, and every refused request
 * leaves every key and value of the store and the txlog as they were. No organisation acts on
 * another's batch or key, no answer to anyone but its owner carries private fields, and no answer
 * at all carries an API-key hash, a sealed custodial key or a private key.
 */
import { randomBytes } from "node:crypto";
import { expect } from "chai";
import { HDNodeWallet } from "ethers";
import request, { type Response, type Test } from "supertest";

import { DEMO_KEY_ENCRYPTION_KEY, openKey } from "../../server/chain/custody";
import { batchIdOf } from "../../server/domain/batch-id";
import { gtin14, uscc } from "../../server/domain/identifiers";
import type { Gateway } from "../../server/gateway";
import { hashApiKey } from "../../server/services/api-keys";
import type { SigningKeyRecord } from "../../server/store/records";
import {
  ORGANISATIONS,
  PRODUCTS,
  bearer,
  createOrganisation,
  cstTime,
  dateIn,
  destination,
  expectError,
  objectEvent,
  pdfBytes,
  quantity,
  quiesce,
  registerBatch,
  registerProduct,
  startTestGateway,
  storeSnapshot,
  type BatchKey,
  type OrganisationInput,
  type ProductInput,
  type StoreSnapshot,
  type TestGateway,
  type TestOrg,
} from "../helpers/gateway";

const NOW = new Date();
const compact = (offsetDays: number) => dateIn(offsetDays, NOW).replaceAll("-", "");
const at = (offsetDays: number, hour: number, minute = 0) => cstTime(offsetDays, hour, minute, NOW);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- callers

/** Callers with a working key. */
const ROLES = ["admin", "regulator", "producer", "rival", "inspector", "logistics", "retailer"] as const;
type Role = (typeof ROLES)[number];
/** Callers without one that works. */
const INTRUDERS = ["anonymous", "malformed key", "unknown key", "rotated-away key", "suspended organisation"] as const;
type Intruder = (typeof INTRUDERS)[number];
type Caller = Role | Intruder;

/** A success status, or a refusal's status and error code. */
type Outcome = number | readonly [number, string];

const ORGANISATION_REQUIRED = [403, "organisation_required"] as const;
const ADMIN_REQUIRED = [403, "admin_required"] as const;
const ROLE_NOT_ALLOWED = [403, "role_not_allowed"] as const;
const NOT_BATCH_PRODUCER = [403, "not_batch_producer"] as const;

/** What every protected operation answers a caller without a working key. */
const INTRUDER_OUTCOME: Record<Intruder, readonly [number, string]> = {
  anonymous: [401, "unauthenticated"],
  "malformed key": [401, "invalid_api_key"],
  "unknown key": [401, "invalid_api_key"],
  "rotated-away key": [401, "invalid_api_key"],
  "suspended organisation": [403, "organisation_suspended"],
};

const everyone = (outcome: Outcome) =>
  Object.fromEntries(ROLES.map((role) => [role, outcome])) as Record<Role, Outcome>;
const roles = (otherwise: Outcome, allowed: Partial<Record<Role, Outcome>>): Record<Role, Outcome> => ({
  ...everyone(otherwise),
  ...allowed,
});
const adminOrRegulator = (status: number) => roles(ROLE_NOT_ALLOWED, { admin: status, regulator: status });

/** The fields of an organisation anyone may see (routes/organisations.ts publicOrganisation). */
const PUBLIC_ORG_FIELDS = ["account", "custody", "district", "name", "orgId", "roles", "suspended", "uscc"];
/** Property names that would carry a secret. */
const SECRET_PROPERTIES = ["sealed", "privateKey", "private_key", "mnemonic", "kek", "apiKeyHash", "secret"];

// ---------------------------------------------------------------- fixtures

const EXTRA_ORGANISATIONS = {
  /** A producer the regulator suspends: its key is refused from then on. */
  suspended: { name: "重庆璧山鞋业有限公司", uscc: uscc("91500120MA5YB20E1"), district: "璧山区", roles: ["producer"] },
  /** A producer whose API key the admin rotates: the old key is refused from then on. */
  rotated: { name: "重庆荣昌陶瓷有限公司", uscc: uscc("91500153MA60RC7K2"), district: "荣昌区", roles: ["producer"] },
  /** Whose API key and signing key the admin rotates, and whom the admin suspends and reinstates. */
  target0: {
    name: "重庆大足五金制品有限公司",
    uscc: uscc("91500111MA5U0DW18"),
    district: "大足区",
    roles: ["logistics"],
  },
  /** Whom the regulator suspends and reinstates. */
  target1: {
    name: "重庆两江冷链仓储有限公司",
    uscc: uscc("91500000MA60LJ2C4"),
    district: "渝北区",
    roles: ["retailer"],
  },
} as const satisfies Record<string, OrganisationInput>;
/** Onboarded by the admin in the matrix. */
const NEWCOMER = {
  name: "重庆涪陵榨菜食品有限公司",
  uscc: uscc("91500102MA61FL8P3"),
  district: "涪陵区",
  roles: ["producer"],
};

/** Products registered in the matrix, one for each producer allowed to. */
const NEW_PRODUCTS = {
  producer: {
    gtin: gtin14("0693885060001"),
    name: { zh: "重庆小面调料 200g", en: "Chongqing noodle seasoning 200 g" },
    category: "seasoning",
    standard: "Q/YWHG 0002S",
  },
  rival: {
    gtin: gtin14("0693885070000"),
    name: { zh: "江津花椒油 250ml", en: "Jiangjin pepper oil 250 ml" },
    category: "seasoning",
    standard: "LS/T 3254",
  },
} as const satisfies Record<string, ProductInput>;

const LOTS = {
  /** The producer's batch everyone reads and the rivals try to act on; held by the carrier. */
  main: { gtin: PRODUCTS.hotpotBase.gtin, lot: `BN${compact(-10)}-M` },
  /** The producer's batch the retailer holds. */
  shelf: { gtin: PRODUCTS.hotpotBase.gtin, lot: `BN${compact(-10)}-S` },
  /** Recalled by the regulator in the matrix. */
  recall1: { gtin: PRODUCTS.hotpotBase.gtin, lot: `BN${compact(-10)}-C1` },
  /** Recalled by its producer in the matrix. */
  recall2: { gtin: PRODUCTS.hotpotBase.gtin, lot: `BN${compact(-10)}-C2` },
  /** Held after a failed inspection; released by the regulator in the matrix. */
  held: { gtin: PRODUCTS.hotpotBase.gtin, lot: `BN${compact(-10)}-H` },
  /** Registered by the producer in the matrix. */
  fresh: { gtin: PRODUCTS.hotpotBase.gtin, lot: `BN${compact(-10)}-N` },
  /** The rival producer's own batch. */
  chili: { gtin: PRODUCTS.chili.gtin, lot: `JJ${compact(-10)}` },
  /** The suspended producer's own batch. */
  suspended: { gtin: PRODUCTS.tallow.gtin, lot: `RC${compact(-10)}` },
  /** The producer with a rotated key: its own batch. */
  rotated: { gtin: PRODUCTS.giftBox.gtin, lot: `GB${compact(-10)}` },
} as const satisfies Record<string, BatchKey>;
type LotKey = keyof typeof LOTS;
const batchId = (key: LotKey) => batchIdOf(LOTS[key].gtin, LOTS[key].lot);
const batchInput = (key: LotKey) => ({
  ...LOTS[key],
  quantity: { value: 5000, unit: "XBX" },
  productionDate: dateIn(-10, NOW),
});

const EPCIS_CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"];
/** An EPCIS 2.0 document of `events` in our shape; EPCIS names parties by URN. */
const epcisDocument = (events: Record<string, unknown>[]) => ({
  "@context": EPCIS_CONTEXT,
  type: "EPCISDocument",
  schemaVersion: "2.0",
  creationDate: new Date().toISOString(),
  epcisBody: {
    eventList: events.map((event) =>
      event.destinationList
        ? {
            ...event,
            destinationList: (event.destinationList as { type: string; destination: string }[]).map((party) => ({
              type: party.type,
              destination: `urn:yutrace:org:${party.destination}`,
            })),
          }
        : event,
    ),
  },
});

/** A key of our shape that was never issued. */
const UNKNOWN_KEY = "ytk_" + randomBytes(32).toString("base64url");

/** Collects a binary body (a PDF) as a Buffer. */
const binary = (res: NodeJS.ReadableStream, done: (error: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on("data", (chunk: Buffer) => chunks.push(chunk));
  res.on("end", () => done(null, Buffer.concat(chunks)));
};

/** The text of any answer (JSON, HTML, CSV, SVG, or a binary body as latin1). */
function textOf(res: Response): string {
  if (typeof res.text === "string") return res.text;
  if (Buffer.isBuffer(res.body)) return res.body.toString("latin1");
  return JSON.stringify(res.body ?? null);
}

/** The differences between two store snapshots, by key. */
function changes(before: StoreSnapshot, after: StoreSnapshot) {
  const was = new Map(before.entries);
  const now = new Map(after.entries);
  return {
    added: [...now.keys()].filter((key) => !was.has(key)),
    removed: [...was.keys()].filter((key) => !now.has(key)),
    changed: [...now.keys()].filter((key) => was.has(key) && was.get(key) !== now.get(key)),
    transactions: after.txCount - before.txCount,
  };
}

/** Every property name in `value`, at any depth. */
function propertyNames(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((item) => propertyNames(item, into));
  else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      into.add(key);
      propertyNames(item, into);
    }
  }
  return into;
}

// ---------------------------------------------------------------- the matrix

interface Row {
  /** `METHOD /path` exactly as the OpenAPI document names it. */
  op: string;
  /** Served without an API key (the document's `security: []`). */
  public?: boolean;
  /** The request as `who` sends it, without credentials. */
  send(who: Caller): Test;
  /** Protected rows: what each role gets. Public rows: every caller gets 200. */
  roles?: Record<Role, Outcome>;
  /** Checks of a success answer (it may update the fixtures). */
  ok?(res: Response, who: Caller): unknown;
  /** Its success answer shows an API key (to the admin, once). */
  issuesKeys?: boolean;
  /** Its success answer is the store as stored (the admin's backup): hashes and sealed keys included. */
  storeDump?: boolean;
}

describe("HTTP API: the authorization matrix (every operation × every caller)", function () {
  this.timeout(180_000);

  let t: TestGateway;
  let gateway: Gateway;
  const orgs = {} as Record<
    "regulator" | "producer" | "rival" | "inspector" | "logistics" | "retailer" | keyof typeof EXTRA_ORGANISATIONS,
    TestOrg
  >;
  let newcomer: TestOrg | null = null;
  /** The rotated producer's key from before its rotation. */
  let rotatedAwayKey: string;
  /** Every API key this test has seen, current or revoked. */
  const apiKeys = new Set<string>();
  /** Every sealed custodial key the store held at some point. */
  const sealedKeys = new Map<string, SigningKeyRecord>();
  let setup: { eventId: string; submissionId: string; serials: string[]; certificate: string };

  /** Every answer of the test, for the leak checks at the end. */
  const answers: {
    label: string;
    text: string;
    json: unknown;
    issuesKeys: boolean;
    apiKey: string | null;
    storeDump: boolean;
  }[] = [];

  const api = () => request(t.url);
  const q = (key: LotKey, amount: number) => quantity(gateway.config.publicUrl, LOTS[key], amount, "XBX");

  function credentials(who: Caller): Record<string, string> | null {
    switch (who) {
      case "anonymous":
        return null;
      case "malformed key":
        return { Authorization: "Bearer not-a-yutrace-key" };
      case "unknown key":
        return bearer(UNKNOWN_KEY);
      case "rotated-away key":
        return bearer(rotatedAwayKey);
      case "suspended organisation":
        return bearer(orgs.suspended.apiKey);
      case "admin":
        return bearer(t.adminKey);
      default:
        return bearer(orgs[who].apiKey);
    }
  }

  /** The organisation `who` acts for, if any. */
  function orgOf(who: Caller): TestOrg | null {
    if (who === "suspended organisation") return orgs.suspended;
    if (who === "rotated-away key") return orgs.rotated;
    if (who === "admin" || (INTRUDERS as readonly string[]).includes(who)) return null;
    return orgs[who as Exclude<Role, "admin">];
  }

  /** Sends `test` as `who` and keeps the answer for the leak checks. */
  async function send(
    who: Caller,
    test: Test,
    label: string,
    issuesKeys = false,
    storeDump = false,
  ): Promise<Response> {
    const header = credentials(who);
    if (header) test.set(header);
    const res = await test;
    const json = /json/.test(String(res.headers["content-type"] ?? "")) ? res.body : null;
    answers.push({
      label: `${label} as ${who}`,
      text: textOf(res),
      json,
      issuesKeys: issuesKeys && who === "admin" && res.status >= 200 && res.status < 300,
      apiKey: typeof json?.apiKey === "string" ? json.apiKey : null,
      storeDump: storeDump && who === "admin" && res.status === 200,
    });
    if (typeof json?.apiKey === "string") apiKeys.add(json.apiKey);
    return res;
  }

  /** The mismatch of `res` against `outcome`, or null. */
  function mismatch(res: Response, outcome: Outcome, label: string): string | null {
    const [status, code] = typeof outcome === "number" ? [outcome, null] : outcome;
    const got = `${res.status} ${textOf(res).slice(0, 240)}`;
    if (res.status !== status) return `${label}: expected ${status}${code ? ` ${code}` : ""}, got ${got}`;
    if (code === null) return null;
    try {
      expectError(res, status, code);
    } catch (error) {
      return `${label}: ${(error as Error).message}`;
    }
    return null;
  }

  /** Runs `run` and checks that it changed nothing in the store and sent no transaction. */
  async function changesNothing<T>(what: string, run: () => Promise<T>): Promise<T> {
    await quiesce(gateway);
    const before = await storeSnapshot(gateway);
    const result = await run();
    // Give a wrongly started background write (anchor, index, hold) the time to show.
    await sleep(60);
    const after = await storeSnapshot(gateway);
    expect(changes(before, after), `${what} changed the store`).to.deep.equal({
      added: [],
      removed: [],
      changed: [],
      transactions: 0,
    });
    return result;
  }

  // ------------------------------------------------------------ whom each caller acts on

  /** The batch `who` aims at: its own where it has one, else the producer's main batch. */
  function batchFor(who: Caller): string {
    if (who === "suspended organisation") return batchId("suspended");
    if (who === "rotated-away key") return batchId("rotated");
    return batchId("main");
  }

  /** An event `who` may record, on `day` (each caller its own hour, so no two are the same). */
  function eventFor(who: Caller, day: number): Record<string, unknown> {
    const inspection = (key: LotKey, hour: number) =>
      objectEvent("inspecting", at(day, hour), [q(key, 6)], { disposition: "conformant" });
    const stored = (key: LotKey, hour: number) =>
      objectEvent("storing", at(day, hour), [q(key, 100)], { disposition: "sellable_not_accessible" });
    switch (who) {
      case "regulator":
        return inspection("main", 9);
      case "producer":
        return inspection("main", 10);
      case "rival":
        return inspection("chili", 11);
      case "inspector":
        return inspection("main", 12);
      case "logistics":
        return stored("main", 13);
      case "retailer":
        return stored("shelf", 14);
      case "admin":
        return inspection("main", 15);
      case "suspended organisation":
        return inspection("suspended", 16);
      case "rotated-away key":
        return inspection("rotated", 17);
      default:
        return inspection("main", 18);
    }
  }

  const post = (path: string) => api().post(path);
  const get = (path: string) => api().get(path);
  const mainLink = () => `/01/${LOTS.main.gtin}/10/${LOTS.main.lot}`;

  const MATRIX: Row[] = [
    // ---------------------------------------------------------- health and meta
    {
      op: "GET /healthz",
      public: true,
      send: () => get("/healthz"),
      ok: (res) => expect(res.body).to.deep.equal({ status: "ok" }),
    },
    {
      op: "GET /readyz",
      public: true,
      send: () => get("/readyz"),
      ok: (res) => expect(res.body.status).to.equal("ready"),
    },
    {
      op: "GET /api/openapi.json",
      public: true,
      send: () => get("/api/openapi.json"),
      ok: (res) => expect(res.body.openapi).to.equal("3.1.0"),
    },
    {
      op: "GET /api/v1/ledger",
      public: true,
      send: () => get("/api/v1/ledger"),
      ok: (res) => expect(res.body.address.toLowerCase()).to.equal(gateway.ledger.address.toLowerCase()),
    },
    // ---------------------------------------------------------- organisations
    {
      op: "POST /api/v1/organisations",
      send: () => post("/api/v1/organisations").send(NEWCOMER),
      roles: roles(ADMIN_REQUIRED, { admin: 201 }),
      issuesKeys: true,
      ok: async (res) => {
        expect(Object.keys(res.body.organisation).sort()).to.deep.equal(PUBLIC_ORG_FIELDS);
        expect(res.body.apiKey).to.match(/^ytk_[A-Za-z0-9_-]{43}$/);
        newcomer = { ...res.body.organisation, apiKey: res.body.apiKey };
        const self = await send("admin", get(`/api/v1/organisations/${newcomer!.orgId}`), "the newcomer");
        expect(self.status).to.equal(200);
      },
    },
    {
      op: "GET /api/v1/organisations",
      send: () => get("/api/v1/organisations"),
      roles: adminOrRegulator(200),
      ok: (res) => {
        expect(res.body.organisations.length).to.be.at.least(10);
        for (const org of res.body.organisations) expect(Object.keys(org).sort()).to.deep.equal(PUBLIC_ORG_FIELDS);
      },
    },
    {
      op: "GET /api/v1/me",
      send: () => get("/api/v1/me"),
      roles: everyone(200),
      ok: (res, who) => {
        const org = orgOf(who);
        if (!org) return expect(res.body).to.deep.equal({ admin: true, organisation: null });
        expect(res.body.admin).to.equal(false);
        expect(Object.keys(res.body.organisation).sort()).to.deep.equal(PUBLIC_ORG_FIELDS);
        expect(res.body.organisation.orgId).to.equal(org.orgId);
        expect(res.body.submissionNonce).to.be.a("number");
      },
    },
    {
      op: "GET /api/v1/me/products",
      send: () => get("/api/v1/me/products"),
      roles: roles(200, { admin: ORGANISATION_REQUIRED }),
      ok: (res, who) => {
        const org = orgOf(who)!;
        for (const product of res.body.products) expect(product.owner).to.equal(org.orgId);
        if (who === "producer")
          expect(res.body.products.map((p: { gtin: string }) => p.gtin)).to.include(LOTS.main.gtin);
        if (who === "inspector") expect(res.body.products).to.deep.equal([]);
      },
    },
    {
      op: "GET /api/v1/me/batches",
      send: () => get("/api/v1/me/batches?limit=200"),
      roles: roles(200, { admin: ORGANISATION_REQUIRED }),
      ok: (res, who) => {
        const org = orgOf(who)!;
        for (const batch of res.body.batches) expect(batch.producer).to.equal(org.orgId);
        if (who === "producer")
          expect(res.body.batches.map((b: { batchId: string }) => b.batchId)).to.include(batchId("main"));
        if (who === "inspector") expect(res.body.batches).to.deep.equal([]);
      },
    },
    {
      op: "GET /api/v1/organisations/{orgId}",
      send: () => get(`/api/v1/organisations/${orgs.producer.orgId}`),
      roles: everyone(200),
      ok: (res) => {
        expect(Object.keys(res.body.organisation).sort()).to.deep.equal(PUBLIC_ORG_FIELDS);
        expect(res.body.organisation.orgId).to.equal(orgs.producer.orgId);
      },
    },
    {
      op: "POST /api/v1/organisations/{orgId}/api-key",
      send: () => post(`/api/v1/organisations/${orgs.target0.orgId}/api-key`),
      roles: roles(ADMIN_REQUIRED, { admin: 201 }),
      issuesKeys: true,
      ok: async (res) => {
        const old = orgs.target0.apiKey;
        expect(res.body.apiKey).to.match(/^ytk_/).and.not.equal(old);
        orgs.target0.apiKey = res.body.apiKey;
        const profile = `/api/v1/organisations/${orgs.target0.orgId}`;
        expectError(
          await send("anonymous", get(profile).set(bearer(old)), "target0's old key"),
          401,
          "invalid_api_key",
        );
        expect(
          (await send("anonymous", get(profile).set(bearer(res.body.apiKey)), "target0's new key")).status,
        ).to.equal(200);
      },
    },
    {
      op: "POST /api/v1/organisations/{orgId}/signing-key",
      send: () => post(`/api/v1/organisations/${orgs.target0.orgId}/signing-key`),
      roles: roles(ADMIN_REQUIRED, { admin: 201 }),
      ok: (res) => {
        expect(Object.keys(res.body.organisation).sort()).to.deep.equal(PUBLIC_ORG_FIELDS);
        expect(res.body.organisation.account).to.not.equal(orgs.target0.account);
        orgs.target0.account = res.body.organisation.account;
      },
    },
    {
      op: "POST /api/v1/organisations/{orgId}/suspension",
      // The admin suspends target0, the regulator target1; everyone else tries target0.
      send: (who) =>
        post(`/api/v1/organisations/${(who === "regulator" ? orgs.target1 : orgs.target0).orgId}/suspension`).send({
          reason: "未按规定报送追溯数据",
        }),
      roles: adminOrRegulator(200),
      ok: async (res, who) => {
        const target = who === "regulator" ? orgs.target1 : orgs.target0;
        expect(res.body.organisation).to.deep.include({ orgId: target.orgId, suspended: true });
        const own = await send("anonymous", get("/api/v1/batches/" + batchId("main")).set(bearer(target.apiKey)), "");
        expectError(own, 403, "organisation_suspended");
      },
    },
    {
      op: "DELETE /api/v1/organisations/{orgId}/suspension",
      send: (who) =>
        api().delete(`/api/v1/organisations/${(who === "regulator" ? orgs.target1 : orgs.target0).orgId}/suspension`),
      roles: adminOrRegulator(200),
      ok: async (res, who) => {
        const target = who === "regulator" ? orgs.target1 : orgs.target0;
        expect(res.body.organisation).to.deep.include({ orgId: target.orgId, suspended: false });
        const own = await send("anonymous", get("/api/v1/batches/" + batchId("main")).set(bearer(target.apiKey)), "");
        expect(own.status).to.equal(200);
      },
    },
    // ---------------------------------------------------------- products and batches
    {
      op: "POST /api/v1/products",
      send: (who) => post("/api/v1/products").send(who === "rival" ? NEW_PRODUCTS.rival : NEW_PRODUCTS.producer),
      roles: roles(ROLE_NOT_ALLOWED, { admin: ORGANISATION_REQUIRED, producer: 201, rival: 201 }),
      ok: (res, who) => expect(res.body.product.owner).to.equal(orgOf(who)!.orgId),
    },
    {
      op: "GET /api/v1/products/{gtin}",
      send: () => get(`/api/v1/products/${PRODUCTS.hotpotBase.gtin}`),
      roles: everyone(200),
      ok: (res) => expect(res.body.product.owner).to.equal(orgs.producer.orgId),
    },
    {
      op: "POST /api/v1/batches",
      // A batch of the sender's own product for the suspended and rotated producers; of the producer's
      // hotpot base for everyone else (the rival included: not its product).
      send: (who) =>
        post("/api/v1/batches").send(
          who === "suspended organisation"
            ? { ...batchInput("suspended"), lot: `RC${compact(-10)}-N` }
            : who === "rotated-away key"
              ? { ...batchInput("rotated"), lot: `GB${compact(-10)}-N` }
              : batchInput("fresh"),
        ),
      roles: roles(ROLE_NOT_ALLOWED, {
        admin: ORGANISATION_REQUIRED,
        producer: 201,
        rival: [403, "not_product_owner"],
      }),
      ok: (res) => expect(res.body.batch).to.deep.include({ batchId: batchId("fresh"), producer: orgs.producer.orgId }),
    },
    {
      op: "GET /api/v1/batches",
      send: () => get(`/api/v1/batches?gtin=${LOTS.main.gtin}&lot=${LOTS.main.lot}`),
      roles: everyone(200),
      ok: (res) => expect(res.body.batch.batchId).to.equal(batchId("main")),
    },
    {
      op: "GET /api/v1/batches/{batchId}",
      send: () => get(`/api/v1/batches/${batchId("main")}`),
      roles: everyone(200),
      ok: (res) => expect(res.body.custody.custodian).to.equal(orgs.logistics.orgId),
    },
    {
      op: "GET /api/v1/batches/{batchId}/events",
      send: () => get(`/api/v1/batches/${batchId("main")}/events`),
      roles: everyone(200),
      ok: (res) => expect(res.body.events.map((e: { eventId: string }) => e.eventId)).to.include(setup.eventId),
    },
    {
      op: "GET /api/v1/batches/{batchId}/lineage",
      send: () => get(`/api/v1/batches/${batchId("main")}/lineage?direction=down`),
      roles: everyone(200),
      ok: (res) => expect(res.body.batches).to.be.an("array"),
    },
    {
      op: "GET /api/v1/batches/{batchId}/evidence",
      public: true,
      send: () => get(`/api/v1/batches/${batchId("main")}/evidence`),
      ok: (res) => expect(JSON.stringify(res.body)).to.contain(setup.eventId),
    },
    {
      op: "GET /api/v1/batches/{batchId}/verification",
      send: () => get(`/api/v1/batches/${batchId("main")}/verification`),
      roles: everyone(200),
      ok: (res) => expect(JSON.stringify(res.body)).to.contain(setup.eventId),
    },
    {
      op: "POST /api/v1/batches/{batchId}/recall-drill",
      send: (who) => post(`/api/v1/batches/${batchFor(who)}/recall-drill`),
      roles: roles(ROLE_NOT_ALLOWED, {
        admin: ORGANISATION_REQUIRED,
        regulator: 200,
        producer: 200,
        rival: NOT_BATCH_PRODUCER,
      }),
      ok: (res) => expect(res.body.batchId).to.equal(batchId("main")),
    },
    {
      op: "POST /api/v1/batches/{batchId}/serials",
      send: (who) => post(`/api/v1/batches/${batchFor(who)}/serials`).send({ count: 2 }),
      roles: roles(ROLE_NOT_ALLOWED, { admin: ORGANISATION_REQUIRED, producer: 201, rival: NOT_BATCH_PRODUCER }),
      ok: (res) => {
        expect(res.headers["content-type"]).to.match(/^text\/csv/);
        const rows = res.text.trim().split("\r\n");
        expect(rows).to.have.length(3);
        setup.serials.push(...rows.slice(1).map((row) => row.split(",")[0]!));
      },
    },
    {
      op: "GET /api/v1/batches/{batchId}/serials",
      send: (who) => get(`/api/v1/batches/${batchFor(who)}/serials`),
      roles: roles(NOT_BATCH_PRODUCER, { admin: ORGANISATION_REQUIRED, producer: 200 }),
      ok: (res) => {
        const listed = res.text
          .trim()
          .split("\r\n")
          .slice(1)
          .map((row) => row.split(",")[0]);
        expect(listed).to.have.members(setup.serials);
      },
    },
    {
      op: "GET /api/v1/batches/{batchId}/labels.pdf",
      send: (who) => {
        const req = get(`/api/v1/batches/${batchFor(who)}/labels.pdf`);
        return who === "producer" ? req.buffer(true).parse(binary as never) : req;
      },
      roles: roles(NOT_BATCH_PRODUCER, { admin: ORGANISATION_REQUIRED, producer: 200 }),
      ok: (res) => {
        expect(res.headers["content-type"]).to.match(/^application\/pdf/);
        expect((res.body as Buffer).subarray(0, 5).toString("latin1")).to.equal("%PDF-");
      },
    },
    {
      op: "POST /api/v1/batches/{batchId}/recall",
      // The regulator recalls recall1, the producer recall2; everyone else tries the main batch.
      send: (who) =>
        post(
          `/api/v1/batches/${who === "regulator" ? batchId("recall1") : who === "producer" ? batchId("recall2") : batchFor(who)}/recall`,
        ).send({ reason: "抽检发现微生物超标" }),
      roles: roles(ROLE_NOT_ALLOWED, {
        admin: ORGANISATION_REQUIRED,
        regulator: 200,
        producer: 200,
        rival: NOT_BATCH_PRODUCER,
      }),
      ok: (res, who) =>
        expect(res.body.batch).to.deep.include({
          batchId: batchId(who === "regulator" ? "recall1" : "recall2"),
          status: "recalled",
        }),
    },
    // ---------------------------------------------------------- events
    {
      op: "POST /api/v1/events",
      send: (who) => post("/api/v1/events").send({ events: [eventFor(who, -5)] }),
      roles: roles(202, { admin: ORGANISATION_REQUIRED }),
      ok: (res) => expect(res.body.events).to.have.length(1),
    },
    {
      op: "GET /api/v1/events/{eventId}",
      send: () => get(`/api/v1/events/${setup.eventId}`),
      roles: everyone(200),
      ok: (res) => expect(res.body.eventId).to.equal(setup.eventId),
    },
    {
      op: "GET /api/v1/submissions/{id}",
      send: () => get(`/api/v1/submissions/${setup.submissionId}`),
      roles: everyone(200),
      ok: (res) => expect(res.body.eventIds).to.include(setup.eventId),
    },
    {
      op: "POST /api/v1/epcis/capture",
      send: (who) =>
        post("/api/v1/epcis/capture")
          .set("Content-Type", "application/ld+json")
          .send(JSON.stringify(epcisDocument([eventFor(who, -4)]))),
      roles: roles(202, { admin: ORGANISATION_REQUIRED }),
      ok: (res) => expect(res.body.events).to.have.length(1),
    },
    {
      op: "GET /api/v1/epcis/events",
      send: () => get(`/api/v1/epcis/events?gtin=${LOTS.main.gtin}&lot=${LOTS.main.lot}`),
      roles: everyone(200),
      ok: (res) => expect(res.body.type).to.equal("EPCISQueryDocument"),
    },
    {
      op: "GET /api/v1/batches/{batchId}/epcis",
      send: () => get(`/api/v1/batches/${batchId("main")}/epcis`),
      roles: everyone(200),
      ok: (res) => expect(res.body.type).to.equal("EPCISDocument"),
    },
    // ---------------------------------------------------------- the regulator dashboard
    {
      op: "GET /api/v1/regulator/search",
      send: () => get(`/api/v1/regulator/search?q=${encodeURIComponent("巴南")}`),
      roles: adminOrRegulator(200),
      ok: (res) => {
        expect(res.body.organisations.map((o: { orgId: string }) => o.orgId)).to.include(orgs.producer.orgId);
        for (const org of res.body.organisations) {
          expect(Object.keys(org).sort()).to.deep.equal([...PUBLIC_ORG_FIELDS, "matched"].sort());
        }
      },
    },
    {
      op: "GET /api/v1/regulator/stats",
      send: () => get("/api/v1/regulator/stats"),
      roles: adminOrRegulator(200),
      ok: (res) => expect(res.body).to.have.property("inspectionPassRate"),
    },
    ...(["events-per-day", "inspection-pass-rate", "recalls-by-district", "anchoring-lag"] as const).map(
      (name): Row => ({
        op: `GET /api/v1/regulator/charts/${name}.svg`,
        send: () => get(`/api/v1/regulator/charts/${name}.svg`),
        roles: adminOrRegulator(200),
        ok: (res) => expect(textOf(res)).to.contain("<svg"),
      }),
    ),
    // ---------------------------------------------------------- inspections
    {
      op: "POST /api/v1/certificates",
      send: (who) =>
        post("/api/v1/certificates")
          .set("Content-Type", "application/pdf")
          .send(pdfBytes(`authz matrix certificate uploaded as ${who}`)),
      roles: roles(ROLE_NOT_ALLOWED, {
        admin: ORGANISATION_REQUIRED,
        regulator: 201,
        producer: 201,
        rival: 201,
        inspector: 201,
      }),
      ok: (res) => expect(res.body.certificate.sha256).to.match(/^[0-9a-f]{64}$/),
    },
    {
      op: "GET /certificates/{sha256}",
      public: true,
      send: () =>
        get(`/certificates/${setup.certificate}`)
          .buffer(true)
          .parse(binary as never),
      ok: (res) => expect((res.body as Buffer).subarray(0, 5).toString("latin1")).to.equal("%PDF-"),
    },
    {
      op: "GET /api/v1/holds",
      send: () => get("/api/v1/holds"),
      roles: adminOrRegulator(200),
      ok: (res) => expect(res.body.holds).to.be.an("array"),
    },
    // ---------------------------------------------------------- operating the gateway
    {
      op: "GET /api/v1/admin/backup",
      send: (who) => {
        const req = get("/api/v1/admin/backup");
        return who === "admin" ? req.buffer(true).parse(binary as never) : req;
      },
      roles: roles(ADMIN_REQUIRED, { admin: 200 }),
      // The whole store, as stored: API-key hashes and sealed custodial keys by design (admin only).
      storeDump: true,
      ok: (res) => {
        expect(res.headers["cache-control"]).to.equal("no-store");
        expect((res.body as Buffer).toString("latin1", 0, 64)).to.match(/^\{"format":"yutrace-backup",/);
      },
    },
    {
      op: "POST /api/v1/batches/{batchId}/release",
      send: () => post(`/api/v1/batches/${batchId("held")}/release`).send({ reason: "复检合格，解除暂扣" }),
      roles: roles(ROLE_NOT_ALLOWED, { admin: ORGANISATION_REQUIRED, regulator: 200 }),
      ok: (res) => expect(res.body.batch).to.deep.include({ batchId: batchId("held"), status: "active" }),
    },
  ];

  before(async function () {
    t = await startTestGateway();
    gateway = t.gateway;
    apiKeys.add(t.adminKey);
    const created = async (input: OrganisationInput) => {
      const org = await createOrganisation(t, input);
      apiKeys.add(org.apiKey);
      return org;
    };
    orgs.regulator = await created(ORGANISATIONS.regulator);
    orgs.producer = await created(ORGANISATIONS.producer);
    orgs.rival = await created(ORGANISATIONS.otherProducer);
    orgs.inspector = await created(ORGANISATIONS.inspector);
    orgs.logistics = await created(ORGANISATIONS.logistics);
    orgs.retailer = await created(ORGANISATIONS.retailer);
    for (const key of Object.keys(EXTRA_ORGANISATIONS) as (keyof typeof EXTRA_ORGANISATIONS)[]) {
      orgs[key] = await created(EXTRA_ORGANISATIONS[key]);
    }

    await registerProduct(t, orgs.producer, PRODUCTS.hotpotBase);
    await registerProduct(t, orgs.rival, PRODUCTS.chili);
    await registerProduct(t, orgs.suspended, PRODUCTS.tallow);
    await registerProduct(t, orgs.rotated, PRODUCTS.giftBox);
    for (const key of ["main", "shelf", "recall1", "recall2", "held"] as const) {
      await registerBatch(t, orgs.producer, batchInput(key));
    }
    await registerBatch(t, orgs.rival, batchInput("chili"));
    await registerBatch(t, orgs.suspended, batchInput("suspended"));
    await registerBatch(t, orgs.rotated, batchInput("rotated"));

    // The producer makes main and shelf and ships them: main to the carrier, shelf to the retailer.
    const submit = async (org: TestOrg, events: object[]) => {
      const res = await send("anonymous", post("/api/v1/events").set(bearer(org.apiKey)).send({ events }), "setup");
      expect(res.status, res.text).to.equal(202);
      return res.body as { submission: { id: string }; events: { eventId: string }[] };
    };
    const made = await submit(orgs.producer, [
      objectEvent("commissioning", at(-10, 17), [q("main", 5000)], { disposition: "active" }),
      objectEvent("commissioning", at(-10, 17), [q("shelf", 5000)], { disposition: "active" }),
      objectEvent("shipping", at(-9, 8), [q("main", 1200)], {
        disposition: "in_transit",
        destinationList: destination(orgs.logistics),
      }),
      objectEvent("shipping", at(-9, 8), [q("shelf", 600)], {
        disposition: "in_transit",
        destinationList: destination(orgs.retailer),
      }),
    ]);
    await submit(orgs.logistics, [objectEvent("receiving", at(-9, 12), [q("main", 1200)])]);
    await submit(orgs.retailer, [objectEvent("receiving", at(-9, 12), [q("shelf", 600)])]);
    // A failed inspection holds `held` (on-chain too, once the hold service has sent it).
    await submit(orgs.inspector, [
      objectEvent("inspecting", at(-8, 10), [q("held", 6)], { disposition: "non_conformant" }),
    ]);
    await gateway.holds.settled();

    // Item serials of main, and a certificate on file.
    const issued = await send(
      "anonymous",
      post(`/api/v1/batches/${batchId("main")}/serials`)
        .set(bearer(orgs.producer.apiKey))
        .send({ count: 3 }),
      "setup",
    );
    expect(issued.status, issued.text).to.equal(201);
    const serials = issued.text
      .trim()
      .split("\r\n")
      .slice(1)
      .map((row) => row.split(",")[0]!);
    const certificate = await send(
      "anonymous",
      post("/api/v1/certificates")
        .set(bearer(orgs.inspector.apiKey))
        .set("Content-Type", "application/pdf")
        .send(pdfBytes("authz matrix: the public certificate")),
      "setup",
    );
    expect(certificate.status, certificate.text).to.equal(201);
    setup = {
      eventId: made.events[0]!.eventId,
      submissionId: made.submission.id,
      serials,
      certificate: certificate.body.certificate.sha256,
    };

    // The regulator suspends one producer; the admin rotates another's API key.
    const suspension = await send(
      "regulator",
      post(`/api/v1/organisations/${orgs.suspended.orgId}/suspension`).send({ reason: "生产许可证被吊销" }),
      "setup",
    );
    expect(suspension.status, suspension.text).to.equal(200);
    expect(suspension.body.organisation).to.deep.include({ orgId: orgs.suspended.orgId, suspended: true });
    const rotation = await send(
      "admin",
      post(`/api/v1/organisations/${orgs.rotated.orgId}/api-key`),
      "setup: rotating a key",
      true,
    );
    expect(rotation.status, rotation.text).to.equal(201);
    rotatedAwayKey = orgs.rotated.apiKey;
    orgs.rotated.apiKey = rotation.body.apiKey;
    await rememberSealedKeys();
    await quiesce(gateway);
  });

  after(async function () {
    await t?.stop();
  });

  async function rememberSealedKeys(): Promise<void> {
    const records = (await gateway.store.keys.values({ gte: "signer:", lt: "signer;" }).all()) as SigningKeyRecord[];
    for (const record of records) sealedKeys.set(record.sealed, record);
  }

  // ------------------------------------------------------------ the table against the document

  describe("the operations", function () {
    it("covers exactly the operations of the OpenAPI document the app serves, each row public exactly when the document says so", async function () {
      const res = await send("anonymous", get("/api/openapi.json"), "GET /api/openapi.json");
      expect(res.status).to.equal(200);
      const paths = res.body.paths as Record<string, Record<string, { security?: unknown[] }>>;
      const documented = new Map<string, boolean>();
      for (const [path, item] of Object.entries(paths)) {
        for (const [method, op] of Object.entries(item)) {
          if (!["get", "put", "post", "delete", "patch", "head", "options", "trace"].includes(method)) continue;
          const security = op.security ?? res.body.security;
          documented.set(`${method.toUpperCase()} ${path}`, Array.isArray(security) && security.length === 0);
        }
      }
      const table = MATRIX.map((row) => row.op);
      expect(new Set(table).size, "a row is in the table twice").to.equal(table.length);
      expect(
        [...table].sort(),
        "operations of the document without a matrix row, or rows of no operation",
      ).to.deep.equal([...documented.keys()].sort());
      for (const row of MATRIX) {
        expect(Boolean(row.public), `${row.op}: public in the table`).to.equal(documented.get(row.op));
        expect(Boolean(row.roles), `${row.op}: a protected row says what each role gets`).to.equal(!row.public);
      }
    });
  });

  // ------------------------------------------------------------ every row, every caller

  describe("every operation, every caller", function () {
    for (const row of MATRIX) {
      describe(row.op, function () {
        if (row.public) {
          it("answers 200 to every caller: no key, any bad key, any role", async function () {
            await quiesce(gateway);
            const problems: string[] = [];
            for (const who of [...INTRUDERS, ...ROLES]) {
              const res = await send(who, row.send(who), row.op);
              const wrong = mismatch(res, 200, `${row.op} as ${who}`);
              if (wrong) problems.push(wrong);
              else await row.ok?.(res, who);
            }
            expect(problems).to.deep.equal([]);
          });
          return;
        }

        it("answers 401 without a key, with a malformed, an unknown or a rotated-away key, and 403 organisation_suspended to a suspended organisation, changing nothing", async function () {
          const problems = await changesNothing(`${row.op} by intruders`, async () => {
            const found: string[] = [];
            for (const who of INTRUDERS) {
              const res = await send(who, row.send(who), row.op);
              const wrong = mismatch(res, INTRUDER_OUTCOME[who], `${row.op} as ${who}`);
              if (wrong) found.push(wrong);
            }
            return found;
          });
          expect(problems).to.deep.equal([]);
        });

        const summary = ROLES.map((who) => {
          const outcome = row.roles![who];
          return `${who} ${typeof outcome === "number" ? outcome : outcome.join(" ")}`;
        }).join(", ");
        it(`answers ${summary}; the refusals change nothing`, async function () {
          const refused = ROLES.filter((who) => typeof row.roles![who] !== "number");
          const allowed = ROLES.filter((who) => typeof row.roles![who] === "number");
          const problems = await changesNothing(`${row.op} refused to ${refused.join(", ")}`, async () => {
            const found: string[] = [];
            for (const who of refused) {
              const res = await send(who, row.send(who), row.op);
              const wrong = mismatch(res, row.roles![who], `${row.op} as ${who}`);
              if (wrong) found.push(wrong);
            }
            return found;
          });
          for (const who of allowed) {
            const res = await send(who, row.send(who), row.op, row.issuesKeys, row.storeDump);
            const wrong = mismatch(res, row.roles![who], `${row.op} as ${who}`);
            if (wrong) problems.push(wrong);
            else {
              try {
                await row.ok?.(res, who);
              } catch (error) {
                problems.push(`${row.op} as ${who}: ${(error as Error).message}`);
              }
            }
          }
          expect(problems).to.deep.equal([]);
        });
      });
    }
  });

  // ------------------------------------------------------------ the key before the body

  describe("the key is checked before the body is read", function () {
    /** The protected writes, each as the path `who` would send it to. */
    const writes = () => MATRIX.filter((row) => !row.public && !row.op.startsWith("GET "));
    const pathOf = (row: Row, who: Caller) => {
      const url = new URL(row.send(who).url);
      return url.pathname + url.search;
    };
    /** A request of `row`'s method to `path`. */
    const requestOf = (row: Row, path: string) =>
      row.op.startsWith("DELETE ") ? api().delete(path) : api().post(path);

    it("answers every protected write 401 without a working key and 403 to a suspended organisation, even with a body that is not JSON", async function () {
      const problems = await changesNothing("malformed bodies from intruders", async () => {
        const found: string[] = [];
        for (const row of writes()) {
          for (const who of INTRUDERS) {
            const test = requestOf(row, pathOf(row, who))
              .set("Content-Type", "application/json")
              .send('{"reason": "未按规定", ');
            const wrong = mismatch(
              await send(who, test, `${row.op} (malformed JSON)`),
              INTRUDER_OUTCOME[who],
              `${row.op} with malformed JSON as ${who}`,
            );
            if (wrong) found.push(wrong);
          }
        }
        return found;
      });
      expect(problems).to.deep.equal([]);
    });

    it("answers every protected write 401 without a key before it takes in a body over the size limit", async function () {
      const huge = JSON.stringify({ reason: "x".repeat(4.5 * 1024 * 1024) });
      const problems = await changesNothing("oversized bodies from nobody", async () => {
        const found: string[] = [];
        for (const row of writes()) {
          const test = requestOf(row, pathOf(row, "anonymous")).set("Content-Type", "application/json").send(huge);
          const wrong = mismatch(
            await send("anonymous", test, `${row.op} (oversized)`),
            INTRUDER_OUTCOME.anonymous,
            `${row.op} with a 4.5 MB body as anonymous`,
          );
          if (wrong) found.push(wrong);
        }
        return found;
      });
      expect(problems).to.deep.equal([]);
    });
  });

  // ------------------------------------------------------------ the consumer side

  describe("consumer pages, QR codes and documents: public, outside the API", function () {
    it("answers every consumer URL to nobody and to a bad key alike, with the page, never a 401", async function () {
      const serial = setup.serials[0]!;
      const pages: [string, Record<string, string>, RegExp][] = [
        [mainLink(), { Accept: "text/html" }, /^text\/html/],
        [mainLink(), { Accept: "application/json" }, /^application\/json/],
        [`${mainLink()}?linkType=gs1:epcis`, {}, /^application\/ld\+json/],
        [`${mainLink()}?linkType=gs1:certificationInfo`, {}, /^application\/json/],
        [`${mainLink()}?linkType=all`, {}, /^application\/linkset\+json/],
        [`${mainLink()}/21/${serial}`, { Accept: "application/json" }, /^application\/json/],
        [`${mainLink()}/21/${serial}`, { Accept: "text/html" }, /^text\/html/],
        [`/qr${mainLink()}?format=svg`, {}, /^image\/svg\+xml/],
        [`/qr${mainLink()}?format=png`, {}, /^image\/png/],
        [`/qr${mainLink()}/21/${serial}`, {}, /^image\/svg\+xml/],
        ["/regulator", {}, /^text\/html/],
        ["/api/docs", {}, /^text\/html/],
      ];
      for (const [url, headers, type] of pages) {
        for (const who of ["anonymous", "unknown key", "suspended organisation"] as const) {
          const res = await send(who, get(url).set(headers), `GET ${url}`);
          expect(res.status, `GET ${url} as ${who}: ${textOf(res).slice(0, 200)}`).to.equal(200);
          expect(res.headers["content-type"], `GET ${url}`).to.match(type);
        }
      }
    });
  });

  // ------------------------------------------------------------ object level

  describe("object level: no organisation acts on another's batch or keys", function () {
    const rejectedCodes = (res: Response) =>
      (expectError(res, 422, "events_rejected").details as { problems: { code: string }[] }).problems.map(
        (p) => p.code,
      );

    it("refuses the rival producer every event on the producer's batch (422 events_rejected naming why), storing nothing", async function () {
      const attempts: [string, Record<string, unknown>, string][] = [
        [
          "commissioning",
          objectEvent("commissioning", at(-3, 8), [q("main", 10)], { disposition: "active" }),
          "not_producer",
        ],
        [
          "inspecting",
          objectEvent("inspecting", at(-3, 9), [q("main", 6)], { disposition: "conformant" }),
          "not_producer",
        ],
        [
          "holding",
          objectEvent("holding", at(-3, 10), [q("main", 6)], { disposition: "non_conformant" }),
          "not_producer",
        ],
        [
          "shipping",
          objectEvent("shipping", at(-3, 11), [q("main", 10)], {
            disposition: "in_transit",
            destinationList: destination(orgs.rival),
          }),
          "not_custodian",
        ],
        ["storing", objectEvent("storing", at(-3, 12), [q("main", 10)]), "not_custodian"],
        [
          "destroying",
          objectEvent("destroying", at(-3, 13), [q("main", 10)], { disposition: "destroyed" }),
          "not_custodian",
        ],
      ];
      await changesNothing("the rival's events on the producer's batch", async () => {
        for (const [step, event, code] of attempts) {
          const res = await send("rival", post("/api/v1/events").send({ events: [event] }), `rival ${step}`);
          expect(rejectedCodes(res), `rival ${step} on the producer's batch`).to.include(code);
          const captured = await send(
            "rival",
            post("/api/v1/epcis/capture")
              .set("Content-Type", "application/ld+json")
              .send(JSON.stringify(epcisDocument([event]))),
            `rival captures ${step}`,
          );
          expect(rejectedCodes(captured), `rival captures ${step} on the producer's batch`).to.include(code);
        }
      });
    });

    it("refuses holders' steps to those who do not hold the batch: the retailer on the carrier's, the carrier on the retailer's", async function () {
      await changesNothing("steps on batches others hold", async () => {
        const retailer = await send(
          "retailer",
          post("/api/v1/events").send({ events: [objectEvent("storing", at(-3, 14), [q("main", 10)])] }),
          "retailer stores main",
        );
        expect(rejectedCodes(retailer)).to.include("not_custodian");
        const carrier = await send(
          "logistics",
          post("/api/v1/events").send({ events: [objectEvent("storing", at(-3, 15), [q("shelf", 10)])] }),
          "carrier stores shelf",
        );
        expect(rejectedCodes(carrier)).to.include("not_custodian");
        const sale = await send(
          "retailer",
          post("/api/v1/events").send({
            events: [objectEvent("retail_selling", at(-3, 16), [q("chili", 1)], { disposition: "retail_sold" })],
          }),
          "retailer sells chili",
        );
        expect(rejectedCodes(sale)).to.include("not_custodian");
      });
    });

    it("never answers one organisation's Idempotency-Key with another's submission", async function () {
      const key = "erp-authz-0001";
      const mine = objectEvent("inspecting", at(-2, 9), [q("main", 6)], { disposition: "conformant" });
      const first = await send(
        "producer",
        post("/api/v1/events")
          .set("Idempotency-Key", key)
          .send({ events: [mine] }),
        "producer with a key",
      );
      expect(first.status, first.text).to.equal(202);
      // The same body and key from the rival: refused (the event is recorded already), not answered with
      // the producer's 202 from the producer's idempotency record.
      await changesNothing("the rival replaying the producer's idempotency key", async () => {
        const replay = await send(
          "rival",
          post("/api/v1/events")
            .set("Idempotency-Key", key)
            .send({ events: [mine] }),
          "rival replays",
        );
        expect(replay.headers["idempotent-replayed"]).to.equal(undefined);
        expectError(replay, 409, "duplicate_event");
      });
      const own = await send(
        "rival",
        post("/api/v1/events")
          .set("Idempotency-Key", key)
          .send({ events: [objectEvent("inspecting", at(-2, 10), [q("chili", 6)], { disposition: "conformant" })] }),
        "rival with the same key",
      );
      expect(own.status, own.text).to.equal(202);
      expect(own.headers["idempotent-replayed"]).to.equal(undefined);
      expect(own.body.submission.id).to.not.equal(first.body.submission.id);
    });

    it("refuses the producer the rival's batch as the rival the producer's: recall, serials, drill, labels (403 not_batch_producer)", async function () {
      const chili = batchId("chili");
      await changesNothing("the producer on the rival's batch", async () => {
        const attempts: [string, Test][] = [
          ["recall", post(`/api/v1/batches/${chili}/recall`).send({ reason: "恶意召回" })],
          ["issue serials", post(`/api/v1/batches/${chili}/serials`).send({ count: 1 })],
          ["list serials", get(`/api/v1/batches/${chili}/serials`)],
          ["labels", get(`/api/v1/batches/${chili}/labels.pdf`)],
          ["recall drill", post(`/api/v1/batches/${chili}/recall-drill`)],
        ];
        for (const [what, test] of attempts) {
          expectError(await send("producer", test, `producer ${what} on chili`), 403, "not_batch_producer");
        }
        expectError(
          await send(
            "producer",
            post("/api/v1/batches").send({ ...batchInput("chili"), lot: "JJ-FORGED-1" }),
            "producer registers a chili lot",
          ),
          403,
          "not_product_owner",
        );
      });
      const status = await send("rival", get(`/api/v1/batches/${chili}`), "chili");
      expect(status.body.batch.status).to.equal("active");
    });

    it("refuses every organisation the rotation of another's API key or signing key, and of its own (403 admin_required); the keys keep working", async function () {
      const actors = ["regulator", "producer", "rival", "inspector", "logistics", "retailer"] as const;
      const accounts = new Map<string, string>();
      for (const who of actors) accounts.set(orgs[who].orgId, orgs[who].account);
      await changesNothing("organisations rotating keys", async () => {
        for (const who of actors) {
          for (const target of [orgs.producer, orgs.rival, orgs.regulator, orgs[who]]) {
            for (const kind of ["api-key", "signing-key"]) {
              const res = await send(
                who,
                post(`/api/v1/organisations/${target.orgId}/${kind}`),
                `${who} rotates ${target.name}'s ${kind}`,
              );
              expectError(res, 403, "admin_required");
              expect(res.body).to.not.have.property("apiKey");
            }
          }
        }
      });
      for (const who of actors) {
        const res = await send(who, get(`/api/v1/organisations/${orgs[who].orgId}`), "own profile");
        expect(res.status, `${who}'s key after the attempts`).to.equal(200);
        expect(res.body.organisation.account).to.equal(accounts.get(orgs[who].orgId));
      }
    });

    it("refuses a regulator the suspension of its own organisation (409 cannot_suspend_self), and every organisation but a regulator any suspension (403)", async function () {
      await changesNothing("suspensions refused", async () => {
        expectError(
          await send(
            "regulator",
            post(`/api/v1/organisations/${orgs.regulator.orgId}/suspension`).send({ reason: "自我暂停" }),
            "regulator suspends itself",
          ),
          409,
          "cannot_suspend_self",
        );
        for (const who of ["producer", "rival", "inspector", "logistics", "retailer"] as const) {
          for (const target of [orgs.regulator, orgs.rival, orgs.suspended]) {
            const suspend = post(`/api/v1/organisations/${target.orgId}/suspension`).send({ reason: "恶意举报" });
            expectError(await send(who, suspend, `${who} suspends`), 403, "role_not_allowed");
            const reinstate = api().delete(`/api/v1/organisations/${target.orgId}/suspension`);
            expectError(await send(who, reinstate, `${who} reinstates`), 403, "role_not_allowed");
          }
        }
      });
    });
  });

  // ------------------------------------------------------------ suspension and rotation

  describe("a suspended organisation and a rotated-away key", function () {
    it("shows the suspension on the profile, and refuses the suspended producer's writes on its own product and batch with 403 organisation_suspended", async function () {
      const profile = await send("regulator", get(`/api/v1/organisations/${orgs.suspended.orgId}`), "profile");
      expect(profile.body.organisation.suspended).to.equal(true);
      await changesNothing("the suspended producer's writes", async () => {
        const own = batchId("suspended");
        const writes: [string, Test][] = [
          [
            "register a product",
            post("/api/v1/products").send({ ...NEW_PRODUCTS.rival, gtin: gtin14("0693885090009") }),
          ],
          ["register a batch", post("/api/v1/batches").send({ ...batchInput("suspended"), lot: "RC-AFTER-1" })],
          ["recall its batch", post(`/api/v1/batches/${own}/recall`).send({ reason: "自行召回" })],
          ["issue serials", post(`/api/v1/batches/${own}/serials`).send({ count: 1 })],
          ["record an event", post("/api/v1/events").send({ events: [eventFor("suspended organisation", -1)] })],
          [
            "upload a certificate",
            post("/api/v1/certificates").set("Content-Type", "application/pdf").send(pdfBytes("x")),
          ],
        ];
        for (const [what, test] of writes) {
          expectError(await send("suspended organisation", test, what), 403, "organisation_suspended");
        }
      });
    });

    it("refuses the key rotated away (401 invalid_api_key) and takes its successor", async function () {
      const profile = `/api/v1/organisations/${orgs.rotated.orgId}`;
      expectError(await send("rotated-away key", get(profile), "old key"), 401, "invalid_api_key");
      const now = await send("anonymous", get(profile).set(bearer(orgs.rotated.apiKey)), "new key");
      expect(now.status).to.equal(200);
      const write = await send(
        "anonymous",
        post("/api/v1/events")
          .set(bearer(orgs.rotated.apiKey))
          .send({ events: [eventFor("rotated-away key", -1)] }),
        "new key writes",
      );
      expect(write.status, write.text).to.equal(202);
    });

    it("takes a key in X-API-Key as in Authorization, and refuses a wrong one there or another scheme (401)", async function () {
      const path = `/api/v1/batches/${batchId("main")}`;
      expect((await send("anonymous", get(path).set("X-API-Key", orgs.retailer.apiKey), "X-API-Key")).status).to.equal(
        200,
      );
      expectError(
        await send("anonymous", get(path).set("X-API-Key", UNKNOWN_KEY), "X-API-Key"),
        401,
        "invalid_api_key",
      );
      expectError(
        await send("anonymous", get(path).set("Authorization", `Basic ${orgs.retailer.apiKey}`), "Basic"),
        401,
        "invalid_api_key",
      );
      expectError(await send("anonymous", get(path).set("Authorization", "Bearer "), "empty"), 401, "invalid_api_key");
    });
  });

  // ------------------------------------------------------------ property level

  describe("property level: private fields", function () {
    it("answers an organisation's profile identically to itself, to other organisations, to the regulator and to the admin: public fields only", async function () {
      for (const target of [orgs.producer, orgs.rival, orgs.regulator, orgs.suspended, orgs.target0]) {
        const bodies: { organisation: Record<string, unknown> }[] = [];
        for (const who of ROLES) {
          const res = await send(who, get(`/api/v1/organisations/${target.orgId}`), "profile");
          expect(res.status).to.equal(200);
          expect(Object.keys(res.body.organisation).sort()).to.deep.equal(PUBLIC_ORG_FIELDS);
          bodies.push(res.body);
        }
        for (const body of bodies) expect(body).to.deep.equal(bodies[0]);
        expect(bodies[0]!.organisation).to.deep.include({ orgId: target.orgId, uscc: target.uscc, name: target.name });
      }
    });

    it("answers batches, events, submissions and products to the owner and to a rival alike (no owner-only fields)", async function () {
      await quiesce(gateway);
      for (const path of [
        `/api/v1/batches/${batchId("main")}`,
        `/api/v1/batches/${batchId("main")}/events`,
        `/api/v1/events/${setup.eventId}`,
        `/api/v1/submissions/${setup.submissionId}`,
        `/api/v1/products/${PRODUCTS.hotpotBase.gtin}`,
      ]) {
        const owner = await send("producer", get(path), path);
        const rival = await send("rival", get(path), path);
        const regulator = await send("regulator", get(path), path);
        expect(owner.status).to.equal(200);
        expect(rival.body, path).to.deep.equal(owner.body);
        expect(regulator.body, path).to.deep.equal(owner.body);
      }
    });

    it("never answered anyone an API-key hash, a sealed custodial key or a private key, nor an API key except the admin's onboarding and rotation answers", async function () {
      await rememberSealedKeys();
      const kek = gateway.config.keyEncryptionKey ?? DEMO_KEY_ENCRYPTION_KEY;
      const privateKeys = [...sealedKeys.values()].map((record) =>
        openKey(record.sealed, kek, record.orgId).privateKey.slice(2).toLowerCase(),
      );
      const mnemonic = "test test test test test test test test test test test junk";
      for (const i of [0, 1]) {
        privateKeys.push(HDNodeWallet.fromPhrase(mnemonic, undefined, `m/44'/60'/0'/0/${i}`).privateKey.slice(2));
      }
      const storedHashes = (await gateway.store.keys.keys({ gte: "api:", lt: "api;" }).all()).map((key) =>
        key.slice("api:".length),
      );
      const hashes = [...new Set([...[...apiKeys].map(hashApiKey), ...storedHashes])];
      expect(apiKeys.size, "keys seen").to.be.at.least(12);
      expect(sealedKeys.size, "sealed keys seen").to.be.at.least(11);
      expect(answers.length, "answers seen").to.be.at.least(500);

      const leaks: string[] = [];
      for (const answer of answers) {
        const lower = answer.text.toLowerCase();
        // The admin's backup holds the store as stored; the secrets themselves must still not be in it.
        if (!answer.storeDump) {
          for (const hash of hashes) if (lower.includes(hash)) leaks.push(`${answer.label}: an API-key hash`);
          for (const sealed of sealedKeys.keys()) {
            if (answer.text.includes(sealed)) leaks.push(`${answer.label}: a sealed signing key`);
          }
        }
        for (const key of privateKeys) if (lower.includes(key)) leaks.push(`${answer.label}: a private key`);
        for (const key of apiKeys) {
          const shown = answer.text.includes(key);
          if (shown && !(answer.issuesKeys && answer.apiKey === key)) leaks.push(`${answer.label}: an API key`);
        }
        if (answer.json !== null && !answer.label.startsWith("GET /api/openapi.json")) {
          const names = propertyNames(answer.json);
          for (const name of SECRET_PROPERTIES) if (names.has(name)) leaks.push(`${answer.label}: property ${name}`);
          if (names.has("apiKey") && !answer.issuesKeys) leaks.push(`${answer.label}: property apiKey`);
        }
      }
      expect(leaks).to.deep.equal([]);
    });
  });
});
