/** The commands of `yutrace` other than import, labels and verify: login, keys, products, batches, events. */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline/promises";

import { batchIdOf } from "../server/domain/batch-id";
import { canonicalHash } from "../server/domain/canonical";
import { newProductSchema } from "../server/http/schemas";
import { resolveBatch, type BatchView } from "./batch-ref";
import { GatewayClient, explain } from "./client";
import { readableByOthers, readConfig, writeConfig, type CliConfig } from "./config";
import { type CsvTable } from "./csv";
import { CliError, EXIT_USAGE } from "./errors";
import { batchRow, COLUMNS, eventRow, mapHeader, type ImportKind, type RowProblem } from "./rows";
import type { Me, Session } from "./session";
import { eventIds, generateKey, readKeyFile, signSubmission } from "./signing";

const print = (line = ""): void => {
  process.stdout.write(`${line}\n`);
};

// ---------------------------------------------------------------- login

export async function login(
  configFile: string,
  options: { gateway?: string; apiKey?: string; rpc?: string; keyFile?: string },
): Promise<void> {
  const current = await readConfig(configFile);
  const gateway = options.gateway ?? current.gateway;
  if (!gateway) throw new CliError("give the gateway: yutrace login --gateway https://trace.example.cn", EXIT_USAGE);
  const apiKey = options.apiKey ?? process.env.YUTRACE_API_KEY ?? (await ask("API key (API 密钥): "));
  if (!apiKey) throw new CliError("give the API key: --api-key, YUTRACE_API_KEY, or type it when asked", EXIT_USAGE);
  const client = new GatewayClient(gateway, apiKey);
  let me: Me;
  try {
    me = (await client.get<Me>("/api/v1/me", { retry: false })).body;
  } catch (error) {
    throw explain(error);
  }
  const next: CliConfig = {
    ...current,
    gateway: client.base.origin,
    apiKey,
    ...(options.rpc ? { rpc: options.rpc } : {}),
    ...(options.keyFile ? { keyFile: options.keyFile } : {}),
  };
  await writeConfig(configFile, next);
  print(`已登录 logged in to ${client.base.origin} as ${describe(me)}`);
  print(`settings saved in ${configFile} (readable by you only)`);
}

function describe(me: Me): string {
  if (!me.organisation) return "the platform admin";
  const org = me.organisation;
  return `${org.name} (${org.uscc}; ${org.roles.join(", ")}; ${org.custody === "self" ? "own key" : "key kept by the gateway"})`;
}

