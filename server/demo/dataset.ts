/**
 * The Chongqing demo dataset: organisations, products and batches from the plan's industries
 * (渝府办发〔2020〕49号) — a 重庆火锅底料 supply chain from 江津 chili and 荣昌 tallow through a 巴南
 * factory, a lab, a cold-chain carrier and a supermarket, plus 荣昌陶瓷, 大足五金 and 璧山 shoes.
 * Companies are fictional; identifiers are real-looking and pass their check digits. Dates are
 * relative to the day the demo is loaded, so every event lies in the past.
 */
import { gtin14, uscc } from "../domain/identifiers";
import type { RoleName } from "../store/records";

export interface DemoOrganisation {
  key: string;
  name: string;
  uscc: string;
  district: string;
  roles: RoleName[];
}

export const DEMO_ORGANISATIONS = [
  { key: "regulator", name: "重庆市市场监督管理局", uscc: uscc("11500000MB1653215"), district: "渝中区", roles: ["regulator"] },
  { key: "chiliCoop", name: "重庆市江津区椒香辣椒专业合作社", uscc: uscc("93500116MA5UJX3K2"), district: "江津区", roles: ["producer"] },
  { key: "tallowCo", name: "重庆荣昌牛油食品有限公司", uscc: uscc("91500153MA60L2QX4"), district: "荣昌区", roles: ["producer"] },
  { key: "hotpotCo", name: "重庆巴南渝味火锅食品有限公司", uscc: uscc("91500113MA5YN8HT6"), district: "巴南区", roles: ["producer"] },
  { key: "lab", name: "重庆市食品质量检验检测中心", uscc: uscc("12500000MB0P2715X"), district: "渝北区", roles: ["inspector"] },
  { key: "coldChain", name: "重庆渝冷冷链物流有限公司", uscc: uscc("91500106MA61C7RD3"), district: "沙坪坝区", roles: ["logistics"] },
  { key: "supermarket", name: "重庆山城优选超市有限公司", uscc: uscc("91500103MA5U8BK41"), district: "渝中区", roles: ["retailer"] },
  { key: "ceramics", name: "重庆荣昌安陶工艺品有限公司", uscc: uscc("91500153MA5YQW0T7"), district: "荣昌区", roles: ["producer"] },
  { key: "hardware", name: "重庆大足锻造五金有限公司", uscc: uscc("91500111MA60D4NP9"), district: "大足区", roles: ["producer"] },
  { key: "shoes", name: "重庆璧山西部鞋都制鞋有限公司", uscc: uscc("91500120MA61H3GA2"), district: "璧山区", roles: ["producer"] },
] as const satisfies readonly DemoOrganisation[]; // prettier-ignore

export type DemoOrgKey = (typeof DEMO_ORGANISATIONS)[number]["key"];

export const DEMO_PRODUCTS = [
  { owner: "chiliCoop", gtin: gtin14("0693885020002"), name: { zh: "江津鲜红朝天椒", en: "Jiangjin red chili" }, category: "seasoning", standard: "NY/T 1062", brand: "椒香" },
  { owner: "tallowCo", gtin: gtin14("0693885030001"), name: { zh: "荣昌火锅牛油", en: "Rongchang hotpot beef tallow" }, category: "seasoning", standard: "GB 10146", brand: "荣牛" },
  { owner: "hotpotCo", gtin: gtin14("0693885010003"), name: { zh: "重庆老火锅底料 500g", en: "Chongqing hotpot base 500 g" }, category: "seasoning", standard: "Q/YWHG 0001S", brand: "渝味" },
  { owner: "ceramics", gtin: gtin14("0693885040000"), name: { zh: "荣昌安陶茶具套装", en: "Rongchang pottery tea set" }, category: "glass_ceramics", standard: "GB/T 3532", brand: "安陶" },
  { owner: "hardware", gtin: gtin14("0693885050009"), name: { zh: "大足锻打菜刀", en: "Dazu forged kitchen knife" }, category: "hardware", standard: "QB/T 1924", brand: "大足刀" },
  { owner: "shoes", gtin: gtin14("0693885060008"), name: { zh: "璧山真皮商务鞋", en: "Bishan leather business shoes" }, category: "shoes", standard: "QB/T 1002", brand: "西部鞋都" },
] as const; // prettier-ignore

export type DemoProduct = (typeof DEMO_PRODUCTS)[number];
