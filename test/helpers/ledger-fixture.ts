/**
 * A deployed TraceLedger with one organisation per role, shared by the contract tests through
 * `loadFixture`. Organisations use real-looking 统一社会信用代码 (check character valid) and
 * products real-looking GTIN-14s.
 */
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { id } from "ethers";

import type { TraceLedger } from "../../typechain-types";
import { gtin14, orgIdOf, uscc } from "../../server/domain/identifiers";
import { ledgerDomain } from "../../server/chain/typed-data";

export const ROLE_NAMES = ["REGULATOR", "PRODUCER", "INSPECTOR", "LOGISTICS", "RETAILER"] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

export const ROLES = {
  ADMIN: ethers.ZeroHash,
  REGULATOR: id("REGULATOR_ROLE"),
  PRODUCER: id("PRODUCER_ROLE"),
  INSPECTOR: id("INSPECTOR_ROLE"),
  LOGISTICS: id("LOGISTICS_ROLE"),
  RETAILER: id("RETAILER_ROLE"),
  ANCHORER: id("ANCHORER_ROLE"),
} as const;

export const BatchStatus = { None: 0n, Active: 1n, Held: 2n, Recalled: 3n } as const;

/** Demo organisations, one per participant role (plus a second producer). */
export const ORGS = {
  regulator: { name: "重庆市市场监督管理局", uscc: uscc("11500000MB1653215") },
  producer: { name: "重庆德庄农产品开发有限公司", uscc: uscc("91500113203151718") },
  otherProducer: { name: "重庆市江津区粮油有限公司", uscc: uscc("91500116MA5U4X1Q8") },
  inspector: { name: "重庆市食品药品检验检测研究院", uscc: uscc("12500000450418832") },
  logistics: { name: "重庆冷链物流有限公司", uscc: uscc("91500112MA60T2Y73") },
  retailer: { name: "重庆永辉超市有限公司", uscc: uscc("91500000709400742") },
} as const;

/** 重庆火锅底料 (hotpot base), 江津 chili, 荣昌 ceramics: GTIN-14s with valid check digits. */
export const GTINS = {
  hotpotBase: BigInt(gtin14("0690388501001")),
  chili: BigInt(gtin14("0690388502002")),
  tallow: BigInt(gtin14("0690388503003")),
  rapeseedOil: BigInt(gtin14("0692217800104")),
} as const;

export const ONE_HOUR = 3600n;

export async function deployLedgerFixture() {
  const signers = await ethers.getSigners();
  const [admin, anchorer, regulator, producer, otherProducer, inspector, logistics, retailer, outsider, relayer] =
    signers as [
      HardhatEthersSigner,
      HardhatEthersSigner,
      HardhatEthersSigner,
      HardhatEthersSigner,
      HardhatEthersSigner,
      HardhatEthersSigner,
      HardhatEthersSigner,
      HardhatEthersSigner,
      HardhatEthersSigner,
      HardhatEthersSigner,
    ];
  const ledger = (await ethers.deployContract("TraceLedger", [admin.address])) as unknown as TraceLedger;
  await ledger.waitForDeployment();
  await ledger.connect(admin).grantRole(ROLES.ANCHORER, anchorer.address);

  const orgIds = {
    regulator: orgIdOf(ORGS.regulator.uscc),
    producer: orgIdOf(ORGS.producer.uscc),
    otherProducer: orgIdOf(ORGS.otherProducer.uscc),
    inspector: orgIdOf(ORGS.inspector.uscc),
    logistics: orgIdOf(ORGS.logistics.uscc),
    retailer: orgIdOf(ORGS.retailer.uscc),
  };
  await ledger.registerOrganisation(orgIds.regulator, regulator.address, [ROLES.REGULATOR]);
  await ledger.registerOrganisation(orgIds.producer, producer.address, [ROLES.PRODUCER]);
  await ledger.registerOrganisation(orgIds.otherProducer, otherProducer.address, [ROLES.PRODUCER]);
  await ledger.registerOrganisation(orgIds.inspector, inspector.address, [ROLES.INSPECTOR]);
  await ledger.registerOrganisation(orgIds.logistics, logistics.address, [ROLES.LOGISTICS]);
  await ledger.registerOrganisation(orgIds.retailer, retailer.address, [ROLES.RETAILER]);

  const { chainId } = await ethers.provider.getNetwork();
  const domain = ledgerDomain(chainId, await ledger.getAddress());
  return {
    ledger,
    domain,
    chainId,
    orgIds,
    accounts: {
      admin,
      anchorer,
      regulator,
      producer,
      otherProducer,
      inspector,
      logistics,
      retailer,
      outsider,
      relayer,
    },
  };
}

/** The fixture plus products and a chili → hotpot-base lineage registered by `producer`. */
export async function deployWithBatchesFixture() {
  const base = await deployLedgerFixture();
  const { ledger, accounts } = base;
  const asProducer = ledger.connect(accounts.producer);
  await asProducer.registerProduct(GTINS.chili, id("product:chili"));
  await asProducer.registerProduct(GTINS.tallow, id("product:tallow"));
  await asProducer.registerProduct(GTINS.hotpotBase, id("product:hotpot-base"));
  await ledger.connect(accounts.otherProducer).registerProduct(GTINS.rapeseedOil, id("product:rapeseed-oil"));
  const chiliLot = "JJ2026-11-A";
  const tallowLot = "TL20261101";
  const hotpotLot = "DZ20261120-01";
  const chiliId = batchIdOf(GTINS.chili, chiliLot);
  const tallowId = batchIdOf(GTINS.tallow, tallowLot);
  await asProducer.registerBatch(GTINS.chili, chiliLot, id("batch:chili"), []);
  await asProducer.registerBatch(GTINS.tallow, tallowLot, id("batch:tallow"), []);
  await asProducer.registerBatch(GTINS.hotpotBase, hotpotLot, id("batch:hotpot"), [chiliId, tallowId]);
  const hotpotId = batchIdOf(GTINS.hotpotBase, hotpotLot);
  return { ...base, lots: { chiliLot, tallowLot, hotpotLot }, batchIds: { chiliId, tallowId, hotpotId } };
}

/** `keccak256(abi.encode(gtin, lot))`, computed off-chain the way the gateway does. */
export function batchIdOf(gtin: bigint, lot: string): string {
  return ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["uint64", "string"], [gtin, lot]));
}

/** A deadline `seconds` after the latest block. */
export async function deadlineIn(seconds: bigint = ONE_HOUR): Promise<bigint> {
  const block = await ethers.provider.getBlock("latest");
  return BigInt(block!.timestamp) + seconds;
}
