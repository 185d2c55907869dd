import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type {
  CarePlan,
  Flag,
  Goal,
  QuestionnaireResponse,
  QuestionnaireResponseItem,
  ServiceRequest,
  Task,
} from '@medplum/fhirtypes';
import {
  careRecord,
  checkInQuestionnaire,
  conversationQuestionnaire,
  questionnaires,
  validateResponse,
} from '../../../src/care';
import type { Episode, EpisodeForms } from '../../../src/lifecycle';
import { openReferrals, transitions } from '../../../src/lifecycle';
import { fileNameOf, QUESTIONNAIRES_DIR, validateAgainstProfile } from '../../../src/profiles';
import { CANONICAL_BASE, IDENTIFIER, MANAGED_TAG, PROFILE, QUESTIONNAIRE } from '../../../src/vocabulary';
import { coded, ons4, question } from '../../helpers/care-forms';

const goal = (description: string, who: string): QuestionnaireResponseItem => ({
  linkId: 'goals',
  item: [question('goal-description', { valueString: description }), question('goal-who', { valueString: who })],
});
const response = (questionnaire: string, item: QuestionnaireResponseItem[], id = 'qr1'): QuestionnaireResponse => ({
  resourceType: 'QuestionnaireResponse',
  id,
  questionnaire,
  status: 'completed',
  subject: { reference: 'Patient/p1' },
  authored: '2026-11-23T11:00:00Z',
  author: { reference: 'PractitionerRole/splw-1' },
  item,
});
const agreed = (): QuestionnaireResponseItem[] => [
  question('participation', coded('hfu-participation', 'yes')),
  question('what-matters', { valueString: 'My garden' }),
  goal('Walk twice a week', 'Me'),
  goal('Claim pension credit', 'Citizens Advice'),
  question('support', coded('hfu-support', 'housing'), coded('hfu-support', 'carer-support')),
  ons4([5, 6, 4, 7]),
  question('next-check-in', { valueDate: '2026-12-01' }),
];

describe('the care team forms (Questionnaires)', () => {
  it('are exactly what `hfu profiles` writes to questionnaires/, with stable canonical URLs and versions', () => {
    const built = questionnaires();
    expect(readdirSync(QUESTIONNAIRES_DIR).sort()).toEqual(built.map(fileNameOf).sort());
    for (const form of built) {
      expect(JSON.parse(readFileSync(path.join(QUESTIONNAIRES_DIR, fileNameOf(form)), 'utf8'))).toEqual(form);
    }
    expect(built.map((f) => `${f.url}|${f.version}`)).toEqual([
      'https://fhir.hfu-connector.org/Questionnaire/hfu-what-matters-conversation|1.0.0',
      'https://fhir.hfu-connector.org/Questionnaire/hfu-check-in|1.0.0',
    ]);
  });

  it.each(questionnaires().map((f) => [f.id, f] as const))('%s validates against its profile', (_id, form) => {
    expect(form.meta?.profile).toEqual([PROFILE.questionnaire]);
    expect(validateAgainstProfile(form)).toEqual([]);
  });

  it('fails validation without a version', () => {
    expect(validateAgainstProfile({ ...conversationQuestionnaire(), version: undefined })).not.toEqual([]);
  });
});

describe('a response checked against its form', () => {
  const conversation = conversationQuestionnaire();
  const check = (items: QuestionnaireResponseItem[]) =>
    validateResponse(conversation, response(QUESTIONNAIRE.conversation.url, items)).map((i) => `${i.code}:${i.linkId}`);

  it('accepts a complete conversation, a decline, and "not now" with its date', () => {
    expect(check(agreed())).toEqual([]);
    expect(check([question('participation', coded('hfu-participation', 'declined'))])).toEqual([]);
    expect(
      check([
        question('participation', coded('hfu-participation', 'not-now')),
        question('try-again-after', { valueDate: '2027-01-04' }),
      ])
    ).toEqual([]);
  });

  it.each<[string, QuestionnaireResponseItem[], string[]]>([
    ['no participation', [], ['missing-required:participation']],
    [
      '"not now" without a date',
      [question('participation', coded('hfu-participation', 'not-now'))],
      ['missing-required:try-again-after'],
    ],
    [
      'a participation code not on the list',
      [question('participation', coded('hfu-participation', 'maybe'))],
      ['not-an-option:participation'],
    ],
    [
      'a score given as text',
      [
        ...agreed().filter((i) => i.linkId !== 'wellbeing'),
        {
          linkId: 'wellbeing',
          item: [question('life-satisfaction', { valueString: '5' }), ...(ons4([5, 6, 4, 7]).item ?? []).slice(1)],
        },
      ],
      ['wrong-type:life-satisfaction'],
    ],
    [
      'a score of 11',
      [...agreed().filter((i) => i.linkId !== 'wellbeing'), ons4([5, 6, 11, 7])],
      ['out-of-range:happiness'],
    ],
    ['no wellbeing scores', agreed().filter((i) => i.linkId !== 'wellbeing'), ['missing-required:wellbeing']],
    ['six goals', [...agreed(), ...[1, 2, 3, 4].map((n) => goal(`Goal ${n}`, 'Me'))], ['too-many:goals']],
    [
      'a goal without who',
      [...agreed(), { linkId: 'goals', item: [question('goal-description', { valueString: 'x' })] }],
      ['missing-required:goal-who'],
    ],
    [
      'an item the form does not have',
      [...agreed(), question('nhs-number', { valueString: '9990000018' })],
      ['unknown-item:nhs-number'],
    ],
  ])('reports %s', (_name, items, expected) => {
    expect(check(items)).toEqual(expected);
  });
});

