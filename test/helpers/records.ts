/**
 * A valid canonical feed record of a Moroccan voluntary return (partner assignment depends on
 * the country), for tests and benches that push feeds; `extra` overrides or adds fields.
 */
export function canonicalRecord(
  memberState: string,
  caseReference: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    memberState,
    caseReference,
    recordVersion: 1,
    returnType: 'VOLUNTARY',
    packages: ['POST_ARRIVAL'],
    countryOfOrigin: 'MA',
    departureDate: '2024-04-02',
    mainApplicant: { name: 'Youssef El Amrani', dateOfBirth: '1990-02-02', sex: 'MALE' },
    eligibility: { requestDate: '2024-04-10', applicationSigned: true },
    ...extra,
  };
}
