import { Writable } from 'node:stream';
import type { CarePlan, Task } from '@medplum/fhirtypes';
import { main } from '../src/cli/main';
import { configSchema } from '../src/config';
import { FhirClient } from '../src/fhir';
import { silentLogger } from '../src/logging';
import type { Report } from '../src/report';
import { startFhirServer } from '../src/server';
import { enrolmentDates, synthesizePractice } from '../src/synth';
import { MANAGED_TAG, token } from '../src/vocabulary';
async function cli(args: string[], env: Record<string, string>): Promise<string> {
  let out = '';
  const sink = (f: (s: string) => void) => new Writable({ write(c: Buffer, _e, d) { f(c.toString()); d(); } });
  const io = { stdout: sink((s) => (out += s)), stderr: sink(() => undefined), env, stopSignal: new Promise<string>(() => undefined) };
  if (await main(args, io)) throw new Error(args[0]);
  return out;
}
(async () => {
  const effect = Number(process.argv[2]);
  const practice = { patients: 12000, seed: 5, asOf: '2025-11-23', historyYears: 3 };
  const server = await startFhirServer({ resources: synthesizePractice(practice).resources });
  const fhir = configSchema.parse({ fhir: { baseUrl: server.baseUrl } }).fhir;
  const client = FhirClient.fromConfig({ ...fhir, baseUrl: server.baseUrl }, { logger: silentLogger() });
  const env = { HFU_FHIR__BASE_URL: server.baseUrl, HFU_LOG__LEVEL: 'warn', HFU_PROGRAMME__CAPACITY: '{"first":10,"second":35}' };
  await cli(['run', '--now', practice.asOf], env);
  for (const review of await client.searchAll<Task>('Task', { _tag: token(MANAGED_TAG) })) await client.update<Task>({ ...review, status: 'accepted', lastModified: new Date().toISOString() });
  await cli(['run', '--now', practice.asOf], env);
  const enrolments = enrolmentDates(await client.searchAll<CarePlan>('CarePlan', { _tag: token(MANAGED_TAG) }));
  await server.repo.load(synthesizePractice({ ...practice, followUp: { from: practice.asOf, until: '2026-11-23' }, programmeEffect: effect, enrolments }).resources);
  const report = JSON.parse(await cli(['report', '--now', '2026-11-23', '--json'], env)) as Report;
  console.log(effect, JSON.stringify(report.impact));
  await server.stop();
})().catch((e) => { console.error(e); process.exitCode = 1; });
