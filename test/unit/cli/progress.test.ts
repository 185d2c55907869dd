import { Writable } from 'node:stream';
import type { RunProgress } from '../../../src/cohort';
import { progressBar, progressLine } from '../../../src/cli/progress';

const writes = { created: 0, updated: 0, unchanged: 0, provenance: 0 };
const reading = (evaluated: number, expected?: number): RunProgress => ({
  phase: 'reading',
  evaluated,
  advanced: 0,
  writes,
  ...(expected ? { expected } : {}),
});

function terminal(isTTY: boolean): { stream: NodeJS.WritableStream; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream: Object.assign(stream, { isTTY }), text: () => text };
}

describe('the progress bar', () => {
  it('shows patients of the expected, the rate and the time left', () => {
    expect(progressLine(reading(4200, 10_000), 3)).toBe(
      '[##########..............] 4,200 / 10,000 patients · 1,400/s · ETA 4s'
    );
    expect(progressLine(reading(1000, 100_000), 10)).toMatch(/· 100\/s · ETA 16m30s$/);
    expect(progressLine(reading(300), 2)).toBe('reading: 300 patients · 150/s');
    expect(
      progressLine({ phase: 'writing', evaluated: 10, advanced: 7, writes: { ...writes, created: 9, updated: 2 } }, 5)
    ).toBe('writing: 7 patients advanced · 9 created, 2 updated');
  });

  it('draws on a terminal at most every 200 ms, and clears its line at the end', () => {
    let t = 0;
    const { stream, text } = terminal(true);
    const bar = progressBar(stream, () => t);
    t = 250;
    bar.update(reading(100, 1000));
    t = 300;
    bar.update(reading(120, 1000)); // too soon: not drawn
    t = 500;
    bar.update(reading(200, 1000));
    bar.done();
    const frames = text().split('\r\x1b[2K').filter(Boolean);
    expect(frames).toEqual([expect.stringContaining('100 / 1,000'), expect.stringContaining('200 / 1,000')]);
    expect(text().endsWith('\r\x1b[2K')).toBe(true);
  });

  it('writes nothing when the stream is not a terminal', () => {
    const { stream, text } = terminal(false);
    const bar = progressBar(stream, () => 1000);
    bar.update(reading(100, 1000));
    bar.done();
    expect(text()).toBe('');
  });
});
