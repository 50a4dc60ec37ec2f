/** Scan counting for item codes: counts, first scan, coarse places and the copy warning. */
import { expect } from "chai";

import { looksCopied, placeOf, SCAN_WRITE_BATCH, ScanCounter, SUSPICIOUS_PLACES } from "../../server/services/scans";
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

  it("writes many scans' counts in few writes, each code's latest", async function () {
    const counter = new ScanCounter(store);
    const serials = Array.from({ length: 16 }, (_, i) => `S${String(i).padStart(12, "0")}`);
    let writes = 0;
    const write = store.write.bind(store);
    store.write = (...args: Parameters<Store["write"]>) => {
      writes++;
      return write(...args);
    };
    const scans = 20_000;
    for (let done = 0; done < scans; done += 1_000) {
      await Promise.all(
        Array.from({ length: 1_000 }, (_, i) => counter.record("0xb", serials[(done + i) % 16]!, "203.0.0.0/16")),
      );
    }
    await counter.flush();
    expect(counter.waiting).to.equal(0);
    // One write a scan (20,000) fell behind under load and grew without bound: now a few.
    expect(writes).to.be.greaterThan(0).and.at.most(100);
    for (const serial of serials) {
      expect((await store.scans.get(keys.scan("0xb", serial))).count, serial).to.equal(scans / serials.length);
    }

    // More codes waiting than one write takes: they go in several writes, every one of them.
    writes = 0;
    const many = Array.from({ length: SCAN_WRITE_BATCH + 500 }, (_, i) => `M${String(i).padStart(12, "0")}`);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    store.write = async (...args: Parameters<Store["write"]>) => {
      writes++;
      await gate;
      return write(...args);
    };
    await counter.record("0xc", "FIRST", "p"); // its write waits at the gate; the rest wait for it
    await Promise.all(many.map((serial) => counter.record("0xc", serial, "p")));
    expect(counter.waiting).to.equal(many.length);
    open();
    await counter.flush();
    expect(writes).to.equal(3); // FIRST, then SCAN_WRITE_BATCH codes, then the other 500
    const stored = await store.scans.getMany(many.map((serial) => keys.scan("0xc", serial)));
    expect(stored.filter((record) => record?.count === 1).length).to.equal(many.length);
  });

  it("keeps the count of a code let go of by its cache while that count is still on its way to disk", async function () {
    const counter = new ScanCounter(store, 2);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const write = store.write.bind(store);
    store.write = async (...args: Parameters<Store["write"]>) => {
      await gate;
      return write(...args);
    };
    expect((await counter.record("0xb", "A", "p")).count).to.equal(1); // its write waits at the gate
    await counter.record("0xb", "B", "p");
    await counter.record("0xb", "C", "p"); // A leaves the cache
    expect((await counter.record("0xb", "A", "p")).count).to.equal(2);
    expect((await counter.record("0xb", "B", "p")).count).to.equal(2);
    open();
    await counter.flush();
    expect((await store.scans.get(keys.scan("0xb", "A"))).count).to.equal(2);
    expect((await store.scans.get(keys.scan("0xb", "B"))).count).to.equal(2);
    expect((await store.scans.get(keys.scan("0xb", "C"))).count).to.equal(1);
  });

  it("puts back the counts of a failed write, and writes them at the next flush or scan", async function () {
    const counter = new ScanCounter(store);
    const write = store.write.bind(store);
    let fail = true;
    store.write = (...args: Parameters<Store["write"]>) =>
      fail ? Promise.reject(new Error("disk full")) : write(...args);
    await counter.record("0xb", "A", "p");
    await counter.flush();
    expect(counter.waiting).to.equal(1);
    expect(await store.scans.get(keys.scan("0xb", "A"))).to.equal(undefined);
    fail = false;
    await counter.flush(); // no scan since: flush tries the waiting counts again
    expect(counter.waiting).to.equal(0);
    expect((await store.scans.get(keys.scan("0xb", "A"))).count).to.equal(1);
    fail = true;
    await counter.record("0xb", "B", "p");
    await counter.flush();
    fail = false;
    await counter.record("0xb", "C", "p");
    await counter.flush();
    expect(counter.waiting).to.equal(0);
    expect((await store.scans.get(keys.scan("0xb", "B"))).count).to.equal(1);
    expect((await store.scans.get(keys.scan("0xb", "C"))).count).to.equal(1);
  });

  it("keeps the newer count when the write of an older one fails", async function () {
    const counter = new ScanCounter(store);
    const write = store.write.bind(store);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let calls = 0;
    store.write = async (...args: Parameters<Store["write"]>) => {
      if (++calls === 1) {
        await gate;
        throw new Error("disk full");
      }
      return write(...args);
    };
    await counter.record("0xb", "A", "p"); // count 1 on its way, held at the gate
    expect((await counter.record("0xb", "A", "p")).count).to.equal(2); // count 2 waits
    open();
    await counter.flush(); // the write of 1 fails; 2 is not replaced by it
    await counter.flush();
    expect(counter.waiting).to.equal(0);
    expect((await store.scans.get(keys.scan("0xb", "A"))).count).to.equal(2);
  });
});
