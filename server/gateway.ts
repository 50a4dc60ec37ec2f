/**
 * Builds and starts the whole gateway from a `Config`: store, chain (a local `hardhat node` child
 * unless an RPC URL is given), ledger deployment or replay, indexer, anchorer, services and the
 * HTTP server. `scripts/start.ts` and the end-to-end tests both start YuTrace through here.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type RequestListener, type Server } from "node:http";
import path from "node:path";
import { HDNodeWallet, JsonRpcProvider, Wallet, type BaseWallet } from "ethers";
import pino, { type Logger } from "pino";

import { Anchorer } from "./anchor/anchorer";
import { DEMO_KEY_ENCRYPTION_KEY } from "./chain/custody";
import { LedgerClient } from "./chain/ledger-client";
import { startLocalNode, type LocalNode } from "./chain/local-node";
import { deployLedgerLogged, replayTxLog, shouldReplay, txJournalOf } from "./chain/txlog";
import type { Config } from "./config";
import { createApp, type Health } from "./http/app";
import { Indexer } from "./index/indexer";
import { refreshAfterReplay } from "./index/rebuild";
import { ADMIN, findApiKey, hashApiKey, newApiKey } from "./services/api-keys";
import { CertificateService } from "./services/certificates";
import { HoldService } from "./services/holds";
import { IngestService } from "./services/ingest";
import { PreparePool } from "./services/prepare-pool";
import { Dashboard } from "./services/dashboard";
import { Queries } from "./services/queries";
import { Registry } from "./services/registry";
import { TraceService } from "./services/trace";
import { EvidenceService } from "./services/evidence";
import { ScanCounter } from "./services/scans";
import { SerialService } from "./services/serials";
import { keys } from "./store/keys";
import type { ApiKeyRecord, ChainIdentity } from "./store/records";
import { ensureProducerIndex } from "./index/producer-index";
import { Store } from "./store/store";

/** Hardhat's development mnemonic: its accounts are funded on every local `hardhat node`. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";

export interface Gateway {
  url: string;
  config: Config;
  store: Store;
  ledger: LedgerClient;
  indexer: Indexer;
  anchorer: Anchorer;
  registry: Registry;
  ingest: IngestService;
  queries: Queries;
  /** Inspection certificate documents. */
  certificates: CertificateService;
  /** Puts the holds of non-conformant inspections on-chain. */
  holds: HoldService;
  logger: Logger;
  /** The admin API key, when the gateway made it (demo mode); null when it came from configuration. */
  demoAdminApiKey: string | null;
  chainUrl: string;
  stop(): Promise<void>;
}

