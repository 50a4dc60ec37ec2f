/**
 * Which batches pending holds block, read batch by batch (`blockingHold`) and all at once
 * (`blockingHolds`, what ingest reads once per submission), over a real LevelDB.
 */

import { expect } from "chai";

import { batchIdOf } from "../../server/domain/batch-id";
import { blockingHold, blockingHolds, type QueuedHold } from "../../server/services/holds";
import { keys } from "../../server/store/keys";
import { Store } from "../../server/store/store";
import { storePerTest } from "../helpers/store";

const GTIN = "06938850101018";

function hold(lot: string, n: number, refused = false): QueuedHold {
  return {
    batchId: batchIdOf(GTIN, lot),
    orgId: "0x" + "c3".repeat(32),
    eventId: `0x${n.toString(16).padStart(64, "0")}`,
    reason: "检验不合格",
    requestedAt: "2026-11-26T08:00:00.000Z",
    ...(refused ? { refused: { ledgerError: "MissingRole", message: "the inspector lost its role" } } : {}),
  };
}

describe("pending holds: which batches they block", function () {
  let store: Store;
  storePerTest("holds", (opened) => (store = opened));

  const put = (holds: QueuedHold[]) =>
    store.write(holds.map((h) => Store.put(store.journal, keys.pendingHold(h.batchId, h.eventId), h)));

  it("blocks the batches with a hold that was not refused, and agrees with the batch-by-batch read", async function () {
    await put([hold("A", 1), hold("B", 2, true), hold("C", 3, true), hold("C", 4)]);
    const blocked = await blockingHolds(store);
    expect(blocked && [...blocked].sort()).to.deep.equal([batchIdOf(GTIN, "A"), batchIdOf(GTIN, "C")].sort());
    for (const lot of ["A", "B", "C", "D"]) {
      const one = await blockingHold(store, batchIdOf(GTIN, lot));
      expect(blocked!.has(batchIdOf(GTIN, lot)), `lot ${lot}`).to.equal(one !== null);
    }
  });

  it("answers an empty set when nothing is pending, and null when more than the limit are", async function () {
    expect([...(await blockingHolds(store))!]).to.deep.equal([]);
    await put([1, 2, 3].map((n) => hold(`L${n}`, n)));
    expect((await blockingHolds(store, 3))!.size).to.equal(3);
    expect(await blockingHolds(store, 2), "more than 2 pending: ask batch by batch").to.equal(null);
  });
});
