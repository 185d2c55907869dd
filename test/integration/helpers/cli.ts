import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import path from 'node:path';

const BIN = path.join(__dirname, '../../../bin/hfu.js');

export interface CliResult {
  code: number;
  /** The signal that ended the process, if one did (a test that kills it). */
  signal?: NodeJS.Signals;
  stdout: string;
  stderr: string;
}

/** Starts the built CLI as a subprocess (as an engineer would), with extra environment. */
export function startCli(
  args: string[],
  env: Record<string, string> = {}
): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, HFU_LOG__FORMAT: 'json', HFU_LOG__LEVEL: 'info', ...env },
  });
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

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return startCli(args, env).done;
}
