/**
 * Inspections against a whole running gateway (its own hardhat node, ledger, indexer, anchorer):
 * certificate documents uploaded, served back byte for byte and refused once tampered with; an
 * inspection naming a certificate that was never uploaded refused; a non-conformant inspection
 * holding its batch on-chain, which stops shipments until a regulator releases it; and the hold
 * service keeping a hold while the chain is away and putting it on-chain once it is back.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { HDNodeWallet, JsonRpcProvider, id } from "ethers";
import pino from "pino";
import request from "supertest";

import { LedgerClient } from "../../server/chain/ledger-client";
import { freePort } from "../../server/chain/local-node";
import { inspectionReportPdf } from "../../server/demo/inspection-report";
import { batchIdOf } from "../../server/domain/batch-id";
import { uscc } from "../../server/domain/identifiers";
import type { Gateway } from "../../server/gateway";
import { MAX_CERTIFICATE_BYTES } from "../../server/services/certificates";
import { HoldService, type HoldView } from "../../server/services/holds";
import type { TraceView } from "../../server/services/trace";
import { keys } from "../../server/store/keys";
import type { PendingHold } from "../../server/store/records";
import { Store } from "../../server/store/store";
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
  registerBatch,
  registerProduct,
  startTestGateway,
  uploadCertificate,
  waitFor,
  type BatchKey,
  type TestGateway,
  type TestOrg,
} from "../helpers/gateway";

const NOW = new Date();
const compact = (offsetDays: number) => dateIn(offsetDays, NOW).replaceAll("-", "");
const at = (offsetDays: number, hour: number) => cstTime(offsetDays, hour, 0, NOW);
const BatchStatus = { Active: 1n, Held: 2n } as const;

const LOTS = {
  /** Passes its inspection. */
  passed: { gtin: PRODUCTS.hotpotBase.gtin, lot: `BN${compact(-8)}-P` },
  /** Fails its inspection, is held, then released. */
  failed: { gtin: PRODUCTS.hotpotBase.gtin, lot: `BN${compact(-8)}-F` },
  /** Its hold waits for an organisation that keeps its own key. */
  unsigned: { gtin: PRODUCTS.hotpotBase.gtin, lot: `BN${compact(-8)}-S` },
  /** Held by a hold service whose chain is away for a while. */
  outage: { gtin: PRODUCTS.hotpotBase.gtin, lot: `BN${compact(-8)}-O` },
} as const satisfies Record<string, BatchKey>;
type LotKey = keyof typeof LOTS;
const batchId = (key: LotKey) => batchIdOf(LOTS[key].gtin, LOTS[key].lot);
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** A real certificate: the lab's report as a PDF. */
const reportPdf = (reportNumber: string, conformant: boolean) =>
  inspectionReportPdf({
    lab: ORGANISATIONS.inspector.name,
    reportNumber,
    product: "重庆老火锅底料 500g",
    lot: LOTS.failed.lot,
    producer: ORGANISATIONS.producer.name,
    sampledOn: dateIn(-7, NOW),
    issuedOn: dateIn(-6, NOW),
    standard: "GB 2762-2022",
    items: [
      { item: "铅 (以 Pb 计)", limit: "≤ 1.0 mg/kg", result: conformant ? "0.1 mg/kg" : "1.8 mg/kg", conformant },
    ],
    conformant,
  });

/** A TCP relay to the chain that can be taken down (connections refused) and brought back. */
async function chainRelay(target: URL): Promise<{ url: string; down(): Promise<void>; up(): Promise<void> }> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  const up = async () => {
    server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        socket.on("error", () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));
  };
  const down = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = null;
  };
  await up();
  return { url: `http://127.0.0.1:${port}`, up, down };
}