/** An enrolled episode whose conversation (and check-ins) the care team completed with these forms. */
function episodeWith(forms: Partial<EpisodeForms>, extra: Partial<Episode> = {}): Episode {
  const managed = { tag: [MANAGED_TAG] };
  const task = (id: string, status: Task['status']): Task => ({
    resourceType: 'Task',
    id,
    status,
    intent: 'order',
    meta: managed,
  });
  const plan: CarePlan = {
    resourceType: 'CarePlan',
    id: 'cp1',
    meta: { profile: [PROFILE.carePlan], tag: [MANAGED_TAG] },
    identifier: [{ system: IDENTIFIER.carePlan, value: 'nhse-hfu-2022/Patient/p1/care-plan/1' }],
    status: 'active',
    intent: 'plan',
    title: 'Personalised care and support plan (HFU programme)',
    category: [
      { coding: [{ system: `${CANONICAL_BASE}/CodeSystem/hfu`, code: 'personalised-care-and-support-plan' }] },
    ],
    subject: { reference: 'Patient/p1' },
    period: { start: '2026-11-20' },
    author: { reference: 'PractitionerRole/splw-1' },
    activity: [{ reference: { reference: 'Task/conv' } }],
  };
  return {
    number: 1,
    carePlan: plan,
    flag: {
      resourceType: 'Flag',
      id: 'f1',
      status: 'active',
      code: {},
      subject: { reference: 'Patient/p1' },
      meta: managed,
    },
    conversation: task('conv', 'completed'),
    checkIns: new Map(),
    forms: { checkIns: new Map(), unprocessable: [], ...forms },
    ...extra,
  };
}

const conversationForm = (items = agreed()) => ({
  task: 'Task/conv',
  response: response(QUESTIONNAIRE.conversation.url, items),
  completedOn: '2026-11-23',
  participation: 'yes' as const,
  nextCheckIn: '2026-12-01',
});
const settings = { asOf: '2026-11-23', checkInEveryDays: 14, checkInCount: 6 };
const patient = (episode: Episode) => ({ patientId: 'p1', episodes: [episode] });

