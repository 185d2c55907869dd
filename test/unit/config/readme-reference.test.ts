import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { configSchema, loadConfig, pathToEnvName } from '../../../src/config';

const readme = readFileSync(path.join(__dirname, '../../../README.md'), 'utf8');

/**
 * Set as a whole, though an object: a choice of shapes the table describes in one row, or the keys of another row's
 * object again (`writeback.fhir` takes every key of `fhir`).
 */
const WHOLE = new Set(['programme.capacity', 'writeback.fhir']);

/** Every key a configuration can set: the schema's leaves, with maps and lists (of objects too) as one key each. */
function schemaKeys(): string[] {
  const keys = new Set<string>();
  const walk = (node: Record<string, unknown>, at: string): void => {
    const variants = (node.anyOf ?? node.oneOf) as Record<string, unknown>[] | undefined;
    const properties = node.properties as Record<string, Record<string, unknown>> | undefined;
    if (variants && !WHOLE.has(at)) {
      variants.forEach((variant) => walk(variant, at));
    } else if (properties && !WHOLE.has(at)) {
      Object.entries(properties).forEach(([key, child]) => walk(child, at ? `${at}.${key}` : key));
    } else {
      keys.add(at);
    }
  };
  walk(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>, '');
  return [...keys].sort();
}

function section(title: string): string {
  const start = readme.indexOf(`### ${title}`);
  expect(start).toBeGreaterThan(0);
  const end = readme.slice(start + 4).search(/\n##+ /);
  return readme.slice(start, end < 0 ? undefined : start + 4 + end);
}

describe('the README configuration reference', () => {
  const rows = new Map(
    section('Every key')
      .split('\n')
      .map((line) => /^\| `([^`]+)` +\|[^|]*\| `([A-Z_]+)`/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1] as string, m[2] as string])
  );

  it('has a row for every key of the schema, and no row for a key it does not have', () => {
    expect([...rows.keys()].sort()).toEqual(schemaKeys());
  });

  it('names the environment variable each key is read from', () => {
    for (const [key, variable] of rows) {
      expect({ key, variable }).toEqual({ key, variable: pathToEnvName(key) });
    }
  });

  it.each(['A practice', 'A primary care network'])(
    'gives an example for %s that loads (secrets from the environment)',
    (title) => {
      const yaml = /```yaml\n([\s\S]*?)```/.exec(section(title))?.[1] ?? '';
      expect(yaml.length).toBeGreaterThan(100);
      const file = path.join(mkdtempSync(path.join(tmpdir(), 'hfu-readme-')), 'hfu.yaml');
      writeFileSync(file, yaml);
      const config = loadConfig({
        file,
        env: {
          ...(yaml.includes('client-credentials') ? { HFU_FHIR__AUTH__CLIENT_SECRET: 'from-the-vault' } : {}),
          HFU_SERVICE__NOTIFICATIONS__SECRET: 'a-long-shared-secret',
        },
      });
      expect(config.fhir.baseUrl).toMatch(/^https:/);
      expect(config.service.auth.jwt ?? config.service.auth.apiKeys[0]).toBeDefined();
    }
  );
});
