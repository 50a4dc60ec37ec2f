/**
 * Bad input through HTTP against a whole running gateway: every refusal is the right 4xx with a
 * JSON `{error:{code,message}}` body that names the problem, no stack trace or file path ever
 * leaves the server, and a refused request stores nothing — every key and value of the store and
 * the txlog's length are the same before and after.
 */
import { expect } from "chai";
import request, { type Response } from "supertest";

import { batchIdOf } from "../../server/domain/batch-id";
import { uscc } from "../../server/domain/identifiers";
import type { Gateway } from "../../server/gateway";
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
  quantity,
  quiesce,
  registerBatch,
  registerProduct,
  startTestGateway,
  storeSnapshot,
  type BatchInput,
  type StoreSnapshot,
  type TestGateway,
  type TestOrg,
} from "../helpers/gateway";

const NOW = new Date();
const compact = (offsetDays: number) => dateIn(offsetDays, NOW).replaceAll("-", "");
const at = (offsetDays: number, hour: number, minute = 0) => cstTime(offsetDays, hour, minute, NOW);

const LOTS = {
  /** Commissioned by its producer and shipped to the carrier. */
  shipped: { gtin: PRODUCTS.hotpotBase.gtin, lot: `BN${compact(-10)}-A` },
  /** Recalled by its producer. */
  recalled: { gtin: PRODUCTS.hotpotBase.gtin, lot: `BN${compact(-9)}-R` },
  /** Another producer's chili. */
  chili: { gtin: PRODUCTS.chili.gtin, lot: `JJ${compact(-20)}` },
} as const;
type LotKey = keyof typeof LOTS;
const batchId = (key: LotKey) => batchIdOf(LOTS[key].gtin, LOTS[key].lot);

const BATCHES: Record<LotKey, BatchInput> = {
  shipped: { ...LOTS.shipped, quantity: { value: 5000, unit: "XBX" }, productionDate: dateIn(-10, NOW) },
  recalled: { ...LOTS.recalled, quantity: { value: 3000, unit: "XBX" }, productionDate: dateIn(-9, NOW) },
  chili: { ...LOTS.chili, quantity: { value: 2000, unit: "KGM" }, productionDate: dateIn(-20, NOW) },
};

/** A GTIN-14 whose last digit is not its check digit (the valid one ends in 3). */
const BAD_GTIN = PRODUCTS.hotpotBase.gtin.slice(0, 13) + String((Number(PRODUCTS.hotpotBase.gtin[13]) + 1) % 10);
/** A 统一社会信用代码 whose check character is wrong. */
const GOOD_USCC = uscc("91500112MA60T2Y73");
const BAD_USCC = GOOD_USCC.slice(0, 17) + (GOOD_USCC[17] === "0" ? "1" : "0");
const UNKNOWN_BATCH_ID = "0x" + "ab".repeat(32);

/** What can betray the server's internals: stack frames and source file paths. */
const STACK_FRAME = /^\s*at\s+\S+/m;
const SOURCE_PATH = /(?:[A-Za-z]:)?(?:[\\/][\w.@-]+)+\.(?:ts|js|cjs|mjs)\b|node_modules/;

interface Problem {
  index?: number;
  code?: string;
  path: string;
  message: string;
}

