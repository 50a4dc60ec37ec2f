/**
 * What a command works with: the settings, a gateway client with the API key, and — fetched once,
 * when first needed — who the key belongs to, the ledger's EIP-712 domain and the signing key.
 */
import type { TypedDataDomain, Wallet } from "ethers";

import type { OrgRecord } from "../server/store/records";
import { GatewayClient } from "./client";
import { configDir, effective, keyFilePath, readConfig, type CliConfig } from "./config";
import { CliError, EXIT_USAGE } from "./errors";
import { domainOf, loadWallet, signRequest } from "./signing";

export interface Me {
  admin: boolean;
  organisation: Pick<
    OrgRecord,
    "orgId" | "name" | "uscc" | "district" | "roles" | "account" | "custody" | "suspended"
  > | null;
  submissionNonce?: number;
  ledgerNonce?: number | null;
}

export class Session {
  private me_: Promise<Me> | null = null;
  private domain_: Promise<TypedDataDomain> | null = null;
  private wallet_: Promise<Wallet> | null = null;

  private constructor(
    readonly configFile: string,
    readonly config: CliConfig,
    readonly client: GatewayClient,
  ) {}

  static async open(configFile: string, overrides: { gateway?: string; apiKey?: string } = {}): Promise<Session> {
    const config = { ...effective(await readConfig(configFile)), ...definedOnly(overrides) };
    if (!config.gateway) {
      throw new CliError("no gateway: run yutrace login --gateway <url> first (or set YUTRACE_GATEWAY)", EXIT_USAGE);
    }
    return new Session(configFile, config, new GatewayClient(config.gateway, config.apiKey));
  }

  /** The folder the CLI keeps its files in. */
  get dir(): string {
    return configDir(this.configFile);
  }

  get keyFile(): string {
    return keyFilePath(this.configFile, this.config);
  }

  me(): Promise<Me> {
    this.me_ ??= this.client.get<Me>("/api/v1/me").then((answer) => answer.body);
    return this.me_;
  }

  /** Fetches /me again (nonces move). */
  async freshMe(): Promise<Me> {
    this.me_ = null;
    return this.me();
  }

  /** The calling organisation; refuses the admin key. */
  async organisation(): Promise<NonNullable<Me["organisation"]>> {
    const me = await this.me();
    if (!me.organisation)
      throw new CliError("this is the platform admin key; log in with your organisation's key", EXIT_USAGE);
    return me.organisation;
  }

  domain(): Promise<TypedDataDomain> {
    this.domain_ ??= this.client
      .get<{ chainId: string; address: string }>("/api/v1/ledger")
      .then((answer) => domainOf(answer.body));
    return this.domain_;
  }

  wallet(): Promise<Wallet> {
    this.wallet_ ??= loadWallet(this.keyFile);
    return this.wallet_;
  }

  /**
   * A self-custody `authorization` of ledger request `type` (`message` its own fields), signed with
   * the ledger's next nonce of the organisation's account.
   */
  async authorize(
    wallet: Wallet,
    type: "RegisterProduct" | "RegisterBatch",
    message: Record<string, unknown>,
  ): Promise<{ nonce: number; deadline: number; signature: string }> {
    const { ledgerNonce } = await this.freshMe();
    if (typeof ledgerNonce !== "number") {
      throw new CliError("the gateway cannot read your ledger nonce now (is its chain away?); try again shortly");
    }
    return signRequest(wallet, await this.domain(), type, message, ledgerNonce);
  }

  /**
   * Whether to sign locally: asked for, or the organisation keeps its own key (custody "self"). The
   * key must be the organisation's registered account.
   */
  async signing(asked: boolean): Promise<Wallet | null> {
    const org = await this.organisation();
    if (!asked && org.custody !== "self") return null;
    if (org.custody !== "self") {
      throw new CliError(
        "--sign-locally: the gateway keeps this organisation's key (custodial); its account is " +
          `${org.account}. Ask the platform operator to register your own key's address instead.`,
        EXIT_USAGE,
      );
    }
    const wallet = await this.wallet();
    if (wallet.address.toLowerCase() !== org.account.toLowerCase()) {
      throw new CliError(
        `the key in ${this.keyFile} is ${wallet.address}, but ${org.name} signs as ${org.account}`,
        EXIT_USAGE,
      );
    }
    return wallet;
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
