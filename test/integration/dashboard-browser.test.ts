import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/auth.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { devPrincipals } from '../../gateway/web/runtime-config.js';
import { startGateway, type GatewayService } from '../../gateway/server.js';
import { AXE_SOURCE, launchChromium, requireDashboardBuild } from '../browser/harness.js';
import { silentLogger, startTestSystem, type TestSystem } from '../helpers/system.js';

/**
 * The dashboard in Debian's chromium (playwright-core) against the real graph, the page served by
 * the gateway's own /dashboard/ route (the built dashboard/dist): each role signs in with the
 * development picker the gateway offers, opens every view, and the page must show what the graph answers
 * that principal, with no console errors, no serious accessibility violation and nothing of
 * another Member State's or partner's cases in the page or in anything it received.
 */
const ARTIFACTS = 'test-artifacts/dashboard';
const VIEWS = ['overview', 'budget', 'quality', 'sustainability', 'worklist', 'live', 'data-quality'] as const;
const YEAR = 2024;
/** Screenshots for the README (docs/images/<name>), per role and view. */
const README_IMAGES: Record<string, string> = {
  'analyst-overview': 'dashboard-overview-analyst.png',
  'admin-budget': 'dashboard-budget-admin.png',
};

const OVERVIEW = `query($filter: StatisticsFilter, $narrow: StatisticsNarrowing) {
  statistics(filter: $filter, narrow: $narrow) {
  totalCases totalReturnees adults minors averageMainApplicantAge averageFamilyComposition suppressed
  casesByMemberState { suppressed } casesPerMonth { suppressed } casesByReturnType { suppressed }
  casesByPackage { suppressed } casesByCountryOfOrigin { suppressed } } }`;
const BUDGET = `query($year: Int!) { financeSummary(year: $year) {
  budgetCents committedCents disbursedCents availableCents peopleSupported objectivePeople
  byMemberState { committedCents } } }`;
const WORKLIST = 'query { myWorklist(kind: AWAITING_ME, first: 100) { totalCount edges { node { caseId } } } }';
const DATA_QUALITY = `query($ms: ID!) { dataQuality(memberState: $ms) {
  recordsReceived recordsRejected recordsWithGaps lateInsertions } }`;
const QUALITY = `query { indicatorValues(perspective: PARTNER, first: 500) {
  indicatorId scope { key } period value status } }`;

interface Role {
  name: string;
  label: string;
  principal: Principal;
  /** Case references this principal must never receive. */
  forbidden: () => string[];
}

