import { describe, expect, it } from 'vitest';
import { Types } from 'mongoose';
import { generateCases } from '../../scripts/demo/generate.js';
import { seededCaseDoc, seededCaseEvents } from '../../scripts/seed-data.js';
import { PACKAGES, type CaseStatus } from '../../shared/domain.js';
import { addMonths } from '../../subgraphs/cases/case/eligibility.js';
import { decideTransition, type Actor, type TransitionName } from '../../subgraphs/cases/case/lifecycle.js';
import { PROGRAMME_START, RELEASED_MEMBER_STATES } from '../../subgraphs/coverage/released.js';
import { computeEntitlement, PROGRAMME_TARIFFS } from '../../subgraphs/finance/tariffs/rules.js';
import { isVulnerabilityCode, vulnerabilityAgeProblems } from '../../shared/vulnerability.js';

/** At the programme's published size (6,616 cases) the demo data reproduces its figures. */
describe('demo data distributions', () => {
  const cases = [...generateCases({ count: 6_616, seed: 20240301 })];
  const ageAt = (dob: string, on: string) => {
    const [by, bm, bd] = dob.split('-').map(Number) as [number, number, number];
    const [oy, om, od] = on.split('-').map(Number) as [number, number, number];
    return oy - by - (om < bm || (om === bm && od < bd) ? 1 : 0);
  };

  /** Published early 2024 (docs/domain.md); each figure within 2 %. */
  const within2 = (value: number, published: number) => {
    expect(value, `${value} vs published ${published}`).toBeGreaterThanOrEqual(published * 0.98);
    expect(value, `${value} vs published ${published}`).toBeLessThanOrEqual(published * 1.02);
  };
  const isMinor = (dob: string, on: string) => ageAt(dob, on) < 18;
  const returnees = cases.reduce((sum, c) => sum + c.familySize, 0);
  const minors = cases.reduce(
    (sum, c) =>
      sum + [c.mainApplicant, ...c.familyMembers].filter((p) => isMinor(p.dateOfBirth, c.departureDate)).length,
    0,
  );

  it('6,616 cases with 8,265 returnees: 7,037 adults and 1,228 minors, 1.3 per case (each within 2 %)', () => {
    expect(cases).toHaveLength(6_616);
    within2(returnees, 8_265);
    within2(returnees - minors, 7_037);
    within2(minors, 1_228);
    // 8,265 / 6,616 = 1.249, published rounded to 1.3: the ratio is within 2 % of the exact one and rounds to 1.3.
    within2(returnees / cases.length, 8_265 / 6_616);
    expect((returnees / cases.length).toFixed(1)).toBe('1.3');
    for (const c of cases) expect(c.familySize).toBe(1 + c.familyMembers.length);
  });

  it('main applicants average 35 years (within 2 %)', () => {
    const mean = cases.reduce((sum, c) => sum + ageAt(c.mainApplicant.dateOfBirth, c.departureDate), 0) / cases.length;
    within2(mean, 35);
  });

  it('37 countries of origin, 26 Member States, five partners, both return types, every lifecycle stage', () => {
    expect(new Set(cases.map((c) => c.countryOfOrigin)).size).toBe(37);
    expect(new Set(cases.map((c) => c.memberState)).size).toBe(26);
    expect(new Set(cases.flatMap((c) => (c.partnerId ? [c.partnerId] : []))).size).toBe(5);
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
    for (const c of cases.filter((x) => x.eligibility.outcome !== 'INELIGIBLE')) {
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
      // KM1 is the application, ending with the partner's acceptance; the arrival is its own step.
      const accepted = c.history.find((h) => h.transition === 'acceptCase');
      expect(c.milestones.km1At?.getTime() ?? null).toBe(accepted?.at.getTime() ?? null);
      const arrived = c.history.find((h) => h.transition === 'reportArrival');
      expect(c.arrivedAt?.getTime() ?? null).toBe(arrived?.at.getTime() ?? null);
      expect(Boolean(c.milestones.km3At)).toBe(c.status === 'COMPLETED');
    }
  });

  it('every case stores its eligibility; the ineligible are closed at insertion, without a partner or steps', () => {
    const outcomes = new Map<string, number>();
    for (const c of cases) {
      expect(['ELIGIBLE', 'ELIGIBILITY_LETTER_ONLY', 'INELIGIBLE']).toContain(c.eligibility.outcome);
      expect(c.eligibility.requestDate).toBe(c.createdAt.toISOString().slice(0, 10));
      expect(c.eligibility.requestWindowMonths).toBe(6);
      outcomes.set(c.eligibility.outcome, (outcomes.get(c.eligibility.outcome) ?? 0) + 1);
      if (c.eligibility.outcome === 'INELIGIBLE') {
        expect(c.eligibility.reasons.length).toBeGreaterThan(0);
        expect(c.status).toBe('CLOSED');
        expect(c.partnerId).toBeNull();
        expect(c.history).toEqual([]);
        expect(c.reintegrationPlan).toBeNull();
        expect(c.closingReason).toBe(`Ineligible: ${c.eligibility.reasons.join(', ')}`);
      } else {
        expect(c.eligibility.reasons).toEqual([]);
        expect(c.partnerId).not.toBeNull();
      }
      if (c.eligibility.outcome === 'ELIGIBILITY_LETTER_ONLY') expect(c.packages).not.toContain('POST_RETURN');
    }
    // Most are eligible (the filter on ELIGIBLE finds them); some of each other outcome.
    expect(outcomes.get('ELIGIBLE')! / cases.length).toBeGreaterThan(0.9);
    expect(outcomes.get('INELIGIBLE')).toBeGreaterThan(50);
    expect(outcomes.get('ELIGIBILITY_LETTER_ONLY')).toBeGreaterThan(20);
  });

  it('plans are itemised lines within the post-return entitlement; amendments are versioned', () => {
    const withPlan = cases.filter((c) => c.reintegrationPlan);
    expect(withPlan.length).toBeGreaterThan(1_000);
    let amended = 0;
    for (const c of withPlan) {
      expect(c.packages).toContain('POST_RETURN');
      for (const plan of [...c.reintegrationPlanVersions, c.reintegrationPlan!]) {
        const perPackage = new Map<string, number>();
        expect(plan.lines.length).toBeGreaterThan(0);
        plan.lines.forEach((line, i) => {
          expect(line.lineId).toBe(`L${i + 1}`);
          expect(PACKAGES).toContain(line.package);
          expect(Number.isInteger(line.budgetCents) && line.budgetCents > 0).toBe(true);
          expect(line.provider).toBeTruthy();
          perPackage.set(line.package, (perPackage.get(line.package) ?? 0) + line.budgetCents);
        });
        for (const [pkg, sum] of perPackage) {
          const entitlement = computeEntitlement(
            {
              packages: [pkg as 'POST_RETURN'],
              returnType: c.returnType,
              familySize: c.familySize,
              referenceDate: c.departureDate,
            },
            PROGRAMME_TARIFFS,
          ).totalCents;
          expect(sum, `${c.caseReference} ${pkg}`).toBeLessThanOrEqual(entitlement);
        }
        expect(plan.totalCents).toBe(plan.lines.reduce((sum, l) => sum + l.budgetCents, 0));
        expect(plan.services).toEqual(
          plan.lines
            .filter((l) => l.package === 'POST_RETURN')
            .map((l) => ({ category: l.category, description: l.description, amountCents: l.budgetCents })),
        );
      }
      const versions = [...c.reintegrationPlanVersions, c.reintegrationPlan!].map((p) => p.version);
      expect(versions).toEqual(versions.map((_, i) => i + 1));
      if (versions.length > 1) amended++;
      // Delivered lines once completion is reported, each with its evidence.
      const reported = c.history.some((h) => h.transition === 'reportCompletion');
      for (const line of c.reintegrationPlan!.lines) {
        expect(line.status).toBe(reported ? 'DELIVERED' : 'PLANNED');
        expect(line.deliveries.length).toBe(reported ? 1 : 0);
        for (const d of line.deliveries) expect(d.evidenceReference).toContain(line.lineId);
      }
    }
    expect(amended).toBeGreaterThan(20);
  });

  it('post-arrival services are recorded at arrival for the cases with an arrival package', () => {
    const arrivedWithPackage = cases.filter(
      (c) => c.arrivedAt && (c.packages.includes('POST_ARRIVAL') || c.packages.includes('CHARTER_ARRIVAL')),
    );
    expect(arrivedWithPackage.length).toBeGreaterThan(3_000);
    for (const c of arrivedWithPackage) expect(c.postArrivalServices.length).toBeGreaterThanOrEqual(2);
    for (const c of cases.filter((x) => !x.arrivedAt)) expect(c.postArrivalServices).toEqual([]);
  });

  it('vulnerability codes fit age: no adult or accompanied unaccompanied minor, none elderly under 65', () => {
    let flagged = 0;
    const counted = new Map<string, number>();
    for (const c of cases) {
      const persons = [c.mainApplicant, ...c.familyMembers];
      expect(
        vulnerabilityAgeProblems(
          persons.map((p, i) => ({ path: i === 0 ? 'mainApplicant' : `familyMembers.${i - 1}`, ...p })),
          c.departureDate,
        ),
      ).toEqual([]);
      for (const p of persons) {
        const age = ageAt(p.dateOfBirth, c.departureDate);
        if (p.vulnerabilityCodes.length > 0) flagged++;
        for (const code of p.vulnerabilityCodes) counted.set(code, (counted.get(code) ?? 0) + 1);
        expect(p.vulnerabilityCodes.every(isVulnerabilityCode)).toBe(true);
        // The free text is personal detail beside each code, never a code itself.
        expect(p.vulnerabilities).toHaveLength(p.vulnerabilityCodes.length);
        expect(p.vulnerabilities.some(isVulnerabilityCode)).toBe(false);
        if (age >= 18 || c.familyMembers.length > 0 || p !== c.mainApplicant)
          expect(p.vulnerabilityCodes).not.toContain('UNACCOMPANIED_MINOR');
        if (age < 65) expect(p.vulnerabilityCodes).not.toContain('ELDERLY');
        if (age < 18) expect(p.vulnerabilityCodes).not.toContain('SINGLE_PARENT');
      }
    }
    expect(flagged).toBeGreaterThan(300);
    expect(counted.get('SINGLE_PARENT') ?? 0).toBeGreaterThan(50);
    expect(counted.get('MEDICAL_CONDITION') ?? 0).toBeGreaterThan(50);
  });

  it('Member States join over time and send no case before they joined; departures from April 2022', () => {
    const joined = new Map(RELEASED_MEMBER_STATES.map((m) => [m.code, m.joinedOn]));
    expect(new Set(joined.values()).size).toBeGreaterThan(5);
    for (const c of cases) {
      expect(c.departureDate >= joined.get(c.memberState)!, `${c.caseReference} ${c.departureDate}`).toBe(true);
      expect(c.createdAt.toISOString().slice(0, 10) >= joined.get(c.memberState)!).toBe(true);
      expect(c.departureDate >= PROGRAMME_START).toBe(true);
    }
    const firstMonth = cases.map((c) => c.departureDate.slice(0, 7)).sort()[0];
    expect(firstMonth).toBe('2022-04');
    // A late joiner's first case comes after its joining date.
    const malta = cases
      .filter((c) => c.memberState === 'MT')
      .map((c) => c.departureDate)
      .sort();
    expect(malta.length).toBeGreaterThan(0);
    expect(malta[0]! >= joined.get('MT')!).toBe(true);
  });

  it('no arrival before departure, no completion reported more than 12 months after departure', () => {
    let completions = 0;
    for (const c of cases) {
      if (c.arrivalDate) {
        expect(c.arrivalDate >= c.departureDate).toBe(true);
        expect(c.arrivedAt!.toISOString().slice(0, 10) >= c.arrivalDate).toBe(true);
      }
      const reported = c.history.find((h) => h.transition === 'reportCompletion');
      if (reported) {
        completions++;
        expect(reported.at.toISOString().slice(0, 10) <= addMonths(c.departureDate, 12), c.caseReference).toBe(true);
      }
    }
    expect(completions).toBeGreaterThan(1_000);
  });

  it('case references are unique per Member State and charter packages only on forced charter returns', () => {
    expect(new Set(cases.map((c) => `${c.memberState}/${c.caseReference}`)).size).toBe(cases.length);
    for (const c of cases.filter((x) => x.packages.includes('CHARTER_ARRIVAL'))) {
      expect(c.returnType).toBe('FORCED');
      expect(c.charterFlight).toBe(true);
    }
  });

  it('stores the arrival report beside the key moments, so a seeded store needs no key-moment upgrade', () => {
    for (const c of cases) {
      const doc = seededCaseDoc(c, 'test-key');
      expect(doc).not.toHaveProperty('arrivedAt');
      // upgradeKeyMoments picks cases without the field: it must be there, null until the arrival report.
      expect(Object.keys(doc.milestones)).toContain('arrivedAt');
      expect(doc.milestones.arrivedAt).toBe(c.arrivedAt);
    }
  });

  it('seeded events end in the case state; only completed cases are paid, per package', () => {
    let paidCases = 0;
    for (const c of cases) {
      const events = seededCaseEvents({
        ...c,
        _id: new Types.ObjectId(),
        milestones: { ...c.milestones, arrivedAt: c.arrivedAt },
      });
      expect(events[0]!.type).toBe('case.created');
      expect(events.filter((e) => e.after).at(-1)!.after!.status).toBe(c.status);
      const paid = events.filter((e) => e.type === 'case.disbursed').map((e) => e.disbursement!);
      if (c.status !== 'COMPLETED' || c.eligibility.outcome === 'INELIGIBLE') {
        expect(paid).toEqual([]);
        continue;
      }
      paidCases++;
      const entitlement = computeEntitlement(
        { packages: c.packages, returnType: c.returnType, familySize: c.familySize, referenceDate: c.departureDate },
        PROGRAMME_TARIFFS,
      );
      for (const pkg of c.packages) {
        const owed = entitlement.lines.filter((l) => l.package === pkg).reduce((n, l) => n + l.amountCents, 0);
        const sum = paid.filter((d) => d.package === pkg).reduce((n, d) => n + d.amountCents, 0);
        if (pkg === 'POST_RETURN') {
          const delivered = c.reintegrationPlan!.lines.reduce((n, l) => n + l.budgetCents, 0);
          expect(sum).toBe(delivered);
          expect(sum).toBeLessThanOrEqual(owed);
        } else expect(sum).toBe(owed);
      }
    }
    expect(paidCases).toBeGreaterThan(1_000);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const again = [...generateCases({ count: 50, seed: 20240301 })];
    expect(again).toEqual(cases.slice(0, 50));
    const other = [...generateCases({ count: 50, seed: 1 })];
    expect(other).not.toEqual(again);
  });
});