/** Reads one line from the terminal; empty when there is none (a script). */
async function ask(question: string): Promise<string> {
  if (!process.stdin.isTTY) return "";
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

export async function whoami(session: Session, configFile: string, json: boolean): Promise<void> {
  const me = await session.me().catch((error: unknown) => {
    throw explain(error);
  });
  if (json) return print(JSON.stringify(me, null, 2));
  print(`${session.client.base.origin}: ${describe(me)}`);
  if (me.organisation) {
    print(`  organisation id ${me.organisation.orgId}`);
    print(`  signing account ${me.organisation.account}`);
    print(`  next submission nonce ${me.submissionNonce}`);
  }
  if (await readableByOthers(configFile)) print(`! ${configFile} is readable by others: chmod 600 it`);
}

// ---------------------------------------------------------------- keys

export async function keysGenerate(configFile: string, file: string, remember: boolean): Promise<void> {
  const passphrase = process.env.YUTRACE_KEY_PASSPHRASE || undefined;
  const key = await generateKey(file, passphrase);
  if (remember) await writeConfig(configFile, { ...(await readConfig(configFile)), keyFile: file });
  print(`新签名密钥 new signing key: ${key.address}`);
  print(
    `saved in ${file} (readable by you only${passphrase ? ", encrypted with YUTRACE_KEY_PASSPHRASE" : ", not encrypted: set YUTRACE_KEY_PASSPHRASE to encrypt"})`,
  );
  print("");
  print("Give this address to your platform operator: your organisation is registered with it as its own");
  print("account (self-custody). The gateway then never holds your key; the CLI signs what you submit.");
  print("Back up the key file: without it you cannot sign for your organisation.");
}

export async function keysShow(file: string): Promise<void> {
  const key = await readKeyFile(file);
  print(`${key.address}  (${file}${key.keystore ? ", encrypted" : ""}, created ${key.createdAt})`);
}

// ---------------------------------------------------------------- products

export interface ProductOptions {
  gtin: string;
  name: string;
  nameEn?: string;
  category: string;
  standard: string;
  brand?: string;
  signLocally: boolean;
}

export async function productsAdd(session: Session, options: ProductOptions): Promise<void> {
  const candidate = {
    gtin: options.gtin,
    name: { zh: options.name, ...(options.nameEn ? { en: options.nameEn } : {}) },
    category: options.category,
    standard: options.standard,
    ...(options.brand ? { brand: options.brand } : {}),
  };
  const parsed = newProductSchema.safeParse(candidate);
  if (!parsed.success) {
    const flag: Record<string, string> = { gtin: "--gtin", "name.zh": "--name", "name.en": "--name-en" };
    throw new CliError(
      "the product is not valid; nothing was sent",
      EXIT_USAGE,
      parsed.error.issues.map((i) => {
        const path = i.path.map(String).join(".");
        return `${flag[path] ?? `--${path}`}: ${i.message}`;
      }),
    );
  }
  const metadata = parsed.data;
  const wallet = await session.signing(options.signLocally);
  const authorization = wallet
    ? await session.authorize(wallet, "RegisterProduct", {
        gtin: BigInt(metadata.gtin),
        metadataHash: canonicalHash(metadata),
      })
    : undefined;
  const answer = await session.client
    .post<{ product: { gtin: string; txHash: string; block: number } }>(
      "/api/v1/products",
      authorization ? { ...metadata, authorization } : metadata,
    )
    .catch((error: unknown) => {
      throw explain(error);
    });
  const product = answer.body.product;
  print(`已登记 registered product ${product.gtin} ${metadata.name.zh} (block ${product.block}, tx ${product.txHash})`);
}

export async function productsList(session: Session, json: boolean): Promise<void> {
  await session.organisation().catch((error: unknown) => {
    throw explain(error);
  });
  const { products } = (
    await session.client.get<{
      products: {
        gtin: string;
        metadata?: { name?: { zh: string }; category?: string; standard?: string } | null;
        registeredAt: string;
      }[];
    }>("/api/v1/me/products")
  ).body;
  if (json) return print(JSON.stringify(products, null, 2));
  if (products.length === 0) return print("no products yet: yutrace products add");
  print(
    table(
      ["GTIN", "名称 name", "category", "standard", "registered"],
      products.map((p) => [
        p.gtin,
        p.metadata?.name?.zh ?? "",
        p.metadata?.category ?? "",
        p.metadata?.standard ?? "",
        p.registeredAt.slice(0, 10),
      ]),
    ),
  );
}

// ---------------------------------------------------------------- batches

/** `batches add` and `events add` take their fields as options: check them as one CSV row would be. */
function singleRow(kind: ImportKind, cells: Record<string, string | undefined>) {
  const header = Object.keys(COLUMNS[kind]).filter((key) => cells[key] !== undefined);
  const table: CsvTable = { header, records: [{ row: 2, cells: header.map((key) => cells[key]!) }], delimiter: "," };
  const { columns } = mapHeader(header, kind);
  const result =
    kind === "batches" ? batchRow(table.records[0]!, table, columns) : eventRow(table.records[0]!, table, columns);
  if (Array.isArray(result)) {
    const option = (p: RowProblem) => (p.column ? `--${optionOf[p.column] ?? p.column.replace(/_/g, "-")}: ` : "");
    throw new CliError(
      `not valid; nothing was sent`,
      EXIT_USAGE,
      result.map((p) => `${option(p)}${p.message}`),
    );
  }
  return result;
}

/** The option of a column where their names differ. */
const optionOf: Record<string, string> = {
  inputs: "input",
  biz_step: "step",
  event_time: "time",
  gtin: "batch",
  lot: "batch",
};

export interface BatchOptions {
  gtin: string;
  lot: string;
  quantity: string;
  unit: string;
  productionDate: string;
  expiryDate?: string;
  facility?: string;
  district?: string;
  input: string[];
  signLocally: boolean;
}

export async function batchesAdd(session: Session, options: BatchOptions): Promise<void> {
  const row = singleRow("batches", {
    gtin: options.gtin,
    lot: options.lot,
    quantity: options.quantity,
    unit: options.unit,
    production_date: options.productionDate,
    expiry_date: options.expiryDate,
    facility: options.facility,
    district: options.district,
    inputs: options.input.length > 0 ? options.input.join(";") : undefined,
  }) as Extract<ReturnType<typeof batchRow>, { body: unknown }>;
  const { inputs, ...metadata } = row.body;
  const wallet = await session.signing(options.signLocally);
  const authorization = wallet
    ? await session.authorize(wallet, "RegisterBatch", {
        gtin: BigInt(metadata.gtin),
        lot: metadata.lot,
        metadataHash: canonicalHash(metadata),
        parents: inputs.map((input) => batchIdOf(input.gtin, input.lot)),
      })
    : undefined;
  const answer = await session.client
    .post<{ batch: BatchView }>("/api/v1/batches", authorization ? { ...row.body, authorization } : row.body)
    .catch((error: unknown) => {
      throw explain(error);
    });
  const batch = answer.body.batch;
  print(`已登记 registered batch ${batch.gtin}/${batch.lot} (block ${batch.block})`);
  print(`  batch id     ${batch.batchId}`);
  print(`  Digital Link ${batch.digitalLink}`);
}

export async function batchesList(session: Session, options: { limit: number; all: boolean; json: boolean }) {
  await session.organisation().catch((error: unknown) => {
    throw explain(error);
  });
  const batches: BatchView[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: String(Math.min(options.limit - batches.length, 200) || 200) });
    if (cursor) query.set("cursor", cursor);
    const page = (
      await session.client.get<{ batches: BatchView[]; nextCursor: string | null }>(`/api/v1/me/batches?${query}`)
    ).body;
    batches.push(...page.batches);
    cursor = page.nextCursor;
  } while (cursor && (options.all || batches.length < options.limit));
  if (options.json) return print(JSON.stringify(batches, null, 2));
  if (batches.length === 0) return print("no batches yet: yutrace batches add, or yutrace import batches.csv");
  print(
    table(
      ["GTIN/lot", "status", "produced", "quantity", "registered", "batch id"],
      batches.map((b) => [
        `${b.gtin}/${b.lot}`,
        b.status,
        b.metadata?.productionDate ?? "",
        b.metadata?.quantity ? `${b.metadata.quantity.value} ${b.metadata.quantity.unit}` : "",
        b.registeredAt.slice(0, 16).replace("T", " "),
        `${b.batchId.slice(0, 12)}…`,
      ]),
    ),
  );
  if (cursor) print(`… newest ${batches.length} shown; --all for every one`);
}

