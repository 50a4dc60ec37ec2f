/**
 * The consumer trace page: server-rendered HTML that works without JavaScript, small enough for a
 * phone on a weak connection, with real headings, readable contrast and a language switch.
 */
import type { TraceView, TimelineEntry } from "../services/trace";
import { label, stepWords, type Lang } from "./words";

const escape = (text: unknown): string => String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = `
:root{color-scheme:light;--ink:#1b1b1b;--muted:#555;--line:#ddd;--ok:#0a6b2d;--bad:#a4000f}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,"PingFang SC","Microsoft YaHei",sans-serif;color:var(--ink);background:#fafafa}
main{max-width:40rem;margin:0 auto;padding:1rem}header{display:flex;justify-content:space-between;align-items:baseline;gap:1rem}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.5rem 0 .5rem;border-bottom:1px solid var(--line)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}dt{color:var(--muted)}dd{margin:0}
ol{list-style:none;padding:0;margin:0}li{padding:.6rem 0;border-bottom:1px solid var(--line)}
.when{color:var(--muted);font-size:.9rem}.step{font-weight:600}.banner{padding:1rem;border-radius:.5rem;margin:1rem 0}
.recall{background:var(--bad);color:#fff}.recall a{color:#fff}.hold{background:#fff3cd;border:1px solid #8a6d00}
.badge{background:#e8f5ec;border:1px solid var(--ok);color:var(--ok);padding:.8rem;border-radius:.5rem}
.pending{color:#8a6d00}.corrected{color:var(--muted)}.fix{color:#8a6d00}a{color:#0b4f9c}small{color:var(--muted)}code{font-size:.8rem;word-break:break-all}`;

export function layout(lang: Lang, title: string, body: string, switchHref: string): string {
  return `<!doctype html><html lang="${lang === "zh" ? "zh-CN" : "en"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>${escape(title)}</title>
<style>${STYLE}</style></head><body><main>
<header><p><strong>渝溯 YuTrace</strong></p><a href="${escape(switchHref)}" hreflang="${lang === "zh" ? "en" : "zh"}">${label("language", lang)}</a></header>
${body}</main></body></html>`;
}

/** One formatter per language: `toLocaleString` builds a new one on every call (~170 µs; profiled at 40% of a page). */
const FORMATS: Record<Lang, Intl.DateTimeFormat> = {
  zh: new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", dateStyle: "medium", timeStyle: "short" }),
  en: new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Shanghai", dateStyle: "medium", timeStyle: "short" }),
};

function time(iso: string, lang: Lang): string {
  return FORMATS[lang].format(new Date(iso));
}

function timelineItem(entry: TimelineEntry, lang: Lang): string {
  const where = [entry.place.district, entry.place.name].filter(Boolean).join(" ");
  const who = entry.organisation?.name ?? "";
  const to = entry.destination ? ` ${label("to", lang)} ${escape(entry.destination.name)}` : "";
  const sensors = entry.sensorReports
    .map(
      (r) =>
        `${r.type === "Temperature" ? "🌡" : "💧"} ${r.value} ${r.uom === "CEL" ? "°C" : r.uom === "A93" ? "%" : r.uom}`,
    )
    .join(" · ");
  const proof = entry.anchor
    ? `<small>⛓ #${entry.anchor.block}</small>`
    : `<small class="pending">${label("pending", lang)}</small>`;
  const step = `<span class="step">${escape(stepWords(entry.bizStep, entry.disposition, lang))}</span>${to}`;
  const fix = entry.correction;
  const correction = fix
    ? `<div class="fix"><small>✎ ${label("corrected", lang)}: ${label(fix.reason as "incorrect_data", lang)}${
        fix.explanation ? ` — ${escape(fix.explanation)}` : ""
      } (<time datetime="${escape(fix.declarationTime)}">${escape(time(fix.declarationTime, lang))}</time>)</small></div>`
    : "";
  return `<li${fix ? ' class="corrected"' : ""}><div class="when"><time datetime="${escape(entry.eventTime)}">${escape(time(entry.eventTime, lang))}</time> ${proof}</div>
<div>${fix ? `<del>${step}</del>` : step}</div>
<div><small>${escape(who)}${where ? ` · ${escape(where)}` : ""}</small></div>${sensors ? `<div><small>${escape(sensors)}</small></div>` : ""}${correction}</li>`;
}

/** What the item page adds above the batch's trace: whether the code is genuine, and its scans. */
export interface ItemNotice {
  serial: string;
  genuine: boolean;
  scans: { count: number; firstAt: string; copied: boolean } | null;
}

/** The notice at the top of an item's page: genuine or not, and how often it was scanned. */
export function itemSection(item: ItemNotice, lang: Lang): string {
  if (!item.genuine) {
    return `<section class="banner recall" role="alert"><h2>✗ ${label("notGenuine", lang)}</h2>
<p>${label("serial", lang)}: <code>${escape(item.serial)}</code></p><p>${label("notGenuineAdvice", lang)}</p></section>`;
  }
  const scans = item.scans;
  return `<section class="badge" role="status"><p><strong>✔ ${label("genuine", lang)}</strong></p>
<p>${label("serial", lang)}: <code>${escape(item.serial)}</code></p>${
    scans
      ? `<p>${label("firstScan", lang)}: <time datetime="${escape(scans.firstAt)}">${escape(time(scans.firstAt, lang))}</time> · ${label("scanCount", lang)}: ${scans.count}</p>`
      : ""
  }</section>${scans?.copied ? `<section class="banner hold" role="alert"><p>⚠ ${label("copyWarning", lang)}</p></section>` : ""}`;
}

