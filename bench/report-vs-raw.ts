/**
 * `hfu report` against the raw fetch of the same data (time) and against a dry run (peak RSS). Each job runs in its
 * own process, interleaved `rounds` times (three unless asked) over one embedded server (in a process of its own too),
 * so a job's peak RSS is its own and drift on a shared machine touches every job alike.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { median, report } from './report';
import { cpuSecondsOf, startServerProcess } from './run-vs-raw';

const JOBS = ['raw', 'dry', 'report'] as const;
type Job = (typeof JOBS)[number];

interface JobFigures {
  ms: number;
  /** The job's own CPU time (user and system). */
  cpuMs: number;
  /** The embedded server's CPU seconds over the job's wall seconds: 1 is its one core kept busy throughout. */
  serverBusy: number;
  peakRssMb: number;
}

export interface ReportBenchFigures {
  patients: number;
  rawMs: number;
  reportMs: number;
  dryPeakRssMb: number;
  reportPeakRssMb: number;
}

export async function benchReport(patients: number, rounds = 3): Promise<ReportBenchFigures> {
  const server = await startServerProcess(patients);
  try {
    const runs: Record<Job, JobFigures[]> = { raw: [], dry: [], report: [] };
    for (let i = 0; i < rounds; i++) {
      for (const kind of JOBS) {
        runs[kind].push(await runJob(kind, server.baseUrl, String(server.child.pid)));
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
    const perJob = (figure: (r: JobFigures) => number, unit: string) =>
      JOBS.map((kind) => `${median(runs[kind].map(figure)).toFixed(unit === '%' ? 0 : 1)}${unit}`).join(', ');
    const rss = figures.reportPeakRssMb / figures.dryPeakRssMb;
    report(`hfu report against the raw fetch and a dry run: ${patients.toLocaleString('en-GB')} patients`, {
      [`raw fetch (two years of bounds), median of ${rounds}`]: `${(figures.rawMs / 1000).toFixed(2)} s`,
      [`report (figures, charts, HTML), median of ${rounds}`]: `${(figures.reportMs / 1000).toFixed(2)} s`,
      [`dry run, median of ${rounds}`]: `${(median(runs.dry.map((r) => r.ms)) / 1000).toFixed(2)} s`,
      'report / dry run': (figures.reportMs / median(runs.dry.map((r) => r.ms))).toFixed(2),
      'connector CPU (medians): raw fetch, dry run, report': perJob((r) => r.cpuMs / 1000, ' s'),
      'server busy (its CPU s / wall s): raw, dry, report': perJob((r) => r.serverBusy * 100, '%'),
      'report / raw fetch': `${time.toFixed(2)} (target <= 1.5: ${time <= 1.5 ? 'met' : 'NOT met'})`,
      'peak RSS: dry run, report (medians)': `${figures.dryPeakRssMb} MB, ${figures.reportPeakRssMb} MB`,
      'report / dry run peak RSS': `${rss.toFixed(2)} (target <= 1.5: ${rss <= 1.5 ? 'met' : 'NOT met'})`,
    });
    return figures;
  } finally {
    server.child.kill('SIGTERM');
  }
}

async function runJob(kind: Job, baseUrl: string, serverPid: string): Promise<JobFigures> {
  const serverBefore = cpuSecondsOf(serverPid);
  const figures = await jobProcess(kind, baseUrl);
  return { ...figures, serverBusy: (cpuSecondsOf(serverPid) - serverBefore) / (figures.ms / 1000) };
}

function jobProcess(kind: Job, baseUrl: string): Promise<Omit<JobFigures, 'serverBusy'>> {
  const child = spawn(process.execPath, [path.join(__dirname, 'report-worker.js'), kind, baseUrl], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('close', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as Omit<JobFigures, 'serverBusy'>)
        : reject(new Error(`report bench job ${kind} exited ${code}`))
    );
  });
}
