/**
 * No secret in any log: YuTrace run outside demo mode (its secrets from configuration, its ledger
 * deployed beforehand on a chain of its own, as in production) with the
 * most verbose log level, through organisations made, API keys and signing keys rotated, events
 * signed with custodial keys, refused requests with wrong keys, and a stop. Then every secret —
 * the key-encryption key, the admin's and relayer's private keys, the admin API key, every API
 * key ever issued, every custodial private key (opened from the store with the KEK) — is looked
 * for in everything the process printed and in the chain's log. The store keeps API keys only as
 * SHA-256 hashes and custodial keys only sealed.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";

import { JsonRpcProvider, Wallet, toBeHex } from "ethers";

import { openKey } from "../../server/chain/custody";
import { deployTraceLedger } from "../../server/chain/deploy";
import { startLocalNode, type LocalNode } from "../../server/chain/local-node";
import { hashApiKey, newApiKey } from "../../server/services/api-keys";
import { keys } from "../../server/store/keys";
import { Store } from "../../server/store/store";
import {
  api,
  freshLocation,
  killYuTrace,
  removeDataDir,
  startYuTrace,
  stopYuTrace,
  type YuTraceProcess,
} from "../helpers/e2e";
import { readings, setUpProducer } from "../helpers/load";

describe("end to end: no secret in any log", function () {
  this.timeout(180_000);

  let location: Awaited<ReturnType<typeof freshLocation>> | undefined;
  let yt: YuTraceProcess | undefined;
  let chain: LocalNode | undefined;
  const kek = randomBytes(32);
  const admin = Wallet.createRandom();
  const relayer = Wallet.createRandom();
  const adminApiKey = newApiKey();
  const issued: string[] = [];

  after(async function () {
    await killYuTrace(yt);
    await chain?.stop();
    await removeDataDir(location?.dataDir);
  });

  it("prints none of its secrets, at log level trace, through a working session", async function () {
    location = await freshLocation();
    // A chain of its own, as in production: fresh operator keys funded on it, TraceLedger deployed.
    chain = await startLocalNode({ port: location.chainPort, logFile: path.join(location.dataDir, "node.log") });
    const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    let deployment;
    try {
      for (const wallet of [admin, relayer]) {
        await provider.send("hardhat_setBalance", [wallet.address, toBeHex(10n ** 21n)]);
      }
      ({ deployment } = await deployTraceLedger(admin.connect(provider), {
        network: "localhost",
        anchorer: relayer.address,
      }));
    } finally {
      provider.destroy();
    }
    yt = await startYuTrace({
      ...location,
      logLevel: "trace",
      transpiler: "sucrase",
      env: {
        YUTRACE_DEMO: "false",
        YUTRACE_RPC_URL: chain.url,
        YUTRACE_LEDGER_ADDRESS: deployment.address,
        YUTRACE_DEPLOY_BLOCK: String(deployment.deployBlock),
        YUTRACE_KEY_ENCRYPTION_KEY: kek.toString("hex"),
        YUTRACE_ADMIN_KEY: admin.privateKey,
        YUTRACE_RELAYER_KEY: relayer.privateKey,
        YUTRACE_ADMIN_API_KEY: adminApiKey,
      },
    });
    const setup = await setUpProducer(yt, adminApiKey, "SECRET01");
    issued.push(setup.apiKey);
    const sent = await api(yt, "POST", "/api/v1/events", {
      key: setup.apiKey,
      body: { events: readings(setup, 0, 5) },
    });
    expect(sent.status, JSON.stringify(sent.body)).to.equal(202);

    // Rotations: a new API key (the old one then refused) and a new custodial signing key.
    const rotated = await api<{ apiKey: string }>(yt, "POST", `/api/v1/organisations/${setup.orgId}/api-key`, {
      key: adminApiKey,
    });
    expect(rotated.status, JSON.stringify(rotated.body)).to.equal(201);
    issued.push(rotated.body.apiKey);
    const old = await api(yt, "POST", "/api/v1/events", { key: setup.apiKey, body: { events: readings(setup, 5, 1) } });
    expect(old.status).to.equal(401);
    const signer = await api(yt, "POST", `/api/v1/organisations/${setup.orgId}/signing-key`, { key: adminApiKey });
    expect(signer.status, JSON.stringify(signer.body)).to.equal(201);
    const after = await api(yt, "POST", "/api/v1/events", {
      key: rotated.body.apiKey,
      body: { events: readings(setup, 10, 5) },
    });
    expect(after.status, JSON.stringify(after.body)).to.equal(202);

    // Refused requests carrying keys: an unknown key, a key in the wrong header form, a bad body.
    expect((await api(yt, "GET", "/api/v1/organisations", { key: newApiKey() })).status).to.equal(401);
    const garbled = await fetch(`${yt.url}/api/v1/organisations`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${adminApiKey}`).toString("base64")}` },
    });
    expect(garbled.status).to.equal(401);
    const bad = await api(yt, "POST", "/api/v1/events", { key: rotated.body.apiKey, body: { events: [{}] } });
    expect(bad.status).to.be.within(400, 499);

    const { code } = await stopYuTrace(yt);
    expect(code).to.equal(0);

    // The store: API keys as hashes only, custodial keys sealed; open them to know what to look for.
    const store = await Store.openForTool(location.dataDir);
    const custodial: string[] = [];
    try {
      for await (const [key, value] of store.keys.iterator() as AsyncIterable<[string, unknown]>) {
        const text = JSON.stringify(value);
        for (const apiKey of [adminApiKey, ...issued]) expect(text, key).to.not.include(apiKey);
        if (key.startsWith(keys.signingKey(""))) {
          const orgId = key.slice(keys.signingKey("").length);
          const { sealed } = value as { sealed: string };
          custodial.push(openKey(sealed, kek, orgId).privateKey);
        }
      }
      const stored = async (apiKey: string) => (await store.keys.get(keys.apiKey(hashApiKey(apiKey)))) !== undefined;
      expect(await stored(adminApiKey), "the admin API key's hash").to.equal(true);
      expect(await stored(issued[1]!), "the rotated API key's hash").to.equal(true);
      expect(await stored(issued[0]!), "the rotated-away API key's hash").to.equal(false);
    } finally {
      await store.close();
    }
    expect(custodial.length, "the producer's custodial key, as rotated").to.equal(1);

    const chainLog = await readFile(path.join(location.dataDir, "node.log"), "utf8");
    const logs = { "YuTrace's output": yt.output(), "the chain's log": chainLog };
    expect(yt.output(), "the gateway logged").to.include("gateway listening");
    const secrets: Record<string, string> = {
      "key-encryption key (hex)": kek.toString("hex"),
      "key-encryption key (base64)": kek.toString("base64"),
      "admin private key": admin.privateKey.slice(2),
      "relayer private key": relayer.privateKey.slice(2),
      "admin API key": adminApiKey,
      "admin API key (Basic)": Buffer.from(`admin:${adminApiKey}`).toString("base64"),
      ...Object.fromEntries(issued.map((k, i) => [`API key #${i + 1}`, k])),
      ...Object.fromEntries(custodial.map((k, i) => [`custodial key #${i + 1}`, k.slice(2)])),
    };
    for (const [where, text] of Object.entries(logs)) {
      for (const [what, secret] of Object.entries(secrets)) {
        expect(text.toLowerCase().includes(secret.toLowerCase()), `${what} in ${where}`).to.equal(false);
      }
      expect(text, `an Authorization header in ${where}`).to.not.match(/Bearer\s+ytk_/i);
    }
  });
});
