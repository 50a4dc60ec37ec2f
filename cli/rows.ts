/**
 * CSV rows into what the gateway takes: a batch registration (`POST /api/v1/batches`) or a trace
 * event (`POST /api/v1/events`), checked with the gateway's own schemas so that every problem is
 * found here, before anything is sent, and named by row and column as the spreadsheet shows them.
 *
 * Columns have English names (as in examples/*.csv) and Chinese aliases, in any order; a column
 * nobody knows is an error (a typo must not drop data silently). Cells take what spreadsheets
 * write: dates as 2026-11-20, 2026/11/20 or 20261120; times as 2026-11-20 08:30 (China Standard
 * Time unless time_zone says otherwise) or ISO 8601; units as UNECE codes or 千克, 箱, 瓶 …;
 * business steps as CBV names or 生产, 检验, 发货 ….
 */
import type { z } from "zod/v4";

import { batchUri, type BatchKey } from "../server/domain/digital-link";
import { BIZ_STEPS, DISPOSITIONS, traceEventSchema, UNITS, type TraceEvent } from "../server/domain/events";
import { gtinSchema, lotSchema, newBatchSchema } from "../server/http/schemas";
import { CHONGQING_DISTRICTS as DISTRICTS } from "../server/domain/events";
import { STEP_WORDS } from "../server/web/words";
import { parseBatchText } from "./batch-ref";
import { columnLetter, type CsvRecord, type CsvTable } from "./csv";

export type ImportKind = "batches" | "events";

export interface RowProblem {
  /** Spreadsheet row (the header is row 1). */
  row: number;
  /** Column name as the file spells it, and its letter; absent for a problem of the whole row. */
  column?: string;
  letter?: string;
  message: string;
}

export function formatProblem(p: RowProblem): string {
  const where = p.column ? `row ${p.row}, column ${p.letter} (${p.column})` : `row ${p.row}`;
  return `${where}: ${p.message}`;
}

interface ColumnSpec {
  aliases: string[];
  required?: boolean;
}

const BATCH_COLUMNS: Record<string, ColumnSpec> = {
  gtin: { aliases: ["商品条码", "条码", "gtin-14"], required: true },
  lot: { aliases: ["批号", "批次号", "生产批号"], required: true },
  quantity: { aliases: ["数量", "批次数量"], required: true },
  unit: { aliases: ["单位", "计量单位"], required: true },
  production_date: { aliases: ["生产日期"], required: true },
  expiry_date: { aliases: ["保质期至", "有效期至", "到期日期"] },
  facility: { aliases: ["生产车间", "生产线", "生产地点", "工厂"] },
  district: { aliases: ["区县", "所在区县"] },
  inputs: { aliases: ["原料批次", "投入批次"] },
};

const EVENT_COLUMNS: Record<string, ColumnSpec> = {
  gtin: { aliases: ["商品条码", "条码", "gtin-14"], required: true },
  lot: { aliases: ["批号", "批次号", "生产批号"], required: true },
  biz_step: { aliases: ["业务步骤", "环节", "步骤"], required: true },
  event_time: { aliases: ["时间", "事件时间", "发生时间"], required: true },
  time_zone: { aliases: ["时区"] },
  disposition: { aliases: ["状态", "处置状态"] },
  action: { aliases: ["动作"] },
  quantity: { aliases: ["数量"], required: true },
  unit: { aliases: ["单位", "计量单位"], required: true },
  district: { aliases: ["区县", "所在区县"] },
  location: { aliases: ["地点", "地点名称"] },
  gln: { aliases: ["位置码"] },
  source: { aliases: ["发货方", "来源方"] },
  destination: { aliases: ["收货方", "目的方"] },
  temperature: { aliases: ["温度", "温度(°c)", "温度（°c）"] },
  humidity: { aliases: ["湿度", "湿度(%)", "湿度（%）"] },
  cert_hash: { aliases: ["证书哈希", "报告哈希"] },
  cert_issuer: { aliases: ["检验机构", "发证机构"] },
  cert_standard: { aliases: ["检验标准", "执行标准"] },
  cert_result: { aliases: ["检验结论", "结论"] },
  cert_number: { aliases: ["证书编号", "报告编号"] },
  comment: { aliases: ["备注", "说明"] },
};

