/**
 * `hfu report` against the raw fetch of the same data (time) and against a dry run (peak RSS). Each job runs in its
 * own process, interleaved three times over one embedded server (in a process of its own too), so a job's peak RSS
 * is its own and drift on a shared machine touches every job alike.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { median, report } from './report';
import { startServerProcess } from './run-vs-raw';

type Job = 'raw' | 'dry' | 'report';

interface JobFigures {
  ms: number;
  peakRssMb: number;
}

export interface ReportBenchFigures {
  patients: number;
  rawMs: number;
  reportMs: number;
  dryPeakRssMb: number;
  reportPeakRssMb: number;
}

export async function benchReport(patients: number): Promise<ReportBenchFigures> {
  const server = await startServerProcess(patients);
  try {
    const runs: Record<Job, JobFigures[]> = { raw: [], dry: [], report: [] };
    for (let i = 0; i < 3; i++) {
      for (const kind of ['raw', 'dry', 'report'] as const) {
        runs[kind].push(await runJob(kind, server.baseUrl));
      }
    }
    const figures: ReportBenchFigures = {
      patients,
      rawMs: median(runs.raw.map((r) => r.ms)),
      reportMs: median(runs.report.map((r) => r.ms)),
      dryPeakRssMb: median(runs.dry.map((r) => r.peakRssMb)),
      reportPeakRssMb: median(runs.report.map((r) => r.peakRssMb)),
    };
    const time = figures.reportMs / figures.rawMs;
    const rss = figures.reportPeakRssMb / figures.dryPeakRssMb;
    report(`hfu report against the raw fetch and a dry run: ${patients.toLocaleString('en-GB')} patients`, {
      'raw fetch (two years of bounds), median of 3': `${(figures.rawMs / 1000).toFixed(2)} s`,
      'report (figures, charts, HTML), median of 3': `${(figures.reportMs / 1000).toFixed(2)} s`,
      'dry run, median of 3': `${(median(runs.dry.map((r) => r.ms)) / 1000).toFixed(2)} s`,
      'report / raw fetch': `${time.toFixed(2)} (target <= 1.5: ${time <= 1.5 ? 'met' : 'NOT met'})`,
      'peak RSS: dry run, report (medians)': `${figures.dryPeakRssMb} MB, ${figures.reportPeakRssMb} MB`,
      'report / dry run peak RSS': `${rss.toFixed(2)} (target <= 1.5: ${rss <= 1.5 ? 'met' : 'NOT met'})`,
    });
    return figures;
  } finally {
    server.child.kill('SIGTERM');
  }
}

function runJob(kind: Job, baseUrl: string): Promise<JobFigures> {
  const child = spawn(process.execPath, [path.join(__dirname, 'report-worker.js'), kind, baseUrl], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out) as JobFigures) : reject(new Error(`report bench job ${kind} exited ${code}`))
    );
  });
}
