/**
 * A real LevelDB store in a new temporary folder for each test of the calling `describe`: opened
 * before each test (the folder's `store/`), closed and removed after it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { Store, type Sublevel } from "../../server/store/store";

/** Registers the hooks; `use` receives each test's store and the temporary folder it is in. */
export function storePerTest(name: string, use: (store: Store, dir: string) => void): void {
  let dir: string | undefined;
  let store: Store | undefined;
  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), `yutrace-${name}-`));
    store = await Store.open(path.join(dir, "store"));
    use(store, dir);
  });
  afterEach(async function () {
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    store = undefined;
    dir = undefined;
  });
}

/**
 * Records the keys each `getMany` of `sublevel` is asked for (one array a call) until `restore()`,
 * which puts back the sublevel's own `getMany`.
 */
export function recordGetMany(sublevel: Sublevel): { reads: string[][]; restore(): void } {
  const reads: string[][] = [];
  const getMany = sublevel.getMany.bind(sublevel);
  sublevel.getMany = ((keys: string[], ...rest: unknown[]) => {
    reads.push(keys);
    return (getMany as (...args: unknown[]) => unknown)(keys, ...rest);
  }) as typeof sublevel.getMany;
  return { reads, restore: () => delete (sublevel as { getMany?: unknown }).getMany };
}
