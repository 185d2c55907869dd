import { Writable } from 'node:stream';
import type { CliIo } from '../../src/cli/context';

export interface CapturedIo extends CliIo {
  out(): string;
  err(): string;
  stop(): void;
}

/**
 * In-memory stdout/stderr for running CLI commands in-process. Each write is captured as it is made (a PassThrough
 * would hand it over a tick later, after the command has returned and the test has read an empty string).
 */
export function captureIo(env: NodeJS.ProcessEnv = {}): CapturedIo {
  let out = '';
  let err = '';
  const stdout = capture((text) => (out += text));
  const stderr = capture((text) => (err += text));
  let stop: (signal: string) => void = () => undefined;
  const stopSignal = new Promise<string>((resolve) => (stop = resolve));
  return { stdout, stderr, env, stopSignal, out: () => out, err: () => err, stop: () => stop('SIGTERM') };
}

function capture(append: (text: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      append(chunk.toString());
      done();
    },
  });
}
