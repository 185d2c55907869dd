/**
 * Subject-list searches on the embedded server's repository: indexed vs Medplum's plain MemoryRepository, over
 * 125,000 synthetic resources. Prints the median of 3 runs of 1,000 searches (200 for the plain repository, which
 * scans every Encounter per search).
 */
import { parseSearchRequest } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import { IndexedMemoryRepository, loadR4Definitions } from '../src/server';
import { synthesizePractice } from '../src/synth';
import { median, report } from './report';

const RESOURCES = 125_000;
const SUBJECTS_PER_SEARCH = 10;

export async function benchSearchIndex(): Promise<void> {
  loadR4Definitions();
  const { resources } = synthesizePractice({ patients: 10_000, seed: 1, asOf: '2026-11-23' });
  const sample = resources.slice(0, RESOURCES);
  const indexed = new IndexedMemoryRepository();
  await indexed.load(sample);
  const plain = new MemoryRepository();
  for (const resource of sample) {
    await plain.createResource(resource);
  }
  const patients = sample.filter((r) => r.resourceType === 'Patient').map((r) => r.id as string);
  const queries = Array.from({ length: 1000 }, (_, i) => {
    const subjects = Array.from(
      { length: SUBJECTS_PER_SEARCH },
      (_, k) => `Patient/${patients[(i * SUBJECTS_PER_SEARCH + k) % patients.length]}`
    );
    return parseSearchRequest(`Encounter?subject=${subjects.join(',')}&_count=1000`);
  });
  const msPerSearch = async (repo: MemoryRepository, n: number): Promise<number> => {
    const started = performance.now();
    for (const query of queries.slice(0, n)) {
      await repo.search(query);
    }
    return (performance.now() - started) / n;
  };
  const indexedMs = median([
    await msPerSearch(indexed, 1000),
    await msPerSearch(indexed, 1000),
    await msPerSearch(indexed, 1000),
  ]);
  const plainMs = median([await msPerSearch(plain, 200), await msPerSearch(plain, 200), await msPerSearch(plain, 200)]);
  report('embedded server: Encounter?subject=<10 patients> over 125,000 resources', {
    'indexed ms/search (median of 3 x 1,000)': indexedMs.toFixed(2),
    'plain MemoryRepository ms/search (median of 3 x 200)': plainMs.toFixed(1),
    'speed-up': `${Math.round(plainMs / indexedMs)}x`,
    'target (< 5 ms)': indexedMs < 5 ? 'met' : 'NOT met',
  });
}
