/**
 * The GS1 Digital Link resolver (DESIGN §4): `/01/{gtin}/10/{lot}` answers with the consumer trace
 * page for browsers, JSON for `Accept: application/json`, an EPCIS 2.0 document for
 * `?linkType=gs1:epcis`, the batch's certificates for `?linkType=gs1:certificationInfo`, and a
 * linkset of all of these for `?linkType=all`. Public: no API key, nothing private.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import accepts from "accepts";
import { Router } from "express";

import { batchIdOf } from "../../domain/batch-id";
import { batchUri, parseDigitalLink } from "../../domain/digital-link";
import { epcisDocument, type StoredEvent } from "../../domain/epcis";
import type { Queries } from "../../services/queries";
import { looksCopied, placeOf, type ScanCounter } from "../../services/scans";
import type { SerialService } from "../../services/serials";
import type { TraceService, TraceView } from "../../services/trace";
import { ITEM_SLOT, itemSection, notFoundPage, tracePage, type ItemNotice } from "../../web/trace-page";
import { pickLang, type Lang } from "../../web/words";
import { HttpError } from "../errors";

/** The paths of batch and item pages, as express routes them (one segment each). */
const PAGE_PATH = /^\/01\/[^/]+\/10\/[^/]+(\/21\/[^/]+)?\/?$/;

/** The link types a batch has besides its page (GS1 Digital Link `?linkType=`). */
const LINK_TYPES = new Set(["gs1:epcis", "gs1:certificationInfo", "all"]);

/** Most events an EPCIS export of one batch carries. */
const MAX_EXPORT = 10_000;

/**
 * The consumer pages — a batch's trace page (HTML or JSON) and an item's page — answered without
 * express. They are what every shopper's scan asks for; express costs ~0.25 ms of CPU a request
 * before any route runs (measured: 3,400 req/s for an empty express route on this 2-core machine
 * against 17,000 for plain node), so the gateway's HTTP server hands these requests here first
 * (`answer`) and passes on everything else — other link types, unknown batches, errors — to express,
 * whose routes below call `answer` too. Responses carry the same security headers as express's
 * (`securityHeaders`, taken from the app's helmet middleware).
 */
export class ConsumerPages {
  constructor(
    private readonly trace: TraceService,
    private readonly publicUrl: string,
    private readonly items: { serials: SerialService; scans: ScanCounter },
    private readonly securityHeaders: readonly [string, string][] = [],
  ) {}

  /** Answers a GET or HEAD of a batch's or an item's page; false, with nothing written, if it cannot. */
  async answer(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const { path, query } = splitUrl(req.url ?? "/");
    // Only the paths express routes here: /01/{gtin}/10/{lot}[/21/{serial}].
    if (!PAGE_PATH.test(path)) return false;
    const key = parseDigitalLink(path);
    if (!key) return false;
    // A batch's other link types are express's; an unknown one, or any on an item, gets the page.
    if (!key.serial && LINK_TYPES.has(query.get("linkType") ?? "")) return false;
    const view = await this.trace.batch(batchIdOf(key.gtin, key.lot));
    if (!view) return false;
    const { lang, switchHref, wantsJson } = negotiate(req, query);
    if (key.serial) {
      const body = await this.itemPage(view, key.serial, lang, switchHref, wantsJson, req.socket.remoteAddress);
      this.send(res, 200, wantsJson, body, { "Cache-Control": "no-store" });
      return true;
    }
    const page = renderedPage(view, wantsJson ? "json" : lang, switchHref);
    const headers: Record<string, string> = { "Cache-Control": "no-cache", ETag: page.etag };
    if (!wantsJson) {
      headers.Link = `<${batchUri(this.publicUrl, key)}?linkType=all>; rel="linkset"; type="application/linkset+json"`;
    }
    const unchanged = matchesEtag(req.headers["if-none-match"], page.etag);
    this.send(res, unchanged ? 304 : 200, wantsJson, unchanged ? null : page.body, headers);
    return true;
  }

  /** An item's page: the batch's page around the item's notice (genuine or not, scans), made per scan. */
  private async itemPage(
    view: TraceView,
    serial: string,
    lang: Lang,
    switchHref: string,
    wantsJson: boolean,
    address: string | undefined,
  ): Promise<Buffer> {
    const { serials, scans } = this.items;
    const check = await serials.check(view.batch.batchId, serial);
    // Only genuine codes are counted: a forger's made-up serials leave nothing in the store.
    const scanned = check.genuine ? await scans.record(view.batch.batchId, serial, placeOf(address)) : null;
    const item: ItemNotice = {
      serial,
      genuine: check.genuine,
      scans: scanned ? { count: scanned.count, firstAt: scanned.firstAt, copied: looksCopied(scanned) } : null,
    };
    const [head, tail] = itemTemplate(view, wantsJson ? "json" : lang, switchHref);
    const notice = wantsJson
      ? `${JSON.stringify({ ...item, proof: check.proof, root: check.root }).slice(0, -1)},"batch":`
      : itemSection(item, lang);
    return Buffer.concat([head, Buffer.from(notice, "utf8"), tail]);
  }

