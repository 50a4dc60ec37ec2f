/**
 * The consumer trace pages in a real browser: Debian's chromium driven by playwright-core, a phone
 * viewport and JavaScript off (the pages must work without it). Reads what a consumer sees on the
 * demo data — the batch page in both languages, a recall banner, genuine and made-up item codes —
 * checks basic accessibility, and saves full-page screenshots to `test-artifacts/screenshots/`.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { type Browser, type BrowserContext, type Page } from "playwright-core";
import request from "supertest";

import { batchIdOf } from "../../server/domain/batch-id";
import { parseDigitalLink } from "../../server/domain/digital-link";
import { loadDemoData } from "../../server/demo/load";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { chromiumAvailable, launchChromium, SCREENSHOTS } from "../helpers/browser";

/**
 * What the hotpot batch's history says, in this order, in plain Chinese words (other steps, such as
 * the cold chain's 温湿度记录 and its own 发货/到货, may come between). The batch is made by a
 * TransformationEvent, so it starts at 加工; 生产 is the first step of its raw chili.
 */
const HOTPOT_STEPS = ["加工", "检验合格", "发货", "到货", "上架", "售出"];
const CHILI_STEPS = ["生产", "发货"];

/** Whether `wanted` appears in `steps` in order, possibly with other steps between. */
function inOrder(steps: string[], wanted: string[]): boolean {
  let i = 0;
  for (const step of steps) if (step === wanted[i]) i++;
  return i === wanted.length;
}

/** WCAG AA for normal text. */
const MIN_CONTRAST = 4.5;

interface TextColours {
  text: string;
  color: string;
  background: string;
}

/**
 * Runs in the page (as a string: the project's TypeScript has no DOM types): the computed text
 * colour of every element holding text inside a `[role=alert]` banner, and the first opaque
 * background behind it.
 */
const BANNER_COLOURS = `(() => {
  const opaque = (c) => c !== "transparent" && !/^rgba\\(.*,\\s*0\\)$/.test(c);
  const backgroundOf = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (opaque(c)) return c;
    }
    return "rgb(255, 255, 255)";
  };
  const out = [];
  for (const banner of document.querySelectorAll("[role=alert]")) {
    const walker = document.createTreeWalker(banner, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el || !node.textContent.trim()) continue;
      out.push({ text: node.textContent.trim().slice(0, 40), color: getComputedStyle(el).color, background: backgroundOf(el) });
    }
  }
  return out;
})()`;

/** Runs in the page: whether the page is wider than the phone's screen. */
const OVERFLOWS = `document.documentElement.scrollWidth > document.documentElement.clientWidth`;

/** `rgb(r, g, b)` / `rgba(r, g, b, 1)` → [r, g, b]; fails on anything translucent. */
function rgb(colour: string): [number, number, number] {
  const m = /^rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?\)$/.exec(colour);
  expect(m, `a CSS colour: ${colour}`).to.not.equal(null);
  expect(Number(m![4] ?? 1), `opaque: ${colour}`).to.equal(1);
  return [Number(m![1]), Number(m![2]), Number(m![3])];
}

