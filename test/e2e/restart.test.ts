/**
 * End to end through `npm start`, twice on the same data dir and ports: stopping YuTrace stops its
 * in-memory `hardhat node`, so the second start finds an empty chain and must rebuild the same
 * ledger by replaying its txlog (DESIGN §6). Nothing a user did may be lost: every demo batch and
 * event comes back with the same ids and statuses, and every proof verifies against the new chain.
 *
 * The `it`s run in order: first start, stop, second start, checks, stop.
 */
import { expect } from "chai";
import { ZeroHash, type JsonRpcProvider } from "ethers";

import { batchIdOf } from "../../server/domain/batch-id";
import { batchUri, parseDigitalLink, type BatchKey } from "../../server/domain/digital-link";
import { orgIdOf } from "../../server/domain/identifiers";
import { DEMO_ORGANISATIONS, DEMO_PRODUCTS } from "../../server/demo/dataset";
import type { EventView } from "../../server/services/queries";
import type { BatchRecord, RoleName } from "../../server/store/records";
import {
  ON_CHAIN_STATUS,
  RUNNING_LINE,
  allBatchEvents,
  api,
  chainListening,
  connectChain,
  freshLocation,
  killYuTrace,
  onChainAnchorTime,
  ourChainNodes,
  printedLinks,
  readAdminApiKey,
  readDemoApiKeys,
  removeDataDir,
  startYuTrace,
  stopYuTrace,
  verifyEventOnChain,
  waitUntilAnchored,
  type ChainView,
  type YuTraceProcess,
} from "../helpers/e2e";

type DemoLot = "chili" | "chiliRecalled" | "tallow" | "hotpot" | "hotpotAffected" | "teaSet" | "knife" | "shoes";

/** What must survive a restart unchanged (registeredAt and status times are the new chain's own). */
const durable = (b: BatchRecord) => ({
  batchId: b.batchId,
  gtin: b.gtin,
  lot: b.lot,
  producer: b.producer,
  status: b.status,
  metadataHash: b.metadataHash,
  metadata: b.metadata,
  parents: b.parents,
  block: b.block,
  txHash: b.txHash,
  statusHistory: b.statusHistory.map(({ at: _at, ...change }) => change),
});

/** An event's evidence, without the anchor's block time (see the separate test for that). */
const evidence = (e: EventView) => ({
  eventId: e.eventId,
  status: e.status,
  event: e.event,
  organisation: e.organisation,
  batchIds: e.batchIds,
  submission: e.submission,
  proofs: e.proofs,
  anchor: e.anchor && { root: e.anchor.root, seq: e.anchor.seq, block: e.anchor.block, txHash: e.anchor.txHash },
});

const DAY_MS = 86_400_000;
const ROLE_OF_ORG = new Map<string, RoleName>(DEMO_ORGANISATIONS.map((o) => [orgIdOf(o.uscc), o.roles[0]]));
const gtinOf = (owner: (typeof DEMO_PRODUCTS)[number]["owner"]) => DEMO_PRODUCTS.find((p) => p.owner === owner)!.gtin;

