import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { main } from '../../src/cli/main';
import { BUILT_IN_MAPPINGS_DIR, loadMapping } from '../../src/mappings';
import { captureIo } from '../helpers/io';

// The README as a newcomer reads it: its links lead somewhere, what points into it finds its section, and every
// configuration it shows passes `hfu validate-config`.
const root = path.join(__dirname, '../..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
/** The README without its code blocks (a `#` there is a comment, a `[x](y)` is code). */
const prose = readme.replace(/^```[\s\S]*?^```/gm, '');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = (heading as string)
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    result.add(n ? `${slug}-${n}` : slug);
  }
  return result;
}

function headings(markdown: string): string[] {
  return [...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1] as string);
}

/** The text of section `title` (a heading of any level), up to the next heading of the same level or above. */
function section(title: string): string {
  const match = new RegExp(`^(#+) ${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm').exec(readme);
  expect(match).not.toBeNull();
  const level = (match as RegExpExecArray)[1]?.length as number;
  const rest = readme.slice((match as RegExpExecArray).index + (match as RegExpExecArray)[0].length);
  const end = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return end < 0 ? rest : rest.slice(0, end);
}

async function validateConfig(yaml: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; err: string }> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'hfu-readme-')), 'hfu.yaml');
  writeFileSync(file, yaml);
  const io = captureIo(env);
  const code = await main(['--config', file, 'validate-config'], io);
  return { code, err: io.err() };
}

describe('README links', () => {
  const links = [...prose.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
  const internal = links.filter((target) => !/^[a-z]+:/.test(target));

  it('has internal links to check', () => {
    expect(internal.length).toBeGreaterThanOrEqual(3);
  });

  it('leads every anchor to a heading of the README', () => {
    const known = anchors(readme);
    for (const target of internal.filter((t) => t.startsWith('#'))) {
      expect({ target, found: known.has(target.slice(1)) }).toEqual({ target, found: true });
    }
  });

  it('leads every relative link to a file or folder of the repository (and its anchor, in a Markdown file)', () => {
    for (const target of internal.filter((t) => !t.startsWith('#'))) {
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const full = path.join(root, decodeURIComponent(file));
      expect({ target, exists: existsSync(full) }).toEqual({ target, exists: true });
      if (anchor && full.endsWith('.md')) {
        expect({ target, found: anchors(readFileSync(full, 'utf8')).has(anchor) }).toEqual({ target, found: true });
      }
    }
  });

  it('has every section the Dockerfile points at', () => {
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    const pointers = [...dockerfile.matchAll(/README, "([^"]+)"/g)].map((m) => m[1] as string);
    expect(pointers.length).toBeGreaterThan(0);
    for (const title of pointers) {
      expect({ title, found: headings(readme).includes(title) }).toEqual({ title, found: true });
    }
  });
});

describe('README configuration examples pass hfu validate-config', () => {
  const mappingsSection = section('Mappings (`mappings/`)');
  const blocks = [...readme.matchAll(/^```yaml\n([\s\S]*?)^```/gm)].map((m) => m[1] as string);
  const configs = blocks.filter((block) => !mappingsSection.includes(block));

  it('finds the configuration files it shows', () => {
    expect(configs.length).toBeGreaterThanOrEqual(2);
  });

  it.each(configs.map((yaml) => [yaml.split('\n')[0], yaml]))('%s ...', async (_first, yaml) => {
    // Secrets belong in the environment, as the README says: give the ones a file leaves out.
    const outcome = await validateConfig(yaml, {
      ...(yaml.includes('client-credentials') ? { HFU_FHIR__AUTH__CLIENT_SECRET: 'from-the-vault' } : {}),
      HFU_SERVICE__NOTIFICATIONS__SECRET: 'a-long-shared-secret',
    });
    expect(outcome).toEqual({ code: 0, err: '' });
  });

  /** `e.g. { … }` and `{ … } or { … }` values in the key table, each set on its key. */
  const inline = section('Every key')
    .split('\n')
    .flatMap((row) => {
      const key = /^\| `([^`]+)` /.exec(row)?.[1];
      const description = row.split('|')[4] ?? '';
      return key ? [...description.matchAll(/`(\{[^`]*\})`/g)].map((m) => [key, m[1] as string]) : [];
    });

  it('finds the inline examples of the key table', () => {
    expect(inline.length).toBeGreaterThanOrEqual(3);
  });

  it.each(inline)('%s: %s', async (key, value) => {
    const config: Record<string, unknown> = {};
    const parts = key.split('.');
    let node = config;
    parts.slice(0, -1).forEach((part) => (node = node[part] = {} as Record<string, unknown>));
    node[parts.at(-1) as string] = parseYaml(value) as unknown;
    expect(await validateConfig(stringify(config))).toEqual({ code: 0, err: '' });
  });

  it('shows mapping features that load, element paths included', () => {
    const features = blocks.filter((block) => mappingsSection.includes(block));
    expect(features.length).toBeGreaterThan(0);
    for (const block of features) {
      const dir = mkdtempSync(path.join(tmpdir(), 'hfu-readme-map-'));
      const resources = Object.values(parseYaml(block) as Record<string, { resource: string }>).map((f) => f.resource);
      const mapping = {
        name: 'readme',
        description: 'the README example',
        valueSets: path.join(BUILT_IN_MAPPINGS_DIR, 'uk-core', 'valuesets'),
        search: Object.fromEntries(resources.map((type) => [type, { subject: 'subject' }])),
        features: parseYaml(block) as unknown,
      };
      writeFileSync(path.join(dir, 'mapping.yaml'), stringify(mapping));
      expect(loadMapping(dir).features.length).toBe(resources.length);
    }
  });
});
