/**
 * Domain vocabulary shared by every subgraph (the programme's facts are in docs/domain.md).
 * Reference data here is what the programme publishes; the per-subgraph databases hold
 * the operational copies (seeded from these lists).
 */

export const PACKAGES = ['POST_ARRIVAL', 'CHARTER_ARRIVAL', 'POST_RETURN'] as const;
export type Package = (typeof PACKAGES)[number];

export const RETURN_TYPES = ['VOLUNTARY', 'FORCED'] as const;
export type ReturnType = (typeof RETURN_TYPES)[number];

export const CASE_STATUSES = [
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
] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

export const SEXES = ['FEMALE', 'MALE', 'OTHER', 'UNKNOWN'] as const;
export type Sex = (typeof SEXES)[number];

/** The 26 participating Member States (EU states and Schengen associated countries), ISO 3166-1 alpha-2. */
export const MEMBER_STATES: ReadonlyArray<{ code: string; name: string }> = [
  { code: 'AT', name: 'Austria' },
  { code: 'BE', name: 'Belgium' },
  { code: 'BG', name: 'Bulgaria' },
  { code: 'HR', name: 'Croatia' },
  { code: 'CY', name: 'Cyprus' },
  { code: 'CZ', name: 'Czechia' },
  { code: 'EE', name: 'Estonia' },
  { code: 'FI', name: 'Finland' },
  { code: 'FR', name: 'France' },
  { code: 'DE', name: 'Germany' },
  { code: 'GR', name: 'Greece' },
  { code: 'HU', name: 'Hungary' },
  { code: 'IT', name: 'Italy' },
  { code: 'LV', name: 'Latvia' },
  { code: 'LT', name: 'Lithuania' },
  { code: 'LU', name: 'Luxembourg' },
  { code: 'MT', name: 'Malta' },
  { code: 'NL', name: 'Netherlands' },
  { code: 'PL', name: 'Poland' },
  { code: 'PT', name: 'Portugal' },
  { code: 'RO', name: 'Romania' },
  { code: 'SK', name: 'Slovakia' },
  { code: 'SI', name: 'Slovenia' },
  { code: 'ES', name: 'Spain' },
  { code: 'SE', name: 'Sweden' },
  { code: 'NO', name: 'Norway' },
];

/** The five contracted reintegration partners. */
export const PARTNERS: ReadonlyArray<{ id: string; name: string; shortName: string }> = [
  { id: 'caritas-be', name: 'Caritas International Belgium', shortName: 'Caritas' },
  { id: 'irara', name: 'IRARA', shortName: 'IRARA' },
  { id: 'life-makers', name: 'Life Makers Foundation', shortName: 'LMF' },
  { id: 'ettc', name: 'ETTC', shortName: 'ETTC' },
  { id: 'weldo', name: 'WELDO', shortName: 'WELDO' },
];

/** The 37 countries of origin the programme is active in, with the partner serving each (demo coverage). */
export const COUNTRIES_OF_ORIGIN: ReadonlyArray<{ code: string; alpha3: string; name: string; partnerId: string }> = [
  { code: 'AF', alpha3: 'AFG', name: 'Afghanistan', partnerId: 'weldo' },
  { code: 'PK', alpha3: 'PAK', name: 'Pakistan', partnerId: 'weldo' },
  { code: 'BD', alpha3: 'BGD', name: 'Bangladesh', partnerId: 'weldo' },
  { code: 'IN', alpha3: 'IND', name: 'India', partnerId: 'weldo' },
  { code: 'NP', alpha3: 'NPL', name: 'Nepal', partnerId: 'weldo' },
  { code: 'LK', alpha3: 'LKA', name: 'Sri Lanka', partnerId: 'weldo' },
  { code: 'IQ', alpha3: 'IRQ', name: 'Iraq', partnerId: 'life-makers' },
  { code: 'EG', alpha3: 'EGY', name: 'Egypt', partnerId: 'life-makers' },
  { code: 'MA', alpha3: 'MAR', name: 'Morocco', partnerId: 'life-makers' },
  { code: 'DZ', alpha3: 'DZA', name: 'Algeria', partnerId: 'life-makers' },
  { code: 'TN', alpha3: 'TUN', name: 'Tunisia', partnerId: 'life-makers' },
  { code: 'LB', alpha3: 'LBN', name: 'Lebanon', partnerId: 'life-makers' },
  { code: 'JO', alpha3: 'JOR', name: 'Jordan', partnerId: 'life-makers' },
  { code: 'GE', alpha3: 'GEO', name: 'Georgia', partnerId: 'ettc' },
  { code: 'AM', alpha3: 'ARM', name: 'Armenia', partnerId: 'ettc' },
  { code: 'AZ', alpha3: 'AZE', name: 'Azerbaijan', partnerId: 'ettc' },
  { code: 'MD', alpha3: 'MDA', name: 'Moldova', partnerId: 'ettc' },
  { code: 'AL', alpha3: 'ALB', name: 'Albania', partnerId: 'ettc' },
  { code: 'BA', alpha3: 'BIH', name: 'Bosnia and Herzegovina', partnerId: 'ettc' },
  { code: 'TR', alpha3: 'TUR', name: 'Türkiye', partnerId: 'ettc' },
  { code: 'UZ', alpha3: 'UZB', name: 'Uzbekistan', partnerId: 'ettc' },
  { code: 'TJ', alpha3: 'TJK', name: 'Tajikistan', partnerId: 'ettc' },
  { code: 'KG', alpha3: 'KGZ', name: 'Kyrgyzstan', partnerId: 'ettc' },
  { code: 'MN', alpha3: 'MNG', name: 'Mongolia', partnerId: 'ettc' },
  { code: 'NG', alpha3: 'NGA', name: 'Nigeria', partnerId: 'irara' },
  { code: 'GH', alpha3: 'GHA', name: 'Ghana', partnerId: 'irara' },
  { code: 'SL', alpha3: 'SLE', name: 'Sierra Leone', partnerId: 'irara' },
  { code: 'GM', alpha3: 'GMB', name: 'Gambia', partnerId: 'irara' },
  { code: 'ET', alpha3: 'ETH', name: 'Ethiopia', partnerId: 'irara' },
  { code: 'SO', alpha3: 'SOM', name: 'Somalia', partnerId: 'irara' },
  { code: 'VN', alpha3: 'VNM', name: 'Viet Nam', partnerId: 'irara' },
  { code: 'SN', alpha3: 'SEN', name: 'Senegal', partnerId: 'caritas-be' },
  { code: 'GN', alpha3: 'GIN', name: 'Guinea', partnerId: 'caritas-be' },
  { code: 'CI', alpha3: 'CIV', name: "Côte d'Ivoire", partnerId: 'caritas-be' },
  { code: 'CM', alpha3: 'CMR', name: 'Cameroon', partnerId: 'caritas-be' },
  { code: 'CD', alpha3: 'COD', name: 'Congo, Democratic Republic of the', partnerId: 'caritas-be' },
  { code: 'ML', alpha3: 'MLI', name: 'Mali', partnerId: 'caritas-be' },
];

export const MEMBER_STATE_CODES: ReadonlySet<string> = new Set(MEMBER_STATES.map((m) => m.code));
export const COUNTRY_OF_ORIGIN_CODES: ReadonlySet<string> = new Set(COUNTRIES_OF_ORIGIN.map((c) => c.code));
