import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { main } from '../../../src/cli/main';
import type { CapturedIo } from '../../helpers/io';
import { captureIo } from '../../helpers/io';

const BIN = path.join(__dirname, '../../../bin/hfu.js');

/** What every test run of the CLI logs unless it asks otherwise: JSON lines a test can parse, at info level. */
const LOG_ENV = { HFU_LOG__FORMAT: 'json', HFU_LOG__LEVEL: 'info' };

export interface CliResult {
  code: number;
  /** The signal that ended the process, if one did (a test that kills it). */
  signal?: NodeJS.Signals;
  stdout: string;
  stderr: string;
}

/**
 * Runs one CLI command in-process, `main(argv, io)` as bin/hfu.js calls it, with `env` as its whole environment
 * (nothing of the test process's own) and stdout and stderr captured.
 */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const io = captureIo({ ...LOG_ENV, ...env });
  const code = await main(args, io);
  await settled();
  return { code, stdout: io.out(), stderr: io.err() };
}

/**
 * Starts a long-running command (fhir-server, demo, serve) in-process; `io.stop()` is the SIGTERM that ends it and
 * `done` its exit.
 */
export function startCliInProcess(
  args: string[],
  env: Record<string, string> = {}
): { io: CapturedIo; done: Promise<CliResult> } {
  const io = captureIo({ ...LOG_ENV, ...env });
  const done = main(args, io).then(async (code) => {
    await settled();
    return { code, stdout: io.out(), stderr: io.err() };
  });
  return { io, done };
}

/** Log lines still passing through winston's streams when a command returns reach the capture before this resolves. */
function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Starts the built CLI (dist/, `npm run build`) as a subprocess, with the test process's environment and `env`: only
 * for tests where the process is the point (a signal sent to it, `npm start`, everything it prints).
 */
export function spawnCli(
  args: string[],
  env: Record<string, string> = {}
): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...LOG_ENV, ...env } });
  const done = new Promise<CliResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, ...(signal ? { signal } : {}), stdout, stderr }));
  });
  return { child, done };
}
