import { Writable } from 'node:stream';
import type { Config } from '../../../src/config';
import { configSchema } from '../../../src/config';
import { createLogger } from '../../../src/logging';
import type { RunningService } from '../../../src/service';
import { newApiKey, startService } from '../../../src/service';

/** API keys for both roles, made fresh per test file. */
export function testKeys(): { read: string; operate: string; entries: Config['service']['auth']['apiKeys'] } {
  const read = newApiKey();
  const operate = newApiKey();
  return {
    read: read.key,
    operate: operate.key,
    entries: [
      { name: 'reader', sha256: read.sha256, role: 'read' },
      { name: 'operator', sha256: operate.sha256, role: 'operate' },
    ],
  };
}

export interface TestService extends RunningService {
  /** Every log line the service wrote, parsed. */
  logs: Record<string, unknown>[];
  call(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
}

/** The service in-process on a free port over `fhirBaseUrl`, logging JSON lines into `logs`. */
export async function startTestService(fhirBaseUrl: string, config: Record<string, unknown>): Promise<TestService> {
  const logs: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunk
        .toString()
        .split('\n')
        .filter(Boolean)
        .forEach((line) => logs.push(JSON.parse(line) as Record<string, unknown>));
      done();
    },
  });
  const parsed = configSchema.parse({ ...config, fhir: { ...(config.fhir as object), baseUrl: fhirBaseUrl } });
  // A free port, unless the test chose one the OS gave it (the workspace's public URL must name it before start).
  parsed.service.port = (config.service as { port?: number } | undefined)?.port ?? 0;
  const logger = createLogger({ level: 'debug', format: 'json', stream });
  const service = await startService({ ...parsed, fhir: { ...parsed.fhir, baseUrl: fhirBaseUrl } }, logger);
  const call = (path: string, init: RequestInit & { token?: string } = {}): Promise<Response> => {
    const { token, headers, ...rest } = init;
    return fetch(`${service.url}${path}`, {
      ...rest,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(headers as Record<string, string>) },
    });
  };
  return { ...service, logs, call };
}
