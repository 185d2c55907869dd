/**
 * The full run against the raw fetch it needs. The embedded server runs in a child process (`hfu fhir-server`), so
 * this process's peak RSS is the connector's alone and the server's is read from /proc separately. In this process,
 * interleaved so drift on a shared machine touches both alike: (a) the raw fetch — the population's pages and, per
 * page, exactly the searches a run makes (`chunkSearches`), at the same concurrency, results discarded; (b) dry runs;
 * then (c) write runs (the first creates the cohort, the next two find it in place).
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import type { RunResult } from '../src/cohort';
import {
  chunkSearches,
  mapConcurrently,
  resolvePopulation,
  rulesFrom,
  runCohort,
  runSettingsFrom,
} from '../src/cohort';
import type { Config } from '../src/config';
import { configSchema } from '../src/config';
import { FhirClient } from '../src/fhir';
import { readProgrammeRecord } from '../src/lifecycle';
import { silentLogger } from '../src/logging';
import { cohortIdentifier } from '../src/writeback';
import { median, report } from './report';

export const AS_OF = '2026-11-23';

export interface RunBenchFigures {
  patients: number;
  rawMs: number;
  dryMs: number;
  writeMs: number[];
  connectorPeakRssMb: number;
  serverPeakRssMb: number;
  cohort: number;
}

export async function benchRunVsRaw(patients: number): Promise<RunBenchFigures> {
  const server = await startServerProcess(patients);
  try {
    const config = configSchema.parse({ fhir: { baseUrl: server.baseUrl } });
    const rules = rulesFrom(config);
    const client = FhirClient.fromConfig({ ...config.fhir, baseUrl: server.baseUrl }, { logger: silentLogger() });
    const deps = { source: client, record: client, logger: silentLogger(), ...rules };
    const run = async (dryRun: boolean, extract: 'search' | 'bulk' = 'search'): Promise<[number, RunResult]> => {
      const started = performance.now();
      const result = await runCohort(deps, {
        ...runSettingsFrom(config, { asOf: AS_OF, dryRun }),
        extract,
      });
      if (!result.complete) {
        throw new Error('a benchmark run was incomplete');
      }
      return [performance.now() - started, result];
    };
    const raw: number[] = [];
    const dry: number[] = [];
    const rawCpu: CpuShare[] = [];
    const dryCpu: CpuShare[] = [];
    let cohort = 0;
    for (let i = 0; i < 3; i++) {
      rawCpu.push(await cpuShare(server.child, async () => raw.push(await rawFetch(client, config, rules))));
      dryCpu.push(
        await cpuShare(server.child, async () => {
          const [ms, result] = await run(true);
          dry.push(ms);
          cohort = result.candidates.length;
        })
      );
    }
    const bulk: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [ms, result] = await run(true, 'bulk');
      bulk.push(ms);
      if (result.candidates.length !== cohort) {
        throw new Error(`bulk found ${result.candidates.length} candidates, search ${cohort}`);
      }
    }
    const write: number[] = [];
    for (let i = 0; i < 3; i++) {
      write.push((await run(false))[0]);
    }
    const figures: RunBenchFigures = {
      patients,
      rawMs: median(raw),
      dryMs: median(dry),
      writeMs: write,
      connectorPeakRssMb: peakRssMb('self'),
      serverPeakRssMb: peakRssMb(String(server.child.pid)),
      cohort,
    };
    report(`full run against the raw fetch: ${patients.toLocaleString('en-GB')} patients (embedded server)`, {
      'raw fetch, median of 3': `${seconds(figures.rawMs)} s (${perSecond(patients, figures.rawMs)} patients/s)`,
      'dry run, median of 3': `${seconds(figures.dryMs)} s (${perSecond(patients, figures.dryMs)} patients/s)`,
      'dry run / raw fetch': `${(figures.dryMs / figures.rawMs).toFixed(2)} (target <= 1.25: ${
        figures.dryMs / figures.rawMs <= 1.25 ? 'met' : 'NOT met'
      })`,
      'bulk dry run ($export, spooled), median of 3': `${seconds(median(bulk))} s (${(median(bulk) / figures.rawMs).toFixed(2)}x the raw fetch)`,
      'CPU busy during the raw fetch (connector, server)': describeCpu(rawCpu),
      'CPU busy during the dry run (connector, server)': describeCpu(dryCpu),
      'write runs (creating, then unchanged x2)': write.map((ms) => `${seconds(ms)} s`).join(', '),
      'write run (median of 3) / raw fetch': (median(write) / figures.rawMs).toFixed(2),
      candidates: cohort,
      'connector peak RSS': `${figures.connectorPeakRssMb} MB`,
      'embedded server peak RSS (its own process)': `${figures.serverPeakRssMb} MB`,
    });
    return figures;
  } finally {
    server.child.kill('SIGTERM');
  }
}

/**
 * Every search a run makes, pages followed to the end, bodies parsed and dropped; no evaluation, no grouping. `asOf`
 * places the date bounds (the report reads further back than a run).
 */
