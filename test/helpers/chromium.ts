import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';

/** Debian's chromium (.ci/run installs it), headless, with nothing that reaches out to the network on its own. */
const CHROMIUM = process.env.HFU_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  /** A fresh context (its own cookies: another person at another computer), limited to 127.0.0.1 and files. */
  context(options?: { javaScriptEnabled?: boolean }): Promise<BrowserContext>;
  close(): Promise<void>;
}

/**
 * Chromium with a fresh user-data dir (playwright makes one per launch and deletes it on close; it refuses a
 * --user-data-dir of ours outside launchPersistentContext, which allows one context only). Pages may load only from
 * 127.0.0.1 (the service and the test issuer) or a file (a report written by the test): anything else (the issuer's web font) is refused, not waited for.
 */
export async function launchChromium(): Promise<TestBrowser> {
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  return {
    async context(options = {}) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
      await context.route(
        (url) => url.protocol !== 'file:' && url.hostname !== '127.0.0.1',
        (route) => route.abort()
      );
      return context;
    },
    async close() {
      await browser.close();
    },
  };
}

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's WCAG 2.2 A and AA rules (and its best practices) on the page as it stands: the violations found. */
export async function axeViolations(
  page: Page
): Promise<{ id: string; impact: string; help: string; targets: string[] }[]> {
  // Injected through the DevTools protocol, not a <script> tag the page's CSP would refuse.
  await page.evaluate(AXE);
  const tags = JSON.stringify(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']);
  const violations: unknown = await page.evaluate(
    `axe.run(document, { runOnly: { type: 'tag', values: ${tags} } }).then((r) => r.violations)`
  );
  return (violations as AxeViolation[]).map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map((n) => n.target.join(' ')),
  }));
}

const SCREENSHOTS = path.join(__dirname, '..', '..', 'docs', 'screenshots');

/** With HFU_SCREENSHOTS=1, the whole page saved as docs/screenshots/<name>.png (for the README). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.HFU_SCREENSHOTS !== '1') {
    return;
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** axe-core finds nothing on the page (the failure names the page's path). */
export async function expectAccessible(page: Page): Promise<void> {
  const path = new URL(page.url()).pathname;
  expect({ path, violations: await axeViolations(page) }).toEqual({ path, violations: [] });
}
