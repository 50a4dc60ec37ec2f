/**
 * Property-based fuzzing (fast-check) of every write endpoint of the API — every POST, PUT, PATCH
 * and DELETE of the OpenAPI document, checked both ways: a write endpoint without a fuzz target
 * fails the first test. Each endpoint gets requests made from a valid one by changing what a
 * client can get wrong: malformed and truncated JSON, invalid UTF-8, oversized bodies and
 * strings, wrong types at every field (a random field replaced by arbitrary JSON, deleted, or an
 * unknown field added), Unicode tricks (U+202E, U+200B, U+FEFF, NUL, lone surrogates, fullwidth
 * and Arabic-Indic digits in GTINs, lots and 统一社会信用代码), injection-looking strings,
 * `__proto__` / `constructor` keys and prototype-pollution JSON, boundary numbers, wrong content
 * types, wrong API keys and wrong path parameters.
 *
 * The property, for every request: the gateway answers (never drops the connection), never with a
 * 5xx; every 4xx is a JSON `{error:{code,message}}` without a stack trace; a refused request leaves
 * every key and value of the store as it was (a SHA-256 digest of the whole store before and
 * after; and again before the next request, so that a write the refused request started in the
 * background is caught too); Object.prototype is never polluted (the gateway runs in this
 * process); /healthz still answers after each endpoint, and /readyz once the gateway has settled
 * at the end. A request that happens to be valid and accepted (2xx) is allowed; the store is then
 * let settle (quiesce) before the next request.
 *
 * Reproducing a failure: endpoint i (in TARGETS order) runs with the fixed seed SEED + i, so every
 * run of this file sends the same requests (but for today's date in the example lots and event
 * times). fast-check prints the failing run's `seed` and `path` with the shrunk counterexample:
 * pass `{ seed, path }` to that endpoint's `fc.assert` to replay exactly that run. The environment
 * variables YUTRACE_FUZZ_SEED (base seed, default 20261110) and YUTRACE_FUZZ_RUNS (runs per
 * endpoint, default 80) explore further.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import { expect } from "chai";

import { MAX_BODY_BYTES } from "../../server/http/schemas";
import { MAX_CERTIFICATE_BYTES } from "../../server/services/certificates";
import fc from "fast-check";

import { batchIdOf } from "../../server/domain/batch-id";
import { batchUri } from "../../server/domain/digital-link";
import { gtin14, uscc } from "../../server/domain/identifiers";
import type { Gateway } from "../../server/gateway";
import {
  ORGANISATIONS,
  PRODUCTS,
  createOrganisation,
  cstTime,
  dateIn,
  objectEvent,
  pdfBytes,
  quantity,
  quiesce,
  registerBatch,
  registerProduct,
  startTestGateway,
  storeSnapshot,
  type BatchInput,
  type TestGateway,
  type TestOrg,
} from "../helpers/gateway";

/** The base seed: fixed, so every run of this file sends the same requests. */
const SEED = Number(process.env.YUTRACE_FUZZ_SEED ?? 20_261_110);
/** Runs per endpoint. */
const RUNS = Number(process.env.YUTRACE_FUZZ_RUNS ?? 80);
/**
 * Most time one endpoint is fuzzed (runs and shrinking) before fast-check stops it: a bound, not a
 * budget — every run must have been made (each endpoint takes 2–4 s here).
 */
const TIME_LIMIT_MS = 90_000;
/** The gateway's JSON body limit and its certificate limit. */
const JSON_LIMIT = MAX_BODY_BYTES;
const CERTIFICATE_LIMIT = MAX_CERTIFICATE_BYTES;

const NOW = new Date();
const compact = (offsetDays: number) => dateIn(offsetDays, NOW).replaceAll("-", "");
const at = (offsetDays: number, hour: number, minute = 0) => cstTime(offsetDays, hour, minute, NOW);

const LOTS = {
  /** Commissioned by the producer, which still holds it: events and releases target it. */
  stored: { gtin: PRODUCTS.hotpotBase.gtin, lot: `FZ${compact(-10)}-S` },
  /** Recall target. */
  recall: { gtin: PRODUCTS.hotpotBase.gtin, lot: `FZ${compact(-9)}-R` },
  /** Serials target. */
  serials: { gtin: PRODUCTS.hotpotBase.gtin, lot: `FZ${compact(-8)}-N` },
  /** The other producer's chili: EPCIS capture and the recall drill. */
  chili: { gtin: PRODUCTS.chili.gtin, lot: `JJ${compact(-20)}` },
} as const;
type LotKey = keyof typeof LOTS;

/** An organisation that key rotations and suspensions are practised on. */
const VICTIM = {
  name: "重庆两江冷链测试物流有限公司",
  uscc: uscc("91500112MA60T2Y7X"),
  district: "渝北区",
  roles: ["logistics"],
} as const;
/** A valid organisation nobody registered: the example body of POST /organisations. */
const NEW_ORG_USCC = uscc("91500105MA61B7QK2");
/** A valid GTIN-14 nobody registered: the example body of POST /products. */
const NEW_GTIN = gtin14("0693885020019");

// ---------------------------------------------------------------- what the fuzz is made of

const BOUNDARY_NUMBERS = [
  0,
  -0,
  -1,
  1,
  0.5,
  -0.5,
  1e-7,
  5e-324,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  Number.MAX_SAFE_INTEGER,
  1e12,
  1e12 + 1,
  100_001,
  1e21,
  1e308,
  -1e308,
  Number.MAX_VALUE,
];

/** Characters that hide or reorder text, or break encoders. */
const TRICKY_CHARS = [
  "\u202e", // right-to-left override
  "\u202d",
  "\u2066",
  "\u200b", // zero-width space
  "\u200d",
  "\ufeff", // zero-width no-break space / BOM
  "\u0000", // NUL
  "\u0007",
  "\u001b",
  "\u007f",
  "\ud800", // lone high surrogate
  "\udfff", // lone low surrogate
  "\u2028",
  "\u2029",
  "\u3000",
  "\u00a0",
  "\u0301",
  "\u3164",
  "\uffff",
  "\ufffd",
  "\u{1d7ce}", // MATHEMATICAL BOLD DIGIT ZERO
  "\u{1f600}",
  "\r\n",
  "\t",
];

