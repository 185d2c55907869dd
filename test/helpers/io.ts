import { PassThrough } from 'node:stream';
import type { CliIo } from '../../src/cli/context';

export interface CapturedIo extends CliIo {
  out(): string;
  err(): string;
  stop(): void;
}

/** In-memory stdout/stderr for running CLI commands in-process. */
export function captureIo(env: NodeJS.ProcessEnv = {}): CapturedIo {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  let stop: (signal: string) => void = () => undefined;
  const stopSignal = new Promise<string>((resolve) => (stop = resolve));
  return { stdout, stderr, env, stopSignal, out: () => out, err: () => err, stop: () => stop('SIGTERM') };
}
