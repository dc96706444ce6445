import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { composeSupergraph, CompositionFailedError, SUPERGRAPH_FILE, subgraphSdl } from '../../gateway/compose.js';

describe('supergraph composition', () => {
  it('the committed supergraph equals a fresh composition of the SDL files (else run `npm run compose`)', () => {
    expect(readFileSync(SUPERGRAPH_FILE, 'utf8')).toBe(composeSupergraph());
  });

  it('a composition error fails', () => {
    // finance declares entitlement on a field type cases does not have.
    const broken = subgraphSdl('finance').replace('familySize: Int! @external', 'familySize: String! @external');
    expect(() => composeSupergraph({ finance: broken })).toThrow(CompositionFailedError);
  });

  it('a hint that matters (inconsistent descriptions between teams) fails too', () => {
    const hinted = subgraphSdl('coverage').replace(/# Owned by partners[^\n]*\n/, '"Partner as coverage sees it."\n');
    expect(() => composeSupergraph({ coverage: hinted })).toThrow(/INCONSISTENT_DESCRIPTION/);
  });
});