const INJECTIONS = [
  "' OR 1=1 --",
  '" OR ""="',
  "'; DROP TABLE batches; --",
  "<script>alert(1)</script>",
  "<img src=x onerror=alert(1)>",
  "${jndi:ldap://127.0.0.1:1389/a}",
  "{{7*7}}",
  "#{7*7}",
  "../../etc/passwd",
  "..\\..\\windows\\win.ini",
  "/etc/passwd\u0000.pdf",
  "%00",
  "%2e%2e%2f",
  "$where",
  '{"$gt":""}',
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "\r\nSet-Cookie: admin=1",
  "javascript:alert(1)",
  "file:///etc/passwd",
  "http://169.254.169.254/latest/meta-data/",
  "\\u0000",
  "NaN",
  "Infinity",
  "-Infinity",
  "1e400",
  "-0",
  "0x1F",
  "1_000",
  " 42 ",
  "",
  " ",
  "null",
  "undefined",
  "true",
  "[]",
  "{}",
];

/** Digits that look like 0–9 (fullwidth, Arabic-Indic, Persian, Devanagari, mathematical bold). */
const DIGIT_SETS = [0xff10, 0x0660, 0x06f0, 0x0966, 0x1d7ce];
/** Latin capitals and the Cyrillic or Greek letters that look like them. */
const LATIN_LOOKALIKES: Record<string, string> = {
  A: "\u0410",
  B: "\u0412",
  C: "\u0421",
  E: "\u0415",
  H: "\u041d",
  K: "\u041a",
  M: "\u041c",
  N: "\u039d",
  O: "\u041e",
  P: "\u0420",
  T: "\u0422",
  X: "\u0425",
  Y: "\u04ae",
};

function withDigits(text: string, base: number): string {
  return text.replace(/[0-9]/g, (d) => String.fromCodePoint(base + Number(d)));
}

/** The identifiers the examples carry, in the look-alike forms a careless or hostile client sends. */
const LOOKALIKE_IDENTIFIERS = [
  PRODUCTS.hotpotBase.gtin,
  NEW_GTIN,
  LOTS.stored.lot,
  ORGANISATIONS.logistics.uscc,
  NEW_ORG_USCC,
].flatMap((id) => [
  ...DIGIT_SETS.map((base) => withDigits(id, base)),
  id.replace(/[A-Z]/g, (c) => LATIN_LOOKALIKES[c] ?? c),
  `\u202e${id}`,
  `${id.slice(0, 4)}\u200b${id.slice(4)}`,
  `\ufeff${id}`,
  `${id}\u0000`,
  ` ${id} `,
  id.toLowerCase(),
]);

/** Raw text spliced into a JSON body: what JSON does not allow, or means something odd. */
const RAW_SNIPPETS = [
  "NaN",
  "Infinity",
  "-Infinity",
  "1e400",
  "-1e400",
  "0x10",
  "01",
  "+1",
  ".5",
  "1.",
  "undefined",
  "'single'",
  "/*c*/",
  "//c\n",
  ",",
  ",,",
  "]",
  "}",
  "{",
  '"',
  "\\",
  "\\u0000",
  "\\ud800",
  "\\udc00\\ud800",
  "\\x41",
  "\u0000",
  "\u00a0",
  "\u2028",
  '"__proto__":{"admin":true},',
  '"constructor":{"prototype":{"admin":true}},',
  "1".repeat(400),
  "9".repeat(30) + "e999999",
];

/** Bytes that are not UTF-8: an overlong "/", an encoded surrogate, a lone continuation byte, 0xFF. */
const BAD_UTF8 = [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0x80], [0xff], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe4, 0xbd]];

const JSON_CONTENT_TYPES = [
  "application/json; charset=utf-8",
  "application/json; charset=UTF-8",
  'application/json;charset="utf-8"',
  "application/json; charset=utf-16",
  "application/json; charset=utf-16le",
  "application/json; charset=latin1",
  "application/json; charset=utf-7",
  "application/json; charset=nonsense",
  "application/json; foo",
  "APPLICATION/JSON",
  "application/ld+json",
  "application/merge-patch+json",
  "application/jsonx",
  "application/json, text/plain",
  "text/json",
  "text/plain",
  "text/html",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/xml",
  "application/pdf",
  "image/png",
  "application/octet-stream",
  "*/*",
  "",
];

const CERTIFICATE_CONTENT_TYPES = [
  "application/pdf",
  "image/png",
  "image/jpeg",
  "APPLICATION/PDF",
  "application/pdf; charset=utf-8",
  "application/pdf, image/png",
  " application/pdf",
  "image/svg+xml",
  "text/html",
  "application/json",
  "application/octet-stream",
  "multipart/form-data; boundary=x",
  "",
];

/** Path segments that are not ids (sent as they are: some are not even valid percent-encoding). */
const BAD_SEGMENTS = [
  "%zz",
  "%",
  "%E4%BD",
  "%C0%AF",
  "..",
  ".",
  "%2e%2e",
  "%2F",
  "..%2F..%2Fetc%2Fpasswd",
  "%00",
  "",
  "__proto__",
  "constructor",
  "hasOwnProperty",
  "0x",
  "null",
  "-1",
  "0",
  "1e308",
  "NaN",
  "%20",
  ";",
  "a;b=c",
  "x".repeat(4000),
  "%27%20OR%201%3D1%20--",
  "%3Cscript%3E",
  "%24%7Bjndi%3Aldap%3A%2F%2F127.0.0.1%2Fa%7D",
  "0x" + "AB".repeat(32),
  "0x" + "ab".repeat(32),
  "0x" + "0".repeat(64),
  "0x" + "ab".repeat(32) + "%00",
];

const SUFFIXES = [
  "/",
  "/extra",
  "?x=1",
  "?__proto__[admin]=1&constructor[prototype][admin]=1",
  "?reason=a&reason=b",
  ";jsessionid=1",
];

