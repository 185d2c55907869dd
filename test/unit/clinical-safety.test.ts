import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The hazard log names the test behind each control; this keeps those links from rotting when tests move.
const root = join(__dirname, '..', '..');
const log = readFileSync(join(root, 'docs', 'clinical-safety', 'hazard-log.md'), 'utf8');
const LINK = /Verified by: `([^`]+)` › "([^"]+)"/g;

interface Hazard {
  heading: string;
  links: { file: string; title: string }[];
}

function hazards(): Hazard[] {
  return log
    .split(/^## /m)
    .slice(1)
    .map((section) => ({
      heading: section.split('\n')[0] ?? '',
      links: [...section.matchAll(LINK)].map(([, file, title]) => ({ file: file ?? '', title: title ?? '' })),
    }));
}

/** The titles of a file's tests and groups, as written in its source (either kind of quote, or a template). */
function titlesIn(file: string): Set<string> {
  const source = readFileSync(join(root, file), 'utf8');
  const call = /\b(?:it|test|describe)\(\s*(['"`])((?:\\.|(?!\1).)*)\1/g;
  return new Set([...source.matchAll(call)].map(([, , title]) => (title ?? '').replace(/\\(.)/g, '$1')));
}

describe('the clinical safety hazard log', () => {
  it('numbers its hazards in order, and gives each causes, harm and at least one verified control', () => {
    const all = hazards();
    expect(all.length).toBeGreaterThanOrEqual(10);
    all.forEach((hazard, i) => {
      expect(hazard.heading).toMatch(new RegExp(`^H${i + 1}\\. `));
    });
    for (const section of log.split(/^## /m).slice(1)) {
      expect(section).toMatch(/\*\*Causes:\*\*/);
      expect(section).toMatch(/\*\*Harm:\*\*/);
      expect(section).toMatch(/Residual\s+risk: [1-5]\./);
      expect([...section.matchAll(LINK)].length).toBeGreaterThan(0);
    }
  });

  it('links every control to a test that exists, by file and title', () => {
    const missing = hazards()
      .flatMap((hazard) => hazard.links.map((link) => ({ ...link, hazard: hazard.heading })))
      .filter(({ file, title }) => !existsSync(join(root, file)) || !titlesIn(file).has(title))
      .map(({ hazard, file, title }) => `${hazard}: ${file} › ${title}`);
    expect(missing).toEqual([]);
  });
});