interface EventView {
  eventId: string;
  status: "pending" | "anchored";
  event: { bizStep: string; eventTime: string; disposition?: string };
  submission: { signer: string };
  declaredInError: unknown;
}

export async function batchesShow(session: Session, ref: string, json: boolean): Promise<void> {
  const batch = await resolveBatch(session.client, ref);
  const events: EventView[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: "200" });
    if (cursor) query.set("cursor", cursor);
    const page = (
      await session.client.get<{ events: EventView[]; nextCursor: string | null }>(
        `/api/v1/batches/${batch.batchId}/events?${query}`,
      )
    ).body;
    events.push(...page.events);
    cursor = page.nextCursor;
  } while (cursor && events.length < 10_000);
  if (json) return print(JSON.stringify({ batch, events }, null, 2));
  const m = batch.metadata;
  print(`${batch.gtin}/${batch.lot}  ${batch.status.toUpperCase()}`);
  print(`  batch id      ${batch.batchId}`);
  print(`  Digital Link  ${batch.digitalLink}`);
  if (m?.productionDate)
    print(`  produced      ${m.productionDate}${m.expiryDate ? `, best before ${m.expiryDate}` : ""}`);
  if (m?.quantity) print(`  quantity      ${m.quantity.value} ${m.quantity.unit}`);
  if (m?.facility || m?.district) print(`  made at       ${[m.facility, m.district].filter(Boolean).join(", ")}`);
  print(`  inputs        ${batch.parents.length === 0 ? "none" : batch.parents.join(", ")}`);
  print(`  registered    ${batch.registeredAt} (block ${batch.block}, tx ${batch.txHash})`);
  print("");
  print(`events (${events.length}${cursor ? "+" : ""}):`);
  for (const e of events) {
    const marks = [e.status, e.declaredInError ? "declared in error" : ""].filter(Boolean).join(", ");
    print(
      `  ${e.event.eventTime}  ${e.event.bizStep.padEnd(16)} ${(e.event.disposition ?? "").padEnd(20)} ` +
        `${e.eventId.slice(0, 12)}…  ${marks}`,
    );
  }
}

