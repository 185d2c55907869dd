import path from 'node:path';
import nunjucks from 'nunjucks';
import { longDate } from '../dates';
import { PACKAGE_ROOT } from '../package-root';

/** Where NHS.UK frontend's built files are: `nhsuk/components/<name>/macro.njk`, its CSS, JS and assets. */
export const NHSUK_DIST = path.join(path.dirname(require.resolve('nhsuk-frontend/package.json')), 'dist');
/** The workspace's templates and browser files: not compiled, so shipped as they are (package.json `files`). */
const WEB_DIR = path.join(PACKAGE_ROOT, 'src', 'pages', 'web');
export const VIEWS_DIR = path.join(WEB_DIR, 'templates');
/** The workspace's own browser files: the stylesheet additions and the progressive-enhancement script. */
export const ASSETS_DIR = path.join(WEB_DIR, 'assets');

export interface Views {
  /** The page, from its template, the request's locals (user, CSRF token, banner) and the page's own data. */
  render(template: string, locals: Record<string, unknown>, data?: Record<string, unknown>): string;
}

/** A nunjucks environment over the workspace's templates and NHS.UK frontend's macros, escaping everything. */
export function createViews(globals: Record<string, unknown>): Views {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader([VIEWS_DIR, NHSUK_DIST]), {
    autoescape: true,
    throwOnUndefined: false,
  });
  for (const [name, value] of Object.entries(globals)) {
    env.addGlobal(name, value);
  }
  env.addFilter('nhsNumber', formatNhsNumber);
  env.addFilter('date', formatDate);
  env.addFilter('dateTime', formatDateTime);
  return {
    render: (template, locals, data = {}) => env.render(template, { ...locals, ...data }),
  };
}

/** 9434765919 → 943 476 5919, as NHS numbers are shown to people. */
export function formatNhsNumber(value: unknown): string {
  const digits = String(value ?? '');
  return /^\d{10}$/.test(digits) ? `${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}` : digits;
}

const DATE_TIME = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  timeZone: 'Europe/London',
});

/** A FHIR date or dateTime as "1 December 2026", on London's calendar (src/dates: the report uses the same). */
export function formatDate(value: unknown): string {
  return typeof value === 'string' && value ? longDate(value) : '';
}

/** An instant as "1 December 2026 at 14:05" in UK time. */
export function formatDateTime(value: unknown): string {
  if (typeof value !== 'string' && !(value instanceof Date)) {
    return '';
  }
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : DATE_TIME.format(date);
}