/** Percent-encodes every byte of `text` (as UTF-8) but the unreserved characters. */
function pct(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** What Node lets a client put in a header value: latin-1 without control characters. */
const headerSafe = (text: string) => text.replace(/[^\t\x20-\x7e\x80-\xff]/g, "?");

const trickyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...INJECTIONS),
  fc.constantFrom(...LOOKALIKE_IDENTIFIERS),
  fc
    .tuple(fc.string({ maxLength: 6 }), fc.constantFrom(...TRICKY_CHARS), fc.string({ maxLength: 6 }))
    .map(([a, c, b]) => a + c + b),
  fc.string({ unit: "binary", maxLength: 24 }),
  fc.string({ unit: "grapheme", maxLength: 24 }),
);

/** Own `__proto__` / `constructor` keys, as JSON.parse makes them (an object literal would not). */
const POLLUTERS = [
  '{"__proto__":{"admin":true,"polluted":"yes"}}',
  '{"constructor":{"prototype":{"admin":true,"polluted":"yes"}}}',
  '{"__proto__":null}',
  '[{"__proto__":{"admin":true}}]',
];

const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: trickyString },
  { weight: 3, arbitrary: fc.constantFrom(...BOUNDARY_NUMBERS) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom(...POLLUTERS).map((text) => JSON.parse(text) as unknown) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [null], [[]], "") },
);

const nastyKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "hasOwnProperty",
    "valueOf",
    "",
    " ",
    "\u0000",
    "a.b",
    "$where",
    "extra",
    "events",
    "gtin",
    "\u202egtin",
    "gtin\u200b",
  ),
  fc.string({ maxLength: 12 }),
);

type Tweak =
  | { insert: string; pos: number }
  | { digits: number }
  | { lookalike: true }
  | { append: string }
  | { prepend: string }
  | { upper: boolean }
  | { pad: string }
  | { truncate: number }
  | { double: true };

const tweakArb: fc.Arbitrary<Tweak> = fc.oneof(
  fc.record({ insert: fc.constantFrom(...TRICKY_CHARS), pos: fc.nat() }),
  fc.record({ digits: fc.constantFrom(...DIGIT_SETS) }),
  fc.constant({ lookalike: true as const }),
  fc.record({ append: fc.constantFrom(...INJECTIONS) }),
  fc.record({ prepend: fc.constantFrom(...INJECTIONS) }),
  fc.record({ upper: fc.boolean() }),
  fc.record({ pad: fc.constantFrom(" ", "\t", "\u3000", "\u00a0", "\n") }),
  fc.record({ truncate: fc.nat() }),
  fc.constant({ double: true as const }),
);

function tweak(text: string, how: Tweak): string {
  if ("insert" in how) {
    const pos = how.pos % (text.length + 1);
    return text.slice(0, pos) + how.insert + text.slice(pos);
  }
  if ("digits" in how) return withDigits(text, how.digits);
  if ("lookalike" in how) return text.replace(/[A-Z]/g, (c) => LATIN_LOOKALIKES[c] ?? c);
  if ("append" in how) return text + how.append;
  if ("prepend" in how) return how.prepend + text;
  if ("upper" in how) return how.upper ? text.toUpperCase() : text.toLowerCase();
  if ("pad" in how) return how.pad + text + how.pad;
  if ("truncate" in how) return text.slice(0, how.truncate % Math.max(1, text.length));
  return text + text;
}

type Mutation =
  | { op: "replace"; at: number; value: unknown }
  | { op: "delete"; at: number }
  | { op: "add"; at: number; key: string; value: unknown }
  | { op: "tweak"; at: number; tweak: Tweak }
  | { op: "grow"; at: number; times: number }
  | { op: "long"; at: number; unit: string; times: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("replace" as const), at: fc.nat(), value: nastyValue }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("add" as const), at: fc.nat(), key: nastyKey, value: nastyValue }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("tweak" as const), at: fc.nat(), tweak: tweakArb }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("grow" as const), at: fc.nat(), times: fc.constantFrom(0, 2, 33, 1001) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("long" as const),
      at: fc.nat(),
      unit: fc.constantFrom("A", "辣", "\u200b", "0", " "),
      times: fc.constantFrom(101, 201, 501, 1001, 100_000, 1_000_000),
    }),
  },
);

type RawBody =
  | { raw: "truncate"; at: number }
  | { raw: "splice"; at: number; insert: string }
  | { raw: "prefix"; text: string }
  | { raw: "pollute"; text: string }
  | { raw: "duplicate-key"; value: string }
  | { raw: "bytes"; bytes: number[] }
  | { raw: "bad-utf8"; at: number; bytes: number[] }
  | { raw: "utf16" }
  | { raw: "deep"; depth: number; open: "[" | '{"a":' }
  | { raw: "oversize"; extra: number; fill: string }
  | { raw: "empty" }
  | { raw: "top-level"; value: unknown };

const rawBodyArb: fc.Arbitrary<RawBody> = fc.oneof(
  fc.record({ raw: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ raw: fc.constant("splice" as const), at: fc.nat(), insert: fc.constantFrom(...RAW_SNIPPETS) }),
  fc.record({
    raw: fc.constant("prefix" as const),
    text: fc.constantFrom("\ufeff", "\ufeff\ufeff", ")]}'\n", "   \r\n", "\u0000", "\u200b", "//\n", "callback("),
  }),
  fc.record({
    raw: fc.constant("pollute" as const),
    text: fc.constantFrom(
      '"__proto__":{"admin":true,"polluted":"yes"},',
      '"constructor":{"prototype":{"admin":true,"polluted":"yes"}},',
      '"__proto__":[],',
      '"__proto__":"x",',
    ),
  }),
  fc.record({
    raw: fc.constant("duplicate-key" as const),
    value: fc.constantFrom('"x"', "null", "[]", "{}", "-1", '{"__proto__":{"admin":true}}'),
  }),
  fc.record({ raw: fc.constant("bytes" as const), bytes: fc.array(fc.nat({ max: 255 }), { maxLength: 64 }) }),
  fc.record({ raw: fc.constant("bad-utf8" as const), at: fc.nat(), bytes: fc.constantFrom(...BAD_UTF8) }),
  fc.constant({ raw: "utf16" as const }),
  fc.record({
    raw: fc.constant("deep" as const),
    depth: fc.constantFrom(100, 1000, 10_000, 100_000),
    open: fc.constantFrom("[" as const, '{"a":' as const),
  }),
  fc.record({
    raw: fc.constant("oversize" as const),
    extra: fc.constantFrom(1, 1000, 1_000_000),
    fill: fc.constantFrom("A", "辣", "\\u0000"),
  }),
  fc.constant({ raw: "empty" as const }),
  fc.record({ raw: fc.constant("top-level" as const), value: fc.oneof(nastyValue, fc.jsonValue({ maxDepth: 1 })) }),
);

