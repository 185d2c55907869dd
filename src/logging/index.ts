export { currentLogContext, withLogContext } from './context';
export type { LogContext } from './context';
export { createLogger, silentLogger } from './logger';
export type { LogFormat, Logger, LoggerOptions, LogLevel } from './logger';
export { redact, redactField, REDACTED } from './redact';
