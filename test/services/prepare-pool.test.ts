/**
 * Submissions prepared on worker threads (PreparePool) come out exactly as prepared on the main
 * thread: the same canonical texts, ids and request hash, the same refusals with the same codes
 * and details; a worker that dies fails only what it held and is replaced.
 */
import { expect } from "chai";

import { batchIdOf } from "../../server/domain/batch-id";
import { canonicalize, canonicalSha256 } from "../../server/domain/canonical";
import { ruleView, type TraceEvent } from "../../server/domain/events";
import { HttpError } from "../../server/http/errors";
import {
  canonicalBody,
  parseJsonBody,
  prepareSubmission,
  type PreparedSubmission,
} from "../../server/services/prepare";
import { PreparePool } from "../../server/services/prepare-pool";
import { sensorReading } from "../../bench/lib/events";

const LINK = "https://yutrace.cq.cn/01/06901234567892/10/B1";
const bytes = (value: unknown) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

/** What the main thread makes of the same bytes: the prepared submission, or the HttpError. */
function inline(raw: Uint8Array, withRequestHash: boolean): PreparedSubmission | HttpError {
  try {
    const { events: _events, ...prepared } = prepareSubmission(parseJsonBody(raw), withRequestHash);
    return prepared;
  } catch (error) {
    return error as HttpError;
  }
}

const asPlain = (error: HttpError) => ({
  status: error.status,
  code: error.code,
  message: error.message,
  details: error.details,
});