/**
 * Where an item page's notice goes in a page rendered with `item` = ITEM_SLOT: the batch's page is
 * rendered once and each scan only adds its notice (`itemSection`). Page text is escaped, so no
 * data can produce this comment.
 */
export const ITEM_SLOT = "<!--yutrace:item-->";

/** The trace page of one batch; with `item`, the page of one item of it (or its ITEM_SLOT). */
export function tracePage(
  view: TraceView,
  lang: Lang,
  switchHref: string,
  item?: ItemNotice | typeof ITEM_SLOT,
): string {
  const name = lang === "en" ? (view.product?.name.en ?? view.product?.name.zh) : view.product?.name.zh;
  const title = `${name ?? view.batch.gtin} · ${label("title", lang)}`;
  const parts: string[] = [`<h1>${escape(name ?? view.batch.gtin)}</h1>`];
  if (item) parts.push(item === ITEM_SLOT ? ITEM_SLOT : itemSection(item, lang));

  if (view.recall) {
    const own = view.recall.own;
    parts.push(`<section class="banner recall" role="alert"><h2>⚠ ${label(own ? "recalledOwn" : "recalledInput", lang)}</h2>
${own ? "" : `<p>${escape(view.recall.productName ?? "")} ${label("lot", lang)} ${escape(view.recall.lot)}</p>`}
${view.recall.reason ? `<p>${label("reason", lang)}: ${escape(view.recall.reason)}</p>` : ""}
<p>${label("recallAdvice", lang)}</p></section>`);
  } else if (view.held) {
    parts.push(`<section class="banner hold" role="alert"><h2>⚠ ${lang === "zh" ? "暂停销售" : "On hold"}</h2>
<p>${label("held", lang)}</p>${view.holdReason ? `<p>${label("reason", lang)}: ${escape(view.holdReason)}</p>` : ""}</section>`);
  }

  const facts: [string, string | null][] = [
    [label("producer", lang), view.producer ? `${view.producer.name}（${view.producer.district}）` : null],
    [label("lot", lang), view.batch.lot],
    [label("productionDate", lang), view.batch.productionDate],
    [label("expiryDate", lang), view.batch.expiryDate],
    [label("standard", lang), view.product?.standard ?? null],
    [label("facility", lang), [view.batch.district, view.batch.facility].filter(Boolean).join(" ") || null],
  ];
  parts.push(
    `<dl>${facts
      .filter(([, v]) => v)
      .map(([k, v]) => `<dt>${k}</dt><dd>${escape(v)}</dd>`)
      .join("")}</dl>`,
  );

  const v = view.verification;
  parts.push(
    `<h2>${label("verification", lang)}</h2><p class="badge">${
      lang === "zh"
        ? `✔ ${v.anchored} 条记录已上链存证${v.lastAnchorBlock !== null ? `（最新于区块 #${v.lastAnchorBlock}）` : ""}，均由相应企业签名；批次登记于区块 #${v.batchOnChain.block}。${v.pending ? ` ${v.pending} 条待上链。` : ""}`
        : `✔ ${v.anchored} record${v.anchored === 1 ? "" : "s"} anchored on-chain${v.lastAnchorBlock !== null ? ` (latest in block #${v.lastAnchorBlock})` : ""}, each signed by its organisation; batch registered in block #${v.batchOnChain.block}.${v.pending ? ` ${v.pending} being anchored.` : ""}`
    }</p>`,
  );

  parts.push(`<h2>${label("timeline", lang)}</h2>`);
  parts.push(
    view.timeline.length
      ? `<ol>${view.timeline.map((e) => timelineItem(e, lang)).join("")}</ol>`
      : `<p>${label("noEvents", lang)}</p>`,
  );

  const inspections = view.timeline.filter((e) => e.certificate && !e.correction);
  if (inspections.length) {
    parts.push(
      `<h2>${label("inspections", lang)}</h2><ol>${inspections
        .map((e) => {
          const c = e.certificate!;
          const result = c.result ? label(c.result, lang) : stepWords(e.bizStep, e.disposition, lang);
          return `<li><div class="step">${escape(result)} · ${escape(c.standard)}</div><div><small>${label("issuer", lang)}: ${escape(c.issuer)}${
            c.certificateNumber ? ` · ${label("certificate", lang)} ${escape(c.certificateNumber)}` : ""
          }</small></div><div><small>SHA-256 <code>${escape(c.documentHash)}</code>${
            c.url
              ? ` · <a href="${escape(new URL(c.url).pathname)}">${lang === "zh" ? "查看证书" : "View certificate"}</a>`
              : ""
          }</small></div></li>`;
        })
        .join("")}</ol>`,
    );
  }

  if (view.inputs.length) {
    parts.push(
      `<h2>${label("inputs", lang)}</h2><ol>${view.inputs
        .map(
          (i) =>
            `<li><a href="${escape(i.digitalLink)}">${escape(i.productName ?? i.gtin)}</a> · ${label("lot", lang)} ${escape(i.lot)}${
              i.producer ? `<div><small>${escape(i.producer)}</small></div>` : ""
            }</li>`,
        )
        .join("")}</ol>`,
    );
  }
  return layout(lang, title, parts.join("\n"), switchHref);
}

/** "Not found in YuTrace" (served with 404). */
export function notFoundPage(lang: Lang, switchHref: string): string {
  return layout(
    lang,
    label("notFound", lang),
    `<h1>${label("notFound", lang)}</h1><p>${label("notFoundText", lang)}</p>`,
    switchHref,
  );
}
