/**
 * SubmissionHeaders, what the events page reads submissions with, over a real LevelDB: each header
 * with its Merkle tree, parsed again only when its stored text changed, read again only when the
 * journal may have changed, the last ones kept.
 */
import { createHash } from "node:crypto";

import { expect } from "chai";

import { verifySubmissionProof } from "../../server/domain/merkle";
import { SubmissionHeaders } from "../../server/services/submission-headers";
import { keys } from "../../server/store/keys";
import type { SubmissionHeader } from "../../server/store/records";
import { Store } from "../../server/store/store";
import { recordGetMany, storePerTest } from "../helpers/store";

const id = (seq: number, i: number) => "0x" + createHash("sha256").update(`${seq}/${i}`).digest("hex");

/** A header of `count` events (other ids with a `salt`); `root` is not checked here, only what the tree gives. */
function header(seq: number, count: number, salt = ""): SubmissionHeader {
  return {
    seq,
    digest: "0x" + createHash("sha256").update(`digest ${seq}${salt}`).digest("hex"),
    orgId: "0x" + "c3".repeat(32),
    account: "0x" + "ab".repeat(20),
    nonce: seq,
    root: "0x" + "00".repeat(32),
    count,
    signature: "0x" + "11".repeat(65),
    signedBy: "custodial",
    eventIds: Array.from({ length: count }, (_, i) => (salt ? id(seq, i + 1_000_000) : id(seq, i))),
    acceptedAt: "2026-11-26T08:00:00.000Z",
    idempotencyKey: null,
    requestHash: null,
    stateChanges: [],
  };
}

