/**
 * The GS1 Digital Link resolver (DESIGN §4): `/01/{gtin}/10/{lot}` answers with the consumer trace
 * page for browsers, JSON for `Accept: application/json`, an EPCIS 2.0 document for
 * `?linkType=gs1:epcis`, the batch's certificates for `?linkType=gs1:certificationInfo`, and a
 * linkset of all of these for `?linkType=all`. Public: no API key, nothing private.
 */
import { Router, type Request } from "express";

import { batchIdOf } from "../../domain/batch-id";
import { batchUri, parseDigitalLink } from "../../domain/digital-link";
import { epcisDocument, type StoredEvent } from "../../domain/epcis";
import type { Queries } from "../../services/queries";
import { looksCopied, placeOf, type ScanCounter } from "../../services/scans";
import type { SerialService } from "../../services/serials";
import type { TraceService, TraceView } from "../../services/trace";
import { notFoundPage, tracePage, type ItemNotice } from "../../web/trace-page";
import { pickLang, type Lang } from "../../web/words";
import { HttpError } from "../errors";

/** Most events an EPCIS export of one batch carries. */
const MAX_EXPORT = 10_000;

export function resolverRoutes(
  trace: TraceService,
  queries: Queries,
  publicUrl: string,
  items: { serials: SerialService; scans: ScanCounter },
): Router {
  const router = Router();

  /** An item: the batch's trace with whether the code is genuine and how often it was scanned. */
  router.get("/01/:gtin/10/:lot/21/:serial", async (req, res) => {
    const key = parseDigitalLink(req.path);
    const { lang, switchHref, wantsJson } = negotiate(req);
    const view = key?.serial ? await trace.batch(batchIdOf(key.gtin, key.lot)) : null;
    res.setHeader("Vary", "Accept, Accept-Language");
    res.setHeader("Cache-Control", "no-store");
    if (!key?.serial || !view) {
      if (wantsJson) throw new HttpError(404, "not_in_yutrace", "this GTIN and lot are not registered in YuTrace");
      res.status(404).type("html").send(notFoundPage(lang, switchHref));
      return;
    }
    const check = await items.serials.check(view.batch.batchId, key.serial);
    // Only genuine codes are counted: a forger's made-up serials leave nothing in the store.
    const scans = check.genuine
      ? await items.scans.record(view.batch.batchId, key.serial, placeOf(req.socket.remoteAddress))
      : null;
    const item: ItemNotice = {
      serial: key.serial,
      genuine: check.genuine,
      scans: scans ? { count: scans.count, firstAt: scans.firstAt, copied: looksCopied(scans) } : null,
    };
    if (wantsJson) {
      res.json({ ...item, proof: check.proof, root: check.root, batch: view });
      return;
    }
    res.type("html").send(tracePage(view, lang, switchHref, item));
  });

  router.get("/01/:gtin/10/:lot", async (req, res) => {
    const key = parseDigitalLink(req.path);
    const { lang, switchHref, wantsJson } = negotiate(req);
    const view = key ? await trace.batch(batchIdOf(key.gtin, key.lot)) : null;
    res.setHeader("Vary", "Accept, Accept-Language");
    if (!key || !view) {
      if (wantsJson || req.query.linkType) {
        throw new HttpError(404, "not_in_yutrace", "this GTIN and lot are not registered in YuTrace");
      }
      res.status(404).type("html").send(notFoundPage(lang, switchHref));
      return;
    }
    const uri = batchUri(publicUrl, key);
    switch (req.query.linkType) {
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
    res.setHeader("Cache-Control", "no-cache");
    if (wantsJson) {
      res.type("json").send(renderedPage(view, "json", ""));
      return;
    }
    res.setHeader("Link", `<${uri}?linkType=all>; rel="linkset"; type="application/linkset+json"`);
    res.type("html").send(renderedPage(view, lang, switchHref));
  });

  return router;
}

/**
 * Rendered batch pages (HTML per language, and the JSON), kept with the view they were made from: the
 * trace service hands out the same view object until the store changes, so a new view means a new page.
 */
const pages = new WeakMap<TraceView, Map<string, string>>();

function renderedPage(view: TraceView, lang: Lang | "json", switchHref: string): string {
  let byVariant = pages.get(view);
  if (!byVariant) pages.set(view, (byVariant = new Map()));
  const variant = `${lang} ${switchHref}`;
  let page = byVariant.get(variant);
  if (page === undefined) {
    page = lang === "json" ? JSON.stringify(view) : tracePage(view, lang, switchHref);
    if (byVariant.size < 16) byVariant.set(variant, page);
  }
  return page;
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
function negotiate(req: Request): { lang: Lang; switchHref: string; wantsJson: boolean } {
  const lang = pickLang(req.query.lang, req.get("accept-language"));
  return {
    lang,
    switchHref: `${req.path}?lang=${lang === "zh" ? "en" : "zh"}`,
    wantsJson: req.accepts(["text/html", "application/json"]) === "application/json",
  };
}
