import { describe, expect, it } from 'vitest';
import { GRAPHQL_RESPONSE_TYPE, graphqlMediaType } from '../../shared/http.js';

describe("graphqlMediaType: the media type of the gateway's own GraphQL answers", () => {
  it('the current media type only when named and liked at least as well as application/json', () => {
    expect(graphqlMediaType(GRAPHQL_RESPONSE_TYPE)).toBe(GRAPHQL_RESPONSE_TYPE);
    expect(graphqlMediaType(`application/json;q=0.9, ${GRAPHQL_RESPONSE_TYPE}`)).toBe(GRAPHQL_RESPONSE_TYPE);
    expect(graphqlMediaType(`${GRAPHQL_RESPONSE_TYPE};q=0.5, application/json`)).toBe('application/json');
    expect(graphqlMediaType(`${GRAPHQL_RESPONSE_TYPE};q=0`)).toBe('application/json');
    expect(graphqlMediaType(`APPLICATION/GRAPHQL-RESPONSE+JSON ; charset=utf-8`)).toBe(GRAPHQL_RESPONSE_TYPE);
  });

  it('a legacy client (no Accept, any type, application/json) keeps application/json', () => {
    for (const accept of [undefined, '', '*/*', 'application/*', 'application/json', 'text/html'])
      expect(graphqlMediaType(accept), String(accept)).toBe('application/json');
  });

  it('hostile headers: malformed q, a huge header; only the first 1,000 characters are read', () => {
    expect(graphqlMediaType(`${GRAPHQL_RESPONSE_TYPE};q=abc`)).toBe('application/json');
    expect(graphqlMediaType(`${GRAPHQL_RESPONSE_TYPE};q=`)).toBe('application/json');
    expect(graphqlMediaType(`${GRAPHQL_RESPONSE_TYPE};q=0.001`)).toBe(GRAPHQL_RESPONSE_TYPE);
    expect(graphqlMediaType(`${'x/y, '.repeat(100_000)}${GRAPHQL_RESPONSE_TYPE}`)).toBe('application/json');
    expect(graphqlMediaType(',;;,=,q=1')).toBe('application/json');
  });
});
