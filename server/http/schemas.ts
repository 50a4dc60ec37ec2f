/**
 * Request bodies and parameters of the API, validated strictly: an unknown field is an error, so
 * a typo never silently drops data. `parse` turns a failure into a 400 naming every bad field.
 */
import { z } from "zod/v4";

import { hasUnsafeCharacters, UNSAFE_TEXT_MESSAGE } from "../domain/text";

import { CHONGQING_DISTRICTS, UNITS } from "../domain/events";
import { isValidGtin14, isValidLot, isValidUscc } from "../domain/identifiers";
import { MAX_SERIALS_PER_REQUEST } from "../services/serials";
import { PARTICIPANT_ROLES } from "../store/records";
import { HttpError } from "./errors";

/** Largest JSON request body (an event submission of up to 1,000 events fits with room to spare). */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Product categories: the industries of Chongqing's consumer-goods plan (渝府办发〔2020〕49号). */
export const CATEGORIES = [
  "grain_oil", // 粮油
  "seasoning", // 调味品（火锅底料、渝菜复合调料、发酵制品）
  "meat", // 肉制品
  "liquor", // 酒类（白酒、果酒、啤酒）
  "staple_food", // 小面、火锅等主食
  "paper", // 纸制品
  "plastics", // 塑料（食品级包装）
  "hardware", // 五金
  "glass_ceramics", // 玻璃陶瓷
  "shoes", // 鞋
  "textiles_garments", // 纺织服装
  "cosmetics", // 化妆品
  "smart_home", // 智能家居
  "outdoor_fitness", // 运动户外
  "crafts", // 工艺美术、旅游商品
] as const;

const cleanText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((s) => !hasUnsafeCharacters(s), { message: UNSAFE_TEXT_MESSAGE });

export const gtinSchema = z.string().refine(isValidGtin14, { message: "must be a GTIN-14 with a valid check digit" });
export const lotSchema = z
  .string()
  .refine(isValidLot, { message: "must be 1–20 characters of the GS1 set (A–Z a–z 0–9 and !\"%&'()*+,-./:;<=>?_)" })
  .refine((lot) => lot !== "." && lot !== "..", { message: "cannot be '.' or '..': a URL cannot carry it" });
export const usccSchema = z
  .string()
  .refine(isValidUscc, { message: "must be a valid 统一社会信用代码 (18 characters)" });
export const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/, { message: "must be 0x and 64 lower-case hex digits" });
const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { message: "must be a date YYYY-MM-DD", abort: true })
  .refine(
    (s) => {
      const date = new Date(`${s}T00:00:00Z`);
      return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(s);
    },
    { message: "is not a real date" },
  );

export const newOrganisationSchema = z
  .object({
    name: cleanText(100),
    uscc: usccSchema,
    district: z.enum(CHONGQING_DISTRICTS),
    roles: z.array(z.enum(PARTICIPANT_ROLES)).min(1).max(5),
    account: z
      .string()
      .regex(/^0x[0-9a-fA-F]{40}$/, { message: "must be an address" })
      .optional(),
  })
  .strict();

export const reasonSchema = z.object({ reason: cleanText(500) }).strict();

/**
 * A self-custody organisation's EIP-712 signature of a ledger request (`RegisterProduct`,
 * `RegisterBatch`), with the ledger nonce and the deadline (Unix seconds) it signed.
 */
export const authorizationSchema = z
  .object({
    nonce: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    deadline: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, { message: "must be a 65-byte hex signature" }),
  })
  .strict();

export const newProductSchema = z
  .object({
    gtin: gtinSchema,
    name: z.object({ zh: cleanText(100), en: cleanText(100).optional() }).strict(),
    category: z.enum(CATEGORIES),
    standard: cleanText(100),
    brand: cleanText(100).optional(),
    authorization: authorizationSchema.optional(),
  })
  .strict();

export const newBatchSchema = z
  .object({
    gtin: gtinSchema,
    lot: lotSchema,
    quantity: z.object({ value: z.number().positive().max(1e12), unit: z.enum(UNITS) }).strict(),
    productionDate: isoDate,
    expiryDate: isoDate.optional(),
    facility: cleanText(200).optional(),
    district: z.enum(CHONGQING_DISTRICTS).optional(),
    inputs: z
      .array(z.object({ gtin: gtinSchema, lot: lotSchema }).strict())
      .max(32)
      .default([]),
    authorization: authorizationSchema.optional(),
  })
  .strict()
  .refine((b) => !b.expiryDate || b.expiryDate >= b.productionDate, {
    message: "expiryDate is before productionDate",
    path: ["expiryDate"],
    when: (payload) => payload.issues.length === 0,
  });

export const serialRequestSchema = z.object({ count: z.number().int().min(1).max(MAX_SERIALS_PER_REQUEST) }).strict();

export const pageQuerySchema = z
  .object({ limit: z.coerce.number().int().min(1).max(200).optional(), cursor: z.string().max(400).optional() })
  .strict();

export const lineageQuerySchema = z.object({ direction: z.enum(["up", "down"]).default("up") }).strict();

/** Validates `value`; a 400 listing every problem otherwise. */
export function parse<T extends z.ZodTypeAny>(schema: T, value: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new HttpError(
      400,
      "invalid_request",
      `${what} is not valid`,
      result.error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message })),
    );
  }
  return result.data;
}
