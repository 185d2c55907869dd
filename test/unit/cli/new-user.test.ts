import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { RunResult } from '../../../src/cohort';
import { rulesFrom } from '../../../src/cohort';
import { loadConfig } from '../../../src/config';
import { main } from '../../../src/cli/main';
import { runSummary } from '../../../src/cli/runtime';
import type { Decision } from '../../../src/criteria';
import { BUILT_IN_MAPPINGS_DIR } from '../../../src/mappings';
import { captureIo } from '../../helpers/io';

const ROOT = path.join(__dirname, '../../..');
/** The mapping folders shipped: every folder of mappings/ holding a mapping.yaml. */
const BUILT_INS = readdirSync(path.join(ROOT, 'mappings'))
  .filter((name) => existsSync(path.join(ROOT, 'mappings', name, 'mapping.yaml')))
  .sort()
  .join(', ');

describe('with no FHIR endpoint configured', () => {
  it('validate-config, run, explain, tune and survey say the same: which commands start the embedded server', async () => {
    const check = captureIo();
    expect(await main(['validate-config'], check)).toBe(0);
    const said = /FHIR endpoint: none configured: (.*)/.exec(check.out())?.[1] as string;
    expect(said).toContain('`hfu serve` (npm start) and `hfu demo` start the embedded server');
    expect(check.out()).not.toContain('(embedded server)');
    for (const args of [['run', '--dry-run'], ['explain', 'Patient/p1'], ['tune'], ['survey']]) {
      const io = captureIo();
      expect({ args, code: await main(args, io) }).toEqual({ args, code: 2 });
      expect(io.err()).toBe(`hfu: no FHIR endpoint configured: ${said}\n`);
    }
  });
});

describe('--mapping', () => {
  it('names the built-in mappings when given a name that is not one', async () => {
    const io = captureIo();
    expect(await main(['validate-config', '--mapping', 'uk_core'], io)).toBe(2);
    expect(io.err()).toBe(
      "hfu: invalid mapping uk_core:\n  - no built-in mapping 'uk_core' (nearest: 'uk-core') " +
        `(built-in mappings: ${BUILT_INS}), nor a file or folder of that name\n`
    );
  });

  it('takes a mapping folder, relative or absolute, as well as its file', async () => {
    const folder = path.join(BUILT_IN_MAPPINGS_DIR, 'uk-core');
    for (const ref of [path.relative(process.cwd(), folder), folder, path.join(folder, 'mapping.yaml')]) {
      const io = captureIo();
      expect({ ref, code: await main(['validate-config', '--mapping', ref], io) }).toEqual({ ref, code: 0 });
      expect(io.out()).toContain('mapping: uk-core (');
    }
  });

  it('says so when a folder holds no mapping.yaml, or a path leads nowhere', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'hfu-empty-'));
    const io = captureIo();
    expect(await main(['validate-config', '--mapping', empty], io)).toBe(2);
    expect(io.err()).toContain(`invalid mapping ${path.join(empty, 'mapping.yaml')}`);
    expect(io.err()).toContain('the folder holds no mapping.yaml');
    const nowhere = captureIo();
    expect(await main(['validate-config', '--mapping', path.join(empty, 'nope.yaml')], nowhere)).toBe(2);
    expect(nowhere.err()).toContain(`no such mapping file or folder (built-in mappings: ${BUILT_INS})`);
  });
});

