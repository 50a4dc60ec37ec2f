/**
 * Profiles ingest in one process: a gateway over its own hardhat node, then `count` submissions of
 * 500 sensor events straight into IngestService.submit. Run with `node --cpu-prof -r
 * ts-node/register/transpile-only bench/profile-ingest.ts` to see where the time goes.
 */
import pino from "pino";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { freePort } from "../server/chain/local-node";
import { loadConfig } from "../server/config";
import { batchUri } from "../server/domain/digital-link";
import { startGateway } from "../server/gateway";
import type { OrgRecord } from "../server/store/records";
import { keys } from "../server/store/keys";
import { BENCH_GTIN, BENCH_ORGS } from "./lib/stack";
import { sensorReading } from "./lib/events";

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 10);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "yutrace-prof-"));
  const config = loadConfig(
    {
      YUTRACE_DATA_DIR: dataDir,
      YUTRACE_PORT: String(await freePort()),
      YUTRACE_CHAIN_PORT: String(await freePort()),
      YUTRACE_LOG_LEVEL: "silent",
    },
    dataDir,
  );
  const gateway = await startGateway(config, { logger: pino({ level: "silent" }) });
  try {
    const { org } = await gateway.registry.createOrganisation({ ...BENCH_ORGS.producer, roles: ["producer"] });
    await gateway.registry.registerProduct(org, {
      gtin: BENCH_GTIN,
      name: { zh: "火锅底料" },
      category: "seasoning",
      standard: "Q/1",
    });
    const productionDate = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
    const lots = [];
    for (let i = 0; i < 20; i++) {
      const lot = `B${i}`;
      await gateway.registry.registerBatch(
        org,
        { gtin: BENCH_GTIN, lot, quantity: { value: 1, unit: "XBX" }, productionDate },
        [],
      );
      lots.push(batchUri(gateway.url, { gtin: BENCH_GTIN, lot }));
    }
    const fresh = (await gateway.store.orgs.get(keys.org(org.orgId))) as OrgRecord;
    let n = 0;
    const base = Date.now() - 2 * 86_400_000;
    const started = performance.now();
    for (let s = 0; s < count; s++) {
      const events = [];
      for (let i = 0; i < 500; i++, n++) {
        events.push(sensorReading(n, lots[n % lots.length]!, base));
      }
      const t0 = performance.now();
      await gateway.ingest.submit(fresh, { body: JSON.parse(JSON.stringify({ events })), idempotencyKey: null });
      if (s < 3 || s === count - 1) console.log(`submission ${s}: ${(performance.now() - t0).toFixed(0)} ms`);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`${n} events in ${seconds.toFixed(2)} s = ${Math.round(n / seconds)} events/s`);
  } finally {
    await gateway.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
