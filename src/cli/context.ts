import type { Config, LoadConfigOptions } from '../config';
import { loadConfig } from '../config';
import type { Logger } from '../logging';
import { createLogger } from '../logging';

/** What a command may touch of the outside world: injected so tests run commands in-process. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT), for long-running commands. */
  stopSignal: Promise<string>;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    stopSignal: new Promise((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    }),
  };
}

/**
 * Raised when the process is asked to stop (Ctrl-C, SIGTERM), for a run to end at its next safe point: once
 * `processIo` listens for those signals Node no longer exits on them by itself.
 */
export function stopRequested(io: CliIo): AbortSignal {
  const controller = new AbortController();
  void io.stopSignal.then(() => controller.abort());
  return controller.signal;
}

export interface CommandContext {
  io: CliIo;
  config: Config;
  logger: Logger;
}

/** Loads config (file, HFU_* environment, then flags) and a logger that writes to stderr. */
export function commandContext(
  io: CliIo,
  configFile: string | undefined,
  overrides: LoadConfigOptions['overrides'] = {}
): CommandContext {
  const config = loadConfig({ file: configFile, env: io.env, overrides });
  const logger = createLogger({ level: config.log.level, format: config.log.format, stream: io.stderr });
  return { io, config, logger };
}

export function writeLine(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(text + '\n');
}
