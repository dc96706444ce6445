import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTRIES_OF_ORIGIN } from '../../shared/domain.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

interface PartnerView {
  id: string;
  name: string;
  capacity: number;
  serviceCatalogue: Array<{ package: string; services: string[] }>;
  subcontractors: Array<{ name: string; countryCode: string }>;
  countriesServed: Array<{ code: string; name: string }>;
  qualityIndicators: {
    casesAssigned: number;
    casesAccepted: number;
    medianDaysArrivalToApprovedPlan: number | null;
    completionRate: number | null;
    planRejectionShare: number | null;
  };
  cases: { totalCount: number; edges: Array<{ node: { partner: { id: string } } }> };
}

describe('partners across the graph: catalogue, coverage, cases and quality indicators', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({ cases: 300, seed: 5 });
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('each partner with catalogue, subcontractors, countries, cases and indicators from case data', async () => {
    const { body } = await system.graphql<{ partners: PartnerView[] }>(
      `{
      partners {
        id name capacity
        serviceCatalogue { package services }
        subcontractors { name countryCode }
        countriesServed { code name }
        qualityIndicators { casesAssigned casesAccepted medianDaysArrivalToApprovedPlan completionRate ` +
        `planRejectionShare }
        cases(first: 5) { totalCount edges { node { partner { id } } } }
      }
    }`,
    );
    expect(body.errors).toBeUndefined();
    const cases = await casesModels(system.connections.cases).Case.find().lean<CaseDoc[]>().exec();
    expect(body.data!.partners).toHaveLength(5);
    for (const partner of body.data!.partners) {
      const own = cases.filter((c) => c.partnerId === partner.id);
      const servedCodes = COUNTRIES_OF_ORIGIN.filter((c) => c.partnerId === partner.id)
        .map((c) => c.code)
        .sort();
      expect(partner.countriesServed.map((c) => c.code).sort()).toEqual(servedCodes);
      expect(partner.subcontractors.map((s) => s.countryCode).sort()).toEqual(servedCodes);
      expect(partner.serviceCatalogue.map((e) => e.package).sort()).toEqual([
        'CHARTER_ARRIVAL',
        'POST_ARRIVAL',
        'POST_RETURN',
      ]);
      expect(partner.cases.totalCount).toBe(own.length);
      for (const edge of partner.cases.edges) expect(edge.node.partner.id).toBe(partner.id);

      // Indicators computed independently from the raw cases.
      const ended = own.filter((c) => ['COMPLETED', 'WITHDRAWN', 'CLOSED'].includes(c.status));
      const rejections = own.reduce(
        (n, c) => n + c.history.filter((h) => h.transition === 'rejectReintegrationPlan').length,
        0,
      );
      const approvals = own.reduce(
        (n, c) => n + c.history.filter((h) => h.transition === 'approveReintegrationPlan').length,
        0,
      );
      const spans = own
        .filter((c) => c.milestones?.arrivedAt && c.milestones?.km2At)
        .map((c) =>
          Math.round(
            (new Date(c.milestones.km2At!).getTime() - new Date(c.milestones.arrivedAt!).getTime()) / 86_400_000,
          ),
        )
        .sort((a, b) => a - b);
      const median = spans.length
        ? (spans[Math.floor((spans.length - 1) / 2)]! + spans[Math.floor(spans.length / 2)]!) / 2
        : null;
      expect(partner.qualityIndicators).toEqual({
        casesAssigned: own.length,
        casesAccepted: own.filter((c) => c.history.some((h) => h.transition === 'acceptCase')).length,
        medianDaysArrivalToApprovedPlan: median,
        completionRate: ended.length ? ended.filter((c) => c.status === 'COMPLETED').length / ended.length : null,
        planRejectionShare: rejections + approvals ? rejections / (rejections + approvals) : null,
      });
    }
  });

  it('a partner reached from a case carries the same fields', async () => {
    const { body } = await system.graphql<{
      cases: {
        edges: Array<{
          node: { partner: { name: string; countriesServed: unknown[]; qualityIndicators: { casesAssigned: number } } };
        }>;
      };
    }>(
      `{ cases(first: 3) { edges { node { partner { name countriesServed { code } qualityIndicators { ` +
        `casesAssigned } } } } } }`,
    );
    expect(body.errors).toBeUndefined();
    for (const { node } of body.data!.cases.edges) {
      expect(node.partner.countriesServed.length).toBeGreaterThan(0);
      expect(node.partner.qualityIndicators.casesAssigned).toBeGreaterThan(0);
    }
  });
});