  private send(
    res: ServerResponse,
    status: number,
    json: boolean,
    body: Buffer | null,
    headers: Record<string, string>,
  ): void {
    for (const [name, value] of this.securityHeaders) res.setHeader(name, value);
    res.statusCode = status;
    res.setHeader("Vary", "Accept, Accept-Language");
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    if (body) {
      res.setHeader("Content-Type", json ? "application/json; charset=utf-8" : "text/html; charset=utf-8");
      res.setHeader("Content-Length", body.length);
    }
    res.end(body ?? undefined);
  }
}

/** The headers helmet middleware `middleware` sets on every response, to apply outside express. */
export function securityHeadersOf(
  middleware: (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void,
): [string, string][] {
  const headers = new Map<string, string>();
  const res = {
    setHeader: (name: string, value: unknown) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
    getHeader: (name: string) => headers.get(name),
  };
  let done = false;
  middleware({ method: "GET", url: "/", headers: {} } as IncomingMessage, res as unknown as ServerResponse, (error) => {
    if (error) throw error;
    done = true;
  });
  if (!done) throw new Error("the security header middleware did not finish at once");
  return [...headers];
}

export function resolverRoutes(pages: ConsumerPages, trace: TraceService, queries: Queries, publicUrl: string): Router {
  const router = Router();

  /** An item of an unknown batch (known ones are ConsumerPages'). */
  router.get("/01/:gtin/10/:lot/21/:serial", async (req, res) => {
    if (await answered(pages, req, res)) return;
    const { lang, switchHref, wantsJson } = negotiate(req, splitUrl(req.url).query);
    res.setHeader("Vary", "Accept, Accept-Language");
    res.setHeader("Cache-Control", "no-store");
    if (wantsJson) throw new HttpError(404, "not_in_yutrace", "this GTIN and lot are not registered in YuTrace");
    res.status(404).type("html").send(notFoundPage(lang, switchHref));
  });

  /** A batch's other link types, and unknown batches (the trace page itself is ConsumerPages'). */
  router.get("/01/:gtin/10/:lot", async (req, res) => {
    if (await answered(pages, req, res)) return;
    const key = parseDigitalLink(req.path);
    const { query } = splitUrl(req.url);
    const linkType = query.get("linkType") ?? "";
    const { lang, switchHref, wantsJson } = negotiate(req, query);
    const view = key ? await trace.batch(batchIdOf(key.gtin, key.lot)) : null;
    res.setHeader("Vary", "Accept, Accept-Language");
    if (!key || !view || !LINK_TYPES.has(linkType)) {
      if (wantsJson || linkType) {
        throw new HttpError(404, "not_in_yutrace", "this GTIN and lot are not registered in YuTrace");
      }
      res.status(404).type("html").send(notFoundPage(lang, switchHref));
      return;
    }
    const uri = batchUri(publicUrl, key);
    switch (linkType) {
      case "gs1:epcis":
        res.type("application/ld+json").json(epcisDocument(await allEvents(queries, view.batch.batchId)));
        return;
      case "gs1:certificationInfo":
        res.json({
          batch: uri,
          certificates: view.timeline
            .filter((e) => e.certificate)
            .map((e) => ({ eventId: e.eventId, eventTime: e.eventTime, issuedBy: e.organisation, ...e.certificate })),
        });
        return;
      case "all":
        res.type("application/linkset+json").json(linkset(uri, view.product?.name.zh ?? view.batch.gtin));
        return;
    }
  });

  return router;
}

/**
 * Why ConsumerPages could not answer a request it took up (set by app.ts before handing it to
 * express): the express routes then report that error instead of answering again, which would
 * count an item's scan twice.
 */
export const PAGE_FAILURE = Symbol("consumer page failure");

/** Whether ConsumerPages answered `req`; throws what made it fail when it took it up first. */
async function answered(pages: ConsumerPages, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const failure = (req as IncomingMessage & { [PAGE_FAILURE]?: unknown })[PAGE_FAILURE];
  if (failure !== undefined) throw failure;
  return pages.answer(req, res);
}

/** A request target's path and query. */
function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const at = url.indexOf("?");
  return at < 0
    ? { path: url, query: new URLSearchParams() }
    : { path: url.slice(0, at), query: new URLSearchParams(url.slice(at + 1)) };
}

