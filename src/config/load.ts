import { DefinitionError } from '../errors';
import { readDefinitionFile, validateDefinition } from './definition-file';
import type { Config } from './schema';
import { configSchema } from './schema';

/** Environment variables starting with this prefix override keys of the file: `HFU_FHIR__BASE_URL` → `fhir.baseUrl`. */
export const ENV_PREFIX = 'HFU_';
/** The one `HFU_` variable that is not a key: the path of the config file. */
export const CONFIG_FILE_ENV = 'HFU_CONFIG';

/**
 * Invalid configuration: every problem found, each naming its key (and the variable, when it came from one). Also a
 * limit of the configuration that a run meets (`source` is then the key).
 */
export class ConfigError extends DefinitionError {
  constructor(source: string, problems: readonly string[]) {
    super('configuration', source, problems);
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
  const fail = (problems: string[]) => new ConfigError(source, problems);
  return validateDefinition(raw, configSchema, fail, (path) => envKeys.get(path));
}

function readConfigFile(file: string): Record<string, unknown> {
  const parsed = readDefinitionFile(file, (problems) => new ConfigError(file, problems));
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
