import { PRINCIPAL_HEADER, signPrincipal } from '../../../shared/auth.js';
import type { Package } from '../../../shared/domain.js';

export interface AssignmentRequest {
  country: string;
  packages: Package[];
  /** Departure date, or the request date before departure. */
  on: string;
}

export type AssignmentAnswer = { partnerId: string } | { error: string };

/** Asks coverage which partner takes each case; one round trip for a whole chunk. */
export type AssignPartners = (requests: readonly AssignmentRequest[]) => Promise<AssignmentAnswer[]>;

export class CoverageUnavailableError extends Error {}

/**
 * The coverage subgraph owns the assignment rule; cases asks it over HTTP (never its
 * database), with the same signed principal the gateway uses, batching a chunk's distinct
 * questions into one request with aliases.
 */
export function coverageClient(url: string, signingKey: string, timeoutMs: number): AssignPartners {
  return async (requests) => {
    if (requests.length === 0) return [];
    const keys = [...new Set(requests.map((r) => `${r.country}|${[...r.packages].sort().join(',')}|${r.on}`))];
    const variables: Record<string, unknown> = {};
    const fields = keys.map((key, i) => {
      const [country, packages, on] = key.split('|') as [string, string, string];
      variables[`c${i}`] = country;
      variables[`p${i}`] = packages.split(',');
      variables[`d${i}`] = on;
      return `a${i}: partnerAssignment(countryOfOrigin: $c${i}, packages: $p${i}, on: $d${i}) { partner { id } }`;
    });
    const declarations = keys.map((_, i) => `$c${i}: ID!, $p${i}: [Package!]!, $d${i}: String!`).join(', ');
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [PRINCIPAL_HEADER]: signPrincipal(null, signingKey) },
        body: JSON.stringify({ query: `query(${declarations}) { ${fields.join(' ')} }`, variables }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new CoverageUnavailableError(`coverage subgraph unreachable: ${(error as Error).message}`);
    }
    if (response.status >= 500)
      throw new CoverageUnavailableError(`coverage subgraph answered HTTP ${response.status}`);
    const body = (await response.json()) as {
      data?: Record<string, { partner: { id: string } } | null> | null;
      errors?: Array<{ message: string; path?: string[]; extensions?: { code?: string } }>;
    };
    const answers = new Map<string, AssignmentAnswer>();
    keys.forEach((key, i) => {
      const hit = body.data?.[`a${i}`];
      const error = body.errors?.find((e) => e.path?.[0] === `a${i}`);
      if (hit) answers.set(key, { partnerId: hit.partner.id });
      else if (error?.extensions?.code === 'NO_COVERAGE') answers.set(key, { error: error.message });
      else
        throw new CoverageUnavailableError(
          `coverage could not answer: ${error?.message ?? body.errors?.[0]?.message ?? 'no data'}`,
        );
    });
    return requests.map((r) => answers.get(`${r.country}|${[...r.packages].sort().join(',')}|${r.on}`)!);
  };
}
