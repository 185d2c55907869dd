import type { OperationOutcome } from '@medplum/fhirtypes';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';

let fhir: RunningFhirServer;
beforeAll(async () => {
  fhir = await startFhirServer({});
});
afterAll(() => fhir.stop());

async function post(
  headers: Record<string, string>,
  body: string
): Promise<{ status: number; outcome: OperationOutcome }> {
  const res = await fetch(`${fhir.baseUrl}/Patient`, { method: 'POST', headers, body });
  expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  return { status: res.status, outcome: (await res.json()) as OperationOutcome };
}

describe('the embedded server answers every error as an OperationOutcome', () => {
  it('a body that is not JSON is a 400 saying so', async () => {
    const { status, outcome } = await post({ 'Content-Type': 'application/fhir+json' }, '{"resourceType":');
    expect(status).toBe(400);
    expect(outcome.issue).toEqual([
      { severity: 'error', code: 'invalid', details: { text: 'The request body is not valid JSON' } },
    ]);
  });

  it.each([
    ['an encoding it does not know', 'compress', 415, 'The request body cannot be read (encoding.unsupported)'],
    ['a Brotli body that does not decompress', 'br', 400, 'The request body cannot be read'],
  ])('%s (Content-Encoding: %s) is a %i naming the reason, not a 500', async (_name, encoding, expected, text) => {
    const { status, outcome } = await post(
      { 'Content-Type': 'application/fhir+json', 'Content-Encoding': encoding },
      '{"resourceType":"Patient"}'
    );
    expect(status).toBe(expected);
    expect(outcome.issue).toEqual([{ severity: 'error', code: 'invalid', details: { text } }]);
  });

  it("the router's own outcomes keep their status", async () => {
    const res = await fetch(`${fhir.baseUrl}/Patient/no-such-patient`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as OperationOutcome).id).toBe('not-found');
  });
});
