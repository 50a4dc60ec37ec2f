/**
 * The factory CLI (`bin/yutrace.js`) run as a process against a real gateway (its own hardhat node,
 * ledger, indexer and anchorer) over HTTP, the way a factory uses it: login, products, the example
 * CSV files of three industries (UTF-8 with a BOM, GB18030, plain UTF-8), a 5,000-event import, a
 * broken file (every bad row reported, nothing imported), an import killed halfway and run again
 * (each row recorded exactly once), self-custody signing (the gateway only relays; a gateway that
 * alters a self-signed event is caught by `yutrace verify`), label sheets and single events.
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

import { expect } from "chai";
import iconv from "iconv-lite";
import request from "supertest";

import { batchIdOf } from "../../server/domain/batch-id";
import { canonicalSha256 } from "../../server/domain/canonical";
import { gtin14, uscc } from "../../server/domain/identifiers";
import { submissionTree } from "../../server/domain/merkle";
import type { EvidenceBundle } from "../../server/verify/bundle";
import { decodeCsv, parseCsv } from "../../cli/csv";
import { eventRow, mapHeader } from "../../cli/rows";
import {
  bearer,
  createOrganisation,
  dateIn,
  pdfBytes,
  quiesce,
  startTestGateway,
  type TestGateway,
  type TestOrg,
} from "../helpers/gateway";

const ROOT = path.resolve(__dirname, "..", "..");
const BIN = path.join(ROOT, "bin", "yutrace.js");
const EXAMPLES = path.join(ROOT, "examples");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The organisations the example files name (the demo's, by their 统一社会信用代码). */
const ORGS = {
  hotpot: {
    name: "重庆巴南渝味火锅食品有限公司",
    uscc: uscc("91500113MA5YN8HT6"),
    district: "巴南区",
    roles: ["producer"],
  },
  ceramics: {
    name: "重庆荣昌安陶工艺品有限公司",
    uscc: uscc("91500153MA5YQW0T7"),
    district: "荣昌区",
    roles: ["producer"],
  },
  coldChain: {
    name: "重庆渝冷冷链物流有限公司",
    uscc: uscc("91500106MA61C7RD3"),
    district: "沙坪坝区",
    roles: ["logistics"],
  },
  supermarket: {
    name: "重庆山城优选超市有限公司",
    uscc: uscc("91500103MA5U8BK41"),
    district: "渝中区",
    roles: ["retailer"],
  },
} as const;
const GARMENTS = {
  name: "重庆渝派服饰有限公司",
  uscc: uscc("91500106MA5YP8FX2"),
  district: "沙坪坝区",
  roles: ["producer"],
};

/** The products of the example files, as examples/README.md registers them. */
const PRODUCTS = {
  stirFry: ["--gtin", "06938850101186", "--name", "渝味牛油炒料（半成品）", "--category", "seasoning", "--standard", "Q/YWHG 0002S"],
  hotpotBase: ["--gtin", "06938850101018", "--name", "渝味牛油火锅底料 400g", "--name-en", "Yuwei beef tallow hotpot base 400 g", "--category", "seasoning", "--standard", "Q/YWHG 0001S", "--brand", "渝味"],
  pickleJar: ["--gtin", "06938850401095", "--name", "荣昌安陶泡菜坛 5L", "--category", "glass_ceramics", "--standard", "GB/T 3532"],
  shirt: ["--gtin", "06938850701010", "--name", "渝派男士纯棉衬衫", "--category", "textiles_garments", "--standard", "GB/T 2660"],
  jacket: ["--gtin", "06938850701188", "--name", "渝派男士夹克", "--category", "textiles_garments", "--standard", "GB/T 2664"],
}; // prettier-ignore