describe('what the lifecycle does with completed forms', () => {
  const kinds = (episode: Episode) => transitions(patient(episode), undefined, false, settings).map((a) => a.kind);

  it('records the plan and schedules the first check-in on the date the professional set', () => {
    const actions = transitions(patient(episodeWith({ conversation: conversationForm() })), undefined, false, settings);
    expect(actions.map((a) => a.kind)).toEqual(['record-care', 'schedule-check-in']);
    expect(actions[1]).toMatchObject({ n: 1, due: '2026-12-01' });
  });

  it('closes the episode when the patient declines, and asks again later when they say not now', () => {
    const declined = { ...conversationForm(), participation: 'declined' as const };
    expect(kinds(episodeWith({ conversation: declined }))).toEqual(['patient-declined']);
    const notNow = { ...conversationForm(), participation: 'not-now' as const, tryAgainAfter: '2027-01-04' };
    const actions = transitions(patient(episodeWith({ conversation: notNow })), undefined, false, settings);
    expect(actions).toMatchObject([{ kind: 'reschedule-conversation', attempt: 2, due: '2027-01-04' }]);
  });

  const checkInForm = (nextStep: 'continue' | 'step-down' | 'discharge' | 'escalate') => ({
    task: 'Task/ci1',
    response: response(QUESTIONNAIRE.checkIn.url, [], 'qr2'),
    completedOn: '2026-12-01',
    nextStep,
  });
  const checkedIn = (nextStep: Parameters<typeof checkInForm>[0], extra: Partial<Episode> = {}) =>
    episodeWith(
      { conversation: conversationForm(), checkIns: new Map([[1, checkInForm(nextStep)]]) },
      {
        checkIns: new Map([[1, { resourceType: 'Task', id: 'ci1', status: 'completed', intent: 'order' } as Task]]),
        ...extra,
      }
    );

  it.each([
    ['step-down', ['record-care', 'complete-plan']],
    ['discharge', ['record-care', 'complete-plan']],
    ['escalate', ['record-care', 'escalate', 'schedule-check-in']],
    ['continue', ['record-care', 'schedule-check-in']],
  ] as const)('after a check-in saying %s: %j', (nextStep, expected) => {
    expect(kinds(checkedIn(nextStep))).toEqual(expected);
  });

  it('escalates once per check-in, and the next check-in follows the cadence when no date was set', () => {
    const escalated = checkedIn('escalate', {
      escalations: new Map([[1, { resourceType: 'Task', status: 'requested', intent: 'proposal' } as Task]]),
    });
    const actions = transitions(patient(escalated), undefined, false, settings);
    expect(actions.map((a) => a.kind)).toEqual(['record-care', 'schedule-check-in']);
    expect(actions[1]).toMatchObject({ n: 2, due: '2026-12-15' });
  });

  it('follows a plan ended with a referral the connector wrote still open (a killed run, a clinician), not others', () => {
    const referral = (status: ServiceRequest['status'], tagged = true): ServiceRequest => ({
      resourceType: 'ServiceRequest',
      id: `sr-${status}`,
      status,
      intent: 'order',
      subject: { reference: 'Patient/p1' },
      ...(tagged ? { meta: { tag: [MANAGED_TAG] } } : {}),
    });
    const ended = (...referrals: ServiceRequest[]) => {
      const episode = episodeWith({});
      return {
        ...episode,
        carePlan: { ...(episode.carePlan as CarePlan), status: 'completed' as const },
        flag: { ...(episode.flag as Flag), status: 'inactive' as const },
        referrals: new Map(referrals.map((r, i) => [i + 1, r])),
      };
    };
    for (const status of ['draft', 'active', 'on-hold'] as const) {
      expect(openReferrals(ended(referral(status)))).toHaveLength(1);
      expect(kinds(ended(referral(status)))).toEqual(['discharge']);
    }
    const closed = ended(
      referral('completed'),
      referral('revoked'),
      referral('entered-in-error'),
      referral('active', false)
    );
    expect(openReferrals(closed)).toEqual([]);
    expect(kinds(closed)).toEqual([]);
  });

  it('does nothing for an episode with an unprocessable form', () => {
    expect(
      kinds(
        episodeWith({ conversation: conversationForm(), unprocessable: [{ task: 'Task/ci1', reason: 'wrong-form' }] })
      )
    ).toEqual([]);
  });
});

