import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's chromium: CI installs it with apt (.ci/run); nothing here downloads a browser. */
export const CHROMIUM = process.env.TUNNELMUX_CHROMIUM ?? '/usr/bin/chromium';

/** A headless chromium; `evil.test` resolves to 127.0.0.1, to play a rebound DNS name. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `[tunnelmux] the browser tests need chromium at ${CHROMIUM}: apt-get install chromium ` +
        '(or set TUNNELMUX_CHROMIUM to its path)',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    // CI runs as root, where chromium's sandbox cannot start; a container's small /dev/shm must not crash it;
    // every page is on this machine, so a proxy from the environment must not see evil.test.
    args: [
      '--no-sandbox',
      '--disable-dev-shm-usage',
      '--no-proxy-server',
      '--host-resolver-rules=MAP evil.test 127.0.0.1',
    ],
    timeout: 30_000,
  });
}