type CertificateBody =
  | { cert: "pdf"; text: string }
  | { cert: "magic"; magic: keyof typeof MAGIC; tail: number[] }
  | { cert: "bytes"; bytes: number[] }
  | { cert: "text"; text: string }
  | { cert: "oversize"; extra: number };

const MAGIC = {
  pdf: Buffer.from("%PDF-", "latin1"),
  png: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  jpeg: Buffer.from([0xff, 0xd8, 0xff]),
  pdfShort: Buffer.from("%PDF", "latin1"),
  pdfLower: Buffer.from("%pdf-", "latin1"),
  pdfAfterBom: Buffer.from("\ufeff%PDF-", "utf8"),
  pdfAfterSpace: Buffer.from(" %PDF-", "latin1"),
  svg: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "utf8"),
  empty: Buffer.alloc(0),
};

const certificateBodyArb: fc.Arbitrary<CertificateBody> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ cert: fc.constant("pdf" as const), text: trickyString }) },
  {
    weight: 4,
    arbitrary: fc.record({
      cert: fc.constant("magic" as const),
      magic: fc.constantFrom(...(Object.keys(MAGIC) as (keyof typeof MAGIC)[])),
      tail: fc.array(fc.nat({ max: 255 }), { maxLength: 32 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ cert: fc.constant("bytes" as const), bytes: fc.array(fc.nat({ max: 255 })) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      cert: fc.constant("text" as const),
      text: fc.constantFrom('{"reason":"x"}', "<html><script>alert(1)</script></html>", "null", ""),
    }),
  },
  { weight: 1, arbitrary: fc.record({ cert: fc.constant("oversize" as const), extra: fc.constantFrom(1, 65_536) }) },
);

// ---------------------------------------------------------------- JSON paths

type Path = (string | number)[];
type Container = Record<string, unknown> | unknown[];

const isContainer = (value: unknown): value is Container => value !== null && typeof value === "object";

function nodesOf(value: unknown, path: Path = [], out: { path: Path; value: unknown }[] = []) {
  out.push({ path, value });
  if (out.length > 5000) return out;
  if (Array.isArray(value)) value.forEach((item, i) => nodesOf(item, [...path, i], out));
  else if (isContainer(value)) {
    for (const [key, item] of Object.entries(value)) nodesOf(item, [...path, key], out);
  }
  return out;
}

function getAt(root: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], root);
}

/** Sets an own property even for `__proto__`, so JSON.stringify writes it. */
function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const parent = getAt(root, path.slice(0, -1)) as Container;
  const key = path[path.length - 1]!;
  if (Array.isArray(parent)) parent[key as number] = value;
  else Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
  return root;
}

function deleteAt(root: unknown, path: Path): void {
  const parent = getAt(root, path.slice(0, -1)) as Container;
  const key = path[path.length - 1]!;
  if (Array.isArray(parent)) parent.splice(key as number, 1);
  else Reflect.deleteProperty(parent, key);
}

/** A deep copy through JSON: own `__proto__` keys stay own keys. */
const jsonCopy = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

function applyMutation(root: unknown, m: Mutation): unknown {
  const all = nodesOf(root);
  const pick = <T>(list: T[]): T | undefined => (list.length === 0 ? undefined : list[m.at % list.length]);
  switch (m.op) {
    case "replace": {
      const node = pick(all)!;
      return setAt(root, node.path, jsonCopy(m.value));
    }
    case "delete": {
      const node = pick(all.filter((n) => n.path.length > 0));
      if (node) deleteAt(root, node.path);
      return root;
    }
    case "add": {
      const node = pick(all.filter((n) => isContainer(n.value) && !Array.isArray(n.value)));
      if (node) setAt(root, [...node.path, m.key], jsonCopy(m.value));
      else if (Array.isArray(root)) root.push(jsonCopy(m.value));
      return root;
    }
    case "tweak": {
      const node = pick(all.filter((n) => typeof n.value === "string"));
      return node ? setAt(root, node.path, tweak(node.value as string, m.tweak)) : root;
    }
    case "grow": {
      const node = pick(all.filter((n) => Array.isArray(n.value)));
      if (!node) return root;
      const list = node.value as unknown[];
      const first = list[0] ?? {};
      return setAt(
        root,
        node.path,
        Array.from({ length: m.times }, () => jsonCopy(first)),
      );
    }
    case "long": {
      const node = pick(all.filter((n) => typeof n.value === "string"));
      return node ? setAt(root, node.path, (node.value as string) + m.unit.repeat(m.times)) : root;
    }
  }
}

function rawJson(text: string, spec: RawBody): Buffer {
  const utf8 = (s: string) => Buffer.from(s, "utf8");
  switch (spec.raw) {
    case "truncate":
      return utf8(text.slice(0, spec.at % Math.max(1, text.length)));
    case "splice": {
      const pos = spec.at % (text.length + 1);
      return utf8(text.slice(0, pos) + spec.insert + text.slice(pos));
    }
    case "prefix":
      return utf8(spec.text + text);
    case "pollute":
      return utf8(text.startsWith("{") ? `{${spec.text}${text.slice(1)}` : `{${spec.text}"x":${text}}`);
    case "duplicate-key": {
      const firstKey = /^\{\s*"((?:[^"\\]|\\.)*)"/.exec(text)?.[1] ?? "events";
      const body = text.startsWith("{") && text !== "{}" ? text.slice(0, -1) + "," : "{";
      return utf8(`${body}"${firstKey}":${spec.value}}`);
    }
    case "bytes":
      return Buffer.from(spec.bytes);
    case "bad-utf8": {
      const bytes = utf8(text);
      const pos = spec.at % (bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, pos), Buffer.from(spec.bytes), bytes.subarray(pos)]);
    }
    case "utf16":
      return Buffer.from(text, "utf16le");
    case "deep": {
      const close = spec.open === "[" ? "]" : "}";
      const nested = spec.open.repeat(spec.depth) + "1" + close.repeat(spec.depth);
      return utf8(text.startsWith("{") && text !== "{}" ? `{"deep":${nested},${text.slice(1)}` : nested);
    }
    case "oversize": {
      const head = `{"padding":"`;
      const tail = text.startsWith("{") && text !== "{}" ? `",${text.slice(1)}` : `"}`;
      const unitBytes = Buffer.byteLength(spec.fill);
      const count = Math.ceil((JSON_LIMIT + spec.extra) / unitBytes);
      return utf8(head + spec.fill.repeat(count) + tail);
    }
    case "empty":
      return Buffer.alloc(0);
    case "top-level":
      return utf8(JSON.stringify(spec.value) ?? "");
  }
}

