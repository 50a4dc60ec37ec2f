/**
 * Submission headers as the events page and evidence bundles read them: each with its Merkle tree,
 * parsed once and kept while the stored text is the same. A header carries its submission's event
 * ids (~34 KB of JSON for 500 events) and a page of 50 events spans ~20 submissions, so parsing
 * the headers and hashing their id lists to find the trees was half of the page's time (profiled
 * on a store of 1,000,000 events). A header is now read as text and compared with the text it was
 * parsed from: equal text is the same header, whatever was written meanwhile, so nothing kept can
 * go stale. A header found equal is not read again until the journal may have changed (the store's
 * `journalGeneration` moved): reading the ~20 headers of a page (~700 KB of text) only to compare
 * them was a third of what a page allocated, and a fifth of its reads' CPU.
 */
import { submissionTree, type MerkleTree } from "../domain/merkle";
import { keys } from "../store/keys";
import type { SubmissionHeader } from "../store/records";
import type { Store } from "../store/store";

export interface ReadHeader {
  header: SubmissionHeader;
  /** The submission's tree over its event ids: `tree.proof(index)` is the event's proof to `header.root`. */
  tree: MerkleTree;
}

/**
 * Headers kept: ~110 KB each for 500 events (the text, the parsed ids and a 32 KB tree), ~7 MB in
 * all; about three pages of 50 events.
 */
export const KEPT_HEADERS = 64;

export class SubmissionHeaders {
  /**
   * By submission number, least recently used first; `checked` is the journal generation at which
   * the stored text was last found equal to `text`.
   */
  private readonly kept = new Map<number, ReadHeader & { text: string; checked: number }>();

  constructor(
    private readonly store: Store,
    private readonly limit = KEPT_HEADERS,
  ) {}

  /** The headers of submissions `seqs` (undefined for one the store does not have), in that order. */
  async getMany(seqs: readonly number[]): Promise<(ReadHeader | undefined)[]> {
    // Taken before reading: a write that lands during the read moves it, and the next call reads.
    const generation = this.store.journalGeneration;
    const found: (ReadHeader | undefined)[] = seqs.map((seq) => {
      const entry = this.kept.get(seq);
      if (entry?.checked !== generation) return undefined;
      this.kept.delete(seq);
      this.kept.set(seq, entry);
      return entry;
    });
    const unread = seqs.filter((_, i) => !found[i]);
    if (unread.length === 0) return found;
    const texts = (await this.store.journal.getMany(
      unread.map((seq) => keys.submission(seq)),
      { valueEncoding: "utf8" },
    )) as (string | undefined)[];
    let next = 0;
    return found.map((entry, i) => {
      if (entry) return entry;
      const text = texts[next++];
      return text === undefined ? undefined : this.parsed(seqs[i]!, text, generation);
    });
  }

  private parsed(seq: number, text: string, generation: number): ReadHeader {
    let entry = this.kept.get(seq);
    if (entry) this.kept.delete(seq);
    if (entry?.text !== text) {
      let header: SubmissionHeader & { events?: unknown[] };
      try {
        header = JSON.parse(text) as SubmissionHeader;
      } catch (error) {
        throw new Error(`submission ${seq}'s header in the journal is not JSON: ${(error as Error).message}`);
      }
      entry = { text, header, tree: submissionTree(header.eventIds), checked: generation };
      // Journals of an older layout kept the events in the header (up to a few MB): used, not kept.
      if (header.events) return entry;
    }
    entry.checked = generation;
    this.kept.set(seq, entry);
    if (this.kept.size > this.limit) this.kept.delete(this.kept.keys().next().value!);
    return entry;
  }

  /** How many headers are kept (tests). */
  get size(): number {
    return this.kept.size;
  }
}
