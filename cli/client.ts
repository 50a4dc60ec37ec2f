/**
 * The gateway's HTTP API as the CLI uses it: the API key on every call, JSON in and out, the
 * gateway's JSON errors turned into `GatewayError`s the commands can explain, and retries where a
 * retry is safe (reads, and writes that carry an Idempotency-Key or are refused by the chain's
 * own uniqueness) while the gateway says it is busy (429, 503 with Retry-After) or cannot be reached.
 */
import { CliError, EXIT_USAGE } from "./errors";

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  body?: unknown;
  /** A body sent as it is, with its content type (a certificate document). */
  raw?: { bytes: Uint8Array; type: string };
  idempotencyKey?: string;
  accept?: string;
  /** Retry on 429/503 and when the gateway cannot be reached (default: GET only). */
  retry?: boolean;
  /** Give up retrying after this long (default 120 s). */
  retryForMs?: number;
  timeoutMs?: number;
  /** Called before each wait between attempts. */
  onRetry?: (why: string, waitMs: number) => void;
}

export interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class GatewayClient {
  readonly base: URL;

  constructor(
    gateway: string,
    private readonly apiKey: string | undefined,
  ) {
    let url: URL;
    try {
      url = new URL(gateway);
    } catch {
      throw new CliError(`${gateway} is not a URL; give the gateway as http(s)://host[:port]`, EXIT_USAGE);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new CliError(`${gateway} is not an http(s) URL`, EXIT_USAGE);
    }
    this.base = url;
  }

  get<T>(path: string, options: RequestOptions = {}): Promise<Answer<T>> {
    return this.request<T>("GET", path, { retry: true, ...options });
  }

  post<T>(path: string, body: unknown, options: RequestOptions = {}): Promise<Answer<T>> {
    return this.request<T>("POST", path, { ...options, body });
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<Answer<T>> {
    const res = await this.send(method, path, options);
    const type = res.headers.get("content-type") ?? "";
    const body =
      method === "HEAD"
        ? (undefined as T)
        : type.includes("json")
          ? ((await res.json()) as T)
          : ((await res.text()) as T);
    return { status: res.status, headers: res.headers, body };
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const url = new URL(path, this.base);
    const headers: Record<string, string> = { Accept: options.accept ?? "application/json" };
    if (this.apiKey) headers.Authorization = `Bearer ${this.apiKey}`;
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.raw) headers["Content-Type"] = options.raw.type;
    if (options.idempotencyKey) headers["Idempotency-Key"] = options.idempotencyKey;
    const payload = options.raw
      ? options.raw.bytes
      : options.body === undefined
        ? undefined
        : JSON.stringify(options.body);
    const retry = options.retry ?? false;
    const giveUpAt = Date.now() + (options.retryForMs ?? 120_000);
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers,
          body: payload,
          signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
        });
      } catch (error) {
        const reason = (error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
        const wait = Math.min(500 * 2 ** (attempt - 1), 10_000);
        if (retry && Date.now() + wait < giveUpAt) {
          options.onRetry?.(`cannot reach the gateway (${reason})`, wait);
          await sleep(wait);
          continue;
        }
        throw new CliError(`cannot reach the gateway at ${this.base.origin}: ${reason}`);
      }
      if (res.ok) return res;
      const busy = res.status === 429 || res.status === 503;
      if (retry && busy) {
        const after = Number(res.headers.get("retry-after"));
        const wait = Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 30_000) : 1000 * attempt;
        if (Date.now() + wait < giveUpAt) {
          const why = await errorOf(res);
          options.onRetry?.(`the gateway is busy (${res.status} ${why.code})`, wait);
          await sleep(wait);
          continue;
        }
      }
      throw await errorOf(res);
    }
  }
}

async function errorOf(res: Response): Promise<GatewayError> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string; details?: unknown } };
    if (body.error?.code) {
      return new GatewayError(res.status, body.error.code, body.error.message ?? body.error.code, body.error.details);
    }
  } catch {
    // not JSON: a proxy's page, say
  }
  return new GatewayError(res.status, `http_${res.status}`, `the gateway answered ${res.status} ${res.statusText}`);
}

/** `GatewayError` as a user-facing CliError, with what to do about the usual ones. */
export function explain(error: unknown): unknown {
  if (!(error instanceof GatewayError)) return error;
  const hint: Record<string, string> = {
    unauthenticated: "log in first: yutrace login",
    invalid_api_key: "this API key is not valid (wrong, or rotated away): yutrace login with the new key",
    role_not_allowed: "your organisation does not have the role this needs",
    signature_required: "your organisation keeps its own key: add --sign-locally (after yutrace keys generate)",
    self_custody: "your organisation keeps its own key; the gateway cannot sign this for it",
    unexpected_authorization: "the gateway keeps your organisation's key: leave out --sign-locally",
  };
  const lines = [`${error.code} (HTTP ${error.status})`];
  if (hint[error.code]) lines.push(`→ ${hint[error.code]}`);
  const details = error.details as { problems?: unknown } | unknown[] | undefined;
  const list = Array.isArray(details) ? details : Array.isArray(details?.problems) ? details.problems : null;
  if (list) {
    for (const item of list as { code?: string; path?: string; message?: string }[]) {
      lines.push(`${item.code ? `${item.code}: ` : ""}${item.path ? `${item.path}: ` : ""}${item.message ?? ""}`);
    }
  } else if (details !== undefined) {
    lines.push(JSON.stringify(details));
  }
  return new CliError(`the gateway refused: ${error.message}`, 1, lines);
}
