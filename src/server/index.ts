import type { Resource } from '@medplum/fhirtypes';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logging';
import { createFhirApp, FHIR_BASE_PATH } from './app';
import type { ServerBehaviour } from './behaviour';
import { loadR4Definitions } from './definitions';
import { IndexedMemoryRepository } from './repository';

export { createFhirApp, FHIR_BASE_PATH } from './app';
export type { ServerBehaviour } from './behaviour';
export { HAPI_MAX_PAGE_SIZE, isServerBehaviour, SERVER_BEHAVIOURS } from './behaviour';
export { loadR4Definitions } from './definitions';
export { checkSearchQuery, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './query';
export { IndexedMemoryRepository } from './repository';

export interface FhirServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Trusted resources loaded before the server listens (the synthetic population). */
  resources?: Iterable<Resource>;
  repo?: IndexedMemoryRepository;
  logger?: Logger;
  /** Behave like another kind of server (default: like itself); see behaviour.ts. */
  behave?: ServerBehaviour;
}

export interface RunningFhirServer {
  /** e.g. `http://127.0.0.1:8103/fhir/R4` */
  baseUrl: string;
  port: number;
  repo: IndexedMemoryRepository;
  stop(): Promise<void>;
}

/** Starts the embedded FHIR R4 server; tests use `port: 0` on 127.0.0.1. */
export async function startFhirServer(options: FhirServerOptions = {}): Promise<RunningFhirServer> {
  loadR4Definitions();
  const repo = options.repo ?? new IndexedMemoryRepository();
  if (options.resources) {
    await repo.load(options.resources);
  }
  const app = createFhirApp({ repo, logger: options.logger, behave: options.behave });
  const host = options.host ?? '127.0.0.1';
  // Express 5 calls back with the listen error (EADDRINUSE, EACCES): reject with it, never resolve unbound.
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(options.port ?? 0, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  server.keepAliveTimeout = 5_000;
  const port = (server.address() as AddressInfo).port;
  const displayHost = host.includes(':') ? `[${host}]` : host;
  return {
    baseUrl: `http://${displayHost}:${port}${FHIR_BASE_PATH}`,
    port,
    repo,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
