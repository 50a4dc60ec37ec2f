/**
 * Self-custody organisations register products and batches with their own EIP-712 authorization
 * (`authorization: {nonce, deadline, signature}`), which the gateway checks — signer, deadline,
 * ledger nonce — before relaying it, so a wrong one costs no transaction and stores nothing. Also
 * the caller's own view: `GET /me` (with the nonces a client signs with), `/me/products`, and
 * `/me/batches` a page at a time.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import request from "supertest";

import { ledgerDomain, signAuthorization } from "../../server/chain/typed-data";
import { batchIdOf } from "../../server/domain/batch-id";
import { canonicalHash } from "../../server/domain/canonical";
import { gtin14, uscc } from "../../server/domain/identifiers";
import {
  ORGANISATIONS,
  PRODUCTS,
  bearer,
  createOrganisation,
  dateIn,
  registerProduct,
  startTestGateway,
  storeSnapshot,
  type TestGateway,
  type TestOrg,
} from "../helpers/gateway";

const PRODUCT = {
  gtin: gtin14("0693885070125"),
  name: { zh: "渝派女士羊毛衫", en: "Yupai women's wool sweater" },
  category: "textiles_garments",
  standard: "GB/T 22853",
};

describe("self-custody registration and the caller's own view", function () {
  this.timeout(120_000);
  let t: TestGateway;
  let key: Wallet;
  let self: TestOrg;
  let custodial: TestOrg;
  let domain: ReturnType<typeof ledgerDomain>;

  const me = async (org: TestOrg) => (await request(t.url).get("/api/v1/me").set(bearer(org.apiKey))).body;

  /** An authorization of `type` for `message`, by `signer`, with the ledger nonce unless given. */
  async function authorize(
    type: "RegisterProduct" | "RegisterBatch",
    message: Record<string, unknown>,
    options: { signer?: Wallet; nonce?: number; deadline?: number } = {},
  ) {
    const signer = options.signer ?? key;
    const nonce = options.nonce ?? (await me(self)).ledgerNonce;
    const deadline = options.deadline ?? Math.floor(Date.now() / 1000) + 600;
    const auth = await signAuthorization(signer, domain, type, message, {
      signer: key.address,
      nonce: BigInt(nonce),
      deadline: BigInt(deadline),
    });
    return { nonce, deadline, signature: auth.signature };
  }

  const productMessage = (product: typeof PRODUCT) => ({
    gtin: BigInt(product.gtin),
    metadataHash: canonicalHash(product),
  });

  before(async function () {
    t = await startTestGateway();
    key = Wallet.createRandom() as unknown as Wallet;
    const res = await request(t.url)
      .post("/api/v1/organisations")
      .set(bearer(t.adminKey))
      .send({
        name: "重庆渝派服饰有限公司",
        uscc: uscc("91500106MA5YP8FX2"),
        district: "沙坪坝区",
        roles: ["producer"],
        account: key.address,
      });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    self = { ...res.body.organisation, apiKey: res.body.apiKey };
    custodial = await createOrganisation(t, ORGANISATIONS.producer);
    const ledger = (await request(t.url).get("/api/v1/ledger")).body;
    domain = ledgerDomain(BigInt(ledger.chainId), ledger.address);
  });

  after(async function () {
    await t?.stop();
  });

  it("GET /me names the caller and the nonces it signs with", async function () {
    expect(await me(self)).to.deep.include({ admin: false, submissionNonce: 0, ledgerNonce: 0 });
    const { organisation } = await me(self);
    expect(organisation).to.deep.include({ orgId: self.orgId, custody: "self" });
    expect(organisation.account.toLowerCase()).to.equal(key.address.toLowerCase());
    const other = await me(custodial);
    expect(other.organisation.custody).to.equal("custodial");
    expect(other).not.to.have.property("ledgerNonce");
    const admin = await request(t.url).get("/api/v1/me").set(bearer(t.adminKey));
    expect(admin.body).to.deep.equal({ admin: true, organisation: null });
  });

  it("refuses a self-custody registration without a valid authorization, storing nothing", async function () {
    const cases: [string, () => Promise<unknown>, number, string][] = [
      ["none", async () => undefined, 400, "signature_required"],
      ["another key", () => authorize("RegisterProduct", productMessage(PRODUCT), { signer: Wallet.createRandom() as unknown as Wallet }), 422, "invalid_signature"],
      ["another product", () => authorize("RegisterProduct", productMessage({ ...PRODUCT, standard: "GB/T 2660" })), 422, "invalid_signature"],
      ["expired", () => authorize("RegisterProduct", productMessage(PRODUCT), { deadline: Math.floor(Date.now() / 1000) - 1 }), 422, "signature_expired"],
      ["expiring within a minute", () => authorize("RegisterProduct", productMessage(PRODUCT), { deadline: Math.floor(Date.now() / 1000) + 20 }), 422, "signature_expired"],
      ["a used-up nonce", () => authorize("RegisterProduct", productMessage(PRODUCT), { nonce: 5 }), 409, "wrong_nonce"],
    ]; // prettier-ignore
    for (const [what, make, status, code] of cases) {
      const before = await storeSnapshot(t.gateway);
      const authorization = await make();
      const res = await request(t.url)
        .post("/api/v1/products")
        .set(bearer(self.apiKey))
        .send({ ...PRODUCT, ...(authorization ? { authorization } : {}) });
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).to.equal(status);
      expect(res.body.error.code, what).to.equal(code);
      expect(await storeSnapshot(t.gateway), `${what}: the store is unchanged`).to.deep.equal(before);
    }
    expect((await me(self)).ledgerNonce).to.equal(0);
  });

  it("relays a valid authorization: the product and batches are the organisation's, signed by its own key", async function () {
    const res = await request(t.url)
      .post("/api/v1/products")
      .set(bearer(self.apiKey))
      .send({ ...PRODUCT, authorization: await authorize("RegisterProduct", productMessage(PRODUCT)) });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body.product).to.deep.include({ gtin: PRODUCT.gtin, owner: self.orgId, metadata: PRODUCT });
    expect((await me(self)).ledgerNonce).to.equal(1);
    // The same authorization once more, for another product: its nonce is used up.
    const other = { ...PRODUCT, gtin: gtin14("0693885070132") };
    const replayed = await request(t.url)
      .post("/api/v1/products")
      .set(bearer(self.apiKey))
      .send({ ...other, authorization: await authorize("RegisterProduct", productMessage(other), { nonce: 0 }) });
    expect(replayed.status, JSON.stringify(replayed.body)).to.equal(409);
    expect(replayed.body.error).to.deep.include({ code: "wrong_nonce", details: { expected: 1, got: 0 } });

    for (const lot of ["WS2611-01", "WS2611-02", "WS2611-03"]) {
      const batch = { gtin: PRODUCT.gtin, lot, quantity: { value: 800, unit: "H87" }, productionDate: dateIn(-3) };
      const inputs = lot === "WS2611-03" ? [{ gtin: PRODUCT.gtin, lot: "WS2611-01" }] : [];
      const message = {
        gtin: BigInt(batch.gtin),
        lot,
        metadataHash: canonicalHash(batch),
        parents: inputs.map((input) => batchIdOf(input.gtin, input.lot)),
      };
      // The authorization covers the inputs: the same signature with other inputs is refused.
      if (lot === "WS2611-03") {
        const wrong = await request(t.url)
          .post("/api/v1/batches")
          .set(bearer(self.apiKey))
          .send({ ...batch, inputs: [], authorization: await authorize("RegisterBatch", message) });
        expect(wrong.status).to.equal(422);
        expect(wrong.body.error.code).to.equal("invalid_signature");
      }
      const created = await request(t.url)
        .post("/api/v1/batches")
        .set(bearer(self.apiKey))
        .send({ ...batch, inputs, authorization: await authorize("RegisterBatch", message) });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      expect(created.body.batch).to.deep.include({ producer: self.orgId, lot, parents: message.parents });
    }
    expect((await me(self)).ledgerNonce).to.equal(4);
  });

  it("refuses an authorization from a custodial organisation, whose key the gateway keeps", async function () {
    const product = PRODUCTS.chili;
    const res = await request(t.url)
      .post("/api/v1/products")
      .set(bearer(custodial.apiKey))
      .send({ ...product, authorization: { nonce: 0, deadline: 2_000_000_000, signature: `0x${"11".repeat(65)}` } });
    expect(res.status).to.equal(400);
    expect(res.body.error.code).to.equal("unexpected_authorization");
    await registerProduct(t, custodial, product);
  });

  it("lists the caller's products and batches, newest batch first, a page at a time", async function () {
    const products = (await request(t.url).get("/api/v1/me/products").set(bearer(self.apiKey))).body.products;
    expect(products.map((p: { gtin: string }) => p.gtin)).to.deep.equal([PRODUCT.gtin]);
    const first = await request(t.url).get("/api/v1/me/batches?limit=2").set(bearer(self.apiKey));
    expect(first.status).to.equal(200);
    expect(first.body.batches.map((b: { lot: string }) => b.lot)).to.deep.equal(["WS2611-03", "WS2611-02"]);
    expect(first.body.batches[0].digitalLink).to.match(/\/01\/06938850701256\/10\/WS2611-03$/);
    const second = await request(t.url)
      .get("/api/v1/me/batches")
      .query({ limit: 2, cursor: first.body.nextCursor })
      .set(bearer(self.apiKey));
    expect(second.body).to.deep.include({ nextCursor: null });
    expect(second.body.batches.map((b: { lot: string }) => b.lot)).to.deep.equal(["WS2611-01"]);
    // Another organisation's cursor, and nonsense, are refused.
    const theirs = await request(t.url)
      .get("/api/v1/me/batches")
      .query({ cursor: first.body.nextCursor })
      .set(bearer(custodial.apiKey));
    expect(theirs.status).to.equal(400);
    expect(theirs.body.error.code).to.equal("invalid_cursor");
    const empty = await request(t.url).get("/api/v1/me/batches").set(bearer(custodial.apiKey));
    expect(empty.body).to.deep.equal({ batches: [], nextCursor: null });
  });
});