export const COLUMNS: Record<ImportKind, Record<string, ColumnSpec>> = {
  batches: BATCH_COLUMNS,
  events: EVENT_COLUMNS,
};

/** What a file holds, from its header: an events file has a business-step column. */
export function kindOf(header: string[]): ImportKind | null {
  const has = (column: string, kind: ImportKind) => header.some((name) => keyOf(name, kind) === column);
  if (has("biz_step", "events")) return "events";
  if (has("production_date", "batches")) return "batches";
  return null;
}

/** A header name compared loosely: case, spaces, hyphens and underscores do not matter. */
const loose = (name: string) =>
  name
    .replace(/^\uFEFF/, "")
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, "");

/** The column key a header name stands for in a `kind` file, by its English name or an alias. */
function keyOf(name: string, kind: ImportKind): string | undefined {
  const wanted = loose(name);
  if (wanted === "") return undefined;
  return Object.entries(COLUMNS[kind]).find(
    ([key, spec]) => loose(key) === wanted || spec.aliases.some((alias) => loose(alias) === wanted),
  )?.[0];
}

/** Where each known column sits in the file, or the header's problems. */
export function mapHeader(
  header: string[],
  kind: ImportKind,
): { columns: Map<string, number>; problems: RowProblem[] } {
  const specs = COLUMNS[kind];
  const columns = new Map<string, number>();
  const problems: RowProblem[] = [];
  header.forEach((raw, index) => {
    if (loose(raw) === "") return;
    const key = keyOf(raw, kind);
    const at = { row: 1, column: raw, letter: columnLetter(index) };
    if (!key) {
      problems.push({ ...at, message: `unknown column; a ${kind} file has: ${Object.keys(specs).join(", ")}` });
    } else if (columns.has(key)) {
      problems.push({ ...at, message: `a second ${key} column (also column ${columnLetter(columns.get(key)!)})` });
    } else {
      columns.set(key, index);
    }
  });
  for (const [key, spec] of Object.entries(specs)) {
    if (spec.required && !columns.has(key)) problems.push({ row: 1, message: `the header has no ${key} column` });
  }
  return { columns, problems };
}

/** One row's cells by column key, and how to name a column in a problem. */
class Row {
  readonly problems: RowProblem[] = [];

  constructor(
    private readonly record: CsvRecord,
    private readonly header: string[],
    private readonly columns: Map<string, number>,
  ) {}

  /** Cells with no column to go in (past the header's last, or under a blank name): never dropped silently. */
  checkStrays(): void {
    const strays = this.record.cells
      .map((value, index) => ({ value: value.trim(), index }))
      .filter(({ value, index }) => value !== "" && (index >= this.header.length || this.header[index]!.trim() === ""));
    if (strays.length === 0) return;
    const where = strays.map(({ index }) => columnLetter(index)).join(", ");
    this.problems.push({
      row: this.record.row,
      message:
        `${strays.length} cell(s) in column(s) ${where} have no column name: an unquoted comma in a cell? ` +
        'Put cells that hold commas in quotes ("…"), as spreadsheets do',
    });
  }

  /** The trimmed cell, or undefined when empty or the column is absent. */
  cell(key: string): string | undefined {
    const index = this.columns.get(key);
    if (index === undefined) return undefined;
    const value = (this.record.cells[index] ?? "").trim();
    return value === "" ? undefined : value;
  }

  problem(key: string | undefined, message: string): void {
    const index = key === undefined ? undefined : this.columns.get(key);
    this.problems.push(
      index === undefined
        ? { row: this.record.row, message: key ? `${key}: ${message}` : message }
        : { row: this.record.row, column: this.header[index], letter: columnLetter(index), message },
    );
  }

