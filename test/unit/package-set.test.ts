import { describe, expect, it } from 'vitest';
import { PACKAGES, type Package } from '../../shared/domain.js';
import { packageSetOf, packageSetsWithAny } from '../../subgraphs/cases/case/models.js';
import { caseFilterToQuery } from '../../subgraphs/cases/case/resolvers.js';

const subsets = <T>(items: readonly T[]): T[][] =>
  items.reduce<T[][]>((all, item) => [...all, ...all.map((s) => [...s, item])], [[]]);

describe('packages as one indexable value', () => {
  it('is the same whatever the order or repetition of the packages', () => {
    expect(packageSetOf(['POST_RETURN', 'POST_ARRIVAL'])).toBe('POST_ARRIVAL+POST_RETURN');
    expect(packageSetOf(['POST_ARRIVAL', 'POST_RETURN', 'POST_ARRIVAL'])).toBe(
      packageSetOf(['POST_RETURN', 'POST_ARRIVAL']),
    );
    expect(packageSetOf([])).toBe('');
  });

  it('a packages filter selects exactly the cases holding one of them: every case shape against every filter', () => {
    for (const held of subsets(PACKAGES)) {
      for (const wanted of subsets(PACKAGES).filter((w) => w.length > 0)) {
        const matchesArray = held.some((p) => wanted.includes(p));
        const matchesSet = packageSetsWithAny(wanted as Package[]).includes(packageSetOf(held as Package[]));
        expect(matchesSet, `${held.join('+') || '(none)'} against ${wanted.join(',')}`).toBe(matchesArray);
      }
    }
  });

  it('the case filter asks for the sets, not the array', () => {
    expect(caseFilterToQuery({ packages: ['CHARTER_ARRIVAL'] })).toEqual({
      packageSet: {
        $in: [
          'CHARTER_ARRIVAL',
          'CHARTER_ARRIVAL+POST_ARRIVAL',
          'CHARTER_ARRIVAL+POST_RETURN',
          'CHARTER_ARRIVAL+POST_ARRIVAL+POST_RETURN',
        ],
      },
    });
    expect(caseFilterToQuery({ packages: [] })).toEqual({});
  });
});
