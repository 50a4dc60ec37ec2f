/**
 * A whole YuTrace gateway for HTTP tests: a fresh data folder, its own `hardhat node` child on a
 * free port, a deployed TraceLedger, the indexer, the anchorer and the HTTP server — the real parts,
 * as `npm start` runs them, minus the demo dataset. Plus typed fixtures (Chongqing organisations,
 * products, batches and EPCIS events) and the checks the HTTP tests share.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import pino from "pino";
import request, { type Response } from "supertest";

import { freePort } from "../../server/chain/local-node";
import { loadConfig } from "../../server/config";
import { batchIdOf } from "../../server/domain/batch-id";
import { batchUri } from "../../server/domain/digital-link";
import { gtin14, uscc } from "../../server/domain/identifiers";
import { startGateway, type Gateway } from "../../server/gateway";
import { keys } from "../../server/store/keys";
import type { RoleName } from "../../server/store/records";

export interface TestGateway {
  gateway: Gateway;
  url: string;
  /** The platform admin's API key. */
  adminKey: string;
  /** Stops the gateway (and its hardhat node) and removes its data folder. */
  stop(): Promise<void>;
}

/** Starts a gateway on free ports over a new temporary data folder; anchors every 200 ms. `env`: more configuration. */
export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "yutrace-http-"));
  try {
    const port = await freePort();
    let chainPort = await freePort();
    while (chainPort === port) chainPort = await freePort();
    const config = loadConfig(
      {
        YUTRACE_DATA_DIR: dataDir,
        YUTRACE_PORT: String(port),
        YUTRACE_CHAIN_PORT: String(chainPort),
        YUTRACE_ANCHOR_INTERVAL_MS: "200",
        YUTRACE_LOG_LEVEL: "silent",
        ...env,
      },
      dataDir,
    );
    const gateway = await startGateway(config, { logger: pino({ level: "silent" }) });
    if (!gateway.demoAdminApiKey) {
      await gateway.stop();
      throw new Error("the gateway made no demo admin API key");
    }
    return {
      gateway,
      url: gateway.url,
      adminKey: gateway.demoAdminApiKey,
      stop: async () => {
        await gateway.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** The `Authorization` header for `apiKey`. */
export const bearer = (apiKey: string) => ({ Authorization: `Bearer ${apiKey}` });

// ---------------------------------------------------------------- organisations

export interface OrganisationInput {
  name: string;
  uscc: string;
  district: string;
  roles: RoleName[];
}

/** Fictional Chongqing organisations with valid 统一社会信用代码, one per role plus a second producer. */
export const ORGANISATIONS = {
  producer: {
    name: "重庆巴南渝味火锅食品有限公司",
    uscc: uscc("91500113MA5YN8HT6"),
    district: "巴南区",
    roles: ["producer"],
  },
  otherProducer: {
    name: "重庆市江津区椒香辣椒专业合作社",
    uscc: uscc("93500116MA5UJX3K2"),
    district: "江津区",
    roles: ["producer"],
  },
  inspector: {
    name: "重庆市食品质量检验检测中心",
    uscc: uscc("12500000MB0P2715X"),
    district: "渝北区",
    roles: ["inspector"],
  },
  logistics: {
    name: "重庆渝冷冷链物流有限公司",
    uscc: uscc("91500106MA61C7RD3"),
    district: "沙坪坝区",
    roles: ["logistics"],
  },
  retailer: {
    name: "重庆山城优选超市有限公司",
    uscc: uscc("91500103MA5U8BK41"),
    district: "渝中区",
    roles: ["retailer"],
  },
  regulator: {
    name: "重庆市市场监督管理局",
    uscc: uscc("11500000MB1653215"),
    district: "渝中区",
    roles: ["regulator"],
  },
} as const satisfies Record<string, OrganisationInput>;

export type OrgKey = keyof typeof ORGANISATIONS;

/** An organisation as created through the API, with the API key it was given. */
export interface TestOrg {
  orgId: string;
  uscc: string;
  name: string;
  account: string;
  roles: RoleName[];
  apiKey: string;
}

/** `POST /api/v1/organisations` with the admin key; expects 201. */
export async function createOrganisation(t: TestGateway, input: OrganisationInput): Promise<TestOrg> {
  const res = await request(t.url)
    .post("/api/v1/organisations")
    .set(bearer(t.adminKey))
    .send({ ...input, roles: [...input.roles] });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  const org = res.body.organisation;
  return {
    orgId: org.orgId,
    uscc: org.uscc,
    name: org.name,
    account: org.account,
    roles: org.roles,
    apiKey: res.body.apiKey,
  };
}

// ---------------------------------------------------------------- products and batches

export interface ProductInput {
  gtin: string;
  name: { zh: string; en?: string };
  category: string;
  standard: string;
  brand?: string;
}

/** Chongqing products with valid GTIN-14 check digits. */
export const PRODUCTS = {
  chili: {
    gtin: gtin14("0693885020002"),
    name: { zh: "江津鲜红朝天椒", en: "Jiangjin red chili" },
    category: "seasoning",
    standard: "NY/T 1062",
    brand: "椒香",
  },
  tallow: {
    gtin: gtin14("0693885030001"),
    name: { zh: "荣昌火锅牛油", en: "Rongchang hotpot beef tallow" },
    category: "seasoning",
    standard: "GB 10146",
    brand: "荣牛",
  },
  hotpotBase: {
    gtin: gtin14("0693885010003"),
    name: { zh: "重庆老火锅底料 500g", en: "Chongqing hotpot base 500 g" },
    category: "seasoning",
    standard: "Q/YWHG 0001S",
    brand: "渝味",
  },
  giftBox: {
    gtin: gtin14("0693885010010"),
    name: { zh: "重庆火锅底料礼盒", en: "Chongqing hotpot base gift box" },
    category: "seasoning",
    standard: "Q/YWHG 0001S",
    brand: "渝味",
  },
} as const satisfies Record<string, ProductInput>;

/** `POST /api/v1/products` as `org`; expects 201. */
export async function registerProduct(t: TestGateway, org: TestOrg, product: ProductInput): Promise<Response> {
  const res = await request(t.url)
    .post("/api/v1/products")
    .set(bearer(org.apiKey))
    .send({ ...product, name: { ...product.name } });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res;
}

export interface BatchKey {
  gtin: string;
  lot: string;
}

export interface BatchInput extends BatchKey {
  quantity: { value: number; unit: string };
  productionDate: string;
  expiryDate?: string;
  facility?: string;
  district?: string;
  inputs?: BatchKey[];
}

/** `POST /api/v1/batches` as `org`; expects 201 and returns the batch id. */
export async function registerBatch(t: TestGateway, org: TestOrg, batch: BatchInput): Promise<string> {
  const res = await request(t.url).post("/api/v1/batches").set(bearer(org.apiKey)).send(batch);
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  expect(res.body.batch.batchId).to.equal(batchIdOf(batch.gtin, batch.lot));
  return res.body.batch.batchId as string;
}

// ---------------------------------------------------------------- certificates

/** Bytes that pass as a PDF document (they start with %PDF-), carrying `text`. */
export const pdfBytes = (text: string): Buffer => Buffer.from(`%PDF-1.7\n% ${text}\n%%EOF\n`, "utf8");

/** `POST /api/v1/certificates` as `org`; expects 201 or 200 and returns the certificate (its `sha256`). */
export async function uploadCertificate(
  t: TestGateway,
  org: TestOrg,
  bytes: Buffer,
  contentType = "application/pdf",
): Promise<{ sha256: string; contentType: string; size: number; url: string }> {
  const res = await request(t.url)
    .post("/api/v1/certificates")
    .set(bearer(org.apiKey))
    .set("Content-Type", contentType)
    .send(bytes);
  expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 201]);
  return res.body.certificate;
}

// ---------------------------------------------------------------- dates and events

const DAY_MS = 86_400_000;

/** The UTC calendar date `offsetDays` from now, YYYY-MM-DD. */
export function dateIn(offsetDays: number, now = new Date()): string {
  return new Date(now.getTime() + offsetDays * DAY_MS).toISOString().slice(0, 10);
}

/**
 * An event time in China Standard Time on the day `dateIn(offsetDays)`, as a factory records it.
 * `dateIn` is a UTC date, eight hours behind China's: on day 0, an hour past the UTC hour + 8 lies
 * in the future, which the gateway refuses. Use earlier days, or hours that are past anyway.
 */
export function cstTime(offsetDays: number, hour: number, minute = 0, now = new Date()): string {
  const hh = String(hour).padStart(2, "0");
  const mm = String(minute).padStart(2, "0");
  return `${dateIn(offsetDays, now)}T${hh}:${mm}:00+08:00`;
}

export interface QuantityElement {
  epcClass: string;
  quantity: number;
  uom: string;
}

/** A `quantityList` element naming batch `key` by its Digital Link on `base`. */
export function quantity(base: string, key: BatchKey, amount: number, uom: string): QuantityElement {
  return { epcClass: batchUri(base, key), quantity: amount, uom };
}

/** An EPCIS ObjectEvent (CBV business step `bizStep`) in the shape `POST /api/v1/events` accepts. */
export function objectEvent(
  bizStep: string,
  eventTime: string,
  quantityList: QuantityElement[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    type: "ObjectEvent",
    action: bizStep === "commissioning" ? "ADD" : "OBSERVE",
    bizStep,
    eventTime,
    eventTimeZoneOffset: "+08:00",
    quantityList,
    ...extra,
  };
}

/** An EPCIS TransformationEvent: `inputs` made into `outputs`. */
export function transformationEvent(
  eventTime: string,
  inputs: QuantityElement[],
  outputs: QuantityElement[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    type: "TransformationEvent",
    bizStep: "transforming",
    eventTime,
    eventTimeZoneOffset: "+08:00",
    inputQuantityList: inputs,
    outputQuantityList: outputs,
    disposition: "active",
    ...extra,
  };
}

/** A `destinationList` sending goods to `org`. */
export const destination = (org: TestOrg, type = "possessing_party") => [{ type, destination: org.uscc }];

// ---------------------------------------------------------------- checks

/** Asserts `res` is the error `status` / `code` in the `{error:{code,message}}` shape; returns the error. */
export function expectError(
  res: Response,
  status: number,
  code: string,
): { code: string; message: string; details?: unknown } {
  expect(res.status, `${res.status} ${JSON.stringify(res.body)}`).to.equal(status);
  expect(res.headers["content-type"]).to.match(/^application\/json/);
  expect(res.body).to.have.property("error").that.is.an("object");
  expect(res.body.error.code).to.equal(code);
  expect(res.body.error.message).to.be.a("string").that.is.not.empty;
  return res.body.error;
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Waits until the gateway is at rest: no hold being put on-chain, every submission anchored, no
 * anchor in flight and the indexer at the chain head. Only then does the store stay unchanged while
 * nothing is sent.
 */
export async function quiesce(gateway: Gateway, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    "the gateway to settle",
    async () => {
      // A hold retried with backoff can take long: look again (and at the deadline) after a second.
      let timer: NodeJS.Timeout | undefined;
      const settled = await Promise.race([
        gateway.holds.settled().then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 1_000))),
      ]);
      clearTimeout(timer);
      if (!settled) return undefined;
      const pending = await gateway.anchorer.pendingCount();
      const inFlight = await gateway.store.journal.get(keys.anchorInFlight());
      const lag = await gateway.indexer.lag();
      return pending === 0 && inFlight === undefined && lag === 0 ? true : undefined;
    },
    timeoutMs,
  );
}

export interface StoreSnapshot {
  /** Every key of every sublevel with its raw value. */
  entries: [string, string][];
  /** How many transactions the txlog holds. */
  txCount: number;
}

/** Everything the store holds right now. */
export async function storeSnapshot(gateway: Gateway): Promise<StoreSnapshot> {
  const entries = (await gateway.store.db.iterator({ valueEncoding: "utf8" }).all()) as [string, string][];
  const txCount = (await gateway.store.txlog.keys().all()).length;
  return { entries, txCount };
}
