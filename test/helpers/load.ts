/**
 * A producer with a product and a batch, made through the API of a running YuTrace, and
 * submissions of cold-room sensor readings for it: the load of the fault tests.
 */
import { expect } from "chai";

import { batchUri } from "../../server/domain/digital-link";
import { gtin14, uscc } from "../../server/domain/identifiers";
import { sensorReading } from "../../bench/lib/events";
import { api, type YuTraceProcess } from "./e2e";

export const LOAD_GTIN = gtin14("0693885010997");

export interface LoadSetup {
  apiKey: string;
  orgId: string;
  batchId: string;
  lot: string;
  epcClass: string;
}

/** Creates a producer (with the admin key), its product and batch `lot`. */
export async function setUpProducer(
  yt: Pick<YuTraceProcess, "url">,
  adminKey: string,
  lot: string,
): Promise<LoadSetup> {
  const org = await api<{ organisation: { orgId: string }; apiKey: string }>(yt, "POST", "/api/v1/organisations", {
    key: adminKey,
    body: {
      name: "重庆巴南渝味火锅食品有限公司",
      uscc: uscc("91500113MA5YN8HT6"),
      district: "巴南区",
      roles: ["producer"],
    },
  });
  expect(org.status, JSON.stringify(org.body)).to.equal(201);
  const apiKey = org.body.apiKey;
  const product = await api(yt, "POST", "/api/v1/products", {
    key: apiKey,
    body: { gtin: LOAD_GTIN, name: { zh: "重庆老火锅底料 500g" }, category: "seasoning", standard: "Q/YWHG 0001S" },
  });
  expect(product.status, JSON.stringify(product.body)).to.equal(201);
  const batchId = await registerLot(yt, apiKey, lot);
  return {
    apiKey,
    orgId: org.body.organisation.orgId,
    batchId,
    lot,
    epcClass: batchUri("https://id.example", { gtin: LOAD_GTIN, lot }),
  };
}

/** `POST /api/v1/batches` for `lot` of the load product; expects 201. */
export async function registerLot(yt: Pick<YuTraceProcess, "url">, apiKey: string, lot: string): Promise<string> {
  const today = new Date().toISOString().slice(0, 10);
  const batch = await api<{ batch: { batchId: string } }>(yt, "POST", "/api/v1/batches", {
    key: apiKey,
    body: { gtin: LOAD_GTIN, lot, quantity: { value: 1000, unit: "XBX" }, productionDate: today },
  });
  expect(batch.status, JSON.stringify(batch.body)).to.equal(201);
  return batch.body.batch.batchId;
}

/** Time base of the readings: an hour ago, so that no reading is in the future. */
const TIME_BASE = Date.now() - 3600_000;

/** The `count` sensor readings numbered from `first` (each one different from every other). */
export function readings(setup: LoadSetup, first: number, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => sensorReading(first + i, setup.epcClass, TIME_BASE));
}

export interface Accepted {
  submission: { id: string; seq: number; count: number; root: string };
  events: { index: number; eventId: string }[];
}
