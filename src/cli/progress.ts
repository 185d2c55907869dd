import type { RunProgress } from '../cohort';

/** For `--json`: stdout holds one document and stderr no bar, whatever the terminal. */
export const nowhere: NodeJS.WritableStream = { isTTY: false } as unknown as NodeJS.WritableStream;

/** Redrawn at most this often: a terminal repainted for every patient slows the run it reports on. */
const REDRAW_MS = 200;
const BAR_WIDTH = 24;

export interface ProgressBar {
  /** Whether anything will be drawn (a run asks the server for the population's size only then). */
  active: boolean;
  update(progress: RunProgress): void;
  /** Clears the line, leaving the terminal as it was. */
  done(): void;
}

/**
 * A one-line progress bar on a terminal: patients evaluated (of how many, when the server said), rate and time
 * left while reading; patients advanced and writes while writing. Nothing at all when the stream is not a
 * terminal (a pipe, a log file, `--json`): counts, never patients.
 */
export function progressBar(stream: NodeJS.WritableStream, now: () => number = () => performance.now()): ProgressBar {
  if (!(stream as { isTTY?: boolean }).isTTY) {
    return { active: false, update: () => undefined, done: () => undefined };
  }
  const started = now();
  let drawn = -Infinity;
  let shown = false;
  return {
    active: true,
    update(progress) {
      const t = now();
      if (t - drawn < REDRAW_MS) {
        return;
      }
      drawn = t;
      shown = true;
      stream.write(`\r\x1b[2K${progressLine(progress, (t - started) / 1000)}`);
    },
    done() {
      if (shown) {
        stream.write('\r\x1b[2K');
      }
    },
  };
}

/** The text of the bar, for a run `seconds` in. */
export function progressLine(progress: RunProgress, seconds: number): string {
  const n = (value: number) => value.toLocaleString('en-GB');
  if (progress.phase === 'writing') {
    const w = progress.writes;
    return `writing: ${n(progress.advanced)} patients advanced · ${n(w.created)} created, ${n(w.updated)} updated`;
  }
  const rate = seconds > 0 ? progress.evaluated / seconds : 0;
  const rateText = `${n(Math.round(rate))}/s`;
  if (!progress.expected) {
    return `reading: ${n(progress.evaluated)} patients · ${rateText}`;
  }
  const share = Math.min(1, progress.evaluated / progress.expected);
  const filled = Math.round(share * BAR_WIDTH);
  const left = rate > 0 ? Math.max(0, (progress.expected - progress.evaluated) / rate) : undefined;
  return (
    `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${n(progress.evaluated)} / ${n(progress.expected)} ` +
    `patients · ${rateText} · ${left === undefined ? 'ETA --' : `ETA ${duration(left)}`}`
  );
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
