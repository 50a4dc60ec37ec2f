/**
 * `npm run reindex`: rebuilds the gateway's index from the chain and the journal. Run it with the
 * gateway stopped. On the local chain it starts a `hardhat node`, replays the txlog onto it, and
 * stops it again afterwards.
 */
import path from "node:path";
import { JsonRpcProvider } from "ethers";

import { startLocalNode, type LocalNode } from "../server/chain/local-node";
import { replayTxLog, shouldReplay } from "../server/chain/txlog";
import { ConfigError, loadConfig } from "../server/config";
import { rebuildIndex } from "../server/index/rebuild";
import { keys } from "../server/store/keys";
import type { ChainIdentity } from "../server/store/records";
import { Store } from "../server/store/store";

async function main(): Promise<void> {
  const config = loadConfig();
  const store = await Store.openForTool(config.dataDir);
  let node: LocalNode | null = null;
  let provider: JsonRpcProvider | null = null;
  try {
    const identity = (await store.meta.get(keys.chain())) as ChainIdentity | undefined;
    if (!identity) throw new Error(`the store in ${config.dataDir} has never been attached to a ledger`);
    let url = config.rpcUrl;
    if (!url) {
      node = await startLocalNode({ port: config.chainPort, logFile: path.join(config.dataDir, "chain.log") });
      url = node.url;
    }
    provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    if (node && (await shouldReplay(store, provider, identity.ledger))) {
      console.log("replaying the transaction log onto the local chain …");
      await replayTxLog(store, provider, { onProgress: (done, total) => progress(`replay ${done}/${total}`) });
      process.stdout.write("\n");
    }
    const started = Date.now();
    const result = await rebuildIndex(store, provider, identity, (p) =>
      progress(`${p.stage}: ${p.done}${p.total === null ? "" : `/${p.total}`}`),
    );
    process.stdout.write("\n");
    console.log(
      `index rebuilt in ${((Date.now() - started) / 1000).toFixed(1)} s: ${result.submissions} submissions, ${result.anchors} anchors`,
    );
  } finally {
    provider?.destroy();
    await node?.stop();
    await store.close();
  }
}

function progress(text: string): void {
  process.stdout.write(`\r${text.padEnd(40)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `reindex failed: ${(error as Error).message ?? error}`);
  process.exit(1);
});
