/**
 * `npm run gas`: gas used by the ledger's everyday writes, measured on the in-process Hardhat
 * network. The README's gas table comes from this script.
 */
import hre from "hardhat";
import { id, type ContractTransactionResponse } from "ethers";

import { deployTraceLedger } from "../server/chain/deploy";
import { ledgerDomain, signAuthorization } from "../server/chain/typed-data";
import { gtin14, orgIdOf, uscc } from "../server/domain/identifiers";

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  return receipt!.gasUsed;
}

async function main(): Promise<void> {
  const [admin, producer, regulator, relayer] = await hre.ethers.getSigners();
  const { ledger } = await deployTraceLedger(admin!, { network: hre.network.name, anchorer: admin!.address });
  const domain = ledgerDomain((await hre.ethers.provider.getNetwork()).chainId, await ledger.getAddress());
  await ledger.registerOrganisation(orgIdOf(uscc("91500113203151718")), producer!.address, [id("PRODUCER_ROLE")]);
  await ledger.registerOrganisation(orgIdOf(uscc("11500000MB1653215")), regulator!.address, [id("REGULATOR_ROLE")]);
  const asProducer = ledger.connect(producer!);
  const chili = BigInt(gtin14("0690388502002"));
  const hotpot = BigInt(gtin14("0690388501001"));
  const rows: [string, bigint][] = [];

  rows.push(["registerProduct", await gasOf(asProducer.registerProduct(chili, id("chili")))]);
  await asProducer.registerProduct(hotpot, id("hotpot"));
  rows.push(["registerBatch (no inputs)", await gasOf(asProducer.registerBatch(chili, "JJ2026-11-A", id("a"), []))]);
  await asProducer.registerBatch(chili, "JJ2026-11-B", id("b"), []);
  const inputs = [await ledger.batchIdOf(chili, "JJ2026-11-A"), await ledger.batchIdOf(chili, "JJ2026-11-B")];
  rows.push([
    "registerBatch (2 inputs)",
    await gasOf(asProducer.registerBatch(hotpot, "DZ20261120-01", id("c"), inputs)),
  ]);

  const deadline = BigInt((await hre.ethers.provider.getBlock("latest"))!.timestamp) + 3600n;
  const message = { gtin: hotpot, lot: "DZ20261120-02", metadataHash: id("d"), parents: inputs };
  const auth = await signAuthorization(producer!, domain, "RegisterBatch", message, {
    signer: producer!.address,
    nonce: await ledger.nonces(producer!.address),
    deadline,
  });
  rows.push([
    "registerBatchBySig (2 inputs, relayed)",
    await gasOf(ledger.connect(relayer!).registerBatchBySig(hotpot, message.lot, message.metadataHash, inputs, auth)),
  ]);
  const hotpotBatch = await ledger.batchIdOf(hotpot, "DZ20261120-01");
  rows.push(["commitSerials", await gasOf(asProducer.commitSerials(hotpotBatch, id("serials"), 10_000))]);
  rows.push(["anchor (first)", await gasOf(ledger.anchor(id("root-1"), 40, 20_000))]);
  rows.push(["anchor (each later one)", await gasOf(ledger.anchor(id("root-2"), 40, 20_000))]);
  rows.push(["recall (regulator)", await gasOf(ledger.connect(regulator!).recall(inputs[0]!, id("reason")))]);
  const recallAuth = await signAuthorization(
    regulator!,
    domain,
    "Recall",
    { batchId: inputs[1], reasonHash: id("reason") },
    { signer: regulator!.address, nonce: await ledger.nonces(regulator!.address), deadline },
  );
  rows.push([
    "recallBySig (relayed)",
    await gasOf(ledger.connect(relayer!).recallBySig(inputs[1]!, id("reason"), recallAuth)),
  ]);

  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(`${"operation".padEnd(width)}  gas used`);
  for (const [name, gas] of rows) console.log(`${name.padEnd(width)}  ${gas.toString().padStart(8)}`);
  const anchorGas = rows.find(([name]) => name === "anchor (each later one)")![1];
  console.log(`\nanchor gas per event for one 20,000-event anchor: ${(Number(anchorGas) / 20_000).toFixed(2)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