  required(key: string): string | undefined {
    const value = this.cell(key);
    if (value === undefined) this.problem(key, "is empty");
    return value;
  }

  number_(key: string, positive = false): number | undefined {
    const value = this.cell(key);
    if (value === undefined) return undefined;
    // Spreadsheets write thousands separators; full-width digits are refused (as the gateway does).
    const parsed = /^-?\d{1,3}(,\d{3})+(\.\d+)?$|^-?\d+(\.\d+)?$/.test(value) ? Number(value.replace(/,/g, "")) : NaN;
    if (!Number.isFinite(parsed)) this.problem(key, `"${value}" is not a number`);
    else if (positive && parsed <= 0) this.problem(key, `must be more than 0, got ${value}`);
    return Number.isFinite(parsed) && (!positive || parsed > 0) ? parsed : undefined;
  }

  /** A GS1 key cell (gtin, lot) checked with the gateway's schema; undefined when empty or invalid. */
  key(key: "gtin" | "lot"): string | undefined {
    const value = this.required(key);
    if (value === undefined) return undefined;
    const parsed = (key === "gtin" ? gtinSchema : lotSchema).safeParse(value);
    if (parsed.success) return value;
    this.problem(key, `"${value}" ${parsed.error.issues[0]!.message}`);
    return undefined;
  }

  /** A district cell: one of Chongqing's districts and counties. */
  district(): string | undefined {
    const value = this.cell("district");
    if (value !== undefined && !(DISTRICTS as readonly string[]).includes(value)) {
      this.problem(
        "district",
        `"${value}" is not a district or county of Chongqing (重庆市区县), e.g. 巴南区, 荣昌区, 忠县`,
      );
      return undefined;
    }
    return value;
  }

  date(key: string): string | undefined {
    const value = this.cell(key);
    if (value === undefined) return undefined;
    const iso = toIsoDate(value);
    if (!iso) this.problem(key, `"${value}" is not a date (2026-11-20, 2026/11/20 or 20261120)`);
    return iso ?? undefined;
  }
}

const UNIT_WORDS: Record<string, (typeof UNITS)[number]> = {
  千克: "KGM", 公斤: "KGM", kg: "KGM", 克: "GRM", g: "GRM", 吨: "TNE", t: "TNE", 升: "LTR", l: "LTR", 毫升: "MLT",
  ml: "MLT", 件: "H87", 个: "H87", 只: "H87", 台: "H87", 盒: "XBX", 箱: "XCT", 瓶: "XBO", 包: "XPA", 袋: "XPA",
  双: "PR", 米: "MTR", m: "MTR", 平方米: "MTK", "m²": "MTK", m2: "MTK",
}; // prettier-ignore

function unitOf(row: Row, key: string): string | undefined {
  const value = row.cell(key);
  if (value === undefined) return undefined;
  const code = (UNITS as readonly string[]).includes(value.toUpperCase())
    ? value.toUpperCase()
    : UNIT_WORDS[value.toLowerCase()];
  if (!code)
    row.problem(
      key,
      `"${value}" is not a unit: one of ${UNITS.join(", ")} or 千克, 克, 吨, 升, 毫升, 件, 盒, 箱, 瓶, 包, 双, 米`,
    );
  return code;
}

/** 2026-11-20, 2026/11/20, 2026.11.20, 2026-1-5, 20261120 or 2026年11月20日 → 2026-11-20 (checked to exist). */
export function toIsoDate(value: string): string | null {
  const m = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(value) ?? /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  return date.toISOString().slice(0, 10);
}

/**
 * An event time: ISO 8601 with offset as it is, or a spreadsheet's local time (2026-11-20 08:30,
 * 2026/11/20 8:30:15) with `offset` (China Standard Time, +08:00, unless the row says otherwise).
 */
