/**
 * InFlight: concurrent builds of the same key at the same store generation are one build; a build
 * at another generation, or after the first one settled (or failed), is a new one.
 */
import { expect } from "chai";

import { InFlight } from "../../server/services/in-flight";

/** A promise with its resolve and reject in hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("InFlight", function () {
  it("gives every call made while a build of the same key is pending that build's result", async function () {
    const flights = new InFlight<string, { n: number }>();
    const gate = deferred<{ n: number }>();
    let builds = 0;
    const make = () => {
      builds += 1;
      return gate.promise;
    };
    const calls = Array.from({ length: 20 }, () => flights.run("batch-a", 7, make));
    expect(builds).to.equal(1);
    expect(flights.size).to.equal(1);
    gate.resolve({ n: 42 });
    const results = await Promise.all(calls);
    expect(new Set(results).size).to.equal(1);
    expect(results[0]).to.deep.equal({ n: 42 });
    expect(flights.size).to.equal(0);
  });

  it("builds again once the build settled, for another key, or at another generation", async function () {
    const flights = new InFlight<string, number>();
    let builds = 0;
    const make = async () => ++builds;
    expect(await flights.run("a", 1, make)).to.equal(1);
    expect(await flights.run("a", 1, make)).to.equal(2);

    const gate = deferred<number>();
    const slow = flights.run("a", 1, () => gate.promise);
    expect(await flights.run("b", 1, make)).to.equal(3);
    // The store changed while "a" was being built: what that build read may be stale. Checked
    // before the slow build settles, so joining it would show here and not as a timeout.
    const fresh = flights.run("a", 2, make);
    expect(builds).to.equal(4);
    expect(await fresh).to.equal(4);
    gate.resolve(99);
    expect(await slow).to.equal(99);
    expect(flights.size).to.equal(0);
  });

  it("keeps the newer build when an older one of the same key settles after it started", async function () {
    const flights = new InFlight<string, string>();
    const old = deferred<string>();
    const fresh = deferred<string>();
    const first = flights.run("a", 1, () => old.promise);
    const second = flights.run("a", 2, () => fresh.promise);
    old.resolve("old");
    expect(await first).to.equal("old");
    // Still pending at generation 2: a call there joins it rather than building a third time.
    let builds = 0;
    const third = flights.run("a", 2, async () => {
      builds += 1;
      return "third";
    });
    fresh.resolve("fresh");
    expect(await second).to.equal("fresh");
    expect(await third).to.equal("fresh");
    expect(builds).to.equal(0);
  });

  it("rejects every waiting call when the build fails, and builds again on the next call", async function () {
    const flights = new InFlight<string, number>();
    const gate = deferred<number>();
    const calls = [flights.run("a", 1, () => gate.promise), flights.run("a", 1, () => gate.promise)];
    gate.reject(new Error("store closed"));
    for (const call of calls) {
      const error = await call.then(
        () => null,
        (e: Error) => e,
      );
      expect(error?.message).to.equal("store closed");
    }
    expect(flights.size).to.equal(0);
    expect(await flights.run("a", 1, async () => 5)).to.equal(5);
  });
});
