/**
 * The regulator dashboard (/regulator) in a real browser: Debian's chromium driven by
 * playwright-core, on the demo data, signed in with the demo regulator's API key. Refuses wrong
 * keys, finds a demo batch by its lot, opens it with its verification report and lineage graph,
 * runs a recall drill, draws the charts, recalls a batch and suspends an organisation through
 * their confirm steps, and fits a laptop and a phone. Screenshots go to test-artifacts/screenshots/.
 * Waits use locators, not `waitForFunction`: its polling evaluates strings, which the page's CSP
 * (script-src 'self', no eval) forbids — as it should.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { type Browser, type BrowserContext, type Page } from "playwright-core";
import request from "supertest";

import { batchIdOf } from "../../server/domain/batch-id";
import { parseDigitalLink } from "../../server/domain/digital-link";
import { loadDemoData } from "../../server/demo/load";
import { bearer, startTestGateway, type TestGateway } from "../helpers/gateway";
import { chromiumAvailable, launchChromium, SCREENSHOTS } from "../helpers/browser";

/** Runs in the page: whether the page is wider than the window. */
const OVERFLOWS = `document.documentElement.scrollWidth > document.documentElement.clientWidth`;

describe("regulator dashboard in a browser (chromium)", function () {
  this.timeout(120_000);
  let t: TestGateway | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let keys: Record<string, string>;
  let hotpot: { gtin: string; lot: string };

  before(async function () {
    if (!chromiumAvailable()) this.skip();
    t = await startTestGateway();
    const { links } = await loadDemoData(t.gateway);
    hotpot = parseDigitalLink(new URL(links.find(([label]) => label === "hotpot base batch")![1]).pathname)!;
    keys = JSON.parse(await readFile(path.join(t.gateway.config.dataDir, "demo-api-keys.json"), "utf8"));
    expect(keys.regulator).to.match(/^ytk_/);

    browser = await launchChromium();
    context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      locale: "zh-CN",
      timezoneId: "Asia/Shanghai",
    });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
    page.on("pageerror", (error) => console.log(`    page error: ${error.message}`));
  });

  after(async function () {
    await browser?.close();
    await t?.stop();
  });

  const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const api = () => request(t!.url);

  async function signIn(key: string): Promise<void> {
    await page.locator("#api-key").fill(key);
    await page.locator("#sign-in-form button[type=submit]").click();
  }

  it("shows a sign-in form and refuses a wrong key and a producer's key with a message", async function () {
    const res = await page.goto(`${t!.url}/regulator`, { waitUntil: "load" });
    expect(res?.status()).to.equal(200);
    expect(await page.locator("html").getAttribute("lang")).to.equal("zh-CN");
    expect(await page.locator("h1").count()).to.equal(1);
    expect(await page.locator("#dashboard").isVisible()).to.equal(false);

    await signIn("ytk_this-is-not-a-key");
    const error = page.locator("#sign-in-error");
    await error.waitFor({ state: "visible" });
    expect(await error.innerText()).to.contain("API 密钥无效");
    expect(await page.locator("#dashboard").isVisible()).to.equal(false);
    expect(await page.evaluate<string | null>(`sessionStorage.getItem("yutrace.regulatorApiKey")`)).to.equal(null);

    await signIn(keys.hotpotCo!);
    await page.locator("#sign-in-error", { hasText: "不属于监管部门" }).waitFor();
    expect(await page.locator("#dashboard").isVisible()).to.equal(false);
    await shot("dashboard-sign-in-error");
  });

  it("signs in with the regulator's key, keeps it for the tab, and draws the charts as SVG bars", async function () {
    await signIn(keys.regulator!);
    await page.locator("#dashboard").waitFor({ state: "visible" });
    expect(await page.locator("#sign-in").isVisible()).to.equal(false);
    expect(await page.evaluate<string | null>(`sessionStorage.getItem("yutrace.regulatorApiKey")`)).to.equal(
      keys.regulator,
    );

    const perDay = page.locator('figure[data-chart="events-per-day"] svg');
    await perDay.waitFor({ state: "visible" });
    expect(await perDay.getAttribute("role")).to.equal("img");
    expect(await perDay.getAttribute("aria-label")).to.contain("Events per day");
    const bars = perDay.locator("rect.bar");
    expect(await bars.count()).to.equal(30);
    const values = (
      await page.evaluate<number[]>(
        `[...document.querySelectorAll('figure[data-chart="events-per-day"] rect.bar')].map((r) => Number(r.getAttribute("data-value")))`,
      )
    ).filter((v) => v > 0);
    expect(values.length, "days with events").to.be.greaterThan(3);
    const box = await bars.nth(29).boundingBox();
    expect(box, "the bars are drawn").to.not.equal(null);

    const recalls = page.locator('figure[data-chart="recalls-by-district"] svg rect.bar');
    await recalls.first().waitFor();
    expect(await recalls.first().getAttribute("data-label")).to.equal("江津区");
    for (const chart of ["inspection-pass-rate", "anchoring-lag"]) {
      await page.locator(`figure[data-chart="${chart}"] svg[role="img"]`).waitFor();
    }
    // The table has its own request, not awaited with the charts'.
    await page.locator("#organisations-table tbody tr").nth(9).waitFor();
    expect(await page.locator("#organisations-table tbody tr").count()).to.equal(10);
    await shot("dashboard-signed-in");
  });

  it("finds a demo batch by its lot and opens it with its verification report and lineage graph", async function () {
    await page.locator("#search-q").fill(hotpot.lot);
    await page.locator("#search-form button[type=submit]").click();
    const results = page.locator("#batch-results li");
    await results.first().waitFor();
    expect(await results.count()).to.equal(1);
    expect(await results.first().getAttribute("data-batch-id")).to.equal(batchIdOf(hotpot.gtin, hotpot.lot));
    expect(await results.first().innerText()).to.contain("重庆老火锅底料 500g");
    await results.first().locator("button").click();

    await page.locator("#verdict").waitFor();
    expect(await page.locator("#batch-facts").innerText()).to.contain(hotpot.lot);
    expect(await page.locator("#verdict").getAttribute("data-verdict")).to.equal("verified");
    expect(await page.locator("#verdict").innerText()).to.contain("验证通过");
    const rows = page.locator("#verification-events tbody tr");
    expect(await rows.count()).to.be.greaterThan(3);
    expect(await page.locator("#verification-events .check-failed").count()).to.equal(0);

    const graph = page.locator("#lineage-graph");
    await graph.waitFor();
    // The hotpot base and its two inputs: the chili and the tallow lot.
    expect(await graph.locator("g.node").count()).to.equal(3);
    expect(await graph.locator("path.edge").count()).to.equal(2);
    expect(await graph.locator("g.node.root").getAttribute("data-batch-id")).to.equal(
      batchIdOf(hotpot.gtin, hotpot.lot),
    );
    await shot("dashboard-batch");
  });

  it("opens an input from the lineage graph and runs a recall drill that recalls nothing", async function () {
    const chili = page.locator("#lineage-graph g.node[role=button]", { hasText: "JJ" });
    expect(await chili.count()).to.equal(1);
    const chiliId = (await chili.getAttribute("data-batch-id"))!;
    await chili.click();
    await page.locator(`#lineage-graph g.node.root[data-batch-id="${chiliId}"]`).waitFor();

    await page.locator("#drill-button").click();
    const summary = page.locator("#drill-summary");
    await summary.waitFor();
    const text = await summary.innerText();
    // The chili lot and the hotpot base made from it.
    expect(text).to.match(/影响批次 2 个/);
    expect(text).to.match(/用时 [\d.]+ ms/);
    expect(await page.locator("#drill-report").innerText()).to.contain("未实际召回");
    const batch = await api().get(`/api/v1/batches/${chiliId}`).set(bearer(keys.regulator!));
    expect(batch.body.batch.status, "a drill recalls nothing").to.equal("active");
    await shot("dashboard-drill");
  });

  it("fits a laptop and a phone without sideways scrolling", async function () {
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await page.waitForTimeout(100);
      expect(await page.evaluate<boolean>(OVERFLOWS), `wider than ${width} px`).to.equal(false);
    }
    await shot("dashboard-phone");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("recalls a batch only after a confirm step with a reason", async function () {
    const knife = (await api().get("/api/v1/regulator/search?q=0693885050").set(bearer(keys.regulator!))).body
      .batches[0] as { batchId: string; lot: string };
    await page.locator("#search-q").fill(knife.lot);
    await page.locator("#search-form button[type=submit]").click();
    await page.locator(`#batch-results li[data-batch-id="${knife.batchId}"] button`).click();
    await page.locator(`#lineage-graph g.node.root[data-batch-id="${knife.batchId}"]`).waitFor();

    await page.locator("#recall-button").click();
    const dialog = page.locator("#confirm-dialog");
    await dialog.waitFor({ state: "visible" });
    await page.locator("#confirm-cancel").click();
    await dialog.waitFor({ state: "hidden" });
    const still = await api().get(`/api/v1/batches/${knife.batchId}`).set(bearer(keys.regulator!));
    expect(still.body.batch.status, "cancelled: not recalled").to.equal("active");

    await page.locator("#recall-button").click();
    await page.locator("#confirm-ok").click();
    expect(await page.locator("#confirm-error").innerText()).to.contain("请填写原因");
    await page.locator("#confirm-reason").fill("抽检发现刃口硬度不达标，责令召回");
    await page.locator("#confirm-ok").click();
    await page.locator("#batch-message", { hasText: "已召回" }).waitFor();
    expect(await page.locator("#batch-facts").innerText()).to.contain("已召回");
    expect(await page.locator("#recall-button").isDisabled()).to.equal(true);
    const recalled = await api().get(`/api/v1/batches/${knife.batchId}`).set(bearer(keys.regulator!));
    expect(recalled.body.batch.status).to.equal("recalled");
  });

  it("suspends an organisation from the list, on-chain, and reinstates it", async function () {
    const row = page.locator("#organisations-table tbody tr", { hasText: "璧山" });
    const orgId = (await row.getAttribute("data-org-id"))!;
    await row.locator("button.danger").click();
    await page.locator("#confirm-reason").fill("未按期提交年度质量报告");
    await page.locator("#confirm-ok").click();
    await page.locator(`#organisations-table tr[data-org-id="${orgId}"] .status-suspended`).waitFor();
    expect((await t!.gateway.ledger.ledger.getOrganisation(orgId)).suspended).to.equal(true);
    await shot("dashboard-organisations");

    await page.locator(`#organisations-table tr[data-org-id="${orgId}"] button`).click();
    await page.locator("#confirm-ok").click();
    await page.locator(`#organisations-table tr[data-org-id="${orgId}"] .status-active`).waitFor();
    expect((await t!.gateway.ledger.ledger.getOrganisation(orgId)).suspended).to.equal(false);
  });

  it("signs out and forgets the key", async function () {
    await page.locator("#sign-out").click();
    await page.locator("#sign-in").waitFor({ state: "visible" });
    expect(await page.locator("#dashboard").isVisible()).to.equal(false);
    expect(await page.evaluate<string | null>(`sessionStorage.getItem("yutrace.regulatorApiKey")`)).to.equal(null);
  });
});
