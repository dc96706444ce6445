import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  budgetYear,
  budgetYearOptions,
  ConfigError,
  linearYearEndForecast,
  overviewNarrowing,
  parseRoute,
  parseRuntimeConfig,
  principalOfToken,
  resumePoint,
} from '../../dashboard/src/logic.js';
import { interpolate, pickLocale, translator } from '../../dashboard/src/i18n/translate.js';

const devConfig = {
  graphqlPath: '/graphql',
  auth: { mode: 'dev', principals: [{ label: 'BE officer', role: 'MEMBER_STATE', memberState: 'BE' }] },
  defaultLocale: 'en',
  locales: ['en'],
};

describe('dashboard: runtime settings (config.json)', () => {
  it('reads dev, oidc and none modes', () => {
    expect(parseRuntimeConfig(devConfig).auth).toEqual(devConfig.auth);
    const oidc = parseRuntimeConfig({
      ...devConfig,
      auth: { mode: 'oidc', issuer: 'https://id.example.eu/realms/avrr', clientId: 'dash', scopes: 'openid profile' },
    });
    expect(oidc.auth).toMatchObject({ mode: 'oidc', redirectPath: '/dashboard/callback' });
    expect(parseRuntimeConfig({ ...devConfig, auth: { mode: 'none' } }).auth).toEqual({ mode: 'none' });
  });

  it.each([
    ['not an object', 'nope', /the body must be an object/],
    ['null', null, /the body must be an object/],
    ['a graph elsewhere', { ...devConfig, graphqlPath: 'https://evil.example/graphql' }, /graphqlPath/],
    ['a protocol-relative graph', { ...devConfig, graphqlPath: '//evil.example/graphql' }, /graphqlPath/],
    ['an unknown mode', { ...devConfig, auth: { mode: 'magic' } }, /auth.mode/],
    [
      'an http issuer',
      { ...devConfig, auth: { mode: 'oidc', issuer: 'http://id.example.eu', clientId: 'x' } },
      /issuer/,
    ],
    [
      'a javascript issuer',
      { ...devConfig, auth: { mode: 'oidc', issuer: 'javascript:alert(1)', clientId: 'x' } },
      /iss/,
    ],
    [
      'a huge client id',
      { ...devConfig, auth: { mode: 'oidc', issuer: 'https://a.eu', clientId: 'x'.repeat(5000) } },
      /clientId/,
    ],
    [
      'a lower-case state',
      { ...devConfig, auth: { mode: 'dev', principals: [{ label: 'x', role: 'MEMBER_STATE', memberState: 'be' }] } },
      /memberState/,
    ],
    [
      'a script partner',
      { ...devConfig, auth: { mode: 'dev', principals: [{ label: 'x', role: 'PARTNER', partnerId: '<script>' }] } },
      /partnerId/,
    ],
    [
      'too many principals',
      { ...devConfig, auth: { mode: 'dev', principals: Array(101).fill({ label: 'a', role: 'ADMIN' }) } },
      /principals/,
    ],
    ['a bad locale', { ...devConfig, locales: ['../../etc'] }, /locales\[0\]/],
  ])('refuses %s, naming the field', (_name, body, message) => {
    expect(() => parseRuntimeConfig(body)).toThrow(ConfigError);
    expect(() => parseRuntimeConfig(body)).toThrow(message);
  });
});

describe('dashboard: the principal a token names (display only)', () => {
  const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

  it('reads role, scope and expiry', () => {
    expect(principalOfToken(jwt({ sub: 'u1', role: 'PARTNER', partnerId: 'weldo', exp: 10 }))).toEqual({
      subject: 'u1',
      role: 'PARTNER',
      partnerId: 'weldo',
      expiresAt: 10_000,
    });
  });

  it.each([['not a jwt'], ['a.b'], ['a.!!!.c'], [jwt({ sub: 'x' })], [jwt([])], ['a.' + 'b'.repeat(9000) + '.c']])(
    'gives null for %s',
    (token) => expect(principalOfToken(token)).toBeNull(),
  );
});

describe('dashboard: linear forecast to year end', () => {
  it('scales the commitments so far by the days of the year over the days elapsed', () => {
    // 2024 is a leap year: on 1 July, 183 days have elapsed of 366.
    expect(linearYearEndForecast(183_000, 2024, new Date('2024-07-01T12:00:00Z'))).toBe(366_000);
    expect(linearYearEndForecast(1_000, 2025, new Date('2025-01-01T00:00:00Z'))).toBe(365_000);
  });
  it('a past year is closed, a future one has no forecast', () => {
    expect(linearYearEndForecast(5_000, 2023, new Date('2024-07-01T00:00:00Z'))).toBe(5_000);
    expect(linearYearEndForecast(5_000, 2025, new Date('2024-07-01T00:00:00Z'))).toBeNull();
  });
});

describe('dashboard: routes and resume points', () => {
  it('routes views, cases and params; anything else is the overview', () => {
    expect(parseRoute('#/budget?year=2024')).toMatchObject({ view: 'budget' });
    expect(parseRoute('#/budget?year=2024').params.get('year')).toBe('2024');
    expect(parseRoute('#/case/665f0a')).toMatchObject({ view: 'case', caseId: '665f0a' });
    expect(parseRoute('#/case/<img src=x>')).toMatchObject({ view: 'overview' });
    expect(parseRoute('#/case/a/b')).toMatchObject({ view: 'overview' });
    expect(parseRoute('#/nowhere')).toMatchObject({ view: 'overview' });
    expect(parseRoute('#/' + 'x'.repeat(100_000))).toMatchObject({ view: 'overview' });
  });
  it('keeps only stream ids as resume points', () => {
    expect(resumePoint('1717171717171-3')).toBe('1717171717171-3');
    expect(resumePoint('$')).toBeNull();
    expect(resumePoint('1-2; DROP')).toBeNull();
    expect(resumePoint(null)).toBeNull();
  });
});

