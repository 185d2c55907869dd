import { Writable } from 'node:stream';
import type { Request, Response } from 'express';
import { createLogger } from '../../../src/logging';
import { errorHandler } from '../../../src/service/errors';

function capture(): { res: Response; sent: () => { status?: number; body?: unknown } } {
  let sent: { status?: number; body?: unknown } = {};
  const res = {
    headersSent: false,
    status(code: number) {
      sent.status = code;
      return this;
    },
    json(body: unknown) {
      sent = { ...sent, body };
      return this;
    },
  } as unknown as Response;
  return { res, sent: () => sent };
}

describe('the service error handler', () => {
  it('answers a body that would not decompress (body-parser: a 400 with no type) 400, not 500', () => {
    const handle = errorHandler(createLogger({ level: 'error', format: 'json', stream: new Writable() }));
    const { res, sent } = capture();
    const zlibError = Object.assign(new Error('incorrect header check'), { status: 400, expose: true });
    handle(zlibError, {} as Request, res, () => undefined);
    expect(sent()).toEqual({ status: 400, body: { error: { status: 400, message: 'bad request body (unreadable)' } } });
  });

  it('answers 500 and logs the error name and stack frames, never its message, however many lines it has', () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const handle = errorHandler(createLogger({ level: 'error', format: 'json', stream }));
    const { res, sent } = capture();
    handle(new Error('Patient Jane Doe\nNHS number 9434765919\nborn 1950-01-01'), {} as Request, res, () => undefined);

    expect(sent()).toEqual({ status: 500, body: { error: { status: 500, message: 'internal error' } } });
    const logged = JSON.parse(lines.join('')) as { message: string; error: string; frames: string };
    expect(logged).toMatchObject({ message: 'request failed', error: 'Error' });
    expect(logged.frames).toMatch(/^\s+at /);
    expect(lines.join('')).not.toMatch(/Jane|9434765919|1950-01-01/);
  });
});