describe('element paths in a mapping', () => {
  /** A copy of the built-in uk-core mapping with `edit` applied to its mapping.yaml. */
  function brokenCopy(edit: (text: string) => string): string {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'hfu-map-')), 'my-mapping');
    mkdirSync(dir);
    cpSync(path.join(BUILT_IN_MAPPINGS_DIR, 'uk-core'), dir, { recursive: true });
    const file = path.join(dir, 'mapping.yaml');
    writeFileSync(file, edit(readFileSync(file, 'utf8')));
    return dir;
  }

  it('fails at load with the file, the feature, the path and the nearest real element name', async () => {
    const dir = brokenCopy((text) =>
      text
        .replace("- class.code = 'IMP'", "- class.cod = 'IMP'")
        .replace(
          "where: class.code = 'EMER'\n    date: period.start",
          "where: class.code = 'EMER'\n    date: period.strat"
        )
        .replace("status = 'active', provision.type = 'deny'", "status = 'active', provison.type = 'deny'")
        .replace('medication.ofType(Reference).reference', 'medication.ofType(Reference).refrence')
    );
    const io = captureIo();
    expect(await main(['validate-config', '--mapping', dir], io)).toBe(2);
    const lines = io.err().split('\n');
    expect(lines[0]).toBe(`hfu: invalid mapping ${path.join(dir, 'mapping.yaml')}:`);
    expect(lines.slice(1).filter(Boolean).sort()).toEqual(
      [
        "  - features.unplannedAdmissions.where: Encounter.class.cod: Coding has no element 'cod' (nearest: 'code')",
        "  - features.edAttendances.date: Encounter.period.strat: Period has no element 'strat' (nearest: 'start')",
        "  - features.optOutConsent.where: Consent.provison: Consent has no element 'provison' (nearest: 'provision')",
        '  - features.repeatMedications.aggregate: MedicationRequest.medicationReference.refrence: ' +
          "Reference has no element 'refrence' (nearest: 'reference')",
      ].sort()
    );
  });

  it('loads the built-in mappings, whose paths are all real', async () => {
    for (const mapping of ['uk-core', 'synthea']) {
      const io = captureIo();
      expect({ mapping, code: await main(['validate-config', '--mapping', mapping], io) }).toEqual({
        mapping,
        code: 0,
      });
    }
  });
});

describe('the run summary', () => {
  const { programme } = rulesFrom(loadConfig());
  const candidate = (patientId: string, tier: 'first' | 'second', admissions: number, items: number, risks = 0) =>
    ({
      patientId,
      tier,
      qualifyingTier: tier,
      facts: { unplannedAdmissions: admissions, repeatMedications: items, edAttendances: 0 },
      evidence: {},
      excludedBy: [],
      riskFactors: Array.from({ length: risks }, (_, i) => `risk-${i}`),
    }) as Decision;

  it("lists the top candidates in the programme's priority order, and says so", () => {
    // Patient ids in the opposite order to the priority, so an id order cannot pass.
    const candidates = [
      candidate('a', 'second', 1, 30),
      candidate('b', 'second', 1, 12, 3),
      candidate('c', 'second', 1, 12, 1),
      candidate('d', 'first', 2, 10),
      candidate('e', 'first', 2, 11),
      candidate('f', 'first', 4, 10),
    ];
    const result = {
      population: 100,
      asOf: '2026-12-01',
      complete: true,
      dryRun: true,
      tiers: { first: 3, second: 3 },
      candidates,
      waitlisted: [],
      excluded: {},
      skipped: [],
      warnings: [],
      awaitingCapacity: [],
      actions: {},
      writes: { created: 0, updated: 0, unchanged: 0, provenance: 0, failures: [] },
    } as unknown as RunResult;
    const lines = runSummary(result, programme, 5);
    const heading = lines.findIndex((l) => l.startsWith('Top '));
    // The wording, from the files: the programme's tiers and ranking, the mapping's feature titles.
    const read = (file: string) => parseYaml(readFileSync(path.join(ROOT, file), 'utf8')) as Record<string, unknown>;
    const hfu = read('programmes/nhse-hfu-2022.yaml') as { rankBy: string[]; tiers: { title: string }[] };
    const features = read('mappings/uk-core/mapping.yaml').features as Record<string, { title: string }>;
    const ranking = hfu.rankBy.map((key) => (key === 'riskFactorCount' ? 'Risk factors' : features[key]?.title));
    expect(lines[heading]).toBe(
      `Top 5 of 6 candidates, in the programme's priority order (${hfu.tiers.map((t) => t.title).join(', then ')}; ` +
        `within each, most first by: ${ranking.join(', ')}):`
    );
    const shown = lines.slice(heading + 1, heading + 6).map((l) => /Patient\/(\w+)/.exec(l)?.[1]);
    expect(shown).toEqual(['f', 'e', 'd', 'a', 'b']);
  });
});
