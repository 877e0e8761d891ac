// What each dashboard suite sets up and takes down around a test: cleanups run after it, the
// last registered first (a browser closes before the server its pages load from, a held read
// place is freed before that), a live server and Chromium, each closed there.

import { afterEach } from 'bun:test';
import type { TenantResolver } from '../../src/core/index.ts';
import { type LaunchedBrowser, launchChromium } from '../helpers/chromium.ts';
import { type LiveServer, type LiveServerOptions, startLiveServer } from '../live/support.ts';

export type Cleanup = () => Promise<void> | void;

/** The cleanups of the calling file's tests, run after each one, newest first. */
export function cleanupsAfterEach(): Cleanup[] {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}

/** A live server (open tenancy unless `tenancy`), closed after the test. */
export async function serveFor(
  cleanups: Cleanup[],
  tenancy?: TenantResolver,
  options: LiveServerOptions = {},
): Promise<LiveServer> {
  const server = await startLiveServer(
    tenancy === undefined ? options : { ...options, tenancy: () => tenancy },
  );
  cleanups.push(() => server.close());
  return server;
}

/** Chromium, closed after the test. */
export async function chromiumFor(cleanups: Cleanup[]): Promise<LaunchedBrowser> {
  const browser = await launchChromium();
  cleanups.push(() => browser.close());
  return browser;
}