export async function startGateway(config: Config, options: { logger?: Logger } = {}): Promise<Gateway> {
  const logger = options.logger ?? pino({ level: config.logLevel, redact: ["apiKey", "*.apiKey", "privateKey"] });
  await mkdir(config.dataDir, { recursive: true });
  const store = await Store.open(path.join(config.dataDir, "store"));
  const cleanup: (() => Promise<void>)[] = [() => store.close()];
  let stopping = false;
  const stopAll = async () => {
    stopping = true;
    for (const step of cleanup.reverse()) await step().catch((err) => logger.error({ err }, "stopping failed"));
  };
  try {
    const indexed = await ensureProducerIndex(store);
    if (indexed > 0) logger.info({ batches: indexed }, "built the producer index of an older store");
    let node: LocalNode | null = null;
    let chainUrl = config.rpcUrl;
    if (!chainUrl) {
      node = await startLocalNode({ port: config.chainPort, logFile: path.join(config.dataDir, "chain.log") });
      cleanup.push(() => node!.stop());
      chainUrl = node.url;
      logger.info({ url: chainUrl, pid: node.pid }, "local hardhat node started");
    }
    const provider = new JsonRpcProvider(chainUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
    cleanup.push(async () => provider.destroy());
    const { admin, relayer } = operatorWallets(config);
    const identity = await ledgerIdentity(config, store, provider, admin, relayer, node !== null, logger);

    const ledger = await LedgerClient.connect({ provider, store, ledgerAddress: identity.ledger, admin, relayer });
    const indexer = new Indexer({
      store,
      provider,
      ledgerAddress: identity.ledger,
      deployBlock: identity.deployBlock,
      confirmations: config.confirmations,
      logger,
    });
    indexer.start();
    cleanup.push(() => indexer.stop());
    const anchorer = new Anchorer({ store, chain: ledger, intervalMs: config.anchorIntervalMs, logger });
    anchorer.start();
    cleanup.push(() => anchorer.stop());

    const kek = config.keyEncryptionKey ?? DEMO_KEY_ENCRYPTION_KEY;
    const registry: Registry = new Registry({
      store,
      ledger,
      kek,
      indexed: (block) => indexer.syncTo(block, { timeoutMs: 30_000 }),
      accountChange: <T>(change: () => Promise<T>): Promise<T> =>
        ingest.exclusive(async () => {
          await anchorer.flush();
          return change();
        }),
    });
    const holds = new HoldService({
      store,
      ledger,
      registry,
      indexed: (block) => indexer.syncTo(block, { timeoutMs: 30_000 }),
      logger,
    });
    holds.start();
    cleanup.push(() => holds.stop());
    const certificates = new CertificateService(store, config.publicUrl, config.certificateQuotaBytes);
    const preparer =
      config.ingestWorkers > 0
        ? new PreparePool(config.ingestWorkers, (err) => logger.error({ err }, "a submission worker failed; replaced"))
        : undefined;
    if (preparer) cleanup.push(() => preparer.close());
    const ingest: IngestService = new IngestService({
      preparer,
      store,
      domain: ledger.domain,
      custodialSigner: (orgId) => registry.signer(orgId),
      onAccepted: (_record, pending) => {
        if (pending.length > 0) holds.notify();
      },
    });
    const queries = new Queries(store);
    const trace = new TraceService(store, config.publicUrl);
    const serials = new SerialService(
      store,
      ledger,
      (block) => indexer.syncTo(block, { timeoutMs: 30_000 }),
      (org) => registry.signer(org),
    );
    const evidence = new EvidenceService({
      store,
      queries,
      publicUrl: config.publicUrl,
      ledger: { chainId: identity.chainId, address: identity.ledger, deployBlock: identity.deployBlock },
      provider: ledger.provider,
    });
    const dashboard = new Dashboard(store, config.publicUrl);
    const scans = new ScanCounter(store);
    cleanup.push(async () => {
      await scans.flush();
      if (scans.waiting > 0) logger.error({ codes: scans.waiting }, "scan counts could not be written to the store");
    });
    const demoAdminApiKey = await ensureAdminApiKey(config, store);
    if (node) {
      const logFile = path.join(config.dataDir, "chain.log");
      const journal = txJournalOf(store);
      const supervisor = superviseLocalChain({
        first: node,
        restart: () => startLocalNode({ port: config.chainPort, logFile }),
        pause: async () => {
          journal.setUnavailable("the local chain stopped and is being rebuilt from the transaction log");
          await Promise.all([anchorer.stop(), indexer.stop(), holds.stop()]);
        },
        replay: () => replayIfNew(store, provider, identity, logger),
        resume: () => {
          journal.setUnavailable(null);
          indexer.start();
          anchorer.start();
          holds.start();
        },
        stopping: () => stopping,
        logger,
        onNode: (next) => (node = next),
      });
      // Runs before the node is stopped (clean-up goes in reverse): a recovery under way ends first.
      cleanup.push(() => supervisor.settled());
    }

    const health = async (): Promise<Health> => {
      const chainReachable = await ledger.isReachable(1000);
      return {
        chainReachable,
        indexerLag: chainReachable ? await indexer.lag().catch(() => null) : null,
        pendingSubmissions: await anchorer.pendingCount(),
        lastAnchoredAt: anchorer.lastAnchoredAt,
        anchorError: anchorer.lastError,
      };
    };
    const { handle } = createApp({
      store,
      registry,
      ingest,
      queries,
      trace,
      serials,
      scans,
      dashboard,
      evidence,
      certificates,
      holds,
      logger,
      publicUrl: config.publicUrl,
      ledger: { chainId: identity.chainId, address: identity.ledger, deployBlock: identity.deployBlock },
      health,
      writeRateLimit: config.writeRateLimit,
    });
    const server = await listen(handle, config.port, config.host, config.httpTimeouts);
    cleanup.push(() => closeServer(server));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const url = `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${port}`;
    logger.info({ url, ledger: identity.ledger, chainId: identity.chainId }, "gateway listening");
    return {
      url,
      config,
      store,
      ledger,
      indexer,
      anchorer,
      registry,
      ingest,
      queries,
      certificates,
      holds,
      logger,
      demoAdminApiKey,
      chainUrl,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function operatorWallets(config: Config): { admin: BaseWallet; relayer: BaseWallet } {
  if (config.adminKey && config.relayerKey) {
    return { admin: new Wallet(config.adminKey), relayer: new Wallet(config.relayerKey) };
  }
  const account = (i: number) => HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`);
  return { admin: account(0), relayer: account(1) };
}

/**
 * Which ledger this store belongs to. First start on a local chain: deploy (logged, so it can be
 * replayed). Later starts: if the local chain came back empty, replay the txlog to rebuild it.
 */
async function ledgerIdentity(
  config: Config,
  store: Store,
  provider: JsonRpcProvider,
  admin: BaseWallet,
  relayer: BaseWallet,
  localChain: boolean,
  logger: Logger,
): Promise<ChainIdentity> {
  const network = await provider.getNetwork();
  const known = (await store.meta.get(keys.chain())) as ChainIdentity | undefined;
  if (known) {
    if (known.chainId !== network.chainId.toString()) {
      throw new Error(`the store in ${config.dataDir} belongs to chain ${known.chainId}, not ${network.chainId}`);
    }
    if (localChain) await replayIfNew(store, provider, known, logger);
    if ((await provider.getCode(known.ledger)) === "0x") {
      throw new Error(`no TraceLedger at ${known.ledger} on ${config.rpcUrl ?? "the local chain"}`);
    }
    return known;
  }
  let ledger: string;
  let deployBlock: number;
  if (config.ledgerAddress !== null && config.deployBlock !== null) {
    ledger = config.ledgerAddress;
    deployBlock = config.deployBlock;
  } else if (localChain || config.demo) {
    const deployed = await deployLedgerLogged(store, provider, admin, relayer);
    ledger = deployed.address;
    deployBlock = deployed.deployBlock;
    logger.info({ ledger, deployBlock }, "TraceLedger deployed");
  } else {
    throw new Error("set YUTRACE_LEDGER_ADDRESS and YUTRACE_DEPLOY_BLOCK (deploy with `npm run deploy`)");
  }
  const genesis = await provider.getBlock(0);
  const identity: ChainIdentity = {
    chainId: network.chainId.toString(),
    ledger,
    deployBlock,
    genesisHash: genesis?.hash ?? "",
  };
  await store.write([Store.put(store.meta, keys.chain(), identity)], { sync: true });
  return identity;
}

/**
 * If the local chain is new (it has no ledger but the txlog holds transactions), replays the txlog
 * onto it and re-derives what came from the chain. Only for a chain the gateway started itself.
 */
async function replayIfNew(
  store: Store,
  provider: JsonRpcProvider,
  known: ChainIdentity,
  logger: Logger,
): Promise<void> {
  if (!(await shouldReplay(store, provider, known.ledger))) return;
  logger.info("the local chain is new: replaying the transaction log");
  const started = Date.now();
  const { replayed } = await replayTxLog(store, provider, {
    onProgress: (done, total) => {
      if (done % 500 === 0 || done === total) logger.info({ done, total }, "replaying");
    },
  });
  logger.info({ replayed, ms: Date.now() - started }, "ledger rebuilt from the transaction log");
  // Same contract, state, blocks and transactions, but new block hashes and times: re-derive
  // what came from the chain; the records derived from the journal's events stay.
  const refreshing = Date.now();
  await refreshAfterReplay(store, provider, known);
  logger.info({ ms: Date.now() - refreshing }, "index refreshed after the replay");
}

/**
 * Keeps the local chain running: when its `hardhat node` exits without being asked to (a crash,
 * a kill), pauses what writes to or follows the chain, starts a new node on the same port
 * (retrying with back-off while the port is taken or the start fails), replays the txlog onto it
 * and resumes. A replay that fails starts over on another fresh node. Ingest never stops: events
 * are journaled and anchored once the chain is back; writes that need the chain answer 503 until
 * then. `settled()` (for stopping) wakes any back-off and waits for a recovery under way.
 */
function superviseLocalChain(options: {
  first: LocalNode;
  restart: () => Promise<LocalNode>;
  pause: () => Promise<void>;
  replay: () => Promise<void>;
  resume: () => void;
  stopping: () => boolean;
  logger: Logger;
  onNode: (node: LocalNode) => void;
}): { settled(): Promise<void> } {
  const { restart, pause, replay, resume, stopping, logger, onNode } = options;
  const wakers = new Set<() => void>();
  const backOff = (attempt: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.min(1000 * attempt, 10_000));
      wakers.add(wake);
    });
  let recovering: Promise<void> = Promise.resolve();

  const recover = async (code: number | null, signal: NodeJS.Signals | null): Promise<void> => {
    logger.error({ code, signal }, "the local chain stopped; starting a new one and replaying the transaction log");
    await pause();
    for (let attempt = 1; !stopping(); attempt++) {
      let next: LocalNode;
      try {
        next = await restart();
      } catch (err) {
        logger.error({ err, attempt }, "the local chain could not be started again; retrying");
        await backOff(attempt);
        continue;
      }
      onNode(next);
      if (stopping()) return;
      try {
        await replay();
      } catch (err) {
        // Part of the history may be on this node: start over on a fresh one.
        logger.error({ err, attempt }, "replaying onto the new local chain failed; starting another");
        await next.stop();
        await backOff(attempt);
        continue;
      }
      if (stopping()) return;
      logger.info({ url: `http://127.0.0.1:${next.port}`, pid: next.pid }, "the local chain is back");
      resume();
      watch(next);
      return;
    }
  };
  const watch = (node: LocalNode) => {
    void node.exited.then(({ code, signal }) => {
      if (stopping()) return;
      recovering = recover(code, signal).catch((err: unknown) =>
        logger.fatal({ err }, "the local chain could not be recovered; restart YuTrace"),
      );
    });
  };
  watch(options.first);
  return {
    settled: async () => {
      for (const wake of [...wakers]) wake();
      await recovering;
    },
  };
}

/**
 * The platform admin's API key: from configuration, or (demo mode) made on first start and kept
 * in `<data>/admin-api-key.txt` (mode 600) so the demo can be driven with curl.
 */
async function ensureAdminApiKey(config: Config, store: Store): Promise<string | null> {
  let apiKey = config.adminApiKey;
  let demoKey: string | null = null;
  if (!apiKey) {
    const file = path.join(config.dataDir, "admin-api-key.txt");
    apiKey = await readFile(file, "utf8").then(
      (text) => text.trim(),
      () => null,
    );
    if (!apiKey || !(await findApiKey(store, apiKey))) {
      apiKey = newApiKey();
      await writeFile(file, apiKey + "\n", { mode: 0o600 });
    }
    demoKey = apiKey;
  }
  const record: ApiKeyRecord = { hash: hashApiKey(apiKey), orgId: ADMIN, createdAt: new Date().toISOString() };
  if (!(await findApiKey(store, apiKey))) {
    await store.write([Store.put(store.keys, keys.apiKey(record.hash), record)], { sync: true });
  }
  return demoKey;
}

async function listen(
  handle: RequestListener,
  port: number,
  host: string,
  timeouts: Config["httpTimeouts"],
): Promise<Server> {
  return new Promise((resolve, reject) => {
    // Slow or idle clients are cut off instead of holding connections open. Node looks for expired
    // requests every `connectionsCheckingInterval` (30 s by default): every second here.
    const server = createServer(
      {
        headersTimeout: timeouts.headersMs,
        requestTimeout: Math.max(timeouts.requestMs, timeouts.headersMs),
        keepAliveTimeout: timeouts.keepAliveMs,
        connectionsCheckingInterval: Math.min(1000, Math.floor(timeouts.headersMs / 2)),
      },
      handle,
    ).listen(port, host);
    server.once("listening", () => resolve(server));
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new Error(`port ${port} on ${host} is already in use; stop what runs there or set YUTRACE_PORT`)
          : error,
      ),
    );
    server.maxConnections = 10_000;
  });
}

async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
