/**
 * Debian's chromium for the browser tests (DEVELOPERS.md): where it is, the flags it needs here,
 * and where screenshots go. Tests skip themselves, saying so, where chromium is missing — `.ci/run`
 * looks for that message and fails.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
export const SCREENSHOTS = path.join(__dirname, "..", "..", "test-artifacts", "screenshots");

/** Whether chromium is installed; prints the message `.ci/run` looks for when it is not. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  console.log(`    chromium is missing (${CHROMIUM}): skipping the browser tests; apt-get install chromium`);
  return false;
}

/** Launches headless chromium, with the screenshot folder ready. */
export async function launchChromium(): Promise<Browser> {
  await mkdir(SCREENSHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
