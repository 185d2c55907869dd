export { CONFIG_FILE_ENV, ConfigError, ENV_PREFIX, envNameToPath, loadConfig, pathToEnvName } from './load';
export type { LoadConfigOptions } from './load';
export { configSchema } from './schema';
export type {
  AuthConfig,
  Config,
  FhirConfig,
  ReportConfig,
  RoleLevel,
  Scope,
  ServiceAuthConfig,
  ServiceConfig,
  ServiceUiConfig,
  WorkforceMember,
} from './schema';
