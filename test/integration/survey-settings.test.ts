import { main } from '../../src/cli/main';
import type { RunningFhirServer, ServerBehaviour } from '../../src/server';
import { startFhirServer } from '../../src/server';
import type { SurveyReport } from '../../src/survey';
import { synthesizePractice } from '../../src/synth';
import { captureIo } from '../helpers/io';
import { AS_OF } from './helpers/server';

/**
 * The survey's "settings that follow" against the embedded server behaving as other servers do (`--behave`): each
 * profile calls for the settings its CapabilityStatement and its answers imply, and only those.
 */
const BEHAVIOURS: ServerBehaviour[] = ['default', 'hapi', 'read-only', 'minimal'];
const { resources } = synthesizePractice({ patients: 40, seed: 41, asOf: AS_OF });

describe('hfu survey: the settings that follow, per server behaviour', () => {
  const servers = new Map<ServerBehaviour, RunningFhirServer>();
  const reports = new Map<ServerBehaviour, SurveyReport>();
  const texts = new Map<ServerBehaviour, string>();

  beforeAll(async () => {
    for (const behave of BEHAVIOURS) {
      const server = await startFhirServer({ resources, behave });
      servers.set(behave, server);
      const env = { HFU_FHIR__BASE_URL: server.baseUrl, HFU_LOG__LEVEL: 'error' };
      const json = captureIo(env);
      expect(await main(['survey', '--now', AS_OF, '--json'], json)).toBe(0);
      reports.set(behave, JSON.parse(json.out()) as SurveyReport);
      const text = captureIo(env);
      expect(await main(['survey', '--now', AS_OF], text)).toBe(0);
      texts.set(behave, text.out());
    }
  });
  afterAll(() => Promise.all([...servers.values()].map((s) => s.stop())));

  const advice = (behave: ServerBehaviour): Record<string, string> =>
    Object.fromEntries((reports.get(behave)?.capability.settings ?? []).map((s) => [s.setting, s.value]));

  it('default and hapi: transactions, lists of patients, incremental reads possible, nothing to change', () => {
    for (const behave of ['default', 'hapi'] as const) {
      expect({ behave, advice: advice(behave) }).toMatchObject({
        behave,
        advice: {
          'writeback.strategy': 'transaction (the default)',
          'extract.subjectSearch': 'or-list (the default)',
          'extract.incremental': 'true is possible',
        },
      });
      expect(advice(behave)['writeback.fhir']).toBeUndefined();
    }
    // Both declare Patient/$everything (minimal does not): the other subject search they allow.
    for (const behave of ['default', 'hapi', 'minimal'] as const) {
      const because = reports.get(behave)?.capability.settings.find((x) => x.setting === 'extract.subjectSearch');
      expect({ behave, everything: because?.because.includes('Patient/$everything') }).toEqual({
        behave,
        everything: behave !== 'minimal',
      });
    }
    // What hapi does differently (opaque next links, pages of 100) is not in its metadata: the same advice.
    expect(advice('hapi')).toEqual(advice('default'));
  });

  it('read-only: the programme’s records need a separate, writable target', () => {
    expect(advice('read-only')).toMatchObject({
      'writeback.fhir': 'a separate, writable endpoint',
      'extract.subjectSearch': 'or-list (the default)',
      'extract.incremental': 'true is possible',
    });
    expect(advice('read-only')['writeback.strategy']).toBeUndefined();
  });

  it('minimal: one patient per search, one write at a time, no incremental reads by search', () => {
    expect(advice('minimal')).toMatchObject({
      'writeback.strategy': 'individual',
      'extract.incremental': 'false',
    });
    // Refused lists are seen, not declared: the survey read one patient at a time and says so. Minimal declares no
    // $everything either, so one search per patient and type is what is left.
    expect(advice('minimal')['extract.subjectSearch']).toBe('per-patient');
    expect(reports.get('minimal')?.reads.every((r) => r.strategy === 'per-patient')).toBe(true);
  });

  it('differs between profiles only where the servers differ', () => {
    const keys = (behave: ServerBehaviour) => Object.keys(advice(behave)).sort();
    expect(keys('default')).toEqual(keys('hapi'));
    expect(keys('read-only')).toEqual(
      [...keys('default').filter((k) => k !== 'writeback.strategy'), 'writeback.fhir'].sort()
    );
    expect(keys('minimal')).toEqual(keys('default'));
    expect(advice('minimal')).not.toEqual(advice('default'));
  });

  it('with a separate target (writeback.fhir), advises on writes from the target’s metadata, writing nothing', async () => {
    const source = servers.get('read-only') as RunningFhirServer;
    const surveyWith = async (targetBehave: ServerBehaviour): Promise<SurveyReport> => {
      const target = servers.get(targetBehave) as RunningFhirServer;
      const before = target.repo.countsByType();
      const io = captureIo({
        HFU_FHIR__BASE_URL: source.baseUrl,
        HFU_WRITEBACK__FHIR__BASE_URL: target.baseUrl,
        HFU_LOG__LEVEL: 'error',
      });
      expect(await main(['survey', '--now', AS_OF, '--json'], io)).toBe(0);
      expect(target.repo.countsByType()).toEqual(before);
      return JSON.parse(io.out()) as SurveyReport;
    };
    const settingsOf = (report: SurveyReport) =>
      Object.fromEntries(report.capability.settings.map((x) => [x.setting, x.value]));

    const toDefault = await surveyWith('default');
    expect(toDefault.capability.target?.read).toBe(true);
    expect(toDefault.capability.target?.endpoint.replace(/\/$/, '')).toBe(servers.get('default')?.baseUrl);
    expect(settingsOf(toDefault)['writeback.fhir']).toBeUndefined();
    expect(settingsOf(toDefault)['writeback.strategy']).toBe('transaction (the default)');
    expect(toDefault.capability.checks.find((c) => c.use === 'Task: create')?.declared).toBe(true);
    expect(toDefault.capability.settings.filter((x) => x.change)).toEqual([]);

    const toMinimal = await surveyWith('minimal');
    expect(settingsOf(toMinimal)['writeback.strategy']).toBe('individual');
    expect(toMinimal.capability.settings.filter((x) => x.change).map((x) => x.setting)).toEqual(['writeback.strategy']);
  });

  it('prints the settings in the text report', () => {
    const text = texts.get('minimal') ?? '';
    expect(text).toMatch(/Settings that follow\n-+\n/);
    expect(text).toMatch(
      /writeback\.strategy\s+individual\s+YES\s+the server declares neither transactions nor batches/
    );
    expect(text).toMatch(/extract\.incremental\s+false\s+no\s+the server does not declare _lastUpdated/);
    expect(text).toContain(
      'This server needs: extract.subjectSearch: per-patient; writeback.strategy: individual (see Settings that follow).'
    );
    expect(texts.get('read-only')).toMatch(/writeback\.fhir\s+a separate, writable endpoint\s+YES/);
    expect(texts.get('default')).not.toContain('This server needs:');
  });

  it('marks as changes only the settings whose defaults would fail', () => {
    const changes = (behave: ServerBehaviour) =>
      (reports.get(behave)?.capability.settings ?? []).filter((s) => s.change).map((s) => s.setting);
    expect(changes('default')).toEqual([]);
    expect(changes('hapi')).toEqual([]);
    expect(changes('read-only')).toEqual(['writeback.fhir']);
    expect(changes('minimal').sort()).toEqual(['extract.subjectSearch', 'writeback.strategy']);
  });
});
