// Launches Debian's Chromium (never a downloaded browser) for the browser suites, with the
// flags this closed network needs, in a fresh profile. Missing Chromium fails the suite with
// a clear message rather than skipping it.

import { existsSync } from 'node:fs';
import { type BrowserContext, chromium } from 'playwright-core';
import { makeTempDir } from './temp-dir.ts';

export const CHROMIUM = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export interface LaunchedBrowser {
  context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

export async function launchChromium(
  viewport: { width: number; height: number } = { width: 1280, height: 1000 },
): Promise<LaunchedBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}; the browser suite needs Debian's chromium ` +
        'package (apt-get install chromium). It fails rather than skips.',
    );
  }
  const profile = makeTempDir('tally-chromium-');
  const context = await chromium.launchPersistentContext(profile.dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  return {
    context,
    async close() {
      await context.close();
      profile.remove();
    },
  };
}
