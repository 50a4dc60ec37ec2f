/**
 * The plain words consumers read, in Chinese (default) and English: business steps, statuses and
 * page labels. One table, so the page and any other consumer view say the same thing.
 */
import type { BizStep } from "../domain/events";

export type Lang = "zh" | "en";

/** Each step in Chinese and English (the factory CLI also accepts the Chinese words in CSV files). */
export const STEP_WORDS: Record<BizStep, [string, string]> = {
  commissioning: ["生产", "Produced"],
  transforming: ["加工", "Processed"],
  inspecting: ["检验", "Inspected"],
  packing: ["包装", "Packed"],
  storing: ["入库", "Stored"],
  loading: ["装车", "Loaded"],
  shipping: ["发货", "Shipped"],
  departing: ["出发", "Departed"],
  arriving: ["到达", "Arrived"],
  receiving: ["到货", "Received"],
  accepting: ["验收", "Accepted"],
  unloading: ["卸货", "Unloaded"],
  sensor_reporting: ["温湿度记录", "Conditions recorded"],
  retail_selling: ["售出", "Sold"],
  holding: ["暂扣", "Held"],
  destroying: ["销毁", "Destroyed"],
};

/** The words for one event: the step, refined by its disposition where that says more. */
export function stepWords(step: BizStep, disposition: string | null, lang: Lang): string {
  const i = lang === "zh" ? 0 : 1;
  if (step === "inspecting" && disposition === "conformant") return ["检验合格", "Passed inspection"][i]!;
  if (step === "inspecting" && disposition === "non_conformant") return ["检验不合格", "Failed inspection"][i]!;
  if (step === "storing" && disposition === "sellable_accessible") return ["上架", "On the shelf"][i]!;
  return STEP_WORDS[step][i];
}

const LABELS = {
  title: ["产品追溯", "Product trace"],
  producer: ["生产企业", "Producer"],
  lot: ["批次号", "Lot"],
  productionDate: ["生产日期", "Production date"],
  expiryDate: ["保质期至", "Best before"],
  standard: ["执行标准", "Standard"],
  quantity: ["批次数量", "Batch size"],
  facility: ["生产地点", "Made at"],
  timeline: ["追溯记录", "History"],
  inputs: ["原料批次", "Made from"],
  inspections: ["检验结果", "Inspections"],
  verification: ["区块链验证", "Blockchain verification"],
  pending: ["待上链", "being anchored"],
  to: ["发往", "to"],
  certificate: ["证书", "Certificate"],
  issuer: ["检验机构", "Lab"],
  result: ["结论", "Result"],
  conformant: ["合格", "Pass"],
  non_conformant: ["不合格", "Fail"],
  recalledOwn: ["本批次产品已被召回", "This batch has been recalled"],
  recalledInput: ["本产品所用原料已被召回", "This product was made from a recalled batch"],
  recallAdvice: [
    "请立即停止食用或使用，保留包装并联系购买商家退货；如有不适请及时就医。",
    "Stop using it now, keep the packaging and return it to the shop; see a doctor if you feel unwell.",
  ],
  reason: ["召回原因", "Reason"],
  held: ["本批次正在复检，暂停销售", "This batch is on hold pending re-inspection"],
  notFound: ["未在渝溯中找到该产品", "Not found in YuTrace"],
  notFoundText: [
    "这个二维码不是渝溯登记的批次。请谨慎购买，必要时向市场监管部门（12315）反映。",
    "This code does not name a batch registered in YuTrace. Be careful, and report it to 12315 if in doubt.",
  ],
  language: ["English", "中文"],
  noEvents: ["暂无记录", "No events yet"],
  status: ["状态", "Status"],
  genuine: [
    "正品验证通过：此商品码已由生产企业登记上链",
    "Genuine: this item code was registered on-chain by the producer",
  ],
  notGenuine: [
    "警告：此商品码未在该批次登记，可能是假冒产品",
    "Warning: this item code is not registered for this batch; it may be counterfeit",
  ],
  notGenuineAdvice: [
    "请勿购买或食用，并向市场监管部门（12315）举报。",
    "Do not buy or use it; report it to the market regulator (12315).",
  ],
  serial: ["商品码", "Item code"],
  corrected: ["此记录已由记录企业更正", "Corrected by the company that recorded it"],
  incorrect_data: ["记录内容有误", "the record was wrong"],
  did_not_occur: ["该事件未发生", "this did not happen"],
  firstScan: ["首次扫码时间", "First scanned"],
  scanCount: ["累计扫码次数", "Times scanned"],
  copyWarning: [
    "此商品码已被多次或在多个地点扫描，可能已被复制。如果您刚购买此商品，请核对包装并谨慎食用。",
    "This code has been scanned many times or in many places and may have been copied. Check the packaging carefully.",
  ],
} as const;

export type LabelKey = keyof typeof LABELS;

export function label(key: LabelKey, lang: Lang): string {
  return LABELS[key][lang === "zh" ? 0 : 1];
}

/** `?lang=` wins; otherwise English only when the browser prefers it over Chinese. */
export function pickLang(queryLang: unknown, acceptLanguage: string | undefined): Lang {
  if (queryLang === "en" || queryLang === "zh") return queryLang;
  const first = (acceptLanguage ?? "").split(",")[0]?.trim().toLowerCase() ?? "";
  return first.startsWith("en") ? "en" : "zh";
}
