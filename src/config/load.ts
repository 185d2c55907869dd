import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import type { Config } from './schema';
import { configSchema } from './schema';

/** Environment variables starting with this prefix override keys of the file: `HFU_FHIR__BASE_URL` → `fhir.baseUrl`. */
export const ENV_PREFIX = 'HFU_';
/** The one `HFU_` variable that is not a key: the path of the config file. */
export const CONFIG_FILE_ENV = 'HFU_CONFIG';

/** Invalid configuration: every problem found, each naming its key (and the variable, when it came from one). */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[]
  ) {
    super(`invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Path of a YAML or JSON file; absent means defaults plus environment. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Applied last (command-line flags such as `--fhir-base-url`), as key paths like `fhir.baseUrl`. */
  overrides?: Record<string, unknown>;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? {};
  const file = options.file ?? env[CONFIG_FILE_ENV];
  const source = file ?? 'defaults';
  const raw = file ? readConfigFile(file) : {};
  const envKeys = applyEnvironment(raw, env);
  for (const [path, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) {
      setPath(raw, path.split('.'), value);
    }
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(source, describeIssues(result.error.issues, envKeys));
  }
  return result.data;
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  let parsed: unknown;
  try {
    parsed = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(file, [`not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`]);
  }
  if (parsed === null || parsed === undefined) {
    return {};
  }
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(file, ['the file must hold a mapping of keys (an object)']);
  }
  return parsed as Record<string, unknown>;
}

/** Copies `HFU_*` variables into `raw`; returns which key path each variable set, for error messages. */
function applyEnvironment(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Map<string, string> {
  const envKeys = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name === CONFIG_FILE_ENV || value === undefined) {
      continue;
    }
    const path = envNameToPath(name);
    setPath(raw, path, parseEnvValue(value));
    envKeys.set(path.join('.'), name);
  }
  return envKeys;
}

/** `HFU_FHIR__AUTH__CLIENT_ID` → `['fhir', 'auth', 'clientId']`. */
export function envNameToPath(name: string): string[] {
  return name
    .slice(ENV_PREFIX.length)
    .split('__')
    .map((segment) => segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
}

/** `fhir.auth.clientId` → `HFU_FHIR__AUTH__CLIENT_ID`. */
export function pathToEnvName(path: string): string {
  return (
    ENV_PREFIX +
    path
      .split('.')
      .map((segment) => segment.replace(/([A-Z])/g, '_$1').toUpperCase())
      .join('__')
  );
}

/** Lists and objects may be given as JSON; everything else stays a string for the schema to coerce. */
function parseEnvValue(value: string): unknown {
  const trimmed = value.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return value;
    }
  }
  return value;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      node[segment] = {};
    }
    node = node[segment] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function describeIssues(issues: readonly z.core.$ZodIssue[], envKeys: Map<string, string>): string[] {
  return issues.flatMap((issue) => {
    const base = issue.path.map(String);
    const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...base, k].join('.')) : [base.join('.')];
    return paths.map((path) => {
      const fromEnv = envKeys.get(path);
      const where = (path || '(top level)') + (fromEnv ? ` (from ${fromEnv})` : '');
      const message = issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message;
      return `${where}: ${message}`;
    });
  });
}
