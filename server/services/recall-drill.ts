/**
 * The recall drill (模拟召回): traces everything made from a batch, transitively, exactly as a
 * recall would reach it, and reports what would be affected — batches, who holds them now and how
 * much — with how long the trace took. Nothing is recalled and nothing is written.
 */
import type { BatchStatusName } from "../store/records";
import type { LineageBatch, OrgSummary, Queries } from "./queries";

export interface DrillReport {
  batchId: string;
  gtin: string;
  lot: string;
  startedAt: string;
  tookMs: number;
  affected: {
    /** The batch itself and every batch made from it. */
    batches: number;
    /** Organisations holding an affected batch now. */
    organisations: number;
    byStatus: Record<BatchStatusName, number>;
    /** Registered quantities of the affected batches, summed by unit. */
    quantities: { unit: string; value: number }[];
  };
  /** The affected batches: the batch itself at depth 0, then its descendants breadth-first. */
  batches: LineageBatch[];
  holders: (OrgSummary & { batches: string[] })[];
  edges: [string, string][];
  truncated: boolean;
}

export async function recallDrill(queries: Queries, batchId: string): Promise<DrillReport> {
  const startedAt = new Date();
  const started = performance.now();
  const batch = await queries.batch(batchId);
  const down = await queries.lineage(batchId, "down");
  const batches: LineageBatch[] = [{ ...batch, depth: 0, ...(await queries.holding(batch)) }, ...down.batches];

  const byStatus: Record<BatchStatusName, number> = { active: 0, held: 0, recalled: 0 };
  const quantities = new Map<string, number>();
  const holders = new Map<string, OrgSummary & { batches: string[] }>();
  for (const each of batches) {
    byStatus[each.status]++;
    if (each.quantity)
      quantities.set(each.quantity.unit, (quantities.get(each.quantity.unit) ?? 0) + each.quantity.value);
    const holder = each.holder ?? { orgId: each.custodian, name: each.custodian, district: "" };
    const entry = holders.get(holder.orgId) ?? { ...holder, batches: [] };
    entry.batches.push(each.batchId);
    holders.set(holder.orgId, entry);
  }
  return {
    batchId,
    gtin: batch.gtin,
    lot: batch.lot,
    startedAt: startedAt.toISOString(),
    tookMs: Math.round((performance.now() - started) * 10) / 10,
    affected: {
      batches: batches.length,
      organisations: holders.size,
      byStatus,
      quantities: [...quantities].map(([unit, value]) => ({ unit, value })),
    },
    batches,
    holders: [...holders.values()],
    edges: down.edges,
    truncated: down.truncated,
  };
}