describe('dashboard in a real browser', () => {
  let system: TestSystem;
  /** The gateway's origin: the page, its settings, the development sign-in and /graphql. */
  let origin: string;
  let browser: Browser;
  let cases: CaseDoc[];
  let ms: string;
  let partnerId: string;
  const refsWhere = (keep: (c: CaseDoc) => boolean) => cases.filter(keep).map((c) => c.caseReference);

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    requireDashboardBuild();
    system = await startTestSystem({ cases: 160, seed: 41 });
    cases = await casesModels(system.connections.cases).Case.find().lean<CaseDoc[]>().exec();
    const most = (pick: (c: CaseDoc) => string | undefined) => {
      const counts = new Map<string, number>();
      for (const c of cases) {
        const k = pick(c);
        if (k) counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    };
    // The busiest Member State among those the development sign-in offers.
    const offered = new Set(devPrincipals().flatMap((p) => (p.memberState ? [p.memberState] : [])));
    ms = most((c) => (offered.has(c.memberState) ? c.memberState : undefined));
    partnerId = most((c) => (c.status === 'SUBMITTED' ? (c.partnerId ?? undefined) : undefined));
    origin = system.gateway.url;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  const roles = (): Role[] => [
    {
      name: 'analyst',
      label: 'EU analyst',
      principal: { subject: 'dev-eu_analyst', role: 'EU_ANALYST' },
      // Analysts read pseudonyms (CR-...), never a national case reference.
      forbidden: () => refsWhere(() => true),
    },
    {
      name: 'member-state',
      label: `Member State ${ms}`,
      principal: { subject: 'dev-member_state', role: 'MEMBER_STATE', memberState: ms },
      forbidden: () => refsWhere((c) => c.memberState !== ms),
    },
    {
      name: 'partner',
      label: `Partner ${partnerId}`,
      principal: { subject: 'dev-partner', role: 'PARTNER', partnerId },
      forbidden: () => refsWhere((c) => c.partnerId !== partnerId),
    },
    { name: 'admin', label: 'Administrator', principal: { subject: 'dev-admin', role: 'ADMIN' }, forbidden: () => [] },
  ];

  /** A page signed in through the development picker, recording console errors and everything received. */
  async function signedIn(
    role: Role,
  ): Promise<{ context: BrowserContext; page: Page; errors: string[]; received: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB' });
    const page = await context.newPage();
    const errors: string[] = [];
    const received: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`);
      if (new URL(r.url()).pathname === '/graphql')
        void r.text().then(
          (t) => received.push(t),
          () => undefined,
        );
    });
    page.on('websocket', (ws) => ws.on('framereceived', (f) => received.push(String(f.payload))));
    const document = await page.goto(`${origin}/dashboard/`);
    // The gateway's static route answered (its security headers), not some other server.
    expect(document?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    await page.getByTestId('sign-in').waitFor();
    const picker = page.getByTestId('dev-principal');
    const options = await picker.locator('option').allTextContents();
    // The gateway's offer (gateway/web/runtime-config.ts), in the page's order.
    const wanted = devPrincipals().findIndex(
      (p) =>
        p.role === role.principal.role &&
        p.memberState === role.principal.memberState &&
        p.partnerId === role.principal.partnerId,
    );
    expect(wanted, `${role.label} among ${options.join(', ')}`).toBeGreaterThanOrEqual(0);
    expect(options[wanted]).toBe(devPrincipals()[wanted]!.label);
    await picker.selectOption(String(wanted));
    await page.getByTestId('dev-sign-in').click();
    await page.getByTestId('principal').waitFor();
    return { context, page, errors, received };
  }

  /** Opens a view with a full load and waits for its figures (the view's ready mark). */
  async function open(page: Page, view: string, hashParams = ''): Promise<void> {
    await page.goto(`${origin}/dashboard/?v=${view}#/${view}${hashParams}`);
    await page.waitForFunction((v) => performance.getEntriesByName(`avrr:ready:${v}`).length > 0, view, {
      timeout: 15_000,
    });
    await page.locator(`[data-testid="view-${view}"][aria-busy="false"]`).waitFor();
  }

  const tile = async (page: Page, id: string) => {
    const raw = await page.getByTestId(`tile-${id}`).getAttribute('data-value');
    return raw === '' || raw === null ? null : Number(raw);
  };

  async function axeViolations(page: Page): Promise<string[]> {
    // Evaluated over the DevTools protocol: the gateway's Content Security Policy (no inline scripts) stays on.
    if (!(await page.evaluate("typeof axe !== 'undefined'"))) await page.evaluate(AXE_SOURCE());
    // Run in the page (a string: this file is type-checked without the DOM).
    const violations = (await page.evaluate(
      'axe.run(document).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })))',
    )) as Array<{ id: string; impact: string; nodes: number }>;
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.nodes})`);
  }

  it.each([0, 1, 2, 3])(
    'role %#: every view renders, matches the graph, is accessible and leaks nothing',
    async (i) => {
      const role = roles()[i]!;
      const headers = await system.as(role.principal);
      const { context, page, errors, received } = await signedIn(role);
      try {
        for (const view of VIEWS) {
          await open(page, view);
          await page.screenshot({ path: `${ARTIFACTS}/${role.name}-${view}.png` });
          // The README's pictures (docs/images, copied from here): the top of the page, as served, on the demo seed.
          const readme = README_IMAGES[`${role.name}-${view}`];
          if (readme)
            await page.screenshot({
              path: `${ARTIFACTS}/${readme}`,
              fullPage: true,
              clip: { x: 0, y: 0, width: 1280, height: 1300 },
            });
          expect(await axeViolations(page), `${role.name} ${view}`).toEqual([]);
          const errorCodes = await page.getByTestId('error-code').allTextContents();
          if (view === 'overview') {
            const s = (
              await system.graphql<{ statistics: Record<string, number | null | unknown[]> }>(OVERVIEW, {}, headers)
            ).body.data!.statistics;
            for (const [id, field] of [
              ['totalCases', 'totalCases'],
              ['totalReturnees', 'totalReturnees'],
              ['adults', 'adults'],
              ['minors', 'minors'],
              ['averageAge', 'averageMainApplicantAge'],
              ['averageFamily', 'averageFamilyComposition'],
            ] as const)
              expect(await tile(page, id), `${role.name} ${id}`).toBe(s[field]);
            expect(s.totalCases).not.toBeNull();
            // Each withheld cell the graph marks is shown as withheld (in the charts' data tables), no more, no less.
            const lists = ['casesByMemberState', 'casesPerMonth', 'casesByReturnType', 'casesByPackage'] as const;
            const withheld = [...lists, 'casesByCountryOfOrigin' as const]
              .map((k) => (s[k] as unknown as Array<{ suppressed: boolean }>).filter((c) => c.suppressed).length)
              .reduce((a, b) => a + b, 0);
            expect(await page.locator('[data-testid^="table-"] [data-suppressed="true"]').count()).toBe(withheld);
            if (role.name === 'analyst') expect(withheld).toBeGreaterThan(0);
            if (s.suppressed) await page.getByTestId('suppression-note').waitFor();
          }
          if (view === 'budget') {
            // It opens on the latest year the graph has financial data for, and says so.
            const years = await system.graphql<{ financeYears: number[] }>('{ financeYears }', {}, headers);
            const year = years.body.data?.financeYears[0] ?? YEAR;
            const answer = await system.graphql<{
              financeSummary: Record<string, number | null> & { byMemberState: Array<{ committedCents: number }> };
            }>(BUDGET, { year }, headers);
            if (answer.body.errors ?? years.body.errors) expect(errorCodes.length).toBeGreaterThan(0);
            else {
              expect(year).toBe(YEAR);
              expect(await page.getByTestId('filter-year').inputValue()).toBe(String(year));
              expect(await page.getByTestId('budget-year-note').getAttribute('data-reason')).toBe('latest');
              const summary = answer.body.data!.financeSummary;
              for (const field of [
                'budgetCents',
                'committedCents',
                'disbursedCents',
                'availableCents',
                'peopleSupported',
              ])
                expect(await tile(page, field), `${role.name} ${field}`).toBe(summary[field]);
              // No budget is set in the seed: the page says where it comes from.
              expect(summary.budgetCents).toBeNull();
              expect(await page.getByTestId('tile-budgetCents').textContent()).toContain('setAnnualBudget');
              // The chart's value axis is in euros, as the table writes them (not cents).
              const top = Math.max(...summary.byMemberState.map((l) => l.committedCents)) / 100;
              const labels = await page
                .locator('[data-testid="chart-spend-memberState"] svg text')
                .evaluateAll((ts) => ts.map((t) => t.textContent ?? ''));
              const axis = labels.filter((l) => l.includes('€')).map((l) => Number(l.replace(/[^0-9]/g, '')));
              expect(axis.length, labels.join(' | ')).toBeGreaterThan(1);
              expect(Math.max(...axis)).toBeGreaterThanOrEqual(top);
              expect(Math.max(...axis)).toBeLessThan(top * 2.5);
            }
          }
          if (view === 'quality') {
            const answer = await system.graphql<{
              indicatorValues: Array<{
                indicatorId: string;
                scope: { key: string | null };
                period: string;
                value: number | null;
                status: string;
              }>;
            }>(QUALITY, {}, headers);
            const shown = await page
              .locator('[data-testid^="quality-"][data-status]')
              .evaluateAll((rows) =>
                rows.map((r) => [
                  r.getAttribute('data-testid'),
                  r.getAttribute('data-value'),
                  r.getAttribute('data-status'),
                ]),
              );
            expect(shown).toEqual(
              answer.body.data!.indicatorValues.map((v) => [
                `quality-${v.indicatorId}|${v.scope.key ?? 'programme'}|${v.period}`,
                v.value === null ? '' : String(v.value),
                v.status,
              ]),
            );
          }
          if (view === 'worklist') {
            const answer = await system.graphql<{
              myWorklist: { totalCount: number; edges: Array<{ node: { caseId: string } }> };
            }>(WORKLIST, {}, headers);
            if (answer.body.errors) expect(errorCodes).toContain(answer.body.errors[0]!.extensions!.code);
            else {
              const list = answer.body.data!.myWorklist;
              expect(await tile(page, 'worklistCount')).toBe(list.totalCount);
              // An item opens the case's live view: its steps, plan lines and messages.
              const first = list.edges[0]?.node.caseId;
              if (first) {
                await page.getByTestId(`worklist-${first}`).click();
                await page.getByTestId('case-status').waitFor();
                const graphCase = (
                  await system.graphql<{ case: { status: string; history: unknown[] } }>(
                    'query($id: ID!) { case(id: $id) { status history { version } } }',
                    { id: first },
                    headers,
                  )
                ).body.data!.case;
                expect(await page.getByTestId('case-status').getAttribute('data-value')).toBe(graphCase.status);
                expect(await page.locator('[data-testid="case-timeline"] li').count()).toBe(graphCase.history.length);
              }
            }
          }
          if (view === 'data-quality') {
            const code = role.principal.memberState ?? (await page.getByTestId('filter-memberState').inputValue());
            const answer = await system.graphql<{ dataQuality: Record<string, number> }>(
              DATA_QUALITY,
              { ms: code },
              headers,
            );
            if (answer.body.errors) expect(errorCodes).toContain(answer.body.errors[0]!.extensions!.code);
            else
              for (const field of ['recordsReceived', 'recordsRejected', 'recordsWithGaps', 'lateInsertions'])
                expect(await tile(page, field), `${role.name} ${field}`).toBe(answer.body.data!.dataQuality[field]);
          }
          const forbidden = role.forbidden();
          const html = await page.content();
          for (const ref of forbidden) expect(html.includes(ref), `${role.name} ${view} page shows ${ref}`).toBe(false);
          for (const ref of forbidden)
            expect(
              received.some((r) => r.includes(ref)),
              `${role.name} ${view} received ${ref}`,
            ).toBe(false);
        }
        expect(received.length).toBeGreaterThan(VIEWS.length);
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    },
    120_000,
  );

  it('a filter changes the overview figures to what the graph answers for it', async () => {
    const admin = roles()[3]!;
    const { context, page, errors } = await signedIn(admin);
    try {
      await open(page, 'overview');
      // Keyboard: the first Tab reaches the skip link, which moves focus to the main content.
      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement.className')).toBe('skip-link');
      await page.keyboard.press('Enter');
      expect(await page.evaluate('document.activeElement.id')).toBe('main');
      const before = await tile(page, 'totalCases');
      await page.getByTestId('filter-memberState').selectOption(ms);
      const expected = (
        await system.graphql<{ statistics: { totalCases: number } }>(OVERVIEW, { filter: { memberState: ms } })
      ).body.data!.statistics.totalCases;
      await page.locator(`[data-testid="tile-totalCases"][data-value="${expected}"]`).waitFor({ timeout: 5_000 });
      expect(expected).toBeLessThan(before!);
      expect(await page.getByTestId('overview-scope').textContent()).toContain(`memberState:${ms}`);
      // A period and a package: the graph narrows the figures (the page never does), and the page shows its answer.
      const months = [...new Set(cases.filter((c) => c.memberState === ms).map((c) => c.departureDate?.slice(0, 7)))]
        .filter((m): m is string => Boolean(m))
        .sort();
      const [fromMonth, toMonth] = [months[1]!, months[Math.floor(months.length / 2)]!];
      await page.getByTestId('filter-fromMonth').fill(fromMonth);
      await page.getByTestId('filter-toMonth').fill(toMonth);
      type Narrowed = { statistics: { totalCases: number; totalReturnees: number; casesPerMonth: unknown[] } };
      const narrowed = (
        await system.graphql<Narrowed>(OVERVIEW, { filter: { memberState: ms }, narrow: { fromMonth, toMonth } })
      ).body.data!.statistics;
      expect(narrowed.totalCases).toBeLessThan(expected);
      await page
        .locator(`[data-testid="tile-totalCases"][data-value="${narrowed.totalCases}"]`)
        .waitFor({ timeout: 5_000 });
      expect(await tile(page, 'totalReturnees')).toBe(narrowed.totalReturnees);
      expect(await tile(page, 'adults')).toBeNull();
      expect(await page.locator('[data-testid="table-perMonth"] tbody tr').count()).toBe(narrowed.casesPerMonth.length);
      await page.getByTestId('overview-narrowed').waitFor();
      await page.getByTestId('filter-package').selectOption('POST_ARRIVAL');
      const both = (
        await system.graphql<Narrowed>(OVERVIEW, {
          filter: { memberState: ms },
          narrow: { fromMonth, toMonth, package: 'POST_ARRIVAL' },
        })
      ).body.data!.statistics;
      await page
        .locator(`[data-testid="tile-totalCases"][data-value="${both.totalCases}"]`)
        .waitFor({ timeout: 5_000 });
      await page.getByTestId('overview-unavailable').waitFor();
      // A first month after the last is not sent: the page says so and keeps the last figures.
      await page.getByTestId('filter-fromMonth').fill(months.at(-1)!);
      await page.getByTestId('filter-problem').waitFor();
      expect(await tile(page, 'totalCases')).toBe(both.totalCases);
      expect(await axeViolations(page)).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('a lifecycle step appears live within a second, and a reload resumes without a gap', async () => {
    const partner = roles()[2]!;
    const headers = await system.as(partner.principal);
    const target = cases.find((c) => c.partnerId === partnerId && c.status === 'SUBMITTED');
    expect(target).toBeDefined();
    const id = target!._id.toHexString();
    const { context, page, errors } = await signedIn(partner);
    try {
      await open(page, 'live');
      await page.locator('[data-testid="live-status"]', { hasText: 'Live' }).waitFor();
      // graphql-ws connects lazily: give the subscription a moment to be registered with the hub.
      await page.waitForTimeout(300);
      const step = (mutation: string) =>
        system.graphql(`mutation($id: ID!) { ${mutation} { status } }`, { id }, headers);
      expect((await step('acceptCase(caseId: $id)')).body.errors).toBeUndefined();
      const stepped = Date.now();
      await page.locator(`[data-case="${id}"]`).waitFor({ timeout: 1_000 });
      expect(Date.now() - stepped).toBeLessThan(1_000);
      // Away from the live view (no subscription), a second step happens; back on it, it is replayed.
      await open(page, 'overview');
      const arrival = 'reportArrival(caseId: $id, report: { arrivalDate: "2024-06-01", postArrivalServices: [] })';
      expect((await step(arrival)).body.errors).toBeUndefined();
      await open(page, 'live');
      await page.locator(`[data-case="${id}"][data-type="ARRIVED"]`).waitFor({ timeout: 5_000 });
      expect(await page.locator(`[data-case="${id}"]`).count()).toBe(2);
      const after = await page.evaluate("sessionStorage.getItem('avrr.dashboard.live.after')");
      expect(after).toMatch(/^\d+-\d+$/);
      // The case's live view opens from the event, with its timeline.
      await page.locator(`[data-case="${id}"][data-type="ARRIVED"] a`).click();
      await page.getByTestId('case-timeline').waitFor();
      expect(await page.getByTestId('case-status').getAttribute('data-value')).toBe('ARRIVED');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('OIDC: sign-in redirects with PKCE (S256), and a completed sign-in is used for the graph', async () => {
    const issuer = 'https://id.example.test/realms/avrr';
    // A second gateway on the same subgraphs, configured for OpenID Connect sign-in.
    const url = (name: keyof TestSystem['subgraphs']) => `${system.subgraphs[name].url}/graphql`;
    const oidc: GatewayService = await startGateway({
      config: { ...system.config, OIDC_ISSUER: issuer, OIDC_CLIENT_ID: 'avrr-dashboard' },
      logger: silentLogger,
      port: 0,
      metricsPort: 0,
      subgraphUrls: {
        cases: url('cases'),
        partners: url('partners'),
        coverage: url('coverage'),
        finance: url('finance'),
      },
    });
    const context = await browser.newContext();
    try {
      // The identity provider, stubbed at the network: its discovery document only.
      let authorize: URL | null = null;
      await context.route(`${issuer}/**`, async (route) => {
        const url = new URL(route.request().url());
        if (url.pathname.endsWith('/.well-known/openid-configuration'))
          return route.fulfill({
            contentType: 'application/json',
            body: JSON.stringify({
              issuer,
              authorization_endpoint: `${issuer}/protocol/openid-connect/auth`,
              token_endpoint: `${issuer}/protocol/openid-connect/token`,
              jwks_uri: `${issuer}/protocol/openid-connect/certs`,
            }),
          });
        authorize = url;
        return route.fulfill({ contentType: 'text/html', body: '<title>idp</title>' });
      });
      const page = await context.newPage();
      await page.goto(`${oidc.url}/dashboard/`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${issuer}/**`);
      const asked = authorize as URL | null;
      expect(asked?.searchParams.get('response_type')).toBe('code');
      expect(asked?.searchParams.get('code_challenge_method')).toBe('S256');
      expect(asked?.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(asked?.searchParams.get('redirect_uri')).toBe(`${oidc.url}/dashboard/callback`);
      // A completed sign-in, as oidc-client-ts stores it: the page uses its access token.
      const token = (await system.as({ subject: 'oidc-analyst', role: 'EU_ANALYST' })).authorization!.slice(7);
      const user = JSON.stringify({
        access_token: token,
        token_type: 'Bearer',
        profile: { sub: 'oidc-analyst' },
        expires_at: Math.floor(Date.now() / 1000) + 600,
      });
      await context.addInitScript(
        `sessionStorage.setItem(${JSON.stringify(`oidc.user:${issuer}:avrr-dashboard`)}, ${JSON.stringify(user)})`,
      );
      const signed = await context.newPage();
      await signed.goto(`${oidc.url}/dashboard/#/overview`);
      await signed.locator('[data-testid="view-overview"][aria-busy="false"]').waitFor();
      await signed.getByTestId('tile-totalCases').waitFor();
      expect(await signed.getByTestId('principal').textContent()).toContain('EU analyst');
      expect(Number(await signed.getByTestId('tile-totalCases').getAttribute('data-value'))).toBe(cases.length);
    } finally {
      await context.close();
      await oidc.shutdown('test done');
    }
  }, 60_000);
});
