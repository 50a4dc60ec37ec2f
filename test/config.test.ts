import path from "node:path";
import { expect } from "chai";

import { ConfigError, loadConfig } from "../server/config";

describe("configuration", function () {
  it("has defaults for everything: a local chain on 8545 and ./data", function () {
    const config = loadConfig({}, "/srv/yutrace");
    expect(config).to.deep.equal({ rpcUrl: null, chainPort: 8545, dataDir: path.resolve("/srv/yutrace", "data") });
  });

  it("reads an RPC URL, a chain port and a data folder", function () {
    const config = loadConfig(
      { YUTRACE_RPC_URL: "http://10.0.0.5:8545", YUTRACE_CHAIN_PORT: "18545", YUTRACE_DATA_DIR: "var/yt" },
      "/srv/yutrace",
    );
    expect(config).to.deep.equal({
      rpcUrl: "http://10.0.0.5:8545",
      chainPort: 18545,
      dataDir: path.resolve("/srv/yutrace", "var/yt"),
    });
  });

  it("treats an empty variable as unset", function () {
    expect(loadConfig({ YUTRACE_RPC_URL: "", YUTRACE_CHAIN_PORT: "" }, "/x").rpcUrl).to.equal(null);
  });

  it("lists every bad value in one error", function () {
    let error: unknown;
    try {
      loadConfig({ YUTRACE_RPC_URL: "ftp://chain", YUTRACE_CHAIN_PORT: "99999" });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).to.have.length(2);
    expect(problems[0]).to.match(/^YUTRACE_RPC_URL="ftp:\/\/chain": must be an http\(s\) or ws\(s\) URL/);
    expect(problems[1]).to.match(/^YUTRACE_CHAIN_PORT="99999": /);
    expect((error as Error).message).to.contain("invalid configuration:\n  - YUTRACE_RPC_URL");
  });
});
