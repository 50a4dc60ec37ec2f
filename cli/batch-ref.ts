/** Batches as the CLI names and looks them up: by id, by GTIN and lot, or by their Digital Link. */
import { batchIdOf } from "../server/domain/batch-id";
import { parseDigitalLink, type BatchKey } from "../server/domain/digital-link";
import type { GatewayClient } from "./client";
import { explain, GatewayError } from "./client";
import { CliError, EXIT_FAILED, EXIT_USAGE } from "./errors";

/** A batch as the gateway answers it. */
export interface BatchView {
  batchId: string;
  gtin: string;
  lot: string;
  producer: string;
  status: string;
  metadataHash: string;
  metadata: {
    productionDate?: string;
    expiryDate?: string;
    quantity?: { value: number; unit: string };
    facility?: string;
    district?: string;
  } | null;
  parents: string[];
  registeredAt: string;
  txHash: string;
  block: number;
  digitalLink: string;
}

/** "06938850100030/HG20261120", the way files and commands write a batch. */
export const batchText = (key: BatchKey): string => `${key.gtin}/${key.lot}`;

/** Parses "GTIN/lot" (also with a full-width slash and spaces around it); null if it is not one. */
export function parseBatchText(text: string): BatchKey | null {
  const m = /^(\d{14})\s*[/／]\s*(.+)$/.exec(text.trim());
  return m ? { gtin: m[1]!, lot: m[2]! } : null;
}

/** The batch id a command-line reference names: 0x… id, GTIN/lot, or a Digital Link. */
export function batchIdOfRef(ref: string): string {
  if (/^0x[0-9a-fA-F]{64}$/.test(ref)) return ref.toLowerCase();
  let key = parseBatchText(ref);
  if (!key && /^https?:\/\//.test(ref)) key = parseDigitalLink(ref);
  if (!key)
    throw new CliError(`"${ref}" names no batch: give 0x… (batch id), GTIN/lot, or its Digital Link`, EXIT_USAGE);
  return batchIdOf(key.gtin, key.lot);
}

/** The batch `ref` names; a clear error when there is none. */
export async function resolveBatch(client: GatewayClient, ref: string): Promise<BatchView> {
  const batchId = batchIdOfRef(ref);
  const found = await getBatch(client, batchId);
  if (!found) throw new CliError(`no batch ${ref}`, EXIT_FAILED);
  return found;
}

/** The registered batch `key`, or null. */
export function findBatch(client: GatewayClient, key: BatchKey): Promise<BatchView | null> {
  return getBatch(client, batchIdOf(key.gtin, key.lot));
}

async function getBatch(client: GatewayClient, batchId: string): Promise<BatchView | null> {
  try {
    return (await client.get<{ batch: BatchView }>(`/api/v1/batches/${batchId}`)).body.batch;
  } catch (error) {
    if (error instanceof GatewayError && error.code === "unknown_batch") return null;
    throw explain(error);
  }
}