/** WCAG 2 relative luminance. */
function luminance(colour: string): number {
  const [r, g, b] = rgb(colour).map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2 contrast ratio of two opaque colours, 1–21. */
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

describe("consumer trace pages in a browser (chromium, phone, no JavaScript)", function () {
  this.timeout(60_000);
  let t: TestGateway | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let hotpot: string;
  let affected: string;
  let recalledChili: string;
  let serials: string[];

  before(async function () {
    if (!chromiumAvailable()) this.skip();
    t = await startTestGateway();
    const { links } = await loadDemoData(t.gateway);
    const link = (label: string) => new URL(links.find(([l]) => l === label)![1]).pathname;
    hotpot = link("hotpot base batch");
    affected = link("affected by a recall");
    recalledChili = link("recalled chili lot");

    const keys = JSON.parse(await readFile(path.join(t.gateway.config.dataDir, "demo-api-keys.json"), "utf8"));
    const key = parseDigitalLink(hotpot)!;
    const res = await request(t.url)
      .post(`/api/v1/batches/${batchIdOf(key.gtin, key.lot)}/serials`)
      .set("Authorization", `Bearer ${keys.hotpotCo}`)
      .send({ count: 3 });
    expect(res.status, res.text).to.equal(201);
    serials = res.text
      .trim()
      .split("\r\n")
      .slice(1)
      .map((row) => row.split(",")[0]!);
    expect(serials).to.have.length(3);

    browser = await launchChromium();
    context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: "zh-CN",
      timezoneId: "Asia/Shanghai",
      javaScriptEnabled: false,
    });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
  });

  after(async function () {
    await browser?.close();
    await t?.stop();
  });

  /** Opens `pathname` on the gateway; expects `status`. */
  async function open(pathname: string, status = 200): Promise<void> {
    const res = await page.goto(`${t!.url}${pathname}`, { waitUntil: "load" });
    expect(res?.status(), pathname).to.equal(status);
  }

  const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

  /** The text of the steps in the history list (the `<ol>` after the "追溯记录"/"History" heading). */
  const timelineSteps = (heading: string) =>
    page
      .locator("h2", { hasText: heading })
      .locator("xpath=following-sibling::ol[1]")
      .locator(".step")
      .allTextContents();

  it("shows the hotpot batch in Chinese: name, history in order, on-chain proof, no recall", async function () {
    await open(hotpot);
    expect(await page.locator("html").getAttribute("lang")).to.equal("zh-CN");
    expect((await page.locator("h1").innerText()).trim()).to.equal("重庆老火锅底料 500g");
    const steps = await timelineSteps("追溯记录");
    expect(inOrder(steps, HOTPOT_STEPS), `${steps.join("/")} has ${HOTPOT_STEPS.join("/")} in order`).to.equal(true);
    const times = page.locator("h2", { hasText: "追溯记录" }).locator("xpath=following-sibling::ol[1]").locator("time");
    const ms = await Promise.all(
      (await times.all()).map(async (time) => Date.parse((await time.getAttribute("datetime"))!)),
    );
    expect(ms).to.have.length(steps.length);
    expect(ms.every(Number.isFinite), "every step has a datetime").to.equal(true);
    expect(ms, "history in time order").to.deep.equal([...ms].sort((a, b) => a - b));
    const badge = (
      await page.locator("h2", { hasText: "区块链验证" }).locator("xpath=following-sibling::p[1]").innerText()
    ).trim();
    expect(badge).to.match(/上链/);
    expect(badge).to.match(/区块 #\d+/);
    expect(await page.locator("[role=alert]").count()).to.equal(0);
    expect(await page.locator("body").innerText()).to.not.contain("召回");
    await shot("batch-zh");
  });

  it("links the hotpot batch to its raw chili, whose history starts with 生产", async function () {
    await open(hotpot);
    const input = page.locator("h2", { hasText: "原料批次" }).locator("xpath=following-sibling::ol[1]").locator("a", {
      hasText: "江津鲜红朝天椒",
    });
    expect(await input.count()).to.equal(1);
    // The link is the chili lot's public Digital Link; open its path on this gateway.
    await open(new URL((await input.getAttribute("href"))!).pathname);
    expect((await page.locator("h1").innerText()).trim()).to.equal("江津鲜红朝天椒");
    const steps = await timelineSteps("追溯记录");
    expect(steps[0]).to.equal("生产");
    expect(inOrder(steps, CHILI_STEPS), steps.join("/")).to.equal(true);
    expect(await page.locator("[role=alert]").count(), "this chili lot is not the recalled one").to.equal(0);
  });

  it("switches to English with the language link", async function () {
    await open(hotpot);
    const toggle = page.locator("header a[hreflang=en]");
    expect((await toggle.innerText()).trim()).to.equal("English");
    await Promise.all([page.waitForURL(/[?&]lang=en\b/), toggle.click()]);
    expect(await page.locator("html").getAttribute("lang")).to.equal("en");
    expect((await page.locator("h1").innerText()).trim()).to.equal("Chongqing hotpot base 500 g");
    expect(await page.locator("h2", { hasText: "History" }).count()).to.equal(1);
    expect(await timelineSteps("History")).to.include("Passed inspection");
    expect(await page.locator("body").innerText()).to.contain("Passed inspection");
    expect((await page.locator("header a[hreflang=zh]").innerText()).trim()).to.equal("中文");
    await shot("batch-en");
  });

  it("shows a red banner with the reason on a batch made from the recalled chili", async function () {
    await open(affected);
    const banner = page.locator("[role=alert]");
    expect(await banner.count()).to.equal(1);
    const text = await banner.innerText();
    expect(text).to.contain("本产品所用原料已被召回");
    expect(text).to.contain("召回原因");
    expect(text).to.contain("抽检发现农药残留（毒死蜱）超标");
    expect(text).to.contain("请立即停止食用或使用");
    const background = await page.evaluate<string>(
      `getComputedStyle(document.querySelector("[role=alert]")).backgroundColor`,
    );
    expect(rgb(background), "red").to.deep.equal([164, 0, 15]);
    await shot("recall");
  });

  it("says an issued item code is genuine, with its first scan, and warns about a made-up one", async function () {
    await open(`${hotpot}/21/${serials[0]}`);
    const status = page.locator("[role=status]");
    const genuine = await status.innerText();
    expect(genuine).to.contain("正品验证通过");
    expect(genuine).to.contain("首次扫码时间");
    expect(genuine).to.contain(serials[0]);
    expect(await page.locator("[role=alert]").count()).to.equal(0);
    expect((await page.locator("h1").innerText()).trim()).to.equal("重庆老火锅底料 500g");
    await shot("item-genuine");

    await open(`${hotpot}/21/FAKE12345`);
    const warning = page.locator("[role=alert]");
    expect(await warning.count()).to.equal(1);
    expect(await warning.innerText()).to.contain("此商品码未在该批次登记，可能是假冒产品");
    expect(await page.locator("body").innerText()).to.not.contain("正品验证通过");
    expect(await page.locator("body").innerText()).to.not.contain("首次扫码时间");
    await shot("item-not-genuine");
  });

  it("meets basic accessibility on every page: one h1, a lang, named links, readable banners, fits a phone", async function () {
    const pages: [string, number][] = [
      [hotpot, 200],
      [`${hotpot}?lang=en`, 200],
      [affected, 200],
      [`${affected}?lang=en`, 200],
      [recalledChili, 200],
      [`${hotpot}/21/${serials[1]}`, 200],
      [`${hotpot}/21/FAKE12345`, 200],
      [`${hotpot.replace(/\/10\/.*$/, "")}/10/NOT-A-LOT`, 404],
    ];
    let banners = 0;
    for (const [pathname, status] of pages) {
      await open(pathname, status);
      expect(await page.locator("h1").count(), `${pathname}: one h1`).to.equal(1);
      expect(await page.locator("html").getAttribute("lang"), `${pathname}: lang`).to.match(/^(zh-CN|en)$/);
      expect((await page.title()).trim(), `${pathname}: title`).to.not.equal("");
      const links = page.locator("a");
      for (let i = 0; i < (await links.count()); i++) {
        const a = links.nth(i);
        const name = ((await a.innerText()).trim() || (await a.getAttribute("aria-label")) || "").trim();
        expect(name, `${pathname}: link ${await a.getAttribute("href")} has text`).to.not.equal("");
      }
      for (const c of await page.evaluate<TextColours[]>(BANNER_COLOURS)) {
        banners++;
        const ratio = contrast(c.color, c.background);
        expect(ratio, `${pathname}: "${c.text}" ${c.color} on ${c.background}`).to.be.at.least(MIN_CONTRAST);
      }
      expect(await page.evaluate<boolean>(OVERFLOWS), `${pathname}: wider than the phone`).to.equal(false);
    }
    expect(banners, "banner texts measured").to.be.greaterThan(0);
  });

  it("computes WCAG contrast ratios", function () {
    expect(contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)")).to.be.closeTo(21, 1e-9);
    expect(contrast("rgb(255, 255, 255)", "rgb(164, 0, 15)")).to.be.closeTo(8.1, 0.1);
    expect(contrast("rgb(119, 119, 119)", "rgb(255, 255, 255)")).to.be.closeTo(4.48, 0.01);
  });
});