/** A product of the bulk tests only. */
const COLD_STORE_GTIN = gtin14("0693885010125");

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("yutrace CLI against a real gateway", function () {
  this.timeout(240_000);
  let t: TestGateway;
  let dir: string;
  const orgs = {} as Record<keyof typeof ORGS, TestOrg>;

  /** The settings file of `who` (each organisation logs in with its own). */
  const configOf = (who: string) => path.join(dir, who, "config.json");

  /** Runs `yutrace args` as `who`; never from the environment's own settings. */
  function yutrace(who: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
    const { YUTRACE_GATEWAY: _g, YUTRACE_API_KEY: _k, YUTRACE_KEY_PASSPHRASE: _p, ...base } = process.env;
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [BIN, ...args],
        { cwd: ROOT, env: { ...base, YUTRACE_CONFIG: configOf(who), ...env }, timeout: 180_000, maxBuffer: 64 << 20 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  async function ok(who: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
    const run = await yutrace(who, args, env);
    expect(run.code, `yutrace ${args.join(" ")}\n${run.stdout}\n${run.stderr}`).to.equal(0);
    return run;
  }

  /** Every event of batch `gtin`/`lot`, through the API. */
  async function batchEvents(
    gtin: string,
    lot: string,
  ): Promise<{ eventId: string; event: Record<string, unknown>; submission: { signer: string; id: string } }[]> {
    const events = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await request(t.url)
        .get(`/api/v1/batches/${batchIdOf(gtin, lot)}/events`)
        .query({ limit: 200, ...(cursor ? { cursor } : {}) })
        .set(bearer(t.adminKey));
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      events.push(...res.body.events);
      cursor = res.body.nextCursor;
    } while (cursor);
    return events;
  }

  /**
   * A gateway in front of the real one that answers what `answer` returns for a request (given the
   * real gateway's answer to it, or null to forward that), and forwards everything else.
   */
  async function startProxy(
    answer: (req: http.IncomingMessage, upstream: Buffer) => Promise<{ status: number; body: string } | null>,
    intercept: (req: http.IncomingMessage) => { status: number; body: string } | null = () => null,
  ): Promise<{ url: string; close(): Promise<void> }> {
    const server = http.createServer((req, res) => {
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const early = intercept(req);
        if (early) {
          res.writeHead(early.status, { "Content-Type": "application/json" });
          return res.end(early.body);
        }
        const headers: Record<string, string> = {};
        for (const name of ["authorization", "accept", "content-type", "idempotency-key"]) {
          const value = req.headers[name];
          if (typeof value === "string") headers[name] = value;
        }
        const upstream = await fetch(`${t.url}${req.url}`, {
          method: req.method,
          headers,
          body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
        });
        const body = Buffer.from(await upstream.arrayBuffer());
        const replaced = await answer(req, body);
        res.writeHead(replaced?.status ?? upstream.status, {
          "Content-Type": upstream.headers.get("content-type") ?? "application/json",
        });
        res.end(replaced ? replaced.body : body);
      })().catch((error: unknown) => {
        res.writeHead(500);
        res.end(String(error));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  async function submissionNonce(org: TestOrg): Promise<number> {
    const res = await request(t.url).get("/api/v1/me").set(bearer(org.apiKey));
    expect(res.status).to.equal(200);
    return res.body.submissionNonce as number;
  }

  /** A CSV of `count` cold-store temperature readings of one batch, one a minute from `start` (CST). */
  function readingsCsv(lot: string, count: number, start: Date): string {
    const lines = ["gtin,lot,biz_step,event_time,quantity,unit,district,location,temperature"];
    for (let i = 0; i < count; i++) {
      const at = new Date(start.getTime() + i * 60_000 + 8 * 3600_000).toISOString().slice(0, 16).replace("T", " ");
      const celsius = (2 + ((i * 7) % 40) / 10).toFixed(1);
      lines.push(`${COLD_STORE_GTIN},${lot},sensor_reporting,${at},1200,KGM,巴南区,1 号冷库,${celsius}`);
    }
    return lines.join("\n") + "\n";
  }

  before(async function () {
    t = await startTestGateway();
    dir = await mkdtemp(path.join(os.tmpdir(), "yutrace-cli-"));
    for (const key of Object.keys(ORGS) as (keyof typeof ORGS)[]) {
      orgs[key] = await createOrganisation(t, { ...ORGS[key], roles: [...ORGS[key].roles] });
    }
  });

  after(async function () {
    await t?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe("login and help", function () {
    it("refuses a wrong API key, writing no settings", async function () {
      const run = await yutrace("hotpot", [
        "login",
        "--gateway",
        t.url,
        "--api-key",
        "ytk_wrongwrongwrongwrongwrongwrongwrongwrongwro",
      ]);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.contain("invalid_api_key");
      const missing = await stat(configOf("hotpot")).then(
        () => false,
        () => true,
      );
      expect(missing, "no settings file after a refused login").to.equal(true);
    });

    it("stores the gateway and API key in a settings file only its owner can read", async function () {
      const run = await ok("hotpot", [
        "login",
        "--gateway",
        t.url,
        "--api-key",
        orgs.hotpot.apiKey,
        "--rpc",
        t.gateway.chainUrl,
      ]);
      expect(run.stdout).to.contain(ORGS.hotpot.name);
      const info = await stat(configOf("hotpot"));
      expect(info.mode & 0o777).to.equal(0o600);
      const settings = JSON.parse(await readFile(configOf("hotpot"), "utf8"));
      expect(settings).to.deep.equal({
        gateway: new URL(t.url).origin,
        apiKey: orgs.hotpot.apiKey,
        rpc: t.gateway.chainUrl,
      });
      const who = await ok("hotpot", ["whoami", "--json"]);
      expect(JSON.parse(who.stdout).organisation.orgId).to.equal(orgs.hotpot.orgId);
      await ok("ceramics", ["login", "--gateway", t.url, "--api-key", orgs.ceramics.apiKey]);
    });

    it("explains itself in Chinese and English, and answers a wrong command line with exit 2", async function () {
      const help = await ok("hotpot", ["--help"]);
      for (const text of ["登录", "log in", "批量导入", "bulk import", "退出码", "Exit codes"])
        expect(help.stdout).to.contain(text);
      const importHelp = await ok("hotpot", ["import", "--help"]);
      expect(importHelp.stdout).to.contain("--dry-run").and.to.contain("只校验");
      const wrong = await yutrace("hotpot", ["batches", "add", "--gtin", "06938850101018"]);
      expect(wrong.code).to.equal(2);
      expect(wrong.stderr).to.contain("--lot");
      const nobody = await yutrace("nobody", ["products", "list"]);
      expect(nobody.code).to.equal(2);
      expect(nobody.stderr).to.contain("yutrace login");
    });
  });

  describe("the example files", function () {
    it("hotpot base (UTF-8 with BOM): products, batches with their inputs, events; a second run records nothing twice", async function () {
      await ok("hotpot", ["products", "add", ...PRODUCTS.stirFry]);
      await ok("hotpot", ["products", "add", ...PRODUCTS.hotpotBase]);
      const list = await ok("hotpot", ["products", "list"]);
      expect(list.stdout).to.contain("06938850101018").and.to.contain("渝味牛油火锅底料 400g");

      const dry = await ok("hotpot", ["import", path.join(EXAMPLES, "hotpot-base", "batches.csv"), "--dry-run"]);
      expect(dry.stdout).to.contain("6 valid batches rows");
      expect(
        (await request(t.url).get("/api/v1/me/batches").set(bearer(orgs.hotpot.apiKey))).body.batches,
      ).to.deep.equal([]);

      const batches = await ok("hotpot", ["import", path.join(EXAMPLES, "hotpot-base", "batches.csv")]);
      expect(batches.stderr).to.contain("utf-8 with BOM");
      expect(batches.stdout).to.contain("6 recorded now, 0 recorded before");
      const finished = await request(t.url)
        .get(`/api/v1/batches/${batchIdOf("06938850101018", "HG20261117-01")}`)
        .set(bearer(t.adminKey));
      expect(finished.body.batch.parents).to.deep.equal([batchIdOf("06938850101186", "CL20261117-01")]);
      expect(finished.body.batch.metadata).to.deep.include({
        productionDate: "2026-11-17",
        expiryDate: "2027-11-17",
        quantity: { value: 2400, unit: "XCT" },
      });

      const events = await ok("hotpot", ["import", path.join(EXAMPLES, "hotpot-base", "events.csv")]);
      expect(events.stdout).to.contain("imported 21 events").and.to.contain("21 recorded now");
      const recorded = await batchEvents("06938850101018", "HG20261117-01");
      expect(recorded.map((e) => e.event.bizStep)).to.deep.equal([
        "commissioning",
        "inspecting",
        "packing",
        "storing",
        "shipping",
      ]);
      const shipping = recorded[4]!.event;
      expect(shipping.destinationList).to.deep.equal([{ type: "possessing_party", destination: ORGS.coldChain.uscc }]);
      expect(shipping.eventTime).to.equal("2026-11-19T06:00:00+08:00");
      expect(recorded[3]!.event.sensorElementList).to.deep.equal([
        { sensorReport: [{ type: "Temperature", value: 16.5, uom: "CEL" }] },
      ]);

      const again = await ok("hotpot", ["import", path.join(EXAMPLES, "hotpot-base", "events.csv")]);
      expect(again.stdout).to.contain("0 recorded now, 21 recorded before");
      const batchesAgain = await ok("hotpot", ["import", path.join(EXAMPLES, "hotpot-base", "batches.csv")]);
      expect(batchesAgain.stdout).to.contain("0 recorded now, 6 recorded before");
      expect(await batchEvents("06938850101018", "HG20261117-01")).to.have.length(5);

      const shown = await ok("hotpot", ["batches", "show", "06938850101018/HG20261117-01"]);
      expect(shown.stdout).to.contain("events (5)").and.to.contain("shipping");
      const listed = await ok("hotpot", ["batches", "list", "--json"]);
      expect(JSON.parse(listed.stdout)).to.have.length(6);
    });

    it("Rongchang pottery (GB18030, Chinese headers, spreadsheet dates): the Chinese text arrives intact", async function () {
      await ok("ceramics", ["products", "add", ...PRODUCTS.pickleJar]);
      const batches = await ok("ceramics", ["import", path.join(EXAMPLES, "rongchang-pottery", "batches.csv")]);
      expect(batches.stderr).to.contain("gb18030");
      const events = await ok("ceramics", ["import", path.join(EXAMPLES, "rongchang-pottery", "events.csv")]);
      expect(events.stdout).to.contain("imported 15 events");
      const text = iconv.decode(readFileSync(path.join(EXAMPLES, "rongchang-pottery", "events.csv")), "gb18030");
      const comment = text.split(/\r?\n/)[2]!.split(",").at(-1);
      const recorded = await batchEvents("06938850401095", "AT2611-K01");
      expect(recorded.map((e) => e.event.bizStep)).to.deep.equal([
        "commissioning",
        "inspecting",
        "packing",
        "storing",
        "shipping",
      ]);
      expect(recorded[1]!.event).to.deep.include({
        disposition: "conformant",
        comment,
        eventTime: "2026-11-16T15:00:00+08:00",
      });
      expect(recorded[1]!.event.bizLocation).to.deep.equal({ district: "荣昌区", name: "质检室" });
      expect(recorded[4]!.event.destinationList).to.deep.equal([
        { type: "possessing_party", destination: ORGS.supermarket.uscc },
      ]);
    });
  });

  describe("a broken file", function () {
    it("reports every bad row with its row and column, and imports nothing", async function () {
      const lines = (await readFile(path.join(EXAMPLES, "hotpot-base", "events.csv"), "utf8"))
        .replace(/^\uFEFF/, "")
        .split(/\r\n/);
      const header = lines[0]!;
      const good = lines[1]!;
      const broken = [
        header,
        good.replace("2026-11-17 07:30", "2026-11-24 07:30"), // row 2: fine
        good.replace("06938850101186", "06938850101187"), // row 3: GTIN check digit
        good.replace("commissioning", "comissioning").replace("1200,KGM", "-3,KGM"), // row 4: step and quantity
        good.replace("2026-11-17 07:30", "2026-11-31 07:30"), // row 5: no 31 November
        good.replace(",KGM,", ",桶,"), // row 6: unit
        good.replace("巴南区", "浦东新区"), // row 7: not in Chongqing
        good.replace("CL20261117-01", "CL20991231-99"), // row 8: no such batch
        good
          .replace("2026-11-17 07:30", "2026-11-24 08:30")
          .replace("active,1200,KGM,巴南区,牛油炒料车间,", "active,1200,KGM,巴南区,牛油炒料车间,91500106MA61C7RD31"), // row 9: 统一社会信用代码
        good.replace("commissioning", "retail_selling").replace("2026-11-17 07:30", "2026-11-24 09:30"), // row 10: a retailer's step
        good.replace("2026-11-17 07:30", "2026-11-24 07:30"), // row 11: the same event as row 2
      ];
      const file = path.join(dir, "broken-events.csv");
      await writeFile(file, broken.join("\r\n") + "\r\n");
      const nonce = await submissionNonce(orgs.hotpot);
      const before = await batchEvents("06938850101186", "CL20261117-01");

      const run = await yutrace("hotpot", ["import", file]);
      expect(run.code, run.stderr).to.equal(1);
      expect(run.stderr).to.contain("in 9 row(s); nothing was imported");
      const expected = [
        /row 3, column A \(gtin\): "06938850101187" must be a GTIN-14 with a valid check digit/,
        /row 4, column C \(biz_step\): "comissioning" is not a business step/,
        /row 4, column F \(quantity\): must be more than 0, got -3/,
        /row 5, column D \(event_time\): "2026-11-31 07:30" is not a time/,
        /row 6, column G \(unit\): "桶" is not a unit/,
        /row 7, column H \(district\): "浦东新区" is not a district or county of Chongqing/,
        /row 8, column B \(lot\): batch 06938850101186\/CL20991231-99 is not registered/,
        /row 9, column J \(destination\): must be a valid 统一社会信用代码/,
        /row 10, column C \(biz_step\): .* may not record retail_selling: it needs the role retailer/,
        /row 11: the same event as row 2/,
      ];
      for (const line of expected) expect(run.stderr).to.match(line);
      expect(run.stderr).not.to.match(/row 2[,:]/);
      expect(await submissionNonce(orgs.hotpot)).to.equal(nonce);
      expect(await batchEvents("06938850101186", "CL20261117-01")).to.deep.equal(before);
    });

    it("reports every bad batch row, and registers none", async function () {
      const file = path.join(dir, "broken-batches.csv");
      await writeFile(
        file,
        [
          "gtin,lot,quantity,unit,production_date,inputs",
          "06938850101018,NEW-OK-1,10,箱,2026-11-20,",
          "06938850101018,NEW-BAD-2,ten,箱,2026-11-20,",
          "06938850101018,NEW-BAD-3,10,箱,2026-02-30,",
          "06938850101018,NEW-BAD-4,10,箱,2026-11-20,06938850101186/NO-SUCH-LOT",
          "06938850101026,NEW-BAD-5,10,箱,2026-11-20,",
          "06938850101018,NEW-OK-1,10,箱,2026-11-20,",
          '06938850101018,"BAD LOT 7",10,箱,2026-11-20,',
          "06938850101018,HG20261117-01,999,箱,2026-11-17,",
          "06938850101018,NEW-BAD-10,10,箱,2026-11-20,,stray",
        ].join("\n"),
      );
      const run = await yutrace("hotpot", ["import", file]);
      expect(run.code, run.stderr).to.equal(1);
      for (const line of [
        /row 3, column C \(quantity\): "ten" is not a number/,
        /row 4, column E \(production_date\): "2026-02-30" is not a date/,
        /row 5, column F \(inputs\): input batch 06938850101186\/NO-SUCH-LOT is not registered/,
        /row 6, column A \(gtin\): "06938850101026" must be a GTIN-14 with a valid check digit/,
        /row 7: batch 06938850101018\/NEW-OK-1 is also in row 2/,
        /row 8, column B \(lot\): "BAD LOT 7" must be 1–20 characters of the GS1 set/,
        /row 9, column B \(lot\): batch 06938850101018\/HG20261117-01 is registered already, with other data/,
        /row 10: 1 cell\(s\) in column\(s\) G have no column name: an unquoted comma in a cell\?/,
      ]) {
        expect(run.stderr).to.match(line);
      }
      const mine = await request(t.url).get("/api/v1/me/batches").set(bearer(orgs.hotpot.apiKey));
      expect(mine.body.batches.map((b: { lot: string }) => b.lot)).not.to.include("NEW-OK-1");
    });
  });

  describe("a gateway that is not believed", function () {
    it("checks a claim that rows were recorded before, and stops when the events are not there", async function () {
      const file = path.join(dir, "claimed.csv");
      await writeFile(
        file,
        "gtin,lot,biz_step,event_time,quantity,unit,temperature\n" +
          `06938850101186,CL20261117-01,storing,${dateIn(-2)} 09:00,100,KGM,3.5\n` +
          `06938850101186,CL20261117-01,storing,${dateIn(-2)} 10:00,100,KGM,3.6\n`,
      );
      const claims = (req: http.IncomingMessage) =>
        req.method === "POST" && req.url === "/api/v1/events"
          ? {
              status: 409,
              body: JSON.stringify({
                error: {
                  code: "duplicate_event",
                  message: "1 event(s) were recorded before",
                  details: { duplicates: [{ index: 0, eventId: `0x${"ab".repeat(32)}` }] },
                },
              }),
            }
          : null;
      const liar = await startProxy(async () => null, claims);
      try {
        const run = await yutrace("hotpot", ["--gateway", liar.url, "import", file]);
        expect(run.code, run.stdout + run.stderr).to.equal(1);
        expect(run.stderr).to.match(/the gateway says event 0x[0-9a-f]{64} was recorded before, but does not show it/);
        expect(run.stdout).not.to.contain("imported");
      } finally {
        await liar.close();
      }
      // Through the real gateway the same file goes in.
      const real = await ok("hotpot", ["import", file]);
      expect(real.stdout).to.contain("2 recorded now, 0 recorded before");
    });

    it("refuses a row naming an inspection report that is not on file, before sending anything", async function () {
      const file = path.join(dir, "no-report.csv");
      await writeFile(
        file,
        "gtin,lot,biz_step,event_time,disposition,quantity,unit,cert_hash,cert_issuer,cert_standard\n" +
          `06938850101186,CL20261118-01,inspecting,${dateIn(-2)} 09:00,conformant,1,KGM,${"cd".repeat(32)},渝北检测,GB 10146\n`,
      );
      const nonce = await submissionNonce(orgs.hotpot);
      const run = await yutrace("hotpot", ["import", file]);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.match(/row 2, column H \(cert_hash\): no certificate (cd){32} on file: upload it first/);
      expect(await submissionNonce(orgs.hotpot)).to.equal(nonce);
    });
  });

  describe("bulk and interrupted imports", function () {
    const start = new Date(`${dateIn(-6)}T00:00:00+08:00`);

    before(async function () {
      await ok("hotpot", [
        "products",
        "add",
        "--gtin",
        COLD_STORE_GTIN,
        "--name",
        "渝味牛油（冷库原料）",
        "--category",
        "seasoning",
        "--standard",
        "GB 10146",
      ]);
      for (const lot of ["COLD-5000", "COLD-KILL"]) {
        await ok("hotpot", [
          "batches",
          "add",
          "--gtin",
          COLD_STORE_GTIN,
          "--lot",
          lot,
          "--quantity",
          "1200",
          "--unit",
          "千克",
          "--production-date",
          dateIn(-7),
          "--district",
          "巴南区",
        ]);
        await ok("hotpot", [
          "events",
          "add",
          "--batch",
          `${COLD_STORE_GTIN}/${lot}`,
          "--step",
          "生产",
          "--time",
          `${dateIn(-7)} 08:00`,
          "--quantity",
          "1200",
          "--unit",
          "KGM",
        ]);
      }
    });

    it("imports 5,000 events from one CSV file", async function () {
      const file = path.join(dir, "readings-5000.csv");
      await writeFile(file, readingsCsv("COLD-5000", 5000, start));
      const run = await ok("hotpot", ["import", file]);
      expect(run.stdout)
        .to.contain("imported 5,000 events")
        .and.to.contain("5,000 recorded now")
        .and.to.contain("10 submission(s)");
      expect(run.stderr).to.match(/importing events \[#+\] 5,000\/5,000 events 100%/);
      const recorded = await batchEvents(COLD_STORE_GTIN, "COLD-5000");
      expect(recorded).to.have.length(5001);
      expect(new Set(recorded.map((e) => e.eventId)).size).to.equal(5001);
    });

    it("an import killed halfway and run again records each row exactly once", async function () {
      const file = path.join(dir, "readings-kill.csv");
      const csv = readingsCsv("COLD-KILL", 5000, start);
      await writeFile(file, csv);
      // Each row's event id, as the gateway computes it.
      const table = parseCsv(decodeCsv(Buffer.from(csv)).text);
      const { columns } = mapHeader(table.header, "events");
      const link = (
        await request(t.url)
          .get(`/api/v1/batches/${batchIdOf(COLD_STORE_GTIN, "COLD-KILL")}`)
          .set(bearer(t.adminKey))
      ).body.batch.digitalLink;
      const expected = new Set(
        table.records.map((record) => {
          const row = eventRow(record, table, columns);
          if (Array.isArray(row)) throw new Error(`row ${record.row} is not valid`);
          return canonicalSha256(row.event(link));
        }),
      );
      expect(expected.size).to.equal(5000);

      const nonce = await submissionNonce(orgs.hotpot);
      const child = spawn(process.execPath, [BIN, "import", file, "--chunk", "100"], {
        cwd: ROOT,
        env: { ...process.env, YUTRACE_CONFIG: configOf("hotpot") },
        stdio: "ignore",
      });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      // Killed once 10–40 of its 50 submissions are in.
      for (let waited = 0; (await submissionNonce(orgs.hotpot)) - nonce < 10; waited += 20) {
        if (waited > 60_000) throw new Error("the import did not get going");
        await sleep(20);
      }
      child.kill("SIGKILL");
      await exited;
      const partial = (await batchEvents(COLD_STORE_GTIN, "COLD-KILL")).length - 1;
      expect(partial).to.be.within(1000, 4900);

      const rerun = await ok("hotpot", ["import", file, "--chunk", "100"]);
      expect(rerun.stderr).to.match(/resuming: \d+ of 50 submissions were recorded by an earlier run/);
      const recordedBefore = Number(/([\d,]+) recorded before/.exec(rerun.stdout)![1]!.replace(/,/g, ""));
      expect(recordedBefore).to.be.at.least(partial);
      const recorded = (await batchEvents(COLD_STORE_GTIN, "COLD-KILL")).filter(
        (e) => e.event.bizStep === "sensor_reporting",
      );
      expect(recorded).to.have.length(5000);
      expect(new Set(recorded.map((e) => e.eventId))).to.deep.equal(expected);
      // The settings folder's progress record is not needed for exactly-once: without it, a rerun replays.
      await rm(path.join(dir, "hotpot", "imports"), { recursive: true, force: true });
      const third = await ok("hotpot", ["import", file, "--chunk", "100"]);
      expect(third.stdout).to.contain("0 recorded now, 5,000 recorded before");
      expect(await batchEvents(COLD_STORE_GTIN, "COLD-KILL")).to.have.length(5001);
    });
  });

  describe("self-custody: the factory signs with its own key", function () {
    let garments: TestOrg;
    let account: string;

    before(async function () {
      const generated = await ok("garments", ["keys", "generate"]);
      account = /new signing key: (0x[0-9a-fA-F]{40})/.exec(generated.stdout)![1]!;
      const keyFile = path.join(dir, "garments", "signing-key.json");
      expect((await stat(keyFile)).mode & 0o777).to.equal(0o600);
      const again = await yutrace("garments", ["keys", "generate"]);
      expect(again.code, "a key is never overwritten").to.equal(2);
      expect(JSON.parse(await readFile(keyFile, "utf8")).address).to.equal(account);
      const res = await request(t.url)
        .post("/api/v1/organisations")
        .set(bearer(t.adminKey))
        .send({ ...GARMENTS, account });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body.organisation.custody).to.equal("self");
      garments = { ...res.body.organisation, apiKey: res.body.apiKey };
      await ok("garments", ["login", "--gateway", t.url, "--api-key", garments.apiKey, "--rpc", t.gateway.chainUrl]);
    });

    it("registers products and batches and imports events signed locally; the gateway only relays", async function () {
      await ok("garments", ["products", "add", ...PRODUCTS.shirt, "--sign-locally"]);
      await ok("garments", ["products", "add", ...PRODUCTS.jacket]); // a self-custody organisation always signs
      await ok("garments", ["import", path.join(EXAMPLES, "garments", "batches.csv"), "--sign-locally"]);
      const run = await ok("garments", [
        "import",
        path.join(EXAMPLES, "garments", "events.csv"),
        "--sign-locally",
        "--chunk",
        "2",
      ]);
      expect(run.stdout).to.contain("16 recorded now").and.to.contain("8 submission(s)");
      const events = await batchEvents("06938850701010", "YP2611-S01");
      expect(events).to.have.length(4);
      for (const e of events) expect(e.submission.signer.toLowerCase()).to.equal(account.toLowerCase());
      // The gateway keeps no key for this organisation.
      const rotate = await request(t.url)
        .post(`/api/v1/organisations/${garments.orgId}/signing-key`)
        .set(bearer(t.adminKey));
      expect(rotate.status).to.equal(409);
      expect(rotate.body.error.code).to.equal("self_custody");
      // A custodial organisation cannot sign locally.
      const custodial = await yutrace("hotpot", [
        "events",
        "add",
        "--batch",
        "06938850101186/CL20261118-01",
        "--step",
        "storing",
        "--quantity",
        "1",
        "--unit",
        "KGM",
        "--sign-locally",
      ]);
      expect(custodial.code).to.equal(2);
      expect(custodial.stderr).to.contain("the gateway keeps this organisation's key");
    });

    it("a self-signed import killed halfway and run again records each row once, resending what it signed", async function () {
      const lot = "YP2611-S09";
      await ok("garments", ["batches", "add", "--gtin", "06938850701010", "--lot", lot, "--quantity", "300", "--unit", "件", "--production-date", dateIn(-5)]); // prettier-ignore
      await ok("garments", ["events", "add", "--batch", `06938850701010/${lot}`, "--step", "生产", "--time", `${dateIn(-5)} 08:00`, "--quantity", "300", "--unit", "件"]); // prettier-ignore
      const start = new Date(`${dateIn(-4)}T00:00:00+08:00`).getTime();
      const lines = ["gtin,lot,biz_step,event_time,quantity,unit,humidity"];
      for (let i = 0; i < 1500; i++) {
        const at = new Date(start + i * 60_000 + 8 * 3600_000).toISOString().slice(0, 16).replace("T", " ");
        lines.push(`06938850701010,${lot},sensor_reporting,${at},300,件,${40 + (i % 30)}`);
      }
      const file = path.join(dir, "warehouse-humidity.csv");
      await writeFile(file, lines.join("\n") + "\n");

      const nonce = await submissionNonce(garments);
      const child = spawn(process.execPath, [BIN, "import", file, "--sign-locally", "--chunk", "50"], {
        cwd: ROOT,
        env: { ...process.env, YUTRACE_CONFIG: configOf("garments") },
        stdio: "ignore",
      });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      // Killed once 5–25 of its 30 submissions are in.
      for (let waited = 0; (await submissionNonce(garments)) - nonce < 5; waited += 20) {
        if (waited > 60_000) throw new Error("the import did not get going");
        await sleep(20);
      }
      child.kill("SIGKILL");
      await exited;
      const imports = path.join(dir, "garments", "imports");
      // The state file, not a temporary one its last save may have left behind.
      const state = (await readdir(imports)).find((name) => name.endsWith(".json"));
      expect(state, "the import's state file").to.be.a("string");
      expect(JSON.parse(await readFile(path.join(imports, state!), "utf8")).recorded.length).to.be.at.least(4);

      const rerun = await ok("garments", ["import", file, "--sign-locally", "--chunk", "50"]);
      expect(rerun.stdout).to.contain("imported 1,500 events");
      const readings = (await batchEvents("06938850701010", lot)).filter((e) => e.event.bizStep === "sensor_reporting");
      expect(readings).to.have.length(1500);
      expect(new Set(readings.map((e) => e.eventId)).size).to.equal(1500);
      for (const e of readings) expect(e.submission.signer.toLowerCase()).to.equal(account.toLowerCase());
      // 30 submissions in all, each one nonce: none was signed twice.
      expect((await submissionNonce(garments)) - nonce).to.equal(30);
      expect(await readdir(imports), "the finished import's state is removed").to.deep.equal([]);
    });

    it("verifies with yutrace verify; a gateway that alters a self-signed event is caught", async function () {
      await quiesce(t.gateway);
      const link = `${t.url}/01/06938850701010/10/YP2611-S01`;
      const honest = await ok("garments", ["verify", link, "--ledger", t.gateway.ledger.address]);
      expect(honest.stdout).to.contain("Verdict: VERIFIED — 4 passed, 0 failed, 0 pending");

      // A gateway that changes an event and recomputes everything it can: the event id, the
      // submission's tree and proofs. It cannot sign the new root with the factory's key.
      const evil = await startProxy(async (req, body) => {
        if (!/\/evidence/.test(req.url ?? "")) return null;
        const bundle = JSON.parse(body.toString("utf8")) as EvidenceBundle;
        const victim = bundle.events.find((e) => (e.body as { bizStep: string }).bizStep === "inspecting")!;
        const submission = bundle.submissions[victim.submission]!;
        const listed = (await (
          await fetch(`${t.url}/api/v1/submissions/${victim.submission}`, { headers: bearer(t.adminKey) })
        ).json()) as { eventIds: string[] };
        (victim.body as { disposition: string }).disposition = "non_conformant";
        const forged = canonicalSha256(victim.body);
        const ids = listed.eventIds.map((id) => (id === victim.eventId ? forged : id));
        const tree = submissionTree(ids);
        for (const e of bundle.events.filter((x) => x.submission === victim.submission)) {
          if (e === victim) e.eventId = forged;
          e.proof = tree.proof(ids.indexOf(e.eventId));
        }
        submission.root = tree.root;
        return { status: 200, body: JSON.stringify(bundle) };
      });
      try {
        const caught = await yutrace("garments", [
          "verify",
          `${evil.url}/01/06938850701010/10/YP2611-S01`,
          "--ledger",
          t.gateway.ledger.address,
        ]);
        expect(caught.code, caught.stdout + caught.stderr).to.equal(1);
        expect(caught.stdout).to.match(/Verdict: FAILED — 2 passed, 2 failed/);
        expect(caught.stdout).to.match(new RegExp(`✘ signature: signed by 0x[0-9a-fA-F]{40}, not by ${account}`, "i"));
      } finally {
        await evil.close();
      }
    });
  });

  describe("labels and single events", function () {
    it("issues serials and prints them as a PDF label sheet with a progress bar", async function () {
      const out = path.join(dir, "labels.pdf");
      const run = await ok("hotpot", ["labels", "06938850101018/HG20261117-01", "--count", "50", "--out", out]);
      expect(run.stdout).to.contain("50 labels of 06938850101018/HG20261117-01 written");
      expect(run.stderr).to.match(/printing labels \[#+\] 2\/2 pages 100%/);
      const pdf = await readFile(out);
      expect(pdf.subarray(0, 5).toString()).to.equal("%PDF-");
      expect(pdf.toString("latin1").match(/\/Type \/Page\b/g)).to.have.length(2);
      const serials = await request(t.url)
        .get(`/api/v1/batches/${batchIdOf("06938850101018", "HG20261117-01")}/serials`)
        .set(bearer(orgs.hotpot.apiKey));
      expect(serials.text.trim().split(/\r?\n/)).to.have.length(51);
      const bad = await yutrace("hotpot", ["labels", "06938850101018/HG20261117-01", "--count", "0", "--out", out]);
      expect(bad.code).to.equal(2);
    });

    it("uploads an inspection report and records the inspection that names it", async function () {
      const file = path.join(dir, "report.pdf");
      await writeFile(file, pdfBytes("CQFQ-2026-1188 牛油 GB 10146"));
      const upload = await ok("hotpot", ["certificates", "upload", file]);
      const sha256 = /sha256 ([0-9a-f]{64})/.exec(upload.stdout)![1]!;
      expect(sha256).to.equal(
        createHash("sha256")
          .update(await readFile(file))
          .digest("hex"),
      );
      const run = await ok("hotpot", ["events", "add", "--batch", "06938850101186/CL20261119-01", "--step", "检验", "--disposition", "合格", "--time", `${dateIn(-1)} 11:00`, "--quantity", "2", "--unit", "千克", "--cert-hash", sha256, "--cert-issuer", "重庆市食品质量检验检测中心", "--cert-standard", "GB 10146", "--cert-result", "合格", "--cert-number", "CQFQ-2026-1188"]); // prettier-ignore
      const id = /event id +(0x[0-9a-f]{64})/.exec(run.stdout)![1]!;
      const event = (await request(t.url).get(`/api/v1/events/${id}`).set(bearer(t.adminKey))).body.event;
      expect(event.certificationInfo).to.deep.equal({
        documentHash: sha256,
        issuer: "重庆市食品质量检验检测中心",
        standard: "GB 10146",
        result: "conformant",
        certificateNumber: "CQFQ-2026-1188",
      });
      const notPdf = await yutrace("hotpot", ["certificates", "upload", path.join(EXAMPLES, "garments", "events.csv")]);
      expect(notPdf.code).to.equal(2);
    });

    it("records one event from options, and refuses bad options naming them", async function () {
      const run = await ok("hotpot", [
        "events",
        "add",
        "--batch",
        "06938850101186/CL20261118-01",
        "--step",
        "入库",
        "--time",
        `${dateIn(-1)} 10:00`,
        "--quantity",
        "400",
        "--unit",
        "千克",
        "--district",
        "巴南区",
        "--temperature",
        "4.5",
      ]);
      const id = /event id +(0x[0-9a-f]{64})/.exec(run.stdout)![1]!;
      const event = (await request(t.url).get(`/api/v1/events/${id}`).set(bearer(t.adminKey))).body;
      expect(event.event).to.deep.include({
        bizStep: "storing",
        eventTime: `${dateIn(-1)}T10:00:00+08:00`,
        action: "OBSERVE",
      });
      const bad = await yutrace("hotpot", [
        "events",
        "add",
        "--batch",
        "06938850101186/CL20261118-01",
        "--step",
        "storing",
        "--time",
        "2026-11-20 25:00",
        "--quantity",
        "0",
        "--unit",
        "KGM",
      ]);
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.contain("--quantity: must be more than 0").and.to.contain("--time:");
    });
  });
});