export function toEventTime(value: string, offset: string): string | null {
  if (/T.*(Z|[+-]\d{2}:\d{2})$/.test(value)) return value;
  const m = /^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return null;
  const date = toIsoDate(m[1]!);
  if (!date) return null;
  const time = `${m[2]!.padStart(2, "0")}:${m[3]}:${m[4] ?? "00"}`;
  return `${date}T${time}${offset}`;
}

const STEP_BY_WORD = new Map<string, string>([
  ...Object.entries(STEP_WORDS).flatMap(([step, [zh, en]]) => [
    [zh, step] as const,
    [en.toLowerCase(), step] as const,
  ]),
  ["投产", "commissioning"], ["入库", "storing"], ["仓储", "storing"], ["发运", "shipping"], ["收货", "receiving"],
  ["传感器", "sensor_reporting"], ["温度记录", "sensor_reporting"], ["零售", "retail_selling"], ["销售", "retail_selling"],
  ["扣留", "holding"], ["封存", "holding"],
]); // prettier-ignore

const DISPOSITION_WORDS: Record<string, string> = {
  合格: "conformant", 不合格: "non_conformant", 在途: "in_transit", 运输中: "in_transit", 可售: "sellable_accessible",
  在售: "sellable_accessible", 已售: "retail_sold", 已召回: "recalled", 过期: "expired", 损坏: "damaged", 已销毁: "destroyed",
  进行中: "in_progress", 正常: "active",
}; // prettier-ignore

const RESULT_WORDS: Record<string, string> = { 合格: "conformant", 不合格: "non_conformant" };

/** Splits "06938850100030/HJ20261101; 06938850100047/NY20261102" into batch keys. */
function inputsOf(row: Row): { gtin: string; lot: string }[] {
  const value = row.cell("inputs");
  if (value === undefined) return [];
  const inputs: { gtin: string; lot: string }[] = [];
  for (const part of value
    .split(/[;；|]/)
    .map((s) => s.trim())
    .filter(Boolean)) {
    const key = parseBatchText(part);
    if (!key) row.problem("inputs", `"${part}" is not GTIN/lot, e.g. 06938850100030/HJ20261101`);
    else inputs.push(key);
  }
  return inputs;
}

/** Turns a zod issue of the built object into a problem on the column it came from. */
function zodProblems(row: Row, error: z.ZodError, columnOf: (path: string) => string | undefined): void {
  const seen = new Set<string>();
  for (const issue of error.issues) {
    const path = issue.path.map(String).join(".");
    const column = columnOf(path);
    const text = issue.message;
    const id = `${column}:${text}`;
    if (seen.has(id)) continue;
    seen.add(id);
    row.problem(column, column ? text : `${path}: ${text}`);
  }
}

export interface BatchRow {
  row: number;
  /** The body of `POST /api/v1/batches`. */
  body: z.infer<typeof newBatchSchema>;
}

const BATCH_FIELD_COLUMNS: [RegExp, string][] = [
  [/^gtin/, "gtin"],
  [/^lot/, "lot"],
  [/^quantity\.value/, "quantity"],
  [/^quantity\.unit/, "unit"],
  [/^productionDate/, "production_date"],
  [/^expiryDate/, "expiry_date"],
  [/^facility/, "facility"],
  [/^district/, "district"],
  [/^inputs/, "inputs"],
];

export function batchRow(record: CsvRecord, table: CsvTable, columns: Map<string, number>): BatchRow | RowProblem[] {
  const row = new Row(record, table.header, columns);
  row.checkStrays();
  const gtin = row.key("gtin");
  const lot = row.key("lot");
  const district = row.district();
  const value = row.required("quantity") && row.number_("quantity", true);
  const unit = row.required("unit") && unitOf(row, "unit");
  const productionDate = row.required("production_date") && row.date("production_date");
  const expiryDate = row.date("expiry_date");
  const inputs = inputsOf(row);
  if (gtin === undefined || lot === undefined) return row.problems;
  const candidate = {
    gtin,
    lot,
    quantity: { value, unit },
    productionDate,
    ...(expiryDate ? { expiryDate } : {}),
    ...(row.cell("facility") ? { facility: row.cell("facility") } : {}),
    ...(district ? { district } : {}),
    inputs,
  };
  const parsed = newBatchSchema.safeParse(candidate);
  if (!parsed.success) {
    const flagged = new Set(row.problems.map((p) => p.column));
    const before = row.problems.length;
    zodProblems(row, parsed.error, (path) => BATCH_FIELD_COLUMNS.find(([re]) => re.test(path))?.[1]);
    // A cell already reported as unreadable is not reported again as missing.
    row.problems.splice(before, Infinity, ...row.problems.slice(before).filter((p) => !flagged.has(p.column)));
  }
  if (row.problems.length > 0) return row.problems;
  return { row: record.row, body: parsed.data! };
}

