/**
 * One headless Chromium per test file: Debian's (apt), driven by playwright-core. `npx playwright install` cannot
 * download browsers on these machines, so a missing /usr/bin/chromium fails the test with the way to install it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Browser, chromium } from 'playwright-core';

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
