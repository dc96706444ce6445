import type { CaseEventFacts } from '../../shared/case-events/index.js';

/** The facts a case event carries, for events a test writes itself: a plain Belgian case unless overridden. */
export function eventFacts(over: Partial<CaseEventFacts> = {}): CaseEventFacts {
  return {
    memberState: 'BE',
    countryOfOrigin: 'AF',
    partnerId: null,
    status: 'SUBMITTED',
    returnType: 'VOLUNTARY',
    packages: ['POST_ARRIVAL'],
    month: '2024-03',
    departureDate: '2024-03-01',
    returnees: 1,
    adults: 1,
    minors: 0,
    mainApplicantAge: 30,
    accepted: false,
    daysToKm1: null,
    daysKm1ToKm2: null,
    daysKm2ToKm3: null,
    planRejections: 0,
    planApprovals: 0,
    ...over,
  };
}
