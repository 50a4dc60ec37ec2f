/**
 * Crash safety: YuTrace (as `npm start` runs it, on a `hardhat node` this test runs) is killed with
 * SIGKILL at random moments while two clients keep submitting events, 20 times over, and started
 * again on the same data folder each time. A submission whose answer was lost in a crash is sent
 * again with the same Idempotency-Key, as a client should.
 *
 * After every restart: each event that got a 202 is listed exactly once, each listed event belongs
 * to a submission whose every event is listed (nothing half-written), and nothing appears that was
 * never sent. At the end every submission ever sent is accepted exactly once and anchored, and the
 * batch's verification report checks every event's hash, proofs, signature and anchor.
 */
import { once } from "node:events";
import { expect } from "chai";

import { startLocalNode, type LocalNode } from "../../server/chain/local-node";
import { eventHash } from "../../server/domain/canonical";
import {
  allBatchEvents,
  api,
  freshLocation,
  killYuTrace,
  readAdminApiKey,
  removeDataDir,
  startYuTrace,
  waitUntilAnchored,
  type YuTraceProcess,
} from "../helpers/e2e";
import { readings, setUpProducer, type Accepted, type LoadSetup } from "../helpers/load";

const CRASHES = 20;
const EVENTS_PER_SUBMISSION = 10;
const CLIENTS = 2;

interface Submission {
  key: string;
  first: number;
  /** Event ids from the 202, once one came. */
  eventIds: string[] | null;
}

describe("end to end: YuTrace killed with SIGKILL under load, 20 times", function () {
  this.timeout(600_000);

  let location: Awaited<ReturnType<typeof freshLocation>> | undefined;
  let chain: LocalNode | undefined;
  let yt: YuTraceProcess | undefined;
  let setup: LoadSetup;
  const submissions: Submission[] = [];
  /** Keys of submissions whose answer a kill cut off, and of those whose resend was a replay. */
  const retried = new Set<string>();
  const replayed = new Set<string>();
  let next = 0;

  const start = async () => {
    yt = await startYuTrace({
      ...location!,
      transpiler: "sucrase",
      env: { YUTRACE_RPC_URL: chain!.url, YUTRACE_DEMO: "true", YUTRACE_DEMO_DATA: "false" },
    });
  };

  /** Sends `s`; true once it has its 202 (a first acceptance or the replay of the original). */
  const send = async (s: Submission): Promise<boolean> => {
    let response: Response;
    try {
      response = await fetch(`${yt!.url}/api/v1/events`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${setup.apiKey}`,
          "content-type": "application/json",
          "idempotency-key": s.key,
        },
        body: JSON.stringify({ events: readings(setup, s.first, EVENTS_PER_SUBMISSION) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch {
      retried.add(s.key);
      return false; // the gateway died under the request: its fate is unknown until it is sent again
    }
    const text = await response.text().catch(() => null);
    if (text === null) {
      retried.add(s.key);
      return false;
    }
    expect(response.status, text).to.equal(202);
    // The ids are the events' own hashes: a first acceptance and a replay of the original must
    // both answer exactly the ids of what was sent.
    const ids = (JSON.parse(text) as Accepted).events.map((e) => e.eventId);
    expect(ids, `the answer to ${s.key}`).to.deep.equal(readings(setup, s.first, EVENTS_PER_SUBMISSION).map(eventHash));
    if (response.headers.get("idempotent-replayed") === "true") {
      expect(retried.has(s.key), `${s.key} replayed, though never sent before`).to.equal(true);
      replayed.add(s.key);
    }
    s.eventIds = ids;
    return true;
  };

  /** Clients submitting until `stop` resolves; each first sends again what it has in doubt. */
  const load = async (stop: Promise<unknown>) => {
    let stopped = false;
    void stop.then(() => (stopped = true));
    const client = async () => {
      while (!stopped) {
        const s = submissions.find((x) => x.eventIds === null && !inFlight.has(x)) ?? newSubmission();
        inFlight.add(s);
        const ok = await send(s);
        inFlight.delete(s);
        if (!ok) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
  };
  const inFlight = new Set<Submission>();
  const newSubmission = (): Submission => {
    const s = { key: `crash-${next}`, first: next * EVENTS_PER_SUBMISSION, eventIds: null };
    next++;
    submissions.push(s);
    return s;
  };

  /** What a restarted gateway must show: every 202 exactly once, whole submissions only. */
  const checkVisible = async (round: number) => {
    const views = await allBatchEvents(yt!, setup.apiKey, setup.batchId);
    const shown = new Set(views.map((e) => e.eventId));
    expect(shown.size, `round ${round}: no event listed twice`).to.equal(views.length);
    expect(views.length, `round ${round}: only events that were sent`).to.be.at.most(
      submissions.length * EVENTS_PER_SUBMISSION,
    );
    for (const s of submissions) {
      for (const id of s.eventIds ?? []) {
        expect(shown.has(id), `round ${round}: event ${id} of ${s.key} got a 202`).to.be.true;
      }
    }
    // Each listed event belongs to a submission that is listed whole.
    const bySubmission = new Map<string, number>();
    for (const view of views) bySubmission.set(view.submission.id, (bySubmission.get(view.submission.id) ?? 0) + 1);
    for (const [id, count] of bySubmission) {
      const submission = await api<{ count: number; eventIds: string[] }>(yt!, "GET", `/api/v1/submissions/${id}`, {
        key: setup.apiKey,
      });
      expect(submission.status).to.equal(200);
      expect(count, `round ${round}: submission ${id} listed whole`).to.equal(submission.body.count);
      expect(submission.body.eventIds.every((e) => shown.has(e))).to.be.true;
    }
  };

  before(async function () {
    location = await freshLocation();
    chain = await startLocalNode({ port: location.chainPort });
    await start();
    setup = await setUpProducer(yt!, await readAdminApiKey(location.dataDir), "CRASH001");
  });

  after(async function () {
    await killYuTrace(yt);
    await chain?.stop();
    await removeDataDir(location?.dataDir);
  });

  it(`loses no accepted event and shows nothing half-written across ${CRASHES} kills`, async function () {
    for (let round = 1; round <= CRASHES; round++) {
      const gateway = yt!;
      const exited = once(gateway.child, "exit");
      const killAfter = 300 + Math.floor(Math.random() * 1700);
      const kill = new Promise((resolve) => setTimeout(resolve, killAfter)).then(() => gateway.child.kill("SIGKILL"));
      await load(kill.then(() => exited));
      await exited;
      await start();
      await checkVisible(round);
    }
    // The last run: everything in doubt sent again, then all of it anchored.
    for (const s of submissions) if (!s.eventIds) expect(await send(s), s.key).to.be.true;
    const accepted = submissions.flatMap((s) => s.eventIds!);
    expect(submissions.length).to.be.greaterThan(CRASHES);
    const events = await waitUntilAnchored(yt!, setup.apiKey, setup.batchId, 120_000);
    expect(events.map((e) => e.eventId).sort()).to.deep.equal([...accepted].sort());
    const report = await api<{ verdict: string; events: unknown[] }>(
      yt!,
      "GET",
      `/api/v1/batches/${setup.batchId}/verification`,
      { key: setup.apiKey },
    );
    expect(report.status).to.equal(200);
    expect(report.body.verdict).to.equal("verified");
    const resent = retried.size;
    console.log(
      `      ${submissions.length} submissions (${accepted.length} events) over ${CRASHES} kills; ` +
        `${resent} whose answer a kill cut off were sent again with their Idempotency-Key ` +
        `(${replayed.size} of them answered as replays of what the gateway had stored)`,
    );
  });
});