describe('dashboard: message catalogue', () => {
  const dir = 'dashboard/src/i18n';
  const catalogues = Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, string>]),
  );

  it('every locale has only string messages with the same placeholders as English', () => {
    const english = catalogues.en!;
    for (const [locale, messages] of Object.entries(catalogues))
      for (const [key, text] of Object.entries(messages)) {
        expect(typeof text, `${locale}:${key}`).toBe('string');
        if (english[key] !== undefined)
          expect(text.match(/\{\w+\}/g)?.sort(), `${locale}:${key}`).toEqual(english[key].match(/\{\w+\}/g)?.sort());
      }
  });

  it('every key the dashboard names exists in English', () => {
    const sources = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? sources(join(d, e.name)) : /\.tsx?$/.test(e.name) ? [join(d, e.name)] : [],
      );
    const used = new Set<string>();
    for (const file of sources('dashboard/src'))
      for (const m of readFileSync(file, 'utf8').matchAll(/\bt\(\s*'([a-zA-Z]+\.[a-zA-Z.]+)'/g)) used.add(m[1]!);
    expect(used.size).toBeGreaterThan(50);
    for (const key of used) expect(catalogues.en, key).toHaveProperty([key]);
  });

  it('formats by locale and falls back to English, then the key', () => {
    const fr = translator('fr', { en: { a: 'A {n}', b: 'B' }, fr: { a: 'À {n}' } });
    expect(fr.t('a', { n: 2 })).toBe('À 2');
    expect(fr.t('b')).toBe('B');
    expect(fr.t('missing')).toBe('missing');
    expect(fr.number(1234.5)).toBe(new Intl.NumberFormat('fr').format(1234.5));
    expect(translator('de', {}).euros(123_456)).toContain('1.235');
    expect(interpolate('{a} {b}', { a: 1 })).toBe('1 {b}');
    expect(interpolate('{constructor}', {})).toBe('{constructor}');
    expect(pickLocale(['de-AT', 'fr'], ['en', 'de'], 'en')).toBe('de');
    expect(pickLocale(['pt'], ['en', 'de'], 'en')).toBe('en');
  });
});

describe("dashboard: the budget view's year", () => {
  const today = new Date('2026-12-03T10:00:00Z');
  it('opens on the year asked for, else the latest year with financial data, else this year', () => {
    expect(budgetYear(2023, [2024, 2022], today)).toEqual({ year: 2023, reason: 'asked' });
    expect(budgetYear(null, [2022, 2024, 2023], today)).toEqual({ year: 2024, reason: 'latest' });
    expect(budgetYear(null, [], today)).toEqual({ year: 2026, reason: 'current' });
  });
  it('ignores malformed and hostile years (the address and the answer alike)', () => {
    for (const asked of [Number.NaN, 1999, 2101, 2024.5, -2024, Number.POSITIVE_INFINITY])
      expect(budgetYear(asked, [2024], today)).toEqual({ year: 2024, reason: 'latest' });
    expect(budgetYear(null, [Number.NaN, 99999, 2024.5, 1e308], today)).toEqual({ year: 2026, reason: 'current' });
    const many = Array.from({ length: 100_000 }, (_, i) => 2000 + (i % 101));
    expect(budgetYear(null, many, today)).toEqual({ year: 2100, reason: 'latest' });
  });
  it('offers every year with data, the shown year and this year, once each, most recent first', () => {
    expect(budgetYearOptions([2023, 2024, 2024], 2022, today)).toEqual([2026, 2024, 2023, 2022]);
    expect(budgetYearOptions([Number.NaN, 3000], 2026, today)).toEqual([2026]);
  });
});

describe("dashboard: the overview's period and package", () => {
  it('sends what is set, and nothing when nothing is', () => {
    expect(overviewNarrowing('', '', '')).toEqual({ ok: true, narrow: undefined });
    expect(overviewNarrowing('2024-01', '', '')).toEqual({ ok: true, narrow: { fromMonth: '2024-01' } });
    expect(overviewNarrowing('2024-01', '2024-03', 'POST_RETURN')).toEqual({
      ok: true,
      narrow: { fromMonth: '2024-01', toMonth: '2024-03', package: 'POST_RETURN' },
    });
    expect(overviewNarrowing('2024-03', '2024-03', '')).toEqual({
      ok: true,
      narrow: { fromMonth: '2024-03', toMonth: '2024-03' },
    });
  });
  it('refuses a first month after the last, and months not written YYYY-MM (typed, pasted or hostile)', () => {
    expect(overviewNarrowing('2024-05', '2024-04', '')).toEqual({ ok: false, problem: 'fromAfterTo' });
    for (const bad of ['2024-13', '2024-1', '24-01', '2024-01-01', '<script>', '2024-01'.repeat(10_000)])
      expect(overviewNarrowing(bad, '', '')).toEqual({ ok: false, problem: 'monthForm' });
    expect(overviewNarrowing('', '2024-00', '')).toEqual({ ok: false, problem: 'monthForm' });
  });
});