describe("submission headers as the events page reads them", function () {
  let store: Store;
  storePerTest("headers", (opened) => (store = opened));

  const put = (h: SubmissionHeader) => store.write([Store.put(store.journal, keys.submission(h.seq), h)]);

  it("gives each header as stored, with a tree whose proofs lead every event id to the same root", async function () {
    const stored = [header(1, 500), header(2, 1), header(3, 7)];
    for (const h of stored) await put(h);
    const headers = new SubmissionHeaders(store);
    const read = await headers.getMany([3, 1, 99, 2]);
    expect(read[2]).to.equal(undefined);
    for (const [i, seq] of [3, 1, 2].entries()) {
      const entry = read[[0, 1, 3][i]!]!;
      const h = stored.find((s) => s.seq === seq)!;
      expect(entry.header).to.deep.equal(h);
      const root = entry.tree.root;
      h.eventIds.forEach((eventId, index) => {
        expect(verifySubmissionProof(root, eventId, entry.tree.proof(index)), `${seq}/${index}`).to.equal(true);
      });
    }
    // Two different lists never share a root.
    expect(read[0]!.tree.root).to.not.equal(read[1]!.tree.root);
  });

  it("parses a header again only when its stored text changed, by one character too", async function () {
    await put(header(5, 20));
    const headers = new SubmissionHeaders(store);
    const [first] = await headers.getMany([5]);
    const [again] = await headers.getMany([5]);
    expect(again).to.equal(first);
    // Writes elsewhere change nothing kept: the text read is the same.
    await put(header(6, 3));
    expect((await headers.getMany([5, 6]))[0]).to.equal(first);

    // The same seq, another list (a restored or rewritten store): the proofs follow the new list.
    const rewritten = header(5, 20, "f");
    await put(rewritten);
    const [changed] = await headers.getMany([5]);
    expect(changed).to.not.equal(first);
    expect(changed!.header.eventIds).to.deep.equal(rewritten.eventIds);
    expect(changed!.tree.root).to.not.equal(first!.tree.root);
    expect(verifySubmissionProof(changed!.tree.root, rewritten.eventIds[7]!, changed!.tree.proof(7))).to.equal(true);

    // Tampered in place, one hex digit of one id, the length unchanged: read again, not served as kept.
    const text = (await store.journal.get(keys.submission(5), { valueEncoding: "utf8" })) as string;
    const at = text.indexOf(rewritten.eventIds[7]!) + 10;
    const tampered = text.slice(0, at) + (text[at] === "0" ? "1" : "0") + text.slice(at + 1);
    expect(tampered.length).to.equal(text.length);
    await store.journal.put(keys.submission(5), tampered, { valueEncoding: "utf8" });
    const [reread] = await headers.getMany([5]);
    expect(reread).to.not.equal(changed);
    expect(reread!.header.eventIds[7]).to.not.equal(rewritten.eventIds[7]);
    expect(reread!.tree.root).to.not.equal(changed!.tree.root);
  });

  it("reads a kept header again only once the journal may have changed, tampering included", async function () {
    await put(header(5, 20));
    await put(header(6, 3));
    const headers = new SubmissionHeaders(store);
    const { reads } = recordGetMany(store.journal);

    const [five] = await headers.getMany([5]);
    // Nothing written since: 5 is served as kept, only 6 is read.
    const [fiveAgain, six] = await headers.getMany([5, 6]);
    expect(fiveAgain).to.equal(five);
    expect(six!.header.seq).to.equal(6);
    const [sixAgain, fiveThird] = await headers.getMany([6, 5]);
    expect(sixAgain).to.equal(six);
    expect(fiveThird).to.equal(five);
    expect(reads).to.deep.equal([[keys.submission(5)], [keys.submission(6)]]);

    // Any write through the store: both read again, found the same text, kept as they were.
    await store.write([Store.put(store.orgs, keys.org("0x01"), { name: "渝溯" })]);
    const [fiveRead, sixRead] = await headers.getMany([5, 6]);
    expect(fiveRead).to.equal(five);
    expect(sixRead).to.equal(six);
    expect(reads.at(-1)).to.deep.equal([keys.submission(5), keys.submission(6)]);
    reads.length = 0;
    await headers.getMany([5, 6]);
    expect(reads).to.deep.equal([]);

    // A write made straight to the journal, around the store's write (tampering): read again, and
    // what changed is what is served.
    const text = (await store.journal.get(keys.submission(5), { valueEncoding: "utf8" })) as string;
    await store.journal.put(keys.submission(5), text.replace('"count":20', '"count":21'), { valueEncoding: "utf8" });
    const [tampered, sixAfter] = await headers.getMany([5, 6]);
    expect(reads).to.deep.equal([[keys.submission(5), keys.submission(6)]]);
    expect(tampered!.header.count).to.equal(21);
    expect(sixAfter).to.equal(six);
    await store.journal.del(keys.submission(6));
    expect(await headers.getMany([6])).to.deep.equal([undefined]);
    // A write the store makes quietly (scan counters) never touches the journal: nothing is read.
    expect((await headers.getMany([5]))[0]).to.equal(tampered);
    reads.length = 0;
    await store.write([Store.put(store.scans, "scan:x", 1)], { quiet: true });
    expect((await headers.getMany([5]))[0]).to.equal(tampered);
    expect(reads).to.deep.equal([]);
  });

  it("keeps the headers used last, up to its limit", async function () {
    for (const seq of [1, 2, 3]) await put(header(seq, 4));
    const headers = new SubmissionHeaders(store, 2);
    const [one] = await headers.getMany([1]);
    const [twoFirst] = await headers.getMany([2]);
    await headers.getMany([1]); // 1 is now used after 2
    const [three] = await headers.getMany([3]); // so 2 is the one let go
    expect(headers.size).to.equal(2);
    expect((await headers.getMany([1]))[0]).to.equal(one);
    expect((await headers.getMany([3]))[0]).to.equal(three);
    const [two] = await headers.getMany([2]);
    expect(two!.header.seq).to.equal(2);
    expect(two).to.not.equal(twoFirst);
    expect(headers.size).to.equal(2);
  });

  it("reads a header of the older layout (events inside it) without keeping it", async function () {
    const legacy = { ...header(8, 2), events: [{ type: "ObjectEvent" }, { type: "ObjectEvent" }] };
    await store.write([Store.put(store.journal, keys.submission(8), legacy)]);
    const headers = new SubmissionHeaders(store);
    const [read] = await headers.getMany([8]);
    expect(read!.header.eventIds).to.deep.equal(legacy.eventIds);
    expect(verifySubmissionProof(read!.tree.root, legacy.eventIds[1]!, read!.tree.proof(1))).to.equal(true);
    expect(headers.size).to.equal(0);
  });

  it("names the submission whose stored header is not JSON", async function () {
    await store.write([Store.put(store.journal, keys.submission(9), header(9, 2))]);
    const headers = new SubmissionHeaders(store);
    await headers.getMany([9]);
    await store.journal.put(keys.submission(9), "{not json", { valueEncoding: "utf8" });
    const error = await headers.getMany([9]).then(
      () => null,
      (e: Error) => e,
    );
    expect(error?.message).to.match(/^submission 9's header in the journal is not JSON/);
    // The header kept before is not served for text that differs from it.
    expect(headers.size).to.equal(0);
  });
});
