/**
 * Connection limits of a real gateway (startTestGateway: its own hardhat node, LevelDB, HTTP on a
 * free port), driven with raw node:net sockets to 127.0.0.1: slow-loris clients that send their
 * headers or their body a byte at a time are cut off; an oversized body is refused with a JSON 413
 * before it has all been sent; 500 idle connections do not keep a normal request from being
 * served, and are closed themselves; an idle keep-alive connection is closed after
 * keepAliveTimeout.
 *
 * The gateway runs with short timeouts (YUTRACE_HTTP_*_TIMEOUT_MS: headers 4 s, whole request 8 s,
 * keep-alive 2 s) so the file takes seconds, not minutes; the gateway looks for expired requests every
 * second (server/gateway.ts `listen`). The slow clients start as soon as the gateway listens and run
 * while the other tests do.
 */
import net from "node:net";
import { gzipSync } from "node:zlib";
import { expect } from "chai";

import { MAX_BODY_BYTES } from "../../server/http/schemas";
import { MAX_CERTIFICATE_BYTES } from "../../server/services/certificates";
import {
  ORGANISATIONS,
  createOrganisation,
  startTestGateway,
  type TestGateway,
  type TestOrg,
} from "../helpers/gateway";

/** The gateway's timeouts here (YUTRACE_HTTP_*_TIMEOUT_MS). */
const HEADERS_TIMEOUT_MS = 4_000;
const REQUEST_TIMEOUT_MS = 8_000;
const KEEP_ALIVE_TIMEOUT_MS = 2_000;
/** server/gateway.ts `listen`: how often Node looks for expired requests. */
const SWEEP_INTERVAL_MS = 1_000;
/** Allowance for a loaded machine (2 shared cores), on top of every bound. */
const SLACK_MS = 5_000;
/** The JSON body limit (http/schemas.ts) and the certificate limit (services/certificates.ts). */
const JSON_LIMIT = MAX_BODY_BYTES;
const CERTIFICATE_LIMIT = MAX_CERTIFICATE_BYTES;
/** How many idle connections are held open at once. */
const IDLE_CONNECTIONS = 500;
/** How long a request refused from its headers may take to be answered. */
const ANSWER_MS = 5_000;
/** How often a slow client sends its next byte. */
const DRIP_MS = 250;

/** A raw connection to the gateway and what it has seen. */
interface Connection {
  socket: net.Socket;
  connectedAt: number;
  /** Every byte the server sent. */
  received: Buffer;
  /** Bytes this client wrote. */
  sent: number;
  /** When the connection closed (either side), or null while open. */
  closedAt: number | null;
  /** Resolves when the connection has closed. */
  closed: Promise<void>;
}

/** Every socket this file opened, so that `after` closes whatever is still open. */
const opened = new Set<net.Socket>();

function connect(port: number): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    opened.add(socket);
    let onClose!: () => void;
    const conn: Connection = {
      socket,
      connectedAt: 0,
      received: Buffer.alloc(0),
      sent: 0,
      closedAt: null,
      closed: new Promise<void>((done) => (onClose = done)),
    };
    socket.on("data", (chunk: Buffer) => {
      conn.received = Buffer.concat([conn.received, chunk]);
    });
    // A write after the server hung up fails with EPIPE or ECONNRESET: the close is what counts.
    socket.on("error", () => undefined);
    socket.on("close", () => {
      conn.closedAt = Date.now();
      opened.delete(socket);
      onClose();
    });
    socket.once("connect", () => {
      conn.connectedAt = Date.now();
      resolve(conn);
    });
    socket.once("error", reject);
  });
}

/** Writes `data`, counting it; resolves once the socket took it (drained), false once it is closed. */
function write(conn: Connection, data: string | Buffer): Promise<boolean> {
  if (conn.closedAt !== null || conn.socket.destroyed) return Promise.resolve(false);
  conn.sent += Buffer.byteLength(data);
  return new Promise((resolve) => {
    if (conn.socket.write(data)) resolve(true);
    else {
      const done = () => {
        conn.socket.off("drain", done);
        conn.socket.off("close", done);
        resolve(conn.closedAt === null);
      };
      conn.socket.on("drain", done);
      conn.socket.on("close", done);
    }
  });
}

/** Sends one byte of `filler` every DRIP_MS until the connection closes. */
function drip(conn: Connection, filler: string): void {
  const timer = setInterval(() => {
    if (conn.closedAt !== null) clearInterval(timer);
    else void write(conn, filler);
  }, DRIP_MS);
  void conn.closed.then(() => clearInterval(timer));
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The first HTTP response in `raw`, once it is complete (Content-Length); null before. */
function responseIn(raw: Buffer): RawResponse | null {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const [statusLine, ...lines] = raw.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? "")?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers["content-length"] ?? 0);
  const body = raw.subarray(end + 4);
  if (body.length < length) return null;
  return { status, headers, body: body.subarray(0, length).toString("utf8") };
}

