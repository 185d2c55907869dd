import { configSchema } from '../../../src/config';
import { developmentUsers, userFromClaims } from '../../../src/pages';

const ui = (extra: Record<string, unknown> = {}) =>
  configSchema.parse({
    service: {
      ui: {
        publicUrl: 'https://mdt.example.nhs.uk',
        oidc: { issuer: 'https://issuer.example', clientId: 'hfu', ...extra },
        roles: { mdt: ['mdt', 'R8000'], lead: ['lead'], viewer: ['viewer'] },
      },
    },
  }).service.ui;

describe('userFromClaims', () => {
  it('reads the role claim as an array, one string, or space-separated values', () => {
    expect(userFromClaims({ sub: 'a', roles: ['R8000'] }, ui(), 'https://issuer.example/')?.role).toBe('mdt');
    expect(userFromClaims({ sub: 'a', roles: 'viewer' }, ui(), 'https://issuer.example/')?.role).toBe('viewer');
    expect(userFromClaims({ sub: 'a', roles: 'other lead' }, ui(), 'https://issuer.example/')?.role).toBe('lead');
  });

  it('gives the widest role when the claims hold several', () => {
    expect(userFromClaims({ sub: 'a', roles: ['viewer', 'mdt'] }, ui(), 'x')?.role).toBe('mdt');
    expect(userFromClaims({ sub: 'a', roles: ['viewer', 'lead', 'mdt'] }, ui(), 'x')?.role).toBe('lead');
  });

  it('refuses a user whose claim values match no role, or who has no subject', () => {
    expect(userFromClaims({ sub: 'a', roles: ['nurse'] }, ui(), 'x')).toBeUndefined();
    expect(userFromClaims({ sub: 'a' }, ui(), 'x')).toBeUndefined();
    expect(userFromClaims({ roles: ['mdt'] }, ui(), 'x')).toBeUndefined();
    expect(userFromClaims({ sub: 'a', roles: [{ code: 'mdt' }] }, ui(), 'x')).toBeUndefined();
  });

  it('reads the configured role claim', () => {
    const settings = ui({ roleClaim: 'nhsid_nrbac_roles' });
    expect(userFromClaims({ sub: 'a', nhsid_nrbac_roles: ['mdt'] }, settings, 'x')?.role).toBe('mdt');
    expect(userFromClaims({ sub: 'a', roles: ['mdt'] }, settings, 'x')).toBeUndefined();
  });

  it('limits an mdt member or viewer to the practices of the practice claim, never a lead', () => {
    const settings = ui({ practiceClaim: 'ods' });
    expect(userFromClaims({ sub: 'a', roles: 'mdt', ods: ['A1', 'B2'] }, settings, 'x')?.practices).toEqual([
      'A1',
      'B2',
    ]);
    // A practice claim that is configured but missing limits the user to no practice at all.
    expect(userFromClaims({ sub: 'a', roles: 'viewer' }, settings, 'x')?.practices).toEqual([]);
    expect(userFromClaims({ sub: 'a', roles: 'lead', ods: ['A1'] }, settings, 'x')?.practices).toBeUndefined();
    expect(userFromClaims({ sub: 'a', roles: 'mdt', ods: ['A1'] }, ui(), 'x')?.practices).toBeUndefined();
  });

  it('names the user by the issuer and subject as the agent of their decisions', () => {
    const user = userFromClaims({ sub: 'uuid-1', name: 'Ada Lovelace', roles: 'mdt' }, ui(), 'https://issuer/');
    expect(user).toEqual({
      subject: 'uuid-1',
      name: 'Ada Lovelace',
      role: 'mdt',
      agent: { identifier: { system: 'https://issuer/', value: 'uuid-1' }, display: 'Ada Lovelace' },
    });
  });
});

describe('userFromClaims with CIS2', () => {
  it('reads nhsid_nrbac_roles: job role codes as roles, organisation codes as practices', () => {
    const settings = ui({ roleClaim: 'nhsid_nrbac_roles', practiceClaim: 'nhsid_nrbac_roles' });
    const claims = {
      sub: '555021935107',
      name: 'Ada Example',
      nhsid_nrbac_roles: [
        { person_roleid: '1', org_code: 'Y99001', role_code: 'S8000:G8000:R8000', role_name: 'Clinical' },
        { person_roleid: '2', org_code: 'Y99002', role_code: 'S8001:G8005:R8008' },
      ],
    };
    expect(userFromClaims(claims, settings, 'x')).toMatchObject({ role: 'mdt', practices: ['Y99001', 'Y99002'] });
    expect(
      userFromClaims({ ...claims, nhsid_nrbac_roles: [{ role_code: 'S1:G2:R9' }] }, settings, 'x')
    ).toBeUndefined();
  });
});

describe('developmentUsers', () => {
  it('offers each configured workforce member as an MDT member, then one demo user per role', () => {
    const config = configSchema.parse({
      allocation: {
        workforce: [{ reference: 'PractitionerRole/splw-1', role: 'social-prescribing-link-worker', caseload: 5 }],
      },
    });
    const users = developmentUsers(config);
    expect(users.map((u) => [u.subject, u.role])).toEqual([
      ['PractitionerRole/splw-1', 'mdt'],
      ['demo-mdt', 'mdt'],
      ['demo-lead', 'lead'],
      ['demo-viewer', 'viewer'],
    ]);
    expect(users[0]?.agent).toEqual({
      reference: 'PractitionerRole/splw-1',
      display: 'Social prescribing link worker',
    });
  });
});