function certificateBytes(spec: CertificateBody): Buffer {
  switch (spec.cert) {
    case "pdf":
      return pdfBytes(spec.text);
    case "magic":
      return Buffer.concat([MAGIC[spec.magic], Buffer.from(spec.tail)]);
    case "bytes":
      return Buffer.from(spec.bytes);
    case "text":
      return Buffer.from(spec.text, "utf8");
    case "oversize":
      return Buffer.concat([MAGIC.pdf, Buffer.alloc(CERTIFICATE_LIMIT + spec.extra, 0x41)]);
  }
}

// ---------------------------------------------------------------- requests

type Body =
  | { kind: "example" }
  | { kind: "none" }
  | { kind: "mutated"; mutations: Mutation[] }
  | { kind: "raw"; raw: RawBody }
  | { kind: "certificate"; certificate: CertificateBody };

type Auth =
  | { kind: "right" }
  | { kind: "none" }
  | { kind: "other" }
  | { kind: "admin" }
  | { kind: "lower-case-scheme" }
  | { kind: "x-api-key" }
  | { kind: "header"; name: string; value: string };

interface RequestSpec {
  /** Path parameter values, as they go on the wire. */
  params: Record<string, string>;
  suffix: string;
  auth: Auth;
  /** null: no Content-Type header. */
  contentType: string | null;
  idempotencyKey: string | null;
  body: Body;
}

interface Target {
  method: "POST" | "PUT" | "PATCH" | "DELETE";
  /** As the OpenAPI document names it. */
  path: string;
  /** The key of a caller allowed to make the call. */
  caller: () => string;
  /** The key of an organisation that is not. */
  other: () => string;
  params?: Record<string, () => string>;
  /** A valid JSON body; none for a route that reads no body. */
  example?: () => unknown;
  contentType?: string;
  /** The body is a raw certificate document, not JSON. */
  certificate?: boolean;
  runs?: number;
}

const authArb: fc.Arbitrary<Auth> = fc.oneof(
  { weight: 16, arbitrary: fc.constant({ kind: "right" as const }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<Auth>(
      { kind: "none" },
      { kind: "other" },
      { kind: "admin" },
      { kind: "lower-case-scheme" },
      { kind: "x-api-key" },
      { kind: "header", name: "Authorization", value: "Bearer ytk_" + "A".repeat(43) },
      { kind: "header", name: "Authorization", value: "Basic dXNlcjpwYXNz" },
      { kind: "header", name: "Authorization", value: "Bearer" },
      { kind: "header", name: "Authorization", value: "Bearer ' OR 1=1 --" },
      { kind: "header", name: "Authorization", value: "Bearer ytk_\u00e9\u00e8" },
      { kind: "header", name: "Authorization", value: "Bearer " + "A".repeat(8000) },
      { kind: "header", name: "X-API-Key", value: "${jndi:ldap://127.0.0.1/a}" },
    ),
  },
);

const idempotencyKeyArb: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.string({ unit: "binary-ascii", minLength: 0, maxLength: 210 }).map(headerSafe) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("key with spaces", "\u00e9", "x".repeat(201), "x".repeat(200), "\t", "__proto__"),
  },
);

function requestArb(target: Target): fc.Arbitrary<RequestSpec> {
  const params: Record<string, fc.Arbitrary<string>> = {};
  for (const [name, valid] of Object.entries(target.params ?? {})) {
    const id = valid();
    params[name] = fc.oneof(
      { weight: 6, arbitrary: fc.constant(id) },
      { weight: 2, arbitrary: fc.constantFrom(...BAD_SEGMENTS) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          id.toUpperCase(),
          id.slice(0, -1),
          id + "0",
          id.slice(2),
          "0X" + id.slice(2),
          id.slice(0, -1) + "g",
          pct(` ${id}`),
          pct(withDigits(id, 0xff10)),
        ),
      },
      { weight: 1, arbitrary: trickyString.map(pct) },
    );
  }
  const rightType = target.contentType ?? (target.certificate ? "application/pdf" : "application/json");
  const types = target.certificate ? CERTIFICATE_CONTENT_TYPES : JSON_CONTENT_TYPES;
  const contentType: fc.Arbitrary<string | null> = fc.oneof(
    { weight: 8, arbitrary: fc.constant(rightType) },
    { weight: 3, arbitrary: fc.constantFrom(...types) },
    { weight: 1, arbitrary: fc.constant(null) },
  );
  const body: fc.Arbitrary<Body> = target.certificate
    ? certificateBodyArb.map((certificate) => ({ kind: "certificate" as const, certificate }))
    : fc.oneof(
        { weight: 1, arbitrary: fc.constant({ kind: target.example ? ("example" as const) : ("none" as const) }) },
        {
          weight: target.example ? 8 : 3,
          arbitrary: fc
            .array(mutationArb, { minLength: 1, maxLength: 3 })
            .map((mutations) => ({ kind: "mutated" as const, mutations })),
        },
        { weight: 3, arbitrary: rawBodyArb.map((raw) => ({ kind: "raw" as const, raw })) },
        ...(target.example ? [] : [{ weight: 4, arbitrary: fc.constant({ kind: "none" as const }) }]),
      );
  return fc.record({
    params: fc.record(params),
    suffix: fc.oneof(
      { weight: 12, arbitrary: fc.constant("") },
      { weight: 1, arbitrary: fc.constantFrom(...SUFFIXES) },
    ),
    auth: authArb,
    contentType,
    idempotencyKey: idempotencyKeyArb,
    body,
  });
}

