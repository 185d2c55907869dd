import type { Page } from 'playwright-core';
import type { TestBrowser } from '../helpers/chromium';
import { axeViolations, launchChromium, screenshot } from '../helpers/chromium';
import type { WorkspaceRig } from '../helpers/workspace';
import { signInInChromium, startWorkspaceRig } from '../helpers/workspace';

let rig: WorkspaceRig;
let chromium: TestBrowser;
let page: Page;
/** What chromium says the page's content security policy refused, as it reports it on the console. */
const refused: string[] = [];

beforeAll(async () => {
  [rig, chromium] = await Promise.all([startWorkspaceRig(), launchChromium()]);
  page = await (await chromium.context()).newPage();
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) {
      refused.push(message.text());
    }
  });
  await signInInChromium(page, rig, 'lead-user');
});
afterAll(async () => {
  await Promise.all([chromium?.close(), rig?.stop()]);
});

describe('the insights page in chromium', () => {
  it('opens from a lead’s menu and shows every chart drawn, each followed by its table', async () => {
    await page.click('a[href="/mdt/insights"]');
    await page.waitForURL(`${rig.url}/mdt/insights`);
    expect(await page.textContent('h1')).toBe('Insights');
    const charts = await page.$$eval('figure.hfu-chart', (figures) =>
      figures.map((f) => {
        const svg = f.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          named: svg?.getAttribute('aria-labelledby') === f.querySelector('figcaption')?.id,
          marks: svg?.querySelectorAll('path, rect, line').length ?? 0,
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          next: f.nextElementSibling?.tagName,
        };
      })
    );
    expect(charts).toHaveLength(4);
    // Dates as the NHS writes them ("23 November 2026"), never ISO, in what is read on screen or aloud: the page is
    // the report for today in London.
    const today = new Intl.DateTimeFormat('en-GB', {
      day: 'numeric',
      month: 'long',
      year: 'numeric',
      timeZone: 'Europe/London',
    }).format(new Date());
    const read = await page.$eval('main', (main) =>
      [
        (main as unknown as { innerText: string }).innerText,
        ...[...main.querySelectorAll('[aria-label], [aria-description], [title], title, desc')].map((e) =>
          [e.getAttribute('aria-label'), e.getAttribute('aria-description'), e.getAttribute('title'), e.textContent]
            .filter(Boolean)
            .join(' ')
        ),
      ].join('\n')
    );
    expect(read).toContain(`the figures of the whole population on ${today},`);
    expect(read).toContain(`) on ${today}.`);
    expect(read).toContain(` to ${today}`);
    expect(read).not.toMatch(/\d{4}-\d{2}-\d{2}/);
    // the programme's months too ("December 2026, first priority"), this month's at least
    const month = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'Europe/London' });
    expect(read).toContain(`${month.format(new Date())}, `);
    expect(read).not.toMatch(/\b\d{4}-\d{2}\b/);
    for (const chart of charts) {
      expect(chart.named).toBe(true);
      expect(chart.marks).toBeGreaterThan(0);
      expect(chart.width).toBeGreaterThan(200);
      expect(chart.height).toBeGreaterThan(100);
      expect(chart.next).toBe('TABLE');
    }
    await screenshot(page, 'insights');
  });

  it('passes axe-core, at a desktop and at a phone width, with no sideways scrolling, and the CSP refuses nothing (not even the NHS.UK web font)', async () => {
    await page.goto(`${rig.url}/mdt/insights`);
    expect(await axeViolations(page)).toEqual([]);
    await page.setViewportSize({ width: 375, height: 800 });
    await page.reload();
    expect(await axeViolations(page)).toEqual([]);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    // Nothing is refused: the workspace serves NHS.UK frontend's stylesheet without its @font-face rules, so no page
    // asks assets.nhs.uk for Frutiger (font-src is 'self'; the text falls back to Arial).
    expect(refused).toEqual([]);
    const stylesheet = await (await page.request.get(`${rig.url}/mdt/assets/nhsuk/nhsuk-frontend.min.css`)).text();
    expect(stylesheet).toContain('.nhsuk-table');
    expect(stylesheet).not.toMatch(/@font-face|assets\.nhs\.uk/);
    expect(await page.evaluate('getComputedStyle(document.body).fontFamily')).toMatch(
      /^"?Frutiger W01"?, arial, sans-serif$/i
    );
    // The check can see a refusal: an inline style the page's policy blocks is reported on the console.
    const reported = page.waitForEvent('console', (message) => /Content Security Policy/i.test(message.text()));
    await page.evaluate("document.body.setAttribute('style', 'color: red')");
    expect((await reported).text()).toMatch(/inline style/);
  });
});