/** Waits for the first complete response on `conn`; fails after `timeoutMs`. */
async function responseOn(conn: Connection, timeoutMs: number): Promise<RawResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = responseIn(conn.received);
    if (response) return response;
    if (Date.now() > deadline) {
      throw new Error(
        `no complete response within ${timeoutMs} ms; got ${JSON.stringify(conn.received.toString("latin1").slice(0, 200))}`,
      );
    }
    if (conn.closedAt !== null) {
      throw new Error(
        `closed without a complete response; got ${JSON.stringify(conn.received.toString("latin1").slice(0, 200))}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits until `conn` closes; fails if it is still open `timeoutMs` after it connected. */
async function closedWithin(conn: Connection, timeoutMs: number, what: string): Promise<number> {
  const left = conn.connectedAt + timeoutMs - Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"open">((resolve) => (timer = setTimeout(() => resolve("open"), Math.max(0, left))));
  const outcome = await Promise.race([conn.closed.then(() => "closed" as const), timedOut]);
  clearTimeout(timer);
  if (outcome === "open") throw new Error(`${what}: still open ${timeoutMs} ms after it connected`);
  return conn.closedAt! - conn.connectedAt;
}

/** The error code of a JSON error response, after checking its shape. */
function errorCodeOf(response: RawResponse): string {
  expect(response.headers["content-type"], JSON.stringify(response)).to.match(/^application\/json/);
  const body = JSON.parse(response.body) as { error?: { code?: unknown; message?: unknown } };
  expect(body.error, response.body).to.be.an("object");
  expect(body.error!.message, response.body).to.be.a("string").that.is.not.empty;
  expect(body.error!.code, response.body).to.be.a("string").that.is.not.empty;
  return body.error!.code as string;
}

describe("HTTP connection limits: slow clients, oversized bodies, idle and keep-alive connections", function () {
  this.timeout(60_000);

  let t: TestGateway;
  let port: number;
  let host: string;
  let inspector: TestOrg;
  let producer: TestOrg;
  /** Started as soon as the gateway listens (see the header): headers, then body, a byte at a time. */
  let slowHeaders: Connection;
  let slowBody: Connection;
  /** Connections that never send anything. */
  let idle: Connection[] = [];

  before(async function () {
    t = await startTestGateway({
      YUTRACE_HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      YUTRACE_HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      YUTRACE_HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
    });
    const url = new URL(t.url);
    port = Number(url.port);
    host = url.host;
    slowHeaders = await connect(port);
    await write(
      slowHeaders,
      `POST /api/v1/events HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nX-Slow: `,
    );
    drip(slowHeaders, "a");
    slowBody = await connect(port);
    // With the admin key: the gateway reads a body only once it knows the caller.
    await write(
      slowBody,
      `POST /api/v1/organisations HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${t.adminKey}\r\n` +
        `Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"name":"`,
    );
    drip(slowBody, "a");
    inspector = await createOrganisation(t, ORGANISATIONS.inspector);
    producer = await createOrganisation(t, ORGANISATIONS.producer);
  });

  after(async function () {
    for (const socket of opened) socket.destroy();
    await t?.stop();
  });

  /** One request on a new connection; the response and the connection. */
  async function request(head: string, body = ""): Promise<{ response: RawResponse; conn: Connection }> {
    const conn = await connect(port);
    await write(conn, head + body);
    const response = await responseOn(conn, 10_000);
    return { response, conn };
  }

  it(`serves normal requests while ${IDLE_CONNECTIONS} idle connections are open`, async function () {
    const started = Date.now();
    idle = await Promise.all(Array.from({ length: IDLE_CONNECTIONS }, () => connect(port)));
    expect(Date.now() - started, "time to open the idle connections").to.be.below(15_000);
    // None is dropped early to make room (headersTimeout closes them all later: a slow machine may
    // get there before this test ends, so a connection closed after it is not counted here).
    const droppedEarly = () =>
      idle.filter((conn) => conn.closedAt !== null && conn.closedAt - conn.connectedAt < HEADERS_TIMEOUT_MS - 1_000)
        .length;
    expect(droppedEarly(), "idle connections dropped before headersTimeout").to.equal(0);

    const began = Date.now();
    const health = await request(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    expect(health.response.status).to.equal(200);
    expect(JSON.parse(health.response.body)).to.deep.equal({ status: "ok" });
    const profile = await request(
      `GET /api/v1/organisations/${inspector.orgId} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${t.adminKey}\r\nConnection: close\r\n\r\n`,
    );
    expect(profile.response.status, profile.response.body).to.equal(200);
    expect(JSON.parse(profile.response.body).organisation.orgId).to.equal(inspector.orgId);
    const rotated = await request(
      `POST /api/v1/organisations/${inspector.orgId}/api-key HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${t.adminKey}\r\nConnection: close\r\n\r\n`,
    );
    expect(rotated.response.status, rotated.response.body).to.equal(201);
    expect(JSON.parse(rotated.response.body).apiKey).to.match(/^ytk_/);
    inspector = { ...inspector, apiKey: JSON.parse(rotated.response.body).apiKey as string };
    expect(Date.now() - began, "time to serve three requests").to.be.below(5_000);
    // The idle connections were not dropped to make room.
    expect(droppedEarly(), "idle connections dropped before headersTimeout").to.equal(0);
  });

  it("closes an idle keep-alive connection after keepAliveTimeout, and keeps it for reuse until then", async function () {
    const conns = await Promise.all(Array.from({ length: 20 }, () => connect(port)));
    const get = `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    await Promise.all(conns.map((conn) => write(conn, get)));
    /** When each connection's first response had arrived: its idle time starts before that. */
    const answeredAt = new Map<Connection, number>();
    await Promise.all(
      conns.map(async (conn) => {
        await responseOn(conn, 10_000);
        answeredAt.set(conn, Date.now());
      }),
    );
    for (const conn of conns) {
      const first = responseIn(conn.received)!;
      expect(first.status).to.equal(200);
      expect(first.headers.connection).to.equal("keep-alive");
    }
    // Reused within the timeout: a second request on the same connection is served.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const reused = conns[0]!;
    reused.received = Buffer.alloc(0);
    const resentAt = Date.now();
    await write(reused, get);
    expect((await responseOn(reused, 10_000)).status).to.equal(200);
    const reansweredAt = Date.now();
    // Then left idle: closed by the server after keepAliveTimeout (Node adds up to a second).
    // Idle from its last response's sending: after the connection's start (or the second request's
    // sending), before its arrival here. So at least the timeout from the one, at most from the other.
    await Promise.all(conns.map((conn) => closedWithin(conn, 30_000, "an idle keep-alive connection")));
    for (const conn of conns) {
      const since = conn === reused ? [resentAt, reansweredAt] : [conn.connectedAt, answeredAt.get(conn)!];
      // (Measured from before the server's timer could start, so only timer rounding needs a margin.)
      expect(conn.closedAt! - since[0]!, "idle time before the server closed the keep-alive connection").to.be.at.least(
        KEEP_ALIVE_TIMEOUT_MS - 100,
      );
      expect(conn.closedAt! - since[1]!, "idle time before the server closed the keep-alive connection").to.be.at.most(
        KEEP_ALIVE_TIMEOUT_MS + 2_500,
      );
    }
  });

  /** Sends `head` and then `body` on a new connection; the first response, within ANSWER_MS. */
  async function answerTo(
    head: string,
    body: Buffer = Buffer.alloc(0),
  ): Promise<{ conn: Connection; response: RawResponse }> {
    const conn = await connect(port);
    await write(conn, head);
    if (body.length > 0) await write(conn, body);
    try {
      return { conn, response: await responseOn(conn, ANSWER_MS) };
    } finally {
      conn.socket.destroy();
    }
  }

  it("refuses a JSON body whose Content-Length is over the limit with a JSON 413, without waiting for the body", async function () {
    const { conn, response } = await answerTo(
      `POST /api/v1/organisations HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${t.adminKey}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${50 * 1024 * 1024}\r\n\r\n`,
      Buffer.from('{"name":"' + "A".repeat(64 * 1024)),
    );
    expect(response.status, response.body).to.equal(413);
    expect(errorCodeOf(response)).to.equal("body_too_large");
    expect(conn.sent).to.be.below(100 * 1024);
  });

  it("ends a chunked JSON body that goes on past the limit: a JSON 413, or cut off by requestTimeout", async function () {
    // A chunked body declares no length: the parser stops storing it at the limit but reads on to
    // its end before answering, so a client that keeps sending is cut off by requestTimeout.
    const conn = await connect(port);
    const started = Date.now();
    try {
      await write(
        conn,
        `POST /api/v1/events HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${producer.apiKey}\r\n` +
          `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
      const bound = REQUEST_TIMEOUT_MS + SWEEP_INTERVAL_MS + SLACK_MS;
      // Up to 256 MB, never the last chunk, a chunk every few milliseconds: stop once the gateway answers or hangs up.
      for (let i = 0; i < 4096 && responseIn(conn.received) === null && conn.closedAt === null; i++) {
        if (!(await write(conn, frame))) break;
        if (Date.now() - started > bound) break;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      expect(conn.sent, "the client sent past the limit").to.be.above(JSON_LIMIT);
      const answer = responseIn(conn.received);
      if (answer) expect(answer.status, answer.body).to.be.oneOf([408, 413]);
      else await closedWithin(conn, bound, "a client sending an endless chunked body");
      expect(Date.now() - started, "ended within requestTimeout").to.be.below(bound);
    } finally {
      conn.socket.destroy();
    }
    const health = await request(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    expect(health.response.status).to.equal(200);
  });

  it("refuses a certificate whose Content-Length is over 10 MB with a JSON 413, without waiting for the body", async function () {
    const { conn, response } = await answerTo(
      `POST /api/v1/certificates HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${inspector.apiKey}\r\n` +
        `Content-Type: application/pdf\r\nContent-Length: ${CERTIFICATE_LIMIT + 1}\r\n\r\n`,
      Buffer.concat([Buffer.from("%PDF-1.7\n"), Buffer.alloc(64 * 1024, 0x41)]),
    );
    expect(response.status, response.body).to.equal(413);
    expect(errorCodeOf(response)).to.equal("certificate_too_large");
    expect(conn.sent).to.be.below(100 * 1024);
  });

  it("refuses large bodies without an API key with a JSON 401 before they are sent, and hangs up", async function () {
    for (const [path, type] of [
      ["/api/v1/events", "application/json"],
      ["/api/v1/organisations", "application/json"],
      ["/api/v1/certificates", "application/pdf"],
    ]) {
      const conn = await connect(port);
      try {
        // Headers only: the answer comes before any of the 50 MB is sent, and the gateway closes
        // the connection rather than wait to read (and discard) the body.
        await write(
          conn,
          `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: ${type}\r\nContent-Length: ${50 * 1024 * 1024}\r\n\r\n`,
        );
        const response = await responseOn(conn, ANSWER_MS);
        expect(response.status, `${path}: ${response.body}`).to.equal(401);
        expect(errorCodeOf(response)).to.equal("unauthenticated");
        expect(response.headers.connection, path).to.equal("close");
        await closedWithin(conn, ANSWER_MS + (Date.now() - conn.connectedAt), `${path}: the refused connection`);
      } finally {
        conn.socket.destroy();
      }
    }
  });

  it("refuses a gzip bomb (64 MB of JSON in 64 kB) with a JSON 413", async function () {
    const bomb = gzipSync(
      Buffer.concat([Buffer.from('{"events":"'), Buffer.alloc(64 * 1024 * 1024, 0x41), Buffer.from('"}')]),
    );
    expect(bomb.length).to.be.below(256 * 1024);
    const { response } = await answerTo(
      `POST /api/v1/events HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${producer.apiKey}\r\n` +
        `Content-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${bomb.length}\r\n\r\n`,
      bomb,
    );
    expect(response.status, response.body).to.equal(413);
    expect(errorCodeOf(response)).to.equal("body_too_large");
    // And the gateway still answers.
    const health = await request(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    expect(health.response.status).to.equal(200);
  });

  it("cuts off a client that sends its headers a byte at a time, after headersTimeout", async function () {
    const bound = HEADERS_TIMEOUT_MS + SWEEP_INTERVAL_MS + SLACK_MS;
    const lived = await closedWithin(slowHeaders, bound, "a client still sending its headers");
    expect(lived, "how long the slow-headers client was let be").to.be.at.least(HEADERS_TIMEOUT_MS - 1_000);
    // It was sending all along (one byte every DRIP_MS), and was never answered but with a 408.
    expect(slowHeaders.sent).to.be.above(HEADERS_TIMEOUT_MS / DRIP_MS);
    const answer = responseIn(slowHeaders.received);
    if (answer) expect(answer.status).to.equal(408);
    else expect(slowHeaders.received.length).to.equal(0);
  });

  it("closes connections that never send a request, after headersTimeout", async function () {
    const bound = HEADERS_TIMEOUT_MS + SWEEP_INTERVAL_MS + SLACK_MS;
    const lifetimes = await Promise.all(idle.map((conn) => closedWithin(conn, bound, "an idle connection")));
    expect(lifetimes).to.have.length(IDLE_CONNECTIONS);
    for (const ms of lifetimes) expect(ms).to.be.at.least(HEADERS_TIMEOUT_MS - 1_000);
  });

  it("cuts off a client that sends its body a byte at a time, after requestTimeout", async function () {
    const bound = REQUEST_TIMEOUT_MS + SWEEP_INTERVAL_MS + SLACK_MS;
    const lived = await closedWithin(slowBody, bound, "a client still sending its body");
    expect(lived, "how long the slow-body client was let be").to.be.at.least(REQUEST_TIMEOUT_MS - 1_000);
    expect(slowBody.sent).to.be.above(REQUEST_TIMEOUT_MS / DRIP_MS);
    const answer = responseIn(slowBody.received);
    if (answer) expect(answer.status).to.equal(408);
    else expect(slowBody.received.length).to.equal(0);
    // And the gateway is still serving.
    const health = await request(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    expect(health.response.status).to.equal(200);
  });
});