describe('the plan made from the forms', () => {
  const ctx = { programmeId: 'nhse-hfu-2022', patientId: 'p1', patient: 'Patient/p1', checkInEveryDays: 14 };
  /** References as the server would give them, by the kind in the business identifier. */
  const TYPE_OF: Record<string, string> = {
    'care-plan': 'CarePlan',
    goal: 'Goal',
    referral: 'ServiceRequest',
    wellbeing: 'Observation',
  };
  const ref = (key: string) => {
    const [, kind, ...rest] = /Patient\/p1\/([a-z-]+)\/(.+)$/.exec(key) ?? [];
    return kind === 'care-plan'
      ? 'CarePlan/cp1'
      : `${TYPE_OF[kind as string]}/${kind}-${rest.join('').replace(/\//g, '-')}`;
  };

  it('has a Goal per goal, a referral per kind of support, the ONS4 scores, and the plan in PRSB sections; all valid', () => {
    const { writes, evidence } = careRecord(ctx, episodeWith({ conversation: conversationForm() }), ref);
    const byType = (type: string) => writes.filter((w) => w.resource.resourceType === type).map((w) => w.resource);
    expect(byType('Goal').map((g) => (g as Goal).description.text)).toEqual([
      'Walk twice a week',
      'Claim pension credit',
    ]);
    expect(
      byType('ServiceRequest').map((s) => (s as { code?: { coding?: { code?: string }[] } }).code?.coding?.[0]?.code)
    ).toEqual(['housing', 'carer-support']);
    expect(byType('Observation')).toHaveLength(1);
    const plan = byType('CarePlan')[0] as CarePlan;
    expect(plan.goal).toHaveLength(2);
    expect(plan.activity?.map((a) => a.reference?.reference)).toEqual([
      'Task/conv',
      'ServiceRequest/referral-1-3',
      'ServiceRequest/referral-1-6',
    ]);
    const headings = [...(plan.text?.div ?? '').matchAll(/<h2>([^<]+)<\/h2>/g)].map((m) => m[1]);
    expect(headings).toEqual([
      'About me',
      'What matters to me',
      'My goals',
      'Support and actions',
      'Contacts',
      'Review date',
    ]);
    expect(plan.text?.div).toContain('Next check-in: 1 December 2026');
    expect(evidence).toEqual(['QuestionnaireResponse/qr1']);
    for (const resource of writes.map((w) => w.resource)) {
      expect({ type: resource.resourceType, issues: validateAgainstProfile(resource) }).toEqual({
        type: resource.resourceType,
        issues: [],
      });
    }
  });

  it('cancels a goal it wrote that an amended conversation no longer has, and leaves an achieved one', () => {
    const earlier = (n: number, lifecycleStatus: Goal['lifecycleStatus']): Goal => ({
      resourceType: 'Goal',
      id: `goal-1-${n}`,
      meta: { profile: [PROFILE.goal], tag: [MANAGED_TAG] },
      identifier: [{ system: IDENTIFIER.goal, value: `nhse-hfu-2022/Patient/p1/goal/1/${n}` }],
      lifecycleStatus,
      description: { text: `Earlier goal ${n}` },
      subject: { reference: 'Patient/p1' },
    });
    const goalsOf = (episode: Episode) =>
      careRecord(ctx, episode, ref)
        .writes.filter((w) => w.resource.resourceType === 'Goal')
        .map((w) => [w.identifier.value.split('/').pop(), (w.resource as Goal).lifecycleStatus, w.owned.length]);
    const amended = (goals: [number, Goal][]) =>
      episodeWith({ conversation: conversationForm() }, { goals: new Map(goals) });
    // The form now has two goals: the third written earlier is cancelled (its status only), the other two rewritten.
    expect(goalsOf(amended([1, 2, 3].map((n) => [n, earlier(n, 'active')])))).toEqual([
      ['1', 'active', 9],
      ['2', 'active', 9],
      ['3', 'cancelled', 1],
    ]);
    expect(goalsOf(amended([[3, earlier(3, 'completed')]])).map(([n]) => n)).toEqual(['1', '2']);
    expect(goalsOf(amended([[3, earlier(3, 'cancelled')]])).map(([n]) => n)).toEqual(['1', '2']);
    const foreign = { ...earlier(3, 'active'), meta: {} };
    expect(goalsOf(amended([[3, foreign]])).map(([n]) => n)).toEqual(['1', '2']);
  });

  it('escapes what the care team wrote in the narrative', () => {
    const items = agreed().map((i) =>
      i.linkId === 'what-matters' ? question('what-matters', { valueString: '<script>x</script> & more' }) : i
    );
    const { writes } = careRecord(ctx, episodeWith({ conversation: conversationForm(items) }), ref);
    const div = (writes.find((w) => w.resource.resourceType === 'CarePlan')?.resource as CarePlan).text?.div;
    expect(div).toContain('&lt;script&gt;x&lt;/script&gt; &amp; more');
    expect(div).not.toContain('<script>');
  });

  it('leaves out a list it has nothing for (a server drops an empty one, and the plan would be rewritten every run)', () => {
    const items = agreed().filter((i) => i.linkId !== 'goals');
    const { writes } = careRecord(ctx, episodeWith({ conversation: conversationForm(items) }), ref);
    const plan = writes.find((w) => w.resource.resourceType === 'CarePlan')?.resource as CarePlan;
    expect(writes.filter((w) => w.resource.resourceType === 'Goal')).toEqual([]);
    expect(Object.keys(plan)).not.toContain('goal');
    expect(plan.activity?.length).toBeGreaterThan(0);
  });

  it('makes nothing of a decline', () => {
    const declined = {
      ...conversationForm([question('participation', coded('hfu-participation', 'declined'))]),
      participation: 'declined' as const,
    };
    expect(careRecord(ctx, episodeWith({ conversation: declined }), ref).writes).toEqual([]);
  });

  it("asks at a check-in how things are going, each goal's progress, access, ONS4, the next step and date", () => {
    expect(checkInQuestionnaire().item?.map((i) => i.linkId)).toEqual([
      'how-things-are-going',
      'goal-progress',
      'access-problem',
      'access-problem-details',
      'wellbeing',
      'next-step',
      'next-check-in',
    ]);
  });
});