describe("HTTP API: bad input is refused, explained and never stored", function () {
  this.timeout(120_000);

  let t: TestGateway;
  let gateway: Gateway;
  const orgs = {} as Record<"producer" | "otherProducer" | "logistics" | "retailer" | "regulator", TestOrg>;
  /** Every error body seen, for the stack-trace check. */
  const errorBodies: string[] = [];
  let acceptedEvent: Record<string, unknown>;
  let acceptedShipment: Record<string, unknown>;
  const IDEMPOTENCY_KEY = `bn-${compact(-10)}-commissioning`;
  const q = (key: LotKey, amount: number, uom: string) => quantity(gateway.config.publicUrl, LOTS[key], amount, uom);
  const api = () => request(t.url);

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

  /**
   * Sends a request that must be refused with `status` / `code`; checks the body's shape, that it
   * carries no internals, and that the store and the txlog are unchanged. Returns the error.
   */
  async function refused(status: number, code: string, send: () => Promise<Response>) {
    const before = await storeSnapshot(gateway);
    const res = await send();
    errorBodies.push(res.text);
    const error = expectError(res, status, code);
    expect(res.text).not.to.match(STACK_FRAME);
    expect(res.text).not.to.match(SOURCE_PATH);
    // Give a wrongly started background write (anchor, index) the time to show.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await storeSnapshot(gateway);
    expect(changes(before, after), "the store changed").to.deep.equal({
      added: [],
      removed: [],
      changed: [],
      transactions: 0,
    });
    return error;
  }

  const problemsOf = (error: { details?: unknown }) => (error.details as { problems: Problem[] }).problems;
  const issuesOf = (error: { details?: unknown }) => error.details as Problem[];

  const postEvents = (org: TestOrg, body: unknown, idempotencyKey?: string) => {
    const req = api().post("/api/v1/events").set(bearer(org.apiKey));
    if (idempotencyKey !== undefined) req.set("Idempotency-Key", idempotencyKey);
    return req.send(body as object);
  };

  before(async function () {
    t = await startTestGateway();
    gateway = t.gateway;
    for (const key of ["producer", "otherProducer", "logistics", "retailer", "regulator"] as const) {
      orgs[key] = await createOrganisation(t, ORGANISATIONS[key]);
    }
    await registerProduct(t, orgs.producer, PRODUCTS.hotpotBase);
    await registerProduct(t, orgs.otherProducer, PRODUCTS.chili);
    await registerBatch(t, orgs.producer, BATCHES.shipped);
    await registerBatch(t, orgs.producer, BATCHES.recalled);
    await registerBatch(t, orgs.otherProducer, BATCHES.chili);
    const recall = await api()
      .post(`/api/v1/batches/${batchId("recalled")}/recall`)
      .set(bearer(orgs.producer.apiKey))
      .send({ reason: "自检发现包装密封不良" });
    expect(recall.status, recall.text).to.equal(200);

    acceptedEvent = objectEvent("commissioning", at(-10, 17), [q("shipped", 5000, "XBX")], {
      disposition: "active",
      bizLocation: { district: "巴南区" },
    });
    const first = await postEvents(orgs.producer, { events: [acceptedEvent] }, IDEMPOTENCY_KEY);
    expect(first.status, first.text).to.equal(202);
    acceptedShipment = objectEvent("shipping", at(-9, 8), [q("shipped", 1200, "XBX")], {
      disposition: "in_transit",
      destinationList: destination(orgs.logistics),
      bizLocation: { district: "巴南区" },
    });
    const second = await postEvents(orgs.producer, { events: [acceptedShipment] });
    expect(second.status, second.text).to.equal(202);
    await quiesce(gateway);
  });

  after(async function () {
    await t?.stop();
  });

  describe("identifiers", function () {
    it("refuses a product whose GTIN has a wrong check digit (400 invalid_request naming gtin)", async function () {
      const error = await refused(400, "invalid_request", () =>
        api()
          .post("/api/v1/products")
          .set(bearer(orgs.producer.apiKey))
          .send({ ...PRODUCTS.hotpotBase, gtin: BAD_GTIN }),
      );
      expect(error.message).to.equal("the product is not valid");
      expect(issuesOf(error)).to.deep.equal([{ path: "gtin", message: "must be a GTIN-14 with a valid check digit" }]);
    });

    it("refuses a batch whose GTIN has a wrong check digit (400 invalid_request naming gtin)", async function () {
      const error = await refused(400, "invalid_request", () =>
        api()
          .post("/api/v1/batches")
          .set(bearer(orgs.producer.apiKey))
          .send({ ...BATCHES.shipped, gtin: BAD_GTIN, lot: "BN-NEW-1" }),
      );
      expect(error.message).to.equal("the batch is not valid");
      expect(issuesOf(error)).to.deep.equal([{ path: "gtin", message: "must be a GTIN-14 with a valid check digit" }]);
    });

    it("refuses an organisation whose 统一社会信用代码 has a wrong check character (400 invalid_request naming uscc)", async function () {
      const error = await refused(400, "invalid_request", () =>
        api()
          .post("/api/v1/organisations")
          .set(bearer(t.adminKey))
          .send({ name: "重庆冷链物流有限公司", uscc: BAD_USCC, district: "渝北区", roles: ["logistics"] }),
      );
      expect(error.message).to.equal("the organisation is not valid");
      expect(issuesOf(error)).to.deep.equal([
        { path: "uscc", message: "must be a valid 统一社会信用代码 (18 characters)" },
      ]);
    });
  });

  describe("event rules", function () {
    it("rejects an event naming a batch nobody registered (422 events_rejected, unknown_batch)", async function () {
      const ghost = { gtin: PRODUCTS.hotpotBase.gtin, lot: "BN-GHOST-01" };
      const event = objectEvent("commissioning", at(-2, 9), [quantity(gateway.config.publicUrl, ghost, 10, "XBX")]);
      const error = await refused(422, "events_rejected", () => postEvents(orgs.producer, { events: [event] }));
      expect(error.message).to.equal("1 problem(s) in the submission; nothing was stored");
      expect(problemsOf(error)).to.deep.equal([
        {
          index: 0,
          code: "unknown_batch",
          message: `batch ${ghost.gtin}/${ghost.lot} is not registered`,
          path: "quantityList",
        },
      ]);
    });

    it("rejects an event dated before the batch's production date (before_production)", async function () {
      const event = objectEvent("storing", at(-11, 9), [q("shipped", 100, "XBX")], {
        bizLocation: { district: "巴南区" },
      });
      const error = await refused(422, "events_rejected", () => postEvents(orgs.producer, { events: [event] }));
      expect(problemsOf(error)).to.deep.include({
        index: 0,
        code: "before_production",
        message: `eventTime is before the production date ${BATCHES.shipped.productionDate} of batch ${LOTS.shipped.gtin}/${LOTS.shipped.lot}`,
        path: "eventTime",
      });
    });

    it("rejects shipping a recalled batch (batch_recalled)", async function () {
      const event = objectEvent("shipping", at(-1, 8), [q("recalled", 100, "XBX")], {
        disposition: "in_transit",
        destinationList: destination(orgs.logistics),
      });
      const error = await refused(422, "events_rejected", () => postEvents(orgs.producer, { events: [event] }));
      expect(problemsOf(error)).to.deep.equal([
        { index: 0, code: "batch_recalled", message: `batch ${LOTS.recalled.gtin}/${LOTS.recalled.lot} is recalled` },
      ]);
    });

    it("rejects a receipt by an organisation that is not the shipment's destination (not_destination)", async function () {
      const event = objectEvent("receiving", at(-8, 9), [q("shipped", 1200, "XBX")], {
        bizLocation: { district: "渝中区" },
      });
      const error = await refused(422, "events_rejected", () => postEvents(orgs.retailer, { events: [event] }));
      expect(problemsOf(error)).to.deep.equal([
        {
          index: 0,
          code: "not_destination",
          message: `batch ${LOTS.shipped.gtin}/${LOTS.shipped.lot}: the last shipment of the batch is not addressed to this organisation`,
        },
      ]);
    });
  });

  describe("retries and duplicates", function () {
    it("refuses an Idempotency-Key reused with a different body (409 idempotency_key_reused)", async function () {
      const different = { ...acceptedEvent, eventTime: at(-10, 18) };
      const error = await refused(409, "idempotency_key_reused", () =>
        postEvents(orgs.producer, { events: [different] }, IDEMPOTENCY_KEY),
      );
      expect(error.message).to.equal("this Idempotency-Key was used before with a different request body");
      expect(error.details)
        .to.have.property("submissionId")
        .that.matches(/^0x[0-9a-f]{64}$/);
    });

    it("refuses the same event sent twice without an Idempotency-Key (409 duplicate_event)", async function () {
      const error = await refused(409, "duplicate_event", () => postEvents(orgs.producer, { events: [acceptedEvent] }));
      expect(error.message).to.equal("1 event(s) were recorded before");
    });

    it("refuses the same shipment sent twice without an Idempotency-Key as a duplicate (409 duplicate_event)", async function () {
      // A client that lost the 202 of a shipment and sends it again must learn it is recorded,
      // not that it no longer holds the goods.
      const error = await refused(409, "duplicate_event", () =>
        postEvents(orgs.producer, { events: [acceptedShipment] }),
      );
      expect(error.message).to.equal("1 event(s) were recorded before");
    });

    it("refuses a submission of 1001 events (400 too_many_events)", async function () {
      const events = Array.from({ length: 1001 }, (_, i) =>
        objectEvent("storing", at(-5, 8, 0), [q("shipped", i + 1, "XBX")]),
      );
      const error = await refused(400, "too_many_events", () => postEvents(orgs.producer, { events }));
      expect(error.message).to.equal("a submission holds at most 1000 events; this one has 1001");
    });
  });

  describe("malformed requests", function () {
    it("refuses a body over 4 MB (413 body_too_large)", async function () {
      const body = JSON.stringify({ events: [acceptedEvent], padding: "辣".repeat(1_600_000) });
      expect(Buffer.byteLength(body)).to.be.greaterThan(4 * 1024 * 1024);
      const error = await refused(413, "body_too_large", () =>
        api()
          .post("/api/v1/events")
          .set(bearer(orgs.producer.apiKey))
          .set("Content-Type", "application/json")
          .send(body),
      );
      expect(error.message).to.equal("the request body is too large");
    });

    it("refuses malformed JSON (400 malformed_json)", async function () {
      const error = await refused(400, "malformed_json", () =>
        api()
          .post("/api/v1/events")
          .set(bearer(orgs.producer.apiKey))
          .set("Content-Type", "application/json")
          .send('{"events": [{"type": "ObjectEvent",'),
      );
      expect(error.message).to.equal("the request body is not valid JSON");
    });

    it("reads event submissions as express.json would: an empty body is {}, a byte-order mark is dropped", async function () {
      const raw = (body: string) =>
        api()
          .post("/api/v1/events")
          .set(bearer(orgs.producer.apiKey))
          .set("Content-Type", "application/json")
          .send(body);
      const empty = await refused(400, "invalid_submission", () => raw(""));
      expect(issuesOf(empty).map((i) => i.path)).to.deep.equal(["events"]);
      // With a byte-order mark the body is read, and refused only for what it says.
      const bom = await refused(409, "duplicate_event", () =>
        raw(`\uFEFF${JSON.stringify({ events: [acceptedEvent] })}`),
      );
      expect(bom.message).to.match(/recorded before/);
    });

    it("refuses numbers beyond a double with a 4xx, also where an Idempotency-Key makes the body hashed", async function () {
      const body = JSON.stringify({ events: [acceptedEvent] }).replace('"quantity":5000', '"quantity":1e400');
      expect(body).to.contain("1e400");
      for (const key of [undefined, "erp-huge-number"]) {
        const req = api()
          .post("/api/v1/events")
          .set(bearer(orgs.producer.apiKey))
          .set("Content-Type", "application/json");
        if (key) req.set("Idempotency-Key", key);
        const res = await req.send(body);
        expect(res.status, res.text).to.be.within(400, 499);
      }
      const batch = await refused(400, "invalid_request", () =>
        api()
          .post("/api/v1/batches")
          .set(bearer(orgs.producer.apiKey))
          .send({ ...BATCHES.shipped, lot: "NEWLOT-1", productionDate: "2025-13-45" }),
      );
      expect(issuesOf(batch).map((i) => i.path)).to.include("productionDate");
    });

    it("refuses deeply nested JSON with a 4xx, not a 500", async function () {
      // 5,000 levels are a 10 kB body.
      const depth = 5_000;
      const body = `{"events":[${"[".repeat(depth)}${"]".repeat(depth)}]}`;
      const before = await storeSnapshot(gateway);
      const res = await api()
        .post("/api/v1/events")
        .set(bearer(orgs.producer.apiKey))
        .set("Content-Type", "application/json")
        .send(body);
      errorBodies.push(res.text);
      expect(res.status, res.text).to.be.within(400, 499);
      expect(res.body.error.code).to.be.a("string");
      expect(changes(before, await storeSnapshot(gateway)).added).to.deep.equal([]);
    });

    it("refuses unknown fields in every request body (400 invalid_request naming the field)", async function () {
      const cases: { path: string; key: string; body: object; field: string; what: string }[] = [
        {
          path: "/api/v1/organisations",
          key: t.adminKey,
          body: { ...ORGANISATIONS.logistics, uscc: GOOD_USCC, roles: ["logistics"], website: "https://cq.example" },
          field: "website",
          what: "the organisation",
        },
        {
          path: "/api/v1/products",
          key: orgs.producer.apiKey,
          body: { ...PRODUCTS.giftBox, price: 68 },
          field: "price",
          what: "the product",
        },
        {
          path: "/api/v1/batches",
          key: orgs.producer.apiKey,
          body: { ...BATCHES.shipped, lot: "BN-NEW-2", shelfLife: "12 months" },
          field: "shelfLife",
          what: "the batch",
        },
        {
          path: `/api/v1/batches/${batchId("shipped")}/recall`,
          key: orgs.regulator.apiKey,
          body: { reason: "抽检不合格", urgent: true },
          field: "urgent",
          what: "the recall",
        },
      ];
      for (const c of cases) {
        const error = await refused(400, "invalid_request", () => api().post(c.path).set(bearer(c.key)).send(c.body));
        expect(error.message, c.path).to.equal(`${c.what} is not valid`);
        expect(JSON.stringify(error.details), c.path).to.include(c.field);
      }
      const nested = await refused(400, "invalid_request", () =>
        api()
          .post("/api/v1/batches")
          .set(bearer(orgs.producer.apiKey))
          .send({ ...BATCHES.shipped, lot: "BN-NEW-3", inputs: [{ ...LOTS.chili, share: 0.3 }] }),
      );
      expect(issuesOf(nested).map((issue) => issue.path)).to.deep.equal(["inputs.0"]);
      expect(issuesOf(nested)[0]!.message).to.include("share");

      const query = await refused(400, "invalid_request", () =>
        api()
          .get(`/api/v1/batches/${batchId("shipped")}/lineage`)
          .query({ direction: "up", depth: "3" })
          .set(bearer(orgs.producer.apiKey)),
      );
      expect(JSON.stringify(query.details)).to.include("depth");
    });

    it("refuses unknown fields in a submission (400 invalid_submission) and in an event (422 invalid_event)", async function () {
      const top = await refused(400, "invalid_submission", () =>
        postEvents(orgs.producer, { events: [acceptedEvent], note: "补录" }),
      );
      expect(JSON.stringify(top.details)).to.include("note");

      const inEvent = { ...acceptedEvent, eventTime: at(-7, 9), temperature: 4 };
      const error = await refused(422, "events_rejected", () => postEvents(orgs.producer, { events: [inEvent] }));
      expect(problemsOf(error)).to.have.length(1);
      expect(problemsOf(error)[0]).to.deep.include({ index: 0, code: "invalid_event" });
      expect(problemsOf(error)[0]!.message).to.include("temperature");
    });

    it("refuses path parameters that are not what the route takes (400 invalid_request)", async function () {
      const key = orgs.regulator.apiKey;
      const upperHex = "0x" + "AB".repeat(32);
      const paths: [string, "get" | "post", string][] = [
        ["/api/v1/batches/not-a-batch-id", "get", "batch id is not valid"],
        [`/api/v1/batches/${upperHex}`, "get", "batch id is not valid"],
        [`/api/v1/batches/0x${"ab".repeat(31)}/events`, "get", "batch id is not valid"],
        ["/api/v1/batches/0xzz/lineage", "get", "batch id is not valid"],
        ["/api/v1/batches/12345/recall", "post", "batch id is not valid"],
        ["/api/v1/events/0x1234", "get", "event id is not valid"],
        ["/api/v1/submissions/abc", "get", "submission id is not valid"],
        ["/api/v1/organisations/91500112MA60T2Y73", "get", "organisation id is not valid"],
        [`/api/v1/products/${BAD_GTIN}`, "get", "GTIN is not valid"],
      ];
      for (const [path, method, message] of paths) {
        const error = await refused(400, "invalid_request", () =>
          method === "get"
            ? api().get(path).set(bearer(key))
            : api().post(path).set(bearer(key)).send({ reason: "抽检不合格" }),
        );
        expect(error.message, path).to.equal(message);
      }
    });
  });

  describe("authentication and permissions", function () {
    it("refuses a request without an API key (401 unauthenticated)", async function () {
      const error = await refused(401, "unauthenticated", () => api().post("/api/v1/products").send(PRODUCTS.giftBox));
      expect(error.message).to.include("Authorization: Bearer");
    });

    it("refuses a wrong API key (401 invalid_api_key)", async function () {
      const wrong = "ytk_" + "A".repeat(43);
      await refused(401, "invalid_api_key", () =>
        api().post("/api/v1/products").set(bearer(wrong)).send(PRODUCTS.giftBox),
      );
      await refused(401, "invalid_api_key", () =>
        api()
          .get(`/api/v1/batches/${batchId("shipped")}`)
          .set("X-API-Key", "not-a-key"),
      );
    });

    it("refuses a producer registering a batch of another producer's product (403 not_product_owner)", async function () {
      const error = await refused(403, "not_product_owner", () =>
        api()
          .post("/api/v1/batches")
          .set(bearer(orgs.producer.apiKey))
          .send({ ...BATCHES.chili, lot: "JJ-NOT-MINE" }),
      );
      expect(error.message).to.equal(`product ${PRODUCTS.chili.gtin} belongs to another organisation`);
    });

    it("refuses a producer recalling another producer's batch (403 not_batch_producer)", async function () {
      const error = await refused(403, "not_batch_producer", () =>
        api()
          .post(`/api/v1/batches/${batchId("chili")}/recall`)
          .set(bearer(orgs.producer.apiKey))
          .send({ reason: "竞争对手恶意召回" }),
      );
      expect(error.message).to.equal("only a regulator or the batch's producer may recall it");
    });

    it("refuses a logistics organisation registering a product (403 role_not_allowed)", async function () {
      const error = await refused(403, "role_not_allowed", () =>
        api().post("/api/v1/products").set(bearer(orgs.logistics.apiKey)).send(PRODUCTS.giftBox),
      );
      expect(error.message).to.equal("this call needs the role producer");
    });

    it("refuses an organisation's key creating an organisation (403 admin_required)", async function () {
      const error = await refused(403, "admin_required", () =>
        api()
          .post("/api/v1/organisations")
          .set(bearer(orgs.regulator.apiKey))
          .send({ name: "重庆冷链物流有限公司", uscc: GOOD_USCC, district: "渝北区", roles: ["logistics"] }),
      );
      expect(error.message).to.equal("this call needs the platform admin key");
    });
  });

  describe("things that are not there", function () {
    it("answers an unknown route with 404 not_found", async function () {
      const key = orgs.producer.apiKey;
      const inApi = await refused(404, "not_found", () => api().get("/api/v1/lots").set(bearer(key)));
      expect(inApi.message).to.equal("no route GET /api/v1/lots");
      const outside = await refused(404, "not_found", () => api().get("/trace/unknown"));
      expect(outside.message).to.equal("no route GET /trace/unknown");
      const wrongMethod = await refused(404, "not_found", () =>
        api().put(`/api/v1/products/${PRODUCTS.hotpotBase.gtin}`).set(bearer(key)).send({}),
      );
      expect(wrongMethod.message).to.equal(`no route PUT /api/v1/products/${PRODUCTS.hotpotBase.gtin}`);
    });

    it("answers a batch id nobody registered with 404 unknown_batch, on every batch route", async function () {
      const key = orgs.regulator.apiKey;
      const message = `no batch ${UNKNOWN_BATCH_ID}`;
      for (const path of ["", "/events", "/lineage"]) {
        const error = await refused(404, "unknown_batch", () =>
          api().get(`/api/v1/batches/${UNKNOWN_BATCH_ID}${path}`).set(bearer(key)),
        );
        expect(error.message).to.equal(message);
      }
      const recall = await refused(404, "unknown_batch", () =>
        api().post(`/api/v1/batches/${UNKNOWN_BATCH_ID}/recall`).set(bearer(key)).send({ reason: "抽检不合格" }),
      );
      expect(recall.message).to.equal(message);
      const byKey = await refused(404, "unknown_batch", () =>
        api().get("/api/v1/batches").query({ gtin: PRODUCTS.chili.gtin, lot: "JJ-NONE" }).set(bearer(key)),
      );
      expect(byKey.message).to.equal(`no batch ${batchIdOf(PRODUCTS.chili.gtin, "JJ-NONE")}`);
    });
  });

  describe("refusals the ledger makes", function () {
    it("refuses a batch made from a recalled input and stores nothing", async function () {
      const error = await refused(422, "input_not_active", () =>
        api()
          .post("/api/v1/batches")
          .set(bearer(orgs.producer.apiKey))
          .send({ ...BATCHES.shipped, lot: "BN-FROM-RECALLED", inputs: [LOTS.recalled] }),
      );
      expect(error.details).to.deep.include({ ledgerError: "TraceLedgerParentNotActive" });
    });
  });

  // Last, so that it sees the error bodies of every test before it.
  describe("every error body", function () {
    it("never answers with a stack trace or a source file path", async function () {
      const odd: Response[] = [
        await api()
          .post("/api/v1/events")
          .set(bearer(orgs.producer.apiKey))
          .set("Content-Type", "application/json; charset=utf-7")
          .send("{}"),
        await api().post("/api/v1/organisations").set(bearer(t.adminKey)).send([1, 2, 3]),
        await api().post("/api/v1/events").set(bearer(orgs.producer.apiKey)).send({ events: "all of them" }),
        await api()
          .post("/api/v1/events")
          .set(bearer(orgs.producer.apiKey))
          .set("Idempotency-Key", "key with spaces")
          .send({ events: [acceptedEvent] }),
        await api()
          .get(`/api/v1/batches/${batchId("shipped")}/events`)
          .query({ cursor: "bm90LWEtY3Vyc29y" })
          .set(bearer(orgs.producer.apiKey)),
      ];
      for (const res of odd) {
        expect(res.status, res.text).to.be.within(400, 499);
        expect(res.body.error.code).to.be.a("string");
        errorBodies.push(res.text);
      }
      expect(errorBodies.length).to.be.greaterThan(40);
      for (const text of errorBodies) {
        expect(text).not.to.match(STACK_FRAME);
        expect(text).not.to.match(SOURCE_PATH);
        expect(text).not.to.include("Error:");
      }
    });
  });
});
