/** Scan counting for item codes: counts, first scan, coarse places and the copy warning. */
import { expect } from "chai";

import { looksCopied, placeOf, ScanCounter, SUSPICIOUS_PLACES } from "../../server/services/scans";
import { keys } from "../../server/store/keys";
import { Store } from "../../server/store/store";
import { storePerTest } from "../helpers/store";

describe("scan counting", function () {
  let store: Store;
  storePerTest("scans", (opened) => (store = opened));

  it("keeps only a coarse place, never the full address", function () {
    expect(placeOf("203.0.113.77")).to.equal("203.0.0.0/16");
    expect(placeOf("::ffff:198.51.100.9")).to.equal("198.51.0.0/16");
    expect(placeOf("2001:db8:85a3:8d3:1319:8a2e:370:7348")).to.equal("2001:db8:85a3::/48");
    expect(placeOf(undefined)).to.equal("unknown");
  });

  it("counts scans, keeps the first scan time and lands every count on disk in order", async function () {
    const counter = new ScanCounter(store);
    const first = new Date("2026-11-20T10:00:00Z");
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        counter.record("0xb", "K7W2M9QX4TB1R", "203.0.0.0/16", new Date(first.getTime() + i)),
      ),
    );
    await counter.flush();
    const stored = await store.scans.get(keys.scan("0xb", "K7W2M9QX4TB1R"));
    expect(stored.count).to.equal(30);
    expect(stored.firstAt).to.equal(first.toISOString());
    expect(stored.places).to.deep.equal(["203.0.0.0/16"]);

    const reopened = new ScanCounter(store);
    expect((await reopened.record("0xb", "K7W2M9QX4TB1R", "198.51.0.0/16")).count).to.equal(31);
  });

  it(`warns when a code is scanned from ${SUSPICIOUS_PLACES} or more places, even a few times`, async function () {
    const counter = new ScanCounter(store);
    let record;
    for (let i = 0; i < SUSPICIOUS_PLACES; i++) {
      record = await counter.record("0xb", "SERIAL", `10.${i}.0.0/16`);
      expect(looksCopied(record), `after ${i + 1} places`).to.equal(i + 1 >= SUSPICIOUS_PLACES);
    }
    expect(record!.count).to.equal(SUSPICIOUS_PLACES);
  });
});