interface Built {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
}

function build(target: Target, spec: RequestSpec): Built {
  let path = target.path;
  for (const [name, value] of Object.entries(spec.params)) path = path.replace(`{${name}}`, value);
  path += spec.suffix;
  const headers: Record<string, string> = {};
  const key = target.caller();
  switch (spec.auth.kind) {
    case "right":
      headers.Authorization = `Bearer ${key}`;
      break;
    case "none":
      break;
    case "other":
      headers.Authorization = `Bearer ${target.other()}`;
      break;
    case "admin":
      headers.Authorization = `Bearer ${adminKey}`;
      break;
    case "lower-case-scheme":
      headers.Authorization = `bearer   ${key}`;
      break;
    case "x-api-key":
      headers["X-API-Key"] = key;
      break;
    case "header":
      headers[spec.auth.name] = spec.auth.value;
      break;
  }
  if (spec.contentType !== null) headers["Content-Type"] = spec.contentType;
  if (spec.idempotencyKey !== null) headers["Idempotency-Key"] = spec.idempotencyKey;
  const exampleText = target.example ? JSON.stringify(target.example()) : "{}";
  let body: Buffer | null;
  switch (spec.body.kind) {
    case "example":
      body = Buffer.from(exampleText, "utf8");
      break;
    case "none":
      body = null;
      break;
    case "mutated": {
      let value = target.example ? target.example() : {};
      for (const m of spec.body.mutations) value = applyMutation(value, m);
      body = Buffer.from(JSON.stringify(value) ?? "", "utf8");
      break;
    }
    case "raw":
      body = rawJson(exampleText, spec.body.raw);
      break;
    case "certificate":
      body = certificateBytes(spec.body.certificate);
      break;
  }
  return { method: target.method, path, headers, body };
}

/** Set in `before`: the admin key, for the "admin" variant of every target's caller. */
let adminKey = "";

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * One request on its own connection (no keep-alive: no race with the server closing an idle
 * socket). An error after the answer arrived (the server closed while a large body was still
 * being sent) is not a failure: the answer counts.
 */
function send(base: URL, req: Built, timeoutMs = 60_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const headers = { ...req.headers, ...(req.body ? { "Content-Length": String(req.body.length) } : {}) };
    const outgoing = http.request(
      { host: base.hostname, port: base.port, method: req.method, path: req.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          answered = true;
          resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") });
        });
        res.on("error", (error) => answered || reject(error));
      },
    );
    outgoing.setTimeout(timeoutMs, () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    outgoing.on("error", (error) => answered || reject(new Error(`no answer: ${error.message}`)));
    outgoing.end(req.body ?? undefined);
  });
}

// ---------------------------------------------------------------- the store

interface Snapshot {
  digest: string;
  entries: [string, string][];
}

async function snapshotOf(gateway: Gateway): Promise<Snapshot> {
  const { entries, txCount } = await storeSnapshot(gateway);
  const hash = createHash("sha256");
  for (const [key, value] of entries) hash.update(key).update("\u0000").update(value).update("\u0001");
  hash.update(`txlog:${txCount}`);
  return { digest: hash.digest("hex"), entries };
}

/** The keys added, removed and changed between two snapshots, for the failure message. */
function changesBetween(before: Snapshot, after: Snapshot): string {
  const was = new Map(before.entries);
  const now = new Map(after.entries);
  const show = (keys: string[]) => keys.slice(0, 8).map((key) => JSON.stringify(key.slice(0, 120)));
  const added = [...now.keys()].filter((key) => !was.has(key));
  const removed = [...was.keys()].filter((key) => !now.has(key));
  const changed = [...now.keys()].filter((key) => was.has(key) && was.get(key) !== now.get(key));
  return `added ${added.length} [${show(added)}], removed ${removed.length} [${show(removed)}], changed ${changed.length} [${show(changed)}]`;
}

/** The own properties Object.prototype has now: fuzzing must not add any. */
const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort().join(",");

/** What would betray the server's internals in an error body: stack frames, source files with lines. */
const STACK_FRAME = /\n\s+at\s+\S+/;
const SOURCE_LINE = /[\w-]+\.(?:ts|js|cjs|mjs):\d+/;

const excerpt = (text: string, max = 300) =>
  text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;

/** Every string in a JSON value. */
function stringsIn(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (isContainer(value)) return Object.values(value).flatMap(stringsIn);
  return [];
}

// ---------------------------------------------------------------- the test