export async function rawFetch(
  client: FhirClient,
  config: Config,
  rules: ReturnType<typeof rulesFrom>,
  asOf: string = AS_OF
): Promise<number> {
  const started = performance.now();
  const population = await resolvePopulation(client, config.scope);
  await readProgrammeRecord(client, rules.programme.id, cohortIdentifier(rules.programme, population.key));
  const searches = chunkSearches(rules.mapping, asOf, config.extract.dateBounds);
  const fetchChunk = async (page: Patient[]): Promise<void> => {
    const ids = page.map((p) => p.id as string);
    await Promise.all(
      searches.map(async ({ type, subjectParam, params }) => {
        for await (const _chunk of client.searchBySubjects(type, subjectParam, ids, params)) {
          // discarded
        }
      })
    );
  };
  for await (const _done of mapConcurrently(population.pages(), config.extract.concurrency, fetchChunk)) {
    // each page's searches done
  }
  return performance.now() - started;
}

export interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
}

/** `hfu fhir-server` seeded with the synthetic practice, in its own process with room for 100,000 patients. */
export function startServerProcess(patients: number): Promise<ServerProcess> {
  const bin = path.join(__dirname, '../../bin/hfu.js');
  const child = spawn(
    process.execPath,
    [
      '--max-old-space-size=16384',
      bin,
      'fhir-server',
      '--port',
      '0',
      '--seed-practice',
      String(patients),
      '--as-of',
      AS_OF,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, HFU_LOG__LEVEL: 'warn' } }
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /listening at (http:\/\/\S+)/.exec(out)?.[1];
      if (url) {
        resolve({ child, baseUrl: url });
      }
    });
    child.on('exit', (code) => reject(new Error(`the embedded server exited (${code}) before listening`)));
  });
}

/** Of the wall time, the share each process spent on a CPU: 100% is one core kept busy throughout. */
interface CpuShare {
  connector: number;
  server: number;
}

async function cpuShare(server: ChildProcess, work: () => Promise<unknown>): Promise<CpuShare> {
  const serverBefore = cpuSecondsOf(String(server.pid));
  const before = process.cpuUsage();
  const started = performance.now();
  await work();
  const wall = (performance.now() - started) / 1000;
  const used = process.cpuUsage(before);
  return {
    connector: (used.user + used.system) / 1e6 / wall,
    server: (cpuSecondsOf(String(server.pid)) - serverBefore) / wall,
  };
}

/** User and system CPU seconds of a process, from /proc/<pid>/stat (clock ticks of 1/100 s). */
export function cpuSecondsOf(pid: string): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function describeCpu(shares: CpuShare[]): string {
  const pct = (values: number[]) => `${Math.round(median(values) * 100)}%`;
  return `${pct(shares.map((s) => s.connector))}, ${pct(shares.map((s) => s.server))} (medians)`;
}

/** Peak resident set size of a process (VmHWM), in MB. */
export function peakRssMb(pid: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(2);
}

function perSecond(patients: number, ms: number): string {
  return Math.round(patients / (ms / 1000)).toLocaleString('en-GB');
}
