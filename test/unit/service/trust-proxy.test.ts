import { ConfigError, loadConfig } from '../../../src/config';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ env });
  } catch (err) {
    if (err instanceof ConfigError) {
      return [...err.problems];
    }
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('service.trustProxy', () => {
  it('believes no proxy by default', () => {
    expect(loadConfig({ env: {} }).service.trustProxy).toBe(false);
  });

  it('takes a number of hops or a list of addresses and subnets, from the environment too', () => {
    expect(loadConfig({ env: { HFU_SERVICE__TRUST_PROXY: '1' } }).service.trustProxy).toBe(1);
    expect(loadConfig({ env: { HFU_SERVICE__TRUST_PROXY: 'false' } }).service.trustProxy).toBe(false);
    expect(
      loadConfig({ env: { HFU_SERVICE__TRUST_PROXY: '["10.0.0.0/8", "loopback", "fd00::1"]' } }).service.trustProxy
    ).toEqual(['10.0.0.0/8', 'loopback', 'fd00::1']);
  });

  it.each(['true', '0', '["proxy.internal"]', '["10.0.0.0/33"]', '["10.0.0.0/8/1"]', '[]'])(
    'refuses %s, naming the key',
    (value) => {
      expect(problems({ HFU_SERVICE__TRUST_PROXY: value }).join('\n')).toMatch(/service\.trustProxy/);
    }
  );
});

describe('service.limits.failedAuthPerMinute', () => {
  it('defaults to 30 and is set apart from the per-caller limit', () => {
    const { limits } = loadConfig({ env: { HFU_SERVICE__LIMITS__FAILED_AUTH_PER_MINUTE: '5' } }).service;
    expect(limits).toMatchObject({ failedAuthPerMinute: 5, requestsPerMinute: 300 });
    expect(loadConfig({ env: {} }).service.limits.failedAuthPerMinute).toBe(30);
  });
});