// ---------------------------------------------------------------- events

export interface EventOptions {
  batch: string;
  step: string;
  time?: string;
  timeZone?: string;
  disposition?: string;
  action?: string;
  quantity: string;
  unit: string;
  district?: string;
  location?: string;
  gln?: string;
  source?: string;
  destination?: string;
  temperature?: string;
  humidity?: string;
  certHash?: string;
  certIssuer?: string;
  certStandard?: string;
  certResult?: string;
  certNumber?: string;
  comment?: string;
  signLocally: boolean;
}

export async function eventsAdd(session: Session, options: EventOptions): Promise<void> {
  const batch = await resolveBatch(session.client, options.batch);
  const now = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 19).replace("T", " ");
  const row = singleRow("events", {
    gtin: batch.gtin,
    lot: batch.lot,
    biz_step: options.step,
    event_time: options.time ?? now,
    time_zone: options.timeZone,
    disposition: options.disposition,
    action: options.action,
    quantity: options.quantity,
    unit: options.unit,
    district: options.district,
    location: options.location,
    gln: options.gln,
    source: options.source,
    destination: options.destination,
    temperature: options.temperature,
    humidity: options.humidity,
    cert_hash: options.certHash,
    cert_issuer: options.certIssuer,
    cert_standard: options.certStandard,
    cert_result: options.certResult,
    cert_number: options.certNumber,
    comment: options.comment,
  }) as Extract<ReturnType<typeof eventRow>, { event: unknown }>;
  const event = row.event(batch.digitalLink);
  const [id] = eventIds([event]);
  const wallet = await session.signing(options.signLocally);
  const body = wallet
    ? signSubmission(wallet, await session.domain(), [event], (await session.freshMe()).submissionNonce ?? 0).body
    : { events: [event] };
  const answer = await session.client
    .post<{ submission: { id: string }; events: { eventId: string }[] }>("/api/v1/events", body, {
      idempotencyKey: `yutrace-event-${id!.slice(2)}`,
      retry: true,
    })
    .catch((error: unknown) => {
      throw explain(error);
    });
  if (answer.body.events[0]?.eventId !== id) {
    throw new CliError(`the gateway recorded event ${answer.body.events[0]?.eventId}, not the event sent (${id})`);
  }
  print(`已记录 recorded ${event.bizStep} of ${batch.gtin}/${batch.lot}${wallet ? ", signed by your own key" : ""}`);
  print(`  event id   ${id}`);
  print(`  submission ${answer.body.submission.id} (anchored on-chain within seconds)`);
}

// ---------------------------------------------------------------- certificates

const DOCUMENT_TYPES: Record<string, string> = {
  ".pdf": "application/pdf",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
};

/** Uploads an inspection report; prints the SHA-256 that events name it by (cert_hash). */
export async function certificatesUpload(session: Session, file: string): Promise<void> {
  const type = DOCUMENT_TYPES[path.extname(file).toLowerCase()];
  if (!type) throw new CliError(`${file}: a certificate is a PDF, PNG or JPEG file (.pdf, .png, .jpg)`, EXIT_USAGE);
  const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${file}: ${error.code === "ENOENT" ? "no such file" : error.message}`, EXIT_USAGE);
  });
  const answer = await session.client
    .post<{ certificate: { sha256: string; url: string; size: number } }>("/api/v1/certificates", undefined, {
      raw: { bytes, type },
      retry: true,
    })
    .catch((error: unknown) => {
      throw explain(error);
    });
  const { sha256, url } = answer.body.certificate;
  print(`${answer.status === 201 ? "已上传 uploaded" : "已存在 on file already"}: ${file}`);
  print(`  sha256 ${sha256}   (the cert_hash column / --cert-hash of the inspection event)`);
  print(`  ${new URL(url, session.client.base).href}`);
}

// ---------------------------------------------------------------- output

/** A plain text table, columns as wide as their widest cell (CJK characters count double). */
export function table(header: string[], rows: string[][]): string {
  const width = (s: string) => [...s].reduce((n, c) => n + (/[\u2e80-\uffff]/.test(c) ? 2 : 1), 0);
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ""))));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(widths[i]! - width(c)))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