describe("inspections: certificates, holds on non-conformant results, and a regulator's release", function () {
  this.timeout(180_000);

  let t: TestGateway;
  let gateway: Gateway;
  const orgs = {} as Record<"producer" | "inspector" | "logistics" | "regulator" | "otherProducer", TestOrg>;
  const q = (key: LotKey, amount: number) => quantity(gateway.config.publicUrl, LOTS[key], amount, "XBX");
  const api = () => request(t.url);

  const submit = (org: TestOrg, events: object[]) =>
    api().post("/api/v1/events").set(bearer(org.apiKey)).send({ events });
  const inspection = (key: LotKey, documentHash: string, result: "conformant" | "non_conformant", day = -6) =>
    objectEvent("inspecting", at(day, 10), [q(key, 6)], {
      disposition: result,
      bizLocation: { district: "渝北区" },
      certificationInfo: {
        documentHash,
        issuer: orgs.inspector.name,
        standard: "GB 2762-2022",
        result,
        certificateNumber: `YW-${key}`,
      },
    });
  const shipment = (key: LotKey, day: number) =>
    objectEvent("shipping", at(day, 8), [q(key, 100)], {
      disposition: "in_transit",
      destinationList: destination(orgs.logistics),
    });
  const certificateKeys = async () => (await gateway.store.certificates.keys().all()).sort();
  const onChainStatus = async (key: LotKey) => (await gateway.ledger.ledger.getBatch(batchId(key))).status;

  before(async function () {
    t = await startTestGateway();
    gateway = t.gateway;
    for (const key of ["producer", "inspector", "logistics", "regulator", "otherProducer"] as const) {
      orgs[key] = await createOrganisation(t, ORGANISATIONS[key]);
    }
    await registerProduct(t, orgs.producer, PRODUCTS.hotpotBase);
    for (const key of Object.keys(LOTS) as LotKey[]) {
      await registerBatch(t, orgs.producer, {
        ...LOTS[key],
        quantity: { value: 1000, unit: "XBX" },
        productionDate: dateIn(-8, NOW),
      });
    }
    const commissioned = await submit(
      orgs.producer,
      (Object.keys(LOTS) as LotKey[]).map((key) =>
        objectEvent("commissioning", at(-8, 17), [q(key, 1000)], { disposition: "active" }),
      ),
    );
    expect(commissioned.status, JSON.stringify(commissioned.body)).to.equal(202);
  });

  after(async function () {
    await t?.stop();
  });

  describe("certificate documents", function () {
    let pdf: Buffer;

    before(async function () {
      pdf = await reportPdf("YW-2026-1101", true);
    });

    it("stores an uploaded PDF under its SHA-256 (201), and answers 200 with the same body the second time", async function () {
      const first = await api()
        .post("/api/v1/certificates")
        .set(bearer(orgs.inspector.apiKey))
        .set("Content-Type", "application/pdf")
        .send(pdf);
      expect(first.status, JSON.stringify(first.body)).to.equal(201);
      const url = `${gateway.config.publicUrl}/certificates/${sha256(pdf)}`;
      expect(first.body).to.deep.equal({
        certificate: { sha256: sha256(pdf), contentType: "application/pdf", size: pdf.length, url },
      });
      expect(first.headers.location).to.equal(url);

      const again = await api()
        .post("/api/v1/certificates")
        .set(bearer(orgs.producer.apiKey))
        .set("Content-Type", "application/pdf; charset=binary")
        .send(pdf);
      expect(again.status).to.equal(200);
      expect(again.body).to.deep.equal(first.body);
      const info = await gateway.store.certificates.get(keys.certificateInfo(sha256(pdf)), { valueEncoding: "json" });
      expect(info).to.deep.include({ sha256: sha256(pdf), size: pdf.length, uploadedBy: orgs.inspector.orgId });
    });

    it("serves the document publicly, byte for byte, with its type, its hash as strong ETag and its digest", async function () {
      const res = await api()
        .get(`/certificates/${sha256(pdf)}`)
        .buffer(true)
        .parse((response, done) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => done(null, Buffer.concat(chunks)));
        });
      expect(res.status).to.equal(200);
      expect(res.headers["content-type"]).to.equal("application/pdf");
      expect(Buffer.compare(res.body as Buffer, pdf)).to.equal(0);
      expect(sha256(res.body as Buffer)).to.equal(sha256(pdf));
      expect(res.headers.etag).to.equal(`"${sha256(pdf)}"`);
      const base64 = Buffer.from(sha256(pdf), "hex").toString("base64");
      expect(res.headers["repr-digest"]).to.equal(`sha-256=:${base64}:`);
      expect(res.headers.digest).to.equal(`sha-256=${base64}`);

      const cached = await api()
        .get(`/certificates/${sha256(pdf)}`)
        .set("If-None-Match", `"${sha256(pdf)}"`);
      expect(cached.status).to.equal(304);
      expectError(await api().get(`/certificates/${"0".repeat(64)}`), 404, "unknown_certificate");
      expectError(await api().get("/certificates/not-a-hash"), 400, "invalid_request");
    });

    it("takes PNG and JPEG images too", async function () {
      const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from("IHDR")]);
      const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from("JFIF")]);
      for (const [bytes, type] of [
        [png, "image/png"],
        [jpeg, "image/jpeg"],
      ] as const) {
        const certificate = await uploadCertificate(t, orgs.regulator, bytes, type);
        expect(certificate).to.include({ sha256: sha256(bytes), contentType: type, size: bytes.length });
        const res = await api().get(`/certificates/${certificate.sha256}`);
        expect(res.status).to.equal(200);
        expect(res.headers["content-type"]).to.equal(type);
      }
    });

    it("refuses other types, an empty or mislabelled body, one over 10 MB and the wrong callers, storing nothing", async function () {
      const before = await certificateKeys();
      const post = (apiKey: string, type: string | null, body: Buffer | string) => {
        const req = api().post("/api/v1/certificates").set(bearer(apiKey));
        if (type) req.set("Content-Type", type);
        return req.send(body);
      };
      const { inspector } = orgs;
      expect(
        expectError(await post(inspector.apiKey, "text/html", "<h1>x</h1>"), 415, "unsupported_certificate_type")
          .message,
      ).to.contain("text/html");
      expectError(await post(inspector.apiKey, "application/json", '{"a":1}'), 415, "unsupported_certificate_type");
      expectError(await post(inspector.apiKey, null, Buffer.from("%PDF-1.7")), 415, "unsupported_certificate_type");
      expectError(await post(inspector.apiKey, "application/pdf", Buffer.alloc(0)), 400, "empty_certificate");
      const mislabelled = await post(inspector.apiKey, "application/pdf", Buffer.from("GIF89a not a pdf"));
      expect(expectError(mislabelled, 400, "certificate_type_mismatch").message).to.contain("PDF");
      const huge = Buffer.alloc(MAX_CERTIFICATE_BYTES + 1, 0x20);
      huge.write("%PDF-1.7\n");
      expectError(await post(inspector.apiKey, "application/pdf", huge), 413, "certificate_too_large");
      expectError(await post(orgs.logistics.apiKey, "application/pdf", pdfBytes("x")), 403, "role_not_allowed");
      expectError(await post(t.adminKey, "application/pdf", pdfBytes("x")), 403, "organisation_required");
      expectError(await api().post("/api/v1/certificates").send(pdfBytes("x")), 401, "unauthenticated");
      expect(await certificateKeys()).to.deep.equal(before);
    });

    it("refuses to serve a document whose stored bytes no longer match its hash (409), until the original is uploaded again", async function () {
      const bytes = await reportPdf("YW-2026-1102", true);
      const { sha256: hash } = await uploadCertificate(t, orgs.inspector, bytes);
      const forged = Buffer.from(bytes);
      forged[forged.length - 20] ^= 0x01;
      await gateway.store.certificates.put(keys.certificate(hash), forged);

      const refused = expectError(await api().get(`/certificates/${hash}`), 409, "certificate_corrupted");
      expect(refused.details).to.deep.equal({ sha256: hash });
      await gateway.store.certificates.del(keys.certificate(hash));
      expectError(await api().get(`/certificates/${hash}`), 409, "certificate_corrupted");

      const repaired = await api()
        .post("/api/v1/certificates")
        .set(bearer(orgs.inspector.apiKey))
        .set("Content-Type", "application/pdf")
        .send(bytes);
      expect(repaired.status).to.equal(200);
      const served = await api().get(`/certificates/${hash}`).buffer(true);
      expect(served.status).to.equal(200);
      expect(Buffer.compare(await gateway.store.certificates.get(keys.certificate(hash)), bytes)).to.equal(0);
    });
  });

  describe("inspection events", function () {
    it("accepts an inspection naming an uploaded certificate, and links the certificate from the trace page", async function () {
      const pdf = await reportPdf("YW-2026-1103", true);
      const { sha256: hash } = await uploadCertificate(t, orgs.inspector, pdf);
      const accepted = await submit(orgs.inspector, [inspection("passed", hash, "conformant")]);
      expect(accepted.status, JSON.stringify(accepted.body)).to.equal(202);

      const link = `/01/${LOTS.passed.gtin}/10/${LOTS.passed.lot}`;
      const view = (await api().get(link).set("Accept", "application/json")).body as TraceView;
      const entry = view.timeline.find((e) => e.certificate)!;
      expect(entry.certificate).to.deep.include({
        documentHash: hash,
        url: `${gateway.config.publicUrl}/certificates/${hash}`,
      });
      expect(view.held).to.equal(false);
      const page = await api().get(link).set("Accept", "text/html");
      expect(page.text).to.contain(`<a href="/certificates/${hash}">查看证书</a>`);
    });

    it("refuses (422 certificate_not_uploaded) an inspection whose certificate was never uploaded", async function () {
      const before = await gateway.store.events.keys().all();
      const missing = sha256(pdfBytes("never uploaded"));
      const res = await submit(orgs.inspector, [inspection("passed", missing, "conformant", -5)]);
      const error = expectError(res, 422, "events_rejected");
      expect((error.details as { problems: object[] }).problems).to.deep.include({
        index: 0,
        code: "certificate_not_uploaded",
        message: `no certificate with SHA-256 ${missing} was uploaded: POST it to /api/v1/certificates first`,
        path: "certificationInfo.documentHash",
      });
      expect(await gateway.store.events.keys().all()).to.deep.equal(before);
    });
  });

  describe("holds and releases", function () {
    it("holds a batch on-chain after a non-conformant inspection, and refuses to ship it", async function () {
      const { sha256: hash } = await uploadCertificate(t, orgs.inspector, await reportPdf("YW-2026-1104", false));
      const accepted = await submit(orgs.inspector, [inspection("failed", hash, "non_conformant")]);
      expect(accepted.status, JSON.stringify(accepted.body)).to.equal(202);
      const eventId = accepted.body.events[0].eventId as string;
      // Held from the moment the inspection is accepted, whether or not the hold is on-chain yet.
      const early = expectError(await submit(orgs.producer, [shipment("failed", -5)]), 422, "events_rejected");
      expect((early.details as { problems: { code: string }[] }).problems.map((p) => p.code)).to.include("batch_held");

      await gateway.holds.settled();
      expect(await onChainStatus("failed")).to.equal(BatchStatus.Held);
      expect(await gateway.store.journal.get(keys.pendingHold(batchId("failed"), eventId))).to.equal(undefined);
      const batch = await api()
        .get(`/api/v1/batches/${batchId("failed")}`)
        .set(bearer(orgs.regulator.apiKey));
      expect(batch.body.batch.status).to.equal("held");
      const change = batch.body.batch.statusHistory.at(-1);
      expect(change).to.deep.include({ status: "held", previous: "active", byOrg: orgs.inspector.orgId });
      const reason = (await gateway.store.batches.get(keys.reason(change.reasonHash))) as string;
      expect(reason).to.match(/^检验不合格 \(.+, .+\)$/);

      const refused = expectError(await submit(orgs.producer, [shipment("failed", -5)]), 422, "events_rejected");
      expect((refused.details as { problems: { code: string }[] }).problems.map((p) => p.code)).to.include(
        "batch_held",
      );
      const page = await api().get(`/01/${LOTS.failed.gtin}/10/${LOTS.failed.lot}`).set("Accept", "text/html");
      expect(page.text).to.contain('class="banner hold" role="alert"');
      expect(page.text).to.contain("暂停销售");
      expect(page.text).to.contain("检验不合格 (");
    });

    it("lets only a regulator release a batch (403 for others), and the admin and regulators list pending holds", async function () {
      for (const org of [orgs.producer, orgs.inspector]) {
        const res = await api()
          .post(`/api/v1/batches/${batchId("failed")}/release`)
          .set(bearer(org.apiKey))
          .send({ reason: "复检合格" });
        expectError(res, 403, "role_not_allowed");
      }
      expect(await onChainStatus("failed")).to.equal(BatchStatus.Held);
      for (const apiKey of [orgs.regulator.apiKey, t.adminKey]) {
        const res = await api().get("/api/v1/holds").set(bearer(apiKey));
        expect(res.status).to.equal(200);
        expect(res.body).to.deep.equal({ holds: [] });
      }
      expectError(await api().get("/api/v1/holds").set(bearer(orgs.producer.apiKey)), 403, "role_not_allowed");
    });

    it("releases a held batch on-chain with the regulator's reason, after which it ships again", async function () {
      const reason = "复检合格（报告 YW-2026-1120），解除暂扣";
      const res = await api()
        .post(`/api/v1/batches/${batchId("failed")}/release`)
        .set(bearer(orgs.regulator.apiKey))
        .send({ reason });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.clearedHolds).to.equal(0);
      expect(res.body.batch).to.deep.include({ batchId: batchId("failed"), status: "active" });
      expect(res.body.batch.statusHistory.at(-1)).to.deep.include({
        status: "active",
        previous: "held",
        byOrg: orgs.regulator.orgId,
        reasonHash: id(reason),
      });
      expect(await gateway.store.batches.get(keys.reason(id(reason)))).to.equal(reason);
      expect(await onChainStatus("failed")).to.equal(BatchStatus.Active);

      const shipped = await submit(orgs.producer, [shipment("failed", -4)]);
      expect(shipped.status, JSON.stringify(shipped.body)).to.equal(202);
    });

    it("answers 409 batch_not_held when the batch is not held", async function () {
      const res = await api()
        .post(`/api/v1/batches/${batchId("passed")}/release`)
        .set(bearer(orgs.regulator.apiKey))
        .send({ reason: "无需解除" });
      const error = expectError(res, 409, "batch_not_held");
      expect(error.details).to.deep.include({ ledgerError: "TraceLedgerInvalidStatusTransition" });
      expect(await onChainStatus("passed")).to.equal(BatchStatus.Active);
    });

    it("keeps a hold it cannot sign (self-custody inspector) listed and blocking, until a regulator clears it", async function () {
      // Onboarded with an account of its own: the gateway keeps no key for it.
      const created = await api()
        .post("/api/v1/organisations")
        .set(bearer(t.adminKey))
        .send({
          name: "重庆山城第三方检测有限公司",
          uscc: uscc("91500108MA5UQ2PX7"),
          district: "南岸区",
          roles: ["inspector"],
          account: HDNodeWallet.createRandom().address,
        });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      expect(created.body.organisation.custody).to.equal("self");
      const orgId = created.body.organisation.orgId as string;
      const hold: PendingHold = {
        batchId: batchId("unsigned"),
        orgId,
        eventId: id("an inspection of the self-custody lab"),
        reason: "检验不合格 non-conformant inspection: GB 2762-2022",
        requestedAt: new Date().toISOString(),
      };
      await gateway.store.write([Store.put(gateway.store.journal, keys.pendingHold(hold.batchId, hold.eventId), hold)]);
      gateway.holds.notify();
      await gateway.holds.settled();

      const listed = await api().get("/api/v1/holds").set(bearer(orgs.regulator.apiKey));
      expect(listed.body.holds).to.have.length(1);
      expect(listed.body.holds[0] as HoldView).to.deep.include({
        ...hold,
        state: "awaiting_signature",
        awaitingSignature: true,
      });
      expect(await onChainStatus("unsigned")).to.equal(BatchStatus.Active);
      const refused = expectError(await submit(orgs.producer, [shipment("unsigned", -5)]), 422, "events_rejected");
      expect((refused.details as { problems: { code: string }[] }).problems.map((p) => p.code)).to.include(
        "batch_held",
      );

      const released = await api()
        .post(`/api/v1/batches/${batchId("unsigned")}/release`)
        .set(bearer(orgs.regulator.apiKey))
        .send({ reason: "复核：该检验结论不予采信" });
      expect(released.status, JSON.stringify(released.body)).to.equal(200);
      expect(released.body).to.deep.include({ clearedHolds: 1 });
      expect(released.body.batch.status).to.equal("active");
      expect((await api().get("/api/v1/holds").set(bearer(t.adminKey))).body.holds).to.deep.equal([]);
      const shipped = await submit(orgs.producer, [shipment("unsigned", -4)]);
      expect(shipped.status, JSON.stringify(shipped.body)).to.equal(202);
    });
  });

  describe("the hold service while the chain is away", function () {
    let dir: string;
    let store: Store;
    let holds: HoldService | undefined;

    before(async function () {
      dir = await mkdtemp(path.join(os.tmpdir(), "yutrace-holds-"));
      store = await Store.open(dir);
    });

    after(async function () {
      await holds?.stop();
      await store?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("keeps the hold pending while the chain is unreachable and puts it on-chain once it is back", async function () {
      const relay = await chainRelay(new URL(gateway.chainUrl));
      const provider = new JsonRpcProvider(relay.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
      try {
        const account = (i: number) =>
          HDNodeWallet.fromPhrase(
            "test test test test test test test test test test test junk",
            undefined,
            `m/44'/60'/0'/0/${i}`,
          );
        // Its own store and relayer account, so that it shares no txlog or nonces with the gateway's client.
        const ledger = await LedgerClient.connect({
          provider,
          store,
          ledgerAddress: gateway.ledger.address,
          admin: account(0),
          relayer: account(7),
        });
        await relay.down();
        const hold: PendingHold = {
          batchId: batchId("outage"),
          orgId: orgs.inspector.orgId,
          eventId: id("an inspection during the outage"),
          reason: "检验不合格 non-conformant inspection: GB 2762-2022 (outage)",
          requestedAt: new Date().toISOString(),
        };
        await store.write([Store.put(store.journal, keys.pendingHold(hold.batchId, hold.eventId), hold)], {
          sync: true,
        });
        holds = new HoldService({
          store,
          ledger,
          registry: gateway.registry,
          indexed: (block) => gateway.indexer.syncTo(block, { timeoutMs: 30_000 }),
          logger: pino({ level: "silent" }),
          retry: { initialMs: 50, maxMs: 400 },
        });
        holds.start();

        const failing = await waitFor("three failed attempts", async () => {
          const [view] = await holds!.list();
          return view && view.attempts >= 3 ? view : undefined;
        });
        expect(failing).to.deep.include({ ...hold, state: "queued" });
        expect(failing.lastError).to.contain("unreachable");
        expect(await store.journal.get(keys.pendingHold(hold.batchId, hold.eventId))).to.deep.equal(hold);
        expect(await onChainStatus("outage")).to.equal(BatchStatus.Active);

        await relay.up();
        await holds.settled();
        expect(await holds.list()).to.deep.equal([]);
        expect(await onChainStatus("outage")).to.equal(BatchStatus.Held);
        const batch = await api()
          .get(`/api/v1/batches/${batchId("outage")}`)
          .set(bearer(orgs.regulator.apiKey));
        expect(batch.body.batch.status).to.equal("held");
        expect(batch.body.batch.statusHistory.at(-1)).to.deep.include({
          byOrg: orgs.inspector.orgId,
          reasonHash: id(hold.reason),
        });
        expect(await store.batches.get(keys.reason(id(hold.reason)))).to.equal(hold.reason);
      } finally {
        await holds?.stop();
        provider.destroy();
        await relay.down();
      }
    });

    it("takes up a pending hold again when it starts, and drops one whose batch is held on-chain already", async function () {
      const hold: PendingHold = {
        batchId: batchId("outage"),
        orgId: orgs.inspector.orgId,
        eventId: id("a second inspection of the held batch"),
        reason: "检验不合格 non-conformant inspection: second sample",
        requestedAt: new Date().toISOString(),
      };
      await gateway.store.write([Store.put(gateway.store.journal, keys.pendingHold(hold.batchId, hold.eventId), hold)]);
      const restarted = new HoldService({
        store: gateway.store,
        ledger: gateway.ledger,
        registry: gateway.registry,
        indexed: (block) => gateway.indexer.syncTo(block, { timeoutMs: 30_000 }),
        logger: pino({ level: "silent" }),
      });
      restarted.start();
      await restarted.settled();
      await restarted.stop();
      expect(await gateway.store.journal.get(keys.pendingHold(hold.batchId, hold.eventId))).to.equal(undefined);
      expect(await onChainStatus("outage")).to.equal(BatchStatus.Held);
    });
  });
});
