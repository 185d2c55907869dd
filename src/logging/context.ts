import { AsyncLocalStorage } from 'node:async_hooks';

/** Fields attached to every log line written inside a context: run id, request id, patient chunk... ids only. */
export type LogContext = Readonly<Record<string, string | number>>;

const storage = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `fields` added to the current log context (nested contexts merge, inner wins). */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, fn);
}

export function currentLogContext(): LogContext {
  return storage.getStore() ?? {};
}
