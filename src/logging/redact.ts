/**
 * Keys whose values never reach a log line. Log calls should only ever carry ids, counts and timings; this is the
 * safety net for a mistake, not a licence to log resources. Matching is on the key name, case-insensitive.
 */
const SENSITIVE_KEYS = new Set(
  [
    'authorization',
    'access_token',
    'accesstoken',
    'token',
    'clientsecret',
    'client_secret',
    'password',
    'secret',
    'apikey',
    'cookie',
    'name',
    'given',
    'family',
    'birthdate',
    'address',
    'telecom',
    'identifier',
    'nhsnumber',
    'text',
    'note',
    'div',
    'body',
    'resource',
  ].map((k) => k.toLowerCase())
);

export const REDACTED = '[redacted]';

/** The value to log for `key`: redacted when the key is sensitive, otherwise `value` with its own keys redacted. */
export function redactField(key: string, value: unknown, seen = new WeakSet<object>()): unknown {
  return SENSITIVE_KEYS.has(key.toLowerCase()) ? REDACTED : redact(value, seen);
}

/** Returns a copy of `value` with sensitive keys replaced, to any depth (cycles are cut). */
export function redact(value: unknown, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') {
    return value;
  }
  if (seen.has(value)) {
    return '[circular]';
  }
  seen.add(value);
  if (Array.isArray(value)) {
    return value.map((v) => redact(v, seen));
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = redactField(key, v, seen);
  }
  return out;
}
