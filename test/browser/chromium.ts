/**
 * One headless Chromium per test file: Debian's (apt), driven by playwright-core. `npx playwright install` cannot
 * download browsers on these machines, so a missing /usr/bin/chromium fails the test with the way to install it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Browser, chromium, Locator } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where screenshots go (gitignored). */
export const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');

// Without these, Chromium keeps opening connections (updates, sync, QUIC) that a closed network refuses.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: run 'bash scripts/ensure-browser.sh' (as root it runs apt-get install -y chromium), `
      + 'then run the tests again');
  }
  // playwright-core gives every launch a fresh temporary profile (--user-data-dir) and removes it on close.
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
}

export function artifactPath(name: string): string {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

/** Retries a jest assertion until it passes or `timeout` ms have gone (pages update asynchronously). */
export async function eventually(assertion: () => Promise<void> | void, timeout = 5000): Promise<void> {
  const end = Date.now() + timeout;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
  }
}

/** The text of one element (or of each, given an array), trimmed, once it equals `expected`. */
export async function expectText(locator: Locator, expected: string | string[] | RegExp): Promise<void> {
  await eventually(async () => {
    if (Array.isArray(expected)) expect((await locator.allTextContents()).map((t) => t.trim())).toEqual(expected);
    else if (expected instanceof RegExp) expect((await locator.textContent())?.trim()).toMatch(expected);
    else expect((await locator.textContent())?.trim()).toBe(expected);
  });
}

export async function expectChecked(locator: Locator, checked = true): Promise<void> {
  await eventually(async () => expect(await locator.isChecked()).toBe(checked));
}

export async function expectFocused(locator: Locator): Promise<void> {
  await eventually(async () => expect(await locator.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true));
}
