/**
 * Certificate upload quotas, on a real LevelDB: an organisation uploads at most its daily bytes of
 * new documents (days in China Standard Time); an upload that would go over is refused with 429
 * `certificate_quota_exceeded`, saying what was used, the limit and when it starts again, and stores
 * nothing; a document on file already costs nothing; other organisations and the next day are not
 * affected; concurrent uploads cannot both fit in what is left.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";

import { HttpError } from "../../server/http/errors";
import { CertificateService } from "../../server/services/certificates";
import { Store } from "../../server/store/store";

const pdf = (text: string, size: number) => Buffer.from(`%PDF-1.7\n% ${text}\n`.padEnd(size, "."), "latin1");
/** 23:30 on 26 November in Chongqing (15:30 UTC), and 00:30 the next day there. */
const LATE = new Date("2026-11-26T15:30:00Z");
const NEXT_DAY = new Date("2026-11-26T16:30:00Z");

describe("certificate upload quotas", function () {
  let dir: string;
  let store: Store;
  let certificates: CertificateService;

  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), "yutrace-certificates-"));
    store = await Store.open(path.join(dir, "store"));
    certificates = new CertificateService(store, "https://trace.example", 1000);
  });

  afterEach(async function () {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function everything(): Promise<string> {
    const entries = await store.certificates.iterator({ valueEncoding: "buffer" }).all();
    return JSON.stringify(entries.map(([k, v]) => [k, (v as Buffer).toString("base64")]));
  }

  async function refusal(upload: Promise<unknown>): Promise<HttpError> {
    const error = await upload.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(HttpError);
    return error as HttpError;
  }

  it("refuses the upload that would go over the day's bytes, with 429 and the numbers, storing nothing", async function () {
    await certificates.upload(pdf("report 1", 600), "application/pdf", "lab", LATE);
    const before = await everything();
    const error = await refusal(certificates.upload(pdf("report 2", 600), "application/pdf", "lab", LATE));
    expect(error.status).to.equal(429);
    expect(error.code).to.equal("certificate_quota_exceeded");
    expect(error.details).to.deep.equal({
      usedBytes: 600,
      limitBytes: 1000,
      resetsAt: "2026-11-26T16:00:00.000Z",
    });
    expect(await everything(), "the store after the refusal").to.equal(before);
    // What still fits, fits.
    expect((await certificates.upload(pdf("report 3", 400), "application/pdf", "lab", LATE)).created).to.equal(true);
  });

  it("charges nothing for a document on file already, nor other organisations or the next day", async function () {
    const report = pdf("report 1", 900);
    await certificates.upload(report, "application/pdf", "lab", LATE);
    expect((await certificates.upload(report, "application/pdf", "lab", LATE)).created).to.equal(false);
    expect((await certificates.upload(pdf("other lab", 900), "application/pdf", "other-lab", LATE)).created).to.equal(
      true,
    );
    expect((await refusal(certificates.upload(pdf("report 2", 200), "application/pdf", "lab", LATE))).status).to.equal(
      429,
    );
    expect((await certificates.upload(pdf("report 2", 200), "application/pdf", "lab", NEXT_DAY)).created).to.equal(
      true,
    );
  });

  it("lets only as many concurrent uploads through as fit", async function () {
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => certificates.upload(pdf(`report ${i}`, 300), "application/pdf", "lab", LATE)),
    );
    expect(results.filter((r) => r.status === "fulfilled")).to.have.length(3);
    for (const r of results) {
      if (r.status === "rejected") expect((r.reason as HttpError).code).to.equal("certificate_quota_exceeded");
    }
  });
});