export interface EventRow {
  row: number;
  batch: BatchKey;
  /** The event as checked, naming its batch by a GS1 resolver link. */
  checked: TraceEvent;
  /** Builds the event once the batch's Digital Link (its epcClass) is known. */
  event: (digitalLink: string) => TraceEvent;
}

const EVENT_FIELD_COLUMNS: [RegExp, string][] = [
  [/^eventTimeZoneOffset/, "time_zone"],
  [/^eventTime/, "event_time"],
  [/^bizStep/, "biz_step"],
  [/^disposition/, "disposition"],
  [/^action/, "action"],
  [/^quantityList\.\d+\.quantity/, "quantity"],
  [/^quantityList\.\d+\.uom/, "unit"],
  [/^quantityList/, "lot"],
  [/^bizLocation\.id/, "gln"],
  [/^bizLocation\.district/, "district"],
  [/^bizLocation\.name/, "location"],
  [/^sourceList/, "source"],
  [/^destinationList/, "destination"],
  [/^sensorElementList\.0\.sensorReport\.0/, "temperature"],
  [/^sensorElementList/, "humidity"],
  [/^certificationInfo\.documentHash/, "cert_hash"],
  [/^certificationInfo\.issuer/, "cert_issuer"],
  [/^certificationInfo\.standard/, "cert_standard"],
  [/^certificationInfo\.result/, "cert_result"],
  [/^certificationInfo\.certificateNumber/, "cert_number"],
  [/^certificationInfo/, "cert_hash"],
  [/^comment/, "comment"],
];

/** A placeholder batch link to check events with before the gateway's own link is known. */
const CHECK_BASE = "https://id.gs1.org";

