// What every browser test shares: Debian's Chromium launched for a container, a record of
// console errors and CSP violations, and screenshots kept as test artifacts.
//
// CHROMIUM: the browser (default /usr/bin/chromium).
// ARTIFACTS_DIR: where screenshots go (default target/artifacts/ of the repository).

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ARTIFACTS = path.resolve(process.env.ARTIFACTS_DIR || path.join(ROOT, 'target', 'artifacts'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// Debian's Chromium in a container: no sandbox (no user namespaces), no GPU, and nothing
// that reaches for the network on its own.
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Saves a full-page screenshot as `<name>.png` among the artifacts. */
export async function shot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * A fresh browser profile. `consoleErrors` collects Content-Security-Policy violations (on
 * the console) and script errors; failed loads are left out, because statuses a test
 * causes on purpose (a 422, the browser's own /favicon.ico 404) are reported as those.
 */
export async function launch(options = {}) {
  const profile = mkdtempSync(path.join(tmpdir(), 'vulndesk-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1024, height: 900 },
    ...options,
  });
  const consoleErrors = [];
  context.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      consoleErrors.push(m.text());
    }
  });
  context.on('weberror', (e) => consoleErrors.push(String(e.error())));
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, consoleErrors, close };
}
