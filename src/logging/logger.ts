import winston from 'winston';
import { currentLogContext } from './context';
import { redactField } from './redact';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'json' | 'pretty' | 'auto';

export interface LoggerOptions {
  level?: LogLevel;
  /** `auto`: readable lines when stderr is a terminal, JSON lines otherwise (production, CI, containers). */
  format?: LogFormat;
  /** Where lines go; defaults to stderr so that stdout stays clean for `--json` output. */
  stream?: NodeJS.WritableStream;
}

export type Logger = winston.Logger;

/** Adds the async context (run id, request id) and strips sensitive keys from every line. */
const contextAndRedaction = winston.format((info) => {
  // Mutate in place: winston keeps its own Symbol-keyed fields on `info`, which a copy would drop.
  for (const [key, value] of Object.entries(currentLogContext())) {
    if (!(key in info)) {
      info[key] = value;
    }
  }
  for (const key of Object.keys(info)) {
    if (key !== 'level' && key !== 'message') {
      info[key] = redactField(key, info[key]);
    }
  }
  return info;
});

export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const format = options.format ?? 'auto';
  const pretty = format === 'pretty' || (format === 'auto' && (stream as NodeJS.WriteStream).isTTY === true);
  return winston.createLogger({
    level: options.level ?? 'info',
    format: winston.format.combine(
      winston.format.timestamp(),
      contextAndRedaction(),
      pretty ? prettyFormat() : winston.format.json()
    ),
    transports: [new winston.transports.Stream({ stream })],
  });
}

function prettyFormat(): winston.Logform.Format {
  return winston.format.printf((info) => {
    const { level, message, timestamp, ...meta } = info;
    const extras = Object.entries(meta)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(' ');
    return `${String(timestamp)} ${level.padEnd(5)} ${String(message)}${extras ? ' ' + extras : ''}`;
  });
}

/** A logger that writes nothing: the default for library calls and tests that do not inspect logs. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
