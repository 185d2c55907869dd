import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Report } from '../../src/report';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';
import { synthesizePractice } from '../../src/synth';
import type { Page } from 'playwright-core';
import type { TestBrowser } from '../helpers/chromium';
import { axeViolations, launchChromium } from '../helpers/chromium';
import { runCli } from './helpers/cli';
import { AS_OF } from './helpers/server';

/** The HTML report opened in a real browser (headless chromium) and checked with axe-core. */
let server: RunningFhirServer;
let browser: TestBrowser;
let page: Page;
let file: string;
let report: Report;

beforeAll(async () => {
  const { resources } = synthesizePractice({ patients: 400, seed: 2, asOf: AS_OF });
  server = await startFhirServer({ resources });
  file = path.join(mkdtempSync(path.join(tmpdir(), 'hfu-report-a11y-')), 'report.html');
  const env = { HFU_FHIR__BASE_URL: server.baseUrl, HFU_LOG__LEVEL: 'warn', HFU_REPORT__TOP_N: '20' };
  const result = await runCli(['report', '--now', AS_OF, '--json', '--out', file], env);
  expect(result.code).toBe(0);
  report = JSON.parse(result.stdout) as Report;
  browser = await launchChromium();
  page = await (await browser.context()).newPage();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('the HTML report in a browser', () => {
  it('passes axe-core, with every chart named and followed by a table of its figures', async () => {
    await page.goto(pathToFileURL(file).href);
    expect(await axeViolations(page)).toEqual([]);
    const charts = await page.$$eval('figure.hfu-chart', (figures) =>
      figures.map((f) => ({
        name: f.querySelector('svg')?.getAttribute('aria-labelledby'),
        caption: f.querySelector('figcaption')?.id,
        table: f.nextElementSibling?.tagName,
      }))
    );
    expect(charts).toHaveLength(4);
    for (const chart of charts) {
      expect(chart.name).toBe(chart.caption);
      expect(chart.table).toBe('TABLE');
    }
    expect(report.typology.topN).toBe(20);
    const heading = await page.textContent('#typology');
    expect(heading).toBe('Who the top 20 GP attenders are');
  });

  it('keeps its figures readable at a phone width without horizontal scrolling of the page', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(pathToFileURL(file).href);
    expect(await axeViolations(page)).toEqual([]);
    const width = await page.evaluate(
      () =>
        (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement
          .scrollWidth
    );
    expect(width).toBeLessThanOrEqual(375);
  });
});
