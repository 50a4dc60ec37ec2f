/**
 * The anchorer against a real `hardhat node` and a real store: one anchor transaction per round
 * over every pending submission; never loses or double-anchors a submission — not when the chain
 * is down, and not when the gateway died between sending the anchor and recording it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { HDNodeWallet, JsonRpcProvider, Wallet } from "ethers";
import pino from "pino";

import { Anchorer, type AnchorChain } from "../../server/anchor/anchorer";
import { ChainUnavailableError } from "../../server/chain/errors";
import { LedgerClient } from "../../server/chain/ledger-client";
import { startLocalNode, type LocalNode } from "../../server/chain/local-node";
import { deployLedgerLogged } from "../../server/chain/txlog";
import { batchIdOf } from "../../server/domain/batch-id";
import { gtin14, orgIdOf, uscc } from "../../server/domain/identifiers";
import { verifyMerkleProof } from "../../server/domain/merkle";
import { IngestService } from "../../server/services/ingest";
import { keys } from "../../server/store/keys";
import type { AnchorRecord, BatchRecord, OrgRecord, SubmissionAnchor } from "../../server/store/records";
import { Store } from "../../server/store/store";

const MNEMONIC = "test test test test test test test test test test test junk";
const account = (i: number) => HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`);
const GTIN = gtin14("0693885010003");
const LOT = "BN20261110-A";
const silent = pino({ level: "silent" });

describe("anchoring", function () {
  this.timeout(120_000);
  let node: LocalNode;
  let provider: JsonRpcProvider;
  let dir: string;
  let store: Store;
  let ledger: LedgerClient;
  let ingest: IngestService;
  let org: OrgRecord;
  let sequence = 0;

  beforeEach(async function () {
    node = await startLocalNode();
    provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    dir = await mkdtemp(path.join(os.tmpdir(), "yutrace-anchor-"));
    store = await Store.open(dir);
    const deployed = await deployLedgerLogged(store, provider, account(0), account(1));
    ledger = await LedgerClient.connect({
      provider,
      store,
      ledgerAddress: deployed.address,
      admin: account(0),
      relayer: account(1),
      timing: { receiptTimeoutMs: 3000 },
    });
    const key = Wallet.createRandom();
    const code = uscc("91500113MA5YN8HT6");
    org = {
      orgId: orgIdOf(code),
      name: "重庆巴南渝味火锅食品有限公司",
      uscc: code,
      district: "巴南区",
      roles: ["producer"],
      account: key.address,
      custody: "custodial",
      suspended: false,
      createdAt: new Date().toISOString(),
    };
    const batch: BatchRecord = {
      batchId: batchIdOf(GTIN, LOT),
      gtin: GTIN,
      lot: LOT,
      producer: org.orgId,
      status: "active",
      metadataHash: "0x" + "00".repeat(32),
      metadata: null,
      parents: [],
      registeredAt: new Date().toISOString(),
      block: 1,
      txHash: "0x" + "00".repeat(32),
      statusHistory: [],
    };
    await store.write([
      Store.put(store.orgs, keys.org(org.orgId), org),
      Store.put(store.batches, keys.batch(batch.batchId), batch),
    ]);
    ingest = new IngestService({ store, domain: ledger.domain, custodialSigner: async () => key });
  });

  afterEach(async function () {
    provider?.destroy();
    await node?.stop();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Accepts one submission of `count` storing events; returns its sequence number. */
  async function submit(count: number): Promise<number> {
    const events = Array.from({ length: count }, () => ({
      type: "ObjectEvent",
      action: "OBSERVE",
      bizStep: "storing",
      eventTime: new Date(Date.now() - 60_000 - sequence++ * 1000).toISOString(),
      eventTimeZoneOffset: "+08:00",
      quantityList: [{ epcClass: `https://id.gs1.org/01/${GTIN}/10/${LOT}`, quantity: 1, uom: "XBX" }],
    }));
    const { result } = await ingest.submit(org, { body: { events }, idempotencyKey: null });
    return result.submission.seq;
  }

  function anchorer(chain: AnchorChain = ledger): Anchorer {
    return new Anchorer({ store, chain, intervalMs: 100, logger: silent, maxBackoffMs: 200 });
  }

  async function proofOf(seq: number): Promise<SubmissionAnchor | undefined> {
    return store.anchors.get(keys.submissionAnchor(seq));
  }

  it("anchors every pending submission in one transaction, with a proof for each", async function () {
    const seqs = [await submit(3), await submit(1), await submit(5)];
    const round = anchorer();
    expect(await round.pendingCount()).to.equal(3);
    expect(await round.tick()).to.equal(true);

    expect(await ledger.ledger.anchorCount()).to.equal(1n);
    expect(await round.pendingCount()).to.equal(0);
    const proofs = await Promise.all(seqs.map(proofOf));
    const root = proofs[0]!.root;
    const onChain = await ledger.ledger.getAnchor(root);
    expect(onChain.leafCount).to.equal(3n);
    expect(onChain.eventCount).to.equal(9n);
    for (const [i, seq] of seqs.entries()) {
      const submission = await store.journal.get(keys.submission(seq));
      expect(proofs[i]!.root).to.equal(root);
      expect(proofs[i]!.anchorSeq).to.equal(1);
      expect(verifyMerkleProof(root, submission.digest, proofs[i]!.proof)).to.equal(true);
      expect(await ledger.ledger.verifyAnchoredLeaf(root, submission.digest, proofs[i]!.proof)).to.equal(true);
    }
    expect(await round.tick()).to.equal(false);
    expect(await ledger.ledger.anchorCount()).to.equal(1n);
  });

  it("keeps submissions that arrive during a round for the next round", async function () {
    await submit(2);
    const round = anchorer();
    await round.tick();
    const later = await submit(1);
    expect(await proofOf(later)).to.equal(undefined);
    await round.tick();
    expect((await proofOf(later))!.anchorSeq).to.equal(2);
  });

  it("finishes an anchor that reached the chain before the gateway died, without anchoring twice", async function () {
    const seq = await submit(2);
    // The transaction is mined, then the process dies before it records the anchor.
    const dying: AnchorChain = {
      anchor: async (root, leaves, events) => {
        await ledger.anchor(root, leaves, events);
        throw new Error("killed after sending");
      },
      findAnchor: async () => null,
    };
    await anchorer(dying)
      .tick()
      .then(
        () => expect.fail("the round should have died"),
        (error: Error) => expect(error.message).to.equal("killed after sending"),
      );
    const inFlight: string = await store.journal.get(keys.anchorInFlight());
    expect(((await store.journal.get(keys.anchorPlan(inFlight))) as AnchorRecord).status).to.equal("sending");
    expect(await proofOf(seq)).to.equal(undefined);

    await anchorer().tick();
    expect(await ledger.ledger.anchorCount()).to.equal(1n);
    expect((await proofOf(seq))!.root).to.equal(inFlight);
    expect(await store.journal.get(keys.anchorInFlight())).to.equal(undefined);
  });

  it("keeps everything pending while the chain is down and anchors it once the chain is back", async function () {
    const seq = await submit(4);
    const round = anchorer();
    const down: AnchorChain = {
      anchor: async () => {
        throw new ChainUnavailableError("the chain is down");
      },
      findAnchor: async () => {
        throw new ChainUnavailableError("the chain is down");
      },
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      const error = await anchorer(down)
        .tick()
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(error).to.be.instanceOf(ChainUnavailableError);
    }
    expect(await proofOf(seq)).to.equal(undefined);
    expect(await round.pendingCount()).to.equal(1);

    await round.tick();
    expect((await proofOf(seq))!.anchorSeq).to.equal(1);
    expect(await ledger.ledger.anchorCount()).to.equal(1n);
  });

  it("retries on its own with backoff while running, until the anchor lands", async function () {
    const seq = await submit(1);
    let failures = 3;
    const flaky: AnchorChain = {
      anchor: async (root, leaves, events) => {
        if (failures-- > 0) throw new ChainUnavailableError("connection refused");
        return ledger.anchor(root, leaves, events);
      },
      findAnchor: (root) => ledger.findAnchor(root),
    };
    const running = anchorer(flaky);
    running.start();
    const deadline = Date.now() + 20_000;
    while (!(await proofOf(seq)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await running.stop();
    expect((await proofOf(seq))!.anchorSeq).to.equal(1);
    expect(failures).to.be.lessThan(0);
    expect(await ledger.ledger.anchorCount()).to.equal(1n);
  });
});