describe("PreparePool", function () {
  this.timeout(30_000);
  let pool: PreparePool;

  before(function () {
    pool = new PreparePool(2);
  });

  after(async function () {
    await pool.close();
  });

  it("prepares a submission exactly as the main thread does", async function () {
    const base = Date.now() - 86_400_000;
    const events = Array.from({ length: 50 }, (_, n) => sensorReading(n, LINK, base));
    for (const withRequestHash of [false, true]) {
      const raw = bytes({ events });
      const { ruleViews, ...prepared } = await pool.prepare(raw, withRequestHash);
      expect(prepared).to.deep.equal(inline(raw, withRequestHash));
      expect(prepared.hashes).to.have.length(50);
      expect(prepared.batchIds).to.deep.equal(Array.from({ length: 50 }, () => [batchIdOf("06901234567892", "B1")]));
      // What the main thread's rules read: those fields, and no other.
      const views = JSON.parse(ruleViews!) as Record<string, unknown>[];
      expect(views).to.have.length(50);
      views.forEach((view, n) => {
        expect(Object.keys(view).sort()).to.deep.equal(["bizStep", "eventTime", "quantityList", "type"]);
        expect(view.eventTime).to.equal(events[n]!.eventTime);
        expect(view.quantityList).to.deep.equal(events[n]!.quantityList);
      });
      expect(prepared.requestHash === null).to.equal(!withRequestHash);
      // The texts parse back to the events sent.
      expect(JSON.parse(`[${prepared.texts.join(",")}]`)).to.deep.equal(events);
    }
  });

  it("hashes a retried request's body as its canonical JSON, from the events' texts", function () {
    const base = Date.now() - 86_400_000;
    const events = Array.from({ length: 7 }, (_, n) => ({
      ...sensorReading(n, LINK, base),
      // Members out of order, text to escape, and characters outside the BMP, as clients send them.
      readPoint: { name: `冷库 "${n}" \\ 🌶️ ①`, district: "巴南区" },
    }));
    const signature = `0x${"ab".repeat(65)}`;
    for (const extra of [{}, { nonce: 0 }, { nonce: 12 }, { signature, nonce: 3 }, { signature }]) {
      const body = { ...extra, events };
      const prepared = prepareSubmission(parseJsonBody(bytes(body)), true);
      expect(prepared.problems).to.equal(null);
      expect(prepared.requestHash).to.equal(canonicalSha256(body));
      const withoutKey = prepareSubmission(parseJsonBody(bytes(body)), false);
      expect(withoutKey.requestHash).to.equal(null);
    }
    expect(canonicalBody(['{"a":1}', "[]"], 5, "0x01")).to.equal(
      canonicalize({ signature: "0x01", nonce: 5, events: [{ a: 1 }, []] }),
    );
  });

  it("sends whole events (no rule views) when one declares an error", async function () {
    const event = sensorReading(1, LINK, Date.now() - 86_400_000);
    const declaration = {
      ...event,
      errorDeclaration: { declarationTime: new Date().toISOString(), reason: "incorrect_data" },
    };
    const raw = bytes({ events: [sensorReading(2, LINK, Date.now() - 86_400_000), declaration] });
    const { ruleViews, ...prepared } = await pool.prepare(raw, false);
    expect(prepared.problems).to.equal(null);
    expect(ruleViews).to.equal(null);
    expect(() => ruleView(declaration as TraceEvent)).to.throw(TypeError, "checked whole");
  });

  it("refuses what the main thread refuses, with the same status, code, message and details", async function () {
    const event = sensorReading(1, LINK, Date.now() - 86_400_000);
    const refused = [
      "{not json",
      "42",
      { events: [] },
      { events: [event], extra: 1 },
      { events: Array.from({ length: 1001 }, () => event) },
      { events: [event], nonce: -1 },
      JSON.stringify({ events: [event] }).replace('"events":', '"events":' + "[".repeat(40)) + "]".repeat(40),
    ];
    for (const body of refused) {
      const raw = bytes(body);
      const expected = inline(raw, false);
      expect(expected).to.be.instanceOf(HttpError);
      const error = await pool.prepare(raw, false).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(body).slice(0, 60)).to.be.instanceOf(HttpError);
      expect(asPlain(error as HttpError)).to.deep.equal(asPlain(expected as HttpError));
    }
  });

  it("reports problems of the events themselves in the result, after which nothing is hashed", async function () {
    const good = sensorReading(1, LINK, Date.now() - 86_400_000);
    const raw = bytes({ events: [good, { ...good, bizStep: "dancing" }, { ...good, eventTime: "yesterday" }] });
    const { ruleViews, ...prepared } = await pool.prepare(raw, false);
    expect(prepared).to.deep.equal(inline(raw, false));
    expect(ruleViews).to.equal(null);
    expect(prepared.problems!.map((p) => [p.index, p.code, p.path])).to.deep.equal([
      [1, "invalid_event", "bizStep"],
      [2, "invalid_event", "eventTime"],
    ]);
    expect([prepared.texts, prepared.hashes]).to.deep.equal([[], []]);
  });

  it("fails what a dying worker held", async function () {
    // A worker that takes work and never answers, then dies.
    const silent = new PreparePool(1, () => undefined, "setInterval(() => {}, 1000);");
    try {
      const held = silent.prepare(bytes({ events: [] }), false);
      const workers = (silent as unknown as { workers: { worker: { terminate(): Promise<number> } }[] }).workers;
      await workers[0]!.worker.terminate();
      const error = await held.then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(error?.message).to.match(/prepare worker exited/);
    } finally {
      await silent.close();
    }
  });

  it("replaces a worker that died and goes on preparing", async function () {
    const crashes: Error[] = [];
    const small = new PreparePool(1, (error) => crashes.push(error));
    try {
      const raw = bytes({ events: [sensorReading(1, LINK, Date.now() - 86_400_000)] });
      expect((await small.prepare(raw, false)).hashes).to.have.length(1);
      const workers = (small as unknown as { workers: { worker: { terminate(): Promise<number> } }[] }).workers;
      await workers[0]!.worker.terminate();
      expect(crashes).to.have.length(1);
      expect([small.size, small.usable]).to.deep.equal([1, true]);
      expect((await small.prepare(raw, false)).hashes).to.have.length(1);
    } finally {
      await small.close();
    }
    expect(small.usable).to.equal(false);
    await small.prepare(new Uint8Array(), false).then(
      () => expect.fail("a closed pool prepared"),
      (e: Error) => expect(e.message).to.equal("the prepare pool is closed"),
    );
  });

  it("stops respawning workers that die before answering anything, and says it is out of use", async function () {
    const crashes: Error[] = [];
    const broken = new PreparePool(1, (error) => crashes.push(error), 'throw new Error("cannot load");');
    try {
      // Workers start with the first submission; that one fails with its worker.
      expect(broken.size).to.equal(0);
      await broken.prepare(bytes({ events: [] }), false).then(
        () => expect.fail("a worker that cannot load prepared"),
        (e: Error) => expect(e.message).to.equal("cannot load"),
      );
      const deadline = Date.now() + 10_000;
      while (broken.usable && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(broken.usable).to.equal(false);
      expect(crashes).to.have.length(3);
      expect(crashes[0]!.message).to.equal("cannot load");
      await broken.prepare(bytes({ events: [] }), false).then(
        () => expect.fail("a broken pool prepared"),
        (e: Error) => expect(e.message).to.match(/keep dying before they answer: cannot load/),
      );
      // Given time, it does not start more.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(crashes).to.have.length(3);
    } finally {
      await broken.close();
    }
  });
});