/** Whether an If-None-Match header names `etag` (or any: `*`); weak tags compare by their value. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((tag) => {
    const value = tag.trim().replace(/^W\//, "");
    return value === "*" || value === etag;
  });
}

/** A rendered page, encoded, with its strong ETag. */
interface RenderedPage {
  body: Buffer;
  etag: string;
}

/**
 * Rendered batch pages (HTML per language, and the JSON), kept with the view they were made from: the
 * trace service hands out the same view object until the store changes, so a new view means a new page.
 * Item pages keep the batch's page split at the place of the item's notice.
 */
const pages = new WeakMap<TraceView, Map<string, RenderedPage | [Buffer, Buffer]>>();

function cached<T extends RenderedPage | [Buffer, Buffer]>(view: TraceView, variant: string, make: () => T): T {
  let byVariant = pages.get(view);
  if (!byVariant) pages.set(view, (byVariant = new Map()));
  let page = byVariant.get(variant) as T | undefined;
  if (page === undefined) {
    page = make();
    if (byVariant.size < 16) byVariant.set(variant, page);
  }
  return page;
}

function renderedPage(view: TraceView, lang: Lang | "json", switchHref: string): RenderedPage {
  return cached(view, `${lang} ${switchHref}`, () => {
    const body = Buffer.from(lang === "json" ? JSON.stringify(view) : tracePage(view, lang, switchHref), "utf8");
    return { body, etag: `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"` };
  });
}

/** The item page of a batch around its item notice: what comes before it, and after. */
function itemTemplate(view: TraceView, lang: Lang | "json", switchHref: string): [Buffer, Buffer] {
  return cached(view, `item ${lang} ${switchHref}`, () => {
    if (lang === "json") return [Buffer.alloc(0), Buffer.from(`${JSON.stringify(view)}}`, "utf8")];
    const page = tracePage(view, lang, switchHref, ITEM_SLOT);
    const at = page.indexOf(ITEM_SLOT);
    return [Buffer.from(page.slice(0, at), "utf8"), Buffer.from(page.slice(at + ITEM_SLOT.length), "utf8")];
  });
}

async function allEvents(queries: Queries, batchId: string): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<Queries["batchEvents"]>> = await queries.batchEvents(batchId, {
      limit: 200,
      cursor,
    });
    events.push(...page.events.map((e) => ({ eventId: e.eventId, recordTime: e.recordTime, body: e.event })));
    cursor = page.nextCursor;
  } while (cursor && events.length < MAX_EXPORT);
  return events;
}

/** RFC 9264 linkset with GS1 link types for the batch. */
function linkset(uri: string, title: string): Record<string, unknown> {
  return {
    linkset: [
      {
        anchor: uri,
        "https://ref.gs1.org/voc/defaultLink": [{ href: uri, title, type: "text/html" }],
        "https://ref.gs1.org/voc/pip": [
          { href: `${uri}?lang=zh`, title: `${title} · 产品追溯`, type: "text/html", hreflang: ["zh"] },
          { href: `${uri}?lang=en`, title: `${title} · trace`, type: "text/html", hreflang: ["en"] },
        ],
        "https://ref.gs1.org/voc/traceability": [{ href: uri, title: "JSON", type: "application/json" }],
        "https://ref.gs1.org/voc/epcis": [
          { href: `${uri}?linkType=gs1:epcis`, title: "EPCIS 2.0", type: "application/ld+json" },
        ],
        "https://ref.gs1.org/voc/certificationInfo": [
          { href: `${uri}?linkType=gs1:certificationInfo`, title: "检验证书 / certificates", type: "application/json" },
        ],
      },
    ],
  };
}

/** What the client asked for: its language, the link to the other language, and JSON or HTML. */
function negotiate(
  req: IncomingMessage,
  query: URLSearchParams,
): { lang: Lang; switchHref: string; wantsJson: boolean } {
  const lang = pickLang(query.get("lang") ?? undefined, req.headers["accept-language"]);
  return {
    lang,
    // Relative (RFC 3986 §5.2: a query-only reference keeps the path), so every item of a batch
    // shares one rendered page.
    switchHref: `?lang=${lang === "zh" ? "en" : "zh"}`,
    wantsJson: accepts(req).type(["text/html", "application/json"]) === "application/json",
  };
}