describe("restarting YuTrace: the empty new chain is rebuilt from the txlog and nothing is lost", function () {
  this.timeout(300_000);

  let location: { dataDir: string; port: number; chainPort: number } | undefined;
  let first: YuTraceProcess | undefined;
  let second: YuTraceProcess | undefined;
  let chain: ChainView | undefined;
  let adminKey: string;
  let demoKeys: Record<string, string>;
  const lots = {} as Record<DemoLot, BatchKey>;
  const batchesBefore = new Map<string, BatchRecord>();
  const eventsBefore = new Map<string, EventView>();
  /** Event ids of each batch, in the order the gateway lists them. */
  const eventOrderBefore = new Map<string, string[]>();
  let ledgerBefore: { chainId: string; address: string; deployBlock: number };
  let headBefore: number;
  let anchorCountBefore: bigint;
  let deployBlockHashBefore: string;
  let deployTxBefore: string[];

  const id = (key: DemoLot) => batchIdOf(lots[key].gtin, lots[key].lot);
  const closeChain = () => {
    chain?.provider.destroy();
    chain = undefined;
  };
  const blockOf = async (provider: JsonRpcProvider, n: number) => (await provider.getBlock(n))!;

  before(async function () {
    location = await freshLocation();
    first = await startYuTrace(location);
    adminKey = await readAdminApiKey(location.dataDir);
    demoKeys = await readDemoApiKeys(location.dataDir);
    chain = await connectChain(first);
  });

  after(async function () {
    closeChain();
    await killYuTrace(first);
    await killYuTrace(second);
    await removeDataDir(location?.dataDir);
  });

  it("loads the demo on first start: its batches and their events, all anchored and provable", async function () {
    const links = printedLinks(first!.output());
    const key = (label: string) => {
      const parsed = parseDigitalLink(links.get(label) ?? "");
      expect(parsed, `printed link "${label}"`).to.not.equal(null);
      return { gtin: parsed!.gtin, lot: parsed!.lot };
    };
    lots.hotpot = key("hotpot base batch");
    lots.hotpotAffected = key("affected by a recall");
    lots.chiliRecalled = key("recalled chili lot");
    // The other lots are named by production dates relative to the day the demo was loaded, which
    // the hotpot lot "BN{yyyymmdd of day -15}-A" gives away.
    const [, y, m, d] = /^BN(\d{4})(\d{2})(\d{2})-A$/.exec(lots.hotpot.lot)!;
    const loadDay = Date.parse(`${y}-${m}-${d}`) + 15 * DAY_MS;
    const ymd = (offset: number) => new Date(loadDay + offset * DAY_MS).toISOString().slice(0, 10).replaceAll("-", "");
    lots.teaSet = { gtin: gtinOf("ceramics"), lot: `AT${ymd(-30)}` };
    lots.knife = { gtin: gtinOf("hardware"), lot: `DZ${ymd(-28)}` };
    lots.shoes = { gtin: gtinOf("shoes"), lot: `BS${ymd(-26)}` };

    const lineage = await api<{ batches: BatchRecord[] }>(first!, "GET", `/api/v1/batches/${id("hotpot")}/lineage`, {
      key: adminKey,
    });
    expect(lineage.status).to.equal(200);
    const [chili, tallow] = lineage.body.batches;
    expect(lineage.body.batches).to.have.length(2);
    lots.chili = { gtin: chili!.gtin, lot: chili!.lot };
    lots.tallow = { gtin: tallow!.gtin, lot: tallow!.lot };

    for (const [name, { gtin, lot }] of Object.entries(lots)) {
      const found = await api<{ batch: BatchRecord & { digitalLink: string } }>(
        first!,
        "GET",
        `/api/v1/batches?gtin=${gtin}&lot=${encodeURIComponent(lot)}`,
        { key: adminKey },
      );
      expect(found.status, `${name} ${gtin}/${lot}: ${JSON.stringify(found.body)}`).to.equal(200);
      expect(found.body.batch.digitalLink).to.equal(batchUri(`http://localhost:${location!.port}`, { gtin, lot }));
      const { digitalLink: _link, ...batch } = found.body.batch;
      batchesBefore.set(batch.batchId, batch);
      const events = await waitUntilAnchored(first!, adminKey, batch.batchId);
      eventOrderBefore.set(
        batch.batchId,
        events.map((e) => e.eventId),
      );
      for (const event of events) eventsBefore.set(event.eventId, event);
    }
    expect(batchesBefore.size).to.equal(8);
    expect(eventsBefore.size).to.equal(19);
    expect(batchesBefore.get(id("chiliRecalled"))!.status).to.equal("recalled");
    expect(batchesBefore.get(id("hotpot"))!.parents).to.deep.equal([id("chili"), id("tallow")]);
    for (const event of eventsBefore.values()) {
      await verifyEventOnChain(event, chain!, ROLE_OF_ORG.get(event.organisation)!);
    }

    const ledger = await api<typeof ledgerBefore>(first!, "GET", "/api/v1/ledger");
    ledgerBefore = ledger.body;
    headBefore = await chain!.provider.getBlockNumber();
    anchorCountBefore = await chain!.ledger.anchorCount();
    const deployBlock = await blockOf(chain!.provider, ledgerBefore.deployBlock);
    deployBlockHashBefore = deployBlock.hash!;
    deployTxBefore = [...deployBlock.transactions];
    expect(anchorCountBefore).to.be.greaterThan(0n);
  });

  it("stops on SIGINT, and its hardhat node with it", async function () {
    closeChain();
    const { code, signal } = await stopYuTrace(first!);
    expect({ code, signal }).to.deep.equal({ code: 0, signal: null });
    expect(first!.output()).to.contain("SIGINT: stopping YuTrace");
    expect(await chainListening(first!)).to.be.false;
    expect(ourChainNodes(first!)).to.deep.equal([]);
  });

  it("starts again on the same data dir and ports, says it replayed the txlog, and does not reload the demo", async function () {
    // At info level the start-up log shows the replay; at warn nothing in the printout mentions it.
    second = await startYuTrace({ ...location!, logLevel: "info" });
    const output = second.output();
    expect(output).to.contain(RUNNING_LINE);
    expect(output).to.contain("the local chain is new: replaying the transaction log");
    const rebuilt = output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg?: string; replayed?: number })
      .find((entry) => entry.msg === "ledger rebuilt from the transaction log");
    expect(rebuilt, "a 'ledger rebuilt' log entry").to.not.equal(undefined);
    expect(rebuilt!.replayed).to.equal(headBefore);
    expect(output).to.not.contain("loading the Chongqing demo dataset");
    expect(output).to.not.contain("TraceLedger deployed");

    chain = await connectChain(second);
    const ledger = await api<typeof ledgerBefore>(second, "GET", "/api/v1/ledger");
    expect(ledger.body).to.deep.equal(ledgerBefore);
    expect(await chain.ledger.getAddress()).to.equal(ledgerBefore.address);
    expect(await chain.provider.getBlockNumber()).to.equal(headBefore);
    expect(await chain.ledger.anchorCount()).to.equal(anchorCountBefore);
    // A new chain (new block hashes), with the very same transactions in the same blocks.
    const deployBlock = await blockOf(chain.provider, ledgerBefore.deployBlock);
    expect(deployBlock.hash).to.not.equal(deployBlockHashBefore);
    expect([...deployBlock.transactions]).to.deep.equal(deployTxBefore);
    expect(await readDemoApiKeys(location!.dataDir)).to.deep.equal(demoKeys);
  });

  it("serves every batch with the same id, producer, parents and status; the recalled chili lot is Recalled on the new chain", async function () {
    for (const [batchId, before] of batchesBefore) {
      const response = await api<{ batch: BatchRecord & { digitalLink: string } }>(
        second!,
        "GET",
        `/api/v1/batches?gtin=${before.gtin}&lot=${encodeURIComponent(before.lot)}`,
        { key: adminKey },
      );
      expect(response.status, `${before.gtin}/${before.lot}`).to.equal(200);
      expect(durable(response.body.batch)).to.deep.equal(durable(before));
      const onChain = await chain!.ledger.getBatch(batchId);
      expect(onChain.producer).to.equal(before.producer);
      expect([...onChain.parents]).to.deep.equal(before.parents);
      expect(onChain.status).to.equal(ON_CHAIN_STATUS[before.status]);
    }
    expect((await chain!.ledger.getBatch(id("chiliRecalled"))).status).to.equal(ON_CHAIN_STATUS.recalled);
    expect([...(await chain!.ledger.recalledAncestor(id("hotpotAffected")))]).to.deep.equal([
      true,
      id("chiliRecalled"),
    ]);
    expect([...(await chain!.ledger.recalledAncestor(id("hotpot")))]).to.deep.equal([false, ZeroHash]);
  });

  it("serves every event with the same id, submission and anchor, and every proof verifies against the new chain", async function () {
    const after = new Map<string, EventView>();
    for (const [batchId, order] of eventOrderBefore) {
      const events = await allBatchEvents(second!, adminKey, batchId);
      expect(
        events.map((e) => e.eventId),
        `events of ${batchId}`,
      ).to.deep.equal(order);
      for (const event of events) after.set(event.eventId, event);
    }
    expect(after.size).to.equal(19);
    for (const [eventId, before] of eventsBefore) {
      const now = after.get(eventId)!;
      expect(evidence(now)).to.deep.equal(evidence(before));
      await verifyEventOnChain(now, chain!, ROLE_OF_ORG.get(now.organisation)!);
    }
  });

  it("reports each anchor's block time as the new chain has it", async function () {
    const mismatches: string[] = [];
    for (const event of eventsBefore.values()) {
      const view = await api<EventView>(second!, "GET", `/api/v1/events/${event.eventId}`, { key: adminKey });
      const onChain = await onChainAnchorTime(chain!, view.body.anchor!.root);
      if (view.body.anchor!.blockTime !== onChain) {
        mismatches.push(`${event.eventId}: API ${view.body.anchor!.blockTime}, chain ${onChain}`);
      }
    }
    expect(mismatches, "anchor.blockTime differs from getAnchor(root).blockTime").to.deep.equal([]);
  });

  it("accepts a new event after the restart and anchors it on the new chain", async function () {
    const yesterday = new Date(Date.now() - DAY_MS).toISOString().slice(0, 10);
    const sale = {
      type: "ObjectEvent",
      action: "OBSERVE",
      bizStep: "retail_selling",
      eventTime: `${yesterday}T20:00:00+08:00`,
      eventTimeZoneOffset: "+08:00",
      quantityList: [
        { epcClass: batchUri(`http://localhost:${location!.port}`, lots.hotpot), quantity: 24, uom: "XBX" },
      ],
      disposition: "retail_sold",
      bizLocation: { district: "渝中区", name: "解放碑店" },
    };
    const accepted = await api<{ submission: { id: string }; events: { eventId: string }[] }>(
      second!,
      "POST",
      "/api/v1/events",
      { key: demoKeys.supermarket, body: { events: [sale] } },
    );
    expect(accepted.status, JSON.stringify(accepted.body)).to.equal(202);
    const eventId = accepted.body.events[0]!.eventId;

    const events = await waitUntilAnchored(second!, adminKey, id("hotpot"), 20_000);
    const view = events.find((e) => e.eventId === eventId)!;
    expect(view, "the new event among the hotpot lot's events").to.not.equal(undefined);
    expect(view.submission.id).to.equal(accepted.body.submission.id);
    expect(view.anchor!.seq).to.equal(Number(anchorCountBefore) + 1);
    expect(view.anchor!.block).to.be.greaterThan(headBefore);
    await verifyEventOnChain(view, chain!, "retailer");
    expect(await chain!.ledger.anchorCount()).to.equal(anchorCountBefore + 1n);
  });

  it("stops on SIGINT again and leaves no hardhat node of its own behind", async function () {
    closeChain();
    const { code, signal } = await stopYuTrace(second!);
    expect({ code, signal }).to.deep.equal({ code: 0, signal: null });
    expect(await chainListening(second!)).to.be.false;
    expect(ourChainNodes(second!)).to.deep.equal([]);
  });
});
