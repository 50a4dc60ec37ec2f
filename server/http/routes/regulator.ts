/**
 * The regulator dashboard: its API (search, statistics, charts as SVG; regulator or admin key only)
 * and its page at /regulator, a static shell whose script signs in with a regulator's API key and
 * calls the API. The page has no inline script: helmet's CSP allows scripts from this origin only.
 */
import path from "node:path";
import express, { Router, type Response } from "express";
import { z } from "zod/v4";

import type { Dashboard, DashboardStats } from "../../services/dashboard";
import { barChart, lineChart } from "../../web/charts";
import { requireRegulatorOrAdmin } from "../auth";
import { parse } from "../schemas";
import { publicOrganisation } from "./organisations";

/** The charts the dashboard draws, by their file name under /api/v1/regulator/charts/. */
export const CHARTS = ["events-per-day", "inspection-pass-rate", "recalls-by-district", "anchoring-lag"] as const;
export type ChartName = (typeof CHARTS)[number];

/** Product categories in Chinese, for chart labels (codes: CATEGORIES in schemas.ts). */
const CATEGORY_NAMES: Record<string, string> = {
  grain_oil: "粮油",
  seasoning: "调味品",
  meat: "肉制品",
  liquor: "酒类",
  staple_food: "主食",
  paper: "纸制品",
  plastics: "塑料",
  hardware: "五金",
  glass_ceramics: "玻璃陶瓷",
  shoes: "鞋",
  textiles_garments: "纺织服装",
  cosmetics: "化妆品",
  smart_home: "智能家居",
  outdoor_fitness: "运动户外",
  crafts: "工艺品",
  unknown: "未知",
};

const searchQuerySchema = z.object({ q: z.string().trim().min(1).max(100) }).strict();

/** Private, changing data: never cached. */
const noStore = (res: Response) => res.setHeader("Cache-Control", "no-store");

export function regulatorRoutes(dashboard: Dashboard): Router {
  const router = Router();

  router.get("/regulator/search", async (req, res) => {
    requireRegulatorOrAdmin(res);
    const { q } = parse(searchQuerySchema, req.query, "the query");
    const found = await dashboard.search(q);
    noStore(res);
    res.json({
      ...found,
      organisations: found.organisations.map((org) => ({ ...publicOrganisation(org), matched: org.matched })),
    });
  });

  router.get("/regulator/stats", async (_req, res) => {
    requireRegulatorOrAdmin(res);
    noStore(res);
    res.json(await dashboard.stats());
  });

  for (const name of CHARTS) {
    router.get(`/regulator/charts/${name}.svg`, async (_req, res) => {
      requireRegulatorOrAdmin(res);
      noStore(res);
      res.type("image/svg+xml; charset=utf-8").send(chartOf(name, await dashboard.stats()));
    });
  }

  return router;
}

/** The page /regulator and its script and stylesheet (public: the data needs a key). */
export function regulatorPage(): Router {
  const router = Router();
  const folder = path.join(__dirname, "..", "..", "web", "regulator");
  router.get("/regulator", (_req, res) => {
    res.sendFile(path.join(folder, "index.html"), { headers: { "Cache-Control": "no-cache" } });
  });
  router.use("/regulator", express.static(folder, { index: false, maxAge: 0, fallthrough: true }));
  return router;
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** Chart `name` of `stats`, as SVG. */
export function chartOf(name: ChartName, stats: DashboardStats): string {
  switch (name) {
    case "events-per-day":
      return barChart(
        stats.eventsPerDay.days.map((d) => ({ label: d.date.slice(5), value: d.events, note: d.date })),
        {
          title: "每日事件数 · Events per day",
          description: `近 ${stats.eventsPerDay.days.length} 天（${stats.eventsPerDay.from} 至 ${stats.eventsPerDay.to}，北京时间）按事件时间统计的追溯事件数。`,
          xLabel: "日期 Date (UTC+8)",
          yLabel: "事件 Events",
          integer: true,
        },
      );
    case "inspection-pass-rate":
      return barChart(
        stats.inspectionPassRate.map((r) => ({
          label: CATEGORY_NAMES[r.category] ?? r.category,
          value: r.passRate === null ? 0 : Math.round(r.passRate * 1000) / 10,
          note: `${r.conformant} / ${r.conformant + r.nonConformant} 合格 passed`,
        })),
        {
          title: "各品类检验合格率 · Inspection pass rate by category",
          description: "检验事件中合格（conformant）所占比例，按被检产品的品类。",
          xLabel: "品类 Category",
          yLabel: "合格率 Pass rate (%)",
          max: 100,
          format: (v) => `${Math.round(v * 10) / 10}%`,
        },
      );
    case "recalls-by-district":
      return barChart(
        stats.recallsByDistrict.map((r) => ({ label: r.district, value: r.recalls })),
        {
          title: "各区县召回批次 · Recalls by district",
          description: "被召回的批次数，按批次的生产区县（未登记时按生产企业所在区县）。",
          xLabel: "区县 District",
          yLabel: "召回批次 Recalled batches",
          integer: true,
        },
      );
    case "anchoring-lag": {
      const { anchors, p50Ms, p95Ms } = stats.anchoringLag;
      const markers = [
        ...(p50Ms === null ? [] : [{ label: "p50", value: p50Ms / 1000 }]),
        ...(p95Ms === null ? [] : [{ label: "p95", value: p95Ms / 1000 }]),
      ];
      return lineChart(
        anchors.map((a) => ({
          label: `#${a.seq}`,
          value: a.lagMs / 1000,
          note: `${seconds(a.lagMs)}, ${a.submissions} 个提交 submissions, ${a.blockTime}`,
        })),
        {
          title: "上链锚定延迟 · Anchoring lag",
          description: `最近 ${anchors.length} 次锚定：区块时间减去其最早提交的受理时间（秒）。`,
          xLabel: "锚定序号 Anchor",
          yLabel: "延迟 Lag (s)",
          format: (v) => `${Math.round(v * 10) / 10}`,
          markers,
        },
      );
    }
  }
}
