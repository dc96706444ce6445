import { describe, expect, it } from 'vitest';
import { generateCases } from '../../scripts/demo/generate.js';
import type { CaseStatus } from '../../shared/domain.js';
import { decideTransition, type Actor, type TransitionName } from '../../subgraphs/cases/case/lifecycle.js';

/** At the programme's published size (6,616 cases) the demo data reproduces its figures. */
describe('demo data distributions', () => {
  const cases = [...generateCases({ count: 6_616, seed: 20240301 })];
  const ageAt = (dob: string, on: string) => {
    const [by, bm, bd] = dob.split('-').map(Number) as [number, number, number];
    const [oy, om, od] = on.split('-').map(Number) as [number, number, number];
    return oy - by - (om < bm || (om === bm && od < bd) ? 1 : 0);
  };

  it('about 8,265 returnees of whom about 1,228 minors', () => {
    const returnees = cases.reduce((sum, c) => sum + c.familySize, 0);
    const minors = cases.reduce(
      (sum, c) =>
        sum + [c.mainApplicant, ...c.familyMembers].filter((p) => ageAt(p.dateOfBirth, c.departureDate) < 18).length,
      0,
    );
    expect(returnees).toBeGreaterThan(8_265 * 0.95);
    expect(returnees).toBeLessThan(8_265 * 1.05);
    expect(minors).toBeGreaterThan(1_228 * 0.85);
    expect(minors).toBeLessThan(1_228 * 1.15);
    for (const c of cases) expect(c.familySize).toBe(1 + c.familyMembers.length);
  });

  it('main applicants average about 35 years', () => {
    const mean = cases.reduce((sum, c) => sum + ageAt(c.mainApplicant.dateOfBirth, c.departureDate), 0) / cases.length;
    expect(mean).toBeGreaterThan(34);
    expect(mean).toBeLessThan(36.5);
  });

  it('37 countries of origin, 26 Member States, five partners, both return types, every lifecycle stage', () => {
    expect(new Set(cases.map((c) => c.countryOfOrigin)).size).toBe(37);
    expect(new Set(cases.map((c) => c.memberState)).size).toBe(26);
    expect(new Set(cases.map((c) => c.partnerId)).size).toBe(5);
    const voluntary = cases.filter((c) => c.returnType === 'VOLUNTARY').length / cases.length;
    expect(voluntary).toBeGreaterThan(0.6);
    expect(voluntary).toBeLessThan(0.85);
    expect(new Set(cases.map((c) => c.status))).toEqual(
      new Set([
        'SUBMITTED',
        'ACCEPTED',
        'ARRIVED',
        'PLAN_SUBMITTED',
        'PLAN_REJECTED',
        'PLAN_APPROVED',
        'COMPLETION_REPORTED',
        'COMPLETED',
        'WITHDRAWN',
        'CLOSED',
      ]),
    );
  });

  it('histories follow the lifecycle rules, in time order, with milestones where reached', () => {
    for (const c of cases) {
      let status = 'SUBMITTED';
      let previous = 0;
      for (const entry of c.history) {
        const decision = decideTransition(
          entry.transition as TransitionName,
          { status: status as CaseStatus, packages: c.packages },
          entry.actor.role as Actor,
          entry.reason,
        );
        expect(decision.ok, `${c.caseReference} ${entry.transition} from ${status}`).toBe(true);
        expect(entry.at.getTime()).toBeGreaterThanOrEqual(previous);
        previous = entry.at.getTime();
        status = entry.to;
      }
      expect(status).toBe(c.status);
      expect(c.version).toBe(c.history.length);
      expect(Boolean(c.milestones.km1At)).toBe(c.history.some((h) => h.transition === 'reportArrival'));
      expect(Boolean(c.milestones.km3At)).toBe(c.status === 'COMPLETED');
    }
  });

  it('case references are unique per Member State and charter packages only on forced charter returns', () => {
    expect(new Set(cases.map((c) => `${c.memberState}/${c.caseReference}`)).size).toBe(cases.length);
    for (const c of cases.filter((x) => x.packages.includes('CHARTER_ARRIVAL'))) {
      expect(c.returnType).toBe('FORCED');
      expect(c.charterFlight).toBe(true);
    }
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const again = [...generateCases({ count: 50, seed: 20240301 })];
    expect(again).toEqual(cases.slice(0, 50));
    const other = [...generateCases({ count: 50, seed: 1 })];
    expect(other).not.toEqual(again);
  });
});
