/**
 * Loads the demo dataset through the same services the API uses (so it is signed, relayed,
 * indexed and anchored like real data): organisations, products, batches with lineage, events
 * across the hotpot-base supply chain (one transformation, one inspection with its certificate PDF)
 * and one recall; and a pottery tea-set lot that failed its inspection and is held on-chain.
 * Runs once per store; a second start finds the `demo` marker and only returns the links.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";

import { batchIdOf } from "../domain/batch-id";
import { batchUri } from "../domain/digital-link";
import type { Gateway } from "../gateway";
import type { OrgRecord } from "../store/records";
import { Store } from "../store/store";
import { DEMO_ORGANISATIONS, DEMO_PRODUCTS, type DemoOrgKey } from "./dataset";
import { inspectionReportPdf } from "./inspection-report";

const DEMO_MARKER = "demo";

export interface DemoResult {
  links: [string, string][];
}

type Orgs = Record<DemoOrgKey, OrgRecord>;

export async function loadDemoData(gateway: Gateway, now = new Date()): Promise<DemoResult> {
  const { store, registry, ingest, certificates, config, logger } = gateway;
  const done = (await store.meta.get(DEMO_MARKER)) as DemoResult | undefined;
  if (done) return done;
  if ((await store.orgs.keys({ limit: 1 }).all()).length > 0) {
    logger.warn("the store has organisations but no complete demo dataset; not loading it (delete data/ to reload)");
    return { links: [] };
  }
  logger.info("loading the Chongqing demo dataset …");

  const orgs = {} as Orgs;
  const apiKeys: Record<string, string> = {};
  for (const o of DEMO_ORGANISATIONS) {
    const { org, apiKey } = await registry.createOrganisation({
      name: o.name,
      uscc: o.uscc,
      district: o.district,
      roles: [...o.roles],
    });
    orgs[o.key] = org;
    apiKeys[o.key] = apiKey;
  }
  for (const p of DEMO_PRODUCTS) {
    const { owner, ...metadata } = p;
    await registry.registerProduct(orgs[owner], { ...metadata, name: { ...metadata.name } });
  }

  const day = (offset: number) => new Date(now.getTime() + offset * 86_400_000);
  const date = (offset: number) => day(offset).toISOString().slice(0, 10);
  // Event times in China Standard Time, as a factory's system would record them.
  const at = (offset: number, hour: number) => `${date(offset)}T${String(hour).padStart(2, "0")}:00:00+08:00`;
  const gtin = (owner: DemoOrgKey) => DEMO_PRODUCTS.find((p) => p.owner === owner)!.gtin;
  const lots = {
    chili: { gtin: gtin("chiliCoop"), lot: `JJ${date(-24).replaceAll("-", "")}` },
    chiliRecalled: { gtin: gtin("chiliCoop"), lot: `JJ${date(-21).replaceAll("-", "")}` },
    tallow: { gtin: gtin("tallowCo"), lot: `RC${date(-22).replaceAll("-", "")}` },
    hotpot: { gtin: gtin("hotpotCo"), lot: `BN${date(-15).replaceAll("-", "")}-A` },
    hotpotAffected: { gtin: gtin("hotpotCo"), lot: `BN${date(-13).replaceAll("-", "")}-B` },
    teaSet: { gtin: gtin("ceramics"), lot: `AT${date(-30).replaceAll("-", "")}` },
    /** Fails its inspection (lead and cadmium migration) and is held. */
    teaSetHeld: { gtin: gtin("ceramics"), lot: `AT${date(-18).replaceAll("-", "")}-B` },
    knife: { gtin: gtin("hardware"), lot: `DZ${date(-28).replaceAll("-", "")}` },
    shoes: { gtin: gtin("shoes"), lot: `BS${date(-26).replaceAll("-", "")}` },
  };
  const id = (key: keyof typeof lots) => batchIdOf(lots[key].gtin, lots[key].lot);
  const batch = async (
    owner: DemoOrgKey,
    key: keyof typeof lots,
    produced: number,
    extra: object,
    inputs: (keyof typeof lots)[] = [],
  ) =>
    registry.registerBatch(
      orgs[owner],
      { ...lots[key], productionDate: date(produced), ...extra } as never,
      inputs.map(id),
    );

  await batch("chiliCoop", "chili", -24, {
    quantity: { value: 2000, unit: "KGM" },
    expiryDate: date(160),
    district: "江津区",
    facility: "江津区先锋镇辣椒基地",
  });
  await batch("chiliCoop", "chiliRecalled", -21, {
    quantity: { value: 1500, unit: "KGM" },
    expiryDate: date(160),
    district: "江津区",
    facility: "江津区先锋镇辣椒基地",
  });
  await batch("tallowCo", "tallow", -22, {
    quantity: { value: 800, unit: "KGM" },
    expiryDate: date(340),
    district: "荣昌区",
    facility: "荣昌区广顺街道炼油车间",
  });
  await batch(
    "hotpotCo",
    "hotpot",
    -15,
    {
      quantity: { value: 5000, unit: "XBX" },
      expiryDate: date(350),
      district: "巴南区",
      facility: "巴南区界石镇火锅底料车间 2 号线",
    },
    ["chili", "tallow"],
  );
  await batch(
    "hotpotCo",
    "hotpotAffected",
    -13,
    {
      quantity: { value: 3000, unit: "XBX" },
      expiryDate: date(352),
      district: "巴南区",
      facility: "巴南区界石镇火锅底料车间 2 号线",
    },
    ["chiliRecalled", "tallow"],
  );
  await batch("ceramics", "teaSet", -30, {
    quantity: { value: 400, unit: "XBX" },
    district: "荣昌区",
    facility: "荣昌区安富街道陶窑",
  });
  await batch("ceramics", "teaSetHeld", -18, {
    quantity: { value: 300, unit: "XBX" },
    district: "荣昌区",
    facility: "荣昌区安富街道陶窑",
  });
  await batch("hardware", "knife", -28, {
    quantity: { value: 1200, unit: "H87" },
    district: "大足区",
    facility: "大足区龙水镇锻造厂",
  });
  await batch("shoes", "shoes", -26, {
    quantity: { value: 600, unit: "PR" },
    district: "璧山区",
    facility: "璧山区璧泉街道鞋业园",
  });

  const q = (key: keyof typeof lots, quantity: number, uom: string) => ({
    epcClass: batchUri(config.publicUrl, lots[key]),
    quantity,
    uom,
  });
  const dest = (key: DemoOrgKey, type = "possessing_party") => [{ type, destination: orgs[key].uscc }];
  const object = (bizStep: string, time: string, quantityList: object[], extra: object = {}) => ({
    type: "ObjectEvent",
    action: bizStep === "commissioning" ? "ADD" : "OBSERVE",
    bizStep,
    eventTime: time,
    eventTimeZoneOffset: "+08:00",
    quantityList,
    ...extra,
  });
  const submit = async (who: DemoOrgKey, events: object[], key: string) =>
    ingest.submit(orgs[who], { body: { events }, idempotencyKey: `demo-${key}` });

  // The lab's report is uploaded (as through POST /api/v1/certificates) before the event names it.
  const report = await inspectionReportPdf({
    lab: orgs.lab.name,
    reportNumber: "YW-2026-0815",
    product: "重庆老火锅底料 500g",
    lot: lots.hotpot.lot,
    producer: orgs.hotpotCo.name,
    sampledOn: date(-14),
    issuedOn: date(-14),
    standard: "GB 2762-2022",
    items: [
      { item: "酸价 (以脂肪计)", limit: "≤ 4.0 mg/g", result: "1.2 mg/g", conformant: true },
      { item: "过氧化值 (以脂肪计)", limit: "≤ 0.25 g/100g", result: "0.08 g/100g", conformant: true },
      { item: "铅 (以 Pb 计)", limit: "≤ 1.0 mg/kg", result: "0.12 mg/kg", conformant: true },
      { item: "苯并[a]芘", limit: "≤ 10 μg/kg", result: "1.6 μg/kg", conformant: true },
    ],
    conformant: true,
  });
  const reportHash = (await certificates.upload(report, "application/pdf", orgs.lab.orgId)).info.sha256;

  await submit(
    "chiliCoop",
    [
      object("commissioning", at(-24, 17), [q("chili", 2000, "KGM")], {
        disposition: "active",
        bizLocation: { district: "江津区", name: "先锋镇辣椒基地" },
      }),
      object("commissioning", at(-21, 17), [q("chiliRecalled", 1500, "KGM")], {
        disposition: "active",
        bizLocation: { district: "江津区" },
      }),
      object("shipping", at(-20, 8), [q("chili", 2000, "KGM"), q("chiliRecalled", 1500, "KGM")], {
        disposition: "in_transit",
        destinationList: dest("hotpotCo"),
        bizLocation: { district: "江津区" },
      }),
    ],
    "chili",
  );
  await submit(
    "tallowCo",
    [
      object("commissioning", at(-22, 16), [q("tallow", 800, "KGM")], {
        disposition: "active",
        bizLocation: { district: "荣昌区" },
      }),
      object("shipping", at(-20, 9), [q("tallow", 800, "KGM")], {
        disposition: "in_transit",
        destinationList: dest("hotpotCo"),
        bizLocation: { district: "荣昌区" },
      }),
    ],
    "tallow",
  );
  await submit(
    "hotpotCo",
    [
      object(
        "receiving",
        at(-19, 10),
        [q("chili", 2000, "KGM"), q("chiliRecalled", 1500, "KGM"), q("tallow", 800, "KGM")],
        { disposition: "in_progress", bizLocation: { district: "巴南区", name: "原料仓" } },
      ),
      {
        type: "TransformationEvent",
        bizStep: "transforming",
        eventTime: at(-15, 14),
        eventTimeZoneOffset: "+08:00",
        inputQuantityList: [q("chili", 600, "KGM"), q("tallow", 400, "KGM")],
        outputQuantityList: [q("hotpot", 5000, "XBX")],
        disposition: "active",
        bizLocation: { district: "巴南区", name: "火锅底料车间 2 号线" },
      },
      {
        type: "TransformationEvent",
        bizStep: "transforming",
        eventTime: at(-13, 14),
        eventTimeZoneOffset: "+08:00",
        inputQuantityList: [q("chiliRecalled", 450, "KGM"), q("tallow", 250, "KGM")],
        outputQuantityList: [q("hotpotAffected", 3000, "XBX")],
        disposition: "active",
        bizLocation: { district: "巴南区", name: "火锅底料车间 2 号线" },
      },
    ],
    "hotpot-production",
  );
  await submit(
    "lab",
    [
      object("inspecting", at(-14, 11), [q("hotpot", 12, "XBX")], {
        disposition: "conformant",
        bizLocation: { district: "渝北区" },
        certificationInfo: {
          documentHash: reportHash,
          issuer: orgs.lab.name,
          standard: "GB 2762-2022",
          result: "conformant",
          certificateNumber: "YW-2026-0815",
        },
      }),
    ],
    "inspection",
  );
  await submit(
    "hotpotCo",
    [
      object("shipping", at(-12, 7), [q("hotpot", 1200, "XBX")], {
        disposition: "in_transit",
        destinationList: [...dest("coldChain"), ...dest("supermarket", "owning_party")],
        bizLocation: { district: "巴南区" },
      }),
    ],
    "hotpot-shipping",
  );
  await submit(
    "coldChain",
    [
      object("receiving", at(-12, 9), [q("hotpot", 1200, "XBX")], {
        disposition: "in_transit",
        bizLocation: { district: "巴南区" },
      }),
      object("sensor_reporting", at(-12, 12), [q("hotpot", 1200, "XBX")], {
        bizLocation: { district: "沙坪坝区" },
        sensorElementList: [
          {
            sensorMetadata: { deviceID: "YL-COLD-07" },
            sensorReport: [
              { type: "Temperature", value: 4.2, uom: "CEL" },
              { type: "RelativeHumidity", value: 61, uom: "A93" },
            ],
          },
        ],
      }),
      object("shipping", at(-11, 6), [q("hotpot", 1200, "XBX")], {
        disposition: "in_transit",
        destinationList: dest("supermarket"),
        bizLocation: { district: "沙坪坝区" },
      }),
    ],
    "cold-chain",
  );
  await submit(
    "supermarket",
    [
      object("receiving", at(-11, 9), [q("hotpot", 1200, "XBX")], {
        disposition: "sellable_not_accessible",
        bizLocation: { district: "渝中区", name: "解放碑店仓库" },
      }),
      object("storing", at(-11, 10), [q("hotpot", 1200, "XBX")], {
        disposition: "sellable_accessible",
        bizLocation: { district: "渝中区", name: "解放碑店 重庆味道 专柜" },
      }),
      object("retail_selling", at(-3, 19), [q("hotpot", 36, "XBX")], {
        disposition: "retail_sold",
        bizLocation: { district: "渝中区", name: "解放碑店" },
      }),
    ],
    "retail",
  );
  for (const [who, key] of [
    ["ceramics", "teaSet"],
    ["hardware", "knife"],
    ["shoes", "shoes"],
  ] as const) {
    await submit(
      who,
      [
        object("commissioning", at(-20, 10), [q(key, 10, key === "shoes" ? "PR" : "H87")], {
          disposition: "active",
          bizLocation: { district: orgs[who].district as never },
        }),
      ],
      key,
    );
  }
  await submit(
    "ceramics",
    [
      object("commissioning", at(-18, 10), [q("teaSetHeld", 300, "XBX")], {
        disposition: "active",
        bizLocation: { district: "荣昌区", name: "安富街道陶窑" },
      }),
    ],
    "teaSetHeld",
  );
  // A non-conformant inspection: ingest journals a hold, which the hold service puts on-chain.
  const failed = await inspectionReportPdf({
    lab: orgs.lab.name,
    reportNumber: "YW-2026-0902",
    product: "荣昌安陶茶具套装",
    lot: lots.teaSetHeld.lot,
    producer: orgs.ceramics.name,
    sampledOn: date(-17),
    issuedOn: date(-16),
    standard: "GB 4806.4-2016",
    items: [
      { item: "铅 (以 Pb 计) 迁移量", limit: "≤ 0.5 mg/L", result: "1.9 mg/L", conformant: false },
      { item: "镉 (以 Cd 计) 迁移量", limit: "≤ 0.25 mg/L", result: "0.31 mg/L", conformant: false },
      { item: "感官要求", limit: "釉面光洁", result: "符合", conformant: true },
    ],
    conformant: false,
  });
  const failedHash = (await certificates.upload(failed, "application/pdf", orgs.lab.orgId)).info.sha256;
  await submit(
    "lab",
    [
      object("inspecting", at(-16, 15), [q("teaSetHeld", 6, "XBX")], {
        disposition: "non_conformant",
        bizLocation: { district: "渝北区" },
        certificationInfo: {
          documentHash: failedHash,
          issuer: orgs.lab.name,
          standard: "GB 4806.4-2016",
          result: "non_conformant",
          certificateNumber: "YW-2026-0902",
        },
        comment: "铅、镉迁移量超标，批次暂扣待复检",
      }),
    ],
    "inspection-failed",
  );
  await gateway.holds.settled();
  await registry.recall(
    orgs.regulator,
    id("chiliRecalled"),
    "抽检发现农药残留（毒死蜱）超标，依据 GB 2763-2021 责令召回",
  );
  await gateway.anchorer.flush();

  const links: [string, string][] = [
    ["hotpot base batch", batchUri(config.publicUrl, lots.hotpot)],
    ["affected by a recall", batchUri(config.publicUrl, lots.hotpotAffected)],
    ["recalled chili lot", batchUri(config.publicUrl, lots.chiliRecalled)],
    ["held after a failed inspection", batchUri(config.publicUrl, lots.teaSetHeld)],
    ["batch API (admin key)", `${gateway.url}/api/v1/batches/${id("hotpot")}/events`],
    ["demo API keys", path.join(path.relative(process.cwd(), config.dataDir) || ".", "demo-api-keys.json")],
  ];
  await writeFile(path.join(config.dataDir, "demo-api-keys.json"), JSON.stringify(apiKeys, null, 2) + "\n", {
    mode: 0o600,
  });
  const result: DemoResult = { links };
  await store.write([Store.put(store.meta, DEMO_MARKER, result)], { sync: true });
  logger.info("demo dataset loaded");
  return result;
}