describe("HTTP API fuzzing: every write endpoint refuses bad input with a JSON 4xx and stores nothing", function () {
  this.timeout(240_000);

  let t: TestGateway;
  let gateway: Gateway;
  let base: URL;
  const orgs = {} as Record<"producer" | "otherProducer" | "inspector" | "regulator" | "logistics" | "victim", TestOrg>;
  const lotId = (key: LotKey) => batchIdOf(LOTS[key].gtin, LOTS[key].lot);
  const link = (key: LotKey) => batchUri(gateway.config.publicUrl, LOTS[key]);
  const key = (name: keyof typeof orgs) => () => orgs[name].apiKey;

  /** Answers by endpoint: "status code" → count. */
  const seen = new Map<string, Map<string, number>>();
  /** The store right after the last refused request, to catch a write it left running. */
  let lastRefused: { snapshot: Snapshot; request: string } | null = null;
  /** Whether an accepted request may still be changing the store (anchoring, indexing). */
  let unsettled = false;

  const TARGETS: Target[] = [
    {
      method: "POST",
      path: "/api/v1/organisations",
      caller: () => adminKey,
      other: key("regulator"),
      example: () => ({
        name: "重庆两江新区渝溯测试贸易有限公司",
        uscc: NEW_ORG_USCC,
        district: "渝北区",
        roles: ["retailer"],
      }),
    },
    {
      method: "POST",
      path: "/api/v1/organisations/{orgId}/api-key",
      caller: () => adminKey,
      other: key("regulator"),
      params: { orgId: () => orgs.victim.orgId },
    },
    {
      method: "POST",
      path: "/api/v1/organisations/{orgId}/signing-key",
      caller: () => adminKey,
      other: key("regulator"),
      params: { orgId: () => orgs.victim.orgId },
      // Every valid one rotates a key on-chain with ingest paused: fewer runs.
      runs: Math.ceil(RUNS / 2),
    },
    {
      method: "POST",
      path: "/api/v1/organisations/{orgId}/suspension",
      caller: key("regulator"),
      other: key("producer"),
      params: { orgId: () => orgs.victim.orgId },
      example: () => ({ reason: "涉嫌伪造冷链温度记录" }),
    },
    {
      method: "DELETE",
      path: "/api/v1/organisations/{orgId}/suspension",
      caller: () => adminKey,
      other: key("producer"),
      params: { orgId: () => orgs.victim.orgId },
    },
    {
      method: "POST",
      path: "/api/v1/products",
      caller: key("otherProducer"),
      other: key("logistics"),
      example: () => ({
        gtin: NEW_GTIN,
        name: { zh: "江津青花椒油 250ml", en: "Jiangjin green pepper oil 250 ml" },
        category: "seasoning",
        standard: "GB/T 22479",
        brand: "椒香",
      }),
    },
    {
      method: "POST",
      path: "/api/v1/batches",
      caller: key("producer"),
      other: key("otherProducer"),
      example: (): BatchInput => ({
        gtin: PRODUCTS.hotpotBase.gtin,
        lot: `FZ${compact(-3)}-B`,
        quantity: { value: 1200, unit: "XBX" },
        productionDate: dateIn(-3, NOW),
        expiryDate: dateIn(180, NOW),
        facility: "巴南区界石镇火锅底料工厂",
        district: "巴南区",
        inputs: [{ ...LOTS.chili }],
      }),
    },
    {
      method: "POST",
      path: "/api/v1/batches/{batchId}/recall",
      caller: key("regulator"),
      other: key("otherProducer"),
      params: { batchId: () => lotId("recall") },
      example: () => ({ reason: "抽检发现酸价超标" }),
    },
    {
      method: "POST",
      path: "/api/v1/batches/{batchId}/recall-drill",
      caller: key("otherProducer"),
      other: key("producer"),
      params: { batchId: () => lotId("chili") },
    },
    {
      method: "POST",
      path: "/api/v1/batches/{batchId}/serials",
      caller: key("producer"),
      other: key("otherProducer"),
      params: { batchId: () => lotId("serials") },
      example: () => ({ count: 3 }),
    },
    {
      method: "POST",
      path: "/api/v1/batches/{batchId}/release",
      caller: key("regulator"),
      other: key("inspector"),
      params: { batchId: () => lotId("stored") },
      example: () => ({ reason: "复检合格，解除暂扣" }),
    },
    {
      method: "POST",
      path: "/api/v1/certificates",
      caller: key("inspector"),
      other: key("logistics"),
      certificate: true,
    },
    {
      method: "POST",
      path: "/api/v1/events",
      caller: key("producer"),
      other: key("inspector"),
      example: () => ({
        events: [
          objectEvent("storing", at(-4, 10), [quantity(gateway.config.publicUrl, LOTS.stored, 100, "XBX")], {
            disposition: "in_progress",
            bizLocation: { district: "巴南区" },
          }),
        ],
      }),
    },
    {
      method: "POST",
      path: "/api/v1/epcis/capture",
      caller: key("otherProducer"),
      other: key("logistics"),
      contentType: "application/ld+json",
      example: () => ({
        "@context": [
          "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
          { yt: "https://yutrace.cn/epcis/" },
        ],
        type: "EPCISDocument",
        schemaVersion: "2.0",
        creationDate: NOW.toISOString(),
        epcisBody: {
          eventList: [
            {
              type: "ObjectEvent",
              eventTime: at(-19, 9),
              eventTimeZoneOffset: "+08:00",
              action: "ADD",
              bizStep: "commissioning",
              disposition: "active",
              quantityList: [{ epcClass: link("chili"), quantity: 2000, uom: "KGM" }],
            },
          ],
        },
      }),
    },
  ];
  const nameOf = (target: Target) => `${target.method} ${target.path}`;

  before(async function () {
    t = await startTestGateway();
    gateway = t.gateway;
    base = new URL(t.url);
    adminKey = t.adminKey;
    for (const name of ["producer", "otherProducer", "inspector", "regulator", "logistics"] as const) {
      orgs[name] = await createOrganisation(t, ORGANISATIONS[name]);
    }
    orgs.victim = await createOrganisation(t, { ...VICTIM, roles: [...VICTIM.roles] });
    await registerProduct(t, orgs.producer, PRODUCTS.hotpotBase);
    await registerProduct(t, orgs.otherProducer, PRODUCTS.chili);
    const batch = (key: LotKey, days: number, unit: string): BatchInput => ({
      ...LOTS[key],
      quantity: { value: 5000, unit },
      productionDate: dateIn(days, NOW),
    });
    await registerBatch(t, orgs.otherProducer, batch("chili", -20, "KGM"));
    await registerBatch(t, orgs.producer, batch("stored", -10, "XBX"));
    await registerBatch(t, orgs.producer, batch("recall", -9, "XBX"));
    await registerBatch(t, orgs.producer, batch("serials", -8, "XBX"));
    const commissioning = await send(base, {
      method: "POST",
      path: "/api/v1/events",
      headers: { Authorization: `Bearer ${orgs.producer.apiKey}`, "Content-Type": "application/json" },
      body: Buffer.from(
        JSON.stringify({
          events: [
            objectEvent("commissioning", at(-10, 17), [quantity(gateway.config.publicUrl, LOTS.stored, 5000, "XBX")], {
              disposition: "active",
              bizLocation: { district: "巴南区" },
            }),
          ],
        }),
      ),
    });
    expect(commissioning.status, commissioning.text).to.equal(202);
    await quiesce(gateway);
  });

  after(async function () {
    const lines = [...seen].map(
      ([name, answers]) =>
        `  ${name}: ${[...answers]
          .sort(([, a], [, b]) => b - a)
          .map(([answer, n]) => `${answer} ×${n}`)
          .join(", ")}`,
    );
    if (lines.length > 0) console.log(`    answers by endpoint (seed ${SEED}, ${RUNS} runs):\n${lines.join("\n")}`);
    await t?.stop();
  });

  /** Sends one fuzzed request and checks the property; throws (with what was sent) when it fails. */
  async function check(target: Target, spec: RequestSpec): Promise<void> {
    const req = build(target, spec);
    const what = `${req.method} ${excerpt(req.path, 200)} ${JSON.stringify(req.headers["Content-Type"] ?? null)} body ${
      req.body ? excerpt(JSON.stringify(req.body.toString("utf8")), 300) : "none"
    }`;
    if (unsettled) {
      await quiesce(gateway, 60_000);
      unsettled = false;
    }
    const before = await snapshotOf(gateway);
    // Set again only when this request is refused and checked: after a failure, the next run starts afresh.
    const previous = lastRefused;
    lastRefused = null;
    try {
      if (previous && previous.snapshot.digest !== before.digest) {
        throw new Error(
          `the store changed after a refused request had been answered (${previous.request}): ${changesBetween(previous.snapshot, before)}`,
        );
      }
      const answer = await send(base, req);
      const code = tally(target, answer);
      expect(answer.status, `${answer.status} to ${what}: ${excerpt(answer.text)}`).to.satisfy(
        (status: number) => (status >= 200 && status < 300) || (status >= 400 && status < 500),
      );
      if (answer.status >= 400) {
        expectErrorBody(answer, what);
        // Let a write that the refused request started without waiting for it show.
        await new Promise((resolve) => setTimeout(resolve, 10));
        const after = await snapshotOf(gateway);
        if (after.digest !== before.digest) {
          throw new Error(
            `refused with ${answer.status} ${code}, but the store changed: ${changesBetween(before, after)}; request: ${what}`,
          );
        }
        lastRefused = { snapshot: after, request: `${answer.status} ${code} to ${what}` };
      } else {
        unsettled = true;
      }
      expect(Object.getOwnPropertyNames(Object.prototype).sort().join(","), `Object.prototype after ${what}`).to.equal(
        PROTOTYPE_KEYS,
      );
      expect(({} as Record<string, unknown>).admin, `Object.prototype.admin after ${what}`).to.equal(undefined);
    } catch (error) {
      unsettled = true;
      throw error;
    }
  }

  /** Counts the answer for the summary; returns its error code ("" for none). */
  function tally(target: Target, answer: Answer): string {
    let code = "";
    try {
      const parsed = JSON.parse(answer.text) as { error?: { code?: unknown } };
      if (typeof parsed?.error?.code === "string") code = parsed.error.code;
    } catch {
      // not JSON: counted by status only
    }
    const counts = seen.get(nameOf(target)) ?? new Map<string, number>();
    seen.set(nameOf(target), counts);
    const label = `${answer.status}${code ? ` ${code}` : ""}`;
    counts.set(label, (counts.get(label) ?? 0) + 1);
    return code;
  }

  /** A 4xx: JSON `{error:{code,message}}`, with no stack frame or source file in any of its strings. */
  function expectErrorBody(answer: Answer, what: string): void {
    const about = `the ${answer.status} answer to ${what}: ${excerpt(answer.text)}`;
    expect(answer.headers["content-type"] ?? "", `Content-Type of ${about}`).to.match(/^application\/json/);
    let body: { error?: { code?: unknown; message?: unknown } };
    try {
      body = JSON.parse(answer.text) as typeof body;
    } catch {
      throw new Error(`not JSON: ${about}`);
    }
    expect(body.error, about).to.be.an("object");
    expect(body.error!.code, about).to.be.a("string").that.is.not.empty;
    expect(body.error!.message, about).to.be.a("string").that.is.not.empty;
    for (const text of stringsIn(body)) {
      expect(text, `internals in ${about}`).not.to.match(STACK_FRAME);
      expect(text, `internals in ${about}`).not.to.match(SOURCE_LINE);
      expect(text, `internals in ${about}`).not.to.include("node_modules");
    }
  }

  async function expectAlive(): Promise<void> {
    const health = await send(base, { method: "GET", path: "/healthz", headers: {}, body: null }, 10_000);
    expect(health.status, health.text).to.equal(200);
    expect(JSON.parse(health.text)).to.deep.equal({ status: "ok" });
  }

  it("has a fuzz target for every write endpoint of the OpenAPI document, and for nothing else", async function () {
    const doc = await send(base, { method: "GET", path: "/api/openapi.json", headers: {}, body: null });
    expect(doc.status).to.equal(200);
    const paths = (JSON.parse(doc.text) as { paths: Record<string, Record<string, unknown>> }).paths;
    const writes = Object.entries(paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((method) => ["post", "put", "patch", "delete"].includes(method))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(writes.length).to.be.greaterThan(0);
    expect(TARGETS.map(nameOf)).to.have.members(writes);
  });

  TARGETS.forEach((target, i) => {
    it(`${nameOf(target)}: no 5xx, a JSON error for every 4xx, the store unchanged by every refusal`, async function () {
      const runs = target.runs ?? RUNS;
      let ran = 0;
      await fc.assert(
        fc.asyncProperty(requestArb(target), async (spec) => {
          ran++;
          await check(target, spec);
        }),
        { seed: SEED + i, numRuns: runs, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] },
      );
      expect(ran, "runs made before the time limit").to.be.at.least(runs);
      await expectAlive();
    });
  });

  it("is still alive and ready after all of it", async function () {
    await quiesce(gateway, 60_000);
    await expectAlive();
    const ready = await send(base, { method: "GET", path: "/readyz", headers: {}, body: null }, 10_000);
    expect(ready.status, ready.text).to.equal(200);
    expect(JSON.parse(ready.text)).to.include({ status: "ready", chainReachable: true });
    expect(Object.getOwnPropertyNames(Object.prototype).sort().join(",")).to.equal(PROTOTYPE_KEYS);
  });
});
