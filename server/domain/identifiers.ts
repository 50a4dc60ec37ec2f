/**
 * Identifier rules shared by the gateway, scripts and tests: GTIN-14 (GS1 mod-10 check digit),
 * lot numbers (GS1 AI 10 over the AI 82 character set) and the 统一社会信用代码 (unified social
 * credit code, GB 32100-2015) that identifies an organisation. The contract applies the same
 * GTIN and lot rules (`contracts/libraries/Gs1.sol`).
 */
import { keccak256, toUtf8Bytes } from "ethers";

/** The GS1 mod-10 check digit for a string of digits (the GTIN without its last digit). */
export function gs1CheckDigit(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    const digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    sum += i % 2 === 0 ? digit * 3 : digit;
  }
  return (10 - (sum % 10)) % 10;
}

/** Whether `gtin` is 14 digits, not all zero, with a valid check digit. */
export function isValidGtin14(gtin: string): boolean {
  if (!/^\d{14}$/.test(gtin) || /^0+$/.test(gtin)) return false;
  return gs1CheckDigit(gtin.slice(0, 13)) === Number(gtin[13]);
}

/** Completes 13 digits (indicator + company prefix + item reference) into a GTIN-14. */
export function gtin14(first13: string): string {
  if (!/^\d{13}$/.test(first13)) throw new RangeError(`a GTIN-14 body is 13 digits, got "${first13}"`);
  return first13 + String(gs1CheckDigit(first13));
}

/** GS1 AI 82: ! " % & ' ( ) * + , - . / 0-9 : ; < = > ? A-Z _ a-z */
const AI82 = /^[!"%-?A-Z_a-z]+$/;

/** Whether `lot` is a GS1 AI 10 batch/lot number: 1–20 characters of the AI 82 set. */
export function isValidLot(lot: string): boolean {
  return lot.length >= 1 && lot.length <= 20 && AI82.test(lot);
}

const USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** The check character (18th) of a 统一社会信用代码 from its first 17 characters. */
export function usccCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const value = USCC_CHARS.indexOf(first17[i] ?? "");
    if (value < 0) throw new RangeError(`"${first17[i] ?? ""}" is not a 统一社会信用代码 character`);
    sum += value * USCC_WEIGHTS[i]!;
  }
  return USCC_CHARS[(31 - (sum % 31)) % 31]!;
}

/** Whether `code` is an 18-character 统一社会信用代码 with a valid check character. */
export function isValidUscc(code: string): boolean {
  if (!/^[0-9A-HJ-NP-RTUW-Y]{18}$/.test(code)) return false;
  return usccCheckChar(code.slice(0, 17)) === code[17];
}

/** Completes 17 characters into a full 统一社会信用代码. */
export function uscc(first17: string): string {
  if (first17.length !== 17) throw new RangeError(`a 统一社会信用代码 body is 17 characters, got "${first17}"`);
  return first17 + usccCheckChar(first17);
}

/** The on-chain organisation id: keccak256 of the UTF-8 统一社会信用代码 (its subject code, 主体码). */
export function orgIdOf(usccCode: string): string {
  return keccak256(toUtf8Bytes(usccCode));
}