export function eventRow(record: CsvRecord, table: CsvTable, columns: Map<string, number>): EventRow | RowProblem[] {
  const row = new Row(record, table.header, columns);
  row.checkStrays();
  const gtin = row.key("gtin");
  const lot = row.key("lot");
  const district = row.district();
  const stepText = row.required("biz_step");
  const step = stepText === undefined ? undefined : stepOf(stepText);
  if (stepText !== undefined && !step) {
    row.problem(
      "biz_step",
      `"${stepText}" is not a business step: one of ${BIZ_STEPS.join(", ")} or 生产, 检验, 包装, 入库, 发货, 到货 …`,
    );
  }
  const offset = row.cell("time_zone") ?? "+08:00";
  const timeText = row.required("event_time");
  const eventTime = timeText === undefined ? undefined : toEventTime(timeText, offset);
  if (timeText !== undefined && !eventTime) {
    row.problem(
      "event_time",
      `"${timeText}" is not a time: 2026-11-20 08:30 (China Standard Time) or 2026-11-20T08:30:00+08:00`,
    );
  }
  const dispositionText = row.cell("disposition");
  const disposition = dispositionText && (DISPOSITION_WORDS[dispositionText] ?? dispositionText.toLowerCase());
  if (dispositionText && !(DISPOSITIONS as readonly string[]).includes(disposition!)) {
    row.problem(
      "disposition",
      `"${dispositionText}" is not a disposition: one of ${DISPOSITIONS.join(", ")} or 合格, 不合格, 在途 …`,
    );
  }
  const quantity = row.required("quantity") && row.number_("quantity", true);
  const unit = row.required("unit") && unitOf(row, "unit");
  const temperature = row.number_("temperature");
  const humidity = row.number_("humidity");
  const resultText = row.cell("cert_result");
  const certificationInfo =
    (row.cell("cert_hash") ?? row.cell("cert_issuer") ?? row.cell("cert_standard"))
      ? {
          documentHash: (row.cell("cert_hash") ?? "").toLowerCase(),
          issuer: row.cell("cert_issuer"),
          standard: row.cell("cert_standard"),
          ...(resultText ? { result: RESULT_WORDS[resultText] ?? resultText.toLowerCase() } : {}),
          ...(row.cell("cert_number") ? { certificateNumber: row.cell("cert_number") } : {}),
        }
      : undefined;
  if (!certificationInfo && (resultText || row.cell("cert_number"))) {
    row.problem("cert_hash", "a certificate needs cert_hash, cert_issuer and cert_standard");
  }
  const place = {
    ...(row.cell("gln") ? { id: row.cell("gln") } : {}),
    ...(district ? { district } : {}),
    ...(row.cell("location") ? { name: row.cell("location") } : {}),
  };
  const reports = [
    ...(temperature !== undefined ? [{ type: "Temperature", value: temperature, uom: "CEL" }] : []),
    ...(humidity !== undefined ? [{ type: "RelativeHumidity", value: humidity, uom: "P1" }] : []),
  ];
  const build = (link: string): Record<string, unknown> => ({
    type: "ObjectEvent",
    action: (row.cell("action") ?? (step === "commissioning" ? "ADD" : "OBSERVE")).toUpperCase(),
    bizStep: step,
    ...(disposition ? { disposition } : {}),
    eventTime,
    eventTimeZoneOffset: offset,
    quantityList: [{ epcClass: link, quantity, uom: unit }],
    ...(Object.keys(place).length > 0 ? { bizLocation: place } : {}),
    ...(row.cell("source") ? { sourceList: [{ type: "possessing_party", source: row.cell("source") }] } : {}),
    ...(row.cell("destination")
      ? { destinationList: [{ type: "possessing_party", destination: row.cell("destination") }] }
      : {}),
    ...(reports.length > 0 ? { sensorElementList: [{ sensorReport: reports }] } : {}),
    ...(certificationInfo ? { certificationInfo } : {}),
    ...(row.cell("comment") ? { comment: row.cell("comment") } : {}),
  });
  if (gtin === undefined || lot === undefined) return row.problems;
  const checkLink = safeBatchUri(gtin, lot);
  if (!checkLink) {
    row.problem("lot", `${gtin} / ${lot} does not make a batch link (is the GTIN 14 digits?)`);
    return row.problems;
  }
  const flagged = new Set(row.problems.map((p) => p.column));
  const parsed = traceEventSchema.safeParse(build(checkLink));
  if (!parsed.success) {
    const before = row.problems.length;
    zodProblems(row, parsed.error, (path) => {
      if (path.startsWith("sensorElementList") && temperature === undefined) return "humidity";
      return EVENT_FIELD_COLUMNS.find(([re]) => re.test(path))?.[1];
    });
    row.problems.splice(before, Infinity, ...row.problems.slice(before).filter((p) => !flagged.has(p.column)));
  }
  if (row.problems.length > 0) return row.problems;
  return {
    row: record.row,
    batch: { gtin, lot },
    checked: parsed.data as TraceEvent,
    event: (link) => traceEventSchema.parse(build(link)),
  };
}

function stepOf(text: string): string | undefined {
  const lower = text.toLowerCase();
  if ((BIZ_STEPS as readonly string[]).includes(lower)) return lower;
  return STEP_BY_WORD.get(text) ?? STEP_BY_WORD.get(lower);
}

function safeBatchUri(gtin: string, lot: string): string | null {
  if (!/^\d{14}$/.test(gtin)) return null;
  try {
    return batchUri(CHECK_BASE, { gtin, lot });
  } catch {
    return null;
  }
}
