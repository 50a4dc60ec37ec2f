import path from "node:path";
import { expect } from "chai";

import { ConfigError, loadConfig } from "../server/config";

const KEK = "11".repeat(4) + "2a7c93e1f0b6d4c85e2f1a9b3c7d6e0f4a8b2c1d5e9f3a7b6c0d4e8f2a1b5c";
const PRODUCTION = {
  YUTRACE_RPC_URL: "http://10.0.0.5:8545",
  YUTRACE_KEY_ENCRYPTION_KEY: KEK.slice(0, 64),
  YUTRACE_ADMIN_KEY: "0x" + "ab".repeat(32),
  YUTRACE_RELAYER_KEY: "0x" + "cd".repeat(32),
  YUTRACE_ADMIN_API_KEY: "ytk_" + "A".repeat(43),
};

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env, "/srv/yutrace");
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("configuration", function () {
  it("defaults to demo mode: a local chain on 8545, ./data, the gateway on 127.0.0.1:8080", function () {
    const config = loadConfig({}, "/srv/yutrace");
    expect(config).to.deep.include({
      rpcUrl: null,
      chainPort: 8545,
      dataDir: path.resolve("/srv/yutrace", "data"),
      port: 8080,
      host: "127.0.0.1",
      publicUrl: "http://localhost:8080",
      anchorIntervalMs: 1000,
      demo: true,
      keyEncryptionKey: null,
      adminApiKey: null,
    });
  });

  it("reads a production configuration against an existing chain", function () {
    const config = loadConfig(
      {
        ...PRODUCTION,
        YUTRACE_PORT: "9090",
        YUTRACE_PUBLIC_URL: "https://trace.example.cn",
        YUTRACE_DATA_DIR: "var/yt",
      },
      "/srv/yutrace",
    );
    expect(config.demo).to.equal(false);
    expect(config.rpcUrl).to.equal("http://10.0.0.5:8545");
    expect(config.port).to.equal(9090);
    expect(config.publicUrl).to.equal("https://trace.example.cn");
    expect(config.dataDir).to.equal(path.resolve("/srv/yutrace", "var/yt"));
    expect(config.keyEncryptionKey).to.have.length(32);
  });

  it("treats an empty variable as unset", function () {
    expect(loadConfig({ YUTRACE_RPC_URL: "", YUTRACE_CHAIN_PORT: "" }, "/x").rpcUrl).to.equal(null);
  });

  it("lists every bad value in one error, without echoing secrets", function () {
    const problems = problemsOf({
      YUTRACE_RPC_URL: "ftp://chain",
      YUTRACE_CHAIN_PORT: "99999",
      YUTRACE_ADMIN_KEY: "0x12",
    });
    expect(problems).to.have.length(3);
    expect(problems[0]).to.match(/^YUTRACE_RPC_URL="ftp:\/\/chain": must be an http\(s\) or ws\(s\) URL/);
    expect(problems[1]).to.match(/^YUTRACE_CHAIN_PORT="99999": /);
    expect(problems[2]).to.match(/^YUTRACE_ADMIN_KEY=\(secret\): /);
    expect(problems.join("\n")).to.not.contain("0x12");
  });

  it("refuses to run outside demo mode without its secrets, naming each", function () {
    const problems = problemsOf({ YUTRACE_RPC_URL: "http://10.0.0.5:8545" });
    expect(problems).to.deep.equal([
      "YUTRACE_KEY_ENCRYPTION_KEY is required outside demo mode (32 bytes, hex or base64)",
      "YUTRACE_ADMIN_KEY is required outside demo mode",
      "YUTRACE_RELAYER_KEY is required outside demo mode",
      "YUTRACE_ADMIN_API_KEY is required outside demo mode",
    ]);
  });

  it("refuses a weak key-encryption key", function () {
    const problems = problemsOf({ ...PRODUCTION, YUTRACE_KEY_ENCRYPTION_KEY: "00".repeat(32) });
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/^YUTRACE_KEY_ENCRYPTION_KEY=\(secret\): /);
  });
});
