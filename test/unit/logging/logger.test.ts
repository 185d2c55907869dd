import { PassThrough } from 'node:stream';
import { createLogger, REDACTED, withLogContext } from '../../../src/logging';

function capture(format: 'json' | 'pretty' = 'json') {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
  return { logger: createLogger({ stream, format, level: 'debug' }), lines };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('structured logs', () => {
  it('writes JSON lines carrying the run and request context', async () => {
    const { logger, lines } = capture();
    await withLogContext({ runId: 'run-1' }, () =>
      withLogContext({ requestId: 'req-9' }, async () => logger.info('chunk evaluated', { patients: 100, ms: 42 }))
    );
    await flush();
    const line = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 'info',
      message: 'chunk evaluated',
      runId: 'run-1',
      requestId: 'req-9',
      patients: 100,
    });
  });

  it('redacts patient data and secrets passed by mistake, at any depth', async () => {
    const { logger, lines } = capture();
    logger.warn('oops', {
      name: [{ family: 'Smith' }],
      birthDate: '1950-01-01',
      details: { identifier: '9434765919', authorization: 'Bearer abc', count: 3 },
    });
    await flush();
    const text = lines.join('\n');
    expect(text).not.toMatch(/Smith|1950-01-01|9434765919|Bearer abc/);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      name: REDACTED,
      details: { identifier: REDACTED, count: 3 },
    });
  });

  it('can write readable lines for a terminal', async () => {
    const { logger, lines } = capture('pretty');
    logger.info('server ready', { port: 8103 });
    await flush();
    expect(lines[0]).toMatch(/info\s+server ready port=8103/);
  });
});
